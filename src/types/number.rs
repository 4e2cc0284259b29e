//! Integers and decimals: parsing a numeric field's value exactly, and its range checks.
//!
//! ## What it checks
//! - V301: not a number (or, in an integer field, a number with a fraction).
//! - V302: outside the field's valid range `min`..=`max`.
//! - V303 (warning): inside the valid range but implausible (`warn_le`, `warn_gt`, `warn_ge`).
//!   Only values inside V302's range get V303 (rules.md "Overlaps").

use super::FieldType;
use super::{FieldCtx, Fill, Parsed, Value};
#[cfg(test)]
use crate::cell::Cell;
use crate::cell::CellRef;

/// One problem with a numeric value; [`NumberIssue::code`] is its rule code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberIssue {
    /// Not a number at all.
    NotANumber,
    /// A fraction in an integer field.
    NotInteger,
    OutOfRange,
    Implausible,
}

impl NumberIssue {
    pub fn code(self) -> &'static str {
        match self {
            NumberIssue::NotANumber | NumberIssue::NotInteger => "V301",
            NumberIssue::OutOfRange => "V302",
            NumberIssue::Implausible => "V303",
        }
    }
}

/// Parse a number as written: optional sign, digits, optional thousands separators in groups of
/// three ("1,234,567"), optional decimal part ("2952.5"). Nothing else: no white space (trimmed
/// by the caller), no exponent, no full-width digits, no currency or unit ("3000元" is V301).
pub fn parse_number(text: &str) -> Option<f64> {
    simple_number(text).or_else(|| grouped_number(text))
}

/// Exact powers of ten up to 10^15.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The common case in one pass, without the full decimal parser: an optional sign, at most 15
/// digits with at most one point between them. Its digits as an integer and the power of ten
/// that scales them are both exact in an f64, so one division rounds to the same value the
/// full parse gives (the fast path of every correct decimal parser). None: not this form,
/// which [`grouped_number`] then decides.
fn simple_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, bytes),
    };
    if digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut point: Option<usize> = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(i),
            _ => return None,
        }
    }
    let count = digits.len() - usize::from(point.is_some());
    if count == 0 || count > 15 {
        return None;
    }
    let scale = point.map_or(0, |p| digits.len() - p - 1);
    let x = mantissa as f64 / POW10.get(scale).copied()?;
    Some(if negative { -x } else { x })
}

/// [`parse_number`]'s full form: thousands separators, and more digits than an f64 holds.
fn grouped_number(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(f) = frac
        && !all_digits(f)
    {
        return None;
    }
    let mut groups = int.split(',');
    let first = groups.next().unwrap_or("");
    if !all_digits(first) {
        return None;
    }
    if int.contains(',') && (first.len() > 3 || !groups.all(|g| g.len() == 3 && all_digits(g))) {
        return None;
    }
    // Only a grouped number needs a copy without its commas; every cell of a numeric column
    // passes here.
    let parsed = if int.contains(',') {
        text.replace(',', "").parse::<f64>()
    } else {
        text.parse::<f64>()
    };
    parsed.ok().filter(|x| x.is_finite())
}

/// The number in a cell: a numeric cell's value, or text parsed with [`parse_number`].
pub fn cell_number(cell: CellRef<'_>) -> Option<f64> {
    match cell {
        CellRef::Number(x) => Some(x).filter(|x| x.is_finite()),
        // i64 → f64 rounds beyond 2^53, far past any count or amount this tool checks.
        CellRef::Int(i) => Some(i as f64),
        CellRef::Text(s) => parse_number(s),
        _ => None,
    }
}

/// A whole number.
pub fn is_integer(x: f64) -> bool {
    x.is_finite() && x.fract() == 0.0
}

/// A numeric field's bounds (the schema's `min`, `max`, `warn_le`, `warn_gt`, `warn_ge`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Range {
    /// Valid range, inclusive (V302).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Implausible (V303, warning): value <= warn_le, value > warn_gt, value >= warn_ge.
    pub warn_le: Option<f64>,
    pub warn_gt: Option<f64>,
    pub warn_ge: Option<f64>,
}

/// The range checks of a field: V302 when outside `min`..=`max`, else V303 when implausible.
pub fn check_range(value: f64, range: &Range) -> Option<NumberIssue> {
    let below = range.min.is_some_and(|min| value < min);
    let above = range.max.is_some_and(|max| value > max);
    if below || above {
        return Some(NumberIssue::OutOfRange);
    }
    let implausible = range.warn_le.is_some_and(|t| value <= t)
        || range.warn_gt.is_some_and(|t| value > t)
        || range.warn_ge.is_some_and(|t| value >= t);
    implausible.then_some(NumberIssue::Implausible)
}

/// All checks of a numeric field on one number: integer-ness (for `type = "integer"`), then range.
pub fn check_number(value: f64, ty: FieldType, range: &Range) -> Option<NumberIssue> {
    if !value.is_finite() {
        return Some(NumberIssue::NotANumber);
    }
    if ty == FieldType::Integer && !is_integer(value) {
        return Some(NumberIssue::NotInteger);
    }
    check_range(value, range)
}

/// Format a number as a clerk writes it: no trailing ".0", at most two decimals.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A number converted for a field of type `ty`: usable, or why not (V301). Range checks come
/// after, on a usable number.
pub fn convert_number(parsed: Option<f64>, ty: FieldType) -> Result<f64, NumberIssue> {
    match parsed {
        None => Err(NumberIssue::NotANumber),
        Some(v) => match check_number(v, ty, &Range::default()) {
            Some(issue) => Err(issue),
            None => Ok(v),
        },
    }
}

/// V301 (registered in [`super::BUILTINS`]): a numeric field's value is no number, or a fraction
/// in an integer field; a digits field's value has something other than ASCII digits.
pub(super) fn check_not_a_number(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    let fires = match &v.parsed {
        Parsed::Number(n) => n.is_err(),
        Parsed::Text => !v.trimmed.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    fires.then(Fill::default)
}

/// V302 (registered in [`super::BUILTINS`]): a usable number outside the field's valid range.
pub(super) fn check_out_of_range(v: &Value<'_>, cx: &FieldCtx) -> Option<Fill> {
    match v.parsed {
        Parsed::Number(Ok(x)) if check_range(*x, &cx.range) == Some(NumberIssue::OutOfRange) => {
            Some(Fill::range(&cx.range))
        }
        _ => None,
    }
}

/// V303 (registered in [`super::BUILTINS`]): a usable number inside the valid range but
/// implausible.
pub(super) fn check_implausible(v: &Value<'_>, cx: &FieldCtx) -> Option<Fill> {
    match v.parsed {
        Parsed::Number(Ok(x)) if check_range(*x, &cx.range) == Some(NumberIssue::Implausible) => {
            Some(Fill::range(&cx.range))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-pass parse gives what the full parse gives, bit for bit, wherever it answers.
        #[test]
        fn simple_numbers_parse_as_the_full_parser_does(
            text in "[+-]?[0-9]{0,18}(\\.[0-9]{0,10})?|[+-]?[0-9.,]{0,12}",
        ) {
            let full = grouped_number(&text);
            match simple_number(&text) {
                Some(x) => prop_assert_eq!(Some(x.to_bits()), full.map(f64::to_bits), "{}", text),
                None => prop_assert_eq!(parse_number(&text).map(f64::to_bits), full.map(f64::to_bits)),
            }
        }
    }

    #[test]
    fn simple_numbers_round_as_the_full_parser_does() {
        // A scaled product instead of the division once gave this one a different last bit.
        for text in [
            "300000000.8393",
            "0.1",
            "-2952.35",
            "999999999999999",
            "1.00000000000001",
        ] {
            let simple = simple_number(text).map(f64::to_bits);
            assert!(simple.is_some(), "{text} is of the simple form");
            assert_eq!(simple, grouped_number(text).map(f64::to_bits), "{text}");
        }
    }

    #[test]
    fn parses_numbers_as_written() {
        let cases: &[(&str, f64)] = &[
            ("3", 3.0),
            ("-3", -3.0),
            ("+3", 3.0),
            ("2952.5", 2952.5),
            ("0.1", 0.1),
            ("1,234", 1234.0),
            ("1,234,567.89", 1_234_567.89),
            ("007", 7.0),
            ("0", 0.0),
        ];
        for (s, want) in cases {
            assert_eq!(parse_number(s), Some(*want), "{s}");
        }
    }

    #[test]
    fn rejects_anything_else() {
        for s in [
            "",
            "-",
            "+",
            ".",
            "1.",
            ".5",
            "1.2.3",
            "1,23",
            "12,3456",
            "1234,567",
            ",123",
            "1,,234",
            "1,234.5,6",
            "1e3",
            "3000元",
            "三",
            "１２",
            " 12",
            "12 ",
            "--1",
            "NaN",
            "inf",
            "0x10",
            "1,234.",
            "+-1",
        ] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
    }

    #[test]
    fn cell_numbers() {
        assert_eq!(cell_number(Cell::Number(2.5).as_ref()), Some(2.5));
        assert_eq!(cell_number(Cell::Int(4).as_ref()), Some(4.0));
        assert_eq!(cell_number(CellRef::Text("1,000")), Some(1000.0));
        assert_eq!(cell_number(CellRef::Text("abc")), None);
        assert_eq!(cell_number(Cell::Number(f64::NAN).as_ref()), None);
        assert_eq!(cell_number(Cell::Bool(true).as_ref()), None);
        assert_eq!(cell_number(CellRef::Error("#DIV/0!")), None);
        assert_eq!(cell_number(Cell::Empty.as_ref()), None);
    }

    #[test]
    fn integers() {
        assert!(is_integer(3.0));
        assert!(is_integer(-0.0));
        assert!(!is_integer(3.5));
        assert!(!is_integer(f64::NAN));
        assert!(!is_integer(f64::INFINITY));
    }

    #[test]
    fn household_size_range() {
        // 人数: valid 1–20, implausible from 10.
        let f = Range {
            min: Some(1.0),
            max: Some(20.0),
            warn_ge: Some(10.0),
            ..Range::default()
        };
        assert_eq!(check_number(1.0, FieldType::Integer, &f), None);
        assert_eq!(check_number(9.0, FieldType::Integer, &f), None);
        assert_eq!(
            check_number(10.0, FieldType::Integer, &f),
            Some(NumberIssue::Implausible)
        );
        assert_eq!(
            check_number(20.0, FieldType::Integer, &f),
            Some(NumberIssue::Implausible)
        );
        assert_eq!(
            check_number(21.0, FieldType::Integer, &f),
            Some(NumberIssue::OutOfRange)
        );
        assert_eq!(
            check_number(0.0, FieldType::Integer, &f),
            Some(NumberIssue::OutOfRange)
        );
        assert_eq!(
            check_number(2.5, FieldType::Integer, &f),
            Some(NumberIssue::NotInteger)
        );
        assert_eq!(
            check_number(f64::NAN, FieldType::Integer, &f),
            Some(NumberIssue::NotANumber)
        );
        assert_eq!(NumberIssue::NotInteger.code(), "V301");
        assert_eq!(NumberIssue::OutOfRange.code(), "V302");
        assert_eq!(NumberIssue::Implausible.code(), "V303");
    }

    #[test]
    fn income_range() {
        // 人均纯收入: ≥ 0, implausible ≤ 500 or > 30000; decimals allowed.
        let f = Range {
            min: Some(0.0),
            warn_le: Some(500.0),
            warn_gt: Some(30000.0),
            ..Range::default()
        };
        assert_eq!(check_number(2952.5, FieldType::Decimal, &f), None);
        assert_eq!(check_number(30000.0, FieldType::Decimal, &f), None);
        assert_eq!(
            check_number(30000.5, FieldType::Decimal, &f),
            Some(NumberIssue::Implausible)
        );
        assert_eq!(
            check_number(500.0, FieldType::Decimal, &f),
            Some(NumberIssue::Implausible)
        );
        assert_eq!(
            check_number(0.0, FieldType::Decimal, &f),
            Some(NumberIssue::Implausible)
        );
        assert_eq!(
            check_number(-1.0, FieldType::Decimal, &f),
            Some(NumberIssue::OutOfRange)
        );
        assert_eq!(
            check_number(1e12, FieldType::Decimal, &f),
            Some(NumberIssue::Implausible)
        );
        // No range at all: anything finite passes.
        assert_eq!(check_range(-1e12, &Range::default()), None);
    }
}
