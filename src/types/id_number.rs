//! Citizen ID numbers (公民身份号码, GB 11643-1999) and 残疾人证 numbers built on them.
//!
//! ## What it checks
//! - V101 malformed: not 18 characters (17 digits + a digit or X), 15 digits (old form), 20
//!   (18 + disability category 1–7 + grade 1–4) or 22 (20 + B1–B9); or a placeholder such as
//!   111111111111111111 or 123456789….
//! - V102 the check character (ISO 7064 MOD 11-2) is wrong.
//! - V103 the birth date is not a calendar date, is after the reference date, or before 1900.
//! - V104 the address code's province is not a real one, or its city digits are impossible.
//! - V105 the number sat in a numeric spreadsheet cell and lost its last digits (Excel keeps 15
//!   significant digits), or was written in scientific notation (4.40811E+17). Nothing else is
//!   checked then: the digits are not the clerk's (rules.md "Overlaps").
//! - V106 (warning) it was written non-standardly and normalised first: lower-case x, full-width
//!   digits or letters, white space inside or around it.
//! - V107 (an error since catalogue v2) 15-digit old form; [`IdCheck::upgraded`] holds the
//!   18-digit form for the hint.
//!
//! Whether the address code names a county that exists is not checked (no compact, well-sourced
//! county list, and IDs keep codes of counties since renamed); only province and city digits are.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::{FieldCtx, Fill, Parsed, Value};
use crate::finding::Lang;

/// ISO 7064 MOD 11-2 weights of the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum mod 11.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Which city digits (positions 3–4 of the address code) a province accepts.
#[derive(Debug, Clone, Copy)]
pub enum CityDigits {
    /// Any two digits except 00 (00 is the province itself, never an issuing office).
    NotZero,
    /// Exactly these: the municipalities' 01 市辖区 / 02 县 (Chongqing also 03 for its former
    /// county-level cities), and 00 for the Hong Kong, Macao and Taiwan residence-permit codes.
    OneOf(&'static [&'static str]),
    /// Not checked.
    Any,
}

/// A province-level address code (GB/T 2260) and what may follow it.
#[derive(Debug, Clone, Copy)]
pub struct Province {
    pub code: &'static str,
    pub name: &'static str,
    pub cities: CityDigits,
}

const fn p(code: &'static str, name: &'static str) -> Province {
    Province {
        code,
        name,
        cities: CityDigits::NotZero,
    }
}

const MUNICIPALITY: CityDigits = CityDigits::OneOf(&["01", "02"]);
const PERMIT: CityDigits = CityDigits::OneOf(&["00"]);

/// Province-level codes of GB/T 2260, plus 83: the 2018 residence permits for residents of Hong
/// Kong, Macao and Taiwan carry 810000, 820000 and 830000 as their address code.
pub const PROVINCES: &[Province] = &[
    Province {
        code: "11",
        name: "北京",
        cities: MUNICIPALITY,
    },
    Province {
        code: "12",
        name: "天津",
        cities: MUNICIPALITY,
    },
    p("13", "河北"),
    p("14", "山西"),
    p("15", "内蒙古"),
    p("21", "辽宁"),
    p("22", "吉林"),
    p("23", "黑龙江"),
    Province {
        code: "31",
        name: "上海",
        cities: MUNICIPALITY,
    },
    p("32", "江苏"),
    p("33", "浙江"),
    p("34", "安徽"),
    p("35", "福建"),
    p("36", "江西"),
    p("37", "山东"),
    p("41", "河南"),
    p("42", "湖北"),
    p("43", "湖南"),
    p("44", "广东"),
    p("45", "广西"),
    p("46", "海南"),
    Province {
        code: "50",
        name: "重庆",
        cities: CityDigits::OneOf(&["01", "02", "03"]),
    },
    p("51", "四川"),
    p("52", "贵州"),
    p("53", "云南"),
    p("54", "西藏"),
    p("61", "陕西"),
    p("62", "甘肃"),
    p("63", "青海"),
    p("64", "宁夏"),
    p("65", "新疆"),
    Province {
        code: "71",
        name: "台湾",
        cities: CityDigits::Any,
    },
    Province {
        code: "81",
        name: "香港",
        cities: PERMIT,
    },
    Province {
        code: "82",
        name: "澳门",
        cities: PERMIT,
    },
    Province {
        code: "83",
        name: "台湾（居住证）",
        cities: PERMIT,
    },
];

/// Prefixes of the digits before the check character that mark a made-up number typed to get
/// past a required field. All-one-digit bodies are placeholders too (checked separately).
pub const PLACEHOLDER_PREFIXES: &[&str] = &["123456789", "99999", "000000"];

/// What kind of number it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// 18-character resident ID.
    Resident18,
    /// 15-digit first-generation ID (before 1999).
    Old15,
    /// 残疾人证: the 18-character ID + category + grade.
    Disability20,
    /// 残疾人证 with a B1–B9 suffix.
    Disability22,
    /// Malformed, or its digits were lost: no kind can be told.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// As the 性别 code list writes it.
    pub fn as_code(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// Why an ID is malformed (V101), for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MalformedReason {
    /// Length in characters after normalising, not 15, 18, 20 or 22.
    Length(usize),
    /// A character not allowed at this 1-based position.
    Character { ch: char, position: usize },
    /// A 残疾人证's category (1–7), grade (1–4) or B1–B9 suffix is wrong.
    DisabilitySuffix,
    /// One digit repeated, a counting sequence, or another [`PLACEHOLDER_PREFIXES`] pattern.
    Placeholder,
}

impl MalformedReason {
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (MalformedReason::Length(n), Lang::Zh) => {
                format!("长度为 {n} 位，应为 18 位（旧证 15 位，残疾人证 20 或 22 位）")
            }
            (MalformedReason::Length(n), Lang::En) => format!(
                "{n} characters long; expected 18 (15 for the old form, 20 or 22 for a disability card)"
            ),
            (MalformedReason::Character { ch, position }, Lang::Zh) => {
                format!("第 {position} 位字符“{ch}”无效")
            }
            (MalformedReason::Character { ch, position }, Lang::En) => {
                format!("invalid character '{ch}' at position {position}")
            }
            (MalformedReason::DisabilitySuffix, Lang::Zh) => {
                "残疾人证号的残疾类别（1–7）、等级（1–4）或 B1–B9 后缀无效".to_string()
            }
            (MalformedReason::DisabilitySuffix, Lang::En) => {
                "disability card suffix invalid: category 1–7, grade 1–4, optional B1–B9"
                    .to_string()
            }
            (MalformedReason::Placeholder, Lang::Zh) => {
                "是占位号码（同一数字重复或顺序数字）".to_string()
            }
            (MalformedReason::Placeholder, Lang::En) => {
                "is a placeholder (one digit repeated or a counting sequence)".to_string()
            }
        }
    }
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

/// One problem found in an ID number; [`IdIssue::code`] is its rule code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdIssue {
    Malformed(MalformedReason),
    Checksum { expected: char },
    BirthDate,
    Region,
    DigitsLost,
    Normalized,
    OldForm,
}

impl IdIssue {
    pub fn code(&self) -> &'static str {
        match self {
            IdIssue::Malformed(_) => "V101",
            IdIssue::Checksum { .. } => "V102",
            IdIssue::BirthDate => "V103",
            IdIssue::Region => "V104",
            IdIssue::DigitsLost => "V105",
            IdIssue::Normalized => "V106",
            IdIssue::OldForm => "V107",
        }
    }

    /// V106 and V107 leave the birth date, sex and region usable (an old form is upgraded);
    /// their severity is the schema's.
    pub fn is_warning(&self) -> bool {
        matches!(self, IdIssue::Normalized | IdIssue::OldForm)
    }
}

/// The result of checking one ID value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCheck {
    /// The value after V106 normalisation: what later checks and the report compare.
    pub normalized: String,
    /// Issues in code order; empty for a clean ID.
    pub issues: Vec<IdIssue>,
    pub kind: IdKind,
    /// None when V101, V103 or V105 fired.
    pub birth: Option<NaiveDate>,
    /// None when V101, V103 or V105 fired.
    pub sex: Option<Sex>,
    /// The 6-digit address code; None when V101, V103, V104 or V105 fired.
    pub region: Option<String>,
    /// The 18-digit form of a 15-digit old ID (V107's hint).
    pub upgraded: Option<String>,
}

impl IdCheck {
    /// No error-level issue: the birth date, sex and region can be trusted.
    pub fn is_valid(&self) -> bool {
        self.issues.iter().all(IdIssue::is_warning)
    }

    pub fn has(&self, code: &str) -> bool {
        self.issues.iter().any(|i| i.code() == code)
    }

    /// The 18-character ID inside this value: itself, its first 18 characters for a 残疾人证,
    /// or the upgraded old form; None when malformed or digits were lost.
    pub fn id18(&self) -> Option<&str> {
        match self.kind {
            IdKind::Resident18 | IdKind::Disability20 | IdKind::Disability22 => {
                self.normalized.get(..18)
            }
            IdKind::Old15 => self.upgraded.as_deref(),
            IdKind::Unknown => None,
        }
    }
}

/// Normalise as V106 allows: drop white space (anywhere) and zero-width characters, full-width
/// digits and letters to ASCII, lower-case x and b (残疾人证 suffix) to upper case. Idempotent.
pub fn normalize_id(raw: &str) -> String {
    // Almost every ID is digits and an upper-case X already: one copy, no per-char mapping.
    if raw
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return raw.to_string();
    }
    raw.chars()
        .filter(|&c| !super::whitespace::is_edge_space(c))
        .map(|c| {
            let c = match c {
                // Full-width forms sit at a fixed offset from ASCII.
                '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
                    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                }
                _ => c,
            };
            match c {
                'x' => 'X',
                'b' => 'B',
                _ => c,
            }
        })
        .collect()
}

/// The check character of the first 17 digits; None unless given exactly 17 ASCII digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.bytes().zip(WEIGHTS) {
        if !b.is_ascii_digit() {
            return None;
        }
        sum += u32::from(b - b'0') * w;
    }
    CHECK_CHARS.get((sum % 11) as usize).copied()
}

/// The 18-digit form of a 15-digit old ID: 19 inserted before the 2-digit year, check
/// character appended. None unless given exactly 15 ASCII digits.
pub fn upgrade15(id15: &str) -> Option<String> {
    if id15.len() != 15 || !id15.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = format!("{}19{}", id15.get(..6)?, id15.get(6..)?);
    let check = check_char(&first17)?;
    Some(format!("{first17}{check}"))
}

/// A valid 18-character ID for synthetic data: `region` (6 digits), `birth`, the sequence
/// `seq % 1000` (odd = male) and its check character. A `region` that is not 6 digits, or a
/// year outside 0–9999, gives a number that does not validate (check character 0 stands in).
pub fn make_id(region: &str, birth: NaiveDate, seq: u16) -> String {
    let first17 = format!(
        "{region}{:04}{:02}{:02}{:03}",
        birth.year(),
        birth.month(),
        birth.day(),
        seq % 1000
    );
    let check = check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// The province entry of a 2-digit code.
pub fn province(code2: &str) -> Option<&'static Province> {
    PROVINCES.iter().find(|p| p.code == code2)
}

/// Address code whose province exists and whose city digits that province allows.
pub fn region_is_plausible(code6: &str) -> bool {
    if code6.len() != 6 || !code6.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Some(prov), Some(city)) = (code6.get(..2), code6.get(2..4)) else {
        return false;
    };
    match province(prov).map(|p| p.cities) {
        None => false,
        Some(CityDigits::Any) => true,
        Some(CityDigits::NotZero) => city != "00",
        Some(CityDigits::OneOf(list)) => list.contains(&city),
    }
}

/// Text in scientific notation (`4.40811E+17`): what Excel shows for a long number.
fn is_scientific(s: &str) -> bool {
    let Some((mantissa, exp)) = s.split_once(['E', 'e']) else {
        return false;
    };
    let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("0");
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && digits(exp)
}

/// V105: digits Excel cannot have kept.
fn digits_lost(s: &str, from_numeric_cell: bool) -> bool {
    if is_scientific(s) {
        return true;
    }
    if !from_numeric_cell || s.len() < 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let significant = s.trim_start_matches('0').trim_end_matches('0').len();
    significant >= 16 || (s.len() == 18 && s.ends_with("000"))
}

fn is_placeholder(body: &str) -> bool {
    let mut bytes = body.bytes();
    let all_same = match bytes.next() {
        Some(first) => bytes.all(|b| b == first),
        None => false,
    };
    all_same || PLACEHOLDER_PREFIXES.iter().any(|p| body.starts_with(p))
}

/// Shape check: the kind, or why it is malformed.
fn classify(s: &str) -> Result<IdKind, MalformedReason> {
    if s.is_ascii() {
        classify_ascii(s.as_bytes())
    } else {
        classify_chars(s)
    }
}

/// [`classify`] for any text.
fn classify_chars(s: &str) -> Result<IdKind, MalformedReason> {
    let chars: Vec<char> = s.chars().collect();
    let bad = |position: usize| {
        let ch = chars.get(position).copied().unwrap_or('?');
        MalformedReason::Character {
            ch,
            position: position + 1,
        }
    };
    let kind = match chars.len() {
        15 => IdKind::Old15,
        18 => IdKind::Resident18,
        20 => IdKind::Disability20,
        22 => IdKind::Disability22,
        n => return Err(MalformedReason::Length(n)),
    };
    let body_len = if kind == IdKind::Old15 { 15 } else { 17 };
    if let Some(i) = chars
        .iter()
        .take(body_len)
        .position(|c| !c.is_ascii_digit())
    {
        return Err(bad(i));
    }
    if kind != IdKind::Old15 {
        match chars.get(17) {
            Some(c) if c.is_ascii_digit() || *c == 'X' => {}
            _ => return Err(bad(17)),
        }
    }
    let suffix: String = chars.iter().skip(18).collect();
    let suffix_ok = match kind {
        IdKind::Disability20 | IdKind::Disability22 => {
            let b = suffix.as_bytes();
            let category = b.first().is_some_and(|c| (b'1'..=b'7').contains(c));
            let grade = b.get(1).is_some_and(|c| (b'1'..=b'4').contains(c));
            let tail = kind == IdKind::Disability20
                || (b.get(2) == Some(&b'B') && b.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)));
            category && grade && tail
        }
        _ => true,
    };
    if !suffix_ok {
        return Err(MalformedReason::DisabilitySuffix);
    }
    if is_placeholder(s.get(..body_len).unwrap_or(s)) {
        return Err(MalformedReason::Placeholder);
    }
    Ok(kind)
}

/// [`classify`] for ASCII text (every well-formed ID, and most malformed ones): the same
/// verdicts, read from the bytes without collecting characters.
fn classify_ascii(b: &[u8]) -> Result<IdKind, MalformedReason> {
    let bad = |position: usize| MalformedReason::Character {
        ch: b.get(position).map_or('?', |&c| char::from(c)),
        position: position + 1,
    };
    let kind = match b.len() {
        15 => IdKind::Old15,
        18 => IdKind::Resident18,
        20 => IdKind::Disability20,
        22 => IdKind::Disability22,
        n => return Err(MalformedReason::Length(n)),
    };
    let body_len = if kind == IdKind::Old15 { 15 } else { 17 };
    if let Some(i) = b[..body_len].iter().position(|c| !c.is_ascii_digit()) {
        return Err(bad(i));
    }
    if kind != IdKind::Old15 && !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(bad(17));
    }
    let suffix = b.get(18..).unwrap_or_default();
    let suffix_ok = match kind {
        IdKind::Disability20 | IdKind::Disability22 => {
            let category = suffix.first().is_some_and(|c| (b'1'..=b'7').contains(c));
            let grade = suffix.get(1).is_some_and(|c| (b'1'..=b'4').contains(c));
            let tail = kind == IdKind::Disability20
                || (suffix.get(2) == Some(&b'B')
                    && suffix.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)));
            category && grade && tail
        }
        _ => true,
    };
    if !suffix_ok {
        return Err(MalformedReason::DisabilitySuffix);
    }
    // `body_len` ASCII digits: a valid str boundary.
    if is_placeholder(std::str::from_utf8(&b[..body_len]).unwrap_or_default()) {
        return Err(MalformedReason::Placeholder);
    }
    Ok(kind)
}

/// The date of 8 ASCII digits `YYYYMMDD` (what an ID carries once classified), as
/// `NaiveDate::parse_from_str(_, "%Y%m%d")` reads them, without its format interpreter (a
/// million IDs each carry one).
fn ymd8(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
    NaiveDate::from_ymd_opt(n(0..4) as i32, n(4..6), n(6..8))
}

/// Check one ID value. `raw` is the text as the clerk sees it ([`super::cell_text`]);
/// `from_numeric_cell` says the spreadsheet stored it as a number ([`super::is_numeric`]);
/// `as_of` is the reference date a birth date may not pass.
///
/// Pass the untrimmed text: white space in or around an ID is V106, so the caller raises no
/// V602 for an ID column.
///
/// V106 is not reported alongside V101 or V105: when the value is unusable, how it was spaced
/// does not matter to the clerk.
pub fn check_id(raw: &str, from_numeric_cell: bool, as_of: NaiveDate) -> IdCheck {
    let normalized = normalize_id(raw);
    let mut check = IdCheck {
        normalized,
        issues: Vec::new(),
        kind: IdKind::Unknown,
        birth: None,
        sex: None,
        region: None,
        upgraded: None,
    };
    if digits_lost(&check.normalized, from_numeric_cell) {
        check.issues.push(IdIssue::DigitsLost);
        return check;
    }
    let kind = match classify(&check.normalized) {
        Ok(kind) => kind,
        Err(reason) => {
            check.issues.push(IdIssue::Malformed(reason));
            return check;
        }
    };
    check.kind = kind;
    if check.normalized != raw {
        check.issues.push(IdIssue::Normalized);
    }
    // Everything below reads the 18-character form; for the old form that is the upgrade.
    let id18 = if kind == IdKind::Old15 {
        check.issues.push(IdIssue::OldForm);
        check.upgraded = upgrade15(&check.normalized);
        check.upgraded.as_deref()
    } else {
        check.normalized.get(..18)
    };
    let Some(id18) = id18 else {
        // classify() guarantees the shape; this is only a guard against a broken invariant.
        check
            .issues
            .push(IdIssue::Malformed(MalformedReason::Length(
                check.normalized.chars().count(),
            )));
        return check;
    };

    if kind != IdKind::Old15 {
        let expected = id18.get(..17).and_then(check_char);
        if let Some(expected) = expected
            && id18.get(17..18) != Some(expected.encode_utf8(&mut [0; 4]))
        {
            check.issues.push(IdIssue::Checksum { expected });
        }
    }

    let birth = id18
        .get(6..14)
        .and_then(ymd8)
        .filter(|d| d.year() >= 1900 && *d <= as_of);
    if birth.is_none() {
        check.issues.push(IdIssue::BirthDate);
    }
    let code6 = id18.get(..6).unwrap_or("");
    let region_ok = region_is_plausible(code6);
    if !region_ok {
        check.issues.push(IdIssue::Region);
    }

    if let Some(birth) = birth {
        check.birth = Some(birth);
        check.sex = id18
            .get(16..17)
            .and_then(|d| d.parse::<u8>().ok())
            .map(|d| if d % 2 == 1 { Sex::Male } else { Sex::Female });
        if region_ok {
            check.region = Some(code6.to_string());
        }
    }
    check.issues.sort_by_key(IdIssue::code);
    check
}

impl IdCheck {
    /// Usable to compare one person with another (D101, exclusion lists): neither malformed
    /// (V101) nor with digits lost (V105).
    pub fn is_comparable(&self) -> bool {
        !self
            .issues
            .iter()
            .any(|i| matches!(i, IdIssue::Malformed(_) | IdIssue::DigitsLost))
    }

    /// The issue this check found with rule code `code`.
    fn issue(&self, code: &str) -> Option<&IdIssue> {
        self.issues.iter().find(|i| i.code() == code)
    }
}

/// The ID check's issue with rule code `code`, for the value checks below: one `check_id` per
/// value, each of V101–V107 reading its own issue from it.
fn id_issue<'v>(v: &'v Value<'_>, code: &str) -> Option<&'v IdIssue> {
    match v.parsed {
        Parsed::Id(chk) => chk.issue(code),
        _ => None,
    }
}

/// V101 (registered in [`super::BUILTINS`]), with why in `{reason}`.
pub(super) fn check_malformed(v: &Value<'_>, cx: &FieldCtx) -> Option<Fill> {
    match id_issue(v, "V101")? {
        IdIssue::Malformed(r) => Some(Fill {
            reason: Some(r.text(cx.lang)),
            ..Fill::default()
        }),
        _ => None,
    }
}

/// V102 (registered in [`super::BUILTINS`]), with the right character in `{expected}`.
pub(super) fn check_checksum(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    match id_issue(v, "V102")? {
        IdIssue::Checksum { expected } => Some(Fill {
            expected: Some(expected.to_string()),
            ..Fill::default()
        }),
        _ => None,
    }
}

/// V103 (registered in [`super::BUILTINS`]).
pub(super) fn check_birth_date(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    id_issue(v, "V103").map(|_| Fill::default())
}

/// V104 (registered in [`super::BUILTINS`]).
pub(super) fn check_region(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    id_issue(v, "V104").map(|_| Fill::default())
}

/// V105 (registered in [`super::BUILTINS`]).
pub(super) fn check_digits_lost(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    id_issue(v, "V105").map(|_| Fill::default())
}

/// V106 (registered in [`super::BUILTINS`]).
pub(super) fn check_normalized(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    id_issue(v, "V106").map(|_| Fill::default())
}

/// V107 (registered in [`super::BUILTINS`]), with the 18-digit form in `{upgraded}`.
pub(super) fn check_old_form(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    let Parsed::Id(chk) = v.parsed else {
        return None;
    };
    chk.issue("V107").map(|_| Fill {
        upgraded: chk.upgraded.clone(),
        ..Fill::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 12, 31).unwrap()
    }

    fn codes(raw: &str) -> Vec<&'static str> {
        check_id(raw, false, as_of())
            .issues
            .iter()
            .map(IdIssue::code)
            .collect()
    }

    #[test]
    fn domain_valid_vectors() {
        for id in [
            "360426199101010071",
            "350303199002033073",
            "331122197905116239",
            "33050219880702447X",
            "440308199901101512",
            "34052419800101001X",
        ] {
            let c = check_id(id, false, as_of());
            assert!(c.issues.is_empty(), "{id}: {:?}", c.issues);
            assert!(c.is_valid());
            assert_eq!(c.kind, IdKind::Resident18);
            assert_eq!(c.region.as_deref(), id.get(..6));
            assert!(c.birth.is_some() && c.sex.is_some());
        }
        let c = check_id("440308199901101512", false, as_of());
        assert_eq!(c.birth, NaiveDate::from_ymd_opt(1999, 1, 10));
        assert_eq!(c.sex, Some(Sex::Male));
        // Sequence 447: odd, male (the check character X says nothing about sex).
        let c = check_id("33050219880702447X", false, as_of());
        assert_eq!(c.sex, Some(Sex::Male));
    }

    #[test]
    fn domain_invalid_vectors() {
        assert_eq!(codes("36042619910102009X"), ["V102"]);
        assert_eq!(codes("440308199901101513"), ["V102"]);
        assert_eq!(codes("340524198001010013"), ["V102"]);
        assert!(codes("360426199113010079").contains(&"V103"));
        assert_eq!(codes("111111111111111111"), ["V101"]);
        assert_eq!(codes("990426199112010074"), ["V104"]);
    }

    #[test]
    fn checksum_failure_keeps_birth_sex_region() {
        let c = check_id("440308199901101513", false, as_of());
        assert_eq!(c.issues, [IdIssue::Checksum { expected: '2' }]);
        assert!(!c.is_valid());
        assert_eq!(c.birth, NaiveDate::from_ymd_opt(1999, 1, 10));
        assert_eq!(c.sex, Some(Sex::Male));
        assert_eq!(c.region.as_deref(), Some("440308"));
    }

    #[test]
    fn old_form_upgrades() {
        let c = check_id("350303900203307", false, as_of());
        assert_eq!(c.issues, [IdIssue::OldForm]);
        assert!(c.is_valid());
        assert_eq!(c.kind, IdKind::Old15);
        assert_eq!(c.upgraded.as_deref(), Some("350303199002033073"));
        assert_eq!(c.id18(), Some("350303199002033073"));
        assert_eq!(c.birth, NaiveDate::from_ymd_opt(1990, 2, 3));
        assert_eq!(c.sex, Some(Sex::Male));
        assert_eq!(
            upgrade15("350303900203307").as_deref(),
            Some("350303199002033073")
        );
        assert_eq!(upgrade15("35030390020330"), None);
        assert_eq!(upgrade15("35030390020330X"), None);
        // An old form with an impossible date is still an old form, and still a bad date.
        assert_eq!(codes("350303901303307"), ["V103", "V107"]);
    }

    #[test]
    fn check_characters() {
        assert_eq!(check_char("36042619910101007"), Some('1'));
        assert_eq!(check_char("33050219880702447"), Some('X'));
        assert_eq!(check_char("3605021988070244"), None);
        assert_eq!(check_char("3305021988070244a"), None);
        assert_eq!(check_char("３3050219880702447"), None);
    }

    #[test]
    fn normalisation_is_flagged_and_then_checked() {
        for raw in [
            "33050219880702447x",
            "33050219880702447Ｘ",
            "３３０５０２１９８８０７０２４４７Ｘ",
            " 33050219880702447X",
            "330502 19880702 447X",
            "33050219880702447X\u{00A0}",
            "\u{200B}33050219880702447X",
        ] {
            let c = check_id(raw, false, as_of());
            assert_eq!(c.normalized, "33050219880702447X", "{raw:?}");
            assert_eq!(c.issues, [IdIssue::Normalized], "{raw:?}");
            assert!(c.is_valid());
        }
        // Normalised and then wrong: both reported.
        assert_eq!(codes("44030819990110151３"), ["V102", "V106"]);
        // Unusable values do not also get V106.
        assert_eq!(codes(" 4403 "), ["V101"]);
    }

    #[test]
    fn malformed() {
        let reason = |raw: &str| match check_id(raw, false, as_of()).issues.as_slice() {
            [IdIssue::Malformed(r)] => r.clone(),
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(reason(""), MalformedReason::Length(0));
        assert_eq!(reason("4403081999011015"), MalformedReason::Length(16));
        assert_eq!(reason("4403081999011015123"), MalformedReason::Length(19));
        assert_eq!(
            reason("4403081999X1101512"),
            MalformedReason::Character {
                ch: 'X',
                position: 11
            }
        );
        assert_eq!(
            reason("44030819990110151A"),
            MalformedReason::Character {
                ch: 'A',
                position: 18
            }
        );
        assert_eq!(
            reason("张三四五六七八九十一二三四五六七八九"),
            MalformedReason::Character {
                ch: '张',
                position: 1
            }
        );
        assert_eq!(
            reason("44030899011015X"),
            MalformedReason::Character {
                ch: 'X',
                position: 15
            }
        );
        for placeholder in [
            "111111111111111111",
            "000000000000000000",
            "99999999999999999X",
            "123456789012345678",
            "999999999999999",
            "000000199001010011",
        ] {
            assert_eq!(
                reason(placeholder),
                MalformedReason::Placeholder,
                "{placeholder}"
            );
        }
        let c = check_id("111111111111111111", false, as_of());
        assert_eq!((c.birth, c.sex, c.region), (None, None, None));
        assert_eq!(c.kind, IdKind::Unknown);
        assert!(!MalformedReason::Placeholder.text(Lang::Zh).is_empty());
        assert!(MalformedReason::Length(3).text(Lang::En).contains('3'));
    }

    #[test]
    fn disability_cards() {
        let c = check_id("44030819990110151213", false, as_of());
        assert!(c.issues.is_empty(), "{:?}", c.issues);
        assert_eq!(c.kind, IdKind::Disability20);
        assert_eq!(c.id18(), Some("440308199901101512"));
        assert_eq!(
            check_id("4403081999011015121", false, as_of()).issues,
            [IdIssue::Malformed(MalformedReason::Length(19))]
        );
        let c = check_id("44030819990110151274B9", false, as_of());
        assert!(c.issues.is_empty(), "{:?}", c.issues);
        assert_eq!(c.kind, IdKind::Disability22);
        assert_eq!(codes("44030819990110151274b9"), ["V106"]);
        assert_eq!(codes("33050219880702447X11"), Vec::<&str>::new());
        // The ID part is checked as an ID.
        assert_eq!(codes("44030819990110151313"), ["V102"]);
        for bad in [
            "44030819990110151281",
            "44030819990110151205",
            "44030819990110151215",
            "44030819990110151213B0",
            "44030819990110151213C1",
            "4403081999011015121311",
        ] {
            assert_eq!(
                check_id(bad, false, as_of()).issues,
                [IdIssue::Malformed(MalformedReason::DisabilitySuffix)],
                "{bad}"
            );
        }
    }

    #[test]
    fn birth_date_bounds() {
        let born = |y, m, d| make_id("440811", NaiveDate::from_ymd_opt(y, m, d).unwrap(), 11);
        assert!(codes(&born(1900, 1, 1)).is_empty());
        assert_eq!(codes(&born(1899, 12, 31)), ["V103"]);
        assert!(codes(&born(2020, 12, 31)).is_empty());
        assert_eq!(codes(&born(2021, 1, 1)), ["V103"]);
        let c = check_id(&born(2021, 1, 1), false, as_of());
        assert_eq!((c.birth, c.sex, c.region), (None, None, None));
        // 29 February only in leap years.
        let first17 = "44081120190229001";
        let id = format!("{first17}{}", check_char(first17).unwrap());
        assert_eq!(codes(&id), ["V103"]);
        assert!(codes(&born(2020, 2, 29)).is_empty());
    }

    #[test]
    fn regions() {
        let id = |region: &str| make_id(region, NaiveDate::from_ymd_opt(1980, 5, 6).unwrap(), 21);
        for ok in [
            "440811", "110101", "120102", "310230", "500101", "500381", "469001", "650102",
            "810000", "820000", "830000", "710000",
        ] {
            assert!(codes(&id(ok)).is_empty(), "{ok}");
            assert_eq!(
                check_id(&id(ok), false, as_of()).region.as_deref(),
                Some(ok)
            );
        }
        for bad in [
            "990426", "100101", "440011", "110301", "500401", "810101", "240101",
        ] {
            assert_eq!(codes(&id(bad)), ["V104"], "{bad}");
            let c = check_id(&id(bad), false, as_of());
            assert_eq!(c.region, None);
            assert!(c.birth.is_some(), "a bad region keeps the birth date");
        }
        assert_eq!(province("44").map(|p| p.name), Some("广东"));
        assert!(province("99").is_none());
    }

    #[test]
    fn digits_lost_to_numeric_cells() {
        for (raw, numeric) in [
            ("440811199001011000", true),
            ("4408111990010112", true),
            ("440811199001011200", true),
            ("4.40811E+17", false),
            ("4.40811199001011e17", false),
            ("4.40811E+17", true),
            ("4E17", false),
        ] {
            let c = check_id(raw, numeric, as_of());
            assert_eq!(c.issues, [IdIssue::DigitsLost], "{raw}");
            assert_eq!(c.kind, IdKind::Unknown);
            assert_eq!((c.birth, c.sex, c.region), (None, None, None));
        }
        // The same digits typed as text are checked on their own merits.
        assert_eq!(codes("440811199001011000"), ["V102"]);
        // 15-digit old IDs fit in Excel's 15 digits.
        assert_eq!(
            check_id("350303900203307", true, as_of()).issues,
            [IdIssue::OldForm]
        );
        // A short number from a numeric cell is just malformed.
        assert_eq!(
            check_id("44081119900101", true, as_of()).issues,
            [IdIssue::Malformed(MalformedReason::Length(14))]
        );
        assert!(!is_scientific("4.E17"));
        assert!(!is_scientific("E17"));
        assert!(!is_scientific("4.4"));
    }

    #[test]
    fn make_id_validates_and_encodes_sex() {
        let birth = NaiveDate::from_ymd_opt(1975, 7, 9).unwrap();
        let male = make_id("440811", birth, 123);
        assert_eq!(male.len(), 18);
        let c = check_id(&male, false, as_of());
        assert!(c.issues.is_empty());
        assert_eq!((c.birth, c.sex), (Some(birth), Some(Sex::Male)));
        let female = make_id("440811", birth, 1124);
        assert_eq!(female.get(14..17), Some("124"));
        assert_eq!(check_id(&female, false, as_of()).sex, Some(Sex::Female));
        // Bad input gives an ID that fails, never a panic.
        assert!(!check_id(&make_id("44", birth, 1), false, as_of()).is_valid());
        assert!(!check_id(&make_id("44081x", birth, 1), false, as_of()).is_valid());
    }

    #[test]
    fn compact_dates_read_as_chronos_format_parser_reads_them() {
        let mut cases: Vec<String> = Vec::new();
        for y in [
            "0000", "0001", "1899", "1900", "1970", "2000", "2004", "2100", "9999",
        ] {
            for m in ["00", "01", "02", "09", "12", "13", "99"] {
                for d in ["00", "01", "28", "29", "30", "31", "32", "99"] {
                    cases.push(format!("{y}{m}{d}"));
                }
            }
        }
        // Only 8 ASCII digits reach it (classify checked them); a wrong length is no date.
        cases.extend(["1990010", "199001011"].map(String::from));
        for c in &cases {
            assert_eq!(
                ymd8(c),
                NaiveDate::parse_from_str(c, "%Y%m%d").ok(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn ascii_ids_classify_as_any_text_does() {
        let ids = [
            "440811197003150116",
            "44081119700315011X",
            "4408111970031501X6",
            "440811700315011",
            "44081170031501",
            "4408111970031501160",
            "44081119700315011613",
            "44081119700315011683",
            "4408111970031501161B1",
            "4408111970031501161B3X",
            "4408111970031501161C3",
            "111111111111111111",
            "123456789012345678",
            "44081119700315011a",
            "",
            "X",
            "4408111970031501161B",
            "440811197003150116133",
        ];
        for id in ids {
            assert_eq!(classify_ascii(id.as_bytes()), classify_chars(id), "{id}");
        }
    }

    #[test]
    fn normalize_is_idempotent() {
        for raw in ["ｘ１ b Ｂ", "\u{3000}12x", "abc"] {
            let once = normalize_id(raw);
            assert_eq!(normalize_id(&once), once);
        }
    }
}
