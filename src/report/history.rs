//! `povcheck history` written out: the ledger's per-unit [`History`] as terminal text, JSON,
//! CSV or xlsx. Unit names come from cells, so every text passes through [`super::escape`].

use std::io::{self, Write};

use super::escape::{self, Destination};
use crate::finding::Lang;
use crate::ledger::history::{History, HistoryRound, HistoryUnit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Terminal,
    Json,
    Csv,
    Xlsx,
}

impl HistoryFormat {
    /// Where the output goes, so the tests check every history format for inert output as
    /// they do the findings formats; a new format must say.
    pub fn destination(self) -> Destination {
        match self {
            HistoryFormat::Terminal => Destination::Terminal,
            HistoryFormat::Json => Destination::Json,
            HistoryFormat::Csv => Destination::Csv,
            HistoryFormat::Xlsx => Destination::Workbook,
        }
    }
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

impl Labels {
    /// The per-unit table's column headers, shared by the CSV and the xlsx.
    fn columns(&self) -> [&'static str; 8] {
        [
            self.level,
            self.unit,
            self.rounds,
            self.with_errors,
            self.streak,
            self.ladder,
            self.action,
            self.rules,
        ]
    }
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
    use escape::terminal as one_line;
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
    let header = l.columns();
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
        let line: Vec<String> = fields.iter().map(|f| escape::csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

fn xlsx(h: &History, lang: Lang, out: &mut dyn Write) -> io::Result<()> {
    use rust_xlsxwriter::Workbook;
    let l = labels(lang);
    let x = |e: rust_xlsxwriter::XlsxError| io::Error::other(e.to_string());
    let mut wb = Workbook::new();
    // Printed like the findings report: the same page setup, a bold frozen header row.
    let bold = rust_xlsxwriter::Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name(l.unit).map_err(x)?;
        let header = l.columns();
        for (c, t) in (0u16..).zip(header) {
            ws.write_string_with_format(0, c, t, &bold).map_err(x)?;
        }
        ws.set_freeze_panes(1, 0).map_err(x)?;
        super::xlsx::page_setup(ws, lang).map_err(x)?;
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
            ws.write_string_with_format(0, c, t, &bold).map_err(x)?;
        }
        ws.set_freeze_panes(1, 0).map_err(x)?;
        super::xlsx::page_setup(ws, lang).map_err(x)?;
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
