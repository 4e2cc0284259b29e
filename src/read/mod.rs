//! Reading what clerks really have: xlsx/xlsm/xlsb/xls/ods workbooks and CSV in UTF-8, GBK/GB18030
//! or UTF-16, into [`Table`]s of raw cells with provenance.
//!
//! Invariants: every non-blank row below a found header is either in `Table::rows` or in
//! `Table::skipped_rows` with a reason; the row number is the one the spreadsheet shows (CSV: the
//! 1-based line of the record's first line); values are as the clerk sees them (no type coercion
//! here; a numeric cell stays [`Cell::Number`] so later stages can tell an ID lost to Excel).

pub(crate) mod csv;
pub(crate) mod encoding;
pub mod header;
mod limits;
pub mod lists;
mod merges;
mod ods;
mod reason;
mod sheet;
mod workbook;

use std::path::Path;

pub use crate::cell::{Cell, CellRef};
pub use header::{HeaderMatcher, normalize_header};
pub use reason::{Reason, Unit};

/// A column of a table: where it is in the sheet, what the header says, which field it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// 0-based column index in the sheet (0 = A).
    pub index: usize,
    /// Header text as written in the file.
    pub header: String,
    /// Canonical field name, when the header matched the schema.
    pub field: Option<String>,
}

/// One data row gathered from a table's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// Spreadsheet row number (1-based); CSV: line of the record's first line.
    pub number: u32,
    /// One cell per entry of `Table::columns`, same order.
    pub cells: Vec<CellRef<'a>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRow {
    pub number: u32,
    pub reason: String,
}

/// The cells of one column, stored the way polars stores strings: the text of every row in one
/// buffer with an end offset per row, so a million-row column is two allocations instead of a
/// million. Non-text cells (xlsx numbers, dates, booleans, errors) are rare and kept aside, and
/// so are the cells a merged range fills (one entry per run of rows, not per cell).
#[derive(Debug, Clone, Default, PartialEq)]
struct ColumnCells {
    text: String,
    /// End of each row's text in `text` (its start is the previous row's end); a row whose cell
    /// is not text has an empty slice here, the [`OTHER`] bit set, and an entry in `other` or
    /// `fills`.
    ends: Vec<u32>,
    /// Non-text cells as (row, cell), in row order.
    other: Vec<(u32, Cell)>,
    /// Rows `first..=last` filled by a merged range, in row order, not overlapping.
    fills: Vec<(u32, u32, Fill)>,
}

/// What a merged range fills its cells with: the top-left cell, wherever it is.
#[derive(Debug, Clone, PartialEq)]
enum Fill {
    /// A cell of this table (row index, column position).
    At(u32, u32),
    /// A cell outside the table's data rows (a title or skipped row, a column without header).
    Value(Cell),
}

/// A column's cell before a merge fill is followed.
enum Slot<'a> {
    Cell(CellRef<'a>),
    Fill(&'a Fill),
}

/// A column's text grew past what its 31-bit offsets address (2 GB in one column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnTooLarge;

/// Set in `ColumnCells::ends` on a row whose cell is in `other`, so a text cell is read without
/// searching `other`.
const OTHER: u32 = 1 << 31;

impl ColumnCells {
    fn get(&self, row: usize) -> Slot<'_> {
        let Some(&end) = self.ends.get(row) else {
            return Slot::Cell(CellRef::Empty);
        };
        if end & OTHER != 0 {
            let r = row as u32;
            if let Ok(i) = self.other.binary_search_by_key(&r, |(r, _)| *r) {
                return Slot::Cell(self.other[i].1.as_ref());
            }
            let i = self.fills.partition_point(|(first, _, _)| *first <= r);
            return match i.checked_sub(1).and_then(|i| self.fills.get(i)) {
                Some((_, last, fill)) if *last >= r => Slot::Fill(fill),
                _ => Slot::Cell(CellRef::Empty),
            };
        }
        let start = match row.checked_sub(1) {
            Some(p) => self.ends.get(p).map_or(0, |e| e & !OTHER) as usize,
            None => 0,
        };
        Slot::Cell(match self.text.get(start..end as usize) {
            Some("") | None => CellRef::Empty,
            Some(s) => CellRef::Text(s),
        })
    }

    /// Nothing is written in this row (a merge may fill it).
    fn is_vacant(&self, row: usize) -> bool {
        let Some(&end) = self.ends.get(row) else {
            return false;
        };
        let start = row
            .checked_sub(1)
            .and_then(|p| self.ends.get(p))
            .map_or(0, |e| e & !OTHER);
        end & OTHER == 0 && end == start
    }

    fn push(&mut self, cell: CellRef<'_>) -> Result<(), ColumnTooLarge> {
        let row = self.ends.len() as u32;
        let mut flag = 0;
        match cell {
            CellRef::Empty => {}
            CellRef::Text(s) => self.text.push_str(s),
            other => {
                self.other.push((row, other.to_owned()));
                flag = OTHER;
            }
        }
        let end = u32::try_from(self.text.len())
            .ok()
            .filter(|e| e & OTHER == 0)
            .ok_or(ColumnTooLarge)?;
        self.ends.push(end | flag);
        Ok(())
    }

    fn append(&mut self, o: ColumnCells) -> Result<(), ColumnTooLarge> {
        let total = self.text.len() + o.text.len();
        if u32::try_from(total).map_or(true, |t| t & OTHER != 0) {
            return Err(ColumnTooLarge);
        }
        let base = self.text.len() as u32;
        let rows = self.ends.len() as u32;
        self.text.push_str(&o.text);
        self.ends
            .extend(o.ends.iter().map(|e| ((e & !OTHER) + base) | (e & OTHER)));
        self.other
            .extend(o.other.into_iter().map(|(r, c)| (r + rows, c)));
        self.fills.extend(o.fills.into_iter().map(|(a, b, f)| {
            let f = match f {
                Fill::At(r, c) => Fill::At(r + rows, c),
                v => v,
            };
            (a + rows, b + rows, f)
        }));
        Ok(())
    }
}

/// One sheet (or one CSV file) with a recognised header: the data rows, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file as the user named it.
    pub file: String,
    /// Sheet name; None for CSV.
    pub sheet: Option<String>,
    /// Spreadsheet row number of the header row.
    pub header_row: u32,
    pub columns: Vec<Column>,
    /// Spreadsheet row number (1-based) of each data row; CSV: line of the record's first line.
    numbers: Vec<u32>,
    /// One entry per entry of `columns`, same order.
    cells: Vec<ColumnCells>,
    pub skipped_rows: Vec<SkippedRow>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(file: &str, sheet: Option<&str>, header_row: u32, columns: Vec<Column>) -> Table {
        Table {
            file: file.to_string(),
            sheet: sheet.map(str::to_string),
            header_row,
            cells: vec![ColumnCells::default(); columns.len()],
            columns,
            numbers: Vec::new(),
            skipped_rows: Vec::new(),
        }
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The spreadsheet row number of data row `row`.
    pub fn row_number(&self, row: usize) -> u32 {
        self.numbers.get(row).copied().unwrap_or(0)
    }

    pub fn row_numbers(&self) -> &[u32] {
        &self.numbers
    }

    /// The cell of data row `row` in column `col` (a position in `columns`); Empty out of range.
    /// A cell inside a merged range reads as the range's top-left cell.
    pub fn cell(&self, row: usize, col: usize) -> CellRef<'_> {
        self.resolve(row, col, 0)
    }

    fn resolve(&self, row: usize, col: usize, depth: u8) -> CellRef<'_> {
        match self.cells.get(col).map(|c| c.get(row)) {
            Some(Slot::Cell(c)) => c,
            Some(Slot::Fill(Fill::Value(v))) => v.as_ref(),
            // Merges are applied in order, so a top-left cell can itself be filled by an
            // earlier merge; a longer chain only a hostile file builds.
            Some(Slot::Fill(&Fill::At(r, c))) if depth < 4 => {
                self.resolve(r as usize, c as usize, depth + 1)
            }
            _ => CellRef::Empty,
        }
    }

    /// Every cell of data row `row`, one per column.
    pub fn row(&self, row: usize) -> Vec<CellRef<'_>> {
        (0..self.cells.len()).map(|c| self.cell(row, c)).collect()
    }

    /// Give the empty cells a merged range covers in this table's data rows and header columns
    /// the range's top-left value; `outside` gives a top-left cell that is not in the table
    /// (0-based sheet row and column). Merges are applied in order; at most `budget` cells are
    /// filled, so a hostile list of huge merges costs no more than the table itself.
    pub(crate) fn apply_merges(
        &mut self,
        merges: &[sheet::Merge],
        outside: impl Fn(u32, u32) -> Option<Cell>,
        mut budget: u64,
    ) {
        for m in merges {
            let number = |r0: u32| r0.saturating_add(1);
            let lo = self.numbers.partition_point(|&n| n < number(m.start.0));
            let hi = self.numbers.partition_point(|&n| n <= number(m.end.0));
            if lo >= hi {
                continue;
            }
            let src_row = self.numbers.binary_search(&number(m.start.0)).ok();
            let src_col = self
                .columns
                .iter()
                .position(|c| c.index == m.start.1 as usize);
            let fill = match (src_row, src_col) {
                (Some(r), Some(c)) => {
                    if self.cells[c].is_vacant(r) {
                        continue;
                    }
                    Fill::At(r as u32, c as u32)
                }
                _ => match outside(m.start.0, m.start.1) {
                    Some(v) if v != Cell::Empty => Fill::Value(v),
                    _ => continue,
                },
            };
            // Columns are in sheet order: only those inside the merge are visited.
            let first = self
                .columns
                .partition_point(|c| c.index < m.start.1 as usize);
            let last = self
                .columns
                .partition_point(|c| c.index <= m.end.1 as usize);
            for j in first..last {
                let col = &mut self.cells[j];
                let mut run: Option<(u32, u32)> = None;
                for i in lo..hi {
                    let fillable = col.is_vacant(i) && (Some(i), Some(j)) != (src_row, src_col);
                    if fillable && budget > 0 {
                        budget -= 1;
                        col.ends[i] |= OTHER;
                        run = Some(run.map_or((i as u32, i as u32), |(a, _)| (a, i as u32)));
                    } else if let Some((a, b)) = run.take() {
                        col.fills.push((a, b, fill.clone()));
                    }
                }
                if let Some((a, b)) = run {
                    col.fills.push((a, b, fill.clone()));
                }
            }
        }
        for col in &mut self.cells {
            col.fills.sort_by_key(|(first, _, _)| *first);
        }
    }

    /// The data rows one by one, each gathered from the columns (for tests and tools; the
    /// checks read columns).
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.len()).map(|i| Row {
            number: self.row_number(i),
            cells: self.row(i),
        })
    }

    /// Add a data row: one cell per column, in column order (missing ones are empty).
    pub fn push_row<'c>(
        &mut self,
        number: u32,
        cells: impl IntoIterator<Item = CellRef<'c>>,
    ) -> Result<(), ColumnTooLarge> {
        let mut it = cells.into_iter();
        for col in &mut self.cells {
            col.push(it.next().unwrap_or(CellRef::Empty))?;
        }
        self.numbers.push(number);
        Ok(())
    }

    /// Join tables with the same columns read from consecutive parts of one file, in order.
    pub(crate) fn concat(parts: Vec<Table>) -> Result<Option<Table>, ColumnTooLarge> {
        let mut it = parts.into_iter();
        let Some(mut first) = it.next() else {
            return Ok(None);
        };
        let rest: Vec<Table> = it.collect();
        // Reserved once: growing a 400 MB column by doubling would copy it and briefly hold
        // twice its size.
        for (j, col) in first.cells.iter_mut().enumerate() {
            let text: usize = rest.iter().map(|t| t.cells[j].text.len()).sum();
            let rows: usize = rest.iter().map(|t| t.cells[j].ends.len()).sum();
            col.text.reserve_exact(text);
            col.ends.reserve_exact(rows);
        }
        first
            .numbers
            .reserve_exact(rest.iter().map(Table::len).sum());
        for t in rest {
            for (mine, theirs) in first.cells.iter_mut().zip(t.cells) {
                mine.append(theirs)?;
            }
            first.numbers.extend(t.numbers);
            first.skipped_rows.extend(t.skipped_rows);
        }
        Ok(Some(first))
    }

    /// Position in `columns` of a canonical field.
    pub fn column_of(&self, field: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.field.as_deref() == Some(field))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputStatus {
    Checked,
    Skipped,
    Unreadable,
}

/// One entry of the JSON `inputs` list: a sheet, or a whole file when it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct InputEntry {
    pub file: String,
    pub sheet: Option<String>,
    pub header_row: Option<u32>,
    pub rows: usize,
    pub skipped_rows: usize,
    pub status: InputStatus,
    /// Why the entry was not checked, or what a checked one lacks (an xlsb's merged cells);
    /// rendered in the run's language by the writers.
    pub reason: Option<Reason>,
    /// Non-blank header texts, as written, that matched no field: a column the schema does not
    /// know must be shown to the clerk, never dropped silently.
    pub unmapped_columns: Vec<String>,
}

impl InputEntry {
    /// The reason in `lang`, as the writers show it.
    pub fn reason_text(&self, lang: crate::finding::Lang) -> Option<String> {
        self.reason.as_ref().map(|r| r.text(lang))
    }
}

/// Encoding override for CSV (`--encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Auto,
    Utf8,
    Gbk,
    Utf16Le,
    Utf16Be,
}

/// Told how many more rows were read, every [`RowProgress::EVERY`] rows and at the end of each
/// part of a file (the total is every row below the header): so a bar can move while one large
/// file is read.
#[derive(Clone)]
pub struct RowProgress(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl RowProgress {
    pub const EVERY: u64 = 1 << 16;
}

impl std::fmt::Debug for RowProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowProgress")
    }
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub encoding: Encoding,
    /// Refuse a zip entry that declares more than this many inflated bytes.
    pub max_inflated_bytes: u64,
    /// Refuse a sheet with more non-empty cells than this, or whose table (data rows × header
    /// columns) would be larger. Bounds memory whatever the file declares.
    pub max_cells: u64,
    pub progress: Option<RowProgress>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            encoding: Encoding::Auto,
            // A full sheet of the national layout (1,048,575 people × 47 columns) written with
            // inline strings inflates to about 2.3 GB; sheets are streamed, so this bounds time,
            // not memory, and zip bombs are caught by the compression ratio first.
            max_inflated_bytes: 8 << 30,
            // Tables hold a cell in about 4 bytes plus its text: 100 M cells (a full sheet of
            // 95 columns) is a few GB, and a full sheet of the national layout (~50 M) fits.
            max_cells: 100_000_000,
            progress: None,
        }
    }
}

/// Why a file (or sheet) could not be read. Rendered by the CLI edge as a miette report.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("{file}: 无法打开文件: {reason}")]
    #[diagnostic(code(povcheck::read::open))]
    Open { file: String, reason: Reason },
    /// The file's content cannot be read: damaged, encrypted, over a limit, undecodable text,
    /// ragged CSV, or not a spreadsheet at all.
    #[error("{file}: 文件无法读取: {reason}")]
    #[diagnostic(code(povcheck::read::format))]
    Format { file: String, reason: Reason },
    /// Every reason already says "没有找到表头 …" or why (an empty sheet), so the message does not
    /// repeat it.
    #[error("{file}: {reason}")]
    #[diagnostic(
        code(povcheck::read::no_header),
        help("表头应包含 姓名、证件号码、户编号 等列名")
    )]
    NoHeader { file: String, reason: Reason },
    #[error("{file}{}: {reason}", sheet.as_ref().map(|s| format!(" [{s}]")).unwrap_or_default())]
    #[diagnostic(code(povcheck::read::content))]
    Content {
        file: String,
        sheet: Option<String>,
        reason: Reason,
    },
}

impl Error {
    pub fn file(&self) -> &str {
        match self {
            Error::Open { file, .. }
            | Error::Format { file, .. }
            | Error::NoHeader { file, .. }
            | Error::Content { file, .. } => file,
        }
    }

    pub fn reason(&self) -> &Reason {
        match self {
            Error::Open { reason, .. }
            | Error::Format { reason, .. }
            | Error::NoHeader { reason, .. }
            | Error::Content { reason, .. } => reason,
        }
    }

    /// The diagnostic in `lang`: Chinese is this error itself; English carries the same code.
    pub fn report(self, lang: crate::finding::Lang) -> miette::Report {
        use crate::finding::Lang;
        if lang == Lang::Zh {
            return miette::Report::new(self);
        }
        let reason = self.reason().text(lang);
        let (message, code, help) = match &self {
            Error::Open { file, .. } => (
                format!("{file}: cannot open the file: {reason}"),
                "povcheck::read::open",
                None,
            ),
            Error::Format { file, .. } => (
                format!("{file}: the file cannot be read: {reason}"),
                "povcheck::read::format",
                None,
            ),
            Error::NoHeader { file, .. } => (
                format!("{file}: {reason}"),
                "povcheck::read::no_header",
                Some("the header should hold column names such as 姓名, 证件号码, 户编号"),
            ),
            Error::Content { file, sheet, .. } => (
                format!(
                    "{file}{}: {reason}",
                    sheet
                        .as_ref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default()
                ),
                "povcheck::read::content",
                None,
            ),
        };
        let mut d = miette::MietteDiagnostic::new(message).with_code(code);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        miette::Report::new(d)
    }
}

/// What reading one file produced: its tables, one input entry per sheet, and an error when the
/// file (or part of it) could not be read.
#[derive(Debug, Default)]
pub struct FileRead {
    pub tables: Vec<Table>,
    pub inputs: Vec<InputEntry>,
    pub errors: Vec<Error>,
}

/// Read one input file. Never panics; an unreadable file yields an `unreadable` input entry and
/// an error, so the rest of the batch is still checked.
pub fn read_file(
    path: &Path,
    display: &str,
    opts: &ReadOptions,
    matcher: &HeaderMatcher,
) -> FileRead {
    // Last line of defence: a parser bug on hostile bytes must cost this file, not the batch.
    let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_any(path, display, opts, matcher)
    }));
    match guarded {
        Ok(r) => r,
        Err(_) => unreadable(Error::Format {
            file: display.to_string(),
            reason: Reason::Internal,
        }),
    }
}

/// A file-level failure: one unreadable entry carrying the error's reason, and the error.
fn unreadable(err: Error) -> FileRead {
    let reason = err.reason().clone();
    FileRead {
        tables: Vec::new(),
        inputs: vec![InputEntry {
            file: err.file().to_string(),
            sheet: None,
            header_row: None,
            rows: 0,
            skipped_rows: 0,
            status: InputStatus::Unreadable,
            reason: Some(reason),
            unmapped_columns: Vec::new(),
        }],
        errors: vec![err],
    }
}

const WORKBOOK_EXTS: &[&str] = &["xlsx", "xlsm", "xltx", "xltm", "xlsb", "xls", "ods"];

fn read_any(path: &Path, display: &str, opts: &ReadOptions, matcher: &HeaderMatcher) -> FileRead {
    let file = display.to_string();
    let format_err = |reason: Reason| {
        unreadable(Error::Format {
            file: file.clone(),
            reason,
        })
    };
    let (mut reader, head, len) = match limits::open_head(path) {
        Ok(x) => x,
        Err(reason) => return unreadable(Error::Open { file, reason }),
    };
    if len == 0 {
        return format_err(Reason::EmptyFile);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let sheets = match limits::sniff(&head) {
        limits::Kind::Xlsx | limits::Kind::Xlsb | limits::Kind::Ods => {
            let kind = match limits::check_zip(&mut reader, opts.max_inflated_bytes) {
                Ok(k) => k,
                Err(reason) => return format_err(reason),
            };
            if matches!(kind, limits::Kind::Xlsx | limits::Kind::Xlsb) {
                let checked = std::io::Seek::rewind(&mut reader)
                    .map_err(|e| Reason::Io(e.to_string()))
                    .and_then(|()| match kind {
                        limits::Kind::Xlsb => {
                            limits::check_xlsb_strings(&mut reader, opts.max_cells)
                        }
                        _ => limits::check_xlsx_strings(&mut reader, opts.max_cells),
                    });
                if let Err(reason) = checked {
                    return format_err(reason);
                }
            }
            if let Err(e) = std::io::Seek::rewind(&mut reader) {
                return unreadable(Error::Open {
                    file,
                    reason: Reason::Io(e.to_string()),
                });
            }
            match kind {
                limits::Kind::Xlsb => workbook::read_xlsb(reader, display, matcher, opts),
                limits::Kind::Ods => {
                    // content.xml once more for the merges calamine does not read, and for
                    // the repeat counts it would expand, before it expands them.
                    let scanned = match std::fs::File::open(path) {
                        Ok(f) => ods::scan_ods(
                            std::io::BufReader::new(f),
                            opts.max_inflated_bytes,
                            opts.max_cells,
                        ),
                        Err(_) => Err(None),
                    };
                    match scanned {
                        Err(Some(reason)) => return format_err(reason),
                        scanned => workbook::read_ods(reader, opts.max_cells, scanned.ok()),
                    }
                }
                _ => {
                    // A second handle for the merge scan; if the file cannot be opened twice,
                    // calamine finds the merges after the cells instead.
                    let second = std::fs::File::open(path).ok().map(std::io::BufReader::new);
                    workbook::read_xlsx(reader, second, display, matcher, opts)
                }
            }
        }
        limits::Kind::Cfb => {
            let bytes = match read_bounded(reader, len, opts) {
                Ok(b) => b,
                Err(e) => return unreadable(e.into_error(file)),
            };
            if limits::cfb_is_encrypted(&bytes) {
                return format_err(Reason::Encrypted);
            }
            if let Err(reason) = limits::check_cfb(&bytes, opts.max_cells) {
                return format_err(reason);
            }
            workbook::read_xls(std::io::Cursor::new(bytes), opts.max_cells)
        }
        limits::Kind::Text => {
            if WORKBOOK_EXTS.contains(&ext.as_str()) {
                return format_err(Reason::NotAWorkbook { ext });
            }
            let bytes = match read_bounded(reader, len, opts) {
                Ok(b) => b,
                Err(e) => return unreadable(e.into_error(file)),
            };
            return read_csv_file(&bytes, display, opts, matcher);
        }
    };
    let t0 = std::time::Instant::now();
    let r = match sheets {
        Ok(sheets) => tables_of(sheets, display, matcher),
        Err(reason) => format_err(reason),
    };
    crate::timing::timing("read: tables", t0);
    r
}

enum ReadFail {
    Io(std::io::Error),
    TooBig(u64),
}

impl ReadFail {
    fn into_error(self, file: String) -> Error {
        match self {
            ReadFail::Io(e) => Error::Open {
                file,
                reason: Reason::Io(e.to_string()),
            },
            ReadFail::TooBig(max) => Error::Format {
                file,
                reason: Reason::FileTooLarge { max },
            },
        }
    }
}

/// Whole-file read for formats parsed in memory (xls, CSV), refused above the inflate limit.
fn read_bounded(
    mut r: impl std::io::Read,
    len: u64,
    opts: &ReadOptions,
) -> Result<Vec<u8>, ReadFail> {
    if len > opts.max_inflated_bytes {
        return Err(ReadFail::TooBig(opts.max_inflated_bytes));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    r.read_to_end(&mut bytes).map_err(ReadFail::Io)?;
    Ok(bytes)
}

fn read_csv_file(
    bytes: &[u8],
    display: &str,
    opts: &ReadOptions,
    matcher: &HeaderMatcher,
) -> FileRead {
    match csv::read_csv(bytes, display, opts, matcher) {
        Ok(table) => FileRead {
            inputs: vec![checked_entry(&table)],
            tables: vec![table],
            errors: Vec::new(),
        },
        Err(csv::CsvProblem::NoHeader(reason)) => unreadable(Error::NoHeader {
            file: display.to_string(),
            reason,
        }),
        Err(csv::CsvProblem::Bad(reason)) => unreadable(Error::Format {
            file: display.to_string(),
            reason,
        }),
    }
}

fn checked_entry(t: &Table) -> InputEntry {
    InputEntry {
        file: t.file.clone(),
        sheet: t.sheet.clone(),
        header_row: Some(t.header_row),
        rows: t.len(),
        skipped_rows: t.skipped_rows.len(),
        status: InputStatus::Checked,
        reason: None,
        unmapped_columns: t
            .columns
            .iter()
            .filter(|c| c.field.is_none() && !c.header.trim().is_empty())
            .map(|c| c.header.clone())
            .collect(),
    }
}

/// One entry per sheet; a file where no sheet has a header is unreadable as a whole.
fn tables_of(sheets: Vec<workbook::SheetRead>, display: &str, matcher: &HeaderMatcher) -> FileRead {
    let mut out = FileRead::default();
    if sheets.is_empty() {
        return unreadable(Error::Format {
            file: display.to_string(),
            reason: Reason::NoSheets,
        });
    }
    let entry = |sheet: &str, status, reason: Reason| InputEntry {
        file: display.to_string(),
        sheet: Some(sheet.to_string()),
        header_row: None,
        rows: 0,
        skipped_rows: 0,
        status,
        reason: Some(reason),
        unmapped_columns: Vec::new(),
    };
    for s in sheets {
        let problem = match s.result {
            Ok((sheet, merges)) => {
                match sheet.into_table(display, Some(&s.name), &merges, matcher) {
                    Ok(table) => {
                        out.inputs.push(InputEntry {
                            reason: s.note,
                            ..checked_entry(&table)
                        });
                        out.tables.push(table);
                        continue;
                    }
                    Err(p) => workbook::SheetError::from(p),
                }
            }
            Err(e) => e,
        };
        match problem {
            workbook::SheetError::NotData(reason) => {
                out.inputs
                    .push(entry(&s.name, InputStatus::Skipped, reason));
            }
            workbook::SheetError::Broken(reason) => {
                out.inputs
                    .push(entry(&s.name, InputStatus::Unreadable, reason.clone()));
                out.errors.push(Error::Content {
                    file: display.to_string(),
                    sheet: Some(s.name.clone()),
                    reason,
                });
            }
        }
    }
    if out.tables.is_empty() {
        for e in &mut out.inputs {
            e.status = InputStatus::Unreadable;
        }
        if out.errors.is_empty() {
            let reasons = out
                .inputs
                .iter()
                .map(|e| {
                    (
                        e.sheet.clone().unwrap_or_default(),
                        e.reason.clone().unwrap_or(Reason::Plain(String::new())),
                    )
                })
                .collect();
            out.errors.push(Error::NoHeader {
                file: display.to_string(),
                reason: Reason::NoSheetHasHeader(reasons),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(n: usize) -> Vec<Column> {
        (0..n)
            .map(|i| Column {
                index: i,
                header: format!("h{i}"),
                field: None,
            })
            .collect()
    }

    fn build(rows: &[Vec<Cell>], first: u32) -> Table {
        let mut t = Table::new("f.xlsx", Some("S"), 1, columns(6));
        for (i, r) in rows.iter().enumerate() {
            t.push_row(first + i as u32, r.iter().map(Cell::as_ref))
                .unwrap();
        }
        t
    }

    #[test]
    fn every_kind_of_cell_comes_back_after_push_and_concat() {
        let rows: Vec<Vec<Cell>> = (0..50)
            .map(|r| {
                vec![
                    Cell::Text(format!("甲{r}")),
                    if r % 3 == 0 {
                        Cell::Number(r as f64 + 0.5)
                    } else {
                        Cell::Text(format!("{r}"))
                    },
                    Cell::Empty,
                    match r % 7 {
                        0 => Cell::Error("#N/A".into()),
                        1 => Cell::DateTime(25569.0),
                        2 => Cell::Int(-r),
                        _ => Cell::Empty,
                    },
                    Cell::Bool(r % 2 == 0),
                    Cell::Text(" ".repeat(r as usize % 3)),
                ]
            })
            .collect();
        let whole = build(&rows, 2);
        assert_eq!(whole.len(), 50);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(whole.row_number(i), i as u32 + 2);
            for (j, c) in r.iter().enumerate() {
                // An empty text is stored as nothing at all.
                let want = match c {
                    Cell::Text(s) if s.is_empty() => Cell::Empty,
                    c => c.clone(),
                };
                assert_eq!(whole.cell(i, j), want, "row {i} column {j}");
            }
        }
        let parts = vec![
            build(&rows[..17], 2),
            build(&rows[17..18], 19),
            build(&rows[18..], 20),
        ];
        let joined = Table::concat(parts).unwrap().unwrap();
        assert_eq!(
            joined.rows().collect::<Vec<_>>(),
            whole.rows().collect::<Vec<_>>()
        );
        assert_eq!(whole.cell(50, 0), CellRef::Empty);
        assert_eq!(whole.cell(0, 6), CellRef::Empty);
    }
}
