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
        &mut dyn FnMut(u32, u32, &DataRef<'_>) -> Result<(), SheetProblem>,
    ) -> Result<bool, SheetError>,
) -> Result<Pending<'m>, SheetError> {
    let mut stream = SheetStream::new(display, Some(name), matcher, opts.max_cells)
        .with_progress(opts.progress.clone());
    if read(&mut |r, c, v| with_ref(v, |v| stream.push(r, c, v)))? {
        return Ok(Pending::Stream(Box::new(stream)));
    }
    let mut sheet = SparseSheet::new(opts.max_cells);
    read(&mut |r, c, v| sheet.push(r, c, data_ref_cell(v.clone())))?;
    Ok(Pending::Whole(sheet))
}

/// Hand every cell of a calamine cell reader (the xlsx and xlsb readers share no trait, so
/// `next` is the reader's `next_cell`) to `push`. Ok(false) when `push` found the rows out of
/// order and the rest was not read.
fn feed<'a, E: std::fmt::Display>(
    mut next: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, E>,
    mut push: impl FnMut(u32, u32, &DataRef<'a>) -> Result<(), SheetProblem>,
) -> Result<bool, SheetError> {
    loop {
        match next() {
            Ok(Some(c)) => {
                let (r, col) = c.get_position();
                match push(r, col, c.get_value()) {
                    Err(SheetProblem::OutOfOrder) => return Ok(false),
                    other => other?,
                }
            }
            Ok(None) => return Ok(true),
            Err(e) => return Err(SheetError::Broken(Reason::SheetDamaged(e.to_string()))),
        }
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
}
