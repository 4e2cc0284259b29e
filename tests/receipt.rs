//! `check --receipt` and `verify-receipt` through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(args)
        .output()
        .expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn sample(dir: &Path, name: &str, error_rate: &str, seed: &str) -> PathBuf {
    let out = dir.join(name);
    let o = run(&[
        "sample",
        "--rows",
        "60",
        "--error-rate",
        error_rate,
        "--seed",
        seed,
        "-o",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn check_with_receipt(files: &[&Path], receipt: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check"];
    args.extend(files.iter().map(|p| s(p)));
    args.extend([
        "--receipt",
        s(receipt),
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    args.extend(extra);
    run(&args)
}

fn verify(receipt: &Path, files: &[&Path], lang: &str) -> Output {
    let mut args = vec!["verify-receipt", s(receipt)];
    args.extend(files.iter().map(|p| s(p)));
    args.extend(["--lang", lang]);
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_clean_run_is_verified_and_a_changed_byte_is_not() {
    let tmp = tempfile::tempdir().expect("tmp");
    // Two files of one clean export, split between households (two samples would repeat each
    // other's household numbers).
    let whole = sample(tmp.path(), "whole.csv", "0", "1");
    let text = std::fs::read_to_string(&whole).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("证件号码"))
        .expect("header line");
    let household = |l: &str| l.split(',').nth(5).unwrap_or("").to_string();
    let mid = (lines.len() / 2..lines.len())
        .find(|&i| household(lines[i]) != household(lines[i - 1]))
        .expect("a household boundary");
    let a = tmp.path().join("a.csv");
    let b = tmp.path().join("b.csv");
    let part = |rows: &[&str]| format!("{}\n{}\n", lines[..=head].join("\n"), rows.join("\n"));
    std::fs::write(&a, part(&lines[head + 1..mid])).expect("a");
    std::fs::write(&b, part(&lines[mid..])).expect("b");
    let receipt = tmp.path().join("r.json");
    let o = check_with_receipt(&[&a, &b], &receipt, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let r: Value =
        serde_json::from_slice(&std::fs::read(&receipt).expect("receipt")).expect("json");
    assert_eq!(r["format"], "povcheck-receipt/1");
    assert_eq!(r["passed"], true, "{r}");
    assert_eq!(r["inputs"].as_array().expect("inputs").len(), 2);
    assert_eq!(r["inputs"][0]["sha256"].as_str().expect("sha").len(), 64);
    assert_eq!(r["schema"]["sha256"].as_str().expect("sha").len(), 64);
    assert_eq!(r["counts"]["errors"], 0);

    // The same files, in any order and under other names, pass.
    let renamed = tmp.path().join("上传.csv");
    std::fs::copy(&a, &renamed).expect("copy");
    let o = verify(&receipt, &[&b, &renamed], "zh");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("检查通过"));

    // One byte changed.
    let mut bytes = std::fs::read(&a).expect("a");
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'1' { b'2' } else { b'1' };
    std::fs::write(&renamed, &bytes).expect("write");
    let o = verify(&receipt, &[&b, &renamed], "en");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not the files that run checked"),
        "{}",
        stderr(&o)
    );

    // A file missing from the set, or one too many.
    let o = verify(&receipt, &[&b], "zh");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("缺少"), "{}", stderr(&o));
    let o = verify(&receipt, &[&a, &b, &renamed], "zh");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_edited_truncated_or_missing_receipt_fails() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = sample(tmp.path(), "a.csv", "0", "3");
    let receipt = tmp.path().join("r.json");
    let o = check_with_receipt(&[&a], &receipt, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&receipt).expect("receipt");

    // Truncated.
    let cut = tmp.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).expect("write");
    let o = verify(&cut, &[&a], "zh");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("损坏"), "{}", stderr(&o));

    // Edited by hand: the warnings count changed, digest left alone.
    let mut r: Value = serde_json::from_str(&text).expect("json");
    r["counts"]["warnings"] = Value::from(r["counts"]["warnings"].as_u64().unwrap_or(0) + 1);
    let edited = tmp.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_string(&r).expect("json")).expect("write");
    let o = verify(&edited, &[&a], "en");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("digest"), "{}", stderr(&o));

    // Not there at all: exit 2.
    let o = verify(&tmp.path().join("none.json"), &[&a], "zh");
    assert_eq!(o.status.code(), Some(2));

    // The untouched receipt still passes: the failures above are the edits'.
    assert_eq!(verify(&receipt, &[&a], "zh").status.code(), Some(0));
}

#[test]
fn a_run_with_errors_or_only_some_rules_does_not_pass() {
    let tmp = tempfile::tempdir().expect("tmp");
    let bad = sample(tmp.path(), "bad.csv", "0.5", "4");
    let receipt = tmp.path().join("r.json");
    let o = check_with_receipt(&[&bad], &receipt, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&std::fs::read(&receipt).expect("r")).expect("json");
    assert_eq!(r["passed"], false);
    assert!(r["counts"]["errors"].as_u64().expect("errors") > 0);
    let o = verify(&receipt, &[&bad], "zh");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("个错误"), "{}", stderr(&o));

    // The same file checked for one rule only finds nothing, but vouches for nothing either.
    let partial = tmp.path().join("partial.json");
    let o = check_with_receipt(&[&bad], &partial, &["--select", "V501"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = verify(&partial, &[&bad], "en");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("only some rules"), "{}", stderr(&o));
}

#[test]
fn the_receipt_may_not_replace_an_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = sample(tmp.path(), "a.csv", "0", "5");
    let before = std::fs::read(&a).expect("a");
    let o = check_with_receipt(&[&a], &a, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&a).expect("a"), before);
}

/// The checked file given twice is refused, and the message says it is repeated rather than
/// that its bytes differ (they do not: the clerk would look for an edit that is not there).
#[test]
fn a_checked_file_given_twice_is_named_as_repeated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let a = sample(tmp.path(), "a.csv", "0", "5");
    let receipt = tmp.path().join("r.json");
    let o = check_with_receipt(&[&a], &receipt, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(verify(&receipt, &[&a], "zh").status.code(), Some(0));
    let copy = tmp.path().join("copy.csv");
    std::fs::copy(&a, &copy).expect("copy");
    let v = verify(&receipt, &[&a, &copy], "zh");
    assert_eq!(v.status.code(), Some(1));
    let err = stderr(&v);
    assert!(err.contains("重复") && err.contains("copy.csv"), "{err}");
    assert!(!err.contains("内容不同"), "{err}");
    let v = verify(&receipt, &[&a, &a], "en");
    assert_eq!(v.status.code(), Some(1));
    assert!(stderr(&v).contains("given twice"), "{}", stderr(&v));
}
