//! The computed columns rules may read (names start with `_`), with the fields each depends on.
//!
//! This table is the contract between the engine and rule SQL: the schema loader accepts a rule
//! only if every name it uses is a field or one of these; a rule is skipped for a file when a
//! field it depends on (directly or through a computed column here) is absent from that file.
//! Policy thresholds are not columns: SQL reads them as `$name` from `[policy.params]`.

/// (name, fields it depends on, what it is).
pub const COMPUTED: &[(&str, &[&str], &str)] = &[
    // ---- one row ----
    (
        "_id_valid",
        &["证件号码"],
        "证件号码 passes V101–V105 (usable for birth date, sex, region and duplicates)",
    ),
    (
        "_id_birth",
        &["证件号码"],
        "birth date inside the ID number (null when the ID fails V101, V103 or V105)",
    ),
    (
        "_id_sex",
        &["证件号码"],
        "'男' / '女' from the ID's sequence digit (null as _id_birth)",
    ),
    (
        "_id_region",
        &["证件号码"],
        "the ID's 6-digit address code (null as _id_birth)",
    ),
    ("_birth", &["证件号码"], "_id_birth, else a valid 出生日期"),
    (
        "_age",
        &["证件号码"],
        "completed years at the reference date, from _birth (null when unknown)",
    ),
    (
        "_labour",
        &["劳动技能"],
        "劳动技能 is 普通劳动力 or 技能劳动力",
    ),
    (
        "_in_school",
        &["在校生状况"],
        "在校生状况 is a school stage (小学 … 大专及以上); false when blank, 非在校生 or 学前教育",
    ),
    (
        "_not_in_school",
        &["在校生状况"],
        "在校生状况 is 非在校生 or blank (the L111 definition)",
    ),
    (
        "_working",
        &["务工状况"],
        "务工状况 is filled (working away)",
    ),
    (
        "_lifted",
        &["脱贫属性"],
        "脱贫属性 is 已脱贫 or 预脱贫 (canonical)",
    ),
    ("_head", &["与户主关系"], "与户主关系 is 户主"),
    (
        "_rel_sex",
        &["与户主关系"],
        "the sex 与户主关系 implies ('男' / '女'), null where it implies none",
    ),
    (
        "_exit_line",
        &["识别标准", "脱贫年度"],
        "the policy exit line for the row's 识别标准 and 脱贫年度 (null where the table has none)",
    ),
    (
        "_data_year_line",
        &["识别标准"],
        "the policy exit line for the row's 识别标准 in the data year (the reference date's year; null where the table has none)",
    ),
    (
        "_other_cause_items",
        &["其他致贫原因"],
        "items in 其他致贫原因, split on runs of 、 , ， ; ； / and white space (0 when blank)",
    ),
    (
        "_other_cause_unknown",
        &["其他致贫原因"],
        "the first item of 其他致贫原因 that is not a 主要致贫原因 code or variant (null when none)",
    ),
    (
        "_other_cause_repeat",
        &["其他致贫原因", "主要致贫原因"],
        "the first item of 其他致贫原因 whose canonical value is the row's 主要致贫原因 (null when none)",
    ),
    (
        "_income_calc",
        &[
            "工资性收入",
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
            "人数",
        ],
        "(工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出) ÷ 人数; null unless all present",
    ),
    (
        "_excluded",
        &["证件号码"],
        "the reason from an --exclude-list entry for this ID (null when not listed)",
    ),
    // ---- household aggregates (over 户编号 within one file) ----
    ("_hh_rows", &["户编号"], "member rows of the household"),
    (
        "_hh_heads",
        &["户编号", "与户主关系"],
        "members whose 与户主关系 is 户主",
    ),
    (
        "_hh_labour",
        &["户编号", "劳动技能"],
        "members with _labour",
    ),
    (
        "_hh_students",
        &["户编号", "在校生状况"],
        "members with _in_school",
    ),
    (
        "_hh_disabled",
        &["户编号", "健康状况"],
        "members whose 健康状况 is 残疾",
    ),
    (
        "_hh_ill",
        &["户编号", "健康状况"],
        "members whose 健康状况 is 长期慢性病 or 患有大病",
    ),
    (
        "_hh_dibao",
        &["户编号", "是否享受低保"],
        "members with 是否享受低保 = 是",
    ),
    (
        "_hh_dropouts",
        &["户编号", "证件号码", "健康状况", "在校生状况"],
        "members aged $compulsory_age_min–$compulsory_age_max, not 残疾, _not_in_school (L111 holds)",
    ),
    (
        "_hh_uninsured",
        &["户编号", "是否参加城乡居民基本医疗保险"],
        "members with 是否参加城乡居民基本医疗保险 = 否 and, where that column exists, 是否参加城镇职工基本医疗保险 not 是",
    ),
    (
        "_hh_spouses",
        &["户编号", "与户主关系"],
        "members whose 与户主关系 is 配偶",
    ),
    (
        "_hh_helper_member",
        &["户编号", "姓名", "帮扶责任人"],
        "a 帮扶责任人 of any row of the household that is the 姓名 of one of its members (null when none)",
    ),
    (
        "_hh_workers",
        &["户编号", "务工状况", "务工时间"],
        "members with _working or 务工时间 > 0",
    ),
    (
        "_hh_month_workers",
        &["户编号", "务工时间"],
        "members with 务工时间 > 0",
    ),
    (
        "_hh_no_serious_ins",
        &["户编号", "是否参加大病保险"],
        "members with 是否参加大病保险 = 否",
    ),
    (
        "_hh_unable",
        &["户编号", "劳动技能"],
        "members whose 劳动技能 is 无劳动力 or 丧失劳动力",
    ),
    (
        "_hh_wubao",
        &["户编号", "是否享受五保"],
        "members with 是否享受五保 = 是",
    ),
    (
        "_hh_dibao_any",
        &["户编号"],
        "members with 是否享受低保 = 是 where that column exists (0 without it)",
    ),
    (
        "_hh_wubao_any",
        &["户编号"],
        "members with 是否享受五保 = 是 where that column exists (0 without it)",
    ),
    (
        "_hh_elderly",
        &["户编号", "证件号码"],
        "members aged $pension_age or over (null when a member's age is unknown)",
    ),
    (
        "_hh_able_adults",
        &["户编号", "证件号码", "健康状况", "劳动技能"],
        "members 健康, aged $labour_age_min–$labour_age_max, with _labour",
    ),
    (
        "_hh_head_sex",
        &["户编号", "与户主关系", "性别"],
        "性别 of the household's first 户主",
    ),
    (
        "_hh_head_age",
        &["户编号", "与户主关系", "证件号码"],
        "_age of the household's first 户主",
    ),
    (
        "_hh_spouse_same_sex",
        &["户编号", "与户主关系", "性别"],
        "配偶 rows whose 性别 equals the 户主's",
    ),
    (
        "_hh_generation_gap",
        &["户编号", "与户主关系", "证件号码"],
        "之子/之女 born fewer than $generation_gap years after the 户主, or 之父/之母 fewer than $generation_gap years before (by birth dates)",
    ),
    // ---- dataset (all files of the run) ----
    (
        "_id_count",
        &["证件号码"],
        "rows in the dataset with the same (valid) 证件号码",
    ),
    (
        "_id_households",
        &["证件号码", "户编号"],
        "distinct households (户编号, across files) in the dataset with that 证件号码",
    ),
    (
        "_hh_location_differs",
        &["户编号", "乡镇", "行政村"],
        "乡镇/行政村 differ from the first row of the same 户编号 in the dataset",
    ),
    (
        "_phone_households",
        &["联系电话", "户编号"],
        "distinct households (户编号, across files) in the dataset with the same 联系电话",
    ),
];

/// Fields computed columns read where the file has them without depending on them (a rule using
/// such a column still runs on a file without the field, which then reads as blank).
pub const OPTIONAL_READS: &[&str] = &[
    "是否参加城镇职工基本医疗保险",
    "是否享受低保",
    "是否享受五保",
];

/// `_filled_<field>`: true where the field's cell is not blank (after household inheritance),
/// whatever its value. Completeness rules use it so that a filled but invalid value (V201, V301,
/// which is null to every later rule) is not also reported as empty.
pub const FILLED_PREFIX: &str = "_filled_";

/// The field named by a `_filled_<field>` column.
pub fn filled_field(name: &str) -> Option<&str> {
    name.strip_prefix(FILLED_PREFIX).filter(|f| !f.is_empty())
}

/// The fields a computed column depends on, or None when `name` is not a computed column.
pub fn dependencies(name: &str) -> Option<&'static [&'static str]> {
    COMPUTED
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, deps, _)| *deps)
}
