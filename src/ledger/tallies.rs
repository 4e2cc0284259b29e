//! One run's findings counted per unit and township, and summed into rounds.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::check::Population;
use crate::finding::{Finding, Severity, UNIT_BLANK};
use crate::schema::{FieldType, Schema};

use super::{Print, RoundStat, UnitKey, hex};

/// Sum per-township tallies into one round per unit, labelled `period`.
pub fn sum_townships(
    tallies: &BTreeMap<String, BTreeMap<UnitKey, Tally>>,
    period: &str,
) -> BTreeMap<UnitKey, RoundStat> {
    let mut out: BTreeMap<UnitKey, RoundStat> = BTreeMap::new();
    for units in tallies.values() {
        for (key, t) in units {
            let one = RoundStat {
                period: period.to_string(),
                rows: t.rows,
                households: t.households.len() as u64,
                errors: t.errors,
                warnings: t.warnings,
                rules: t.rules.clone(),
                prints: t.prints.clone(),
            };
            out.entry(key.clone())
                .or_insert_with(|| RoundStat {
                    period: period.to_string(),
                    ..RoundStat::default()
                })
                .add(&one);
        }
    }
    out
}

/// One unit's results in one township for one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub rows: u64,
    pub households: BTreeSet<String>,
    pub errors: u64,
    pub warnings: u64,
    pub rules: BTreeMap<String, (u64, u64)>,
    pub prints: BTreeMap<Print, u64>,
}

fn cell<'a>(cells: &'a [(String, String)], level: &str) -> &'a str {
    cells
        .iter()
        .find(|(k, _)| k == level)
        .map_or(UNIT_BLANK, |(_, v)| {
            if v.trim().is_empty() {
                UNIT_BLANK
            } else {
                v.as_str()
            }
        })
}

/// A unit's path at `level`, as `attribute` builds it: hierarchical levels take their prefix,
/// an assist dimension stands alone.
fn unit_path(schema: &Schema, cells: &[(String, String)], level: &str) -> Vec<String> {
    match schema.units.levels.iter().position(|l| l == level) {
        Some(pos) => schema
            .units
            .levels
            .iter()
            .take(pos + 1)
            .map(|l| cell(cells, l).to_string())
            .collect(),
        None => vec![cell(cells, level).to_string()],
    }
}

/// The salted hash identifying the person (or, without an ID number, the column) a finding is
/// about, so a fingerprint survives row reordering but never reveals the ID.
fn person_hash(schema: &Schema, f: &Finding, salt: &str) -> String {
    let is_id = f
        .column
        .as_deref()
        .and_then(|c| schema.field(c))
        .is_some_and(|fd| fd.ty == FieldType::IdNumber);
    let subject = match (&f.value, is_id) {
        (Some(v), true) if !v.trim().is_empty() => format!("id:{}", v.trim().to_uppercase()),
        _ => format!("col:{}", f.column.as_deref().unwrap_or("")),
    };
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(subject.as_bytes());
    hex(&h.finalize())
}

pub(super) fn tally(
    schema: &Schema,
    findings: &[Finding],
    population: &[Population],
    salt: &str,
) -> BTreeMap<String, BTreeMap<UnitKey, Tally>> {
    let township_level = schema.units.levels.first();
    let township = |cells: &[(String, String)]| {
        township_level.map_or(String::new(), |l| cell(cells, l).to_string())
    };
    let levels: Vec<&str> = schema.unit_levels().collect();
    let mut out: BTreeMap<String, BTreeMap<UnitKey, Tally>> = BTreeMap::new();
    for p in population {
        let t = out.entry(township(&p.unit)).or_default();
        for level in &levels {
            let e = t
                .entry((level.to_string(), unit_path(schema, &p.unit, level)))
                .or_default();
            e.rows += p.rows as u64;
            e.households.extend(p.households.iter().cloned());
        }
    }
    for f in findings {
        let Some(cells) = &f.unit else { continue };
        let person = person_hash(schema, f, salt);
        let t = out.entry(township(cells)).or_default();
        for level in &levels {
            let e = t
                .entry((level.to_string(), unit_path(schema, cells, level)))
                .or_default();
            let r = e.rules.entry(f.rule.clone()).or_default();
            match f.severity {
                Severity::Error => {
                    e.errors += 1;
                    r.0 += 1;
                }
                Severity::Warning => {
                    e.warnings += 1;
                    r.1 += 1;
                }
            }
            *e.prints
                .entry((
                    f.rule.clone(),
                    f.household.clone().unwrap_or_default(),
                    person.clone(),
                ))
                .or_default() += 1;
        }
    }
    out
}
