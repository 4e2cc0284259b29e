//! Building consistent fictitious households (people, household facts, income) from a seeded PRNG.
//!
//! Invariant: a household built here with no mutation breaks no rule of rules.md; the injection
//! step (`inject.rs`) relies on that to make each injected error fire only its own code.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate};

/// SplitMix64: tiny, fast and fully determined by the seed, so the same seed gives the same file
/// on every platform (no dependency whose stream could change between versions).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the tiny bias is irrelevant here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (returns `lo` when the range is empty).
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// An independent stream from the current state, without advancing this one: values added
    /// later draw from it, so every value drawn before keeps its place in the main stream (and
    /// the committed samples keep their rows and errors).
    pub(crate) fn fork(&self) -> Rng {
        Rng(self.0.rotate_left(29) ^ 0xA076_1D64_78BD_642F)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let i = self.below(items.len() as u64) as usize;
        items.get(i).copied()
    }
}

/// Pick from a non-empty constant list; falls back to `default` so no data can make it panic.
fn pick_str(rng: &mut Rng, items: &[&'static str], default: &'static str) -> &'static str {
    rng.pick(items).unwrap_or(default)
}

const SURNAMES: &[&str] = &[
    "陈", "林", "黄", "李", "张", "王", "吴", "梁", "何", "郑", "周", "谢", "杨", "冯", "邓", "许",
    "庞", "莫", "钟", "庄", "洪", "曾", "蔡", "罗", "苏", "叶", "潘", "符", "龙", "全",
];
const GIVEN: &[&str] = &[
    "秀", "英", "华", "明", "国", "志", "建", "文", "海", "春", "玉", "兰", "芳", "强", "伟", "丽",
    "平", "军", "红", "金", "德", "永", "美", "桂", "荣", "新", "光", "成", "嘉", "淑", "小", "思",
    "敏", "婷", "杰", "宇", "浩", "晓", "月", "云", "山", "水", "东", "南", "青",
];
const MINORITIES: &[&str] = &["壮族", "瑶族", "黎族", "畲族", "回族"];

pub(crate) const TOWNS: &[(&str, &[&str])] = &[
    ("麻章镇", &["赤岭村", "洋水岭村", "大塘村", "迈合村"]),
    ("太平镇", &["通明村", "东岭村", "北坡村"]),
    ("湖光镇", &["新安村", "南山村", "西湾村"]),
];
const HAMLETS: &[&str] = &[
    "上村",
    "下村",
    "东头村",
    "西头村",
    "新屋村",
    "老屋村",
    "塘边村",
];
const UNITS: &[&str] = &[
    "区教育局",
    "区卫健局",
    "区农业农村局",
    "市驻区工作队",
    "区民政局",
    "区人社局",
];
const BANKS: &[(&str, &str, u32)] = &[
    // (bank, fictitious 6-digit card prefix, card length)
    ("湛江农商银行", "621396", 19),
    ("中国农业银行", "622848", 19),
    ("中国邮政储蓄银行", "621799", 19),
    ("中国建设银行", "621700", 16),
];
const NEIGHBOURS: &[u32] = &[440802, 440803, 440804, 440823];
pub(crate) const HOME_REGION: u32 = 440811;

const WORK_KINDS: &[&str] = &[
    "乡（镇）内务工",
    "乡（镇）外县内务工",
    "县外省内务工",
    "省外务工",
];

/// Reasons that need no supporting member fact.
const FREE_REASONS: &[&str] = &[
    "缺技术",
    "缺资金",
    "缺土地",
    "因灾",
    "交通条件落后",
    "自身发展动力不足",
];

pub(crate) const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// GB 11643 check character of the first 17 digits (ISO 7064 MOD 11-2).
pub(crate) fn id_check(first17: &[u8]) -> u8 {
    let s: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d.wrapping_sub(b'0')) * w)
        .sum();
    b"10X98765432"
        .get((s % 11) as usize)
        .copied()
        .unwrap_or(b'0')
}

/// Luhn check digit for a digit payload (the digit that makes payload+digit pass).
pub(crate) fn luhn_digit(payload: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in payload.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// Completed years at `as_of`.
pub(crate) fn age_at(birth: NaiveDate, as_of: NaiveDate) -> u32 {
    let mut years = as_of.year() - birth.year();
    if (as_of.month(), as_of.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// Hands out unique ID numbers: per (region, birth date, sex) a counter walks a permutation of
/// the 499 sequence slots, so numbers look scattered yet never repeat.
#[derive(Default)]
pub(crate) struct IdAlloc {
    used: HashMap<u64, u32>,
}

impl IdAlloc {
    fn key(region: u32, date: NaiveDate, male: bool) -> u64 {
        (u64::from(region) << 32) | ((date.num_days_from_ce() as u64) << 1) | u64::from(male)
    }

    /// A fresh valid ID. With `want_x`, one whose check character is X (for the V106 sample).
    pub(crate) fn alloc(
        &mut self,
        region: u32,
        birth: NaiveDate,
        male: bool,
        want_x: bool,
    ) -> [u8; 18] {
        let mut date = birth;
        let mut region = region;
        let mut hops = 0u32;
        loop {
            let key = Self::key(region, date, male);
            let count = self.used.entry(key).or_insert(0);
            while *count < 499 {
                let k = *count;
                *count += 1;
                let salt = (date.num_days_from_ce() as u32).wrapping_mul(31) ^ region;
                let slot = (k * 37 + salt % 499) % 499;
                let seq = if male { 2 * slot + 1 } else { 2 * slot + 2 };
                let id = compose_id(region, date, seq);
                if !want_x || id[17] == b'X' {
                    return id;
                }
            }
            // Slots exhausted (never at realistic sizes): move to a neighbouring county, then
            // a day later, so uniqueness holds whatever the row count.
            hops += 1;
            if let Some(&r) = NEIGHBOURS.get((hops as usize - 1) % NEIGHBOURS.len()) {
                region = r;
            }
            if hops.is_multiple_of(NEIGHBOURS.len() as u32) {
                date = date.checked_add_days(Days::new(1)).unwrap_or(date);
            }
        }
    }
}

/// 18-character ID from region, birth date and sequence, with its check character.
pub(crate) fn compose_id(region: u32, date: NaiveDate, seq: u32) -> [u8; 18] {
    let mut id = [b'0'; 18];
    let mut put = |start: usize, mut v: u32, width: usize| {
        for i in (0..width).rev() {
            if let Some(b) = id.get_mut(start + i) {
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, region, 6);
    put(6, date.year().max(0) as u32, 4);
    put(10, date.month(), 2);
    put(12, date.day(), 2);
    put(14, seq, 3);
    id[17] = id_check(&id[..17]);
    id
}

/// Exit line (yuan per person per year) for 识别标准 and a year, as the default schema's policy
/// table gives it.
pub(crate) fn exit_line(provincial: bool, year: i32) -> u32 {
    match (provincial, year) {
        (true, ..=2016) => 6433,
        (true, 2017) => 6883,
        (true, 2018) => 7365,
        (true, 2019) => 7881,
        (true, _) => 8432,
        (false, ..=2016) => 2952,
        (false, 2017) => 3335,
        (false, 2018) => 3535,
        (false, 2019) => 3747,
        (false, _) => 4000,
    }
}

#[derive(Clone)]
pub(crate) struct Person {
    pub name: String,
    pub id: [u8; 18],
    pub birth: NaiveDate,
    pub age: u32,
    pub male: bool,
    pub region: u32,
    pub rel: &'static str,
    pub nation: &'static str,
    pub edu: &'static str,
    pub school: &'static str,
    pub health: &'static str,
    pub labour: &'static str,
    pub work: &'static str,
    pub months: u32,
    pub medical: bool,
    pub serious: bool,
    pub pension: bool,
    pub dibao: bool,
    /// 是否享受五保 (特困供养).
    pub wubao: bool,
}

impl Person {
    pub(crate) fn is_labour(&self) -> bool {
        matches!(self.labour, "普通劳动力" | "技能劳动力")
    }
    pub(crate) fn in_school(&self) -> bool {
        !matches!(self.school, "非在校生" | "学前教育" | "")
    }
}

pub(crate) struct Household {
    pub town: &'static str,
    pub village: &'static str,
    pub hamlet: &'static str,
    pub number: u64,
    pub members: Vec<Person>,
    /// 人数 as written; differs from `members.len()` only for the L203 sample.
    pub stated_n: u32,
    pub provincial: bool,
    pub attr: &'static str,
    pub reason: &'static str,
    pub lifted: bool,
    pub exit_year: Option<i32>,
    pub wage: u64,
    pub business: u64,
    pub property: u64,
    pub transfer: u64,
    pub expense: u64,
    pub per_capita_cents: u64,
    pub danger: Option<&'static str>,
    pub water_safe: bool,
    pub water_hard: bool,
    pub power: bool,
    pub area_tenths: u32,
    pub phone: u64,
    pub bank: &'static str,
    pub card: String,
    pub unit: &'static str,
    pub helper: String,
    /// 其他致贫原因 as written (causes joined by 、), empty when none.
    pub other_reasons: String,
    /// Yearly 低保金 / 五保金 / 养老金 in yuan; None is a blank cell.
    pub dibao_money: Option<u64>,
    pub wubao_money: Option<u64>,
    pub pension_money: Option<u64>,
}

/// Constraints an error kind puts on the household it will be injected into.
#[derive(Default, Clone, Copy)]
pub(crate) struct Want {
    pub no_spouse: bool,
    pub lifted: Option<bool>,
    /// A child (之子/之女) aged within this range.
    pub child_age: Option<(u32, u32)>,
    /// Nobody under 23 and nobody in school.
    pub adults_only: bool,
    /// Exactly one child, adult, of the head's sex (it will be made a second 户主).
    pub adult_child: bool,
    /// The head is a healthy labourer working away.
    pub head_working: bool,
    /// A spouse for sure, and the `child_age` child of the sex opposite to the head's.
    pub spouse_and_opposite_child: bool,
    /// One person aged 70–85 (no labour capacity by age).
    pub lone_elder: bool,
    /// Force the 贫困户属性 kind: 0 一般, 1 低保, 2 特困供养.
    pub kind: Option<u8>,
}

pub(crate) fn name(rng: &mut Rng, surname: Option<&'static str>) -> String {
    let mut s = String::with_capacity(9);
    s.push_str(surname.unwrap_or_else(|| pick_str(rng, SURNAMES, "陈")));
    s.push_str(pick_str(rng, GIVEN, "明"));
    if rng.chance(0.7) {
        s.push_str(pick_str(rng, GIVEN, "华"));
    }
    s
}

fn birth_for_age(rng: &mut Rng, as_of: NaiveDate, age: u32) -> NaiveDate {
    let y = as_of.year() - age as i32;
    let anchor = NaiveDate::from_ymd_opt(y, as_of.month(), as_of.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, as_of.month(), 28))
        .unwrap_or(as_of);
    anchor
        .checked_sub_days(Days::new(rng.below(365)))
        .unwrap_or(anchor)
}

/// One person, consistent in itself: school and education fit the age, labour only from 16,
/// working away only for labourers.
#[allow(clippy::too_many_arguments)]
fn person(
    rng: &mut Rng,
    ids: &mut IdAlloc,
    as_of: NaiveDate,
    age: u32,
    male: bool,
    rel: &'static str,
    region: u32,
    surname: Option<&'static str>,
) -> Person {
    let birth = birth_for_age(rng, as_of, age);
    let age = age_at(birth, as_of);
    let id = ids.alloc(region, birth, male, false);
    let may_study = matches!(rel, "之子" | "之女" | "之孙子" | "之孙女");
    let h = rng.below(100);
    let health = match age {
        0..=15 => match h {
            0..=94 => "健康",
            95..=97 => "长期慢性病",
            _ => "残疾",
        },
        16..=59 => match h {
            0..=81 => "健康",
            82..=91 => "长期慢性病",
            92..=94 => "患有大病",
            _ => "残疾",
        },
        _ => match h {
            0..=54 => "健康",
            55..=87 => "长期慢性病",
            88..=92 => "患有大病",
            _ => "残疾",
        },
    };
    let (school, edu) = match age {
        0..=2 => ("非在校生", "学龄前儿童"),
        3..=5 => ("学前教育", "学龄前儿童"),
        6..=11 => ("小学", "小学"),
        12 => ("七年级", "初中"),
        13 => ("八年级", "初中"),
        14 => ("九年级", "初中"),
        15 => (
            if rng.chance(0.7) {
                "高中一年级"
            } else {
                "中职一年级"
            },
            "初中",
        ),
        16 | 17 if may_study && rng.chance(0.65) => {
            let hi = rng.chance(0.7);
            let stage = match (age, hi) {
                (16, true) => "高中二年级",
                (16, false) => "中职二年级",
                (_, true) => "高中三年级",
                _ => "中职三年级",
            };
            (stage, "初中")
        }
        18..=22 if may_study && rng.chance(0.25) => (
            pick_str(
                rng,
                &["大专及以上", "高职一年级", "高职二年级"],
                "大专及以上",
            ),
            "高中",
        ),
        16..=22 => ("非在校生", if rng.chance(0.6) { "初中" } else { "高中" }),
        23..=44 => (
            "非在校生",
            match rng.below(100) {
                0..=4 => "小学",
                5..=59 => "初中",
                60..=89 => "高中",
                _ => "大专及以上",
            },
        ),
        45..=64 => (
            "非在校生",
            match rng.below(100) {
                0..=49 => "小学",
                50..=94 => "初中",
                _ => "高中",
            },
        ),
        _ => (
            "非在校生",
            if rng.chance(0.5) {
                "文盲或半文盲"
            } else {
                "小学"
            },
        ),
    };
    let studying = !matches!(school, "非在校生" | "学前教育");
    let labour = if age < 16 || studying {
        "无劳动力"
    } else {
        match (health, age) {
            ("残疾", _) | ("患有大病", _) => "丧失劳动力",
            (_, 70..) => "无劳动力",
            ("健康", 16..=59) => {
                if rng.chance(0.85) {
                    "普通劳动力"
                } else {
                    "技能劳动力"
                }
            }
            ("健康", _) if rng.chance(0.45) => "普通劳动力",
            ("长期慢性病", 16..=59) if rng.chance(0.6) => "普通劳动力",
            // Capacity lost to illness is 丧失劳动力; 无劳动力 is for the young and old (L127).
            ("长期慢性病", 16..=59) => "丧失劳动力",
            _ => "无劳动力",
        }
    };
    let labouring = matches!(labour, "普通劳动力" | "技能劳动力");
    let (work, months) = if labouring && age <= 59 && rng.chance(0.4) {
        (pick_str(rng, WORK_KINDS, "省外务工"), rng.range(3, 12))
    } else {
        ("", 0)
    };
    let nation = if rng.chance(0.94) {
        "汉族"
    } else {
        pick_str(rng, MINORITIES, "壮族")
    };
    Person {
        name: name(rng, surname),
        id,
        birth,
        age,
        male,
        region,
        rel,
        nation,
        edu,
        school,
        health,
        labour,
        work,
        months,
        medical: true,
        serious: true,
        pension: age >= 16 && !studying,
        dibao: false,
        wubao: false,
    }
}

fn weighted_size(rng: &mut Rng) -> u32 {
    match rng.below(100) {
        0..=7 => 1,
        8..=22 => 2,
        23..=42 => 3,
        43..=67 => 4,
        68..=84 => 5,
        85..=94 => 6,
        _ => 7,
    }
}

/// Members of one household, the 户主 first.
pub(crate) fn members(
    rng: &mut Rng,
    ids: &mut IdAlloc,
    as_of: NaiveDate,
    want: Want,
    max_rows: u32,
) -> Vec<Person> {
    let mut size = weighted_size(rng);
    if want.child_age.is_some() {
        size = size.max(2);
    }
    if want.spouse_and_opposite_child {
        size = size.max(3);
    }
    if want.lone_elder {
        size = 1;
    }
    if want.adult_child {
        size = rng.range(2, 3);
    }
    let size = size.min(max_rows).max(1);
    let child_age = want.child_age.map(|(lo, hi)| rng.range(lo, hi));
    let head_age = if let Some(c) = child_age {
        c + rng.range(22, 40)
    } else if want.adults_only || want.adult_child {
        rng.range(45, 70)
    } else if want.head_working {
        rng.range(30, 50)
    } else if want.lone_elder {
        rng.range(70, 85)
    } else {
        rng.range(25, 78)
    };
    let head_male = rng.chance(0.85);
    let head_surname = pick_str(rng, SURNAMES, "陈");
    let mut out = Vec::with_capacity(size as usize);
    let mut head = person(
        rng,
        ids,
        as_of,
        head_age,
        head_male,
        "户主",
        HOME_REGION,
        Some(head_surname),
    );
    if want.head_working {
        head.health = "健康";
        head.labour = "普通劳动力";
        head.work = pick_str(rng, WORK_KINDS, "省外务工");
        head.months = rng.range(3, 11);
        head.pension = true;
    }
    let head_age = head.age;
    out.push(head);
    let mut slots = size - 1;
    let child_surname = if head_male { Some(head_surname) } else { None };
    if let Some(age) = child_age.filter(|_| slots > 0) {
        let male = if want.spouse_and_opposite_child {
            !head_male
        } else {
            rng.chance(0.5)
        };
        let rel = if male { "之子" } else { "之女" };
        let mut c = person(rng, ids, as_of, age, male, rel, HOME_REGION, child_surname);
        // The injected child rule must be the only one that fires: keep a child healthy (an
        // adult keeps the health its labour was derived from, or L125 would fire).
        if c.age < 16 {
            c.health = "健康";
        }
        out.push(c);
        slots -= 1;
    }
    if want.adult_child && slots > 0 {
        if slots == 2 {
            out.push(spouse(rng, ids, as_of, head_age, head_male));
        }
        let age = rng.range(
            23.max(head_age.saturating_sub(40)),
            head_age.saturating_sub(20),
        );
        let rel = if head_male { "之子" } else { "之女" };
        out.push(person(
            rng,
            ids,
            as_of,
            age,
            head_male,
            rel,
            HOME_REGION,
            child_surname,
        ));
        return out;
    }
    if slots > 0 && !want.no_spouse && (want.spouse_and_opposite_child || rng.chance(0.85)) {
        out.push(spouse(rng, ids, as_of, head_age, head_male));
        slots -= 1;
    }
    let mut has_parent = false;
    for _ in 0..slots {
        let (age, male, rel) = if !has_parent && head_age <= 60 && rng.chance(0.15) {
            has_parent = true;
            let male = rng.chance(0.4);
            (
                (head_age + rng.range(20, 32)).min(95),
                male,
                if male { "之父" } else { "之母" },
            )
        } else if head_age >= 52 && !want.adults_only && rng.chance(0.3) {
            let male = rng.chance(0.5);
            (
                rng.range(0, head_age.saturating_sub(42)),
                male,
                if male { "之孙子" } else { "之孙女" },
            )
        } else {
            let lo = head_age.saturating_sub(45);
            let lo = if want.adults_only { lo.max(23) } else { lo };
            let male = rng.chance(0.5);
            (
                rng.range(lo, head_age.saturating_sub(20)),
                male,
                if male { "之子" } else { "之女" },
            )
        };
        out.push(person(
            rng,
            ids,
            as_of,
            age,
            male,
            rel,
            HOME_REGION,
            child_surname,
        ));
    }
    out
}

fn spouse(
    rng: &mut Rng,
    ids: &mut IdAlloc,
    as_of: NaiveDate,
    head_age: u32,
    head_male: bool,
) -> Person {
    let age = (head_age + rng.range(0, 10)).saturating_sub(5).max(20);
    let region = if rng.chance(0.5) {
        rng.pick(NEIGHBOURS).unwrap_or(HOME_REGION)
    } else {
        HOME_REGION
    };
    person(rng, ids, as_of, age, !head_male, "配偶", region, None)
}

/// Household facts derived from the members so that every household rule holds.
pub(crate) fn household(
    rng: &mut Rng,
    as_of: NaiveDate,
    index: u64,
    mut members: Vec<Person>,
    want: Want,
    stated_extra: u32,
) -> Household {
    let (town, villages) = TOWNS
        .get(rng.below(TOWNS.len() as u64) as usize)
        .copied()
        .unwrap_or(("麻章镇", &["赤岭村"]));
    let village = pick_str(rng, villages, "赤岭村");
    let hamlet = pick_str(rng, HAMLETS, "上村");
    let lifted = want.lifted.unwrap_or_else(|| rng.chance(0.45));
    let labourers = members.iter().filter(|p| p.is_labour()).count();
    // L603: 特困供养 only where nobody healthy of working age could work.
    let tekun_ok = !members
        .iter()
        .any(|p| (16..=59).contains(&p.age) && p.health == "健康" && p.is_labour());
    // L605: nobody in a 特困供养 household works. L604: a household where nobody can work gets
    // 兜底 (低保 or 特困供养).
    // Draws as before these two conditions existed, so the stream does not move.
    let nobody_works = members.iter().all(|p| p.work.is_empty());
    let all_unable = members
        .iter()
        .all(|p| matches!(p.labour, "无劳动力" | "丧失劳动力"));
    let kind = if let Some(k) = want.kind {
        k
    } else if tekun_ok && rng.chance(0.3) {
        if nobody_works { 2 } else { 1 }
    } else if rng.chance(0.25) || all_unable {
        1
    } else {
        0
    };
    let mut aux = rng.fork();
    let attr = match (kind, lifted) {
        (0, false) => "一般贫困户",
        (1, false) => "低保贫困户",
        (_, false) => "特困供养贫困户",
        (0, true) => "一般农户",
        (1, true) => "低保户",
        (_, true) => "特困供养户",
    };
    for p in &mut members {
        p.dibao = kind == 1;
        p.wubao = kind == 2;
        // Unlifted households may lack insurance; lifted ones may not (L404). Set both ways,
        // because a D101 copy brings its flags from another household.
        p.medical = lifted || rng.chance(0.97);
        p.serious = lifted || rng.chance(0.95);
    }
    let mut specific: Vec<&'static str> = Vec::with_capacity(4);
    if members
        .iter()
        .any(|p| matches!(p.health, "长期慢性病" | "患有大病"))
    {
        specific.push("因病");
    }
    if members.iter().any(|p| p.health == "残疾") {
        specific.push("因残");
    }
    if members.iter().any(Person::in_school) {
        specific.push("因学");
    }
    if labourers < 3 {
        specific.push("缺劳力");
    }
    let reason = if !specific.is_empty() && rng.chance(0.6) {
        rng.pick(&specific).unwrap_or("缺资金")
    } else {
        pick_str(rng, FREE_REASONS, "缺资金")
    };
    // L505: up to two other causes, none the main one.
    let mut other_reasons = String::new();
    for _ in 0..aux.below(3) {
        let r = pick_str(&mut aux, FREE_REASONS, "缺资金");
        if r != reason && !other_reasons.contains(r) {
            if !other_reasons.is_empty() {
                other_reasons.push('、');
            }
            other_reasons.push_str(r);
        }
    }
    let provincial = rng.chance(0.9);
    let exit_year = if lifted {
        let latest = as_of.year().clamp(2016, 2017);
        Some(if latest == 2017 && rng.chance(0.5) {
            2017
        } else {
            2016
        })
    } else {
        None
    };
    let stated_n = members.len() as u32 + stated_extra;
    // Per-capita target: clearly above the exit line once lifted (L302 compares this year's
    // income with the data year's line, at least the exit year's), a plausible poor household's
    // income otherwise (V303, L303).
    let target = match exit_year {
        Some(y) => {
            let line = u64::from(exit_line(provincial, y.max(as_of.year())));
            line + line * u64::from(rng.range(8, 60)) / 100
        }
        // L308: a poor household's income stays at or below this year's line.
        None => u64::from(rng.range(1500, 5000.min(data_year_cap(provincial, as_of.year())))),
    };
    let net = target * u64::from(stated_n);
    let expense = u64::from(rng.range(300, 3000));
    let gross = net + expense;
    let property = u64::from(rng.range(0, 300)).min(gross / 20);
    let transfer = if kind == 1 {
        u64::from(rng.range(1500, 4000))
    } else {
        u64::from(rng.range(200, 1500))
    }
    .min(gross * 2 / 5);
    let rest = gross - property - transfer;
    let wage = if members.iter().any(|p| !p.work.is_empty()) {
        rest * u64::from(rng.range(50, 80)) / 100
    } else {
        0
    };
    let business = rest - wage;
    // Allowances are part of the transfers; at least 100 yuan where paid (L608, L609).
    let allowance = |rng: &mut Rng| (transfer * u64::from(rng.range(50, 90)) / 100).max(100);
    let dibao_money = (kind == 1).then(|| allowance(&mut aux));
    let wubao_money = (kind == 2).then(|| allowance(&mut aux));
    // L610: a pension only where someone is 60 or over.
    let elders = members.iter().filter(|p| p.age >= 60).count() as u64;
    let pension_money =
        (elders > 0 && aux.chance(0.8)).then(|| elders * u64::from(aux.range(1000, 2000)));
    let per_capita_cents = (net * 200 + u64::from(stated_n)) / (2 * u64::from(stated_n).max(1));
    let danger = if !lifted && rng.chance(0.12) {
        Some(if rng.chance(0.6) { "C级" } else { "D级" })
    } else {
        None
    };
    let water_ok = lifted || rng.chance(0.92);
    let power = lifted || rng.chance(0.98);
    // A bijection on 9-digit tails keeps every household's mobile number unique (D103).
    let tail = (index.wrapping_mul(104_729).wrapping_add(7_654_321)) % 1_000_000_000;
    let phone = 10_000_000_000 + u64::from(rng.range(3, 9)) * 1_000_000_000 + tail;
    let (bank, prefix, len) = BANKS
        .get(rng.below(BANKS.len() as u64) as usize)
        .copied()
        .unwrap_or(("湛江农商银行", "621396", 19));
    let body_len = len as usize - prefix.len() - 1;
    let modulus = 10u64.pow(body_len as u32);
    let body = (index.wrapping_mul(1_000_003).wrapping_add(12_345)) % modulus;
    let mut card = String::with_capacity(len as usize);
    card.push_str(prefix);
    card.push_str(&format!("{body:0body_len$}"));
    let check = luhn_digit(card.as_bytes());
    card.push(char::from(check));
    Household {
        town,
        village,
        hamlet,
        number: 4_408_110_000_000_000 + index + 1,
        stated_n,
        provincial,
        attr,
        reason,
        lifted,
        exit_year,
        wage,
        business,
        property,
        transfer,
        expense,
        per_capita_cents,
        danger,
        water_safe: water_ok,
        water_hard: !water_ok,
        power,
        area_tenths: rng.range(400, 1800),
        phone,
        bank,
        card,
        unit: pick_str(rng, UNITS, "区教育局"),
        helper: helper_name(rng, &mut aux, &members),
        other_reasons,
        dibao_money,
        wubao_money,
        pension_money,
        members,
    }
}

/// L209: the helper is never a member of the household (a clash is redrawn from `aux`).
fn helper_name(rng: &mut Rng, aux: &mut Rng, members: &[Person]) -> String {
    let mut n = name(rng, None);
    while members.iter().any(|p| p.name == n) {
        n = name(aux, None);
    }
    n
}

/// The highest per-capita income an unlifted household may have in the data year: the exit
/// line of the default schema for that year (2800 is its lowest national line, 2014).
fn data_year_cap(provincial: bool, year: i32) -> u32 {
    if year <= 2016 {
        if provincial { 6433 } else { 2800 }
    } else {
        exit_line(provincial, year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_public_vectors() {
        for v in [
            "360426199101010071",
            "350303199002033073",
            "33050219880702447X",
            "34052419800101001X",
        ] {
            let b = v.as_bytes();
            assert_eq!(id_check(&b[..17]), b[17], "{v}");
        }
        assert_ne!(id_check(&b"440308199901101513"[..17]), b'3');
    }

    #[test]
    fn luhn_digit_completes_a_known_number() {
        // 79927398713 is the textbook Luhn example.
        assert_eq!(luhn_digit(b"7992739871"), b'3');
        assert_ne!(luhn_digit(b"7992739871"), b'4');
    }

    #[test]
    fn ids_are_unique_and_valid() {
        let mut ids = IdAlloc::default();
        let d = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in 0..1200 {
            let id = ids.alloc(HOME_REGION, d, i % 2 == 0, false);
            assert_eq!(id_check(&id[..17]), id[17]);
            let male = (id[16] - b'0') % 2 == 1;
            assert_eq!(male, i % 2 == 0);
            assert!(seen.insert(id));
        }
        let x = ids.alloc(HOME_REGION, d, true, true);
        assert_eq!(x[17], b'X');
    }

    #[test]
    fn age_counts_completed_years() {
        let as_of = NaiveDate::from_ymd_opt(2017, 12, 31).unwrap();
        assert_eq!(
            age_at(NaiveDate::from_ymd_opt(2007, 12, 31).unwrap(), as_of),
            10
        );
        assert_eq!(
            age_at(NaiveDate::from_ymd_opt(2008, 1, 1).unwrap(), as_of),
            9
        );
    }
}
