//! Attributing findings to responsible units (乡镇 → 行政村, and 帮扶单位 on its own), because
//! Article 27(6) penalises units, not cells.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::check::Population;
use crate::finding::{Category, Finding, Severity};
use crate::schema::Schema;

/// Where a unit stands on the Article 27(6) ladder, from the ledger (`null` without one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repeat {
    pub periods_with_errors: u32,
    pub consecutive: u32,
    /// 0 clean, 1 offence, 2 second consecutive offence, 3 repeated or serious.
    pub level: u8,
    pub action: String,
    /// Rules that failed in this round and the one before.
    pub repeated_rules: Vec<String>,
    /// Findings of the previous round fixed / still present / new in this round.
    pub fixed: Option<u32>,
    pub persisting: Option<u32>,
    pub new: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitReport {
    pub level: String,
    pub name: String,
    pub path: Vec<String>,
    pub rows: usize,
    pub households: usize,
    pub households_with_errors: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Errors per 100 rows, two decimals.
    pub error_rate: f64,
    pub by_rule: BTreeMap<String, usize>,
    pub by_category: BTreeMap<Category, usize>,
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub households: usize,
    pub errors: usize,
    pub warnings: usize,
    pub by_category: BTreeMap<Category, usize>,
}

pub fn summarize(findings: &[Finding], rows: usize, households: usize) -> Summary {
    let mut by_category: BTreeMap<Category, usize> =
        Category::ALL.iter().map(|c| (*c, 0)).collect();
    let (mut errors, mut warnings) = (0, 0);
    for f in findings {
        match f.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
        *by_category.entry(f.category).or_default() += 1;
    }
    Summary {
        rows,
        households,
        errors,
        warnings,
        by_category,
    }
}

/// The path of a unit at `level` for a finding's or population's unit cells: hierarchical levels
/// take their prefix (乡镇, 行政村), an assist dimension stands alone.
fn unit_path(schema: &Schema, cells: &[(String, String)], level: &str) -> Option<Vec<String>> {
    let get = |l: &str| cells.iter().find(|(k, _)| k == l).map(|(_, v)| v.clone());
    if let Some(pos) = schema.units.levels.iter().position(|l| l == level) {
        schema.units.levels[..=pos].iter().map(|l| get(l)).collect()
    } else {
        get(level).map(|v| vec![v])
    }
}

/// The units of one level as they are met, each with the households its errors fall in (only
/// counted: a hash set, not an ordered one — one insert per error finding).
struct LevelUnits<'a> {
    level: &'a str,
    index: BTreeMap<Vec<String>, usize>,
    entries: Vec<(HashSet<&'a str>, UnitReport)>,
}

impl<'a> LevelUnits<'a> {
    /// The position of the unit at `path`, added (with zero counts) when new.
    fn slot(&mut self, path: Vec<String>) -> usize {
        if let Some(&k) = self.index.get(&path) {
            return k;
        }
        self.entries.push((
            HashSet::new(),
            UnitReport {
                level: self.level.to_string(),
                name: path.last().cloned().unwrap_or_default(),
                path: path.clone(),
                rows: 0,
                households: 0,
                households_with_errors: 0,
                errors: 0,
                warnings: 0,
                error_rate: 0.0,
                by_rule: BTreeMap::new(),
                by_category: Category::ALL.iter().map(|c| (*c, 0)).collect(),
                repeat: None,
            },
        ));
        self.index.insert(path, self.entries.len() - 1);
        self.entries.len() - 1
    }
}

/// Per-unit counts at every level, sorted by level order then by errors (most first).
pub fn attribute(
    schema: &Schema,
    findings: &[Finding],
    population: &[Population],
) -> Vec<UnitReport> {
    // Levels are independent (three passes over every finding on a dirty file's ~120k):
    // counted on every core, kept in level order.
    use rayon::prelude::*;
    let levels: Vec<&str> = schema.unit_levels().collect();
    let per_level: Vec<Vec<UnitReport>> = levels
        .par_iter()
        .map(|&level| level_reports(schema, level, findings, population))
        .collect();
    per_level.into_iter().flatten().collect()
}

/// The units of one level, sorted by errors (most first), then path.
fn level_reports(
    schema: &Schema,
    level: &str,
    findings: &[Finding],
    population: &[Population],
) -> Vec<UnitReport> {
    let mut units = LevelUnits {
        level,
        index: BTreeMap::new(),
        entries: Vec::new(),
    };
    for p in population {
        if let Some(path) = unit_path(schema, &p.unit, level) {
            let k = units.slot(path);
            let u = &mut units.entries[k].1;
            u.rows += p.rows;
            u.households += p.households.len();
        }
    }
    // A dataset's findings share a few unit combinations: each is resolved to its unit once
    // (by address), not once per finding.
    let mut seen: HashMap<*const (String, String), Option<usize>> = HashMap::new();
    for f in findings {
        let Some(cells) = &f.unit else { continue };
        let k = *seen
            .entry(cells.as_ptr())
            .or_insert_with(|| unit_path(schema, cells, level).map(|p| units.slot(p)));
        let Some(k) = k else { continue };
        let (hh, u) = &mut units.entries[k];
        match f.severity {
            Severity::Error => {
                u.errors += 1;
                if let Some(h) = &f.household {
                    hh.insert(h.as_str());
                }
            }
            Severity::Warning => u.warnings += 1,
        }
        match u.by_rule.get_mut(&f.rule) {
            Some(n) => *n += 1,
            None => {
                u.by_rule.insert(f.rule.clone(), 1);
            }
        }
        *u.by_category.entry(f.category).or_default() += 1;
    }
    let mut level_units: Vec<UnitReport> = units
        .entries
        .into_iter()
        .map(|(hh, mut u)| {
            u.households_with_errors = hh.len();
            u.error_rate = if u.rows == 0 {
                0.0
            } else {
                (u.errors as f64 * 10000.0 / u.rows as f64).round() / 100.0
            };
            u
        })
        .collect();
    level_units.sort_by(|a, b| b.errors.cmp(&a.errors).then_with(|| a.path.cmp(&b.path)));
    level_units
}
