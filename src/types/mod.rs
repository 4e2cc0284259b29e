//! Built-in field types written in Rust: checks SQL cannot say well (ID checksum, code lists
//! with "did you mean", digits lost to Excel). Pure functions over one value, no polars.
//!
//! Order of use for one cell: [`cell_text`] (what the clerk sees) → [`trim_value`] (V602; for an
//! ID number white space is V106's instead, handled by [`check_id`]) → the field type's check.
//! Each check returns its issue as a value whose `code()` (or the module's `CODE`) is the rule
//! code of rules.md; severity, message and hint come from the schema's catalogue.

pub mod bank_card;
pub mod cell;
pub mod code_list;
pub mod date;
pub mod id_number;
pub mod name;
pub mod number;
pub mod phone;
pub mod whitespace;

pub use bank_card::{CardIssue, check_bank_card, is_valid_bank_card, luhn_valid};
pub use cell::{cell_text, is_numeric, number_text};
pub use code_list::{CodeLookup, lookup};
pub use date::{age_at, excel_serial_datetime, from_excel_serial, parse_date};
pub use id_number::{
    IdCheck, IdIssue, IdKind, MalformedReason, Sex, check_char, check_id, make_id, normalize_id,
    upgrade15,
};
pub use name::{NameIssue, check_name, is_plausible_name};
pub use number::{NumberIssue, cell_number, check_number, check_range, is_integer, parse_number};
pub use phone::is_valid_phone;
pub use whitespace::{Trimmed, trim_value};

/// One built-in check, for `povcheck rules`, docs and the "every builtin has a catalogue entry"
/// test: the rule code and a one-line English description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinDoc {
    pub code: &'static str,
    pub description: &'static str,
}

const fn doc(code: &'static str, description: &'static str) -> BuiltinDoc {
    BuiltinDoc { code, description }
}

/// Every built-in check, in code order. Help and docs read this one list.
pub const BUILTINS: &[BuiltinDoc] = &[
    doc(
        "V101",
        "ID number malformed: wrong length or characters, or a placeholder",
    ),
    doc(
        "V102",
        "ID number check character wrong (ISO 7064 MOD 11-2)",
    ),
    doc(
        "V103",
        "ID number birth date impossible, after the reference date, or before 1900",
    ),
    doc(
        "V104",
        "ID number address code has no real province or city",
    ),
    doc(
        "V105",
        "ID number stored as a number; Excel lost its last digits",
    ),
    doc(
        "V106",
        "ID number written non-standardly (x, full-width, spaces) and normalised",
    ),
    doc(
        "V107",
        "15-digit old-form ID number; the 18-digit form is in the hint",
    ),
    doc(
        "V201",
        "value not in the field's code list; nearest allowed value suggested",
    ),
    doc(
        "V301",
        "not a number in a numeric field (or a fraction in an integer field)",
    ),
    doc("V302", "number outside the field's valid range"),
    doc("V303", "number inside the valid range but implausible"),
    doc("V401", "not a valid date"),
    doc(
        "V501",
        "phone number neither a mobile nor a landline with area code",
    ),
    doc(
        "V502",
        "bank card number not 16-19 digits or failing the Luhn check",
    ),
    doc(
        "V601",
        "name implausible: digits, Latin letters, placeholder or too long",
    ),
    doc(
        "V602",
        "leading/trailing or invisible white space in a value",
    ),
];

/// The built-in check with this code.
pub fn builtin(code: &str) -> Option<&'static BuiltinDoc> {
    BUILTINS.iter().find(|b| b.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_unique_sorted_and_well_formed() {
        let codes: Vec<&str> = BUILTINS.iter().map(|b| b.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "BUILTINS must be unique and in code order");
        for b in BUILTINS {
            let bytes = b.code.as_bytes();
            assert!(
                bytes.len() == 4 && bytes[0] == b'V' && bytes[1..].iter().all(u8::is_ascii_digit),
                "{} does not match ^V[0-9]{{3}}$",
                b.code
            );
            assert!(!b.description.is_empty() && b.description.is_ascii());
        }
    }

    #[test]
    fn every_issue_code_is_documented() {
        let issue_codes = [
            IdIssue::Malformed(MalformedReason::Placeholder).code(),
            IdIssue::Checksum { expected: '0' }.code(),
            IdIssue::BirthDate.code(),
            IdIssue::Region.code(),
            IdIssue::DigitsLost.code(),
            IdIssue::Normalized.code(),
            IdIssue::OldForm.code(),
            code_list::CODE,
            NumberIssue::NotANumber.code(),
            NumberIssue::NotInteger.code(),
            NumberIssue::OutOfRange.code(),
            NumberIssue::Implausible.code(),
            date::CODE_INVALID,
            phone::CODE,
            bank_card::CODE,
            name::CODE,
            whitespace::CODE,
        ];
        for code in issue_codes {
            assert!(builtin(code).is_some(), "{code} missing from BUILTINS");
        }
        for b in BUILTINS {
            assert!(
                issue_codes.contains(&b.code),
                "{} documented but never produced",
                b.code
            );
        }
        assert!(builtin("V999").is_none());
    }
}
