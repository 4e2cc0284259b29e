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
        "_id_len",
        &["证件号码"],
        "characters of the normalised 证件号码 (15, 18, 20 or 22) where V101 and V105 do not fire, else null",
    ),
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
        "_data_year",
        &[],
        "the data year: the year of the reference date (--as-of, else the schema's as_of)",
    ),
    (
        "_data_year_line",
        &["识别标准"],
        "the policy exit line for the row's 识别标准 in the data year (null where the table has none)",
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
        &["户编号", "证件号码", "健康状况", "文化程度", "在校生状况"],
        "members aged $compulsory_age_min–$compulsory_age_max, not 残疾 / 患有大病, 文化程度 not 初中 or higher, _not_in_school (L111 holds)",
    ),
    (
        "_hh_uninsured",
        &["户编号", "是否参加城乡居民基本医疗保险"],
        "members with 是否参加城乡居民基本医疗保险 = 否",
    ),
    (
        "_hh_helpers",
        &["户编号", "帮扶责任人"],
        "members whose 帮扶责任人 is filled (帮扶责任人 is not a household field)",
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
