//! Running the real `povcheck` binary in a temp dir, and mirror structs of design.md's JSON
//! contract so every test that reads JSON also checks the contract.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_povcheck")
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Run the binary in `dir` with `args`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("POVCHECK_LEDGER")
        .env("NO_COLOR", "1")
        .output()
        .expect("spawn povcheck")
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn ran(out: Output) -> Ran {
    let r = Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "panic: {}",
        r.stderr
    );
    r
}

pub fn povcheck(dir: &Path, args: &[&str]) -> Ran {
    ran(run_in(dir, args))
}

/// `check --format json` parsed into the contract's mirror structs.
pub fn json_doc(text: &str) -> Doc {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("contract: {e}\n{text}"))
}

/// A nullable field that must still be present: serde lets a plain `Option` field go missing.
#[derive(Debug, Deserialize)]
pub struct N<T>(pub Option<T>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    pub tool: Tool,
    pub schema: SchemaId,
    pub as_of: String,
    pub period: N<String>,
    pub inputs: Vec<Input>,
    pub skipped_rules: Vec<SkippedRule>,
    pub exclusion_lists: Vec<ExclusionList>,
    pub summary: Summary,
    pub units: Vec<Unit>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaId {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub file: String,
    pub sheet: N<String>,
    pub header_row: N<u32>,
    pub rows: usize,
    pub skipped_rows: usize,
    pub status: String,
    pub reason: N<String>,
    pub unmapped_columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionList {
    pub file: String,
    pub ids: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedRule {
    pub file: String,
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub rows: usize,
    pub households: usize,
    pub errors: usize,
    pub warnings: usize,
    pub by_category: ByCategory,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByCategory {
    pub completeness: usize,
    pub validity: usize,
    pub consistency: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub level: String,
    pub name: String,
    pub path: Vec<String>,
    pub rows: usize,
    pub households: usize,
    pub households_with_errors: usize,
    pub errors: usize,
    pub warnings: usize,
    pub error_rate: f64,
    pub by_rule: BTreeMap<String, usize>,
    pub by_category: ByCategory,
    pub repeat: N<Repeat>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub periods_with_errors: u32,
    pub consecutive: u32,
    pub level: u8,
    pub action: String,
    pub repeated_rules: Vec<String>,
    pub fixed: N<u32>,
    pub persisting: N<u32>,
    pub new: N<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub file: String,
    pub sheet: N<String>,
    pub row: N<u32>,
    pub cell: N<String>,
    pub column: N<String>,
    pub columns: Vec<String>,
    pub header: N<String>,
    pub rule: String,
    pub category: String,
    pub severity: String,
    pub scope: String,
    pub household: N<String>,
    pub unit: N<BTreeMap<String, String>>,
    pub value: N<String>,
    pub message: String,
    pub hint: String,
}

/// (row, rule) pairs of the findings, sorted: the shape of a sample's manifest.
pub fn row_codes(doc: &Doc) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = doc
        .findings
        .iter()
        .map(|f| (f.row.0.unwrap_or(0), f.rule.clone()))
        .collect();
    v.sort();
    v
}

/// A sample manifest (`row,column,code,description`) as sorted (row, code) pairs.
pub fn manifest(path: &Path) -> Vec<(u32, String)> {
    let text = std::fs::read_to_string(path).expect("manifest");
    let mut v: Vec<(u32, String)> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split(',');
            let row = it.next().and_then(|r| r.parse().ok()).expect("row");
            let _column = it.next();
            let code = it.next().expect("code").to_string();
            (row, code)
        })
        .collect();
    v.sort();
    v
}

/// One ndjson line: a tagged record of design.md's streaming contract.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Line {
    Input(Input),
    Finding(Finding),
    Unit(Unit),
    Summary(SummaryLine),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryLine {
    pub tool: Tool,
    pub schema: SchemaId,
    pub as_of: String,
    pub period: N<String>,
    pub skipped_rules: Vec<SkippedRule>,
    pub exclusion_lists: Vec<ExclusionList>,
    pub summary: Summary,
}
