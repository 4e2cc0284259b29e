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

use chrono::NaiveDate;
use serde::Deserialize;

use crate::finding::Lang;

pub use bank_card::{CardIssue, check_bank_card, is_valid_bank_card, luhn_valid};
pub use cell::{cell_text, is_numeric, number_text};
pub use code_list::{CodeLookup, lookup};
pub use date::{age_at, excel_serial_datetime, from_excel_serial, parse_date};
pub use id_number::{
    IdCheck, IdIssue, IdKind, MalformedReason, Sex, check_char, check_id, make_id, normalize_id,
    upgrade15,
};
pub use name::{NameIssue, check_name, is_plausible_name};
pub use number::{
    NumberIssue, Range, cell_number, check_number, check_range, convert_number, fmt_num,
    is_integer, parse_number,
};
pub use phone::is_valid_phone;
pub use whitespace::{Trimmed, trim_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text, compared exactly after trimming.
    Text,
    /// GB 11643 citizen ID number, or a 残疾人证 number (20/22 characters).
    IdNumber,
    /// A value from `codes` (or a variant listed in `variants`).
    Code,
    Integer,
    Decimal,
    Date,
    /// Mobile or landline phone number.
    Phone,
    /// Bank card number (16–19 digits, Luhn).
    BankCard,
    /// A person's name.
    Name,
    /// System-assigned digit strings (户编号, 人编号).
    Digits,
}

impl FieldType {
    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }
}

// What a built-in value check is given and gives back, so each check is a plain function
// registered in BUILTINS and the typing pass needs no arm per check: the pass converts each
// cell once per field type (trimming, number and date parsing, code canonicalisation, ID
// normalisation: `Parsed`); the value checks registered for the field's type then look at that
// result and say whether they fire, with the placeholder values of their message (`Fill`).

/// One value of a field, as every value check of the field sees it.
#[derive(Debug)]
pub struct Value<'a> {
    /// The cell's text as the clerk sees it; None for a number or date cell typed from its value
    /// (such a cell has no white space to report).
    pub text: Option<&'a str>,
    /// `text` without surrounding and invisible white space; empty when `text` is None.
    pub trimmed: &'a str,
    /// What the field type's conversion made of it.
    pub parsed: &'a Parsed<'a>,
}

/// A value converted for its field type: what the typed column holds, or why it cannot.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// Nothing left after trimming: the field's empty rule follows, not a value check.
    Blank,
    /// Text, digits, name, phone and bank card fields: the trimmed text itself.
    Text,
    /// Integer and decimal fields: the number, or why the field cannot use it (V301).
    Number(Result<f64, NumberIssue>),
    /// Date fields: None when it is no date (V401).
    Date(Option<NaiveDate>),
    /// Code fields: the canonical code, or the suggestion for a value not in the list (V201).
    Code(Result<&'a str, Option<String>>),
    /// ID number fields: the whole check, whose issues are V101–V107.
    Id(IdCheck),
}

/// What a value check knows about the field besides the value.
#[derive(Debug, Clone, Copy)]
pub struct FieldCtx {
    pub ty: FieldType,
    pub range: Range,
    /// Language of the reasons a check writes into `{reason}`.
    pub lang: Lang,
}

/// Placeholder values a fired built-in check fills in its message and hint, beyond those of the
/// cell it lands on ([`CELL_PLACEHOLDERS`]). Which of them a check may fill is its
/// `placeholders` in [`BUILTINS`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fill {
    pub reason: Option<String>,
    pub expected: Option<String>,
    pub upgraded: Option<String>,
    pub suggestion: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

impl Fill {
    /// The field's valid range, for V302 and V303.
    pub fn range(range: &Range) -> Self {
        Fill {
            min: range.min.map(fmt_num),
            max: range.max.map(fmt_num),
            ..Fill::default()
        }
    }
}

/// A built-in check of one value: `Some` when it fires.
pub type ValueCheck = fn(&Value<'_>, &FieldCtx) -> Option<Fill>;

/// What a built-in check looks at; a value check carries its function, which the typing pass
/// calls on every value of a field of a matching type.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The file's columns: one finding per missing column (dataset scope).
    Columns,
    /// A required field's empty cell (the field's `empty_rule`).
    Empty,
    /// Each value of a field of one of these types.
    Values(&'static [FieldType], ValueCheck),
    /// Each value of every field but those of these types.
    ValuesExcept(&'static [FieldType], ValueCheck),
    /// A household field's values across the household's rows (household scope).
    Household,
}

impl Target {
    /// Whether the check looks at each value of a field of type `ty`.
    pub fn checks_values_of(self, ty: FieldType) -> bool {
        self.value_check(ty).is_some()
    }

    /// The check to call on each value of a field of type `ty`, if it looks at them.
    pub fn value_check(self, ty: FieldType) -> Option<ValueCheck> {
        match self {
            Target::Values(types, check) if types.contains(&ty) => Some(check),
            Target::ValuesExcept(types, check) if !types.contains(&ty) => Some(check),
            _ => None,
        }
    }
}

/// One built-in check (written in Rust, `kind = "builtin"` in the schema).
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The rule code of rules.md.
    pub code: &'static str,
    pub target: Target,
    /// Placeholders of its message and hint the check fills itself, beyond [`CELL_PLACEHOLDERS`].
    pub placeholders: &'static [&'static str],
    /// One line of English, for docs and the rule listing.
    pub description: &'static str,
}

/// Placeholders every built-in finding can fill from where it lands.
pub const CELL_PLACEHOLDERS: &[&str] = &["value", "header", "column", "household"];

const fn builtin_check(
    code: &'static str,
    target: Target,
    placeholders: &'static [&'static str],
    description: &'static str,
) -> Builtin {
    Builtin {
        code,
        target,
        placeholders,
        description,
    }
}

use FieldType as T;

const NUMBERS: &[FieldType] = &[T::Integer, T::Decimal];
/// An error cell (`#N/A`) says why in `{reason}`, whatever the check.
const REASON: &[&str] = &["reason"];

/// Every built-in check: the schema loader accepts `kind = "builtin"` only for these codes and
/// their placeholders, the typing pass calls the value checks registered for each field's type
/// (and takes a broken value's code from here), and the tests check the default schema against
/// it. Adding a value check: an entry here, its function in its type's module, and its
/// `[[rule]]` in the schema (docs/schema.md, "Adding a built-in check").
pub const BUILTINS: &[Builtin] = &[
    builtin_check(
        "C001",
        Target::Columns,
        &["file", "sheet", "field"],
        "a required column is missing from the file",
    ),
    builtin_check(
        "C002",
        Target::Columns,
        &["file", "sheet", "field", "first", "duplicate"],
        "two columns map to one field: the leftmost is checked, the other is not read",
    ),
    builtin_check("C101", Target::Empty, &[], "a required field is empty"),
    builtin_check("C106", Target::Empty, &[], "an insurance field is empty"),
    builtin_check(
        "V101",
        Target::Values(&[T::IdNumber], id_number::check_malformed),
        REASON,
        "ID number malformed: wrong length or characters, or a placeholder",
    ),
    builtin_check(
        "V102",
        Target::Values(&[T::IdNumber], id_number::check_checksum),
        &["expected"],
        "ID number check character wrong (ISO 7064 MOD 11-2)",
    ),
    builtin_check(
        "V103",
        Target::Values(&[T::IdNumber], id_number::check_birth_date),
        &[],
        "ID number birth date impossible, after the reference date, or before 1900",
    ),
    builtin_check(
        "V104",
        Target::Values(&[T::IdNumber], id_number::check_region),
        &[],
        "ID number address code has no real province or city",
    ),
    builtin_check(
        "V105",
        Target::Values(&[T::IdNumber], id_number::check_digits_lost),
        &[],
        "ID number stored as a number; Excel lost its last digits",
    ),
    builtin_check(
        "V106",
        Target::Values(&[T::IdNumber], id_number::check_normalized),
        &[],
        "ID number written non-standardly (x, full-width, spaces) and normalised",
    ),
    builtin_check(
        "V107",
        Target::Values(&[T::IdNumber], id_number::check_old_form),
        &["upgraded"],
        "15-digit old-form ID number; the 18-digit form is in the hint",
    ),
    builtin_check(
        "V201",
        Target::Values(&[T::Code], code_list::check),
        &["suggestion", "reason"],
        "value not in the field's code list; nearest allowed value suggested",
    ),
    builtin_check(
        "V301",
        Target::Values(
            &[T::Integer, T::Decimal, T::Digits],
            number::check_not_a_number,
        ),
        REASON,
        "not a number in a numeric field (or a fraction in an integer field)",
    ),
    builtin_check(
        "V302",
        Target::Values(NUMBERS, number::check_out_of_range),
        &["min", "max", "range"],
        "number outside the field's valid range",
    ),
    builtin_check(
        "V303",
        Target::Values(NUMBERS, number::check_implausible),
        &["min", "max", "range"],
        "number inside the valid range but implausible",
    ),
    builtin_check(
        "V401",
        Target::Values(&[T::Date], date::check_invalid),
        REASON,
        "not a valid date",
    ),
    builtin_check(
        "V501",
        Target::Values(&[T::Phone], phone::check),
        REASON,
        "phone number neither a mobile nor a landline with area code",
    ),
    builtin_check(
        "V502",
        Target::Values(&[T::BankCard], bank_card::check),
        REASON,
        "bank card number not 16-19 digits or failing the Luhn check",
    ),
    builtin_check(
        "V601",
        Target::Values(&[T::Name], name::check),
        REASON,
        "name implausible: digits, Latin letters, placeholder or too long",
    ),
    builtin_check(
        "V602",
        // An ID's white space is V106's (its check reads the untrimmed text).
        Target::ValuesExcept(&[T::IdNumber], whitespace::check),
        REASON,
        "leading/trailing or invisible white space in a value",
    ),
    builtin_check(
        "L204",
        Target::Household,
        &["expected"],
        "a household field has two different values within one household",
    ),
];

/// The built-in check with this code.
pub fn builtin(code: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.code == code)
}

/// Whether a built-in check's message may use `{name}`.
pub fn builtin_placeholder(code: &str, name: &str) -> bool {
    builtin(code)
        .is_some_and(|b| CELL_PLACEHOLDERS.contains(&name) || b.placeholders.contains(&name))
}

/// The check a value of type `ty` that is no value at all (an error cell) fails: the first one
/// registered for the type's values.
pub fn broken_value_code(ty: FieldType) -> &'static str {
    BUILTINS
        .iter()
        .find(|b| b.target.checks_values_of(ty))
        .map_or("V602", |b| b.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for b in BUILTINS {
            assert!(seen.insert(b.code), "{} twice", b.code);
            let bytes = b.code.as_bytes();
            assert!(
                bytes.len() == 4
                    && b"CVL".contains(&bytes[0])
                    && bytes[1..].iter().all(u8::is_ascii_digit),
                "{} does not match ^[CVL][0-9]{{3}}$",
                b.code
            );
            assert!(!b.description.is_empty() && b.description.is_ascii());
        }
    }

    #[test]
    fn a_broken_value_fails_its_types_first_check() {
        assert_eq!(broken_value_code(FieldType::IdNumber), "V101");
        assert_eq!(broken_value_code(FieldType::Code), "V201");
        for ty in [FieldType::Integer, FieldType::Decimal, FieldType::Digits] {
            assert_eq!(broken_value_code(ty), "V301");
        }
        assert_eq!(broken_value_code(FieldType::Date), "V401");
        assert_eq!(broken_value_code(FieldType::Phone), "V501");
        assert_eq!(broken_value_code(FieldType::BankCard), "V502");
        assert_eq!(broken_value_code(FieldType::Name), "V601");
        assert_eq!(broken_value_code(FieldType::Text), "V602");
        assert!(builtin_placeholder("V102", "expected"));
        assert!(builtin_placeholder("V102", "value"));
        assert!(!builtin_placeholder("V102", "suggestion"));
        assert!(!builtin_placeholder("L101", "value"));
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
        // The other way round holds by construction: a value check is the function its entry
        // carries, and every V code is one.
        for b in BUILTINS.iter().filter(|b| b.code.starts_with('V')) {
            assert!(
                matches!(b.target, Target::Values(..) | Target::ValuesExcept(..)),
                "{} is no value check",
                b.code
            );
        }
        assert!(builtin("V999").is_none());
    }
}
