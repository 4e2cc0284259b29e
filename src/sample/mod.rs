//! Seeded synthetic exports (fictitious people only) for samples, tests and benchmarks.
//!
//! Writes the national one-row-per-person layout (title row, export-time row, header, members with
//! household fields repeated) as CSV or xlsx, with errors injected into a chosen fraction of
//! households and listed in a manifest. Invariants: the same options give a byte-identical CSV;
//! a household without an injected error breaks no rule of rules.md; each injected error triggers
//! exactly the code recorded for it.

mod inject;
mod people;
mod write;

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};

use inject::{CHINESE_NUMERALS, IdDamage, KINDS, Kind};
use people::{Household, IdAlloc, Person, Rng};

/// Header cells of the export, in order.
///
/// The first 47 are the 2016–2019 national layout; the v2 columns follow at the end, so every
/// earlier column keeps its letter.
pub const COLUMNS: [&str; 54] = [
    "市",
    "县(市、区)",
    "乡(镇)",
    "行政村",
    "自然村",
    "户编号",
    "人编号",
    "姓名",
    "证件号码",
    "人数",
    "与户主关系",
    "性别",
    "民族",
    "出生日期",
    "文化程度",
    "在校生状况",
    "健康状况",
    "劳动技能",
    "务工状况",
    "务工时间（月）",
    "是否参加城乡居民基本医疗保险",
    "是否参加大病保险",
    "是否参加城乡居民基本养老保险",
    "是否享受低保",
    "是否现役军人",
    "识别标准",
    "贫困户属性",
    "主要致贫原因",
    "脱贫属性",
    "脱贫年度",
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
    "帮扶责任人",
    // Appended (catalogue v2): V108, L131 and L132 read the document type.
    "证件类型",
    "是否享受五保",
    "是否参加城镇职工基本医疗保险",
    "其他致贫原因",
    "低保金",
    "五保金",
    "养老金",
];

// Column indices used by the generator and the injector.
const C_TOWN: usize = 2;
const C_NAME: usize = 7;
const C_ID: usize = 8;
const C_N: usize = 9;
const C_REL: usize = 10;
const C_SEX: usize = 11;
const C_NATION: usize = 12;
const C_EDU: usize = 14;
const C_SCHOOL: usize = 15;
const C_LABOUR: usize = 17;
const C_MONTHS: usize = 19;
const C_DIBAO: usize = 23;
const C_SOLDIER: usize = 24;
const C_PROPERTY: usize = 32;
const C_BUSINESS: usize = 31;
const C_AREA: usize = 41;
const C_CARD: usize = 44;
const C_HELPER: usize = 46;
const C_IDTYPE: usize = 47;

/// What follows the 18-digit ID in a 残疾人证 number: category 1 (视力), grade 3 (not severe, so
/// L133 stays quiet). Every 残疾 person holds one (L131).
const DISABILITY_SUFFIX: &str = "13";

/// The ID as written: a 残疾 person's is the 20-character 残疾人证 number.
fn id_text(p: &Person, id18: &str) -> String {
    if p.health == "残疾" {
        format!("{id18}{DISABILITY_SUFFIX}")
    } else {
        id18.to_string()
    }
}
const C_REASON: usize = 27;
const C_LIFTED: usize = 28;
const C_PER_CAPITA: usize = 35;
const C_DANGER: usize = 36;
const C_PHONE: usize = 42;
const C_WAGE: usize = 30;
const C_EXPENSE: usize = 34;
const C_ATTR: usize = 26;
const C_SERIOUS: usize = 21;
const C_WUBAO: usize = 48;
const C_OTHER_REASONS: usize = 50;
const C_DIBAO_MONEY: usize = 51;
const C_WUBAO_MONEY: usize = 52;
const C_PENSION_MONEY: usize = 53;

/// Whether a column is a household field: written once on the 户主 row with `--merged`.
/// 户编号 stays on every row because it is the household key.
pub fn is_household_column(col: usize) -> bool {
    matches!(col, 0..=4 | 9 | 25..=46 | 49..=52)
}

/// The canonical field name rules.md uses for a header of [`COLUMNS`] (what findings carry).
pub fn canonical(col: usize) -> &'static str {
    match col {
        C_TOWN => "乡镇",
        C_MONTHS => "务工时间",
        c => COLUMNS.get(c).copied().unwrap_or(""),
    }
}

/// Spreadsheet rows above the first person row: title, export time, header.
pub const HEADER_ROWS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleOptions {
    /// Person rows to write.
    pub rows: u32,
    /// Fraction of households that get one injected error (0 ..= 1).
    pub error_rate: f64,
    pub seed: u64,
    /// Household fields once on the 户主 row (merged down in xlsx, blank on members in CSV).
    pub merged: bool,
    /// Reference date for ages and the export-time row.
    pub as_of: NaiveDate,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            rows: 300,
            error_rate: 0.05,
            seed: 1,
            merged: false,
            as_of: NaiveDate::from_ymd_opt(2017, 12, 31).unwrap_or_default(),
        }
    }
}

/// One injected error: where the finding must land and which code it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Spreadsheet row number as shown (title rows and header counted).
    pub row: u32,
    /// Canonical field name (rules.md), e.g. 务工时间 for the header 务工时间（月）.
    pub column: String,
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub rows: Vec<Expected>,
}

impl Manifest {
    /// The manifest as CSV (`row,column,code,description`), UTF-8 with BOM like the sample.
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        out.write_all("\u{feff}row,column,code,description\n".as_bytes())?;
        for e in &self.rows {
            writeln!(
                out,
                "{},{},{},{}",
                e.row,
                write::csv_field(&e.column),
                write::csv_field(&e.code),
                write::csv_field(&e.description)
            )?;
        }
        out.flush()
    }

    /// A Markdown table of the injected errors (for samples/README.md).
    pub fn markdown(&self) -> String {
        let mut s = String::from("| row | column | code | description |\n|---|---|---|---|\n");
        for e in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                e.row,
                e.column,
                e.code,
                e.description.replace('|', "\\|")
            );
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("写入失败: {0}")]
    Io(#[from] io::Error),
    #[error("xlsx 写入失败: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("xlsx 工作表最多 1048576 行，{0} 行数据放不下（加上 3 行表头）")]
    TooManyRows(u32),
    #[error("--error-rate 应在 0 到 1 之间，而不是 {0}")]
    BadErrorRate(f64),
}

/// One rendered cell: the text a CSV carries and, for numeric cells, the number xlsx stores.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cell {
    pub text: String,
    pub num: Option<f64>,
}

impl Cell {
    fn set(&mut self, s: &str) {
        self.text.clear();
        self.text.push_str(s);
        self.num = None;
    }
    fn yes_no(&mut self, b: bool) {
        self.set(if b { "是" } else { "否" });
    }
    fn digits(&mut self, v: u64) {
        self.text.clear();
        let _ = write!(self.text, "{v}");
        self.num = None;
    }
    /// A yearly amount in yuan, or a blank cell.
    fn amount(&mut self, v: Option<u64>) {
        match v {
            Some(v) => self.number(v as f64),
            None => self.set(""),
        }
    }
    fn number(&mut self, v: f64) {
        self.text.clear();
        let _ = write!(self.text, "{v}");
        self.num = Some(v);
    }
}

/// Where rendered rows go: CSV or xlsx.
pub(crate) trait Sink {
    fn begin(&mut self, title: &str, exported: &str) -> Result<(), SampleError>;
    /// One household's rows; `first` is the spreadsheet row number of its first row.
    fn household(
        &mut self,
        first: u32,
        rows: &[Vec<Cell>],
        merged: bool,
    ) -> Result<(), SampleError>;
}

/// Write a synthetic CSV export (UTF-8 with BOM) and return the manifest of injected errors.
pub fn generate_csv<W: Write>(opts: &SampleOptions, out: W) -> io::Result<Manifest> {
    let mut sink = write::CsvSink::new(out);
    let manifest = generate(opts, &mut sink).map_err(|e| match e {
        SampleError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    })?;
    sink.finish()?;
    Ok(manifest)
}

/// Write a synthetic xlsx export to `path` (constant-memory mode) and return the manifest.
pub fn write_xlsx(opts: &SampleOptions, path: &Path) -> Result<Manifest, SampleError> {
    if opts.rows > 1_048_576 - HEADER_ROWS {
        return Err(SampleError::TooManyRows(opts.rows));
    }
    let mut sink = write::XlsxSink::new(opts.as_of)?;
    let manifest = generate(opts, &mut sink)?;
    sink.save(path)?;
    Ok(manifest)
}

/// Write the export to `path` (format from the extension: .csv, else xlsx) and the manifest
/// beside it as `<stem>.expected.csv`. Returns the manifest and the manifest's path.
pub fn write_sample(
    opts: &SampleOptions,
    path: &Path,
) -> Result<(Manifest, std::path::PathBuf), SampleError> {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let manifest = if is_csv {
        let f = std::fs::File::create(path)?;
        generate_csv(opts, io::BufWriter::with_capacity(1 << 20, f))?
    } else {
        write_xlsx(opts, path)?
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sample".into());
    let mpath = path.with_file_name(format!("{stem}.expected.csv"));
    let f = std::fs::File::create(&mpath)?;
    manifest.write_csv(io::BufWriter::new(f))?;
    Ok((manifest, mpath))
}

/// State carried between households.
struct Gen {
    rng: Rng,
    ids: IdAlloc,
    next_kind: usize,
    variants: [u32; KINDS.len()],
    /// An earlier clean household's 户主 (row and person), for the D101 "one person in two
    /// households" sample.
    clone_src: Option<(u32, Person)>,
}

fn generate(opts: &SampleOptions, sink: &mut dyn Sink) -> Result<Manifest, SampleError> {
    if !(0.0..=1.0).contains(&opts.error_rate) {
        return Err(SampleError::BadErrorRate(opts.error_rate));
    }
    let as_of = opts.as_of;
    sink.begin(
        "湛江市麻章区建档立卡贫困人口信息表",
        &format!("导出时间：{}", as_of.format("%Y-%m-%d")),
    )?;
    let mut g = Gen {
        rng: Rng::new(opts.seed),
        ids: IdAlloc::default(),
        next_kind: 0,
        variants: [0; KINDS.len()],
        clone_src: None,
    };
    let mut manifest = Manifest::default();
    let mut buf: Vec<Vec<Cell>> = Vec::new();
    let mut written = 0u32;
    let mut index = 0u64;
    while written < opts.rows {
        let remaining = opts.rows - written;
        let first = (HEADER_ROWS + 1).saturating_add(written);
        // Decide the error first: the household is then shaped so that only its code fires.
        let mut kind = None;
        if g.rng.chance(opts.error_rate) {
            let k = KINDS.get(g.next_kind % KINDS.len()).copied();
            if let Some(k) = k {
                let variant = g
                    .variants
                    .get(g.next_kind % KINDS.len())
                    .copied()
                    .unwrap_or(0);
                let feasible =
                    remaining >= k.min_rows(variant) && (k != Kind::D101 || g.clone_src.is_some());
                if feasible {
                    kind = Some((k, variant));
                    if let Some(v) = g.variants.get_mut(g.next_kind % KINDS.len()) {
                        *v += 1;
                    }
                    g.next_kind += 1;
                }
            }
        }
        let want = kind.map(|(k, v)| k.want(v)).unwrap_or_default();
        let mut d101_src = None;
        let mut members = match (kind, g.clone_src.take()) {
            (Some((Kind::D101, _)), Some((row, mut p))) => {
                d101_src = Some(row);
                p.rel = "户主";
                vec![p]
            }
            (_, src) => {
                g.clone_src = src;
                people::members(&mut g.rng, &mut g.ids, as_of, want, remaining)
            }
        };
        // Person-level facts changed before the household facts are derived from them.
        match kind {
            Some((Kind::L111, _)) => {
                if let Some(c) = inject::first_child(&members).and_then(|i| members.get_mut(i)) {
                    c.school = "非在校生";
                }
            }
            Some((Kind::L121, _)) => {
                if let Some(c) = inject::first_child(&members).and_then(|i| members.get_mut(i)) {
                    c.labour = "普通劳动力";
                }
            }
            Some((Kind::C109 | Kind::L114, _)) => {
                // Out of school and working-capable, so only the injected rule fires (a blank or
                // 非在校生 healthy adult without labour would be L125).
                if let Some(c) = inject::first_child(&members).and_then(|i| members.get_mut(i)) {
                    c.school = if matches!(kind, Some((Kind::C109, _))) {
                        ""
                    } else {
                        "非在校生"
                    };
                    if matches!(kind, Some((Kind::L114, _))) {
                        c.edu = "小学";
                    }
                    // Healthy: a 残疾 or 患有大病 child is exempt from L114.
                    c.health = "健康";
                    c.labour = "普通劳动力";
                    c.work = "";
                    c.months = 0;
                    c.pension = true;
                }
            }
            Some((Kind::L126, _)) => {
                if let Some(c) = inject::first_child(&members).and_then(|i| members.get_mut(i)) {
                    c.health = "健康";
                    c.labour = "丧失劳动力";
                }
            }
            Some((Kind::L129, _)) => {
                if let Some(c) = inject::first_child(&members).and_then(|i| members.get_mut(i)) {
                    c.school = "高中二年级";
                    c.edu = "初中";
                    c.labour = "普通劳动力";
                    c.work = "省外务工";
                    c.months = 3;
                }
            }
            Some((Kind::L127, _)) => {
                if let Some(h) = members.first_mut() {
                    h.health = "长期慢性病";
                    h.labour = "无劳动力";
                    h.work = "";
                    h.months = 0;
                }
            }
            Some((Kind::L133 | Kind::V108 | Kind::L131, _)) => {
                if let Some(h) = members.first_mut() {
                    h.health = "残疾";
                }
            }
            Some((Kind::L305, _)) => {
                for p in &mut members {
                    p.work = "";
                    p.months = 0;
                }
            }
            // A chronically ill elder still farming nearby: labour, but not L603's healthy adult.
            Some((Kind::L605, _)) => {
                if let Some(p) = members.first_mut() {
                    p.health = "长期慢性病";
                    p.labour = "普通劳动力";
                    p.work = "乡（镇）内务工";
                    p.months = 3;
                }
            }
            _ => {}
        }
        let extra = u32::from(matches!(kind, Some((Kind::L203, _))));
        let mut h = people::household(&mut g.rng, as_of, index, members, want, extra);
        match kind {
            // Up for a lifted household (still above its exit line: no L302), down for an
            // unlifted one (still under this year's line: no L308).
            Some((Kind::L301, _)) if h.lifted => {
                h.per_capita_cents += h.per_capita_cents * 15 / 100 + 5000;
            }
            Some((Kind::L301, _)) => {
                h.per_capita_cents -= h.per_capita_cents * 15 / 100 + 5000;
            }
            Some((Kind::L401, _)) => h.danger = Some("C级"),
            Some((Kind::L503, _)) => h.reason = "因学",
            Some((Kind::V304, _)) => {
                // Yuan entered as if 万元: the totals stay the same, so L301 still holds.
                h.wage += h.business.saturating_sub(50);
                h.business = h.business.min(50);
            }
            Some((Kind::V305, _)) => h.area_tenths = 80,
            // Income parts move between items so the per-capita income (L301) stays right.
            Some((Kind::L305, _)) => {
                let moved = h.business / 2;
                h.wage += moved;
                h.business -= moved;
            }
            Some((Kind::L306, _)) => {
                h.business += h.wage;
                h.wage = 0;
            }
            Some((Kind::L307, _)) if h.business > h.expense => {
                h.business -= h.expense;
                h.expense = 0;
            }
            Some((Kind::L308, _)) => above_this_years_line(&mut h, as_of),
            _ => {}
        }
        let n = h.members.len();
        while buf.len() < n {
            buf.push(vec![Cell::default(); COLUMNS.len()]);
        }
        let rows = buf.get_mut(..n).unwrap_or_default();
        if let Some((head_row, member_rows)) = rows.split_first_mut() {
            if let Some(head) = h.members.first() {
                render(&h, head, 0, head_row, true);
            }
            // Household fields are the same on every row: format them once, copy the text.
            for (i, (p, row)) in h
                .members
                .iter()
                .skip(1)
                .zip(member_rows.iter_mut())
                .enumerate()
            {
                render(&h, p, i + 1, row, false);
                for (c, (dst, src)) in row.iter_mut().zip(head_row.iter()).enumerate() {
                    if is_household_column(c) {
                        dst.text.clone_from(&src.text);
                        dst.num = src.num;
                    }
                }
            }
        }
        if let Some((k, v)) = kind {
            let found = apply(&mut g, k, v, &h, rows, first, d101_src, &mut manifest);
            if !found {
                // Nothing to injure in this household shape: keep the kind for the next one.
                g.next_kind = g.next_kind.saturating_sub(1);
            }
        } else if let Some(head) = h.members.first() {
            g.clone_src = Some((first, head.clone()));
        }
        sink.household(first, rows, opts.merged)?;
        written += n as u32;
        index += 1;
    }
    Ok(manifest)
}

/// Apply the cell-level part of an error and record it. Returns false if the household had no
/// place for it (then nothing was changed).
#[allow(clippy::too_many_arguments)]
fn apply(
    g: &mut Gen,
    kind: Kind,
    variant: u32,
    h: &Household,
    rows: &mut [Vec<Cell>],
    first: u32,
    d101_src: Option<u32>,
    manifest: &mut Manifest,
) -> bool {
    let n = rows.len();
    // The L132 / L133 person is the head (a healthy working head, made 残疾 for L133).
    let id_member = |rng: &mut Rng| {
        if matches!(kind, Kind::L132 | Kind::L133) {
            0
        } else {
            inject::any_member(rng, n)
        }
    };
    let mut record = |row: u32, col: usize, description: String| {
        manifest.rows.push(Expected {
            row,
            column: canonical(col).to_string(),
            code: kind.code().to_string(),
            description,
        });
    };
    let row_of = |i: usize| first + i as u32;
    let set = |rows: &mut [Vec<Cell>], i: usize, col: usize, text: &str, num: Option<f64>| {
        if let Some(c) = rows.get_mut(i).and_then(|r| r.get_mut(col)) {
            c.set(text);
            c.num = num;
        }
    };
    let all_rows = |rows: &mut [Vec<Cell>], col: usize, text: &str| {
        for r in rows.iter_mut() {
            if let Some(c) = r.get_mut(col) {
                c.set(text);
            }
        }
    };
    match kind {
        Kind::C101 => {
            let i = inject::any_member(&mut g.rng, n);
            let col = if variant.is_multiple_of(2) {
                C_NAME
            } else {
                C_NATION
            };
            set(rows, i, col, "", None);
            record(row_of(i), col, format!("{} 为空", COLUMNS[col]));
        }
        Kind::V102 | Kind::V103 | Kind::V105 | Kind::V106 | Kind::L132 | Kind::L133 => {
            let i = id_member(&mut g.rng);
            let Some(p) = h.members.get(i) else {
                return false;
            };
            let what = match kind {
                Kind::V102 => "校验码错误",
                Kind::V103 => "出生月份为 13（校验码已相应更正）",
                Kind::V105 => "存为数字，后三位丢失（xlsx 为数值单元格，csv 为 4.40811E+17 形式）",
                Kind::L132 => "为 20 位残疾人证号（四级），健康状况却为健康",
                Kind::L133 => "为 20 位残疾人证号（二级，重度），劳动技能却为普通劳动力",
                _ => "末位为小写 x",
            };
            match inject::damage_id(kind, p, &mut g.ids) {
                // A damaged 残疾人证 number keeps its suffix (the L132 / L133 ones are complete).
                Some(IdDamage::Text(t)) if t.len() == 18 => {
                    set(rows, i, C_ID, &id_text(p, &t), None)
                }
                Some(IdDamage::Text(t)) => set(rows, i, C_ID, &t, None),
                Some(IdDamage::Number(t, v)) => set(rows, i, C_ID, &t, Some(v)),
                None => return false,
            }
            if kind == Kind::L132 {
                set(rows, i, C_IDTYPE, "残疾人证", None);
            }
            record(row_of(i), C_ID, format!("证件号码{what}"));
        }
        Kind::V201 => {
            if variant.is_multiple_of(2) {
                let Some(i) = inject::first_child(&h.members) else {
                    return false;
                };
                set(rows, i, C_EDU, "初 中", None);
                record(row_of(i), C_EDU, "文化程度写作“初 中”（应为 初中）".into());
            } else {
                all_rows(rows, C_LIFTED, "已脱贫(享受政策)");
                record(
                    first,
                    C_LIFTED,
                    "脱贫属性写作半角括号“已脱贫(享受政策)”（应为 已脱贫（享受政策））".into(),
                );
            }
        }
        Kind::V301 => {
            let word = CHINESE_NUMERALS
                .get(n.saturating_sub(1))
                .copied()
                .unwrap_or("五");
            all_rows(rows, C_N, word);
            record(first, C_N, format!("人数写作汉字“{word}”"));
        }
        Kind::V302 => {
            set(rows, 0, C_MONTHS, "13", Some(13.0));
            record(first, C_MONTHS, "户主务工时间 13 个月".into());
        }
        Kind::V501 => {
            let bad = (h.phone / 10).to_string();
            all_rows(rows, C_PHONE, &bad);
            record(first, C_PHONE, format!("联系电话少一位：{bad}"));
        }
        Kind::L101 => {
            let Some(head) = h.members.first() else {
                return false;
            };
            set(rows, 0, C_SEX, if head.male { "女" } else { "男" }, None);
            record(
                first,
                C_SEX,
                "户主性别与证件号码第 17 位不符（户内无配偶）".into(),
            );
        }
        Kind::L111 => {
            let Some(i) = inject::first_child(&h.members) else {
                return false;
            };
            record(
                row_of(i),
                C_SCHOOL,
                "10 岁儿童为非在校生（义务教育失学）".into(),
            );
        }
        Kind::L121 => {
            let Some(i) = inject::first_child(&h.members) else {
                return false;
            };
            let age = h.members.get(i).map_or(0, |p| p.age);
            record(row_of(i), C_LABOUR, format!("{age} 岁儿童为普通劳动力"));
        }
        Kind::L202 => {
            let i = n - 1;
            if i == 0 {
                return false;
            }
            set(rows, i, C_REL, "户主", None);
            record(
                first,
                C_REL,
                format!("户内两个户主（第 {} 行原为子女）", row_of(i)),
            );
        }
        Kind::L203 => {
            record(
                first,
                C_N,
                format!(
                    "人数写 {}，实有 {} 行（人均纯收入按所写人数计算）",
                    h.stated_n, n
                ),
            );
        }
        Kind::L301 => {
            let how = if h.lifted { "高" } else { "低" };
            record(
                first,
                C_PER_CAPITA,
                format!("人均纯收入比各项收入计算值{how}约 15%"),
            );
        }
        Kind::L401 => {
            record(first, C_DANGER, "已脱贫户为危房户（C级）".into());
        }
        Kind::L503 => {
            record(first, C_REASON, "主要致贫原因为因学，但户内无在校生".into());
        }
        Kind::C107 | Kind::C109 | Kind::L114 | Kind::L126 | Kind::L129 => {
            let Some(i) = inject::first_child(&h.members) else {
                return false;
            };
            let age = h.members.get(i).map_or(0, |p| p.age);
            let (col, what) = match kind {
                Kind::C107 => {
                    set(rows, i, C_DIBAO, "", None);
                    (C_DIBAO, "是否享受低保为空".to_string())
                }
                Kind::C109 => (C_SCHOOL, format!("{age} 岁，文化程度已填，在校生状况为空")),
                Kind::L114 => (C_EDU, format!("{age} 岁、健康，文化程度为小学")),
                Kind::L126 => (C_LABOUR, format!("{age} 岁、健康，劳动技能为丧失劳动力")),
                _ => (
                    C_SCHOOL,
                    format!("{age} 岁在校生（高中二年级）在省外务工 3 个月"),
                ),
            };
            record(row_of(i), col, what);
        }
        Kind::C108 => {
            let i = inject::any_member(&mut g.rng, n);
            set(rows, i, C_SOLDIER, "", None);
            record(row_of(i), C_SOLDIER, "是否现役军人为空".into());
        }
        Kind::C111 | Kind::C112 | Kind::C113 | Kind::C114 | Kind::C115 => {
            let (col, what) = match kind {
                Kind::C111 => (C_PER_CAPITA, "人均纯收入为空（各行）"),
                Kind::C112 => (C_PROPERTY, "财产性收入为空（各行）"),
                Kind::C113 => (C_PHONE, "户内各行联系电话都为空"),
                Kind::C114 => (C_CARD, "银行卡号为空（各行）"),
                _ => (C_HELPER, "未脱贫户各行帮扶责任人都为空"),
            };
            all_rows(rows, col, "");
            record(first, col, what.into());
        }
        Kind::V108 => {
            // The head's 20-character 残疾人证 number under 居民身份证.
            set(rows, 0, C_IDTYPE, "居民身份证", None);
            record(
                first,
                C_IDTYPE,
                "证件类型为居民身份证，证件号码却是 20 位残疾人证号".into(),
            );
        }
        Kind::L131 => {
            let Some(p) = h.members.first() else {
                return false;
            };
            set(rows, 0, C_ID, &inject::ascii(&p.id), None);
            set(rows, 0, C_IDTYPE, "居民身份证", None);
            record(
                first,
                C_ID,
                "户主残疾，证件类型为居民身份证，证件号码为 18 位（无残疾人证号）".into(),
            );
        }
        Kind::V304 => {
            record(
                first,
                C_BUSINESS,
                format!("生产经营性收入为 {} 元（疑似按万元填写）", h.business),
            );
        }
        Kind::V305 => {
            record(first, C_AREA, "已脱贫户住房面积 8 平方米".into());
        }
        Kind::L127 => {
            record(
                first,
                C_LABOUR,
                "户主长期慢性病、未在校，劳动技能填无劳动力（应为丧失劳动力）".into(),
            );
        }
        Kind::L208 => {
            let head_male = h.members.first().is_some_and(|p| p.male);
            let has_spouse = h.members.iter().any(|p| p.rel == "配偶");
            let Some(i) = inject::first_child(&h.members)
                .filter(|&i| has_spouse && h.members.get(i).is_some_and(|c| c.male != head_male))
            else {
                return false;
            };
            set(rows, i, C_REL, "配偶", None);
            record(
                first,
                C_REL,
                format!("户内两名配偶（第 {} 行原为子女）", row_of(i)),
            );
        }
        Kind::L209 => {
            let Some(p) = h.members.last() else {
                return false;
            };
            all_rows(rows, C_HELPER, &p.name);
            record(first, C_HELPER, "帮扶责任人填为本户成员".into());
        }
        Kind::L305 => {
            if h.wage == 0 || h.members.iter().any(|p| !p.work.is_empty()) {
                return false;
            }
            record(
                first,
                C_WAGE,
                format!("工资性收入 {} 元，但户内无人务工", h.wage),
            );
        }
        Kind::L306 => {
            if h.wage != 0 || h.members.iter().all(|p| p.months == 0) {
                return false;
            }
            record(first, C_WAGE, "户主外出务工，但工资性收入为 0".into());
        }
        Kind::L307 => {
            if h.expense != 0 || h.business == 0 {
                return false;
            }
            record(
                first,
                C_EXPENSE,
                format!("生产经营性收入 {} 元，生产经营性支出为 0", h.business),
            );
        }
        Kind::L308 => {
            if h.attr != "一般贫困户" || h.lifted {
                return false;
            }
            record(
                first,
                C_PER_CAPITA,
                "未脱贫一般贫困户人均纯收入高于本年度脱贫线（致贫原因非因病、因学、因残）".into(),
            );
        }
        Kind::L406 => {
            if !h.lifted {
                return false;
            }
            let i = inject::any_member(&mut g.rng, n);
            set(rows, i, C_SERIOUS, "否", None);
            record(first, C_SERIOUS, "已脱贫户有成员未参加大病保险".into());
        }
        Kind::L505 => {
            let other = if h.reason == "缺资金" {
                "缺技术"
            } else {
                "缺资金"
            };
            let text = format!("{}、{other}", h.reason);
            all_rows(rows, C_OTHER_REASONS, &text);
            record(
                first,
                C_OTHER_REASONS,
                format!("其他致贫原因“{text}”重复主要致贫原因"),
            );
        }
        Kind::L604 => {
            if h.members.iter().any(|p| p.is_labour()) || h.attr.starts_with("特困") {
                return false;
            }
            record(
                first,
                C_LABOUR,
                "全户无劳动能力，未享受低保也非特困供养".into(),
            );
        }
        Kind::L605 => {
            if !h.attr.starts_with("特困") {
                return false;
            }
            record(first, C_ATTR, "特困供养户户主在乡镇内务工".into());
        }
        Kind::L606 => {
            set(rows, 0, C_WUBAO, "是", None);
            // The 五保 member makes it a 特困供养 household for L609: pay the allowance too.
            for r in rows.iter_mut() {
                if let Some(c) = r.get_mut(C_WUBAO_MONEY) {
                    c.amount(Some(1200));
                }
            }
            record(first, C_DIBAO, "户主同时享受低保和五保".into());
        }
        Kind::L607 => {
            all_rows(rows, C_WUBAO, "否");
            record(first, C_ATTR, "特困供养户无成员享受五保".into());
        }
        Kind::L608 => {
            all_rows(rows, C_DIBAO_MONEY, "");
            record(first, C_DIBAO_MONEY, "低保户低保金为空".into());
        }
        Kind::L609 => {
            all_rows(rows, C_WUBAO_MONEY, "");
            record(first, C_WUBAO_MONEY, "特困供养户五保金为空".into());
        }
        Kind::L610 => {
            if h.members.iter().any(|p| p.age >= 60) {
                return false;
            }
            for r in rows.iter_mut() {
                if let Some(c) = r.get_mut(C_PENSION_MONEY) {
                    c.amount(Some(1200));
                }
            }
            record(
                first,
                C_PENSION_MONEY,
                "养老金 1200 元，但户内无 60 岁以上成员".into(),
            );
        }
        Kind::D101 => {
            let Some(src_row) = d101_src else {
                return false;
            };
            let desc = format!("同一证件号码出现在两户（第 {src_row} 行与第 {first} 行）");
            record(src_row, C_ID, desc.clone());
            record(first, C_ID, desc);
        }
    }
    true
}

/// L308: raise an unlifted 一般贫困户's income above this year's line (business income carries the
/// difference, so L301 still holds) with a cause that does not excuse it.
fn above_this_years_line(h: &mut Household, as_of: NaiveDate) {
    if matches!(h.reason, "因病" | "因学" | "因残") {
        // Not one of the other causes either (L505): at most two of these three are taken.
        h.reason = ["缺资金", "缺技术", "缺土地"]
            .into_iter()
            .find(|r| !h.other_reasons.contains(r))
            .unwrap_or("缺资金");
    }
    let n = u64::from(h.stated_n.max(1));
    // The margin clears every line of the default schema up to 2020.
    let target = u64::from(people::exit_line(h.provincial, as_of.year())) + 1200;
    let net = (h.wage + h.business + h.property + h.transfer).saturating_sub(h.expense);
    if target * n > net {
        h.business += target * n - net;
    }
    let net = (h.wage + h.business + h.property + h.transfer).saturating_sub(h.expense);
    h.per_capita_cents = (net * 200 + n) / (2 * n);
}

/// Render one person's row; household columns only when `household` is set.
fn render(h: &Household, p: &Person, i: usize, row: &mut [Cell], household: bool) {
    for (col, cell) in row.iter_mut().enumerate() {
        if !household && is_household_column(col) {
            continue;
        }
        match col {
            0 => cell.set("湛江市"),
            1 => cell.set("麻章区"),
            2 => cell.set(h.town),
            3 => cell.set(h.village),
            4 => cell.set(h.hamlet),
            5 => cell.digits(h.number),
            6 => cell.digits(h.number * 1000 + i as u64 + 1),
            7 => cell.set(&p.name),
            8 => cell.set(&id_text(p, std::str::from_utf8(&p.id).unwrap_or(""))),
            9 => cell.number(f64::from(h.stated_n)),
            10 => cell.set(p.rel),
            11 => cell.set(if p.male { "男" } else { "女" }),
            12 => cell.set(p.nation),
            13 => {
                cell.text.clear();
                let _ = write!(
                    cell.text,
                    "{:04}-{:02}-{:02}",
                    p.birth.year(),
                    p.birth.month(),
                    p.birth.day()
                );
                cell.num = None;
            }
            14 => cell.set(p.edu),
            15 => cell.set(p.school),
            16 => cell.set(p.health),
            17 => cell.set(p.labour),
            18 => cell.set(p.work),
            19 => {
                if p.work.is_empty() {
                    cell.set("");
                } else {
                    cell.number(f64::from(p.months));
                }
            }
            20 => cell.yes_no(p.medical),
            21 => cell.yes_no(p.serious),
            22 => cell.yes_no(p.pension),
            23 => cell.yes_no(p.dibao),
            24 => cell.yes_no(false),
            25 => cell.set(if h.provincial {
                "省定标准"
            } else {
                "国家标准"
            }),
            26 => cell.set(h.attr),
            27 => cell.set(h.reason),
            28 => cell.set(if h.lifted { "已脱贫" } else { "未脱贫" }),
            29 => match h.exit_year {
                Some(y) => cell.number(f64::from(y)),
                None => cell.set(""),
            },
            30 => cell.number(h.wage as f64),
            31 => cell.number(h.business as f64),
            32 => cell.number(h.property as f64),
            33 => cell.number(h.transfer as f64),
            34 => cell.number(h.expense as f64),
            35 => cell.number(h.per_capita_cents as f64 / 100.0),
            36 => cell.yes_no(h.danger.is_some()),
            37 => cell.set(h.danger.unwrap_or("")),
            38 => cell.yes_no(h.water_safe),
            39 => cell.yes_no(h.water_hard),
            40 => cell.yes_no(h.power),
            41 => cell.number(f64::from(h.area_tenths) / 10.0),
            42 => cell.digits(h.phone),
            43 => cell.set(h.bank),
            44 => cell.set(&h.card),
            45 => cell.set(h.unit),
            46 => cell.set(&h.helper),
            47 => cell.set(if p.health == "残疾" {
                "残疾人证"
            } else {
                "居民身份证"
            }),
            48 => cell.yes_no(p.wubao),
            49 => cell.yes_no(false),
            50 => cell.set(&h.other_reasons),
            51 => cell.amount(h.dibao_money),
            52 => cell.amount(h.wubao_money),
            53 => cell.amount(h.pension_money),
            _ => cell.set(""),
        }
    }
}
