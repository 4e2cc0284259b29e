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

use crate::schema::{Rule, RuleKind, RuleScope, Schema};

use super::SkippedRule;
use super::columns;
use super::emit::{Emitter, Extra, fmt_num, placeholders};
use super::typing::{Dataset, TypedCol};

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
            fields.extend(deps.iter().map(|d| d.to_string()));
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

fn any_of(e: Expr, values: &[&str]) -> Expr {
    let mut it = values.iter();
    let Some(first) = it.next() else {
        return lit(false);
    };
    it.fold(e.clone().eq(lit(*first)), |acc, v| {
        acc.or(e.clone().eq(lit(*v)))
    })
}

fn count_over(cond: Expr, key: &str) -> PolarsResult<Expr> {
    cond.fill_null(false)
        .cast(DataType::Int32)
        .sum()
        .over([col(key)])
}

const SCHOOL_NOT: &[&str] = &["非在校生", "学前教育"];
const MALE_REL: &[&str] = &[
    "之子",
    "之女婿",
    "之孙子",
    "之外孙子",
    "之父",
    "之岳父",
    "之公公",
    "之祖父",
    "之外祖父",
    "之侄儿",
    "之曾孙子",
];
const FEMALE_REL: &[&str] = &[
    "之女",
    "之儿媳",
    "之孙女",
    "之外孙女",
    "之母",
    "之岳母",
    "之婆婆",
    "之祖母",
    "之外祖母",
    "之侄女",
    "之曾孙女",
    "之兄弟媳妇",
];

/// Fields computed columns do arithmetic on.
const NUMERIC_DEPS: &[&str] = &[
    "人数",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
    "脱贫年度",
    "务工时间",
];

fn param(schema: &Schema, name: &str) -> Expr {
    match schema.policy.params.get(name) {
        Some(v) => lit(*v),
        None => lit(NULL).cast(DataType::Float64),
    }
}

/// Build the dataset frame: typed fields plus the Rust-derived facts.
fn base_frame(ds: &mut Dataset, filled: &BTreeSet<String>) -> PolarsResult<DataFrame> {
    let n = ds.len();
    let mut cols: Vec<Column> = Vec::with_capacity(ds.typed.len() + 16);
    cols.push(Column::new("_t".into(), &ds.t));
    // The household as a number: every window below groups by it, and hashing an integer is
    // far cheaper than hashing the key text. A row without 户编号 is a household of its own.
    let hh: Vec<u64> = (0..n).map(|g| ds.household_number(g)).collect();
    cols.push(Column::new("_hh".into(), hh));
    // Across files a household is its 户编号 (one household may be split over two files); a row
    // without one stays a household of its own.
    let hhid: Vec<u64> = match ds.typed.get("户编号") {
        Some(TypedCol::Str(ids)) => {
            let mut index: PlHashMap<&str, u64> = PlHashMap::default();
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
    cols.push(Column::new("_hhid".into(), hhid));
    cols.push(Column::new("_anchor".into(), &ds.anchor));
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let days = |v: &[Option<chrono::NaiveDate>]| -> Vec<Option<i32>> {
        v.iter()
            .map(|d| d.map(|d| (d - epoch).num_days() as i32))
            .collect()
    };
    let v2 = v2_columns(ds);
    let typed = std::mem::take(&mut ds.typed);
    for (name, col) in typed {
        let c = match col {
            TypedCol::Str(ca) => ca.with_name(name.as_str().into()).into_column(),
            TypedCol::Num(ca) => ca.with_name(name.as_str().into()).into_column(),
            TypedCol::Date(v) => {
                Column::new(name.as_str().into(), days(&v)).cast(&DataType::Date)?
            }
        };
        cols.push(c);
    }
    // Computed columns read fields a custom schema may not define: give them typed nulls so the
    // plan resolves (rules using them are skipped by the dependency check anyway).
    let mut needed: BTreeSet<&str> = columns::COMPUTED
        .iter()
        .flat_map(|(_, deps, _)| deps.iter().copied())
        .chain(columns::OPTIONAL_READS.iter().copied())
        .collect();
    needed.insert("性别");
    for name in needed {
        if !cols.iter().any(|c| c.name().as_str() == name) {
            let dtype = if NUMERIC_DEPS.contains(&name) {
                DataType::Float64
            } else {
                DataType::String
            };
            cols.push(Column::full_null(name.into(), n, &dtype));
        }
    }
    for name in filled {
        if let Some(field) = columns::filled_field(name) {
            let v: Vec<bool> = ds.filled_column(field);
            cols.push(Column::new(name.as_str().into(), v));
        }
    }
    cols.push(Column::new("_id_valid".into(), &ds.id_valid));
    cols.push(Column::new("_id_comparable".into(), &ds.id_comparable));
    cols.push(Column::new("_id_birth".into(), days(&ds.id_birth)).cast(&DataType::Date)?);
    cols.push(Column::new("_id_sex".into(), &ds.id_sex));
    cols.push(Column::new("_id_region".into(), &ds.id_region));
    cols.push(Column::new("_birth".into(), days(&ds.birth)).cast(&DataType::Date)?);
    cols.push(Column::new("_age".into(), &ds.age));
    // YYYYMMDD as an integer: adding N * 10000 moves a date N years on, so "born fewer than 12
    // years apart" is an exact integer comparison (L207 compares birth dates, not ages).
    let birth_key: Vec<Option<i32>> = ds
        .birth
        .iter()
        .map(|d| {
            d.map(|d| {
                use chrono::Datelike;
                d.year() * 10000 + d.month() as i32 * 100 + d.day() as i32
            })
        })
        .collect();
    cols.push(Column::new("_birth_key".into(), birth_key));
    cols.push(Column::new("_school_blank".into(), &ds.school_blank));
    cols.push(Column::new("_working".into(), &ds.work_filled));
    cols.push(Column::new("_exit_line".into(), &ds.exit_line));
    cols.push(Column::new("_excluded".into(), &ds.excluded));
    cols.extend(v2);
    DataFrame::new(n, cols)
}

/// The catalogue-v2 facts SQL cannot derive: the data year's exit line (L308), the items of
/// 其他致贫原因 canonicalised by the 主要致贫原因 code list (L505), and a 帮扶责任人 who is a
/// member of the household (L209).
fn v2_columns(ds: &Dataset) -> Vec<Column> {
    let n = ds.len();
    let year = chrono::Datelike::year(&ds.as_of);
    let line: Vec<Option<f64>> = match ds.typed.get("识别标准") {
        Some(c) => (0..n)
            .map(|g| c.str_at(g).and_then(|s| ds.schema.exit_line(s, year)))
            .collect(),
        None => vec![None; n],
    };
    let mut items: Vec<i32> = vec![0; n];
    let mut unknown: Vec<Option<String>> = vec![None; n];
    let mut repeat: Vec<Option<String>> = vec![None; n];
    if let (Some(other), Some(f)) = (
        ds.typed.get("其他致贫原因"),
        ds.schema.field("主要致贫原因"),
    ) {
        let main = ds.typed.get("主要致贫原因");
        for g in 0..n {
            let Some(text) = other.str_at(g) else {
                continue;
            };
            let main = main.and_then(|m| m.str_at(g));
            let parts = text
                .split(|c: char| c.is_whitespace() || "、,，;；/".contains(c))
                .filter(|s| !s.is_empty());
            for item in parts {
                items[g] += 1;
                match crate::types::lookup(item, &f.codes, &f.variants) {
                    crate::types::CodeLookup::Canonical(c) => {
                        if repeat[g].is_none() && main == Some(c) {
                            repeat[g] = Some(item.to_string());
                        }
                    }
                    crate::types::CodeLookup::Unknown { .. } => {
                        if unknown[g].is_none() {
                            unknown[g] = Some(item.to_string());
                        }
                    }
                }
            }
        }
    }
    let mut helper: Vec<Option<String>> = vec![None; n];
    if let (Some(names), Some(helpers)) = (ds.typed.get("姓名"), ds.typed.get("帮扶责任人"))
    {
        let mut members: PlHashMap<u64, Vec<&str>> = PlHashMap::default();
        for g in 0..n {
            if let Some(name) = names.str_at(g) {
                members
                    .entry(ds.household_number(g))
                    .or_default()
                    .push(name);
            }
        }
        let mut found: PlHashMap<u64, &str> = PlHashMap::default();
        for g in 0..n {
            let hh = ds.household_number(g);
            if let Some(h) = helpers.str_at(g)
                && !found.contains_key(&hh)
                && members.get(&hh).is_some_and(|m| m.contains(&h))
            {
                found.insert(hh, h);
            }
        }
        if !found.is_empty() {
            for (g, slot) in helper.iter_mut().enumerate() {
                *slot = found.get(&ds.household_number(g)).map(|s| s.to_string());
            }
        }
    }
    vec![
        Column::new("_data_year_line".into(), line),
        Column::new("_other_cause_items".into(), items),
        Column::new("_other_cause_unknown".into(), unknown),
        Column::new("_other_cause_repeat".into(), repeat),
        Column::new("_hh_helper_member".into(), helper),
    ]
}

/// Computed columns as lazy expressions, in dependency order (row, household, dataset).
fn computed(lf: LazyFrame, schema: &Schema) -> PolarsResult<LazyFrame> {
    let c = |n: &str| col(n);
    let row = [
        any_of(c("劳动技能"), &["普通劳动力", "技能劳动力"]).alias("_labour"),
        when(c("_school_blank"))
            .then(lit(false))
            .otherwise(any_of(c("在校生状况"), SCHOOL_NOT).not())
            .alias("_in_school"),
        when(c("_school_blank"))
            .then(lit(true))
            .otherwise(c("在校生状况").eq(lit("非在校生")))
            .alias("_not_in_school"),
        any_of(c("脱贫属性"), &["已脱贫", "预脱贫"]).alias("_lifted"),
        c("与户主关系").eq(lit("户主")).alias("_head"),
        when(any_of(c("与户主关系"), MALE_REL).fill_null(false))
            .then(lit("男"))
            .when(any_of(c("与户主关系"), FEMALE_REL).fill_null(false))
            .then(lit("女"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("_rel_sex"),
        ((c("工资性收入") + c("生产经营性收入") + c("财产性收入") + c("转移性收入")
            - c("生产经营性支出"))
            / c("人数"))
        .alias("_income_calc"),
    ];
    let age_between = |lo: &str, hi: &str| {
        c("_age")
            .cast(DataType::Float64)
            .gt_eq(param(schema, lo))
            .and(c("_age").cast(DataType::Float64).lt_eq(param(schema, hi)))
    };
    let head_row = c("_anchor").and(c("_head").fill_null(false));
    let household = [
        c("_t")
            .count()
            .cast(DataType::Int32)
            .over([c("_hh")])?
            .alias("_hh_rows"),
        count_over(c("_head"), "_hh")?.alias("_hh_heads"),
        count_over(c("_labour"), "_hh")?.alias("_hh_labour"),
        count_over(c("_in_school"), "_hh")?.alias("_hh_students"),
        count_over(c("健康状况").eq(lit("残疾")), "_hh")?.alias("_hh_disabled"),
        count_over(any_of(c("健康状况"), &["长期慢性病", "患有大病"]), "_hh")?.alias("_hh_ill"),
        count_over(c("是否享受低保").eq(lit("是")), "_hh")?.alias("_hh_dibao"),
        count_over(
            age_between("compulsory_age_min", "compulsory_age_max")
                .and(c("健康状况").neq(lit("残疾")))
                .and(c("_not_in_school")),
            "_hh",
        )?
        .alias("_hh_dropouts"),
        // An empty 城镇职工 cell (or no such column) does not insure the person (§4.10).
        count_over(
            c("是否参加城乡居民基本医疗保险").eq(lit("否")).and(
                c("是否参加城镇职工基本医疗保险")
                    .neq(lit("是"))
                    .fill_null(true),
            ),
            "_hh",
        )?
        .alias("_hh_uninsured"),
        count_over(c("与户主关系").eq(lit("配偶")), "_hh")?.alias("_hh_spouses"),
        count_over(c("_working").or(c("务工时间").gt(lit(0.0))), "_hh")?.alias("_hh_workers"),
        count_over(c("务工时间").gt(lit(0.0)), "_hh")?.alias("_hh_month_workers"),
        count_over(c("是否参加大病保险").eq(lit("否")), "_hh")?.alias("_hh_no_serious_ins"),
        count_over(any_of(c("劳动技能"), &["无劳动力", "丧失劳动力"]), "_hh")?.alias("_hh_unable"),
        count_over(c("是否享受五保").eq(lit("是")), "_hh")?.alias("_hh_wubao"),
        count_over(c("是否享受低保").eq(lit("是")), "_hh")?.alias("_hh_dibao_any"),
        count_over(c("是否享受五保").eq(lit("是")), "_hh")?.alias("_hh_wubao_any"),
        // Unknown while any member's age is: the oldest may be the one not known.
        when(count_over(c("_age").is_null(), "_hh")?.gt(lit(0)))
            .then(lit(NULL).cast(DataType::Int32))
            .otherwise(count_over(
                c("_age")
                    .cast(DataType::Float64)
                    .gt_eq(param(schema, "pension_age")),
                "_hh",
            )?)
            .alias("_hh_elderly"),
        count_over(
            c("健康状况")
                .eq(lit("健康"))
                .and(age_between("labour_age_min", "labour_age_max"))
                .and(c("_labour")),
            "_hh",
        )?
        .alias("_hh_able_adults"),
        when(head_row.clone())
            .then(c("性别"))
            .otherwise(lit(NULL).cast(DataType::String))
            .max()
            .over([c("_hh")])?
            .alias("_hh_head_sex"),
        when(head_row.clone())
            .then(c("_birth_key"))
            .otherwise(lit(NULL).cast(DataType::Int32))
            .max()
            .over([c("_hh")])?
            .alias("_hh_head_birth_key"),
        when(head_row)
            .then(c("_age"))
            .otherwise(lit(NULL).cast(DataType::Int32))
            .max()
            .over([c("_hh")])?
            .alias("_hh_head_age"),
    ];
    let gap = param(schema, "generation_gap");
    let household2 = [
        count_over(
            c("与户主关系")
                .eq(lit("配偶"))
                .and(c("性别").eq(c("_hh_head_sex"))),
            "_hh",
        )?
        .alias("_hh_spouse_same_sex"),
        count_over(
            any_of(c("与户主关系"), &["之子", "之女"])
                .and(
                    (c("_birth_key") - c("_hh_head_birth_key"))
                        .cast(DataType::Float64)
                        .lt(gap.clone() * lit(10000.0)),
                )
                .or(any_of(c("与户主关系"), &["之父", "之母"]).and(
                    (c("_hh_head_birth_key") - c("_birth_key"))
                        .cast(DataType::Float64)
                        .lt(gap * lit(10000.0)),
                )),
            "_hh",
        )?
        .alias("_hh_generation_gap"),
        when(c("_id_comparable"))
            .then(c("证件号码"))
            .otherwise(lit(NULL).cast(DataType::String))
            .alias("_idkey"),
    ];
    let dataset = [
        when(c("_idkey").is_not_null())
            .then(c("_t").count().cast(DataType::Int32).over([c("_idkey")])?)
            .otherwise(lit(NULL).cast(DataType::Int32))
            .alias("_id_count"),
        when(c("_idkey").is_not_null())
            .then(
                c("_hhid")
                    .n_unique()
                    .cast(DataType::Int32)
                    .over([c("_idkey")])?,
            )
            .otherwise(lit(NULL).cast(DataType::Int32))
            .alias("_id_households"),
        when(c("户编号").is_not_null())
            .then(
                c("乡镇")
                    .neq_missing(c("乡镇").first().over([c("户编号")])?)
                    .or(c("行政村").neq_missing(c("行政村").first().over([c("户编号")])?)),
            )
            .otherwise(lit(NULL).cast(DataType::Boolean))
            .alias("_hh_location_differs"),
        when(c("联系电话").is_not_null())
            .then(
                c("_hhid")
                    .n_unique()
                    .cast(DataType::Int32)
                    .over([c("联系电话")])?,
            )
            .otherwise(lit(NULL).cast(DataType::Int32))
            .alias("_phone_households"),
    ];
    Ok(lf
        .with_columns(row)
        .with_columns(household)
        .with_columns(household2)
        .with_columns(dataset))
}

/// Evaluate every compiled rule over the dataset and emit its findings.
pub(crate) fn run_rules(
    ds: &mut Dataset,
    compiled: &[Compiled],
    emit: &mut Emitter,
    skipped: &mut Vec<SkippedRule>,
) -> PolarsResult<()> {
    if ds.len() == 0 || compiled.is_empty() {
        return Ok(());
    }
    // Which tables each rule applies to (all its fields present), and the skip entries.
    let mut fired_exprs = Vec::new();
    let mut placeholder_cols: BTreeSet<String> = BTreeSet::new();
    let mut active = Vec::new();
    for (k, c) in compiled.iter().enumerate() {
        let mut allowed: Vec<u32> = Vec::new();
        for (ti, table) in ds.tables.iter().enumerate() {
            let missing: Vec<&String> = c
                .fields
                .iter()
                .filter(|f| !ds.present[ti].contains_key(f.as_str()))
                .collect();
            if missing.is_empty() {
                allowed.push(ti as u32);
            } else {
                let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                push_skip(
                    skipped,
                    &table.file,
                    &c.rule.code,
                    format!("缺少列 {}", names.join("、")),
                );
            }
        }
        if allowed.is_empty() {
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
    if active.is_empty() {
        return Ok(());
    }
    let filled: BTreeSet<String> = compiled
        .iter()
        .flat_map(|c| c.names.iter())
        .filter(|n| columns::filled_field(n).is_some())
        .cloned()
        .collect();
    let t0 = std::time::Instant::now();
    let df = base_frame(ds, &filled)?;
    crate::progress::timing("check: rule frame", t0);
    let t0 = std::time::Instant::now();
    let mut select: Vec<Expr> = fired_exprs;
    select.extend(placeholder_cols.iter().map(|p| col(p.as_str())));
    let out = computed(df.lazy(), ds.schema)?.select(select).collect()?;
    crate::progress::timing("check: rules (polars)", t0);
    let ph: Vec<(String, Column)> = placeholder_cols
        .iter()
        .filter_map(|p| out.column(p).ok().map(|c| (p.clone(), c.clone())))
        .collect();
    for k in active {
        let c = &compiled[k];
        let mask = out.column(&format!("\u{1}{k}"))?.bool()?.clone();
        for (g, v) in mask.iter().enumerate() {
            if v != Some(true) {
                continue;
            }
            let computed_vals = ph
                .iter()
                .filter(|(name, _)| c.names.contains(name) || mentions(c.rule, name))
                .filter_map(|(name, colv)| {
                    display_any(colv.get(g).ok()?).map(|s| (name.clone(), s))
                })
                .collect();
            emit.rule_finding(
                ds,
                g,
                &c.rule.code,
                &c.rule.columns,
                Extra {
                    computed: computed_vals,
                    ..Extra::default()
                },
            );
        }
    }
    Ok(())
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
    const AGE_COLS: &[&str] = &[
        "_age",
        "_hh_dropouts",
        "_hh_able_adults",
        "_hh_head_age",
        "_hh_generation_gap",
        "_hh_elderly",
    ];
    let mut unknown: HashMap<usize, usize> = HashMap::new();
    for g in 0..ds.len() {
        if ds.age[g].is_none() {
            *unknown.entry(ds.t[g] as usize).or_default() += 1;
        }
    }
    for c in compiled {
        if !c.names.iter().any(|n| AGE_COLS.contains(&n.as_str())) {
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

/// L302-style rules need an exit line; households whose standard/year has none are skipped.
pub(crate) fn exit_line_skips(ds: &Dataset, compiled: &[Compiled], skipped: &mut Vec<SkippedRule>) {
    let mut missing: HashMap<usize, usize> = HashMap::new();
    for g in 0..ds.len() {
        if ds.anchor[g] && ds.exit_line[g].is_none() {
            let has = |f: &str| ds.display(g, f).is_some();
            if has("识别标准") && has("脱贫年度") {
                *missing.entry(ds.t[g] as usize).or_default() += 1;
            }
        }
    }
    // The data year's line (L308): households whose 识别标准 has none for that year.
    let year = chrono::Datelike::year(&ds.as_of);
    let standard = ds.typed.get("识别标准");
    let mut missing_now: HashMap<usize, usize> = HashMap::new();
    for g in 0..ds.len() {
        if ds.anchor[g]
            && let Some(s) = standard.and_then(|c| c.str_at(g))
            && ds.schema.exit_line(s, year).is_none()
        {
            *missing_now.entry(ds.t[g] as usize).or_default() += 1;
        }
    }
    for c in compiled
        .iter()
        .filter(|c| c.names.contains("_data_year_line"))
    {
        for (t, count) in &missing_now {
            push_skip(
                skipped,
                &ds.tables[*t].file,
                &c.rule.code,
                format!(
                    "{count} 户的识别标准在策略表中没有 {year} 年（数据年度）的脱贫标准线，对这些户未检查"
                ),
            );
        }
    }
    for c in compiled.iter().filter(|c| c.names.contains("_exit_line")) {
        for (t, count) in &missing {
            push_skip(
                skipped,
                &ds.tables[*t].file,
                &c.rule.code,
                format!("{count} 户的识别标准与脱贫年度在策略表中没有脱贫标准线，对这些户未检查"),
            );
        }
    }
}
