//! The typing pass: raw cells → typed, canonical values for every field, the facts the built-in
//! Rust checks derive (ID birth date, sex, region, age), and the built-in findings (C001, C101,
//! C106, V1xx–V6xx, L204).
//!
//! Runs once over every row, in dataset order (files as given, then sheet, then row). Household
//! fields left blank on member rows inherit the household's value here, so later stages never see
//! the export's "written once on the 户主 row" layout.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use polars::prelude::{
    ChunkTake, ChunkedBuilder, Float64Type, IdxCa, IdxSize, IdxType, NewChunkedArray, PlHashMap,
    PlSmallStr, PrimitiveChunkedBuilder, StringChunked, StringChunkedBuilder,
};
use rayon::prelude::*;

use crate::read::{CellRef, Table};
use crate::schema::{Field, FieldType, Schema};
use crate::types;

use super::dataset::{
    Dataset, TypedCol, blank_at, canonical_codes, cell_at, cell_str, field_pos, text_at,
};
use super::emit::{Emitter, Extra};

/// Fields whose typed values Rust reads itself (exit lines, exclusion lists, the cross-file
/// household number); every other field is kept only when a rule reads it.
const READ_BY_RUST: &[&str] = &["出生日期", "识别标准", "脱贫年度", "证件号码", "户编号"];

/// Type every row of every table. Built-in findings go to `emit`. Typed columns are kept for the
/// fields in `keep` (what the rules read) and those Rust derives facts from; the others are
/// checked and dropped, so an unused address column costs no memory. A `_filled_<field>` name in
/// `keep` has the field's filled flags recorded too (`Dataset::filled`), so the rule frame does
/// not read every cell of the field once more.
pub(crate) fn type_tables<'a>(
    tables: &'a [Table],
    schema: &'a Schema,
    as_of: NaiveDate,
    keep: &BTreeSet<String>,
    emit: &mut Emitter,
) -> Dataset<'a> {
    let mut t0 = std::time::Instant::now();
    let n: usize = tables.iter().map(|t| t.len()).sum();
    let mut ds = Dataset {
        tables,
        schema,
        as_of,
        t: Vec::with_capacity(n),
        i: Vec::with_capacity(n),
        present: Vec::with_capacity(tables.len()),
        source: HashMap::new(),
        typed: BTreeMap::new(),
        filled: BTreeMap::new(),
        written_alike: BTreeMap::new(),
        hh_index: Vec::new(),
        households: 0,
        household_id: Vec::new(),
        anchor: Vec::new(),
        id_valid: vec![false; n],
        id_comparable: vec![false; n],
        id_birth: vec![None; n],
        id_sex: vec![None; n],
        id_region: vec![None; n],
        birth: vec![None; n],
        age: vec![None; n],
        school_blank: vec![false; n],
        work_filled: vec![false; n],
        exit_line: vec![None; n],
        data_year_line: vec![None; n],
        id_key: vec![None; n],
        excluded: vec![None; n],
        units: Vec::new(),
        row_unit: Vec::new(),
    };
    for (ti, table) in tables.iter().enumerate() {
        let mut present = HashMap::new();
        for (pos, c) in table.columns.iter().enumerate() {
            if let Some(f) = &c.field {
                present.entry(f.clone()).or_insert(pos);
            }
        }
        ds.present.push(present);
        for ri in 0..table.len() {
            ds.t.push(ti as u32);
            ds.i.push(ri as u32);
        }
    }

    // C001: required columns missing, once per table.
    for (ti, table) in tables.iter().enumerate() {
        for f in schema.fields.iter().filter(|f| f.required_column) {
            if !ds.present[ti].contains_key(&f.name) {
                emit.file_finding(table, ti, "C001", &f.name);
            }
        }
        // C002: a later column naming a field already taken. `present` holds the leftmost, so
        // the later one is never read by any rule; the clerk is told which one was checked.
        for (pos, c) in table.columns.iter().enumerate() {
            let Some(f) = c.field.as_deref() else {
                continue;
            };
            let Some(&first) = ds.present[ti].get(f) else {
                continue;
            };
            if first != pos {
                let letters = |p: usize| crate::finding::col_letters(table.columns[p].index);
                emit.file_finding_with(
                    table,
                    ti,
                    "C002",
                    f,
                    &[("first", letters(first)), ("duplicate", letters(pos))],
                );
            }
        }
    }

    // Fields are independent: typed in parallel, then their findings and facts applied in
    // schema order, so the output does not depend on scheduling.
    let l204_codes: Vec<&str> = household_conflict_fields(schema)
        .filter(|f| f.ty == FieldType::Code && emit.enabled("L204"))
        .map(|f| f.name.as_str())
        .collect();
    // The fields L204 compares, whose cells typing notes as alike or not per household.
    let l204_fields: Vec<&str> = household_conflict_fields(schema)
        .filter(|_| emit.enabled("L204"))
        .map(|f| f.name.as_str())
        .collect();
    let lang = emit.lang();
    // The registry's value checks that this run reports; each field takes those for its type.
    let value_checks: Vec<&types::Builtin> = types::BUILTINS
        .iter()
        .filter(|b| emit.enabled(b.code))
        .collect();
    // The fields whose filled flags the rule frame reads (`_filled_<field>` in `keep`).
    let filled: Vec<&str> = keep
        .iter()
        .filter_map(|k| crate::schema::columns::filled_field(k))
        .collect();
    let type_one = |ds: &Dataset<'a>, f: &'a Field| {
        let keep = keep.contains(&f.name)
            || READ_BY_RUST.contains(&f.name.as_str())
            || l204_codes.contains(&f.name.as_str());
        let checks: Vec<(&'static str, types::ValueCheck)> = value_checks
            .iter()
            .filter_map(|b| Some((b.code, b.target.value_check(f.ty)?)))
            .collect();
        type_field(
            ds,
            f,
            keep,
            filled.contains(&f.name.as_str()),
            l204_fields.contains(&f.name.as_str()),
            &checks,
            lang,
        )
    };
    // Only household fields wait for the households and what their blank cells inherit: the
    // other fields are typed meanwhile, so the households' pass (one core, a row at a time)
    // does not leave the other core idle.
    let ((households, sources), mut outs) = rayon::join(
        || {
            let hh = households_of(&ds);
            crate::timing::timing("check: households", t0);
            let t1 = std::time::Instant::now();
            let sources = inherited_sources(&ds, schema, &hh);
            crate::timing::timing("check: inheritance", t1);
            (hh, sources)
        },
        || {
            schema
                .fields
                .par_iter()
                .enumerate()
                .filter(|(_, f)| !f.household)
                .map(|(k, f)| (k, type_one(&ds, f)))
                .collect::<Vec<_>>()
        },
    );
    ds.households = households.count;
    ds.hh_index = households.index;
    ds.household_id = households.ids;
    ds.anchor = households.anchor;
    ds.source.extend(sources);
    // The units need the inherited values too; finding them takes one core, row by row.
    let (household_outs, (units, row_unit)) = rayon::join(
        || {
            schema
                .fields
                .par_iter()
                .enumerate()
                .filter(|(_, f)| f.household)
                .map(|(k, f)| (k, type_one(&ds, f)))
                .collect::<Vec<(usize, FieldOut)>>()
        },
        || ds.unit_index(),
    );
    ds.units = units;
    ds.row_unit = row_unit;
    outs.extend(household_outs);
    outs.sort_by_key(|(k, _)| *k);
    crate::timing::timing("check: type fields", t0);
    t0 = std::time::Instant::now();
    for (f, (_, out)) in schema.fields.iter().zip(outs) {
        for (g, code, extra) in out.findings {
            emit.cell_finding(&ds, g as usize, code, &f.name, f.household, extra);
        }
        for g in out.school_blank {
            ds.school_blank[g as usize] = true;
        }
        if let Some(id) = out.id {
            ds.id_valid = id.valid;
            ds.id_comparable = id.comparable;
            ds.id_key = id.key;
            ds.id_birth = id.birth;
            ds.id_sex = id.sex;
            ds.id_region = id.region;
        }
        if let Some(col) = out.col {
            ds.typed.insert(f.name.clone(), col);
        }
        if let Some(flags) = out.filled {
            ds.filled.insert(f.name.clone(), flags);
        }
        if let Some(alike) = out.alike {
            ds.written_alike.insert(f.name.clone(), alike);
        }
    }

    let work_pos = field_pos(&ds, "务工状况");
    for g in 0..n {
        ds.work_filled[g] = !blank_at(&ds, g, &work_pos);
    }
    emit.finish_households(&ds);
    crate::timing::timing("check: apply findings", t0);
    ds
}

/// L204 over a typed dataset. Nothing else reads what it computes: with it deselected
/// (--select V1 …) it costs nothing.
pub(crate) fn household_conflicts(ds: &Dataset, emit: &mut Emitter) {
    let t0 = std::time::Instant::now();
    if emit.enabled("L204") {
        household_field_conflicts(ds, emit);
    }
    crate::timing::timing("check: L204", t0);
}

/// The households of a dataset, as [`households_of`] finds them.
struct Households<'a> {
    count: usize,
    index: Vec<Option<u32>>,
    ids: Vec<Option<Cow<'a, str>>>,
    anchor: Vec<bool>,
}

/// Households and anchors, per table in row order. Each key gets a dense index so the later
/// per-row passes index vectors instead of hashing the key string (a million rows × every
/// household field).
fn households_of<'a>(ds: &Dataset<'a>) -> Households<'a> {
    let n = ds.len();
    let mut index_of: PlHashMap<(u32, Cow<'a, str>), u32> = PlHashMap::default();
    let mut first_of: Vec<usize> = Vec::new();
    let mut head_of: Vec<Option<usize>> = Vec::new();
    let mut hh_index: Vec<Option<u32>> = Vec::with_capacity(n);
    let mut ids: Vec<Option<Cow<'a, str>>> = Vec::with_capacity(n);
    let hid_pos = field_pos(ds, "户编号");
    let rel_pos = field_pos(ds, "与户主关系");
    for g in 0..n {
        let hid = text_at(ds, g, &hid_pos);
        let idx = hid.as_ref().map(|h| {
            let next = first_of.len() as u32;
            let i = *index_of.entry((ds.t[g], h.clone())).or_insert(next);
            if i == next {
                first_of.push(g);
                head_of.push(None);
            }
            i
        });
        if let Some(slot) = idx.and_then(|i| head_of.get_mut(i as usize))
            && slot.is_none()
            && text_at(ds, g, &rel_pos).as_deref() == Some("户主")
        {
            *slot = Some(g);
        }
        ids.push(hid);
        hh_index.push(idx);
    }
    drop(index_of);
    let anchor = hh_index
        .iter()
        .enumerate()
        .map(|(g, idx)| match idx {
            None => true,
            Some(i) => {
                let i = *i as usize;
                head_of[i].unwrap_or(first_of[i]) == g
            }
        })
        .collect();
    Households {
        count: first_of.len(),
        index: hh_index,
        ids,
        anchor,
    }
}

/// Inheritance of household fields: blanks take the household's first non-blank value. Per
/// household field, the row each row's value comes from. Fields are independent, so they are
/// resolved in parallel. A field no row inherits gets no source map (every reader takes a
/// missing one as "each row is its own source"): an export that writes household fields on
/// every row allocates none of these 4-byte-a-row maps.
fn inherited_sources(ds: &Dataset, schema: &Schema, hh: &Households) -> Vec<(String, Vec<u32>)> {
    let n = ds.len();
    schema
        .fields
        .par_iter()
        .filter(|f| f.household)
        .filter_map(|f| {
            let pos = field_pos(ds, &f.name);
            let blank: Vec<bool> = (0..n).map(|g| blank_at(ds, g, &pos)).collect();
            let mut first_value: Vec<u32> = vec![u32::MAX; hh.count];
            for (g, (idx, &is_blank)) in hh.index.iter().zip(&blank).enumerate() {
                if let Some(i) = *idx
                    && !is_blank
                    && let Some(v) = first_value.get_mut(i as usize)
                    && *v == u32::MAX
                {
                    *v = g as u32;
                }
            }
            let mut src: Option<Vec<u32>> = None;
            for (g, (idx, &is_blank)) in hh.index.iter().zip(&blank).enumerate() {
                if let Some(i) = *idx
                    && is_blank
                    && let Some(&v) = first_value.get(i as usize)
                    && v != u32::MAX
                {
                    src.get_or_insert_with(|| (0..n as u32).collect())[g] = v;
                }
            }
            src.map(|src| (f.name.clone(), src))
        })
        .collect()
}

/// A code text's canonical value as its position in the field's [`CodeColumn`] (None when not
/// in the list, or when the column is not kept) and the findings its checks gave.
type Memo = (Option<IdxSize>, Vec<(&'static str, Extra)>);

/// A code field's typed column as it is built: per row, the position of its canonical value
/// among the field's distinct values, which polars gathers at the end. The rows then share the
/// values' bytes: a builder of strings copies every value longer than 12 bytes (丧失劳动力,
/// 长期慢性病 …) once per row, a million rows for each of ~25 code fields.
struct CodeColumn<'s> {
    values: Vec<&'s str>,
    position: PlHashMap<&'s str, IdxSize>,
    rows: PrimitiveChunkedBuilder<IdxType>,
}

impl<'s> CodeColumn<'s> {
    fn new(name: PlSmallStr, n: usize) -> Self {
        CodeColumn {
            values: Vec::new(),
            position: PlHashMap::default(),
            rows: PrimitiveChunkedBuilder::new(name, n),
        }
    }

    /// The position of `value`, added when new.
    fn position(&mut self, value: &'s str) -> IdxSize {
        *self.position.entry(value).or_insert_with(|| {
            self.values.push(value);
            (self.values.len() - 1) as IdxSize
        })
    }

    fn push(&mut self, value: Option<&'s str>) {
        let at = value.map(|v| self.position(v));
        self.rows.append_option(at);
    }

    fn finish(self) -> StringChunked {
        let rows: IdxCa = self.rows.finish();
        let values = StringChunked::from_slice(rows.name().clone(), &self.values);
        // Every position is one of `values`' (pushed by `position`), so the gather cannot go
        // out of bounds; were it ever to, the rows are looked up one by one instead.
        values.take(&rows).unwrap_or_else(|_| {
            StringChunked::from_iter_options(
                rows.name().clone(),
                rows.iter()
                    .map(|p| p.and_then(|p| self.values.get(p as usize).copied())),
            )
        })
    }
}

/// Distinct texts remembered per code field; a column of free text typed as a code stops
/// being remembered there (memory stays bounded, results are the same).
const MEMO_MAX: usize = 4096;

/// What typing one field produced, applied to the dataset in schema order.
struct FieldOut<'s> {
    col: Option<TypedCol>,
    /// (global row, rule code, placeholders) of each built-in finding.
    findings: Vec<(u32, &'s str, Extra)>,
    /// Rows whose 在校生状况 is blank.
    school_blank: Vec<u32>,
    /// What the person's ID says, from the 证件号码 field.
    id: Option<IdFacts>,
    /// Per row: None where the row's table has no column for the field, else whether the cell
    /// (the one the row inherits from, for a household field) is filled. Only when asked for.
    filled: Option<Vec<Option<bool>>>,
    /// Per household: whether its own (not inherited) cells are all written the same. Only
    /// when asked for ([`Dataset::written_alike`]).
    alike: Option<Vec<bool>>,
}

struct IdFacts {
    valid: Vec<bool>,
    comparable: Vec<bool>,
    key: Vec<Option<String>>,
    birth: Vec<Option<NaiveDate>>,
    sex: Vec<Option<&'static str>>,
    region: Vec<Option<String>>,
}

/// Type one field over all rows: its typed column (when `keep`), built-in findings and facts.
/// Reads the dataset only, so fields can be typed in parallel. What converts a value is the
/// field's type; what is checked on it is every value check of `checks` (the registry's, for
/// this type and enabled).
fn type_field<'s>(
    ds: &Dataset<'s>,
    f: &'s Field,
    keep: bool,
    filled: bool,
    alike: bool,
    checks: &[(&'static str, types::ValueCheck)],
    lang: crate::finding::Lang,
) -> FieldOut<'s> {
    let n = ds.len();
    let household = f.household;
    let is_id = f.ty == FieldType::IdNumber && f.name == "证件号码";
    let mut out = FieldOut {
        col: None,
        findings: Vec::new(),
        school_blank: Vec::new(),
        id: is_id.then(|| IdFacts {
            valid: vec![false; n],
            comparable: vec![false; n],
            key: vec![None; n],
            birth: vec![None; n],
            sex: vec![None; n],
            region: vec![None; n],
        }),
        filled: filled.then(|| Vec::with_capacity(n)),
        alike: (alike && household).then(|| vec![true; ds.households]),
    };
    // Each household's first own cell, which its other own cells are compared with as written.
    let mut first_written: Vec<Option<CellRef<'s>>> = match out.alike {
        Some(_) => vec![None; ds.households],
        None => Vec::new(),
    };
    let cx = types::FieldCtx {
        ty: f.ty,
        range: f.range(),
        lang,
    };
    // Values borrow from the tables (or the schema's code list) wherever they can: only an ID
    // normalised or a value cut of invisible characters is a new string.
    // Kept values go straight into polars' builders: no vector of every row's value first
    // (32 bytes a row, fresh pages for each of ~40 fields).
    let name: PlSmallStr = f.name.as_str().into();
    let is_num = matches!(f.ty, FieldType::Integer | FieldType::Decimal);
    let is_date = f.ty == FieldType::Date;
    let is_code = f.ty == FieldType::Code;
    let mut strs = (keep && !is_num && !is_date && !is_code)
        .then(|| StringChunkedBuilder::new(name.clone(), n));
    let mut code_col = (keep && is_code).then(|| CodeColumn::new(name.clone(), n));
    let mut nums =
        (keep && is_num).then(|| PrimitiveChunkedBuilder::<Float64Type>::new(name.clone(), n));
    let mut dates: Vec<Option<NaiveDate>> = Vec::new();
    if keep && is_date {
        dates.reserve(n);
    }
    let empty_rule: &'s str = f.empty_rule.as_deref().unwrap_or("C101");
    let source: Option<&Vec<u32>> = ds.source.get(&f.name);
    let pos = field_pos(ds, &f.name);
    let school = f.name == "在校生状况";
    let codes: PlHashMap<&str, &'s str> = if f.ty == FieldType::Code {
        canonical_codes(f)
    } else {
        PlHashMap::default()
    };
    let mut last_clean: Option<(&'s str, Option<IdxSize>)> = None;
    let mut memo: Option<PlHashMap<&'s str, Memo>> =
        (f.ty == FieldType::Code).then(PlHashMap::default);
    let findings = &mut out.findings;
    let null = |strs: &mut Option<StringChunkedBuilder>,
                code_col: &mut Option<CodeColumn>,
                nums: &mut Option<PrimitiveChunkedBuilder<Float64Type>>,
                dates: &mut Vec<Option<NaiveDate>>| {
        if let Some(b) = strs {
            b.append_null();
        }
        if let Some(c) = code_col {
            c.rows.append_null();
        }
        if let Some(b) = nums {
            b.append_null();
        }
        if keep && is_date {
            dates.push(None);
        }
    };
    for g in 0..n {
        // Inherited household values were checked on the row that carries them.
        let src = source.map_or(g, |s| s[g] as usize);
        let inherited = src != g;
        let cell = cell_at(ds, src, &pos);
        let present = pos[ds.t[g] as usize].is_some();
        if let Some(flags) = &mut out.filled {
            flags.push(present.then(|| cell.is_some_and(|c| !c.is_blank())));
        }
        // A row's own cell (an inherited one is the household's, alike by construction); a
        // blank own cell means the household has no value, so it is alike too.
        if let Some(alike) = &mut out.alike
            && !inherited
            && let (Some(c), Some(k)) = (cell, ds.hh_index[g])
        {
            let k = k as usize;
            match first_written[k] {
                None => first_written[k] = Some(c),
                Some(first) if first != c => alike[k] = false,
                Some(_) => {}
            }
        }
        let mut emit = |code: &'s str, extra: Extra| {
            if !inherited {
                findings.push((g as u32, code, extra));
            }
        };
        let mut run = |v: &types::Value<'_>| {
            for &(code, check) in checks {
                if let Some(fill) = check(v, &cx) {
                    emit(code, fill.into());
                }
            }
        };
        // A number or date cell in a numeric or date field is typed from its value: formatting
        // a float the way Excel shows it costs more than checking a text cell, and the text
        // could only matter for white space, which such a cell cannot have.
        let from_value = match (f.ty, cell) {
            (
                FieldType::Integer | FieldType::Decimal,
                Some(c @ (CellRef::Number(_) | CellRef::Int(_))),
            ) => Some(types::Parsed::Number(types::convert_number(
                types::cell_number(c),
                f.ty,
            ))),
            (FieldType::Date, Some(CellRef::DateTime(serial))) => {
                Some(types::Parsed::Date(types::from_excel_serial(serial)))
            }
            (FieldType::Date, Some(c @ (CellRef::Number(_) | CellRef::Int(_))))
                if let Some(d) = types::cell_number(c).and_then(types::from_excel_serial) =>
            {
                Some(types::Parsed::Date(Some(d)))
            }
            _ => None,
        };
        if let Some(parsed) = from_value {
            run(&types::Value {
                text: None,
                trimmed: "",
                parsed: &parsed,
            });
            match parsed {
                types::Parsed::Number(v) => {
                    if let Some(b) = &mut nums {
                        b.append_option(v.ok());
                    }
                }
                types::Parsed::Date(d) if keep => dates.push(d),
                _ => {}
            }
            continue;
        }
        let (text, numeric) = match cell {
            Some(CellRef::Error(e)) => {
                emit(
                    types::broken_value_code(f.ty),
                    Extra::reason(format!(
                        "{}{e}",
                        lang.pick("单元格是错误值 ", "the cell holds the error value ")
                    )),
                );
                null(&mut strs, &mut code_col, &mut nums, &mut dates);
                continue;
            }
            Some(c) if !c.is_blank() => (cell_str(c).unwrap_or_default(), types::is_numeric(c)),
            _ => {
                if present && f.required && !(household && ds.hh_index[g].is_some() && inherited) {
                    emit(empty_rule, Extra::default());
                }
                if school && present {
                    out.school_blank.push(g as u32);
                }
                null(&mut strs, &mut code_col, &mut nums, &mut dates);
                continue;
            }
        };
        // A code cell's verdict depends on its text alone, and a code column holds a few
        // dozen distinct texts: the second time a text is seen its value and findings are
        // replayed instead of trimmed, looked up and checked again.
        let memo_key = match (&text, &memo) {
            (&Cow::Borrowed(s), Some(_)) => Some(s),
            _ => None,
        };
        // Neighbouring rows often hold the same text (a household's rows, a column of 是):
        // the last text without findings is compared before the memo is hashed.
        if let (Some(key), Some((last, value))) = (memo_key, last_clean)
            && key == last
        {
            if let Some(c) = &mut code_col {
                c.rows.append_option(value);
            }
            continue;
        }
        if let (Some(key), Some(memo)) = (memo_key, &memo)
            && let Some((value, found)) = memo.get(key)
        {
            for (code, extra) in found {
                emit(code, extra.clone());
            }
            if let Some(c) = &mut code_col {
                c.rows.append_option(*value);
            }
            last_clean = found.is_empty().then_some((key, *value));
            continue;
        }
        let trimmed: Cow<'s, str> = match &text {
            &Cow::Borrowed(s) => types::trim_value(s).value,
            Cow::Owned(s) => Cow::Owned(types::trim_value(s).value.into_owned()),
        };
        if trimmed.is_empty() {
            run(&types::Value {
                text: Some(&text),
                trimmed: "",
                parsed: &types::Parsed::Blank,
            });
            if school {
                out.school_blank.push(g as u32);
            }
            if present && f.required {
                emit(empty_rule, Extra::default());
            }
            null(&mut strs, &mut code_col, &mut nums, &mut dates);
            continue;
        }
        // The conversion per field type; the checks then read its result.
        let parsed = match f.ty {
            FieldType::Text
            | FieldType::Digits
            | FieldType::Name
            | FieldType::Phone
            | FieldType::BankCard => types::Parsed::Text,
            FieldType::Code => types::Parsed::Code(match codes.get(trimmed.as_ref()) {
                Some(&c) => Ok(c),
                // Not in the list: the full lookup finds the suggestion.
                None => match types::lookup(&trimmed, &f.codes, &f.variants) {
                    types::CodeLookup::Canonical(c) => Ok(c),
                    types::CodeLookup::Unknown { suggestion } => Err(suggestion),
                },
            }),
            FieldType::Integer | FieldType::Decimal => {
                let parsed = if numeric {
                    cell.and_then(types::cell_number)
                } else {
                    types::parse_number(&trimmed)
                };
                types::Parsed::Number(types::convert_number(parsed, f.ty))
            }
            FieldType::Date => types::Parsed::Date(if numeric {
                cell.and_then(types::cell_number)
                    .and_then(types::from_excel_serial)
                    .or_else(|| types::parse_date(&trimmed))
            } else if let Some(CellRef::DateTime(s)) = cell {
                types::from_excel_serial(s)
            } else {
                types::parse_date(&trimmed)
            }),
            // White space in or around an ID is V106's: the check reads the untrimmed text.
            FieldType::IdNumber => types::Parsed::Id(types::check_id(&text, numeric, ds.as_of)),
        };
        let value = types::Value {
            text: Some(&text),
            trimmed: &trimmed,
            parsed: &parsed,
        };
        if let (Some(key), Some(memo), types::Parsed::Code(c)) = (memo_key, &mut memo, &parsed) {
            let found: Vec<(&'static str, Extra)> = checks
                .iter()
                .filter_map(|&(code, check)| Some((code, check(&value, &cx)?.into())))
                .collect();
            for (code, extra) in &found {
                emit(code, extra.clone());
            }
            let position = code_col.as_mut().and_then(|col| {
                let at = c.as_ref().ok().map(|v| col.position(v));
                col.rows.append_option(at);
                at
            });
            last_clean = found.is_empty().then_some((key, position));
            if memo.len() < MEMO_MAX {
                memo.insert(key, (position, found));
            }
            continue;
        }
        run(&value);
        let value: Option<Cow<'s, str>> = match parsed {
            types::Parsed::Blank => None,
            types::Parsed::Text => Some(trimmed),
            types::Parsed::Code(c) => {
                if let Some(col) = &mut code_col {
                    col.push(c.ok());
                }
                continue;
            }
            types::Parsed::Number(v) => {
                if let Some(b) = &mut nums {
                    b.append_option(v.ok());
                }
                continue;
            }
            types::Parsed::Date(d) => {
                if keep {
                    dates.push(d);
                }
                continue;
            }
            types::Parsed::Id(mut chk) => {
                if let Some(id) = &mut out.id {
                    id.valid[g] = chk.is_valid();
                    id.comparable[g] = chk.is_comparable();
                    id.key[g] = chk
                        .id18()
                        .filter(|k| *k != chk.normalized)
                        .map(str::to_string);
                    id.birth[g] = chk.birth;
                    id.sex[g] = chk.sex.map(|s| s.as_code());
                    id.region[g] = chk.region.take();
                }
                // Digits lost (V105): the value is no ID. The common case, a clean ID, is the
                // text itself: no copy.
                (!chk.has("V105")).then(|| {
                    if chk.normalized == *text {
                        text.clone()
                    } else {
                        Cow::Owned(chk.normalized)
                    }
                })
            }
        };
        if let Some(b) = &mut strs {
            b.append_option(value.as_deref());
        }
    }
    out.col = match (strs, nums) {
        (Some(b), _) => Some(TypedCol::Str(b.finish())),
        _ if let Some(c) = code_col => Some(TypedCol::Str(c.finish())),
        (_, Some(b)) => Some(TypedCol::Num(b.finish())),
        _ => (keep && is_date).then_some(TypedCol::Date(dates)),
    };
    out
}

/// Birth date, age, the exit line and exclusion-list hits per person.
pub(crate) struct PersonFacts {
    birth: Vec<Option<NaiveDate>>,
    age: Vec<Option<i32>>,
    exit_line: Vec<Option<f64>>,
    data_year_line: Vec<Option<f64>>,
    excluded: Vec<Option<String>>,
}

impl PersonFacts {
    pub(crate) fn apply(self, ds: &mut Dataset) {
        ds.birth = self.birth;
        ds.age = self.age;
        ds.exit_line = self.exit_line;
        ds.data_year_line = self.data_year_line;
        ds.excluded = self.excluded;
    }
}

/// Read from the typed dataset only, so it can run beside the other passes that read it
/// (population, L204); [`PersonFacts::apply`] stores them.
pub(crate) fn person_facts(ds: &Dataset, exclusions: &HashMap<String, String>) -> PersonFacts {
    let n = ds.len();
    let dob = match ds.typed.get("出生日期") {
        Some(TypedCol::Date(d)) => Some(d),
        _ => None,
    };
    let std_col = ds.typed.get("识别标准");
    let year_col = match ds.typed.get("脱贫年度") {
        Some(c @ TypedCol::Num(_)) => Some(c),
        _ => None,
    };
    let ids = ds.typed.get("证件号码");
    let mut exit_line = vec![None; n];
    let mut data_year_line = vec![None; n];
    let mut excluded = vec![None; n];
    let data_year = chrono::Datelike::year(&ds.as_of);
    for g in 0..n {
        if let Some(s) = std_col.and_then(|c| c.str_at(g)) {
            data_year_line[g] = ds.schema.exit_line(s, data_year);
            if let Some(y) = year_col.and_then(|c| c.num_at(g)) {
                exit_line[g] = ds.schema.exit_line(s, y as i32);
            }
        }
        if !exclusions.is_empty()
            && ds.id_comparable[g]
            && let Some(id) = ids.and_then(|c| c.str_at(g))
        {
            excluded[g] = exclusions.get(id).cloned();
        }
    }
    let birth: Vec<Option<NaiveDate>> = (0..n)
        .map(|g| ds.id_birth[g].or_else(|| dob.and_then(|d| d[g])))
        .collect();
    let age = birth
        .iter()
        .map(|b| b.map(|b| types::age_at(b, ds.as_of)))
        .collect();
    PersonFacts {
        birth,
        age,
        exit_line,
        data_year_line,
        excluded,
    }
}

/// The household fields L204 compares: all but the location, which is D102's.
fn household_conflict_fields(schema: &Schema) -> impl Iterator<Item = &Field> {
    schema
        .fields
        .iter()
        .filter(|f| f.household && !schema.units.levels.contains(&f.name))
}

/// L204: a household field (other than the location, which is D102) with two different
/// non-blank values inside one household. One finding per household, on the first row whose
/// value differs from the household's first value.
fn household_field_conflicts(ds: &Dataset, emit: &mut Emitter) {
    let fields: Vec<&Field> = household_conflict_fields(ds.schema).collect();
    let n = ds.len();
    // Per field, independently and in parallel: for each household the row of its first value
    // and the first row whose value differs from it.
    // Empty for a field where no household differs.
    let per_field: Vec<(Vec<u32>, Vec<u32>)> = fields
        .par_iter()
        .map(|f| {
            let alike = ds.written_alike.get(&f.name);
            // No household with cells written two ways: nothing to compare, nothing allocated
            // (the usual case on a clean file for most fields).
            if alike.is_some_and(|a| a.iter().all(|&x| x)) {
                return (Vec::new(), Vec::new());
            }
            let pos = field_pos(ds, &f.name);
            let typed = ds.typed.get(&f.name);
            let mut first = vec![u32::MAX; ds.households];
            let mut differs = vec![u32::MAX; ds.households];
            let mut first_value: Vec<Option<Shown>> = vec![None; ds.households];
            // The cell the household's first value came from. A cell written the same is the
            // same value (the value is a function of the cell, and a blank cell's is the one
            // it inherits, the same in the whole household): compared as written, most rows
            // are settled without trimming or a code lookup.
            let mut first_cell: Vec<Option<CellRef>> = vec![None; ds.households];
            for g in 0..n {
                let Some(k) = ds.hh_index[g].map(|i| i as usize) else {
                    continue;
                };
                if differs[k] != u32::MAX || alike.is_some_and(|a| a[k]) {
                    continue;
                }
                let cell = cell_at(ds, g, &pos);
                if cell.is_some() && first_cell[k] == cell {
                    continue;
                }
                let Some(v) = conflict_value(ds, f, typed, &pos, g) else {
                    continue;
                };
                match &first_value[k] {
                    None => {
                        first_value[k] = Some(v);
                        first[k] = g as u32;
                        first_cell[k] = cell;
                    }
                    Some(a) if *a != v => differs[k] = g as u32,
                    Some(_) => {}
                }
            }
            (first, differs)
        })
        .collect();
    // A household is reported once, on the first row where any field differs, naming every
    // field that differs there (each such field's first difference is that very row).
    for k in 0..ds.households {
        let differs_at = |j: usize| per_field[j].1.get(k).copied().unwrap_or(u32::MAX);
        let Some(g) = (0..fields.len()).map(differs_at).min() else {
            continue;
        };
        if g == u32::MAX {
            continue;
        }
        let differing: Vec<usize> = (0..fields.len()).filter(|&j| differs_at(j) == g).collect();
        let cols: Vec<String> = differing.iter().map(|j| fields[*j].name.clone()).collect();
        let j0 = differing[0];
        let expected = conflict_value(
            ds,
            fields[j0],
            ds.typed.get(&fields[j0].name),
            &field_pos(ds, &fields[j0].name),
            per_field[j0].0[k] as usize,
        );
        emit.rule_finding(
            ds,
            g as usize,
            "L204",
            &cols,
            Extra {
                expected: expected.map(Shown::into_string),
                ..Extra::default()
            },
        );
    }
}

/// The value L204 compares: a code field's canonical value (an accepted variant is the same
/// value), else the value as written, trimmed. A number cell stays a number until it is compared
/// with text, so equal numbers are never formatted. `typed` is the field's typed column, looked
/// up once by the caller rather than once per row.
fn conflict_value<'d>(
    ds: &'d Dataset,
    f: &Field,
    typed: Option<&'d TypedCol>,
    pos: &[Option<usize>],
    g: usize,
) -> Option<Shown<'d>> {
    match (f.ty, typed) {
        (FieldType::Code, Some(c @ TypedCol::Str(_))) => c
            .str_at(g)
            .map(Cow::Borrowed)
            .or_else(|| text_at(ds, g, pos))
            .map(Shown::Text),
        _ => match cell_at(ds, g, pos) {
            Some(CellRef::Number(x)) => Some(Shown::Number(x)),
            _ => text_at(ds, g, pos).map(Shown::Text),
        },
    }
}

/// A value as the clerk sees it, kept as a number when the cell is one.
#[derive(Debug, Clone)]
enum Shown<'d> {
    Text(Cow<'d, str>),
    Number(f64),
}

impl Shown<'_> {
    fn into_string(self) -> String {
        match self {
            Shown::Text(t) => t.into_owned(),
            Shown::Number(x) => types::number_text(x),
        }
    }
}

impl PartialEq for Shown<'_> {
    /// Equal when the clerk sees the same text.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Shown::Text(a), Shown::Text(b)) => a == b,
            (Shown::Number(a), Shown::Number(b)) => {
                a == b || types::number_text(*a) == types::number_text(*b)
            }
            (Shown::Number(x), Shown::Text(t)) | (Shown::Text(t), Shown::Number(x)) => {
                types::number_text(*x) == *t
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;
    use crate::finding::Lang;
    use crate::read::Column;
    use crate::types::{FieldCtx, Fill, Value};
    use std::collections::HashSet;

    fn table(rows: &[[&str; 2]]) -> Table {
        table_of(["姓名", "联系电话"], rows)
    }

    fn table_of<const N: usize>(headers: [&str; N], rows: &[[&str; N]]) -> Table {
        let columns = headers
            .iter()
            .enumerate()
            .map(|(index, h)| Column {
                index,
                header: h.to_string(),
                field: Some(h.to_string()),
            })
            .collect();
        let mut t = Table::new("t.csv", None, 1, columns);
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<Cell> = r.iter().map(|s| Cell::Text(s.to_string())).collect();
            t.push_row(i as u32 + 2, cells.iter().map(Cell::as_ref))
                .expect("fits");
        }
        t
    }

    /// The tables typed with the default options (built-in findings dropped).
    fn typed<'a>(tables: &'a [Table], schema: &'a Schema) -> Dataset<'a> {
        let mut emit = Emitter::new(schema, Lang::En, HashSet::new());
        let as_of = NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
        type_tables(tables, schema, as_of, &BTreeSet::new(), &mut emit)
    }

    /// Every registered value check for a field type, as the typing pass builds the list.
    fn checks_for(ty: FieldType) -> Vec<(&'static str, types::ValueCheck)> {
        types::BUILTINS
            .iter()
            .filter_map(|b| Some((b.code, b.target.value_check(ty)?)))
            .collect()
    }

    /// A check that exists only as a (code, function) pair, as a registry entry carries it.
    fn placeholder_phone(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
        (v.trimmed == "00000000").then(|| Fill {
            reason: Some("all zeros".to_string()),
            ..Fill::default()
        })
    }

    /// The typing pass dispatches on the check list alone: a new value check needs no arm in
    /// the pass, and the list the pass builds from the registry finds the registered checks.
    #[test]
    fn value_checks_are_dispatched_from_the_list_given() {
        let schema = crate::schema::load_str("default", crate::schema::DEFAULT_TOML)
            .expect("default schema");
        let tables = [table(&[
            ["张三", "13800138000"],
            ["李四", "00000000"],
            ["王五1", " 13800138000"],
        ])];
        let ds = typed(&tables, &schema);
        let phone = schema.field("联系电话").expect("field");
        let codes = |out: &FieldOut| -> Vec<(u32, String)> {
            out.findings
                .iter()
                .map(|(g, code, _)| (*g, code.to_string()))
                .collect()
        };

        let out = type_field(
            &ds,
            phone,
            false,
            false,
            false,
            &[("X901", placeholder_phone)],
            Lang::En,
        );
        assert_eq!(codes(&out), vec![(1, "X901".to_string())]);
        assert_eq!(out.findings[0].2.reason.as_deref(), Some("all zeros"));

        // What the pass itself runs on a phone field: every registered check for its type.
        let registered = checks_for(phone.ty);
        let out = type_field(&ds, phone, false, false, false, &registered, Lang::En);
        let found = codes(&out);
        assert!(found.contains(&(1, "V501".to_string())), "{found:?}");
        assert!(found.contains(&(2, "V602".to_string())), "{found:?}");
        assert!(found.iter().all(|(g, _)| *g != 0), "{found:?}");

        let name = schema.field("姓名").expect("field");
        let registered = checks_for(name.ty);
        let out = type_field(&ds, name, false, false, false, &registered, Lang::En);
        assert_eq!(codes(&out), vec![(2, "V601".to_string())]);
        assert_eq!(out.findings[0].2.reason.as_deref(), Some("contains digits"));
    }

    /// The filled flags typing records for the rule frame are what reading the cells again
    /// gives: inherited household values count as filled, a blank or white-space cell does not,
    /// and a table without the column has none.
    #[test]
    fn recorded_filled_flags_are_the_cells_filled_flags() {
        let schema = crate::schema::load_str("default", crate::schema::DEFAULT_TOML)
            .expect("default schema");
        let tables = [
            table_of(
                ["户编号", "与户主关系", "姓名", "联系电话"],
                &[
                    ["H1", "户主", "甲", "13800138000"],
                    ["H1", "配偶", "乙", ""],
                    ["H2", "户主", "丙", "  "],
                    ["H2", "之子", "丁", ""],
                    ["", "户主", "", "13900139000"],
                ],
            ),
            table_of(["户编号", "与户主关系", "姓名"], &[["H3", "户主", "戊"]]),
        ];
        let keep: BTreeSet<String> = ["_filled_联系电话", "_filled_姓名"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut emit = Emitter::new(&schema, Lang::En, HashSet::new());
        let as_of = NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
        let ds = type_tables(&tables, &schema, as_of, &keep, &mut emit);
        for field in ["联系电话", "姓名"] {
            assert_eq!(
                ds.filled.get(field),
                Some(&ds.filled_column(field)),
                "{field}"
            );
        }
        assert_eq!(
            ds.filled["联系电话"],
            [
                Some(true),
                Some(true),
                Some(false),
                Some(false),
                Some(true),
                None
            ]
        );
        // Only what was asked for is recorded.
        assert!(!ds.filled.contains_key("户编号"));
    }

    /// Typing notes per household whether a field's own cells are written alike; L204 then
    /// skips those households, and finds exactly what it finds comparing every household.
    #[test]
    fn l204_skips_only_households_written_alike() {
        let schema = crate::schema::load_str("default", crate::schema::DEFAULT_TOML)
            .expect("default schema");
        let tables = [table_of(
            ["户编号", "与户主关系", "是否危房户", "住房面积"],
            &[
                ["H1", "户主", "是", "80"],
                ["H1", "配偶", "是", "80"],
                // The same value written two ways: not alike, and no conflict.
                ["H2", "户主", "是", "80"],
                ["H2", "配偶", " 是", "80 "],
                // A blank cell inherits: still alike.
                ["H3", "户主", "是", "60"],
                ["H3", "配偶", "", ""],
                ["H3", "之子", "是", "60"],
                ["H4", "户主", "是", "70"],
                ["H4", "配偶", "否", "70"],
                // The blank row first.
                ["H5", "户主", "", "50"],
                ["H5", "配偶", "否", "50"],
                ["H5", "之子", "是", "50"],
            ],
        )];
        let enabled: HashSet<String> = ["L204".to_string()].into();
        let mut emit = Emitter::new(&schema, Lang::En, enabled.clone());
        let as_of = NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
        let mut ds = type_tables(&tables, &schema, as_of, &BTreeSet::new(), &mut emit);
        assert_eq!(
            ds.written_alike["是否危房户"],
            [true, false, true, false, false]
        );
        assert_eq!(
            ds.written_alike["住房面积"],
            [true, false, true, true, true]
        );
        let l204 = |ds: &Dataset| {
            let mut emit = Emitter::new(&schema, Lang::En, enabled.clone());
            household_conflicts(ds, &mut emit);
            emit.findings
                .iter()
                .map(|f| (f.row, f.columns.clone(), f.message.clone()))
                .collect::<Vec<_>>()
        };
        let skipping = l204(&ds);
        assert_eq!(
            skipping.iter().map(|f| f.0).collect::<Vec<_>>(),
            [Some(10), Some(13)],
            "{skipping:?}"
        );
        ds.written_alike.clear();
        assert_eq!(l204(&ds), skipping);
    }

    /// A code text seen before has its value and findings replayed, not checked again: every
    /// row with the same text gets the same findings and the same typed value.
    #[test]
    fn repeated_code_texts_get_the_same_verdict_on_every_row() {
        let schema = crate::schema::load_str("default", crate::schema::DEFAULT_TOML)
            .expect("default schema");
        // Repeated texts next to each other too: a clean one (男, 男) and one with findings
        // (男人, 男人), which must be reported on both rows.
        let texts = [
            "男", "男", " 男", "男人", "男人", "女", " 男", "男人", "", "男人",
        ];
        let rows: Vec<[&str; 2]> = texts.iter().map(|t| ["张三", *t]).collect();
        let tables = [table_of(["姓名", "性别"], &rows)];
        let ds = typed(&tables, &schema);
        let sex = schema.field("性别").expect("field");
        let registered = checks_for(sex.ty);
        let out = type_field(&ds, sex, true, false, false, &registered, Lang::En);
        let of_row = |g: u32| -> Vec<(String, Option<String>)> {
            out.findings
                .iter()
                .filter(|(r, _, _)| *r == g)
                .map(|(_, code, extra)| (code.to_string(), extra.suggestion.clone()))
                .collect()
        };
        // White space around a code (V602) on both padded rows; an unknown code with its
        // suggestion on all four 男人 rows.
        assert!(
            of_row(2).iter().any(|(c, _)| c == "V602"),
            "{:?}",
            of_row(2)
        );
        assert_eq!(of_row(2), of_row(6));
        assert!(!of_row(3).is_empty());
        for g in [4, 7, 9] {
            assert_eq!(of_row(3), of_row(g), "row {g}");
        }
        for g in [0, 1, 5] {
            assert!(of_row(g).is_empty(), "row {g}: {:?}", of_row(g));
        }
        let Some(TypedCol::Str(col)) = &out.col else {
            panic!("a kept code field is a text column");
        };
        let typed: Vec<Option<&str>> = col.iter().collect();
        assert_eq!(
            typed,
            [
                Some("男"),
                Some("男"),
                Some("男"),
                None,
                None,
                Some("女"),
                Some("男"),
                None,
                None,
                None
            ]
        );
    }
}
