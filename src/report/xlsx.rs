//! `--format xlsx --output report.xlsx`: a workbook for the people who live in Excel.
//!
//! Sheets: 汇总 (one row per unit at each level with error rate and repeat level), 明细 (every
//! finding), 按规则 (counts per rule with the rule's message), 规则说明 (the docs of the rules
//! that fired). Each has a bold, frozen header row, an autofilter and column widths fitted to
//! the content. Every value from the data is written with `write_string`, so a cell text such as
//! `=HYPERLINK(…)` stays text and is never stored as a formula; counts and rates are numbers so
//! they sort.

use std::collections::BTreeSet;
use std::io::{self, Write};

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use unicode_width::UnicodeWidthStr;

use crate::finding::Lang;

use super::{
    Destination, Reporter, Run, category_label, rule_counts, rule_text, severity_label, t,
    unit_cells_label, unit_label,
};

pub struct Xlsx;

/// Excel's limits: longer strings are refused by the writer, more rows cannot be opened.
const MAX_CELL_CHARS: usize = 32_767;
const MAX_ROWS: usize = 1_048_576;
const MAX_WIDTH: f64 = 60.0;

impl Reporter for Xlsx {
    fn destination(&self) -> Destination {
        Destination::Workbook
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let bytes = workbook(run).map_err(io::Error::other)?;
        out.write_all(&bytes)
    }
}

/// One sheet being filled: tracks the widest text per column for the final widths.
struct Sheet<'w> {
    ws: &'w mut Worksheet,
    widths: Vec<f64>,
    row: u32,
    cols: u16,
}

enum V<'a> {
    S(&'a str),
    O(String),
    N(f64),
    /// A rate, shown with two decimals (2.50, not 2.5) so a printed column lines up.
    Rate(f64),
}

impl<'w> Sheet<'w> {
    fn new(ws: &'w mut Worksheet, name: &str, head: &[&str]) -> Result<Self, XlsxError> {
        ws.set_name(name)?;
        let bold = Format::new().set_bold();
        let mut widths = Vec::with_capacity(head.len());
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, col(c), *h, &bold)?;
            widths.push(h.width() as f64);
        }
        ws.set_freeze_panes(1, 0)?;
        // Printed by a clerk: landscape, one page wide, the header row on every page.
        ws.set_landscape().set_print_fit_to_pages(1, 0);
        ws.set_repeat_rows(0, 0)?;
        Ok(Sheet {
            ws,
            widths,
            row: 0,
            cols: col(head.len()),
        })
    }

    /// False once the sheet is full; the caller stops adding rows.
    fn row(&mut self, cells: &[V]) -> Result<bool, XlsxError> {
        if self.row as usize + 1 >= MAX_ROWS {
            return Ok(false);
        }
        self.row += 1;
        for (c, v) in cells.iter().enumerate() {
            let w = match v {
                V::S(s) => self.text(c, s)?,
                V::O(s) => self.text(c, s)?,
                V::N(n) => {
                    self.ws.write_number(self.row, col(c), *n)?;
                    n.to_string().len() as f64
                }
                V::Rate(n) => {
                    let two = Format::new().set_num_format("0.00");
                    self.ws
                        .write_number_with_format(self.row, col(c), *n, &two)?;
                    format!("{n:.2}").len() as f64
                }
            };
            if let Some(cur) = self.widths.get_mut(c) {
                *cur = cur.max(w);
            }
        }
        Ok(true)
    }

    fn text(&mut self, c: usize, s: &str) -> Result<f64, XlsxError> {
        if s.is_empty() {
            return Ok(0.0);
        }
        let s = if s.chars().count() > MAX_CELL_CHARS {
            s.chars().take(MAX_CELL_CHARS).collect::<String>()
        } else {
            s.to_string()
        };
        // A multi-line doc is as wide as its widest line.
        let w = s.lines().map(|l| l.width()).max().unwrap_or(0) as f64;
        self.ws.write_string(self.row, col(c), s)?;
        Ok(w)
    }

    fn finish(self) -> Result<(), XlsxError> {
        for (c, w) in self.widths.iter().enumerate() {
            self.ws.set_column_width(col(c), (w + 2.0).min(MAX_WIDTH))?;
        }
        if self.cols > 0 {
            self.ws.autofilter(0, 0, self.row, self.cols - 1)?;
        }
        Ok(())
    }
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

fn workbook(run: &Run) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    summary_sheet(run, wb.add_worksheet())?;
    details_sheet(run, wb.add_worksheet())?;
    rules_sheet(run, wb.add_worksheet())?;
    docs_sheet(run, wb.add_worksheet())?;
    wb.save_to_buffer()
}

/// The sheet names, fixed so recipients' macros and links find them.
pub const SHEETS_ZH: [&str; 4] = ["汇总", "明细", "按规则", "规则说明"];
pub const SHEETS_EN: [&str; 4] = ["Summary", "Findings", "By rule", "Rule docs"];

fn sheet_name(lang: Lang, i: usize) -> &'static str {
    let names = match lang {
        Lang::Zh => SHEETS_ZH,
        Lang::En => SHEETS_EN,
    };
    names.get(i).copied().unwrap_or("Sheet")
}

fn summary_sheet(run: &Run, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let lang = run.lang;
    let head = [
        t(lang, "层级", "level"),
        t(lang, "单位", "unit"),
        t(lang, "行数", "rows"),
        t(lang, "户数", "households"),
        t(lang, "问题户", "households with errors"),
        t(lang, "错误", "errors"),
        t(lang, "警告", "warnings"),
        t(lang, "错误率（每百行）", "errors per 100 rows"),
        t(lang, "重犯等级", "repeat level"),
        t(lang, "连续轮次", "consecutive rounds"),
        t(lang, "处理", "action"),
    ];
    let mut s = Sheet::new(ws, sheet_name(lang, 0), &head)?;
    let total = t(lang, "全部", "all");
    let sm = &run.summary;
    s.row(&[
        V::S(total),
        V::S(total),
        V::N(sm.rows as f64),
        V::N(sm.households as f64),
        V::S(""),
        V::N(sm.errors as f64),
        V::N(sm.warnings as f64),
        V::Rate(rate(sm.errors, sm.rows)),
    ])?;
    for u in &run.units {
        let mut cells = vec![
            V::S(&u.level),
            V::O(unit_label(u)),
            V::N(u.rows as f64),
            V::N(u.households as f64),
            V::N(u.households_with_errors as f64),
            V::N(u.errors as f64),
            V::N(u.warnings as f64),
            V::Rate(if u.error_rate.is_finite() {
                u.error_rate
            } else {
                0.0
            }),
        ];
        if let Some(r) = &u.repeat {
            cells.push(V::N(f64::from(r.level)));
            cells.push(V::N(f64::from(r.consecutive)));
            cells.push(V::S(&r.action));
        }
        if !s.row(&cells)? {
            break;
        }
    }
    // Columns no field matched: listed with the units so the recipient sees what went unchecked.
    let sep = t(lang, "、", ", ");
    for i in run.inputs.iter().filter(|i| !i.unmapped_columns.is_empty()) {
        let name = match &i.sheet {
            Some(sh) => format!("{}:{}", i.file, sh),
            None => i.file.clone(),
        };
        let label = t(lang, "未识别的列", "unrecognised columns");
        let text = format!("{name}: {}", i.unmapped_columns.join(sep));
        if !s.row(&[V::S(label), V::O(text)])? {
            break;
        }
    }
    s.finish()
}

fn rate(errors: usize, rows: usize) -> f64 {
    if rows == 0 {
        0.0
    } else {
        (errors as f64 * 10000.0 / rows as f64).round() / 100.0
    }
}

fn details_sheet(run: &Run, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let lang = run.lang;
    let head = [
        t(lang, "文件", "file"),
        t(lang, "工作表", "sheet"),
        t(lang, "单元格", "cell"),
        t(lang, "列", "column"),
        t(lang, "值", "value"),
        t(lang, "规则", "rule"),
        t(lang, "类别", "category"),
        t(lang, "级别", "severity"),
        t(lang, "问题", "message"),
        t(lang, "提示", "hint"),
        t(lang, "单位", "unit"),
        t(lang, "户编号", "household"),
    ];
    let mut s = Sheet::new(ws, sheet_name(lang, 1), &head)?;
    for (i, f) in run.findings.iter().enumerate() {
        let full = !s.row(&[
            V::S(&f.file),
            V::S(f.sheet.as_deref().unwrap_or("")),
            V::S(f.cell.as_deref().unwrap_or("")),
            V::S(f.column.as_deref().unwrap_or("")),
            V::S(f.value.as_deref().unwrap_or("")),
            V::S(&f.rule),
            V::S(category_label(f.category, lang)),
            V::S(severity_label(f.severity, lang)),
            V::S(&f.message),
            V::S(&f.hint),
            V::O(unit_cells_label(run.schema, f)),
            V::S(f.household.as_deref().unwrap_or("")),
        ])?;
        if full {
            // Say so in the last row rather than dropping findings silently.
            let left = run.findings.len() - i;
            let note = match lang {
                Lang::Zh => {
                    format!("工作表已满，另有 {left} 条问题未列出，请用 csv 或 json 格式查看")
                }
                Lang::En => {
                    format!("sheet full: {left} more finding(s) not listed; use csv or json")
                }
            };
            s.ws.write_string(s.row, 0, note)?;
            break;
        }
    }
    s.finish()
}

fn rules_sheet(run: &Run, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let lang = run.lang;
    let head = [
        t(lang, "规则", "rule"),
        t(lang, "类别", "category"),
        t(lang, "级别", "severity"),
        t(lang, "数量", "count"),
        t(lang, "说明", "message"),
    ];
    let mut s = Sheet::new(ws, sheet_name(lang, 2), &head)?;
    for c in rule_counts(run) {
        s.row(&[
            V::S(&c.rule),
            V::S(category_label(c.category, lang)),
            V::S(severity_label(c.severity, lang)),
            V::N(c.count as f64),
            V::O(rule_text(run.schema, &c.rule, lang).unwrap_or_default()),
        ])?;
    }
    s.finish()
}

fn docs_sheet(run: &Run, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let lang = run.lang;
    let head = [
        t(lang, "规则", "rule"),
        t(lang, "说明", "message"),
        t(lang, "提示", "hint"),
        t(lang, "文档", "documentation"),
    ];
    let wrap = Format::new().set_text_wrap();
    let mut s = Sheet::new(ws, sheet_name(lang, 3), &head)?;
    let fired: BTreeSet<&str> = run.findings.iter().map(|f| f.rule.as_str()).collect();
    for code in fired {
        let (message, hint, doc) = match run.schema.rule(code) {
            Some(r) => (
                rule_text(run.schema, code, lang).unwrap_or_default(),
                match lang {
                    Lang::En if !r.hint_en.is_empty() => r.hint_en.clone(),
                    _ => r.hint.clone(),
                },
                r.doc.clone(),
            ),
            None => (
                t(
                    lang,
                    "（规则目录中没有此规则）",
                    "(not in the rule catalogue)",
                )
                .to_string(),
                String::new(),
                String::new(),
            ),
        };
        s.row(&[V::S(code), V::O(message), V::O(hint), V::O(doc)])?;
        s.ws.set_cell_format(s.row, 3, &wrap)?;
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_guards_zero_rows() {
        assert_eq!(rate(3, 0), 0.0);
        assert_eq!(rate(1, 3), 33.33);
    }
}
