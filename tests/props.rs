//! Property tests of reading: header normalisation is idempotent, and what rust_xlsxwriter or a
//! CSV writer puts into a file comes back from `read::read_file` exactly, cell for cell, with the
//! row numbers the spreadsheet or editor shows. (ID properties live in tests/types_props.rs.)

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::select;

use povcheck::read::{Cell, FileRead, HeaderMatcher, ReadOptions, normalize_header, read_file};

/// A header the default schema recognises, in the order written.
const HEADER: [&str; 6] = ["乡镇", "行政村", "户编号", "姓名", "证件号码", "与户主关系"];

fn matcher() -> HeaderMatcher {
    HeaderMatcher::from_schema(&povcheck::schema::default_schema())
}

fn read(path: &Path) -> FileRead {
    read_file(path, "prop", &ReadOptions::default(), &matcher())
}

/// Characters a clerk's cell may hold: ASCII, CJK, full-width forms, white space of every kind
/// (edges included), quotes, commas, line breaks, zero-width and astral characters.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('0', '9'),
        4 => proptest::char::range('\u{4e00}', '\u{9fa5}'),
        1 => select(vec![
            ' ', '\u{3000}', '\u{a0}', '\u{200b}', '\u{feff}', '"', '\'', ',', ';', '\n', '\r',
            '=', '+', '-', '@', '<', '>', '&', '（', '）', 'Ｘ', '\u{1f600}', '\u{20000}',
        ]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(text_char(), 1..12).prop_map(|v| v.into_iter().collect())
}

/// One cell value written into a workbook.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Number(f64),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => text().prop_map(Value::Text),
        1 => prop_oneof![
            any::<i32>().prop_map(f64::from),
            (-1e15f64..1e15f64),
            proptest::num::f64::NORMAL,
        ]
        .prop_map(Value::Number),
    ]
}

/// Header row index, header column positions (increasing, with gaps), and data rows as
/// (row-index gap after the previous row, one optional value per header column).
type Grid = (u32, Vec<u16>, Vec<(u32, Vec<Option<Value>>)>);

fn grid() -> impl Strategy<Value = Grid> {
    (
        0u32..4,
        proptest::collection::vec(1u16..4, HEADER.len()),
        proptest::collection::vec(
            (
                1u32..4,
                proptest::collection::vec(proptest::option::weighted(0.7, value()), HEADER.len()),
            ),
            0..12,
        ),
    )
        .prop_map(|(h, gaps, rows)| {
            let mut col = 0u16;
            let cols = gaps
                .iter()
                .map(|g| {
                    col += g - 1;
                    let c = col;
                    col += 1;
                    c
                })
                .collect();
            (h, cols, rows)
        })
}

/// The reader's documented exceptions to "every row comes back": all-blank rows are not records,
/// and a row with no name and no ID that starts with 合计/总计/小计 is a totals row (skipped with
/// a reason, checked separately below).
fn expected_kind(cells: &[Cell]) -> RowKind {
    if cells.iter().all(Cell::is_blank) {
        return RowKind::Blank;
    }
    let name_id_blank = cells[3].is_blank() && cells[4].is_blank();
    let total = cells.iter().any(|c| match c {
        Cell::Text(s) => ["合计", "总计", "小计"]
            .iter()
            .any(|t| s.trim_start().starts_with(t)),
        _ => false,
    });
    if name_id_blank && total {
        RowKind::Total
    } else {
        RowKind::Record
    }
}

#[derive(Debug, PartialEq)]
enum RowKind {
    Blank,
    Total,
    Record,
}

fn cell_of(v: &Option<Value>) -> Cell {
    match v {
        None => Cell::Empty,
        Some(Value::Text(s)) => Cell::Text(s.clone()),
        Some(Value::Number(f)) => Cell::Number(*f),
    }
}

/// Compare what was read with the expected (row number, cells) records and totals rows.
fn assert_table(
    r: &FileRead,
    header_row: u32,
    columns: &[usize],
    records: &[(u32, Vec<Cell>)],
    totals: &[u32],
) -> Result<(), TestCaseError> {
    prop_assert!(r.errors.is_empty(), "errors: {:?}", r.errors);
    prop_assert_eq!(r.tables.len(), 1);
    let t = &r.tables[0];
    prop_assert_eq!(t.header_row, header_row);
    let got_cols: Vec<(usize, &str, Option<&str>)> = t
        .columns
        .iter()
        .map(|c| (c.index, c.header.as_str(), c.field.as_deref()))
        .collect();
    let want_cols: Vec<(usize, &str, Option<&str>)> = columns
        .iter()
        .zip(HEADER)
        .map(|(&i, h)| (i, h, Some(h)))
        .collect();
    prop_assert_eq!(got_cols, want_cols);
    let got: Vec<(u32, Vec<Cell>)> = t
        .rows()
        .map(|r| (r.number, r.cells.iter().map(|c| c.to_owned()).collect()))
        .collect();
    let want: Vec<(u32, Vec<Cell>)> = records.to_vec();
    prop_assert_eq!(got, want);
    let skipped: Vec<u32> = t.skipped_rows.iter().map(|s| s.number).collect();
    prop_assert_eq!(skipped, totals.to_vec());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn header_normalisation_is_idempotent(s in ".*", t in proptest::collection::vec(text_char(), 0..20)) {
        let once = normalize_header(&s);
        prop_assert_eq!(normalize_header(&once), once.clone());
        let t: String = t.into_iter().collect();
        let once_t = normalize_header(&t);
        prop_assert_eq!(normalize_header(&once_t), once_t);
        // No white space survives, so a line break inside a header cannot split a name.
        prop_assert!(!once.chars().any(char::is_whitespace));
    }

    #[test]
    fn header_matching_ignores_width_and_spacing(i in 0..HEADER.len(), pad in "[ \u{3000}\n\t]{0,3}") {
        let m = matcher();
        let name = HEADER[i];
        // Spread out, padded and in full-width brackets where it has any: the same field.
        let spaced: String = name.chars().flat_map(|c| [c, ' ']).collect();
        prop_assert_eq!(m.field(&format!("{pad}{spaced}{pad}")), Some(name));
        prop_assert_eq!(m.field(&format!("{name}x")), None);
    }
}

proptest! {
    // Each case writes and reads a file: fewer cases keep the debug-build test under a minute.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn xlsx_values_read_back_exactly(g in grid(), title in proptest::option::of(text())) {
        let (h, cols, rows) = g;
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("book.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        let fail = |e: rust_xlsxwriter::XlsxError| TestCaseError::fail(e.to_string());
        // A title above the header, as exports have, must not be taken for the header.
        if let (Some(t), true) = (&title, h > 0) {
            ws.write_string(0, 0, t).map_err(fail)?;
        }
        for (c, name) in cols.iter().zip(HEADER) {
            ws.write_string(h, *c, name).map_err(fail)?;
        }
        let mut row = h;
        let mut records = Vec::new();
        let mut totals = Vec::new();
        for (gap, values) in &rows {
            row += gap;
            for (c, v) in cols.iter().zip(values) {
                match v {
                    Some(Value::Text(s)) => { ws.write_string(row, *c, s).map_err(fail)?; }
                    Some(Value::Number(f)) => { ws.write_number(row, *c, *f).map_err(fail)?; }
                    None => {}
                }
            }
            let cells: Vec<Cell> = values.iter().map(cell_of).collect();
            match expected_kind(&cells) {
                RowKind::Blank => {}
                RowKind::Total => totals.push(row + 1),
                RowKind::Record => records.push((row + 1, cells)),
            }
        }
        wb.save(&path).map_err(fail)?;
        let r = read(&path);
        let columns: Vec<usize> = cols.iter().map(|&c| usize::from(c)).collect();
        assert_table(&r, h + 1, &columns, &records, &totals)?;
    }

    #[test]
    fn csv_fields_read_back_exactly(
        rows in proptest::collection::vec(
            (0usize..3, proptest::collection::vec(proptest::option::weighted(0.8, text()), HEADER.len())),
            0..12,
        ),
        crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if bom {
            out.push('\u{feff}');
        }
        let field = |s: &str| {
            // Quote what a CSV writer must; also edge spaces, so they are kept as data.
            if s.contains([',', '"', '\n', '\r']) || s.trim() != s || s.is_empty() {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        out.push_str(&HEADER.join(","));
        out.push_str(eol);
        let mut records = Vec::new();
        let mut totals = Vec::new();
        for (blank_lines, values) in &rows {
            for _ in 0..*blank_lines {
                out.push_str(eol);
            }
            let line = out.matches('\n').count() as u32 + 1;
            let fields: Vec<String> = values
                .iter()
                .map(|v| v.as_deref().map(field).unwrap_or_default())
                .collect();
            out.push_str(&fields.join(","));
            out.push_str(eol);
            // CSV cells are text; an empty field is an empty cell.
            let cells: Vec<Cell> = values
                .iter()
                .map(|v| match v {
                    Some(s) if !s.is_empty() => Cell::Text(s.clone()),
                    _ => Cell::Empty,
                })
                .collect();
            match expected_kind(&cells) {
                RowKind::Blank => {}
                RowKind::Total => totals.push(line),
                RowKind::Record => records.push((line, cells)),
            }
        }
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("records.csv");
        std::fs::write(&path, &out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r = read(&path);
        assert_table(&r, 1, &[0, 1, 2, 3, 4, 5], &records, &totals)?;
    }
}
