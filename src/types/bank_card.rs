//! Bank card numbers for subsidy payments: 16–19 digits with a valid Luhn check digit.
//!
//! ## What it checks
//! V502 (warning): not 16–19 ASCII digits, or failing the Luhn (ISO/IEC 7812) check. A warning,
//! not an error: some older 一折通 passbook numbers legitimately fail Luhn.

use super::{FieldCtx, Fill, Parsed, Value};

/// Rule code of a doubtful bank card number.
pub const CODE: &str = "V502";

/// Why a card number is doubtful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardIssue {
    /// Not 16–19 ASCII digits.
    Format,
    /// Right shape, wrong Luhn check digit.
    Luhn,
}

/// Check a card number as written (the caller trims surrounding white space).
pub fn check_bank_card(text: &str) -> Option<CardIssue> {
    if !(16..=19).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(CardIssue::Format);
    }
    (!luhn_valid(text)).then_some(CardIssue::Luhn)
}

/// 16–19 digits passing Luhn.
pub fn is_valid_bank_card(text: &str) -> bool {
    check_bank_card(text).is_none()
}

/// Luhn over a string of ASCII digits; false for anything else or an empty string.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let d = u32::from(b - b'0');
        sum += if i % 2 == 1 {
            let doubled = d * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            d
        };
    }
    sum.is_multiple_of(10)
}

/// Append the Luhn check digit to `payload` (ASCII digits), for synthetic card numbers.
pub fn with_luhn_digit(payload: &str) -> Option<String> {
    if !payload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (0..=9)
        .map(|d| format!("{payload}{d}"))
        .find(|candidate| luhn_valid(candidate))
}

/// V502 (registered in [`super::BUILTINS`]): not 16–19 digits, or failing Luhn.
pub(super) fn check(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    (matches!(v.parsed, Parsed::Text) && check_bank_card(v.trimmed).is_some()).then(Fill::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_reference_numbers() {
        // Standard Luhn test numbers (card issuers' published test PANs), not real accounts.
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4111a11111111111"));
    }

    #[test]
    fn card_numbers() {
        let card16 = with_luhn_digit("622848001234567").unwrap();
        let card19 = with_luhn_digit("621700000000000001").unwrap();
        assert_eq!(card16.len(), 16);
        assert_eq!(card19.len(), 19);
        assert!(is_valid_bank_card(&card16));
        assert!(is_valid_bank_card(&card19));
        assert!(is_valid_bank_card("4111111111111111"));
        let last = card16.as_bytes()[15];
        let wrong = format!(
            "{}{}",
            &card16[..15],
            if last == b'9' { 0 } else { last - b'0' + 1 }
        );
        assert_eq!(check_bank_card(&wrong), Some(CardIssue::Luhn));
        for bad in [
            "",
            "79927398713",
            "411111111111111",
            "41111111111111111111",
            "4111-1111-1111-1111",
            "4111 1111 1111 1111",
            "６２２８４８００１２３４５６７８",
            "6.22848E+18",
        ] {
            assert_eq!(check_bank_card(bad), Some(CardIssue::Format), "{bad}");
        }
        assert_eq!(with_luhn_digit("12a"), None);
    }
}
