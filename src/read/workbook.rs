//! Reading every sheet of an xlsx/xlsm, xlsb, xls or ods workbook (hidden sheets too) into
//! sparse sheets with their merged ranges, through calamine.
//!
//! xlsx and xlsb are read as a cell stream, so a far-away cell or a lying dimension record costs
//! nothing. xls and ods can only be read as a whole range; their formats bound the extent (xls:
//! 65,536 × 256) and calamine caps ods, and the sheet is refused above `max_cells`.

use std::io::{Read, Seek};

use calamine::{Data, DataRef, Ods, Reader, Xls, Xlsb, Xlsx};

use super::header::HeaderMatcher;
use super::sheet::{Merge, Pending, SheetProblem, SheetStream, SparseSheet};
use super::{Cell, CellRef, Reason, Unit};

/// One sheet as read: its name and either its cells and merges or why it could not be read.
pub struct SheetRead<'m> {
    pub name: String,
    pub result: Result<(Pending<'m>, Vec<Merge>), SheetError>,
    /// Said on the input even when the sheet is checked: its merged ranges could not be read.
    pub note: Option<Reason>,
}

#[derive(Debug)]
pub enum SheetError {
    /// Not a worksheet (chart sheet, dialog sheet): skipped, not an error.
    NotData(Reason),
    /// Too many cells, or the sheet XML/records are broken: the sheet is unreadable.
    Broken(Reason),
}

impl From<SheetProblem> for SheetError {
    fn from(p: SheetProblem) -> Self {
        match p {
            SheetProblem::TooManyCells(max) => SheetError::Broken(Reason::TooManyCells {
                max,
                unit: Unit::Sheet,
            }),
            SheetProblem::NoHeader(r) => SheetError::NotData(r),
            SheetProblem::ColumnTooLarge => SheetError::Broken(Reason::ColumnTooLarge),
            // Handled where sheets are streamed (read whole instead); never reaches a user.
            SheetProblem::OutOfOrder => SheetError::Broken(Reason::RowsOutOfOrder),
        }
    }
}

/// Hand a calamine cell to `f` as a [`CellRef`], borrowing its text (a shared string is not
/// copied per cell).
fn with_ref<T>(d: &DataRef<'_>, f: impl FnOnce(CellRef<'_>) -> T) -> T {
    match d {
        DataRef::Empty => f(CellRef::Empty),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            f(CellRef::Text(s))
        }
        DataRef::SharedString(s) => f(CellRef::Text(s)),
        DataRef::Float(x) => f(CellRef::Number(*x)),
        DataRef::Int(i) => f(CellRef::Int(*i)),
        DataRef::Bool(b) => f(CellRef::Bool(*b)),
        DataRef::DateTime(d) => f(CellRef::DateTime(serial_1900(d))),
        DataRef::Error(e) => f(CellRef::Error(&e.to_string())),
    }
}

pub fn data_ref_cell(d: DataRef<'_>) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Float(f) => Cell::Number(f),
        DataRef::Int(i) => Cell::Int(i),
        DataRef::Bool(b) => Cell::Bool(b),
        DataRef::DateTime(d) => Cell::DateTime(serial_1900(&d)),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

pub fn data_cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Int(*i),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => Cell::DateTime(serial_1900(d)),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// The serial in the 1900 date system whatever the workbook uses: a 1904-epoch workbook (old
/// Mac Excel) stores dates 1,462 days lower, and `Cell::DateTime` promises days since
/// 1899-12-30. calamine does not expose the epoch, but its own date conversion knows it.
pub fn serial_1900(d: &calamine::ExcelDateTime) -> f64 {
    let raw = d.as_f64();
    if !d.is_datetime() {
        return raw;
    }
    let Some(base) =
        chrono::NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|b| b.and_hms_opt(0, 0, 0))
    else {
        return raw;
    };
    let Some(dt) = d.as_datetime() else {
        return raw;
    };
    let converted = (dt - base).num_milliseconds() as f64 / 86_400_000.0;
    // Only the exact 1904 shift is taken: elsewhere the raw serial is kept, so the 1900 system's
    // fictitious 1900-02-29 cannot move early dates by a day.
    if (converted - raw - 1462.0).abs() < 1e-6 {
        converted
    } else {
        raw
    }
}

fn merge(d: &calamine::Dimensions) -> Merge {
    Merge {
        start: d.start,
        end: d.end,
    }
}

/// Open an xlsx/xlsm and stream every sheet into its table. `second`, another handle on the
/// same file, finds the merged ranges on another thread meanwhile ([`super::merges`]); without
/// it, or when that fails, calamine finds them. Err: the workbook itself cannot be opened.
pub fn read_xlsx<'m, RS, R2>(
    reader: RS,
    second: Option<R2>,
    display: &str,
    matcher: &'m HeaderMatcher,
    opts: &super::ReadOptions,
) -> Result<Vec<SheetRead<'m>>, Reason>
where
    RS: Read + Seek + Send,
    R2: Read + Seek + Send,
{
    let stream = || -> Result<_, Reason> {
        let mut wb: Xlsx<RS> = Xlsx::new(reader).map_err(|e| open_reason(&e.to_string()))?;
        let names = wb.sheet_names();
        let mut sheets = Vec::with_capacity(names.len());
        for name in names {
            let t0 = std::time::Instant::now();
            let result = stream_xlsx(&mut wb, &name, display, matcher, opts);
            crate::timing::timing("read: cells", t0);
            sheets.push((name, result));
        }
        Ok((wb, sheets))
    };
    let (streamed, scanned) = rayon::join(stream, || {
        second.and_then(|r| super::merges::xlsx_merges(r, opts.max_inflated_bytes).ok())
    });
    let (mut wb, sheets) = streamed?;
    let mut out = Vec::with_capacity(sheets.len());
    for (name, result) in sheets {
        let result = result.map(|sheet| {
            let merges = match &scanned {
                Some(found) => found.get(&name).cloned().unwrap_or_default(),
                None => wb
                    .merge_cells_by_sheet_name(&name)
                    .map(|v| v.iter().map(merge).collect())
                    .unwrap_or_default(),
            };
            (sheet, merges)
        });
        out.push(SheetRead {
            name,
            result,
            note: None,
        });
    }
    Ok(out)
}

fn stream_xlsx<'m, RS: Read + Seek>(
    wb: &mut Xlsx<RS>,
    name: &str,
    display: &str,
    matcher: &'m HeaderMatcher,
    opts: &super::ReadOptions,
) -> Result<Pending<'m>, SheetError> {
    let open_err = |e: calamine::XlsxError| match e {
        calamine::XlsxError::NotAWorksheet(t) => SheetError::NotData(Reason::NotAWorksheet(t)),
        e => SheetError::Broken(Reason::SheetUnreadable(e.to_string())),
    };
    stream_or_whole(display, name, matcher, opts, |push| {
        let mut cells = wb.worksheet_cells_reader(name).map_err(open_err)?;
        feed(|| cells.next_cell(), push)
    })
}

/// One sheet streamed into its table; when its rows turn out to be stored out of order
/// (hand-made or rewritten files), read again, whole. `read` opens the sheet's cell reader and
/// feeds every cell to the given sink (see [`feed`]); it may be called twice.
fn stream_or_whole<'m>(
    display: &str,
    name: &str,
    matcher: &'m HeaderMatcher,
    opts: &super::ReadOptions,
    mut read: impl FnMut(
        &mut (dyn FnMut(u32, u32, CellRef<'_>) -> Result<(), SheetProblem> + Send),
    ) -> Result<bool, SheetError>,
) -> Result<Pending<'m>, SheetError> {
    let mut stream = SheetStream::new(display, Some(name), matcher, opts.max_cells)
        .with_progress(opts.progress.clone());
    if read(&mut |r, c, v| stream.push(r, c, v))? {
        return Ok(Pending::Stream(Box::new(stream)));
    }
    let mut sheet = SparseSheet::new(opts.max_cells);
    read(&mut |r, c, v| sheet.push(r, c, v.to_owned()))?;
    Ok(Pending::Whole(sheet))
}

/// Hand every cell of a calamine cell reader (the xlsx and xlsb readers share no trait, so
/// `next` is the reader's `next_cell`) to `push`. Ok(false) when `push` found the rows out of
/// order and the rest was not read.
///
/// The reader is single-threaded and takes most of a large workbook's read (a million rows:
/// 21 s of inflating and parsing XML); building the table from its cells took another 3 s on
/// the same core. So `push` runs on a thread of its own, fed batches of cells through a short
/// queue, and keeps up behind the reader. What is reported is what a front-to-back read
/// reports: a problem `push` meets comes before a read error past it, and once `push` stops
/// the reader stops too.
fn feed<'a, E: std::fmt::Display>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    push: &mut (dyn FnMut(u32, u32, CellRef<'_>) -> Result<(), SheetProblem> + Send),
) -> Result<bool, SheetError> {
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let builder = scope.spawn(move || -> Result<bool, SheetProblem> {
            for mut batch in full_rx {
                for &(r, c, slot) in &batch.cells {
                    match push(r, c, batch.cell(slot)) {
                        Err(SheetProblem::OutOfOrder) => return Ok(false),
                        other => other?,
                    }
                }
                batch.clear();
                // The reader may have finished and gone: then the buffer is just dropped.
                let _ = empty_tx.send(batch);
            }
            Ok(true)
        });
        let mut batch = Batch::default();
        let read = loop {
            match next() {
                Ok(Some(c)) => {
                    let (r, col) = c.get_position();
                    batch.push(r, col, c.get_value());
                    if batch.is_full() {
                        let spare = empty_rx.try_recv().unwrap_or_default();
                        // The builder stopped (rows out of order, a problem): it says why.
                        if full_tx.send(std::mem::replace(&mut batch, spare)).is_err() {
                            break Ok(());
                        }
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(SheetError::Broken(Reason::SheetDamaged(e.to_string()))),
            }
        };
        if !batch.cells.is_empty() {
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        let built = builder
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match built {
            Err(problem) => Err(problem.into()),
            Ok(false) => Ok(false),
            Ok(true) => read.map(|()| true),
        }
    })
}

/// Cells on their way from the reading thread to the building one ([`feed`]): values as the
/// table takes them, their text copied into one buffer per batch (calamine lends each value
/// only until the next cell, and a `String` per cell would be an allocation per cell).
#[derive(Default)]
struct Batch {
    text: String,
    cells: Vec<(u32, u32, Slot)>,
}

/// A [`CellRef`] whose text is a range of its batch's buffer.
#[derive(Clone, Copy)]
enum Slot {
    Empty,
    Text(usize, usize),
    Number(f64),
    Int(i64),
    Bool(bool),
    DateTime(f64),
    Error(usize, usize),
}

impl Batch {
    /// Cells per batch: a few thousand keep the handing over cheap and the cells' vector under
    /// the size glibc maps fresh for every allocation.
    const CELLS: usize = 2048;
    /// Text per batch, so that a sheet of long texts still moves in small steps.
    const TEXT: usize = 1 << 20;

    fn push(&mut self, r: u32, c: u32, value: &DataRef<'_>) {
        let slot = with_ref(value, |cell| {
            let mut keep = |s: &str| {
                let start = self.text.len();
                self.text.push_str(s);
                (start, self.text.len())
            };
            match cell {
                CellRef::Empty => Slot::Empty,
                CellRef::Text(s) => {
                    let (a, b) = keep(s);
                    Slot::Text(a, b)
                }
                CellRef::Number(x) => Slot::Number(x),
                CellRef::Int(i) => Slot::Int(i),
                CellRef::Bool(b) => Slot::Bool(b),
                CellRef::DateTime(x) => Slot::DateTime(x),
                CellRef::Error(e) => {
                    let (a, b) = keep(e);
                    Slot::Error(a, b)
                }
            }
        });
        if self.cells.capacity() == 0 {
            self.cells.reserve(Self::CELLS);
        }
        self.cells.push((r, c, slot));
    }

    fn is_full(&self) -> bool {
        self.cells.len() >= Self::CELLS || self.text.len() >= Self::TEXT
    }

    fn cell(&self, slot: Slot) -> CellRef<'_> {
        let text = |a: usize, b: usize| self.text.get(a..b).unwrap_or_default();
        match slot {
            Slot::Empty => CellRef::Empty,
            Slot::Text(a, b) => CellRef::Text(text(a, b)),
            Slot::Number(x) => CellRef::Number(x),
            Slot::Int(i) => CellRef::Int(i),
            Slot::Bool(b) => CellRef::Bool(b),
            Slot::DateTime(x) => CellRef::DateTime(x),
            Slot::Error(a, b) => CellRef::Error(text(a, b)),
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.cells.clear();
    }
}

pub fn read_xlsb<'m, RS: Read + Seek>(
    reader: RS,
    display: &str,
    matcher: &'m HeaderMatcher,
    opts: &super::ReadOptions,
) -> Result<Vec<SheetRead<'m>>, Reason> {
    let mut wb: Xlsb<RS> = Xlsb::new(reader).map_err(|e| match e {
        calamine::XlsbError::Password => Reason::Encrypted,
        e => open_reason(&e.to_string()),
    })?;
    let types: std::collections::HashMap<String, calamine::SheetType> = wb
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.typ))
        .collect();
    let names = wb.sheet_names();
    let mut out = Vec::with_capacity(names.len());
    let open_err =
        |e: calamine::XlsbError| SheetError::Broken(Reason::SheetUnreadable(e.to_string()));
    for name in names {
        // calamine reads a chart sheet's records as cells and fails mid-record; the xlsx
        // reader says what it is, and so must this one.
        let kind = types.get(&name).copied();
        if let Some(t @ (calamine::SheetType::ChartSheet | calamine::SheetType::DialogSheet)) = kind
        {
            let t = match t {
                calamine::SheetType::ChartSheet => "chartsheet",
                _ => "dialogsheet",
            };
            out.push(SheetRead {
                name,
                result: Err(SheetError::NotData(Reason::NotAWorksheet(t.into()))),
                note: None,
            });
            continue;
        }
        let read = stream_or_whole(display, &name, matcher, opts, |push| {
            let mut cells = wb.worksheet_cells_reader(&name).map_err(open_err)?;
            feed(|| cells.next_cell(), push)
        });
        let result = read.map(|sheet| (sheet, Vec::new()));
        // calamine reads no merged ranges from xlsb.
        out.push(SheetRead {
            name,
            result,
            note: Some(Reason::MergesNotRead { format: "xlsb" }),
        });
    }
    Ok(out)
}

pub fn read_xls<'m, RS: Read + Seek>(
    reader: RS,
    max_cells: u64,
) -> Result<Vec<SheetRead<'m>>, Reason> {
    let mut wb: Xls<RS> = Xls::new(reader).map_err(|e| match e {
        calamine::XlsError::Password => Reason::Encrypted,
        e => open_reason(&e.to_string()),
    })?;
    let names = wb.sheet_names();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let merges: Vec<Merge> = wb
            .merge_cells_by_sheet_name(&name)
            .map(|v| v.iter().map(merge).collect())
            .unwrap_or_default();
        let result = wb
            .worksheet_range(&name)
            .map_err(|e| SheetError::Broken(Reason::SheetUnreadable(e.to_string())))
            .and_then(|range| range_to_sheet(&range, max_cells))
            .map(|s| (Pending::Whole(s), merges));
        out.push(SheetRead {
            name,
            result,
            note: None,
        });
    }
    Ok(out)
}

/// Read an ods; `scanned` is what [`super::ods::scan_ods`] found in content.xml (merges by
/// table), None when that pass could not read it.
pub fn read_ods<'m, RS: Read + Seek>(
    reader: RS,
    max_cells: u64,
    mut scanned: Option<std::collections::HashMap<String, super::ods::OdsTable>>,
) -> Result<Vec<SheetRead<'m>>, Reason> {
    let mut wb: Ods<RS> = Ods::new(reader).map_err(|e| match e {
        calamine::OdsError::Password => Reason::Encrypted,
        e => open_reason(&e.to_string()),
    })?;
    let names = wb.sheet_names();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let (merges, note) = match &mut scanned {
            Some(tables) => (
                tables.remove(&name).map(|t| t.merges).unwrap_or_default(),
                None,
            ),
            None => (Vec::new(), Some(Reason::MergesNotRead { format: "ods" })),
        };
        let result = wb
            .worksheet_range(&name)
            .map_err(|e| SheetError::Broken(Reason::SheetUnreadable(e.to_string())))
            .and_then(|range| range_to_sheet(&range, max_cells))
            .map(|s| (Pending::Whole(s), merges));
        out.push(SheetRead { name, result, note });
    }
    Ok(out)
}

fn range_to_sheet(
    range: &calamine::Range<Data>,
    max_cells: u64,
) -> Result<SparseSheet, SheetError> {
    let (h, w) = range.get_size();
    if (h as u64).saturating_mul(w as u64) > max_cells {
        return Err(SheetProblem::TooManyCells(max_cells).into());
    }
    let mut sheet = SparseSheet::new(max_cells);
    let Some((r0, c0)) = range.start() else {
        return Ok(sheet);
    };
    for (i, row) in range.rows().enumerate() {
        let r = r0.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
        for (j, v) in row.iter().enumerate() {
            let c = c0.saturating_add(u32::try_from(j).unwrap_or(u32::MAX));
            sheet.push(r, c, data_cell(v))?;
        }
    }
    Ok(sheet)
}

fn open_reason(e: &str) -> Reason {
    Reason::WorkbookDamaged(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn dates_become_1900_serials() {
        let d1900 = ExcelDateTime::new(25569.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(serial_1900(&d1900), 25569.0);
        let d1904 = ExcelDateTime::new(25569.0 - 1462.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(serial_1900(&d1904), 25569.0);
        let dur = ExcelDateTime::new(0.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(serial_1900(&dur), 0.5);
    }

    #[test]
    fn data_maps_to_cells() {
        assert_eq!(data_cell(&Data::Int(3)), Cell::Int(3));
        assert_eq!(data_cell(&Data::Float(1.5)), Cell::Number(1.5));
        assert_eq!(data_cell(&Data::Empty), Cell::Empty);
        assert_eq!(
            data_cell(&Data::Error(calamine::CellErrorType::Div0)),
            Cell::Error("#DIV/0!".into())
        );
        assert_eq!(
            data_ref_cell(DataRef::DateTimeIso("2017-12-31".into())),
            Cell::Text("2017-12-31".into())
        );
        assert_eq!(
            data_ref_cell(DataRef::SharedString("甲")),
            Cell::Text("甲".into())
        );
    }

    /// A reader over `cells` that fails with `fail` once they are all given, counting calls.
    fn reader<'a>(
        cells: &'a [(u32, u32, DataRef<'a>)],
        fail: Option<&'a str>,
        calls: &'a std::cell::Cell<usize>,
    ) -> impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, String> + 'a {
        let mut it = cells.iter();
        move || {
            calls.set(calls.get() + 1);
            match it.next() {
                Some((r, c, v)) => Ok(Some(calamine::Cell::new((*r, *c), v.clone()))),
                None => fail.map_or(Ok(None), |f| Err(f.to_string())),
            }
        }
    }

    fn mixed(n: u32) -> Vec<(u32, u32, DataRef<'static>)> {
        // One long text fills a batch's text buffer on its own; the rest fill its cell count.
        let long: &'static str = "长".repeat(Batch::TEXT / 2).leak();
        (0..n)
            .map(|i| {
                let v = match i % 7 {
                    0 => DataRef::SharedString(if i == 700 { long } else { "甲" }),
                    1 => DataRef::String(format!("s{i}")),
                    2 => DataRef::Float(f64::from(i) + 0.5),
                    3 => DataRef::Int(i64::from(i)),
                    4 => DataRef::Bool(i % 2 == 0),
                    5 => DataRef::Error(calamine::CellErrorType::NA),
                    _ => DataRef::Empty,
                };
                (i / 5, i % 5, v)
            })
            .collect()
    }

    #[test]
    fn fed_cells_arrive_in_order_with_their_text() {
        let cells = mixed(3 * Batch::CELLS as u32 + 17);
        let calls = std::cell::Cell::new(0);
        let mut got = Vec::new();
        let fed = feed(reader(&cells, None, &calls), &mut |r, c, v| {
            got.push((r, c, v.to_owned()));
            Ok(())
        });
        assert!(matches!(fed, Ok(true)));
        let want: Vec<_> = cells
            .iter()
            .map(|(r, c, v)| (*r, *c, data_ref_cell(v.clone())))
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "cells changed on the way");
    }

    #[test]
    fn a_read_error_comes_after_every_cell_before_it() {
        let cells = mixed(Batch::CELLS as u32 + 5);
        let calls = std::cell::Cell::new(0);
        let mut seen = 0;
        let fed = feed(reader(&cells, Some("bad xml"), &calls), &mut |_, _, _| {
            seen += 1;
            Ok(())
        });
        assert_eq!(seen, cells.len());
        match fed {
            Err(SheetError::Broken(Reason::SheetDamaged(e))) => assert_eq!(e, "bad xml"),
            other => panic!("expected the read error, got {other:?}"),
        }
    }

    #[test]
    fn a_problem_pushing_wins_over_a_later_read_error_and_stops_the_read() {
        // A short sheet is read to its error before the builder meets the problem; a long one
        // is not read to the end at all.
        let short = mixed(20);
        let long = mixed(200 * Batch::CELLS as u32);
        for (cells, problem, out_of_order) in [
            (&short, SheetProblem::OutOfOrder, true),
            (&short, SheetProblem::TooManyCells(10), false),
            (&long, SheetProblem::OutOfOrder, true),
            (&long, SheetProblem::TooManyCells(10), false),
        ] {
            let calls = std::cell::Cell::new(0);
            let mut seen = 0;
            let mut problem = Some(problem);
            let fed = feed(reader(cells, Some("bad xml"), &calls), &mut |_, _, _| {
                seen += 1;
                match seen {
                    10 => Err(problem.take().unwrap()),
                    _ => Ok(()),
                }
            });
            assert_eq!(seen, 10, "push is not called past its problem");
            if out_of_order {
                assert!(matches!(fed, Ok(false)), "{fed:?}");
            } else {
                assert!(
                    matches!(
                        fed,
                        Err(SheetError::Broken(Reason::TooManyCells { max: 10, .. }))
                    ),
                    "{fed:?}"
                );
            }
            // The reader stops within the batches in flight, not at the end of the sheet.
            assert!(
                calls.get() < 20 * Batch::CELLS,
                "read {} cells",
                calls.get()
            );
        }
    }
}
