//! Catalogue v2 §1, reading real headers and values, tried through the binary as a clerk would:
//! unrecognised columns listed per input, duplicate columns (C002) with the duplicate never read,
//! exclusion lists in other departments' layouts, and a wrong file given as a list refused.

#[path = "cli/common.rs"]
mod common;

use std::path::Path;

use common::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

// Synthetic people (GB 11643 check digits correct, no real person).
const LI: &str = "440811197003150116";
const WANG: &str = "440811197206200224";
const CHEN: &str = "440811196504050135";

/// A small export: three people in two households, and the extra `(header, values)` columns.
fn export(dir: &Path, name: &str, extra: &[(&str, [&str; 3])]) -> String {
    let mut head = vec![
        "乡镇",
        "行政村",
        "户编号",
        "姓名",
        "证件号码",
        "与户主关系",
        "人数",
    ];
    head.extend(extra.iter().map(|(h, _)| *h));
    let base = [
        ["麻章镇", "赤岭村", "4408110101", "李甲", LI, "户主", "2"],
        ["麻章镇", "赤岭村", "4408110101", "王乙", WANG, "配偶", "2"],
        ["麻章镇", "赤岭村", "4408110102", "陈丙", CHEN, "户主", "1"],
    ];
    let mut text = head.join(",") + "\n";
    for (i, row) in base.iter().enumerate() {
        let mut cells: Vec<&str> = row.to_vec();
        cells.extend(extra.iter().map(|(_, v)| v[i]));
        text += &(cells.join(",") + "\n");
    }
    std::fs::write(dir.join(name), text).expect("write export");
    name.to_string()
}

fn json(dir: &Path, args: &[&str]) -> (i32, Doc) {
    let mut a = vec!["check", "--format", "json", "--as-of", "2017-12-31"];
    a.extend_from_slice(args);
    let r = povcheck(dir, &a);
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    (r.code, json_doc(&r.stdout))
}

#[test]
fn unknown_columns_are_listed_in_json_ndjson_terminal_and_xlsx() {
    let d = tmp();
    let f = export(
        d.path(),
        "a.csv",
        &[
            ("人均纯收入（元）", ["3000", "", "4000"]),
            ("备注说明", ["", "", "无"]),
            ("", ["", "", ""]),
            ("家庭 人口数 （人）", ["2", "2", "1"]),
        ],
    );
    let (_, doc) = json(d.path(), &[&f, "--select", "C002"]);
    // 人均纯收入（元） and the spaced 家庭人口数 match (one of them is a duplicate of 人数: C002,
    // not unrecognised); the blank header is no column.
    assert_eq!(doc.inputs[0].unmapped_columns, ["备注说明"]);
    assert!(doc.findings.iter().any(|f| f.rule == "C002"));

    let r = povcheck(d.path(), &["check", &f, "--format", "ndjson"]);
    let input = r
        .stdout
        .lines()
        .find(|l| l.contains("\"type\":\"input\""))
        .expect("input line");
    assert!(
        input.contains("\"unmapped_columns\":[\"备注说明\"]"),
        "{input}"
    );

    let r = povcheck(d.path(), &["check", &f]);
    assert!(r.stdout.contains("未识别的列"), "{}", r.stdout);
    assert!(r.stdout.contains("a.csv: 备注说明"), "{}", r.stdout);
    let r = povcheck(d.path(), &["check", &f, "--lang", "en"]);
    assert!(r.stdout.contains("Unrecognised columns"), "{}", r.stdout);

    let r = povcheck(d.path(), &["check", &f, "--format", "xlsx", "-o", "r.xlsx"]);
    assert!(r.code <= 1, "{}", r.stderr);
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(d.path().join("r.xlsx")).expect("report");
    let sheet = wb.worksheet_range("汇总").expect("汇总");
    let texts: Vec<String> = sheet.rows().flatten().map(|c| c.to_string()).collect();
    assert!(texts.iter().any(|t| t == "未识别的列"), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("备注说明")), "{texts:?}");

    let r = povcheck(d.path(), &["check", &f, "--format", "html", "-o", "r.html"]);
    assert!(r.code <= 1, "{}", r.stderr);
    let html = std::fs::read_to_string(d.path().join("r.html")).expect("html");
    assert!(html.contains("未识别的列（未检查）"), "{html}");
    assert!(html.contains("<li>a.csv: 备注说明</li>"), "{html}");
}

#[test]
fn a_file_whose_columns_all_match_lists_none() {
    let d = tmp();
    let f = export(d.path(), "a.csv", &[("务工时间（月）", ["0", "0", "0"])]);
    let (_, doc) = json(d.path(), &[&f, "--select", "C002"]);
    assert!(doc.inputs[0].unmapped_columns.is_empty());
    assert!(doc.findings.is_empty());
}

#[test]
fn duplicate_column_is_reported_and_never_read() {
    let d = tmp();
    // 身份证号码 (column H) duplicates 证件号码 (E) with wrong check digits; 家庭人数 (I)
    // duplicates 人数 (G) with values that disagree within the household.
    let f = export(
        d.path(),
        "dup.csv",
        &[
            (
                "身份证号码",
                [
                    "440811197003150117",
                    "440811197206200225",
                    "440811196504050136",
                ],
            ),
            ("家庭人数", ["2", "5", "1"]),
        ],
    );
    let (_, doc) = json(d.path(), &[&f, "--select", "C002,V102,L204,L201"]);
    let c002: Vec<_> = doc.findings.iter().filter(|f| f.rule == "C002").collect();
    assert_eq!(c002.len(), 2, "{:?}", doc.findings);
    assert!(
        c002.iter()
            .all(|f| f.row.0.is_none() && f.severity == "warning")
    );
    let msgs: Vec<&str> = c002.iter().map(|f| f.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("证件号码") && m.contains("E 列") && m.contains("H 列")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("人数") && m.contains("只检查最左边的 G 列")),
        "{msgs:?}"
    );
    let others: Vec<_> = doc.findings.iter().filter(|f| f.rule != "C002").collect();
    assert!(others.is_empty(), "the duplicates were read: {others:?}");
    assert!(doc.inputs[0].unmapped_columns.is_empty());

    let r = povcheck(d.path(), &["check", &f, "--select", "C002", "--lang", "en"]);
    assert!(
        r.stdout.contains("only the leftmost, E, is checked"),
        "{}",
        r.stdout
    );
}

#[test]
fn l402_and_c110_skip_only_without_any_of_their_columns() {
    let d = tmp();
    let f = export(
        d.path(),
        "plain.csv",
        &[("脱贫属性", ["已脱贫", "", "已脱贫"])],
    );
    let (_, doc) = json(d.path(), &[&f, "--select", "L402,C110"]);
    let reasons: Vec<(&str, &str)> = doc
        .skipped_rules
        .iter()
        .map(|s| (s.rule.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        reasons.contains(&("L402", "缺少列 饮水是否安全 或 饮水是否困难")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|(r, _)| *r == "C110"), "{reasons:?}");

    let f = export(
        d.path(),
        "water.csv",
        &[
            ("脱贫属性", ["已脱贫", "", "已脱贫"]),
            ("饮水是否安全", ["否", "", ""]),
        ],
    );
    let (_, doc) = json(d.path(), &[&f, "--select", "L402,C110"]);
    assert!(doc.skipped_rules.is_empty(), "{:?}", doc.skipped_rules);
    let got: Vec<(Option<u32>, &str)> = doc
        .findings
        .iter()
        .map(|f| (f.row.0, f.rule.as_str()))
        .collect();
    assert_eq!(got, [(Some(2), "L402"), (Some(4), "C110")]);
    // The message names the column the file lacks as such, not as an empty cell.
    let l402 = &doc.findings[0];
    assert!(
        l402.message.contains("饮水是否困难 （无此列）"),
        "{}",
        l402.message
    );
    assert_eq!(l402.column.0.as_deref(), Some("饮水是否安全"));
}

#[test]
fn preschool_child_in_school_status_is_read_like_preschool_education() {
    let d = tmp();
    // 李甲's household: a child of 10 recorded 学龄前儿童 (L112 fires, as for 学前教育) and one
    // of 5 (clean); a pupil of 10 recorded 普通高中一年级 is 高中一年级 (L112 fires too).
    let text = format!(
        "户编号,姓名,证件号码,与户主关系,在校生状况\n\
         4408110101,李甲,{LI},户主,非在校生\n\
         4408110101,李丁,440811200701010238,之子,学龄前儿童\n\
         4408110101,李戊,440811201201010244,之女,学龄前儿童\n\
         4408110101,李己,440811200701010270,之子,普通高中一年级\n"
    );
    std::fs::write(d.path().join("k.csv"), text).unwrap();
    let (_, doc) = json(d.path(), &["k.csv", "--select", "L112,V201"]);
    let got: Vec<(Option<u32>, &str)> = doc
        .findings
        .iter()
        .map(|f| (f.row.0, f.rule.as_str()))
        .collect();
    assert_eq!(got, [(Some(3), "L112"), (Some(5), "L112")]);
}

// ---------------------------------------------------------------- exclusion lists

fn x101_rows(doc: &Doc) -> Vec<u32> {
    doc.findings
        .iter()
        .filter(|f| f.rule == "X101")
        .filter_map(|f| f.row.0)
        .collect()
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

fn utf16le(s: &str) -> Vec<u8> {
    let mut b = vec![0xFF, 0xFE];
    b.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    b
}

#[test]
fn lists_in_other_departments_layouts_match() {
    let d = tmp();
    let f = export(d.path(), "a.csv", &[]);
    // 民政: 姓名 first, then 身份证号码, 原因 (UTF-8).
    std::fs::write(
        d.path().join("minzheng.csv"),
        format!("姓名,身份证号码,原因\n李甲,{LI},死亡注销\n"),
    )
    .unwrap();
    // 财政 (GBK): a title row, then 序号, 姓名, 公民身份号码, 类别, 来源单位.
    std::fs::write(
        d.path().join("caizheng.csv"),
        gbk(&format!(
            "某区财政供养人员名单,,,,\n序号,姓名,公民身份号码,类别,来源单位\n1,王乙,{WANG},财政供养人员,区财政局\n"
        )),
    )
    .unwrap();
    // 住建 (UTF-16): the ID in the last column, with spaces.
    std::fs::write(
        d.path().join("zhujian.csv"),
        utf16le(&format!(
            "备注,证件号码\n商品房,{} {}\n",
            &CHEN[..6],
            &CHEN[6..]
        )),
    )
    .unwrap();
    let (code, doc) = json(
        d.path(),
        &[
            &f,
            "--select",
            "X101",
            "--exclude-list",
            "minzheng.csv",
            "--exclude-list",
            "caizheng.csv",
            "--exclude-list",
            "zhujian.csv",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(x101_rows(&doc), [2, 3, 4]);
    let reasons: Vec<&str> = doc.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        reasons.iter().any(|m| m.contains("死亡注销")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|m| m.contains("财政供养人员") && m.contains("区财政局")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|m| m.contains("商品房")), "{reasons:?}");
    let lists: Vec<(&str, usize)> = doc
        .exclusion_lists
        .iter()
        .map(|l| (l.file.as_str(), l.ids))
        .collect();
    assert_eq!(
        lists,
        [("minzheng.csv", 1), ("caizheng.csv", 1), ("zhujian.csv", 1)]
    );

    let r = povcheck(
        d.path(),
        &[
            "check",
            &f,
            "--select",
            "X101",
            "--exclude-list",
            "minzheng.csv",
        ],
    );
    assert!(r.stdout.contains("比对名单"), "{}", r.stdout);
    assert!(
        r.stdout.contains("minzheng.csv: 1 个证件号码"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_xlsx_list_with_a_title_row_and_the_old_headerless_csv_match() {
    let d = tmp();
    let f = export(d.path(), "a.csv", &[]);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "工商注册人员比对结果").unwrap();
    for (c, h) in ["序号", "姓名", "身份证号", "比对原因", "提供部门"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    for (c, v) in ["1", "陈丙", CHEN, "工商注册", "区市场监管局"]
        .iter()
        .enumerate()
    {
        ws.write_string(3, c as u16, *v).unwrap();
    }
    wb.save(d.path().join("gongshang.xlsx")).unwrap();
    std::fs::write(d.path().join("old.csv"), format!("{LI},车辆,区公安局\n")).unwrap();
    let (_, doc) = json(
        d.path(),
        &[
            &f,
            "--select",
            "X101",
            "--exclude-list",
            "gongshang.xlsx",
            "--exclude-list",
            "old.csv",
        ],
    );
    assert_eq!(x101_rows(&doc), [2, 4]);
    assert!(
        doc.findings
            .iter()
            .any(|f| f.row.0 == Some(4) && f.message.contains("工商注册（区市场监管局）")),
        "{:?}",
        doc.findings
    );
    let ids: Vec<usize> = doc.exclusion_lists.iter().map(|l| l.ids).collect();
    assert_eq!(ids, [1, 1]);
}

#[test]
fn a_wrong_file_given_as_a_list_is_refused_naming_it() {
    let d = tmp();
    let f = export(d.path(), "a.csv", &[]);
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(d.path().join("garbage.csv"), garbage).unwrap();
    std::fs::write(
        d.path().join("names.csv"),
        "姓名,原因\n李甲,死亡注销\n王乙,车辆\n",
    )
    .unwrap();
    // An ID column whose cells hold names: no ID number at all.
    std::fs::write(
        d.path().join("wrongcol.csv"),
        "身份证号码,原因\n李甲,死亡注销\n",
    )
    .unwrap();
    for list in ["garbage.csv", "names.csv", "wrongcol.csv", "missing.csv"] {
        let r = povcheck(
            d.path(),
            &["check", &f, "--format", "json", "--exclude-list", list],
        );
        assert_eq!(r.code, 2, "{list}: {}", r.stdout);
        assert!(r.stderr.contains(list), "{list}: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{list}: nothing is checked: {}",
            r.stdout
        );
    }
    // The reason in the run's language.
    let r = povcheck(
        d.path(),
        &["check", &f, "--exclude-list", "names.csv", "--lang", "en"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the exclusion list has no ID number column"),
        "{}",
        r.stderr
    );
    let r = povcheck(d.path(), &["check", &f, "--exclude-list", "names.csv"]);
    assert!(r.stderr.contains("没有找到证件号码列"), "{}", r.stderr);
}

#[test]
fn a_list_id_stored_as_a_long_number_is_refused_naming_its_cell() {
    let d = tmp();
    let f = export(d.path(), "a.csv", &[]);
    let list = |name: &str, id: f64| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("名单").unwrap();
        ws.write_string(0, 0, "姓名").unwrap();
        ws.write_string(0, 1, "身份证号码").unwrap();
        ws.write_string(1, 0, "陈丙").unwrap();
        ws.write_string(1, 1, CHEN).unwrap();
        ws.write_string(2, 0, "李甲").unwrap();
        ws.write_number(2, 1, id).unwrap();
        wb.save(d.path().join(name)).unwrap();
    };
    // What Excel keeps of an 18-digit ID typed into a number cell: 15–16 significant digits.
    let lossy: f64 = LI.parse().unwrap();
    list("lossy.xlsx", lossy);
    for lang in ["zh", "en"] {
        let r = povcheck(
            d.path(),
            &["check", &f, "--exclude-list", "lossy.xlsx", "--lang", lang],
        );
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stdout.is_empty(), "nothing is checked: {}", r.stdout);
        assert!(r.stderr.contains("lossy.xlsx [名单]"), "{}", r.stderr);
        assert!(r.stderr.contains("B3"), "{}", r.stderr);
        let words = if lang == "zh" {
            "末几位已丢失"
        } else {
            "lost its last digits"
        };
        assert!(r.stderr.contains(words), "{}", r.stderr);
    }
    // A 15-digit ID fits a number cell exactly: read as usual.
    list("fifteen.xlsx", 110_101_800_101_001.0);
    let (code, doc) = json(
        d.path(),
        &[&f, "--select", "X101", "--exclude-list", "fifteen.xlsx"],
    );
    assert_eq!(code, 1);
    assert_eq!(doc.exclusion_lists.iter().map(|l| l.ids).sum::<usize>(), 2);
}
