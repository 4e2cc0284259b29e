//! The rule engine: the typed dataset becomes one polars frame, computed columns are added as
//! lazy expressions (row facts, household windows over `_hh`, dataset windows), and every SQL
//! rule of the schema is compiled with polars' SQL front-end and evaluated in the same lazy plan.
//!
//! Semantics (rules.md "How a rule fires"): a rule fires where `when` is true and `assert` is
//! false; a null `when` counts as false and a null `assert` as true. Household rules fire only
//! on the household's anchor row. A rule is skipped for a table when a field it uses, directly or
//! through a computed column, is absent from that table.

use std::collections::{BTreeSet, HashMap};

use polars::prelude::*;

use crate::finding::Finding;
use crate::schema::load::EMPTY_COLUMNS;
use crate::schema::{Rule, RuleKind, RuleScope, Schema};

use super::SkippedRule;
use super::columns::{self, Build, Fact};
use super::dataset::{Dataset, TypedCol};
use super::emit::{Emitter, Extra, fmt_num, placeholders};

/// Every `x IN ('a', 'b', …)` of a short text list as `x = 'a' OR x = 'b' OR …`.
///
/// polars evaluates an IN list by hashing every row's text and collecting the answers one by
/// one (a fifth of a CPU-second for the catalogue's 35 lists, of two to six codes, on a million
/// rows); a few vectorised comparisons cost a fraction of that. The result is the same,
/// nulls included: a null `x` gives null either way, and a list holding null is left as it is
/// (SQL's "unknown" for a non-match is built around the IN by polars-sql).
fn in_list_as_comparisons(e: Expr) -> Expr {
    const MAX_ITEMS: usize = 8;
    e.map_expr(|e| {
        if let Expr::Function {
            input,
            function: FunctionExpr::Boolean(BooleanFunction::IsIn { nulls_equal: false }),
        } = &e
            && let [x, Expr::Agg(AggExpr::Implode { input: list, .. })] = input.as_slice()
            && let Expr::Literal(LiteralValue::Series(s)) = list.as_ref()
            && let Ok(items) = s.str()
            && items.null_count() == 0
            && items.len() <= MAX_ITEMS
            && let Some(any) = items
                .iter()
                .flatten()
                .map(|item| x.clone().eq(lit(item)))
                .reduce(Expr::or)
        {
            return any;
        }
        e
    })
}

/// A rule compiled into lazy expressions, with what it depends on.
pub(crate) struct Compiled<'s> {
    pub rule: &'s Rule,
    pub when: Option<Expr>,
    pub assert: Expr,
    /// Fields the rule needs, directly or through computed columns.
    pub fields: BTreeSet<String>,
    /// Every name the SQL reads (fields and computed columns).
    pub names: BTreeSet<String>,
}

/// Compile one SQL expression; Err carries polars' message.
pub fn compile_sql(
    sql: &str,
    params: &std::collections::BTreeMap<String, f64>,
) -> Result<Expr, String> {
    let s = crate::schema::substitute_params(sql, params)
        .map_err(|name| format!("未知的策略参数 ${name}（[policy.params] 中没有）"))?;
    polars::sql::sql_expr(&s).map_err(|e| e.to_string())
}

/// Names an expression reads.
pub fn root_names(e: &Expr) -> Vec<String> {
    e.clone()
        .meta()
        .root_names()
        .into_iter()
        .map(|s| s.to_string())
        .collect()
}

pub(crate) fn compile_rule<'s>(rule: &'s Rule, schema: &Schema) -> Result<Compiled<'s>, String> {
    let (when, assert) = match &rule.sql {
        // Compiled by the loader when it checked the schema.
        Some(sql) => (sql.when.clone(), sql.assert.clone()),
        None => {
            let params = &schema.policy.params;
            let when = rule
                .when
                .as_deref()
                .map(|w| compile_sql(w, params))
                .transpose()?;
            let assert = match rule.assert.as_deref() {
                Some(a) => compile_sql(a, params)?,
                None => return Err("SQL 规则缺少 assert".into()),
            };
            (when, assert)
        }
    };
    let when = when.map(in_list_as_comparisons);
    let assert = in_list_as_comparisons(assert);
    let mut names = BTreeSet::new();
    for e in when.iter().chain(std::iter::once(&assert)) {
        names.extend(root_names(e));
    }
    let mut fields = BTreeSet::new();
    for n in names.iter().chain(rule.columns.iter()) {
        if let Some(f) = columns::filled_field(n)
            && schema.field(f).is_some()
        {
            fields.insert(f.to_string());
        } else if let Some(deps) = columns::dependencies(n) {
            fields.extend(deps.iter().cloned());
        } else if schema.field(n).is_some() {
            fields.insert(n.clone());
        } else {
            return Err(format!("未知的列 {n}"));
        }
    }
    Ok(Compiled {
        rule,
        when,
        assert,
        fields,
        names,
    })
}

/// The column of a value the typing pass computed in Rust ([`columns::Fact`]).
/// The three 其他致贫原因 facts come from one pass ([`other_causes`]), kept here between them.
type OtherCauses = (Vec<i32>, Vec<Option<String>>, Vec<Option<String>>);

fn fact_column(
    ds: &Dataset,
    name: &str,
    fact: Fact,
    causes: &std::sync::OnceLock<OtherCauses>,
) -> PolarsResult<Column> {
    let n = ds.len();
    let name: PlSmallStr = name.into();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let date = |v: &[Option<chrono::NaiveDate>]| -> PolarsResult<Column> {
        let days: Vec<Option<i32>> = v
            .iter()
            .map(|d| d.map(|d| (d - epoch).num_days() as i32))
            .collect();
        Column::new(name.clone(), days).cast(&DataType::Date)
    };
    Ok(match fact {
        Fact::Table => Column::new(name, &ds.t),
        // The household as a dense 32-bit number in order of first appearance (a row without
        // 户编号 is a household of its own): every window groups by it (28 household windows),
        // and hashing a small integer of a dense range is the cheapest key (1M rows: the rules' plan 1.72 s → 1.58 s against the 64-bit
        // `household_number`). Flagging the column sorted where the numbers ascend was tried:
        // polars' slice grouping made the plan slower (2.1 s).
        Fact::Household => {
            let mut rank: Vec<u32> = vec![u32::MAX; ds.households];
            let mut next = 0u32;
            let hh: Vec<u32> = (0..n)
                .map(|g| match ds.hh_index[g] {
                    Some(i) => {
                        let slot = &mut rank[i as usize];
                        if *slot == u32::MAX {
                            *slot = next;
                            next += 1;
                        }
                        *slot
                    }
                    None => {
                        next += 1;
                        next - 1
                    }
                })
                .collect();
            Column::new(name, hh)
        }
        // Across files a household is its 户编号 (one household may be split over two files); a
        // row without one stays a household of its own.
        Fact::HouseholdId => {
            let hhid: Vec<u64> = match ds.typed.get("户编号") {
                Some(TypedCol::Str(ids)) => {
                    // Sized once: a household per table is at least one per 户编号 across
                    // files (growing to 300k entries rehashed them eighteen times).
                    let mut index: PlHashMap<&str, u64> =
                        PlHashMap::with_capacity_and_hasher(ds.households, Default::default());
                    ids.iter()
                        .enumerate()
                        .map(|(g, id)| match id {
                            Some(id) => {
                                let next = index.len() as u64;
                                *index.entry(id).or_insert(next)
                            }
                            None => (n + g) as u64,
                        })
                        .collect()
                }
                _ => (0..n as u64).map(|g| n as u64 + g).collect(),
            };
            Column::new(name, hhid)
        }
        Fact::Anchor => Column::new(name, &ds.anchor),
        Fact::IdValid => Column::new(name, &ds.id_valid),
        Fact::IdComparable => Column::new(name, &ds.id_comparable),
        Fact::IdBirth => date(&ds.id_birth)?,
        Fact::IdSex => Column::new(name, &ds.id_sex),
        Fact::IdRegion => Column::new(name, &ds.id_region),
        Fact::Birth => date(&ds.birth)?,
        Fact::Age => Column::new(name, &ds.age),
        Fact::BirthKey => {
            let key: Vec<Option<i32>> = ds
                .birth
                .iter()
                .map(|d| {
                    d.map(|d| {
                        use chrono::Datelike;
                        d.year() * 10000 + d.month() as i32 * 100 + d.day() as i32
                    })
                })
                .collect();
            Column::new(name, key)
        }
        Fact::SchoolBlank => Column::new(name, &ds.school_blank),
        Fact::Working => Column::new(name, &ds.work_filled),
        Fact::ExitLine => Column::new(name, &ds.exit_line),
        Fact::DataYearLine => Column::new(name, &ds.data_year_line),
        Fact::DataYear => Column::new(name, vec![chrono::Datelike::year(&ds.as_of); n]),
        Fact::IdKey18 => Column::new(
            name,
            ds.id_key
                .iter()
                .map(|k| k.as_deref())
                .collect::<Vec<Option<&str>>>(),
        ),
        Fact::Excluded => Column::new(name, &ds.excluded),
        Fact::OtherCauseItems => Column::new(name, &causes.get_or_init(|| other_causes(ds)).0),
        Fact::OtherCauseUnknown => Column::new(name, &causes.get_or_init(|| other_causes(ds)).1),
        Fact::OtherCauseRepeat => Column::new(name, &causes.get_or_init(|| other_causes(ds)).2),
        Fact::HelperMember => Column::new(name, helper_members(ds)),
    })
}

/// 其他致贫原因 per row (L505): its number of items, the first item outside the 主要致贫原因
/// code list, and the first whose canonical value (variants resolved by that list) is the row's
/// 主要致贫原因. Items are split on runs of 、 , ， ; ； / and white space.
fn other_causes(ds: &Dataset) -> OtherCauses {
    let n = ds.len();
    let mut items: Vec<i32> = vec![0; n];
    let mut unknown: Vec<Option<String>> = vec![None; n];
    let mut repeat: Vec<Option<String>> = vec![None; n];
    let (Some(other), Some(f)) = (
        ds.typed.get("其他致贫原因"),
        ds.schema.field("主要致贫原因"),
    ) else {
        return (items, unknown, repeat);
    };
    let main = ds.typed.get("主要致贫原因");
    // Nothing here shows a suggestion for an unknown item: the full lookup, which computes
    // one, cost 0.23 s on a million rows.
    let canonical = super::dataset::canonical_codes(f);
    for g in 0..n {
        let Some(text) = other.str_at(g) else {
            continue;
        };
        let main = main.and_then(|m| m.str_at(g));
        let parts = text
            // A match, not `"、,，;；/".contains(c)`: that searched the string for every
            // character of every row (1.4 % of a whole check).
            .split(|c: char| c.is_whitespace() || matches!(c, '、' | ',' | '，' | ';' | '；' | '/'))
            .filter(|s| !s.is_empty());
        for item in parts {
            items[g] += 1;
            match canonical.get(item) {
                Some(&c) => {
                    if repeat[g].is_none() && main == Some(c) {
                        repeat[g] = Some(item.to_string());
                    }
                }
                None => {
                    if unknown[g].is_none() {
                        unknown[g] = Some(item.to_string());
                    }
                }
            }
        }
    }
    (items, unknown, repeat)
}

/// Per row, a 帮扶责任人 written on any row of its household that is the 姓名 of a member of
/// that household (L209; 帮扶责任人 is not a household field, so every row counts): the first
/// such helper in row order.
fn helper_members(ds: &Dataset) -> Vec<Option<String>> {
    /// Above this many rows a household's names are looked up in a set, not compared one by
    /// one (a hostile file can put every row in one household).
    const FEW: usize = 32;
    let n = ds.len();
    let mut out: Vec<Option<String>> = vec![None; n];
    let (Some(names), Some(helpers)) = (ds.typed.get("姓名"), ds.typed.get("帮扶责任人"))
    else {
        return out;
    };
    // The rows of each household in row order (a counting sort on the dense index): names are
    // compared within a household of a few rows, instead of hashing a million (household,
    // name) pairs (0.16 s on one core for a million rows).
    let h = ds.households;
    let mut start = vec![0u32; h + 1];
    for &i in ds.hh_index.iter().flatten() {
        start[i as usize + 1] += 1;
    }
    for k in 0..h {
        start[k + 1] += start[k];
    }
    let mut next = start.clone();
    let mut rows = vec![0u32; start[h] as usize];
    for (g, i) in ds.hh_index.iter().enumerate() {
        if let Some(i) = i {
            let at = &mut next[*i as usize];
            rows[*at as usize] = g as u32;
            *at += 1;
        }
    }
    for k in 0..h {
        let members = &rows[start[k] as usize..start[k + 1] as usize];
        let named: Option<PlHashSet<&str>> = (members.len() > FEW).then(|| {
            members
                .iter()
                .filter_map(|&m| names.str_at(m as usize))
                .collect()
        });
        let is_member = |name: &str| match &named {
            Some(set) => set.contains(name),
            None => members
                .iter()
                .any(|&m| names.str_at(m as usize) == Some(name)),
        };
        let found = members.iter().find_map(|&g| {
            let helper = helpers.str_at(g as usize)?;
            is_member(helper).then_some(helper)
        });
        if let Some(helper) = found {
            for &g in members {
                out[g as usize] = Some(helper.to_string());
            }
        }
    }
    // A row without 户编号 is a household of its own.
    for (g, slot) in out.iter_mut().enumerate() {
        if ds.hh_index[g].is_none()
            && let Some(helper) = helpers.str_at(g)
            && names.str_at(g) == Some(helper)
        {
            *slot = Some(helper.to_string());
        }
    }
    out
}

/// Build the dataset frame: typed fields plus the Rust-derived facts.
fn base_frame(ds: &mut Dataset, filled: &BTreeSet<String>) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let n = ds.len();
    let mut cols: Vec<Column> = Vec::with_capacity(ds.typed.len() + columns::COMPUTED.len());
    // Each fact and filled-flag column is one pass over the rows, independent of the others:
    // built on both cores (this stage was 0.77 s of a 1M-row check on one).
    let causes = std::sync::OnceLock::new();
    let recorded = std::mem::take(&mut ds.filled);
    let shared: &Dataset = ds;
    let facts: Vec<PolarsResult<Column>> = columns::COMPUTED
        .par_iter()
        .filter_map(|c| match c.build {
            Build::Fact { fact, .. } => Some(fact_column(shared, c.name, fact, &causes)),
            _ => None,
        })
        .collect();
    for c in facts {
        cols.push(c?);
    }
    let filled_cols: Vec<Column> = filled
        .par_iter()
        .filter_map(|name| {
            let field = columns::filled_field(name)?;
            Some(match recorded.get(field) {
                Some(flags) => Column::new(name.as_str().into(), flags),
                None => Column::new(name.as_str().into(), shared.filled_column(field)),
            })
        })
        .collect();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let typed = std::mem::take(&mut ds.typed);
    for (name, col) in typed {
        let c = match col {
            TypedCol::Str(ca) => ca.with_name(name.as_str().into()).into_column(),
            TypedCol::Num(ca) => ca.with_name(name.as_str().into()).into_column(),
            TypedCol::Date(v) => {
                let days: Vec<Option<i32>> = v
                    .iter()
                    .map(|d| d.map(|d| (d - epoch).num_days() as i32))
                    .collect();
                Column::new(name.as_str().into(), days).cast(&DataType::Date)?
            }
        };
        cols.push(c);
    }
    // Computed columns read fields a custom schema may not define: give them nulls so the plan
    // resolves (rules using them are skipped by the dependency check anyway). A null column
    // takes the type of whatever it meets, so one choice serves text and numbers alike.
    for name in columns::all_fields() {
        if !cols.iter().any(|c| c.name().as_str() == name) {
            cols.push(Column::full_null(name.into(), n, &DataType::Null));
        }
    }
    cols.extend(filled_cols);
    DataFrame::new(n, cols)
}

/// Computed columns as lazy expressions, one `with_columns` per dependency layer.
fn computed(mut lf: LazyFrame, schema: &Schema) -> PolarsResult<LazyFrame> {
    let params = columns::Params(&schema.policy.params);
    for layer in columns::expr_layers() {
        let mut exprs = Vec::with_capacity(layer.len());
        for c in layer {
            if let Build::Expr(f) = c.build {
                exprs.push(f(&params)?.alias(c.name));
            }
        }
        lf = lf.with_columns(exprs);
    }
    Ok(lf)
}

/// What typing keeps for the rule frame of `compiled` (nothing when no SQL rule runs): the
/// typed columns of the rules' fields and of every field a computed column is built from (the
/// frame builds them all), and the `_filled_<field>` names whose flags typing records as it
/// reads the cells.
pub(crate) fn frame_needs(compiled: &[Compiled]) -> BTreeSet<String> {
    if compiled.is_empty() {
        return BTreeSet::new();
    }
    let mut needs: BTreeSet<String> = columns::all_fields()
        .into_iter()
        .map(str::to_string)
        .collect();
    needs.extend(compiled.iter().flat_map(|c| c.fields.iter().cloned()));
    needs.extend(filled_names(compiled));
    needs
}

/// The `_filled_<field>` columns the rules read.
fn filled_names(compiled: &[Compiled]) -> BTreeSet<String> {
    compiled
        .iter()
        .flat_map(|c| c.names.iter())
        .filter(|n| columns::filled_field(n).is_some())
        .cloned()
        .collect()
}

/// Evaluate every compiled rule over the dataset and emit its findings.
pub(crate) fn run_rules(
    ds: &mut Dataset,
    compiled: &[Compiled],
    emit: &mut Emitter,
    skipped: &mut Vec<SkippedRule>,
) -> PolarsResult<()> {
    if ds.len() == 0 {
        return Ok(());
    }
    run_rules_deferring(ds, compiled, emit, skipped, &|_| false, &mut Vec::new())
}

/// [`run_rules`], except that rules for which `defer` is true are only checked for the columns
/// they need (skip entries as usual) and not evaluated: their compiled index and the tables
/// they apply to go to `deferred`, for a pass over the key rows of every shard. A shard without
/// rows still gets its skip entries: other shards of the run may have rows.
pub(crate) fn run_rules_deferring(
    ds: &mut Dataset,
    compiled: &[Compiled],
    emit: &mut Emitter,
    skipped: &mut Vec<SkippedRule>,
    defer: &dyn Fn(&Rule) -> bool,
    deferred: &mut Vec<(usize, Vec<u32>)>,
) -> PolarsResult<()> {
    if compiled.is_empty() {
        return Ok(());
    }
    // Which tables each rule applies to (all its fields present), and the skip entries.
    let mut fired_exprs = Vec::new();
    let mut placeholder_cols: BTreeSet<String> = BTreeSet::new();
    let mut active = Vec::new();
    for (k, c) in compiled.iter().enumerate() {
        let mut allowed: Vec<u32> = Vec::new();
        for (ti, table) in ds.tables.iter().enumerate() {
            let has = |f: &str| ds.present[ti].contains_key(f);
            let groups = &c.rule.any_of;
            // A field with alternatives is missing only when the file has none of its group.
            let mut missing: Vec<String> = c
                .fields
                .iter()
                .filter(|f| !has(f) && !groups.iter().any(|g| g.contains(f)))
                .cloned()
                .collect();
            missing.extend(
                groups
                    .iter()
                    .filter(|g| !g.iter().any(|f| has(f)))
                    .map(|g| g.join(" 或 ")),
            );
            if missing.is_empty() {
                allowed.push(ti as u32);
            } else {
                push_skip(
                    skipped,
                    &table.file,
                    &c.rule.code,
                    format!("缺少列 {}", missing.join("、")),
                );
            }
        }
        if allowed.is_empty() {
            continue;
        }
        if defer(c.rule) {
            deferred.push((k, allowed));
            continue;
        }
        let mut fired = match &c.when {
            Some(w) => w.clone().fill_null(false),
            None => lit(true),
        }
        .and(c.assert.clone().fill_null(true).not());
        if c.rule.scope == RuleScope::Household {
            fired = fired.and(col("_anchor"));
        }
        if allowed.len() < ds.tables.len() {
            let cond = allowed
                .iter()
                .map(|t| col("_t").eq(lit(*t)))
                .reduce(Expr::or)
                .unwrap_or(lit(false));
            fired = fired.and(cond);
        }
        fired_exprs.push(fired.alias(format!("\u{1}{k}")));
        for p in placeholders(&c.rule.message)
            .into_iter()
            .chain(placeholders(&c.rule.message_en))
            .chain(placeholders(&c.rule.hint))
            .chain(placeholders(&c.rule.hint_en))
        {
            if p.starts_with('_') && columns::dependencies(p).is_some() {
                placeholder_cols.insert(p.to_string());
            }
        }
        active.push(k);
    }
    if active.is_empty() || ds.len() == 0 {
        return Ok(());
    }
    let filled = filled_names(compiled);
    let t0 = std::time::Instant::now();
    let df = base_frame(ds, &filled)?;
    crate::timing::timing("check: rule frame", t0);
    let t0 = std::time::Instant::now();
    let mut select: Vec<Expr> = fired_exprs;
    select.extend(placeholder_cols.iter().map(|p| col(p.as_str())));
    // The plan once more with polars' per-node profile, for docs/performance.md: which layer
    // of computed columns costs what.
    if std::env::var_os("POVCHECK_PROFILE").is_some() {
        let (_, profile) = computed(df.clone().lazy(), ds.schema)?
            .select(select.clone())
            .profile()?;
        eprintln!("povcheck profile of the rules' plan (µs):\n{profile}");
    }
    let out = computed(df.lazy(), ds.schema)?.select(select).collect()?;
    crate::timing::timing("check: rules (polars)", t0);
    let ph: Vec<(String, Column)> = placeholder_cols
        .iter()
        .filter_map(|p| out.column(p).ok().map(|c| (p.clone(), c.clone())))
        .collect();
    // Findings are built on every core (each is a function of the dataset, the rule and its
    // row: 0.3 s on one core for a dirty 1M-row file's 110k rule findings) and added in rule
    // and row order, so the output does not depend on scheduling.
    let masks: Vec<(usize, BooleanChunked)> = active
        .iter()
        .map(|&k| Ok((k, out.column(&format!("\u{1}{k}"))?.bool()?.clone())))
        .collect::<PolarsResult<_>>()?;
    let built: Vec<Vec<Finding>> = {
        use rayon::prelude::*;
        let (shared, emit): (&Dataset, &Emitter) = (ds, emit);
        masks
            .par_iter()
            .map(|(k, mask)| rule_findings(shared, emit, &compiled[*k], mask, &ph))
            .collect()
    };
    for findings in built {
        emit.findings.extend(findings);
    }
    Ok(())
}

/// The findings of one rule on the rows its mask marks, in row order.
fn rule_findings(
    ds: &Dataset,
    emit: &Emitter,
    c: &Compiled,
    mask: &BooleanChunked,
    ph: &[(String, Column)],
) -> Vec<Finding> {
    // The placeholder columns this rule shows, decided once per rule, not per finding.
    let shown: Vec<&(String, Column)> = ph
        .iter()
        .filter(|(name, _)| c.names.contains(name) || mentions(c.rule, name))
        .collect();
    fired_rows(mask)
        .into_iter()
        .filter_map(|g| {
            let mut computed_vals: Vec<(String, String)> = shown
                .iter()
                .filter_map(|(name, colv)| {
                    display_any(colv.get(g).ok()?).map(|s| (name.clone(), s))
                })
                .collect();
            let empty = empty_columns(ds, g, &c.rule.empty_items);
            let columns = if empty.is_empty() {
                &c.rule.columns
            } else {
                let sep = emit.lang().pick("、", ", ");
                computed_vals.push((EMPTY_COLUMNS.to_string(), empty.join(sep)));
                &empty
            };
            let extra = Extra {
                computed: computed_vals,
                ..Extra::default()
            };
            emit.rule_finding_value(ds, g, &c.rule.code, columns, extra)
        })
        .collect()
}

/// The rows where a rule's mask is true, in order: only the set bits are visited (a rule
/// fires on a few rows of a million).
fn fired_rows(mask: &BooleanChunked) -> Vec<usize> {
    let mut rows = Vec::new();
    let mut offset = 0;
    for arr in mask.downcast_iter() {
        let values = arr.values();
        if values.set_bits() > 0 {
            rows.extend(
                values
                    .true_idx_iter()
                    .filter(|&i| arr.validity().is_none_or(|v| v.get_bit(i)))
                    .map(|i| offset + i),
            );
        }
        offset += arr.len();
    }
    rows
}

/// The columns of the blank `items` for row `g`: an item is blank when the file has a column of
/// it and every such column is blank (a household's water item is blank only when each water
/// column the file has is).
fn empty_columns(ds: &Dataset, g: usize, items: &[Vec<String>]) -> Vec<String> {
    let blank = |f: &str| ds.cell(g, f).is_none_or(|c| c.is_blank());
    items
        .iter()
        .filter_map(|item| {
            let had: Vec<&String> = item.iter().filter(|f| ds.has_column(g, f)).collect();
            (!had.is_empty() && had.iter().all(|f| blank(f))).then_some(had)
        })
        .flatten()
        .cloned()
        .collect()
}

fn mentions(rule: &Rule, name: &str) -> bool {
    let pat = format!("{{{name}}}");
    rule.message.contains(&pat)
        || rule.message_en.contains(&pat)
        || rule.hint.contains(&pat)
        || rule.hint_en.contains(&pat)
}

fn display_any(v: AnyValue) -> Option<String> {
    match v {
        AnyValue::Null => None,
        AnyValue::Float64(f) => Some(fmt_num(f)),
        AnyValue::Float32(f) => Some(fmt_num(f64::from(f))),
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        AnyValue::Boolean(b) => Some(if b { "是" } else { "否" }.to_string()),
        other => Some(other.to_string()),
    }
}

pub(crate) fn push_skip(skipped: &mut Vec<SkippedRule>, file: &str, rule: &str, reason: String) {
    if !skipped.iter().any(|s| s.file == file && s.rule == rule) {
        skipped.push(SkippedRule {
            file: file.to_string(),
            rule: rule.to_string(),
            reason,
        });
    }
}

/// The SQL rules of the schema that are enabled, compiled. Errors name the rule.
pub(crate) fn compile_all<'s>(
    schema: &'s Schema,
    enabled: &dyn Fn(&str) -> bool,
) -> Result<Vec<Compiled<'s>>, String> {
    let mut out = Vec::new();
    for r in &schema.rules {
        if r.kind != RuleKind::Sql || !enabled(&r.code) {
            continue;
        }
        out.push(compile_rule(r, schema).map_err(|e| format!("{}: {e}", r.code))?);
    }
    Ok(out)
}

/// Rules using a person's age skip people whose age is unknown; say how many per file.
pub(crate) fn age_skips(ds: &Dataset, compiled: &[Compiled], skipped: &mut Vec<SkippedRule>) {
    // Unknown for a person whose age is unknown; whatever is computed from them inherits that.
    const AGE_SOURCES: &[&str] = &["_age", "_birth_key"];
    let mut unknown: HashMap<usize, usize> = HashMap::new();
    for g in 0..ds.len() {
        if ds.age[g].is_none() {
            *unknown.entry(ds.t[g] as usize).or_default() += 1;
        }
    }
    for c in compiled {
        if !c.names.iter().any(|n| columns::reads_any(n, AGE_SOURCES)) {
            continue;
        }
        for (t, count) in &unknown {
            let table = &ds.tables[*t];
            if ds.present[*t].contains_key("证件号码") {
                push_skip(
                    skipped,
                    &table.file,
                    &c.rule.code,
                    format!("{count} 人年龄未知（证件号码无效且无有效出生日期），对这些人未检查"),
                );
            }
        }
    }
}

/// Rules reading an exit line skip households whose standard and year have none (reported).
pub(crate) fn exit_line_skips(ds: &Dataset, compiled: &[Compiled], skipped: &mut Vec<SkippedRule>) {
    let data_year = chrono::Datelike::year(&ds.as_of);
    // (computed column, the rows' lines, whether the year comes from 脱贫年度, the reason).
    let kinds: [(&str, &[Option<f64>], bool, String); 2] = [
        (
            "_exit_line",
            &ds.exit_line,
            true,
            "户的识别标准与脱贫年度在策略表中没有脱贫标准线，对这些户未检查".to_string(),
        ),
        (
            "_data_year_line",
            &ds.data_year_line,
            false,
            format!(
                "户的识别标准在策略表中没有 {data_year} 年（数据年度）的脱贫标准线，对这些户未检查"
            ),
        ),
    ];
    for (name, lines, needs_year, reason) in kinds {
        let users: Vec<&Compiled> = compiled.iter().filter(|c| c.names.contains(name)).collect();
        if users.is_empty() {
            continue;
        }
        let mut missing: HashMap<usize, usize> = HashMap::new();
        for (g, line) in lines.iter().enumerate() {
            if ds.anchor[g] && line.is_none() {
                let has = |f: &str| ds.display(g, f).is_some();
                if has("识别标准") && (!needs_year || has("脱贫年度")) {
                    *missing.entry(ds.t[g] as usize).or_default() += 1;
                }
            }
        }
        for c in users {
            for (t, count) in &missing {
                push_skip(
                    skipped,
                    &ds.tables[*t].file,
                    &c.rule.code,
                    format!("{count} {reason}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L209's helper column: the first helper in row order who is a member of the household,
    /// for households compared name by name and those looked up in a set, and rows without
    /// 户编号 — what the (household, name) set it replaced gives.
    #[test]
    fn helper_members_are_the_household_members_helping() {
        use crate::cell::Cell;
        use crate::read::{Column as ReadColumn, Table};
        let schema = crate::schema::load_str("default", crate::schema::DEFAULT_TOML)
            .expect("default schema");
        let headers = ["户编号", "姓名", "帮扶责任人"];
        let columns = headers
            .iter()
            .enumerate()
            .map(|(index, h)| ReadColumn {
                index,
                header: h.to_string(),
                field: Some(h.to_string()),
            })
            .collect();
        let mut rows: Vec<[String; 3]> = Vec::new();
        // Big households (looked up in a set): one whose 36th row names its 31st member after
        // an outsider, one helped by outsiders only.
        for m in 0..40 {
            let helper = match m {
                5 => "外人".to_string(),
                35 => "甲30".to_string(),
                _ => String::new(),
            };
            rows.push(["A".into(), format!("甲{m}"), helper]);
        }
        for m in 0..40 {
            rows.push(["B".into(), format!("乙{m}"), "外人".into()]);
        }
        // Small ones, interleaved: the member helping is on the second row; a helper who is a
        // member of another household.
        rows.push(["C".into(), "丙".into(), "外人".into()]);
        rows.push(["D".into(), "丁".into(), "甲3".into()]);
        rows.push(["C".into(), "丙子".into(), "丙".into()]);
        // Without 户编号: its own helper, and not.
        rows.push([String::new(), "戊".into(), "戊".into()]);
        rows.push([String::new(), "己".into(), "戊".into()]);
        let mut table = Table::new("t.csv", None, 1, columns);
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<Cell> = r.iter().map(|s| Cell::Text(s.clone())).collect();
            table
                .push_row(i as u32 + 2, cells.iter().map(Cell::as_ref))
                .expect("fits");
        }
        let tables = [table];
        let keep: BTreeSet<String> = ["姓名", "帮扶责任人"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut emit = Emitter::new(&schema, crate::finding::Lang::En, Default::default());
        let as_of = chrono::NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
        let ds = super::super::typing::type_tables(&tables, &schema, as_of, &keep, &mut emit);
        let got = helper_members(&ds);
        let want = |g: usize| -> Option<String> {
            match rows[g][0].as_str() {
                "A" => Some("甲30".into()),
                "C" => Some("丙".into()),
                "" if g == rows.len() - 2 => Some("戊".into()),
                _ => None,
            }
        };
        for (g, value) in got.iter().enumerate() {
            assert_eq!(*value, want(g), "row {g}: {:?}", rows[g]);
        }
    }

    /// An IN list rewritten as comparisons gives what polars' IN gives, on matches, misses and
    /// nulls, negated or not; a list holding NULL and a long list are left to polars.
    #[test]
    fn in_lists_as_comparisons_give_what_in_gives() {
        let df = df!(
            "x" => [Some("是"), Some("否"), None, Some("其他"), Some("")],
            "n" => [Some(1.0), None, Some(3.0), Some(4.0), Some(5.0)],
        )
        .expect("frame");
        let params = std::collections::BTreeMap::new();
        let long: Vec<String> = (0..12).map(|i| format!("'v{i}'")).collect();
        for sql in [
            "x IN ('是', '其他')".to_string(),
            "x NOT IN ('是', '其他')".to_string(),
            "x IN ('是')".to_string(),
            "x IN ('是', NULL)".to_string(),
            "x NOT IN ('否', NULL)".to_string(),
            format!("x IN ({})", long.join(", ")),
            "n IN (1, 3)".to_string(),
            "x IN ('是', '否') AND n > 2".to_string(),
        ] {
            let polars = compile_sql(&sql, &params).expect("sql");
            let ours = in_list_as_comparisons(polars.clone());
            let out = df
                .clone()
                .lazy()
                .select([polars.alias("polars"), ours.clone().alias("ours")])
                .collect()
                .expect("plan");
            let (a, b) = (out.column("polars").unwrap(), out.column("ours").unwrap());
            assert!(a.equals_missing(b), "{sql}: {a:?} != {b:?}");
            // Short text lists without NULL are rewritten; the others stay IN.
            let rewritten = !format!("{ours:?}").contains("is_in");
            let expected = sql.starts_with("x") && !sql.contains("NULL") && !sql.contains("'v0'");
            assert_eq!(rewritten, expected, "{sql}: {ours:?}");
        }
    }

    #[test]
    fn fired_rows_are_the_true_rows_across_chunks() {
        let mut mask = BooleanChunked::from_slice_options(
            "m".into(),
            &[Some(true), None, Some(false), Some(true)],
        );
        mask.append(&BooleanChunked::from_slice(
            "m".into(),
            &[false, true, true],
        ))
        .expect("append");
        mask.append(&BooleanChunked::from_slice("m".into(), &[false; 3]))
            .expect("append");
        assert_eq!(mask.chunks().len(), 3);
        let oracle: Vec<usize> = mask
            .iter()
            .enumerate()
            .filter(|(_, v)| *v == Some(true))
            .map(|(g, _)| g)
            .collect();
        assert_eq!(oracle, vec![0, 3, 5, 6]);
        assert_eq!(fired_rows(&mask), oracle);
    }
}
