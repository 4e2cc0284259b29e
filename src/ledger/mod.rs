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

mod error;
mod ladder;
mod session;
mod store;
mod tallies;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::check::Population;
use crate::finding::Finding;
use crate::schema::Schema;

pub use error::{Error, NotLedgerReason};
pub use ladder::{action, compare_prints, ladder, offends};
pub use period::{Period, Style};
pub use session::Session;
pub use store::{APPLICATION_ID, Checkpoint, Ledger, SCHEMA_VERSION};
pub use tallies::{Tally, sum_townships};

/// Used when neither `--ledger` nor `POVCHECK_LEDGER` names a file.
pub const DEFAULT_PATH: &str = "povcheck-ledger.sqlite";
/// Environment variable naming the ledger file; `--ledger` overrides it.
pub const ENV_PATH: &str = "POVCHECK_LEDGER";

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
