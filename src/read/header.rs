//! Finding the header row and mapping header cells to schema fields.

use std::collections::HashMap;

/// Units the national exports append to a header in brackets (人均纯收入（元）, 务工时间（月）):
/// the unit says nothing about which field the column is, so matching ignores it.
const TRAILING_UNITS: &[&str] = &["(元)", "(月)", "(亩)", "(平方米)", "(人)", "(岁)"];

/// Normalise a header cell for matching: trim, drop inner white space and line breaks, fold
/// full-width ASCII (brackets, letters, digits) to half-width, drop a trailing unit in brackets
/// (see [`TRAILING_UNITS`]). Idempotent.
pub fn normalize_header(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect();
    // Every trailing unit goes, so normalising twice changes nothing; a header that is only a
    // unit keeps it (it would otherwise match nothing and read as blank).
    while let Some(unit) = TRAILING_UNITS
        .iter()
        .find(|u| out.ends_with(*u) && out.len() > u.len())
    {
        out.truncate(out.len() - unit.len());
    }
    out
}

/// Maps normalised header text to canonical field names.
#[derive(Debug, Clone, Default)]
pub struct HeaderMatcher {
    names: HashMap<String, String>,
    /// Fewest distinct fields a header row must name; None: [`MIN_HEADER_MATCHES`]. An exclusion
    /// list's header may name its ID column alone.
    min_matches: Option<usize>,
}

impl HeaderMatcher {
    /// Build from (canonical name, aliases) pairs.
    pub fn new<'a>(fields: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut names = HashMap::new();
        for (name, aliases) in fields {
            names.insert(normalize_header(name), name.to_string());
            for a in aliases {
                names
                    .entry(normalize_header(a))
                    .or_insert_with(|| name.to_string());
            }
        }
        HeaderMatcher {
            names,
            min_matches: None,
        }
    }

    /// The same matcher accepting a header row that names at least `n` (≥ 1) fields.
    pub fn with_min_matches(mut self, n: usize) -> Self {
        self.min_matches = Some(n.max(1));
        self
    }

    pub fn from_schema(schema: &crate::schema::Schema) -> Self {
        Self::new(
            schema
                .fields
                .iter()
                .map(|f| (f.name.as_str(), f.aliases.as_slice())),
        )
    }

    /// The canonical field a header cell names, if any.
    pub fn field(&self, header: &str) -> Option<&str> {
        self.names
            .get(&normalize_header(header))
            .map(String::as_str)
    }
}

/// How many non-blank rows from the top are searched for the header.
pub const HEADER_SCAN_ROWS: usize = 30;

/// Fewest distinct schema fields a row must name to be taken as the header.
pub const MIN_HEADER_MATCHES: usize = 3;

/// A row offered to [`find_header`]: its 0-based row and its non-empty cells as (0-based column,
/// text).
pub type CandidateRow = (u32, Vec<(u32, String)>);

/// Pick the header among candidate rows (0-based row, its non-empty cells as (0-based column,
/// text)): the row naming the most distinct fields, the first on a tie, at least
/// [`MIN_HEADER_MATCHES`] (or the matcher's own minimum). Returns its row and the columns it
/// defines. Two columns naming one field both carry it: the check reads the leftmost only and
/// reports the other (C002), so a duplicate is neither read twice nor listed as unrecognised.
pub fn find_header(
    candidates: &[CandidateRow],
    matcher: &HeaderMatcher,
) -> Option<(u32, Vec<super::Column>)> {
    // (fields named, the row) of the best row so far.
    let mut best: Option<(usize, &CandidateRow)> = None;
    let min = matcher.min_matches.unwrap_or(MIN_HEADER_MATCHES);
    for cand in candidates.iter().take(HEADER_SCAN_ROWS) {
        let cells = &cand.1;
        let mut fields: Vec<&str> = cells
            .iter()
            .filter_map(|(_, text)| matcher.field(text))
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let n = fields.len();
        if n >= min && best.is_none_or(|(b, _)| n > b) {
            best = Some((n, cand));
        }
    }
    let (_, (row, cells)) = best?;
    let columns = cells
        .iter()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(col, text)| super::Column {
            index: *col as usize,
            header: text.clone(),
            field: matcher.field(text).map(str::to_string),
        })
        .collect();
    Some((*row, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> HeaderMatcher {
        let xiang = ["乡(镇)".to_string(), "镇".to_string()];
        let id = ["身份证号码".to_string(), "身份证号".to_string()];
        let n = ["家庭人口数".to_string()];
        let none: &[String] = &[];
        HeaderMatcher::new([
            ("乡镇", &xiang[..]),
            ("姓名", none),
            ("证件号码", &id[..]),
            ("人数", &n[..]),
        ])
    }

    fn row(r: u32, cells: &[&str]) -> (u32, Vec<(u32, String)>) {
        (
            r,
            cells
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(c, s)| (c as u32, s.to_string()))
                .collect(),
        )
    }

    #[test]
    fn normalize_is_idempotent_and_folds_width() {
        for s in [
            "乡（镇）",
            " 身份证\n号码 ",
            "ＡＢ　１",
            "务工时间(月)",
            "\u{feff}姓名",
        ] {
            let once = normalize_header(s);
            assert_eq!(normalize_header(&once), once, "{s:?}");
        }
        assert_eq!(normalize_header("乡（镇）"), "乡(镇)");
        assert_eq!(normalize_header(" 身份证\r\n号码 "), "身份证号码");
        assert_eq!(normalize_header("ＡＢ　１"), "AB1");
        assert_eq!(normalize_header("人均纯收入（元）"), "人均纯收入");
        assert_eq!(normalize_header("上年务工时间(月)"), "上年务工时间");
        assert_eq!(normalize_header("住房面积（平方米）（亩）"), "住房面积");
        // Not a unit: the bracket names part of the field.
        assert_eq!(normalize_header("县（市、区）"), "县(市、区)");
        assert_eq!(normalize_header("（元）"), "(元)");
    }

    #[test]
    fn trailing_unit_and_spacing_still_match() {
        let m = matcher();
        assert_eq!(m.field("家庭人口数（人）"), Some("人数"));
        assert_eq!(m.field(" 家庭 人口数 (人) "), Some("人数"));
        assert_eq!(m.field("家庭人口数（户）"), None);
    }

    #[test]
    fn aliases_match_after_normalising() {
        let m = matcher();
        assert_eq!(m.field("乡（镇）"), Some("乡镇"));
        assert_eq!(m.field("乡(镇)"), Some("乡镇"));
        assert_eq!(m.field("身份证\n号码"), Some("证件号码"));
        assert_eq!(m.field("家庭人口数"), Some("人数"));
        assert_eq!(m.field("户主姓名"), None);
    }

    #[test]
    fn header_below_title_rows_is_found() {
        let rows = [
            row(0, &["某县建档立卡贫困人口信息表"]),
            row(1, &["导出时间：2017-12-31", "", "单位：人"]),
            row(3, &["乡（镇）", "姓名", "身份证号码", "家庭人口数", "备注"]),
            row(4, &["湖光镇", "甲", "1", "3"]),
        ];
        let (r, cols) = find_header(&rows, &matcher()).unwrap();
        assert_eq!(r, 3);
        assert_eq!(cols.len(), 5);
        assert_eq!(cols[0].field.as_deref(), Some("乡镇"));
        assert_eq!(cols[0].header, "乡（镇）");
        assert_eq!(cols[4].field, None);
    }

    #[test]
    fn too_few_matches_is_no_header() {
        let rows = [row(0, &["姓名", "证件号码", "说明"])];
        assert!(find_header(&rows, &matcher()).is_none());
    }

    #[test]
    fn best_row_wins_and_duplicates_keep_their_field() {
        let rows = [
            row(0, &["姓名", "证件号码", "人数"]),
            row(1, &["乡镇", "姓名", "证件号码", "人数", "姓名"]),
        ];
        let (r, cols) = find_header(&rows, &matcher()).unwrap();
        assert_eq!(r, 1);
        assert_eq!(cols[1].field.as_deref(), Some("姓名"));
        assert_eq!(cols[4].field.as_deref(), Some("姓名"));
        assert_eq!(cols[4].header, "姓名");
    }

    #[test]
    fn only_the_first_30_rows_are_searched() {
        let mut rows: Vec<_> = (0..30).map(|r| row(r, &["说明"])).collect();
        rows.push(row(30, &["乡镇", "姓名", "证件号码"]));
        assert!(find_header(&rows, &matcher()).is_none());
        rows.remove(0);
        assert!(find_header(&rows, &matcher()).is_some());
    }
}
