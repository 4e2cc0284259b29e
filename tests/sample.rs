//! Tests of the synthetic sample generator: determinism, household consistency (re-checked here
//! by an independent mini-validator of the rules.md definitions the generator must respect), the
//! manifest pointing exactly at what fires, and CSV/xlsx carrying the same content.

use std::collections::{BTreeSet, HashMap, HashSet};

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{Datelike, NaiveDate};
use povcheck::sample::{COLUMNS, HEADER_ROWS, Manifest, SampleOptions, generate_csv, write_xlsx};

fn opts(rows: u32, error_rate: f64, seed: u64) -> SampleOptions {
    SampleOptions {
        rows,
        error_rate,
        seed,
        ..SampleOptions::default()
    }
}

fn csv_bytes(o: &SampleOptions) -> (Vec<u8>, Manifest) {
    let mut out = Vec::new();
    let m = generate_csv(o, &mut out).expect("generate");
    (out, m)
}

/// (spreadsheet row, fields) of every person row; asserts the title/header layout on the way.
fn parse(bytes: &[u8]) -> Vec<(u32, Vec<String>)> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let text = text.strip_prefix('\u{feff}').expect("BOM");
    assert!(!text.contains('"'), "the generator never needs quoting");
    let mut lines = text.lines();
    let title = lines.next().unwrap();
    assert!(title.starts_with("湛江市麻章区建档立卡贫困人口信息表,"));
    assert!(lines.next().unwrap().starts_with("导出时间：2017-12-31,"));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header, COLUMNS.to_vec());
    lines
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<String> = l.split(',').map(str::to_string).collect();
            assert_eq!(f.len(), COLUMNS.len(), "line {}", i + 4);
            (HEADER_ROWS + 1 + i as u32, f)
        })
        .collect()
}

type Rows = Vec<(u32, Vec<String>)>;

fn col(name: &str) -> usize {
    COLUMNS.iter().position(|c| *c == name).expect(name)
}

// ---------------------------------------------------------------------------------------------
// An independent mini-validator: the rules.md rules the generator's households touch.
// ---------------------------------------------------------------------------------------------

const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

fn check_char(id: &str) -> char {
    let s: u32 = id
        .bytes()
        .take(17)
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    "10X98765432".chars().nth((s % 11) as usize).unwrap()
}

fn luhn_ok(s: &str) -> bool {
    let mut sum = 0;
    for (i, c) in s.bytes().rev().enumerate() {
        let mut v = u32::from(c - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn age(birth: NaiveDate, as_of: NaiveDate) -> i32 {
    let mut y = as_of.year() - birth.year();
    if (as_of.month(), as_of.day()) < (birth.month(), birth.day()) {
        y -= 1;
    }
    y
}

struct Id {
    usable: bool,
    birth: Option<NaiveDate>,
    male: Option<bool>,
    norm: String,
}

/// ID checks with the overlaps of rules.md: V105 silences the other checks of that ID.
fn id_checks(raw: &str, row: u32, out: &mut BTreeSet<(u32, String)>) -> Id {
    let mut f = |c: &str| {
        out.insert((row, c.to_string()));
    };
    let none = Id {
        usable: false,
        birth: None,
        male: None,
        norm: String::new(),
    };
    if raw.is_empty() {
        return none;
    }
    if raw.contains("E+") {
        f("V105");
        return none;
    }
    let mut norm = raw.to_string();
    // A lower-case x, also before a 残疾人证 suffix.
    if norm.contains('x') {
        f("V106");
        norm = norm.to_uppercase();
    }
    // A 20/22-character 残疾人证 number is the 18-digit ID, category 1–7, grade 1–4 and B1–B9.
    let suffix_ok = match norm.len() {
        18 => true,
        20 | 22 => {
            let t = &norm.as_bytes()[18..];
            (b'1'..=b'7').contains(&t[0])
                && (b'1'..=b'4').contains(&t[1])
                && (t.len() == 2 || (t[2] == b'B' && (b'1'..=b'9').contains(&t[3])))
        }
        _ => false,
    };
    let b = norm.as_bytes();
    let well_formed = suffix_ok
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X');
    if !well_formed {
        f("V101");
        return none;
    }
    let birth = NaiveDate::parse_from_str(&norm[6..14], "%Y%m%d").ok();
    if birth.is_none() {
        f("V103");
    }
    if check_char(&norm[..18]) != char::from(b[17]) {
        f("V102");
    }
    if !["440811", "440802", "440803", "440804", "440823"].contains(&&norm[..6]) {
        f("V104");
    }
    let male = Some((b[16] - b'0') % 2 == 1);
    Id {
        usable: birth.is_some(),
        birth,
        male: birth.and(male),
        norm,
    }
}

const HOUSEHOLD_FIELDS: &[&str] = &[
    "人数",
    "贫困户属性",
    "脱贫属性",
    "脱贫年度",
    "主要致贫原因",
    "识别标准",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
    "人均纯收入",
    "是否危房户",
    "危房级别",
    "饮水是否安全",
    "饮水是否困难",
    "是否通生活用电",
    "住房面积",
    "联系电话",
    "开户银行",
    "银行卡号",
    "帮扶单位",
    "其他致贫原因",
    "低保金",
    "五保金",
    "养老金",
];

fn code_list(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "性别" => &["男", "女"],
        "与户主关系" => &[
            "户主",
            "配偶",
            "之子",
            "之女",
            "之儿媳",
            "之女婿",
            "之孙子",
            "之孙女",
            "之父",
            "之母",
        ],
        "民族" => &["汉族", "壮族", "瑶族", "黎族", "畲族", "回族"],
        "文化程度" => &[
            "文盲或半文盲",
            "小学",
            "初中",
            "高中",
            "大专及以上",
            "学龄前儿童",
        ],
        "在校生状况" => &[
            "非在校生",
            "学前教育",
            "小学",
            "七年级",
            "八年级",
            "九年级",
            "高中一年级",
            "高中二年级",
            "高中三年级",
            "中职一年级",
            "中职二年级",
            "中职三年级",
            "高职一年级",
            "高职二年级",
            "高职三年级",
            "大专及以上",
        ],
        "健康状况" => &["健康", "长期慢性病", "患有大病", "残疾"],
        "劳动技能" => &["普通劳动力", "技能劳动力", "丧失劳动力", "无劳动力"],
        "务工状况" => &[
            "",
            "乡（镇）内务工",
            "乡（镇）外县内务工",
            "县外省内务工",
            "省外务工",
        ],
        "识别标准" => &["国家标准", "省定标准"],
        "贫困户属性" => &[
            "一般贫困户",
            "低保贫困户",
            "特困供养贫困户",
            "一般农户",
            "低保户",
            "特困供养户",
        ],
        "脱贫属性" => &[
            "未脱贫",
            "已脱贫",
            "已脱贫（享受政策）",
            "已脱贫（不再享受政策）",
        ],
        "主要致贫原因" => &[
            "因病",
            "因残",
            "因学",
            "因灾",
            "缺土地",
            "缺水",
            "缺技术",
            "缺劳力",
            "缺资金",
            "交通条件落后",
            "自身发展动力不足",
            "其他",
        ],
        "危房级别" => &["", "C级", "D级"],
        "是否参加城乡居民基本医疗保险"
        | "是否参加大病保险"
        | "是否参加城乡居民基本养老保险"
        | "是否享受低保"
        | "是否享受五保"
        | "是否参加城镇职工基本医疗保险"
        | "是否现役军人"
        | "是否危房户"
        | "饮水是否安全"
        | "饮水是否困难"
        | "是否通生活用电" => &["是", "否"],
        _ => return None,
    })
}

/// Every (row, code) the rules.md rules give for these rows (error and warning alike).
fn validate(rows: &[(u32, Vec<String>)], as_of: NaiveDate) -> BTreeSet<(u32, String)> {
    let mut out = BTreeSet::new();
    let g = |r: &Vec<String>, name: &str| r[col(name)].clone();
    // Households in order, anchor = first 户主 row.
    let mut order: Vec<String> = Vec::new();
    let mut members: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, r)) in rows.iter().enumerate() {
        let k = g(r, "户编号");
        if !members.contains_key(&k) {
            order.push(k.clone());
        }
        members.entry(k).or_default().push(i);
    }
    let anchor_of = |k: &str| -> u32 {
        let m = &members[k];
        let i = m
            .iter()
            .copied()
            .find(|&i| rows[i].1[col("与户主关系")] == "户主")
            .unwrap_or(m[0]);
        rows[i].0
    };
    let mut ages: Vec<Option<i32>> = vec![None; rows.len()];
    let mut births: Vec<Option<NaiveDate>> = vec![None; rows.len()];
    let mut ids: Vec<Option<String>> = vec![None; rows.len()];
    // Canonical values (None = blank or not in the list).
    let canon = |r: &Vec<String>, f: &str| -> Option<String> {
        let v = g(r, f);
        let list = code_list(f)?;
        if v.is_empty() || !list.contains(&v.as_str()) {
            return None;
        }
        Some(if v.starts_with("已脱贫") {
            "已脱贫".into()
        } else {
            v
        })
    };
    for (i, (row, r)) in rows.iter().enumerate() {
        let row = *row;
        let hh_anchor = anchor_of(&g(r, "户编号"));
        let id = id_checks(&g(r, "证件号码"), row, &mut out);
        let mut push = |c: &str, on_household: bool| {
            out.insert((if on_household { hh_anchor } else { row }, c.to_string()));
        };
        for f in [
            "乡(镇)",
            "行政村",
            "户编号",
            "姓名",
            "证件号码",
            "性别",
            "与户主关系",
            "民族",
            "健康状况",
            "劳动技能",
            "人数",
            "贫困户属性",
            "主要致贫原因",
            "脱贫属性",
            "识别标准",
        ] {
            if g(r, f).is_empty() {
                push("C101", HOUSEHOLD_FIELDS.contains(&f));
            }
        }
        for f in COLUMNS {
            if let Some(list) = code_list(f) {
                let v = g(r, f);
                if !v.is_empty() && !list.contains(&v.as_str()) {
                    push("V201", HOUSEHOLD_FIELDS.contains(&f));
                }
            }
        }
        for f in [
            "人数",
            "务工时间（月）",
            "脱贫年度",
            "工资性收入",
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
            "人均纯收入",
            "住房面积",
            "低保金",
            "五保金",
            "养老金",
        ] {
            let v = g(r, f);
            if v.is_empty() {
                continue;
            }
            let hh = HOUSEHOLD_FIELDS.contains(&f);
            match v.parse::<f64>() {
                Err(_) => push("V301", hh),
                Ok(x) => {
                    let ok = match f {
                        "人数" => (1.0..=20.0).contains(&x),
                        "务工时间（月）" => (0.0..=12.0).contains(&x),
                        "脱贫年度" => (2014.0..=2020.0).contains(&x),
                        _ => x >= 0.0,
                    };
                    if !ok {
                        push("V302", hh);
                    } else if (f == "人均纯收入" && (x <= 500.0 || x > 30000.0))
                        || (f == "人数" && x >= 10.0)
                        || (f == "住房面积" && x >= 500.0)
                    {
                        push("V303", hh);
                    }
                }
            }
        }
        let phone = g(r, "联系电话");
        let pb = phone.as_bytes();
        // A blank phone or card is not invalid (C113 / C114 are about blanks).
        let phone_ok = pb.len() == 11
            && pb[0] == b'1'
            && (b'3'..=b'9').contains(&pb[1])
            && pb.iter().all(u8::is_ascii_digit);
        if !phone.is_empty() && !phone_ok {
            push("V501", true);
        }
        let card = g(r, "银行卡号");
        let card_ok = (16..=19).contains(&card.len())
            && card.bytes().all(|b| b.is_ascii_digit())
            && luhn_ok(&card);
        if !card.is_empty() && !card_ok {
            push("V502", true);
        }
        let birth_col = NaiveDate::parse_from_str(&g(r, "出生日期"), "%Y-%m-%d").ok();
        if id.usable {
            ids[i] = Some(id.norm[..18].to_string());
            if birth_col.is_some() && birth_col != id.birth {
                push("L102", false);
            }
            let sex = g(r, "性别");
            if let Some(m) = id.male
                && sex != if m { "男" } else { "女" }
            {
                push("L101", false);
            }
        }
        let birth = if id.usable { id.birth } else { birth_col };
        births[i] = birth;
        let a = birth.map(|b| age(b, as_of));
        ages[i] = a;
        let rel = g(r, "与户主关系");
        let male_rel = ["之子", "之女婿", "之孙子", "之父"];
        let female_rel = ["之女", "之儿媳", "之孙女", "之母"];
        let sex = g(r, "性别");
        if (male_rel.contains(&rel.as_str()) && sex != "男")
            || (female_rel.contains(&rel.as_str()) && sex != "女")
        {
            push("L103", false);
        }
        let school = canon(r, "在校生状况");
        let edu = canon(r, "文化程度");
        let health = canon(r, "健康状况");
        let labour = canon(r, "劳动技能");
        let working = !g(r, "务工状况").is_empty();
        let months: Option<f64> = g(r, "务工时间（月）")
            .parse()
            .ok()
            .filter(|m| (0.0..=12.0).contains(m));
        let months_raw = g(r, "务工时间（月）");
        if g(r, "文化程度").is_empty() && g(r, "在校生状况").is_empty() {
            push("C102", false);
        }
        let not_in_school = g(r, "在校生状况").is_empty() || school.as_deref() == Some("非在校生");
        let in_school = school
            .as_deref()
            .is_some_and(|s| !matches!(s, "非在校生" | "学前教育"));
        let is_labour = labour
            .as_deref()
            .is_some_and(|l| matches!(l, "普通劳动力" | "技能劳动力"));
        let no_labour = labour
            .as_deref()
            .is_some_and(|l| matches!(l, "丧失劳动力" | "无劳动力"));
        if let Some(a) = a {
            if not_in_school
                && a >= 6
                && g(r, "文化程度").is_empty()
                && !g(r, "在校生状况").is_empty()
            {
                push("C103", false);
            }
            if a > 110 {
                push("L104", false);
            }
            // Catalogue v2: 7–15; 残疾 / 患有大病 and a finished 初中 or higher are exempt.
            if (7..=15).contains(&a)
                && !matches!(health.as_deref(), Some("残疾" | "患有大病"))
                && !matches!(edu.as_deref(), Some("初中" | "高中" | "大专及以上"))
                && not_in_school
            {
                push("L111", false);
            }
            if (6..=22).contains(&a)
                && !g(r, "文化程度").is_empty()
                && g(r, "在校生状况").is_empty()
            {
                push("C109", false);
            }
            if (16..=22).contains(&a)
                && !matches!(health.as_deref(), Some("残疾" | "患有大病"))
                && matches!(edu.as_deref(), Some("文盲或半文盲" | "小学"))
            {
                push("L114", false);
            }
            if (16..=59).contains(&a)
                && !in_school
                && matches!(health.as_deref(), Some("长期慢性病" | "患有大病" | "残疾"))
                && labour.as_deref() == Some("无劳动力")
            {
                push("L127", false);
            }
            if in_school && a >= 16 && (working || months.is_some_and(|m| m > 0.0)) {
                push("L129", false);
            }
            if let Some(s) = school.as_deref() {
                let bad = match s {
                    "小学" => !(5..=15).contains(&a),
                    "七年级" | "八年级" | "九年级" => !(10..=18).contains(&a),
                    s if s.starts_with("高中") || s.starts_with("中职") => {
                        !(13..=22).contains(&a)
                    }
                    "学前教育" => a >= 8,
                    s if s.starts_with("高职") || s == "大专及以上" => a < 15,
                    _ => false,
                } || (in_school && a > 30);
                if bad {
                    push("L112", false);
                }
            }
            if let Some(e) = edu.as_deref()
                && ((e == "学龄前儿童" && a >= 8)
                    || (e == "高中" && a < 14)
                    || (e == "大专及以上" && a < 18))
            {
                push("L113", false);
            }
            if a < 16 && is_labour {
                push("L121", false);
            }
            if a < 16 && (working || months.is_some_and(|m| m > 0.0)) {
                push("L122", false);
            }
            if (16..=59).contains(&a)
                && health.as_deref() == Some("健康")
                && not_in_school
                && no_labour
            {
                push("L125", false);
            }
        }
        if no_labour && (working || months.is_some_and(|m| m > 0.0)) {
            push("L123", false);
        }
        if (months.is_some_and(|m| m > 0.0) && !working)
            || (working && (months_raw.is_empty() || months == Some(0.0)))
        {
            push("L124", false);
        }
        let lifted = canon(r, "脱贫属性").as_deref() == Some("已脱贫");
        if lifted && g(r, "脱贫年度").is_empty() {
            push("C104", true);
        }
        if g(r, "是否危房户") == "是" && g(r, "危房级别").is_empty() {
            push("C105", true);
        }
        for f in [
            "是否参加城乡居民基本医疗保险",
            "是否参加大病保险",
            "是否参加城乡居民基本养老保险",
        ] {
            if g(r, f).is_empty() {
                push("C106", false);
            }
        }
        if g(r, "是否享受低保").is_empty() {
            push("C107", false);
        }
        if g(r, "是否现役军人").is_empty() {
            push("C108", false);
        }
        if health.as_deref() == Some("健康") && labour.as_deref() == Some("丧失劳动力") {
            push("L126", false);
        }
        // V108, L131–L133: the document type and the 残疾人证 number.
        let raw_id = g(r, "证件号码");
        let id_type = g(r, "证件类型");
        let card = id.usable && matches!(raw_id.len(), 20 | 22);
        if id.usable && ((id_type == "居民身份证" && card) || (id_type == "残疾人证" && !card))
        {
            push("V108", false);
        }
        if id.usable && health.as_deref() == Some("残疾") && id_type != "残疾人证" && !card {
            push("L131", false);
        }
        if health.as_deref() == Some("健康") && (id_type == "残疾人证" || card) {
            push("L132", false);
        }
        if card && matches!(raw_id.as_bytes()[19], b'1' | b'2') && is_labour {
            push("L133", false);
        }
        if g(r, "是否享受低保") == "是" && g(r, "是否享受五保") == "是" {
            push("L606", false);
        }
    }
    // Households.
    let mut phones: HashMap<String, HashSet<String>> = HashMap::new();
    let mut d102 = Vec::new();
    for k in &order {
        let m = &members[k];
        let anchor = anchor_of(k);
        let mut push = |c: &str| {
            out.insert((anchor, c.to_string()));
        };
        let first = &rows[m[0]].1;
        let heads: Vec<usize> = m
            .iter()
            .copied()
            .filter(|&i| rows[i].1[col("与户主关系")] == "户主")
            .collect();
        match heads.len() {
            0 => push("L201"),
            1 => {}
            _ => push("L202"),
        }
        if let Ok(n) = first[col("人数")].parse::<f64>()
            && n as usize != m.len()
        {
            push("L203");
        }
        for f in HOUSEHOLD_FIELDS {
            let vals: HashSet<&str> = m
                .iter()
                .map(|&i| rows[i].1[col(f)].as_str())
                .filter(|v| !v.is_empty())
                .collect();
            if vals.len() > 1 {
                push("L204");
            }
        }
        for &i in &m[1..] {
            if rows[i].1[col("乡(镇)")] != first[col("乡(镇)")]
                || rows[i].1[col("行政村")] != first[col("行政村")]
            {
                d102.push(rows[i].0);
            }
        }
        if let Some(&h) = heads.first() {
            let hs = &rows[h].1[col("性别")];
            for &i in m {
                let r = &rows[i].1;
                if r[col("与户主关系")] == "配偶" && &r[col("性别")] == hs {
                    push("L205");
                }
                if let (Some(hb), Some(b)) = (births[h], births[i]) {
                    let rel = r[col("与户主关系")].as_str();
                    if matches!(rel, "之子" | "之女") && (b < hb || age(hb, b) < 12) {
                        push("L207");
                    }
                    if matches!(rel, "之父" | "之母") && (b > hb || age(b, hb) < 12) {
                        push("L207");
                    }
                }
            }
            if ages[h].is_some_and(|a| a < 16) {
                push("L206");
            }
        }
        let canon_h = |f: &str| -> Option<String> {
            let v = first[col(f)].clone();
            let list = code_list(f)?;
            if !list.contains(&v.as_str()) || v.is_empty() {
                return None;
            }
            Some(if v.starts_with("已脱贫") {
                "已脱贫".into()
            } else {
                v
            })
        };
        let num = |f: &str| first[col(f)].parse::<f64>().ok().filter(|x| *x >= 0.0);
        let status = canon_h("脱贫属性");
        let lifted = status.as_deref() == Some("已脱贫");
        let unlifted = status.as_deref() == Some("未脱贫");
        let pc = num("人均纯收入");
        let n = num("人数").filter(|n| (1.0..=20.0).contains(n));
        if let (Some(w), Some(b), Some(p), Some(t), Some(e), Some(n), Some(pc)) = (
            num("工资性收入"),
            num("生产经营性收入"),
            num("财产性收入"),
            num("转移性收入"),
            num("生产经营性支出"),
            n,
            pc,
        ) {
            let calc = (w + b + p + t - e) / n;
            if (pc - calc).abs() > 1f64.max(calc.abs() * 0.01) {
                push("L301");
            }
        }
        let labour_count = m
            .iter()
            .filter(|&&i| {
                matches!(
                    rows[i].1[col("劳动技能")].as_str(),
                    "普通劳动力" | "技能劳动力"
                )
            })
            .count();
        // Catalogue v2: every lifted household, against the data year's line (as_of 2017).
        let standard = canon_h("识别标准");
        if lifted {
            let line = match standard.as_deref() {
                Some("省定标准") => Some(6883.0),
                Some("国家标准") => Some(3335.0),
                _ => None,
            };
            if let (Some(l), Some(pc)) = (line, pc)
                && pc < l
            {
                push("L302");
            }
        }
        let blank_all = |f: &str| m.iter().all(|&i| rows[i].1[col(f)].is_empty());
        if blank_all("人均纯收入") {
            push("C111");
        }
        if [
            "工资性收入",
            "生产经营性收入",
            "财产性收入",
            "转移性收入",
            "生产经营性支出",
        ]
        .iter()
        .any(|f| blank_all(f))
        {
            push("C112");
        }
        if blank_all("联系电话") {
            push("C113");
        }
        if blank_all("银行卡号") || blank_all("开户银行") {
            push("C114");
        }
        if unlifted && blank_all("帮扶责任人") {
            push("C115");
        }
        if ["工资性收入", "生产经营性收入"]
            .iter()
            .any(|f| num(f).is_some_and(|x| x > 0.0 && x < 100.0))
        {
            push("V304");
        }
        if lifted && num("住房面积").is_some_and(|a| a < 10.0) {
            push("V305");
        }
        if unlifted && pc.is_some_and(|p| p > 20000.0) {
            push("L303");
        }
        let attr = canon_h("贫困户属性");
        let post = attr
            .as_deref()
            .is_some_and(|a| matches!(a, "一般农户" | "低保户" | "特困供养户"));
        let pre = attr.as_deref().is_some_and(|a| a.ends_with("贫困户"));
        if (unlifted && post) || (lifted && pre) {
            push("L304");
        }
        let any = |f: &dyn Fn(usize) -> bool| m.iter().any(|&i| f(i));
        let cell = |i: usize, f: &str| rows[i].1[col(f)].clone();
        if lifted {
            if first[col("是否危房户")] == "是" {
                push("L401");
            }
            if first[col("饮水是否安全")] == "否" || first[col("饮水是否困难")] == "是"
            {
                push("L402");
            }
            if any(&|i| {
                ages[i].is_some_and(|a| (7..=15).contains(&a))
                    && !matches!(cell(i, "健康状况").as_str(), "残疾" | "患有大病")
                    && !matches!(cell(i, "文化程度").as_str(), "初中" | "高中" | "大专及以上")
                    && matches!(cell(i, "在校生状况").as_str(), "非在校生" | "")
            }) {
                push("L403");
            }
            if any(&|i| {
                cell(i, "是否参加城乡居民基本医疗保险") == "否"
                    && cell(i, "是否参加城镇职工基本医疗保险") != "是"
            }) {
                push("L404");
            }
            if any(&|i| cell(i, "是否参加大病保险") == "否") {
                push("L406");
            }
            if first[col("是否通生活用电")] == "否" {
                push("L405");
            }
        }
        let in_school = |i: usize| {
            code_list("在校生状况")
                .unwrap()
                .contains(&cell(i, "在校生状况").as_str())
                && !matches!(cell(i, "在校生状况").as_str(), "非在校生" | "学前教育")
        };
        // Catalogue v2: a lifted household's cause is history (L502 still applies to all).
        match canon_h("主要致贫原因")
            .as_deref()
            .filter(|r| unlifted || *r == "因残")
        {
            Some("因病")
                if !any(&|i| matches!(cell(i, "健康状况").as_str(), "长期慢性病" | "患有大病")) =>
            {
                push("L501")
            }
            Some("因残") if !any(&|i| cell(i, "健康状况") == "残疾") => push("L502"),
            Some("因学") if !any(&in_school) => push("L503"),
            Some("缺劳力") if labour_count >= 3 => push("L504"),
            _ => {}
        }
        let dibao = any(&|i| cell(i, "是否享受低保") == "是");
        match attr.as_deref() {
            Some("低保贫困户" | "低保户") if !dibao => push("L601"),
            Some("一般贫困户" | "一般农户") if dibao => push("L602"),
            Some("特困供养贫困户" | "特困供养户")
                if any(&|i| {
                    ages[i].is_some_and(|a| (16..=59).contains(&a))
                        && cell(i, "健康状况") == "健康"
                        && matches!(cell(i, "劳动技能").as_str(), "普通劳动力" | "技能劳动力")
                }) =>
            {
                push("L603")
            }
            _ => {}
        }
        // Catalogue v2 household rules.
        if m.iter()
            .filter(|&&i| cell(i, "与户主关系") == "配偶")
            .count()
            > 1
        {
            push("L208");
        }
        if any(&|i| {
            let helper = cell(i, "帮扶责任人");
            !helper.is_empty() && m.iter().any(|&j| cell(j, "姓名") == helper)
        }) {
            push("L209");
        }
        let months_of = |i: usize| {
            cell(i, "务工时间（月）")
                .parse::<f64>()
                .ok()
                .filter(|m| (0.0..=12.0).contains(m))
                .unwrap_or(0.0)
        };
        let works = |i: usize| !cell(i, "务工状况").is_empty() || months_of(i) > 0.0;
        let blank_or_at_most =
            |f: &str, limit: f64| first[col(f)].is_empty() || num(f).is_some_and(|x| x <= limit);
        if num("工资性收入").is_some_and(|w| w > 0.0) && !any(&works) {
            push("L305");
        }
        if any(&|i| months_of(i) > 0.0) && blank_or_at_most("工资性收入", 100.0) {
            push("L306");
        }
        if num("生产经营性收入").is_some_and(|b| b > 0.0) && blank_or_at_most("生产经营性支出", 0.0)
        {
            push("L307");
        }
        let reason = canon_h("主要致贫原因");
        let year_line = if standard.as_deref() == Some("省定标准") {
            6883.0
        } else {
            3335.0
        };
        if attr.as_deref() == Some("一般贫困户")
            && (unlifted || status.as_deref() == Some("返贫"))
            && reason
                .as_deref()
                .is_some_and(|r| !matches!(r, "因病" | "因学" | "因残"))
            && pc.is_some_and(|p| p > year_line)
        {
            push("L308");
        }
        let others: Vec<&str> = first[col("其他致贫原因")]
            .split(['、', ',', '，', ';', '；', '/', ' '])
            .filter(|s| !s.is_empty())
            .collect();
        let causes = code_list("主要致贫原因").unwrap();
        if others.len() > 2
            || others
                .iter()
                .any(|o| !causes.contains(o) || reason.as_deref() == Some(*o))
        {
            push("L505");
        }
        let tekun = attr
            .as_deref()
            .is_some_and(|a| matches!(a, "特困供养贫困户" | "特困供养户"));
        let dibao_attr = attr
            .as_deref()
            .is_some_and(|a| matches!(a, "低保贫困户" | "低保户"));
        let wubao = any(&|i| cell(i, "是否享受五保") == "是");
        if m.iter()
            .all(|&i| matches!(cell(i, "劳动技能").as_str(), "无劳动力" | "丧失劳动力"))
            && !dibao
            && attr.is_some()
            && !tekun
        {
            push("L604");
        }
        if tekun && any(&works) {
            push("L605");
        }
        if tekun && !wubao {
            push("L607");
        }
        for (code, on, money) in [
            ("L608", dibao_attr || dibao, "低保金"),
            ("L609", tekun || wubao, "五保金"),
        ] {
            let paid = num(money).is_some_and(|x| x > 0.0);
            if (on && (first[col(money)].is_empty() || num(money).is_some_and(|x| x < 100.0)))
                || (!on && attr.is_some() && paid)
            {
                push(code);
            }
        }
        if num("养老金").is_some_and(|x| x > 0.0)
            && m.iter().all(|&i| ages[i].is_some_and(|a| a < 60))
        {
            push("L610");
        }
        if !first[col("联系电话")].is_empty() {
            phones
                .entry(first[col("联系电话")].clone())
                .or_default()
                .insert(k.clone());
        }
    }
    out.extend(d102.into_iter().map(|r| (r, "D102".to_string())));
    // Dataset: duplicates.
    let mut by_id: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = id {
            by_id.entry(id).or_default().push(rows[i].0);
        }
    }
    for rs in by_id.values().filter(|v| v.len() > 1) {
        for r in rs {
            out.insert((*r, "D101".into()));
        }
    }
    for (phone, hhs) in &phones {
        if hhs.len() > 1 {
            for k in hhs {
                for &i in &members[k] {
                    if &rows[i].1[col("联系电话")] == phone {
                        out.insert((rows[i].0, "D103".into()));
                    }
                }
            }
        }
    }
    out
}

fn expected(m: &Manifest) -> BTreeSet<(u32, String)> {
    m.rows.iter().map(|e| (e.row, e.code.clone())).collect()
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 12, 31).unwrap()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let (a, ma) = csv_bytes(&opts(2000, 0.2, 7));
    let (b, mb) = csv_bytes(&opts(2000, 0.2, 7));
    let (c, _) = csv_bytes(&opts(2000, 0.2, 8));
    assert!(a == b, "same seed must give byte-identical CSV");
    assert_eq!(ma, mb);
    assert!(a != c, "another seed must give another file");
}

#[test]
fn writes_exactly_the_requested_rows() {
    for n in [1, 2, 7, 301] {
        let (bytes, _) = csv_bytes(&opts(n, 0.5, 3));
        assert_eq!(parse(&bytes).len(), n as usize);
    }
}

#[test]
fn clean_households_break_no_rule() {
    for seed in 1..=3 {
        let (bytes, m) = csv_bytes(&opts(20_000, 0.0, seed));
        assert!(m.rows.is_empty());
        let rows = parse(&bytes);
        let found = validate(&rows, as_of());
        assert!(
            found.is_empty(),
            "seed {seed}: {:?}",
            found.iter().take(20).collect::<Vec<_>>()
        );
    }
}

#[test]
fn household_invariants_hold() {
    let (bytes, _) = csv_bytes(&opts(5_000, 0.0, 11));
    let rows = parse(&bytes);
    let mut hh: HashMap<&str, Vec<&Vec<String>>> = HashMap::new();
    let mut ids = HashSet::new();
    for (_, r) in &rows {
        hh.entry(r[col("户编号")].as_str()).or_default().push(r);
        let id = &r[col("证件号码")];
        assert_eq!(check_char(id), id.chars().nth(17).unwrap(), "{id}");
        assert!(ids.insert(id.clone()), "duplicate ID {id}");
    }
    let mut phones = HashSet::new();
    for (k, m) in &hh {
        assert_eq!(k.len(), 16);
        assert!((1..=7).contains(&m.len()));
        assert_eq!(
            m.iter().filter(|r| r[col("与户主关系")] == "户主").count(),
            1
        );
        assert_eq!(m[0][col("与户主关系")], "户主", "户主 comes first");
        assert_eq!(m[0][col("人数")], m.len().to_string());
        assert!(phones.insert(m[0][col("联系电话")].clone()));
        let n = m.len() as f64;
        let v = |f: &str| m[0][col(f)].parse::<f64>().unwrap();
        let calc = (v("工资性收入") + v("生产经营性收入") + v("财产性收入") + v("转移性收入")
            - v("生产经营性支出"))
            / n;
        assert!(((calc * 100.0).round() / 100.0 - v("人均纯收入")).abs() < 0.006);
        for r in m {
            let a = age(
                NaiveDate::parse_from_str(&r[col("出生日期")], "%Y-%m-%d").unwrap(),
                as_of(),
            );
            if (6..=15).contains(&a) {
                assert_ne!(r[col("在校生状况")], "非在校生");
            }
            if a < 16 {
                assert_eq!(r[col("劳动技能")], "无劳动力");
            }
        }
    }
    assert!(hh.len() > 1000);
}

#[test]
fn each_injected_error_fires_exactly_its_code() {
    for (rows, rate, seed) in [(6_000, 1.0, 5), (300, 0.1, 1), (20_000, 0.05, 9)] {
        let (bytes, m) = csv_bytes(&opts(rows, rate, seed));
        let parsed = parse(&bytes);
        let found = validate(&parsed, as_of());
        let want = expected(&m);
        let extra: Vec<_> = found.difference(&want).take(20).collect();
        let missing: Vec<_> = want.difference(&found).take(20).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "seed {seed}: noisy {extra:?}, missing {missing:?}"
        );
    }
}

#[test]
fn every_kind_is_injected_and_the_manifest_names_the_changed_cells() {
    let (bytes, m) = csv_bytes(&opts(3_000, 1.0, 2));
    let codes: BTreeSet<&str> = m.rows.iter().map(|e| e.code.as_str()).collect();
    for c in [
        "C101", "V102", "V103", "V105", "V106", "V201", "V301", "V302", "V501", "L101", "L111",
        "L121", "L202", "L203", "L301", "L401", "L503", "D101", "C107", "C108", "C109", "C111",
        "C112", "C113", "C114", "C115", "V304", "V305", "L114", "L126", "L127", "L129", "L132",
        "L133", "V108", "L131", "L208", "L209", "L305", "L306", "L307", "L308", "L406", "L505",
        "L604", "L605", "L606", "L607", "L608", "L609", "L610",
    ] {
        assert!(codes.contains(c), "{c} never injected");
    }
    let rows = parse(&bytes);
    let by_row: HashMap<u32, &Vec<String>> = rows.iter().map(|(n, r)| (*n, r)).collect();
    for e in &m.rows {
        let header = match e.column.as_str() {
            "乡镇" => "乡(镇)",
            "务工时间" => "务工时间（月）",
            c => c,
        };
        let r = by_row
            .get(&e.row)
            .unwrap_or_else(|| panic!("row {} absent", e.row));
        let v = &r[col(header)];
        let ok = match e.code.as_str() {
            "C101" => v.is_empty(),
            "V102" => check_char(v) != v.chars().nth(17).unwrap(),
            "V103" => &v[10..12] == "13",
            "V105" => v.contains("E+17"),
            "V106" => v.ends_with('x') || v.get(17..18) == Some("x"),
            "V201" => v == "初 中" || v == "已脱贫(享受政策)",
            "V301" => v.parse::<f64>().is_err(),
            "V302" => v == "13",
            "V501" => v.len() == 10,
            "L202" => v == "户主",
            "L203" => v.parse::<usize>().is_ok(),
            "L401" => v == "是",
            "L503" => v == "因学",
            "L111" => v == "非在校生",
            "L121" => v == "普通劳动力",
            "C107" | "C108" | "C109" | "C111" | "C112" | "C113" | "C114" | "C115" => v.is_empty(),
            "V304" => v == "50",
            "V305" => v == "8",
            "L114" => v == "小学",
            "L126" => v == "丧失劳动力",
            "L127" => v == "无劳动力",
            "L129" => v == "高中二年级",
            "L132" | "L133" => v.len() == 20,
            "V108" => v == "居民身份证",
            "L131" => v.len() == 18,
            "L209" => !v.is_empty() && rows.iter().any(|(_, o)| o[col("姓名")] == *v),
            "L305" => v.parse::<f64>().is_ok_and(|w| w > 0.0),
            "L306" | "L307" => v == "0",
            "L308" => v.parse::<f64>().is_ok_and(|p| p > 3335.0),
            "L505" => v.contains('、'),
            "L606" => v == "是",
            "L607" => v.starts_with("特困供养"),
            "L608" | "L609" => v.is_empty(),
            "L610" => v == "1200",
            _ => true,
        };
        assert!(ok, "{e:?} points at {v:?}");
    }
}

fn xlsx_rows(path: &std::path::Path) -> (Vec<Vec<Data>>, Vec<calamine::Dimensions>) {
    let mut wb: Xlsx<_> = open_workbook(path).expect("open xlsx");
    let range = wb.worksheet_range("Sheet1").expect("sheet");
    assert_eq!(range.start(), Some((0, 0)));
    let merges = wb.merge_cells_by_sheet_name("Sheet1").unwrap_or_default();
    (range.rows().map(<[Data]>::to_vec).collect(), merges)
}

fn text_of(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => i.to_string(),
        other => panic!("unexpected cell {other:?}"),
    }
}

#[test]
fn xlsx_and_csv_carry_the_same_content() {
    let o = opts(700, 0.3, 4);
    let (bytes, mc) = csv_bytes(&o);
    let csv = parse(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.xlsx");
    let mx = write_xlsx(&o, &path).unwrap();
    assert_eq!(mc, mx, "both formats inject the same errors");
    let (xrows, merges) = xlsx_rows(&path);
    assert!(merges.is_empty());
    assert_eq!(text_of(&xrows[0][0]), "湛江市麻章区建档立卡贫困人口信息表");
    assert_eq!(
        xrows[2].iter().map(text_of).collect::<Vec<_>>(),
        COLUMNS.to_vec()
    );
    let v105: HashSet<u32> = mc
        .rows
        .iter()
        .filter(|e| e.code == "V105")
        .map(|e| e.row)
        .collect();
    assert!(!v105.is_empty());
    let numeric: HashSet<usize> = ["人数", "脱贫年度", "工资性收入", "人均纯收入", "住房面积"]
        .iter()
        .map(|c| col(c))
        .collect();
    for (n, fields) in &csv {
        let x = &xrows[*n as usize - 1];
        for (c, f) in fields.iter().enumerate() {
            let d = x.get(c).unwrap_or(&Data::Empty);
            if c == col("证件号码") && v105.contains(n) {
                assert!(
                    matches!(d, Data::Float(v) if *v > 4e17),
                    "V105 is a numeric cell: {d:?}"
                );
                continue;
            }
            assert_eq!(&text_of(d), f, "row {n} column {}", COLUMNS[c]);
            if numeric.contains(&c) && f.parse::<f64>().is_ok() {
                assert!(
                    matches!(d, Data::Float(_)),
                    "row {n} {} should be a number",
                    COLUMNS[c]
                );
            }
            // A blank cell (C114's card) is empty, not text.
            if (c == col("证件号码") || c == col("户编号") || c == col("银行卡号")) && !f.is_empty()
            {
                assert!(
                    matches!(d, Data::String(_)),
                    "row {n} {} should be text",
                    COLUMNS[c]
                );
            }
        }
    }
}

#[test]
fn merged_xlsx_fills_down_to_the_plain_content() {
    let plain = opts(400, 0.2, 6);
    let merged = SampleOptions {
        merged: true,
        ..plain
    };
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (dir.path().join("a.xlsx"), dir.path().join("b.xlsx"));
    let m1 = write_xlsx(&plain, &p1).unwrap();
    let m2 = write_xlsx(&merged, &p2).unwrap();
    assert_eq!(m1, m2);
    let (a, _) = xlsx_rows(&p1);
    let (mut b, merges) = xlsx_rows(&p2);
    assert!(!merges.is_empty(), "households of 2+ rows are merged");
    for d in &merges {
        assert_eq!(d.start.1, d.end.1, "merges run down one column");
        assert!(d.start.0 >= HEADER_ROWS);
        let v = b[d.start.0 as usize][d.start.1 as usize].clone();
        for r in d.start.0 + 1..=d.end.0 {
            let cell = &mut b[r as usize][d.start.1 as usize];
            assert_eq!(*cell, Data::Empty, "member cells under a merge are blank");
            *cell = v.clone();
        }
    }
    let width = COLUMNS.len();
    for (r, (x, y)) in a.iter().zip(&b).enumerate() {
        for (c, name) in COLUMNS.iter().enumerate().take(width) {
            assert_eq!(
                x.get(c).map(text_of).unwrap_or_default(),
                y.get(c).map(text_of).unwrap_or_default(),
                "row {} col {}",
                r + 1,
                name
            );
        }
    }
}

#[test]
fn merged_csv_leaves_household_fields_blank_on_member_rows() {
    let (bytes, _) = csv_bytes(&SampleOptions {
        merged: true,
        ..opts(200, 0.0, 3)
    });
    let rows = parse(&bytes);
    let members: Vec<_> = rows
        .iter()
        .filter(|(_, r)| r[col("与户主关系")] != "户主")
        .collect();
    assert!(!members.is_empty());
    for (_, r) in members {
        assert!(r[col("人数")].is_empty() && r[col("联系电话")].is_empty());
        assert!(!r[col("户编号")].is_empty() && !r[col("证件号码")].is_empty());
    }
}

#[test]
fn bad_error_rate_is_refused() {
    let mut out = Vec::new();
    assert!(generate_csv(&opts(10, 1.5, 1), &mut out).is_err());
}

#[test]
fn speed_debug_build_100k_rows() {
    let t = std::time::Instant::now();
    let mut sink = std::io::sink();
    let m = generate_csv(&opts(100_000, 0.05, 1), &mut sink).unwrap();
    let e = t.elapsed();
    eprintln!("100k rows CSV: {e:?} ({} errors)", m.rows.len());
    // Generous bound: catches an accidental quadratic step, not a slow machine.
    assert!(e.as_secs() < 60);
}

/// The mini-validator itself must be able to fail: hand-made breaks of clean data are caught.
#[test]
fn validator_catches_hand_made_breaks() {
    let (bytes, _) = csv_bytes(&opts(3_000, 0.0, 12));
    let clean = parse(&bytes);
    assert!(validate(&clean, as_of()).is_empty());
    let break_with = |f: &dyn Fn(&mut Rows) -> u32, code: &str| {
        let mut rows = clean.clone();
        let row = f(&mut rows);
        let found = validate(&rows, as_of());
        assert!(
            found.contains(&(row, code.to_string())),
            "{code} not caught: {found:?}"
        );
    };
    // A member without medical insurance field.
    break_with(
        &|rows| {
            rows[5].1[col("是否参加大病保险")].clear();
            rows[5].0
        },
        "C106",
    );
    // A spouse of the head's sex.
    break_with(
        &|rows| {
            let i = rows
                .iter()
                .position(|(_, r)| r[col("与户主关系")] == "配偶")
                .unwrap();
            let head_sex = rows[i - 1].1[col("性别")].clone();
            rows[i].1[col("性别")] = head_sex;
            rows[i - 1].0
        },
        "L205",
    );
    // A lifted household without safe water, on all its rows.
    break_with(
        &|rows| {
            let i = rows
                .iter()
                .position(|(_, r)| r[col("脱贫属性")] == "已脱贫")
                .unwrap();
            let k = rows[i].1[col("户编号")].clone();
            for (_, r) in rows.iter_mut().filter(|(_, r)| r[col("户编号")] == k) {
                r[col("饮水是否安全")] = "否".into();
            }
            rows[i].0
        },
        "L402",
    );
    // A healthy working-age non-student without labour.
    break_with(
        &|rows| {
            let i = rows
                .iter()
                .position(|(_, r)| {
                    r[col("劳动技能")] == "普通劳动力"
                        && r[col("务工状况")].is_empty()
                        && r[col("出生日期")].as_str() > "1960"
                })
                .unwrap();
            rows[i].1[col("劳动技能")] = "无劳动力".into();
            rows[i].1[col("健康状况")] = "健康".into();
            rows[i].0
        },
        "L125",
    );
}

/// The committed samples are exactly what the generator writes (regenerate with the commands in
/// samples/README.md when the generator changes).
#[test]
fn committed_samples_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for (name, rate) in [("sample", 0.1), ("all-kinds", 0.8)] {
        let o = opts(300, rate, 1);
        let (bytes, m) = csv_bytes(&o);
        let committed = std::fs::read(dir.join(format!("{name}.csv"))).unwrap();
        assert!(committed == bytes, "samples/{name}.csv is stale");
        let mut manifest = Vec::new();
        m.write_csv(&mut manifest).unwrap();
        let committed = std::fs::read(dir.join(format!("{name}.expected.csv"))).unwrap();
        assert!(
            committed == manifest,
            "samples/{name}.expected.csv is stale"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        for e in &m.rows {
            let line = format!("| {} | {} | {} |", e.row, e.column, e.code);
            assert!(readme.contains(&line), "README lacks {line}");
        }
        let (xrows, _) = xlsx_rows(&dir.join(format!("{name}.xlsx")));
        let csv = parse(&bytes);
        assert_eq!(xrows.len(), csv.len() + HEADER_ROWS as usize);
        for (n, fields) in &csv {
            let x = &xrows[*n as usize - 1];
            assert_eq!(text_of(&x[col("姓名")]), fields[col("姓名")]);
        }
    }
    let (_, merges) = xlsx_rows(&dir.join("sample-merged.xlsx"));
    assert!(!merges.is_empty());
}

#[test]
fn cli_writes_the_file_and_its_manifest_and_refuses_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_povcheck"))
            .arg("sample")
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--rows",
        "120",
        "--error-rate",
        "0.5",
        "--seed",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let (bytes, m) = csv_bytes(&opts(120, 0.5, 3));
    assert!(
        std::fs::read(&out).unwrap() == bytes,
        "CLI and library agree"
    );
    let mut manifest = Vec::new();
    m.write_csv(&mut manifest).unwrap();
    assert!(std::fs::read(dir.path().join("x.expected.csv")).unwrap() == manifest);
    let bad = run(&["--error-rate", "2", "-o", out.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = run(&["--as-of", "2017-13-01", "-o", out.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    let nowhere = dir.path().join("no/such/dir/x.xlsx");
    let bad = run(&["-o", nowhere.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(!bad.stderr.is_empty());
}

#[test]
fn manifest_markdown_lists_every_row() {
    let (_, m) = csv_bytes(&opts(600, 0.5, 2));
    let md = m.markdown();
    assert_eq!(md.lines().count(), m.rows.len() + 2);
    assert!(md.starts_with("| row | column | code | description |"));
}
