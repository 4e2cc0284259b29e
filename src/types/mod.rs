//! Built-in field types written in Rust: checks SQL cannot say well (ID checksum, code lists
//! with "did you mean", digits lost to Excel). Pure functions over one value.
// TEMP SHIM (not committed): replaced by the real built-in types.
use crate::read::Cell;
pub fn cell_text(c: &Cell) -> Option<String> {
    match c {
        Cell::Empty => None,
        Cell::Text(s) => Some(s.clone()),
        Cell::Number(f) => Some(if f.fract() == 0.0 {
            format!("{}", *f as i64)
        } else {
            f.to_string()
        }),
        Cell::Int(i) => Some(i.to_string()),
        Cell::Bool(b) => Some(b.to_string()),
        Cell::DateTime(s) => Some(s.to_string()),
        Cell::Error(e) => Some(e.clone()),
    }
}
pub fn is_numeric(c: &Cell) -> bool {
    matches!(c, Cell::Number(_) | Cell::Int(_))
}
pub mod whitespace {
    pub fn trim_all(s: &str) -> &str {
        s.trim()
    }
    pub fn has_extra_whitespace(s: &str) -> bool {
        s.trim() != s
    }
}
pub mod name {
    pub fn implausible(_s: &str) -> Option<&'static str> {
        None
    }
}
pub mod phone {
    pub fn is_valid(_s: &str) -> bool {
        true
    }
}
pub mod bank_card {
    pub fn is_valid(_s: &str) -> bool {
        true
    }
}
pub mod code_list {
    use std::collections::BTreeMap;
    pub enum CodeLookup {
        Canonical(String),
        Unknown { suggestion: Option<String> },
    }
    pub fn lookup(v: &str, codes: &[String], variants: &BTreeMap<String, String>) -> CodeLookup {
        if codes.iter().any(|c| c == v) {
            CodeLookup::Canonical(v.into())
        } else if let Some(c) = variants.get(v) {
            CodeLookup::Canonical(c.clone())
        } else {
            CodeLookup::Unknown { suggestion: None }
        }
    }
}
pub mod number {
    pub fn parse_number(s: &str) -> Option<f64> {
        s.parse().ok()
    }
    pub fn is_integer(v: f64) -> bool {
        v.fract() == 0.0
    }
    pub fn range_issue(f: &crate::schema::Field, v: f64) -> Option<&'static str> {
        if f.min.is_some_and(|m| v < m) || f.max.is_some_and(|m| v > m) {
            Some("V302")
        } else {
            None
        }
    }
}
pub mod date {
    use chrono::NaiveDate;
    pub fn parse_date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    }
    pub fn from_excel_serial(s: f64) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(s as u64))
    }
    pub fn age_at(b: NaiveDate, a: NaiveDate) -> i32 {
        a.years_since(b).map(|y| y as i32).unwrap_or(-1)
    }
}
pub mod id_number {
    use chrono::NaiveDate;
    #[derive(Clone, Copy)]
    pub enum Sex {
        Male,
        Female,
    }
    impl Sex {
        pub fn as_str(self) -> &'static str {
            match self {
                Sex::Male => "男",
                Sex::Female => "女",
            }
        }
    }
    pub enum IdIssue {
        Malformed(String),
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
    }
    pub struct IdCheck {
        pub normalized: String,
        pub issues: Vec<IdIssue>,
        pub birth: Option<NaiveDate>,
        pub sex: Option<Sex>,
        pub region: Option<String>,
        pub upgraded: Option<String>,
    }
    pub fn check_id(raw: &str, _n: bool, _a: NaiveDate) -> IdCheck {
        let s = raw.trim().to_string();
        let birth = s
            .get(6..14)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
        let sex = s
            .get(16..17)
            .and_then(|d| d.parse::<u32>().ok())
            .map(|d| if d % 2 == 1 { Sex::Male } else { Sex::Female });
        IdCheck {
            region: s.get(0..6).map(str::to_string),
            normalized: s,
            issues: vec![],
            birth,
            sex,
            upgraded: None,
        }
    }
}
