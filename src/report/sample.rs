//! A small, fixed, synthetic run that every writer is tested on (conventions §9): cell-, row-,
//! household-, dataset- and file-scope findings, two units at each level, a skipped sheet and an
//! unreadable input. All people are fictitious; ID numbers are generated with valid check digits.
//!
//! Public but hidden so the integration tests under `tests/` can use it too.

use crate::attribute;
use crate::check::{Population, SkippedRule};
use crate::finding::{Category, Finding, FindingScope, Lang, Severity};
use crate::read::{InputEntry, InputStatus};
use crate::schema::{self, Schema};

use super::Run;

const SCHEMA: &str = r###"
name = "sample"
version = "0.0.1"

[units]
levels = ["乡镇", "行政村"]
assist = ["帮扶单位"]

[[field]]
name = "乡镇"
type = "text"
household = true

[[field]]
name = "行政村"
type = "text"
household = true

[[field]]
name = "帮扶单位"
type = "text"
household = true

[[field]]
name = "证件号码"
type = "id_number"
mask = "id"

[[field]]
name = "姓名"
type = "name"
mask = "name"

[[field]]
name = "联系电话"
type = "phone"
mask = "phone"

[[field]]
name = "银行卡号"
type = "bank_card"
mask = "card"

[[field]]
name = "人数"
type = "integer"

[[field]]
name = "性别"
type = "code"
codes = ["男", "女"]

[[rule]]
code = "V102"
category = "validity"
severity = "error"
scope = "row"
kind = "builtin"
columns = ["证件号码"]
message = "证件号码 {证件号码} 校验位错误"
message_en = "ID number {证件号码} has a wrong check character"
hint = "核对身份证原件后重新录入"
doc = "## 检查什么 / What it checks\n身份证号码第 18 位校验码。"

[[rule]]
code = "L101"
category = "consistency"
severity = "error"
scope = "row"
assert = "性别 = _id_sex"
columns = ["性别", "证件号码"]
message = "性别 {性别} 与证件号码不符"
message_en = "sex {性别} contradicts the ID number"
doc = "## 检查什么 / What it checks\n性别与身份证号码第 17 位。"

[[rule]]
code = "L203"
category = "consistency"
severity = "error"
scope = "household"
assert = "人数 = _hh_rows"
columns = ["人数"]
message = "人数 {人数} 与本户成员行数不符"
message_en = "household size {人数} differs from the member rows"

[[rule]]
code = "D101"
category = "consistency"
severity = "error"
scope = "dataset"
assert = "_id_count = 1"
columns = ["证件号码"]
message = "证件号码重复"
message_en = "duplicate ID number"

[[rule]]
code = "C001"
category = "completeness"
severity = "error"
scope = "dataset"
kind = "builtin"
message = "缺少必需列 {column}"
message_en = "required column {column} is missing"

[[rule]]
code = "V601"
category = "validity"
severity = "warning"
scope = "row"
kind = "builtin"
columns = ["姓名"]
message = "姓名 {姓名} 不像人名"
message_en = "name {姓名} is implausible"

[[rule]]
code = "V501"
category = "validity"
severity = "error"
scope = "row"
kind = "builtin"
columns = ["联系电话"]
message = "联系电话 {联系电话} 无效"
message_en = "phone number {联系电话} is invalid"
"###;

/// The schema the sample run refers to (rule texts, unit levels, mask kinds).
pub fn sample_schema() -> Schema {
    schema::load_str("sample", SCHEMA).unwrap_or_else(|e| panic!("sample schema: {e}"))
}

/// GB 11643 check character for the first 17 digits.
pub fn id_check(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .filter_map(|c| c.to_digit(10))
        .zip(W)
        .map(|(d, w)| d * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] as char
}

/// A valid 18-digit ID number from its first 17 digits.
pub fn id18(first17: &str) -> String {
    format!("{first17}{}", id_check(first17))
}

/// The same ID with a wrong check character (for V102).
fn id18_bad(first17: &str) -> String {
    let good = id_check(first17);
    let bad = if good == '0' { '1' } else { '0' };
    format!("{first17}{bad}")
}

/// Every full ID number that appears in the sample run, for masking tests.
pub fn sample_ids() -> Vec<String> {
    vec![
        id18_bad("44081119850312002"),
        id18("44081119900101123"),
        id18("44081120000715004"),
    ]
}

/// A synthetic phone number and card in the sample run, for masking tests.
pub const SAMPLE_PHONE: &str = "13800001234";
pub const SAMPLE_CARD: &str = "6222000011112222333";

fn unit(town: &str, village: &str, assist: &str) -> Vec<(String, String)> {
    vec![
        ("乡镇".into(), town.into()),
        ("行政村".into(), village.into()),
        ("帮扶单位".into(), assist.into()),
    ]
}

#[allow(clippy::too_many_arguments)]
fn finding(
    file: &str,
    sheet: Option<&str>,
    row: Option<u32>,
    col: Option<(usize, &str, &str)>,
    rule: &str,
    category: Category,
    severity: Severity,
    scope: FindingScope,
    unit: Option<Vec<(String, String)>>,
    value: Option<&str>,
    message: String,
    hint: &str,
) -> Finding {
    Finding {
        file: file.into(),
        sheet: sheet.map(Into::into),
        row,
        cell: match (col, row) {
            (Some((c, _, _)), Some(r)) => Some(crate::finding::a1(c, r)),
            _ => None,
        },
        column: col.map(|(_, f, _)| f.to_string()),
        columns: col.map(|(_, f, _)| vec![f.to_string()]).unwrap_or_default(),
        header: col.map(|(_, _, h)| h.to_string()),
        rule: rule.into(),
        category,
        severity,
        scope,
        household: row.map(|r| format!("44081110100{:05}", r / 3)),
        unit: unit.map(Into::into),
        value: value.map(Into::into),
        message,
        hint: hint.into(),
        table: None,
        col_indices: col.map(|(c, _, _)| vec![c]).unwrap_or_default(),
    }
}

/// The sample run over `schema` (use [`sample_schema`]).
pub fn sample_run(schema: &Schema) -> Run<'_> {
    use Category::*;
    use FindingScope as S;
    use Severity::*;
    let ids = sample_ids();
    let (a, s1) = ("a.xlsx", Some("Sheet1"));
    let b = "b.csv";
    let hg_east = || unit("湖光镇", "东村", "县农业局");
    let lt_west = || unit("龙头镇", "西村", "县教育局");
    let mut l101 = finding(
        a,
        s1,
        Some(18),
        Some((4, "性别", "性别")),
        "L101",
        Consistency,
        Error,
        S::Row,
        Some(hg_east()),
        Some("女"),
        format!("性别 女 与证件号码 {} 不符（应为 男）", ids[1]),
        "核对性别或证件号码",
    );
    l101.columns.push("证件号码".into());
    l101.col_indices.push(5);
    let findings = vec![
        finding(
            a,
            s1,
            Some(17),
            Some((5, "证件号码", "身份证号码")),
            "V102",
            Validity,
            Error,
            S::Cell,
            Some(hg_east()),
            Some(&ids[0]),
            format!("证件号码 {} 校验位错误", ids[0]),
            "核对身份证原件后重新录入",
        ),
        l101,
        finding(
            a,
            s1,
            Some(20),
            Some((9, "人数", "家庭人口数")),
            "L203",
            Consistency,
            Error,
            S::Household,
            Some(hg_east()),
            Some("5"),
            "人数 5 与本户成员行数 3 不符".into(),
            "按实际成员修正人数",
        ),
        finding(
            a,
            s1,
            Some(21),
            Some((5, "证件号码", "身份证号码")),
            "D101",
            Consistency,
            Error,
            S::Dataset,
            Some(hg_east()),
            Some(&ids[2]),
            format!("证件号码 {} 在 b.csv 第 7 行也出现（一人多户）", ids[2]),
            "删除重复登记的一户",
        ),
        finding(
            b,
            None,
            Some(7),
            Some((3, "证件号码", "证件号码")),
            "D101",
            Consistency,
            Error,
            S::Dataset,
            Some(lt_west()),
            Some(&ids[2]),
            format!("证件号码 {} 在 a.xlsx 第 21 行也出现（一人多户）", ids[2]),
            "删除重复登记的一户",
        ),
        finding(
            b,
            None,
            Some(9),
            Some((1, "姓名", "姓名")),
            "V601",
            Validity,
            Warning,
            S::Cell,
            Some(lt_west()),
            Some("<script>alert(1)</script>"),
            "姓名 <script>alert(1)</script> 不像人名".into(),
            "填写户口簿上的姓名",
        ),
        finding(
            b,
            None,
            Some(10),
            Some((1, "姓名", "姓名")),
            "V601",
            Validity,
            Warning,
            S::Cell,
            Some(lt_west()),
            Some("=HYPERLINK(\"http://example.invalid\",\"x\")"),
            "姓名 =HYPERLINK(\"http://example.invalid\",\"x\") 不像人名".into(),
            "填写户口簿上的姓名",
        ),
        finding(
            b,
            None,
            Some(11),
            Some((2, "姓名", "姓名")),
            "V601",
            Validity,
            Warning,
            S::Cell,
            Some(lt_west()),
            Some("孙示例1"),
            "姓名 孙示例1 含有数字".into(),
            "去掉姓名中的数字",
        ),
        finding(
            b,
            None,
            Some(12),
            Some((6, "联系电话", "联系电话")),
            "V501",
            Validity,
            Error,
            S::Cell,
            Some(lt_west()),
            Some(SAMPLE_PHONE),
            format!("联系电话 {SAMPLE_PHONE} 无效（银行卡号 {SAMPLE_CARD} 所在行）"),
            "核对联系电话",
        ),
        finding(
            b,
            None,
            None,
            None,
            "C001",
            Completeness,
            Error,
            S::File,
            None,
            None,
            "缺少必需列 与户主关系".into(),
            "在表头中加入 与户主关系 列",
        ),
    ];
    let population = vec![
        Population {
            unit: hg_east().into(),
            rows: 40,
            households: (0..12).map(|i| format!("44081110100{:05}", i)).collect(),
        },
        Population {
            unit: lt_west().into(),
            rows: 25,
            households: (12..20).map(|i| format!("44081110100{:05}", i)).collect(),
        },
    ];
    let mut units = attribute::attribute(schema, &findings, &population);
    if let Some(u) = units.first_mut() {
        u.repeat = Some(attribute::Repeat {
            periods_with_errors: 2,
            consecutive: 2,
            level: 2,
            action: "诫勉谈话或停职检查".into(),
            repeated_rules: vec!["V102".into()],
            fixed: Some(1),
            persisting: Some(2),
            new: Some(2),
        });
    }
    let summary = attribute::summarize(&findings, 65, 20);
    let input = |file: &str, sheet: Option<&str>, status, rows, reason: Option<&str>| InputEntry {
        file: file.into(),
        sheet: sheet.map(Into::into),
        header_row: if rows > 0 { Some(3) } else { None },
        rows,
        skipped_rows: usize::from(rows > 0),
        status,
        reason: reason.map(Into::into),
        unmapped_columns: Vec::new(),
    };
    Run {
        tool_version: env!("CARGO_PKG_VERSION"),
        schema,
        as_of: "2017-12-31".into(),
        period: None,
        exclusion_lists: Vec::new(),
        inputs: vec![
            input(a, s1, InputStatus::Checked, 40, None),
            input(
                a,
                Some("填表说明"),
                InputStatus::Skipped,
                0,
                Some("没有找到表头（说明文字）"),
            ),
            input(b, None, InputStatus::Checked, 25, None),
            input(
                "c.xlsx",
                None,
                InputStatus::Unreadable,
                0,
                Some("文件格式无法识别: 不是 xlsx 文件"),
            ),
        ],
        skipped_rules: vec![
            SkippedRule {
                file: b.into(),
                rule: "C105".into(),
                reason: "缺少列 危房级别".into(),
            },
            SkippedRule {
                file: b.into(),
                rule: "L203".into(),
                reason: "缺少列 与户主关系".into(),
            },
            SkippedRule {
                file: "a.xlsx".into(),
                rule: "C105".into(),
                reason: "缺少列 危房级别".into(),
            },
        ],
        summary,
        units,
        findings,
        lang: Lang::Zh,
    }
}
