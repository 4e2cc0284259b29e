//! Every writer on the same synthetic sample run (report::sample): what each format must carry,
//! and that hostile cell values (`<script>`, `=HYPERLINK`) stay inert in all of them.

use povcheck::report::sample::{sample_run, sample_schema};
use povcheck::report::{Format, write};

fn render(format: Format) -> Vec<u8> {
    let schema = sample_schema();
    let run = sample_run(&schema);
    let mut buf = Vec::new();
    write(&run, format, &mut buf).expect("write");
    buf
}

fn text(format: Format) -> String {
    String::from_utf8(render(format)).expect("utf-8")
}

/// A writer's output as text to search: a workbook (a zip, `PK`) is read back cell by cell,
/// anything else must be UTF-8. Sniffed rather than listed, so a new format needs no entry.
fn readable(bytes: Vec<u8>) -> String {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    if !bytes.starts_with(b"PK") {
        return String::from_utf8(bytes).expect("a text format is UTF-8");
    }
    let mut book: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a zip output is a workbook");
    let mut cells = String::new();
    for name in book.sheet_names() {
        for row in book.worksheet_range(&name).expect("sheet").rows() {
            for c in row {
                cells.push_str(&c.to_string());
                cells.push('\t');
            }
            cells.push('\n');
        }
    }
    cells
}

/// A tiny RFC 4180 reader, so the test does not trust the writer's own quoting code.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

#[test]
fn csv_has_bom_header_and_one_line_per_finding() {
    let s = text(Format::Csv);
    let body = s.strip_prefix('\u{feff}').expect("BOM");
    let rows = parse_csv(body);
    assert_eq!(
        rows[0],
        [
            "file",
            "sheet",
            "row",
            "cell",
            "column",
            "header",
            "rule",
            "category",
            "severity",
            "household",
            "乡镇",
            "行政村",
            "帮扶单位",
            "value",
            "message",
            "hint"
        ]
    );
    assert_eq!(rows.len(), 11, "{rows:#?}");
    assert!(rows.iter().all(|r| r.len() == 16), "{rows:#?}");
    let v102 = &rows[1];
    assert_eq!(&v102[..4], ["a.xlsx", "Sheet1", "17", "F17"]);
    assert_eq!(&v102[6..9], ["V102", "validity", "error"]);
    assert_eq!(&v102[10..13], ["湖光镇", "东村", "县农业局"]);
    let c001 = rows.last().unwrap();
    assert_eq!(c001[0], "b.csv");
    assert_eq!(c001[2], "");
    assert_eq!(c001[6], "C001");
    assert_eq!(&c001[10..13], ["", "", ""]);
}

#[test]
fn csv_neutralises_formulas() {
    let s = text(Format::Csv);
    let rows = parse_csv(s.trim_start_matches('\u{feff}'));
    let hyper = rows
        .iter()
        .find(|r| r[13].contains("HYPERLINK"))
        .expect("hyperlink row");
    assert!(hyper[13].starts_with("'=HYPERLINK("), "{:?}", hyper[13]);
    for r in &rows {
        for c in r {
            assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{c:?}");
        }
    }
}

#[test]
fn junit_is_well_formed_with_a_suite_per_village_and_one_for_files() {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let s = text(Format::Junit);
    let mut reader = Reader::from_str(&s);
    let mut suites = Vec::new();
    let mut failures = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if e.name().as_ref() == b"testsuite" {
                    // Suite names in the sample hold no escapes; the raw value is the name.
                    let attr = e.try_get_attribute("name").unwrap().unwrap();
                    let name = String::from_utf8(attr.value.to_vec()).unwrap();
                    suites.push(name);
                }
                if e.name().as_ref() == b"failure" {
                    failures += 1;
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}\n{s}", reader.buffer_position()),
        }
    }
    assert_eq!(suites, ["文件", "湖光镇/东村", "龙头镇/西村"]);
    // 东村: V102, L101, L203, D101; 西村: D101, V601, V501; files: C001.
    assert_eq!(failures, 8, "{s}");
    assert!(!s.contains("<script>"), "{s}");
    assert!(s.contains("&lt;script&gt;"), "{s}");
    assert!(s.contains("tests=\"1\" failures=\"1\""), "file suite: {s}");
}

mod xlsx {
    use super::*;
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use std::io::Cursor;

    fn book() -> Xlsx<Cursor<Vec<u8>>> {
        open_workbook_from_rs(Cursor::new(render(Format::Xlsx))).expect("xlsx opens")
    }

    fn rows(name: &str) -> Vec<Vec<Data>> {
        let range = book().worksheet_range(name).expect(name);
        range.rows().map(|r| r.to_vec()).collect()
    }

    fn s(d: &Data) -> String {
        match d {
            Data::String(s) => s.clone(),
            Data::Empty => String::new(),
            other => panic!("expected a string cell, got {other:?}"),
        }
    }

    fn n(d: &Data) -> f64 {
        match d {
            Data::Float(f) => *f,
            Data::Int(i) => *i as f64,
            other => panic!("expected a number cell, got {other:?}"),
        }
    }

    #[test]
    fn has_the_four_sheets_in_order() {
        assert_eq!(book().sheet_names(), ["汇总", "明细", "按规则", "规则说明"]);
    }

    #[test]
    fn summary_has_a_row_per_unit_with_error_rate() {
        let r = rows("汇总");
        let head: Vec<String> = r[0].iter().map(s).collect();
        assert_eq!(&head[..3], ["层级", "单位", "行数"]);
        assert_eq!(head[7], "错误率（每百行）");
        assert_eq!(r.len(), 1 + 1 + 6, "header, total, six units");
        assert_eq!(s(&r[1][0]), "全部");
        assert_eq!(n(&r[1][5]), 7.0);
        let east = r
            .iter()
            .find(|row| s(&row[1]) == "湖光镇/东村")
            .expect("东村");
        assert_eq!(s(&east[0]), "行政村");
        assert_eq!(n(&east[2]), 40.0);
        assert_eq!(n(&east[5]), 4.0);
        assert_eq!(n(&east[7]), 10.0);
        let repeat = r
            .iter()
            .skip(1)
            .find(|row| row.len() > 8 && row[8] != Data::Empty);
        let repeat = repeat.expect("a unit with a repeat level");
        assert_eq!(n(&repeat[8]), 2.0);
    }

    #[test]
    fn details_list_every_finding_cell_by_cell_as_text() {
        let r = rows("明细");
        let head: Vec<String> = r[0].iter().map(s).collect();
        assert_eq!(
            head,
            [
                "文件",
                "工作表",
                "单元格",
                "列",
                "值",
                "规则",
                "类别",
                "级别",
                "问题",
                "提示",
                "单位",
                "户编号"
            ]
        );
        assert_eq!(r.len(), 11);
        let first: Vec<String> = r[1].iter().map(s).collect();
        assert_eq!(&first[..4], ["a.xlsx", "Sheet1", "F17", "证件号码"]);
        assert_eq!(first[4], povcheck::report::sample::sample_ids()[0]);
        assert_eq!(&first[5..8], ["V102", "数据不正确", "错误"]);
        assert_eq!(first[10], "湖光镇/东村 · 县农业局");
        // The formula-looking value is a string cell, exactly as written, never a formula.
        let hyper = r
            .iter()
            .find(|row| s(&row[4]).contains("HYPERLINK"))
            .expect("hyperlink");
        assert_eq!(s(&hyper[4]), "=HYPERLINK(\"http://example.invalid\",\"x\")");
        let c001 = r.last().unwrap();
        assert_eq!(s(&c001[5]), "C001");
        assert_eq!(s(&c001[2]), "");
    }

    /// The raw XML of one worksheet part (sheet1 = 汇总 …), for what calamine does not expose.
    fn sheet_xml(n: usize) -> String {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(Cursor::new(render(Format::Xlsx))).expect("zip");
        let mut part = zip
            .by_name(&format!("xl/worksheets/sheet{n}.xml"))
            .expect("sheet part");
        let mut xml = String::new();
        part.read_to_string(&mut xml).expect("utf-8 xml");
        xml
    }

    #[test]
    fn every_sheet_has_frozen_header_autofilter_and_widths() {
        for n in 1..=4 {
            let xml = sheet_xml(n);
            assert!(
                xml.contains("ySplit=\"1\"") && xml.contains("state=\"frozen\""),
                "sheet{n}: {xml}"
            );
            // 规则说明 (sheet4) is a document of merged text cells, which a filter would tear.
            assert_eq!(
                xml.contains("<autoFilter ref=\"A1:"),
                n != 4,
                "sheet{n}: autofilter"
            );
            assert!(
                xml.contains("<col ") && xml.contains("customWidth=\"1\""),
                "sheet{n}"
            );
            assert!(
                !xml.contains("<f>") && !xml.contains("<f "),
                "sheet{n} has a formula"
            );
        }
    }

    #[test]
    fn no_formulas_anywhere() {
        let mut b = book();
        for name in b.sheet_names() {
            let f = b.worksheet_formula(&name).expect("formulas");
            assert!(f.used_cells().all(|(_, _, v)| v.is_empty()), "{name}");
        }
    }

    #[test]
    fn per_rule_counts_and_docs_of_fired_rules() {
        let r = rows("按规则");
        let v601 = r.iter().find(|row| s(&row[0]) == "V601").expect("V601");
        assert_eq!(n(&v601[3]), 3.0);
        assert_eq!(s(&v601[2]), "警告");
        // The value differs per finding: a slot named after the field, never `{姓名}` or `…`.
        assert_eq!(s(&v601[4]), "姓名 「姓名」 不像人名");
        let d = rows("规则说明");
        let codes: Vec<String> = d
            .iter()
            .skip(1)
            .map(|row| s(&row[0]))
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(
            codes,
            ["C001", "D101", "L101", "L203", "V102", "V501", "V601"]
        );
        // The doc is laid out: headings as labels in their own cell, no Markdown marks left.
        let v102 = d.iter().position(|row| s(&row[0]) == "V102").expect("V102");
        let block: Vec<Vec<String>> = d[v102..]
            .iter()
            .take_while(|row| row.iter().any(|c| *c != Data::Empty))
            .map(|row| row.iter().map(s).collect())
            .collect();
        assert!(
            block.iter().any(|r| r[1] == "检查什么 / What it checks"),
            "{block:?}"
        );
        assert!(
            block
                .iter()
                .flatten()
                .all(|c| !c.contains("##") && !c.contains('|')),
            "{block:?}"
        );
    }
}

mod html {
    use super::*;

    #[test]
    fn script_in_a_value_is_never_live() {
        let s = text(Format::Html);
        assert!(!s.contains("<script>alert(1)</script>"), "unescaped value");
        assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // Exactly one script element: the page's own filter code.
        assert_eq!(s.matches("<script").count(), 1);
        assert!(s.contains("=HYPERLINK(&quot;http://example.invalid&quot;,&quot;x&quot;)"));
    }

    #[test]
    fn self_contained() {
        let s = text(Format::Html);
        for needle in [" src=", " href=", "@import", "url("] {
            assert!(!s.contains(needle), "{needle} in page");
        }
        assert!(s.contains("Content-Security-Policy"));
        assert!(s.contains("<svg"));
    }

    #[test]
    fn has_summary_tables_and_filters() {
        let s = text(Format::Html);
        assert!(s.contains("<h2>概况</h2>"));
        assert!(s.contains("<h2>按单位</h2>"));
        assert!(s.contains("<h2>按规则</h2>"));
        assert!(
            s.contains("id=\"f-unit\"")
                && s.contains("id=\"f-rule\"")
                && s.contains("id=\"f-sev\"")
        );
        assert!(s.contains("<option value=\"行政村:湖光镇/东村\">"));
        assert!(s.contains("data-units=\"乡镇:湖光镇\n行政村:湖光镇/东村\n帮扶单位:县农业局\""));
        assert_eq!(s.matches("<tr class=\"error\"").count(), 7);
        assert_eq!(s.matches("<tr class=\"warning\"").count(), 3);
        assert!(s.contains("c.xlsx: 无法读取"));
    }
}

/// Not a check: writes the sample HTML for tests/html_screenshot.sh to render in a browser.
#[test]
#[ignore = "run by tests/html_screenshot.sh"]
fn write_sample_html() {
    if let Ok(path) = std::env::var("POVCHECK_SAMPLE_HTML") {
        std::fs::write(path, render(Format::Html)).expect("write sample html");
    }
}

mod mask {
    use super::*;
    use clap::ValueEnum;
    use povcheck::report::mask::mask_run;
    use povcheck::report::sample::{SAMPLE_CARD, SAMPLE_PHONE, sample_ids};

    /// Every format's output as text, whatever formats the CLI offers: the list comes from
    /// clap's ValueEnum, so a new format is masked-tested without touching this file.
    fn outputs(masked: bool) -> Vec<(Format, String)> {
        let schema = sample_schema();
        let mut run = sample_run(&schema);
        if masked {
            mask_run(&mut run);
        }
        Format::value_variants()
            .iter()
            .map(|&f| {
                let mut buf = Vec::new();
                write(&run, f, &mut buf).unwrap();
                (f, readable(buf))
            })
            .collect()
    }

    fn secrets() -> Vec<String> {
        let mut s = sample_ids();
        s.push(SAMPLE_PHONE.into());
        s.push(SAMPLE_CARD.into());
        s.push("孙示例1".into());
        s
    }

    #[test]
    fn unmasked_outputs_do_carry_the_numbers() {
        // Guards the masked test below: it must be looking where the numbers really are.
        for (f, out) in outputs(false) {
            assert!(out.contains(&sample_ids()[0]), "{f:?}");
            assert!(out.contains(SAMPLE_PHONE), "{f:?}");
        }
    }

    #[test]
    fn masked_outputs_carry_no_full_number_or_name() {
        for (f, out) in outputs(true) {
            for s in secrets() {
                assert!(!out.contains(&s), "{f:?} still contains {s}");
            }
            assert!(out.contains("440811********"), "{f:?}");
            assert!(out.contains("138****1234"), "{f:?}");
        }
    }
}

/// `povcheck history` driven through the binary on a ledger whose unit names are hostile:
/// formula text and terminal escape sequences recorded from an export's 乡镇/行政村/帮扶单位
/// cells must come out inert in every history format, checked like the findings formats.
mod history_injection {
    use super::injection::inert;
    use clap::ValueEnum;
    use povcheck::report::history::HistoryFormat;
    use std::path::Path;
    use std::process::Command;

    const TOWNS: [&str; 2] = ["=HYPERLINK(\"http://x\",\"y\")", "+1镇"];
    const VILLAGES: [&str; 3] = ["-1村", "\u{1b}[2J红村", "甲\u{7}村\r"];
    const BUREAUS: [&str; 2] = ["@SUM(A1)局", "\u{1b}]0;title\u{7}局"];

    fn povcheck(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_povcheck"))
            .args(args)
            .current_dir(dir)
            .env_remove("POVCHECK_LEDGER")
            .env("NO_COLOR", "1")
            .output()
            .expect("spawn povcheck")
    }

    /// A generated export whose unit cells are rewritten with the hostile names, one township,
    /// village and bureau per household so the households stay consistent.
    fn hostile_export(dir: &Path) {
        let out = povcheck(
            dir,
            &["sample", "--rows", "120", "--seed", "7", "-o", "plain.csv"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("plain.csv")).expect("sample csv");
        let mut rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
            .records()
            .map(|r| r.expect("record").iter().map(str::to_string).collect())
            .collect();
        let head = rows
            .iter()
            .position(|r| r.iter().any(|c| c == "行政村"))
            .expect("header row");
        let col = |name: &str| {
            rows[head]
                .iter()
                .position(|c| c == name)
                .unwrap_or_else(|| panic!("column {name}"))
        };
        let (town, village, bureau, household) =
            (col("乡(镇)"), col("行政村"), col("帮扶单位"), col("户编号"));
        let mut households: Vec<String> = Vec::new();
        for row in rows.iter_mut().skip(head + 1) {
            let h = row[household].clone();
            let n = match households.iter().position(|x| *x == h) {
                Some(n) => n,
                None => {
                    households.push(h);
                    households.len() - 1
                }
            };
            row[town] = TOWNS[n % TOWNS.len()].to_string();
            row[village] = VILLAGES[n % VILLAGES.len()].to_string();
            row[bureau] = BUREAUS[n % BUREAUS.len()].to_string();
        }
        let mut w = csv::Writer::from_path(dir.join("hostile.csv")).expect("csv writer");
        for r in &rows {
            w.write_record(r).expect("write record");
        }
        w.flush().expect("flush");
    }

    fn recorded_ledger() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("temp dir");
        hostile_export(d.path());
        let out = povcheck(
            d.path(),
            &[
                "check",
                "hostile.csv",
                "--record",
                "2017-12",
                "--ledger",
                "L.sqlite",
                "--format",
                "json",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    }

    fn history(dir: &Path, format: &str) -> Vec<u8> {
        let out = povcheck(
            dir,
            &["history", "--ledger", "L.sqlite", "--format", format],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn hostile_names_reach_the_ledger() {
        // Guards the tests below: the names really are in the ledger, raw.
        let d = recorded_ledger();
        let v: serde_json::Value =
            serde_json::from_slice(&history(d.path(), "json")).expect("json");
        let names: Vec<String> = v["units"]
            .as_array()
            .expect("units")
            .iter()
            .flat_map(|u| u["path"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        for hostile in [TOWNS[0], BUREAUS[0], VILLAGES[1], "-1村"] {
            assert!(
                names.iter().any(|n| n == hostile),
                "{hostile:?} in {names:?}"
            );
        }
    }

    #[test]
    fn every_history_format_keeps_hostile_names_inert() {
        let d = recorded_ledger();
        for &format in HistoryFormat::value_variants() {
            let name = format
                .to_possible_value()
                .expect("visible")
                .get_name()
                .to_string();
            let out = format!("h.{name}");
            for lang in ["zh", "en"] {
                let r = povcheck(
                    d.path(),
                    &[
                        "history", "--ledger", "L.sqlite", "--format", &name, "--lang", lang, "-o",
                        &out,
                    ],
                );
                assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
                let bytes = std::fs::read(d.path().join(&out)).expect("history written");
                inert(
                    format.destination(),
                    bytes,
                    &format!("history {name} {lang}"),
                );
            }
        }
    }

    #[test]
    fn forget_prints_township_names_inert() {
        let d = recorded_ledger();
        let r = povcheck(
            d.path(),
            &[
                "history", "--ledger", "L.sqlite", "--forget", "2017-12", "--yes",
            ],
        );
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let text = String::from_utf8(r.stdout).expect("utf-8");
        assert!(text.contains("=HYPERLINK"), "{text}");
        assert!(
            text.chars().all(|c| c == '\n' || !c.is_control()),
            "{text:?}"
        );
    }

    /// The ledger history is printed too: every sheet has the report's page setup.
    #[test]
    fn history_workbook_prints_landscape_with_its_header_row() {
        use std::io::Read;
        let d = recorded_ledger();
        let bytes = history(d.path(), "xlsx");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
        let mut part = |name: &str| {
            let mut xml = String::new();
            zip.by_name(name)
                .expect(name)
                .read_to_string(&mut xml)
                .expect("xml");
            xml
        };
        let wb = part("xl/workbook.xml");
        assert_eq!(wb.matches("_xlnm.Print_Titles").count(), 2, "{wb}");
        for n in 1..=2 {
            let xml = part(&format!("xl/worksheets/sheet{n}.xml"));
            assert!(
                xml.contains("orientation=\"landscape\"")
                    && xml.contains("<pageSetUpPr fitToPage=\"1\"/>")
                    && xml.contains("state=\"frozen\""),
                "sheet{n}: {xml}"
            );
        }
    }
}

/// Hostile text in every format the CLI offers, each checked by the kind of place its output
/// goes to (`Reporter::destination`), so a new format is covered without editing this file.
mod injection {
    use super::*;
    use clap::ValueEnum;
    use povcheck::report::{Destination, reporter};

    const ESCAPES: &str = "\u{1b}[2J\u{1b}]0;x\u{7}";
    const FORMULA: &str = "=HYPERLINK(\"http://example.invalid\",\"x\")";

    /// The sample run with escape sequences and formula text in a value, a message, a hint and
    /// a unit name, besides the sample's own `<script>` and `=HYPERLINK` values.
    fn hostile(format: Format) -> Vec<u8> {
        let schema = sample_schema();
        let mut run = sample_run(&schema);
        let f = &mut run.findings[0];
        f.value = Some(format!("{FORMULA}{ESCAPES}"));
        f.message = format!("{ESCAPES}{}", f.message);
        f.hint = format!("@SUM(A1){ESCAPES}");
        if let Some(cells) = f.unit.as_mut() {
            *cells = cells
                .iter()
                .map(|(k, v)| (k.clone(), format!("+{v}{ESCAPES}")))
                .collect();
        }
        let mut buf = Vec::new();
        write(&run, format, &mut buf).expect("write");
        buf
    }

    pub(super) fn no_controls_but_line_ends(s: &str, what: &str) {
        let bad: Vec<char> = s
            .chars()
            .filter(|c| c.is_control() && !matches!(c, '\n' | '\r'))
            .collect();
        assert!(bad.is_empty(), "{what}: raw control characters {bad:?}");
    }

    /// What inert means for each destination, and that the hostile text is still there,
    /// shown rather than dropped: the `[2J` escape, the `@SUM(A1)` and `=HYPERLINK` formulas.
    pub(super) fn inert(destination: Destination, out: Vec<u8>, what: &str) {
        match destination {
            Destination::Terminal => {
                let s = String::from_utf8(out).expect("utf-8");
                no_controls_but_line_ends(&s, what);
                assert!(!s.contains('\r'), "{what}: a CR could overwrite a line");
                assert!(s.contains("\\u{1b}[2J"), "{what}: the escape is shown");
            }
            Destination::Json => {
                let s = String::from_utf8(out).expect("utf-8");
                no_controls_but_line_ends(&s, what);
                // One document or a stream of them (ndjson): every one must parse.
                let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&s)
                    .into_iter()
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let all: String = docs.iter().map(|d| d.to_string()).collect();
                assert!(all.contains("\\u001b[2J"), "{what}: the value is kept");
            }
            Destination::Csv => {
                let s = String::from_utf8(out).expect("utf-8");
                let rows = parse_csv(s.trim_start_matches('\u{feff}'));
                let cells: Vec<&String> = rows.iter().flatten().collect();
                for c in &cells {
                    assert!(
                        !c.starts_with(['=', '+', '-', '@', '\t', '\r']),
                        "{what}: {c:?}"
                    );
                }
                assert!(cells.iter().any(|c| c.starts_with("'@SUM(A1)")), "{what}");
            }
            Destination::Workbook => {
                use calamine::{Reader, Xlsx, open_workbook_from_rs};
                let mut book: Xlsx<_> =
                    open_workbook_from_rs(std::io::Cursor::new(out)).expect("xlsx");
                let mut hostile = 0;
                for name in book.sheet_names() {
                    let formulas = book.worksheet_formula(&name).expect("formulas");
                    assert!(
                        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
                        "{what}: {name} has a formula"
                    );
                    let range = book.worksheet_range(&name).expect("sheet");
                    hostile += range
                        .used_cells()
                        .filter(|(_, _, c)| c.to_string().starts_with("=HYPERLINK"))
                        .count();
                }
                assert!(hostile > 0, "{what}: formula text kept as a string");
            }
            Destination::Html => {
                let s = String::from_utf8(out).expect("utf-8");
                assert!(!s.contains("<script>alert(1)"), "{what}: live markup");
                assert_eq!(
                    s.matches("<script").count(),
                    1,
                    "{what}: one script, the page's"
                );
            }
            Destination::Xml => {
                let s = String::from_utf8(out).expect("utf-8");
                no_controls_but_line_ends(&s, what);
                assert!(!s.contains("<script>alert(1)"), "{what}: live markup");
                let mut reader = quick_xml::Reader::from_str(&s);
                loop {
                    match reader.read_event() {
                        Ok(quick_xml::events::Event::Eof) => break,
                        Ok(_) => {}
                        Err(e) => panic!("{what}: not well-formed XML: {e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn every_format_keeps_hostile_text_inert() {
        for &format in Format::value_variants() {
            inert(
                reporter(format).destination(),
                hostile(format),
                &format!("{format:?}"),
            );
        }
    }
}
