//! A run's configuration: every argument and the schema validated, the rules compiled (by the
//! schema loader), the exclusion lists read — before any side effect. Nothing here creates a
//! file or opens the ledger, so a typo in any argument leaves nothing behind.
//!
//! Errors are [`UsageError`]s: a typed [`Usage`] rendered in the run's language.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::check::Exclusion;
use crate::finding::Lang;
use crate::ledger::Period;
use crate::read::lists::ListCount;
use crate::read::{self, ReadOptions};
use crate::report::Format;
use crate::schema::{self, Schema};

/// What was wrong with the command line or its inputs, before anything ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// A date argument that is not YYYY-MM-DD.
    BadDate { flag: &'static str, value: String },
    /// A `--record` period in no known style.
    BadPeriod { value: String },
    /// A `--select`/`--ignore` entry that names no rule nor a prefix of one.
    UnknownRuleCode { flag: &'static str, code: String },
    /// `--output` names one of the inputs.
    OutputIsInput { output: PathBuf, input: PathBuf },
    /// `--format xlsx` cannot go to a terminal.
    XlsxNeedsOutput,
    /// `povcheck rule CODE` for a code the schema lacks; `near` are codes one edit away.
    NoSuchRule { code: String, near: Vec<String> },
    /// The report could not be written (`path` None: standard output).
    ReportWrite {
        path: Option<PathBuf>,
        reason: String,
    },
    /// A listing could not be written to standard output.
    WriteFailed { reason: String },
    /// `povcheck sample` could not write its output.
    SampleWrite { path: PathBuf, reason: String },
    /// `--split-by LEVEL` names no unit level of the schema.
    UnknownUnitLevel { level: String, known: Vec<String> },
    /// `--split-by … DIR` is an input file or lies under one, or is a file.
    SplitDir {
        dir: PathBuf,
        input: Option<PathBuf>,
    },
    /// `--keys-out` without a usable secret.
    KeySecret(crate::dataset::keys::SecretError),
    /// `dataset --engine` in no known form.
    BadEngine { value: String },
    /// `dataset --engine standalone|df://…` in a build without the `distributed` feature.
    NoDistributedEngine,
    /// `povcheck dataset` found no key table (or could not list a folder).
    NoKeyTables { reason: Option<String> },
}

impl Usage {
    /// The message and help in `lang`.
    pub fn render(&self, lang: Lang) -> (String, Option<String>) {
        let zh = lang == Lang::Zh;
        match self {
            Usage::BadDate { flag, value } => (
                if zh {
                    format!("{flag}: 日期 {value} 无法识别，应为 YYYY-MM-DD")
                } else {
                    format!("{flag}: date {value} not recognised; expected YYYY-MM-DD")
                },
                None,
            ),
            Usage::BadPeriod { value } => (
                if zh {
                    crate::ledger::Error::BadPeriod(value.clone()).to_string()
                } else {
                    format!(
                        "period {value:?} not recognised; expected YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD (e.g. 2024, 2024-03, 2024-Q1, 2024-03-31)"
                    )
                },
                None,
            ),
            Usage::UnknownRuleCode { flag, code } => {
                if zh {
                    (
                        format!("{flag} {code}: 没有这个规则代码"),
                        Some("povcheck rules 列出全部规则代码".into()),
                    )
                } else {
                    (
                        format!("{flag} {code}: no rule has this code"),
                        Some("povcheck rules lists every rule code".into()),
                    )
                }
            }
            Usage::OutputIsInput { output, input } => {
                if zh {
                    (
                        format!(
                            "--output {} 就是输入文件 {}，写报告会覆盖原始数据",
                            output.display(),
                            input.display()
                        ),
                        Some("换一个报告文件名，例如 --output report.json".into()),
                    )
                } else {
                    (
                        format!(
                            "--output {} is the input file {}; writing the report would overwrite the data",
                            output.display(),
                            input.display()
                        ),
                        Some("choose another report file, e.g. --output report.json".into()),
                    )
                }
            }
            Usage::XlsxNeedsOutput => {
                if zh {
                    (
                        "--format xlsx 需要 --output 指定报告文件".into(),
                        Some("例如: povcheck check FILE --format xlsx --output report.xlsx".into()),
                    )
                } else {
                    (
                        "--format xlsx needs --output for the report file".into(),
                        Some("e.g. povcheck check FILE --format xlsx --output report.xlsx".into()),
                    )
                }
            }
            Usage::NoSuchRule { code, near } => {
                let help = match (near.is_empty(), zh) {
                    (true, true) => "povcheck rules 列出全部规则".to_string(),
                    (true, false) => "povcheck rules lists every rule".to_string(),
                    (false, true) => format!("是否要找: {}", near.join(", ")),
                    (false, false) => format!("did you mean: {}", near.join(", ")),
                };
                let msg = if zh {
                    format!("没有规则 {code}")
                } else {
                    format!("no rule {code}")
                };
                (msg, Some(help))
            }
            Usage::ReportWrite { path, reason } => (
                match (path, zh) {
                    (Some(p), true) => format!("{}: 无法写入报告: {reason}", p.display()),
                    (Some(p), false) => {
                        format!("{}: cannot write the report: {reason}", p.display())
                    }
                    (None, true) => format!("无法写入报告: {reason}"),
                    (None, false) => format!("cannot write the report: {reason}"),
                },
                None,
            ),
            Usage::WriteFailed { reason } => (
                if zh {
                    format!("无法写出: {reason}")
                } else {
                    format!("cannot write: {reason}")
                },
                None,
            ),
            Usage::SampleWrite { path, reason } => (format!("{}: {reason}", path.display()), None),
            Usage::UnknownUnitLevel { level, known } => {
                if zh {
                    (
                        format!("--split-by {level}: 规则方案中没有这个单位层级"),
                        Some(format!("可用的层级: {}", known.join("、"))),
                    )
                } else {
                    (
                        format!("--split-by {level}: the schema has no such unit level"),
                        Some(format!("unit levels: {}", known.join(", "))),
                    )
                }
            }
            Usage::SplitDir { dir, input } => match (input, zh) {
                (Some(i), true) => (
                    format!(
                        "--split-by 目录 {} 是输入文件 {} 或在其中，写分包会覆盖原始数据",
                        dir.display(),
                        i.display()
                    ),
                    Some("换一个目录，例如 --split-by 行政村 packets".into()),
                ),
                (Some(i), false) => (
                    format!(
                        "--split-by directory {} is (or is inside) the input {}; writing packets would overwrite the data",
                        dir.display(),
                        i.display()
                    ),
                    Some("choose another directory, e.g. --split-by 行政村 packets".into()),
                ),
                (None, true) => (
                    format!("--split-by 目录 {} 已存在且不是目录", dir.display()),
                    None,
                ),
                (None, false) => (
                    format!(
                        "--split-by directory {} exists and is not a directory",
                        dir.display()
                    ),
                    None,
                ),
            },
            Usage::KeySecret(e) => key_secret_text(e, zh),
            Usage::BadEngine { value } => (
                if zh {
                    format!("--engine {value}: 无法识别")
                } else {
                    format!("--engine {value}: not recognised")
                },
                Some(
                    "local、standalone 或 df://HOST:PORT / local, standalone or df://HOST:PORT"
                        .into(),
                ),
            ),
            Usage::NoDistributedEngine => (
                if zh {
                    "此版本没有分布式引擎: cargo build --features distributed".into()
                } else {
                    "this build has no distributed engine: cargo build --features distributed"
                        .into()
                },
                Some(
                    if zh {
                        "或用 --engine local"
                    } else {
                        "or use --engine local"
                    }
                    .into(),
                ),
            ),
            Usage::NoKeyTables { reason } => (
                match (reason, zh) {
                    (Some(r), true) => format!("无法列出键表: {r}"),
                    (Some(r), false) => format!("cannot list the key tables: {r}"),
                    (None, true) => "没有找到键表（*.parquet）".into(),
                    (None, false) => "no key table (*.parquet) found".into(),
                },
                Some(
                    if zh {
                        "先用 povcheck check FILES --keys-out DIR 写出键表"
                    } else {
                        "write them first with povcheck check FILES --keys-out DIR"
                    }
                    .into(),
                ),
            ),
        }
    }

    /// This usage error as a diagnostic in `lang`.
    pub fn in_lang(self, lang: Lang) -> UsageError {
        let (message, help) = self.render(lang);
        UsageError {
            usage: self,
            message,
            help,
        }
    }
}

fn key_secret_text(e: &crate::dataset::keys::SecretError, zh: bool) -> (String, Option<String>) {
    use crate::dataset::keys::{MIN_SECRET, SecretError};
    let help = Some(if zh {
        format!(
            "例如 head -c 32 /dev/urandom | base64 > povcheck.key，用 --key-file povcheck.key 给出（至少 {MIN_SECRET} 字节）；各分片须用同一密钥，密钥不随键表发送"
        )
    } else {
        format!(
            "e.g. head -c 32 /dev/urandom | base64 > povcheck.key and --key-file povcheck.key ({MIN_SECRET} bytes or more); use the same secret for every shard and never send it with the key tables"
        )
    });
    let msg = match (e, zh) {
        (SecretError::Missing, true) => {
            "--keys-out 需要密钥: 用 --key-file FILE 或环境变量 POVCHECK_KEY 给出".to_string()
        }
        (SecretError::Missing, false) => {
            "--keys-out needs a secret: give --key-file FILE or the environment variable POVCHECK_KEY".to_string()
        }
        (SecretError::TooShort(n), true) => format!("密钥只有 {n} 字节，至少需要 {MIN_SECRET} 字节"),
        (SecretError::TooShort(n), false) => {
            format!("the secret has {n} bytes; {MIN_SECRET} or more are needed")
        }
        (SecretError::Unreadable { path, reason }, true) => {
            format!("{}: 无法读取密钥文件: {reason}", path.display())
        }
        (SecretError::Unreadable { path, reason }, false) => {
            format!("{}: cannot read the key file: {reason}", path.display())
        }
    };
    (msg, help)
}

/// A [`Usage`] rendered for the user: what `main` prints.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub usage: Usage,
    message: String,
    help: Option<String>,
}

impl miette::Diagnostic for UsageError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        // The ledger's code for a bad period, as before it was checked here; the others are
        // plain usage errors that never carried one.
        match self.usage {
            Usage::BadPeriod { .. } => Some(Box::new("povcheck::ledger::bad_period")),
            _ => None,
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display + 'a>)
    }
}

/// A ledger error worded in the run's language: Chinese as the ledger words it, English from
/// [`crate::ledger::Error::message_en`].
#[derive(Debug)]
pub struct LedgerError {
    pub error: crate::ledger::Error,
    pub lang: Lang,
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lang {
            Lang::Zh => self.error.fmt(f),
            Lang::En => f.write_str(&self.error.message_en()),
        }
    }
}

impl std::error::Error for LedgerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

impl miette::Diagnostic for LedgerError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        miette::Diagnostic::code(&self.error)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self.lang {
            Lang::Zh => miette::Diagnostic::help(&self.error),
            Lang::En => self
                .error
                .help_en()
                .map(|h| Box::new(h) as Box<dyn std::fmt::Display + 'a>),
        }
    }
}

/// Why configuration failed: a usage error, an invalid schema, an unreadable exclusion list.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Schema(Box<schema::Error>),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] read::Error),
}

impl From<schema::Error> for ConfigError {
    fn from(e: schema::Error) -> Self {
        ConfigError::Schema(Box::new(e))
    }
}

/// The ledger a run will use; opened by the pipeline, not here.
#[derive(Debug, Clone)]
pub struct LedgerPlan {
    pub path: PathBuf,
    /// `--record PERIOD`; without it the ledger is only read.
    pub period: Option<Period>,
}

/// Everything `check` needs, validated.
#[derive(Debug)]
pub struct CheckConfig {
    pub files: Vec<PathBuf>,
    pub schema: Schema,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub as_of: NaiveDate,
    pub lang: Lang,
    pub read: ReadOptions,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclusions: Vec<Exclusion>,
    /// How many IDs each exclusion list contributed, for the report.
    pub exclusion_lists: Vec<ListCount>,
    pub mask: bool,
    pub ledger: Option<LedgerPlan>,
    pub annotate: Option<PathBuf>,
    /// `--receipt FILE`: where the run's receipt goes.
    pub receipt: Option<PathBuf>,
    pub quiet: bool,
    /// `--split-by LEVEL DIR`: per-unit packets.
    pub split_by: Option<SplitBy>,
    /// `--keys-out DIR` with its secret: a key table per input (docs/scale.md).
    pub keys_out: Option<KeysOut>,
    /// `--buckets`: buckets of the cross-file pass over many files (None: one per two files).
    pub buckets: Option<usize>,
}

/// `--split-by LEVEL DIR`, validated: a unit level of the schema and a directory that is no
/// input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitBy {
    pub level: String,
    pub dir: PathBuf,
}

/// Where key tables go and the secret their hashes are keyed with.
#[derive(Debug)]
pub struct KeysOut {
    pub dir: PathBuf,
    pub secret: crate::dataset::keys::Secret,
}

/// The `check` arguments as given, before validation (the CLI fills it from clap).
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub files: Vec<PathBuf>,
    pub schema: Option<PathBuf>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub as_of: Option<String>,
    pub lang: Lang,
    pub read: ReadOptions,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude_list: Vec<PathBuf>,
    pub mask: bool,
    pub record: Option<String>,
    pub ledger: Option<PathBuf>,
    pub annotate: Option<PathBuf>,
    /// `--receipt FILE`: where the run's receipt goes.
    pub receipt: Option<PathBuf>,
    pub quiet: bool,
    /// `--split-by LEVEL DIR` as given.
    pub split_by: Option<(String, PathBuf)>,
    /// `--keys-out DIR` and `--key-file FILE`.
    pub keys_out: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub buckets: Option<usize>,
}

/// The schema at `path`, or the embedded default.
// As in schema::load: the error ends the run, so its size on the cold path costs nothing.
#[allow(clippy::result_large_err)]
pub fn load_schema(path: Option<&Path>) -> Result<Schema, schema::Error> {
    match path {
        Some(p) => schema::load_path(p),
        None => Ok(schema::default_schema()),
    }
}

/// A YYYY-MM-DD date.
pub fn parse_date(flag: &'static str, s: &str, lang: Lang) -> Result<NaiveDate, UsageError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        Usage::BadDate {
            flag,
            value: s.to_string(),
        }
        .in_lang(lang)
    })
}

/// Every `--select`/`--ignore` entry must name a rule or a prefix of one: a mistyped code would
/// otherwise select nothing and the run would look clean.
fn validate_rule_codes(
    schema: &Schema,
    select: &[String],
    ignore: &[String],
    lang: Lang,
) -> Result<(), UsageError> {
    for (flag, list) in [("--select", select), ("--ignore", ignore)] {
        for code in list {
            let p = code.trim().to_uppercase();
            if p.is_empty() || !schema.rules.iter().any(|r| r.code.starts_with(&p)) {
                return Err(Usage::UnknownRuleCode {
                    flag,
                    code: code.clone(),
                }
                .in_lang(lang));
            }
        }
    }
    Ok(())
}

/// Whether two paths name the same file (also through links or `./`).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `--record PERIOD` / `--ledger FILE` as a plan: nothing is opened here, so a bad period
/// leaves no ledger file behind.
fn ledger_plan(
    record: Option<&str>,
    ledger: Option<&Path>,
    lang: Lang,
) -> Result<Option<LedgerPlan>, UsageError> {
    if record.is_none() && ledger.is_none() {
        return Ok(None);
    }
    let period = match record {
        Some(s) => Some(crate::ledger::parse_period(s).map_err(|_| {
            Usage::BadPeriod {
                value: s.to_string(),
            }
            .in_lang(lang)
        })?),
        None => None,
    };
    Ok(Some(LedgerPlan {
        path: crate::ledger::resolve_path(ledger),
        period,
    }))
}

/// Validate a `check` request. Checks run in the order a clerk most needs to hear about them;
/// the first failure is returned.
pub fn check(req: CheckRequest) -> Result<CheckConfig, ConfigError> {
    let lang = req.lang;
    let ledger = ledger_plan(req.record.as_deref(), req.ledger.as_deref(), lang)?;
    let schema = load_schema(req.schema.as_deref())?;
    validate_rule_codes(&schema, &req.select, &req.ignore, lang)?;
    if let Some(out) = req
        .output
        .iter()
        .chain(&req.receipt)
        .find(|o| req.files.iter().any(|f| same_file(f, o)))
        && let Some(input) = req.files.iter().find(|f| same_file(f, out))
    {
        return Err(Usage::OutputIsInput {
            output: out.clone(),
            input: input.clone(),
        }
        .in_lang(lang)
        .into());
    }
    let split_by = match &req.split_by {
        Some((level, dir)) => Some(validate_split(&schema, level, dir, &req.files, lang)?),
        None => None,
    };
    let as_of = match req.as_of.as_deref().or(schema.as_of.as_deref()) {
        Some(s) => parse_date("--as-of", s, lang)?,
        None => chrono::Local::now().date_naive(),
    };
    if matches!(req.format, Format::Xlsx) && req.output.is_none() {
        return Err(Usage::XlsxNeedsOutput.in_lang(lang).into());
    }
    let keys_out = match &req.keys_out {
        Some(dir) => Some(KeysOut {
            dir: dir.clone(),
            secret: load_secret(req.key_file.as_deref(), lang)?,
        }),
        None => None,
    };
    // A list is configuration, like the schema: one that cannot be used stops the run.
    let mut exclusions = Vec::new();
    let mut exclusion_lists = Vec::new();
    for list in &req.exclude_list {
        let mut l = read::lists::read_exclusion_list(list, &req.read)?;
        exclusion_lists.push(l.count());
        exclusions.append(&mut l.entries);
    }
    Ok(CheckConfig {
        files: req.files,
        schema,
        format: req.format,
        output: req.output,
        as_of,
        lang,
        read: req.read,
        select: req.select,
        ignore: req.ignore,
        exclusions,
        exclusion_lists,
        mask: req.mask,
        ledger,
        annotate: req.annotate,
        receipt: req.receipt,
        quiet: req.quiet,
        split_by,
        keys_out,
        buckets: req.buckets,
    })
}

/// The secret of `--key-file`, else of `POVCHECK_KEY`; refused when absent or short.
fn load_secret(
    key_file: Option<&Path>,
    lang: Lang,
) -> Result<crate::dataset::keys::Secret, UsageError> {
    let env = std::env::var_os("POVCHECK_KEY").map(|v| v.into_encoded_bytes());
    crate::dataset::keys::Secret::load(key_file, env).map_err(|e| Usage::KeySecret(e).in_lang(lang))
}

/// Where `povcheck dataset` runs its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// polars on this machine.
    Local,
    /// Ballista in this process (scheduler and executor started for the run).
    Standalone,
    /// A Ballista scheduler at `df://HOST:PORT`.
    Remote { host: String, port: u16 },
}

/// `local`, `standalone` or `df://HOST:PORT`.
pub fn parse_engine(s: &str) -> Option<Engine> {
    match s {
        "local" => Some(Engine::Local),
        "standalone" => Some(Engine::Standalone),
        _ => {
            let rest = s.strip_prefix("df://")?;
            let (host, port) = rest.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            (!host.is_empty() && !host.contains('/')).then(|| Engine::Remote {
                host: host.to_string(),
                port,
            })
        }
    }
}

/// The path as the file system will resolve it, also when its last parts do not exist yet: the
/// longest existing ancestor canonicalised, the rest appended.
fn resolve(p: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = p.to_path_buf();
    loop {
        if let Ok(c) = std::fs::canonicalize(&cur) {
            return rest.into_iter().rev().fold(c, |acc, part| acc.join(part));
        }
        match (cur.file_name().map(|n| n.to_os_string()), cur.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                cur = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// `--split-by LEVEL DIR`: the level is one of the schema's units, and DIR is neither an input
/// nor under one (a packet must never replace the data it was cut from) nor an existing file.
fn validate_split(
    schema: &Schema,
    level: &str,
    dir: &Path,
    files: &[PathBuf],
    lang: Lang,
) -> Result<SplitBy, UsageError> {
    let level = level.trim();
    if !schema.unit_levels().any(|l| l == level) {
        return Err(Usage::UnknownUnitLevel {
            level: level.to_string(),
            known: schema.unit_levels().map(str::to_string).collect(),
        }
        .in_lang(lang));
    }
    let target = resolve(dir);
    if let Some(input) = files.iter().find(|f| target.starts_with(resolve(f))) {
        return Err(Usage::SplitDir {
            dir: dir.to_path_buf(),
            input: Some(input.clone()),
        }
        .in_lang(lang));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(Usage::SplitDir {
            dir: dir.to_path_buf(),
            input: None,
        }
        .in_lang(lang));
    }
    Ok(SplitBy {
        level: level.to_string(),
        dir: dir.to_path_buf(),
    })
}

/// The `dataset` arguments as given.
#[derive(Debug, Clone)]
pub struct DatasetRequest {
    /// Folders of key tables (their `*.parquet`, in name order) or key tables.
    pub inputs: Vec<PathBuf>,
    pub engine: String,
    /// How long a Ballista engine may take before the run gives up (unused by `local`).
    pub job_timeout: std::time::Duration,
    /// Rows per bucket of the local engine.
    pub bucket_rows: usize,
    pub schema: Option<PathBuf>,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub as_of: Option<String>,
    pub lang: Lang,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub record: Option<String>,
    pub ledger: Option<PathBuf>,
    pub quiet: bool,
}

/// Everything `dataset` needs, validated.
#[derive(Debug)]
pub struct DatasetConfig {
    /// The key tables, in order.
    pub files: Vec<PathBuf>,
    pub engine: Engine,
    pub job_timeout: std::time::Duration,
    pub bucket_rows: usize,
    pub schema: Schema,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub as_of: NaiveDate,
    pub lang: Lang,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub ledger: Option<LedgerPlan>,
    pub quiet: bool,
}

/// Validate a `dataset` request.
pub fn dataset(req: DatasetRequest) -> Result<DatasetConfig, ConfigError> {
    let lang = req.lang;
    let engine = parse_engine(&req.engine).ok_or_else(|| {
        Usage::BadEngine {
            value: req.engine.clone(),
        }
        .in_lang(lang)
    })?;
    if engine != Engine::Local && !cfg!(feature = "distributed") {
        return Err(Usage::NoDistributedEngine.in_lang(lang).into());
    }
    let ledger = ledger_plan(req.record.as_deref(), req.ledger.as_deref(), lang)?;
    let schema = load_schema(req.schema.as_deref())?;
    validate_rule_codes(&schema, &req.select, &req.ignore, lang)?;
    let as_of = match req.as_of.as_deref().or(schema.as_of.as_deref()) {
        Some(s) => parse_date("--as-of", s, lang)?,
        None => chrono::Local::now().date_naive(),
    };
    if matches!(req.format, Format::Xlsx) && req.output.is_none() {
        return Err(Usage::XlsxNeedsOutput.in_lang(lang).into());
    }
    let files = crate::dataset::keys::gather(&req.inputs).map_err(|e| {
        Usage::NoKeyTables {
            reason: Some(e.to_string()),
        }
        .in_lang(lang)
    })?;
    if files.is_empty() {
        return Err(Usage::NoKeyTables { reason: None }.in_lang(lang).into());
    }
    Ok(DatasetConfig {
        files,
        engine,
        job_timeout: req.job_timeout,
        bucket_rows: req.bucket_rows,
        schema,
        format: req.format,
        output: req.output,
        as_of,
        lang,
        select: req.select,
        ignore: req.ignore,
        ledger,
        quiet: req.quiet,
    })
}
