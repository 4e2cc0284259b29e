//! `--format xlsx --output report.xlsx`: a workbook for the people who live in Excel, and print it.
//!
//! Sheets: 汇总 (one row per unit at each level with error rate and repeat level), 明细 (every
//! finding), 按规则 (counts per rule with the rule's message), 规则说明 (the docs of the rules
//! that fired). Each has a bold, frozen header row, column widths fitted to the content and a
//! page setup (landscape, one page wide, the header row on every page); the three tables have
//! an autofilter. Every value from the data is written with `write_string`, so a cell text such
//! as `=HYPERLINK(…)` stays text and is never stored as a formula; counts and rates are numbers
//! so they sort, rates with two fixed decimals.
//!
//! Row heights are set from the line count of wrapped text: neither Excel nor LibreOffice fits
//! them on open, so a long message would print as one clipped line. A rule's text shown once for
//! many findings (按规则, 规则说明) never carries a raw `{placeholder}`: what the field decides is
//! filled in, what each finding decides is named as a template (「建议值」).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use unicode_width::UnicodeWidthStr;

use crate::check::emit::{fill, fmt_num, range_text};
use crate::finding::{Lang, Severity};
use crate::schema::Rule;

use super::{
    Destination, Reporter, Run, category_label, input_name, rule_counts, severity_label, t,
    unit_cells_label, unit_label, with_unmapped_columns,
};

pub struct Xlsx;

/// Excel's limits: longer strings are refused by the writer, more rows cannot be opened.
const MAX_CELL_CHARS: usize = 32_767;
const MAX_ROWS: usize = 1_048_576;
const MAX_WIDTH: f64 = 60.0;
/// Points per printed line of 11-point text; CJK fallback fonts run taller than Calibri's 15.
const LINE_HEIGHT: f64 = 16.0;
/// Paper size code of A4 in the OOXML page setup.
const A4: u8 = 9;

impl Reporter for Xlsx {
    fn destination(&self) -> Destination {
        Destination::Workbook
    }

    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()> {
        let bytes = workbook(run).map_err(io::Error::other)?;
        out.write_all(&bytes)
    }
}

/// How many printed lines `text` takes in a column `width` characters wide (Excel's unit is
/// about one Latin digit; a CJK character counts two). Estimated on the generous side: a row a
/// little too tall prints fine, one too short clips the last line.
fn lines_in(text: &str, width: f64) -> usize {
    let room = (width - 1.0).max(4.0);
    text.lines()
        .map(|l| {
            let w = l.width() as f64;
            // Word wrap breaks early: a line that does not fit loses up to a tenth to it.
            if w <= room {
                1
            } else {
                (w / (room * 0.9)).ceil() as usize
            }
        })
        .sum::<usize>()
        .max(1)
}

/// The page setup a clerk prints with: A4 landscape, one page wide, the header row on every
/// page, the sheet name and page number in the footer.
pub(crate) fn page_setup(ws: &mut Worksheet, lang: Lang) -> Result<(), XlsxError> {
    ws.set_landscape()
        .set_paper_size(A4)
        .set_print_fit_to_pages(1, 0)
        .set_margins(0.4, 0.4, 0.5, 0.6, 0.3, 0.3)
        .set_footer(match lang {
            Lang::Zh => "&L&A&R第 &P 页，共 &N 页",
            Lang::En => "&L&A&RPage &P of &N",
        });
    ws.set_repeat_rows(0, 0)?;
    Ok(())
}

/// One sheet being filled: tracks the widest text per column for the final widths.
struct Sheet<'w> {
    ws: &'w mut Worksheet,
    widths: Vec<f64>,
    row: u32,
    cols: u16,
    /// Every cell is top-aligned, so a short cell beside a wrapped one reads on its first line.
    top: Format,
    wrap: Format,
    two: Format,
}

enum V<'a> {
    S(&'a str),
    O(String),
    N(f64),
    /// A rate, shown with two decimals (2.50, not 2.5) so a printed column lines up.
    Rate(f64),
}

impl<'w> Sheet<'w> {
    fn new(
        ws: &'w mut Worksheet,
        name: &str,
        head: &[&str],
        lang: Lang,
    ) -> Result<Self, XlsxError> {
        ws.set_name(name)?;
        let bold = Format::new().set_bold();
        let mut widths = Vec::with_capacity(head.len());
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, col(c), *h, &bold)?;
            widths.push(h.width() as f64);
        }
        ws.set_freeze_panes(1, 0)?;
        page_setup(ws, lang)?;
        Ok(Sheet {
            ws,
            widths,
            row: 0,
            cols: col(head.len()),
            top: Format::new().set_align(FormatAlign::Top),
            wrap: Format::new().set_align(FormatAlign::Top).set_text_wrap(),
            two: Format::new()
                .set_align(FormatAlign::Top)
                .set_num_format("0.00"),
        })
    }

    /// False once the sheet is full; the caller stops adding rows.
    fn row(&mut self, cells: &[V]) -> Result<bool, XlsxError> {
        if self.row as usize + 1 >= MAX_ROWS {
            return Ok(false);
        }
        self.row += 1;
        let mut lines = 1;
        for (c, v) in cells.iter().enumerate() {
            let w = match v {
                V::S(s) => self.text(c, s, &mut lines)?,
                V::O(s) => self.text(c, s, &mut lines)?,
                V::N(n) => {
                    self.ws
                        .write_number_with_format(self.row, col(c), *n, &self.top)?;
                    n.to_string().len() as f64
                }
                V::Rate(n) => {
                    self.ws
                        .write_number_with_format(self.row, col(c), *n, &self.two)?;
                    format!("{n:.2}").len() as f64
                }
            };
            if let Some(cur) = self.widths.get_mut(c) {
                *cur = cur.max(w);
            }
        }
        if lines > 1 {
            self.ws
                .set_row_height(self.row, lines as f64 * LINE_HEIGHT)?;
        }
        Ok(true)
    }

    /// Writes one text cell; a text wider than a column may get, or of several lines, wraps,
    /// and `lines` grows to the lines it needs.
    fn text(&mut self, c: usize, s: &str, lines: &mut usize) -> Result<f64, XlsxError> {
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
        if s.contains('\n') || w + 2.0 > MAX_WIDTH {
            *lines = (*lines).max(lines_in(&s, MAX_WIDTH));
            self.ws
                .write_string_with_format(self.row, col(c), s, &self.wrap)?;
        } else {
            self.ws
                .write_string_with_format(self.row, col(c), s, &self.top)?;
        }
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
    let mut s = Sheet::new(ws, sheet_name(lang, 0), &head, lang)?;
    let total = t(lang, "全部", "all");
    let sm = &run.summary;
    s.row(&[
        V::S(total),
        V::S(total),
        V::N(sm.rows as f64),
        V::N(sm.households as f64),
        V::N(households_with_errors(run) as f64),
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
    for i in with_unmapped_columns(run) {
        let name = input_name(i);
        let label = t(lang, "未识别的列", "unrecognised columns");
        let text = format!("{name}: {}", i.unmapped_columns.join(sep));
        if !s.row(&[V::S(label), V::O(text)])? {
            break;
        }
    }
    s.finish()
}

/// Households with at least one error over the whole run. A household counts once however many
/// units it falls in (a village and a work unit both list it), so this is a distinct count,
/// never the sum of the unit rows.
fn households_with_errors(run: &Run) -> usize {
    run.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .filter_map(|f| f.household.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
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
    let mut s = Sheet::new(ws, sheet_name(lang, 1), &head, lang)?;
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

/// What one field of the run fills into a rule's text shown without a finding.
#[derive(Debug, Clone, PartialEq)]
struct FieldFill {
    /// The header as the file writes it (务工时间（月）), else the field's name.
    header: String,
    min: Option<String>,
    max: Option<String>,
}

/// Per fired rule, the fields its findings point at, in order of first finding.
fn fired_fields<'r>(run: &'r Run) -> BTreeMap<&'r str, Vec<FieldFill>> {
    let mut out: BTreeMap<&str, Vec<FieldFill>> = BTreeMap::new();
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for f in &run.findings {
        let list = out.entry(f.rule.as_str()).or_default();
        let Some(column) = f.column.as_deref() else {
            continue;
        };
        if !seen.insert((f.rule.as_str(), column)) {
            continue;
        }
        let field = run.schema.field(column);
        list.push(FieldFill {
            header: f.header.clone().unwrap_or_else(|| column.to_string()),
            min: field.and_then(|x| x.min).map(fmt_num),
            max: field.and_then(|x| x.max).map(fmt_num),
        });
    }
    out
}

/// What a placeholder stands for when its value differs from finding to finding: named as a
/// template slot, so a clerk reads 「建议值」 rather than `{suggestion}` or a blank.
fn slot(name: &str, lang: Lang) -> String {
    let (zh, en) = match name {
        "header" | "column" | "field" => ("列名", "column"),
        "value" => ("单元格的值", "cell value"),
        "suggestion" => ("建议值", "suggested value"),
        "upgraded" => ("18 位号码", "18-digit number"),
        "expected" => ("正确值", "expected value"),
        "reason" => ("原因", "reason"),
        "min" => ("下限", "minimum"),
        "max" => ("上限", "maximum"),
        "range" => ("允许范围", "allowed range"),
        "household" => ("户编号", "household number"),
        "file" => ("文件", "file"),
        "sheet" => ("工作表", "sheet"),
        "empty_columns" => ("空白的列", "blank columns"),
        "first" => ("最左边的列", "leftmost column"),
        "duplicate" => ("重复的列", "duplicate column"),
        n if n.starts_with('_') => ("计算值", "computed value"),
        // A field of the schema: its own name says what goes there.
        n => {
            return match lang {
                Lang::Zh => format!("「{n}」"),
                Lang::En => format!("<{n}>"),
            };
        }
    };
    match lang {
        Lang::Zh => format!("「{zh}」"),
        Lang::En => format!("<{en}>"),
    }
}

/// A rule's text with what `field` decides filled in and every other placeholder as a slot.
/// A bound the field lacks stays a slot too; the schema's own texts avoid naming one.
fn template(text: &str, lang: Lang, field: Option<&FieldFill>) -> String {
    fill(text, &|name| {
        let known = field.and_then(|f| match name {
            "header" | "column" | "field" => Some(f.header.clone()),
            "min" => f.min.clone(),
            "max" => f.max.clone(),
            "range" => range_text(f.min.as_deref(), f.max.as_deref(), lang),
            _ => None,
        });
        Some(known.unwrap_or_else(|| slot(name, lang)))
    })
}

/// Whether `text` has a placeholder one field decides.
fn field_dependent(text: &str) -> bool {
    crate::check::emit::placeholders(text)
        .iter()
        .any(|p| matches!(*p, "header" | "column" | "field" | "min" | "max" | "range"))
}

fn rule_message(rule: &Rule, lang: Lang) -> &str {
    match lang {
        Lang::En if !rule.message_en.is_empty() => &rule.message_en,
        _ => &rule.message,
    }
}

fn rule_hint(rule: &Rule, lang: Lang) -> &str {
    match lang {
        Lang::En if !rule.hint_en.is_empty() => &rule.hint_en,
        _ => &rule.hint,
    }
}

/// The rule's message as a template: filled for its field when it fired on one field only.
fn message_text(rule: &Rule, lang: Lang, fields: &[FieldFill]) -> String {
    let one = match fields {
        [f] => Some(f),
        _ => None,
    };
    template(rule_message(rule, lang), lang, one)
}

/// The rule's hint: where a field decides its values, one line per field the rule fired on
/// (`务工时间（月）：核对后填写允许范围内的数：0 至 12`); otherwise one line with slots.
fn hint_text(rule: &Rule, lang: Lang, fields: &[FieldFill]) -> String {
    let hint = rule_hint(rule, lang);
    if !field_dependent(hint) || fields.is_empty() {
        return template(hint, lang, None);
    }
    if let [f] = fields {
        return template(hint, lang, Some(f));
    }
    let sep = t(lang, "：", ": ");
    fields
        .iter()
        .map(|f| format!("{}{sep}{}", f.header, template(hint, lang, Some(f))))
        .collect::<Vec<_>>()
        .join("\n")
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
    let fields = fired_fields(run);
    let mut s = Sheet::new(ws, sheet_name(lang, 2), &head, lang)?;
    for c in rule_counts(run) {
        let message = run
            .schema
            .rule(&c.rule)
            .map(|r| {
                let fs = fields.get(c.rule.as_str()).map_or(&[][..], Vec::as_slice);
                message_text(r, lang, fs)
            })
            .unwrap_or_default();
        s.row(&[
            V::S(&c.rule),
            V::S(category_label(c.category, lang)),
            V::S(severity_label(c.severity, lang)),
            V::N(c.count as f64),
            V::O(message),
        ])?;
    }
    s.finish()
}

/// A piece of a rule's Markdown doc, as the sheet lays it out.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Heading(String),
    /// Consecutive text lines, printed as one wrapped cell.
    Text(String),
    /// An example table: the first row is its header; the `|---|` line is dropped.
    Table(Vec<Vec<String>>),
}

/// Splits a rule doc into headings, text and tables. Markdown marks a printed page does not
/// need (`##`, back-ticks, table rules) are dropped; list items keep a bullet.
fn doc_blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut text: Vec<String> = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |out: &mut Vec<Block>, text: &mut Vec<String>, table: &mut Vec<Vec<String>>| {
        if !text.is_empty() {
            out.push(Block::Text(std::mem::take(text).join("\n")));
        }
        if !table.is_empty() {
            out.push(Block::Table(std::mem::take(table)));
        }
    };
    for line in doc.lines().map(str::trim) {
        if line.starts_with('|') {
            if !text.is_empty() {
                flush(&mut out, &mut text, &mut Vec::new());
            }
            let inner = line.trim_start_matches('|');
            let inner = inner.strip_suffix('|').unwrap_or(inner);
            // Cells are not trimmed of what a code span keeps (`户主 `: the trailing space is
            // the example's point), only of the padding around it.
            let cells: Vec<String> = inner.split('|').map(|c| unmark(c.trim())).collect();
            let rule = cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')));
            if !rule {
                table.push(cells);
            }
            continue;
        }
        if !table.is_empty() {
            flush(&mut out, &mut Vec::new(), &mut table);
        }
        if line.is_empty() {
            flush(&mut out, &mut text, &mut table);
        } else if line.starts_with('#') {
            flush(&mut out, &mut text, &mut table);
            out.push(Block::Heading(unmark(line.trim_start_matches('#').trim())));
        } else {
            let line = unmark(line);
            let line = match line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
                Some(item) => format!("• {item}"),
                None => line,
            };
            text.push(line);
        }
    }
    flush(&mut out, &mut text, &mut table);
    out
}

/// A code span as a printed page shows it: in quotes, so a space it holds stays visible
/// (`户主 ` → “户主 ”); a stray back-tick is dropped.
fn unmark(s: &str) -> String {
    let spans = s.matches('`').count() / 2;
    let mut out = String::with_capacity(s.len());
    let mut open = false;
    let mut seen = 0;
    for c in s.chars() {
        if c != '`' {
            out.push(c);
        } else if open {
            out.push('”');
            open = false;
        } else if seen < spans {
            out.push('“');
            open = true;
            seen += 1;
        }
    }
    out
}

/// One printed row of the 规则说明 sheet: the rule code on its first row, a label (说明, 提示, a
/// doc heading) and the content beside it.
struct DocRow {
    code: Option<String>,
    label: String,
    content: Content,
}

enum Content {
    None,
    /// Spans every content column, wrapped.
    Text(String),
    /// One cell per content column; a table's header row is bold.
    Cells {
        cells: Vec<String>,
        head: bool,
    },
}

/// The rows of one rule: message, hint, then its doc with each heading beside what it heads.
fn doc_rows(code: &str, rule: Option<&Rule>, lang: Lang, fields: &[FieldFill]) -> Vec<DocRow> {
    let mut rows = Vec::new();
    let Some(rule) = rule else {
        rows.push(DocRow {
            code: Some(code.to_string()),
            label: t(lang, "说明", "message").into(),
            content: Content::Text(
                t(
                    lang,
                    "（规则目录中没有此规则）",
                    "(not in the rule catalogue)",
                )
                .into(),
            ),
        });
        return rows;
    };
    rows.push(DocRow {
        code: Some(code.to_string()),
        label: t(lang, "说明", "message").into(),
        content: Content::Text(message_text(rule, lang, fields)),
    });
    let hint = hint_text(rule, lang, fields);
    if !hint.is_empty() {
        rows.push(DocRow {
            code: None,
            label: t(lang, "提示", "hint").into(),
            content: Content::Text(hint),
        });
    }
    let mut heading: Option<String> = None;
    for block in doc_blocks(&rule.doc) {
        match block {
            Block::Heading(h) => {
                if let Some(prev) = heading.replace(h) {
                    rows.push(DocRow {
                        code: None,
                        label: prev,
                        content: Content::None,
                    });
                }
            }
            Block::Text(text) => rows.push(DocRow {
                code: None,
                label: heading.take().unwrap_or_default(),
                content: Content::Text(text),
            }),
            Block::Table(table) => {
                for (i, cells) in table.into_iter().enumerate() {
                    rows.push(DocRow {
                        code: None,
                        label: if i == 0 {
                            heading.take().unwrap_or_default()
                        } else {
                            String::new()
                        },
                        content: Content::Cells {
                            cells,
                            head: i == 0,
                        },
                    });
                }
            }
        }
    }
    if let Some(h) = heading {
        rows.push(DocRow {
            code: None,
            label: h,
            content: Content::None,
        });
    }
    rows
}

/// Width the text of one rule's doc wraps at, in Excel's units: about a printed landscape page.
const DOC_TEXT_WIDTH: f64 = 100.0;
const DOC_LABEL_WIDTH: f64 = 28.0;

/// 规则说明: a document rather than a table. Each fired rule is a block of rows — code, then
/// label and content — with a doc's headings as bold labels, its text in one wrapped cell
/// spanning the content columns and its example table laid out cell by cell. No autofilter:
/// the text cells are merged ranges, which a filter would tear apart.
fn docs_sheet(run: &Run, ws: &mut Worksheet) -> Result<(), XlsxError> {
    let lang = run.lang;
    ws.set_name(sheet_name(lang, 3))?;
    let fields = fired_fields(run);
    let blocks: Vec<Vec<DocRow>> = fields
        .iter()
        .map(|(code, fs)| doc_rows(code, run.schema.rule(code), lang, fs))
        .collect();

    // Content columns: as many as the widest example table, each as wide as its widest cell;
    // together at least one page of text wide.
    let mut widths: Vec<f64> = vec![0.0];
    for row in blocks.iter().flatten() {
        if let Content::Cells { cells, .. } = &row.content {
            if widths.len() < cells.len() {
                widths.resize(cells.len(), 0.0);
            }
            for (w, c) in widths.iter_mut().zip(cells) {
                *w = w.max(c.width() as f64 + 2.0);
            }
        }
    }
    for w in &mut widths {
        *w = w.clamp(8.0, MAX_WIDTH);
    }
    let sum: f64 = widths.iter().sum();
    if sum < DOC_TEXT_WIDTH {
        let add = (DOC_TEXT_WIDTH - sum) / widths.len() as f64;
        for w in &mut widths {
            *w += add;
        }
    }
    let text_width: f64 = widths.iter().sum();
    let code_width = blocks
        .iter()
        .flatten()
        .filter_map(|r| r.code.as_deref())
        .map(|c| c.width() as f64)
        .fold(t(lang, "规则", "rule").width() as f64, f64::max)
        + 2.0;
    let label_width = blocks
        .iter()
        .flatten()
        .map(|r| r.label.width() as f64 + 2.0)
        .fold(8.0, f64::max)
        .min(DOC_LABEL_WIDTH);

    let top = Format::new().set_align(FormatAlign::Top);
    let bold = top.clone().set_bold();
    let label_fmt = bold.clone().set_text_wrap();
    let wrap = top.clone().set_text_wrap();
    let cell = top.clone().set_border(FormatBorder::Thin);
    let head_cell = bold.clone().set_border(FormatBorder::Thin);
    let last_col = col(1 + widths.len());

    ws.write_string_with_format(0, 0, t(lang, "规则", "rule"), &bold)?;
    ws.write_string_with_format(0, 1, t(lang, "项目", "item"), &bold)?;
    ws.write_string_with_format(0, 2, t(lang, "内容", "content"), &bold)?;
    ws.set_freeze_panes(1, 0)?;
    page_setup(ws, lang)?;

    let mut r: u32 = 0;
    for block in &blocks {
        if r > 0 {
            // A blank row between rules; the header row already separates the first.
            r += 1;
        }
        for row in block {
            r += 1;
            if r as usize >= MAX_ROWS {
                return finish_docs(ws, code_width, label_width, &widths);
            }
            if let Some(code) = &row.code {
                ws.write_string_with_format(r, 0, code, &bold)?;
            }
            let mut lines = 1;
            if !row.label.is_empty() {
                ws.write_string_with_format(r, 1, &row.label, &label_fmt)?;
                lines = lines_in(&row.label, label_width);
            }
            match &row.content {
                Content::None => {}
                Content::Text(text) => {
                    let text: String = text.chars().take(MAX_CELL_CHARS).collect();
                    if last_col > 2 {
                        ws.merge_range(r, 2, r, last_col, &text, &wrap)?;
                    } else {
                        ws.write_string_with_format(r, 2, &text, &wrap)?;
                    }
                    lines = lines.max(lines_in(&text, text_width));
                }
                Content::Cells { cells, head } => {
                    let head = *head;
                    let f = if head { &head_cell } else { &cell };
                    for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                        ws.write_string_with_format(r, col(2 + i), c, f)?;
                        lines = lines.max(lines_in(c, *w));
                    }
                }
            }
            if lines > 1 {
                ws.set_row_height(r, lines as f64 * LINE_HEIGHT)?;
            }
        }
    }
    finish_docs(ws, code_width, label_width, &widths)
}

fn finish_docs(
    ws: &mut Worksheet,
    code_width: f64,
    label_width: f64,
    widths: &[f64],
) -> Result<(), XlsxError> {
    ws.set_column_width(0, code_width)?;
    ws.set_column_width(1, label_width)?;
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(col(2 + i), *w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_guards_zero_rows() {
        assert_eq!(rate(3, 0), 0.0);
        assert_eq!(rate(1, 3), 33.33);
    }

    fn field(header: &str, min: Option<&str>, max: Option<&str>) -> FieldFill {
        FieldFill {
            header: header.into(),
            min: min.map(Into::into),
            max: max.map(Into::into),
        }
    }

    #[test]
    fn a_template_fills_the_field_and_names_the_rest() {
        let hint = "核对后填写 {min} 至 {max} 之间的数";
        let f = field("务工时间（月）", Some("0"), Some("12"));
        assert_eq!(
            template(hint, Lang::Zh, Some(&f)),
            "核对后填写 0 至 12 之间的数"
        );
        // Without a field, or a bound the field lacks: a named slot, never `{max}` or （空）.
        assert_eq!(
            template(hint, Lang::Zh, None),
            "核对后填写 「下限」 至 「上限」 之间的数"
        );
        let open = field("人均纯收入", Some("0"), None);
        assert_eq!(
            template(hint, Lang::Zh, Some(&open)),
            "核对后填写 0 至 「上限」 之间的数"
        );
        // A district schema may keep {min} 至 {max}; the default names the range it has.
        assert_eq!(
            template("允许范围：{range}", Lang::Zh, Some(&open)),
            "允许范围：不小于 0"
        );
        assert_eq!(
            template("range: {range}", Lang::En, Some(&f)),
            "range: 0 to 12"
        );
        assert_eq!(
            template("改为 18 位号码 {upgraded}", Lang::Zh, Some(&f)),
            "改为 18 位号码 「18 位号码」"
        );
        assert_eq!(
            template("change it to {suggestion}", Lang::En, None),
            "change it to <suggested value>"
        );
        assert_eq!(
            template("{人均纯收入} 元 {_income_calc}", Lang::Zh, None),
            "「人均纯收入」 元 「计算值」"
        );
    }

    #[test]
    fn a_hint_a_field_decides_gets_one_line_per_field() {
        let mut rule = crate::report::sample::sample_schema().rules[0].clone();
        rule.hint = "补填 {header}".into();
        rule.hint_en = "fill in {header}".into();
        let one = [field("姓名", None, None)];
        assert_eq!(hint_text(&rule, Lang::Zh, &one), "补填 姓名");
        let two = [field("姓名", None, None), field("民族", None, None)];
        assert_eq!(
            hint_text(&rule, Lang::Zh, &two),
            "姓名：补填 姓名\n民族：补填 民族"
        );
        assert_eq!(
            hint_text(&rule, Lang::En, &two),
            "姓名: fill in 姓名\n民族: fill in 民族"
        );
        // A hint no field decides is one line whatever the fields.
        rule.hint = "改为 {suggestion}".into();
        assert_eq!(hint_text(&rule, Lang::Zh, &two), "改为 「建议值」");
    }

    #[test]
    fn a_doc_splits_into_headings_text_and_tables() {
        let doc = "## 检查什么 / What it checks\n第一行 `x`\n第二行\n\n- 一项\n## 示例 / Example\n\
                   | 户编号 | 姓名 |\n|---|:-:|\n| 1 | 李甲 |\n## 如何修改\n改正。";
        assert_eq!(
            doc_blocks(doc),
            [
                Block::Heading("检查什么 / What it checks".into()),
                Block::Text("第一行 “x”\n第二行".into()),
                Block::Text("• 一项".into()),
                Block::Heading("示例 / Example".into()),
                Block::Table(vec![
                    vec!["户编号".into(), "姓名".into()],
                    vec!["1".into(), "李甲".into()],
                ]),
                Block::Heading("如何修改".into()),
                Block::Text("改正。".into()),
            ]
        );
    }

    #[test]
    fn a_code_span_prints_in_quotes_keeping_its_spaces() {
        assert_eq!(unmark("`户主 `"), "“户主 ”");
        assert_eq!(
            unmark("用 `--exclude-list` 提供"),
            "用 “--exclude-list” 提供"
        );
        assert_eq!(unmark("a ` b"), "a  b");
    }

    #[test]
    fn a_heading_sits_beside_what_it_heads() {
        let mut rule = crate::report::sample::sample_schema().rules[0].clone();
        rule.doc = "## 甲\n## 乙\n文字\n## 示例\n| a | b |\n|---|---|\n| 1 | 2 |".into();
        let rows = doc_rows("X", Some(&rule), Lang::Zh, &[]);
        let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels[0], "说明");
        let n = labels.len();
        assert_eq!(labels[n - 4..], ["甲", "乙", "示例", ""]);
        assert!(matches!(rows[n - 4].content, Content::None));
        assert!(matches!(&rows[n - 3].content, Content::Text(t) if t == "文字"));
        assert!(matches!(
            &rows[n - 2].content,
            Content::Cells { head: true, .. }
        ));
        assert!(
            matches!(&rows[n - 1].content, Content::Cells { head: false, cells } if cells == &["1", "2"])
        );
    }

    /// Every rule of the default schema, in both languages, fired on no field, one field or
    /// two: its message, hint and laid-out doc carry no placeholder and no Markdown mark.
    #[test]
    fn no_rule_text_of_the_default_schema_leaves_a_placeholder() {
        let schema = crate::schema::default_schema();
        let age = [field("务工时间（月）", Some("0"), Some("12"))];
        let two = [
            field("姓名", None, None),
            field("人均纯收入", Some("0"), None),
        ];
        for rule in &schema.rules {
            for lang in [Lang::Zh, Lang::En] {
                for fields in [&[][..], &age[..], &two[..]] {
                    for row in doc_rows(&rule.code, Some(rule), lang, fields) {
                        let mut texts = vec![row.label.clone()];
                        match &row.content {
                            Content::None => {}
                            Content::Text(t) => texts.push(t.clone()),
                            Content::Cells { cells, .. } => texts.extend(cells.iter().cloned()),
                        }
                        for t in texts {
                            assert!(
                                !t.contains('{') && !t.contains('}') && !t.contains("（空）"),
                                "{} {lang:?}: {t}",
                                rule.code
                            );
                            assert!(
                                !t.starts_with('#') && !t.contains("|") && !t.contains('`'),
                                "{} {lang:?}: {t}",
                                rule.code
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lines_grow_with_text_and_line_breaks() {
        assert_eq!(lines_in("短", 20.0), 1);
        assert_eq!(lines_in("一\n二\n三", 20.0), 3);
        let long = "字".repeat(60); // 120 columns wide
        assert!(lines_in(&long, 60.0) >= 3, "{}", lines_in(&long, 60.0));
    }
}
