//! The two output formats: CSV (UTF-8 with BOM, one buffered writer) and xlsx (rust_xlsxwriter in
//! constant-memory mode, text as strings and numbers as numbers).

use std::io::Write;
use std::path::Path;

use chrono::Datelike;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use super::{COLUMNS, Cell, SampleError, Sink, is_household_column};

/// A CSV field, quoted only when it must be.
pub(crate) fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    // A byte scan: every special character is ASCII, and this runs on every field.
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        std::borrow::Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

pub(crate) struct CsvSink<W: Write> {
    out: W,
}

impl<W: Write> CsvSink<W> {
    pub(crate) fn new(out: W) -> Self {
        CsvSink { out }
    }

    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// A title row padded to the header's width: readers reject CSV records whose field count
    /// differs from the header's.
    fn title_row(&mut self, text: &str) -> std::io::Result<()> {
        self.out.write_all(csv_field(text).as_bytes())?;
        for _ in 1..COLUMNS.len() {
            self.out.write_all(b",")?;
        }
        self.out.write_all(b"\n")
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn begin(&mut self, title: &str, exported: &str) -> Result<(), SampleError> {
        // The BOM makes Excel open the file as UTF-8 instead of the system code page.
        self.out.write_all("\u{feff}".as_bytes())?;
        self.title_row(title)?;
        self.title_row(exported)?;
        for (i, h) in COLUMNS.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(csv_field(h).as_bytes())?;
        }
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn household(
        &mut self,
        _first: u32,
        rows: &[Vec<Cell>],
        merged: bool,
    ) -> Result<(), SampleError> {
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if c > 0 {
                    self.out.write_all(b",")?;
                }
                // CSV has no merged cells: the merged layout leaves member rows blank instead.
                if merged && r > 0 && is_household_column(c) {
                    continue;
                }
                self.out.write_all(csv_field(&cell.text).as_bytes())?;
            }
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }
}

pub(crate) struct XlsxSink {
    workbook: Workbook,
    plain: Format,
}

impl XlsxSink {
    pub(crate) fn new(exported: chrono::NaiveDate) -> Result<Self, SampleError> {
        let mut workbook = Workbook::new();
        // A fixed creation time (the export date) instead of "now" keeps the same seed giving
        // the same workbook content, so committed samples can be regenerated and compared.
        let created = ExcelDateTime::from_ymd(
            u16::try_from(exported.year()).unwrap_or(2017),
            u8::try_from(exported.month()).unwrap_or(12),
            u8::try_from(exported.day()).unwrap_or(31),
        )?;
        workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
        // Constant-memory mode streams finished rows to a temp file (about 80k rows/s, flat
        // memory). Merged ranges still work in it because merge_range writes ahead only the
        // blank cells of rows not yet reached, which the household writer fills in order.
        let ws = workbook.add_worksheet_with_constant_memory()?;
        ws.set_name("Sheet1")?;
        Ok(XlsxSink {
            workbook,
            plain: Format::new(),
        })
    }

    pub(crate) fn save(mut self, path: &Path) -> Result<(), SampleError> {
        self.workbook.save(path)?;
        Ok(())
    }
}

fn put(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
) -> Result<(), SampleError> {
    match cell.num {
        Some(v) => {
            ws.write_number(row, col, v)?;
        }
        None if cell.text.is_empty() => {}
        None => {
            ws.write_string(row, col, &cell.text)?;
        }
    }
    Ok(())
}

impl Sink for XlsxSink {
    fn begin(&mut self, title: &str, exported: &str) -> Result<(), SampleError> {
        let ws = self.workbook.worksheet_from_index(0)?;
        ws.write_string(0, 0, title)?;
        ws.write_string(1, 0, exported)?;
        for (c, h) in COLUMNS.iter().enumerate() {
            ws.write_string(2, c as u16, *h)?;
        }
        Ok(())
    }

    fn household(
        &mut self,
        first: u32,
        rows: &[Vec<Cell>],
        merged: bool,
    ) -> Result<(), SampleError> {
        let ws = self.workbook.worksheet_from_index(0)?;
        // Spreadsheet row numbers are 1-based; rust_xlsxwriter's are 0-based.
        let top = first - 1;
        let n = rows.len() as u32;
        for (r, row) in rows.iter().enumerate() {
            let rr = top + r as u32;
            for (c, cell) in row.iter().enumerate() {
                let col = c as u16;
                if merged && n > 1 && is_household_column(c) {
                    if r == 0 {
                        ws.merge_range(rr, col, top + n - 1, col, "", &self.plain)?;
                        if cell.num.is_some() || !cell.text.is_empty() {
                            put(ws, rr, col, cell)?;
                        } else {
                            ws.write_blank(rr, col, &self.plain)?;
                        }
                    }
                    continue;
                }
                put(ws, rr, col, cell)?;
            }
        }
        Ok(())
    }
}
