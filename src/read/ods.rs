//! One streaming pass over an .ods `content.xml` before calamine opens it: the merged ranges
//! of every table (calamine reads none), and the number of cells calamine would build for each
//! table from the repeat counts the file declares, so a hostile repeat is refused before it is
//! allocated (calamine parses every table when the workbook is opened).
//!
//! Positions are counted exactly as calamine counts them: every `table:table-row` is a row
//! (repeated `number-rows-repeated` times), every `table:table-cell` and
//! `table:covered-table-cell` a column (repeated `number-columns-repeated` times), capped at
//! the same grid.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek};

use quick_xml::events::{BytesStart, Event};

use super::Reason;
use super::sheet::Merge;

/// calamine's ods grid (ods.rs MAX_ROWS / MAX_COLUMNS).
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// What the pass found in one table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OdsTable {
    pub merges: Vec<Merge>,
    /// Cells calamine holds for the table: every cell up to the last non-empty one of each
    /// row element, then the table's non-empty bounding box with rows repeated.
    pub cells: u64,
}

/// Tables by name. Err: content.xml cannot be read (calamine then reports its own error), or
/// a table declares more than `max_cells` cells.
pub fn scan_ods<R: Read + Seek>(
    reader: R,
    max_inflated: u64,
    max_cells: u64,
) -> Result<HashMap<String, OdsTable>, Option<Reason>> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|_| None)?;
    let part = zip.by_name("content.xml").map_err(|_| None)?;
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part.take(max_inflated)));
    let config = xml.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut out = HashMap::new();
    let mut buf = Vec::new();
    // The table being read: its name and running counts.
    let mut table: Option<(String, Counter)> = None;
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|_| None)?;
        match event {
            Event::Start(e) if e.name().as_ref() == b"table:table" => {
                let name = attr(&e, b"table:name").unwrap_or_default();
                table = Some((name, Counter::default()));
            }
            Event::End(e) if e.name().as_ref() == b"table:table" => {
                if let Some((name, c)) = table.take() {
                    let t = c.finish();
                    if t.cells > max_cells {
                        return Err(Some(Reason::ExtentTooLarge {
                            sheet: name,
                            cells: t.cells,
                            max: max_cells,
                        }));
                    }
                    out.insert(name, t);
                }
            }
            Event::Start(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some((_, c)) = &mut table {
                    c.start_row(number(&e, b"table:number-rows-repeated"));
                }
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some((name, c)) = &mut table {
                    c.end_row();
                    // Checked as rows end, so the pass stops as soon as the limit is passed.
                    if c.pushed > max_cells {
                        return Err(Some(Reason::ExtentTooLarge {
                            sheet: name.clone(),
                            cells: c.pushed,
                            max: max_cells,
                        }));
                    }
                }
            }
            Event::Start(e)
                if matches!(
                    e.name().as_ref(),
                    b"table:table-cell" | b"table:covered-table-cell"
                ) =>
            {
                if let Some((_, c)) = &mut table {
                    let filled = e
                        .attributes()
                        .flatten()
                        .any(|a| matches!(a.key.as_ref(), b"office:value-type" | b"table:formula"));
                    c.cell(
                        number(&e, b"table:number-columns-repeated"),
                        filled,
                        number(&e, b"table:number-rows-spanned"),
                        number(&e, b"table:number-columns-spanned"),
                        max_cells,
                    );
                }
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
        buf.clear();
    }
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A count attribute; absent or unparsable is 1, as for calamine (which refuses unparsable
/// ones itself).
fn number(e: &BytesStart<'_>, key: &[u8]) -> u64 {
    attr(e, key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
}

#[derive(Debug, Default)]
struct Counter {
    /// Expanded index of the current row, and how many times it repeats.
    row: u64,
    repeats: u64,
    /// Expanded column of the next cell of the current row.
    col: u64,
    /// End column of the last non-empty cell of the current row (0: none).
    filled_to: u64,
    first_filled: u64,
    /// Cells calamine pushes while reading rows.
    pushed: u64,
    /// Non-empty bounding box: rows [top, bottom), columns [left, right).
    top: Option<u64>,
    bottom: u64,
    left: Option<u64>,
    right: u64,
    merges: Vec<Merge>,
}

impl Counter {
    fn start_row(&mut self, repeats: u64) {
        self.repeats = repeats.min(MAX_ROWS.saturating_sub(self.row));
        self.col = 0;
        self.filled_to = 0;
        self.first_filled = u64::MAX;
    }

    fn cell(&mut self, repeats: u64, filled: bool, rows: u64, cols: u64, max_cells: u64) {
        let repeats = repeats.min(MAX_COLUMNS.saturating_sub(self.col));
        if (rows > 1 || cols > 1) && self.repeats > 0 {
            // One merge per repetition of the cell and of its row, bounded like the cells.
            'rep: for dr in 0..self.repeats {
                for dc in 0..repeats {
                    if self.merges.len() as u64 >= max_cells {
                        break 'rep;
                    }
                    let (r, c) = (self.row + dr, self.col + dc);
                    let end = (
                        (r + rows.max(1) - 1).min(MAX_ROWS - 1),
                        (c + cols.max(1) - 1).min(MAX_COLUMNS - 1),
                    );
                    if let (Ok(r), Ok(c), Ok(er), Ok(ec)) = (
                        u32::try_from(r),
                        u32::try_from(c),
                        u32::try_from(end.0),
                        u32::try_from(end.1),
                    ) {
                        self.merges.push(Merge {
                            start: (r, c),
                            end: (er, ec),
                        });
                    }
                }
            }
        }
        if filled && repeats > 0 {
            self.first_filled = self.first_filled.min(self.col);
            self.filled_to = self.col + repeats;
        }
        self.col += repeats;
    }

    fn end_row(&mut self) {
        self.pushed = self.pushed.saturating_add(self.filled_to);
        if self.filled_to > 0 {
            self.top.get_or_insert(self.row);
            self.bottom = self.row + self.repeats;
            self.left = Some(
                self.left
                    .map_or(self.first_filled, |l| l.min(self.first_filled)),
            );
            self.right = self.right.max(self.filled_to);
        }
        self.row = self.row.saturating_add(self.repeats);
        self.repeats = 0;
    }

    fn finish(self) -> OdsTable {
        let boxed = match (self.top, self.left) {
            (Some(top), Some(left)) => {
                (self.bottom - top).saturating_mul(self.right.saturating_sub(left))
            }
            _ => 0,
        };
        OdsTable {
            merges: self.merges,
            cells: self.pushed.max(boxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn ods(content: &str) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("content.xml", opts).unwrap();
        w.write_all(content.as_bytes()).unwrap();
        w.finish().unwrap();
        buf.into_inner()
    }

    fn doc(rows: &str) -> String {
        format!(
            r#"<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body><office:spreadsheet><table:table table:name="花名册 &amp; 1">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        )
    }

    const S: &str = r#"office:value-type="string""#;

    #[test]
    fn merges_are_found_at_calamines_positions() {
        let rows = format!(
            r#"<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
            <table:table-row><table:table-cell table:number-columns-repeated="2"/><table:table-cell {S} table:number-rows-spanned="3" table:number-columns-spanned="2"><text:p>户</text:p></table:table-cell><table:covered-table-cell/><table:table-cell {S}><text:p>a</text:p></table:table-cell></table:table-row>
            <table:table-row><table:covered-table-cell table:number-columns-repeated="4"/></table:table-row>"#
        );
        let t = scan_ods(Cursor::new(ods(&doc(&rows))), 1 << 30, 1000).unwrap();
        let t = &t["花名册 & 1"];
        assert_eq!(
            t.merges,
            vec![Merge {
                start: (2, 2),
                end: (4, 3)
            }]
        );
        // Row 3 holds columns 0..5 (empties before the last value are kept).
        assert_eq!(t.cells, 5);
    }

    #[test]
    fn declared_repeats_over_the_limit_are_refused_before_reading() {
        let rows = format!(
            r#"<table:table-row table:number-rows-repeated="1000"><table:table-cell {S} table:number-columns-repeated="1000"><text:p>a</text:p></table:table-cell></table:table-row>"#
        );
        let e = scan_ods(Cursor::new(ods(&doc(&rows))), 1 << 30, 999_999).unwrap_err();
        assert!(
            matches!(
                e,
                Some(Reason::ExtentTooLarge {
                    cells: 1_000_000,
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(scan_ods(Cursor::new(ods(&doc(&rows))), 1 << 30, 1_000_000).is_ok());
        // Trailing empty repeats (LibreOffice writes them to the grid's end) cost nothing.
        let rows = format!(
            r#"<table:table-row><table:table-cell {S}><text:p>a</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#
        );
        let t = scan_ods(Cursor::new(ods(&doc(&rows))), 1 << 30, 10).unwrap();
        assert_eq!(t["花名册 & 1"].cells, 1);
    }
}
