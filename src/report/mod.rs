//! Reporting: one model of a finished run, written by one writer per format.
//!
//! Writers write to a `Write` they are given (stdout and `--output FILE` share one path) and
//! never decide the exit status.

use std::io::{self, Write};

use crate::attribute::{Summary, UnitReport};
use crate::check::SkippedRule;
use crate::finding::{Finding, Lang};
use crate::read::InputEntry;
use crate::schema::Schema;

/// Everything a writer needs about one finished run.
#[derive(Debug)]
pub struct Run<'a> {
    pub tool_version: &'static str,
    pub schema: &'a Schema,
    pub as_of: String,
    pub period: Option<String>,
    pub inputs: Vec<InputEntry>,
    pub skipped_rules: Vec<SkippedRule>,
    pub summary: Summary,
    pub units: Vec<UnitReport>,
    pub findings: Vec<Finding>,
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Terminal,
    Json,
    Ndjson,
    Csv,
    Xlsx,
    Html,
    Junit,
}

/// Write `run` in `format` to `out`.
pub fn write(run: &Run, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let _ = (run, format);
    writeln!(out, "report writers not implemented yet")
}
