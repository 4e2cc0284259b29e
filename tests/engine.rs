//! The rule engine's semantics on a small schema written here, independent of the default
//! catalogue: how rules fire (null handling), household anchors, inheritance of household fields,
//! dataset scope across files, skipped rules and placeholders.

mod common;

use common::{records, table};
use povcheck::check::{self, CheckOptions};
use povcheck::finding::{FindingScope, Lang};
use povcheck::schema::{self, Schema};

const SCHEMA: &str = r#"
name = "engine-test"
version = "1"
[units]
levels = ["乡镇", "行政村"]
assist = ["帮扶单位"]
[[field]]
name = "乡镇"
type = "text"
household = true
[[field]]
name = "行政村"
type = "text"
household = true
[[field]]
name = "帮扶单位"
type = "text"
household = true
[[field]]
name = "户编号"
type = "digits"
[[field]]
name = "姓名"
type = "text"
required = true
[[field]]
name = "证件号码"
type = "id_number"
aliases = ["身份证号码"]
[[field]]
name = "与户主关系"
type = "code"
codes = ["户主", "配偶", "之子", "之女"]
[[field]]
name = "人数"
type = "integer"
household = true
[[field]]
name = "在校生状况"
type = "code"
codes = ["非在校生", "小学", "学前教育"]
[[field]]
name = "健康状况"
type = "code"
codes = ["健康", "残疾"]
[policy.params]
compulsory_age_min = 6
compulsory_age_max = 15
[[rule]]
code = "C101"
category = "completeness"
severity = "error"
scope = "row"
kind = "builtin"
message = "{header} 为空"
message_en = "{header} is empty"
[[rule]]
code = "L203"
category = "consistency"
severity = "error"
scope = "household"
assert = "人数 = _hh_rows"
columns = ["人数"]
message = "人数 {人数} 与家庭成员行数 {_hh_rows} 不符"
message_en = "household size {人数} differs from member rows {_hh_rows}"
hint = "核对家庭成员"
[[rule]]
code = "L111"
category = "consistency"
severity = "error"
scope = "row"
when = "_age BETWEEN $compulsory_age_min AND $compulsory_age_max AND 健康状况 <> '残疾'"
assert = "NOT _not_in_school"
columns = ["在校生状况"]
message = "{_age} 岁未在校"
message_en = "aged {_age} and not in school"
[[rule]]
code = "D101"
category = "consistency"
severity = "error"
scope = "dataset"
assert = "_id_count = 1"
columns = ["证件号码"]
message = "证件号码重复 {_id_count} 次"
message_en = "ID appears {_id_count} times"
"#;

fn schema() -> Schema {
    schema::load_str("engine-test.toml", SCHEMA).expect("test schema loads")
}

fn rows(toml_rows: &str) -> Vec<common::Record> {
    let v = common::parse_toml(&format!("rows = [{toml_rows}]")).expect("rows parse");
    records(v.get("rows").expect("rows"))
}

fn opts() -> CheckOptions {
    CheckOptions {
        as_of: common::as_of(),
        lang: Lang::Zh,
        select: vec![],
        ignore: vec![],
        exclusions: vec![],
    }
}

// Synthetic IDs: 440811 + birth date + sequence + check digit (computed by the generator in
// tests; these are fictitious).
const ID_ADULT: &str = "440811198001010018";
const ID_CHILD: &str = "440811200801010024";
const ID_OTHER: &str = "44081119850202002X";

#[test]
fn household_rule_fires_once_on_the_anchor_row_with_placeholders() {
    let s = schema();
    let t = table(
        "a.csv",
        &rows(&format!(
            r#"{{ 乡镇 = "湖光镇", 行政村 = "赤岭村", 户编号 = "1001", 姓名 = "甲", 证件号码 = "{ID_OTHER}", 与户主关系 = "之女", 人数 = 3, 在校生状况 = "非在校生", 健康状况 = "健康" }},
               {{ 户编号 = "1001", 姓名 = "乙", 证件号码 = "{ID_ADULT}", 与户主关系 = "户主", 在校生状况 = "非在校生", 健康状况 = "健康" }}"#
        )),
        &s,
    );
    let r = check::check(&[t], &s, &opts());
    let l203: Vec<_> = r.findings.iter().filter(|f| f.rule == "L203").collect();
    assert_eq!(l203.len(), 1, "{:#?} {:#?}", r.findings, r.skipped_rules);
    let f = l203[0];
    // Anchor: the first 户主 row (row 3), not the first row.
    assert_eq!(f.row, Some(3));
    assert_eq!(f.scope, FindingScope::Household);
    // 人数 inherited from the first row is shown and compared.
    assert_eq!(f.message, "人数 3 与家庭成员行数 2 不符");
    assert_eq!(f.household.as_deref(), Some("1001"));
    // Units inherited too.
    let unit = f.unit.as_ref().expect("unit");
    assert_eq!(unit[0], ("乡镇".to_string(), "湖光镇".to_string()));
    assert_eq!(unit[2], ("帮扶单位".to_string(), "（未填）".to_string()));
    assert_eq!(r.households, 1);
    assert_eq!(r.rows, 2);
}

#[test]
fn row_rule_null_when_is_false_and_passing_rows_stay_clean() {
    let s = schema();
    let t = table(
        "a.csv",
        &rows(&format!(
            r#"{{ 户编号 = "1", 姓名 = "甲", 证件号码 = "{ID_CHILD}", 与户主关系 = "户主", 人数 = 1, 在校生状况 = "非在校生", 健康状况 = "健康" }},
               {{ 户编号 = "2", 姓名 = "乙", 证件号码 = "{ID_CHILD}1", 与户主关系 = "户主", 人数 = 1, 在校生状况 = "非在校生", 健康状况 = "健康" }},
               {{ 户编号 = "3", 姓名 = "丙", 证件号码 = "{ID_ADULT}", 与户主关系 = "户主", 人数 = 1, 在校生状况 = "非在校生", 健康状况 = "残疾" }}"#
        )),
        &s,
    );
    let r = check::check(&[t], &s, &opts());
    let l111: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "L111")
        .map(|f| f.row)
        .collect();
    // Row 2: aged 9, healthy, out of school → fires. Row 3: no known age → skipped (null when).
    assert_eq!(l111, vec![Some(2)], "{:#?}", r.findings);
    let f = r.findings.iter().find(|f| f.rule == "L111").expect("L111");
    assert_eq!(f.message, "9 岁未在校");
    assert_eq!(f.cell.as_deref(), Some("F2"));
    assert!(
        r.findings.iter().all(|f| f.rule != "L203"),
        "{:#?}",
        r.findings
    );
}

#[test]
fn dataset_rule_spans_files_and_points_at_each_row() {
    let s = schema();
    let a = table(
        "a.csv",
        &rows(&format!(
            r#"{{ 户编号 = "1", 姓名 = "甲", 证件号码 = "{ID_ADULT}", 与户主关系 = "户主", 人数 = 1 }}"#
        )),
        &s,
    );
    let b = table(
        "b.csv",
        &rows(&format!(
            r#"{{ 户编号 = "7", 姓名 = "乙", 证件号码 = "{ID_OTHER}", 与户主关系 = "户主", 人数 = 2 }},
               {{ 户编号 = "7", 姓名 = "甲", 证件号码 = "{ID_ADULT}", 与户主关系 = "配偶" }}"#
        )),
        &s,
    );
    let r = check::check(&[a, b], &s, &opts());
    let d: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "D101")
        .map(|f| (f.file.as_str(), f.row))
        .collect();
    assert_eq!(
        d,
        vec![("a.csv", Some(2)), ("b.csv", Some(3))],
        "{:#?}",
        r.findings
    );
}

#[test]
fn rules_whose_columns_are_missing_are_skipped_and_reported() {
    let s = schema();
    let t = table(
        "a.csv",
        &rows(
            r#"{ 户编号 = "1", 姓名 = "", 证件号码 = "440811198001010018", 与户主关系 = "户主" }"#,
        ),
        &s,
    );
    let r = check::check(&[t], &s, &opts());
    assert!(
        r.skipped_rules
            .iter()
            .any(|k| k.rule == "L203" && k.reason.contains("人数")),
        "{:#?}",
        r.skipped_rules
    );
    assert!(
        r.skipped_rules
            .iter()
            .any(|k| k.rule == "L111" && k.reason.contains("在校生状况"))
    );
    let c101: Vec<_> = r.findings.iter().filter(|f| f.rule == "C101").collect();
    assert_eq!(c101.len(), 1);
    assert_eq!(c101[0].message, "姓名 为空");
}

#[test]
fn select_and_ignore_filter_rules_by_code_or_prefix() {
    assert!(check::selected("L203", &[], &[]));
    assert!(check::selected("L203", &["L2".into()], &[]));
    assert!(!check::selected("L111", &["L2".into()], &[]));
    assert!(!check::selected("L203", &[], &["l203".into()]));
}

#[test]
fn builtin_rules_fill_rust_computed_columns_from_the_registry() {
    // A built-in finding has no rule frame: its `_` placeholders come from the typing pass's
    // facts, found through the computed-column registry. (L204 is emitted once those facts
    // are known; the cell checks run before them.)
    let text = format!(
        "{SCHEMA}{}",
        r#"
[[rule]]
code = "L204"
category = "consistency"
severity = "error"
scope = "household"
kind = "builtin"
message = "{header} 不一致（{_age} 岁，证件有效: {_id_valid}，{_id_sex}）"
message_en = "{header} differs"
"#
    );
    let s = schema::load_str("engine-test.toml", &text).expect("schema loads");
    let t = table(
        "a.csv",
        &rows(&format!(
            r#"{{ 户编号 = "1", 姓名 = "甲", 证件号码 = "{ID_OTHER}", 与户主关系 = "户主", 人数 = 2 }},
               {{ 户编号 = "1", 姓名 = "乙", 证件号码 = "{ID_ADULT}", 与户主关系 = "配偶", 人数 = 3 }}"#
        )),
        &s,
    );
    let r = check::check(&[t], &s, &opts());
    let f = r.findings.iter().find(|f| f.rule == "L204").expect("L204");
    let age = povcheck::types::age_at(
        chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("date"),
        common::as_of(),
    );
    assert_eq!(f.row, Some(3));
    assert_eq!(
        f.message,
        format!("人数 不一致（{age} 岁，证件有效: 是，男）")
    );
}
