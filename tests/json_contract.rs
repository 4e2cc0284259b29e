//! The JSON and ndjson output against mirror structs of design.md's contract: an unknown field
//! or a missing one fails, so renaming a field is a visible, deliberate break (ripgrep's
//! tests/json.rs does the same).

use std::collections::BTreeMap;

use povcheck::report::sample::{sample_run, sample_schema};
use povcheck::report::{Format, write};
use serde::Deserialize;

/// A nullable field that must still be present: serde lets a plain `Option` field go missing.
#[derive(Debug, Deserialize)]
struct N<T>(Option<T>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    tool: Tool,
    schema: SchemaId,
    as_of: String,
    period: N<String>,
    inputs: Vec<Input>,
    skipped_rules: Vec<SkippedRule>,
    exclusion_lists: Vec<ExclusionList>,
    summary: Summary,
    units: Vec<Unit>,
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tool {
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaId {
    name: String,
    version: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Input {
    file: String,
    sheet: N<String>,
    header_row: N<u32>,
    rows: usize,
    skipped_rows: usize,
    status: String,
    reason: N<String>,
    unmapped_columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ExclusionList {
    file: String,
    ids: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SkippedRule {
    file: String,
    rule: String,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Summary {
    rows: usize,
    households: usize,
    errors: usize,
    warnings: usize,
    by_category: ByCategory,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ByCategory {
    completeness: usize,
    validity: usize,
    consistency: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Unit {
    level: String,
    name: String,
    path: Vec<String>,
    rows: usize,
    households: usize,
    households_with_errors: usize,
    errors: usize,
    warnings: usize,
    error_rate: f64,
    by_rule: BTreeMap<String, usize>,
    by_category: ByCategory,
    repeat: N<Repeat>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Repeat {
    periods_with_errors: u32,
    consecutive: u32,
    level: u8,
    action: String,
    repeated_rules: Vec<String>,
    fixed: N<u32>,
    persisting: N<u32>,
    new: N<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Finding {
    file: String,
    sheet: N<String>,
    row: N<u32>,
    cell: N<String>,
    column: N<String>,
    columns: Vec<String>,
    header: N<String>,
    rule: String,
    category: String,
    severity: String,
    scope: String,
    household: N<String>,
    unit: N<BTreeMap<String, String>>,
    value: N<String>,
    message: String,
    hint: String,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Input(#[allow(dead_code)] Input),
    Finding(#[allow(dead_code)] Finding),
    Unit(#[allow(dead_code)] Unit),
    Summary(SummaryLine),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SummaryLine {
    tool: Tool,
    schema: SchemaId,
    as_of: String,
    period: N<String>,
    skipped_rules: Vec<SkippedRule>,
    exclusion_lists: Vec<ExclusionList>,
    summary: Summary,
}

fn render(format: Format) -> String {
    let schema = sample_schema();
    let run = sample_run(&schema);
    let mut buf = Vec::new();
    write(&run, format, &mut buf).expect("write");
    String::from_utf8(buf).expect("utf-8")
}

#[test]
fn json_matches_the_contract() {
    let text = render(Format::Json);
    let doc: Doc = serde_json::from_str(&text).expect("contract");
    assert_eq!(doc.tool.name, "povcheck");
    assert_eq!(doc.tool.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        (doc.schema.name.as_str(), doc.schema.version.as_str()),
        ("sample", "0.0.1")
    );
    assert_eq!(doc.as_of, "2017-12-31");
    assert!(doc.period.0.is_none());
    assert_eq!(doc.inputs.len(), 4);
    let statuses: Vec<&str> = doc.inputs.iter().map(|i| i.status.as_str()).collect();
    assert_eq!(statuses, ["checked", "skipped", "checked", "unreadable"]);
    assert_eq!(doc.inputs[0].header_row.0, Some(3));
    assert!(doc.inputs[3].reason.0.is_some());
    assert_eq!(doc.skipped_rules.len(), 3);
    // No --exclude-list in the sample run: the key is there, empty.
    assert!(doc.exclusion_lists.is_empty());
    assert!(doc.inputs.iter().all(|i| i.unmapped_columns.is_empty()));
    assert_eq!((doc.summary.errors, doc.summary.warnings), (7, 3));
    assert_eq!(doc.summary.by_category.completeness, 1);
    assert_eq!(doc.summary.by_category.validity, 5);
    assert_eq!(doc.summary.by_category.consistency, 4);
    assert_eq!(doc.units.len(), 6);
    assert!(
        doc.units
            .iter()
            .any(|u| u.repeat.0.as_ref().is_some_and(|r| r.level == 2))
    );
    let village = doc
        .units
        .iter()
        .find(|u| u.level == "行政村" && u.name == "东村")
        .expect("东村");
    assert_eq!(village.path, ["湖光镇", "东村"]);
    assert_eq!(village.error_rate, 10.0);
    assert_eq!(village.by_category.consistency, 3);

    let f = &doc.findings[0];
    assert_eq!(f.rule, "V102");
    assert_eq!(f.row.0, Some(17));
    assert_eq!(f.cell.0.as_deref(), Some("F17"));
    assert_eq!(f.column.0.as_deref(), Some("证件号码"));
    assert_eq!(f.header.0.as_deref(), Some("身份证号码"));
    assert_eq!(
        (f.category.as_str(), f.severity.as_str(), f.scope.as_str()),
        ("validity", "error", "cell")
    );
    let unit = f.unit.0.as_ref().expect("unit");
    assert_eq!(unit.get("行政村").map(String::as_str), Some("东村"));
    let scopes: Vec<&str> = doc.findings.iter().map(|f| f.scope.as_str()).collect();
    for s in ["cell", "row", "household", "dataset", "file"] {
        assert!(scopes.contains(&s), "no {s} finding");
    }
    let file = doc
        .findings
        .iter()
        .find(|f| f.scope == "file")
        .expect("file scope");
    assert!(file.row.0.is_none() && file.unit.0.is_none() && file.cell.0.is_none());
    assert_eq!(file.rule, "C001");
}

#[test]
fn json_unit_object_keeps_schema_order() {
    let text = render(Format::Json);
    let a = text.find("\"乡镇\": \"湖光镇\"").expect("town");
    let b = text[a..].find("\"行政村\"").expect("village");
    let c = text[a..].find("\"帮扶单位\"").expect("assist");
    assert!(b < c);
}

#[test]
fn mirror_rejects_unknown_and_missing_fields() {
    // The mirror itself must be able to fail, or the contract test proves nothing.
    let text = render(Format::Json);
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["findings"][0]["extra"] = serde_json::json!(1);
    assert!(serde_json::from_value::<Doc>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["findings"][0]
        .as_object_mut()
        .unwrap()
        .remove("household");
    assert!(serde_json::from_value::<Doc>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("period");
    assert!(serde_json::from_value::<Doc>(v).is_err());
}

#[test]
fn ndjson_lines_match_the_contract() {
    let text = render(Format::Ndjson);
    let lines: Vec<Line> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let count = |p: fn(&Line) -> bool| lines.iter().filter(|l| p(l)).count();
    assert_eq!(count(|l| matches!(l, Line::Input(_))), 4);
    assert_eq!(count(|l| matches!(l, Line::Finding(_))), 10);
    assert_eq!(count(|l| matches!(l, Line::Unit(_))), 6);
    match lines.last() {
        Some(Line::Summary(s)) => {
            assert_eq!(s.summary.errors, 7);
            assert_eq!(s.skipped_rules.len(), 3);
            assert_eq!(s.tool.name, "povcheck");
        }
        other => panic!("last line is not the summary: {other:?}"),
    }
    assert_eq!(count(|l| matches!(l, Line::Summary(_))), 1);
    let mut bad: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    bad["surprise"] = serde_json::json!(true);
    assert!(serde_json::from_value::<Line>(bad).is_err());
}
