//! The annotated copy (`--annotate DIR`): each input re-written as xlsx with every sheet, row and
//! value where the clerk had it, the cells findings name filled and noted, and the codes of each
//! row listed after the last used column, so the clerk fixes the copy and checks it again.
//!
//! The input is re-opened here rather than rebuilt from the checked [`Table`]s: a table holds
//! only the rows under its header, and the copy must also keep title rows, blank rows, totals
//! rows, unmapped columns and sheets without a header, or its row numbers would drift.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Color, Format, FormatPattern, Note, Workbook, Worksheet, XlsxError};

use crate::finding::{Finding, Lang, Severity};
use crate::read::raw::{MAX_COL, MAX_ROW, read_raw};
use crate::read::{Cell, Encoding, Table};
use crate::report::{mask, severity_label, t};
use crate::schema::Schema;

/// Excel's limit on a cell string, in UTF-16 units.
const MAX_CELL_UNITS: usize = 32_767;
/// A note's limit (rust_xlsxwriter keeps 54 units for the author prefix), with room to spare.
const MAX_NOTE_UNITS: usize = 32_000;
/// Sheet names are at most 31 characters.
const MAX_SHEET_NAME: usize = 31;
/// Output stems are kept short enough for every file system.
const MAX_STEM: usize = 80;
const RED: u32 = 0xFF9999;
const YELLOW: u32 = 0xFFFF66;

/// What the copy needs besides the input: language of the notes, masking, CSV encoding and the
/// cell limit the reader applied (a copy must not cost more than the check did).
#[derive(Debug, Clone)]
pub struct AnnotateOptions {
    pub lang: Lang,
    pub mask: bool,
    pub encoding: Encoding,
    pub max_cells: u64,
}

impl Default for AnnotateOptions {
    fn default() -> Self {
        AnnotateOptions {
            lang: Lang::Zh,
            mask: false,
            encoding: Encoding::Auto,
            max_cells: crate::read::ReadOptions::default().max_cells,
        }
    }
}

/// One input to copy: its path on disk and the name findings carry (`Finding.file`).
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub display: &'a str,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnnotateError {
    #[error("--annotate {dir}: 无法创建目录: {reason}")]
    #[diagnostic(code(povcheck::annotate::dir))]
    Dir { dir: String, reason: String },
    #[error("{file}: 标注副本 {out} 会覆盖输入文件，已拒绝写入")]
    #[diagnostic(
        code(povcheck::annotate::overwrite),
        help("请用 --annotate 指定另一个目录")
    )]
    WouldOverwrite { file: String, out: String },
    #[error("{file}: 无法重新读取以生成标注副本: {reason}")]
    #[diagnostic(code(povcheck::annotate::read))]
    Read { file: String, reason: String },
    #[error("{out}: 无法写入标注副本: {reason}")]
    #[diagnostic(code(povcheck::annotate::write))]
    Write { out: String, reason: String },
}

/// The output file name for an input: its stem with every character other than a letter, a
/// digit (CJK included), `-` or `_` replaced by `_`, then `.annotated.xlsx`; `-2`, `-3`, … is
/// added when the name is already `taken` in this run. Never a path separator, never `..`.
pub fn output_name(input: &Path, taken: &mut HashSet<String>) -> String {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut safe: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_STEM)
        .collect();
    if safe.chars().all(|c| c == '_') {
        safe = "input".into();
    }
    let mut name = format!("{safe}.annotated.xlsx");
    let mut n = 2;
    // Case-insensitive file systems (Windows, macOS) would make `A` and `a` collide.
    while !taken.insert(name.to_lowercase()) {
        name = format!("{safe}-{n}.annotated.xlsx");
        n += 1;
    }
    name
}

/// Write one annotated copy per source into `dir` (created when missing). Inputs that gave no
/// table (unreadable files) are not copied: the reader already reported them. Returns the files
/// written and, separately, the problems, so one bad input does not cost the others their copy.
pub fn annotate_all(
    dir: &Path,
    sources: &[Source],
    tables: &[Table],
    findings: &[Finding],
    schema: &Schema,
    opts: &AnnotateOptions,
    mut on_file: impl FnMut(&str),
) -> (Vec<PathBuf>, Vec<AnnotateError>) {
    let mut written = Vec::new();
    let mut errors = Vec::new();
    if let Err(e) = std::fs::create_dir_all(dir) {
        errors.push(AnnotateError::Dir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        });
        return (written, errors);
    }
    let inputs: Vec<PathBuf> = sources
        .iter()
        .filter_map(|s| std::fs::canonicalize(s.path).ok())
        .collect();
    let mut taken = HashSet::new();
    let mut seen = HashSet::new();
    for src in sources {
        on_file(src.display);
        // The same file named twice is one input with one set of findings: one copy.
        if !seen.insert(src.display) {
            continue;
        }
        let file_tables: Vec<&Table> = tables.iter().filter(|t| t.file == src.display).collect();
        if file_tables.is_empty() {
            continue;
        }
        let out = dir.join(output_name(src.path, &mut taken));
        let resolved = std::fs::canonicalize(&out).ok();
        if resolved.is_some_and(|r| inputs.contains(&r)) {
            errors.push(AnnotateError::WouldOverwrite {
                file: src.display.to_string(),
                out: out.display().to_string(),
            });
            continue;
        }
        let file_findings: Vec<&Finding> =
            findings.iter().filter(|f| f.file == src.display).collect();
        match annotate_file(src, &out, &file_tables, &file_findings, schema, opts) {
            Ok(()) => written.push(out),
            Err(e) => errors.push(e),
        }
    }
    (written, errors)
}

/// Copy one input to `out` with the given findings marked.
pub fn annotate_file(
    src: &Source,
    out: &Path,
    tables: &[&Table],
    findings: &[&Finding],
    schema: &Schema,
    opts: &AnnotateOptions,
) -> Result<(), AnnotateError> {
    let read_err = |reason: String| AnnotateError::Read {
        file: src.display.to_string(),
        reason,
    };
    let mut sheets = read_sheets(src.path, opts).map_err(read_err)?;
    if opts.mask {
        for s in &mut sheets {
            let table = tables.iter().find(|t| t.sheet == s.source_name);
            mask_sheet(s, table.copied(), schema);
        }
    }
    if sheets.is_empty() {
        return Err(read_err("工作簿中没有可复制的工作表".into()));
    }
    let marks = collect_marks(&sheets, tables, findings, opts.lang);
    let write_err = |e: String| AnnotateError::Write {
        out: out.display().to_string(),
        reason: e,
    };
    let wb = build_workbook(sheets, &marks, opts.lang, out.parent())
        .map_err(|e| write_err(e.to_string()))?;
    save_atomically(wb, out).map_err(write_err)
}

/// Written beside the target and renamed, so a failed run never leaves half a workbook under the
/// name the clerk will open.
fn save_atomically(mut wb: Workbook, out: &Path) -> Result<(), String> {
    let tmp = out.with_extension("xlsx.part");
    wb.save(&tmp).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        e.to_string()
    })
}

/// A cell value as it is written back.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Text(String),
    Num(f64),
    Bool(bool),
    /// Excel serial in the 1900 system, and how to show it.
    Date(f64, DateKind),
    Blank,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateKind {
    Date,
    DateTime,
    Duration,
}

/// One sheet of the input, cells sorted by (row, column), 0-based.
#[derive(Debug)]
struct SheetCopy {
    /// The sheet name in the input (None for CSV), as findings name it.
    source_name: Option<String>,
    /// The name to give the copy's sheet.
    name: String,
    cells: Vec<(u32, u32, Val)>,
    /// Why the sheet could not be copied (it is then kept empty, so the others keep their
    /// positions, with the reason in a note on A1).
    problem: Option<String>,
}

/// The input's sheets through the reader's own whole-sheet read ([`crate::read::raw`]), so the
/// copy holds the values and rows that were checked.
fn read_sheets(path: &Path, opts: &AnnotateOptions) -> Result<Vec<SheetCopy>, String> {
    let sheets = read_raw(path, opts.encoding, opts.max_cells)?;
    Ok(sheets
        .into_iter()
        .map(|s| SheetCopy {
            name: s.name.clone().unwrap_or_else(|| csv_sheet_name(path)),
            source_name: s.name,
            cells: s
                .cells
                .into_iter()
                .map(|c| (c.row, c.col, val(c.cell, c.duration)))
                .collect(),
            problem: s.problem,
        })
        .collect())
}

/// A cell as it is written back; a date keeps the 1900-system serial the reader gives it.
fn val(cell: Cell, duration: bool) -> Val {
    match cell {
        Cell::Empty => Val::Blank,
        Cell::Text(s) | Cell::Error(s) => Val::Text(s),
        Cell::Number(f) => Val::Num(f),
        Cell::Int(i) => Val::Num(i as f64),
        Cell::Bool(b) => Val::Bool(b),
        Cell::DateTime(serial) if duration => Val::Date(serial, DateKind::Duration),
        Cell::DateTime(serial) => {
            let kind = if serial.fract().abs() < 1e-9 {
                DateKind::Date
            } else {
                DateKind::DateTime
            };
            Val::Date(serial, kind)
        }
    }
}

/// The CSV's sheet: its stem made a valid sheet name.
fn csv_sheet_name(path: &Path) -> String {
    let mut taken = HashSet::new();
    let name = output_name(path, &mut taken);
    let stem = name.strip_suffix(".annotated.xlsx").unwrap_or(&name);
    stem.chars().take(MAX_SHEET_NAME).collect()
}

/// With `--mask`: the data rows of masked fields by their kind, unmapped columns and rows outside
/// the table by pattern, so no full ID, phone or card number survives in a copy meant for
/// sharing. Mapped fields without a mask kind (户编号, codes, amounts) are left as they are: a
/// 16-digit household number is not a bank card.
fn mask_sheet(sheet: &mut SheetCopy, table: Option<&Table>, schema: &Schema) {
    let kinds: HashMap<u32, Option<String>> = table
        .map(|t| {
            t.columns
                .iter()
                .filter_map(|c| {
                    let field = schema.field(c.field.as_deref()?)?;
                    Some((u32::try_from(c.index).ok()?, field.mask.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    // Header row is 1-based; cells are 0-based, so the first data row's index is header_row.
    let first_data = table.map(|t| t.header_row).unwrap_or(u32::MAX);
    for (r, c, v) in &mut sheet.cells {
        let mapped = if *r >= first_data { kinds.get(c) } else { None };
        let kind = match mapped {
            Some(None) => continue,
            Some(Some(k)) => Some(k),
            None => None,
        };
        let text = match v {
            Val::Text(s) => s.clone(),
            // A number in a masked column is an ID or phone Excel turned numeric.
            Val::Num(n) if kind.is_some() || n.abs() >= 1e10 => format!("{n:.0}"),
            _ => continue,
        };
        let masked = match kind {
            Some(k) => mask::mask_text(&mask::mask_value(k, &text)),
            None => mask::mask_text(&text),
        };
        if masked != text || matches!(v, Val::Num(_)) {
            *v = Val::Text(masked);
        }
    }
}

/// What the findings put on one sheet.
#[derive(Debug, Default)]
struct SheetMarks {
    /// Fill (worst severity; None for a note only) and note lines per (row, col).
    cells: BTreeMap<(u32, u32), (Option<Severity>, Vec<String>)>,
    /// Codes per row.
    rows: BTreeMap<u32, BTreeSet<String>>,
    /// 0-based header row, for the codes column's title.
    header_row: Option<u32>,
}

fn note_line(f: &Finding, lang: Lang) -> String {
    let mut s = format!(
        "{} {}{}{}",
        f.rule,
        severity_label(f.severity, lang),
        t(lang, "：", ": "),
        f.message
    );
    if !f.hint.is_empty() {
        s.push('\n');
        s.push_str(t(lang, "提示：", "Hint: "));
        s.push_str(&f.hint);
    }
    s
}

fn collect_marks(
    sheets: &[SheetCopy],
    tables: &[&Table],
    findings: &[&Finding],
    lang: Lang,
) -> Vec<SheetMarks> {
    let mut marks: Vec<SheetMarks> = sheets
        .iter()
        .map(|s| SheetMarks {
            header_row: tables
                .iter()
                .find(|t| t.sheet == s.source_name)
                .map(|t| t.header_row.saturating_sub(1)),
            ..SheetMarks::default()
        })
        .collect();
    for (m, s) in marks.iter_mut().zip(sheets) {
        if let Some(p) = &s.problem {
            let text = format!(
                "{}{p}",
                t(
                    lang,
                    "此工作表无法复制：",
                    "this sheet could not be copied: "
                )
            );
            m.cells.entry((0, 0)).or_default().1.push(text);
        }
    }
    for f in findings {
        let line = note_line(f, lang);
        let sheet = sheets.iter().position(|s| s.source_name == f.sheet);
        let (Some(i), Some(row)) = (sheet, f.row) else {
            // File scope (C001), or a sheet the copy does not have: a note on A1 of the first sheet.
            if let Some(m) = marks.first_mut() {
                m.cells.entry((0, 0)).or_default().1.push(line);
            }
            continue;
        };
        let Some(m) = marks.get_mut(i) else { continue };
        let r = row.saturating_sub(1).min(MAX_ROW);
        m.rows.entry(r).or_default().insert(f.rule.clone());
        for &c in &f.col_indices {
            let Ok(c) = u32::try_from(c) else { continue };
            if c > MAX_COL {
                continue;
            }
            let e = m.cells.entry((r, c)).or_default();
            e.0 = e.0.max(Some(f.severity));
            e.1.push(line.clone());
        }
    }
    marks
}

/// Truncated to `max` UTF-16 units (Excel's measure), on a character boundary.
fn clip(s: &str, max: usize) -> String {
    let mut units = 0;
    let mut end = s.len();
    for (i, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > max {
            end = i;
            break;
        }
    }
    s.get(..end).unwrap_or_default().to_string()
}

fn cell_format(kind: Option<DateKind>, sev: Option<Severity>) -> Option<Format> {
    let mut f = match kind {
        None => None,
        Some(DateKind::Date) => Some(Format::new().set_num_format("yyyy-mm-dd")),
        Some(DateKind::DateTime) => Some(Format::new().set_num_format("yyyy-mm-dd hh:mm:ss")),
        Some(DateKind::Duration) => Some(Format::new().set_num_format("[h]:mm:ss")),
    };
    if let Some(sev) = sev {
        let color = match sev {
            Severity::Error => RED,
            Severity::Warning => YELLOW,
        };
        f = Some(
            f.unwrap_or_default()
                .set_pattern(FormatPattern::Solid)
                .set_background_color(Color::RGB(color)),
        );
    }
    f
}

fn write_val(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    v: &Val,
    sev: Option<Severity>,
) -> Result<(), XlsxError> {
    let kind = match v {
        Val::Date(_, k) => Some(*k),
        _ => None,
    };
    let fmt = cell_format(kind, sev);
    let blank = Format::new();
    let fmt_ref = fmt.as_ref().unwrap_or(&blank);
    match v {
        // write_string never makes a formula: `=HYPERLINK(…)` stays inert text.
        Val::Text(s) => {
            ws.write_string_with_format(r, c, clip(s, MAX_CELL_UNITS), fmt_ref)?;
        }
        Val::Num(n) if n.is_finite() => {
            ws.write_number_with_format(r, c, *n, fmt_ref)?;
        }
        Val::Num(n) => {
            ws.write_string_with_format(r, c, n.to_string(), fmt_ref)?;
        }
        Val::Bool(b) => {
            ws.write_boolean_with_format(r, c, *b, fmt_ref)?;
        }
        Val::Date(n, _) => {
            ws.write_number_with_format(r, c, *n, fmt_ref)?;
        }
        Val::Blank => {
            if fmt.is_some() {
                ws.write_blank(r, c, fmt_ref)?;
            }
        }
    }
    Ok(())
}

fn col16(c: u32) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// A sheet name Excel accepts and that is not taken yet: the wanted name when possible.
fn unique_sheet_name(wanted: &str, taken: &mut HashSet<String>, fallback: usize) -> String {
    let cleaned: String = wanted
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_SHEET_NAME)
        .collect();
    let cleaned = cleaned.trim_matches('\'').to_string();
    let mut name = if cleaned.is_empty() || cleaned.eq_ignore_ascii_case("history") {
        format!("Sheet{fallback}")
    } else {
        cleaned
    };
    let mut n = 2;
    while !taken.insert(name.to_lowercase()) {
        let suffix = format!("~{n}");
        let keep = MAX_SHEET_NAME.saturating_sub(suffix.chars().count());
        name = format!("{}{suffix}", name.chars().take(keep).collect::<String>());
        n += 1;
    }
    name
}

fn build_workbook(
    mut sheets: Vec<SheetCopy>,
    marks: &[SheetMarks],
    lang: Lang,
    tempdir: Option<&Path>,
) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    // Constant-memory sheets spill to temporary files: keep the clerk's personal data in the
    // directory the user chose for the copies rather than a shared /tmp.
    if let Some(dir) = tempdir.filter(|d| !d.as_os_str().is_empty()) {
        wb.set_tempdir(dir)?;
    }
    let mut taken = HashSet::new();
    // Side sheets go after every copied sheet, so the clerk's sheets keep their positions.
    let mut side: Vec<(String, &BTreeMap<u32, BTreeSet<String>>)> = Vec::new();
    let empty = SheetMarks::default();
    let count = sheets.len();
    for (i, sheet) in sheets.iter_mut().enumerate() {
        let m = marks.get(i).unwrap_or(&empty);
        let name = unique_sheet_name(&sheet.name, &mut taken, i + 1);
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(&name)?;
        let last_col = sheet
            .cells
            .iter()
            .map(|(_, c, _)| *c)
            .chain(m.cells.keys().map(|(_, c)| *c))
            .max();
        let codes_col = last_col.map_or(0, |c| c + 1);
        let inline_codes = codes_col <= MAX_COL;
        write_sheet(ws, sheet, m, inline_codes.then_some(codes_col), lang)?;
        if !inline_codes && !m.rows.is_empty() {
            side.push((name, &m.rows));
        }
    }
    for (i, (name, rows)) in side.into_iter().enumerate() {
        let side_name = format!(
            "{}{}",
            name.chars()
                .take(MAX_SHEET_NAME.saturating_sub(t(lang, "_问题", "_issues").chars().count()))
                .collect::<String>(),
            t(lang, "_问题", "_issues")
        );
        let side_name = unique_sheet_name(&side_name, &mut taken, count + i + 1);
        let ws = wb.add_worksheet();
        ws.set_name(&side_name)?;
        ws.write_string(0, 0, t(lang, "行号", "Row"))?;
        ws.write_string(0, 1, t(lang, "问题代码", "Issue codes"))?;
        ws.set_column_width(1, 30)?;
        for (k, (r, codes)) in rows.iter().enumerate() {
            let out_row = u32::try_from(k + 1).unwrap_or(MAX_ROW).min(MAX_ROW);
            ws.write_number(out_row, 0, f64::from(*r) + 1.0)?;
            ws.write_string(out_row, 1, codes_text(codes))?;
        }
    }
    Ok(wb)
}

fn codes_text(codes: &BTreeSet<String>) -> String {
    codes.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Every cell, marked cell and codes cell in (row, column) order: constant-memory sheets drop
/// anything written to a row already passed.
fn write_sheet(
    ws: &mut Worksheet,
    sheet: &mut SheetCopy,
    m: &SheetMarks,
    codes_col: Option<u32>,
    lang: Lang,
) -> Result<(), XlsxError> {
    // Taken, not cloned: a large sheet is held once.
    let mut events = std::mem::take(&mut sheet.cells);
    // Marked cells the clerk left empty (the usual case for a missing item) still get a fill.
    events.extend(m.cells.keys().map(|(r, c)| (*r, *c, Val::Blank)));
    if let Some(cc) = codes_col {
        if let Some(h) = m.header_row
            && !m.rows.is_empty()
        {
            events.push((h, cc, Val::Text(t(lang, "问题代码", "Issue codes").into())));
        }
        events.extend(
            m.rows
                .iter()
                .map(|(r, codes)| (*r, cc, Val::Text(codes_text(codes)))),
        );
        if !m.rows.is_empty() {
            ws.set_column_width(col16(cc), 16)?;
        }
    }
    // Stable sort: a real value comes before the blank or codes cell at the same address.
    events.sort_by_key(|(r, c, _)| (*r, *c));
    events.dedup_by_key(|(r, c, _)| (*r, *c));
    for (r, c, v) in &events {
        let mark = m.cells.get(&(*r, *c));
        write_val(ws, *r, col16(*c), v, mark.and_then(|x| x.0))?;
    }
    for ((r, c), (_, lines)) in &m.cells {
        let text = clip(&lines.join("\n\n"), MAX_NOTE_UNITS);
        let height = (60 + 15 * text.lines().count()).min(600);
        let note = Note::new(text)
            .set_author("povcheck")
            .set_width(320)
            .set_height(u32::try_from(height).unwrap_or(600));
        ws.insert_note(*r, col16(*c), &note)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(
            output_name(Path::new("dir/湖光镇 2017.xlsx"), &mut taken),
            "湖光镇_2017.annotated.xlsx"
        );
        assert_eq!(
            output_name(Path::new("other/湖光镇 2017.csv"), &mut taken),
            "湖光镇_2017-2.annotated.xlsx"
        );
        assert_eq!(
            output_name(Path::new("../../..xlsx"), &mut taken),
            "input.annotated.xlsx"
        );
        let n = output_name(Path::new("a/..\\..\\evil.csv"), &mut taken);
        assert!(
            !n.contains('/') && !n.contains('\\') && !n.contains(".."),
            "{n}"
        );
    }

    #[test]
    fn clip_counts_utf16_units() {
        assert_eq!(clip("abc", 2), "ab");
        assert_eq!(clip("𠀀a", 2), "𠀀");
        assert_eq!(clip("𠀀a", 1), "");
        assert_eq!(clip("甲乙", 5), "甲乙");
    }

    #[test]
    fn sheet_names_valid_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(unique_sheet_name("a/b", &mut taken, 1), "a_b");
        assert_eq!(unique_sheet_name("A_B", &mut taken, 2), "A_B~2");
        let long = "x".repeat(40);
        assert_eq!(unique_sheet_name(&long, &mut taken, 3).chars().count(), 31);
        assert_eq!(unique_sheet_name("", &mut taken, 4), "Sheet4");
    }
}
