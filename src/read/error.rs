//! Why a file or sheet could not be read, and its diagnostic per `--lang`.

use super::Reason;

/// Why a file (or sheet) could not be read. Rendered by the CLI edge as a miette report.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("{file}: 无法打开文件: {reason}")]
    #[diagnostic(code(povcheck::read::open))]
    Open { file: String, reason: Reason },
    /// The file's content cannot be read: damaged, encrypted, over a limit, undecodable text,
    /// ragged CSV, or not a spreadsheet at all.
    #[error("{file}: 文件无法读取: {reason}")]
    #[diagnostic(code(povcheck::read::format))]
    Format { file: String, reason: Reason },
    /// Every reason already says "没有找到表头 …" or why (an empty sheet), so the message does not
    /// repeat it.
    #[error("{file}: {reason}")]
    #[diagnostic(
        code(povcheck::read::no_header),
        help("表头应包含 姓名、证件号码、户编号 等列名")
    )]
    NoHeader { file: String, reason: Reason },
    #[error("{file}{}: {reason}", sheet.as_ref().map(|s| format!(" [{s}]")).unwrap_or_default())]
    #[diagnostic(code(povcheck::read::content))]
    Content {
        file: String,
        sheet: Option<String>,
        reason: Reason,
    },
}

impl Error {
    pub fn file(&self) -> &str {
        match self {
            Error::Open { file, .. }
            | Error::Format { file, .. }
            | Error::NoHeader { file, .. }
            | Error::Content { file, .. } => file,
        }
    }

    pub fn reason(&self) -> &Reason {
        match self {
            Error::Open { reason, .. }
            | Error::Format { reason, .. }
            | Error::NoHeader { reason, .. }
            | Error::Content { reason, .. } => reason,
        }
    }

    /// The diagnostic in `lang`: Chinese is this error itself; English carries the same code.
    pub fn report(self, lang: crate::finding::Lang) -> miette::Report {
        use crate::finding::Lang;
        if lang == Lang::Zh {
            return miette::Report::new(self);
        }
        let reason = self.reason().text(lang);
        let (message, code, help) = match &self {
            Error::Open { file, .. } => (
                format!("{file}: cannot open the file: {reason}"),
                "povcheck::read::open",
                None,
            ),
            Error::Format { file, .. } => (
                format!("{file}: the file cannot be read: {reason}"),
                "povcheck::read::format",
                None,
            ),
            Error::NoHeader { file, .. } => (
                format!("{file}: {reason}"),
                "povcheck::read::no_header",
                Some("the header should hold column names such as 姓名, 证件号码, 户编号"),
            ),
            Error::Content { file, sheet, .. } => (
                format!(
                    "{file}{}: {reason}",
                    sheet
                        .as_ref()
                        .map(|s| format!(" [{s}]"))
                        .unwrap_or_default()
                ),
                "povcheck::read::content",
                None,
            ),
        };
        let mut d = miette::MietteDiagnostic::new(message).with_code(code);
        if let Some(h) = help {
            d = d.with_help(h);
        }
        miette::Report::new(d)
    }
}
