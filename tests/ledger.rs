//! The repeat-offence ledger driven as a scheduled job would drive it: rounds recorded from
//! hand-built findings and population, crashes, concurrent recorders, hostile ledger files, and
//! the `history` command of the real binary. All people and IDs are synthetic.

use std::path::{Path, PathBuf};
use std::process::Command;

use povcheck::attribute::{self, Repeat, UnitReport};
use povcheck::check::Population;
use povcheck::finding::{Category, Finding, FindingScope, Lang, Severity, UnitCells};
use povcheck::ledger::{self, InputFile, Ledger, Period, Round};
use povcheck::schema::{Ladder, Schema};

const TOWN: &str = "湖光镇";
const TOWN2: &str = "青溪镇";
const BUREAU: &str = "县示例局";

fn schema() -> Schema {
    schema_with_ladder(Ladder::default())
}

fn schema_with_ladder(ladder: Ladder) -> Schema {
    let mut s: Schema = toml::from_str(
        r#"
name = "test"
version = "1"
[units]
levels = ["乡镇", "行政村"]
assist = ["帮扶单位"]
[[field]]
name = "证件号码"
type = "id_number"
"#,
    )
    .expect("test schema");
    s.policy.ladder = ladder;
    s
}

/// A synthetic citizen ID with a valid GB 11643 check digit.
fn synthetic_id(seq: u32) -> String {
    let body = format!("440811199001{:02}{:03}", 1 + seq % 28, 100 + seq % 900);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn unit(town: &str, village: &str, bureau: &str) -> UnitCells {
    [
        ("乡镇".into(), town.into()),
        ("行政村".into(), village.into()),
        ("帮扶单位".into(), bureau.into()),
    ]
    .into()
}

fn finding(town: &str, village: &str, rule: &str, household: &str, id: &str) -> Finding {
    Finding {
        file: "round.xlsx".into(),
        sheet: Some("Sheet1".into()),
        row: Some(5),
        cell: Some("F5".into()),
        column: Some("证件号码".into()),
        columns: vec!["证件号码".into()],
        header: Some("身份证号码".into()),
        rule: rule.into(),
        category: Category::Validity,
        severity: Severity::Error,
        scope: FindingScope::Cell,
        household: Some(household.into()),
        unit: Some(unit(town, village, BUREAU)),
        value: Some(id.into()),
        message: "证件号码校验位错误".into(),
        hint: String::new(),
        table: Some(0),
        col_indices: vec![5],
    }
}

fn population(town: &str, village: &str, rows: usize) -> Population {
    Population {
        unit: unit(town, village, BUREAU),
        rows,
        households: (0..rows / 4)
            .map(|i| format!("{town}-{village}-{i}"))
            .collect(),
    }
}

fn period(s: &str) -> Period {
    Period::parse(s).expect("test period")
}

struct Run {
    findings: Vec<Finding>,
    population: Vec<Population>,
}

/// A round of one township: village 甲村 (100 rows) with `errors` V101 findings on the same
/// synthetic people each time, and village 乙村 (100 rows), always clean.
fn town_run(town: &str, errors: u32) -> Run {
    Run {
        findings: (0..errors)
            .map(|i| {
                finding(
                    town,
                    "甲村",
                    "V101",
                    &format!("{town}-甲村-{i}"),
                    &synthetic_id(i),
                )
            })
            .collect(),
        population: vec![population(town, "甲村", 100), population(town, "乙村", 100)],
    }
}

fn record(l: &mut Ledger, s: &Schema, p: &str, run: &Run) -> ledger::Recorded {
    l.record(&Round {
        period: &period(p),
        schema: s,
        tool_version: "test",
        inputs: &[InputFile {
            name: format!("{p}.xlsx"),
            sha256: "0".repeat(64),
        }],
        findings: &run.findings,
        population: &run.population,
    })
    .expect("record")
}

/// Record and return every unit's report as `check` would show it.
fn record_and_report(l: &mut Ledger, s: &Schema, p: &str, run: &Run) -> Vec<UnitReport> {
    record(l, s, p, run);
    let mut units = attribute::attribute(s, &run.findings, &run.population);
    l.annotate(
        s,
        Some(&period(p)),
        &run.findings,
        &run.population,
        &mut units,
        Lang::Zh,
    )
    .expect("annotate");
    units
}

fn repeat_of(units: &[UnitReport], level: &str, name: &str) -> Repeat {
    units
        .iter()
        .find(|u| u.level == level && u.name == name)
        .and_then(|u| u.repeat.clone())
        .unwrap_or_else(|| panic!("no repeat for {level} {name}"))
}

fn ledger_in(dir: &Path) -> PathBuf {
    dir.join("ledger.sqlite")
}

#[test]
fn four_monthly_rounds_climb_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();

    let r1 = record_and_report(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    let b = repeat_of(&r1, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (1, 1, 1));
    assert_eq!(b.action, "通报批评，约谈单位负责人");
    assert_eq!(b.fixed, None, "no previous round to compare with");
    assert_eq!(repeat_of(&r1, "行政村", "乙村").level, 0);

    let r2 = record_and_report(&mut l, &s, "2024-02", &town_run(TOWN, 1));
    let b = repeat_of(&r2, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (2, 2, 2));
    assert_eq!(b.repeated_rules, ["V101"]);
    assert_eq!((b.fixed, b.persisting, b.new), (Some(0), Some(1), Some(0)));
    assert_eq!(b.action, "对相关责任人诫勉谈话或停职检查");
    let v = repeat_of(&r2, "行政村", "甲村");
    assert_eq!(v.level, 2);

    let r3 = record_and_report(&mut l, &s, "2024-03", &town_run(TOWN, 0));
    let b = repeat_of(&r3, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (0, 0, 2));
    assert_eq!((b.fixed, b.persisting, b.new), (Some(1), Some(0), Some(0)));
    assert!(b.repeated_rules.is_empty());

    let r4 = record_and_report(&mut l, &s, "2024-04", &town_run(TOWN, 1));
    let b = repeat_of(&r4, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (3, 1, 3));
    assert_eq!(b.action, "对相关责任人调离工作岗位");
    assert_eq!((b.fixed, b.persisting, b.new), (Some(0), Some(0), Some(1)));
}

#[test]
fn a_clean_corrected_resubmission_is_not_a_second_offence() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    record_and_report(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    let wrong = record_and_report(&mut l, &s, "2024-02", &town_run(TOWN, 2));
    assert_eq!(repeat_of(&wrong, "帮扶单位", BUREAU).level, 2);

    let fixed = record_and_report(&mut l, &s, "2024-02", &town_run(TOWN, 0));
    let b = repeat_of(&fixed, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (0, 0, 1));
    assert_eq!((b.fixed, b.persisting, b.new), (Some(1), Some(0), Some(0)));

    // The streak restarts after the clean round.
    let r3 = record_and_report(&mut l, &s, "2024-03", &town_run(TOWN, 1));
    let b = repeat_of(&r3, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.consecutive, b.periods_with_errors), (1, 1, 2));
    assert_eq!(l.periods().unwrap(), ["2024-01", "2024-02", "2024-03"]);
}

#[test]
fn re_recording_the_same_round_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    record(&mut l, &s, "2024-02", &town_run(TOWN, 3));
    let once = l.load(None).unwrap();
    let again = record(&mut l, &s, "2024-02", &town_run(TOWN, 3));
    assert_eq!(again.replaced, [TOWN]);
    assert_eq!(l.load(None).unwrap(), once);
    let key = ("帮扶单位".to_string(), vec![BUREAU.to_string()]);
    let rounds = &once[&key];
    assert_eq!(rounds.len(), 2);
    assert_eq!(rounds[1].errors, 3, "not doubled");
    assert_eq!(rounds[1].rows, 200);
}

#[test]
fn townships_are_recorded_separately_and_summed_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 2));
    record(&mut l, &s, "2024-01", &town_run(TOWN2, 1));
    let key = ("帮扶单位".to_string(), vec![BUREAU.to_string()]);
    let r = &l.load(None).unwrap()[&key];
    assert_eq!(
        (r[0].rows, r[0].errors),
        (400, 3),
        "the bureau spans both townships"
    );

    // A corrected resubmission of one township leaves the other alone.
    let rec = record(&mut l, &s, "2024-01", &town_run(TOWN, 0));
    assert_eq!(rec.townships, [TOWN]);
    let all = l.load(None).unwrap();
    assert_eq!((all[&key][0].rows, all[&key][0].errors), (400, 1));
    let town2 = ("乡镇".to_string(), vec![TOWN2.to_string()]);
    assert_eq!(all[&town2][0].errors, 1);
    // Same-named villages of two townships stay apart.
    let v1 = (
        "行政村".to_string(),
        vec![TOWN.to_string(), "甲村".to_string()],
    );
    let v2 = (
        "行政村".to_string(),
        vec![TOWN2.to_string(), "甲村".to_string()],
    );
    assert_eq!((all[&v1][0].errors, all[&v2][0].errors), (0, 1));
}

#[test]
fn a_serious_error_rate_is_level_three_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    // 15 errors on 100 rows of 甲村: 15 per 100 > 10.
    let units = record_and_report(&mut l, &s, "2024-01", &town_run(TOWN, 15));
    assert_eq!(repeat_of(&units, "行政村", "甲村").level, 3);
    // The bureau has 200 rows: 7.5 per 100, a first offence only.
    assert_eq!(repeat_of(&units, "帮扶单位", BUREAU).level, 1);
}

#[test]
fn thresholds_and_actions_come_from_the_schema_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema_with_ladder(Ladder {
        min_errors: 2,
        repeated_rounds: 2,
        serious_error_rate: 50.0,
        actions: vec!["甲".into(), "乙".into(), "丙".into(), "丁".into()],
        actions_en: Vec::new(),
    });
    let r1 = record_and_report(&mut l, &s, "2024-Q1", &town_run(TOWN, 1));
    let b = repeat_of(&r1, "帮扶单位", BUREAU);
    assert_eq!((b.level, b.action.as_str()), (0, "甲"), "below min_errors");
    record_and_report(&mut l, &s, "2024-Q2", &town_run(TOWN, 2));
    let r3 = record_and_report(&mut l, &s, "2024-Q3", &town_run(TOWN, 2));
    let b = repeat_of(&r3, "帮扶单位", BUREAU);
    assert_eq!(
        (b.level, b.action.as_str()),
        (3, "丁"),
        "two offending rounds = repeated"
    );
    assert_eq!(
        ledger::action(&s.policy.ladder, 2, Lang::En),
        "formal warning (诫勉谈话) or suspension for inspection (停职检查) of those responsible",
        "English falls back to the built-in text"
    );
}

#[test]
fn a_ledger_only_run_is_judged_as_the_next_round_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    let run = town_run(TOWN, 1);
    let mut units = attribute::attribute(&s, &run.findings, &run.population);
    l.annotate(
        &s,
        None,
        &run.findings,
        &run.population,
        &mut units,
        Lang::Zh,
    )
    .unwrap();
    assert_eq!(repeat_of(&units, "帮扶单位", BUREAU).level, 2);
    assert_eq!(l.periods().unwrap(), ["2024-01"]);
}

#[test]
fn id_numbers_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &schema(), "2024-01", &town_run(TOWN, 3));
    drop(l);
    let id = synthetic_id(1);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()));
    }
    // The fingerprint is there, though, as a salted hash.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM fingerprints WHERE length(person) = 64",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n > 0);
}

#[test]
fn input_files_are_hashed_with_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.csv");
    std::fs::write(&f, b"abc").unwrap();
    let h = InputFile::hash(&f).unwrap();
    assert_eq!(
        h.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(InputFile::hash(&dir.path().join("missing.csv")).is_err());
}

#[test]
fn a_file_that_is_not_a_ledger_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Not SQLite at all.
    let junk = dir.path().join("报表.xlsx");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, &bytes).unwrap();
    let err = Ledger::open(&junk).unwrap_err();
    assert!(matches!(err, ledger::Error::NotLedger { .. }), "{err:?}");
    assert!(err.to_string().contains("报表.xlsx"), "{err}");
    assert!(err.to_string().contains("不是 povcheck 台账"), "{err}");
    assert_eq!(std::fs::read(&junk).unwrap(), bytes);

    // Another program's SQLite database.
    let other = dir.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE people (name TEXT)").unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    let err = Ledger::open(&other).unwrap_err();
    assert!(matches!(err, ledger::Error::NotLedger { .. }), "{err:?}");
    assert_eq!(std::fs::read(&other).unwrap(), before);
    assert!(!dir.path().join("other.db-wal").exists());

    // A ledger from a newer povcheck.
    let newer = ledger_in(dir.path());
    drop(Ledger::open(&newer).unwrap());
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        Ledger::open(&newer).unwrap_err(),
        ledger::Error::TooNew { found: 99, .. }
    ));
}

#[test]
fn reopening_a_ledger_keeps_its_salt_and_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let s = schema();
    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    drop(l);
    let mut l = Ledger::open(&path).unwrap();
    let r2 = record_and_report(&mut l, &s, "2024-02", &town_run(TOWN, 1));
    // Same salt after reopening: the same person's finding persists.
    let b = repeat_of(&r2, "帮扶单位", BUREAU);
    assert_eq!((b.persisting, b.level), (Some(1), 2));
}

#[test]
fn bad_periods_and_mixed_styles_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    for bad in [
        "2024-13",
        "2024-Q5",
        "24-01",
        "2024/01",
        "2023-02-29",
        "next month",
    ] {
        let err = ledger::Session::start(Some(bad), Some(&path)).unwrap_err();
        assert!(matches!(err, ledger::Error::BadPeriod(_)), "{bad}: {err:?}");
    }
    assert!(!path.exists(), "a bad period must not create the ledger");

    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &schema(), "2024-01", &town_run(TOWN, 1));
    drop(l);
    let err = ledger::Session::start(Some("2024-Q1"), Some(&path)).unwrap_err();
    assert!(
        matches!(err, ledger::Error::StyleMismatch { .. }),
        "{err:?}"
    );
    assert!(ledger::Session::start(Some("2024-02"), Some(&path)).is_ok());
    assert!(
        ledger::Session::start(None, None).unwrap().is_none(),
        "no ledger, no session"
    );
}

#[test]
fn forget_removes_one_round_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    record(&mut l, &s, "2024-02", &town_run(TOWN, 1));
    record(&mut l, &s, "2024-02", &town_run(TOWN2, 1));
    assert_eq!(l.forget(&period("2024-02")).unwrap(), [TOWN, TOWN2]);
    assert_eq!(l.periods().unwrap(), ["2024-01"]);
    assert!(matches!(
        l.forget(&period("2024-05")).unwrap_err(),
        ledger::Error::NoSuchPeriod { .. }
    ));
}

// ---- child processes: crash and concurrency ----

/// Not a test on its own: the body a child process runs when the parent re-executes this test
/// binary with `LEDGER_TEST_CHILD` set (record `LEDGER_TEST_TOWN` into `LEDGER_TEST_PERIOD`).
#[test]
#[ignore = "the body of a child process; run by the crash and concurrency tests"]
fn child_recorder() {
    let Ok(path) = std::env::var("LEDGER_TEST_CHILD") else {
        return;
    };
    let town = std::env::var("LEDGER_TEST_TOWN").unwrap();
    let p = std::env::var("LEDGER_TEST_PERIOD").unwrap();
    let errors: u32 = std::env::var("LEDGER_TEST_ERRORS")
        .unwrap()
        .parse()
        .unwrap();
    // Many units make the transaction long enough for two recorders to overlap.
    let mut run = town_run(&town, errors);
    for i in 0..300 {
        run.population.push(population(&town, &format!("村{i}"), 8));
    }
    let mut l = Ledger::open(Path::new(&path)).unwrap();
    l.on_checkpoint(crash_at_checkpoint);
    record(&mut l, &schema(), &p, &run);
}

/// The child's crash: `LEDGER_TEST_FAULT` names a checkpoint to abort at, or `hang_<name>` one
/// to wait at until killed from outside (SIGKILL tests).
fn crash_at_checkpoint(point: ledger::Checkpoint) {
    let Ok(v) = std::env::var(FAULT) else {
        return;
    };
    if v == point.name() {
        std::process::abort();
    }
    if v.strip_prefix("hang_") == Some(point.name()) {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

const FAULT: &str = "LEDGER_TEST_FAULT";

fn child(path: &Path, town: &str, p: &str, errors: u32, fault: Option<&str>) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["child_recorder", "--exact", "--ignored", "--test-threads=1"])
        .env("LEDGER_TEST_CHILD", path)
        .env("LEDGER_TEST_TOWN", town)
        .env("LEDGER_TEST_PERIOD", p)
        .env("LEDGER_TEST_ERRORS", errors.to_string())
        .env_remove(FAULT);
    if let Some(f) = fault {
        c.env(FAULT, f);
    }
    c
}

fn integrity_ok(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    let s: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(s, "ok");
}

#[test]
fn a_crash_mid_record_leaves_the_ledger_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let s = schema();
    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    let before = l.load(None).unwrap();
    drop(l);

    for (p, point) in [
        ("2024-02", "after_units"),
        ("2024-01", "after_units"),
        ("2024-02", "before_commit"),
    ] {
        let status = child(&path, TOWN, p, 5, Some(point)).status().unwrap();
        assert!(!status.success(), "the child must have aborted at {point}");
        integrity_ok(&path);
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.periods().unwrap(), ["2024-01"], "{p} {point}");
        assert_eq!(l.load(None).unwrap(), before, "{p} {point}");
    }
    // Without the fault the same child records the whole round.
    assert!(
        child(&path, TOWN, "2024-02", 5, None)
            .status()
            .unwrap()
            .success()
    );
    integrity_ok(&path);
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.periods().unwrap(), ["2024-01", "2024-02"]);
    let key = ("乡镇".to_string(), vec![TOWN.to_string()]);
    assert_eq!(l.load(None).unwrap()[&key][1].errors, 5);
}

#[test]
fn two_townships_recorded_at_once_both_land() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh file: the two recorders also race to create and migrate it.
    let path = ledger_in(dir.path());
    let mut a = child(&path, TOWN, "2024-01", 2, None).spawn().unwrap();
    let mut b = child(&path, TOWN2, "2024-01", 3, None).spawn().unwrap();
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    integrity_ok(&path);
    let l = Ledger::open(&path).unwrap();
    let all = l.load(None).unwrap();
    let key = ("帮扶单位".to_string(), vec![BUREAU.to_string()]);
    assert_eq!(all[&key][0].errors, 5, "both townships summed");

    // Threads in one process, each with its own connection, land too.
    let s = schema();
    std::thread::scope(|scope| {
        for (town, n) in [(TOWN, 1), (TOWN2, 1)] {
            let path = path.clone();
            let s = &s;
            scope.spawn(move || {
                let mut l = Ledger::open(&path).unwrap();
                record(&mut l, s, "2024-02", &town_run(town, n));
            });
        }
    });
    let all = l.load(None).unwrap();
    assert_eq!(all[&key].len(), 2);
    assert_eq!(all[&key][1].errors, 2);
}

// ---- the binary ----

fn povcheck(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(args)
        .env_remove(ledger::ENV_PATH)
        .output()
        .unwrap()
}

#[test]
fn history_command_on_a_built_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let p = path.to_str().unwrap();
    let s = schema();
    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &s, "2024-01", &town_run(TOWN, 1));
    record(&mut l, &s, "2024-02", &town_run(TOWN, 1));
    drop(l);

    let out = povcheck(&[
        "history",
        "--ledger",
        p,
        "--format",
        "json",
        "--level",
        "帮扶单位",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["periods"], serde_json::json!(["2024-01", "2024-02"]));
    let units = v["units"].as_array().unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["name"], BUREAU);
    assert_eq!(units[0]["ladder_level"], 2);
    assert_eq!(units[0]["consecutive"], 2);
    // The binary reads the action texts from the default schema's [policy.ladder].
    let actions = povcheck::schema::default_schema().policy.ladder.actions;
    assert_eq!(units[0]["action"], actions[2].as_str());
    assert_eq!(units[0]["rules"][0]["rule"], "V101");
    assert_eq!(units[0]["rules"][0]["consecutive"], 2);
    assert_eq!(units[0]["rules"][0]["persisting"], 1);

    // The environment variable names the ledger when --ledger is absent.
    let out = Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(["history", "--unit", "甲村"])
        .env(ledger::ENV_PATH, &path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("行政村 湖光镇/甲村: 问责等级 2"), "{text}");
    assert!(!text.contains("乙村"), "{text}");

    let out = povcheck(&["history", "--ledger", p, "--format", "csv"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("帮扶单位,县示例局,2024-01✗ 2024-02✗,2,2,2,"),
        "{text}"
    );

    let xlsx = dir.path().join("h.xlsx");
    let out = povcheck(&[
        "history",
        "--ledger",
        p,
        "--format",
        "xlsx",
        "-o",
        xlsx.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));

    // Forgetting needs --yes; with it, one round goes.
    let out = povcheck(&["history", "--ledger", p, "--forget", "2024-02"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    let out = povcheck(&["history", "--ledger", p, "--forget", "2024-02", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Ledger::open(&path).unwrap().periods().unwrap(), ["2024-01"]);
}

#[test]
fn check_refuses_a_bad_period_or_a_foreign_ledger_before_reading_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let missing = dir.path().join("没有这个文件.csv");
    let out = povcheck(&[
        "check",
        missing.to_str().unwrap(),
        "--record",
        "2024-13",
        "--ledger",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2024-13") && err.contains("期次"), "{err}");
    assert!(
        !err.contains("没有这个文件"),
        "period refused before inputs: {err}"
    );
    assert!(!path.exists());

    let junk = dir.path().join("random.bin");
    std::fs::write(
        &junk,
        b"this is not a database, just some text that a clerk saved",
    )
    .unwrap();
    let out = povcheck(&[
        "check",
        missing.to_str().unwrap(),
        "--record",
        "2024-01",
        "--ledger",
        junk.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("random.bin") && err.contains("ledger::not_a_ledger"),
        "{err}"
    );
}

#[test]
fn check_records_the_round_and_its_inputs_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    std::fs::write(&csv, "姓名,证件号码,乡镇\n测试甲,1,湖光镇\n").unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_povcheck"))
            .args(args)
            .current_dir(dir.path())
            .env_remove(ledger::ENV_PATH)
            .output()
            .unwrap()
    };
    // A clerk's check: no ledger is created, not even the default one.
    run(&["check", "a.csv"]);
    assert!(!dir.path().join(ledger::DEFAULT_PATH).exists());

    // --record without --ledger uses the default file in the working directory.
    let out = run(&["check", "a.csv", "--record", "2024-01"]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join(ledger::DEFAULT_PATH);
    let c = rusqlite::Connection::open(&path).unwrap();
    let (file, sha): (String, String) = c
        .query_row("SELECT file, sha256 FROM run_inputs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(file, "a.csv");
    assert_eq!(sha, InputFile::hash(&csv).unwrap().sha256);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    // The ledger now speaks months; a quarter is refused.
    let out = run(&["check", "a.csv", "--record", "2024-Q1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ledger::period_style"));
}

#[test]
fn hostile_unit_names_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = Ledger::open(&ledger_in(dir.path())).unwrap();
    let s = schema();
    let village = "甲\u{1f}村\",'; DROP TABLE runs; --";
    let run = Run {
        findings: vec![finding(TOWN, village, "V101", "h1", &synthetic_id(7))],
        population: vec![population(TOWN, village, 40)],
    };
    record_and_report(&mut l, &s, "2024", &run);
    let units = record_and_report(&mut l, &s, "2025", &run);
    let v = repeat_of(&units, "行政村", village);
    assert_eq!((v.level, v.consecutive), (2, 2));
    assert_eq!(l.periods().unwrap(), ["2024", "2025"]);
}

#[test]
fn a_recorder_killed_with_sigkill_leaves_the_ledger_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(dir.path());
    let mut l = Ledger::open(&path).unwrap();
    record(&mut l, &schema(), "2024-01", &town_run(TOWN, 1));
    let before = l.load(None).unwrap();
    drop(l);
    let mut c = child(&path, TOWN, "2024-01", 9, Some("hang_after_units"))
        .spawn()
        .unwrap();
    // Killed wherever it is by then: inside the transaction, or before it began.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    c.kill().unwrap();
    assert!(!c.wait().unwrap().success());
    integrity_ok(&path);
    assert_eq!(Ledger::open(&path).unwrap().load(None).unwrap(), before);
}

/// A check hands every finding of a unit the same shared unit; findings built elsewhere (key
/// rows, other tools) carry equal but separate ones. Attribution must count both alike, and keep
/// another village apart.
#[test]
fn attribution_counts_a_shared_unit_and_an_equal_separate_one_alike() {
    let s = schema();
    let shared = unit(TOWN, "甲村", BUREAU);
    let mut findings: Vec<Finding> = (0..3)
        .map(|i| Finding {
            unit: Some(shared.clone()),
            ..finding(TOWN, "甲村", "V101", &format!("h{i}"), &synthetic_id(i))
        })
        .collect();
    // Equal to `shared` but its own allocation, in a household already counted.
    findings.push(finding(TOWN, "甲村", "V102", "h0", &synthetic_id(9)));
    findings.push(finding(TOWN, "乙村", "V101", "h7", &synthetic_id(7)));
    assert!(std::sync::Arc::ptr_eq(
        findings[0].unit.as_ref().unwrap(),
        findings[2].unit.as_ref().unwrap()
    ));
    assert!(!std::sync::Arc::ptr_eq(
        findings[0].unit.as_ref().unwrap(),
        findings[3].unit.as_ref().unwrap()
    ));
    let population = vec![population(TOWN, "甲村", 100), population(TOWN, "乙村", 100)];
    let units = attribute::attribute(&s, &findings, &population);
    let get = |level: &str, name: &str| {
        units
            .iter()
            .find(|u| u.level == level && u.name == name)
            .unwrap_or_else(|| panic!("no unit {level} {name}"))
    };
    let a = get("行政村", "甲村");
    assert_eq!((a.errors, a.households_with_errors, a.rows), (4, 3, 100));
    assert_eq!(
        (a.by_rule.get("V101"), a.by_rule.get("V102")),
        (Some(&3), Some(&1))
    );
    assert_eq!(a.path, [TOWN, "甲村"]);
    let b = get("行政村", "乙村");
    assert_eq!((b.errors, b.households_with_errors, b.rows), (1, 1, 100));
    let town = get("乡镇", TOWN);
    assert_eq!(
        (town.errors, town.households_with_errors, town.rows),
        (5, 4, 200)
    );
    let bureau = get("帮扶单位", BUREAU);
    assert_eq!((bureau.errors, bureau.households_with_errors), (5, 4));
}
