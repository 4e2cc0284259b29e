//! The corrected form of one value, when it has exactly one: built only from the checks' own
//! normalisers in `types`, so the corrected value is one the same check accepts.

use chrono::NaiveDate;

use crate::schema::Field;
use crate::types::{self, FieldType, IdIssue};

/// A value's one right correction and the rules it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub after: String,
    pub rules: Vec<&'static str>,
}

/// The correction of `raw` (the text the clerk sees) in a column of `field`, or None when the
/// value is fine or has no single right answer. `numeric`: the cell is stored as a number.
///
/// - ID numbers: only when every issue is V106 (written non-standardly) or V107 (15-digit old
///   form): the normalised form, and for the old form its 18-digit upgrade (GB 11643 defines
///   it). Never a checksum "repair", never digits back from a number cell.
/// - Everything else: surrounding or invisible white space removed (V602); then, for a code,
///   the one allowed value (canonical or accepted variant, as the schema writes it) equal to it
///   after folding width, brackets and white space — not when two fold the same, and never the
///   nearest of an edit distance.
pub fn correct(field: &Field, raw: &str, numeric: bool, as_of: NaiveDate) -> Option<Correction> {
    if field.ty == FieldType::IdNumber {
        let chk = types::check_id(raw, numeric, as_of);
        if chk.issues.is_empty()
            || !chk
                .issues
                .iter()
                .all(|i| matches!(i, IdIssue::Normalized | IdIssue::OldForm))
        {
            return None;
        }
        let after = match chk.kind {
            types::IdKind::Old15 => chk.upgraded.clone()?,
            _ => chk.normalized.clone(),
        };
        let rules = chk.issues.iter().map(IdIssue::code).collect();
        return (after != raw).then_some(Correction { after, rules });
    }
    // A number or date cell has no white space to remove; its text is the reader's rendering.
    if numeric {
        return None;
    }
    let trimmed = types::trim_value(raw);
    let mut rules = Vec::new();
    if trimmed.changed {
        rules.push(types::whitespace::CODE);
    }
    let mut after = trimmed.value.into_owned();
    if field.ty == FieldType::Code
        && !after.is_empty()
        && let types::CodeLookup::Unknown { .. } =
            types::lookup(&after, &field.codes, &field.variants)
    {
        let folded = types::code_list::fold(&after);
        let mut same: Vec<&String> = field
            .codes
            .iter()
            .chain(field.variants.keys())
            .filter(|c| types::code_list::fold(c) == folded)
            .collect();
        same.sort();
        same.dedup();
        if let [only] = same.as_slice() {
            after = (*only).clone();
            rules.push(types::code_list::CODE);
        }
    }
    (after != raw && !rules.is_empty()).then_some(Correction { after, rules })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn field(ty: FieldType, codes: &[&str], variants: &[(&str, &str)]) -> Field {
        let mut f: Field = toml::from_str(&format!(
            "name = \"f\"\ntype = \"{}\"",
            match ty {
                FieldType::IdNumber => "id_number",
                FieldType::Code => "code",
                _ => "text",
            }
        ))
        .expect("field");
        f.codes = codes.iter().map(|s| s.to_string()).collect();
        f.variants = variants
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>();
        f
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2017, 12, 31).expect("date")
    }

    #[test]
    fn ids_only_when_the_answer_is_defined() {
        let f = field(FieldType::IdNumber, &[], &[]);
        let birth = NaiveDate::from_ymd_opt(1980, 1, 2).expect("d");
        let good = types::make_id("110101", birth, 7);
        assert_eq!(correct(&f, &good, false, day()), None);
        let with_x = (0..1000)
            .map(|seq| types::make_id("110101", birth, seq))
            .find(|id| id.ends_with('X'))
            .expect("some sequence number ends in X");
        let c = correct(&f, &with_x.to_lowercase(), false, day()).expect("x");
        assert_eq!(c.after, with_x);
        assert_eq!(c.rules, ["V106"]);
        let spaced = format!(" {} {}", &good[..6], &good[6..]);
        let c = correct(&f, &spaced, false, day()).expect("spaced");
        assert_eq!(c.after, good);
        // A wrong check digit is never "repaired".
        let last = good.chars().last().expect("last");
        let wrong = format!("{}{}", &good[..17], if last == '1' { '2' } else { '1' });
        assert_eq!(correct(&f, &wrong, false, day()), None);
        assert_eq!(correct(&f, &format!(" {wrong}"), false, day()), None);
        // 15 → 18 digits.
        let old = format!("{}{}", &good[..6], &good[8..17]);
        let c = correct(&f, &old, false, day()).expect("old");
        assert_eq!(c.after, good);
        assert_eq!(c.rules, ["V107"]);
    }

    #[test]
    fn codes_only_when_one_value_folds_the_same() {
        let f = field(
            FieldType::Code,
            &["初中", "已脱贫"],
            &[("已脱贫（享受政策）", "已脱贫")],
        );
        let c = correct(&f, "已脱贫(享受政策)", false, day()).expect("brackets");
        assert_eq!(c.after, "已脱贫（享受政策）");
        assert_eq!(c.rules, ["V201"]);
        let c = correct(&f, " 初 中", false, day()).expect("space");
        assert_eq!(c.after, "初中");
        assert_eq!(c.rules, ["V602", "V201"]);
        // A near miss by edit distance is a guess: left alone.
        assert_eq!(correct(&f, "初级中学", false, day()), None);
        assert_eq!(correct(&f, "初中", false, day()), None);
        let c = correct(&f, "初中\u{3000}", false, day()).expect("trim");
        assert_eq!(c.after, "初中");
        assert_eq!(c.rules, ["V602"]);
        // Two allowed values fold the same: no single answer.
        let g = field(FieldType::Code, &["A（1）", "A(1)"], &[]);
        assert_eq!(correct(&g, "A（ 1）", false, day()), None);
    }
}
