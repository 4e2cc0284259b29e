//! Person names (姓名): values that cannot be a person's name.
//!
//! ## What it checks
//! V601 (warning): a name containing digits or Latin letters (half- or full-width), a placeholder
//! (无, 不详, 未知, 测试, xxx …), or longer than 20 characters. The middle dot of transliterated
//! minority names (阿卜杜拉·买买提, also written with ・ or •) is fine. A warning, because a rare
//! real name can look odd; the clerk confirms it.

use super::{FieldCtx, Fill, Parsed, Value};
use crate::finding::Lang;

/// Rule code of an implausible name.
pub const CODE: &str = "V601";

/// Longest plausible name in characters (long minority names with dots stay well under it).
pub const MAX_CHARS: usize = 20;

/// Values typed to fill a required 姓名 cell.
pub const PLACEHOLDERS: &[&str] = &["无", "不详", "未知", "测试", "xxx", "某某", "待定", "空"];

/// Why a name is implausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameIssue {
    Digits,
    Latin,
    Placeholder,
    TooLong,
}

/// Check a name as written (the caller trims surrounding white space).
pub fn check_name(name: &str) -> Option<NameIssue> {
    if PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(name)) || name.contains("测试") {
        return Some(NameIssue::Placeholder);
    }
    if name
        .chars()
        .any(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c))
    {
        return Some(NameIssue::Digits);
    }
    if name.chars().any(is_latin) {
        return Some(NameIssue::Latin);
    }
    if name.chars().count() > MAX_CHARS {
        return Some(NameIssue::TooLong);
    }
    None
}

/// A plausible name: [`check_name`] finds nothing.
pub fn is_plausible_name(name: &str) -> bool {
    check_name(name).is_none()
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{FF21}'..='\u{FF3A}').contains(&c)
        || ('\u{FF41}'..='\u{FF5A}').contains(&c)
}

impl NameIssue {
    /// Why, for V601's `{reason}`.
    pub fn text(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (NameIssue::Digits, Lang::Zh) => "含有数字",
            (NameIssue::Latin, Lang::Zh) => "含有拉丁字母",
            (NameIssue::Placeholder, Lang::Zh) => "是占位词",
            (NameIssue::TooLong, Lang::Zh) => "超过 20 个字",
            (NameIssue::Digits, Lang::En) => "contains digits",
            (NameIssue::Latin, Lang::En) => "contains Latin letters",
            (NameIssue::Placeholder, Lang::En) => "is a placeholder",
            (NameIssue::TooLong, Lang::En) => "is longer than 20 characters",
        }
    }
}

/// V601 (registered in [`super::BUILTINS`]): an implausible name, with why in `{reason}`.
pub(super) fn check(v: &Value<'_>, cx: &FieldCtx) -> Option<Fill> {
    if !matches!(v.parsed, Parsed::Text) {
        return None;
    }
    check_name(v.trimmed).map(|issue| Fill {
        reason: Some(issue.text(cx.lang).to_string()),
        ..Fill::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_names() {
        for n in [
            "张三",
            "欧阳明华",
            "阿卜杜拉·买买提",
            "阿卜杜拉・买买提",
            "阿卜杜拉•买买提",
            "李",
            "扎西多吉",
            "阿依古丽·艾买提·吐尔逊",
        ] {
            assert_eq!(check_name(n), None, "{n}");
        }
    }

    #[test]
    fn implausible_names() {
        let cases: &[(&str, NameIssue)] = &[
            ("无", NameIssue::Placeholder),
            ("不详", NameIssue::Placeholder),
            ("未知", NameIssue::Placeholder),
            ("xxx", NameIssue::Placeholder),
            ("XXX", NameIssue::Placeholder),
            ("测试", NameIssue::Placeholder),
            ("测试1", NameIssue::Placeholder),
            ("张三2", NameIssue::Digits),
            ("张三２", NameIssue::Digits),
            ("Zhang San", NameIssue::Latin),
            ("张Ａ", NameIssue::Latin),
            (
                "张三李四王五赵六孙七周八吴九郑十冯十一陈十二",
                NameIssue::TooLong,
            ),
        ];
        for (n, want) in cases {
            assert_eq!(check_name(n), Some(*want), "{n}");
        }
        assert!(!is_plausible_name("无"));
        assert!(is_plausible_name("张三"));
    }
}
