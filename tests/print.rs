//! The xlsx report as a clerk prints it (issue 14 §3), on a real run of the binary over a
//! generated export where most households carry an injected error, so nearly every rule kind
//! fires: no `{placeholder}` in any cell of any sheet, hints filled, docs laid out, a page setup
//! on every sheet, the 全部 row complete and rates with a fixed format. The workbook is read
//! back with calamine for cells and as XML for what calamine does not expose.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

fn povcheck(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(args)
        .current_dir(dir)
        .env_remove("POVCHECK_LEDGER")
        .output()
        .expect("spawn povcheck")
}

/// The report of the generated export, and its findings as JSON, made once for all tests.
struct Reports {
    xlsx: Vec<u8>,
    json: serde_json::Value,
}

fn reports() -> &'static Reports {
    static R: OnceLock<Reports> = OnceLock::new();
    R.get_or_init(|| {
        let d = tempfile::tempdir().expect("temp dir");
        let gen_args = [
            "sample",
            "--rows",
            "300",
            "--error-rate",
            "0.8",
            "--seed",
            "1",
            "-o",
            "s.xlsx",
        ];
        let r = povcheck(d.path(), &gen_args);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let out = |format: &str| {
            let name = format!("r.{format}");
            let r = povcheck(
                d.path(),
                &["check", "s.xlsx", "--format", format, "-o", &name],
            );
            assert_eq!(
                r.status.code(),
                Some(1),
                "{}",
                String::from_utf8_lossy(&r.stderr)
            );
            std::fs::read(d.path().join(name)).expect("report")
        };
        let xlsx = out("xlsx");
        let json = serde_json::from_slice(&out("json")).expect("json");
        Reports { xlsx, json }
    })
}

fn book() -> Xlsx<Cursor<Vec<u8>>> {
    open_workbook_from_rs(Cursor::new(reports().xlsx.clone())).expect("xlsx opens")
}

fn rows(name: &str) -> Vec<Vec<String>> {
    let range = book().worksheet_range(name).expect(name);
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => format!("{other}"),
                })
                .collect()
        })
        .collect()
}

fn part(name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(reports().xlsx.clone())).expect("zip");
    let mut p = zip.by_name(name).expect(name);
    let mut xml = String::new();
    p.read_to_string(&mut xml).expect("utf-8 xml");
    xml
}

fn findings() -> &'static Vec<serde_json::Value> {
    reports().json["findings"].as_array().expect("findings")
}

#[test]
fn the_run_fires_rules_of_every_hint_kind() {
    // The premise of the placeholder test: rules whose hints read the field ({header},
    // {min}/{max}) and the finding ({suggestion}) have all fired.
    let fired: BTreeSet<&str> = findings()
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    for code in ["C101", "V201", "V302"] {
        assert!(fired.contains(code), "{code} did not fire: {fired:?}");
    }
    assert!(fired.len() > 40, "{}", fired.len());
}

#[test]
fn no_placeholder_is_left_in_any_cell_of_any_sheet() {
    let mut b = book();
    for name in b.sheet_names() {
        let range = b.worksheet_range(&name).expect("sheet");
        for (r, c, v) in range.used_cells() {
            if let Data::String(s) = v {
                assert!(
                    !s.contains('{') && !s.contains('}'),
                    "{name}!R{}C{}: {s}",
                    r + 1,
                    c + 1
                );
            }
        }
    }
}

#[test]
fn every_hint_in_the_details_is_the_findings_own() {
    let d = rows("明细");
    let hint = d[0].iter().position(|h| h == "提示").expect("提示");
    let want: Vec<&str> = findings()
        .iter()
        .map(|f| f["hint"].as_str().unwrap_or(""))
        .collect();
    let got: Vec<&str> = d[1..].iter().map(|r| r[hint].as_str()).collect();
    assert_eq!(got, want);
    assert!(got.iter().all(|h| !h.contains("（空）")), "{got:?}");
}

/// The block of 规则说明 rows of one rule: from its code to the blank row after it.
fn doc_block(code: &str) -> Vec<Vec<String>> {
    let d = rows("规则说明");
    let at = d
        .iter()
        .position(|r| r[0] == code)
        .unwrap_or_else(|| panic!("{code} in 规则说明"));
    d[at..]
        .iter()
        .take_while(|r| r.iter().any(|c| !c.is_empty()))
        .cloned()
        .collect()
}

fn labelled<'a>(block: &'a [Vec<String>], label: &str) -> &'a str {
    &block
        .iter()
        .find(|r| r[1] == label)
        .unwrap_or_else(|| panic!("{label} in {block:?}"))[2]
}

#[test]
fn rule_docs_fill_what_the_field_decides_and_name_what_the_finding_decides() {
    // V302 fired on 务工时间 only in this run: its bounds come from the schema.
    let v302 = doc_block("V302");
    let fields: BTreeSet<&str> = findings()
        .iter()
        .filter(|f| f["rule"] == "V302")
        .filter_map(|f| f["column"].as_str())
        .collect();
    assert_eq!(fields, BTreeSet::from(["务工时间"]));
    assert_eq!(labelled(&v302, "提示"), "核对后填写允许范围内的数：0 至 12");
    // The suggestion differs per finding: shown as a template slot.
    assert_eq!(labelled(&doc_block("V201"), "提示"), "改为 「建议值」");
    // C101 fired on several fields: one filled line each, never `{header}`.
    let c101: BTreeSet<String> = findings()
        .iter()
        .filter(|f| f["rule"] == "C101")
        .map(|f| {
            let h = f["header"].as_str().expect("header");
            format!("{h}：补填 {h}")
        })
        .collect();
    let c101_block = doc_block("C101");
    let hint = labelled(&c101_block, "提示");
    let lines: BTreeSet<String> = hint.lines().map(str::to_string).collect();
    if c101.len() == 1 {
        let h = c101.iter().next().expect("one").split('：').next().unwrap();
        assert_eq!(hint, format!("补填 {h}"));
    } else {
        assert_eq!(lines, c101);
    }
}

#[test]
fn rule_docs_are_laid_out_as_headings_text_and_table_cells() {
    let block = doc_block("V201");
    for heading in [
        "检查什么 / What it checks",
        "为什么重要 / Why it matters",
        "示例 / Example",
        "如何修改 / How to fix",
    ] {
        assert!(
            block.iter().any(|r| r[1] == heading),
            "{heading}: {block:?}"
        );
    }
    // The example table: one cell per column, header first, no Markdown rule line.
    let at = block
        .iter()
        .position(|r| r[1] == "示例 / Example")
        .expect("example");
    assert_eq!(
        &block[at][2..7],
        ["户编号", "姓名", "证件号码", "与户主关系", "文化程度"]
    );
    assert_eq!(block[at + 1][6], "初 中");
    assert!(
        block
            .iter()
            .flatten()
            .all(|c| !c.starts_with('#') && !c.contains('|') && !c.contains("---")),
        "{block:?}"
    );
    // Wrapped text rows carry a height (neither Excel nor LibreOffice fits one on open).
    let xml = part("xl/worksheets/sheet4.xml");
    assert!(xml.contains("customHeight=\"1\""), "no row height set");
    assert!(
        xml.contains("<mergeCell "),
        "text cells span the content columns"
    );
}

#[test]
fn every_sheet_prints_landscape_one_page_wide_with_its_header_row() {
    let wb = part("xl/workbook.xml");
    for n in 1..=4 {
        let xml = part(&format!("xl/worksheets/sheet{n}.xml"));
        assert!(xml.contains("<pageSetUpPr fitToPage=\"1\"/>"), "sheet{n}");
        assert!(
            xml.contains("orientation=\"landscape\"")
                && xml.contains("fitToHeight=\"0\"")
                && xml.contains("paperSize=\"9\""),
            "sheet{n}: {xml}"
        );
        assert!(xml.contains("<oddFooter>"), "sheet{n}: page numbers");
        // The print titles name the sheet's first row.
        assert!(
            wb.contains(&format!("localSheetId=\"{}\">", n - 1)) && wb.contains("!$1:$1<"),
            "sheet{n}: {wb}"
        );
    }
    assert_eq!(wb.matches("_xlnm.Print_Titles").count(), 4, "{wb}");
}

#[test]
fn the_total_row_counts_distinct_households_with_errors() {
    let s = rows("汇总");
    let total = &s[1];
    assert_eq!(total[0], "全部");
    let households: BTreeSet<&str> = findings()
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["household"].as_str())
        .collect();
    assert!(!households.is_empty());
    assert_eq!(total[4], households.len().to_string());
    // A household is in a village and in a work unit: summing the unit rows would count it twice.
    let sum: usize = s[2..]
        .iter()
        .filter(|r| r[0] == "乡镇")
        .map(|r| r[4].parse::<usize>().expect("count"))
        .sum();
    assert_eq!(sum, households.len(), "towns partition the households");
}

#[test]
fn rates_have_a_fixed_two_decimal_format() {
    let styles = part("xl/styles.xml");
    let id = styles
        .split("<numFmt ")
        .skip(1)
        .find(|f| f.contains("formatCode=\"0.00\""))
        .and_then(|f| f.split("numFmtId=\"").nth(1))
        .and_then(|f| f.split('"').next())
        .expect("a 0.00 number format");
    // Every rate cell of 汇总 (column H) uses a style with that format.
    let xfs: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .expect("cellXfs")
        .split("<xf ")
        .skip(1)
        .collect();
    let sheet = part("xl/worksheets/sheet1.xml");
    let mut seen = 0;
    for cell in sheet.split("<c r=\"H").skip(2) {
        let style: usize = cell
            .split("s=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .expect("rate cell has a style");
        assert!(
            xfs[style].contains(&format!("numFmtId=\"{id}\"")),
            "{}",
            xfs[style]
        );
        seen += 1;
    }
    assert!(seen > 10, "{seen} rate cells");
}

mod common;

/// A field with only a lower bound (every income, 住房面积) read `核对后填写 0 至 （空） 之间的数`
/// in 明细: the hint now says the bounds the field has.
#[test]
fn a_range_hint_names_only_the_bounds_the_field_has() {
    let schema = common::default_schema();
    let case = common::parse_toml(
        r#"rows = [
  { 乡镇 = "麻章镇", 行政村 = "赤岭村", 户编号 = "4408111705", 姓名 = "黄辛", 证件号码 = "440811198211111124", 与户主关系 = "户主", 人数 = 1, 务工时间 = 13, 工资性收入 = -100 },
]"#,
    )
    .expect("toml");
    let table = common::table("a.csv", &common::records(&case["rows"]), &schema);
    let r = common::run(&[table], &schema, &["V302"]);
    let hints: BTreeSet<(String, String)> = r
        .findings
        .iter()
        .map(|f| (f.column.clone().unwrap_or_default(), f.hint.clone()))
        .collect();
    assert_eq!(
        hints,
        BTreeSet::from([
            (
                "务工时间".into(),
                "核对后填写允许范围内的数：0 至 12".into()
            ),
            (
                "工资性收入".into(),
                "核对后填写允许范围内的数：不小于 0".into()
            ),
        ])
    );
}
