//! `--mask` (opt-in): hides personal data in every output, so a report can be shared beyond the
//! clerk who fixes the data.
//!
//! A finding's `value` is masked by its field's mask kind (`Field.mask`: id, phone, card, name).
//! Messages and hints (and input/skip reasons) are masked by pattern, because rules interpolate
//! values into text (V107's upgraded ID, D101's other row): 15/18/20/22-digit ID numbers keep the
//! first 6 and last 4 characters (`440811********123X`), 11-digit mobiles the first 3 and last 4,
//! 16–19-digit card numbers the first 4 and last 4; names found as values of name fields are
//! masked wherever they appear (`张*明`, two characters `张*`). Masking is applied to the run
//! before any writer sees it, so no writer can forget it.

use std::collections::BTreeSet;

use super::Run;

/// Mask every personal value of `run` in place.
pub fn mask_run(run: &mut Run) {
    let schema = run.schema;
    let kind_of = |column: &Option<String>| {
        column
            .as_deref()
            .and_then(|c| schema.field(c))
            .and_then(|f| f.mask.clone())
    };
    // Names first: a name can turn up in another finding's message (a duplicate's partner).
    let mut names: BTreeSet<String> = BTreeSet::new();
    for f in &run.findings {
        if kind_of(&f.column).as_deref() == Some("name")
            && let Some(v) = &f.value
        {
            let v = v.trim();
            if v.chars().count() >= 2 {
                names.insert(v.to_string());
            }
        }
    }
    // Longest first, so a name containing another is replaced whole.
    let mut names: Vec<(String, String)> = names
        .into_iter()
        .map(|n| {
            let m = mask_name(&n);
            (n, m)
        })
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.chars().count()));
    let text = |s: &str| {
        let mut s = s.to_string();
        for (n, m) in &names {
            if s.contains(n.as_str()) {
                s = s.replace(n.as_str(), m);
            }
        }
        mask_text(&s)
    };
    for f in &mut run.findings {
        let kind = kind_of(&f.column);
        if let Some(v) = &f.value {
            let masked = match kind.as_deref() {
                Some(k) => mask_value(k, v),
                None => v.clone(),
            };
            f.value = Some(text(&masked));
        }
        f.message = text(&f.message);
        f.hint = text(&f.hint);
    }
    for i in &mut run.inputs {
        if let Some(r) = i.reason_text(run.lang) {
            i.reason = Some(text(&r).into());
        }
    }
    for s in &mut run.skipped_rules {
        s.reason = text(&s.reason);
    }
}

/// Mask one value by its field's kind; an unknown kind leaves pattern masking to the caller.
pub fn mask_value(kind: &str, v: &str) -> String {
    match kind {
        "id" => keep_ends(v, 6, 4),
        "phone" => keep_ends(v, 3, 4),
        "card" => keep_ends(v, 4, 4),
        "name" => mask_name(v),
        _ => v.to_string(),
    }
}

/// `张三明` → `张*明`, `张三` → `张*`, `欧阳小明` → `欧**明`.
pub fn mask_name(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [_] => "*".to_string(),
        [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            format!("{first}{}{last}", "*".repeat(middle.len()))
        }
    }
}

/// Keep `head` and `tail` characters, star the rest; a value too short to hide anything is
/// starred whole (a truncated ID still identifies its owner's region and birth date).
fn keep_ends(v: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = v.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Mask ID, mobile and card numbers found in free text. Lengths decide, so a 16-digit 户编号
/// quoted in a message is masked like a card: over-masking a system number is the safe error.
pub fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let Some(c) = chars.get(i).copied() else {
            break;
        };
        if !is_digit(c) {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i).is_some_and(|c| is_digit(*c)) {
            i += 1;
        }
        // An 18-character ID may end in X (x, full-width Ｘ).
        if i - start == 17
            && chars
                .get(i)
                .is_some_and(|c| matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ'))
        {
            i += 1;
        }
        let token: String = chars.get(start..i).unwrap_or_default().iter().collect();
        let n = i - start;
        let first = chars.get(start).copied();
        let masked = match n {
            15 | 18 | 20 | 22 => keep_ends(&token, 6, 4),
            11 if matches!(first, Some('1' | '１')) => keep_ends(&token, 3, 4),
            16 | 17 | 19 => keep_ends(&token, 4, 4),
            _ => token,
        };
        out.push_str(&masked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_by_kind() {
        assert_eq!(mask_value("id", "44081119900101123X"), "440811********123X");
        assert_eq!(mask_value("phone", "13800001234"), "138****1234");
        assert_eq!(
            mask_value("card", "6222000011112222333"),
            "6222***********2333"
        );
        assert_eq!(mask_value("name", "张三明"), "张*明");
        assert_eq!(mask_value("name", "张三"), "张*");
        assert_eq!(mask_value("name", "欧阳小明"), "欧**明");
        assert_eq!(mask_value("id", "4408111"), "*******");
        assert_eq!(mask_value("other", "abc"), "abc");
    }

    #[test]
    fn text_patterns() {
        assert_eq!(
            mask_text("证件号码 44081119900101123X 校验位错误"),
            "证件号码 440811********123X 校验位错误"
        );
        assert_eq!(
            mask_text("旧号 440811900101123 升级"),
            "旧号 440811*****1123 升级"
        );
        assert_eq!(mask_text("电话13800001234无效"), "电话138****1234无效");
        assert_eq!(mask_text("卡 6222000011112222"), "卡 6222********2222");
        // Not personal: years, counts, row numbers; a landline is not an 11-digit mobile.
        assert_eq!(
            mask_text("2017 年 第 21 行 人数 5"),
            "2017 年 第 21 行 人数 5"
        );
        assert_eq!(mask_text("固话 07511234567"), "固话 07511234567");
        assert_eq!(
            mask_text("４４０８１１１９９００１０１１２３Ｘ"),
            "４４０８１１********１２３Ｘ"
        );
    }

    #[test]
    fn masked_run_keeps_no_full_number() {
        let schema = crate::report::sample::sample_schema();
        let mut run = crate::report::sample::sample_run(&schema);
        mask_run(&mut run);
        let dump = format!("{:?}", run.findings);
        for id in crate::report::sample::sample_ids() {
            assert!(!dump.contains(&id), "{id}");
        }
        let v601 = run
            .findings
            .iter()
            .find(|f| f.rule == "V601" && f.message.contains("孙"));
        let v601 = v601.expect("V601 name finding");
        assert_eq!(v601.value.as_deref(), Some("孙**1"));
        assert_eq!(v601.message, "姓名 孙**1 含有数字");
    }
}
