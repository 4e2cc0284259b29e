//! Helpers shared by integration tests: tables built from TOML-like records, running a check
//! with a chosen set of rules.
#![allow(dead_code)]

use chrono::NaiveDate;
use povcheck::check::{self, CheckOptions, CheckResult};
use povcheck::finding::Lang;
use povcheck::read::{Cell, Column, Table};
use povcheck::schema::{self, Schema};

/// One record's values in column order.
pub type Record = Vec<(String, toml::Value)>;

pub fn cell_of(v: &toml::Value) -> Cell {
    match v {
        toml::Value::String(s) if s.is_empty() => Cell::Empty,
        toml::Value::String(s) => Cell::Text(s.clone()),
        toml::Value::Integer(i) => Cell::Number(*i as f64),
        toml::Value::Float(f) => Cell::Number(*f),
        toml::Value::Boolean(b) => Cell::Bool(*b),
        other => Cell::Text(other.to_string()),
    }
}

/// A table whose header is on row 1 and whose records start on row 2; the columns are the union
/// of the records' keys in first-seen order; header text is the key as written.
pub fn table(file: &str, records: &[Record], schema: &Schema) -> Table {
    let matcher = povcheck::read::HeaderMatcher::from_schema(schema);
    let mut headers: Vec<String> = Vec::new();
    for r in records {
        for (k, _) in r {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| Column {
            index: i,
            header: h.clone(),
            field: matcher.field(h).map(str::to_string),
        })
        .collect();
    let mut table = Table::new(file, Some("Sheet1"), 1, columns);
    for (n, r) in records.iter().enumerate() {
        let cells: Vec<Cell> = headers
            .iter()
            .map(|h| {
                r.iter()
                    .find(|(k, _)| k == h)
                    .map_or(Cell::Empty, |(_, v)| cell_of(v))
            })
            .collect();
        table
            .push_row(n as u32 + 2, cells.iter().map(Cell::as_ref))
            .expect("a test table fits");
    }
    table
}

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 12, 31).expect("date")
}

pub fn run(tables: &[Table], schema: &Schema, select: &[&str]) -> CheckResult {
    run_with(tables, schema, select, Vec::new())
}

pub fn run_with(
    tables: &[Table],
    schema: &Schema,
    select: &[&str],
    exclusions: Vec<check::Exclusion>,
) -> CheckResult {
    let opts = CheckOptions {
        as_of: as_of(),
        lang: Lang::Zh,
        select: select.iter().map(|s| s.to_string()).collect(),
        ignore: Vec::new(),
        exclusions,
    };
    check::check(tables, schema, &opts)
}

pub fn default_schema() -> Schema {
    schema::default_schema()
}

/// Records from a TOML array of inline tables, keeping key order.
pub fn records(v: &toml::Value) -> Vec<Record> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.as_table())
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// Parse TOML, first quoting bare keys written in Chinese (`户编号 = "1"` → `"户编号" = "1"`):
/// TOML 1.0 only allows ASCII bare keys, and case files read better without the quotes.
pub fn parse_toml(text: &str) -> Result<toml::Value, toml::de::Error> {
    let mut out = String::with_capacity(text.len() + 64);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut in_str: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = in_str {
            out.push(c);
            if c == '\\' && q == '"' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                in_str = None;
            }
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            in_str = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if !c.is_ascii() && !c.is_whitespace() {
            // A bare non-ASCII run followed by `=` is a key.
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"=,{}[]\"'".contains(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j < chars.len() && chars[j] == '=' {
                out.push('"');
                out.push_str(&word);
                out.push('"');
            } else {
                out.push_str(&word);
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    toml::from_str(&out)
}
