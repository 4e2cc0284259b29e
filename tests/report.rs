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
                if e.name().into_inner() == "testsuite" {
                    // Suite names in the sample hold no escapes; the raw value is the name.
                    let attr = e.try_get_attribute("name").unwrap().unwrap();
                    let name = attr.value.to_string();
                    suites.push(name);
                }
                if e.name().into_inner() == "failure" {
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
