//! The raw cell model: one cell as a reader found it, before any schema typing. Shared by the
//! readers that make cells and the field types that read them, so neither imports the other.

/// One cell as read, before any schema typing: the owned form, for building tables by hand.
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
    #[inline]
    pub fn is_blank(&self) -> bool {
        self.as_ref().is_blank()
    }

    #[inline]
    pub fn as_ref(&self) -> CellRef<'_> {
        match self {
            Cell::Empty => CellRef::Empty,
            Cell::Text(s) => CellRef::Text(s),
            Cell::Number(x) => CellRef::Number(*x),
            Cell::Int(i) => CellRef::Int(*i),
            Cell::Bool(b) => CellRef::Bool(*b),
            Cell::DateTime(x) => CellRef::DateTime(*x),
            Cell::Error(e) => CellRef::Error(e),
        }
    }
}

/// A cell of a [`Table`], borrowed from it: what every later stage reads. Same variants as
/// [`Cell`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    Int(i64),
    Bool(bool),
    DateTime(f64),
    Error(&'a str),
}

impl CellRef<'_> {
    #[inline]
    pub fn is_blank(&self) -> bool {
        match self {
            CellRef::Empty => true,
            // Blank when it is all white space: the first non-space character settles it, so
            // only the start is trimmed (every cell of a million rows passes here, often twice).
            // A printable ASCII first byte or a CJK lead byte (E4–E9) cannot start white
            // space: settled without decoding a character, as for almost every cell.
            CellRef::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(&b) if b.is_ascii_graphic() || (0xE4..=0xE9).contains(&b) => false,
                Some(_) => s.trim_start().is_empty(),
            },
            _ => false,
        }
    }

    pub fn to_owned(&self) -> Cell {
        match *self {
            CellRef::Empty => Cell::Empty,
            CellRef::Text(s) => Cell::Text(s.to_string()),
            CellRef::Number(x) => Cell::Number(x),
            CellRef::Int(i) => Cell::Int(i),
            CellRef::Bool(b) => Cell::Bool(b),
            CellRef::DateTime(x) => Cell::DateTime(x),
            CellRef::Error(e) => Cell::Error(e.to_string()),
        }
    }
}

impl PartialEq<Cell> for CellRef<'_> {
    fn eq(&self, other: &Cell) -> bool {
        *self == other.as_ref()
    }
}
