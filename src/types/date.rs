//! Dates as clerks write them (text forms and Excel serial numbers), and ages in completed years.
//!
//! ## What it checks
//! V401: a value in a date field that is not a real calendar date in one of the accepted forms.

use super::{FieldCtx, Fill, Parsed, Value};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

/// Rule code of an invalid date.
pub const CODE_INVALID: &str = "V401";

/// Largest serial Excel accepts (9999-12-31).
const MAX_SERIAL: f64 = 2_958_465.0;

/// Parse a date written as text: `1990-01-01`, `1990/1/1`, `1990.1.1`, compact `19900101` or
/// `1990年1月1日`. A time part after a space (`1990-01-01 00:00:00`, as CSV exports of date cells
/// carry) is accepted and dropped. The caller trims surrounding white space first (V602).
/// Returns None for anything else, including dates that do not exist (1990-02-30).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let date_part = match text.split_once(' ') {
        Some((d, t)) if is_time(t) => d,
        Some(_) => return None,
        None => text,
    };
    if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
        let y = date_part.get(0..4)?.parse().ok()?;
        let m = date_part.get(4..6)?.parse().ok()?;
        let d = date_part.get(6..8)?.parse().ok()?;
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    if let Some(rest) = date_part.strip_suffix('日') {
        let (y, rest) = rest.split_once('年')?;
        let (m, d) = rest.split_once('月')?;
        return ymd(y, m, d);
    }
    for sep in ['-', '/', '.'] {
        let mut parts = date_part.split(sep);
        if let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            return ymd(y, m, d);
        }
    }
    None
}

/// A 4-digit year, 1–2 digit month and day, all ASCII digits, forming a real date.
fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let digits =
        |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y, &[4]) && digits(m, &[1, 2]) && digits(d, &[1, 2])) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `HH:MM` or `HH:MM:SS`, a real time of day.
fn is_time(t: &str) -> bool {
    NaiveTime::parse_from_str(t, "%H:%M:%S").is_ok()
        || NaiveTime::parse_from_str(t, "%H:%M").is_ok()
}

/// The calendar date of an Excel serial number (1900 date system; the fractional part, a time of
/// day, is dropped). Excel counts 1900-02-29, which never existed (serial 60, a bug kept from
/// Lotus 1-2-3): serials before it count from 1899-12-31, later ones from 1899-12-30, and serial
/// 60 itself is None. Serials below 1 or past 9999-12-31, and non-finite values, are None.
pub fn from_excel_serial(serial: f64) -> Option<NaiveDate> {
    excel_serial_datetime(serial).map(|dt| dt.date())
}

/// Like [`from_excel_serial`], keeping the time of day (rounded to the second).
pub fn excel_serial_datetime(serial: f64) -> Option<NaiveDateTime> {
    if !serial.is_finite() || !(1.0..MAX_SERIAL + 1.0).contains(&serial) {
        return None;
    }
    let days = serial.floor();
    if days == 60.0 {
        return None;
    }
    let epoch = if days < 60.0 {
        NaiveDate::from_ymd_opt(1899, 12, 31)?
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    // Range-checked above, so the cast cannot truncate.
    let date = epoch.checked_add_signed(Duration::days(days as i64))?;
    let secs = ((serial - days) * 86_400.0).round() as i64;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    // A fraction that rounds up to 86400 s is the next midnight, as Excel shows it.
    midnight.checked_add_signed(Duration::seconds(secs))
}

/// Age in completed years at `as_of` (周岁). Someone born on 29 February completes a year on
/// 1 March in common years. Negative when `birth` is after `as_of`.
pub fn age_at(birth: NaiveDate, as_of: NaiveDate) -> i32 {
    let years = as_of.year() - birth.year();
    if (as_of.month(), as_of.day()) < (birth.month(), birth.day()) {
        years - 1
    } else {
        years
    }
}

/// V401 (registered in [`super::BUILTINS`]): a date field's value is no date.
pub(super) fn check_invalid(v: &Value<'_>, _: &FieldCtx) -> Option<Fill> {
    matches!(v.parsed, Parsed::Date(None)).then(Fill::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn accepted_text_forms() {
        for s in [
            "1990-01-01",
            "1990/1/1",
            "1990.1.1",
            "19900101",
            "1990年1月1日",
            "1990-1-01",
            "1990-01-01 00:00:00",
            "1990/01/01 08:30",
        ] {
            assert_eq!(parse_date(s), Some(d(1990, 1, 1)), "{s}");
        }
        assert_eq!(parse_date("2000年12月31日"), Some(d(2000, 12, 31)));
        assert_eq!(parse_date("2020-02-29"), Some(d(2020, 2, 29)));
    }

    #[test]
    fn rejected_text_forms() {
        for s in [
            "",
            "1990-02-30",
            "2019-02-29",
            "19901301",
            "1990013",
            "90-01-01",
            "1990-01",
            "1990-01-01-01",
            "1990/01-01",
            "1990年1月1",
            "1990年1月32日",
            "１９９０-01-01",
            "1990-01-01 25:00",
            "1990-01-01 x",
            "1990-001-01",
            "abc",
            "+990-01-01",
        ] {
            assert_eq!(parse_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn excel_serials() {
        assert_eq!(from_excel_serial(1.0), Some(d(1900, 1, 1)));
        assert_eq!(from_excel_serial(59.0), Some(d(1900, 2, 28)));
        assert_eq!(from_excel_serial(60.0), None);
        assert_eq!(from_excel_serial(61.0), Some(d(1900, 3, 1)));
        assert_eq!(from_excel_serial(32874.0), Some(d(1990, 1, 1)));
        assert_eq!(from_excel_serial(32874.75), Some(d(1990, 1, 1)));
        assert_eq!(from_excel_serial(43831.0), Some(d(2020, 1, 1)));
        assert_eq!(from_excel_serial(2_958_465.0), Some(d(9999, 12, 31)));
        for bad in [0.0, 0.5, -1.0, 2_958_466.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(from_excel_serial(bad), None, "{bad}");
        }
    }

    #[test]
    fn excel_serial_times() {
        let dt = excel_serial_datetime(32874.5).unwrap();
        assert_eq!(dt.to_string(), "1990-01-01 12:00:00");
        // A hair before midnight rounds to the next day, not to 24:00:00.
        let dt = excel_serial_datetime(32_874.999_999_9).unwrap();
        assert_eq!(dt.to_string(), "1990-01-02 00:00:00");
    }

    #[test]
    fn ages_in_completed_years() {
        let as_of = d(2020, 12, 31);
        assert_eq!(age_at(d(1990, 12, 31), as_of), 30);
        assert_eq!(age_at(d(1991, 1, 1), as_of), 29);
        assert_eq!(age_at(d(2020, 12, 31), as_of), 0);
        assert_eq!(age_at(d(2021, 1, 1), as_of), -1);
        // Leap-day birthdays complete the year on 1 March in common years.
        assert_eq!(age_at(d(2000, 2, 29), d(2019, 2, 28)), 18);
        assert_eq!(age_at(d(2000, 2, 29), d(2019, 3, 1)), 19);
        assert_eq!(age_at(d(2000, 2, 29), d(2020, 2, 29)), 20);
    }
}
