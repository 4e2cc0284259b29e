//! Rule case files (tests/rules/<CODE>.toml) and the doc examples of every rule, each run with
//! only that rule enabled (ruff's `for_rule`), reporting Missing / Noisy findings by row.
//!
//! Case file format:
//! ```toml
//! rule = "L302"
//! [[valid]]                      # must produce no finding of the rule
//! rows = [{ 户编号 = "H1", … }]
//! [[invalid]]                    # must produce exactly the expected findings
//! rows = [{ … }, { … }]
//! expect = [{ row = 1, column = "人均纯收入" }]   # row: 1-based index into `rows`; 0 = file scope
//! # several files at once (dataset rules):
//! # files = [{ name = "a.csv", rows = […] }, { name = "b.csv", rows = […] }]
//! # expect = [{ file = "b.csv", row = 1 }]
//! # an exclusion list for the case (X101), as `--exclude-list` would supply it:
//! # exclude = [{ id = "440811…", reason = "财政供养人员", source = "区财政局" }]   # source optional
//! # an expected finding may also say what its (Chinese) message must contain:
//! # expect = [{ row = 2, message = "财政供养人员" }]
//! ```

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{default_schema, records, run_with, table};
use povcheck::check::Exclusion;
use povcheck::read::Table;
use povcheck::schema::Schema;

fn case_tables(case: &toml::Value, schema: &Schema) -> Vec<Table> {
    if let Some(files) = case.get("files").and_then(|f| f.as_array()) {
        files
            .iter()
            .map(|f| {
                let name = f.get("name").and_then(|n| n.as_str()).unwrap_or("case.csv");
                table(
                    name,
                    &records(f.get("rows").unwrap_or(&toml::Value::Array(vec![]))),
                    schema,
                )
            })
            .collect()
    } else {
        let rows = case
            .get("rows")
            .cloned()
            .unwrap_or(toml::Value::Array(vec![]));
        vec![table("case.csv", &records(&rows), schema)]
    }
}

/// The case's `exclude` list (X101), empty when absent.
fn case_exclusions(case: &toml::Value) -> Vec<Exclusion> {
    let text = |e: &toml::Value, k: &str| {
        e.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    case.get("exclude")
        .and_then(|x| x.as_array())
        .map(|list| {
            list.iter()
                .map(|e| Exclusion {
                    id: text(e, "id"),
                    reason: text(e, "reason"),
                    source: text(e, "source"),
                })
                .collect()
        })
        .unwrap_or_default()
}

type Key = (String, u32, Option<String>);

/// (file, spreadsheet row, column) of each finding of `code`, with the findings' messages.
fn found(
    tables: &[Table],
    schema: &Schema,
    code: &str,
    exclusions: Vec<Exclusion>,
) -> BTreeMap<Key, Vec<String>> {
    let mut out: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for f in run_with(tables, schema, &[code], exclusions).findings {
        if f.rule == code {
            out.entry((f.file, f.row.unwrap_or(0), f.column))
                .or_default()
                .push(f.message);
        }
    }
    out
}

fn check_case_file(path: &Path, schema: &Schema, problems: &mut Vec<String>) {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return problems.push(format!("{name}: {e}")),
    };
    let doc: toml::Value = match common::parse_toml(&text) {
        Ok(d) => d,
        Err(e) => return problems.push(format!("{name}: {e}")),
    };
    let Some(code) = doc.get("rule").and_then(|r| r.as_str()) else {
        return problems.push(format!("{name}: no `rule`"));
    };
    if schema.rule(code).is_none() {
        return problems.push(format!("{name}: rule {code} is not in the default schema"));
    }
    let valid = doc
        .get("valid")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let invalid = doc
        .get("invalid")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    if valid.is_empty() || invalid.is_empty() {
        problems.push(format!(
            "{name}: needs at least one [[valid]] and one [[invalid]] case"
        ));
    }
    for (i, case) in valid.iter().enumerate() {
        let tables = case_tables(case, schema);
        for (file, row, col) in found(&tables, schema, code, case_exclusions(case)).into_keys() {
            problems.push(format!(
                "{name}: valid case {}: Noisy {code} at {file} row {row} {col:?}",
                i + 1
            ));
        }
    }
    for (i, case) in invalid.iter().enumerate() {
        let tables = case_tables(case, schema);
        let default_file = tables.first().map(|t| t.file.clone()).unwrap_or_default();
        let key_of = |e: &toml::Value| -> Key {
            let file = e
                .get("file")
                .and_then(|f| f.as_str())
                .map_or(default_file.clone(), str::to_string);
            // row = 0 means a file-scope finding (C001), which has no row.
            let row = match e.get("row").and_then(|r| r.as_integer()) {
                Some(0) => 0,
                Some(n) => u32::try_from(n).unwrap_or(u32::MAX - 1) + 1,
                None => 2,
            };
            let col = e
                .get("column")
                .and_then(|c| c.as_str())
                .map(str::to_string)
                .or_else(|| schema.rule(code).and_then(|r| r.columns.first().cloned()));
            (file, row, col)
        };
        let entries = case
            .get("expect")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default();
        let expected: BTreeSet<Key> = entries.iter().map(key_of).collect();
        if expected.is_empty() {
            problems.push(format!("{name}: invalid case {} has no `expect`", i + 1));
        }
        let got_messages = found(&tables, schema, code, case_exclusions(case));
        for e in &entries {
            let Some(part) = e.get("message").and_then(|m| m.as_str()) else {
                continue;
            };
            let k = key_of(e);
            if let Some(msgs) = got_messages.get(&k)
                && !msgs.iter().any(|m| m.contains(part))
            {
                problems.push(format!(
                    "{name}: invalid case {}: {code} at {} row {} has message {msgs:?}, not containing {part:?}",
                    i + 1,
                    k.0,
                    k.1
                ));
            }
        }
        let got: BTreeSet<Key> = got_messages.into_keys().collect();
        for m in expected.difference(&got) {
            problems.push(format!(
                "{name}: invalid case {}: Missing {code} at {} row {} {:?}",
                i + 1,
                m.0,
                m.1,
                m.2
            ));
        }
        for m in got.difference(&expected) {
            problems.push(format!(
                "{name}: invalid case {}: Noisy {code} at {} row {} {:?}",
                i + 1,
                m.0,
                m.1,
                m.2
            ));
        }
    }
}

#[test]
fn rule_case_files() {
    let schema = default_schema();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/rules exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut problems = Vec::new();
    for p in &paths {
        check_case_file(p, &schema, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_rule_has_a_case_file() {
    let schema = default_schema();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let missing: Vec<&str> = schema
        .rules
        .iter()
        .map(|r| r.code.as_str())
        .filter(|c| !dir.join(format!("{c}.toml")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without tests/rules/<CODE>.toml: {missing:?}"
    );
}

/// The `## 示例 / Example` table of a rule's doc, as records (header cells are field names).
fn doc_example(doc: &str) -> Option<Vec<common::Record>> {
    let start = doc.find("## 示例")?;
    let section = &doc[start..];
    let section = &section[section.find('\n')? + 1..];
    let end = section.find("\n## ").unwrap_or(section.len());
    let lines: Vec<&str> = section[..end]
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .collect();
    let split = |l: &str| -> Vec<String> {
        l.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = split(lines.first()?);
    let rows = lines
        .iter()
        .skip(1)
        .filter(|l| !l.replace(['|', '-', ':', ' '], "").is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(split(l).into_iter().map(|v| {
                    let v = v.trim_matches('`').to_string();
                    toml::Value::String(if v == "（空）" || v == "(空)" {
                        String::new()
                    } else {
                        v
                    })
                }))
                .collect()
        })
        .collect();
    Some(rows)
}

#[test]
fn doc_examples_produce_their_rule() {
    let schema = default_schema();
    let mut problems = Vec::new();
    for r in &schema.rules {
        let Some(rows) = doc_example(&r.doc) else {
            problems.push(format!("{}: doc has no example table", r.code));
            continue;
        };
        let t = table("example.csv", &rows, &schema);
        // X101 needs a list: the example's people are on it.
        let exclusions = if r.code == "X101" {
            rows.iter()
                .flatten()
                .filter(|(k, _)| k == "证件号码")
                .filter_map(|(_, v)| v.as_str())
                .map(|id| povcheck::check::Exclusion {
                    id: id.to_string(),
                    reason: "财政供养人员".to_string(),
                    source: "区财政局".to_string(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let got: BTreeSet<_> = common::run_with(&[t], &schema, &[&r.code], exclusions)
            .findings
            .into_iter()
            .filter(|f| f.rule == r.code)
            .map(|f| f.row)
            .collect();
        if got.is_empty() {
            problems.push(format!(
                "{}: doc example produces no {} finding",
                r.code, r.code
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
