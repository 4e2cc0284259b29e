//! Reporting: one model of a finished run, written by one writer per format.
//!
//! Writers write to a `Write` they are given (stdout and `--output FILE` share one path) and
//! never decide the exit status. Every format implements [`Reporter`]; [`write`] picks one.

pub mod annotated;
pub mod catalogue;
pub mod csv;
pub mod escape;
pub mod history;
pub mod html;
pub mod json;
pub mod junit;
pub mod mask;
pub mod ndjson;
pub mod packets;
pub mod receipt;
#[doc(hidden)]
pub mod sample;
pub mod terminal;
pub mod xlsx;

use std::io::{self, Write};

pub use escape::Destination;

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
    /// Each `--exclude-list` and how many IDs it contributed (X101).
    pub exclusion_lists: Vec<crate::read::lists::ListCount>,
    pub summary: Summary,
    pub units: Vec<UnitReport>,
    pub findings: Vec<Finding>,
    pub lang: Lang,
}

/// The formats `check --format` offers: this enum and [`reporter`] are the whole registry. Tests
/// iterate over `Format::value_variants()`, so a new format is covered by the mask and
/// injection tests with no list to update.
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

/// One output format. A writer sees the whole finished run at once: the run is already in
/// memory (attribution needs every finding before any unit table), so a streaming
/// begin/finding/finish protocol would buy nothing but ceremony.
pub trait Reporter {
    fn write(&self, run: &Run, out: &mut dyn Write) -> io::Result<()>;
    /// What kind of place the output goes to, so the tests know what "inert" means for it
    /// without a hand-kept list of formats; no default, a new format has to say.
    fn destination(&self) -> Destination;
}

/// The writer for `format`.
pub fn reporter(format: Format) -> &'static dyn Reporter {
    match format {
        Format::Terminal => &terminal::Terminal,
        Format::Json => &json::Json,
        Format::Ndjson => &ndjson::Ndjson,
        Format::Csv => &csv::Csv,
        Format::Xlsx => &xlsx::Xlsx,
        Format::Html => &html::Html,
        Format::Junit => &junit::Junit,
    }
}

/// Write `run` in `format` to `out`.
pub fn write(run: &Run, format: Format, out: &mut dyn Write) -> io::Result<()> {
    reporter(format).write(run, out)
}

/// An input as the reports name it: `file:sheet`, or the file alone.
pub(crate) fn input_name(i: &crate::read::InputEntry) -> String {
    match &i.sheet {
        Some(s) => format!("{}:{}", i.file, s),
        None => i.file.clone(),
    }
}

/// The inputs with columns no field matched, which every report lists: a column the clerk
/// filled but no rule read must not look checked.
pub(crate) fn with_unmapped_columns<'a>(run: &'a Run) -> Vec<&'a crate::read::InputEntry> {
    run.inputs
        .iter()
        .filter(|i| !i.unmapped_columns.is_empty())
        .collect()
}

/// Picks the Chinese or English form of a piece of report text.
pub(crate) fn t(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A rule's message template in the run's language, when the schema knows the rule (the schema
/// may be a narrowed or older one; a finding's code is then shown without text). Placeholders
/// become `…`: in a summary line there is no single value to put there.
pub(crate) fn rule_text(schema: &Schema, code: &str, lang: Lang) -> Option<String> {
    schema.rule(code).map(|r| {
        let text = match lang {
            Lang::En if !r.message_en.is_empty() => r.message_en.as_str(),
            _ => r.message.as_str(),
        };
        let mut out = String::with_capacity(text.len());
        let mut depth = 0usize;
        for c in text.chars() {
            match c {
                '{' => {
                    if depth == 0 {
                        out.push('…');
                    }
                    depth += 1;
                }
                '}' if depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    })
}

/// Findings per rule code, in code order, with errors and warnings counted apart.
pub(crate) fn rule_counts(run: &Run) -> Vec<RuleCount> {
    let mut map: std::collections::BTreeMap<&str, RuleCount> = std::collections::BTreeMap::new();
    for f in &run.findings {
        let e = map.entry(f.rule.as_str()).or_insert_with(|| RuleCount {
            rule: f.rule.clone(),
            category: f.category,
            severity: f.severity,
            count: 0,
        });
        e.count += 1;
    }
    map.into_values().collect()
}

pub(crate) struct RuleCount {
    pub rule: String,
    pub category: crate::finding::Category,
    pub severity: crate::finding::Severity,
    pub count: usize,
}

/// Unit path as one label (`湖光镇/东村`).
pub(crate) fn unit_label(u: &UnitReport) -> String {
    u.path.join("/")
}

/// Chinese or English name of a category, for human-facing formats.
pub(crate) fn category_label(c: crate::finding::Category, lang: Lang) -> &'static str {
    use crate::finding::Category::*;
    match c {
        Completeness => t(lang, "缺项漏项", "completeness"),
        Validity => t(lang, "数据不正确", "validity"),
        Consistency => t(lang, "逻辑关系错误", "consistency"),
    }
}

pub(crate) fn severity_label(s: crate::finding::Severity, lang: Lang) -> &'static str {
    match s {
        crate::finding::Severity::Error => t(lang, "错误", "error"),
        crate::finding::Severity::Warning => t(lang, "警告", "warning"),
    }
}

/// Where a finding points, as `file:sheet!F17` (CSV: `file:F17`; file scope: `file`).
pub(crate) fn location(f: &Finding) -> String {
    let place = match (&f.cell, f.row) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(r)) => Some(r.to_string()),
        (None, None) => None,
    };
    match (place, &f.sheet) {
        (None, _) => f.file.clone(),
        (Some(p), Some(s)) => format!("{}:{}!{}", f.file, s, p),
        (Some(p), None) => format!("{}:{}", f.file, p),
    }
}

/// The units of a finding as one label: hierarchical levels joined by `/`, assist dimensions
/// after ` · ` (`湖光镇/东村 · 县农业局`), so a village never reads as part of a work unit.
pub(crate) fn unit_cells_label(schema: &Schema, f: &Finding) -> String {
    let Some(cells) = &f.unit else {
        return String::new();
    };
    let is_level = |k: &str| schema.units.levels.iter().any(|l| l == k);
    let hier: Vec<&str> = cells
        .iter()
        .filter(|(k, _)| is_level(k))
        .map(|(_, v)| v.as_str())
        .collect();
    let mut parts = Vec::new();
    if !hier.is_empty() {
        parts.push(hier.join("/"));
    }
    parts.extend(
        cells
            .iter()
            .filter(|(k, _)| !is_level(k))
            .map(|(_, v)| v.clone()),
    );
    parts.join(" · ")
}
