//! The dataset rules over key rows: the rules that compare rows across every file of a run
//! (D101 one person registered twice, D102 one household in two places, D103 one phone for
//! several households), written once as portable SQL over one table named `keys`, so the same
//! text runs on polars ([`local`]) and on a Ballista cluster (`distributed`, feature
//! `distributed`).
//!
//! Two callers: `check` over many files (key rows kept in memory, in clear, one shard's tables at
//! a time; findings identical to a run holding every table) and `povcheck dataset` over the
//! Parquet key tables that `check --keys-out` wrote (ID and phone numbers only as keyed hashes;
//! findings point at input, sheet and row, and say that the numbers are not there).
//!
//! Invariant: the SQL computes what the engine's computed columns compute (`_id_count`,
//! `_id_households`, `_hh_location_differs`, `_phone_households`); a household is its 户编号
//! across files, a row without one a household of its own; the first row of a household is the
//! first by `input`, then `seq`.

pub mod keys;
pub mod local;

#[cfg(feature = "distributed")]
pub mod distributed;

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::check::emit::{fill, placeholders};
use crate::check::shard::{
    SHOWN_HOUSEHOLD, TABLE_COL, TEXT_PREFIX, TableMeta, UnitRegistry, shown_text,
};
use crate::finding::{Finding, FindingScope, Lang, UNIT_BLANK, UnitCells, a1};
use crate::schema::{Rule, RuleKind, RuleScope, Schema};

/// Which cross-file comparison a dataset rule is. A schema's dataset rule is recognised by its
/// `when`/`assert` (not its code), so a renamed code still runs and an altered condition is
/// never silently replaced by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `assert = "_id_count <= 1"` (D101).
    SharedId,
    /// `assert = "NOT _hh_location_differs"` (D102).
    SplitLocation,
    /// `when = "_filled_联系电话"`, `assert = "_phone_households <= 1"` (D103).
    SharedPhone,
}

/// Result columns of every rule's SQL, in order.
pub const RESULT_COLUMNS: &[&str] = &[
    "rule",
    "input",
    "sheet",
    "row",
    "seq",
    "household",
    "unit_path",
    "n",
    "households",
];

// Distinct households among a group's rows: distinct 户编号 plus one per row without one.
pub const HOUSEHOLDS: &str = "CAST(COUNT(DISTINCT household) + \
     SUM(CASE WHEN household IS NULL THEN 1 ELSE 0 END) AS BIGINT)";

fn norm(s: Option<&str>) -> String {
    s.unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Kind {
    /// The key column this rule groups and joins on: rows it compares share it, so the local
    /// engine can run it bucket by bucket ([`local::Partitioned`]).
    pub fn partition_column(self) -> &'static str {
        match self {
            Kind::SharedId => "id_hash",
            Kind::SplitLocation => "household",
            Kind::SharedPhone => "phone_hash",
        }
    }

    /// The kind of a dataset-scope SQL rule, None when the key rows cannot express it.
    pub fn of(rule: &Rule) -> Option<Kind> {
        if rule.kind != RuleKind::Sql || rule.scope != RuleScope::Dataset {
            return None;
        }
        let (w, a) = (norm(rule.when.as_deref()), norm(rule.assert.as_deref()));
        match (w.as_str(), a.as_str()) {
            ("", "_id_count <= 1") => Some(Kind::SharedId),
            ("", "NOT _hh_location_differs") => Some(Kind::SplitLocation),
            ("_filled_联系电话", "_phone_households <= 1") => Some(Kind::SharedPhone),
            _ => None,
        }
    }

    /// Placeholders the result's `n` and `households` fill.
    fn numbers(self) -> (&'static str, &'static str) {
        match self {
            Kind::SharedId => ("_id_count", "_id_households"),
            Kind::SplitLocation => ("", ""),
            Kind::SharedPhone => ("", "_phone_households"),
        }
    }

    /// Standard SQL over the table `keys` giving one row per finding ([`RESULT_COLUMNS`]).
    /// Only GROUP BY, JOIN on subqueries, COUNT(DISTINCT), CASE and CAST: polars and
    /// DataFusion both run it as written.
    pub fn sql(self, code: &str) -> String {
        let code = code.replace('\'', "''");
        let head = format!(
            "SELECT '{code}' AS rule, k.input, k.sheet, k.\"row\", k.seq, k.household, k.unit_path"
        );
        match self {
            Kind::SharedId => format!(
                "{head}, d.n, d.households FROM keys AS k JOIN (\
                 SELECT id_hash, CAST(COUNT(*) AS BIGINT) AS n, {HOUSEHOLDS} AS households \
                 FROM keys WHERE id_hash IS NOT NULL GROUP BY id_hash) AS d \
                 ON k.id_hash = d.id_hash WHERE d.n > 1"
            ),
            Kind::SharedPhone => format!(
                "{head}, d.n, d.households FROM keys AS k JOIN (\
                 SELECT phone_hash, CAST(COUNT(*) AS BIGINT) AS n, {HOUSEHOLDS} AS households \
                 FROM keys WHERE phone_hash IS NOT NULL GROUP BY phone_hash) AS d \
                 ON k.phone_hash = d.phone_hash WHERE k.phone_filled = TRUE AND d.households > 1"
            ),
            Kind::SplitLocation => {
                let differs = |c: &str| {
                    format!(
                        "(CASE WHEN k.{c} IS NULL AND f.{c} IS NULL THEN 0 \
                         WHEN k.{c} IS NULL OR f.{c} IS NULL THEN 1 \
                         WHEN k.{c} <> f.{c} THEN 1 ELSE 0 END)"
                    )
                };
                format!(
                    "{head}, CAST(NULL AS BIGINT) AS n, CAST(NULL AS BIGINT) AS households \
                     FROM keys AS k JOIN (\
                     SELECT r.household, r.town, r.village FROM keys AS r JOIN (\
                     SELECT m.household, m.input, MIN(m.seq) AS seq FROM keys AS m JOIN (\
                     SELECT household, MIN(input) AS input FROM keys \
                     WHERE household IS NOT NULL GROUP BY household) AS i \
                     ON m.household = i.household AND m.input = i.input \
                     GROUP BY m.household, m.input) AS s \
                     ON r.household = s.household AND r.input = s.input AND r.seq = s.seq) AS f \
                     ON k.household = f.household WHERE {} + {} > 0",
                    differs("town"),
                    differs("village")
                )
            }
        }
    }
}

/// The enabled dataset rules: those the key rows express, and those they cannot.
pub struct Plan<'s> {
    pub rules: Vec<(&'s Rule, Kind)>,
    pub unknown: Vec<&'s Rule>,
}

impl Plan<'_> {
    /// The key columns these rules group and join on, each once ([`Kind::partition_column`]).
    pub fn partition_columns(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .rules
            .iter()
            .map(|(_, k)| k.partition_column())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Fields whose cell text the in-memory key rows keep for these rules' findings.
    pub fn texts(&self, schema: &Schema) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (r, _) in &self.rules {
            let names = r.columns.iter().map(String::as_str).chain(
                [&r.message, &r.message_en, &r.hint, &r.hint_en]
                    .into_iter()
                    .flat_map(|t| placeholders(t)),
            );
            for n in names {
                if schema.field(n).is_some() && !out.iter().any(|o| o == n) {
                    out.push(n.to_string());
                }
            }
        }
        out
    }
}

/// The dataset-scope SQL rules enabled by the schema and `--select`/`--ignore`.
pub fn plan<'s>(schema: &'s Schema, select: &[String], ignore: &[String]) -> Plan<'s> {
    let mut plan = Plan {
        rules: Vec::new(),
        unknown: Vec::new(),
    };
    for r in &schema.rules {
        if !r.enabled
            || r.kind != RuleKind::Sql
            || r.scope != RuleScope::Dataset
            || !crate::check::selected(&r.code, select, ignore)
        {
            continue;
        }
        match Kind::of(r) {
            Some(k) => plan.rules.push((r, k)),
            None => plan.unknown.push(r),
        }
    }
    plan
}

/// One result row of a rule's SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: String,
    pub input: String,
    pub sheet: Option<String>,
    pub row: u32,
    pub seq: u64,
    pub household: Option<String>,
    pub unit_path: String,
    pub n: Option<i64>,
    pub households: Option<i64>,
}

/// The rows of a result frame with [`RESULT_COLUMNS`] (types cast, so an engine that gives
/// `Int32` counts or `LargeUtf8` text is read the same).
pub fn hits(df: &DataFrame) -> PolarsResult<Vec<Hit>> {
    // An empty bucket set gives a frame without columns.
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let s = |name: &str| -> PolarsResult<StringChunked> {
        Ok(df.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let (rule, input, sheet, household, unit) = (
        s("rule")?,
        s("input")?,
        s("sheet")?,
        s("household")?,
        s("unit_path")?,
    );
    let row = df.column("row")?.cast(&DataType::UInt32)?;
    let row = row.u32()?;
    let seq = df.column("seq")?.cast(&DataType::UInt64)?;
    let seq = seq.u64()?;
    let n = df.column("n")?.cast(&DataType::Int64)?;
    let n = n.i64()?;
    let hh = df.column("households")?.cast(&DataType::Int64)?;
    let hh = hh.i64()?;
    Ok((0..df.height())
        .map(|i| Hit {
            rule: rule.get(i).unwrap_or_default().to_string(),
            input: input.get(i).unwrap_or_default().to_string(),
            sheet: sheet.get(i).map(str::to_string),
            row: row.get(i).unwrap_or(0),
            seq: seq.get(i).unwrap_or(0),
            household: household.get(i).map(str::to_string),
            unit_path: unit.get(i).unwrap_or_default().to_string(),
            n: n.get(i),
            households: hh.get(i),
        })
        .collect())
}

/// A unit path as the key rows store it (JSON `[[level, value], …]`).
pub fn parse_unit(json: &str) -> UnitCells {
    serde_json::from_str(json).unwrap_or_default()
}

fn texts(rule: &Rule, lang: Lang) -> (&str, &str) {
    match lang {
        Lang::Zh => (&rule.message, &rule.hint),
        Lang::En => (
            &rule.message_en,
            if rule.hint_en.is_empty() {
                &rule.hint
            } else {
                &rule.hint_en
            },
        ),
    }
}

fn number_var(kind: Kind, name: &str, hit: &Hit) -> Option<Option<String>> {
    let (n, hh) = kind.numbers();
    if !n.is_empty() && name == n {
        return Some(hit.n.map(|v| v.to_string()));
    }
    if !hh.is_empty() && name == hh {
        return Some(hit.households.map(|v| v.to_string()));
    }
    None
}

/// In-memory key rows of a run and what their findings are built from.
pub struct InMemory<'a> {
    /// Key rows ([`crate::check::shard::ShardKeys::frame`] columns) holding at least every
    /// hit's row: all of a run's, or one bucket's.
    pub frame: &'a DataFrame,
    /// Every table of the run, in order.
    pub tables: &'a [TableMeta],
    pub units: &'a UnitRegistry,
}

/// The findings of one rule from its hits over in-memory key rows (`frame`: rows of
/// [`crate::check::shard::ShardKeys::frame`] holding every hit's `seq`). Built as
/// the check's emitter builds a rule finding, so a sharded run reports what a whole run does.
/// Rows of tables outside `allowed` (a column the rule needs is missing there) are dropped.
pub fn findings_in_memory(
    schema: &Schema,
    rule: &Rule,
    kind: Kind,
    lang: Lang,
    hits: &[Hit],
    rows: &InMemory,
    allowed: &[u32],
) -> PolarsResult<Vec<Finding>> {
    let InMemory {
        frame,
        tables,
        units,
    } = *rows;
    let t_col = frame.column(TABLE_COL)?.u32()?.clone();
    let shown_hh = frame.column(SHOWN_HOUSEHOLD)?.str()?.clone();
    let mut text_cols: HashMap<&str, StringChunked> = HashMap::new();
    for c in frame.columns() {
        if let Some(f) = c.name().as_str().strip_prefix(TEXT_PREFIX)
            && schema.field(f).is_some()
        {
            text_cols.insert(
                schema.field(f).map(|x| x.name.as_str()).unwrap_or(f),
                c.str()?.clone(),
            );
        }
    }
    // A hit names its row by `seq`; where that row sits in this frame.
    let wanted: std::collections::HashSet<u64> = hits.iter().map(|h| h.seq).collect();
    let mut at: HashMap<u64, usize> = HashMap::with_capacity(wanted.len());
    for (i, s) in frame.column("seq")?.u64()?.iter().enumerate() {
        if let Some(s) = s
            && wanted.contains(&s)
        {
            at.insert(s, i);
        }
    }
    let (m, h) = texts(rule, lang);
    let mut out = Vec::with_capacity(hits.len());
    for hit in hits {
        let Some(&g) = at.get(&hit.seq) else { continue };
        let Some(t) = t_col.get(g) else { continue };
        if !allowed.contains(&t) {
            continue;
        }
        let Some(meta) = tables.get(t as usize) else {
            continue;
        };
        let text = |f: &str| text_cols.get(f).and_then(|c| c.get(g));
        let number = hit.row;
        let columns = &rule.columns;
        let col_indices: Vec<usize> = columns
            .iter()
            .filter_map(|c| meta.columns.get(c).map(|(i, _)| *i))
            .collect();
        let first_present = columns.iter().find(|c| meta.columns.contains_key(*c));
        let first = first_present.or(columns.first());
        let header = first_present.map(|c| meta.columns[c].1.clone());
        let value = first.and_then(|c| text(c)).map(str::to_string);
        let household = shown_hh.get(g).map(str::to_string);
        let vars = |name: &str| -> Option<String> {
            match name {
                "value" => value.clone(),
                "header" => header.clone().or_else(|| first.cloned()),
                "column" | "field" => first.cloned(),
                "household" => household.clone(),
                "suggestion" | "upgraded" | "expected" | "reason" | "min" | "max" => None,
                _ => {
                    if let Some(v) = number_var(kind, name, hit) {
                        return v;
                    }
                    if name.starts_with('_') {
                        return None;
                    }
                    text(name).and_then(shown_text).or_else(|| {
                        (schema.field(name).is_some() && !meta.columns.contains_key(name))
                            .then(|| lang.pick("（无此列）", "(no such column)").into())
                    })
                }
            }
        };
        let (message, hint) = (fill(m, &vars), fill(h, &vars));
        out.push(Finding {
            file: meta.file.clone(),
            sheet: meta.sheet.clone(),
            row: Some(number),
            cell: col_indices.first().map(|c| a1(*c, number)),
            column: first.cloned(),
            columns: columns.clone(),
            header,
            rule: rule.code.clone(),
            category: rule.category,
            severity: rule.severity,
            scope: FindingScope::Dataset,
            household,
            unit: Some(parse_unit(units.resolve(&hit.unit_path))),
            value,
            message,
            hint,
            table: Some(t as usize),
            col_indices,
        });
    }
    Ok(out)
}

/// The findings of one rule from its hits over key tables (`povcheck dataset`): no cell
/// values, since the tables hold ID and phone numbers only as keyed hashes; a field the
/// message names is shown from the key row where it is there (户编号, the unit path), else as
/// not available, and the hint says where the values are. `inputs` orders the findings.
pub fn findings_from_keys(
    schema: &Schema,
    rule: &Rule,
    kind: Kind,
    lang: Lang,
    hits: &[Hit],
    inputs: &BTreeMap<String, usize>,
) -> Vec<Finding> {
    let (m, h) = texts(rule, lang);
    let absent = lang.pick("（不在键表中）", "(not in the key table)");
    let extra = lang.pick(
        "；键表不含证件号码和电话号码，原值见 {file} 第 {row} 行",
        "; the key tables hold no ID or phone numbers: the values are on row {row} of {file}",
    );
    let hint_t = format!("{h}{extra}");
    hits.iter()
        .map(|hit| {
            let unit = parse_unit(&hit.unit_path);
            let vars = |name: &str| -> Option<String> {
                match name {
                    "file" => Some(hit.input.clone()),
                    "row" => Some(hit.row.to_string()),
                    "household" | "户编号" => hit.household.clone(),
                    "column" | "field" | "header" => rule.columns.first().cloned(),
                    "value" => Some(absent.to_string()),
                    _ => {
                        if let Some(v) = number_var(kind, name, hit) {
                            return v;
                        }
                        if let Some((_, v)) = unit.iter().find(|(l, _)| l == name) {
                            return (v != UNIT_BLANK).then(|| v.clone());
                        }
                        (schema.field(name).is_some() || !name.starts_with('_'))
                            .then(|| absent.to_string())
                    }
                }
            };
            Finding {
                file: hit.input.clone(),
                sheet: hit.sheet.clone(),
                row: Some(hit.row),
                cell: None,
                column: rule.columns.first().cloned(),
                columns: rule.columns.clone(),
                header: None,
                rule: rule.code.clone(),
                category: rule.category,
                severity: rule.severity,
                scope: FindingScope::Dataset,
                household: hit.household.clone(),
                unit: Some(unit.clone()),
                value: None,
                message: fill(m, &vars),
                hint: fill(&hint_t, &vars),
                table: inputs.get(&hit.input).copied(),
                col_indices: Vec::new(),
            }
        })
        .collect()
}
