//! The annotated copy (`--annotate DIR`): each input re-written as xlsx with every sheet, row and
//! value where the clerk had it, the cells findings name filled and noted, and the codes of each
//! row listed after the last used column, so the clerk fixes the copy and checks it again.
//!
//! The input is re-opened here rather than rebuilt from the checked [`Table`]s: a table holds
//! only the rows under its header, and the copy must also keep title rows, blank rows, totals
//! rows, unmapped columns and sheets without a header, or its row numbers would drift.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, FormatPattern, Formula, Note, Url,
    Workbook, Worksheet, XlsxError, quote_sheet_name,
};

use crate::finding::{Finding, Lang, Severity, a1};
use crate::read::layout::SheetLayout;
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
    let sheets = load(src, tables, schema, opts)?;
    write_copy(sheets, out, tables, findings, schema, opts)
}

/// The input's sheets with their layout, masked when asked: what every copy of this input (the
/// whole one, or one per unit) is cut from.
pub(crate) fn load(
    src: &Source,
    tables: &[&Table],
    schema: &Schema,
    opts: &AnnotateOptions,
) -> Result<Vec<SheetCopy>, AnnotateError> {
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
    let mut layouts = crate::read::layout::read_layouts(
        src.path,
        crate::read::ReadOptions::default().max_inflated_bytes,
    );
    for s in &mut sheets {
        if let Some(name) = &s.source_name
            && let Some(l) = layouts.remove(name)
        {
            s.layout = l;
        }
    }
    Ok(sheets)
}

/// Write `sheets` (from [`load`], maybe cut by [`subset`]) to `out` with the findings marked.
pub(crate) fn write_copy(
    sheets: Vec<SheetCopy>,
    out: &Path,
    tables: &[&Table],
    findings: &[&Finding],
    schema: &Schema,
    opts: &AnnotateOptions,
) -> Result<(), AnnotateError> {
    let marks = collect_marks(&sheets, tables, findings, opts.lang);
    let write_err = |e: String| AnnotateError::Write {
        out: out.display().to_string(),
        reason: e,
    };
    let ctx = Context {
        tables,
        findings,
        schema,
        lang: opts.lang,
    };
    let wb =
        build_workbook(sheets, &marks, &ctx, out.parent()).map_err(|e| write_err(e.to_string()))?;
    save_atomically(wb, out).map_err(write_err)
}

/// Only the rows `keep(sheet index, 0-based row)` accepts, renumbered from the top with no gaps,
/// and only the sheets `keep_sheet` accepts; merged ranges, hidden rows and heights follow their
/// rows. Cells are cloned: the loaded sheets serve every unit.
pub(crate) fn subset(
    sheets: &[SheetCopy],
    keep_sheet: impl Fn(usize) -> bool,
    keep: impl Fn(usize, u32) -> bool,
) -> Vec<SheetCopy> {
    let mut out = Vec::new();
    for (i, s) in sheets.iter().enumerate() {
        if !keep_sheet(i) {
            continue;
        }
        let mut rows: Vec<u32> = Vec::new();
        let mut cells = Vec::new();
        for (r, c, v) in &s.cells {
            if !keep(i, *r) {
                continue;
            }
            if rows.last() != Some(r) {
                rows.push(*r);
            }
            cells.push((*r, *c, v.clone()));
        }
        // Rows with no cells but a layout of their own (a hidden or tall kept row, a merged row
        // whose cells are all blank) are kept too.
        let extra = s
            .layout
            .rows
            .iter()
            .map(|r| r.row)
            .chain(s.layout.merges.iter().flat_map(|m| m.start.0..=m.end.0))
            .filter(|r| keep(i, *r));
        rows.extend(extra);
        rows.sort_unstable();
        rows.dedup();
        let map = |r: u32| rows.binary_search(&r).ok().map(|k| k as u32);
        for (r, _, _) in &mut cells {
            *r = map(*r).unwrap_or(*r);
        }
        let mut layout = s.layout.clone();
        layout.rows = layout
            .rows
            .into_iter()
            .filter_map(|mut r| {
                r.row = map(r.row)?;
                Some(r)
            })
            .collect();
        let mut merges = Vec::new();
        for m in &layout.merges {
            let kept: Vec<u32> = (m.start.0..=m.end.0).filter_map(map).collect();
            let top = s
                .cells
                .binary_search_by_key(&m.start, |(r, c, _)| (*r, *c))
                .ok()
                .map(|k| &s.cells[k].2);
            // The kept rows of a range are consecutive in the copy (every row between two of
            // them is in the range, kept or cut), so the range shrinks to them; its top-left
            // value goes to its first kept row when the top row was another unit's.
            let (Some(&first), Some(&last)) = (kept.first(), kept.last()) else {
                continue;
            };
            if map(m.start.0) != Some(first)
                && let Some(v) = top
            {
                cells.retain(|(r, c, _)| !(*r == first && *c == m.start.1));
                cells.push((first, m.start.1, v.clone()));
            }
            if first != last || m.start.1 != m.end.1 {
                merges.push(crate::read::layout::Merge {
                    start: (first, m.start.1),
                    end: (last, m.end.1),
                });
            }
        }
        layout.merges = merges;
        cells.sort_by_key(|(r, c, _)| (*r, *c));
        cells.dedup_by_key(|(r, c, _)| (*r, *c));
        out.push(SheetCopy {
            source_name: s.source_name.clone(),
            name: s.name.clone(),
            cells,
            problem: s.problem.clone(),
            layout,
            rows: Some(rows),
        });
    }
    out
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
pub(crate) struct SheetCopy {
    /// The sheet name in the input (None for CSV), as findings name it.
    source_name: Option<String>,
    /// The name to give the copy's sheet.
    name: String,
    cells: Vec<(u32, u32, Val)>,
    /// Why the sheet could not be copied (it is then kept empty, so the others keep their
    /// positions, with the reason in a note on A1).
    problem: Option<String>,
    layout: SheetLayout,
    /// The input rows this copy holds, in order (row k of the copy is `rows[k]`); None: every
    /// row where it was.
    rows: Option<Vec<u32>>,
}

impl SheetCopy {
    /// The input sheet's name (None for CSV).
    pub(crate) fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// The copy's row for an input row (0-based); None when the row was cut.
    fn row_of(&self, r: u32) -> Option<u32> {
        match &self.rows {
            None => Some(r),
            Some(rows) => rows.binary_search(&r).ok().map(|k| k as u32),
        }
    }
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
            layout: SheetLayout::default(),
            rows: None,
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

/// What the findings put on one sheet (rows and columns of the copy).
#[derive(Debug, Default)]
struct SheetMarks {
    /// Fill (worst severity; None for a note only) and note lines per (row, col).
    cells: BTreeMap<(u32, u32), (Option<Severity>, Vec<String>)>,
    /// Codes per row.
    rows: BTreeMap<u32, BTreeSet<String>>,
    /// 0-based header row, for the codes column's title and the header's wrap.
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

/// The merged ranges of a sheet by column, so a flagged cell finds its range in a few steps
/// (a 100,000-row export has tens of thousands of household ranges).
struct MergeIndex {
    /// Per column: the ranges crossing it, sorted by first row; ranges do not overlap.
    by_col: HashMap<u32, Vec<Span>>,
}

/// A merged range's rows in one column: first row, last row, top-left cell.
type Span = (u32, u32, (u32, u32));

impl MergeIndex {
    fn new(merges: &[crate::read::layout::Merge]) -> Self {
        let mut by_col: HashMap<u32, Vec<Span>> = HashMap::new();
        for m in merges {
            // A range across the whole width (a title) is listed under its first columns only:
            // findings sit in data rows, not in titles.
            for c in m.start.1..=m.end.1.min(m.start.1 + 64) {
                by_col
                    .entry(c)
                    .or_default()
                    .push((m.start.0, m.end.0, m.start));
            }
        }
        for v in by_col.values_mut() {
            v.sort_unstable();
        }
        MergeIndex { by_col }
    }

    /// The top-left cell of the merged range holding `(r, c)`, or the cell itself: a note on a
    /// cell hidden under a merge would never be seen.
    fn visible_cell(&self, r: u32, c: u32) -> (u32, u32) {
        let Some(v) = self.by_col.get(&c) else {
            return (r, c);
        };
        let i = v.partition_point(|(first, _, _)| *first <= r);
        match i.checked_sub(1).and_then(|i| v.get(i)) {
            Some((_, last, top)) if *last >= r => *top,
            _ => (r, c),
        }
    }
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
                .and_then(|t| s.row_of(t.header_row.saturating_sub(1))),
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
        // Columns the schema does not know were not checked: the clerk should not take their
        // lack of marks for a pass.
        if let (Some(h), Some(table)) = (
            m.header_row,
            tables.iter().find(|t| t.sheet == s.source_name),
        ) {
            for col in table
                .columns
                .iter()
                .filter(|c| c.field.is_none() && !c.header.trim().is_empty())
            {
                let Ok(c) = u32::try_from(col.index) else {
                    continue;
                };
                let text = match lang {
                    Lang::Zh => format!(
                        "未识别的列：表头“{}”不在规则方案中，此列未检查",
                        col.header.trim()
                    ),
                    Lang::En => format!(
                        "unmapped column: the header \"{}\" is not in the schema; this column was not checked",
                        col.header.trim()
                    ),
                };
                m.cells.entry((h, c)).or_default().1.push(text);
            }
        }
    }
    let merges: Vec<MergeIndex> = sheets
        .iter()
        .map(|s| MergeIndex::new(&s.layout.merges))
        .collect();
    for f in findings {
        let line = note_line(f, lang);
        let sheet = sheets.iter().position(|s| s.source_name == f.sheet);
        let place = sheet.zip(f.row).and_then(|(i, row)| {
            let r = sheets.get(i)?.row_of(row.saturating_sub(1).min(MAX_ROW))?;
            Some((i, r))
        });
        let Some((i, r)) = place else {
            // File scope (C001), a sheet the copy does not have or a row it cut: a note on A1
            // of the first sheet.
            if let Some(m) = marks.first_mut() {
                m.cells.entry((0, 0)).or_default().1.push(line);
            }
            continue;
        };
        let Some(m) = marks.get_mut(i) else { continue };
        m.rows.entry(r).or_default().insert(f.rule.clone());
        for &c in &f.col_indices {
            let Ok(c) = u32::try_from(c) else { continue };
            if c > MAX_COL {
                continue;
            }
            let e = m.cells.entry(merges[i].visible_cell(r, c)).or_default();
            e.0 = e.0.max(Some(f.severity));
            if !e.1.contains(&line) {
                e.1.push(line.clone());
            }
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

fn cell_format(kind: Option<DateKind>, sev: Option<Severity>, wrap: bool) -> Option<Format> {
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
    if wrap {
        f = Some(f.unwrap_or_default().set_text_wrap());
    }
    f
}

fn write_val(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    v: &Val,
    fmt: Option<&Format>,
) -> Result<(), XlsxError> {
    let blank = Format::new();
    let fmt_ref = fmt.unwrap_or(&blank);
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

/// What the workbook builder reads besides the sheets and their marks.
struct Context<'a> {
    tables: &'a [&'a Table],
    findings: &'a [&'a Finding],
    schema: &'a Schema,
    lang: Lang,
}

/// Where each code list of a dropdown comes from: inline (short) or a column of the hidden code
/// sheet (Excel refuses an inline list over 255 characters, and one with a comma in a code).
enum CodeSource {
    Inline(Vec<String>),
    Column(u16, usize),
}

/// The dropdowns of a workbook: per field, its list source, and the code sheet's columns.
struct CodeLists {
    by_field: HashMap<String, CodeSource>,
    /// (field, codes) per column of the code sheet.
    sheet: Vec<(String, Vec<String>)>,
}

/// Excel's limit on an inline list, in UTF-16 units with the separating commas.
const MAX_INLINE_LIST: usize = 255;

fn code_lists(ctx: &Context) -> CodeLists {
    let mut lists = CodeLists {
        by_field: HashMap::new(),
        sheet: Vec::new(),
    };
    let fields: BTreeSet<&str> = ctx
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().filter_map(|c| c.field.as_deref()))
        .collect();
    for name in fields {
        let Some(field) = ctx.schema.field(name) else {
            continue;
        };
        if field.codes.is_empty() {
            continue;
        }
        let joined = field.codes.join(",");
        let inline = joined.encode_utf16().count() <= MAX_INLINE_LIST
            && !field
                .codes
                .iter()
                .any(|c| c.contains(',') || c.contains('"'));
        let source = if inline {
            CodeSource::Inline(field.codes.clone())
        } else {
            let col = col16(lists.sheet.len() as u32);
            lists.sheet.push((name.to_string(), field.codes.clone()));
            CodeSource::Column(col, field.codes.len())
        };
        lists.by_field.insert(name.to_string(), source);
    }
    lists
}

/// The dropdown for one code column: warnings, not refusals, so a variant the schema accepts
/// can still be typed.
fn validation(
    source: &CodeSource,
    code_sheet: &str,
    lang: Lang,
) -> Result<DataValidation, XlsxError> {
    let dv = match source {
        CodeSource::Inline(codes) => DataValidation::new().allow_list_strings(codes)?,
        CodeSource::Column(col, len) => {
            let letters = crate::finding::col_letters(usize::from(*col));
            DataValidation::new().allow_list_formula(Formula::new(format!(
                "={}!${letters}$2:${letters}${}",
                quote_sheet_name(code_sheet),
                len + 1
            )))
        }
    };
    dv.ignore_blank(true)
        .set_error_style(DataValidationErrorStyle::Warning)
        .set_error_title(t(lang, "不在代码表中", "Not in the code list"))?
        .set_error_message(t(
            lang,
            "此值不在规则方案的代码表中，请从下拉列表选择",
            "This value is not in the schema's code list; pick one from the list",
        ))
}

/// The note's box fitted to its text: a width for the longest line (within bounds), a height
/// for the lines once wrapped at that width.
fn note_size(text: &str) -> (u32, u32) {
    use unicode_width::UnicodeWidthStr;
    const CHAR_PX: usize = 7;
    const PAD: usize = 16;
    let widest = text.lines().map(|l| l.width()).max().unwrap_or(0);
    let width = (widest * CHAR_PX + PAD).clamp(180, 480);
    let per_line = ((width - PAD) / CHAR_PX).max(1);
    let lines: usize = text
        .lines()
        .map(|l| l.width().div_ceil(per_line).max(1))
        .sum();
    let height = (lines * 16 + PAD).clamp(40, 1200);
    (width as u32, height as u32)
}

fn build_workbook(
    mut sheets: Vec<SheetCopy>,
    marks: &[SheetMarks],
    ctx: &Context,
    tempdir: Option<&Path>,
) -> Result<Workbook, XlsxError> {
    let lang = ctx.lang;
    let mut wb = Workbook::new();
    // Constant-memory sheets spill to temporary files: keep the clerk's personal data in the
    // directory the user chose for the copies rather than a shared /tmp.
    if let Some(dir) = tempdir.filter(|d| !d.as_os_str().is_empty()) {
        wb.set_tempdir(dir)?;
    }
    // The clerk's sheet names first, so they keep them (re-checking the copy names the same
    // sheets); then the sheets povcheck adds.
    let mut taken = HashSet::new();
    let names: Vec<String> = sheets
        .iter()
        .enumerate()
        .map(|(i, s)| unique_sheet_name(&s.name, &mut taken, i + 1))
        .collect();
    let count = sheets.len();
    let list_name = unique_sheet_name(t(lang, "问题清单", "Issues"), &mut taken, count + 1);
    let lists = code_lists(ctx);
    let code_sheet = unique_sheet_name(t(lang, "代码表", "Codes"), &mut taken, count + 2);
    issue_list(&mut wb, &list_name, &sheets, &names, ctx)?;
    // Side sheets go after every copied sheet, so the clerk's sheets keep their positions.
    let mut side: Vec<(String, &BTreeMap<u32, BTreeSet<String>>)> = Vec::new();
    let empty = SheetMarks::default();
    for (i, sheet) in sheets.iter_mut().enumerate() {
        let m = marks.get(i).unwrap_or(&empty);
        let name = &names[i];
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        let last_col = sheet
            .cells
            .iter()
            .map(|(_, c, _)| *c)
            .chain(m.cells.keys().map(|(_, c)| *c))
            .chain(sheet.layout.merges.iter().map(|m| m.end.1))
            .max();
        let codes_col = last_col.map_or(0, |c| c + 1);
        let inline_codes = codes_col <= MAX_COL;
        apply_layout(ws, sheet, last_col)?;
        if let Some(table) = ctx.tables.iter().find(|t| t.sheet == sheet.source_name) {
            add_dropdowns(ws, sheet, table, &lists, &code_sheet, lang)?;
        }
        write_sheet(ws, sheet, m, inline_codes.then_some(codes_col), lang)?;
        if !inline_codes && !m.rows.is_empty() {
            side.push((name.clone(), &m.rows));
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
        let side_name = unique_sheet_name(&side_name, &mut taken, count + 3 + i);
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
    if !lists.sheet.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name(&code_sheet)?;
        for (c, (field, codes)) in lists.sheet.iter().enumerate() {
            let c = col16(c as u32);
            // Not the bare field name: re-checking the copy must not take this row for a header.
            let head = match lang {
                Lang::Zh => format!("{field}（代码）"),
                Lang::En => format!("{field} (codes)"),
            };
            ws.write_string(0, c, head)?;
            for (k, code) in codes.iter().enumerate() {
                ws.write_string(u32::try_from(k + 1).unwrap_or(MAX_ROW), c, code)?;
            }
            ws.set_column_width(c, 16)?;
        }
        ws.set_hidden(true);
    }
    Ok(wb)
}

/// Widths, hidden columns and rows, custom heights, frozen panes and the hidden state of the
/// input sheet. Row options are set before any cell: a constant-memory sheet writes a row's
/// options when it leaves the row.
fn apply_layout(
    ws: &mut Worksheet,
    sheet: &SheetCopy,
    last_col: Option<u32>,
) -> Result<(), XlsxError> {
    let layout = &sheet.layout;
    // A <col> range may run to XFD for a style; the copy needs the columns it uses.
    let limit = last_col.map_or(0, |c| c + 1).min(MAX_COL);
    for spec in &layout.columns {
        for c in spec.first..=spec.last.min(limit) {
            if let Some(w) = spec.width {
                // The file stores widths in character units, padding included: as pixels it
                // round-trips exactly.
                ws.set_column_width_pixels(col16(c), (w * 7.0).round() as u32)?;
            }
            if spec.hidden {
                ws.set_column_hidden(col16(c))?;
            }
        }
    }
    for r in &layout.rows {
        if r.row > MAX_ROW {
            continue;
        }
        if let Some(h) = r.height {
            ws.set_row_height(r.row, h)?;
        }
        if r.hidden {
            ws.set_row_hidden(r.row)?;
        }
    }
    if let Some((rows, cols)) = layout.freeze
        && rows <= MAX_ROW
        && cols <= MAX_COL
    {
        ws.set_freeze_panes(rows, col16(cols))?;
    }
    if layout.hidden {
        ws.set_hidden(true);
    }
    Ok(())
}

/// A dropdown on every data row of each code column of the table.
fn add_dropdowns(
    ws: &mut Worksheet,
    sheet: &SheetCopy,
    table: &Table,
    lists: &CodeLists,
    code_sheet: &str,
    lang: Lang,
) -> Result<(), XlsxError> {
    let rows: Vec<u32> = table
        .row_numbers()
        .iter()
        .filter_map(|n| sheet.row_of(n.saturating_sub(1)))
        .collect();
    let (Some(&first), Some(&last)) = (rows.iter().min(), rows.iter().max()) else {
        return Ok(());
    };
    let mut done = HashSet::new();
    for col in &table.columns {
        let Some(source) = col.field.as_deref().and_then(|f| lists.by_field.get(f)) else {
            continue;
        };
        let Ok(c) = u32::try_from(col.index) else {
            continue;
        };
        if c > MAX_COL || !done.insert(c) {
            continue;
        }
        let dv = validation(source, code_sheet, lang)?;
        ws.add_data_validation(first, col16(c), last, col16(c), &dv)?;
    }
    Ok(())
}

/// The first sheet: one row per finding, its cell a link to the flagged cell of the copy, with
/// an autofilter so the clerk walks the list instead of scrolling for colours.
fn issue_list(
    wb: &mut Workbook,
    name: &str,
    sheets: &[SheetCopy],
    names: &[String],
    ctx: &Context,
) -> Result<(), XlsxError> {
    let lang = ctx.lang;
    let ws = wb.add_worksheet_with_constant_memory()?;
    ws.set_name(name)?;
    // None of these is a field name or alias: re-checking the copy must not read this sheet.
    let head: [&str; 10] = match lang {
        Lang::Zh => [
            "级别",
            "规则",
            "问题",
            "提示",
            "位置",
            "工作表",
            "原表行号",
            "列",
            "值",
            "文件",
        ],
        Lang::En => [
            "Severity",
            "Rule",
            "Problem",
            "Hint",
            "Location",
            "Sheet",
            "Input row",
            "Column",
            "Value",
            "File",
        ],
    };
    let bold = Format::new().set_bold().set_text_wrap();
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, col16(c as u32), *h, &bold)?;
    }
    let widths = [6.0, 7.0, 48.0, 30.0, 16.0, 12.0, 9.0, 14.0, 22.0, 24.0];
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(col16(c as u32), *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    // Printed as a work list: landscape, one page wide, the header on every page.
    ws.set_landscape().set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0)?;
    let link_fmt = Format::new()
        .set_font_color(Color::Blue)
        .set_underline(rust_xlsxwriter::FormatUnderline::Single);
    // Long messages and hints wrap in their column instead of running over the location.
    let wrap = Format::new()
        .set_text_wrap()
        .set_align(rust_xlsxwriter::FormatAlign::Top);
    let mut row = 0u32;
    let mut links = 0usize;
    for f in ctx.findings {
        if row >= MAX_ROW {
            break;
        }
        row += 1;
        ws.write_string(row, 0, severity_label(f.severity, lang))?;
        ws.write_string(row, 1, &f.rule)?;
        ws.write_string_with_format(row, 2, clip(&f.message, MAX_CELL_UNITS), &wrap)?;
        ws.write_string_with_format(row, 3, clip(&f.hint, MAX_CELL_UNITS), &wrap)?;
        let target = sheets
            .iter()
            .position(|s| s.source_name == f.sheet)
            .zip(f.row)
            .and_then(|(i, r)| {
                let new = sheets[i].row_of(r.saturating_sub(1))?;
                let c = f.col_indices.first().copied().unwrap_or(0);
                Some((names[i].as_str(), a1(c.min(MAX_COL as usize), new + 1)))
            });
        if let Some((sheet, cell)) = target {
            let text = format!("{sheet}!{cell}");
            // Excel keeps at most 65,530 links per sheet; the rest are plain text.
            if links < MAX_LINKS {
                let url = Url::new(format!("internal:{}!{cell}", quote_sheet_name(sheet)))
                    .set_text(&text);
                ws.write_url_with_format(row, 4, url, &link_fmt)?;
                links += 1;
            } else {
                ws.write_string(row, 4, &text)?;
            }
        }
        if let Some(s) = f.sheet.as_deref() {
            ws.write_string(row, 5, s)?;
        }
        if let Some(r) = f.row {
            ws.write_number(row, 6, f64::from(r))?;
        }
        if let Some(h) = f.header.as_deref().or(f.column.as_deref()) {
            ws.write_string(row, 7, h)?;
        }
        if let Some(v) = f.value.as_deref() {
            ws.write_string(row, 8, clip(v, MAX_CELL_UNITS))?;
        }
        ws.write_string(row, 9, &f.file)?;
    }
    ws.autofilter(0, 0, row, col16(head.len() as u32 - 1))?;
    ws.set_active(true);
    Ok(())
}

/// Excel's limit on hyperlinks in one worksheet.
const MAX_LINKS: usize = 65_530;

fn codes_text(codes: &BTreeSet<String>) -> String {
    codes.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Every cell, marked cell, merged range and codes cell in (row, column) order: constant-memory
/// sheets drop anything written to a row already passed.
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
    let mut merges = std::mem::take(&mut sheet.layout.merges);
    merges.sort_by_key(|m| (m.start.0, m.start.1));
    let fmt_of = |r: u32, c: u32, v: &Val| {
        let kind = match v {
            Val::Date(_, k) => Some(*k),
            _ => None,
        };
        let sev = m.cells.get(&(r, c)).and_then(|x| x.0);
        cell_format(kind, sev, m.header_row == Some(r))
    };
    let mut next_merge = 0;
    // A merge is laid down when the first cell at or after its top row comes, before that
    // cell: its top-left value is then written over the merge's own (empty) one.
    let lay_merges = |ws: &mut Worksheet, upto: u32, next: &mut usize| {
        while let Some(mg) = merges.get(*next).filter(|mg| mg.start.0 <= upto) {
            *next += 1;
            let (r0, c0) = mg.start;
            if mg.end.0 > MAX_ROW || mg.end.1 > MAX_COL || mg.start == mg.end {
                continue;
            }
            let top = events
                .binary_search_by_key(&(r0, c0), |(r, c, _)| (*r, *c))
                .ok()
                .map(|k| &events[k].2);
            let fmt = fmt_of(r0, c0, top.unwrap_or(&Val::Blank)).unwrap_or_default();
            // An overlapping range (a broken file) is left unmerged rather than failing the copy.
            let _ = ws.merge_range(r0, col16(c0), mg.end.0, col16(mg.end.1), "", &fmt);
        }
    };
    for (r, c, v) in &events {
        lay_merges(ws, *r, &mut next_merge);
        let fmt = fmt_of(*r, *c, v);
        write_val(ws, *r, col16(*c), v, fmt.as_ref())?;
    }
    lay_merges(ws, MAX_ROW, &mut next_merge);
    for ((r, c), (_, lines)) in &m.cells {
        let text = clip(&lines.join("\n\n"), MAX_NOTE_UNITS);
        let (width, height) = note_size(&text);
        let note = Note::new(text)
            .set_author("povcheck")
            .set_width(width)
            .set_height(height);
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

    /// A range crossing rows of two units: each packet keeps its own rows of it merged, with the
    /// top-left value on the first, and the title range stays where it was.
    #[test]
    fn subset_shrinks_ranges_to_their_kept_rows() {
        use crate::read::layout::Merge;
        let text = |s: &str| Val::Text(s.into());
        let sheet = SheetCopy {
            source_name: Some("花名册".into()),
            name: "花名册".into(),
            cells: vec![
                (0, 0, text("标题")),
                (1, 0, text("乡镇")),
                (1, 1, text("行政村")),
                (2, 0, text("湖光镇")),
                (2, 1, text("东村")),
                (3, 1, text("西村")),
                (4, 1, text("东村")),
                (5, 1, text("东村")),
            ],
            problem: None,
            layout: SheetLayout {
                merges: vec![
                    Merge {
                        start: (0, 0),
                        end: (0, 1),
                    },
                    Merge {
                        start: (2, 0),
                        end: (5, 0),
                    },
                ],
                ..SheetLayout::default()
            },
            rows: None,
        };
        let sheets = [sheet];
        // 东村: rows 2, 4, 5 (0-based), title and header kept.
        let east = subset(&sheets, |_| true, |_, r| r != 3);
        let e = &east[0];
        assert_eq!(e.rows.as_deref(), Some(&[0, 1, 2, 4, 5][..]));
        let spans: Vec<_> = e.layout.merges.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(spans, [((0, 0), (0, 1)), ((2, 0), (4, 0))]);
        assert_eq!(e.row_of(4), Some(3));
        assert_eq!(e.row_of(3), None);
        // 西村: row 3 only; the township's value moves down to it, no one-cell range.
        let west = subset(&sheets, |_| true, |_, r| r < 2 || r == 3);
        let w = &west[0];
        assert!(w.cells.contains(&(2, 0, text("湖光镇"))), "{:?}", w.cells);
        assert!(w.cells.contains(&(2, 1, text("西村"))));
        let spans: Vec<_> = w.layout.merges.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(spans, [((0, 0), (0, 1))]);
    }

    #[test]
    fn note_boxes_fit_their_text() {
        let (w, h) = note_size("V101 错误：必填");
        assert_eq!((w, h), (180, 40));
        let long = format!("{}\n{}", "证".repeat(100), "x");
        let (w, h) = note_size(&long);
        assert_eq!(w, 480);
        // 200 columns at 66 a line is 4 lines, plus the short one: 5 lines of 16 px and padding.
        assert_eq!(h, 5 * 16 + 16);
        let (_, tall) = note_size(&"行\n".repeat(500));
        assert_eq!(tall, 1200);
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
