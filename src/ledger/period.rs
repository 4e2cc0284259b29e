//! Submission-round labels: parse the four accepted styles and order them.
//!
//! Labels are normalised so that, within one style, plain string order is time order; that is
//! why a ledger holds one style only (a `2024` and a `2024-03` cannot be ordered).

use std::fmt;

/// The style of a period label; a ledger stores the style of its first round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Style {
    Year,
    Month,
    Quarter,
    Day,
}

impl Style {
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Year => "YYYY",
            Style::Month => "YYYY-MM",
            Style::Quarter => "YYYY-Qn",
            Style::Day => "YYYY-MM-DD",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Style> {
        [Style::Year, Style::Month, Style::Quarter, Style::Day]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated period label. `Ord` is time order for labels of the same style.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    label: String,
    style: Style,
}

fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl Period {
    /// Parse `YYYY`, `YYYY-MM`, `YYYY-Qn` (n 1–4, `q` accepted) or `YYYY-MM-DD` (a real date).
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        let parts: Vec<&str> = s.split('-').collect();
        let year = digits(parts.first()?, 4)?;
        if year < 1900 {
            return None;
        }
        let (label, style) = match parts.as_slice() {
            [_] => (format!("{year:04}"), Style::Year),
            [_, q] if q.len() == 2 && (q.starts_with('Q') || q.starts_with('q')) => {
                let n = digits(q.get(1..)?, 1)?;
                if !(1..=4).contains(&n) {
                    return None;
                }
                (format!("{year:04}-Q{n}"), Style::Quarter)
            }
            [_, m] => {
                let m = digits(m, 2)?;
                if !(1..=12).contains(&m) {
                    return None;
                }
                (format!("{year:04}-{m:02}"), Style::Month)
            }
            [_, m, d] => {
                let (m, d) = (digits(m, 2)?, digits(d, 2)?);
                chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, m, d)?;
                (format!("{year:04}-{m:02}-{d:02}"), Style::Day)
            }
            _ => return None,
        };
        Some(Period { label, style })
    }

    pub fn as_str(&self) -> &str {
        &self.label
    }

    pub fn style(&self) -> Style {
        self.style
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_four_styles() {
        let p = |s| Period::parse(s).map(|p| (p.as_str().to_string(), p.style()));
        assert_eq!(p("2024"), Some(("2024".into(), Style::Year)));
        assert_eq!(p("2024-03"), Some(("2024-03".into(), Style::Month)));
        assert_eq!(p("2024-q2"), Some(("2024-Q2".into(), Style::Quarter)));
        assert_eq!(p("2024-02-29"), Some(("2024-02-29".into(), Style::Day)));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "24",
            "2024-13",
            "2024-3",
            "2024-Q5",
            "2024-Q0",
            "2023-02-29",
            "2024/03",
            "2024-03-01-01",
            "abcd",
            "2024-M3",
            "0999",
        ] {
            assert!(Period::parse(bad).is_none(), "{bad} accepted");
        }
    }

    #[test]
    fn orders_in_time_within_a_style() {
        let mut v: Vec<Period> = ["2024-11", "2025-01", "2024-02"]
            .iter()
            .filter_map(|s| Period::parse(s))
            .collect();
        v.sort();
        let labels: Vec<&str> = v.iter().map(Period::as_str).collect();
        assert_eq!(labels, ["2024-02", "2024-11", "2025-01"]);
        assert!(Period::parse("2024-Q4") > Period::parse("2024-Q1"));
    }
}
