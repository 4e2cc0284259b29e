//! Key tables: per input, one Parquet file of the rows' keys, for the cross-shard pass
//! (`povcheck dataset`). ID and phone numbers are stored only as keyed hashes (HMAC-SHA-256 with
//! the run's secret, first 16 bytes), so a table can travel to a cluster without carrying them;
//! equal numbers under the same secret give equal hashes, which is all the dataset rules compare.
//!
//! Columns, exactly: `input` Utf8, `sheet` Utf8 (nullable), `row` UInt32, `seq` UInt64,
//! `household` Utf8 (nullable), `unit_path` Utf8 (JSON `[[level, value], …]`), `town` Utf8,
//! `village` Utf8 (nullable), `id_hash` Binary (nullable), `phone_hash` Binary (nullable),
//! `phone_filled` Boolean. A file is written under a temporary name and renamed, so a reader
//! never sees half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use polars::prelude::*;
use sha2::Sha256;

/// The shortest secret accepted, in bytes: shorter keys make the hashes of the few billion
/// possible ID numbers cheap to tabulate.
pub const MIN_SECRET: usize = 16;

/// Columns of a key table, in order.
pub const COLUMNS: &[&str] = &[
    "input",
    "sheet",
    "row",
    "seq",
    "household",
    "unit_path",
    "town",
    "village",
    "id_hash",
    "phone_hash",
    "phone_filled",
];

/// The HMAC secret; never printed.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret([{} bytes])", self.0.len())
    }
}

/// Why a secret was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("no secret")]
    Missing,
    #[error("secret of {0} bytes")]
    TooShort(usize),
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

impl Secret {
    /// The secret from `--key-file` (its bytes, a final line break dropped), else from
    /// `env` (the value of `POVCHECK_KEY`).
    pub fn load(key_file: Option<&Path>, env: Option<Vec<u8>>) -> Result<Secret, SecretError> {
        let mut bytes = match key_file {
            Some(p) => std::fs::read(p).map_err(|e| SecretError::Unreadable {
                path: p.to_path_buf(),
                reason: e.to_string(),
            })?,
            None => env.ok_or(SecretError::Missing)?,
        };
        // A key file written by `echo` or an editor ends in a line break that is not part of it.
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        if bytes.is_empty() {
            return Err(SecretError::Missing);
        }
        if bytes.len() < MIN_SECRET {
            return Err(SecretError::TooShort(bytes.len()));
        }
        Ok(Secret(bytes))
    }

    /// HMAC-SHA-256 of `value` under the secret, first 16 bytes.
    pub fn hash(&self, value: &str) -> [u8; 16] {
        // new_from_slice fails only for key sizes HMAC cannot take; HMAC takes any.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC accepts a key of any length");
        mac.update(value.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

/// The key table of one input from in-memory key rows (`frame`, the rows of that input, with
/// `id_hash` and `phone_hash` still in clear and unit paths as indices into `units`): the
/// input's name in place of the run's table order, the numbers hashed, and only [`COLUMNS`].
pub fn key_table(
    frame: &DataFrame,
    input: &str,
    secret: &Secret,
    units: &crate::check::shard::UnitRegistry,
) -> PolarsResult<DataFrame> {
    let n = frame.height();
    let hashed = |name: &str| -> PolarsResult<Column> {
        let clear = frame.column(name)?.str()?;
        let v: Vec<Option<Vec<u8>>> = clear
            .iter()
            .map(|v| v.map(|v| secret.hash(v).to_vec()))
            .collect();
        let ca: BinaryChunked = v.iter().map(|o| o.as_deref()).collect();
        Ok(ca.with_name(name.into()).into_column())
    };
    let cols = vec![
        Column::new("input".into(), vec![input; n]),
        frame.column("sheet")?.clone(),
        frame.column("row")?.clone(),
        frame.column("seq")?.clone(),
        frame.column("household")?.clone(),
        {
            let ids = frame.column("unit_path")?.str()?;
            let v: Vec<Option<&str>> = ids.iter().map(|v| v.map(|v| units.resolve(v))).collect();
            Column::new("unit_path".into(), v)
        },
        frame.column("town")?.clone(),
        frame.column("village")?.clone(),
        hashed("id_hash")?,
        hashed("phone_hash")?,
        frame.column("phone_filled")?.clone(),
    ];
    DataFrame::new(n, cols)
}

/// The file name of an input's key table: the input's name with every character other than
/// letters, digits, `.`, `-` and `_` replaced (no directory part, nothing hidden), then a short
/// hash of the whole name so two inputs of the same name in different folders stay apart.
pub fn file_name(input: &str) -> String {
    use sha2::Digest;
    let safe: String = input
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let tail: String = safe
        .chars()
        .rev()
        .take(80)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let digest = Sha256::digest(input.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{tail}.{short}.keys.parquet")
}

/// Write `table` into `dir` as the key table of `input`, atomically; the path written.
pub fn write(dir: &Path, input: &str, table: &mut DataFrame) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(input));
    let mut tmp = tempfile::Builder::new()
        .prefix(".keys-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    ParquetWriter::new(tmp.as_file_mut())
        .with_compression(ParquetCompression::Zstd(None))
        .finish(table)
        .map_err(std::io::Error::other)?;
    tmp.as_file_mut().flush()?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

/// The key tables named by `args`: a directory gives its `*.parquet` files in name order, a
/// file itself; in the order given.
pub fn gather(args: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(a)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_and_short_secrets() {
        assert_eq!(Secret::load(None, None).unwrap_err(), SecretError::Missing);
        assert_eq!(
            Secret::load(None, Some(b"short\n".to_vec())).unwrap_err(),
            SecretError::TooShort(5)
        );
        assert!(Secret::load(None, Some(b"0123456789abcdef".to_vec())).is_ok());
    }

    #[test]
    fn hash_depends_on_secret_and_value() {
        let a = Secret::load(None, Some(b"0123456789abcdef".to_vec())).unwrap();
        let b = Secret::load(None, Some(b"0123456789abcdeF".to_vec())).unwrap();
        assert_eq!(a.hash("x"), a.hash("x"));
        assert_ne!(a.hash("x"), a.hash("y"));
        assert_ne!(a.hash("x"), b.hash("x"));
        // RFC 4231 test case 2 (key "Jefe"; the length check is load's, not hash's).
        let jefe = Secret(b"Jefe".to_vec());
        assert_eq!(
            jefe.hash("what do ya want for nothing?")[..4],
            [0x5b, 0xdc, 0xc1, 0x46]
        );
    }

    #[test]
    fn file_names_stay_in_the_folder() {
        let n = file_name("../a/b c.csv");
        assert!(!n.contains('/') && !n.starts_with('.'), "{n}");
        assert!(n.ends_with(".keys.parquet"));
        assert_ne!(file_name("x/a.csv"), file_name("y/a.csv"));
    }
}
