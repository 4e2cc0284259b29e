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
    let edges = if plain_edges(raw.as_bytes()) {
        raw
    } else {
        raw.trim_matches(is_edge_space)
    };
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

/// Whether both edges of a value are characters that cannot be white space, read from the
/// bytes alone: a printable ASCII character, or a 3-byte character led by E4–E9 (U+4000–U+9FFF,
/// CJK ideographs). Almost every cell passes, so `trim_matches` decodes only the rest.
fn plain_edges(b: &[u8]) -> bool {
    let cjk = |lead: u8| (0xE4..=0xE9).contains(&lead);
    let first = b.first().is_some_and(|&c| c.is_ascii_graphic() || cjk(c));
    let last = match b {
        [.., c] if c.is_ascii_graphic() => true,
        [.., lead, c1, c2] => cjk(*lead) && (0x80..0xC0).contains(c1) && (0x80..0xC0).contains(c2),
        _ => false,
    };
    first && last
}

/// V602 (registered in [`super::BUILTINS`]): trimming changed the cell's text. Also for a value
/// that is only white space (the field's empty rule follows it).
pub(super) fn check(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    // Trimming only removes characters: a change always shortens the text.
    v.text
        .is_some_and(|t| t.len() != v.trimmed.len())
        .then(Fill::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_edges_are_never_white_space() {
        let values = [
            "张三",
            "a",
            "初中",
            " 张三",
            "张三 ",
            "张三\u{3000}",
            "\u{3000}张三",
            "\u{200B}x",
            "x\u{FEFF}",
            "\u{A0}1",
            "1\u{A0}",
            "ａ",
            "１２",
            "x\t",
            "\n",
            "",
            "丨",
            "鿿",
            "䀀",
            "12·3",
            "阿卜杜拉·买买提",
            "\u{2060}",
            "𠀀",
            "x𠀀",
        ];
        for v in values {
            if plain_edges(v.as_bytes()) {
                assert_eq!(v.trim_matches(is_edge_space), v, "{v:?}");
            }
        }
        assert!(plain_edges("张三".as_bytes()) && plain_edges(b"a1"));
        assert!(!plain_edges(" 张三".as_bytes()) && !plain_edges("张三\u{3000}".as_bytes()));
    }

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
