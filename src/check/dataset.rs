//! The typed dataset the typing pass builds and every later step of checking reads: rows of all
//! tables in dataset order, households, inherited household values, typed columns and the facts
//! Rust derives per person. Its own module so the emitter can read it without importing the
//! typing pass that fills it. The small accessors are `#[inline]` because the typing pass calls
//! them per cell from another module.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use polars::prelude::{Float64Chunked, PlHashMap, StringChunked};

use crate::read::{CellRef, Table};
use crate::schema::{Field, Schema};
use crate::types;

/// A typed column across the whole dataset, already in the form the rule frame takes (text as
/// polars string views: no `String` per cell).
pub(crate) enum TypedCol {
    Str(StringChunked),
    Num(Float64Chunked),
    Date(Vec<Option<NaiveDate>>),
}

impl TypedCol {
    /// The text value of row `g` (None for a non-text column).
    #[inline]
    pub fn str_at(&self, g: usize) -> Option<&str> {
        match self {
            TypedCol::Str(ca) => ca.get(g),
            _ => None,
        }
    }

    #[inline]
    pub fn num_at(&self, g: usize) -> Option<f64> {
        match self {
            TypedCol::Num(ca) => ca.get(g),
            _ => None,
        }
    }
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
    /// Per field whose `_filled_<field>` column a rule reads: what [`Dataset::filled_column`]
    /// gives, recorded by the typing pass as it reads the cells (the rule frame takes them out).
    pub filled: BTreeMap<String, Vec<Option<bool>>>,
    /// Per household field L204 compares: per household, whether every cell of the household
    /// it was read from is written the same (recorded by the typing pass). L204 looks only at
    /// households where it is not: a value is a function of its cell, so alike cells cannot
    /// conflict.
    pub written_alike: BTreeMap<String, Vec<bool>>,
    /// The household (table + 户编号) as a dense index (0 .. `households`), for grouping without
    /// hashing; None when 户编号 is blank (the row is its own household).
    pub hh_index: Vec<Option<u32>>,
    /// Number of distinct households in `hh_index`.
    pub households: usize,
    /// 户编号 as written (trimmed), borrowed from the table.
    pub household_id: Vec<Option<Cow<'a, str>>>,
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
    /// The exit line of the row's 识别标准 in the data year (the reference date's year): the
    /// income is that year's, so L302 compares it with that year's line.
    pub data_year_line: Vec<Option<f64>>,
    /// D101's key where it is not the ID itself: the first 18 characters of a 20/22-character
    /// 残疾人证, the 18-digit form of a 15-digit ID (one person, one key). Null otherwise.
    pub id_key: Vec<Option<String>>,
    pub excluded: Vec<Option<String>>,
    /// The distinct responsible-unit combinations and, per row, which one is its
    /// ([`Dataset::unit_index`]): found once, so a finding shares its unit instead of reading
    /// three cells and building six strings.
    pub units: Vec<crate::finding::UnitCells>,
    pub row_unit: Vec<u32>,
}

impl Dataset<'_> {
    #[inline]
    pub fn len(&self) -> usize {
        self.t.len()
    }

    #[inline]
    pub fn table(&self, g: usize) -> &Table {
        &self.tables[self.t[g] as usize]
    }

    /// The cell of `field` on global row `g` as the clerk wrote it (household fields: the cell
    /// the value was inherited from), or None when the column is absent.
    pub fn cell(&self, g: usize, field: &str) -> Option<CellRef<'_>> {
        let src = self.source.get(field).map_or(g, |s| s[g] as usize);
        let t = self.t[src] as usize;
        let pos = *self.present[t].get(field)?;
        Some(self.tables[t].cell(self.i[src] as usize, pos))
    }

    /// The household's key (table + 户编号) as text; None when 户编号 is blank.
    pub fn hh_key(&self, g: usize) -> Option<String> {
        self.household_id[g]
            .as_ref()
            .map(|h| format!("{}\u{1}{h}", self.t[g]))
    }

    /// The household as a number, for window keys and de-duplication: its dense index, or for a
    /// row without 户编号 a number of its own past every index.
    #[inline]
    pub fn household_number(&self, g: usize) -> u64 {
        match self.hh_index[g] {
            Some(i) => u64::from(i),
            None => (self.households + g) as u64,
        }
    }

    /// The row's responsible units in schema order; an empty cell is the unit `（未填）`.
    pub fn unit_cells(&self, g: usize) -> crate::finding::UnitCells {
        self.units[self.row_unit[g] as usize].clone()
    }

    /// Every row's responsible units (schema order, trimmed, a blank cell as `（未填）`) as an
    /// index into the distinct combinations, without building the combination per row. Run
    /// once by typing, into [`Dataset::units`] and [`Dataset::row_unit`].
    pub fn unit_index(&self) -> (Vec<crate::finding::UnitCells>, Vec<u32>) {
        let levels: Vec<&str> = self.schema.unit_levels().collect();
        let pos: Vec<Vec<Option<usize>>> = levels.iter().map(|l| field_pos(self, l)).collect();
        let src: Vec<Option<&Vec<u32>>> = levels.iter().map(|l| self.source.get(*l)).collect();
        let mut ids: PlHashMap<Vec<Cow<str>>, u32> = PlHashMap::default();
        let mut units = Vec::new();
        let mut row_unit = Vec::with_capacity(self.len());
        let mut key: Vec<Cow<str>> = Vec::with_capacity(levels.len());
        for g in 0..self.len() {
            key.clear();
            for (p, s) in pos.iter().zip(&src) {
                let from = s.map_or(g, |s| s[g] as usize);
                key.push(
                    cell_at(self, from, p)
                        .and_then(shown)
                        .unwrap_or(Cow::Borrowed(crate::finding::UNIT_BLANK)),
                );
            }
            let id = match ids.get(&key) {
                Some(&id) => id,
                None => {
                    let id = units.len() as u32;
                    units.push(
                        levels
                            .iter()
                            .zip(&key)
                            .map(|(l, v)| (l.to_string(), v.to_string()))
                            .collect(),
                    );
                    ids.insert(key.clone(), id);
                    id
                }
            };
            row_unit.push(id);
        }
        (units, row_unit)
    }

    /// Whether the field's cell is filled (after household inheritance), for every row; null
    /// where the row's table has no such column, so a rule over alternative columns (C110) can
    /// tell "blank" from "not in this file".
    pub fn filled_column(&self, field: &str) -> Vec<Option<bool>> {
        let pos = field_pos(self, field);
        let src = self.source.get(field);
        (0..self.len())
            .map(|g| {
                pos[self.t[g] as usize]
                    .is_some()
                    .then(|| !blank_at(self, src.map_or(g, |s| s[g] as usize), &pos))
            })
            .collect()
    }

    /// Whether the row's table has a column for the field.
    pub fn has_column(&self, g: usize, field: &str) -> bool {
        self.present[self.t[g] as usize].contains_key(field)
    }

    /// The value as the clerk sees it, trimmed; None when blank or absent.
    pub fn display(&self, g: usize, field: &str) -> Option<String> {
        self.cell(g, field).and_then(shown).map(Cow::into_owned)
    }
}

/// A cell as the clerk sees it, trimmed (borrowed when it is text); None when blank.
pub(super) fn shown(c: CellRef<'_>) -> Option<Cow<'_, str>> {
    let t = match c {
        CellRef::Text(t) => Cow::Borrowed(t.trim()),
        c => Cow::Owned(types::cell_text(c)?.trim().to_string()),
    };
    (!t.is_empty()).then_some(t)
}

/// Per table, the position of `field` in `Table::columns`: looked up once per field instead of
/// once per cell.
pub(super) fn field_pos(ds: &Dataset, field: &str) -> Vec<Option<usize>> {
    ds.present.iter().map(|p| p.get(field).copied()).collect()
}

/// The cell of `field` (positions from [`field_pos`]) on global row `g`, as written.
#[inline]
pub(super) fn cell_at<'a>(
    ds: &Dataset<'a>,
    g: usize,
    pos: &[Option<usize>],
) -> Option<CellRef<'a>> {
    let t = ds.t[g] as usize;
    let p = pos.get(t).copied().flatten()?;
    Some(ds.tables[t].cell(ds.i[g] as usize, p))
}

#[inline]
pub(super) fn blank_at(ds: &Dataset, g: usize, pos: &[Option<usize>]) -> bool {
    cell_at(ds, g, pos).is_none_or(|c| c.is_blank())
}

/// A cell's text as [`types::cell_text`] gives it, borrowed when the cell already is text.
#[inline]
pub(super) fn cell_str(c: CellRef<'_>) -> Option<Cow<'_, str>> {
    match c {
        CellRef::Text(s) if !c.is_blank() => Some(Cow::Borrowed(s)),
        c => types::cell_text(c).map(Cow::Owned),
    }
}

/// The cell's text, trimmed of edge and invisible white space; None when blank or absent.
#[inline]
pub(super) fn text_at<'a>(
    ds: &Dataset<'a>,
    g: usize,
    pos: &[Option<usize>],
) -> Option<Cow<'a, str>> {
    let trimmed = match cell_at(ds, g, pos).and_then(cell_str)? {
        Cow::Borrowed(s) => types::trim_value(s).value,
        Cow::Owned(s) => Cow::Owned(types::trim_value(&s).value.into_owned()),
    };
    (!trimmed.is_empty()).then_some(trimmed)
}

/// A code field's value → canonical code, as `types::lookup` resolves it (a code wins over a
/// variant of the same spelling), without the suggestion `lookup` computes for an unknown
/// value: one hash per value instead of a comparison per code.
pub(super) fn canonical_codes(f: &Field) -> PlHashMap<&str, &str> {
    let mut map: PlHashMap<&str, &str> = PlHashMap::default();
    for (variant, canonical) in &f.variants {
        map.insert(variant, canonical);
    }
    for c in &f.codes {
        map.insert(c, c);
    }
    map
}
