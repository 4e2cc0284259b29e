//! The table a sheet becomes: its columns and its rows' cells, stored column by column.

use crate::cell::{Cell, CellRef};

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
        merges: &[super::sheet::Merge],
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

    /// Add data rows: `cells` holds one cell per column for each of `numbers`, row after row.
    /// Filled a column at a time (see [`super::sheet::TableBuilder::push_rows`]).
    pub(crate) fn push_rows(
        &mut self,
        numbers: &[u32],
        cells: &[CellRef<'_>],
    ) -> Result<(), ColumnTooLarge> {
        let width = self.cells.len();
        if width == 0 {
            self.numbers.extend_from_slice(numbers);
            return Ok(());
        }
        for (j, col) in self.cells.iter_mut().enumerate() {
            let column = cells.iter().skip(j).step_by(width).take(numbers.len());
            col.ends.reserve(numbers.len());
            for c in column {
                col.push(*c)?;
            }
        }
        self.numbers.extend_from_slice(numbers);
        Ok(())
    }

    /// Join tables with the same columns read from consecutive parts of one file, in order.
    pub(crate) fn concat(parts: Vec<Table>) -> Result<Option<Table>, ColumnTooLarge> {
        let mut it = parts.into_iter();
        let Some(mut first) = it.next() else {
            return Ok(None);
        };
        let rest: Vec<Table> = it.collect();
        first
            .numbers
            .reserve_exact(rest.iter().map(Table::len).sum());
        let mut by_column: Vec<Vec<ColumnCells>> = first.cells.iter().map(|_| Vec::new()).collect();
        for t in rest {
            for (j, theirs) in t.cells.into_iter().enumerate() {
                if let Some(c) = by_column.get_mut(j) {
                    c.push(theirs);
                }
            }
            first.numbers.extend(t.numbers);
            first.skipped_rows.extend(t.skipped_rows);
        }
        // Columns are independent: joined on every core (a quarter of a second for a 1M-row
        // file on one). Reserved once: growing a 400 MB column by doubling would copy it and
        // briefly hold twice its size.
        use rayon::prelude::*;
        first
            .cells
            .par_iter_mut()
            .zip(by_column)
            .try_for_each(|(mine, theirs)| {
                mine.text
                    .reserve_exact(theirs.iter().map(|t| t.text.len()).sum());
                mine.ends
                    .reserve_exact(theirs.iter().map(|t| t.ends.len()).sum());
                theirs.into_iter().try_for_each(|t| mine.append(t))
            })?;
        Ok(Some(first))
    }

    /// Position in `columns` of a canonical field.
    pub fn column_of(&self, field: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.field.as_deref() == Some(field))
    }
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
