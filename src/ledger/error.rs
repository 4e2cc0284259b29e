//! Why a ledger cannot be used, with its diagnostic per `--lang`.

use std::path::PathBuf;

use super::Style;

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
