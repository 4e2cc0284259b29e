//! `povcheck fix`: a corrected copy of each input with only the fixes that have exactly one right
//! answer (docs/fix.md), and a change log.
//!
//! The inputs are read and checked as `check` would (for V106, V107, V602 and V201 only); each
//! flagged cell gets [`value::correct`], which uses the checks' own normalisers, so re-checking
//! the copy finds those findings gone and nothing new. The copy is the input edited in place:
//! xlsx through umya-spreadsheet (styles, merges, widths, formulas and other sheets kept), CSV
//! by splicing the changed fields' bytes (encoding, BOM, delimiter, quoting and line ends kept).

mod csv;
pub mod value;
mod xlsx;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::{self, CheckOptions};
use crate::config;
use crate::finding::{Lang, a1};
use crate::read::{self, HeaderMatcher, ReadOptions, Table};
use crate::report::mask;
use crate::schema::Schema;
use crate::types::{self, FieldType};

/// The rules whose findings may have exactly one right answer.
pub const FIXABLE: [&str; 4] = ["V106", "V107", "V602", "V201"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Terminal,
    Json,
}

/// `povcheck fix` as the command line gave it.
#[derive(Debug, Clone)]
pub struct FixOptions {
    pub files: Vec<PathBuf>,
    /// Where the copies go; None only with `dry_run`.
    pub output_dir: Option<PathBuf>,
    pub dry_run: bool,
    pub format: LogFormat,
    /// The change log goes here instead of standard output.
    pub log: Option<PathBuf>,
    pub schema: Option<PathBuf>,
    pub as_of: Option<String>,
    pub encoding: read::Encoding,
    /// Mask personal data in the change log.
    pub mask: bool,
    pub lang: Lang,
}

/// One change made (or, with `--dry-run`, to be made) to a copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub file: String,
    pub sheet: Option<String>,
    /// A1 address; for a CSV, column letter and line number.
    pub cell: String,
    pub column: String,
    /// Rule codes the change answers, e.g. `["V602", "V201"]`.
    pub rules: Vec<String>,
    pub before: String,
    pub after: String,
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// A corrected copy was written (or would be, with `--dry-run`).
    Fixed,
    /// Nothing had one right answer: the copy is the input's bytes unchanged.
    Unchanged,
    /// Not read or not written; `reason` says why.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub file: String,
    pub output: Option<String>,
    pub status: FileStatus,
    pub changes: usize,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct Log<'a> {
    files: &'a [FileResult],
    changes: &'a [Change],
}

/// Why a file was not fixed; the message is in the run's language.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(code(povcheck::fix))]
pub struct FixError(pub String);

/// One cell to change, found from a finding.
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub sheet: Option<String>,
    /// 1-based row (CSV: line) and 0-based column, as the finding gives them.
    pub row: u32,
    pub col: usize,
    pub field: String,
    pub before: String,
    pub after: String,
    pub rules: Vec<&'static str>,
}

fn t(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xlsx,
    Csv,
    /// xls, xlsb, ods: rewritten as xlsx.
    Other,
}

fn kind_of(path: &Path) -> Kind {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xlsx" | "xlsm") => Kind::Xlsx,
        Some("csv" | "txt" | "tsv") => Kind::Csv,
        _ => Kind::Other,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Run `povcheck fix`: the exit code (0 all fine, 2 some input not fixed) and diagnostics.
pub fn run(args: &FixOptions, stdout: &mut dyn Write) -> (i32, Vec<miette::Report>) {
    let lang = args.lang;
    let fail = |e: miette::Report| (2, vec![e]);
    let schema = match config::load_schema(args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(miette::Report::new(e)),
    };
    let as_of = match args.as_of.as_deref().or(schema.as_of.as_deref()) {
        Some(s) => match config::parse_date("--as-of", s, lang) {
            Ok(d) => d,
            Err(e) => return fail(miette::Report::new(e)),
        },
        None => chrono::Local::now().date_naive(),
    };
    if let Some(log) = &args.log
        && let Some(input) = args.files.iter().find(|f| same_file(f, log))
    {
        return fail(miette::Report::new(FixError(match lang {
            Lang::Zh => format!("--log 不能是输入文件 {}", input.display()),
            Lang::En => format!("--log must not be the input {}", input.display()),
        })));
    }
    let dir = if args.dry_run {
        None
    } else {
        let Some(dir) = args.output_dir.clone() else {
            return fail(miette::Report::new(FixError(t(
                lang,
                "请用 -o DIR 指定改正副本的目录",
                "give the directory for the corrected copies with -o DIR",
            ))));
        };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return fail(miette::Report::new(FixError(format!(
                "{}: {}{e}",
                dir.display(),
                t(lang, "无法创建目录：", "cannot create the directory: ")
            ))));
        }
        Some(dir)
    };
    let encoding = args.encoding;
    let opts = ReadOptions {
        encoding,
        ..ReadOptions::default()
    };

    let mut diagnostics = Vec::new();
    let mut results: Vec<FileResult> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut taken: BTreeSet<PathBuf> = BTreeSet::new();
    let matcher = HeaderMatcher::from_schema(&schema);
    for path in &args.files {
        let display = path.display().to_string();
        let failed = |reason: String| FileResult {
            file: display.clone(),
            output: None,
            status: FileStatus::Failed,
            changes: 0,
            reason: Some(reason),
        };
        let kind = kind_of(path);
        let fr = read::read_file(path, &display, &opts, &matcher);
        // A sheet without a header (a cover sheet, notes) is not an error for fixing; a file
        // that could not be opened or decoded is.
        let fatal: Vec<&read::Error> = fr
            .errors
            .iter()
            .filter(|e| matches!(e, read::Error::Open { .. } | read::Error::Format { .. }))
            .collect();
        if !fatal.is_empty() || (fr.tables.is_empty() && !fr.errors.is_empty()) {
            let reason = fr
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            let msg = match lang {
                Lang::Zh => format!("{display}: 无法读取，未改正（{reason}）"),
                Lang::En => format!("{display}: cannot be read, not fixed ({reason})"),
            };
            diagnostics.push(miette::Report::new(FixError(msg)));
            results.push(failed(reason));
            continue;
        }
        let edits = edits_for(&fr.tables, &schema, as_of, lang);
        // Where the copy goes: the input's own name in DIR (xlsx for a fixed xls/ods; an
        // unchanged one keeps its bytes and so its extension), never an input
        // and never anywhere but DIR.
        let dest = match &dir {
            None => None,
            Some(dir) => match destination(
                dir,
                path,
                kind == Kind::Other && !edits.is_empty(),
                &args.files,
                &taken,
                lang,
            ) {
                Ok(d) => {
                    taken.insert(d.clone());
                    Some(d)
                }
                Err(reason) => {
                    diagnostics.push(miette::Report::new(FixError(format!(
                        "{display}: {reason}"
                    ))));
                    results.push(failed(reason));
                    continue;
                }
            },
        };
        let outcome = if edits.is_empty() {
            // Nothing to fix: the copy is the input's bytes, so DIR holds the whole set a
            // clerk sends back, and nothing was rewritten.
            match &dest {
                Some(d) => copy_unchanged(path, d, lang).map(|()| Vec::new()),
                None => Ok(Vec::new()),
            }
        } else {
            match kind {
                Kind::Xlsx => xlsx::apply(path, dest.as_deref(), &display, &edits, lang),
                Kind::Csv => csv::apply(path, dest.as_deref(), &display, &edits, encoding, lang),
                Kind::Other => {
                    xlsx::convert_and_apply(path, dest.as_deref(), &display, &edits, lang)
                }
            }
        };
        match outcome {
            Ok(mut applied) => {
                results.push(FileResult {
                    file: display.clone(),
                    output: dest.as_ref().map(|d| d.display().to_string()),
                    status: if applied.is_empty() {
                        FileStatus::Unchanged
                    } else {
                        FileStatus::Fixed
                    },
                    changes: applied.len(),
                    reason: None,
                });
                changes.append(&mut applied);
            }
            Err(reason) => {
                diagnostics.push(miette::Report::new(FixError(format!(
                    "{display}: {reason}"
                ))));
                results.push(failed(reason));
            }
        }
    }
    if args.mask {
        for c in &mut changes {
            let kind = match schema.field(&c.column).map(|f| f.ty) {
                Some(FieldType::IdNumber) => "id",
                Some(FieldType::Phone) => "phone",
                Some(FieldType::BankCard) => "card",
                Some(FieldType::Name) => "name",
                _ => "",
            };
            for v in [&mut c.before, &mut c.after] {
                *v = if kind.is_empty() {
                    mask::mask_text(v)
                } else {
                    mask::mask_value(kind, v)
                };
            }
        }
    }
    let written = match &args.log {
        Some(p) => std::fs::File::create(p).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            write_log(&mut w, args.format, &results, &changes, args.dry_run, lang)?;
            w.flush()
        }),
        None => write_log(stdout, args.format, &results, &changes, args.dry_run, lang),
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        diagnostics.push(miette::Report::new(FixError(format!(
            "{}{e}",
            t(lang, "修改记录无法写出：", "cannot write the change log: ")
        ))));
    }
    let code = if diagnostics.is_empty() { 0 } else { 2 };
    (code, diagnostics)
}

/// The copy's path in `dir`, or why there is none.
fn destination(
    dir: &Path,
    input: &Path,
    as_xlsx: bool,
    inputs: &[PathBuf],
    taken: &BTreeSet<PathBuf>,
    lang: Lang,
) -> Result<PathBuf, String> {
    let Some(name) = input.file_name() else {
        return Err(t(lang, "不是文件名", "not a file name"));
    };
    let mut dest = dir.join(name);
    if as_xlsx {
        dest.set_extension("xlsx");
    }
    if inputs.iter().any(|i| same_file(i, &dest)) {
        return Err(t(
            lang,
            "改正副本会覆盖输入文件，已拒绝；请用另一个 -o 目录",
            "the copy would overwrite an input; refused — use another -o directory",
        ));
    }
    if taken.contains(&dest) {
        return Err(t(
            lang,
            "与另一个输入同名，副本会互相覆盖，已拒绝",
            "has the same name as another input; the copies would overwrite each other",
        ));
    }
    // A link already at the destination could send the write outside DIR.
    if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(t(
            lang,
            "目标位置是一个链接，可能写到目录之外，已拒绝",
            "the destination is a link that could write outside the directory; refused",
        ));
    }
    Ok(dest)
}

fn copy_unchanged(from: &Path, to: &Path, lang: Lang) -> Result<(), String> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| {
        format!(
            "{}{e}",
            t(lang, "副本无法写出：", "the copy cannot be written: ")
        )
    })
}

/// Write `bytes` to `dest` through a temporary file in the same directory, so a failed write
/// never leaves half a copy under the real name.
pub(crate) fn write_atomically(
    dest: &Path,
    lang: Lang,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let tmp = dest.with_file_name(format!(
        ".{}.povcheck-tmp",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("copy")
    ));
    let r = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, dest).map_err(|e| {
            format!(
                "{}{e}",
                t(lang, "副本无法写出：", "the copy cannot be written: ")
            )
        })
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The cells to change: every cell a fixable finding points at whose value has exactly one
/// right answer.
fn edits_for(tables: &[Table], schema: &Schema, as_of: chrono::NaiveDate, lang: Lang) -> Vec<Edit> {
    let opts = CheckOptions {
        as_of,
        lang,
        select: FIXABLE.iter().map(|s| s.to_string()).collect(),
        ignore: Vec::new(),
        exclusions: Vec::new(),
    };
    let result = check::check(tables, schema, &opts);
    let mut flagged: BTreeSet<(usize, u32, usize)> = BTreeSet::new();
    for f in &result.findings {
        if !FIXABLE.contains(&f.rule.as_str()) {
            continue;
        }
        if let (Some(table), Some(row), Some(&col)) = (f.table, f.row, f.col_indices.first()) {
            flagged.insert((table, row, col));
        }
    }
    // The flagged texts per (table, column position). A household value is flagged once per
    // household, not on every member row that repeats it; correcting only that row would
    // split the household (L204), so every cell of the column holding the same text is
    // corrected alike — the correction depends on the text alone.
    let mut texts: BTreeMap<(usize, usize), BTreeSet<String>> = BTreeMap::new();
    let mut row_pos: BTreeMap<usize, std::collections::HashMap<u32, usize>> = BTreeMap::new();
    for (ti, row, col) in flagged {
        let Some(table) = tables.get(ti) else {
            continue;
        };
        let rows = row_pos.entry(ti).or_insert_with(|| {
            table
                .row_numbers()
                .iter()
                .enumerate()
                .map(|(i, &n)| (n, i))
                .collect()
        });
        let Some(&ri) = rows.get(&row) else {
            continue;
        };
        let Some(pos) = table.columns.iter().position(|c| c.index == col) else {
            continue;
        };
        if let Some(raw) = types::cell_text(table.cell(ri, pos)) {
            texts.entry((ti, pos)).or_default().insert(raw);
        }
    }
    let mut edits = Vec::new();
    for ((ti, pos), raws) in texts {
        let Some(table) = tables.get(ti) else {
            continue;
        };
        let column = &table.columns[pos];
        let Some(field) = column.field.as_deref().and_then(|name| schema.field(name)) else {
            continue;
        };
        for (ri, &row) in table.row_numbers().iter().enumerate() {
            let cell = table.cell(ri, pos);
            let Some(raw) = types::cell_text(cell) else {
                continue;
            };
            if !raws.contains(&raw) {
                continue;
            }
            if let Some(c) = value::correct(field, &raw, types::is_numeric(cell), as_of) {
                edits.push(Edit {
                    sheet: table.sheet.clone(),
                    row,
                    col: column.index,
                    field: field.name.clone(),
                    before: raw,
                    after: c.after,
                    rules: c.rules,
                });
            }
        }
    }
    edits
}

/// The log line's cell: `C7`.
pub(crate) fn change(display: &str, e: &Edit, col: usize, row: u32) -> Change {
    Change {
        file: display.to_string(),
        sheet: e.sheet.clone(),
        cell: a1(col, row),
        column: e.field.clone(),
        rules: e.rules.iter().map(|r| r.to_string()).collect(),
        before: e.before.clone(),
        after: e.after.clone(),
    }
}

/// Quote a value for the terminal log so surrounding and invisible white space shows.
fn shown(v: &str) -> String {
    format!("{v:?}")
}

fn write_log(
    out: &mut dyn Write,
    format: LogFormat,
    results: &[FileResult],
    changes: &[Change],
    dry_run: bool,
    lang: Lang,
) -> std::io::Result<()> {
    if format == LogFormat::Json {
        serde_json::to_writer_pretty(
            &mut *out,
            &Log {
                files: results,
                changes,
            },
        )
        .map_err(std::io::Error::other)?;
        return writeln!(out);
    }
    for c in changes {
        let place = match &c.sheet {
            Some(s) => format!("{} [{s}] {}", c.file, c.cell),
            None => format!("{} {}", c.file, c.cell),
        };
        writeln!(
            out,
            "{place}  {}  {}  {} → {}",
            c.column,
            c.rules.join("+"),
            shown(&c.before),
            shown(&c.after)
        )?;
    }
    for r in results {
        let line = match (lang, &r.status) {
            (Lang::Zh, FileStatus::Fixed) => format!(
                "{}: {}修改 {} 处{}",
                r.file,
                if dry_run { "将" } else { "已" },
                r.changes,
                r.output
                    .as_ref()
                    .map(|o| format!("，副本 {o}"))
                    .unwrap_or_default()
            ),
            (Lang::En, FileStatus::Fixed) => format!(
                "{}: {} {} change(s){}",
                r.file,
                if dry_run { "would make" } else { "made" },
                r.changes,
                r.output
                    .as_ref()
                    .map(|o| format!(", copy {o}"))
                    .unwrap_or_default()
            ),
            (Lang::Zh, FileStatus::Unchanged) => format!(
                "{}: 没有可以确定改正的问题{}",
                r.file,
                r.output
                    .as_ref()
                    .map(|o| format!("，原样复制到 {o}"))
                    .unwrap_or_default()
            ),
            (Lang::En, FileStatus::Unchanged) => format!(
                "{}: nothing with one right answer{}",
                r.file,
                r.output
                    .as_ref()
                    .map(|o| format!(", copied unchanged to {o}"))
                    .unwrap_or_default()
            ),
            (Lang::Zh, FileStatus::Failed) => format!("{}: 未改正", r.file),
            (Lang::En, FileStatus::Failed) => format!("{}: not fixed", r.file),
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}
