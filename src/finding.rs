//! The one finding model shared by every stage after `check` and by every writer.
//!
//! A finding is a value, never an error: a bad cell in the clerk's data is the product's output,
//! not a failure of the program.

use serde::Serialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The three error classes of Article 27 item 6: 缺项漏项, 数据不正确, 逻辑关系存在错误.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Completeness,
    Validity,
    Consistency,
}

impl Category {
    pub const ALL: [Category; 3] = [
        Category::Completeness,
        Category::Validity,
        Category::Consistency,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Completeness => "completeness",
            Category::Validity => "validity",
            Category::Consistency => "consistency",
        }
    }
}

/// Where a finding lands, as the JSON contract names it (rules.md "Scopes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingScope {
    Cell,
    Row,
    Household,
    Dataset,
    File,
}

/// The responsible units a finding is attributed to, in schema order
/// (e.g. `[("乡镇","湖光镇"), ("行政村","某村"), ("帮扶单位","某局")]`).
/// An empty cell is the unit `（未填）`. Shared: a dataset has few distinct combinations and
/// every finding of a unit points at the same one, so a finding costs no strings for its unit.
pub type UnitCells = std::sync::Arc<[(String, String)]>;

/// The name used for a unit whose cell is empty.
pub const UNIT_BLANK: &str = "（未填）";

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub file: String,
    pub sheet: Option<String>,
    /// Spreadsheet row number as the spreadsheet program shows it (1-based); CSV: line number.
    pub row: Option<u32>,
    /// A1 address of the first column pointed at.
    pub cell: Option<String>,
    /// Canonical field name of the first column pointed at.
    pub column: Option<String>,
    /// Every canonical column the rule points at.
    pub columns: Vec<String>,
    /// The header text as written in the file, for `column`.
    pub header: Option<String>,
    pub rule: String,
    pub category: Category,
    pub severity: Severity,
    pub scope: FindingScope,
    pub household: Option<String>,
    /// None for file-scope findings.
    pub unit: Option<UnitCells>,
    pub value: Option<String>,
    pub message: String,
    pub hint: String,
    /// Index of the table (sheet) in the run, for writers that revisit the input (annotated copy).
    pub table: Option<usize>,
    /// 0-based column indices in the sheet of every column in `columns` that exists there.
    pub col_indices: Vec<usize>,
}

/// Spreadsheet column letters for a 0-based column index (0 → A, 26 → AA).
pub fn col_letters(mut idx: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

/// A1 address for a 0-based column index and a 1-based row number.
pub fn a1(col: usize, row: u32) -> String {
    format!("{}{}", col_letters(col), row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(col_letters(0), "A");
        assert_eq!(col_letters(25), "Z");
        assert_eq!(col_letters(26), "AA");
        assert_eq!(col_letters(701), "ZZ");
        assert_eq!(col_letters(702), "AAA");
        assert_eq!(col_letters(16383), "XFD");
        assert_eq!(a1(5, 17), "F17");
    }
}

/// Language of user-facing text (`--lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The Chinese or English form of a piece of text.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}
