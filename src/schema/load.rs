//! TOML → validated [`Schema`], with miette diagnostics that point into the TOML.

use super::{DEFAULT_TOML, Schema};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    #[error("schema {name}: {message}")]
    #[diagnostic(code(povcheck::schema))]
    Invalid {
        name: String,
        message: String,
        #[source_code]
        src: miette::NamedSource<String>,
        #[label("here")]
        span: Option<miette::SourceSpan>,
    },
    #[error("cannot read schema {path}: {reason}")]
    #[diagnostic(code(povcheck::schema::io))]
    Io { path: String, reason: String },
}

/// Parse and validate a schema from TOML text; `name` is used in diagnostics.
pub fn load_str(name: &str, text: &str) -> Result<Schema, Error> {
    toml::from_str::<Schema>(text).map_err(|e| Error::Invalid {
        name: name.to_string(),
        message: e.message().to_string(),
        span: e.span().map(Into::into),
        src: miette::NamedSource::new(name, text.to_string()),
    })
}

pub fn load_path(path: &std::path::Path) -> Result<Schema, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    load_str(&path.display().to_string(), &text)
}

/// The embedded default schema.
pub fn default_schema() -> Schema {
    load_str("schemas/default.toml", DEFAULT_TOML).expect("embedded default schema is valid")
}
