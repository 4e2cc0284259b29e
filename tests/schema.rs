//! Schema loading: every kind of bad schema is rejected with a diagnostic that points at the
//! offending text, and `extends` / `[[override]]` / `disable` build on another schema.

use povcheck::finding::Severity;
use povcheck::schema::{self, Error, RuleKind, Schema};

const BASE: &str = r#"
name = "测试"
version = "1"

[[field]]
name = "姓名"
type = "name"

[[field]]
name = "人数"
type = "integer"

[[field]]
name = "性别"
type = "code"
codes = ["男", "女"]

[policy.params]
max_people = 20

[[rule]]
code = "L900"
category = "consistency"
severity = "error"
scope = "row"
when = "性别 = '男'"
assert = "人数 <= $max_people"
columns = ["人数"]
message = "人数 {人数} 过多"
message_en = "人数 {人数} is too many"
"#;

#[allow(clippy::result_large_err)] // see src/schema/load.rs
fn load(text: &str) -> Result<Schema, Error> {
    schema::load_str("test.toml", text)
}

/// Load `text`, expect a rejection, and return (message, labelled text).
fn reject(text: &str) -> (String, String) {
    match load(text) {
        Ok(_) => panic!("schema was accepted:\n{text}"),
        Err(e) => (
            e.message().to_string(),
            e.labelled_text().unwrap_or("<no span>").to_string(),
        ),
    }
}

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: {from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

#[test]
fn base_is_accepted() {
    let s = load(BASE).expect("valid");
    assert_eq!(s.rules.len(), 1);
    assert_eq!(s.rule("L900").map(|r| r.kind), Some(RuleKind::Sql));
}

#[test]
fn toml_syntax_error_points_at_the_line() {
    let text = with("version = \"1\"", "version = \"1");
    let e = load(&text).expect_err("rejected");
    let msg = e.message().to_string();
    assert!(msg.contains("string"), "{msg}");
    let Error::Invalid {
        span: Some(span), ..
    } = e
    else {
        panic!("span expected")
    };
    let line = text[..span.offset()].matches('\n').count() + 1;
    assert_eq!(line, 3, "the span is on the broken line: {msg}");
}

#[test]
fn unknown_type_is_rejected() {
    let (msg, at) = reject(&with("type = \"integer\"", "type = \"number\""));
    assert!(msg.contains("unknown variant `number`"), "{msg}");
    assert_eq!(at, "\"number\"");
}

#[test]
fn unknown_key_is_rejected() {
    let (msg, at) = reject(&with(
        "columns = [\"人数\"]",
        "columns = [\"人数\"]\ncolour = 1",
    ));
    assert!(msg.contains("unknown field `colour`"), "{msg}");
    assert!(at.contains("colour"), "{at}");
}

#[test]
fn malformed_code_is_rejected() {
    let (msg, at) = reject(&with("code = \"L900\"", "code = \"L90\""));
    assert!(msg.contains("L90 does not match"), "{msg}");
    assert_eq!(at, "\"L90\"");
    let (_, at) = reject(&with("code = \"L900\"", "code = \"Q900\""));
    assert_eq!(at, "\"Q900\"");
}

#[test]
fn duplicate_code_points_at_the_second() {
    let dup = format!(
        "{BASE}\n[[rule]]\ncode = \"L900\"\ncategory = \"validity\"\nseverity = \"warning\"\nscope = \"row\"\nassert = \"人数 > 0\"\nmessage = \"x\"\nmessage_en = \"x\"\n"
    );
    let e = load(&dup).expect_err("duplicate");
    assert!(
        e.message().contains("L900 is defined twice"),
        "{}",
        e.message()
    );
    let Error::Invalid {
        span: Some(span), ..
    } = &e
    else {
        panic!("span expected")
    };
    let first = dup.find("\"L900\"").expect("first");
    assert!(span.offset() > first, "points at the second definition");
    assert_eq!(e.labelled_text(), Some("\"L900\""));
}

#[test]
fn unknown_column_in_columns_is_rejected() {
    let (msg, at) = reject(&with(
        "columns = [\"人数\"]",
        "columns = [\"人数\", \"人口\"]",
    ));
    assert!(msg.contains("columns names 人口"), "{msg}");
    assert_eq!(at, "\"人口\"");
}

#[test]
fn sql_that_does_not_compile_is_rejected() {
    let (msg, at) = reject(&with("人数 <= $max_people", "人数 <= = $max_people"));
    assert!(msg.contains("L900: assert is not valid SQL"), "{msg}");
    assert_eq!(at, "\"人数 <= = $max_people\"");
}

#[test]
fn unknown_column_in_sql_is_rejected() {
    let (msg, at) = reject(&with("性别 = '男'", "xingbie = '男'"));
    assert!(msg.contains("when uses xingbie"), "{msg}");
    assert_eq!(at, "xingbie");
    // An unknown computed column (names starting with _) is caught the same way.
    let (msg, at) = reject(&with("人数 <= $max_people", "人数 <= _hh_people"));
    assert!(msg.contains("assert uses _hh_people"), "{msg}");
    assert_eq!(at, "_hh_people");
    // Known computed columns are accepted.
    load(&with("人数 <= $max_people", "人数 <= _hh_rows")).expect("_hh_rows is computed");
}

#[test]
fn unknown_param_is_rejected() {
    let (msg, at) = reject(&with("$max_people", "$max_persons"));
    assert!(
        msg.contains("$max_persons, which is not in [policy.params]"),
        "{msg}"
    );
    assert_eq!(at, "$max_persons");
}

#[test]
fn unknown_placeholder_is_rejected() {
    let (msg, at) = reject(&with("人数 {人数} 过多", "人数 {人口} 过多"));
    assert!(msg.contains("placeholder {人口}"), "{msg}");
    assert_eq!(at, "{人口}");
    // Builtin-only placeholders are not available to SQL rules.
    let (msg, _) = reject(&with("人数 {人数} 过多", "人数 {value} 过多"));
    assert!(msg.contains("placeholder {value}"), "{msg}");
}

#[test]
fn builtin_rule_without_an_implementation_is_rejected() {
    let text = with(
        "when = \"性别 = '男'\"\nassert = \"人数 <= $max_people\"\n",
        "kind = \"builtin\"\n",
    );
    let (msg, at) = reject(&text);
    assert!(msg.contains("no built-in check has this code"), "{msg}");
    assert_eq!(at, "\"builtin\"");
}

#[test]
fn builtin_rule_with_sql_is_rejected() {
    // V302 is a real built-in check, so only the SQL is wrong.
    let text = BASE.replace("L900", "V302").replacen(
        "scope = \"row\"",
        "scope = \"row\"\nkind = \"builtin\"",
        1,
    );
    let (msg, at) = reject(&text);
    assert!(msg.contains("a builtin rule has no when/assert"), "{msg}");
    assert_eq!(at, "\"性别 = '男'\"");
}

#[test]
fn sql_rule_without_assert_is_rejected() {
    let (msg, at) = reject(&with("assert = \"人数 <= $max_people\"\n", ""));
    assert!(msg.contains("an SQL rule needs assert"), "{msg}");
    assert_eq!(at, "\"L900\"");
}

#[test]
fn code_field_without_codes_is_rejected() {
    let (msg, at) = reject(&with("codes = [\"男\", \"女\"]\n", ""));
    assert!(msg.contains("性别 has type code but no codes"), "{msg}");
    assert_eq!(at, "\"性别\"");
}

#[test]
fn builtin_placeholders_are_accepted_for_builtin_rules() {
    let text = with(
        "when = \"性别 = '男'\"\nassert = \"人数 <= $max_people\"\n",
        "kind = \"builtin\"\n",
    )
    .replace("L900", "V302")
    .replace("人数 {人数} 过多", "{header} 的值 {value} 超出 {min}–{max}");
    let s = load(&text).expect("builtin placeholders");
    assert_eq!(s.rule("V302").map(|r| r.kind), Some(RuleKind::Builtin));
}

// ------------------------------------------------------------------ extends, override, disable

const DISTRICT: &str = r#"
name = "麻章区"
version = "2018.1"
extends = "default"
as_of = "2018-12-31"
disable = ["L303"]

[[override]]
code = "D103"
severity = "error"

[[override]]
code = "L112"
enabled = false

[policy.params]
rich_unlifted_income = 25000

[[policy.exit_line]]
standard = "市定标准"
year = 2018
line = 7000

[[field]]
name = "帮扶单位"
aliases = ["挂钩帮扶单位"]
type = "text"
household = true

[[field]]
name = "是否纳入边缘户"
type = "code"
codes = ["是", "否"]

[[rule]]
code = "L901"
category = "consistency"
severity = "warning"
scope = "household"
when = "是否纳入边缘户 = '是'"
assert = "NOT _lifted"
columns = ["是否纳入边缘户", "脱贫属性"]
message = "边缘户标记为 {脱贫属性}"
message_en = "an edge household is marked {脱贫属性}"
"#;

#[test]
fn extends_default_adds_replaces_regrades_and_disables() {
    let base = schema::default_schema();
    let s = load(DISTRICT).expect("district schema");
    assert_eq!(s.name, "麻章区");
    assert_eq!(s.as_of.as_deref(), Some("2018-12-31"));
    assert!(s.extends.is_none() && s.disable.is_empty() && s.overrides.is_empty());
    assert_eq!(s.rules.len(), base.rules.len() + 1);
    assert_eq!(s.rule("L901").map(|r| r.severity), Some(Severity::Warning));
    assert_eq!(s.rule("D103").map(|r| r.severity), Some(Severity::Error));
    assert_eq!(
        base.rule("D103").map(|r| r.severity),
        Some(Severity::Warning)
    );
    assert_eq!(s.rule("L303").map(|r| r.enabled), Some(false));
    assert_eq!(s.rule("L112").map(|r| r.enabled), Some(false));
    assert_eq!(s.rule("L302").map(|r| r.enabled), Some(true));
    assert_eq!(s.policy.params.get("rich_unlifted_income"), Some(&25000.0));
    assert_eq!(
        s.policy.params.get("max_age"),
        Some(&110.0),
        "base params kept"
    );
    assert_eq!(s.exit_line("市定标准", 2018), Some(7000.0));
    assert_eq!(s.exit_line("省定标准", 2017), Some(6883.0));
    let f = s.field("帮扶单位").expect("replaced field");
    assert_eq!(f.aliases, vec!["挂钩帮扶单位".to_string()]);
    assert_eq!(s.fields.len(), base.fields.len() + 1);
    assert_eq!(s.units.levels, base.units.levels, "units inherited");
    assert_eq!(s.policy.ladder.actions.len(), 4, "ladder inherited");
}

#[test]
fn a_rule_with_an_existing_code_replaces_it() {
    let text = format!(
        "{DISTRICT}\n[[rule]]\ncode = \"L303\"\ncategory = \"consistency\"\nseverity = \"error\"\nscope = \"household\"\nwhen = \"脱贫属性 = '未脱贫'\"\nassert = \"人均纯收入 <= 30000\"\ncolumns = [\"人均纯收入\"]\nmessage = \"收入 {{人均纯收入}} 过高\"\nmessage_en = \"income {{人均纯收入}} too high\"\n"
    );
    let s = load(&text).expect("replacement");
    let r = s.rule("L303").expect("L303");
    assert_eq!(r.severity, Severity::Error);
    assert_eq!(r.assert.as_deref(), Some("人均纯收入 <= 30000"));
    assert!(!r.enabled, "disable applies after replacement");
    assert_eq!(s.rules.iter().filter(|r| r.code == "L303").count(), 1);
}

#[test]
fn errors_in_an_extending_schema_point_into_it() {
    let (msg, at) = reject(&DISTRICT.replace("NOT _lifted", "NOT _lifted_out"));
    assert!(msg.contains("L901: assert uses _lifted_out"), "{msg}");
    assert_eq!(at, "_lifted_out");
    let (msg, at) = reject(&DISTRICT.replace("disable = [\"L303\"]", "disable = [\"L399\"]"));
    assert!(msg.contains("no rule L399"), "{msg}");
    assert_eq!(at, "\"L399\"");
    let (msg, at) = reject(&DISTRICT.replace("code = \"D103\"", "code = \"D199\""));
    assert!(msg.contains("no rule D199"), "{msg}");
    assert_eq!(at, "\"D199\"");
    let (msg, _) = reject(&DISTRICT.replace("severity = \"error\"", "severity = \"fatal\""));
    assert!(msg.contains("unknown variant `fatal`"), "{msg}");
}

#[test]
fn extends_a_path_relative_to_the_schema_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parent = dir.path().join("city.toml");
    std::fs::write(&parent, DISTRICT).expect("write parent");
    let child = dir.path().join("sub").join("village.toml");
    std::fs::create_dir_all(child.parent().expect("dir")).expect("mkdir");
    std::fs::write(
        &child,
        "name = \"村\"\nversion = \"1\"\nextends = \"../city.toml\"\ndisable = [\"L901\"]\n",
    )
    .expect("write child");
    let s = schema::load_path(&child).expect("chain loads");
    assert_eq!(s.name, "村");
    assert_eq!(s.rule("L901").map(|r| r.enabled), Some(false));
    assert_eq!(s.rule("D103").map(|r| r.severity), Some(Severity::Error));
    assert_eq!(
        s.as_of.as_deref(),
        Some("2018-12-31"),
        "inherited through the chain"
    );

    std::fs::write(
        &child,
        "name = \"村\"\nversion = \"1\"\nextends = \"../missing.toml\"\n",
    )
    .expect("write child");
    let e = schema::load_path(&child).expect_err("missing parent");
    assert!(
        e.message().contains("extends: cannot read schema"),
        "{}",
        e.message()
    );
    assert_eq!(e.labelled_text(), Some("\"../missing.toml\""));
}

#[test]
fn an_extends_cycle_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.toml");
    std::fs::write(&a, "name = \"a\"\nversion = \"1\"\nextends = \"a.toml\"\n").expect("write");
    let e = schema::load_path(&a).expect_err("cycle");
    assert!(e.message().contains("deeper than"), "{}", e.message());
}

#[test]
fn policy_entries_are_checked() {
    let (msg, at) = reject(&DISTRICT.replace("standard = \"市定标准\"", "standard = \"市标准\""));
    assert!(
        msg.contains("standard 市标准 is not a code of 识别标准"),
        "{msg}"
    );
    assert_eq!(at, "\"市标准\"");
    let ladder = "\n[policy.ladder]\nactions = [\"无\", \"通报\"]\n";
    let (msg, at) = reject(&format!("{DISTRICT}{ladder}"));
    assert!(msg.contains("policy.ladder.actions has 2 entries"), "{msg}");
    assert_eq!(at, "[\"无\", \"通报\"]");
    let ok = "\n[policy.ladder]\nrepeated_rounds = 2\nactions = [\"0\", \"1\", \"2\", \"3\"]\n";
    let s = load(&format!("{DISTRICT}{ok}")).expect("a full ladder");
    assert_eq!(s.policy.ladder.repeated_rounds, 2);
    assert_eq!(s.policy.ladder.actions[3], "3");
}

#[test]
fn the_example_district_schema_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/examples/mazhang.toml");
    let s = schema::load_path(std::path::Path::new(path)).expect("example schema loads");
    assert!(s.rules.len() > schema::default_schema().rules.len());
    assert!(s.rules.iter().any(|r| !r.enabled));
}

#[test]
fn substitute_params_formats_numbers_and_reports_unknown_names() {
    let s = schema::default_schema();
    let p = &s.policy.params;
    assert_eq!(
        schema::substitute_params("_age > $max_age AND x < $income_tolerance_ratio", p),
        Ok("_age > 110 AND x < 0.01".to_string())
    );
    assert_eq!(
        schema::substitute_params("_age > $nope", p),
        Err("nope".to_string())
    );
}

#[test]
fn diagnostics_render_with_the_label() {
    let e = load(&with("$max_people", "$max_persons")).expect_err("rejected");
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, &e)
        .expect("render");
    assert!(out.contains("test.toml"), "{out}");
    assert!(out.contains("$max_persons"), "{out}");
    assert!(out.contains("here"), "{out}");
}

/// `extends` naming a device or a directory is refused before anything is read (a fuzzing
/// finding: /dev/zero would otherwise be read until memory ran out).
#[test]
fn extends_naming_a_device_or_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for target in ["/dev/zero", "."] {
        let p = dir.path().join("d.toml");
        std::fs::write(
            &p,
            format!("extends = \"{target}\"\nname = \"d\"\nversion = \"1\"\n"),
        )
        .expect("write");
        let err = povcheck::schema::load_path(&p).expect_err("refused");
        assert!(
            err.to_string().contains("not a regular file")
                || err.to_string().contains("不是普通文件"),
            "{err}"
        );
    }
}

#[test]
fn any_of_and_empty_items_name_fields_and_enable_their_placeholder() {
    let ok = with(
        "columns = [\"人数\"]",
        "columns = [\"人数\"]\nany_of = [[\"人数\", \"性别\"]]",
    );
    assert!(load(&ok).is_ok());
    let (msg, _) = reject(&with(
        "columns = [\"人数\"]",
        "columns = [\"人数\"]\nany_of = [[\"人数\", \"人口\"]]",
    ));
    assert!(msg.contains("any_of names 人口"), "{msg}");
    let (msg, _) = reject(&with(
        "columns = [\"人数\"]",
        "columns = [\"人数\"]\nempty_items = [[\"_age\"]]",
    ));
    assert!(msg.contains("empty_items names _age"), "{msg}");
    // {empty_columns} only for a rule with empty_items.
    let (msg, _) = reject(&with("人数 {人数} 过多", "{empty_columns} 过多"));
    assert!(msg.contains("placeholder {empty_columns}"), "{msg}");
    let ok = BASE
        .replacen("人数 {人数} 过多", "{empty_columns} 过多", 1)
        .replacen(
            "columns = [\"人数\"]",
            "columns = [\"人数\"]\nempty_items = [[\"人数\"]]",
            1,
        );
    assert!(load(&ok).is_ok());
}
