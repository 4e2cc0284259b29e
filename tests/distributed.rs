//! The dataset SQL on Apache DataFusion Ballista gives exactly polars' rows: in-process
//! (standalone), on a scheduler with two executors started here, and with one executor killed
//! mid-job (then an error that says so, or still the same rows — never different rows).
//!
//! The key tables are synthetic: generated ID numbers (GB 11643 check digit) and phone numbers,
//! hashed as `--keys-out` hashes them, in several files with people repeated across files.
#![cfg(feature = "distributed")]

#[path = "cli/common.rs"]
mod common;
#[path = "scale/shards.rs"]
#[allow(dead_code)]
mod shards;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polars::prelude::*;
use polars::sql::SQLContext;
use povcheck::dataset::distributed::{Cluster, DistributedError};
use sha2::{Digest, Sha256};

/// Longer than any job here takes, so only a wedged cluster reaches it.
const JOB_TIMEOUT: Duration = Duration::from_secs(300);

/// Time for the scheduler to notice a killed executor (its timeout is 6 s here) and rerun its
/// tasks, on top of ten healthy runs' time.
const KILLED_GRACE: Duration = Duration::from_secs(60);

fn run(cluster: &Cluster, files: &[PathBuf], sql: &str) -> Result<DataFrame, DistributedError> {
    povcheck::dataset::distributed::run(cluster, files, sql, JOB_TIMEOUT)
}

/// D101's shape: every row of a person (by ID hash) found in more than one household.
const D101: &str = "
SELECT 'D101' AS rule, k.input, k.sheet, k.row, k.household, k.unit_path, d.n, d.households
FROM keys AS k
JOIN (
    SELECT id_hash,
           CAST(COUNT(*) AS BIGINT) AS n,
           CAST(COUNT(DISTINCT household) AS BIGINT) AS households
    FROM keys
    WHERE id_hash IS NOT NULL
    GROUP BY id_hash
    HAVING COUNT(DISTINCT household) > 1
) AS d ON k.id_hash = d.id_hash
ORDER BY k.input, k.row";

/// D103's shape: a phone the rows themselves carry, shared by more than two households, with a
/// CASE and the first row of each household (`seq`) as the rules use them.
const D103: &str = "
SELECT 'D103' AS rule, k.input, k.sheet, k.row, k.household, k.unit_path, d.n, d.households,
       CASE WHEN d.households > 3 THEN 'many' ELSE 'few' END AS spread
FROM keys AS k
JOIN (
    SELECT phone_hash,
           CAST(COUNT(*) AS BIGINT) AS n,
           CAST(COUNT(DISTINCT household) AS BIGINT) AS households
    FROM keys
    WHERE phone_hash IS NOT NULL AND phone_filled
    GROUP BY phone_hash
    HAVING COUNT(DISTINCT household) > 2
) AS d ON k.phone_hash = d.phone_hash
JOIN (
    SELECT household, MIN(seq) AS first_seq FROM keys WHERE household IS NOT NULL GROUP BY household
) AS f ON k.household = f.household AND k.seq = f.first_seq
WHERE k.phone_filled";

// ---------------------------------------------------------------------------------------------
// Synthetic key tables

/// splitmix64: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// A generated 18-character ID (a made-up region, a birth date, a sequence) with its GB 11643
/// check character.
fn synthetic_id(n: u64) -> String {
    let first17 = format!(
        "{:06}{:04}{:02}{:02}{:03}",
        990_100 + n % 97,
        1940 + n % 70,
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// The keyed hash the key tables carry (16 bytes), never the value itself.
fn key_hash(kind: &str, value: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"test-secret:");
    h.update(kind.as_bytes());
    h.update(b":");
    h.update(value.as_bytes());
    h.finalize()[..16].to_vec()
}

/// Writes `files` key tables of about `rows` rows each under `dir` (in two sub-directories, as
/// shards gathered from several places would be) and returns their paths.
fn write_key_tables(dir: &Path, files: usize, rows: usize, seed: u64) -> Vec<PathBuf> {
    let mut rng = Rng(seed);
    let mut person = 0u64;
    let mut paths = Vec::new();
    for f in 0..files {
        let input = format!("county-{f:02}.xlsx");
        // CSV inputs have no sheet: half the files leave it null.
        let sheet = (f % 2 == 0).then(|| "Sheet1".to_string());
        let (mut c_input, mut c_sheet, mut c_row, mut c_seq) = (vec![], vec![], vec![], vec![]);
        let (mut c_household, mut c_unit, mut c_town, mut c_village) =
            (vec![], vec![], vec![], vec![]);
        let (mut c_id, mut c_phone, mut c_filled) = (vec![], vec![], vec![]);
        let mut row = 4u32;
        let mut h = 0;
        while c_row.len() < rows {
            h += 1;
            let household = format!("F{f:02}H{h:06}");
            let town = format!("T{}镇", rng.below(5));
            let village = format!("V{}村", rng.below(20));
            let unit = format!(r#"[["乡镇","{town}"],["行政村","{village}"]]"#);
            let phone = format!("139{:08}", rng.below(3000));
            let members = 1 + rng.below(5);
            for m in 0..members {
                // Mostly new people; 1 in 50 is someone already registered, often in another file.
                let who = if person > 0 && rng.chance(20) {
                    rng.below(person)
                } else {
                    person += 1;
                    person
                };
                let id = (!rng.chance(10)).then(|| key_hash("id", &synthetic_id(who)));
                let filled = m == 0 || rng.chance(100);
                c_input.push(input.clone());
                c_sheet.push(sheet.clone());
                c_row.push(row);
                c_seq.push(((f as u64) << 32) | u64::from(row));
                // A few rows lost their household number.
                c_household.push((!rng.chance(5)).then(|| household.clone()));
                c_unit.push(unit.clone());
                c_town.push(Some(town.clone()));
                c_village.push((!rng.chance(30)).then(|| village.clone()));
                c_id.push(id);
                c_phone.push((!rng.chance(50)).then(|| key_hash("phone", &phone)));
                c_filled.push(filled);
                row += 1;
            }
        }
        let binary = |name: &str, v: Vec<Option<Vec<u8>>>| {
            BinaryChunked::from_iter_options(name.into(), v.into_iter()).into_column()
        };
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("input".into(), c_input),
            Column::new("sheet".into(), c_sheet),
            Column::new("row".into(), c_row),
            Column::new("seq".into(), c_seq),
            Column::new("household".into(), c_household),
            Column::new("unit_path".into(), c_unit),
            Column::new("town".into(), c_town),
            Column::new("village".into(), c_village),
            binary("id_hash", c_id),
            binary("phone_hash", c_phone),
            Column::new("phone_filled".into(), c_filled),
        ])
        .unwrap();
        let sub = dir.join(if f % 2 == 0 { "north" } else { "south" });
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join(format!("county-{f:02}.parquet"));
        let file = std::fs::File::create(&path).unwrap();
        ParquetWriter::new(file).finish(&mut df).unwrap();
        paths.push(path);
    }
    paths
}

/// The local engine's answer: polars SQL over a lazy scan of the same files.
fn polars_result(files: &[PathBuf], sql: &str) -> DataFrame {
    let paths: Vec<PlRefPath> = files
        .iter()
        .map(|p| PlRefPath::new(p.to_str().unwrap()))
        .collect();
    let lf = LazyFrame::scan_parquet_files(paths.into(), ScanArgsParquet::default()).unwrap();
    let mut ctx = SQLContext::new();
    ctx.register("keys", lf);
    ctx.execute(sql).unwrap().collect().unwrap()
}

/// Rows in one order, whatever order the engine returned them in (rule, input and row name a
/// finding; the other queries have no rule column).
fn canonical(df: &DataFrame) -> DataFrame {
    let by: Vec<&str> = ["rule", "input", "row"]
        .into_iter()
        .filter(|c| df.column(c).is_ok())
        .collect();
    df.sort(by, SortMultipleOptions::default().with_maintain_order(true))
        .unwrap()
}

fn assert_same_rows(ballista: &DataFrame, polars: &DataFrame) {
    assert_eq!(
        ballista.schema(),
        polars.schema(),
        "column names, order and types"
    );
    assert_eq!(ballista.height(), polars.height(), "row count");
    let (b, p) = (canonical(ballista), canonical(polars));
    assert!(
        b.equals_missing(&p),
        "rows differ:\nballista {b}\npolars {p}"
    );
}

// ---------------------------------------------------------------------------------------------
// A real cluster: one scheduler and two executors as processes on 127.0.0.1

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, within: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < within, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The processes, killed when this is dropped: at the end of the test and on a failed assert.
struct LocalCluster {
    scheduler_port: u16,
    executors: Vec<Option<Child>>,
    scheduler: Child,
    logs: PathBuf,
}

impl LocalCluster {
    /// Short timeouts, so a killed executor is noticed within seconds rather than minutes.
    fn start(logs: &Path) -> LocalCluster {
        let log = |name: &str| std::fs::File::create(logs.join(name)).unwrap();
        let scheduler_port = free_port();
        let scheduler = Command::new(env!("CARGO_BIN_EXE_ballista-scheduler"))
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--bind-port", &scheduler_port.to_string()])
            .args(["--executor-timeout-seconds", "6"])
            .args(["--expire-dead-executor-interval-seconds", "2"])
            .args(["--no-executors-grace-period-seconds", "6"])
            .stdin(Stdio::null())
            .stdout(log("scheduler.out"))
            .stderr(log("scheduler.err"))
            .spawn()
            .expect("start ballista-scheduler");
        let mut cluster = LocalCluster {
            scheduler_port,
            executors: Vec::new(),
            scheduler,
            logs: logs.to_path_buf(),
        };
        wait_for_port(scheduler_port, "scheduler", Duration::from_secs(30));
        for i in 0..2 {
            let (flight, grpc) = (free_port(), free_port());
            let executor = Command::new(env!("CARGO_BIN_EXE_ballista-executor"))
                .args(["--bind-host", "127.0.0.1"])
                .args(["--port", &flight.to_string()])
                .args(["--grpc-port", &grpc.to_string()])
                .args(["--scheduler-host", "127.0.0.1"])
                .args(["--scheduler-port", &scheduler_port.to_string()])
                .args(["--vcores", "2", "--heartbeat-interval-seconds", "1"])
                .stdin(Stdio::null())
                .stdout(log(&format!("executor{i}.out")))
                .stderr(log(&format!("executor{i}.err")))
                .spawn()
                .expect("start ballista-executor");
            cluster.executors.push(Some(executor));
            wait_for_port(flight, "executor", Duration::from_secs(30));
            wait_for_port(grpc, "executor", Duration::from_secs(30));
        }
        // Registration follows the first heartbeat.
        std::thread::sleep(Duration::from_secs(2));
        cluster
    }

    fn engine(&self) -> Cluster {
        Cluster::Remote {
            host: "127.0.0.1".to_string(),
            port: self.scheduler_port,
        }
    }

    fn kill_executor(&mut self, i: usize) {
        if let Some(mut child) = self.executors[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.scheduler.kill();
        let _ = self.scheduler.wait();
        if std::thread::panicking() {
            // The processes' own account of a failure, in the test's output.
            for entry in std::fs::read_dir(&self.logs)
                .into_iter()
                .flatten()
                .flatten()
            {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                let tail: String = text.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                let _ = writeln!(
                    std::io::stderr(),
                    "--- {:?} (last lines, reversed)\n{tail}",
                    entry.path()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn standalone_gives_polars_rows() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_key_tables(dir.path(), 4, 5_000, 1);
    for sql in [D101, D103] {
        let expected = polars_result(&files, sql);
        assert!(expected.height() > 10, "the data must produce findings");
        let got = run(&Cluster::Standalone, &files, sql).unwrap();
        assert_same_rows(&got, &expected);
    }
    // The duplicates span files, which is what a cross-shard pass is for.
    let d101 = polars_result(&files, D101);
    let inputs = d101.column("input").unwrap().n_unique().unwrap();
    assert!(inputs > 1, "D101 rows come from {inputs} input(s)");
}

#[test]
fn standalone_keeps_zero_rows_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_key_tables(dir.path(), 2, 500, 2);
    let none = "SELECT input, row, id_hash FROM keys WHERE row = 0";
    let got = run(&Cluster::Standalone, &files, none).unwrap();
    assert_eq!(got.height(), 0);
    assert_same_rows(&got, &polars_result(&files, none));

    let nulls = "SELECT input, sheet, row, household, village, id_hash FROM keys
                 WHERE sheet IS NULL OR household IS NULL OR id_hash IS NULL ORDER BY input, row";
    let got = run(&Cluster::Standalone, &files, nulls).unwrap();
    let expected = polars_result(&files, nulls);
    assert!(got.column("household").unwrap().null_count() > 0);
    assert!(got.column("id_hash").unwrap().null_count() > 0);
    assert_eq!(got.column("id_hash").unwrap().dtype(), &DataType::Binary);
    assert_same_rows(&got, &expected);
}

#[test]
fn engine_strings_parse_and_print_back() {
    assert_eq!("standalone".parse::<Cluster>(), Ok(Cluster::Standalone));
    let remote = |h: &str, p| Cluster::Remote {
        host: h.to_string(),
        port: p,
    };
    assert_eq!("df://10.0.0.5:50050".parse(), Ok(remote("10.0.0.5", 50050)));
    assert_eq!("df://sched".parse(), Ok(remote("sched", 50050)));
    assert_eq!("df://[::1]:7000".parse(), Ok(remote("::1", 7000)));
    for s in ["df://10.0.0.5:50050", "df://[::1]:7000", "standalone"] {
        assert_eq!(s.parse::<Cluster>().unwrap().to_string(), s);
    }
    for bad in ["local", "df://", "df://h:0", "df://h:port", "http://h:1"] {
        assert!(bad.parse::<Cluster>().is_err(), "{bad}");
    }
}

#[test]
fn errors_say_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_key_tables(dir.path(), 1, 100, 3);

    let port = free_port(); // nothing listens there any more
    let nobody = Cluster::Remote {
        host: "127.0.0.1".to_string(),
        port,
    };
    let err = run(&nobody, &files, D101).unwrap_err();
    assert!(
        matches!(&err, DistributedError::SchedulerUnreachable { port: p, .. } if *p == port),
        "{err:?}"
    );
    assert!(
        err.message_en().contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message_en()
    );

    let err = run(
        &Cluster::Standalone,
        &files,
        "SELECT no_such_column FROM keys",
    )
    .unwrap_err();
    assert!(
        matches!(err, DistributedError::QueryFailed { .. }),
        "{err:?}"
    );

    let missing = dir.path().join("absent.parquet");
    let err = run(&Cluster::Standalone, std::slice::from_ref(&missing), D101).unwrap_err();
    assert!(
        matches!(&err, DistributedError::KeyTable { path, .. } if *path == missing),
        "{err:?}"
    );
    assert!(matches!(
        run(&Cluster::Standalone, &[], D101),
        Err(DistributedError::NoKeyTables)
    ));

    // A job that outlives its deadline is abandoned with its own error, not awaited for ever.
    let err = povcheck::dataset::distributed::run(
        &Cluster::Standalone,
        &files,
        D101,
        Duration::from_millis(1),
    )
    .unwrap_err();
    assert!(
        matches!(err, DistributedError::JobTimedOut { seconds: 0 }),
        "{err:?}"
    );
    assert!(
        err.message_en().contains("did not finish"),
        "{}",
        err.message_en()
    );
}

#[test]
fn remote_cluster_gives_polars_rows_even_when_an_executor_dies() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let files = write_key_tables(&dir.path().join("keys"), 8, 60_000, 4);
    let expected = polars_result(&files, D101);
    assert!(expected.height() > 100, "the data must produce findings");

    let mut cluster = LocalCluster::start(&logs);
    let engine = cluster.engine();

    // Both executors up: the same rows as polars.
    let got = run(&engine, &files, D101).unwrap();
    assert_same_rows(&got, &expected);
    // Timed on a second job: the first also pays for connecting and reading the files cold
    // (18 s against some 5 s warm, once), and a kill timed from it can come after the job ends.
    let started = Instant::now();
    let got = run(&engine, &files, D101).unwrap();
    let healthy = started.elapsed();
    assert_same_rows(&got, &expected);

    // Again, killing one executor part-way through.
    let second = Instant::now();
    let job = {
        let (engine, files) = (engine.clone(), files.clone());
        std::thread::spawn(move || {
            povcheck::dataset::distributed::run(&engine, &files, D101, healthy * 10 + KILLED_GRACE)
        })
    };
    std::thread::sleep(healthy / 4);
    assert!(
        !job.is_finished(),
        "the job ended before the executor was killed ({healthy:?} when healthy): make it bigger"
    );
    cluster.kill_executor(1);
    let outcome = job.join().unwrap();
    eprintln!(
        "healthy job {healthy:?}; with executor 1 killed at {:?}: {} after {:?}",
        healthy / 4,
        if outcome.is_ok() {
            "completed"
        } else {
            "failed"
        },
        second.elapsed()
    );
    match outcome {
        Ok(got) => assert_same_rows(&got, &expected),
        Err(e @ DistributedError::JobFailed { .. }) => {
            assert!(!e.to_string().is_empty());
            eprintln!("the job failed cleanly after the executor was killed: {e}");
        }
        Err(e @ DistributedError::JobTimedOut { .. }) => {
            // Ballista 55's scheduler sometimes keeps such a job "running" for ever; povcheck's
            // deadline turns that into a clear failure. That cluster is not asked again.
            eprintln!("the job was abandoned after the executor was killed: {e}");
            return;
        }
        Err(e) => panic!("an executor's loss reported as something else: {e:?}"),
    }

    // The survivor still serves a whole job on its own.
    let got = run(&engine, &files, D101).unwrap();
    assert_same_rows(&got, &expected);
}

/// The issue's trial through the binary: shards checked one by one with `--keys-out`, then
/// `povcheck dataset` on Ballista — in-process and on a scheduler with two executors — gives
/// exactly the D findings of one `check` over every shard.
#[test]
fn dataset_command_on_ballista_finds_the_d_findings_of_one_check() {
    let d = tempfile::tempdir().unwrap();
    let files = shards::shards(d.path());
    std::fs::write(d.path().join("k"), shards::SECRET).unwrap();
    let whole = common::povcheck(
        d.path(),
        &shards::args(&["check"], &files, &["--format", "json"]),
    );
    let expected = shards::d_findings(&shards::json(&whole));
    assert!(expected.len() >= 3, "{expected:?}");
    for f in &files {
        let r = common::povcheck(
            d.path(),
            &["check", f, "--keys-out", "keys", "--key-file", "k", "-q"],
        );
        assert!(r.code <= 1, "{}", r.stderr);
    }
    let dataset = |engine: &str| {
        let r = common::povcheck(
            d.path(),
            &["dataset", "keys", "--engine", engine, "--format", "json"],
        );
        assert_eq!(r.code, 1, "--engine {engine}: {}", r.stderr);
        shards::d_findings(&shards::json(&r))
    };
    assert_eq!(dataset("standalone"), expected, "--engine standalone");
    let logs = d.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let cluster = LocalCluster::start(&logs);
    let remote = format!("df://127.0.0.1:{}", cluster.scheduler_port);
    assert_eq!(dataset(&remote), expected, "--engine {remote}");
    drop(cluster);
    // With the cluster gone, a clear error naming the scheduler, and no findings.
    let r = common::povcheck(
        d.path(),
        &["dataset", "keys", "--engine", &remote, "--lang", "en"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot reach the Ballista scheduler"),
        "{}",
        r.stderr
    );
}
