//! Surrounding and invisible white space in any value (V602), removed before every other check.
//!
//! ## What it checks
//! V602 (warning): white space before or after a value — including the non-breaking space U+00A0
//! and the ideographic space U+3000 that pasted text brings — or an invisible zero-width
//! character (U+200B–U+200D, U+2060, U+FEFF) anywhere in it. Both make two cells that look the
//! same compare different. Inner ordinary spaces are kept: "初 中" is a wrong code (V201), not
//! white space to clean.

use super::{FieldCtx, Fill, Value};
use std::borrow::Cow;

/// Rule code of surrounding or invisible white space.
pub const CODE: &str = "V602";

/// A value with its surrounding white space and invisible characters removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed<'a> {
    /// What later checks see: borrowed from the raw value unless an invisible character had to
    /// be cut out of its middle.
    pub value: Cow<'a, str>,
    /// Something was removed: V602.
    pub changed: bool,
}

/// Zero-width characters that render as nothing but break exact comparison.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// White space at a value's edge: Unicode White_Space (covers U+00A0 and U+3000) or invisible.
pub fn is_edge_space(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

/// Remove surrounding white space and invisible characters (anywhere). Idempotent. The value
/// may come out empty (a cell holding only a zero-width space): the cell is then blank.
pub fn trim_value(raw: &str) -> Trimmed<'_> {
    let edges = raw.trim_matches(is_edge_space);
    // Every invisible character is encoded starting with byte E2 or EF; most values (digits,
    // codes, and CJK text in E3–E9) have neither, and are returned without a copy.
    let may_hide = memchr::memchr2(0xE2, 0xEF, edges.as_bytes()).is_some();
    if !may_hide || !edges.contains(is_invisible) {
        return Trimmed {
            value: Cow::Borrowed(edges),
            changed: edges.len() != raw.len(),
        };
    }
    let value: String = edges.chars().filter(|&c| !is_invisible(c)).collect();
    // An invisible character between two spaces can expose new edge space once removed.
    let value = match value.trim_matches(is_edge_space) {
        t if t.len() == value.len() => value,
        t => t.to_string(),
    };
    let changed = value != raw;
    Trimmed {
        value: Cow::Owned(value),
        changed,
    }
}

/// V602 (registered in [`super::BUILTINS`]): trimming changed the cell's text. Also for a value
/// that is only white space (the field's empty rule follows it).
pub(super) fn check(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    v.text.is_some_and(|t| t != v.trimmed).then(Fill::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_removes_edge_space() {
        for (raw, want) in [
            (" 初中", "初中"),
            ("初中 ", "初中"),
            ("\u{00A0}初中", "初中"),
            ("初中\u{3000}", "初中"),
            ("\t初中\r\n", "初中"),
            ("初\u{200B}中", "初中"),
            ("\u{FEFF}初中", "初中"),
            ("初中\u{200D}", "初中"),
            (" \u{200B} 初中", "初中"),
            ("\u{200B}", ""),
        ] {
            let t = trim_value(raw);
            assert_eq!(t.value, want, "{raw:?}");
            assert!(t.changed, "{raw:?}");
        }
    }

    #[test]
    fn leaves_clean_values_alone() {
        for raw in [
            "初中",
            "初 中",
            "阿卜杜拉·买买提",
            "",
            "0759-1234567",
            "张\u{00A0}三",
        ] {
            let t = trim_value(raw);
            assert_eq!(t.value, raw);
            assert!(!t.changed, "{raw:?}");
        }
    }

    #[test]
    fn idempotent() {
        for raw in [" a\u{200B} ", "\u{3000}\u{200B}\u{3000}b", "x"] {
            let once = trim_value(raw).value;
            let twice = trim_value(&once);
            assert_eq!(twice.value, once);
            assert!(!twice.changed);
        }
    }
}
