//! The computed columns rule SQL may read (names start with `_`): one registry, [`COMPUTED`].
//!
//! This list is the contract between the engine and rule SQL: the schema loader accepts a rule
//! only if every name it uses is a field or a public entry here; a rule is skipped for a file
//! when a field it depends on (directly or through computed columns) is absent from that file.
//! Policy thresholds are not columns: an expression reads them as `$name` from
//! `[policy.params]` through [`Params::get`].
//!
//! # Adding a computed column
//! Add ONE entry to [`COMPUTED`], in the section of its stage:
//! ```text
//! public("_hh_widowed", Stage::Household, "members whose 婚姻状况 is 丧偶",
//!     |p| count_over(col("婚姻状况").eq(lit("丧偶")))),
//! ```
//! - `name` starts with `_`; `doc` says what it is (docs and `povcheck rules` read it).
//! - The expression is a polars expression over fields and other computed columns. What it
//!   reads is found from the expression itself ([`dependencies`]), so there is no list of
//!   fields to keep in step; the engine evaluates entries in dependency order.
//! - A value polars cannot express is computed in Rust: add a [`Fact`] variant, fill it in the
//!   typing pass and return it from `check::engine::fact_column` (its own Rust function), and
//!   add an entry `fact(name, stage, doc, &[fields it reads], Fact::…)`. The compiler then
//!   asks how a built-in rule's message shows it (`check::emit::computed_display`).
//! - `public_optional(…, &[fields], …)`: the expression reads those fields where the file has
//!   them but does not depend on them (a rule using it still runs without them; L404, L608).
//! - `internal(…)` entries are building blocks the engine needs but rules may not name.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use polars::prelude::*;

/// What a computed column is aggregated over; for docs (and the order of this list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// One row.
    Row,
    /// The household (户编号 within one file).
    Household,
    /// Every file of the run.
    Dataset,
}

/// Values computed in Rust by the typing pass (what polars cannot express, or what Rust has
/// already worked out while checking the cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// Table index of the row.
    Table,
    /// The household within one file, as a number (a row without 户编号 is its own).
    Household,
    /// The household across files (its 户编号).
    HouseholdId,
    /// The row findings of household rules land on (the 户主, else the first member).
    Anchor,
    IdValid,
    IdComparable,
    IdBirth,
    IdSex,
    IdRegion,
    Birth,
    Age,
    /// Birth date as YYYYMMDD.
    BirthKey,
    SchoolBlank,
    Working,
    ExitLine,
    /// The exit line of the row's 识别标准 in the data year (the reference date's year).
    DataYearLine,
    /// The data year itself.
    DataYear,
    /// D101's key where it differs from the ID: the first 18 characters of a 残疾人证, the
    /// 18-digit form of a 15-digit ID.
    IdKey18,
    Excluded,
    /// Items of 其他致贫原因, split on runs of its separators.
    OtherCauseItems,
    /// The first item of 其他致贫原因 not in the 主要致贫原因 code list.
    OtherCauseUnknown,
    /// The first item of 其他致贫原因 whose canonical value is the row's 主要致贫原因.
    OtherCauseRepeat,
    /// A 帮扶责任人 of the household that is the 姓名 of one of its members.
    HelperMember,
}

/// `[policy.params]`, as computed columns read them.
pub struct Params<'a>(pub &'a BTreeMap<String, f64>);

impl Params<'_> {
    /// The parameter as a literal; a typed null when the schema has none.
    pub fn get(&self, name: &str) -> Expr {
        match self.0.get(name) {
            Some(v) => lit(*v),
            None => lit(NULL).cast(DataType::Float64),
        }
    }
}

/// How a computed column is made.
#[derive(Clone, Copy)]
pub enum Build {
    /// A polars expression over fields and other computed columns.
    Expr(fn(&Params) -> PolarsResult<Expr>),
    /// Computed in Rust; `reads` are the fields it is made from (Rust code has no expression to
    /// read them from).
    Fact {
        reads: &'static [&'static str],
        fact: Fact,
    },
}

/// One computed column.
#[derive(Clone, Copy)]
pub struct Computed {
    pub name: &'static str,
    pub stage: Stage,
    pub doc: &'static str,
    /// Rules may name it (internal building blocks are not part of the rule language).
    pub public: bool,
    pub build: Build,
    /// Fields the expression reads where the file has them without depending on them: a rule
    /// using the column still runs on a file that lacks them, where they read as blank.
    pub optional: &'static [&'static str],
}

const fn public(
    name: &'static str,
    stage: Stage,
    doc: &'static str,
    expr: fn(&Params) -> PolarsResult<Expr>,
) -> Computed {
    Computed {
        name,
        stage,
        doc,
        public: true,
        build: Build::Expr(expr),
        optional: &[],
    }
}

/// A public expression that reads `optional` fields where the file has them (see
/// [`Computed::optional`]).
const fn public_optional(
    name: &'static str,
    stage: Stage,
    doc: &'static str,
    optional: &'static [&'static str],
    expr: fn(&Params) -> PolarsResult<Expr>,
) -> Computed {
    Computed {
        name,
        stage,
        doc,
        public: true,
        build: Build::Expr(expr),
        optional,
    }
}

const fn fact(
    name: &'static str,
    stage: Stage,
    doc: &'static str,
    reads: &'static [&'static str],
    fact: Fact,
) -> Computed {
    Computed {
        name,
        stage,
        doc,
        public: true,
        build: Build::Fact { reads, fact },
        optional: &[],
    }
}

const fn internal(name: &'static str, stage: Stage, build: Build) -> Computed {
    Computed {
        name,
        stage,
        doc: "",
        public: false,
        build,
        optional: &[],
    }
}

const fn internal_fact(
    name: &'static str,
    stage: Stage,
    reads: &'static [&'static str],
    fact: Fact,
) -> Computed {
    internal(name, stage, Build::Fact { reads, fact })
}

/// `col(name)`, short for the entries below.
fn c(name: &str) -> Expr {
    col(name)
}

/// True where `e` is one of `values`.
pub fn any_of(e: Expr, values: &[&str]) -> Expr {
    let mut it = values.iter();
    let Some(first) = it.next() else {
        return lit(false);
    };
    it.fold(e.clone().eq(lit(*first)), |acc, v| {
        acc.or(e.clone().eq(lit(*v)))
    })
}

/// Rows of the row's household (`_hh`) where `cond` holds, on every member row (Int32).
///
/// Not polars' window (`sum().over([_hh])`): a window hashes the key and builds a list of rows
/// per household, and the rule plan has 28 of them (0.9 s of its 1.9 s on a million rows).
/// `_hh` numbers the households densely from 0 (`Fact::Household`), so one array indexed by it
/// sums them in two linear passes. A groupwise function, so polars hands it whole columns.
pub fn count_over(cond: Expr) -> PolarsResult<Expr> {
    Ok(cond.fill_null(false).apply_many(
        |cols: &mut [Column]| {
            let cond = cols[0].bool()?.rechunk();
            let key = cols[1].u32()?.rechunk();
            let name = cols[0].name().clone();
            // Every row in a household (always, as `Fact::Household` numbers them): plain
            // slices instead of an `Option` per row and key, a third of this function's time.
            if let Ok(keys) = key.cont_slice()
                && cond.null_count() == 0
            {
                let mut sums = vec![0i32; keys.iter().max().map_or(0, |&m| m as usize + 1)];
                let bits = cond.downcast_as_array().values();
                for (&k, flag) in keys.iter().zip(bits.iter()) {
                    sums[k as usize] += i32::from(flag);
                }
                let out: Vec<i32> = keys.iter().map(|&k| sums[k as usize]).collect();
                return Ok(Int32Chunked::from_vec(name, out).into_column());
            }
            let slots = dense_slots(&key);
            let mut sums = vec![0i32; slots.len];
            for (flag, slot) in cond.iter().zip(slots.iter(&key)) {
                if flag == Some(true) {
                    sums[slot] += 1;
                }
            }
            let out: Vec<i32> = slots.iter(&key).map(|slot| sums[slot]).collect();
            Ok(Int32Chunked::from_vec(name, out).into_column())
        },
        &[c("_hh")],
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Int32)),
    ))
}

/// The value of a dense key's slot array for every row: a null key (never made by
/// `Fact::Household`, but a window would group nulls together) takes the last slot.
struct DenseSlots {
    len: usize,
}

fn dense_slots(key: &UInt32Chunked) -> DenseSlots {
    DenseSlots {
        len: key.max().map_or(0, |m| m as usize + 1) + 1,
    }
}

impl DenseSlots {
    fn iter<'a>(&self, key: &'a UInt32Chunked) -> impl Iterator<Item = usize> + 'a {
        let null = self.len - 1;
        key.iter().map(move |k| k.map_or(null, |k| k as usize))
    }
}

fn null_of(dtype: DataType) -> Expr {
    lit(NULL).cast(dtype)
}

// 学龄前儿童 is a child below school age: not in school, like 学前教育 (catalogue-v2 §1).
const SCHOOL_NOT: &[&str] = &["非在校生", "学前教育", "学龄前儿童"];
/// 文化程度 that means compulsory school is finished (L111 / L403 exemption).
const FINISHED_COMPULSORY: &[&str] = &["初中", "高中", "大专及以上"];
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

fn age_between(p: &Params, lo: &str, hi: &str) -> Expr {
    c("_age")
        .cast(DataType::Float64)
        .gt_eq(p.get(lo))
        .and(c("_age").cast(DataType::Float64).lt_eq(p.get(hi)))
}

/// The 户主 row that household facts are read from.
fn head_row() -> Expr {
    c("_anchor").and(c("_head").fill_null(false))
}

/// `value` on the household's 户主 row, for every member.
///
/// Taken from that row by index instead of a `max` window over `_hh` (see [`count_over`]): only
/// the household's one anchor row (`_anchor`, one per `_hh` by construction) can be the 户主 row
/// this reads, so the window's maximum is that row's value.
fn of_head(value: Expr, dtype: DataType) -> PolarsResult<Expr> {
    Ok(when(head_row())
        .then(value)
        .otherwise(null_of(dtype))
        .apply_many(
            |cols: &mut [Column]| {
                let key = cols[1].u32()?.rechunk();
                let slots = dense_slots(&key);
                let mut row_of: Vec<Option<IdxSize>> = vec![None; slots.len];
                let present = cols[0].is_not_null();
                for (row, (filled, slot)) in present.iter().zip(slots.iter(&key)).enumerate() {
                    if filled == Some(true) && row_of[slot].is_none() {
                        row_of[slot] = Some(row as IdxSize);
                    }
                }
                let idx: IdxCa = slots.iter(&key).map(|slot| row_of[slot]).collect();
                cols[0].take(&idx)
            },
            &[c("_hh")],
            |_, fields| Ok(fields[0].clone()),
        ))
}

/// `value` on the first row (in dataset order) of the same 户编号 across files, for every row;
/// what `value.first().over([户编号])` gives where 户编号 is filled. `_hhid` numbers the
/// households densely (a row without 户编号 a number of its own), so no string is hashed.
fn first_of_household(value: Expr) -> Expr {
    value.apply_many(
        |cols: &mut [Column]| {
            let key = cols[1].u64()?.rechunk();
            // No row without a number (as `Fact::HouseholdId` makes them): plain slices.
            if let Ok(keys) = key.cont_slice() {
                let mut row_of =
                    vec![IdxSize::MAX; keys.iter().max().map_or(0, |&m| m as usize + 1)];
                for (row, &k) in keys.iter().enumerate() {
                    let s = &mut row_of[k as usize];
                    if *s == IdxSize::MAX {
                        *s = row as IdxSize;
                    }
                }
                let idx: Vec<IdxSize> = keys.iter().map(|&k| row_of[k as usize]).collect();
                return cols[0].take(&IdxCa::from_vec(PlSmallStr::EMPTY, idx));
            }
            let len = key.max().map_or(0, |m| m as usize + 1) + 1;
            let null = len - 1;
            let slot = |k: Option<u64>| k.map_or(null, |k| k as usize);
            let mut row_of: Vec<IdxSize> = vec![IdxSize::MAX; len];
            for (row, k) in key.iter().enumerate() {
                let s = &mut row_of[slot(k)];
                if *s == IdxSize::MAX {
                    *s = row as IdxSize;
                }
            }
            let idx: IdxCa = key.iter().map(|k| Some(row_of[slot(k)])).collect();
            cols[0].take(&idx)
        },
        &[c("_hhid")],
        |_, fields| Ok(fields[0].clone()),
    )
}

/// Distinct households across files among rows sharing `key` (null where `key` is).
fn households_sharing(key: &str) -> PolarsResult<Expr> {
    Ok(sharing_text(c(key), true))
}

/// Per row, how many rows share its text `key` (`households`: how many distinct `_hhid`
/// among them); null where `key` is. What `count().over([key])` / `_hhid.n_unique().over([key])`
/// give, but each text is hashed once into a dense number and the counts are arrays: a window
/// also builds a list of rows per distinct ID or phone (a million, nearly all of one row).
fn sharing_text(key: Expr, households: bool) -> Expr {
    key.apply_many(
        move |cols: &mut [Column]| {
            let key = cols[0].str()?;
            let hhid = cols[1].u64()?.rechunk();
            // Sized for every text distinct (nearly so for IDs): growing to a million entries
            // rehashed them some twenty times.
            let mut slot_of: PlHashMap<&str, u32> = PlHashMap::with_capacity_and_hasher(
                key.len() - key.null_count(),
                Default::default(),
            );
            let slots: Vec<Option<u32>> = key
                .iter()
                .map(|k| {
                    k.map(|k| {
                        let next = slot_of.len() as u32;
                        *slot_of.entry(k).or_insert(next)
                    })
                })
                .collect();
            let mut rows = vec![0i32; slot_of.len()];
            for s in slots.iter().flatten() {
                rows[*s as usize] += 1;
            }
            let counts = if households {
                // A text on one row is one household; only shared texts need the set.
                let mut seen: PlHashSet<(u32, Option<u64>)> = PlHashSet::default();
                let mut distinct = vec![0i32; rows.len()];
                for (s, h) in slots.iter().zip(hhid.iter()) {
                    let Some(s) = *s else { continue };
                    if rows[s as usize] == 1 || seen.insert((s, h)) {
                        distinct[s as usize] += 1;
                    }
                }
                distinct
            } else {
                rows
            };
            let out: Int32Chunked = slots
                .iter()
                .map(|s| s.map(|s| counts[s as usize]))
                .collect();
            Ok(out.with_name(cols[0].name().clone()).into_column())
        },
        &[c("_hhid")],
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::Int32)),
    )
}

const ID: &[&str] = &["证件号码"];

/// Every computed column. Order within a stage is for reading; the engine orders by dependency.
pub const COMPUTED: &[Computed] = &[
    // ---- building blocks (Rust) ----
    internal_fact("_t", Stage::Row, &[], Fact::Table),
    internal_fact("_hh", Stage::Household, &["户编号"], Fact::Household),
    internal_fact("_hhid", Stage::Dataset, &["户编号"], Fact::HouseholdId),
    internal_fact(
        "_anchor",
        Stage::Household,
        &["户编号", "与户主关系"],
        Fact::Anchor,
    ),
    internal_fact("_id_comparable", Stage::Row, ID, Fact::IdComparable),
    internal_fact("_birth_key", Stage::Row, ID, Fact::BirthKey),
    internal_fact("_id_key18", Stage::Row, ID, Fact::IdKey18),
    internal_fact(
        "_school_blank",
        Stage::Row,
        &["在校生状况"],
        Fact::SchoolBlank,
    ),
    // ---- one row ----
    fact(
        "_id_valid",
        Stage::Row,
        "证件号码 passes V101–V105 (usable for birth date, sex, region and duplicates)",
        ID,
        Fact::IdValid,
    ),
    fact(
        "_id_birth",
        Stage::Row,
        "birth date inside the ID number (null when the ID fails V101, V103 or V105)",
        ID,
        Fact::IdBirth,
    ),
    fact(
        "_id_sex",
        Stage::Row,
        "'男' / '女' from the ID's sequence digit (null as _id_birth)",
        ID,
        Fact::IdSex,
    ),
    fact(
        "_id_region",
        Stage::Row,
        "the ID's 6-digit address code (null as _id_birth)",
        ID,
        Fact::IdRegion,
    ),
    fact(
        "_birth",
        Stage::Row,
        "_id_birth, else a valid 出生日期",
        ID,
        Fact::Birth,
    ),
    fact(
        "_age",
        Stage::Row,
        "completed years at the reference date, from _birth (null when unknown)",
        ID,
        Fact::Age,
    ),
    public(
        "_id_len",
        Stage::Row,
        "characters of the normalised 证件号码 (15, 18, 20 or 22) where V101 and V105 do not fire, else null",
        |_| {
            Ok(when(c("_id_comparable"))
                .then(c("证件号码").str().len_chars().cast(DataType::Int32))
                .otherwise(null_of(DataType::Int32)))
        },
    ),
    public(
        "_labour",
        Stage::Row,
        "劳动技能 is 普通劳动力 or 技能劳动力",
        |_| Ok(any_of(c("劳动技能"), &["普通劳动力", "技能劳动力"])),
    ),
    public(
        "_in_school",
        Stage::Row,
        "在校生状况 is a school stage (小学 … 大专及以上); false when blank, 非在校生, 学前教育 or 学龄前儿童",
        |_| {
            Ok(when(c("_school_blank"))
                .then(lit(false))
                .otherwise(any_of(c("在校生状况"), SCHOOL_NOT).not()))
        },
    ),
    public(
        "_not_in_school",
        Stage::Row,
        "在校生状况 is 非在校生 or blank (the L111 definition)",
        |_| {
            Ok(when(c("_school_blank"))
                .then(lit(true))
                .otherwise(c("在校生状况").eq(lit("非在校生"))))
        },
    ),
    fact(
        "_working",
        Stage::Row,
        "务工状况 is filled (working away)",
        &["务工状况"],
        Fact::Working,
    ),
    public(
        "_lifted",
        Stage::Row,
        "脱贫属性 is 已脱贫 or 预脱贫 (canonical)",
        |_| Ok(any_of(c("脱贫属性"), &["已脱贫", "预脱贫"])),
    ),
    public("_head", Stage::Row, "与户主关系 is 户主", |_| {
        Ok(c("与户主关系").eq(lit("户主")))
    }),
    public(
        "_rel_sex",
        Stage::Row,
        "the sex 与户主关系 implies ('男' / '女'), null where it implies none",
        |_| {
            Ok(when(any_of(c("与户主关系"), MALE_REL).fill_null(false))
                .then(lit("男"))
                .when(any_of(c("与户主关系"), FEMALE_REL).fill_null(false))
                .then(lit("女"))
                .otherwise(null_of(DataType::String)))
        },
    ),
    fact(
        "_exit_line",
        Stage::Row,
        "the policy exit line for the row's 识别标准 and 脱贫年度 (null where the table has none)",
        &["识别标准", "脱贫年度"],
        Fact::ExitLine,
    ),
    public(
        "_income_calc",
        Stage::Row,
        "(工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出) ÷ 人数; null unless all present",
        |_| {
            Ok(
                (c("工资性收入") + c("生产经营性收入") + c("财产性收入") + c("转移性收入")
                    - c("生产经营性支出"))
                    / c("人数"),
            )
        },
    ),
    fact(
        "_data_year",
        Stage::Row,
        "the data year: the year of the reference date (--as-of, else the schema's as_of)",
        &[],
        Fact::DataYear,
    ),
    fact(
        "_data_year_line",
        Stage::Row,
        "the policy exit line for the row's 识别标准 in the data year (null where the table has none)",
        &["识别标准"],
        Fact::DataYearLine,
    ),
    fact(
        "_excluded",
        Stage::Row,
        "the reason from an --exclude-list entry for this ID (null when not listed)",
        ID,
        Fact::Excluded,
    ),
    fact(
        "_other_cause_items",
        Stage::Row,
        "items in 其他致贫原因, split on runs of 、 , ， ; ； / and white space (0 when blank)",
        &["其他致贫原因"],
        Fact::OtherCauseItems,
    ),
    fact(
        "_other_cause_unknown",
        Stage::Row,
        "the first item of 其他致贫原因 that is not a 主要致贫原因 code or variant (null when none)",
        &["其他致贫原因"],
        Fact::OtherCauseUnknown,
    ),
    fact(
        "_other_cause_repeat",
        Stage::Row,
        "the first item of 其他致贫原因 whose canonical value is the row's 主要致贫原因 (null when none)",
        &["其他致贫原因", "主要致贫原因"],
        Fact::OtherCauseRepeat,
    ),
    // ---- household aggregates (over 户编号 within one file) ----
    public(
        "_hh_rows",
        Stage::Household,
        "member rows of the household",
        |_| count_over(c("_hh").is_not_null()),
    ),
    public(
        "_hh_heads",
        Stage::Household,
        "members whose 与户主关系 is 户主",
        |_| count_over(c("_head")),
    ),
    public(
        "_hh_labour",
        Stage::Household,
        "members with _labour",
        |_| count_over(c("_labour")),
    ),
    public(
        "_hh_students",
        Stage::Household,
        "members with _in_school",
        |_| count_over(c("_in_school")),
    ),
    public(
        "_hh_disabled",
        Stage::Household,
        "members whose 健康状况 is 残疾",
        |_| count_over(c("健康状况").eq(lit("残疾"))),
    ),
    public(
        "_hh_ill",
        Stage::Household,
        "members whose 健康状况 is 长期慢性病 or 患有大病",
        |_| count_over(any_of(c("健康状况"), &["长期慢性病", "患有大病"])),
    ),
    public(
        "_hh_dibao",
        Stage::Household,
        "members with 是否享受低保 = 是",
        |_| count_over(c("是否享受低保").eq(lit("是"))),
    ),
    public(
        "_hh_dropouts",
        Stage::Household,
        "members aged $compulsory_age_min–$compulsory_age_max, not 残疾 / 患有大病, 文化程度 not 初中 or higher, _not_in_school (L111 holds)",
        |p| {
            // L111's condition; an empty (null) 健康状况 or 文化程度 does not exempt.
            count_over(
                age_between(p, "compulsory_age_min", "compulsory_age_max")
                    .and(
                        any_of(c("健康状况"), &["残疾", "患有大病"])
                            .not()
                            .fill_null(true),
                    )
                    .and(
                        any_of(c("文化程度"), FINISHED_COMPULSORY)
                            .not()
                            .fill_null(true),
                    )
                    .and(c("_not_in_school")),
            )
        },
    ),
    public(
        "_hh_helpers",
        Stage::Household,
        "members whose 帮扶责任人 is filled (帮扶责任人 is not a household field)",
        |_| count_over(c("帮扶责任人").is_not_null()),
    ),
    public_optional(
        "_hh_uninsured",
        Stage::Household,
        "members with 是否参加城乡居民基本医疗保险 = 否 and, where that column exists, 是否参加城镇职工基本医疗保险 not 是",
        &["是否参加城镇职工基本医疗保险"],
        |_| {
            // An empty 城镇职工 cell (or no such column) does not insure the person (§4.10).
            count_over(
                c("是否参加城乡居民基本医疗保险").eq(lit("否")).and(
                    c("是否参加城镇职工基本医疗保险")
                        .neq(lit("是"))
                        .fill_null(true),
                ),
            )
        },
    ),
    public(
        "_hh_spouses",
        Stage::Household,
        "members whose 与户主关系 is 配偶",
        |_| count_over(c("与户主关系").eq(lit("配偶"))),
    ),
    fact(
        "_hh_helper_member",
        Stage::Household,
        "a 帮扶责任人 of any row of the household that is the 姓名 of one of its members (null when none)",
        &["户编号", "姓名", "帮扶责任人"],
        Fact::HelperMember,
    ),
    public(
        "_hh_workers",
        Stage::Household,
        "members with _working or 务工时间 > 0",
        |_| count_over(c("_working").or(c("务工时间").gt(lit(0.0)))),
    ),
    public(
        "_hh_month_workers",
        Stage::Household,
        "members with 务工时间 > 0",
        |_| count_over(c("务工时间").gt(lit(0.0))),
    ),
    public(
        "_hh_no_serious_ins",
        Stage::Household,
        "members with 是否参加大病保险 = 否",
        |_| count_over(c("是否参加大病保险").eq(lit("否"))),
    ),
    public(
        "_hh_unable",
        Stage::Household,
        "members whose 劳动技能 is 无劳动力 or 丧失劳动力",
        |_| count_over(any_of(c("劳动技能"), &["无劳动力", "丧失劳动力"])),
    ),
    public(
        "_hh_wubao",
        Stage::Household,
        "members with 是否享受五保 = 是",
        |_| count_over(c("是否享受五保").eq(lit("是"))),
    ),
    public_optional(
        "_hh_dibao_any",
        Stage::Household,
        "members with 是否享受低保 = 是 where that column exists (0 without it)",
        &["是否享受低保"],
        |_| count_over(c("是否享受低保").eq(lit("是"))),
    ),
    public_optional(
        "_hh_wubao_any",
        Stage::Household,
        "members with 是否享受五保 = 是 where that column exists (0 without it)",
        &["是否享受五保"],
        |_| count_over(c("是否享受五保").eq(lit("是"))),
    ),
    public(
        "_hh_elderly",
        Stage::Household,
        "members aged $pension_age or over (null when a member's age is unknown)",
        |p| {
            // Unknown while any member's age is: the oldest may be the one not known.
            Ok(when(count_over(c("_age").is_null())?.gt(lit(0)))
                .then(null_of(DataType::Int32))
                .otherwise(count_over(
                    c("_age")
                        .cast(DataType::Float64)
                        .gt_eq(p.get("pension_age")),
                )?))
        },
    ),
    public(
        "_hh_able_adults",
        Stage::Household,
        "members 健康, aged $labour_age_min–$labour_age_max, with _labour",
        |p| {
            count_over(
                c("健康状况")
                    .eq(lit("健康"))
                    .and(age_between(p, "labour_age_min", "labour_age_max"))
                    .and(c("_labour")),
            )
        },
    ),
    public(
        "_hh_head_sex",
        Stage::Household,
        "性别 of the household's first 户主",
        |_| of_head(c("性别"), DataType::String),
    ),
    internal(
        "_hh_head_birth_key",
        Stage::Household,
        Build::Expr(|_| of_head(c("_birth_key"), DataType::Int32)),
    ),
    public(
        "_hh_head_age",
        Stage::Household,
        "_age of the household's first 户主",
        |_| of_head(c("_age"), DataType::Int32),
    ),
    public(
        "_hh_spouse_same_sex",
        Stage::Household,
        "配偶 rows whose 性别 equals the 户主's",
        |_| {
            count_over(
                c("与户主关系")
                    .eq(lit("配偶"))
                    .and(c("性别").eq(c("_hh_head_sex"))),
            )
        },
    ),
    public(
        "_hh_generation_gap",
        Stage::Household,
        "之子/之女 born fewer than $generation_gap years after the 户主, or 之父/之母 fewer than $generation_gap years before (by birth dates)",
        |p| {
            // YYYYMMDD keys: adding N * 10000 moves a date N years on, so "born fewer than 12
            // years apart" is an exact integer comparison (L207 compares birth dates, not ages).
            let gap = p.get("generation_gap");
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
            )
        },
    ),
    // ---- dataset (all files of the run) ----
    internal(
        "_idkey",
        Stage::Dataset,
        Build::Expr(|_| {
            // One person, one key: the first 18 characters, a 15-digit ID in its 18-digit form.
            Ok(when(c("_id_comparable"))
                .then(c("_id_key18").fill_null(c("证件号码")))
                .otherwise(null_of(DataType::String)))
        }),
    ),
    public(
        "_id_count",
        Stage::Dataset,
        "rows in the dataset with the same (valid) 证件号码",
        |_| Ok(sharing_text(c("_idkey"), false)),
    ),
    public(
        "_id_households",
        Stage::Dataset,
        "distinct households (户编号, across files) in the dataset with that 证件号码",
        |_| households_sharing("_idkey"),
    ),
    public(
        "_hh_location_differs",
        Stage::Dataset,
        "乡镇/行政村 differ from the first row of the same 户编号 in the dataset",
        |_| {
            Ok(when(c("户编号").is_not_null())
                .then(
                    c("乡镇")
                        .neq_missing(first_of_household(c("乡镇")))
                        .or(c("行政村").neq_missing(first_of_household(c("行政村")))),
                )
                .otherwise(null_of(DataType::Boolean)))
        },
    ),
    public(
        "_phone_households",
        Stage::Dataset,
        "distinct households (户编号, across files) in the dataset with the same 联系电话",
        |_| households_sharing("联系电话"),
    ),
];

/// `_filled_<field>`: true where the field's cell is not blank (after household inheritance),
/// whatever its value. Completeness rules use it so that a filled but invalid value (V201, V301,
/// which is null to every later rule) is not also reported as empty.
pub const FILLED_PREFIX: &str = "_filled_";

/// The field named by a `_filled_<field>` column.
pub fn filled_field(name: &str) -> Option<&str> {
    name.strip_prefix(FILLED_PREFIX).filter(|f| !f.is_empty())
}

/// The registry entry named `name` (public or internal).
pub fn entry(name: &str) -> Option<&'static Computed> {
    COMPUTED.iter().find(|c| c.name == name)
}

/// What each entry reads directly and, through other computed columns, which fields it depends
/// on; worked out once from the expressions.
struct Graph {
    /// name → names read directly (fields and computed columns).
    direct: BTreeMap<&'static str, Vec<String>>,
    /// name → fields, transitively.
    fields: BTreeMap<&'static str, Vec<String>>,
}

fn graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| {
        // What an expression reads does not depend on parameter values.
        let none = BTreeMap::new();
        let params = Params(&none);
        let direct: BTreeMap<&'static str, Vec<String>> = COMPUTED
            .iter()
            .map(|c| {
                let reads = match c.build {
                    Build::Fact { reads, .. } => reads.iter().map(|s| s.to_string()).collect(),
                    // An entry that does not build is caught by the registry's tests; it reads
                    // nothing here so the rest of the graph still resolves.
                    Build::Expr(f) => f(&params)
                        .map(|e| {
                            let mut v: Vec<String> = e
                                .meta()
                                .root_names()
                                .into_iter()
                                .map(|s| s.to_string())
                                .filter(|s| !c.optional.contains(&s.as_str()))
                                .collect();
                            v.sort();
                            v.dedup();
                            v
                        })
                        .unwrap_or_default(),
                };
                (c.name, reads)
            })
            .collect();
        let mut fields = BTreeMap::new();
        for c in COMPUTED {
            let mut out = BTreeSet::new();
            collect_fields(c.name, &direct, &mut out, 0);
            fields.insert(c.name, out.into_iter().collect());
        }
        Graph { direct, fields }
    })
}

fn collect_fields(
    name: &str,
    direct: &BTreeMap<&'static str, Vec<String>>,
    out: &mut BTreeSet<String>,
    depth: usize,
) {
    // Deeper than the registry is long can only be a cycle, which the tests reject.
    if depth > COMPUTED.len() {
        return;
    }
    for r in direct.get(name).map(Vec::as_slice).unwrap_or_default() {
        if direct.contains_key(r.as_str()) {
            collect_fields(r, direct, out, depth + 1);
        } else {
            out.insert(r.clone());
        }
    }
}

/// The fields a public computed column depends on (through any other computed columns), or
/// None when `name` is not one rules may read.
pub fn dependencies(name: &str) -> Option<&'static [String]> {
    let c = entry(name).filter(|c| c.public)?;
    graph().fields.get(c.name).map(Vec::as_slice)
}

/// The names (fields and computed columns) an entry reads directly.
pub fn reads(name: &str) -> Option<&'static [String]> {
    graph().direct.get(name).map(Vec::as_slice)
}

/// Whether `name` is one of `targets` or a computed column made (through any others) from one.
pub fn reads_any(name: &str, targets: &[&str]) -> bool {
    fn go(name: &str, targets: &[&str], depth: usize) -> bool {
        targets.contains(&name)
            || (depth <= COMPUTED.len()
                && reads(name)
                    .unwrap_or_default()
                    .iter()
                    .any(|r| go(r, targets, depth + 1)))
    }
    go(name, targets, 0)
}

/// Every field any computed column reads, optional ones included (the rule frame builds them
/// all).
pub fn all_fields() -> BTreeSet<&'static str> {
    graph()
        .fields
        .values()
        .flatten()
        .map(String::as_str)
        .chain(COMPUTED.iter().flat_map(|c| c.optional.iter().copied()))
        .collect()
}

/// The entries in evaluation layers: each layer reads only fields and earlier layers, so one
/// `with_columns` per layer evaluates them all. Fact entries are not in any layer (they are
/// columns of the base frame).
pub fn expr_layers() -> &'static [Vec<&'static Computed>] {
    static LAYERS: OnceLock<Vec<Vec<&'static Computed>>> = OnceLock::new();
    LAYERS.get_or_init(|| {
        let g = graph();
        let mut done: BTreeSet<&str> = COMPUTED
            .iter()
            .filter(|c| matches!(c.build, Build::Fact { .. }))
            .map(|c| c.name)
            .collect();
        let mut pending: Vec<&'static Computed> = COMPUTED
            .iter()
            .filter(|c| matches!(c.build, Build::Expr(_)))
            .collect();
        let mut layers = Vec::new();
        while !pending.is_empty() {
            let (ready, rest): (Vec<&'static Computed>, Vec<&'static Computed>) =
                pending.into_iter().partition(|c| {
                    g.direct[c.name]
                        .iter()
                        .all(|r| done.contains(r.as_str()) || !g.direct.contains_key(r.as_str()))
                });
            if ready.is_empty() {
                // A cycle; the registry's tests name it. Evaluating the rest in one layer lets
                // polars report it rather than looping here.
                layers.push(rest);
                break;
            }
            done.extend(ready.iter().map(|c| c.name));
            layers.push(ready);
            pending = rest;
        }
        layers
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut seen = BTreeSet::new();
        for c in COMPUTED {
            assert!(c.name.starts_with('_'), "{}", c.name);
            assert!(!c.name.starts_with(FILLED_PREFIX), "{}", c.name);
            assert!(seen.insert(c.name), "{} twice", c.name);
            assert_eq!(
                c.public,
                !c.doc.is_empty(),
                "{}: public ones are documented",
                c.name
            );
        }
    }

    #[test]
    fn every_expression_builds_and_the_graph_has_no_cycle() {
        let params = BTreeMap::new();
        for c in COMPUTED {
            if let Build::Expr(f) = c.build {
                assert!(f(&Params(&params)).is_ok(), "{} does not build", c.name);
            }
        }
        let layered: usize = expr_layers().iter().map(Vec::len).sum();
        let exprs = COMPUTED
            .iter()
            .filter(|c| matches!(c.build, Build::Expr(_)))
            .count();
        assert_eq!(layered, exprs);
        // The last layer is only a cycle's leftovers if something in it reads a sibling.
        for layer in expr_layers() {
            for c in layer {
                for r in reads(c.name).unwrap_or_default() {
                    assert!(
                        !layer.iter().any(|o| o.name == r),
                        "{} reads {r} of its own layer (a cycle)",
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn dependencies_come_from_the_expression() {
        let deps = |n: &str| dependencies(n).map(<[String]>::to_vec);
        let v = |s: &[&str]| Some(s.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // Through _head (与户主关系), _anchor (户编号, 与户主关系) and 性别.
        assert_eq!(deps("_hh_head_sex"), v(&["与户主关系", "性别", "户编号"]));
        assert_eq!(
            deps("_hh_dropouts"),
            v(&["健康状况", "在校生状况", "户编号", "文化程度", "证件号码"])
        );
        // Optional reads: built into the frame, but no dependency (L404, L608 and L609 still
        // run on a file without the column).
        assert_eq!(deps("_hh_dibao_any"), v(&["户编号"]));
        assert_eq!(deps("_hh_dibao"), v(&["户编号", "是否享受低保"]));
        assert_eq!(
            deps("_hh_uninsured"),
            v(&["户编号", "是否参加城乡居民基本医疗保险"])
        );
        assert!(all_fields().contains("是否参加城镇职工基本医疗保险"));
        // Internal columns are not part of the rule language.
        assert_eq!(deps("_idkey"), None);
        assert_eq!(deps("_nope"), None);
    }

    /// The dense household aggregates give what polars' windows over the same key give, on
    /// households whose members are scattered, with null conditions, values and keys.
    mod dense_windows {
        use super::*;
        use proptest::prelude::*;

        /// (household, condition, value, 户主, 户编号 across files) of one row.
        type Row = (u8, Option<bool>, Option<i32>, bool, Option<u8>);

        fn frame(rows: &[Row]) -> DataFrame {
            // The dense number of first appearance, as `Fact::Household` makes it.
            let mut seen: Vec<u8> = Vec::new();
            let hh: Vec<u32> = rows
                .iter()
                .map(|r| match seen.iter().position(|h| *h == r.0) {
                    Some(i) => i as u32,
                    None => {
                        seen.push(r.0);
                        seen.len() as u32 - 1
                    }
                })
                .collect();
            // One anchor per household: its first row.
            let anchor: Vec<bool> = (0..rows.len())
                .map(|i| !rows[..i].iter().any(|r| r.0 == rows[i].0))
                .collect();
            let hhid: Vec<Option<u64>> = rows.iter().map(|r| r.4.map(u64::from)).collect();
            df!(
                "_hh" => hh,
                "cond" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "v" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "s" => rows.iter().map(|r| r.2.map(|v| format!("值{v}"))).collect::<Vec<_>>(),
                "_anchor" => anchor,
                "_head" => rows.iter().map(|r| Some(r.3)).collect::<Vec<_>>(),
                "户编号" => hhid.iter().map(|k| k.map(|k| format!("H{k}"))).collect::<Vec<_>>(),
                "_hhid" => hhid
                    .iter()
                    .enumerate()
                    .map(|(g, k)| k.unwrap_or(1000 + g as u64))
                    .collect::<Vec<_>>(),
            )
            .expect("frame")
        }

        fn same(df: &DataFrame, ours: Expr, window: Expr) {
            let out = df
                .clone()
                .lazy()
                .select([ours.alias("ours"), window.alias("window")])
                .collect()
                .expect("plan");
            let (a, b) = (out.column("ours").unwrap(), out.column("window").unwrap());
            assert_eq!(a.dtype(), b.dtype());
            assert!(a.equals_missing(b), "{a:?} != {b:?}");
        }

        proptest! {
            #[test]
            fn match_polars_windows(rows in proptest::collection::vec(
                (0u8..6, proptest::option::of(any::<bool>()), proptest::option::of(-3i32..4),
                 any::<bool>(), proptest::option::of(0u8..4)),
                1..40,
            )) {
                let df = frame(&rows);
                same(
                    &df,
                    count_over(c("cond")).unwrap(),
                    c("cond").fill_null(false).cast(DataType::Int32).sum().over([c("_hh")]).unwrap(),
                );
                same(
                    &df,
                    count_over(c("_hh").is_not_null()).unwrap(),
                    c("_hh").count().cast(DataType::Int32).over([c("_hh")]).unwrap(),
                );
                for (v, dtype) in [("v", DataType::Int32), ("s", DataType::String)] {
                    same(
                        &df,
                        of_head(c(v), dtype.clone()).unwrap(),
                        when(head_row()).then(c(v)).otherwise(null_of(dtype)).max().over([c("_hh")]).unwrap(),
                    );
                }
                for households in [false, true] {
                    let window = if households {
                        c("_hhid").n_unique()
                    } else {
                        c("_hhid").count()
                    };
                    // Texts shared by rows of different households, and null texts.
                    same(
                        &df,
                        sharing_text(c("s"), households),
                        when(c("s").is_not_null())
                            .then(window.cast(DataType::Int32).over([c("s")]).unwrap())
                            .otherwise(null_of(DataType::Int32)),
                    );
                }
                let filled = |e: Expr| when(c("户编号").is_not_null()).then(e).otherwise(null_of(DataType::String));
                same(
                    &df,
                    filled(first_of_household(c("s"))),
                    filled(c("s").first().over([c("户编号")]).unwrap()),
                );
                // Null keys (never made by the facts, but the functions take any column): the
                // per-row path instead of the slices, still what the windows give.
                let nulled = df
                    .clone()
                    .lazy()
                    .with_columns([
                        when(c("_hh").eq(lit(0u32))).then(null_of(DataType::UInt32)).otherwise(c("_hh")).alias("_hh"),
                        when(c("户编号").is_null()).then(null_of(DataType::UInt64)).otherwise(c("_hhid")).alias("_hhid"),
                    ])
                    .collect()
                    .expect("nulled keys");
                same(
                    &nulled,
                    count_over(c("cond")).unwrap(),
                    c("cond").fill_null(false).cast(DataType::Int32).sum().over([c("_hh")]).unwrap(),
                );
                same(
                    &nulled,
                    filled(first_of_household(c("s"))),
                    filled(c("s").first().over([c("户编号")]).unwrap()),
                );
            }
        }
    }
}
