//! The JSON findings contract (`--format json`): one object, field names stable because
//! scheduled jobs parse them. The DTOs here are the contract; `Finding` and friends may change
//! shape inside the program without changing the wire format.
//!
//! ```text
//! {
//!   "tool":   {"name": "povcheck", "version": "0.1.0"},
//!   "schema": {"name": string, "version": string},
//!   "as_of":  "YYYY-MM-DD"                       reference date used for ages
//!   "period": string | null                      submission round (--record), null without ledger
//!   "inputs": [{                                 one per sheet; per file for CSV / unreadable files
//!       "file": string, "sheet": string | null, "header_row": int | null,
//!       "rows": int, "skipped_rows": int,
//!       "status": "checked" | "skipped" | "unreadable", "reason": string | null,
//!       "unmapped_columns": [string] }],           header texts, as written, matching no field
//!   "skipped_rules": [{"file": string, "rule": string, "reason": string}],
//!   "exclusion_lists": [{"file": string, "ids": int}],   each --exclude-list, IDs it contributed
//!   "summary": {"rows": int, "households": int, "errors": int, "warnings": int,
//!               "by_category": {"completeness": int, "validity": int, "consistency": int}},
//!   "units": [{
//!       "level": string, "name": string, "path": [string],   path: 乡镇 then 行政村; 帮扶单位 alone
//!       "rows": int, "households": int, "households_with_errors": int,
//!       "errors": int, "warnings": int, "error_rate": number,  errors per 100 rows
//!       "by_rule": {code: int}, "by_category": {category: int},
//!       "repeat": null | {"periods_with_errors": int, "consecutive": int, "level": 0..3,
//!                         "action": string, "repeated_rules": [string],
//!                         "fixed": int | null, "persisting": int | null, "new": int | null} }],
//!   "findings": [{
//!       "file": string, "sheet": string | null,
//!       "row": int | null          spreadsheet row as shown (CSV: 1-based line); null: file scope
//!       "cell": string | null      A1 address of the first column
//!       "column": string | null    canonical field name of the first column
//!       "columns": [string]        every column the rule points at
//!       "header": string | null    header text as written in the file
//!       "rule": string, "category": "completeness" | "validity" | "consistency",
//!       "severity": "error" | "warning",
//!       "scope": "cell" | "row" | "household" | "dataset" | "file",
//!       "household": string | null,
//!       "unit": {level: name} | null   in schema order; null for file scope
//!       "value": string | null, "message": string, "hint": string }]
//! }
//! ```

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::attribute::{Repeat, Summary, UnitReport};
use crate::check::SkippedRule;
use crate::finding::{Category, Finding, FindingScope, Severity};
use crate::read::{InputEntry, InputStatus};

use super::{Destination, Reporter, Run};

pub struct Json;

impl Reporter for Json {
    fn destination(&self) -> Destination {
        Destination::Json
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let doc = JsonRun {
            head: Head::of(run),
            inputs: run
                .inputs
                .iter()
                .map(|i| JsonInput::new(i, run.lang))
                .collect(),
            units: run.units.iter().map(JsonUnit::from).collect(),
            findings: Vec::new(),
        };
        let head = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
        // The document without findings ends in `"findings": []` and the object's `}`: the
        // findings go between the brackets, exactly as one pretty serialisation would put them.
        let Some(open) = head.strip_suffix(EMPTY_FINDINGS_END) else {
            return Err(io::Error::other(
                "findings are not the document's last entry",
            ));
        };
        if run.findings.is_empty() {
            out.write_all(&head)?;
            return writeln!(out);
        }
        out.write_all(open)?;
        for chunk in findings_json(&run.findings) {
            out.write_all(&chunk?)?;
        }
        out.write_all(b"\n  ]\n}\n")
    }
}

/// How the pretty document ends when its findings are empty; the `[` before stays.
const EMPTY_FINDINGS_END: &[u8] = b"]\n}";

/// The findings as the elements of the top-level object's `findings` array, serialised on
/// every core (a dirty million-row file has ~120k findings and ~90 MB of JSON: a third of a
/// second on one core). Each finding is serialised pretty on its own and indented by the four
/// spaces of its depth: JSON strings cannot hold a raw line break, so every line break in it is
/// the formatter's. Chunks are in finding order; the first starts with the array's line break.
fn findings_json(findings: &[Finding]) -> Vec<io::Result<Vec<u8>>> {
    use rayon::prelude::*;
    /// Findings per chunk: large enough that a chunk's buffer amortises its allocation, small
    /// enough that both cores get many.
    const CHUNK: usize = 2048;
    const INDENT: &[u8] = b"    ";
    findings
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut buf = Vec::with_capacity(chunk.len() * 800);
            let mut one = Vec::with_capacity(1024);
            for (i, f) in chunk.iter().enumerate() {
                buf.extend_from_slice(if c == 0 && i == 0 { b"\n" } else { b",\n" });
                one.clear();
                serde_json::to_writer_pretty(&mut one, &JsonFinding::from(f))
                    .map_err(io::Error::other)?;
                buf.extend_from_slice(INDENT);
                for line in one.split_inclusive(|&b| b == b'\n') {
                    buf.extend_from_slice(line);
                    if line.ends_with(b"\n") {
                        buf.extend_from_slice(INDENT);
                    }
                }
            }
            Ok(buf)
        })
        .collect()
}

#[derive(Serialize)]
pub(crate) struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub(crate) struct SchemaId<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

#[derive(Serialize)]
pub(crate) struct JsonSkippedRule<'a> {
    pub file: &'a str,
    pub rule: &'a str,
    pub reason: &'a str,
}

impl<'a> From<&'a SkippedRule> for JsonSkippedRule<'a> {
    fn from(s: &'a SkippedRule) -> Self {
        JsonSkippedRule {
            file: &s.file,
            rule: &s.rule,
            reason: &s.reason,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct JsonSummary {
    pub rows: usize,
    pub households: usize,
    pub errors: usize,
    pub warnings: usize,
    pub by_category: BTreeMap<Category, usize>,
}

impl From<&Summary> for JsonSummary {
    fn from(s: &Summary) -> Self {
        JsonSummary {
            rows: s.rows,
            households: s.households,
            errors: s.errors,
            warnings: s.warnings,
            by_category: all_categories(&s.by_category),
        }
    }
}

/// Every category appears, zero or not, so a parser never meets a missing key.
fn all_categories(m: &BTreeMap<Category, usize>) -> BTreeMap<Category, usize> {
    Category::ALL
        .iter()
        .map(|c| (*c, m.get(c).copied().unwrap_or(0)))
        .collect()
}

/// The fields of the top-level object other than the three long lists; ndjson's `summary` line
/// carries exactly these.
#[derive(Serialize)]
pub(crate) struct Head<'a> {
    pub tool: Tool,
    pub schema: SchemaId<'a>,
    pub as_of: &'a str,
    pub period: Option<&'a str>,
    pub skipped_rules: Vec<JsonSkippedRule<'a>>,
    pub exclusion_lists: &'a [crate::read::lists::ListCount],
    pub summary: JsonSummary,
}

impl<'a> Head<'a> {
    pub(crate) fn of(run: &'a Run) -> Self {
        Head {
            tool: Tool {
                name: "povcheck",
                version: run.tool_version,
            },
            schema: SchemaId {
                name: &run.schema.name,
                version: &run.schema.version,
            },
            as_of: &run.as_of,
            period: run.period.as_deref(),
            skipped_rules: run.skipped_rules.iter().map(Into::into).collect(),
            exclusion_lists: &run.exclusion_lists,
            summary: (&run.summary).into(),
        }
    }
}

/// Field order follows design.md: head fields, then inputs, skipped_rules, summary, units,
/// findings.
struct JsonRun<'a> {
    head: Head<'a>,
    inputs: Vec<JsonInput<'a>>,
    units: Vec<JsonUnit<'a>>,
    findings: Vec<JsonFinding<'a>>,
}

impl Serialize for JsonRun<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.head;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("tool", &h.tool)?;
        m.serialize_entry("schema", &h.schema)?;
        m.serialize_entry("as_of", h.as_of)?;
        m.serialize_entry("period", &h.period)?;
        m.serialize_entry("inputs", &self.inputs)?;
        m.serialize_entry("skipped_rules", &h.skipped_rules)?;
        m.serialize_entry("exclusion_lists", h.exclusion_lists)?;
        m.serialize_entry("summary", &h.summary)?;
        m.serialize_entry("units", &self.units)?;
        m.serialize_entry("findings", &self.findings)?;
        m.end()
    }
}

#[derive(Serialize)]
pub(crate) struct JsonInput<'a> {
    pub file: &'a str,
    pub sheet: Option<&'a str>,
    pub header_row: Option<u32>,
    pub rows: usize,
    pub skipped_rows: usize,
    pub status: InputStatus,
    pub reason: Option<String>,
    pub unmapped_columns: &'a [String],
}

impl<'a> JsonInput<'a> {
    /// The entry with its reason rendered in the run's language.
    pub fn new(i: &'a InputEntry, lang: crate::finding::Lang) -> Self {
        JsonInput {
            file: &i.file,
            sheet: i.sheet.as_deref(),
            header_row: i.header_row,
            rows: i.rows,
            skipped_rows: i.skipped_rows,
            status: i.status,
            reason: i.reason_text(lang),
            unmapped_columns: &i.unmapped_columns,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct JsonRepeat<'a> {
    pub periods_with_errors: u32,
    pub consecutive: u32,
    pub level: u8,
    pub action: &'a str,
    pub repeated_rules: &'a [String],
    pub fixed: Option<u32>,
    pub persisting: Option<u32>,
    pub new: Option<u32>,
}

impl<'a> From<&'a Repeat> for JsonRepeat<'a> {
    fn from(r: &'a Repeat) -> Self {
        JsonRepeat {
            periods_with_errors: r.periods_with_errors,
            consecutive: r.consecutive,
            level: r.level,
            action: &r.action,
            repeated_rules: &r.repeated_rules,
            fixed: r.fixed,
            persisting: r.persisting,
            new: r.new,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct JsonUnit<'a> {
    pub level: &'a str,
    pub name: &'a str,
    pub path: &'a [String],
    pub rows: usize,
    pub households: usize,
    pub households_with_errors: usize,
    pub errors: usize,
    pub warnings: usize,
    pub error_rate: f64,
    pub by_rule: &'a BTreeMap<String, usize>,
    pub by_category: BTreeMap<Category, usize>,
    pub repeat: Option<JsonRepeat<'a>>,
}

impl<'a> From<&'a UnitReport> for JsonUnit<'a> {
    fn from(u: &'a UnitReport) -> Self {
        JsonUnit {
            level: &u.level,
            name: &u.name,
            path: &u.path,
            rows: u.rows,
            households: u.households,
            households_with_errors: u.households_with_errors,
            errors: u.errors,
            warnings: u.warnings,
            // A NaN would make serde_json write null and break `number`; rows == 0 gives 0.
            error_rate: if u.error_rate.is_finite() {
                u.error_rate
            } else {
                0.0
            },
            by_rule: &u.by_rule,
            by_category: all_categories(&u.by_category),
            repeat: u.repeat.as_ref().map(Into::into),
        }
    }
}

/// A finding's units as a JSON object in schema order (乡镇, 行政村, 帮扶单位), not sorted.
pub(crate) struct UnitObject<'a>(pub &'a [(String, String)]);

impl Serialize for UnitObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
pub(crate) struct JsonFinding<'a> {
    pub file: &'a str,
    pub sheet: Option<&'a str>,
    pub row: Option<u32>,
    pub cell: Option<&'a str>,
    pub column: Option<&'a str>,
    pub columns: &'a [String],
    pub header: Option<&'a str>,
    pub rule: &'a str,
    pub category: Category,
    pub severity: Severity,
    pub scope: FindingScope,
    pub household: Option<&'a str>,
    pub unit: Option<UnitObject<'a>>,
    pub value: Option<&'a str>,
    pub message: &'a str,
    pub hint: &'a str,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            file: &f.file,
            sheet: f.sheet.as_deref(),
            row: f.row,
            cell: f.cell.as_deref(),
            column: f.column.as_deref(),
            columns: &f.columns,
            header: f.header.as_deref(),
            rule: &f.rule,
            category: f.category,
            severity: f.severity,
            scope: f.scope,
            household: f.household.as_deref(),
            unit: f.unit.as_deref().map(UnitObject),
            value: f.value.as_deref(),
            message: &f.message,
            hint: &f.hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{sample_run, sample_schema};

    /// The whole document serialised in one pass, findings included: what the writer must give.
    fn one_pass(run: &Run) -> Vec<u8> {
        let doc = JsonRun {
            head: Head::of(run),
            inputs: run
                .inputs
                .iter()
                .map(|i| JsonInput::new(i, run.lang))
                .collect(),
            units: run.units.iter().map(JsonUnit::from).collect(),
            findings: run.findings.iter().map(JsonFinding::from).collect(),
        };
        let mut out = serde_json::to_vec_pretty(&doc).unwrap();
        out.push(b'\n');
        out
    }

    fn written(run: &Run) -> Vec<u8> {
        let mut out = Vec::new();
        Json.write(run, &mut out).unwrap();
        out
    }

    #[test]
    fn findings_serialised_in_parallel_are_the_one_pass_document() {
        let schema = sample_schema();
        let mut run = sample_run(&schema);
        // Line breaks, quotes and backslashes inside values are escaped, never indented.
        run.findings[0].message = "第一行\n第二行 \"引号\" \\ 反斜杠\r\t".into();
        run.findings[0].value = Some("\n".into());
        assert_eq!(written(&run), one_pass(&run));
        // More findings than one chunk holds, so chunks meet at a comma.
        let base = run.findings.clone();
        while run.findings.len() < 5000 {
            run.findings.extend(base.iter().cloned());
        }
        let out = written(&run);
        assert_eq!(out, one_pass(&run));
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            parsed["findings"].as_array().unwrap().len(),
            run.findings.len()
        );
        // And none at all.
        run.findings.clear();
        assert_eq!(written(&run), one_pass(&run));
    }
}
