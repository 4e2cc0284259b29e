//! Checking: typed values, computed columns and every rule of the schema, producing findings.
//!
//! Input: the tables read by `read` and a validated schema. Output: findings (values, never
//! errors), the rules skipped per file with the reason, and the population per unit.

pub use crate::schema::columns;
pub(crate) mod dataset;
pub(crate) mod emit;
pub mod engine;
pub mod shard;
pub(crate) mod typing;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;

use crate::finding::{Finding, Lang, UnitCells};
use crate::read::Table;
pub use crate::read::lists::Exclusion;
use crate::schema::Schema;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub as_of: NaiveDate,
    pub lang: Lang,
    /// Only these rule codes (empty = all enabled rules).
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclusions: Vec<Exclusion>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRule {
    pub file: String,
    pub rule: String,
    pub reason: String,
}

/// Rows and households per full unit combination (e.g. 乡镇 + 行政村 + 帮扶单位).
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub unit: UnitCells,
    pub rows: usize,
    /// Household keys in this combination.
    pub households: Vec<String>,
}

#[derive(Debug, Default)]
pub struct CheckResult {
    pub findings: Vec<Finding>,
    pub skipped_rules: Vec<SkippedRule>,
    pub population: Vec<Population>,
    pub rows: usize,
    pub households: usize,
}

/// Whether a rule code is selected by `--select`/`--ignore` (codes or prefixes such as `V1`).
pub fn selected(code: &str, select: &[String], ignore: &[String]) -> bool {
    let matches = |pat: &String| {
        let p = pat.trim().to_uppercase();
        !p.is_empty() && code.starts_with(&p)
    };
    (select.is_empty() || select.iter().any(matches)) && !ignore.iter().any(matches)
}

/// The codes of the rules a run evaluates: enabled in the schema and chosen by --select/--ignore.
pub(crate) fn enabled_rules(schema: &Schema, opts: &CheckOptions) -> HashSet<String> {
    schema
        .rules
        .iter()
        .filter(|r| r.enabled && selected(&r.code, &opts.select, &opts.ignore))
        .map(|r| r.code.clone())
        .collect()
}

/// Each excluded ID with the reason X101 gives, naming the list's department when it has one.
pub(crate) fn exclusion_reasons(opts: &CheckOptions) -> HashMap<String, String> {
    opts.exclusions
        .iter()
        .map(|e| {
            let reason = if e.source.is_empty() {
                e.reason.clone()
            } else {
                format!("{}（{}）", e.reason, e.source)
            };
            (e.id.clone(), reason)
        })
        .collect()
}

/// Run every enabled rule of `schema` over `tables` (one dataset).
///
/// The schema must have been validated (`schema::load`); a rule whose SQL does not compile here
/// is an internal error and is reported as skipped rather than aborting the run.
pub fn check(tables: &[Table], schema: &Schema, opts: &CheckOptions) -> CheckResult {
    let enabled = enabled_rules(schema, opts);
    let exclusions = exclusion_reasons(opts);
    let mut emit = emit::Emitter::new(schema, opts.lang, enabled.clone());
    let mut skipped = Vec::new();
    let compiled = engine::compile_all(schema, &|c| enabled.contains(c));
    // What the rule frame reads ([`engine::frame_needs`]); with no SQL rule selected there is
    // no frame, and only what Rust reads is kept.
    let mut keep: BTreeSet<String> = BTreeSet::new();
    if let Ok(compiled) = &compiled {
        keep.extend(engine::frame_needs(compiled));
    }
    let t0 = std::time::Instant::now();
    let mut ds = typing::type_tables(tables, schema, opts.as_of, &keep, &mut emit);
    crate::timing::timing("check: typing", t0);
    let t0 = std::time::Instant::now();
    let population = facts_population_and_l204(&mut ds, &exclusions, &mut emit);
    crate::timing::timing("check: person facts + population + L204", t0);
    let t0 = std::time::Instant::now();
    // Distinct keys plus one household per row without 户编号.
    let households = ds.households + ds.hh_index.iter().filter(|i| i.is_none()).count();
    match compiled {
        Ok(compiled) => {
            engine::age_skips(&ds, &compiled, &mut skipped);
            engine::exit_line_skips(&ds, &compiled, &mut skipped);
            if let Err(e) = engine::run_rules(&mut ds, &compiled, &mut emit, &mut skipped) {
                for c in &compiled {
                    engine::push_skip(
                        &mut skipped,
                        "*",
                        &c.rule.code,
                        format!("规则引擎出错: {e}"),
                    );
                }
            }
        }
        Err(e) => engine::push_skip(&mut skipped, "*", "*", format!("规则无法编译: {e}")),
    }
    crate::timing::timing("check: rules", t0);
    let rows = ds.len();
    let mut findings = emit.findings;
    sort_findings(&mut findings);
    CheckResult {
        findings,
        skipped_rules: skipped,
        population,
        rows,
        households,
    }
}

/// Dataset order: table, row, then column, then rule code.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.table,
            a.row.unwrap_or(0),
            a.col_indices.first().copied(),
            &a.rule,
        )
            .cmp(&(
                b.table,
                b.row.unwrap_or(0),
                b.col_indices.first().copied(),
                &b.rule,
            ))
    });
}

/// The person facts and the population per unit, side by side (each is one core over every
/// row and only reads the typed dataset); then L204, whose messages may show the facts.
fn facts_population_and_l204(
    ds: &mut dataset::Dataset,
    exclusions: &HashMap<String, String>,
    emit: &mut emit::Emitter,
) -> Vec<Population> {
    let shared: &dataset::Dataset = ds;
    let (facts, population) = rayon::join(
        || typing::person_facts(shared, exclusions),
        || population(shared),
    );
    facts.apply(ds);
    typing::household_conflicts(ds, emit);
    population
}

fn population(ds: &dataset::Dataset) -> Vec<Population> {
    // Per unit combination: rows, and households as (dense id, a row of it). Strings for the
    // households are made once per household and unit at the end, not once per row.
    let mut per_unit: Vec<(usize, Vec<(u64, usize)>)> = vec![(0, Vec::new()); ds.units.len()];
    for (g, u) in ds.row_unit.iter().enumerate() {
        let e = &mut per_unit[*u as usize];
        e.0 += 1;
        e.1.push((ds.household_number(g), g));
    }
    let mut out: Vec<Population> = ds
        .units
        .iter()
        .cloned()
        .zip(per_unit)
        .map(|(unit, (rows, mut hh))| {
            hh.sort_unstable_by_key(|(id, _)| *id);
            hh.dedup_by_key(|(id, _)| *id);
            let households: BTreeSet<String> = hh
                .into_iter()
                .map(|(_, g)| ds.hh_key(g).unwrap_or_else(|| format!("\u{2}{g}")))
                .collect();
            Population {
                unit,
                rows,
                households: households.into_iter().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.unit.cmp(&b.unit));
    out
}
