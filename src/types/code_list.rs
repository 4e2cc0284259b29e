//! Code-list values: exact match against a field's canonical codes and accepted variants, with a
//! "did you mean" suggestion for a near miss.
//!
//! ## What it checks
//! V201: a value that is neither a canonical code nor an accepted variant. Matching is exact
//! (after the caller removed surrounding white space, V602): "初 中" and "已脱贫(享受政策)" are
//! wrong values, and the hint names the allowed value they were meant to be.

use super::{FieldCtx, Fill, Parsed, Value};
use std::collections::BTreeMap;

/// Rule code of a value outside the code list.
pub const CODE: &str = "V201";

/// Result of looking a value up in a code list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeLookup<'c> {
    /// The canonical value as the schema writes it: the value itself, or what its accepted
    /// variant stands for (borrowed: a million code cells, no copy each).
    Canonical(&'c str),
    /// Not in the list (V201); later rules treat the value as unknown (null).
    Unknown {
        /// The allowed value (a canonical code or an accepted variant, as written in the schema)
        /// the clerk most likely meant.
        suggestion: Option<String>,
    },
}

/// Look `value` up in `codes` (canonical values) and `variants` (accepted variant → canonical).
pub fn lookup<'c>(
    value: &str,
    codes: &'c [String],
    variants: &'c BTreeMap<String, String>,
) -> CodeLookup<'c> {
    if let Some(c) = codes.iter().find(|c| *c == value) {
        return CodeLookup::Canonical(c);
    }
    if let Some(canonical) = variants.get(value) {
        return CodeLookup::Canonical(canonical);
    }
    let candidates = || codes.iter().chain(variants.keys());
    CodeLookup::Unknown {
        suggestion: suggest(value, candidates()),
    }
}

/// The closest allowed value: first one equal after [`fold`], else the one with the smallest edit
/// distance within the cutoff (earlier candidates win ties, so canonical codes beat variants).
pub fn suggest<'a>(
    value: &str,
    candidates: impl Iterator<Item = &'a String> + Clone,
) -> Option<String> {
    let folded = fold(value);
    if folded.is_empty() {
        return None;
    }
    if let Some(hit) = candidates.clone().find(|c| fold(c) == folded) {
        return Some(hit.clone());
    }
    let mut best: Option<(usize, &String)> = None;
    for candidate in candidates {
        let cand_folded = fold(candidate);
        let distance = strsim::levenshtein(&folded, &cand_folded);
        let longest = folded.chars().count().max(cand_folded.chars().count());
        if within_cutoff(distance, longest) && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c.clone())
}

/// Near enough to suggest: at most half the characters differ, and at most 3. Half, because code
/// values are short Chinese words where one character carries the meaning: "男性" → 男 and
/// "汉" → 汉族 are helpful, while "女" → 男 or "无" → 男 would mislead.
fn within_cutoff(distance: usize, longest: usize) -> bool {
    distance <= 3 && distance * 2 <= longest && distance < longest
}

/// Fold away the differences a clerk does not see: full-width ASCII forms to half-width, the
/// ideographic space and brackets to ASCII, all white space removed.
pub fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !super::whitespace::is_invisible(*c))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '【' | '〔' => '[',
            '】' | '〕' => ']',
            _ => c,
        })
        .collect()
}

/// V201 (registered in [`super::BUILTINS`]): not in the code list; the suggestion goes to the
/// hint.
pub(super) fn check(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    match &v.parsed {
        Parsed::Code(Err(suggestion)) => Some(Fill {
            suggestion: suggestion.clone(),
            ..Fill::default()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn tuoping() -> (Vec<String>, BTreeMap<String, String>) {
        let codes = list(&["未脱贫", "已脱贫", "预脱贫", "返贫"]);
        let variants = [
            ("已脱贫（享受政策）", "已脱贫"),
            ("已脱贫（不再享受政策）", "已脱贫"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        (codes, variants)
    }

    fn education() -> Vec<String> {
        list(&[
            "文盲或半文盲",
            "小学",
            "初中",
            "高中",
            "大专及以上",
            "学龄前儿童",
        ])
    }

    #[test]
    fn exact_codes_and_variants() {
        let (codes, variants) = tuoping();
        assert_eq!(
            lookup("已脱贫", &codes, &variants),
            CodeLookup::Canonical("已脱贫")
        );
        assert_eq!(
            lookup("已脱贫（享受政策）", &codes, &variants),
            CodeLookup::Canonical("已脱贫")
        );
        assert_eq!(
            lookup("初中", &education(), &BTreeMap::new()),
            CodeLookup::Canonical("初中")
        );
    }

    #[test]
    fn folded_near_misses_suggest_the_written_value() {
        let (codes, variants) = tuoping();
        assert_eq!(
            lookup("已脱贫(享受政策)", &codes, &variants),
            CodeLookup::Unknown {
                suggestion: Some("已脱贫（享受政策）".into())
            }
        );
        assert_eq!(
            lookup("初 中", &education(), &BTreeMap::new()),
            CodeLookup::Unknown {
                suggestion: Some("初中".into())
            }
        );
        let work = list(&["乡（镇）内务工", "省外务工"]);
        assert_eq!(
            lookup("乡(镇)内务工", &work, &BTreeMap::new()),
            CodeLookup::Unknown {
                suggestion: Some("乡（镇）内务工".into())
            }
        );
    }

    #[test]
    fn edit_distance_suggestions() {
        let sex = list(&["男", "女"]);
        let none = BTreeMap::new();
        let s = |v: &str, codes: &[String]| match lookup(v, codes, &none) {
            CodeLookup::Unknown { suggestion } => suggestion,
            CodeLookup::Canonical(c) => panic!("{v} matched {c}"),
        };
        assert_eq!(s("男性", &sex).as_deref(), Some("男"));
        assert_eq!(s("无", &sex), None);
        assert_eq!(s("", &sex), None);
        assert_eq!(s("女孩子", &sex), None);
        let nation = list(&["汉族", "壮族", "瑶族"]);
        assert_eq!(s("汉", &nation).as_deref(), Some("汉族"));
        assert_eq!(s("漢族", &nation).as_deref(), Some("汉族"));
        assert_eq!(s("苗族", &nation).as_deref(), Some("汉族"));
        assert_eq!(s("英国人", &nation), None);
        let relation = list(&["户主", "配偶", "之子", "之女"]);
        assert_eq!(s("之儿子", &relation).as_deref(), Some("之子"));
        assert_eq!(s("配偶的父亲", &relation), None);
        let (codes, variants) = tuoping();
        match lookup("已脱贫享受政策", &codes, &variants) {
            CodeLookup::Unknown { suggestion } => {
                assert_eq!(suggestion.as_deref(), Some("已脱贫（享受政策）"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fold_is_idempotent_and_visible_only() {
        assert_eq!(fold("已脱贫（享受政策）"), "已脱贫(享受政策)");
        assert_eq!(fold(" 初\u{3000}中 "), "初中");
        assert_eq!(fold("ＡＢＣ１"), "ABC1");
        let once = fold("【初 中】（Ａ）");
        assert_eq!(fold(&once), once);
    }
}
