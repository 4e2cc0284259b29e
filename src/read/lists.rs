//! Exclusion lists (`--exclude-list FILE`): lists from other departments naming people who must
//! not be registered (财政供养人员, 死亡注销, 商品房, 车辆, 工商注册 …).
//!
//! Each department lays its list out its own way (姓名 first, then 身份证号码, 原因; or 证件号码,
//! 原因, 来源部门 under a title row), as CSV in any of the encodings inputs are read in, or as a
//! workbook. So a list is read like an export: the ID, reason and department columns are found by
//! their headers wherever they stand, below any title rows. A CSV without a header row (the older
//! form: ID, reason, department) is still read. A list in which no ID column and no ID number can
//! be found is refused: matching nobody without a word would tell the clerk the register is clean.

use std::path::Path;

use super::{Error, HeaderMatcher, ReadOptions};
use crate::types::id_number::{IdKind, check_id, normalize_id};

/// One entry of an exclusion list (`--exclude-list`): ID number and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    pub id: String,
    pub reason: String,
    pub source: String,
}

/// Header texts (after [`super::normalize_header`]) naming a list's columns.
const ID_HEADERS: &[&str] = &[
    "身份证号码",
    "身份证号",
    "公民身份号码",
    "公民身份证号码",
    "居民身份证号码",
    "身份证件号码",
    "身份证",
    "证件号",
    "证件号码(身份证)",
    "证号",
];
const REASON_HEADERS: &[&str] = &[
    "比对原因",
    "原因",
    "类别",
    "人员类别",
    "人员类型",
    "疑点类型",
    "疑点原因",
    "问题类型",
    "比对结果",
    "情形",
    "说明",
    "备注",
];
const SOURCE_HEADERS: &[&str] = &[
    "来源",
    "来源单位",
    "数据来源",
    "部门",
    "比对部门",
    "提供部门",
    "提供单位",
    "单位",
];

const ID: &str = "证件号码";
const REASON: &str = "原因";
const SOURCE: &str = "来源部门";

/// What one exclusion list contributed, for the report (JSON `exclusion_lists`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListCount {
    pub file: String,
    /// Distinct ID numbers read from it.
    pub ids: usize,
}

/// One exclusion list as read: its entries and how many distinct ID numbers it contributed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExclusionList {
    /// The file as the user named it.
    pub file: String,
    pub entries: Vec<Exclusion>,
    /// Distinct normalised ID numbers among `entries`.
    pub ids: usize,
}

impl ExclusionList {
    pub fn count(&self) -> ListCount {
        ListCount {
            file: self.file.clone(),
            ids: self.ids,
        }
    }
}

fn matcher() -> HeaderMatcher {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (id, reason, source) = (own(ID_HEADERS), own(REASON_HEADERS), own(SOURCE_HEADERS));
    let names = own(&["名字"]);
    HeaderMatcher::new([
        (ID, id.as_slice()),
        (REASON, reason.as_slice()),
        (SOURCE, source.as_slice()),
        ("姓名", names.as_slice()),
    ])
    .with_min_matches(1)
}

fn text(c: super::CellRef<'_>) -> String {
    crate::types::cell::cell_text(c).unwrap_or_default()
}

/// An ID number of a known form (18, 15, or a 20/22-character 残疾人证), check digit aside: the
/// list must name people by ID, and a wrong check digit is still that person (X101 applies).
fn id_like(id: &str) -> bool {
    let far = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default();
    check_id(id, false, far).kind != IdKind::Unknown
}

/// Read one exclusion list. ID numbers are normalised as the ID checker does (upper-case X,
/// half-width, no white space) so they match the dataset's normalised IDs. Refused (an error
/// naming the file) when unreadable, or when no ID column and no ID number are found.
pub fn read_exclusion_list(path: &Path, opts: &ReadOptions) -> Result<ExclusionList, Error> {
    let file = path.display().to_string();
    let opts = ReadOptions {
        progress: None,
        ..opts.clone()
    };
    let read = super::read_file(path, &file, &opts, &matcher());
    let mut entries = Vec::new();
    let mut had_id_column = false;
    for t in &read.tables {
        let Some(id_col) = t.column_of(ID) else {
            continue;
        };
        had_id_column = true;
        let (reason_col, source_col) = (t.column_of(REASON), t.column_of(SOURCE));
        for r in 0..t.len() {
            // An 18-digit ID typed into a number cell keeps only ~16 digits: it would match
            // nobody, and the person it names would be checked as if not on the list. A list is
            // configuration, so this stops the run like a list without IDs does.
            let id_cell = t.cell(r, id_col);
            if let super::CellRef::Number(x) = id_cell
                && x.abs() > F64_EXACT
            {
                return Err(Error::Content {
                    file,
                    sheet: t.sheet.clone(),
                    reason: super::Reason::ListIdAsNumber {
                        cell: crate::finding::a1(t.columns[id_col].index, t.row_number(r)),
                        shown: text(id_cell),
                    },
                });
            }
            let id = normalize_id(&text(id_cell));
            if id.is_empty() {
                continue;
            }
            let at = |c: Option<usize>| c.map(|c| text(t.cell(r, c)).trim().to_string());
            entries.push(Exclusion {
                id,
                reason: at(reason_col).unwrap_or_default(),
                source: at(source_col).unwrap_or_default(),
            });
        }
    }
    if !had_id_column {
        // No header names an ID column: the older headerless CSV (ID, reason, department), if
        // the file is text at all.
        match headerless(path, &opts) {
            Some(e) => entries = e,
            None => {
                return Err(read
                    .errors
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| refused(&file)));
            }
        }
    }
    if !entries.iter().any(|e| id_like(&e.id)) {
        return Err(refused(&file));
    }
    let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids = ids.len();
    Ok(ExclusionList { file, entries, ids })
}

/// 2^53: above it a spreadsheet number (an f64) no longer holds every integer exactly. 15-digit
/// IDs are below it; 18-digit ones are not.
const F64_EXACT: f64 = 9_007_199_254_740_992.0;

fn refused(file: &str) -> Error {
    Error::Content {
        file: file.to_string(),
        sheet: None,
        reason: super::Reason::ListWithoutIds,
    }
}

/// A CSV without a header row: the column holding the most ID numbers is the ID column, the two
/// after it reason and department. None when the file is not text or holds no ID number.
fn headerless(path: &Path, opts: &ReadOptions) -> Option<Vec<Exclusion>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() as u64 > opts.max_inflated_bytes {
        return None;
    }
    if !matches!(super::limits::sniff(&bytes), super::limits::Kind::Text) {
        return None;
    }
    let decoded = super::encoding::decode(&bytes, opts.encoding).ok()?;
    let records: Vec<::csv::StringRecord> = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.text.as_bytes())
        .records()
        .map_while(Result::ok)
        .collect();
    let width = records.iter().map(|r| r.len()).max().unwrap_or(0);
    let count = |c: usize| {
        records
            .iter()
            .filter(|r| id_like(&normalize_id(r.get(c).unwrap_or_default())))
            .count()
    };
    let (id_col, n) = (0..width)
        .map(|c| (c, count(c)))
        .max_by_key(|&(c, n)| (n, usize::MAX - c))?;
    if n == 0 {
        return None;
    }
    let cell = |r: &::csv::StringRecord, c: usize| r.get(c).unwrap_or_default().trim().to_string();
    Some(
        records
            .iter()
            .filter_map(|r| {
                let id = normalize_id(r.get(id_col).unwrap_or_default());
                // A header-like first cell (id, 号码) holds no digit: not an entry.
                (!id.is_empty() && id.chars().any(|c| c.is_ascii_digit())).then(|| Exclusion {
                    id,
                    reason: cell(r, id_col + 1),
                    source: cell(r, id_col + 2),
                })
            })
            .collect(),
    )
}
