//! The typing pass: raw cells → typed, canonical values for every field, the facts the built-in
//! Rust checks derive (ID birth date, sex, region, age), and the built-in findings (C001, C101,
//! C106, V1xx–V6xx, L204).
//!
//! Runs once over every row, in dataset order (files as given, then sheet, then row). Household
//! fields left blank on member rows inherit the household's value here, so later stages never see
//! the export's "written once on the 户主 row" layout.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::read::{Cell, Table};
use crate::schema::{Field, FieldType, Schema};
use crate::types;

use super::emit::{Emitter, Extra};

/// A typed column across the whole dataset.
pub(crate) enum TypedCol {
    Str(Vec<Option<String>>),
    Num(Vec<Option<f64>>),
    Date(Vec<Option<NaiveDate>>),
}

/// Everything the typing pass learned about the dataset.
pub(crate) struct Dataset<'a> {
    pub tables: &'a [Table],
    pub schema: &'a Schema,
    pub as_of: NaiveDate,
    /// Global row → (table, row index within the table).
    pub t: Vec<u32>,
    pub i: Vec<u32>,
    /// Per table: canonical field → position in `Table::columns` (first matching column wins).
    pub present: Vec<HashMap<String, usize>>,
    /// Per household field: the global row whose cell supplies this row's value (itself unless the
    /// cell was blank and inherited).
    pub source: HashMap<String, Vec<u32>>,
    pub typed: BTreeMap<String, TypedCol>,
    /// Household key (table + 户编号); None when 户编号 is blank (the row is its own household).
    pub hh: Vec<Option<String>>,
    /// The key of `hh` as a dense index (0 .. `households`), for grouping without hashing.
    pub hh_index: Vec<Option<u32>>,
    /// Number of distinct keys in `hh`.
    pub households: usize,
    /// 户编号 as written.
    pub household_id: Vec<Option<String>>,
    pub anchor: Vec<bool>,
    pub id_valid: Vec<bool>,
    /// The ID can be compared with others (not malformed, digits not lost): duplicates (D101)
    /// and exclusion lists (X101) still apply to an ID whose check character is wrong.
    pub id_comparable: Vec<bool>,
    pub id_birth: Vec<Option<NaiveDate>>,
    pub id_sex: Vec<Option<&'static str>>,
    pub id_region: Vec<Option<String>>,
    pub birth: Vec<Option<NaiveDate>>,
    pub age: Vec<Option<i32>>,
    pub school_blank: Vec<bool>,
    pub work_filled: Vec<bool>,
    pub exit_line: Vec<Option<f64>>,
    pub excluded: Vec<Option<String>>,
}

impl Dataset<'_> {
    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn table(&self, g: usize) -> &Table {
        &self.tables[self.t[g] as usize]
    }

    /// The cell of `field` on global row `g` as the clerk wrote it (household fields: the cell
    /// the value was inherited from), or None when the column is absent.
    pub fn cell(&self, g: usize, field: &str) -> Option<&Cell> {
        let src = self.source.get(field).map_or(g, |s| s[g] as usize);
        let t = self.t[src] as usize;
        let pos = *self.present[t].get(field)?;
        self.tables[t].rows[self.i[src] as usize].cells.get(pos)
    }

    /// The household as a number, for window keys and de-duplication: its dense index, or for a
    /// row without 户编号 a number of its own past every index.
    pub fn household_number(&self, g: usize) -> u64 {
        match self.hh_index[g] {
            Some(i) => u64::from(i),
            None => (self.households + g) as u64,
        }
    }

    /// The row's responsible units in schema order; an empty cell is the unit `（未填）`.
    pub fn unit_cells(&self, g: usize) -> crate::finding::UnitCells {
        self.schema
            .unit_levels()
            .map(|l| {
                (
                    l.to_string(),
                    self.display(g, l)
                        .unwrap_or_else(|| crate::finding::UNIT_BLANK.to_string()),
                )
            })
            .collect()
    }

    /// Whether the field's cell (after household inheritance) holds anything.
    pub fn filled(&self, g: usize, field: &str) -> bool {
        self.cell(g, field).is_some_and(|c| !c.is_blank())
    }

    /// The value as the clerk sees it, trimmed; None when blank or absent.
    pub fn display(&self, g: usize, field: &str) -> Option<String> {
        self.cell(g, field)
            .and_then(types::cell_text)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
}

/// Type every row of every table. Built-in findings go to `emit`.
pub(crate) fn type_tables<'a>(
    tables: &'a [Table],
    schema: &'a Schema,
    as_of: NaiveDate,
    exclusions: &HashMap<String, String>,
    emit: &mut Emitter,
) -> Dataset<'a> {
    let n: usize = tables.iter().map(|t| t.rows.len()).sum();
    let mut ds = Dataset {
        tables,
        schema,
        as_of,
        t: Vec::with_capacity(n),
        i: Vec::with_capacity(n),
        present: Vec::with_capacity(tables.len()),
        source: HashMap::new(),
        typed: BTreeMap::new(),
        hh: Vec::with_capacity(n),
        hh_index: Vec::new(),
        households: 0,
        household_id: Vec::with_capacity(n),
        anchor: vec![false; n],
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
        excluded: vec![None; n],
    };
    for (ti, table) in tables.iter().enumerate() {
        let mut present = HashMap::new();
        for (pos, c) in table.columns.iter().enumerate() {
            if let Some(f) = &c.field {
                present.entry(f.clone()).or_insert(pos);
            }
        }
        ds.present.push(present);
        for ri in 0..table.rows.len() {
            ds.t.push(ti as u32);
            ds.i.push(ri as u32);
        }
    }

    // Households and anchors, per table in row order. Each key gets a dense index so the later
    // per-row passes index vectors instead of hashing the key string (a million rows × every
    // household field).
    let mut index_of: HashMap<String, u32> = HashMap::new();
    let mut first_of: Vec<usize> = Vec::new();
    let mut head_of: Vec<Option<usize>> = Vec::new();
    let mut hh_index: Vec<Option<u32>> = Vec::with_capacity(n);
    let hid_pos = field_pos(&ds, "户编号");
    let rel_pos = field_pos(&ds, "与户主关系");
    for g in 0..n {
        let hid = text_at(&ds, g, &hid_pos);
        let key = hid.as_ref().map(|h| format!("{}\u{1}{h}", ds.t[g]));
        let idx = key.as_ref().map(|k| match index_of.get(k) {
            Some(&i) => i,
            None => {
                let i = first_of.len() as u32;
                index_of.insert(k.clone(), i);
                first_of.push(g);
                head_of.push(None);
                i
            }
        });
        if let Some(slot) = idx.and_then(|i| head_of.get_mut(i as usize))
            && slot.is_none()
            && text_at(&ds, g, &rel_pos).as_deref() == Some("户主")
        {
            *slot = Some(g);
        }
        ds.household_id.push(hid);
        ds.hh.push(key);
        hh_index.push(idx);
    }
    for (g, idx) in hh_index.iter().enumerate() {
        ds.anchor[g] = match idx {
            None => true,
            Some(i) => {
                let i = *i as usize;
                head_of[i].unwrap_or(first_of[i]) == g
            }
        };
    }
    ds.households = first_of.len();
    ds.hh_index = hh_index;

    // Inheritance of household fields: blanks take the household's first non-blank value.
    for f in schema.fields.iter().filter(|f| f.household) {
        let pos = field_pos(&ds, &f.name);
        let blank: Vec<bool> = (0..n).map(|g| blank_at(&ds, g, &pos)).collect();
        let mut first_value: Vec<u32> = vec![u32::MAX; ds.households];
        for (g, (idx, &is_blank)) in ds.hh_index.iter().zip(&blank).enumerate() {
            if let Some(i) = *idx
                && !is_blank
                && let Some(v) = first_value.get_mut(i as usize)
                && *v == u32::MAX
            {
                *v = g as u32;
            }
        }
        let mut src: Vec<u32> = (0..n as u32).collect();
        for (g, s) in src.iter_mut().enumerate() {
            if let Some(i) = ds.hh_index[g]
                && blank[g]
                && let Some(&v) = first_value.get(i as usize)
                && v != u32::MAX
            {
                *s = v;
            }
        }
        ds.source.insert(f.name.clone(), src);
    }

    // C001: required columns missing, once per table.
    for (ti, table) in tables.iter().enumerate() {
        for f in schema.fields.iter().filter(|f| f.required_column) {
            if !ds.present[ti].contains_key(&f.name) {
                emit.file_finding(table, ti, "C001", &f.name);
            }
        }
    }

    for f in &schema.fields {
        let col = type_field(&mut ds, f, emit);
        ds.typed.insert(f.name.clone(), col);
    }

    let work_pos = field_pos(&ds, "务工状况");
    for g in 0..n {
        ds.work_filled[g] = !blank_at(&ds, g, &work_pos);
    }
    derive_person_facts(&mut ds, exclusions);
    emit.finish_households(&ds);
    household_field_conflicts(&ds, emit);
    ds
}

/// Per table, the position of `field` in `Table::columns`: looked up once per field instead of
/// once per cell.
fn field_pos(ds: &Dataset, field: &str) -> Vec<Option<usize>> {
    ds.present.iter().map(|p| p.get(field).copied()).collect()
}

/// The cell of `field` (positions from [`field_pos`]) on global row `g`, as written.
fn cell_at<'a>(ds: &Dataset<'a>, g: usize, pos: &[Option<usize>]) -> Option<&'a Cell> {
    let t = ds.t[g] as usize;
    let p = pos.get(t).copied().flatten()?;
    ds.tables[t].rows[ds.i[g] as usize].cells.get(p)
}

fn blank_at(ds: &Dataset, g: usize, pos: &[Option<usize>]) -> bool {
    cell_at(ds, g, pos).is_none_or(Cell::is_blank)
}

/// A cell's text as [`types::cell_text`] gives it, borrowed when the cell already is text.
fn cell_str(c: &Cell) -> Option<Cow<'_, str>> {
    match c {
        Cell::Text(s) if !c.is_blank() => Some(Cow::Borrowed(s.as_str())),
        c => types::cell_text(c).map(Cow::Owned),
    }
}

/// The cell's text, trimmed of edge and invisible white space; None when blank or absent.
fn text_at(ds: &Dataset<'_>, g: usize, pos: &[Option<usize>]) -> Option<String> {
    cell_at(ds, g, pos)
        .and_then(cell_str)
        .map(|s| types::trim_value(&s).value)
        .filter(|s| !s.is_empty())
}

/// Type one field over all rows, emitting its built-in findings.
fn type_field(ds: &mut Dataset, f: &Field, emit: &mut Emitter) -> TypedCol {
    let n = ds.len();
    let household = f.household;
    let mut strs: Vec<Option<String>> = Vec::new();
    let mut nums: Vec<Option<f64>> = Vec::new();
    let mut dates: Vec<Option<NaiveDate>> = Vec::new();
    match f.ty {
        FieldType::Integer | FieldType::Decimal => nums.reserve(n),
        FieldType::Date => dates.reserve(n),
        _ => strs.reserve(n),
    }
    let empty_rule = f.empty_rule.as_deref().unwrap_or("C101");
    let emit_lang = emit.lang();
    // Looked up once per field, not per cell. A copy: findings read `ds.source` meanwhile.
    let source: Option<Vec<u32>> = ds.source.get(&f.name).cloned();
    let pos = field_pos(ds, &f.name);
    for g in 0..n {
        // Inherited household values were checked on the row that carries them.
        let src = source.as_ref().map_or(g, |s| s[g] as usize);
        let inherited = src != g;
        let cell = cell_at(ds, src, &pos);
        let present = pos[ds.t[g] as usize].is_some();
        let mut out = |ds: &Dataset, code: &str, extra: Extra| {
            if !inherited {
                emit.cell_finding(ds, g, code, &f.name, household, extra);
            }
        };
        let (text, numeric) = match cell {
            Some(Cell::Error(e)) => {
                out(
                    ds,
                    invalid_code(f.ty),
                    Extra::reason(format!("单元格是错误值 {e}")),
                );
                push_null(f.ty, &mut strs, &mut nums, &mut dates);
                continue;
            }
            Some(c) if !c.is_blank() => (cell_str(c).unwrap_or_default(), types::is_numeric(c)),
            _ => {
                if present && f.required && !(household && ds.hh[g].is_some() && inherited) {
                    out(ds, empty_rule, Extra::default());
                }
                if f.name == "在校生状况" && present {
                    ds.school_blank[g] = true;
                }
                push_null(f.ty, &mut strs, &mut nums, &mut dates);
                continue;
            }
        };
        let trimmed = types::trim_value(&text).value;
        if f.ty != FieldType::IdNumber && trimmed != text {
            out(ds, "V602", Extra::default());
        }
        if trimmed.is_empty() {
            if f.name == "在校生状况" {
                ds.school_blank[g] = true;
            }
            if present && f.required {
                out(ds, empty_rule, Extra::default());
            }
            push_null(f.ty, &mut strs, &mut nums, &mut dates);
            continue;
        }
        match f.ty {
            FieldType::Text => strs.push(Some(trimmed)),
            FieldType::Digits => {
                if !trimmed.chars().all(|c| c.is_ascii_digit()) {
                    out(ds, "V301", Extra::default());
                }
                strs.push(Some(trimmed));
            }
            FieldType::Name => {
                if let Some(issue) = types::check_name(&trimmed) {
                    out(
                        ds,
                        "V601",
                        Extra::reason(name_reason(issue, emit_lang).to_string()),
                    );
                }
                strs.push(Some(trimmed));
            }
            FieldType::Phone => {
                if !types::is_valid_phone(&trimmed) {
                    out(ds, "V501", Extra::default());
                }
                strs.push(Some(trimmed));
            }
            FieldType::BankCard => {
                if types::check_bank_card(&trimmed).is_some() {
                    out(ds, "V502", Extra::default());
                }
                strs.push(Some(trimmed));
            }
            FieldType::Code => match types::lookup(&trimmed, &f.codes, &f.variants) {
                types::CodeLookup::Canonical(c) => strs.push(Some(c)),
                types::CodeLookup::Unknown { suggestion } => {
                    out(ds, "V201", Extra::suggestion(suggestion));
                    strs.push(None);
                }
            },
            FieldType::Integer | FieldType::Decimal => {
                let parsed = if numeric {
                    cell.and_then(types::cell_number)
                } else {
                    types::parse_number(&trimmed)
                };
                match parsed.map(|v| (v, types::check_number(v, f))) {
                    None => {
                        out(ds, "V301", Extra::default());
                        nums.push(None);
                    }
                    Some((_, Some(issue)))
                        if matches!(
                            issue,
                            types::NumberIssue::NotANumber | types::NumberIssue::NotInteger
                        ) =>
                    {
                        out(ds, issue.code(), Extra::default());
                        nums.push(None);
                    }
                    Some((v, issue)) => {
                        if let Some(issue) = issue {
                            out(ds, issue.code(), Extra::range(f));
                        }
                        nums.push(Some(v));
                    }
                }
            }
            FieldType::Date => {
                let d = if numeric {
                    cell.and_then(types::cell_number)
                        .and_then(types::from_excel_serial)
                        .or_else(|| types::parse_date(&trimmed))
                } else if let Some(Cell::DateTime(s)) = cell {
                    types::from_excel_serial(*s)
                } else {
                    types::parse_date(&trimmed)
                };
                if d.is_none() {
                    out(ds, "V401", Extra::default());
                }
                dates.push(d);
            }
            FieldType::IdNumber => {
                let chk = types::check_id(&text, numeric, ds.as_of);
                let mut valid = true;
                for issue in &chk.issues {
                    let code = issue.code();
                    if matches!(code, "V101" | "V102" | "V103" | "V104" | "V105") {
                        valid = false;
                    }
                    out(ds, code, Extra::id(issue, &chk, emit_lang));
                }
                if f.name == "证件号码" {
                    ds.id_valid[g] = valid;
                    ds.id_comparable[g] = !chk
                        .issues
                        .iter()
                        .any(|i| matches!(i.code(), "V101" | "V105"));
                    ds.id_birth[g] = chk.birth;
                    ds.id_sex[g] = chk.sex.map(|s| s.as_code());
                    ds.id_region[g] = chk.region.clone();
                }
                let usable = !chk.issues.iter().any(|i| i.code() == "V105");
                strs.push(usable.then_some(chk.normalized));
            }
        }
    }
    match f.ty {
        FieldType::Integer | FieldType::Decimal => TypedCol::Num(nums),
        FieldType::Date => TypedCol::Date(dates),
        _ => TypedCol::Str(strs),
    }
}

fn push_null(
    ty: FieldType,
    strs: &mut Vec<Option<String>>,
    nums: &mut Vec<Option<f64>>,
    dates: &mut Vec<Option<NaiveDate>>,
) {
    match ty {
        FieldType::Integer | FieldType::Decimal => nums.push(None),
        FieldType::Date => dates.push(None),
        _ => strs.push(None),
    }
}

/// The rule a broken value (an error cell) of this type raises.
fn invalid_code(ty: FieldType) -> &'static str {
    match ty {
        FieldType::IdNumber => "V101",
        FieldType::Code => "V201",
        FieldType::Integer | FieldType::Decimal | FieldType::Digits => "V301",
        FieldType::Date => "V401",
        FieldType::Phone => "V501",
        FieldType::BankCard => "V502",
        FieldType::Name => "V601",
        FieldType::Text => "V602",
    }
}

/// Birth date, age, the exit line and exclusion-list hits per person.
fn derive_person_facts(ds: &mut Dataset, exclusions: &HashMap<String, String>) {
    let n = ds.len();
    let dob = match ds.typed.get("出生日期") {
        Some(TypedCol::Date(d)) => Some(d.clone()),
        _ => None,
    };
    let std_col = match ds.typed.get("识别标准") {
        Some(TypedCol::Str(s)) => Some(s),
        _ => None,
    };
    let year_col = match ds.typed.get("脱贫年度") {
        Some(TypedCol::Num(v)) => Some(v),
        _ => None,
    };
    let ids = match ds.typed.get("证件号码") {
        Some(TypedCol::Str(s)) => Some(s),
        _ => None,
    };
    let mut exit_line = vec![None; n];
    let mut excluded = vec![None; n];
    for g in 0..n {
        if let (Some(s), Some(y)) = (std_col, year_col)
            && let (Some(s), Some(y)) = (&s[g], y[g])
        {
            exit_line[g] = ds.schema.exit_line(s, y as i32);
        }
        if !exclusions.is_empty()
            && ds.id_comparable[g]
            && let Some(ids) = ids
            && let Some(id) = &ids[g]
        {
            excluded[g] = exclusions.get(id).cloned();
        }
    }
    for g in 0..n {
        let b = ds.id_birth[g].or_else(|| dob.as_ref().and_then(|d| d[g]));
        ds.birth[g] = b;
        ds.age[g] = b.map(|b| types::age_at(b, ds.as_of));
    }
    ds.exit_line = exit_line;
    ds.excluded = excluded;
}

/// L204: a household field (other than the location, which is D102) with two different
/// non-blank values inside one household. One finding per household, on the first row whose
/// value differs from the household's first value.
fn household_field_conflicts(ds: &Dataset, emit: &mut Emitter) {
    let location: Vec<&str> = ds.schema.units.levels.iter().map(String::as_str).collect();
    let fields: Vec<&Field> = ds
        .schema
        .fields
        .iter()
        .filter(|f| f.household && !location.contains(&f.name.as_str()))
        .collect();
    let pos: Vec<Vec<Option<usize>>> = fields.iter().map(|f| field_pos(ds, &f.name)).collect();
    // Per household index: first values per field, and whether it was already reported.
    let mut first: Vec<Option<Vec<Option<String>>>> = vec![None; ds.households];
    let mut reported: Vec<bool> = vec![false; ds.households];
    for g in 0..ds.len() {
        let Some(k) = ds.hh_index[g].map(|i| i as usize) else {
            continue;
        };
        // Code fields compare canonical values (an accepted variant is the same value); a value
        // outside the list compares as written.
        let values: Vec<Option<String>> = fields
            .iter()
            .zip(&pos)
            .map(|(f, p)| match (f.ty, ds.typed.get(&f.name)) {
                (FieldType::Code, Some(TypedCol::Str(v))) => {
                    v[g].clone().or_else(|| text_at(ds, g, p))
                }
                _ => text_at(ds, g, p),
            })
            .collect();
        let Some(slot) = first.get_mut(k) else {
            continue;
        };
        match slot {
            None => {
                *slot = Some(values);
            }
            Some(firsts) => {
                let mut differing = Vec::new();
                for (j, v) in values.iter().enumerate() {
                    match (&firsts[j], v) {
                        (Some(a), Some(b)) if a != b => differing.push(j),
                        (None, Some(b)) => firsts[j] = Some(b.clone()),
                        _ => {}
                    }
                }
                if !differing.is_empty() && !reported[k] {
                    reported[k] = true;
                    let cols: Vec<String> =
                        differing.iter().map(|j| fields[*j].name.clone()).collect();
                    let j0 = differing[0];
                    emit.rule_finding(
                        ds,
                        g,
                        "L204",
                        &cols,
                        Extra {
                            expected: firsts[j0].clone(),
                            ..Extra::default()
                        },
                    );
                }
            }
        }
    }
}

fn name_reason(issue: types::NameIssue, lang: crate::finding::Lang) -> &'static str {
    use crate::finding::Lang;
    use types::NameIssue;
    match (issue, lang) {
        (NameIssue::Digits, Lang::Zh) => "含有数字",
        (NameIssue::Latin, Lang::Zh) => "含有拉丁字母",
        (NameIssue::Placeholder, Lang::Zh) => "是占位词",
        (NameIssue::TooLong, Lang::Zh) => "超过 20 个字",
        (NameIssue::Digits, Lang::En) => "contains digits",
        (NameIssue::Latin, Lang::En) => "contains Latin letters",
        (NameIssue::Placeholder, Lang::En) => "is a placeholder",
        (NameIssue::TooLong, Lang::En) => "is longer than 20 characters",
    }
}
