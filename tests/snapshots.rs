//! Snapshots of every writer's output, produced by the binary on the shared sample run
//! (samples/sample.csv, `--as-of 2017-12-31`): the findings report in every `--format`, the
//! ledger history in every format, and the rule catalogue. The .snap files under
//! tests/snapshots/ are the reviewed specification of each output; a change shows as a diff.
//!
//! Formats come from clap's own lists (`value_variants`), so a new format gets a snapshot of
//! its own without this file changing. A workbook is snapshotted as its cells read back with
//! calamine, not as zip bytes; a BOM and carriage returns are shown as visible marks.
//!
//! A mismatch, or a snapshot with no .snap file yet, fails `cargo test`: insta runs with
//! INSTA_UPDATE=no when CI is set (CI's .ci/run sets CI=true) and never passes a changed
//! assertion locally either; it only leaves a .snap.new to review with `cargo insta review`
//! (or rename by hand after reading it).

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::ValueEnum;
use povcheck::cli::RulesFormat;
use povcheck::report::Format;
use povcheck::report::history::HistoryFormat;

const AS_OF: &str = "2017-12-31";

fn povcheck(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(args)
        .current_dir(dir)
        .env_remove("POVCHECK_LEDGER")
        .env("NO_COLOR", "1")
        .output()
        .expect("spawn povcheck")
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A temp dir holding the shared samples under their own names, so every path a report
/// prints is the bare file name.
fn workspace() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    for name in ["sample.csv", "all-kinds.csv"] {
        std::fs::copy(sample(name), d.path().join(name)).expect("copy sample");
    }
    d
}

/// The name clap accepts for a value (`ndjson`, `xlsx`, `md`).
fn name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .expect("a visible value")
        .get_name()
        .to_string()
}

/// An output as reviewable text: a workbook (a zip) as its sheets' cells, one row a line with
/// cells between `|` and non-text cells shown with their type; text with a BOM mark and
/// carriage returns made visible, since a snapshot file would hide both.
fn readable(bytes: Vec<u8>) -> String {
    if bytes.starts_with(b"PK") {
        return workbook_dump(bytes);
    }
    let s = String::from_utf8(bytes).expect("a text output is UTF-8");
    let (bom, body) = match s.strip_prefix('\u{feff}') {
        Some(rest) => ("<BOM>", rest),
        None => ("", s.as_str()),
    };
    format!("{bom}{}", body.replace('\r', "<CR>"))
}

fn workbook_dump(bytes: Vec<u8>) -> String {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let mut book: Xlsx<_> =
        open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a zip output is a workbook");
    let mut out = String::new();
    for sheet in book.sheet_names() {
        let range = book.worksheet_range(&sheet).expect("sheet");
        let (h, w) = range.get_size();
        out.push_str(&format!("== sheet {sheet} ({h}×{w})\n"));
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Data::String(s) => s.replace('\r', "<CR>").replace('\n', "<LF>"),
                    Data::Empty => String::new(),
                    other => format!("{other:?}"),
                })
                .collect();
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out
}

/// The findings report of the sample run in every format the CLI offers.
#[test]
fn check_in_every_format() {
    let d = workspace();
    for format in Format::value_variants() {
        let f = name(format);
        let out = format!("report.{f}");
        let r = povcheck(
            d.path(),
            &[
                "check",
                "sample.csv",
                "--as-of",
                AS_OF,
                "--format",
                &f,
                "-o",
                &out,
            ],
        );
        assert_eq!(
            r.status.code(),
            Some(1),
            "{f}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let bytes = std::fs::read(d.path().join(&out)).expect("report written");
        insta::assert_snapshot!(format!("check_{f}"), readable(bytes));
    }
}

/// The English terminal report: every label of the default format in its second language.
#[test]
fn check_terminal_in_english() {
    let d = workspace();
    let r = povcheck(
        d.path(),
        &["check", "sample.csv", "--as-of", AS_OF, "--lang", "en"],
    );
    assert_eq!(r.status.code(), Some(1));
    insta::assert_snapshot!("check_terminal_en", readable(r.stdout));
}

/// `history` in every format on a ledger of three recorded rounds: the sample twice (a
/// streak) and all-kinds.csv in the second period.
#[test]
fn history_in_every_format() {
    let d = workspace();
    for (file, period) in [
        ("sample.csv", "2017-11"),
        ("sample.csv", "2017-12"),
        ("all-kinds.csv", "2017-12"),
    ] {
        let r = povcheck(
            d.path(),
            &[
                "check",
                file,
                "--as-of",
                AS_OF,
                "--record",
                period,
                "--ledger",
                "L.sqlite",
                "--format",
                "json",
                "-o",
                "round.json",
            ],
        );
        assert!(r.status.code() == Some(1), "{file} {period}: {r:?}");
    }
    for format in HistoryFormat::value_variants() {
        let f = name(format);
        let out = format!("history.{f}");
        let r = povcheck(
            d.path(),
            &[
                "history", "--ledger", "L.sqlite", "--format", &f, "-o", &out,
            ],
        );
        assert!(r.status.success(), "{f}: {r:?}");
        let bytes = std::fs::read(d.path().join(&out)).expect("history written");
        insta::assert_snapshot!(format!("history_{f}"), readable(bytes));
    }
    let r = povcheck(
        d.path(),
        &["history", "--ledger", "L.sqlite", "--lang", "en"],
    );
    assert!(r.status.success());
    insta::assert_snapshot!("history_terminal_en", readable(r.stdout));
}

/// The rule catalogue in one snapshot, every `rules` format and `rule L302` in both languages:
/// one file, because every new rule changes it and it is re-accepted as a whole.
#[test]
fn catalogue_in_every_format() {
    let d = workspace();
    let mut all = String::new();
    let mut section = |title: String, args: &[&str]| {
        let r = povcheck(d.path(), args);
        assert!(r.status.success(), "{title}: {r:?}");
        all.push_str(&format!("===== {title}\n"));
        all.push_str(&readable(r.stdout));
    };
    for format in RulesFormat::value_variants() {
        let f = name(format);
        section(
            format!("povcheck rules --format {f}"),
            &["rules", "--format", &f],
        );
    }
    section(
        "povcheck rules --lang en".into(),
        &["rules", "--lang", "en"],
    );
    for lang in ["zh", "en"] {
        section(
            format!("povcheck rule L302 --lang {lang}"),
            &["rule", "L302", "--lang", lang],
        );
    }
    insta::assert_snapshot!("catalogue", all);
}
