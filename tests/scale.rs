//! National scale (issue 16): a run over many files checks them one at a time and gives the
//! report a run holding every table gives; `check --keys-out` writes key tables without an ID
//! or phone number in them; `povcheck dataset` over the key tables of separately checked shards
//! finds exactly the cross-file findings (D101, D102, D103) of one `check` over all of them.

#[path = "cli/common.rs"]
mod common;
#[path = "scale/shards.rs"]
mod shards;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;
use shards::*;

#[test]
fn sharded_check_reports_what_a_whole_run_reports() {
    let d = tempfile::tempdir().expect("tempdir");
    let files = shards(d.path());
    // With --annotate every table is held to the end: the whole-run path.
    let whole = povcheck(
        d.path(),
        &args(
            &["check"],
            &files,
            &["--format", "json", "--annotate", "ann"],
        ),
    );
    let sharded = povcheck(d.path(), &args(&["check"], &files, &["--format", "json"]));
    assert_eq!(whole.code, 1, "{}", whole.stderr);
    assert_eq!(sharded.code, 1, "{}", sharded.stderr);
    let rules: BTreeSet<String> = d_findings(&json(&sharded))
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(
        rules,
        ["D101", "D102", "D103"].map(String::from).into(),
        "the shards carry every cross-file problem"
    );
    assert!(
        whole.stdout == sharded.stdout,
        "sharded JSON differs from the whole run's"
    );
    // English too: the messages of deferred rules are filled the same way.
    let whole = povcheck(
        d.path(),
        &args(
            &["check"],
            &files,
            &["--format", "json", "--lang", "en", "--annotate", "ann2"],
        ),
    );
    let sharded = povcheck(
        d.path(),
        &args(&["check"], &files, &["--format", "json", "--lang", "en"]),
    );
    assert!(whole.stdout == sharded.stdout, "en: sharded JSON differs");
    // The cross-file pass cut into many buckets (a national run's shape) finds the same.
    let bucketed = povcheck(
        d.path(),
        &args(
            &["check"],
            &files,
            &["--format", "json", "--lang", "en", "--buckets", "13"],
        ),
    );
    assert_eq!(bucketed.code, 1, "{}", bucketed.stderr);
    assert!(
        whole.stdout == bucketed.stdout,
        "sharded JSON in buckets differs"
    );
    // No temporary folder to be had: the key rows stay in memory, the report is the same.
    let no_tmp = ran(std::process::Command::new(bin())
        .args(args(
            &["check"],
            &files,
            &["--format", "json", "--lang", "en"],
        ))
        .current_dir(d.path())
        .env("TMPDIR", d.path().join("no such folder"))
        .env("NO_COLOR", "1")
        .output()
        .expect("spawn povcheck"));
    assert_eq!(no_tmp.code, 1, "{}", no_tmp.stderr);
    assert!(
        whole.stdout == no_tmp.stdout,
        "without TMPDIR: JSON differs"
    );
}

#[test]
fn dataset_over_key_tables_finds_the_d_findings_of_one_check() {
    let d = tempfile::tempdir().expect("tempdir");
    let files = shards(d.path());
    std::fs::write(d.path().join("k"), SECRET).expect("key");
    let whole = povcheck(d.path(), &args(&["check"], &files, &["--format", "json"]));
    let expected = d_findings(&json(&whole));
    assert!(expected.len() >= 3, "{expected:?}");
    // Each shard checked on its own, as a county would.
    for f in &files {
        let r = povcheck(
            d.path(),
            &["check", f, "--keys-out", "keys", "--key-file", "k", "-q"],
        );
        assert!(r.code <= 1, "{}", r.stderr);
    }
    let keys: Vec<PathBuf> = std::fs::read_dir(d.path().join("keys"))
        .expect("keys dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(keys.len(), files.len(), "{keys:?}");
    let r = povcheck(
        d.path(),
        &["dataset", "keys", "--engine", "local", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = json_doc(&r.stdout);
    let got = d_findings(&json(&r));
    assert_eq!(got, expected);
    // No number in the findings either: the ID and phone are not there to show.
    for f in &doc.findings {
        assert!(f.value.0.is_none(), "{:?}", f.value.0);
    }
    let text: String = r.stdout.clone();
    assert!(text.contains("不在键表中"), "{text}");
    // The same from one run writing every key table.
    let all = povcheck(
        d.path(),
        &args(
            &["check"],
            &files,
            &["--keys-out", "keys2", "--key-file", "k", "-q"],
        ),
    );
    assert_eq!(all.code, 1, "{}", all.stderr);
    let r = povcheck(
        d.path(),
        &["dataset", "keys2", "--format", "json", "--lang", "en"],
    );
    assert_eq!(d_findings(&json(&r)), expected);
    assert!(r.stdout.contains("not in the key table"), "{}", r.stdout);
    // Key rows cut into buckets (how 100 M rows fit): the same findings, rows and households.
    let one = povcheck(d.path(), &["dataset", "keys2", "--format", "json"]);
    let cut = povcheck(
        d.path(),
        &[
            "dataset",
            "keys2",
            "--format",
            "json",
            "--bucket-rows",
            "100",
        ],
    );
    assert_eq!(cut.code, 1, "{}", cut.stderr);
    assert_eq!(d_findings(&json(&cut)), expected);
    let value = |s: &str| -> serde_json::Value { serde_json::from_str(s).expect("json") };
    let (one, cut) = (value(&one.stdout), value(&cut.stdout));
    for part in ["summary", "units", "inputs"] {
        assert!(one[part].is_object() || one[part].is_array(), "{part}");
        assert_eq!(one[part], cut[part], "{part}");
    }
    // Recorded in a ledger, each unit keeps its households (not one placeholder for all):
    // close to what a check of the same rows records (check counts a household split over two
    // files twice).
    let rec = |args: &[&str]| {
        let r = povcheck(d.path(), args);
        assert!(r.code <= 1, "{}", r.stderr);
    };
    rec(&args(
        &["check"],
        &files,
        &["--record", "2026-01", "--ledger", "c.sqlite", "-q"],
    ));
    rec(&[
        "dataset", "keys2", "--record", "2026-01", "--ledger", "d.sqlite", "-q",
    ]);
    let townships = |ledger: &str| -> Vec<(String, i64)> {
        let db = rusqlite::Connection::open(d.path().join(ledger)).expect("ledger");
        let mut q = db
            .prepare("SELECT path, households FROM unit_results WHERE level = '乡镇' ORDER BY path")
            .expect("query");
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect()
    };
    let (c, k) = (townships("c.sqlite"), townships("d.sqlite"));
    assert!(!c.is_empty() && c.len() == k.len(), "{c:?} {k:?}");
    for ((cp, ch), (kp, kh)) in c.iter().zip(&k) {
        assert_eq!(cp, kp);
        assert!(
            *kh > 1 && (ch - kh).abs() * 50 <= *ch,
            "{cp}: check {ch}, dataset {kh}"
        );
    }
}

/// Every ID (also its 15-digit form) and phone number of the inputs.
fn numbers(dir: &Path, files: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(dir.join(f)).expect("shard");
        let mut lines = text.lines().skip(2);
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).expect(n);
        let (id, phone) = (col("证件号码"), col("联系电话"));
        for l in lines {
            let cells: Vec<&str> = l.split(',').collect();
            let id = cells[id].trim();
            if id.len() == 18 {
                out.insert(id.to_string());
                out.insert(format!("{}{}", &id[..6], &id[8..17]));
            } else if id.len() >= 15 {
                out.insert(id.to_string());
            }
            if cells[phone].trim().len() >= 7 {
                out.insert(cells[phone].trim().to_string());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

#[test]
fn key_tables_hold_no_id_or_phone_number() {
    let d = tempfile::tempdir().expect("tempdir");
    let files = shards(d.path());
    std::fs::write(d.path().join("k"), SECRET).expect("key");
    let r = povcheck(
        d.path(),
        &args(
            &["check"],
            &files,
            &["--keys-out", "keys", "--key-file", "k", "-q"],
        ),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let numbers = numbers(d.path(), &files);
    assert!(numbers.len() > 1000, "{}", numbers.len());
    // The search finds them where they are: in the inputs.
    let input = std::fs::read(d.path().join(&files[0])).expect("input");
    assert!(numbers.iter().any(|n| contains(&input, n.as_bytes())));
    let tables: Vec<PathBuf> = std::fs::read_dir(d.path().join("keys"))
        .expect("keys")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(tables.len(), 4);
    // The bytes as stored, and every value decoded (compression would hide a number from a
    // byte search alone).
    let frame = povcheck::dataset::local::run(&tables, "SELECT * FROM keys").expect("read");
    assert_eq!(frame.height(), 2400);
    let names: Vec<&str> = frame
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(names, povcheck::dataset::keys::COLUMNS);
    let mut decoded: Vec<u8> = Vec::new();
    for c in frame.columns() {
        for i in 0..frame.height() {
            decoded.extend(format!("{}|", c.get(i).expect("value")).as_bytes());
        }
    }
    for t in &tables {
        let bytes = std::fs::read(t).expect("table");
        for n in &numbers {
            assert!(!contains(&bytes, n.as_bytes()), "{n} in {}", t.display());
        }
    }
    for n in &numbers {
        assert!(
            !contains(&decoded, n.as_bytes()),
            "{n} decoded from a key table"
        );
    }
}

#[test]
fn keys_out_is_refused_without_a_usable_secret_before_anything_is_written() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = povcheck(d.path(), &["sample", "--rows", "50", "-o", "a.csv"]);
    assert_eq!(r.code, 0);
    let out = Command::new(bin())
        .args([
            "check",
            "a.csv",
            "--keys-out",
            "keys",
            "--format",
            "json",
            "-o",
            "r.json",
        ])
        .current_dir(d.path())
        .env_remove("POVCHECK_KEY")
        .output()
        .expect("run");
    let r = ran(out);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("POVCHECK_KEY"), "{}", r.stderr);
    assert!(!d.path().join("keys").exists() && !d.path().join("r.json").exists());
    let out = Command::new(bin())
        .args(["check", "a.csv", "--keys-out", "keys", "--lang", "en"])
        .current_dir(d.path())
        .env("POVCHECK_KEY", "fifteen bytes!!")
        .output()
        .expect("run");
    let r = ran(out);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("15 bytes"), "{}", r.stderr);
    assert!(!d.path().join("keys").exists());
    // From the environment, long enough: written.
    let out = Command::new(bin())
        .args(["check", "a.csv", "--keys-out", "keys", "-q"])
        .current_dir(d.path())
        .env("POVCHECK_KEY", SECRET)
        .output()
        .expect("run");
    assert!(ran(out).code <= 1);
    assert_eq!(
        std::fs::read_dir(d.path().join("keys"))
            .expect("keys")
            .count(),
        1
    );
}

#[test]
fn dataset_engines_and_inputs_are_checked_up_front() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join("empty")).expect("dir");
    let r = povcheck(d.path(), &["dataset", "empty"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("没有找到键表"), "{}", r.stderr);
    let r = povcheck(d.path(), &["dataset", "empty", "--engine", "df://nohost"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("无法识别"), "{}", r.stderr);
    let r = povcheck(d.path(), &["dataset", "empty", "--job-timeout", "0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--job-timeout"), "{}", r.stderr);
    if !cfg!(feature = "distributed") {
        let r = povcheck(
            d.path(),
            &["dataset", "empty", "--engine", "standalone", "--lang", "en"],
        );
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains(
                "this build has no distributed engine: cargo build --features distributed"
            ),
            "{}",
            r.stderr
        );
    }
}

use std::process::Command;
