//! Reading what clerks really have: xlsx/xlsm/xlsb/xls/ods workbooks and CSV in UTF-8, GBK/GB18030
//! or UTF-16, into [`Table`]s of raw cells with provenance.
//!
//! Invariants: every non-blank row below a found header is either in `Table::rows` or in
//! `Table::skipped_rows` with a reason; the row number is the one the spreadsheet shows (CSV: the
//! 1-based line of the record's first line); values are as the clerk sees them (no type coercion
//! here; a numeric cell stays [`Cell::Number`] so later stages can tell an ID lost to Excel).

pub(crate) mod csv;
pub(crate) mod encoding;
mod error;
pub mod header;
mod input;
pub mod layout;
mod limits;
pub mod lists;
mod merges;
pub(crate) mod ods;
pub mod raw;
mod reason;
mod sheet;
mod table;
mod workbook;

use std::path::Path;

pub use crate::cell::{Cell, CellRef};
pub use error::Error;
pub use header::{HeaderMatcher, normalize_header};
pub use input::{InputEntry, InputStatus};
pub use reason::{Reason, Unit};
pub use table::{Column, ColumnTooLarge, Row, SkippedRow, Table};

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
            let t0 = std::time::Instant::now();
            let bytes = match read_whole(reader, len, opts) {
                Ok(b) => b,
                Err(e) => return unreadable(e.into_error(file)),
            };
            crate::timing::timing("read: file into memory", t0);
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

/// [`read_bounded`] for a large file, read by every core at once: each reads its own part of
/// the file into its own part of the buffer, so the kernel's copying and the fresh pages'
/// faults are shared out (a quarter of a second, on one core, for a 435 MB CSV).
fn read_whole(
    mut reader: std::io::BufReader<std::fs::File>,
    len: u64,
    opts: &ReadOptions,
) -> Result<Vec<u8>, ReadFail> {
    /// Smallest part worth a thread of its own.
    const MIN_PART: usize = 8 << 20;
    #[cfg(unix)]
    if len <= opts.max_inflated_bytes
        && let Ok(size) = usize::try_from(len)
        && size >= 2 * MIN_PART
    {
        use rayon::prelude::*;
        use std::io::{Read, Seek};
        use std::os::unix::fs::FileExt;
        let parts = rayon::current_num_threads().clamp(1, size / MIN_PART);
        let chunk = size.div_ceil(parts);
        let mut bytes = vec![0u8; size];
        let file = reader.get_ref();
        let read = bytes
            .par_chunks_mut(chunk)
            .enumerate()
            .try_for_each(|(i, buf)| file.read_exact_at(buf, (i * chunk) as u64));
        match read {
            Ok(()) => {
                // Whatever was appended since the length was taken, as a plain read would.
                reader
                    .seek(std::io::SeekFrom::Start(len))
                    .and_then(|_| reader.read_to_end(&mut bytes))
                    .map_err(ReadFail::Io)?;
                return Ok(bytes);
            }
            // Shorter than its length said (cut while being read): read as it is now.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                drop(bytes);
                reader.rewind().map_err(ReadFail::Io)?;
            }
            Err(e) => return Err(ReadFail::Io(e)),
        }
    }
    read_bounded(reader, len, opts)
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

    #[test]
    fn a_large_file_read_in_parts_is_the_file() {
        // Big enough to be cut into parts; a length that no part size divides.
        let data: Vec<u8> = (0..(40u32 << 20) + 12_345)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, &data).unwrap();
        let (reader, _, len) = limits::open_head(&path).unwrap();
        let opts = ReadOptions::default();
        let read = read_whole(reader, len, &opts).ok().unwrap();
        assert!(read == data, "the bytes read differ from the file");
        // A length taken before the file grew: the rest is read too.
        let (reader, _, len) = limits::open_head(&path).unwrap();
        let read = read_whole(reader, len - 1_000_000, &opts).ok().unwrap();
        assert!(
            read == data,
            "the bytes appended after the length was taken are missing"
        );
        // A length taken before the file was cut: read as it is now.
        let (reader, _, len) = limits::open_head(&path).unwrap();
        let read = read_whole(reader, len + 1_000_000, &opts).ok().unwrap();
        assert!(
            read == data,
            "a file shorter than its length was not read as it is"
        );
    }
}
