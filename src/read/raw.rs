//! Every cell of every sheet, as it is, with no header search: what the annotated copy writes
//! back. The values come from the same conversions as the checked tables (calamine cell to
//! [`Cell`], 1904 dates to the 1900 system, the CSV decoder, delimiter sniffing and line
//! numbers), so the copy's rows are the rows that were checked.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use calamine::{Data, DataRef, Ods, Reader, Xls, Xlsb, Xlsx};

use super::csv::{Lines, csv_reader, sniff_delimiter};
use super::encoding::decode_reason;
use super::workbook::{data_cell, data_ref_cell};
use super::{Cell, Encoding};

/// Excel's last column index (XFD) and row index: cells beyond cannot be written back.
pub const MAX_COL: u32 = 16_383;
pub const MAX_ROW: u32 = 1_048_575;

/// One non-blank cell, 0-based.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCell {
    pub row: u32,
    pub col: u32,
    pub cell: Cell,
    /// A time span (`[h]:mm:ss`), not a point in time: [`Cell::DateTime`] alone cannot tell.
    pub duration: bool,
}

/// One sheet of a file, cells sorted by (row, column).
#[derive(Debug)]
pub struct RawSheet {
    /// The sheet name; None for CSV.
    pub name: Option<String>,
    pub cells: Vec<RawCell>,
    /// Why the sheet could not be read (its cells are then empty).
    pub problem: Option<String>,
}

/// Read every sheet of `path` whole. Err: the file itself cannot be opened or decoded. A sheet
/// over `max_cells` non-blank cells, or broken, is returned empty with its problem.
pub fn read_raw(path: &Path, encoding: Encoding, max_cells: u64) -> Result<Vec<RawSheet>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(file);
    let mut head = [0u8; 8];
    let n = reader.read(&mut head).map_err(|e| e.to_string())?;
    reader.rewind().map_err(|e| e.to_string())?;
    let head = head.get(..n).unwrap_or_default();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let max = max_cells;
    if head.starts_with(b"PK\x03\x04") {
        match ext.as_str() {
            "xlsb" => stream_sheets_xlsb(Xlsb::new(reader).map_err(|e| e.to_string())?, max),
            "ods" => range_sheets(Ods::new(reader).map_err(|e| e.to_string())?, max),
            _ => stream_sheets_xlsx(Xlsx::new(reader).map_err(|e| e.to_string())?, max),
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        let wb: Xls<_> = Xls::new(reader).map_err(|e| e.to_string())?;
        range_sheets(wb, max)
    } else {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        csv_sheet(&bytes, encoding, max).map(|s| vec![s])
    }
}

fn too_many(max: u64) -> String {
    format!("单元格数超过上限 {max}")
}

fn push_cell(
    cells: &mut Vec<RawCell>,
    row: u32,
    col: u32,
    cell: Cell,
    duration: bool,
    max: u64,
) -> Result<(), String> {
    if cell == Cell::Empty || row > MAX_ROW || col > MAX_COL {
        return Ok(());
    }
    if cells.len() as u64 >= max {
        return Err(too_many(max));
    }
    cells.push(RawCell {
        row,
        col,
        cell,
        duration,
    });
    Ok(())
}

fn finish_sheet(name: String, mut cells: Vec<RawCell>) -> RawSheet {
    // Cells nearly always arrive in order; a stable sort keeps the last of duplicate addresses
    // after the first, and dedup then keeps the first.
    cells.sort_by_key(|c| (c.row, c.col));
    cells.dedup_by_key(|c| (c.row, c.col));
    RawSheet {
        name: Some(name),
        cells,
        problem: None,
    }
}

fn broken_sheet(name: String, reason: String) -> RawSheet {
    RawSheet {
        name: Some(name),
        cells: Vec::new(),
        problem: Some(reason),
    }
}

fn is_duration_ref(d: &DataRef<'_>) -> bool {
    matches!(d, DataRef::DateTime(x) if !x.is_datetime())
}

fn stream_sheets_xlsx<RS: Read + Seek>(
    mut wb: Xlsx<RS>,
    max: u64,
) -> Result<Vec<RawSheet>, String> {
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let mut reader = match wb.worksheet_cells_reader(&name) {
            Ok(r) => r,
            // Chart and dialog sheets hold no cells.
            Err(calamine::XlsxError::NotAWorksheet(_)) => continue,
            Err(e) => {
                out.push(broken_sheet(name, e.to_string()));
                continue;
            }
        };
        let read = collect_cells(|| reader.next_cell(), max);
        drop(reader);
        out.push(match read {
            Ok(cells) => finish_sheet(name, cells),
            Err(e) => broken_sheet(name, e),
        });
    }
    Ok(out)
}

fn stream_sheets_xlsb<RS: Read + Seek>(
    mut wb: Xlsb<RS>,
    max: u64,
) -> Result<Vec<RawSheet>, String> {
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let mut reader = match wb.worksheet_cells_reader(&name) {
            Ok(r) => r,
            Err(e) => {
                out.push(broken_sheet(name, e.to_string()));
                continue;
            }
        };
        let read = collect_cells(|| reader.next_cell(), max);
        drop(reader);
        out.push(match read {
            Ok(cells) => finish_sheet(name, cells),
            Err(e) => broken_sheet(name, e),
        });
    }
    Ok(out)
}

/// Every cell of one calamine cell reader (the xlsx and xlsb readers share no trait, so `next`
/// is the reader's `next_cell`, as in `workbook::feed`).
fn collect_cells<'a, E: std::fmt::Display>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    max: u64,
) -> Result<Vec<RawCell>, String> {
    let mut cells = Vec::new();
    while let Some(c) = next().map_err(|e| e.to_string())? {
        let (r, col) = c.get_position();
        let d = c.get_value();
        push_cell(
            &mut cells,
            r,
            col,
            data_ref_cell(d.clone()),
            is_duration_ref(d),
            max,
        )?;
    }
    Ok(cells)
}

fn range_sheets<RS: Read + Seek, R: Reader<RS>>(
    mut wb: R,
    max: u64,
) -> Result<Vec<RawSheet>, String>
where
    R::Error: std::fmt::Display,
{
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                out.push(broken_sheet(name, e.to_string()));
                continue;
            }
        };
        let (h, w) = range.get_size();
        if (h as u64).saturating_mul(w as u64) > max {
            out.push(broken_sheet(name, too_many(max)));
            continue;
        }
        // used_cells is relative to the range's start.
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut cells = Vec::new();
        let read = range.used_cells().try_for_each(|(r, c, v)| {
            let (Ok(r), Ok(c)) = (u32::try_from(r), u32::try_from(c)) else {
                return Ok(());
            };
            let (r, c) = (r0.saturating_add(r), c0.saturating_add(c));
            let duration = matches!(v, Data::DateTime(x) if !x.is_datetime());
            push_cell(&mut cells, r, c, data_cell(v), duration, max)
        });
        out.push(match read {
            Ok(()) => finish_sheet(name, cells),
            Err(e) => broken_sheet(name, e),
        });
    }
    Ok(out)
}

/// A CSV as one sheet: each record at the row of the line it starts on (the line numbers the
/// checked table gives), every cell text.
fn csv_sheet(bytes: &[u8], forced: Encoding, max: u64) -> Result<RawSheet, String> {
    let decoded = decode_reason(bytes, forced).map_err(|r| r.to_string())?;
    let text = decoded.text.as_bytes();
    let lines = Lines::new(text);
    let mut rdr = csv_reader(text, sniff_delimiter(&decoded.text));
    let mut cells = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        let r0 = lines.at(rec.position()).saturating_sub(1);
        for (c, s) in rec.iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            let c = u32::try_from(c).unwrap_or(u32::MAX);
            push_cell(&mut cells, r0, c, Cell::Text(s.to_string()), false, max)?;
        }
    }
    let mut sheet = finish_sheet(String::new(), cells);
    sheet.name = None;
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{HeaderMatcher, ReadOptions};

    /// The raw CSV rows are the checked table's rows: same decoder (GBK here), same delimiter,
    /// same line numbers across blank lines and a quoted line break.
    #[test]
    fn csv_rows_are_the_checked_rows() {
        let text = "标题\n\n姓名\t户编号\t证件号码\n甲\t\"1\n2\"\tx\n\n乙\t3\ty\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let sheet = csv_sheet(&gbk, Encoding::Auto, 100).unwrap();
        assert_eq!(sheet.name, None);
        let at = |row: u32, col: u32| {
            sheet
                .cells
                .iter()
                .find(|c| c.row == row && c.col == col)
                .map(|c| c.cell.clone())
        };
        assert_eq!(at(0, 0), Some(Cell::Text("标题".into())));
        assert_eq!(at(2, 1), Some(Cell::Text("户编号".into())));
        assert_eq!(at(3, 1), Some(Cell::Text("1\n2".into())));
        assert_eq!(at(6, 0), Some(Cell::Text("乙".into())));

        let none: &[String] = &[];
        let matcher = HeaderMatcher::new([("姓名", none), ("户编号", none), ("证件号码", none)]);
        let table =
            super::super::csv::read_csv(&gbk, "t.csv", &ReadOptions::default(), &matcher).unwrap();
        for (i, row) in table.rows().enumerate() {
            for (col, cell) in table.columns.iter().zip(&row.cells) {
                let raw = at(row.number - 1, col.index as u32).unwrap_or(Cell::Empty);
                assert_eq!(*cell, raw, "row {i} column {}", col.index);
            }
        }
        assert_eq!(table.rows().count(), 2);
    }

    /// Every checked cell of a workbook is the raw cell at its row and column: the check and
    /// the copy convert calamine's values (numbers, dates, errors) with the same code.
    #[test]
    fn workbook_rows_are_the_checked_rows() {
        let matcher = HeaderMatcher::from_schema(&crate::schema::default_schema());
        for f in [
            "samples/all-kinds.xlsx",
            "tests/fixtures/household.xls",
            "tests/fixtures/household.ods",
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            let raw = read_raw(&path, Encoding::Auto, u64::MAX).unwrap();
            let read = crate::read::read_file(&path, f, &ReadOptions::default(), &matcher);
            assert!(!read.tables.is_empty(), "{f}");
            let mut compared = 0;
            for t in &read.tables {
                let sheet = raw.iter().find(|s| s.name == t.sheet).unwrap();
                for row in t.rows() {
                    for (col, cell) in t.columns.iter().zip(&row.cells) {
                        // A cell the sheet leaves empty is either empty in the table too or
                        // filled from its merged range, which the raw read does not follow.
                        let Some(r) = sheet
                            .cells
                            .iter()
                            .find(|c| c.row + 1 == row.number && c.col as usize == col.index)
                        else {
                            continue;
                        };
                        assert_eq!(*cell, r.cell, "{f} row {} column {}", row.number, col.index);
                        compared += 1;
                    }
                }
            }
            assert!(compared >= 10, "{f}: only {compared} cells");
        }
    }

    #[test]
    fn cells_past_the_limit_make_an_error() {
        assert_eq!(
            csv_sheet(b"a,b\nc,d\n", Encoding::Utf8, 3).unwrap_err(),
            too_many(3)
        );
        assert_eq!(
            csv_sheet(b"a,b\nc,d\n", Encoding::Utf8, 4)
                .unwrap()
                .cells
                .len(),
            4
        );
    }
}
