//! Phone numbers: a mainland mobile number or a landline with its area code.
//!
//! ## What it checks
//! V501: a value that is neither a mobile number (11 digits, `1[3-9]` + 9 digits) nor a landline
//! (`0` + 2–3 digit area code, optional `-`, 7–8 digit local number, e.g. 0759-1234567), either
//! optionally followed by an extension (`-`, `转`, `#` or `ext` + 1–6 digits). Two numbers in one
//! cell, a landline without its area code, or `+86` are invalid: a 联系电话 must be dialled as
//! written.

use super::{FieldCtx, Fill, Parsed, Value};

/// Rule code of an invalid phone number.
pub const CODE: &str = "V501";

/// A valid mobile or landline number, as written (the caller trims surrounding white space).
pub fn is_valid_phone(text: &str) -> bool {
    // Nearly every number is a plain mobile: all digits, so there is no extension to strip
    // (looking for the four separators built a string searcher each, per cell).
    if is_mobile(text) {
        return true;
    }
    let main = strip_extension(text);
    is_mobile(main) || is_landline(main)
}

/// `1[3-9]` + 9 digits.
pub fn is_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b.first() == Some(&b'1')
        && b.get(1).is_some_and(|c| (b'3'..=b'9').contains(c))
        && all_digits(s)
}

/// `0` + 2–3 digit area code, optional `-`, 7–8 digit local number.
pub fn is_landline(s: &str) -> bool {
    if !s.starts_with('0') {
        return false;
    }
    match s.split_once('-') {
        Some((area, local)) => {
            (3..=4).contains(&area.len())
                && all_digits(area)
                && (7..=8).contains(&local.len())
                && all_digits(local)
        }
        // Without the hyphen the split is ambiguous (0759 1234567 or 075 91234567); both
        // readings are 10–12 digits in all.
        None => (10..=12).contains(&s.len()) && all_digits(s),
    }
}

/// The number without a trailing extension; the text unchanged when there is none.
fn strip_extension(text: &str) -> &str {
    for sep in ["转", "#", "ext", "-"] {
        if let Some((main, ext)) = text.rsplit_once(sep)
            && (1..=6).contains(&ext.len())
            && all_digits(ext)
            && (is_mobile(main) || is_landline(main))
        {
            return main;
        }
    }
    text
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// V501 (registered in [`super::BUILTINS`]): neither a mobile nor a landline number.
pub(super) fn check(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    (matches!(v.parsed, Parsed::Text) && !is_valid_phone(v.trimmed)).then(Fill::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers() {
        for s in [
            "13800138000",
            "19912345678",
            "0759-1234567",
            "07591234567",
            "020-12345678",
            "02012345678",
            "0759-1234567-801",
            "0759-1234567转801",
            "0759-1234567#8",
            "13800138000转1",
            "0759-1234567ext12",
        ] {
            assert!(is_valid_phone(s), "{s}");
        }
    }

    #[test]
    fn invalid_numbers() {
        for s in [
            "",
            "12800138000",
            "1380013800",
            "138001380001",
            "138-0013-8000",
            "+8613800138000",
            "1234567",
            "759-1234567",
            "0759-123456",
            "0759-123456789",
            "07-1234567",
            "07591-1234567",
            "075912345",
            "0759-1234567-",
            "0759-1234567-1234567",
            "13800138000/13900139000",
            "１３８００１３８０００",
            "无",
            "0759 1234567",
        ] {
            assert!(!is_valid_phone(s), "{s:?}");
        }
    }
}
