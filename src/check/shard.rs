//! Checking one shard (a file, or a group of files) of a larger run: every rule that needs only
//! the shard is evaluated here, the dataset rules that compare rows across shards are deferred,
//! and what they need of each row is kept as a compact key row. A run over many files then holds
//! one shard's tables at a time plus the key rows of all, not every table at once.
//!
//! Invariant: merging the shards' results in file order (tables and rows renumbered by the
//! offsets given here) gives what [`super::check`] gives for all the tables together, except
//! the deferred rules' findings, which the dataset pass adds from the key rows.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use super::dataset::{Dataset, TypedCol};
use super::{CheckOptions, CheckResult, emit, engine, facts_population_and_l204, typing};
use crate::read::Table;
use crate::schema::{RuleKind, Schema};

/// Fields whose typed values make the key columns (`household`, `town`, `village`, the ID key
/// and the phone).
pub const KEY_FIELDS: &[&str] = &["户编号", "乡镇", "行政村", "证件号码", "联系电话"];

/// Prefix of a kept cell-text column in [`ShardKeys::frame`]: `TEXT_PREFIX` + field name.
pub const TEXT_PREFIX: &str = "\u{3}";

/// The column holding the 户编号 as findings show it (trimmed as written).
pub const SHOWN_HOUSEHOLD: &str = "\u{3}_household";

/// The column holding the row's global table index.
pub const TABLE_COL: &str = "\u{3}_t";

/// How a shard fits into its run.
pub struct ShardSpec<'a> {
    /// Codes of the dataset rules evaluated over the key rows of every shard, not here.
    pub defer: &'a HashSet<String>,
    /// Fields whose cell text (as written, household values where they are written) is kept per
    /// row, for the deferred rules' messages and values.
    pub texts: &'a [String],
    /// Global index of the shard's first table, and of its first row (the run's order).
    pub table_offset: usize,
    pub row_offset: u64,
}

/// Where each skip entry sits in a whole run's list: (phase, position of the rule in the
/// schema). Sorting the shards' entries by it, stably, gives the order one run gives.
pub type SkipOrder = (u8, usize);

/// Every unit path of a run once: the in-memory key rows hold an index into it (a few bytes a
/// row instead of the JSON text).
#[derive(Debug, Default)]
pub struct UnitRegistry {
    index: HashMap<String, u32>,
    /// The unit paths as JSON `[[level, value], …]`, by index.
    pub json: Vec<String>,
}

impl UnitRegistry {
    fn id(&mut self, json: String) -> u32 {
        if let Some(&i) = self.index.get(&json) {
            return i;
        }
        let i = self.json.len() as u32;
        self.index.insert(json.clone(), i);
        self.json.push(json);
        i
    }

    /// The JSON of an in-memory `unit_path` value (an index); the value itself otherwise.
    pub fn resolve<'a>(&'a self, value: &'a str) -> &'a str {
        value
            .parse::<usize>()
            .ok()
            .and_then(|i| self.json.get(i))
            .map_or(value, String::as_str)
    }
}

/// Table facts a finding on a key row needs.
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub file: String,
    pub sheet: Option<String>,
    /// Canonical field → (column index in the sheet, header as written); first column wins.
    pub columns: HashMap<String, (usize, String)>,
}

/// What a shard keeps for the dataset pass.
pub struct ShardKeys {
    /// One row per data row, in the run's order. Columns: `input` (the global table index,
    /// zero-padded, so text order is run order), `sheet`, `row`, `seq` (global row), `household`,
    /// `unit_path` (an index into the run's [`UnitRegistry`]), `town`, `village`, `id_hash` and `phone_hash` (here still the ID key and phone
    /// in clear: [`crate::dataset::keys`] hashes them before anything leaves the process),
    /// `phone_filled`, then [`TABLE_COL`],
    /// [`SHOWN_HOUSEHOLD`] and one [`TEXT_PREFIX`] column per kept field.
    pub frame: DataFrame,
    /// Per deferred rule code: the global tables it applies to (the others lack a column).
    pub allowed: Vec<(String, Vec<u32>)>,
    /// Per table of the shard, in order.
    pub tables: Vec<TableMeta>,
    /// One entry per `CheckResult::skipped_rules` entry.
    pub skip_order: Vec<SkipOrder>,
}

/// Check `tables` as one shard of a run; findings carry global table indices and populations
/// global household keys.
pub fn check_shard(
    tables: &[Table],
    schema: &Schema,
    opts: &CheckOptions,
    spec: &ShardSpec,
    units: &mut UnitRegistry,
) -> PolarsResult<(CheckResult, ShardKeys)> {
    let enabled = super::enabled_rules(schema, opts);
    let exclusions = super::exclusion_reasons(opts);
    let mut emit = emit::Emitter::new(schema, opts.lang, enabled.clone());
    let mut skipped = Vec::new();
    let mut skip_order: Vec<SkipOrder> = Vec::new();
    let position = |code: &str| schema.rules.iter().position(|r| r.code == code);
    let compiled = engine::compile_all(schema, &|c| enabled.contains(c));
    let mut keep: BTreeSet<String> = KEY_FIELDS
        .iter()
        .filter(|f| schema.field(f).is_some())
        .map(|f| f.to_string())
        .collect();
    if let Ok(compiled) = &compiled {
        keep.extend(engine::frame_needs(compiled));
    }
    let mut ds = typing::type_tables(tables, schema, opts.as_of, &keep, &mut emit);
    let population = facts_population_and_l204(&mut ds, &exclusions, &mut emit);
    let households = ds.households + ds.hh_index.iter().filter(|i| i.is_none()).count();
    // Cut into buckets on disk right away in a many-file run; held (one shard) otherwise.
    let frame = key_frame(&ds, spec, units)?;
    let mut deferred = Vec::new();
    let tag = |skipped: &Vec<_>, phase: u8, order: &mut Vec<SkipOrder>| {
        while order.len() < skipped.len() {
            let s: &super::SkippedRule = &skipped[order.len()];
            order.push((phase, position(&s.rule).unwrap_or(0)));
        }
    };
    match compiled {
        Ok(compiled) => {
            engine::age_skips(&ds, &compiled, &mut skipped);
            tag(&skipped, 1, &mut skip_order);
            engine::exit_line_skips(&ds, &compiled, &mut skipped);
            tag(&skipped, 2, &mut skip_order);
            let defer = |r: &crate::schema::Rule| spec.defer.contains(&r.code);
            if let Err(e) = engine::run_rules_deferring(
                &mut ds,
                &compiled,
                &mut emit,
                &mut skipped,
                &defer,
                &mut deferred,
            ) {
                for c in &compiled {
                    engine::push_skip(
                        &mut skipped,
                        "*",
                        &c.rule.code,
                        format!("规则引擎出错: {e}"),
                    );
                }
            }
            tag(&skipped, 3, &mut skip_order);
            deferred.retain(|(k, _)| compiled[*k].rule.kind == RuleKind::Sql);
            let allowed = deferred
                .iter()
                .map(|(k, tables)| {
                    let t = tables
                        .iter()
                        .map(|t| t + spec.table_offset as u32)
                        .collect();
                    (compiled[*k].rule.code.clone(), t)
                })
                .collect();
            let rows = ds.len();
            let metas = table_metas(tables);
            let mut findings = emit.findings;
            for f in &mut findings {
                f.table = f.table.map(|t| t + spec.table_offset);
            }
            super::sort_findings(&mut findings);
            let population = population
                .into_iter()
                .map(|mut p| {
                    for h in &mut p.households {
                        *h = global_household_key(h, spec);
                    }
                    p.households.sort();
                    p
                })
                .collect();
            Ok((
                CheckResult {
                    findings,
                    skipped_rules: skipped,
                    population,
                    rows,
                    households,
                },
                ShardKeys {
                    frame,
                    allowed,
                    tables: metas,
                    skip_order,
                },
            ))
        }
        Err(e) => {
            engine::push_skip(&mut skipped, "*", "*", format!("规则无法编译: {e}"));
            tag(&skipped, 0, &mut skip_order);
            let mut findings = emit.findings;
            for f in &mut findings {
                f.table = f.table.map(|t| t + spec.table_offset);
            }
            super::sort_findings(&mut findings);
            Ok((
                CheckResult {
                    findings,
                    skipped_rules: skipped,
                    population,
                    rows: ds.len(),
                    households,
                },
                ShardKeys {
                    frame,
                    allowed: Vec::new(),
                    tables: table_metas(tables),
                    skip_order,
                },
            ))
        }
    }
}

/// Sort findings in the order [`super::check`] reports them (table, row, column, rule).
pub fn sort(findings: &mut [crate::finding::Finding]) {
    super::sort_findings(findings);
}

/// A household key of [`super::population`] made global: its table index (before `\u{1}`) or
/// its row (after `\u{2}`) shifted by the shard's offsets, so keys of two shards never meet.
fn global_household_key(key: &str, spec: &ShardSpec) -> String {
    if let Some(g) = key.strip_prefix('\u{2}') {
        let g: u64 = g.parse().unwrap_or(0);
        return format!("\u{2}{}", g + spec.row_offset);
    }
    match key.split_once('\u{1}') {
        Some((t, h)) => {
            let t: usize = t.parse().unwrap_or(0);
            format!("{}\u{1}{h}", t + spec.table_offset)
        }
        None => key.to_string(),
    }
}

fn table_metas(tables: &[Table]) -> Vec<TableMeta> {
    tables
        .iter()
        .map(|t| {
            let mut columns = HashMap::new();
            for c in &t.columns {
                if let Some(f) = &c.field {
                    columns
                        .entry(f.clone())
                        .or_insert((c.index, c.header.clone()));
                }
            }
            TableMeta {
                file: t.file.clone(),
                sheet: t.sheet.clone(),
                columns,
            }
        })
        .collect()
}

/// The key rows of a typed shard (before the rule frame takes the typed columns).
fn key_frame(
    ds: &Dataset,
    spec: &ShardSpec,
    registry: &mut UnitRegistry,
) -> PolarsResult<DataFrame> {
    let n = ds.len();
    let typed = |f: &str, g: usize| ds.typed.get(f).and_then(|c: &TypedCol| c.str_at(g));
    let text_col = |name: &str, f: &dyn Fn(usize) -> Option<String>| -> Column {
        let v: Vec<Option<String>> = (0..n).map(f).collect();
        Column::new(name.into(), v)
    };
    let unit_id: Vec<String> = ds
        .units
        .iter()
        .map(|u| {
            registry
                .id(serde_json::to_string(u).unwrap_or_default())
                .to_string()
        })
        .collect();
    let filled = ds.filled_column("联系电话");
    let mut cols = vec![
        text_col("input", &|g| {
            Some(format!("{:010}", ds.t[g] as usize + spec.table_offset))
        }),
        text_col("sheet", &|g| ds.table(g).sheet.clone()),
        Column::new(
            "row".into(),
            (0..n)
                .map(|g| ds.table(g).row_number(ds.i[g] as usize))
                .collect::<Vec<u32>>(),
        ),
        Column::new(
            "seq".into(),
            (0..n as u64)
                .map(|g| g + spec.row_offset)
                .collect::<Vec<u64>>(),
        ),
        text_col("household", &|g| typed("户编号", g).map(str::to_string)),
        text_col("unit_path", &|g| {
            Some(unit_id[ds.row_unit[g] as usize].clone())
        }),
        text_col("town", &|g| typed("乡镇", g).map(str::to_string)),
        text_col("village", &|g| typed("行政村", g).map(str::to_string)),
        // D101's key: one person, one key (the engine's `_idkey`).
        text_col("id_hash", &|g| {
            if ds.id_comparable[g] {
                ds.id_key[g]
                    .clone()
                    .or_else(|| typed("证件号码", g).map(str::to_string))
            } else {
                None
            }
        }),
        text_col("phone_hash", &|g| typed("联系电话", g).map(str::to_string)),
        Column::new(
            "phone_filled".into(),
            filled
                .iter()
                .map(|f| f.unwrap_or(false))
                .collect::<Vec<bool>>(),
        ),
        Column::new(
            TABLE_COL.into(),
            (0..n)
                .map(|g| ds.t[g] + spec.table_offset as u32)
                .collect::<Vec<u32>>(),
        ),
        text_col(SHOWN_HOUSEHOLD, &|g| {
            ds.household_id[g].as_deref().map(str::to_string)
        }),
    ];
    for f in spec.texts {
        cols.push(text_col(&format!("{TEXT_PREFIX}{f}"), &|g| {
            ds.cell(g, f).and_then(crate::types::cell_text)
        }));
    }
    DataFrame::new(n, cols)
}

/// The text a finding shows for a field of a kept cell text (trimmed; None when blank), as the
/// check's own messages show it.
pub fn shown_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}
