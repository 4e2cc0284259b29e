//! Schemas are data: the fields of an export, its responsible units, its rules and its policy.
//!
//! `load` turns TOML into a validated [`Schema`]; the default schema is embedded in the binary
//! (`schemas/default.toml`). Every later stage reads the schema and never changes it.

pub mod catalogue;
pub mod columns;
pub mod load;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::finding::{Category, Severity};

pub use crate::types::FieldType;
pub use load::{Error, default_schema, load_path, load_str, substitute_params};

/// The default schema's TOML, embedded so `povcheck check FILE` needs no set-up.
pub const DEFAULT_TOML: &str = include_str!("../../schemas/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    pub name: String,
    pub version: String,
    /// Default reference date for ages (YYYY-MM-DD); `--as-of` overrides it.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Another schema this one builds on: `"default"` or a path relative to this file.
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(default)]
    pub units: Units,
    #[serde(default, rename = "field")]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Codes of rules this schema turns off (used by schemas that extend another).
    /// Applied at load time, so a loaded schema has this empty and those rules `enabled = false`.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Re-grading of existing rules (`[[override]]`); applied at load time, empty afterwards.
    #[serde(default, rename = "override")]
    pub overrides: Vec<Override>,
}

/// `[[override]] code = "L303", severity = "error", enabled = false`: change an existing rule
/// without restating it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub code: String,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// The unit levels findings are attributed to.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Units {
    /// Hierarchical levels, outermost first (乡镇 → 行政村); a unit's path is its prefix.
    #[serde(default)]
    pub levels: Vec<String>,
    /// Independent dimensions (帮扶单位), each a unit on its own.
    #[serde(default)]
    pub assist: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Canonical name: what rules, messages and JSON `column` use.
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// An empty cell is a completeness finding (C101, or `empty_rule`) when the column exists.
    #[serde(default)]
    pub required: bool,
    /// The rule an empty cell raises when `required` (default C101; insurance fields use C106).
    #[serde(default)]
    pub empty_rule: Option<String>,
    /// A file without this column gets C001 and nothing can be checked for it.
    #[serde(default)]
    pub required_column: bool,
    /// Written once per household; blanks on member rows inherit the household's value.
    #[serde(default)]
    pub household: bool,
    /// Canonical code-list values (type = "code").
    #[serde(default)]
    pub codes: Vec<String>,
    /// Accepted variants → canonical value (e.g. 已脱贫（享受政策） → 已脱贫).
    #[serde(default)]
    pub variants: BTreeMap<String, String>,
    /// Valid range, inclusive (V302).
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Implausible (V303, warning): value <= warn_le, value > warn_gt, value >= warn_ge.
    #[serde(default)]
    pub warn_le: Option<f64>,
    #[serde(default)]
    pub warn_gt: Option<f64>,
    #[serde(default)]
    pub warn_ge: Option<f64>,
    /// Personal data masked by `--mask`: "id", "phone", "card" or "name".
    #[serde(default)]
    pub mask: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Poverty exit lines per 识别标准 and year (yuan per person per year).
    #[serde(default)]
    pub exit_line: Vec<ExitLine>,
    /// Named numeric thresholds that rule SQL reads as `$name`.
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    /// The Article 27(6) ladder used by the ledger.
    #[serde(default)]
    pub ladder: Ladder,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitLine {
    pub standard: String,
    pub year: i32,
    pub line: f64,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    /// A unit offends in a round with at least this many error findings.
    #[serde(default = "one")]
    pub min_errors: u32,
    /// Offending rounds that make a unit "repeated" (level 3).
    #[serde(default = "three")]
    pub repeated_rounds: u32,
    /// Error rate (errors per 100 rows) above which a round is "serious" (level 3).
    #[serde(default = "serious")]
    pub serious_error_rate: f64,
    /// Action text for levels 0..=3 (Article 27(6)).
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub actions_en: Vec<String>,
}

fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn serious() -> f64 {
    10.0
}

impl Default for Ladder {
    fn default() -> Self {
        Ladder {
            min_errors: 1,
            repeated_rounds: 3,
            serious_error_rate: 10.0,
            actions: Vec::new(),
            actions_en: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleScope {
    Row,
    Household,
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// `when` / `assert` SQL evaluated by the engine.
    #[default]
    Sql,
    /// Implemented in Rust (field types, C001, C101, …); the entry carries text and severity.
    Builtin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub code: String,
    pub category: Category,
    pub severity: Severity,
    pub scope: RuleScope,
    #[serde(default)]
    pub kind: RuleKind,
    /// SQL boolean; a null `when` counts as false. Absent = always.
    #[serde(default)]
    pub when: Option<String>,
    /// SQL boolean; the rule fires where it is false (null counts as true).
    #[serde(default)]
    pub assert: Option<String>,
    /// Canonical columns the rule points at; the first is the finding's `column`.
    #[serde(default)]
    pub columns: Vec<String>,
    pub message: String,
    pub message_en: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub hint_en: String,
    #[serde(default)]
    pub doc: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `when`/`assert` compiled by the loader (with `$params` substituted), so the engine does
    /// not compile them again. None for a builtin rule and for a rule built in code (the engine
    /// then compiles it itself); code that edits `when`, `assert` or the params of a loaded
    /// schema must set it to None, or the engine runs the SQL as loaded.
    #[serde(skip)]
    pub sql: Option<std::sync::Arc<CompiledSql>>,
}

/// A SQL rule's expressions as polars compiled them.
#[derive(Debug, Clone)]
pub struct CompiledSql {
    pub when: Option<polars::prelude::Expr>,
    pub assert: polars::prelude::Expr,
}

fn yes() -> bool {
    true
}

impl Field {
    /// The numeric bounds V302/V303 check values of this field against.
    pub fn range(&self) -> crate::types::Range {
        crate::types::Range {
            min: self.min,
            max: self.max,
            warn_le: self.warn_le,
            warn_gt: self.warn_gt,
            warn_ge: self.warn_ge,
        }
    }
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    pub fn rule(&self, code: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.code == code)
    }
    /// Every unit dimension name, hierarchical levels first.
    pub fn unit_levels(&self) -> impl Iterator<Item = &str> {
        self.units
            .levels
            .iter()
            .chain(self.units.assist.iter())
            .map(String::as_str)
    }
    /// The exit line for a 识别标准 and year, if the policy table has one.
    pub fn exit_line(&self, standard: &str, year: i32) -> Option<f64> {
        self.policy
            .exit_line
            .iter()
            .find(|l| l.standard == standard && l.year == year)
            .map(|l| l.line)
    }
}
