//! TOML → validated [`Schema`], with miette diagnostics that point into the TOML.
//!
//! Everything a schema can get wrong is found here, before any input file is read: syntax and
//! unknown keys (serde), malformed or duplicate codes, unknown fields, SQL that does not compile or
//! names an unknown column or `$param`, unknown message placeholders, and `extends` chains.

// A schema error ends the run, so its size on the cold Err path costs nothing; boxing it would
// only complicate the public variant the CLI and tests match on.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::columns;
use super::{CompiledSql, DEFAULT_TOML, FieldType, Override, RuleKind, Schema};

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

impl Error {
    /// The diagnostic's message (without the schema name), for tests and logs.
    pub fn message(&self) -> &str {
        match self {
            Error::Invalid { message, .. } => message,
            Error::Io { reason, .. } => reason,
        }
    }

    /// The text the diagnostic's label points at, if any.
    pub fn labelled_text(&self) -> Option<&str> {
        match self {
            Error::Invalid {
                src, span: Some(s), ..
            } => src
                .inner()
                .get(s.offset()..s.offset().saturating_add(s.len())),
            _ => None,
        }
    }
}

/// How deep `extends` chains may go; deeper is almost certainly a cycle.
const MAX_EXTENDS_DEPTH: usize = 8;

/// Parse and validate a schema from TOML text; `name` is used in diagnostics. A relative
/// `extends` path is resolved against the current directory.
pub fn load_str(name: &str, text: &str) -> Result<Schema, Error> {
    load_inner(name, text, None, 0)
}

pub fn load_path(path: &std::path::Path) -> Result<Schema, Error> {
    load_path_depth(path, 0)
}

/// The embedded default schema.
pub fn default_schema() -> Schema {
    // The embedded text is checked by the test suite (tests/registry.rs); failing here would
    // mean the binary itself was built broken, so an empty fallback is not an option either.
    // Parsed and its SQL compiled once per process: tests and the CLI ask for it often.
    static DEFAULT: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            load_str("schemas/default.toml", DEFAULT_TOML)
                .expect("embedded default schema is valid")
        })
        .clone()
}

/// Replace every `$name` in rule SQL with the value of `[policy.params].name`.
/// Err carries the first unknown name.
pub fn substitute_params(sql: &str, params: &BTreeMap<String, f64>) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        match params.get(name) {
            Some(v) => out.push_str(&format_number(*v)),
            None => return Err(name.to_string()),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Integers without a trailing `.0` so SQL compares them with integer columns naturally.
fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The `{name}` placeholders of a message or hint.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// A schema is a few hundred KB at most; anything larger (or a device such as /dev/zero named by
/// `extends`) is refused before it is read.
const MAX_SCHEMA_BYTES: u64 = 16 << 20;

fn load_path_depth(path: &Path, depth: usize) -> Result<Schema, Error> {
    let io = |reason: String| Error::Io {
        path: path.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if !meta.is_file() {
        return Err(io("不是普通文件 / not a regular file".to_string()));
    }
    if meta.len() > MAX_SCHEMA_BYTES {
        return Err(io(format!(
            "文件过大（{} 字节，上限 {MAX_SCHEMA_BYTES}） / file too large",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| io(e.to_string()))?;
    let base = path.parent().map(Path::to_path_buf);
    load_inner(&path.display().to_string(), &text, base, depth)
}

/// Spans of the entries diagnostics point at; parsed alongside [`Schema`] from the same text.
#[derive(Deserialize, Default)]
struct SpanDoc {
    #[serde(default)]
    extends: Option<Spanned<String>>,
    #[serde(default)]
    as_of: Option<Spanned<String>>,
    #[serde(default, rename = "field")]
    fields: Vec<SpanField>,
    #[serde(default, rename = "rule")]
    rules: Vec<SpanRule>,
    #[serde(default, rename = "override")]
    overrides: Vec<SpanCode>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    units: Option<Spanned<toml::Value>>,
    #[serde(default)]
    policy: Option<SpanPolicy>,
}

#[derive(Deserialize)]
struct SpanField {
    name: Spanned<String>,
    #[serde(default)]
    empty_rule: Option<Spanned<String>>,
    #[serde(default)]
    mask: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct SpanRule {
    code: Spanned<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    assert: Option<Spanned<String>>,
    #[serde(default)]
    columns: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    message: Option<Spanned<String>>,
    #[serde(default)]
    message_en: Option<Spanned<String>>,
    #[serde(default)]
    hint: Option<Spanned<String>>,
    #[serde(default)]
    hint_en: Option<Spanned<String>>,
}

#[derive(Deserialize)]
struct SpanCode {
    code: Spanned<String>,
}

#[derive(Deserialize, Default)]
struct SpanPolicy {
    #[serde(default)]
    ladder: Option<SpanLadder>,
    #[serde(default)]
    exit_line: Vec<SpanExitLine>,
}

#[derive(Deserialize)]
struct SpanLadder {
    #[serde(default)]
    actions: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    actions_en: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
struct SpanExitLine {
    standard: Spanned<String>,
}

/// Builds diagnostics against one schema text.
struct Ctx<'a> {
    name: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, message: impl Into<String>, span: Option<Range<usize>>) -> Error {
        Error::Invalid {
            name: self.name.to_string(),
            message: message.into(),
            src: miette::NamedSource::new(self.name, self.text.to_string()),
            span: span.map(|r| (r.start, r.end.saturating_sub(r.start)).into()),
        }
    }

    /// The span of `needle` inside the entry at `within` (falls back to the whole entry), so a
    /// diagnostic underlines the unknown name rather than the whole SQL string.
    fn find_in(&self, within: Range<usize>, needle: &str) -> Range<usize> {
        self.text
            .get(within.clone())
            .and_then(|s| s.find(needle))
            .map(|off| within.start + off..within.start + off + needle.len())
            .unwrap_or(within)
    }
}

fn load_inner(
    name: &str,
    text: &str,
    base_dir: Option<PathBuf>,
    depth: usize,
) -> Result<Schema, Error> {
    let ctx = Ctx { name, text };
    let mut own: Schema = toml::from_str(text).map_err(|e| ctx.err(e.message(), e.span()))?;
    let spans: SpanDoc = toml::from_str(text).map_err(|e| ctx.err(e.message(), e.span()))?;

    let overrides = std::mem::take(&mut own.overrides);
    let disable = std::mem::take(&mut own.disable);
    let mut schema = match own.extends.as_deref() {
        None => own,
        Some(parent) => {
            let ext_span = spans.extends.as_ref().map(Spanned::span);
            if depth >= MAX_EXTENDS_DEPTH {
                return Err(ctx.err(
                    format!("extends nests deeper than {MAX_EXTENDS_DEPTH} schemas (a cycle?)"),
                    ext_span,
                ));
            }
            let base = if parent == "default" {
                load_inner("schemas/default.toml", DEFAULT_TOML, None, depth + 1)?
            } else {
                let p = match &base_dir {
                    Some(d) => d.join(parent),
                    None => PathBuf::from(parent),
                };
                load_path_depth(&p, depth + 1).map_err(|e| match e {
                    Error::Io { path, reason } => ctx.err(
                        format!("extends: cannot read schema {path}: {reason}"),
                        ext_span,
                    ),
                    other => other,
                })?
            };
            merge(base, own, &spans)
        }
    };
    apply_overrides(&mut schema, &overrides, &disable, &spans, &ctx)?;
    let mut compiled = validate(&schema, &spans, &ctx)?;
    // The SQL compiled to check it is what the engine runs: it is compiled once.
    for rule in &mut schema.rules {
        rule.sql = compiled.remove(&rule.code).map(std::sync::Arc::new);
    }
    Ok(schema)
}

/// Lay `child` over `base`: fields by name and rules by code replace or add; policy entries
/// replace or add.
fn merge(mut base: Schema, child: Schema, spans: &SpanDoc) -> Schema {
    base.name = child.name;
    base.version = child.version;
    if spans.as_of.is_some() {
        base.as_of = child.as_of;
    }
    base.extends = None;
    if spans.units.is_some() {
        base.units = child.units;
    }
    for f in child.fields {
        match base.fields.iter_mut().find(|b| b.name == f.name) {
            Some(slot) => *slot = f,
            None => base.fields.push(f),
        }
    }
    for r in child.rules {
        match base.rules.iter_mut().find(|b| b.code == r.code) {
            Some(slot) => *slot = r,
            None => base.rules.push(r),
        }
    }
    for line in child.policy.exit_line {
        match base
            .policy
            .exit_line
            .iter_mut()
            .find(|b| b.standard == line.standard && b.year == line.year)
        {
            Some(slot) => *slot = line,
            None => base.policy.exit_line.push(line),
        }
    }
    base.policy.params.extend(child.policy.params);
    if spans.policy.as_ref().is_some_and(|p| p.ladder.is_some()) {
        base.policy.ladder = child.policy.ladder;
    }
    base
}

/// `[[override]]` re-grades and `disable` turns rules off, after any `extends` merge.
fn apply_overrides(
    schema: &mut Schema,
    overrides: &[Override],
    disable: &[String],
    spans: &SpanDoc,
    ctx: &Ctx,
) -> Result<(), Error> {
    for (i, o) in overrides.iter().enumerate() {
        let span = spans.overrides.get(i).map(|s| s.code.span());
        apply_override(schema, o, span, ctx)?;
    }
    for (i, code) in disable.iter().enumerate() {
        match schema.rules.iter_mut().find(|r| &r.code == code) {
            Some(r) => r.enabled = false,
            None => {
                return Err(ctx.err(
                    format!("disable: no rule {code} to turn off"),
                    spans.disable.get(i).map(Spanned::span),
                ));
            }
        }
    }
    Ok(())
}

fn apply_override(
    schema: &mut Schema,
    o: &Override,
    span: Option<Range<usize>>,
    ctx: &Ctx,
) -> Result<(), Error> {
    let Some(rule) = schema.rules.iter_mut().find(|r| r.code == o.code) else {
        return Err(ctx.err(format!("override: no rule {} to change", o.code), span));
    };
    if let Some(s) = o.severity {
        rule.severity = s;
    }
    if let Some(e) = o.enabled {
        rule.enabled = e;
    }
    Ok(())
}

fn code_well_formed(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 4 && b"CVLDX".contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit)
}

/// Validate the merged schema; Ok carries each SQL rule's compiled expressions by code.
fn validate(
    schema: &Schema,
    spans: &SpanDoc,
    ctx: &Ctx,
) -> Result<BTreeMap<String, CompiledSql>, Error> {
    let mut compiled = BTreeMap::new();
    let field_span = |name: &str| {
        spans
            .fields
            .iter()
            .find(|f| f.name.get_ref() == name)
            .map(|f| f.name.span())
    };
    let rule_spans = |code: &str| spans.rules.iter().rfind(|r| r.code.get_ref() == code);

    if let (Some(d), Some(s)) = (schema.as_of.as_deref(), spans.as_of.as_ref())
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(ctx.err(
            format!("as_of {d} is not a date written YYYY-MM-DD"),
            Some(s.span()),
        ));
    }

    let mut names = BTreeSet::new();
    for f in &schema.fields {
        if !names.insert(f.name.as_str()) {
            return Err(ctx.err(
                format!("field {} is defined twice", f.name),
                spans
                    .fields
                    .iter()
                    .filter(|s| s.name.get_ref() == &f.name)
                    .nth(1)
                    .map(|s| s.name.span()),
            ));
        }
        if f.ty == FieldType::Code && f.codes.is_empty() {
            return Err(ctx.err(
                format!("field {} has type code but no codes list", f.name),
                field_span(&f.name),
            ));
        }
        for (variant, canonical) in &f.variants {
            if !f.codes.contains(canonical) {
                return Err(ctx.err(
                    format!(
                        "field {}: variant {variant} maps to {canonical}, which is not in its codes",
                        f.name
                    ),
                    field_span(&f.name),
                ));
            }
        }
        if let Some(m) = f.mask.as_deref()
            && !["id", "phone", "card", "name"].contains(&m)
        {
            let span = spans
                .fields
                .iter()
                .find(|s| s.name.get_ref() == &f.name)
                .and_then(|s| s.mask.as_ref().map(Spanned::span));
            return Err(ctx.err(
                format!(
                    "field {}: unknown mask {m} (expected id, phone, card or name)",
                    f.name
                ),
                span,
            ));
        }
        if let Some(code) = f.empty_rule.as_deref()
            && schema.rule(code).is_none()
        {
            let span = spans
                .fields
                .iter()
                .find(|s| s.name.get_ref() == &f.name)
                .and_then(|s| s.empty_rule.as_ref().map(Spanned::span));
            return Err(ctx.err(
                format!("field {}: empty_rule {code} is not a rule", f.name),
                span,
            ));
        }
    }
    // A misspelt 识别标准 in the line table would make L302 skip silently for that standard.
    if let Some(standards) = schema
        .field("识别标准")
        .filter(|f| f.ty == FieldType::Code)
        .map(|f| &f.codes)
    {
        for line in &schema.policy.exit_line {
            if !standards.contains(&line.standard) {
                let span = spans.policy.as_ref().and_then(|p| {
                    p.exit_line
                        .iter()
                        .find(|l| l.standard.get_ref() == &line.standard)
                        .map(|l| l.standard.span())
                });
                return Err(ctx.err(
                    format!(
                        "policy.exit_line: standard {} is not a code of 识别标准 ({})",
                        line.standard,
                        standards.join(", ")
                    ),
                    span,
                ));
            }
        }
    }
    let ladder = &schema.policy.ladder;
    for (key, list) in [
        ("actions", &ladder.actions),
        ("actions_en", &ladder.actions_en),
    ] {
        if !list.is_empty() && list.len() != 4 {
            return Err(ctx.err(
                format!(
                    "policy.ladder.{key} has {} entries; it needs one per level 0–3 (4)",
                    list.len()
                ),
                spans
                    .policy
                    .as_ref()
                    .and_then(|p| p.ladder.as_ref())
                    .and_then(|l| match key {
                        "actions" => l.actions.as_ref(),
                        _ => l.actions_en.as_ref(),
                    })
                    .map(Spanned::span),
            ));
        }
    }
    for level in schema.unit_levels() {
        if !names.contains(level) {
            return Err(ctx.err(
                format!("units: {level} is not a field of this schema"),
                spans
                    .units
                    .as_ref()
                    .map(|u| ctx.find_in(u.span(), &format!("\"{level}\""))),
            ));
        }
    }

    let known_column = |n: &str| {
        names.contains(n)
            || (n.starts_with('_') && columns::dependencies(n).is_some())
            || columns::filled_field(n).is_some_and(|f| names.contains(f))
    };

    let mut codes = BTreeSet::new();
    for (i, rule) in schema.rules.iter().enumerate() {
        // Spans for this rule: the i-th entry of this text when it is the text's own rule list,
        // else the text's entry with this code (an extending schema's replacement), else none.
        let rs = spans
            .rules
            .get(i)
            .filter(|s| s.code.get_ref() == &rule.code)
            .or_else(|| rule_spans(&rule.code));
        let code_span = rs.map(|s| s.code.span());
        if !code_well_formed(&rule.code) {
            return Err(ctx.err(
                format!(
                    "rule code {} does not match ^[CVLDX][0-9]{{3}}$ (a letter C, V, L, D or X and three digits)",
                    rule.code
                ),
                code_span,
            ));
        }
        if !codes.insert(rule.code.as_str()) {
            return Err(ctx.err(
                format!("rule code {} is defined twice", rule.code),
                code_span,
            ));
        }
        if let Some(cols) = rs.and_then(|s| s.columns.as_ref()) {
            for c in cols.get_ref() {
                if !known_column(c.get_ref()) {
                    return Err(ctx.err(
                        format!(
                            "rule {}: columns names {}, which is not a field",
                            rule.code,
                            c.get_ref()
                        ),
                        Some(c.span()),
                    ));
                }
            }
        } else if let Some(c) = rule.columns.iter().find(|c| !known_column(c)) {
            return Err(ctx.err(
                format!(
                    "rule {}: columns names {c}, which is not a field",
                    rule.code
                ),
                code_span,
            ));
        }

        match rule.kind {
            RuleKind::Builtin => {
                if crate::types::builtin(&rule.code).is_none() {
                    let codes: Vec<&str> = crate::types::BUILTINS.iter().map(|b| b.code).collect();
                    return Err(ctx.err(
                        format!(
                            "rule {}: no built-in check has this code (built-in: {}); write it as SQL with when/assert",
                            rule.code,
                            codes.join(", ")
                        ),
                        rs.and_then(|s| s.kind.as_ref().map(Spanned::span)).or(code_span),
                    ));
                }
                if rule.when.is_some() || rule.assert.is_some() {
                    let span = rs.and_then(|s| {
                        s.when
                            .as_ref()
                            .or(s.assert.as_ref())
                            .map(Spanned::span)
                            .or_else(|| s.kind.as_ref().map(Spanned::span))
                    });
                    return Err(ctx.err(
                        format!(
                            "rule {}: a builtin rule has no when/assert SQL (remove it, or drop kind = \"builtin\")",
                            rule.code
                        ),
                        span.or(code_span),
                    ));
                }
            }
            RuleKind::Sql => {
                let Some(assert) = rule.assert.as_deref() else {
                    return Err(ctx.err(
                        format!(
                            "rule {}: an SQL rule needs assert (or kind = \"builtin\" for a check written in Rust)",
                            rule.code
                        ),
                        code_span,
                    ));
                };
                let when_span = rs.and_then(|s| s.when.as_ref().map(Spanned::span));
                let assert_span = rs.and_then(|s| s.assert.as_ref().map(Spanned::span));
                let when = match rule.when.as_deref() {
                    Some(when) => Some(check_sql(
                        schema,
                        &rule.code,
                        "when",
                        when,
                        when_span,
                        &known_column,
                        ctx,
                    )?),
                    None => None,
                };
                let assert = check_sql(
                    schema,
                    &rule.code,
                    "assert",
                    assert,
                    assert_span,
                    &known_column,
                    ctx,
                )?;
                compiled.insert(rule.code.clone(), CompiledSql { when, assert });
            }
        }

        let texts = [
            (
                "message",
                &rule.message,
                rs.and_then(|s| s.message.as_ref()),
            ),
            (
                "message_en",
                &rule.message_en,
                rs.and_then(|s| s.message_en.as_ref()),
            ),
            ("hint", &rule.hint, rs.and_then(|s| s.hint.as_ref())),
            (
                "hint_en",
                &rule.hint_en,
                rs.and_then(|s| s.hint_en.as_ref()),
            ),
        ];
        for (key, text, span) in texts {
            for p in placeholders(text) {
                let ok = known_column(p)
                    || (rule.kind == RuleKind::Builtin
                        && crate::types::builtin_placeholder(&rule.code, p));
                if !ok {
                    return Err(ctx.err(
                        format!(
                            "rule {}: {key} placeholder {{{p}}} names no field or computed column",
                            rule.code
                        ),
                        span.map(|s| ctx.find_in(s.span(), &format!("{{{p}}}"))),
                    ));
                }
            }
        }
    }
    Ok(compiled)
}

fn check_sql(
    schema: &Schema,
    code: &str,
    key: &str,
    sql: &str,
    span: Option<Range<usize>>,
    known_column: &dyn Fn(&str) -> bool,
    ctx: &Ctx,
) -> Result<polars::prelude::Expr, Error> {
    let substituted = substitute_params(sql, &schema.policy.params).map_err(|p| {
        ctx.err(
            format!("rule {code}: {key} uses ${p}, which is not in [policy.params]"),
            span.clone().map(|s| ctx.find_in(s, &format!("${p}"))),
        )
    })?;
    let expr = polars::sql::sql_expr(&substituted).map_err(|e| {
        ctx.err(
            format!("rule {code}: {key} is not valid SQL: {e}"),
            span.clone(),
        )
    })?;
    for root in expr.clone().meta().root_names() {
        if !known_column(root.as_str()) {
            return Err(ctx.err(
                format!(
                    "rule {code}: {key} uses {root}, which is neither a field nor a computed column"
                ),
                span.clone().map(|s| ctx.find_in(s, root.as_str())),
            ));
        }
    }
    Ok(expr)
}
