//! Where a unit stands on the Article 27(6) ladder, from its recorded rounds.

use std::collections::BTreeMap;

use crate::attribute::Repeat;
use crate::finding::Lang;
use crate::schema::Ladder;

use super::{Print, RoundStat};

/// Built-in Article 27(6) actions, used when the schema's `[policy.ladder]` has none.
const ACTIONS: [&str; 4] = [
    "无",
    "通报批评，约谈单位负责人",
    "对相关责任人诫勉谈话或停职检查",
    "对相关责任人调离工作岗位",
];
const ACTIONS_EN: [&str; 4] = [
    "none",
    "public criticism (通报批评) and a talk with the unit's head (约谈)",
    "formal warning (诫勉谈话) or suspension for inspection (停职检查) of those responsible",
    "removal of those responsible from their posts (调离工作岗位)",
];

/// The action text for a level, from the schema's ladder or the built-in texts.
pub fn action(ladder: &Ladder, level: u8, lang: Lang) -> String {
    let i = usize::from(level.min(3));
    let (custom, builtin) = match lang {
        Lang::Zh => (&ladder.actions, &ACTIONS),
        Lang::En => (&ladder.actions_en, &ACTIONS_EN),
    };
    custom.get(i).filter(|s| !s.trim().is_empty()).map_or_else(
        || builtin.get(i).copied().unwrap_or("").to_string(),
        Clone::clone,
    )
}

/// Whether a round is an offence under the ladder.
pub fn offends(r: &RoundStat, ladder: &Ladder) -> bool {
    r.errors > 0 && r.errors >= u64::from(ladder.min_errors)
}

/// Multiset comparison of two rounds' fingerprints: (fixed, persisting, new).
pub fn compare_prints(prev: &BTreeMap<Print, u64>, cur: &BTreeMap<Print, u64>) -> (u64, u64, u64) {
    let persisting: u64 = cur
        .iter()
        .map(|(p, n)| (*n).min(prev.get(p).copied().unwrap_or(0)))
        .sum();
    let prev_total: u64 = prev.values().sum();
    let cur_total: u64 = cur.values().sum();
    (
        prev_total.saturating_sub(persisting),
        persisting,
        cur_total.saturating_sub(persisting),
    )
}

/// Where a unit stands after `rounds` (its recorded rounds, oldest first, the last being the
/// round judged). `None` without rounds.
pub fn ladder(rounds: &[RoundStat], ladder_policy: &Ladder, lang: Lang) -> Option<Repeat> {
    let latest = rounds.last()?;
    let offending = |r: &RoundStat| offends(r, ladder_policy);
    let periods_with_errors = rounds.iter().filter(|r| offending(r)).count();
    let consecutive = rounds.iter().rev().take_while(|r| offending(r)).count();
    let level: u8 = if !offending(latest) {
        0
    } else if periods_with_errors >= ladder_policy.repeated_rounds.max(1) as usize
        || latest.error_rate() > ladder_policy.serious_error_rate
    {
        3
    } else if consecutive >= 2 {
        2
    } else {
        1
    };
    let prev = rounds.len().checked_sub(2).and_then(|i| rounds.get(i));
    let repeated_rules = prev.map_or_else(Vec::new, |prev| {
        latest
            .rules
            .iter()
            .filter(|(rule, (e, _))| *e > 0 && prev.rules.get(*rule).is_some_and(|(pe, _)| *pe > 0))
            .map(|(rule, _)| rule.clone())
            .collect()
    });
    let (fixed, persisting, new) = match prev {
        Some(prev) => {
            let (f, p, n) = compare_prints(&prev.prints, &latest.prints);
            (Some(f), Some(p), Some(n))
        }
        None => (None, None, None),
    };
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Some(Repeat {
        periods_with_errors: narrow(periods_with_errors as u64),
        consecutive: narrow(consecutive as u64),
        level,
        action: action(ladder_policy, level, lang),
        repeated_rules,
        fixed: fixed.map(narrow),
        persisting: persisting.map(narrow),
        new: new.map(narrow),
    })
}
