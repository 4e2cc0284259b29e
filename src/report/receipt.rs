//! The receipt of a run (`check --receipt FILE`) and its verification (`verify-receipt`).
//!
//! A receipt names the exact bytes that were checked (SHA-256 per input), under which schema
//! (name, version, SHA-256 of the resolved rules), reference date and povcheck version, when, and
//! with what result. `verify-receipt` recomputes the hashes of the files it is given and passes
//! only when they are the same set of bytes and the run had no error. The `digest` field is a
//! SHA-256 over the rest of the receipt: it catches a damaged or carelessly edited receipt, but
//! with no secret key anyone can recompute it, so a receipt is evidence of a run, not a
//! signature (docs/receipt.md).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::finding::Lang;
use crate::schema::Schema;

/// The `format` a receipt of this version carries; verification refuses any other.
pub const FORMAT: &str = "povcheck-receipt/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    pub tool: ToolId,
    pub schema: SchemaHash,
    pub as_of: String,
    /// When the run finished, RFC 3339 UTC.
    pub checked_at: String,
    /// `--select` / `--ignore` as given: a receipt of a partial run never passes.
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub inputs: Vec<InputHash>,
    pub counts: Counts,
    /// No error finding and no unreadable input, no restricted rule set.
    pub passed: bool,
    /// SHA-256 of this receipt serialised with `digest` empty.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolId {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaHash {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputHash {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub rows: usize,
    pub households: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Inputs (or sheets) that could not be read, and other run errors.
    pub run_errors: usize,
}

/// Why a receipt could not be written or verified.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The receipt or an input could not be read at all (exit 2).
    #[error("{0}")]
    #[diagnostic(code(povcheck::receipt::unreadable))]
    Unreadable(String),
    /// The receipt does not vouch for these inputs (exit 1).
    #[error("{0}")]
    #[diagnostic(code(povcheck::receipt::rejected))]
    Rejected(String),
}

impl Error {
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Error::Unreadable(_))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 and length of a file's bytes, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        len += n as u64;
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok((hex(&h.finalize()), len))
}

/// A hash of the resolved schema (after `extends`, `disable` and overrides): every field, code
/// list, rule and policy value. Taken over the loaded form rather than the TOML text, so two
/// files that resolve to the same rules agree; comparable within one povcheck version.
pub fn schema_hash(schema: &Schema) -> String {
    hex(&Sha256::digest(format!("{schema:?}").as_bytes()))
}

impl Receipt {
    fn compute_digest(&self) -> String {
        let mut bare = self.clone();
        bare.digest = String::new();
        let text = serde_json::to_string(&bare).unwrap_or_default();
        hex(&Sha256::digest(text.as_bytes()))
    }

    /// Whether the recorded result is a pass, from the counts alone.
    fn would_pass(&self) -> bool {
        self.counts.errors == 0
            && self.counts.run_errors == 0
            && self.select.is_empty()
            && self.ignore.is_empty()
            && !self.inputs.is_empty()
    }
}

/// What a run knows when it writes its receipt.
pub struct RunFacts<'a> {
    pub files: &'a [PathBuf],
    pub schema: &'a Schema,
    pub as_of: String,
    pub select: &'a [String],
    pub ignore: &'a [String],
    pub rows: usize,
    pub households: usize,
    pub errors: usize,
    pub warnings: usize,
    pub run_errors: usize,
}

/// Build the receipt of a finished run, hashing each input now.
pub fn build(facts: &RunFacts, lang: Lang) -> Result<Receipt, Error> {
    let mut inputs = Vec::with_capacity(facts.files.len());
    for path in facts.files {
        let (sha256, bytes) = hash_file(path).map_err(|e| {
            Error::Unreadable(match lang {
                Lang::Zh => format!("{}: 无法计算回执哈希: {e}", path.display()),
                Lang::En => format!("{}: cannot hash for the receipt: {e}", path.display()),
            })
        })?;
        inputs.push(InputHash {
            file: path.display().to_string(),
            bytes,
            sha256,
        });
    }
    let mut r = Receipt {
        format: FORMAT.into(),
        tool: ToolId {
            name: "povcheck".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        schema: SchemaHash {
            name: facts.schema.name.clone(),
            version: facts.schema.version.clone(),
            sha256: schema_hash(facts.schema),
        },
        as_of: facts.as_of.clone(),
        checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        select: facts.select.to_vec(),
        ignore: facts.ignore.to_vec(),
        inputs,
        counts: Counts {
            rows: facts.rows,
            households: facts.households,
            errors: facts.errors,
            warnings: facts.warnings,
            run_errors: facts.run_errors,
        },
        passed: false,
        digest: String::new(),
    };
    r.passed = r.would_pass();
    r.digest = r.compute_digest();
    Ok(r)
}

/// Write `receipt` as pretty JSON to `path`.
pub fn write(receipt: &Receipt, path: &Path, lang: Lang) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(receipt).unwrap_or_default() + "\n";
    std::fs::write(path, text).map_err(|e| {
        Error::Unreadable(match lang {
            Lang::Zh => format!("{}: 回执无法写入: {e}", path.display()),
            Lang::En => format!("{}: cannot write the receipt: {e}", path.display()),
        })
    })
}

/// What a successful verification vouches for, for the message.
#[derive(Debug)]
pub struct Verified {
    pub receipt: Receipt,
}

/// Verify that `inputs` are exactly the files `receipt_path` vouches for, and that the run
/// passed. Inputs are matched by content, not name: an upload step may rename files.
pub fn verify(receipt_path: &Path, inputs: &[PathBuf], lang: Lang) -> Result<Verified, Error> {
    let zh = lang == Lang::Zh;
    let rp = receipt_path.display();
    let text = std::fs::read(receipt_path).map_err(|e| {
        Error::Unreadable(if zh {
            format!("{rp}: 回执无法读取: {e}")
        } else {
            format!("{rp}: cannot read the receipt: {e}")
        })
    })?;
    let receipt: Receipt = serde_json::from_slice(&text).map_err(|e| {
        Error::Rejected(if zh {
            format!("{rp}: 回执已损坏或被改动，不是完整的 povcheck 回执（{e}）")
        } else {
            format!("{rp}: the receipt is damaged or edited, not a whole povcheck receipt ({e})")
        })
    })?;
    let reject = |zh_msg: String, en_msg: String| {
        Err(Error::Rejected(format!(
            "{rp}: {}",
            if zh { zh_msg } else { en_msg }
        )))
    };
    if receipt.format != FORMAT {
        return reject(
            format!("回执格式 {} 无法识别（应为 {FORMAT}）", receipt.format),
            format!(
                "receipt format {} not recognised (expected {FORMAT})",
                receipt.format
            ),
        );
    }
    if receipt.digest != receipt.compute_digest() || receipt.passed != receipt.would_pass() {
        return reject(
            "回执内容与其校验值不符，已被改动或损坏".into(),
            "the receipt does not match its digest: it was edited or damaged".into(),
        );
    }
    if !receipt.select.is_empty() || !receipt.ignore.is_empty() {
        return reject(
            "该次检查只运行了部分规则（--select/--ignore），不能作为检查通过的凭据".into(),
            "that run checked only some rules (--select/--ignore); it cannot vouch for a pass"
                .into(),
        );
    }
    if receipt.counts.run_errors > 0 {
        return reject(
            format!(
                "该次检查有 {} 个输入无法读取或运行出错，未通过",
                receipt.counts.run_errors
            ),
            format!(
                "that run had {} unreadable input(s) or run errors; it did not pass",
                receipt.counts.run_errors
            ),
        );
    }
    if receipt.counts.errors > 0 {
        return reject(
            format!("该次检查发现 {} 个错误，未通过", receipt.counts.errors),
            format!(
                "that run found {} error(s); it did not pass",
                receipt.counts.errors
            ),
        );
    }
    // Same set of bytes: every given file is one the receipt names, and none is missing.
    let mut wanted: BTreeMap<&str, Vec<&InputHash>> = BTreeMap::new();
    for i in &receipt.inputs {
        wanted.entry(i.sha256.as_str()).or_default().push(i);
    }
    let mut unknown = Vec::new();
    // Files whose bytes the run did check, but given more often than it checked them (the
    // same file twice): not "different bytes", which would send a clerk hunting for an edit.
    let mut repeated = Vec::new();
    for path in inputs {
        let (sha, _) = hash_file(path).map_err(|e| {
            Error::Unreadable(if zh {
                format!("{}: 无法读取: {e}", path.display())
            } else {
                format!("{}: cannot read: {e}", path.display())
            })
        })?;
        match wanted.get_mut(sha.as_str()).map(|v| v.pop()) {
            Some(Some(_)) => {}
            Some(None) => repeated.push(path.display().to_string()),
            None => unknown.push(path.display().to_string()),
        }
    }
    if !unknown.is_empty() {
        return reject(
            format!(
                "这些文件不是该次检查过的文件（内容不同或未检查）: {}",
                unknown.join("、")
            ),
            format!(
                "not the files that run checked (different bytes, or not checked): {}",
                unknown.join(", ")
            ),
        );
    }
    if !repeated.is_empty() {
        return reject(
            format!(
                "这些文件与已给出的文件内容相同，多于该次检查的份数（重复给出？）: {}",
                repeated.join("、")
            ),
            format!(
                "these files repeat the bytes of files already given, more often than that run \
                 checked them (given twice?): {}",
                repeated.join(", ")
            ),
        );
    }
    let missing: Vec<&str> = wanted.values().flatten().map(|i| i.file.as_str()).collect();
    if !missing.is_empty() {
        return reject(
            format!("缺少该次检查过的文件: {}", missing.join("、")),
            format!("files that run checked are missing: {}", missing.join(", ")),
        );
    }
    Ok(Verified { receipt })
}
