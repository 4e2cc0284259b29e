//! Registry tests: the default schema's rule catalogue agrees with the product's rule list
//! (rules.md), every rule is complete and documented, and docs/rules.md matches the schema.

use std::collections::BTreeSet;

use povcheck::check::columns::{self, Stage};
use povcheck::finding::{Category, Lang};
use povcheck::report::catalogue::{self, Format};
use povcheck::schema::{self, FieldType, Rule, RuleKind, RuleScope, Schema};
use povcheck::types::{self, Target};

const HEADINGS: [&str; 4] = [
    "## 检查什么 / What it checks",
    "## 为什么重要 / Why it matters",
    "## 示例 / Example",
    "## 如何修改 / How to fix",
];

fn default() -> Schema {
    schema::load_str("schemas/default.toml", schema::DEFAULT_TOML)
        .unwrap_or_else(|e| panic!("default schema does not load: {e:?}"))
}

fn is_known(s: &Schema, name: &str) -> bool {
    s.field(name).is_some()
        || columns::dependencies(name).is_some()
        || columns::filled_field(name).is_some_and(|f| s.field(f).is_some())
}

#[test]
fn codes_are_unique_and_well_formed() {
    let s = default();
    let mut seen = BTreeSet::new();
    for r in &s.rules {
        let b = r.code.as_bytes();
        assert!(
            b.len() == 4 && b"CVLDX".contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit),
            "{}: codes are a letter C/V/L/D/X and three digits",
            r.code
        );
        assert!(seen.insert(&r.code), "{} is defined twice", r.code);
    }
}

/// The category a code's letter names (rules.md): C completeness, V and X validity, L and D
/// consistency.
fn category_of(code: &str) -> Category {
    match code.as_bytes().first() {
        Some(b'C') => Category::Completeness,
        Some(b'V' | b'X') => Category::Validity,
        _ => Category::Consistency,
    }
}

#[test]
fn every_rule_class_follows_from_its_code_and_the_registries() {
    let s = default();
    for r in &s.rules {
        let code = r.code.as_str();
        assert_eq!(r.category, category_of(code), "{code}: category");
        assert!(r.enabled, "{code}: the default schema enables every rule");
        let builtin = types::builtin(code);
        assert_eq!(
            r.kind == RuleKind::Builtin,
            builtin.is_some(),
            "{code}: kind must be builtin exactly for the checks written in Rust (types::BUILTINS)"
        );
        if let Some(b) = builtin {
            let scope = match b.target {
                Target::Columns => RuleScope::Dataset,
                Target::Household => RuleScope::Household,
                Target::Empty | Target::Values(..) | Target::ValuesExcept(..) => RuleScope::Row,
            };
            assert_eq!(r.scope, scope, "{code}: scope of a {:?} check", b.target);
        }
        if code.starts_with('D') {
            assert_eq!(
                r.scope,
                RuleScope::Dataset,
                "{code}: D rules span the dataset"
            );
        }
        if r.kind == RuleKind::Sql {
            // A rule reading a column aggregated over the whole dataset is a dataset rule; one
            // reading a household aggregate looks at households or the dataset.
            for n in sql_roots(&s, r) {
                let Some(c) = columns::entry(&n) else {
                    continue;
                };
                let widest = match c.stage {
                    Stage::Row => RuleScope::Row,
                    Stage::Household => RuleScope::Household,
                    Stage::Dataset => RuleScope::Dataset,
                };
                assert!(
                    widest != RuleScope::Dataset || r.scope == RuleScope::Dataset,
                    "{code}: reads {n}, a dataset column, so its scope is dataset"
                );
            }
        }
    }
    for b in types::BUILTINS {
        let r = s
            .rule(b.code)
            .unwrap_or_else(|| panic!("{}: built-in check without a [[rule]]", b.code));
        assert_eq!(r.kind, RuleKind::Builtin, "{}", b.code);
    }
}

#[test]
fn every_rule_is_documented() {
    let s = default();
    for r in &s.rules {
        let mut at = 0;
        for h in HEADINGS {
            let pos = r.doc[at..].find(h).unwrap_or_else(|| {
                panic!(
                    "{}: doc lacks heading {h:?} (or it is out of order)",
                    r.code
                )
            });
            at += pos + h.len();
        }
        assert!(!r.message.is_empty(), "{}: message", r.code);
        assert!(!r.message_en.is_empty(), "{}: message_en", r.code);
        assert!(!r.hint.is_empty(), "{}: hint", r.code);
        assert!(!r.hint_en.is_empty(), "{}: hint_en", r.code);
        for m in [&r.message, &r.message_en] {
            let last = m.chars().last().unwrap_or(' ');
            assert!(
                !"。.！!；;，,".contains(last),
                "{}: messages have no trailing punctuation",
                r.code
            );
        }
        assert!(
            !r.message.contains('请'),
            "{}: messages state facts, hints advise",
            r.code
        );
        let why = section(&r.doc, HEADINGS[1]);
        assert!(
            why.contains("第二十七条") || why.contains("两不愁三保障"),
            "{}: why it matters cites 第二十七条第六项 or 两不愁三保障",
            r.code
        );
    }
}

#[test]
fn placeholders_and_columns_are_known() {
    let s = default();
    for r in &s.rules {
        for c in &r.columns {
            assert!(is_known(&s, c), "{}: column {c} is not a field", r.code);
        }
        for text in [&r.message, &r.message_en, &r.hint, &r.hint_en] {
            for p in schema::load::placeholders(text) {
                let ok = is_known(&s, p)
                    || (r.kind == RuleKind::Builtin && types::builtin_placeholder(&r.code, p))
                    || (p == schema::load::EMPTY_COLUMNS && !r.empty_items.is_empty());
                assert!(ok, "{}: placeholder {{{p}}} names nothing", r.code);
            }
        }
        if r.kind == RuleKind::Sql {
            assert!(
                !r.columns.is_empty(),
                "{}: an SQL rule points at columns",
                r.code
            );
        }
    }
}

/// The root names of a rule's SQL after `$param` substitution, compiled with polars' SQL
/// front-end exactly as the engine will.
fn sql_roots(s: &Schema, r: &Rule) -> Vec<String> {
    let mut roots = Vec::new();
    for sql in [r.when.as_deref(), r.assert.as_deref()]
        .into_iter()
        .flatten()
    {
        let text = schema::substitute_params(sql, &s.policy.params)
            .unwrap_or_else(|p| panic!("{}: unknown ${p}", r.code));
        let expr = polars::sql::sql_expr(&text)
            .unwrap_or_else(|e| panic!("{}: SQL does not compile: {e}\n{text}", r.code));
        roots.extend(expr.meta().root_names().iter().map(|n| n.to_string()));
    }
    roots
}

#[test]
fn every_sql_rule_compiles_and_reads_known_columns() {
    let s = default();
    let mut compiled = 0;
    for r in s.rules.iter().filter(|r| r.kind == RuleKind::Sql) {
        assert!(r.assert.is_some(), "{}: SQL rule without assert", r.code);
        let roots = sql_roots(&s, r);
        assert!(!roots.is_empty(), "{}: SQL reads no column", r.code);
        for n in &roots {
            assert!(is_known(&s, n), "{}: SQL reads unknown column {n}", r.code);
        }
        compiled += 1;
    }
    assert_eq!(compiled + types::BUILTINS.len(), s.rules.len());
}

fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let Some(start) = doc.find(heading) else {
        return "";
    };
    let body = &doc[start + heading.len()..];
    match body.find("\n## ") {
        Some(end) => &body[..end],
        None => body,
    }
}

/// The example table of a doc: header cells and rows of cells.
fn example_table(doc: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let lines: Vec<&str> = section(doc, HEADINGS[2])
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .collect();
    let cells = |l: &str| -> Vec<String> {
        let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_string()).collect()
    };
    let header = lines.first().map(|l| cells(l)).unwrap_or_default();
    let rows = lines.iter().skip(2).map(|l| cells(l)).collect();
    (header, rows)
}

/// GB 11643 check character of the first 17 digits.
fn id_valid(id: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b[17] == b"10X98765432"[(sum % 11) as usize]
}

#[test]
fn id_check_helper_matches_public_vectors() {
    for ok in [
        "360426199101010071",
        "350303199002033073",
        "33050219880702447X",
    ] {
        assert!(id_valid(ok), "{ok}");
    }
    for bad in [
        "36042619910102009X",
        "440308199901101513",
        "4408111970031501",
    ] {
        assert!(!id_valid(bad), "{bad}");
    }
}

#[test]
fn doc_examples_are_tables_of_fields_with_valid_other_values() {
    let s = default();
    for r in &s.rules {
        let (header, rows) = example_table(&r.doc);
        assert!(
            header.len() >= 2,
            "{}: the example has a table header",
            r.code
        );
        assert!(
            !rows.is_empty(),
            "{}: the example has at least one row",
            r.code
        );
        // C002 is about two headers naming one field, so its example needs an alias.
        let matcher = povcheck::read::HeaderMatcher::from_schema(&s);
        for h in &header {
            assert!(
                s.field(h).is_some() || (r.code == "C002" && matcher.field(h).is_some()),
                "{}: example header {h} is not a canonical field",
                r.code
            );
        }
        for row in &rows {
            assert_eq!(row.len(), header.len(), "{}: example row width", r.code);
            for (h, v) in header.iter().zip(row) {
                let Some(f) = s.field(h) else { continue };
                if v.is_empty() {
                    continue;
                }
                if f.ty == FieldType::Code && r.code != "V201" && r.code != "V602" {
                    assert!(
                        f.codes.contains(v) || f.variants.contains_key(v),
                        "{}: example value {v} of {h} is not a code",
                        r.code
                    );
                }
                if f.ty == FieldType::IdNumber && !r.code.starts_with("V1") {
                    // A 20/22-character 残疾人证 number is an 18-digit ID plus its suffix.
                    let id18 = if matches!(v.len(), 20 | 22) {
                        &v[..18]
                    } else {
                        v.as_str()
                    };
                    assert!(
                        id_valid(id18),
                        "{}: example ID {v} has a wrong check digit",
                        r.code
                    );
                }
            }
        }
        // A rule is skipped for a file that lacks a field it reads; its example must not be.
        if r.kind == RuleKind::Sql {
            for root in sql_roots(&s, r) {
                let needed: Vec<&str> =
                    match (columns::dependencies(&root), columns::filled_field(&root)) {
                        (Some(deps), _) => deps.iter().map(String::as_str).collect(),
                        (None, Some(field)) => vec![field],
                        (None, None) => vec![root.as_str()],
                    };
                for n in needed {
                    // A field with alternatives (any_of) needs one of its group only.
                    let group = r.any_of.iter().find(|g| g.iter().any(|f| f == n));
                    let alternatives: Vec<&str> = match group {
                        Some(g) => g.iter().map(String::as_str).collect(),
                        None => vec![n],
                    };
                    assert!(
                        header.iter().any(|h| alternatives.contains(&h.as_str())),
                        "{}: the example lacks column {n}, so the rule would be skipped",
                        r.code
                    );
                }
            }
        }
    }
}

#[test]
fn field_flags_match_the_definitions() {
    let s = default();
    let names = |pred: &dyn Fn(&schema::Field) -> bool| -> BTreeSet<String> {
        s.fields
            .iter()
            .filter(|f| pred(f))
            .map(|f| f.name.clone())
            .collect()
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        names(&|f| f.required_column),
        set(&["乡镇", "行政村", "户编号", "姓名", "证件号码", "与户主关系"])
    );
    assert_eq!(
        names(&|f| f.required && f.empty_rule.is_none()),
        set(&[
            "乡镇",
            "行政村",
            "户编号",
            "姓名",
            "证件号码",
            "性别",
            "与户主关系",
            "民族",
            "健康状况",
            "劳动技能",
            "人数",
            "贫困户属性",
            "主要致贫原因",
            "脱贫属性",
            "识别标准",
        ])
    );
    assert_eq!(
        names(&|f| f.required && f.empty_rule.as_deref() == Some("C106")),
        set(&[
            "是否参加城乡居民基本医疗保险",
            "是否参加大病保险",
            "是否参加城乡居民基本养老保险",
        ])
    );
    assert_eq!(
        names(&|f| f.household),
        set(&[
            "人数",
            "贫困户属性",
            "脱贫属性",
            "脱贫年度",
            "主要致贫原因",
            "识别标准",
            "工资性收入",
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
            "人均纯收入",
            "是否危房户",
            "危房级别",
            "饮水是否安全",
            "饮水是否困难",
            "是否通生活用电",
            "住房面积",
            "联系电话",
            "开户银行",
            "银行卡号",
            "帮扶单位",
            "乡镇",
            "行政村",
            "其他致贫原因",
            "低保金",
            "五保金",
            "养老金",
        ])
    );
    let tuopin = s.field("脱贫属性").expect("脱贫属性");
    assert_eq!(
        tuopin
            .variants
            .get("已脱贫（享受政策）")
            .map(String::as_str),
        Some("已脱贫")
    );
    assert!(!tuopin.codes.iter().any(|c| c.contains('(')));
    let yb = s.field("是否参加城乡居民基本医疗保险").expect("insurance");
    assert!(yb.aliases.iter().any(|a| a == "新农合") && !yb.codes.iter().any(|c| c == "新农合"));
    assert_eq!(
        s.field("民族")
            .map(|f| f.codes.iter().filter(|c| c.ends_with('族')).count()),
        Some(56)
    );
}

#[test]
fn policy_holds_lines_params_and_ladder() {
    let s = default();
    assert_eq!(s.as_of.as_deref(), Some("2017-12-31"));
    assert_eq!(s.exit_line("国家标准", 2016), Some(2952.0));
    assert_eq!(s.exit_line("省定标准", 2017), Some(6883.0));
    assert_eq!(s.exit_line("市定标准", 2017), None);
    assert_eq!(s.exit_line("国家标准", 2013), None);
    let p = &s.policy.params;
    assert_eq!(p.get("compulsory_age_max"), Some(&15.0));
    assert_eq!(p.get("income_tolerance_ratio"), Some(&0.01));
    let l = &s.policy.ladder;
    assert_eq!((l.min_errors, l.repeated_rounds), (1, 3));
    assert_eq!(l.actions.len(), 4);
    assert_eq!(l.actions_en.len(), 4);
    assert!(l.actions[3].contains("调离工作岗位"));
}

fn rendered(s: &Schema, format: Format, lang: Lang) -> String {
    let mut out = Vec::new();
    catalogue::write_rules(s, format, lang, &mut out).expect("write to a Vec");
    String::from_utf8(out).expect("utf-8")
}

/// docs/rules.md is `povcheck rules --format md`; regenerate with `UPDATE_DOCS=1 cargo test
/// --test registry`.
#[test]
fn docs_rules_md_matches_the_schema() {
    let s = default();
    let md = rendered(&s, Format::Md, Lang::Zh);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &md).expect("write docs/rules.md");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == md,
        "docs/rules.md is out of date: run UPDATE_DOCS=1 cargo test --test registry and commit it"
    );
}

#[test]
fn catalogue_formats_list_every_rule() {
    let s = default();
    let term = rendered(&s, Format::Terminal, Lang::Zh);
    assert_eq!(term.lines().count(), s.rules.len());
    assert!(
        term.lines()
            .any(|l| l.starts_with("L302  逻辑关系错误  错误  户  {脱贫属性}户人均纯收入"))
    );
    let en = rendered(&s, Format::Terminal, Lang::En);
    assert!(
        en.lines()
            .any(|l| l.starts_with("L303  consistency  warning  household  household marked"))
    );
    let json: serde_json::Value =
        serde_json::from_str(&rendered(&s, Format::Json, Lang::Zh)).expect("valid JSON");
    let arr = json.as_array().expect("array");
    assert_eq!(arr.len(), s.rules.len());
    assert_eq!(arr[0]["code"], "C001");
    assert_eq!(arr[0]["scope"], "dataset");
    assert_eq!(arr[0]["kind"], "builtin");
    let md = rendered(&s, Format::Md, Lang::Zh);
    for r in &s.rules {
        assert!(
            md.contains(&format!("\n## {}\n", r.code)),
            "{} has a section",
            r.code
        );
    }
}

#[test]
fn write_rule_prints_the_doc() {
    let s = default();
    let r = s.rule("L111").expect("L111");
    let mut out = Vec::new();
    catalogue::write_rule(r, Lang::Zh, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.starts_with("L111  逻辑关系错误  错误  行\n"));
    assert!(text.contains("## 示例 / Example"));
    let mut out = Vec::new();
    catalogue::write_rule(r, Lang::En, &mut out).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("message: {姓名}, aged {_age}"));
}

#[test]
fn default_schema_disabled_rule_is_marked_in_listing() {
    let mut s = default();
    if let Some(r) = s.rules.iter_mut().find(|r| r.code == "L303") {
        r.enabled = false;
    }
    let term = rendered(&s, Format::Terminal, Lang::Zh);
    assert!(
        term.lines()
            .any(|l| l.starts_with("L303") && l.ends_with("（已停用）"))
    );
    let on = rendered(&default(), Format::Terminal, Lang::Zh);
    assert!(!on.contains("已停用"));
}

/// The typing pass emits a value check only on fields of the types types::BUILTINS registers it
/// for: a check added to the pass but not to the registry (or registered for the wrong types)
/// fails here. The all-kinds sample carries every kind of injected error.
#[test]
fn the_typing_pass_checks_values_only_as_registered() {
    let s = default();
    let matcher = povcheck::read::HeaderMatcher::from_schema(&s);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/all-kinds.csv");
    let read = povcheck::read::read_file(
        &path,
        "all-kinds.csv",
        &povcheck::read::ReadOptions::default(),
        &matcher,
    );
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    let opts = povcheck::check::CheckOptions {
        as_of: chrono::NaiveDate::from_ymd_opt(2017, 12, 31).expect("date"),
        lang: Lang::Zh,
        select: Vec::new(),
        ignore: Vec::new(),
        exclusions: Vec::new(),
    };
    let result = povcheck::check::check(&read.tables, &s, &opts);
    let mut seen = BTreeSet::new();
    for f in &result.findings {
        let Some(b) = types::builtin(&f.rule) else {
            continue;
        };
        seen.insert(b.code);
        let Some(field) = f.column.as_deref().and_then(|c| s.field(c)) else {
            continue;
        };
        match b.target {
            Target::Values(..) | Target::ValuesExcept(..) => assert!(
                b.target.checks_values_of(field.ty),
                "{} on {} ({:?}), a type it is not registered for",
                f.rule,
                field.name,
                field.ty
            ),
            Target::Empty => assert!(field.required, "{} on optional {}", f.rule, field.name),
            Target::Columns | Target::Household => {}
        }
    }
    // The sample exercises the registry broadly, so the loop above is not vacuous.
    assert!(seen.len() >= 8, "only {seen:?}");
}
