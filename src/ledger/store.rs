//! The SQLite file: opening and migrating it, and the transactions that record, forget and load
//! rounds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::attribute::UnitReport;
use crate::check::Population;
use crate::finding::{Finding, Lang};
use crate::schema::Schema;

use super::tallies::tally;
use super::{
    Error, NotLedgerReason, Period, Recorded, Result, Round, RoundStat, Style, Tally, UnitKey,
    ladder, sum_townships,
};

/// `PRAGMA application_id` of a povcheck ledger ("PovL"): how a ledger is told from any other
/// SQLite file before anything is written to it.
pub const APPLICATION_ID: i32 = 0x506f_764c;
/// The ledger's table layout version (`PRAGMA user_version`), one per migration.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];

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

/// The period and the unit (level, path) in the first three columns of a ledger row.
fn period_and_unit(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, UnitKey)> {
    let period: String = r.get(0)?;
    let level: String = r.get(1)?;
    let path: String = r.get(2)?;
    Ok((period, (level, split_path(&path))))
}
