//! End-to-end tests of the `povcheck` binary as a user would try it: the README commands, every
//! committed sample against its manifest, each output format and flag, the rule catalogue
//! commands, and district schemas (good and broken).

#[path = "cli/common.rs"]
mod common;

use std::path::Path;

use common::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Copy a committed sample into `dir` so outputs name a short relative path.
fn sample_into(dir: &Path, name: &str) -> String {
    std::fs::copy(repo(&format!("samples/{name}")), dir.join(name)).expect("copy sample");
    name.to_string()
}

#[test]
fn readme_check_of_sample_xlsx_exits_1_and_names_file_sheet_row_cell() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.xlsx");
    let r = povcheck(d.path(), &["check", &f]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The C101 on row 79 (姓名 is column H in the national layout).
    assert!(
        r.stdout.contains("sample.xlsx:Sheet1!H79: C101"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("sample.xlsx:Sheet1!I103: V102"));
}

#[test]
fn every_committed_sample_matches_its_manifest_exactly() {
    let d = tmp();
    for (input, manifest_name) in [
        ("sample.csv", "sample.expected.csv"),
        ("sample.xlsx", "sample.expected.csv"),
        ("sample-merged.xlsx", "sample.expected.csv"),
        ("all-kinds.csv", "all-kinds.expected.csv"),
        ("all-kinds.xlsx", "all-kinds.expected.csv"),
    ] {
        let f = sample_into(d.path(), input);
        let r = povcheck(d.path(), &["check", &f, "--format", "json"]);
        assert_eq!(r.code, 1, "{input}: {}", r.stderr);
        let doc = json_doc(&r.stdout);
        let want = manifest(&repo(&format!("samples/{manifest_name}")));
        assert!(!want.is_empty());
        assert_eq!(row_codes(&doc), want, "{input}");
        let sheet = if input.ends_with(".csv") {
            None
        } else {
            Some("Sheet1")
        };
        for finding in &doc.findings {
            assert_eq!(finding.file, input);
            assert_eq!(finding.sheet.0.as_deref(), sheet, "{input}");
        }
        assert_eq!(doc.inputs.len(), 1);
        assert_eq!(doc.inputs[0].status, "checked");
        assert_eq!(doc.inputs[0].header_row.0, Some(3));
        assert_eq!(doc.summary.rows, 300);
    }
}

#[test]
fn lang_en_gives_english_messages() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.xlsx");
    let zh = json_doc(&povcheck(d.path(), &["check", &f, "--format", "json"]).stdout);
    let en =
        json_doc(&povcheck(d.path(), &["check", &f, "--format", "json", "--lang", "en"]).stdout);
    let c101 = |doc: &Doc| {
        doc.findings
            .iter()
            .find(|f| f.rule == "C101")
            .map(|f| f.message.clone())
            .expect("C101")
    };
    assert!(c101(&zh).contains("为空"));
    let en_msg = c101(&en);
    assert_ne!(en_msg, c101(&zh));
    assert!(
        en_msg.to_lowercase().contains("empty") || en_msg.to_lowercase().contains("missing"),
        "{en_msg}"
    );
    let term = povcheck(d.path(), &["check", &f, "--lang", "en"]);
    assert!(
        term.stdout.contains("hint") || term.stdout.contains("Hint"),
        "{}",
        term.stdout
    );
    assert!(!term.stdout.contains("提示:"));
}

#[test]
fn fail_on_never_exits_0_and_fail_on_warning_counts_warnings() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.xlsx");
    assert_eq!(
        povcheck(d.path(), &["check", &f, "--fail-on", "never"]).code,
        0
    );
    assert_eq!(
        povcheck(d.path(), &["check", &f, "--fail-on", "error"]).code,
        1
    );
    // Only the one warning (V106, lower-case x on row 168) selected: error → 0, warning → 1.
    let only_warning = ["check", &f, "--select", "V106"];
    let r = povcheck(
        d.path(),
        &[&only_warning[..], &["--format", "json"]].concat(),
    );
    let doc = json_doc(&r.stdout);
    assert_eq!((doc.summary.errors, doc.summary.warnings), (0, 1));
    assert_eq!(r.code, 0);
    let w = povcheck(
        d.path(),
        &[&only_warning[..], &["--fail-on", "warning"]].concat(),
    );
    assert_eq!(w.code, 1);
}

#[test]
fn every_text_format_renders_the_same_findings() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let doc = json_doc(&povcheck(d.path(), &["check", &f, "--format", "json"]).stdout);
    let n = doc.findings.len();
    assert_eq!(n, manifest(&repo("samples/sample.expected.csv")).len());

    let nd = povcheck(d.path(), &["check", &f, "--format", "ndjson"]);
    assert_eq!(nd.code, 1);
    let mut types = std::collections::BTreeMap::<String, usize>::new();
    for line in nd.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("ndjson line");
        *types
            .entry(v["type"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    assert_eq!(types.get("finding"), Some(&n));
    assert_eq!(types.get("summary"), Some(&1));
    assert_eq!(types.get("input"), Some(&1));

    let csv = povcheck(d.path(), &["check", &f, "--format", "csv"]);
    assert_eq!(csv.code, 1);
    let mut rdr = csv::Reader::from_reader(csv.stdout.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(rdr.records().count(), n);

    let junit = povcheck(d.path(), &["check", &f, "--format", "junit"]);
    assert_eq!(junit.code, 1);
    assert!(junit.stdout.starts_with("<?xml"));
    assert_eq!(junit.stdout.matches("<failure").count(), n);

    let html = povcheck(d.path(), &["check", &f, "--format", "html"]);
    assert_eq!(html.code, 1);
    assert!(html.stdout.contains("<html") || html.stdout.contains("<!DOCTYPE"));
    for finding in &doc.findings {
        assert!(html.stdout.contains(&finding.rule), "{}", finding.rule);
    }

    let term = povcheck(d.path(), &["check", &f, "--format", "terminal"]);
    assert_eq!(term.code, 1);
    for finding in &doc.findings {
        let at = format!(
            "sample.csv:{}: {}",
            finding.cell.0.as_deref().unwrap_or("?"),
            finding.rule
        );
        assert!(term.stdout.contains(&at), "{at} in\n{}", term.stdout);
    }
}

/// ndjson: every line parses against the contract, and the stream holds what the JSON document
/// holds (same findings in the same order, same summary).
#[test]
fn ndjson_lines_match_the_contract_and_the_json_document() {
    let d = tmp();
    let f = sample_into(d.path(), "all-kinds.xlsx");
    let doc = json_doc(&povcheck(d.path(), &["check", &f, "--format", "json"]).stdout);
    let nd = povcheck(d.path(), &["check", &f, "--format", "ndjson"]);
    assert_eq!(nd.code, 1);
    let lines: Vec<Line> = nd
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let findings: Vec<(u32, String, String)> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Finding(f) => Some((f.row.0.unwrap_or(0), f.rule.clone(), f.message.clone())),
            _ => None,
        })
        .collect();
    let want: Vec<(u32, String, String)> = doc
        .findings
        .iter()
        .map(|f| (f.row.0.unwrap_or(0), f.rule.clone(), f.message.clone()))
        .collect();
    assert_eq!(findings, want);
    let units = lines.iter().filter(|l| matches!(l, Line::Unit(_))).count();
    assert_eq!(units, doc.units.len());
    match lines.last() {
        Some(Line::Summary(s)) => {
            assert_eq!(s.summary.errors, doc.summary.errors);
            assert_eq!(s.summary.warnings, doc.summary.warnings);
            assert_eq!(s.as_of, doc.as_of);
        }
        other => panic!("last line is not the summary: {other:?}"),
    }
}

#[test]
fn xlsx_report_needs_output_and_reads_back() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.xlsx");
    let r = povcheck(d.path(), &["check", &f, "--format", "xlsx"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
    assert!(r.stdout.is_empty());

    let r = povcheck(
        d.path(),
        &["check", &f, "--format", "xlsx", "-o", "report.xlsx"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(d.path().join("report.xlsx")).expect("open report");
    let names = wb.sheet_names();
    assert!(!names.is_empty());
    let mut all = String::new();
    for name in names {
        let range = wb.worksheet_range(&name).expect("sheet");
        for row in range.rows() {
            for c in row {
                all.push_str(&c.to_string());
                all.push('\t');
            }
        }
    }
    for code in [
        "C101", "V102", "V103", "V105", "V106", "V201", "V301", "V302", "V501",
    ] {
        assert!(all.contains(code), "{code} missing from the xlsx report");
    }
}

#[test]
fn output_writes_the_report_to_a_file_not_stdout() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let r = povcheck(
        d.path(),
        &["check", &f, "--format", "json", "--output", "out.json"],
    );
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains("\"findings\""), "{}", r.stdout);
    let text = std::fs::read_to_string(d.path().join("out.json")).expect("out.json");
    let doc = json_doc(&text);
    assert_eq!(
        row_codes(&doc),
        manifest(&repo("samples/sample.expected.csv"))
    );
}

#[test]
fn as_of_is_reported_and_changes_age_rules() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let default = json_doc(&povcheck(d.path(), &["check", &f, "--format", "json"]).stdout);
    assert_eq!(default.as_of, "2017-12-31");
    assert_eq!(
        row_codes(&default),
        manifest(&repo("samples/sample.expected.csv"))
    );
    // Thirteen years on, the same people have aged: age-dependent rules (L112) now fire.
    let r = povcheck(
        d.path(),
        &["check", &f, "--format", "json", "--as-of", "2030-12-31"],
    );
    let later = json_doc(&r.stdout);
    assert_eq!(later.as_of, "2030-12-31");
    assert!(later.findings.iter().any(|f| f.rule == "L112"));
    assert!(default.findings.iter().all(|f| f.rule != "L112"));
    let bad = povcheck(d.path(), &["check", &f, "--as-of", "2018-13-01"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("2018-13-01"), "{}", bad.stderr);
}

#[test]
fn select_and_ignore_filter_rules() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let sel = json_doc(
        &povcheck(
            d.path(),
            &["check", &f, "--format", "json", "--select", "V102,V103"],
        )
        .stdout,
    );
    let rules: Vec<&str> = sel.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["V102", "V103"]);
    let ign = json_doc(
        &povcheck(
            d.path(),
            &["check", &f, "--format", "json", "--ignore", "V102,V103"],
        )
        .stdout,
    );
    let mut want = manifest(&repo("samples/sample.expected.csv"));
    want.retain(|(_, c)| c != "V102" && c != "V103");
    assert_eq!(row_codes(&ign), want);
}

/// A typo in `--select` would select nothing and report a clean file: it is a usage error.
#[test]
fn unknown_rule_code_in_select_is_a_usage_error() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let unknown = povcheck(d.path(), &["check", &f, "--select", "Q999"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("Q999"));
    let ignored = povcheck(d.path(), &["check", &f, "--ignore", "V9"]);
    assert_eq!(ignored.code, 2, "{}", ignored.stderr);
    // A prefix that names rules (V10 → V101…V107) is accepted, like ruff's selectors.
    let prefix = povcheck(
        d.path(),
        &["check", &f, "--ignore", "V10", "--fail-on", "never"],
    );
    assert_eq!(prefix.code, 0, "{}", prefix.stderr);
}

/// Every 18-character ID number of a CSV input's 证件号码 column.
fn ids_of_csv(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let recs: Vec<csv::StringRecord> = rdr.records().filter_map(Result::ok).collect();
    let header = recs
        .iter()
        .find(|r| r.iter().any(|c| c == "证件号码"))
        .expect("header");
    let col = header.iter().position(|c| c == "证件号码").expect("col");
    recs.iter()
        .filter_map(|r| r.get(col))
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() == 18)
        .collect()
}

#[test]
fn mask_hides_every_full_id_in_every_format() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let ids = ids_of_csv(&d.path().join(&f));
    assert!(ids.len() > 200);
    // Unmasked, IDs do appear (so the masked check below can fail).
    let plain = povcheck(d.path(), &["check", &f, "--format", "json"]).stdout;
    assert!(ids.iter().any(|id| plain.contains(id.as_str())));
    // Every format the CLI offers (clap's list, not a copy of it), then the annotated copy.
    use clap::ValueEnum;
    let formats: Vec<String> = povcheck::report::Format::value_variants()
        .iter()
        .filter_map(|f| f.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect();
    assert!(formats.len() >= 7, "{formats:?}");
    for format in formats.iter().map(String::as_str).chain(["annotated"]) {
        let out_name = format!("masked.{format}");
        let r = if format == "annotated" {
            povcheck(
                d.path(),
                &[
                    "check",
                    &f,
                    "--mask",
                    "--format",
                    "json",
                    "--annotate",
                    "ann",
                ],
            )
        } else {
            povcheck(
                d.path(),
                &["check", &f, "--mask", "--format", format, "-o", &out_name],
            )
        };
        assert_eq!(r.code, 1, "{format}: {}", r.stderr);
        let written = if format == "annotated" {
            let copy = std::fs::read_dir(d.path().join("ann"))
                .expect("annotated dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".annotated.xlsx"))
                .expect("an annotated copy");
            std::fs::read(copy).expect("annotated copy")
        } else {
            std::fs::read(d.path().join(&out_name)).expect("report")
        };
        // A workbook (a zip) is read back cell by cell; anything else is text.
        let text = if written.starts_with(b"PK") {
            use calamine::Reader;
            let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(written))
                .expect("workbook");
            let mut all = String::new();
            for name in wb.sheet_names() {
                if let Ok(range) = wb.worksheet_range(&name) {
                    for c in range.used_cells() {
                        all.push_str(&c.2.to_string());
                        all.push('\n');
                    }
                }
            }
            assert!(all.len() > 1000, "{format}: the workbook was read");
            all
        } else {
            String::from_utf8(written).expect("utf-8 report")
        };
        for id in &ids {
            assert!(!text.contains(id.as_str()), "{format} leaks {id}");
            // The household number embeds no ID, but a lower-case-x variant must not leak either.
            assert!(!text.contains(&id.to_lowercase()), "{format} leaks {id}");
        }
        for id in &ids {
            assert!(!r.stdout.contains(id.as_str()) && !r.stderr.contains(id.as_str()));
        }
    }
}

#[test]
fn exclude_list_flags_x101_with_the_lists_reason() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let ids = ids_of_csv(&d.path().join(&f));
    let id = ids.get(10).expect("an id").clone();
    std::fs::write(
        d.path().join("财政供养.csv"),
        format!("证件号码,原因,来源部门\n{id},财政供养人员,区财政局\n"),
    )
    .expect("list");
    let r = povcheck(
        d.path(),
        &[
            "check",
            &f,
            "--format",
            "json",
            "--exclude-list",
            "财政供养.csv",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    let x: Vec<&Finding> = doc.findings.iter().filter(|f| f.rule == "X101").collect();
    assert_eq!(x.len(), 1, "{:?}", x);
    assert!(x[0].message.contains("财政供养人员"), "{}", x[0].message);
    assert_eq!(x[0].row.0, Some(14), "the 11th person is on row 14");
    // Without the list: no X101.
    let plain = json_doc(&povcheck(d.path(), &["check", &f, "--format", "json"]).stdout);
    assert!(plain.findings.iter().all(|f| f.rule != "X101"));
    // A missing list is a usage error.
    let missing = povcheck(d.path(), &["check", &f, "--exclude-list", "nope.csv"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.csv"), "{}", missing.stderr);
}

#[test]
fn rules_lists_the_catalogue_in_three_formats() {
    let d = tmp();
    let term = povcheck(d.path(), &["rules"]);
    assert_eq!(term.code, 0, "{}", term.stderr);
    for code in ["C001", "C101", "V102", "L302", "D101", "X101"] {
        assert!(term.stdout.contains(code), "{code}");
    }
    let json = povcheck(d.path(), &["rules", "--format", "json"]);
    assert_eq!(json.code, 0);
    let v: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("rules json");
    assert!(v.iter().any(|r| r["code"] == "L302"));
    assert!(
        v.iter()
            .all(|r| r["code"].is_string() && r["severity"].is_string())
    );
    let md = povcheck(d.path(), &["rules", "--format", "md"]);
    assert_eq!(md.code, 0);
    assert!(md.stdout.contains("| 代码 |"));
    assert!(md.stdout.contains("L302"));
}

#[test]
fn rule_prints_one_rules_doc_and_unknown_rule_exits_2() {
    let d = tmp();
    let r = povcheck(d.path(), &["rule", "L302"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("L302"));
    assert!(r.stdout.contains("检查什么"), "{}", r.stdout);
    let bad = povcheck(d.path(), &["rule", "XXX"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("XXX"), "{}", bad.stderr);
    assert!(bad.stdout.is_empty());
}

const DISTRICT_SCHEMA: &str = r#"
name = "测试区"
version = "1"
extends = "default"
disable = ["V501"]

[[rule]]
code = "C901"
category = "completeness"
severity = "error"
scope = "row"
assert = "文化程度 IS NULL OR 文化程度 <> '高中'"
columns = ["文化程度"]
message = "测试规则: {姓名} 文化程度为高中"
message_en = "test rule: {姓名} has 高中"
hint = "仅测试"
hint_en = "test only"
"#;

#[test]
fn district_schema_disables_a_rule_and_adds_one() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    std::fs::write(d.path().join("district.toml"), DISTRICT_SCHEMA).expect("schema");
    let r = povcheck(
        d.path(),
        &["check", &f, "--schema", "district.toml", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    assert_eq!(doc.schema.name, "测试区");
    assert!(
        doc.findings.iter().all(|f| f.rule != "V501"),
        "V501 disabled"
    );
    let c901 = doc.findings.iter().filter(|f| f.rule == "C901").count();
    assert!(c901 > 0, "the added rule fires");
    // Everything else of the manifest is still there.
    let mut want = manifest(&repo("samples/sample.expected.csv"));
    want.retain(|(_, c)| c != "V501");
    let mut got = row_codes(&doc);
    got.retain(|(_, c)| c != "C901");
    assert_eq!(got, want);
    // The added rule is listed by `rules --schema`.
    let rules = povcheck(d.path(), &["rules", "--schema", "district.toml"]);
    assert_eq!(rules.code, 0);
    assert!(rules.stdout.contains("C901"));
}

#[test]
fn schema_with_bad_sql_exits_2_pointing_into_the_toml_before_reading_input() {
    let d = tmp();
    let broken = DISTRICT_SCHEMA.replace("IS NULL OR", "IS NUL OR");
    std::fs::write(d.path().join("broken.toml"), &broken).expect("schema");
    // The input does not exist: the schema error must come first, and alone.
    let r = povcheck(
        d.path(),
        &[
            "check",
            "missing-input.csv",
            "--schema",
            "broken.toml",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("broken.toml"), "{}", r.stderr);
    assert!(r.stderr.contains("C901"), "{}", r.stderr);
    let line = broken
        .lines()
        .position(|l| l.starts_with("assert"))
        .expect("assert line")
        + 1;
    assert!(
        r.stderr.contains(&format!("broken.toml:{line}:")),
        "points at line {line}: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("missing-input.csv"), "{}", r.stderr);
}

#[path = "cli/exports.rs"]
mod exports;

/// `-o` naming one of the inputs would overwrite the clerk's export with the report: refused.
#[test]
fn output_path_equal_to_an_input_is_refused() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.csv");
    let before = std::fs::read(d.path().join(&f)).expect("read");
    let r = povcheck(d.path(), &["check", &f, "-o", &f, "--format", "json"]);
    let after = std::fs::read(d.path().join(&f)).expect("read");
    assert!(before == after, "the input was overwritten by the report");
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// The reader's limits are configurable on the command line: a sheet over `--max-cells` is
/// unreadable with the limit named (exit 2), not an out-of-memory kill; the default reads it.
#[test]
fn reader_limits_are_configurable() {
    let d = tmp();
    let f = sample_into(d.path(), "sample.xlsx");
    let small = povcheck(
        d.path(),
        &["check", &f, "--max-cells", "100", "--format", "json"],
    );
    assert_eq!(small.code, 2, "{}", small.stderr);
    assert!(small.stderr.contains("sample.xlsx"), "{}", small.stderr);
    let v: serde_json::Value = serde_json::from_str(&small.stdout).expect("json");
    assert_eq!(v["inputs"][0]["status"], "unreadable", "{}", small.stdout);
    let zipped = povcheck(d.path(), &["check", &f, "--max-inflated-mb", "0"]);
    assert_eq!(zipped.code, 2, "{}", zipped.stderr);
    let normal = povcheck(d.path(), &["check", &f, "--fail-on", "never"]);
    assert_eq!(normal.code, 0, "{}", normal.stderr);
}
