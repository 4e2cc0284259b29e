//! Reading what clerks really have: xlsx/xlsm/xlsb/xls/ods workbooks and CSV in UTF-8, GBK/GB18030
//! or UTF-16, into [`Table`]s of raw cells with provenance.
//!
//! Invariants: every non-blank row below a found header is either in `Table::rows` or in
//! `Table::skipped_rows` with a reason; the row number is the one the spreadsheet shows (CSV: the
//! 1-based line of the record's first line); values are as the clerk sees them (no type coercion
//! here; a numeric cell stays [`Cell::Number`] so later stages can tell an ID lost to Excel).

pub mod header;

use std::path::Path;

pub use header::{HeaderMatcher, normalize_header};

/// One cell as read, before any schema typing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// A numeric cell (xlsx numbers are floats, .xls integers may be ints).
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A date/time cell, as the Excel serial number (days since 1899-12-30).
    DateTime(f64),
    /// An error cell such as `#N/A` or `#DIV/0!`.
    Error(String),
}

impl Cell {
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Spreadsheet row number (1-based); CSV: line of the record's first line.
    pub number: u32,
    /// One cell per entry of `Table::columns`, same order.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRow {
    pub number: u32,
    pub reason: String,
}

/// One sheet (or one CSV file) with a recognised header.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The file as the user named it.
    pub file: String,
    /// Sheet name; None for CSV.
    pub sheet: Option<String>,
    /// Spreadsheet row number of the header row.
    pub header_row: u32,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub skipped_rows: Vec<SkippedRow>,
}

impl Table {
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
    pub reason: Option<String>,
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

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub encoding: Encoding,
    /// Refuse a zip entry that declares more than this many inflated bytes.
    pub max_inflated_bytes: u64,
    /// Refuse a sheet with more cells than this (bounds memory on lying dimensions).
    pub max_cells: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            encoding: Encoding::Auto,
            max_inflated_bytes: 2 << 30,
            max_cells: 200_000_000,
        }
    }
}

/// Why a file (or sheet) could not be read. Rendered by the CLI edge as a miette report.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("{file}: 无法打开文件: {reason}")]
    #[diagnostic(code(povcheck::read::open))]
    Open { file: String, reason: String },
    #[error("{file}: 文件格式无法识别: {reason}")]
    #[diagnostic(code(povcheck::read::format))]
    Format { file: String, reason: String },
    #[error("{file}: 没有找到表头: {reason}")]
    #[diagnostic(
        code(povcheck::read::no_header),
        help("表头应包含 姓名、证件号码、户编号 等列名")
    )]
    NoHeader { file: String, reason: String },
    #[error("{file}{}: {reason}", sheet.as_ref().map(|s| format!(" [{s}]")).unwrap_or_default())]
    #[diagnostic(code(povcheck::read::content))]
    Content {
        file: String,
        sheet: Option<String>,
        reason: String,
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
    let _ = (path, opts, matcher);
    FileRead {
        tables: Vec::new(),
        inputs: vec![InputEntry {
            file: display.to_string(),
            sheet: None,
            header_row: None,
            rows: 0,
            skipped_rows: 0,
            status: InputStatus::Unreadable,
            reason: Some("reader not implemented yet".into()),
        }],
        errors: Vec::new(),
    }
}
