//! Turning the cells of one sheet (any format) into a [`Table`]: header detection, blank,
//! headerless and totals rows, merged ranges.
//!
//! Cells arrive in reading order ([`SheetStream`]): the rows above and around the header are
//! held until the header is found among the first non-blank rows, then every row goes straight
//! into the table's columns, so a million-row sheet is never held cell by cell. Only non-empty
//! cells cost anything, never a sheet's declared or apparent extent. Merged ranges (known only
//! once the sheet is read) then fill the data rows they cover.

use std::collections::BTreeMap;

use super::header::{HEADER_SCAN_ROWS, HeaderMatcher, find_header};
use super::{Cell, CellRef, Reason, RowProgress, SkippedRow, Table};

/// A merged range, 0-based and inclusive, as calamine's `Dimensions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub start: (u32, u32),
    pub end: (u32, u32),
}

/// Why a sheet gave no table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetProblem {
    /// No header (the sheet is skipped).
    NoHeader(Reason),
    /// More cells than the configured limit.
    TooManyCells(u64),
    /// One column holds more text than the table can address (2 GB).
    ColumnTooLarge,
    /// A row came after a later one: the sheet must be read whole ([`SparseSheet`]).
    OutOfOrder,
}

/// The non-empty cells of one row, sorted by 0-based column. A sorted Vec rather than a map:
/// cells nearly always arrive in column order, so adding one is a push.
#[derive(Debug, Default)]
struct RowCells(Vec<(u32, Cell)>);

impl RowCells {
    /// Set a cell; true when it was not there before.
    fn insert(&mut self, col: u32, cell: Cell) -> bool {
        if self.0.last().is_none_or(|(c, _)| *c < col) {
            self.0.push((col, cell));
            return true;
        }
        match self.0.binary_search_by_key(&col, |(c, _)| *c) {
            Ok(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = cell;
                }
                false
            }
            Err(i) => {
                self.0.insert(i, (col, cell));
                true
            }
        }
    }

    fn get(&self, col: u32) -> Option<&Cell> {
        self.0
            .binary_search_by_key(&col, |(c, _)| *c)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v)
    }

    fn values(&self) -> impl Iterator<Item = &Cell> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// The non-empty cells of some rows of a sheet, by 0-based row then 0-based column: a whole
/// sheet for formats read whole (xls, ods, or an xlsx whose rows are out of order), else the
/// few rows a [`SheetStream`] holds.
#[derive(Debug, Default)]
pub struct SparseSheet {
    rows: BTreeMap<u32, RowCells>,
    cells: u64,
    max_cells: u64,
}

impl SparseSheet {
    pub fn new(max_cells: u64) -> Self {
        SparseSheet {
            rows: BTreeMap::new(),
            cells: 0,
            max_cells,
        }
    }

    /// Add a cell; empty cells cost nothing. Errs once the sheet holds more than `max_cells`.
    pub fn push(&mut self, row: u32, col: u32, cell: Cell) -> Result<(), SheetProblem> {
        if cell == Cell::Empty {
            return Ok(());
        }
        let added = if let Some(mut last) = self.rows.last_entry()
            && *last.key() == row
        {
            last.get_mut().insert(col, cell)
        } else {
            self.rows.entry(row).or_default().insert(col, cell)
        };
        if added {
            self.cells += 1;
            if self.cells > self.max_cells {
                return Err(SheetProblem::TooManyCells(self.max_cells));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn get(&self, row: u32, col: u32) -> Option<&Cell> {
        self.rows.get(&row).and_then(|r| r.get(col))
    }

    /// Find the header and build the table. `file` and `sheet` are provenance only.
    pub fn into_table(
        self,
        file: &str,
        sheet: Option<&str>,
        merges: &[Merge],
        matcher: &HeaderMatcher,
    ) -> Result<Table, SheetProblem> {
        let mut stream = SheetStream::new(file, sheet, matcher, self.max_cells);
        for (r, cells) in self.rows {
            for (c, v) in cells.0 {
                stream.push(r, c, v.as_ref())?;
            }
        }
        stream.finish(merges)
    }
}

/// One sheet's cells in reading order (row by row, as xlsx and xlsb store them) made into a
/// [`Table`] as they arrive.
pub struct SheetStream<'m> {
    file: String,
    sheet: Option<String>,
    matcher: &'m HeaderMatcher,
    max_cells: u64,
    /// Non-empty cells seen.
    cells: u64,
    /// Rows until the header is known; afterwards also the cells no data row holds (skipped
    /// rows, columns without a header), which a merged range may start from.
    held: SparseSheet,
    /// Non-blank rows held before the header is decided.
    nonblank: usize,
    header: Option<Header>,
    /// The row being gathered once the header is known: its cells, text in `text`.
    row: Option<u32>,
    text: String,
    slots: Vec<(u32, Held)>,
    progress: Option<RowProgress>,
}

struct Header {
    builder: TableBuilder,
    /// Sheet column indices of the table's columns, sorted.
    indices: Vec<u32>,
}

/// A cell of the row being gathered.
enum Held {
    Text(std::ops::Range<usize>),
    Other(Cell),
}

fn held_ref<'a>(text: &'a str, held: &'a Held) -> CellRef<'a> {
    match held {
        Held::Text(range) => CellRef::Text(text.get(range.clone()).unwrap_or_default()),
        Held::Other(c) => c.as_ref(),
    }
}

/// A sheet as read, before its merges are known: held whole, or streamed into its table.
pub enum Pending<'m> {
    Whole(SparseSheet),
    Stream(Box<SheetStream<'m>>),
}

impl Pending<'_> {
    pub fn into_table(
        self,
        file: &str,
        sheet: Option<&str>,
        merges: &[Merge],
        matcher: &HeaderMatcher,
    ) -> Result<Table, SheetProblem> {
        match self {
            Pending::Whole(s) => s.into_table(file, sheet, merges, matcher),
            Pending::Stream(s) => s.finish(merges),
        }
    }
}

impl<'m> SheetStream<'m> {
    pub fn new(
        file: &str,
        sheet: Option<&str>,
        matcher: &'m HeaderMatcher,
        max_cells: u64,
    ) -> Self {
        SheetStream {
            file: file.to_string(),
            sheet: sheet.map(str::to_string),
            matcher,
            max_cells,
            cells: 0,
            held: SparseSheet::new(u64::MAX),
            nonblank: 0,
            header: None,
            row: None,
            text: String::new(),
            slots: Vec::new(),
            progress: None,
        }
    }

    /// Report rows read as they are added to the table.
    pub fn with_progress(mut self, progress: Option<RowProgress>) -> Self {
        self.progress = progress;
        self
    }

    /// Add a cell at 0-based (row, col). Rows must come in order (cells within a row need not).
    pub fn push(&mut self, row: u32, col: u32, cell: CellRef<'_>) -> Result<(), SheetProblem> {
        if cell == CellRef::Empty {
            return Ok(());
        }
        self.cells += 1;
        if self.cells > self.max_cells {
            return Err(SheetProblem::TooManyCells(self.max_cells));
        }
        if self.header.is_none() {
            if self
                .held
                .rows
                .last_key_value()
                .is_some_and(|(&r, _)| r > row)
            {
                return Err(SheetProblem::OutOfOrder);
            }
            if let Some((&last, cells)) = self.held.rows.last_key_value()
                && last < row
                && cells.values().any(|c| !c.is_blank())
            {
                self.nonblank += 1;
                if self.nonblank >= HEADER_SCAN_ROWS {
                    self.decide()?;
                    return self.push_data(row, col, cell);
                }
            }
            return self.held.push(row, col, cell.to_owned());
        }
        self.push_data(row, col, cell)
    }

    fn push_data(&mut self, row: u32, col: u32, cell: CellRef<'_>) -> Result<(), SheetProblem> {
        match self.row {
            Some(r) if r == row => {}
            Some(r) if r > row => return Err(SheetProblem::OutOfOrder),
            _ => {
                self.flush()?;
                self.row = Some(row);
            }
        }
        let held = match cell {
            CellRef::Text(s) => {
                let start = self.text.len();
                self.text.push_str(s);
                Held::Text(start..self.text.len())
            }
            other => Held::Other(other.to_owned()),
        };
        self.slots.push((col, held));
        Ok(())
    }

    /// The header among the held rows; then the held rows below it become data.
    fn decide(&mut self) -> Result<(), SheetProblem> {
        let candidates: Vec<(u32, Vec<(u32, String)>)> = self
            .held
            .rows
            .iter()
            .filter(|(_, cells)| cells.values().any(|c| !c.is_blank()))
            .take(HEADER_SCAN_ROWS)
            .map(|(&r, cells)| (r, cells.0.iter().map(|(c, v)| (*c, cell_text(v))).collect()))
            .collect();
        let Some((row0, columns)) = find_header(&candidates, self.matcher) else {
            return Err(SheetProblem::NoHeader(Reason::NoHeader));
        };
        let indices = columns
            .iter()
            .map(|c| u32::try_from(c.index).unwrap_or(u32::MAX))
            .collect();
        let table = Table::new(
            &self.file,
            self.sheet.as_deref(),
            row0.saturating_add(1),
            columns,
        );
        self.header = Some(Header {
            builder: TableBuilder::new(table, self.max_cells).with_progress(self.progress.clone()),
            indices,
        });
        let below: Vec<u32> = self
            .held
            .rows
            .range(row0.saturating_add(1)..)
            .map(|(r, _)| *r)
            .collect();
        for r in below {
            let Some(cells) = self.held.rows.remove(&r) else {
                continue;
            };
            for (c, v) in &cells.0 {
                self.push_data(r, *c, v.as_ref())?;
            }
        }
        Ok(())
    }

    /// The gathered row into the table (or, when it is no data row, into `held`).
    fn flush(&mut self) -> Result<(), SheetProblem> {
        let (Some(number0), Some(h)) = (self.row.take(), self.header.as_mut()) else {
            return Ok(());
        };
        // Cells nearly always come in column order; a repeated cell keeps its last value.
        if !self.slots.is_sorted_by_key(|(c, _)| *c) {
            self.slots.sort_by_key(|(c, _)| *c);
        }
        let slots = &self.slots;
        let text = self.text.as_str();
        let keep = |i: &usize| slots.get(i + 1).is_none_or(|(c, _)| *c != slots[*i].0);
        let cells = (0..slots.len())
            .filter(keep)
            .map(|i| (slots[i].0, held_ref(text, &slots[i].1)));
        let added = h.builder.add(number0.saturating_add(1), cells.clone())?;
        // What no data row holds may be a merged range's top-left cell.
        for (c, v) in cells {
            if !added || h.indices.binary_search(&c).is_err() {
                self.held.push(number0, c, v.to_owned())?;
            }
        }
        self.slots.clear();
        self.text.clear();
        Ok(())
    }

    /// The table, merges applied.
    pub fn finish(mut self, merges: &[Merge]) -> Result<Table, SheetProblem> {
        if self.header.is_none() {
            if self.held.is_empty() {
                return Err(SheetProblem::NoHeader(Reason::EmptySheet));
            }
            self.decide()?;
        }
        self.flush()?;
        let Some(h) = self.header.take() else {
            return Err(SheetProblem::NoHeader(Reason::EmptySheet));
        };
        let mut table = h.builder.finish();
        if !merges.is_empty() {
            let held = &self.held;
            let budget = self.max_cells.saturating_sub(self.cells);
            table.apply_merges(merges, |r, c| held.get(r, c).cloned(), budget);
        }
        Ok(table)
    }
}

/// Builds a [`Table`] row by row below a found header: drops blank rows, and reports (as
/// skipped, with the reason) rows whose data is only in columns without a header and totals
/// rows. Shared by every format, so a row is treated the same in a CSV and in a workbook.
pub(crate) struct TableBuilder {
    table: Table,
    name_col: Option<usize>,
    id_col: Option<usize>,
    max_cells: u64,
    progress: Option<RowProgress>,
    /// Rows offered since progress was last reported.
    unreported: u64,
    /// The header's columns are the sheet's first ones, without a gap.
    dense: bool,
}

impl TableBuilder {
    pub fn new(table: Table, max_cells: u64) -> Self {
        TableBuilder {
            name_col: table.column_of("姓名"),
            id_col: table.column_of("证件号码"),
            dense: table.columns.iter().enumerate().all(|(i, c)| c.index == i),
            table,
            max_cells,
            progress: None,
            unreported: 0,
        }
    }

    pub fn with_progress(mut self, progress: Option<RowProgress>) -> Self {
        self.progress = progress;
        self
    }

    /// Add the row shown as `number`, given its non-empty cells as (0-based column, cell) in
    /// column order.
    pub fn add<'c>(
        &mut self,
        number: u32,
        cells: impl Iterator<Item = (u32, CellRef<'c>)> + Clone,
    ) -> Result<bool, SheetProblem> {
        let mut row = Vec::with_capacity(self.table.columns.len());
        if !self.admit(number, cells, 0, &mut row)? {
            return Ok(false);
        }
        self.table
            .push_row(number, row)
            .map_err(|_| SheetProblem::ColumnTooLarge)?;
        Ok(true)
    }

    /// Rows admitted with [`TableBuilder::admit`], pushed into the table together: `cells`
    /// holds one cell per column for each row of `numbers`, row after row. A column at a time,
    /// so each column's buffers are written in one run rather than one cell per row in turn.
    pub fn push_rows(
        &mut self,
        numbers: &[u32],
        cells: &[CellRef<'_>],
    ) -> Result<(), SheetProblem> {
        self.table
            .push_rows(numbers, cells)
            .map_err(|_| SheetProblem::ColumnTooLarge)
    }

    /// Decide what the row shown as `number` is (its non-empty cells as (0-based column, cell)
    /// in column order): a data row gets one cell per column appended to `out` (true); a blank
    /// row, a row with data only outside the header's columns or a totals row appends nothing
    /// (false; the last two are reported as skipped). `pending`: rows admitted but not yet in
    /// the table, counted against the cell limit.
    pub fn admit<'c>(
        &mut self,
        number: u32,
        cells: impl Iterator<Item = (u32, CellRef<'c>)> + Clone,
        pending: usize,
        out: &mut Vec<CellRef<'c>>,
    ) -> Result<bool, SheetProblem> {
        if let Some(p) = &self.progress {
            self.unreported += 1;
            if self.unreported == RowProgress::EVERY {
                self.unreported = 0;
                (p.0)(RowProgress::EVERY);
            }
        }
        if cells.clone().all(|(_, c)| c.is_blank()) {
            return Ok(false);
        }
        // Walk the row's sorted cells alongside the sorted header columns; cells between
        // header columns have no header.
        let columns = &self.table.columns;
        let from = out.len();
        let mut headerless: Option<u32> = None;
        let mut it = cells.peekable();
        for col in columns {
            let idx = u32::try_from(col.index).unwrap_or(u32::MAX);
            while let Some((c, _)) = it.next_if(|(c, _)| *c < idx) {
                headerless.get_or_insert(c);
            }
            match it.next_if(|(c, _)| *c == idx) {
                Some((_, v)) => out.push(v),
                None => out.push(CellRef::Empty),
            }
        }
        if let Some((c, _)) = it.next() {
            headerless.get_or_insert(c);
        }
        self.settle(number, from, headerless, pending, out)
    }

    /// [`TableBuilder::admit`] for a record whose fields are the sheet's columns from the
    /// first, empty ones included (a CSV record), when the header's columns are the first
    /// ones without a gap, as in nearly every export: the fields are the row's cells in order,
    /// with no walk matching cells to columns. None when the header has gaps.
    pub fn admit_fields<'c>(
        &mut self,
        number: u32,
        fields: &[&'c str],
        pending: usize,
        out: &mut Vec<CellRef<'c>>,
    ) -> Option<Result<bool, SheetProblem>> {
        let width = self.table.columns.len();
        if !self.dense {
            return None;
        }
        if let Some(p) = &self.progress {
            self.unreported += 1;
            if self.unreported == RowProgress::EVERY {
                self.unreported = 0;
                (p.0)(RowProgress::EVERY);
            }
        }
        if fields.iter().all(|s| CellRef::Text(s).is_blank()) {
            return Some(Ok(false));
        }
        let from = out.len();
        let (inside, outside) = fields.split_at(width.min(fields.len()));
        out.extend(inside.iter().map(|&s| {
            if s.is_empty() {
                CellRef::Empty
            } else {
                CellRef::Text(s)
            }
        }));
        out.extend(std::iter::repeat_n(CellRef::Empty, width - inside.len()));
        let headerless = outside
            .iter()
            .position(|s| !s.is_empty())
            .map(|p| u32::try_from(width + p).unwrap_or(u32::MAX));
        Some(self.settle(number, from, headerless, pending, out))
    }

    /// The rest of [`TableBuilder::admit`], once the row's cells from `from` on are in `out`:
    /// a row with data only outside the header's columns or a totals row is taken out again and
    /// reported; the cell limit is checked.
    fn settle<'c>(
        &mut self,
        number: u32,
        from: usize,
        headerless: Option<u32>,
        pending: usize,
        out: &mut Vec<CellRef<'c>>,
    ) -> Result<bool, SheetProblem> {
        let row_cells = out.get(from..).unwrap_or_default();
        if row_cells.iter().all(CellRef::is_blank) {
            let where_ = headerless
                .map(|c| crate::finding::a1(c as usize, number))
                .unwrap_or_default();
            self.table.skipped_rows.push(SkippedRow {
                number,
                reason: format!("数据只出现在没有表头的列（{where_}），未检查"),
            });
            out.truncate(from);
            return Ok(false);
        }
        let blank_at = |i: Option<usize>| {
            i.and_then(|i| row_cells.get(i))
                .is_none_or(CellRef::is_blank)
        };
        if blank_at(self.name_col) && blank_at(self.id_col) {
            let total = row_cells.iter().find_map(|c| match c {
                CellRef::Text(s) => ["合计", "总计", "小计"]
                    .into_iter()
                    .find(|t| s.trim_start().starts_with(t)),
                _ => None,
            });
            if let Some(t) = total {
                self.table.skipped_rows.push(SkippedRow {
                    number,
                    reason: format!("{t}行，不作为人员记录检查"),
                });
                out.truncate(from);
                return Ok(false);
            }
        }
        let rows = self.table.len() as u64 + pending as u64 + 1;
        let dense = rows.saturating_mul(self.table.columns.len() as u64);
        if dense > self.max_cells {
            out.truncate(from);
            return Err(SheetProblem::TooManyCells(self.max_cells));
        }
        Ok(true)
    }

    pub fn finish(self) -> Table {
        if let Some(p) = &self.progress
            && self.unreported > 0
        {
            (p.0)(self.unreported);
        }
        self.table
    }
}

/// A cell as header text (headers are nearly always text; numbers appear in numbering rows).
pub fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) | Cell::Error(s) => s.clone(),
        Cell::Number(f) | Cell::DateTime(f) => f.to_string(),
        Cell::Int(i) => i.to_string(),
        Cell::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> HeaderMatcher {
        let none: &[String] = &[];
        HeaderMatcher::new([("姓名", none), ("证件号码", none), ("户编号", none)])
    }

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn stream_rows(rows: &[(u32, &[&str])]) -> Result<Table, SheetProblem> {
        let m = matcher();
        let mut s = SheetStream::new("f", Some("S"), &m, 1000);
        for (r, cells) in rows {
            for (c, v) in cells.iter().enumerate() {
                if !v.is_empty() {
                    s.push(*r, c as u32, CellRef::Text(v))?;
                }
            }
        }
        s.finish(&[])
    }

    #[test]
    fn stream_finds_a_header_among_the_first_30_non_blank_rows_only() {
        let header: &[&str] = &["户编号", "姓名", "证件号码"];
        let person: &[&str] = &["H1", "甲", "x"];
        let note: &[&str] = &["说明"];
        let blank: &[&str] = &[" "];
        // 29 notes (and blank rows, which do not count), then the header: found.
        let mut rows: Vec<(u32, &[&str])> = Vec::new();
        for i in 0..29 {
            rows.push((2 * i, note));
            rows.push((2 * i + 1, blank));
        }
        rows.push((100, header));
        rows.push((101, person));
        rows.push((102, person));
        let t = stream_rows(&rows).unwrap();
        assert_eq!((t.header_row, t.row_numbers()), (101, &[102, 103][..]));
        // One more note pushes the header to the 31st non-blank row.
        rows.insert(0, (0, note));
        for r in rows.iter_mut().skip(1) {
            r.0 += 1;
        }
        assert!(matches!(stream_rows(&rows), Err(SheetProblem::NoHeader(_))));
    }

    #[test]
    fn stream_reports_rows_out_of_order() {
        let header: &[&str] = &["户编号", "姓名", "证件号码"];
        let person: &[&str] = &["H1", "甲", "x"];
        let rows: Vec<(u32, &[&str])> = vec![(0, header), (5, person), (3, person)];
        assert_eq!(stream_rows(&rows).unwrap_err(), SheetProblem::OutOfOrder);
        // Cells of one row may come in any column order; a repeated cell keeps its last value.
        let m = matcher();
        let mut s = SheetStream::new("f", None, &m, 1000);
        for (c, v) in header.iter().enumerate() {
            s.push(0, c as u32, CellRef::Text(v)).unwrap();
        }
        s.push(1, 2, CellRef::Text("x")).unwrap();
        s.push(1, 0, CellRef::Text("H0")).unwrap();
        s.push(1, 0, CellRef::Text("H1")).unwrap();
        s.push(1, 1, CellRef::Text("甲")).unwrap();
        let t = s.finish(&[]).unwrap();
        assert_eq!(
            t.row(0),
            vec![CellRef::Text("H1"), CellRef::Text("甲"), CellRef::Text("x")]
        );
    }

    #[test]
    fn push_counts_against_limit() {
        let mut s = SparseSheet::new(2);
        assert!(s.push(0, 0, text("a")).is_ok());
        assert!(
            s.push(0, 0, text("b")).is_ok(),
            "overwrite is not a new cell"
        );
        assert!(s.push(5, 5, Cell::Empty).is_ok());
        assert!(s.push(1, 0, text("c")).is_ok());
        assert_eq!(s.push(2, 0, text("d")), Err(SheetProblem::TooManyCells(2)));
    }

    #[test]
    fn merge_fills_only_data_rows_and_header_columns() {
        let mut s = SparseSheet::new(100);
        for (c, h) in ["户编号", "姓名", "证件号码"].iter().enumerate() {
            s.push(0, c as u32, text(h)).unwrap();
        }
        s.push(1, 0, text("H1")).unwrap();
        s.push(1, 1, text("甲")).unwrap();
        s.push(2, 1, text("乙")).unwrap();
        // Merge A2:A1000 and far to the right: only row 3 (the only other data row) is filled.
        let merges = [Merge {
            start: (1, 0),
            end: (999, 9),
        }];
        let t = s.into_table("f", None, &merges, &matcher()).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.cell(1, 0), text("H1"));
        assert_eq!(t.row_number(1), 3);
        // Column C (证件号码) is inside the merge, so it inherits the top-left value too.
        assert_eq!(t.cell(1, 2), text("H1"));
    }

    #[test]
    fn totals_and_headerless_rows_are_skipped_with_reason() {
        let mut s = SparseSheet::new(100);
        for (c, h) in ["户编号", "姓名", "证件号码"].iter().enumerate() {
            s.push(2, c as u32, text(h)).unwrap();
        }
        s.push(3, 1, text("甲")).unwrap();
        s.push(4, 0, text(" 合计：2户")).unwrap();
        s.push(5, 7, text("stray")).unwrap();
        s.push(6, 1, text("   ")).unwrap();
        let t = s.into_table("f", None, &[], &matcher()).unwrap();
        assert_eq!(t.header_row, 3);
        assert_eq!(t.len(), 1);
        assert_eq!(t.skipped_rows.len(), 2);
        assert_eq!(t.skipped_rows[0].number, 5);
        assert!(t.skipped_rows[0].reason.starts_with("合计"));
        assert!(t.skipped_rows[1].reason.contains("H6"));
    }

    #[test]
    fn totals_word_in_a_named_row_is_a_person() {
        let mut s = SparseSheet::new(100);
        for (c, h) in ["户编号", "姓名", "证件号码"].iter().enumerate() {
            s.push(0, c as u32, text(h)).unwrap();
        }
        s.push(1, 0, text("合计")).unwrap();
        s.push(1, 1, text("甲")).unwrap();
        let t = s.into_table("f", None, &[], &matcher()).unwrap();
        assert_eq!(t.len(), 1);
        assert!(t.skipped_rows.is_empty());
    }

    #[test]
    fn no_header_is_a_problem() {
        let mut s = SparseSheet::new(100);
        s.push(0, 0, text("填表说明：请如实填写")).unwrap();
        assert!(matches!(
            s.into_table("f", None, &[], &matcher()),
            Err(SheetProblem::NoHeader(_))
        ));
        let s = SparseSheet::new(100);
        assert!(matches!(
            s.into_table("f", None, &[], &matcher()),
            Err(SheetProblem::NoHeader(_))
        ));
    }
}
