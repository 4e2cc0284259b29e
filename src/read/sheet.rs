//! Turning the cells of one sheet (any format) into a [`Table`]: a sparse grid, merged ranges,
//! header detection, blank and totals rows.
//!
//! Cells are kept sparse (only non-empty ones), so the cost of a sheet is the number of cells it
//! really holds, never its declared or apparent extent.

use std::collections::BTreeMap;

use super::header::{HeaderMatcher, find_header};
use super::{Cell, CellRef, Column, SkippedRow, Table};

/// A merged range, 0-based and inclusive, as calamine's `Dimensions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    pub start: (u32, u32),
    pub end: (u32, u32),
}

/// Why a sheet gave no table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetProblem {
    /// No header (the sheet is skipped; reason in Chinese).
    NoHeader(String),
    /// More cells than the configured limit.
    TooManyCells(u64),
    /// One column holds more text than the table can address (2 GB).
    ColumnTooLarge,
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

/// The non-empty cells of one sheet, by 0-based row then 0-based column.
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
        // Cells arrive row by row: the row being filled is nearly always the last one, reached
        // without a search of the whole map (47 M searches for a million-row export).
        let added = if let Some(mut last) = self.rows.last_entry()
            && *last.key() == row
        {
            last.get_mut().insert(col, cell)
        } else {
            // Rows of a sheet are about as wide as each other: sized like the previous one, a
            // row's Vec neither regrows nor ends with up to half its slots unused.
            let width = self.rows.last_key_value().map_or(0, |(_, r)| r.0.len());
            self.rows
                .entry(row)
                .or_insert_with(|| RowCells(Vec::with_capacity(width)))
                .insert(col, cell)
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

    /// Give every cell a merged range covers the top-left cell's value, but only in rows that
    /// hold data and columns that have a header: a huge or hostile merge then costs at most the
    /// size of the table itself.
    fn apply_merges(&mut self, merges: &[Merge], first_row: u32, columns: &[Column]) {
        let mut budget = self.max_cells.saturating_sub(self.cells);
        for m in merges {
            let Some(value) = self.get(m.start.0, m.start.1).cloned() else {
                continue;
            };
            let lo = m.start.0.max(first_row);
            if lo > m.end.0 {
                continue;
            }
            // Columns are in sheet order: only those inside the merge are visited, so a sheet of
            // many small merges costs merges × rows × covered columns, not × all columns.
            let first = columns.partition_point(|c| c.index < m.start.1 as usize);
            let last = columns.partition_point(|c| c.index <= m.end.1 as usize);
            let inside = columns.get(first..last).unwrap_or_default();
            for (&r, cells) in self.rows.range_mut(lo..=m.end.0) {
                for col in inside {
                    let Ok(c) = u32::try_from(col.index) else {
                        continue;
                    };
                    if (r, c) == m.start {
                        continue;
                    }
                    if budget == 0 {
                        return;
                    }
                    if cells.get(c).is_none() {
                        cells.insert(c, value.clone());
                        budget -= 1;
                    }
                }
            }
        }
    }

    /// Find the header and build the table. `file` and `sheet` are provenance only.
    pub fn into_table(
        mut self,
        file: &str,
        sheet: Option<&str>,
        merges: &[Merge],
        matcher: &HeaderMatcher,
    ) -> Result<Table, SheetProblem> {
        if self.is_empty() {
            return Err(SheetProblem::NoHeader("工作表是空的".into()));
        }
        let candidates = self
            .rows
            .iter()
            .filter(|(_, cells)| cells.values().any(|c| !c.is_blank()))
            .take(super::header::HEADER_SCAN_ROWS)
            .map(|(&r, cells)| (r, cells.0.iter().map(|(c, v)| (*c, cell_text(v))).collect()));
        let candidates: Vec<(u32, Vec<(u32, String)>)> = candidates.collect();
        let Some((header_row0, columns)) = find_header(&candidates, matcher) else {
            return Err(SheetProblem::NoHeader(format!(
                "没有找到表头（前 {} 行中没有与字段名匹配的行）",
                super::header::HEADER_SCAN_ROWS
            )));
        };
        // The table is dense (one cell per column per row): bound that too, so 16,384 header
        // cells over many rows cannot outgrow the limit the sparse sheet kept.
        let data_rows = self.rows.range(header_row0.saturating_add(1)..).count() as u64;
        if data_rows.saturating_mul(columns.len() as u64) > self.max_cells {
            return Err(SheetProblem::TooManyCells(self.max_cells));
        }
        self.apply_merges(merges, header_row0.saturating_add(1), &columns);

        let mut builder = TableBuilder::new(
            Table::new(file, sheet, header_row0.saturating_add(1), columns),
            self.max_cells,
        );
        let rows = std::mem::take(&mut self.rows);
        for (r0, cells) in rows.into_iter().filter(|(r, _)| *r > header_row0) {
            builder.add(
                r0.saturating_add(1),
                cells.0.iter().map(|(c, v)| (*c, v.as_ref())),
            )?;
        }
        Ok(builder.finish())
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
}

impl TableBuilder {
    pub fn new(table: Table, max_cells: u64) -> Self {
        TableBuilder {
            name_col: table.column_of("姓名"),
            id_col: table.column_of("证件号码"),
            table,
            max_cells,
        }
    }

    /// Add the row shown as `number`, given its non-empty cells as (0-based column, cell) in
    /// column order.
    pub fn add<'c>(
        &mut self,
        number: u32,
        cells: impl Iterator<Item = (u32, CellRef<'c>)> + Clone,
    ) -> Result<(), SheetProblem> {
        if cells.clone().all(|(_, c)| c.is_blank()) {
            return Ok(());
        }
        // Walk the row's sorted cells alongside the sorted header columns; cells between
        // header columns have no header.
        let columns = &self.table.columns;
        let mut row_cells: Vec<CellRef<'c>> = Vec::with_capacity(columns.len());
        let mut headerless: Option<u32> = None;
        let mut it = cells.peekable();
        for col in columns {
            let idx = u32::try_from(col.index).unwrap_or(u32::MAX);
            while let Some((c, _)) = it.next_if(|(c, _)| *c < idx) {
                headerless.get_or_insert(c);
            }
            match it.next_if(|(c, _)| *c == idx) {
                Some((_, v)) => row_cells.push(v),
                None => row_cells.push(CellRef::Empty),
            }
        }
        if let Some((c, _)) = it.next() {
            headerless.get_or_insert(c);
        }
        if row_cells.iter().all(CellRef::is_blank) {
            let where_ = headerless
                .map(|c| crate::finding::a1(c as usize, number))
                .unwrap_or_default();
            self.table.skipped_rows.push(SkippedRow {
                number,
                reason: format!("数据只出现在没有表头的列（{where_}），未检查"),
            });
            return Ok(());
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
                return Ok(());
            }
        }
        let dense = (self.table.len() as u64 + 1).saturating_mul(self.table.columns.len() as u64);
        if dense > self.max_cells {
            return Err(SheetProblem::TooManyCells(self.max_cells));
        }
        self.table
            .push_row(number, row_cells)
            .map_err(|_| SheetProblem::ColumnTooLarge)
    }

    pub fn finish(self) -> Table {
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
