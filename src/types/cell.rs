//! A raw cell as the text the clerk sees in the spreadsheet, so every later check compares what the
//! clerk can read and fix rather than a float's binary artefacts.

#[cfg(test)]
use crate::cell::Cell;
use crate::cell::CellRef;

use super::date::excel_serial_datetime;

/// Significant digits Excel keeps and displays for a number.
const EXCEL_DIGITS: usize = 15;

/// The value as the clerk sees it; None for a blank cell (empty, or text of white space only).
///
/// Numbers are shown with Excel's 15 significant digits and without float artefacts
/// (`4.40811199001011e17` → `440811199001011000`, `3.0` → `3`, `0.30000000000000004` → `0.3`);
/// magnitudes of 1e21 and above, or below 1e-9, in scientific form (`1.5E+21`). Booleans are
/// `TRUE`/`FALSE` as Excel shows them; date cells `YYYY-MM-DD`, with ` HH:MM:SS` when the time is
/// not midnight (an out-of-range serial falls back to the number); error cells their text.
/// Text is returned unchanged (white space is V602's business, not this function's).
pub fn cell_text(cell: CellRef<'_>) -> Option<String> {
    match cell {
        CellRef::Empty => None,
        CellRef::Text(_) if cell.is_blank() => None,
        CellRef::Text(s) => Some(s.to_string()),
        CellRef::Number(x) => Some(number_text(x)),
        CellRef::Int(i) => Some(i.to_string()),
        CellRef::Bool(b) => Some(if b { "TRUE" } else { "FALSE" }.to_string()),
        CellRef::DateTime(serial) => Some(match excel_serial_datetime(serial) {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.format("%Y-%m-%d").to_string(),
            Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => number_text(serial),
        }),
        CellRef::Error(e) => Some(e.to_string()),
    }
}

/// A numeric cell (xlsx float or .xls integer): the reader did not keep the clerk's text, so an
/// 18-digit ID in it has lost digits (V105).
pub fn is_numeric(cell: CellRef<'_>) -> bool {
    matches!(cell, CellRef::Number(_) | CellRef::Int(_))
}

/// A float as Excel displays it in a General-format cell.
pub fn number_text(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        // Covers -0.0, which Excel shows as 0.
        return "0".to_string();
    }
    // Round to 15 significant digits through the exponent form, then let Rust print the
    // shortest decimal that round-trips: that drops both the binary noise and trailing zeros.
    let rounded: f64 = format!("{:.*e}", EXCEL_DIGITS - 1, x).parse().unwrap_or(x);
    let abs = rounded.abs();
    if (1e-9..1e21).contains(&abs) {
        rounded.to_string()
    } else {
        let s = format!("{rounded:E}");
        // Rust writes 1.5E21 / 1E-10; Excel writes 1.5E+21 / 1E-10.
        match s.split_once('E') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}E+{e}"),
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(c: Cell) -> Option<String> {
        cell_text(c.as_ref())
    }

    #[test]
    fn numbers_without_float_artefacts() {
        let cases: &[(f64, &str)] = &[
            (4.40811199001011e17, "440811199001011000"),
            (440_811_199_001_011_234.0, "440811199001011000"),
            (3.0, "3"),
            (2952.5, "2952.5"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.3"),
            (-12.25, "-12.25"),
            (-0.0, "0"),
            (350_303_900_203_307.0, "350303900203307"),
            (1.5e21, "1.5E+21"),
            (1e-10, "1E-10"),
            (123_456_789.123_456_78, "123456789.123457"),
        ];
        for (x, want) in cases {
            assert_eq!(t(Cell::Number(*x)).as_deref(), Some(*want), "{x:e}");
        }
        assert_eq!(t(Cell::Number(f64::NAN)).as_deref(), Some("NaN"));
    }

    #[test]
    fn other_cells() {
        assert_eq!(t(Cell::Empty), None);
        assert_eq!(t(Cell::Text("  \u{3000}".into())), None);
        assert_eq!(t(Cell::Text(" 张三 ".into())).as_deref(), Some(" 张三 "));
        assert_eq!(t(Cell::Int(-42)).as_deref(), Some("-42"));
        assert_eq!(t(Cell::Bool(true)).as_deref(), Some("TRUE"));
        assert_eq!(t(Cell::Bool(false)).as_deref(), Some("FALSE"));
        assert_eq!(t(Cell::Error("#N/A".into())).as_deref(), Some("#N/A"));
        assert_eq!(t(Cell::DateTime(32874.0)).as_deref(), Some("1990-01-01"));
        assert_eq!(
            t(Cell::DateTime(32874.25)).as_deref(),
            Some("1990-01-01 06:00:00")
        );
        assert_eq!(t(Cell::DateTime(-5.0)).as_deref(), Some("-5"));
    }

    #[test]
    fn numeric_cells() {
        assert!(is_numeric(Cell::Number(1.0).as_ref()));
        assert!(is_numeric(Cell::Int(1).as_ref()));
        assert!(!is_numeric(CellRef::Text("1")));
        assert!(!is_numeric(Cell::DateTime(1.0).as_ref()));
        assert!(!is_numeric(Cell::Empty.as_ref()));
    }
}
