//! Real-looking exports built here from a clean synthetic export (`povcheck::sample` with no
//! injected errors, so every row is clean): the national layout as clerks' files really arrive
//! (title rows, alias headers, merged household cells, IDs typed as numbers, serial dates, a
//! 填表说明 prose sheet, a totals row, blank rows; GBK and UTF-16 CSVs; an .xls). Each test states
//! the exact findings it expects: the planted ones on the right file/sheet/row/cell, nothing else.

use std::path::Path;

use chrono::NaiveDate;
use povcheck::sample::{SampleOptions, generate_csv};
use rust_xlsxwriter::{Format, Workbook};

use crate::common::*;

/// Spreadsheet rows above the first person: title, export time, header.
const FIRST_PERSON_ROW: u32 = 4;
const C_TOWN: usize = 2;
const C_HOUSEHOLD: usize = 5;
const C_ID: usize = 8;
const C_N: usize = 9;
const C_BIRTH: usize = 13;
const C_MONTHS: usize = 19;
const C_PHONE: usize = 42;

/// A clean export as a grid of text (files of one run form one dataset: give each its own seed,
/// or the same people appear twice and D101/D103 rightly fire): rows[0..3] are title, export time and header.
fn clean_grid(persons: u32, seed: u64) -> Vec<Vec<String>> {
    let opts = SampleOptions {
        rows: persons,
        error_rate: 0.0,
        seed,
        merged: false,
        as_of: NaiveDate::from_ymd_opt(2017, 12, 31).expect("date"),
    };
    let mut buf = Vec::new();
    let manifest = generate_csv(&opts, &mut buf).expect("generate");
    assert!(manifest.rows.is_empty(), "error_rate 0 plants nothing");
    let text = String::from_utf8(buf).expect("utf-8");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

/// Another township's export: distinct 户编号/人编号 and phone numbers, so two generated files in
/// one run are not (rightly) reported as sharing households (D102) or phones (D103).
fn relabel(grid: &mut [Vec<String>]) {
    for row in grid.iter_mut().skip(3) {
        for c in [C_HOUSEHOLD, C_HOUSEHOLD + 1] {
            if let Some(v) = row.get_mut(c)
                && v.len() > 8
                && v.is_char_boundary(8)
            {
                v.replace_range(6..8, "99");
            }
        }
        if let Some(v) = row.get_mut(C_PHONE)
            && v.len() == 11
            && v.starts_with('1')
            && v.is_char_boundary(4)
        {
            // The generator's phones are counters: the 4th digit is 0 for small files.
            v.replace_range(3..4, "9");
        }
    }
}

fn cell(row: &[String], col: usize) -> &str {
    row.get(col).map_or("", String::as_str)
}

fn serial(date: &str) -> Option<f64> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    Some((d - epoch).num_days() as f64)
}

/// Column letters for a 0-based index below 702.
fn letters(col: usize) -> String {
    let mut s = String::new();
    if col >= 26 {
        s.push((b'A' + (col / 26 - 1) as u8) as char);
    }
    s.push((b'A' + (col % 26) as u8) as char);
    s
}

/// What the national export looks like after a clerk has been at it. Returns the spreadsheet rows
/// whose ID was stored as a number (the only findings expected: V105) and the person count.
fn write_national_xlsx(path: &Path, grid: &[Vec<String>]) -> (Vec<u32>, usize) {
    let mut wb = Workbook::new();
    let prose = wb.add_worksheet();
    prose.set_name("填表说明").expect("name");
    prose
        .write_string(0, 0, "填表说明：请按户填写，每人一行，户主在前。")
        .expect("w");
    prose
        .write_string(1, 0, "证件号码请设置为文本格式，出生日期填写日期。")
        .expect("w");

    let ws = wb.add_worksheet();
    ws.set_name("花名册").expect("name");
    let width = grid[2].len();
    let plain = Format::new();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    ws.merge_range(0, 0, 0, (width - 1) as u16, cell(&grid[0], 0), &plain)
        .expect("title");
    ws.write_string(1, 0, cell(&grid[1], 0)).expect("w");
    for (c, h) in grid[2].iter().enumerate() {
        let h = match c {
            C_TOWN => "乡（镇）",
            C_ID => "身份证号码",
            C_N => "家庭人口数",
            C_MONTHS => "务工时间\n（月）",
            _ => h.as_str(),
        };
        ws.write_string(2, c as u16, h).expect("header");
    }

    let people = &grid[3..];
    // Households in order, as index ranges into `people`.
    let mut households: Vec<(usize, usize)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        match households.last_mut() {
            Some((_, end)) if cell(&people[*end - 1], C_HOUSEHOLD) == cell(p, C_HOUSEHOLD) => {
                *end += 1
            }
            _ => households.push((i, i + 1)),
        }
    }
    let mut numeric_id_rows = Vec::new();
    let mut r: u32 = FIRST_PERSON_ROW - 1; // 0-based row of the next person
    for (h, &(start, end)) in households.iter().enumerate() {
        // A blank spacer row after the second household.
        if h == 2 {
            r += 1;
        }
        let first = r;
        for (k, p) in people[start..end].iter().enumerate() {
            let row = r + k as u32;
            for (c, v) in p.iter().enumerate() {
                let merged = povcheck::sample::is_household_column(c) && end - start > 1;
                if merged && k > 0 {
                    continue;
                }
                if v.is_empty() {
                    continue;
                }
                if c == C_BIRTH {
                    let s = serial(v).expect("birth date");
                    ws.write_number_with_format(row, c as u16, s, &date_fmt)
                        .expect("w");
                } else if c == C_ID
                    && (h == 1 || h == 4)
                    && k == 0
                    && v.chars().all(|ch| ch.is_ascii_digit())
                {
                    // Typed into a General cell: Excel keeps 15 significant digits.
                    ws.write_number(row, c as u16, v.parse::<f64>().expect("id"))
                        .expect("w");
                    numeric_id_rows.push(row + 1);
                } else if merged {
                    ws.merge_range(
                        row,
                        c as u16,
                        row + (end - start - 1) as u32,
                        c as u16,
                        v,
                        &plain,
                    )
                    .expect("merge");
                } else {
                    ws.write_string(row, c as u16, v).expect("w");
                }
            }
        }
        r = first + (end - start) as u32;
    }
    // The totals row clerks add, then trailing blank rows.
    ws.write_string(r, 0, "合计").expect("w");
    ws.write_number(r, C_N as u16, people.len() as f64)
        .expect("w");
    wb.save(path).expect("save");
    assert_eq!(
        numeric_id_rows.len(),
        2,
        "two households with all-digit 户主 IDs"
    );
    (numeric_id_rows, people.len())
}

#[test]
fn national_xlsx_with_clerk_quirks_reports_exactly_the_numeric_ids() {
    let d = tempfile::tempdir().expect("tempdir");
    let grid = clean_grid(40, 7);
    let name = "麻章区 花名册(2017).xlsx";
    let (numeric, persons) = write_national_xlsx(&d.path().join(name), &grid);
    let r = povcheck(d.path(), &["check", name, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);

    let data = doc
        .inputs
        .iter()
        .find(|i| i.sheet.0.as_deref() == Some("花名册"))
        .expect("data sheet in inputs");
    assert_eq!(data.status, "checked");
    assert_eq!(data.header_row.0, Some(3));
    assert_eq!(data.rows, persons, "blank rows are not people");
    assert_eq!(data.skipped_rows, 1, "the 合计 row");
    let prose = doc
        .inputs
        .iter()
        .find(|i| i.sheet.0.as_deref() == Some("填表说明"))
        .expect("prose sheet in inputs");
    assert_eq!(prose.status, "skipped");
    assert!(
        prose
            .reason
            .0
            .as_deref()
            .is_some_and(|r| r.contains("表头"))
    );

    let got: Vec<(u32, &str, &str, &str, &str)> = doc
        .findings
        .iter()
        .map(|f| {
            (
                f.row.0.unwrap_or(0),
                f.rule.as_str(),
                f.cell.0.as_deref().unwrap_or(""),
                f.column.0.as_deref().unwrap_or(""),
                f.header.0.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let cells: Vec<String> = numeric
        .iter()
        .map(|r| format!("{}{r}", letters(C_ID)))
        .collect();
    let want: Vec<(u32, &str, &str, &str, &str)> = numeric
        .iter()
        .zip(&cells)
        .map(|(r, c)| (*r, "V105", c.as_str(), "证件号码", "身份证号码"))
        .collect();
    assert_eq!(got, want, "only the numeric IDs, on their rows");
    for f in &doc.findings {
        assert_eq!(f.file, name);
        assert_eq!(f.sheet.0.as_deref(), Some("花名册"));
        assert_eq!(
            f.unit
                .0
                .as_ref()
                .and_then(|u| u.get("乡镇"))
                .map(String::is_empty),
            Some(false)
        );
    }
}

/// The clean export as CSV text with one person's 姓名 blanked (row 9: a C101 to locate).
fn csv_with_one_blank_name() -> (String, u32) {
    let mut grid = clean_grid(20, 8);
    relabel(&mut grid);
    let person = 5;
    let row = FIRST_PERSON_ROW + person as u32;
    grid[3 + person][7] = String::new();
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &grid {
        w.write_record(r).expect("record");
    }
    let text = String::from_utf8(w.into_inner().expect("csv")).expect("utf-8");
    (text, row)
}

fn expect_one_c101(doc: &Doc, file: &str, row: u32) {
    let got: Vec<(u32, &str, Option<&str>, Option<&str>)> = doc
        .findings
        .iter()
        .map(|f| {
            (
                f.row.0.unwrap_or(0),
                f.rule.as_str(),
                f.cell.0.as_deref(),
                f.column.0.as_deref(),
            )
        })
        .collect();
    let cell = format!("H{row}");
    assert_eq!(
        got,
        [(row, "C101", Some(cell.as_str()), Some("姓名"))],
        "{file}"
    );
    assert!(
        doc.findings
            .iter()
            .all(|f| f.file == file && f.sheet.0.is_none())
    );
}

#[test]
fn gbk_and_utf16_csvs_are_decoded_and_locate_the_blank_name() {
    let d = tempfile::tempdir().expect("tempdir");
    let (text, row) = csv_with_one_blank_name();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    std::fs::write(d.path().join("gbk.csv"), &gbk).expect("w");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(d.path().join("utf16.csv"), &utf16).expect("w");
    for file in ["gbk.csv", "utf16.csv"] {
        let r = povcheck(d.path(), &["check", file, "--format", "json"]);
        assert_eq!(r.code, 1, "{file}: {}", r.stderr);
        let doc = json_doc(&r.stdout);
        assert_eq!(doc.inputs[0].header_row.0, Some(3), "{file}");
        assert_eq!(doc.summary.rows, 20, "{file}");
        expect_one_c101(&doc, file, row);
    }
    // The same bytes, told the wrong encoding, must not silently pass as clean.
    let wrong = povcheck(d.path(), &["check", "gbk.csv", "--encoding", "utf8"]);
    assert_ne!(wrong.code, 0, "{}", wrong.stdout);
}

#[test]
fn xls_with_merged_household_and_numeric_id_names_sheet_and_cell() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo("tests/fixtures/household.xls"),
        d.path().join("户.xls"),
    )
    .expect("copy");
    let r = povcheck(d.path(), &["check", "户.xls", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    type Located<'a> = (Option<&'a str>, Option<u32>, Option<&'a str>, &'a str);
    let got: Vec<Located> = doc
        .findings
        .iter()
        .map(|f| {
            (
                f.sheet.0.as_deref(),
                f.row.0,
                f.cell.0.as_deref(),
                f.rule.as_str(),
            )
        })
        .collect();
    assert_eq!(got, [(Some("花名册"), Some(5), Some("E5"), "V105")]);
    let statuses: Vec<(&str, &str)> = doc
        .inputs
        .iter()
        .map(|i| (i.sheet.0.as_deref().unwrap_or(""), i.status.as_str()))
        .collect();
    assert!(statuses.contains(&("花名册", "checked")));
    assert!(statuses.contains(&("填表说明", "skipped")));
}

#[test]
fn all_real_looking_exports_in_one_run_keep_their_own_locations() {
    let d = tempfile::tempdir().expect("tempdir");
    let (numeric, _) = write_national_xlsx(&d.path().join("national.xlsx"), &clean_grid(40, 7));
    let (text, row) = csv_with_one_blank_name();
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    std::fs::write(d.path().join("gbk.csv"), &gbk).expect("w");
    std::fs::copy(repo("tests/fixtures/household.xls"), d.path().join("h.xls")).expect("copy");
    let r = povcheck(
        d.path(),
        &[
            "check",
            "national.xlsx",
            "gbk.csv",
            "h.xls",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    let mut got: Vec<(String, u32, String)> = doc
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.row.0.unwrap_or(0), f.rule.clone()))
        .collect();
    got.sort();
    let mut want: Vec<(String, u32, String)> = numeric
        .iter()
        .map(|r| ("national.xlsx".to_string(), *r, "V105".to_string()))
        .collect();
    want.push(("gbk.csv".into(), row, "C101".into()));
    want.push(("h.xls".into(), 5, "V105".into()));
    want.sort();
    assert_eq!(got, want);
}

/// A CSV saved from Excel after a clerk's edits: a header cell with a line break (quoted, so the
/// header record spans two lines), full-width and space-padded alias headers, a blank line between
/// households and a 合计 row. design.md: a CSV finding's row is the line its record starts on.
#[test]
fn quirky_csv_rows_are_the_lines_records_start_on() {
    let d = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(repo("samples/sample.csv")).expect("sample");
    let mut grid: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    grid[2][C_MONTHS] = "务工时间\n（月）".into();
    grid[2][C_TOWN] = "乡（镇）".into();
    grid[2][C_ID] = " 身份证号码 ".into();
    let width = grid[2].len();
    // A blank record after the 7th person (sheet row 10 of the original).
    grid.insert(10, vec![String::new(); width]);
    let mut total = vec![String::new(); width];
    total[0] = "合计".into();
    total[C_N] = "300".into();
    grid.push(total);
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &grid {
        w.write_record(r).expect("record");
    }
    std::fs::write(d.path().join("quirky.csv"), w.into_inner().expect("csv")).expect("write");

    let r = povcheck(d.path(), &["check", "quirky.csv", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    assert_eq!(doc.inputs[0].rows, 300);
    assert_eq!(doc.inputs[0].skipped_rows, 1, "the 合计 row");
    assert_eq!(doc.inputs[0].header_row.0, Some(3));
    // +1 for the header's second line, +1 more past the blank line.
    let mut want: Vec<(u32, String)> = manifest(&repo("samples/sample.expected.csv"))
        .into_iter()
        .map(|(row, code)| (row + 1 + u32::from(row > 10), code))
        .collect();
    want.sort();
    assert_eq!(row_codes(&doc), want);
    let v302 = doc
        .findings
        .iter()
        .find(|f| f.rule == "V302")
        .expect("V302");
    assert_eq!(v302.column.0.as_deref(), Some("务工时间"));
    assert_eq!(v302.header.0.as_deref(), Some("务工时间\n（月）"));
    let v102 = doc
        .findings
        .iter()
        .find(|f| f.rule == "V102")
        .expect("V102");
    assert_eq!(v102.column.0.as_deref(), Some("证件号码"));
    assert_eq!(
        v102.cell.0.as_deref(),
        Some(format!("I{}", v102.row.0.unwrap_or(0)).as_str())
    );
}
