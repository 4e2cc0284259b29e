//! The config step, tried through the binary: every argument is validated before any side
//! effect, and its errors speak the run's language.

#[path = "cli/common.rs"]
mod common;

use std::path::Path;

use common::*;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn sample_into(dir: &Path) -> String {
    std::fs::copy(repo("samples/sample.csv"), dir.join("sample.csv")).expect("copy sample");
    "sample.csv".to_string()
}

/// Nothing in `dir` but the input.
fn only_input(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_bad_argument_leaves_no_ledger_and_no_report_behind() {
    let d = tmp();
    let f = sample_into(d.path());
    let cases: &[&[&str]] = &[
        &["--as-of", "2017-13-45"],
        &["--format", "xlsx"],
        &["--select", "Q9"],
        &["--schema", "missing.toml"],
        &["--exclude-list", "missing.csv"],
    ];
    for extra in cases {
        let mut args = vec![
            "check",
            f.as_str(),
            "--record",
            "2017-12",
            "--ledger",
            "x.sqlite",
            "--output",
            "report.json",
        ];
        args.extend_from_slice(extra);
        // --format xlsx is only wrong without --output.
        if extra.contains(&"xlsx") {
            args.retain(|a| *a != "--output" && *a != "report.json");
        }
        let r = povcheck(d.path(), &args);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert_eq!(
            only_input(d.path()),
            ["sample.csv"],
            "{extra:?} left a file behind: {}",
            r.stderr
        );
    }
    // The same run with good arguments does create both.
    let r = povcheck(
        d.path(),
        &[
            "check",
            &f,
            "--record",
            "2017-12",
            "--ledger",
            "x.sqlite",
            "--output",
            "report.json",
            "--format",
            "json",
            "--as-of",
            "2017-12-31",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        only_input(d.path()),
        ["report.json", "sample.csv", "x.sqlite"]
    );
}

#[test]
fn usage_errors_are_chinese_by_default_and_english_with_lang_en() {
    let d = tmp();
    let f = sample_into(d.path());
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--as-of", "2017-13-45"],
            "日期 2017-13-45 无法识别",
            "date 2017-13-45 not recognised",
        ),
        (&["--format", "xlsx"], "需要 --output", "needs --output"),
        (
            &["--select", "Q9"],
            "没有这个规则代码",
            "no rule has this code",
        ),
        (
            &["--output", "sample.csv"],
            "覆盖原始数据",
            "overwrite the data",
        ),
        (
            &["--record", "2017-13"],
            "无法识别",
            "period \"2017-13\" not recognised",
        ),
    ];
    for (extra, zh, en) in cases {
        let mut args = vec!["check", f.as_str()];
        args.extend_from_slice(extra);
        let r = povcheck(d.path(), &args);
        assert_eq!(r.code, 2, "{extra:?}");
        assert!(r.stderr.contains(zh), "{extra:?}: {}", r.stderr);
        args.extend_from_slice(&["--lang", "en"]);
        let r = povcheck(d.path(), &args);
        assert_eq!(r.code, 2, "{extra:?}");
        assert!(r.stderr.contains(en), "{extra:?}: {}", r.stderr);
        assert!(
            !r.stderr
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{extra:?}: Chinese in an English message: {}",
            r.stderr
        );
    }
    let r = povcheck(d.path(), &["rule", "L1O1", "--lang", "en"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no rule L1O1") && r.stderr.contains("did you mean"),
        "{}",
        r.stderr
    );
}

#[test]
fn ledger_errors_follow_lang_too() {
    let d = tmp();
    let f = sample_into(d.path());
    std::fs::write(d.path().join("notes.txt"), "not a database, just notes\n").expect("write");
    let args = ["check", f.as_str(), "--ledger", "notes.txt"];
    let r = povcheck(d.path(), &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("不是 povcheck 台账文件"), "{}", r.stderr);
    let mut en = args.to_vec();
    en.extend_from_slice(&["--lang", "en"]);
    let r = povcheck(d.path(), &en);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a povcheck ledger"), "{}", r.stderr);
    assert!(
        r.stderr.contains("povcheck::ledger::not_a_ledger"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "Chinese in an English message: {}",
        r.stderr
    );
}
