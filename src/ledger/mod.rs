//! The repeat-offence ledger: submission rounds per unit in a SQLite file, and where each unit
//! stands on the Article 27(6) ladder.
//!
//! Invariants: a round is written in one `BEGIN IMMEDIATE` transaction (all of it or nothing);
//! results are stored per (period, township) and summed when read, because a 帮扶单位 can span
//! townships; re-recording a period replaces only the townships present in the new run; the
//! only other delete is an explicit `forget`. ID numbers never enter the file, only salted
//! SHA-256 hashes of them.

pub mod history;
pub mod period;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::attribute::{Repeat, UnitReport};
use crate::check::Population;
use crate::finding::{Finding, Lang, Severity, UNIT_BLANK};
use crate::schema::{FieldType, Ladder, Schema};

pub use period::{Period, Style};

/// `PRAGMA application_id` of a povcheck ledger ("PovL"): how a ledger is told from any other
/// SQLite file before anything is written to it.
pub const APPLICATION_ID: i32 = 0x506f_764c;
/// The ledger's table layout version (`PRAGMA user_version`), one per migration.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];
/// Used when neither `--ledger` nor `POVCHECK_LEDGER` names a file.
pub const DEFAULT_PATH: &str = "povcheck-ledger.sqlite";
/// Environment variable naming the ledger file; `--ledger` overrides it.
pub const ENV_PATH: &str = "POVCHECK_LEDGER";
/// A point inside [`Ledger::record`]'s transaction, told to the ledger's checkpoint observer
/// ([`Ledger::on_checkpoint`]): crash tests stop the process there to show a round is recorded
/// whole or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// The run and its inputs are inserted.
    AfterRun,
    /// A township's unit rows are inserted.
    AfterUnits,
    /// Everything is inserted, not yet committed.
    BeforeCommit,
}

impl Checkpoint {
    pub fn name(self) -> &'static str {
        match self {
            Checkpoint::AfterRun => "after_run",
            Checkpoint::AfterUnits => "after_units",
            Checkpoint::BeforeCommit => "before_commit",
        }
    }
}
/// Long enough for a concurrent recorder of another township to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("{}: 不是 povcheck 台账文件（{reason}），拒绝使用", path.display())]
    #[diagnostic(
        code(povcheck::ledger::not_a_ledger),
        help(
            "用 --ledger 或环境变量 POVCHECK_LEDGER 指定台账文件；指定一个不存在的文件名会新建台账"
        )
    )]
    NotLedger {
        path: PathBuf,
        reason: NotLedgerReason,
    },
    #[error("{}: 台账版本 {found} 高于本程序支持的 {supported}，请升级 povcheck", path.display())]
    #[diagnostic(code(povcheck::ledger::too_new))]
    TooNew {
        path: PathBuf,
        found: i32,
        supported: i32,
    },
    #[error("{}: 台账读写失败: {source}", path.display())]
    #[diagnostic(code(povcheck::ledger::sqlite))]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "期次 {0:?} 无法识别，应为 YYYY、YYYY-MM、YYYY-Qn 或 YYYY-MM-DD（如 2024、2024-03、2024-Q1、2024-03-31）"
    )]
    #[diagnostic(code(povcheck::ledger::bad_period))]
    BadPeriod(String),
    #[error("期次 {period} 的格式为 {got}，而台账 {} 使用 {expected}；一个台账只用一种期次格式", path.display())]
    #[diagnostic(code(povcheck::ledger::period_style))]
    StyleMismatch {
        path: PathBuf,
        period: String,
        got: Style,
        expected: Style,
    },
    #[error("{}: 无法读取输入文件以计算 SHA-256: {source}", path.display())]
    #[diagnostic(code(povcheck::ledger::hash))]
    Hash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("有输入文件无法读取，期次 {period} 未记入台账（修正后重新运行即可）")]
    #[diagnostic(code(povcheck::ledger::not_recorded))]
    NotRecorded { period: String },
    #[error("台账 {} 中没有期次 {period}", path.display())]
    #[diagnostic(code(povcheck::ledger::no_such_period))]
    NoSuchPeriod { path: PathBuf, period: String },
}

/// Why a file is refused as a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotLedgerReason {
    Directory,
    /// An SQLite database, but not povcheck's.
    ForeignDatabase,
    NotSqlite,
}

impl NotLedgerReason {
    pub fn en(self) -> &'static str {
        match self {
            NotLedgerReason::Directory => "it is a directory",
            NotLedgerReason::ForeignDatabase => "it is another program's SQLite database",
            NotLedgerReason::NotSqlite => "not an SQLite database file",
        }
    }
}

/// The Chinese reason, as the diagnostic shows it.
impl std::fmt::Display for NotLedgerReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotLedgerReason::Directory => "这是一个目录",
            NotLedgerReason::ForeignDatabase => "是其他程序的 SQLite 数据库",
            NotLedgerReason::NotSqlite => "不是 SQLite 数据库文件",
        })
    }
}

impl Error {
    /// The message in English, for `--lang en` (`Display` is the Chinese text).
    pub fn message_en(&self) -> String {
        match self {
            Error::NotLedger { path, reason } => format!(
                "{}: not a povcheck ledger ({}); refused",
                path.display(),
                reason.en()
            ),
            Error::TooNew {
                path,
                found,
                supported,
            } => format!(
                "{}: ledger version {found} is newer than the {supported} this povcheck supports; upgrade povcheck",
                path.display()
            ),
            Error::Sql { path, source } => {
                format!("{}: ledger read/write failed: {source}", path.display())
            }
            Error::BadPeriod(p) => format!(
                "period {p:?} not recognised; expected YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD (e.g. 2024, 2024-03, 2024-Q1, 2024-03-31)"
            ),
            Error::StyleMismatch {
                path,
                period,
                got,
                expected,
            } => format!(
                "period {period} is {got}, but ledger {} uses {expected}; a ledger uses one period style",
                path.display()
            ),
            Error::Hash { path, source } => format!(
                "{}: cannot read the input file to compute its SHA-256: {source}",
                path.display()
            ),
            Error::NotRecorded { period } => format!(
                "an input file could not be read, so period {period} was not recorded in the ledger (run again once it is fixed)"
            ),
            Error::NoSuchPeriod { path, period } => {
                format!("ledger {} has no period {period}", path.display())
            }
        }
    }

    /// The help in English, where the Chinese diagnostic has one.
    pub fn help_en(&self) -> Option<&'static str> {
        match self {
            Error::NotLedger { .. } => Some(
                "name the ledger with --ledger or the POVCHECK_LEDGER variable; a file name that does not exist makes a new ledger",
            ),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The ledger path: `--ledger`, else `POVCHECK_LEDGER`, else [`DEFAULT_PATH`].
pub fn resolve_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os(ENV_PATH) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_PATH),
    }
}

/// Parse a period label, refusing anything but the four styles.
pub fn parse_period(s: &str) -> Result<Period> {
    Period::parse(s).ok_or_else(|| Error::BadPeriod(s.to_string()))
}

/// An input file of a round: its name as given and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub name: String,
    pub sha256: String,
}

impl InputFile {
    pub fn hash(path: &Path) -> Result<InputFile> {
        let err = |source| Error::Hash {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(err)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            h.update(buf.get(..n).unwrap_or_default());
        }
        Ok(InputFile {
            name: path.display().to_string(),
            sha256: hex(&h.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// One submission round to record.
#[derive(Debug, Clone, Copy)]
pub struct Round<'a> {
    pub period: &'a Period,
    pub schema: &'a Schema,
    pub tool_version: &'a str,
    pub inputs: &'a [InputFile],
    pub findings: &'a [Finding],
    pub population: &'a [Population],
}

/// A unit: its level (乡镇, 行政村, 帮扶单位) and path.
pub type UnitKey = (String, Vec<String>);

/// Fingerprint of a finding: rule, household, salted hash of the person.
pub type Print = (String, String, String);

/// One unit's results in one period, summed over townships.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundStat {
    pub period: String,
    pub rows: u64,
    pub households: u64,
    pub errors: u64,
    pub warnings: u64,
    /// Rule → (errors, warnings).
    pub rules: BTreeMap<String, (u64, u64)>,
    pub prints: BTreeMap<Print, u64>,
}

impl RoundStat {
    fn add(&mut self, o: &RoundStat) {
        self.rows += o.rows;
        self.households += o.households;
        self.errors += o.errors;
        self.warnings += o.warnings;
        for (r, (e, w)) in &o.rules {
            let x = self.rules.entry(r.clone()).or_default();
            x.0 += e;
            x.1 += w;
        }
        for (p, n) in &o.prints {
            *self.prints.entry(p.clone()).or_default() += n;
        }
    }

    /// Errors per 100 rows.
    pub fn error_rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.errors as f64 * 100.0 / self.rows as f64
        }
    }
}

/// What `record` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub townships: Vec<String>,
    /// Townships of this period whose earlier results were replaced.
    pub replaced: Vec<String>,
    pub units: usize,
}

/// An open ledger file.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    salt: String,
    checkpoint: Option<fn(Checkpoint)>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

fn is_not_a_db(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::NotADatabase)
}

/// What the file's header says it is.
fn identify(conn: &Connection) -> rusqlite::Result<(i32, i32, i64)> {
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok((app, version, objects))
}

impl Ledger {
    /// Open or create a ledger, migrating it to [`SCHEMA_VERSION`]. A file that is not a
    /// povcheck ledger (not SQLite, or another program's database) is refused untouched.
    pub fn open(path: &Path) -> Result<Ledger> {
        let p = path.to_path_buf();
        let sql = |source| Error::Sql {
            path: p.clone(),
            source,
        };
        let not_ledger = |reason: NotLedgerReason| Error::NotLedger {
            path: p.clone(),
            reason,
        };
        if path.is_dir() {
            return Err(not_ledger(NotLedgerReason::Directory));
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // Identify inside the write lock and before any write: a concurrent recorder may be
        // creating the file right now, and WAL mode or a migration would alter a foreign file
        // (the transaction is rolled back untouched when the file is refused).
        let check = |(app, version, objects): (i32, i32, i64)| -> Result<()> {
            if app == 0 && objects == 0 {
                Ok(())
            } else if app != APPLICATION_ID {
                Err(not_ledger(NotLedgerReason::ForeignDatabase))
            } else if version > SCHEMA_VERSION {
                Err(Error::TooNew {
                    path: p.clone(),
                    found: version,
                    supported: SCHEMA_VERSION,
                })
            } else {
                Ok(())
            }
        };
        let foreign = |e: rusqlite::Error| {
            if is_not_a_db(&e) {
                not_ledger(NotLedgerReason::NotSqlite)
            } else {
                sql(e)
            }
        };
        let mut conn = conn;
        {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(foreign)?;
            let id = identify(&tx).map_err(foreign)?;
            check(id)?;
            let version = usize::try_from(id.1).unwrap_or(0);
            if version == 0 {
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .map_err(sql)?;
            }
            for m in MIGRATIONS.iter().skip(version) {
                tx.execute_batch(m).map_err(sql)?;
            }
            if version == 0 {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('salt', lower(hex(randomblob(32))))",
                    [],
                )
                .map_err(sql)?;
            }
            if version < MIGRATIONS.len() {
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
        }
        // WAL lets readers and one writer proceed together. Switching needs a moment alone
        // with the file; if another recorder holds it, the file works in rollback mode (still
        // transactional) and a later open switches it.
        let wal =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0));
        match wal {
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::DatabaseBusy => {}
            Err(e) => return Err(sql(e)),
            Ok(_) => {}
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let salt: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'salt'", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        Ok(Ledger {
            conn,
            path: p,
            salt,
            checkpoint: None,
        })
    }

    /// Call `f` at each [`Checkpoint`] of [`Ledger::record`].
    pub fn on_checkpoint(&mut self, f: fn(Checkpoint)) {
        self.checkpoint = Some(f);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> Error {
        Error::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// The period style this ledger uses (set by its first round).
    pub fn style(&self) -> Result<Option<Style>> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'period_style'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(s.as_deref().and_then(Style::from_str_opt))
    }

    /// Refuse a period whose style differs from the ledger's (before any input is read).
    pub fn check_period(&self, period: &Period) -> Result<()> {
        match self.style()? {
            Some(st) if st != period.style() => Err(Error::StyleMismatch {
                path: self.path.clone(),
                period: period.to_string(),
                got: period.style(),
                expected: st,
            }),
            _ => Ok(()),
        }
    }

    /// Recorded periods, oldest first.
    pub fn periods(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT period FROM submissions ORDER BY period")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    /// Per-township, per-unit results of a run, ready to store (IDs already hashed).
    pub fn tally(
        &self,
        schema: &Schema,
        findings: &[Finding],
        population: &[Population],
    ) -> BTreeMap<String, BTreeMap<UnitKey, Tally>> {
        tally(schema, findings, population, &self.salt)
    }

    /// Record one round in one transaction, replacing this period's results for the townships
    /// present in the run.
    pub fn record(&mut self, round: &Round) -> Result<Recorded> {
        self.check_period(round.period)?;
        let tallies = tally(round.schema, round.findings, round.population, &self.salt);
        let path = self.path.clone();
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let stored: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'period_style'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        match stored.as_deref().and_then(Style::from_str_opt) {
            Some(st) if st != round.period.style() => {
                return Err(Error::StyleMismatch {
                    path: path.clone(),
                    period: round.period.to_string(),
                    got: round.period.style(),
                    expected: st,
                });
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('period_style', ?1)",
                    [round.period.style().as_str()],
                )
                .map_err(sql)?;
            }
        }
        tx.execute(
            "INSERT INTO runs (period, recorded_at, schema_name, schema_version, tool_version)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                round.period.as_str(),
                chrono::Utc::now().to_rfc3339(),
                round.schema.name,
                round.schema.version,
                round.tool_version
            ],
        )
        .map_err(sql)?;
        let run_id = tx.last_insert_rowid();
        for i in round.inputs {
            tx.execute(
                "INSERT INTO run_inputs (run_id, file, sha256) VALUES (?1, ?2, ?3)",
                params![run_id, i.name, i.sha256],
            )
            .map_err(sql)?;
        }
        if let Some(f) = self.checkpoint {
            f(Checkpoint::AfterRun);
        }
        let mut replaced = Vec::new();
        let mut units = 0;
        for (township, tunits) in &tallies {
            let old: Option<i64> = tx
                .query_row(
                    "SELECT id FROM submissions WHERE period = ?1 AND township = ?2",
                    params![round.period.as_str(), township],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            if let Some(old) = old {
                for t in ["fingerprints", "unit_rules", "unit_results"] {
                    tx.execute(&format!("DELETE FROM {t} WHERE submission_id = ?1"), [old])
                        .map_err(sql)?;
                }
                tx.execute("DELETE FROM submissions WHERE id = ?1", [old])
                    .map_err(sql)?;
                replaced.push(township.clone());
            }
            tx.execute(
                "INSERT INTO submissions (period, township, run_id) VALUES (?1, ?2, ?3)",
                params![round.period.as_str(), township, run_id],
            )
            .map_err(sql)?;
            let sub = tx.last_insert_rowid();
            let mut ins_unit = tx
                .prepare_cached(
                    "INSERT INTO unit_results
                     (submission_id, level, path, rows, households, errors, warnings)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            let mut ins_rule = tx
                .prepare_cached(
                    "INSERT INTO unit_rules (submission_id, level, path, rule, errors, warnings)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            let mut ins_print = tx
                .prepare_cached(
                    "INSERT INTO fingerprints
                     (submission_id, level, path, rule, household, person, n)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            for ((level, upath), t) in tunits {
                let joined = join_path(upath);
                ins_unit
                    .execute(params![
                        sub,
                        level,
                        joined,
                        n(t.rows),
                        n(t.households.len() as u64),
                        n(t.errors),
                        n(t.warnings)
                    ])
                    .map_err(sql)?;
                for (rule, (e, w)) in &t.rules {
                    ins_rule
                        .execute(params![sub, level, joined, rule, n(*e), n(*w)])
                        .map_err(sql)?;
                }
                units += 1;
            }
            if let Some(f) = self.checkpoint {
                f(Checkpoint::AfterUnits);
            }
            for ((level, upath), t) in tunits {
                let joined = join_path(upath);
                for ((rule, hh, person), k) in &t.prints {
                    ins_print
                        .execute(params![sub, level, joined, rule, hh, person, n(*k)])
                        .map_err(sql)?;
                }
            }
        }
        if let Some(f) = self.checkpoint {
            f(Checkpoint::BeforeCommit);
        }
        tx.commit().map_err(sql)?;
        Ok(Recorded {
            townships: tallies.keys().cloned().collect(),
            replaced,
            units,
        })
    }

    /// Remove every result of a period (an explicitly mistaken round). Returns the townships
    /// removed.
    pub fn forget(&mut self, period: &Period) -> Result<Vec<String>> {
        let path = self.path.clone();
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let townships: Vec<String> = {
            let mut st = tx
                .prepare("SELECT township FROM submissions WHERE period = ?1 ORDER BY township")
                .map_err(sql)?;
            st.query_map([period.as_str()], |r| r.get(0))
                .map_err(sql)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql)?
        };
        if townships.is_empty() {
            return Err(Error::NoSuchPeriod {
                path: path.clone(),
                period: period.to_string(),
            });
        }
        for t in ["fingerprints", "unit_rules", "unit_results"] {
            tx.execute(
                &format!(
                    "DELETE FROM {t} WHERE submission_id IN
                     (SELECT id FROM submissions WHERE period = ?1)"
                ),
                [period.as_str()],
            )
            .map_err(sql)?;
        }
        tx.execute(
            "DELETE FROM submissions WHERE period = ?1",
            [period.as_str()],
        )
        .map_err(sql)?;
        tx.execute(
            "DELETE FROM run_inputs WHERE run_id IN (SELECT id FROM runs WHERE period = ?1)",
            [period.as_str()],
        )
        .map_err(sql)?;
        tx.execute("DELETE FROM runs WHERE period = ?1", [period.as_str()])
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(townships)
    }

    /// Every unit's rounds (summed over townships), oldest first, up to and including `upto`.
    /// Each query below selects period, level and path as its first three columns.
    pub fn load(&self, upto: Option<&Period>) -> Result<BTreeMap<UnitKey, Vec<RoundStat>>> {
        let upto = upto.map_or("\u{10ffff}".to_string(), |p| p.to_string());
        let mut out: BTreeMap<UnitKey, BTreeMap<String, RoundStat>> = BTreeMap::new();
        let q = |e| self.sql(e);
        let mut st = self
            .conn
            .prepare(
                "SELECT s.period, u.level, u.path, u.rows, u.households, u.errors, u.warnings
                 FROM unit_results u JOIN submissions s ON s.id = u.submission_id
                 WHERE s.period <= ?1",
            )
            .map_err(q)?;
        let mut rows = st.query([&upto]).map_err(q)?;
        while let Some(r) = rows.next().map_err(q)? {
            let (period, key) = period_and_unit(r).map_err(q)?;
            let one = RoundStat {
                period: period.clone(),
                rows: count(r, 3).map_err(q)?,
                households: count(r, 4).map_err(q)?,
                errors: count(r, 5).map_err(q)?,
                warnings: count(r, 6).map_err(q)?,
                ..RoundStat::default()
            };
            out.entry(key)
                .or_default()
                .entry(period.clone())
                .or_insert_with(|| RoundStat {
                    period,
                    ..RoundStat::default()
                })
                .add(&one);
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT s.period, u.level, u.path, u.rule, u.errors, u.warnings
                 FROM unit_rules u JOIN submissions s ON s.id = u.submission_id
                 WHERE s.period <= ?1",
            )
            .map_err(q)?;
        let mut rows = st.query([&upto]).map_err(q)?;
        while let Some(r) = rows.next().map_err(q)? {
            let (period, key) = period_and_unit(r).map_err(q)?;
            if let Some(rs) = out.get_mut(&key).and_then(|m| m.get_mut(&period)) {
                let x = rs.rules.entry(r.get(3).map_err(q)?).or_default();
                x.0 += count(r, 4).map_err(q)?;
                x.1 += count(r, 5).map_err(q)?;
            }
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT s.period, f.level, f.path, f.rule, f.household, f.person, f.n
                 FROM fingerprints f JOIN submissions s ON s.id = f.submission_id
                 WHERE s.period <= ?1",
            )
            .map_err(q)?;
        let mut rows = st.query([&upto]).map_err(q)?;
        while let Some(r) = rows.next().map_err(q)? {
            let (period, key) = period_and_unit(r).map_err(q)?;
            if let Some(rs) = out.get_mut(&key).and_then(|m| m.get_mut(&period)) {
                let p = (
                    r.get(3).map_err(q)?,
                    r.get(4).map_err(q)?,
                    r.get(5).map_err(q)?,
                );
                *rs.prints.entry(p).or_default() += count(r, 6).map_err(q)?;
            }
        }
        Ok(out
            .into_iter()
            .map(|(k, m)| (k, m.into_values().collect()))
            .collect())
    }

    /// Fill `repeat` of every unit of a run. With `period` (the run was just recorded as that
    /// period) the ladder is read from the ledger up to that period; without, the run is
    /// appended to the ledger's rounds as a hypothetical next round (nothing is written).
    pub fn annotate(
        &self,
        schema: &Schema,
        period: Option<&Period>,
        findings: &[Finding],
        population: &[Population],
        units: &mut [UnitReport],
        lang: Lang,
    ) -> Result<()> {
        let mut history = self.load(period)?;
        if period.is_none() {
            let current = sum_townships(&self.tally(schema, findings, population), "");
            for (key, stat) in current {
                history.entry(key).or_default().push(stat);
            }
        }
        for u in units.iter_mut() {
            let key = (u.level.clone(), u.path.clone());
            u.repeat = history
                .get(&key)
                .and_then(|rounds| ladder(rounds, &schema.policy.ladder, lang));
        }
        Ok(())
    }
}

/// Sum per-township tallies into one round per unit, labelled `period`.
pub fn sum_townships(
    tallies: &BTreeMap<String, BTreeMap<UnitKey, Tally>>,
    period: &str,
) -> BTreeMap<UnitKey, RoundStat> {
    let mut out: BTreeMap<UnitKey, RoundStat> = BTreeMap::new();
    for units in tallies.values() {
        for (key, t) in units {
            let one = RoundStat {
                period: period.to_string(),
                rows: t.rows,
                households: t.households.len() as u64,
                errors: t.errors,
                warnings: t.warnings,
                rules: t.rules.clone(),
                prints: t.prints.clone(),
            };
            out.entry(key.clone())
                .or_insert_with(|| RoundStat {
                    period: period.to_string(),
                    ..RoundStat::default()
                })
                .add(&one);
        }
    }
    out
}

/// Counts are u64 in memory and INTEGER (i64) in SQLite; neither side can realistically overflow.
fn n(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

fn count(r: &rusqlite::Row, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
}

/// Unit paths are stored as JSON arrays, so no cell content (hostile input included) can make
/// two paths collide.
fn join_path(p: &[String]) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

fn split_path(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_else(|_| vec![s.to_string()])
}

/// One unit's results in one township for one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub rows: u64,
    pub households: BTreeSet<String>,
    pub errors: u64,
    pub warnings: u64,
    pub rules: BTreeMap<String, (u64, u64)>,
    pub prints: BTreeMap<Print, u64>,
}

fn cell<'a>(cells: &'a [(String, String)], level: &str) -> &'a str {
    cells
        .iter()
        .find(|(k, _)| k == level)
        .map_or(UNIT_BLANK, |(_, v)| {
            if v.trim().is_empty() {
                UNIT_BLANK
            } else {
                v.as_str()
            }
        })
}

/// A unit's path at `level`, as `attribute` builds it: hierarchical levels take their prefix,
/// an assist dimension stands alone.
fn unit_path(schema: &Schema, cells: &[(String, String)], level: &str) -> Vec<String> {
    match schema.units.levels.iter().position(|l| l == level) {
        Some(pos) => schema
            .units
            .levels
            .iter()
            .take(pos + 1)
            .map(|l| cell(cells, l).to_string())
            .collect(),
        None => vec![cell(cells, level).to_string()],
    }
}

/// The salted hash identifying the person (or, without an ID number, the column) a finding is
/// about, so a fingerprint survives row reordering but never reveals the ID.
fn person_hash(schema: &Schema, f: &Finding, salt: &str) -> String {
    let is_id = f
        .column
        .as_deref()
        .and_then(|c| schema.field(c))
        .is_some_and(|fd| fd.ty == FieldType::IdNumber);
    let subject = match (&f.value, is_id) {
        (Some(v), true) if !v.trim().is_empty() => format!("id:{}", v.trim().to_uppercase()),
        _ => format!("col:{}", f.column.as_deref().unwrap_or("")),
    };
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(subject.as_bytes());
    hex(&h.finalize())
}

fn tally(
    schema: &Schema,
    findings: &[Finding],
    population: &[Population],
    salt: &str,
) -> BTreeMap<String, BTreeMap<UnitKey, Tally>> {
    let township_level = schema.units.levels.first();
    let township = |cells: &[(String, String)]| {
        township_level.map_or(String::new(), |l| cell(cells, l).to_string())
    };
    let levels: Vec<&str> = schema.unit_levels().collect();
    let mut out: BTreeMap<String, BTreeMap<UnitKey, Tally>> = BTreeMap::new();
    for p in population {
        let t = out.entry(township(&p.unit)).or_default();
        for level in &levels {
            let e = t
                .entry((level.to_string(), unit_path(schema, &p.unit, level)))
                .or_default();
            e.rows += p.rows as u64;
            e.households.extend(p.households.iter().cloned());
        }
    }
    for f in findings {
        let Some(cells) = &f.unit else { continue };
        let person = person_hash(schema, f, salt);
        let t = out.entry(township(cells)).or_default();
        for level in &levels {
            let e = t
                .entry((level.to_string(), unit_path(schema, cells, level)))
                .or_default();
            let r = e.rules.entry(f.rule.clone()).or_default();
            match f.severity {
                Severity::Error => {
                    e.errors += 1;
                    r.0 += 1;
                }
                Severity::Warning => {
                    e.warnings += 1;
                    r.1 += 1;
                }
            }
            *e.prints
                .entry((
                    f.rule.clone(),
                    f.household.clone().unwrap_or_default(),
                    person.clone(),
                ))
                .or_default() += 1;
        }
    }
    out
}

/// Built-in Article 27(6) actions, used when the schema's `[policy.ladder]` has none.
const ACTIONS: [&str; 4] = [
    "无",
    "通报批评，约谈单位负责人",
    "对相关责任人诫勉谈话或停职检查",
    "对相关责任人调离工作岗位",
];
const ACTIONS_EN: [&str; 4] = [
    "none",
    "public criticism (通报批评) and a talk with the unit's head (约谈)",
    "formal warning (诫勉谈话) or suspension for inspection (停职检查) of those responsible",
    "removal of those responsible from their posts (调离工作岗位)",
];

/// The action text for a level, from the schema's ladder or the built-in texts.
pub fn action(ladder: &Ladder, level: u8, lang: Lang) -> String {
    let i = usize::from(level.min(3));
    let (custom, builtin) = match lang {
        Lang::Zh => (&ladder.actions, &ACTIONS),
        Lang::En => (&ladder.actions_en, &ACTIONS_EN),
    };
    custom.get(i).filter(|s| !s.trim().is_empty()).map_or_else(
        || builtin.get(i).copied().unwrap_or("").to_string(),
        Clone::clone,
    )
}

/// Whether a round is an offence under the ladder.
pub fn offends(r: &RoundStat, ladder: &Ladder) -> bool {
    r.errors > 0 && r.errors >= u64::from(ladder.min_errors)
}

/// Multiset comparison of two rounds' fingerprints: (fixed, persisting, new).
pub fn compare_prints(prev: &BTreeMap<Print, u64>, cur: &BTreeMap<Print, u64>) -> (u64, u64, u64) {
    let persisting: u64 = cur
        .iter()
        .map(|(p, n)| (*n).min(prev.get(p).copied().unwrap_or(0)))
        .sum();
    let prev_total: u64 = prev.values().sum();
    let cur_total: u64 = cur.values().sum();
    (
        prev_total.saturating_sub(persisting),
        persisting,
        cur_total.saturating_sub(persisting),
    )
}

/// Where a unit stands after `rounds` (its recorded rounds, oldest first, the last being the
/// round judged). `None` without rounds.
pub fn ladder(rounds: &[RoundStat], ladder_policy: &Ladder, lang: Lang) -> Option<Repeat> {
    let latest = rounds.last()?;
    let offending = |r: &RoundStat| offends(r, ladder_policy);
    let periods_with_errors = rounds.iter().filter(|r| offending(r)).count();
    let consecutive = rounds.iter().rev().take_while(|r| offending(r)).count();
    let level: u8 = if !offending(latest) {
        0
    } else if periods_with_errors >= ladder_policy.repeated_rounds.max(1) as usize
        || latest.error_rate() > ladder_policy.serious_error_rate
    {
        3
    } else if consecutive >= 2 {
        2
    } else {
        1
    };
    let prev = rounds.len().checked_sub(2).and_then(|i| rounds.get(i));
    let repeated_rules = prev.map_or_else(Vec::new, |prev| {
        latest
            .rules
            .iter()
            .filter(|(rule, (e, _))| *e > 0 && prev.rules.get(*rule).is_some_and(|(pe, _)| *pe > 0))
            .map(|(rule, _)| rule.clone())
            .collect()
    });
    let (fixed, persisting, new) = match prev {
        Some(prev) => {
            let (f, p, n) = compare_prints(&prev.prints, &latest.prints);
            (Some(f), Some(p), Some(n))
        }
        None => (None, None, None),
    };
    let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Some(Repeat {
        periods_with_errors: narrow(periods_with_errors as u64),
        consecutive: narrow(consecutive as u64),
        level,
        action: action(ladder_policy, level, lang),
        repeated_rules,
        fixed: fixed.map(narrow),
        persisting: persisting.map(narrow),
        new: new.map(narrow),
    })
}

/// The ledger side of one `check` run: opened and validated before any input is read.
#[derive(Debug)]
pub struct Session {
    pub ledger: Ledger,
    /// `--record PERIOD`; without it the ledger is only read.
    pub period: Option<Period>,
}

impl Session {
    /// `None` when neither `--record` nor `--ledger` is given: a clerk's pre-upload check
    /// neither reads nor writes a ledger. A bad period is refused before the file is opened.
    pub fn start(record: Option<&str>, ledger_flag: Option<&Path>) -> Result<Option<Session>> {
        if record.is_none() && ledger_flag.is_none() {
            return Ok(None);
        }
        let period = record.map(parse_period).transpose()?;
        Session::open(&resolve_path(ledger_flag), period).map(Some)
    }

    /// Open (or create) the ledger at `path` for a period already parsed: the first side effect
    /// of a run, once every argument has been validated.
    pub fn open(path: &Path, period: Option<Period>) -> Result<Session> {
        let ledger = Ledger::open(path)?;
        if let Some(p) = &period {
            ledger.check_period(p)?;
        }
        Ok(Session { ledger, period })
    }

    /// Record the run (with `--record`) and fill every unit's `repeat`. Returns the period
    /// label for the report. A run with unreadable inputs is not recorded: its counts would
    /// understate the round.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        schema: &Schema,
        files: &[PathBuf],
        tool_version: &str,
        inputs_failed: bool,
        findings: &[Finding],
        population: &[Population],
        units: &mut [UnitReport],
        lang: Lang,
    ) -> Result<Option<String>> {
        if let Some(period) = &self.period {
            if inputs_failed {
                return Err(Error::NotRecorded {
                    period: period.to_string(),
                });
            }
            let inputs = files
                .iter()
                .map(|f| InputFile::hash(f))
                .collect::<Result<Vec<_>>>()?;
            self.ledger.record(&Round {
                period,
                schema,
                tool_version,
                inputs: &inputs,
                findings,
                population,
            })?;
        }
        self.ledger.annotate(
            schema,
            self.period.as_ref(),
            findings,
            population,
            units,
            lang,
        )?;
        Ok(self.period.as_ref().map(ToString::to_string))
    }
}

/// The period and the unit (level, path) in the first three columns of a ledger row.
fn period_and_unit(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, UnitKey)> {
    let period: String = r.get(0)?;
    let level: String = r.get(1)?;
    let path: String = r.get(2)?;
    Ok((period, (level, split_path(&path))))
}
