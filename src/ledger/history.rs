//! `povcheck history`: the ledger read back per unit (rounds, streak, level, action) and per
//! unit and rule (repeats). The value only; report::history writes it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Ledger, Print, Result, RoundStat, compare_prints, ladder, offends};
use crate::finding::Lang;
use crate::schema::Ladder;

/// Which units to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only units with this name (the last part of the path: 某村, not 某镇/某村).
    pub unit: Option<String>,
    /// Only this level (乡镇, 行政村, 帮扶单位).
    pub level: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRound {
    pub period: String,
    pub rows: u64,
    pub errors: u64,
    pub warnings: u64,
    pub offending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRule {
    pub rule: String,
    /// Periods in which the rule had error findings in this unit.
    pub periods: Vec<String>,
    /// Rounds in a row, ending at the unit's latest, in which the rule had errors.
    pub consecutive: u32,
    /// Findings of this rule in the latest round that were already there in the round before.
    pub persisting: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryUnit {
    pub level: String,
    pub name: String,
    pub path: Vec<String>,
    pub rounds: Vec<HistoryRound>,
    pub periods_with_errors: u32,
    pub consecutive: u32,
    pub ladder_level: u8,
    pub action: String,
    pub rules: Vec<HistoryRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub ledger: String,
    pub periods: Vec<String>,
    pub units: Vec<HistoryUnit>,
}

fn rule_history(rounds: &[RoundStat]) -> Vec<HistoryRule> {
    let mut rules: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in rounds {
        for (rule, (e, _)) in &r.rules {
            if *e > 0 {
                rules.entry(rule).or_default().push(r.period.clone());
            }
        }
    }
    let (latest, prev) = match rounds {
        [.., p, l] => (Some(l), Some(p)),
        [l] => (Some(l), None),
        [] => (None, None),
    };
    rules
        .into_iter()
        .map(|(rule, periods)| {
            let consecutive = rounds
                .iter()
                .rev()
                .take_while(|r| r.rules.get(rule).is_some_and(|(e, _)| *e > 0))
                .count();
            let only = |r: Option<&RoundStat>| -> BTreeMap<Print, u64> {
                r.map(|r| {
                    r.prints
                        .iter()
                        .filter(|(p, _)| p.0 == rule)
                        .map(|(p, n)| (p.clone(), *n))
                        .collect()
                })
                .unwrap_or_default()
            };
            let persisting = if prev.is_some() {
                compare_prints(&only(prev), &only(latest)).1
            } else {
                0
            };
            HistoryRule {
                rule: rule.to_string(),
                periods,
                consecutive: u32::try_from(consecutive).unwrap_or(u32::MAX),
                persisting,
            }
        })
        .collect()
}

/// Read the ledger into per-unit histories, most serious first.
pub fn history(ledger: &Ledger, policy: &Ladder, filter: &Filter, lang: Lang) -> Result<History> {
    let all = ledger.load(None)?;
    let mut units: Vec<HistoryUnit> = all
        .into_iter()
        .filter(|((level, path), _)| {
            filter.level.as_ref().is_none_or(|l| l == level)
                && filter
                    .unit
                    .as_ref()
                    .is_none_or(|u| path.iter().any(|p| p == u))
        })
        .filter_map(|((level, path), rounds)| {
            let rep = ladder(&rounds, policy, lang)?;
            Some(HistoryUnit {
                name: path.last().cloned().unwrap_or_default(),
                rounds: rounds
                    .iter()
                    .map(|r| HistoryRound {
                        period: r.period.clone(),
                        rows: r.rows,
                        errors: r.errors,
                        warnings: r.warnings,
                        offending: offends(r, policy),
                    })
                    .collect(),
                periods_with_errors: rep.periods_with_errors,
                consecutive: rep.consecutive,
                ladder_level: rep.level,
                action: rep.action,
                rules: rule_history(&rounds),
                level,
                path,
            })
        })
        .collect();
    units.sort_by(|a, b| {
        b.ladder_level
            .cmp(&a.ladder_level)
            .then(b.consecutive.cmp(&a.consecutive))
            .then(a.level.cmp(&b.level))
            .then(a.path.cmp(&b.path))
    });
    Ok(History {
        ledger: ledger.path().display().to_string(),
        periods: ledger.periods()?,
        units,
    })
}
