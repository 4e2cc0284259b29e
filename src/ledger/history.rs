//! `povcheck history`: the ledger read back per unit (rounds, streak, level, action) and per
//! unit and rule (repeats), written as terminal text, JSON, CSV or xlsx to a given writer.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{Ledger, Print, Result, RoundStat, compare_prints, ladder, offends};
use crate::finding::Lang;
use crate::schema::Ladder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Terminal,
    Json,
    Csv,
    Xlsx,
}

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

struct Labels {
    level: &'static str,
    unit: &'static str,
    rounds: &'static str,
    with_errors: &'static str,
    streak: &'static str,
    ladder: &'static str,
    action: &'static str,
    rules: &'static str,
    rule: &'static str,
    periods: &'static str,
    persisting: &'static str,
    empty: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::Zh => Labels {
            level: "层级",
            unit: "单位",
            rounds: "期次",
            with_errors: "出错期次数",
            streak: "连续出错",
            ladder: "问责等级",
            action: "处理",
            rules: "连续出错规则",
            rule: "规则",
            periods: "出错期次",
            persisting: "仍未改正",
            empty: "台账中没有符合条件的记录",
        },
        Lang::En => Labels {
            level: "level",
            unit: "unit",
            rounds: "rounds",
            with_errors: "rounds with errors",
            streak: "streak",
            ladder: "ladder level",
            action: "action",
            rules: "rules failing in a row",
            rule: "rule",
            periods: "periods failed",
            persisting: "persisting",
            empty: "no matching records in the ledger",
        },
    }
}

fn round_mark(r: &HistoryRound) -> String {
    format!("{}{}", r.period, if r.offending { "✗" } else { "✓" })
}

fn repeated(u: &HistoryUnit) -> String {
    u.rules
        .iter()
        .filter(|r| r.consecutive >= 2)
        .map(|r| format!("{}×{}", r.rule, r.consecutive))
        .collect::<Vec<_>>()
        .join(" ")
}

fn terminal(h: &History, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    // Unit names, rule codes and periods come from cells and from the ledger file: escaped so
    // none can send an escape sequence to the clerk's terminal.
    use crate::report::escape::terminal as one_line;
    let l = labels(lang);
    if h.units.is_empty() {
        return writeln!(out, "{}", l.empty);
    }
    for u in &h.units {
        writeln!(
            out,
            "{} {}: {} {} · {} {} · {} {} · {}",
            one_line(&u.level),
            one_line(&u.path.join("/")),
            l.ladder,
            u.ladder_level,
            l.streak,
            u.consecutive,
            l.with_errors,
            u.periods_with_errors,
            one_line(&u.action)
        )?;
        let marks: Vec<String> = u.rounds.iter().map(round_mark).collect();
        writeln!(out, "  {}: {}", l.rounds, one_line(&marks.join(" ")))?;
        for r in u.rules.iter().filter(|r| r.periods.len() >= 2) {
            writeln!(
                out,
                "  {} {}: {} {} · {} {} · {} {}",
                l.rule,
                one_line(&r.rule),
                l.periods,
                one_line(&r.periods.join(",")),
                l.streak,
                r.consecutive,
                l.persisting,
                r.persisting
            )?;
        }
    }
    Ok(())
}

fn csv(h: &History, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    let l = labels(lang);
    let header = [
        l.level,
        l.unit,
        l.rounds,
        l.with_errors,
        l.streak,
        l.ladder,
        l.action,
        l.rules,
    ];
    // A BOM so that Excel on a Chinese Windows desktop opens the UTF-8 file correctly.
    write!(out, "\u{feff}")?;
    writeln!(out, "{}", header.join(","))?;
    for u in &h.units {
        let marks: Vec<String> = u.rounds.iter().map(round_mark).collect();
        let fields = [
            u.level.clone(),
            u.path.join("/"),
            marks.join(" "),
            u.periods_with_errors.to_string(),
            u.consecutive.to_string(),
            u.ladder_level.to_string(),
            u.action.clone(),
            repeated(u),
        ];
        // Neutralised like the findings CSV: a unit named `=HYPERLINK(…)` stays text in Excel.
        let line: Vec<String> = fields
            .iter()
            .map(|f| crate::report::escape::csv_field(f))
            .collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

fn xlsx(h: &History, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    use rust_xlsxwriter::Workbook;
    let l = labels(lang);
    let x = |e: rust_xlsxwriter::XlsxError| io::Error::other(e.to_string());
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet();
        ws.set_name(l.unit).map_err(x)?;
        let header = [
            l.level,
            l.unit,
            l.rounds,
            l.with_errors,
            l.streak,
            l.ladder,
            l.action,
            l.rules,
        ];
        for (c, t) in (0u16..).zip(header) {
            ws.write_string(0, c, t).map_err(x)?;
        }
        for (r, u) in (1u32..).zip(&h.units) {
            let marks: Vec<String> = u.rounds.iter().map(round_mark).collect();
            ws.write_string(r, 0, &u.level).map_err(x)?;
            ws.write_string(r, 1, u.path.join("/")).map_err(x)?;
            ws.write_string(r, 2, marks.join(" ")).map_err(x)?;
            ws.write_number(r, 3, f64::from(u.periods_with_errors))
                .map_err(x)?;
            ws.write_number(r, 4, f64::from(u.consecutive)).map_err(x)?;
            ws.write_number(r, 5, f64::from(u.ladder_level))
                .map_err(x)?;
            ws.write_string(r, 6, &u.action).map_err(x)?;
            ws.write_string(r, 7, repeated(u)).map_err(x)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name(l.rule).map_err(x)?;
        let header = [l.level, l.unit, l.rule, l.periods, l.streak, l.persisting];
        for (c, t) in (0u16..).zip(header) {
            ws.write_string(0, c, t).map_err(x)?;
        }
        let mut r = 1u32;
        for u in &h.units {
            for rule in &u.rules {
                ws.write_string(r, 0, &u.level).map_err(x)?;
                ws.write_string(r, 1, u.path.join("/")).map_err(x)?;
                ws.write_string(r, 2, &rule.rule).map_err(x)?;
                ws.write_string(r, 3, rule.periods.join(",")).map_err(x)?;
                ws.write_number(r, 4, f64::from(rule.consecutive))
                    .map_err(x)?;
                ws.write_number(r, 5, rule.persisting as f64).map_err(x)?;
                r = r.saturating_add(1);
            }
        }
    }
    let buf = wb.save_to_buffer().map_err(x)?;
    out.write_all(&buf)
}

/// Write a history in `format` to `out`.
pub fn write(
    h: &History,
    format: HistoryFormat,
    lang: Lang,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        HistoryFormat::Terminal => terminal(h, lang, out),
        HistoryFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, h).map_err(io::Error::other)?;
            writeln!(out)
        }
        HistoryFormat::Csv => csv(h, lang, out),
        HistoryFormat::Xlsx => xlsx(h, lang, out),
    }
}

/// `povcheck history` arguments.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// 台账文件（默认 $POVCHECK_LEDGER，否则 ./povcheck-ledger.sqlite） / ledger file
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<std::path::PathBuf>,
    /// 只显示此名称的单位（如村名，不带镇名） / only units with this name
    #[arg(long)]
    pub unit: Option<String>,
    /// 只显示此层级（乡镇、行政村、帮扶单位） / only this level
    #[arg(long)]
    pub level: Option<String>,
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: HistoryFormat,
    /// 写入此文件 / write here
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
    /// 规则方案（其 [policy.ladder] 给出阈值和问责措施；默认内置） / schema for the ladder
    #[arg(long)]
    pub schema: Option<std::path::PathBuf>,
    /// 输出语言 / output language
    #[arg(long, default_value = "zh", value_parser = ["zh", "en"])]
    pub lang: String,
    /// 从台账删除误记的一期（需要 --yes） / remove a mistaken round
    #[arg(long, value_name = "PERIOD")]
    pub forget: Option<String>,
    /// 确认 --forget / confirm --forget
    #[arg(long)]
    pub yes: bool,
}

/// Run `povcheck history`; errors come back as reports for the CLI edge to print.
pub fn run(args: &HistoryArgs, stdout: &mut dyn Write) -> std::result::Result<(), miette::Report> {
    let lang = if args.lang == "en" {
        Lang::En
    } else {
        Lang::Zh
    };
    let forget = match &args.forget {
        Some(p) => {
            let period = super::parse_period(p)?;
            if !args.yes {
                return Err(miette::miette!(
                    "删除期次 {period} 的全部台账记录需要加 --yes 确认（此操作不可撤销）"
                ));
            }
            Some(period)
        }
        None => None,
    };
    let mut ledger = Ledger::open(&super::resolve_path(args.ledger.as_deref()))?;
    if let Some(period) = forget {
        // Township names come from cells: escaped like every other terminal text.
        let townships: Vec<String> = ledger
            .forget(&period)?
            .iter()
            .map(|t| crate::report::escape::terminal(t))
            .collect();
        let _ = match lang {
            Lang::Zh => writeln!(
                stdout,
                "已从台账 {} 删除期次 {period}（{}）",
                ledger.path().display(),
                townships.join("、")
            ),
            Lang::En => writeln!(
                stdout,
                "removed period {period} ({}) from ledger {}",
                townships.join(", "),
                ledger.path().display()
            ),
        };
        return Ok(());
    }
    let schema = match &args.schema {
        Some(p) => crate::schema::load_path(p).map_err(miette::Report::new)?,
        None => crate::schema::default_schema(),
    };
    let filter = Filter {
        unit: args.unit.clone(),
        level: args.level.clone(),
    };
    let h = history(&ledger, &schema.policy.ladder, &filter, lang)?;
    let written = match &args.output {
        Some(p) => std::fs::File::create(p).and_then(|f| {
            let mut w = io::BufWriter::new(f);
            write(&h, args.format, lang, &mut w)?;
            w.flush()
        }),
        None => match write(&h, args.format, lang, stdout) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        },
    };
    written.map_err(|e| miette::miette!("无法写入台账历史: {e}"))
}
