//! ID-number checking on arbitrary strings, with invariants: a valid result has a birth date,
//! sex and region; normalisation is idempotent; the 18-character form has a correct check
//! character.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use povcheck::types::id_number::{IdKind, check_char, check_id, normalize_id};

fuzz_target!(|data: &[u8]| {
    // Plain text seeds stay meaningful: a leading '#' marks a value from a numeric cell.
    let (numeric, rest) = match data.split_first() {
        Some((b'#', rest)) => (true, rest),
        _ => (false, data),
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let as_of = NaiveDate::from_ymd_opt(2020, 12, 31).expect("valid date");
    let c = check_id(raw, numeric, as_of);
    let once = normalize_id(raw);
    assert_eq!(normalize_id(&once), once, "normalize_id not idempotent");
    if c.issues.is_empty() || c.is_valid() {
        assert_ne!(c.kind, IdKind::Unknown, "valid but no kind: {raw:?}");
        let birth = c.birth.expect("a valid ID has a birth date");
        assert!(birth <= as_of, "valid ID born after the reference date");
        assert!(c.sex.is_some(), "a valid ID has a sex");
        assert!(
            c.region.as_deref().is_some_and(|r| r.len() == 6),
            "a valid ID has a region"
        );
        let id18 = c.id18().expect("a valid ID has an 18-character form");
        assert_eq!(id18.len(), 18);
        let expected = id18.get(..17).and_then(check_char);
        assert_eq!(id18.chars().nth(17), expected, "check character of {id18}");
    }
    // Checking the normalised value must agree on everything but the V106 note.
    let again = check_id(&c.normalized, numeric, as_of);
    assert_eq!(again.kind, c.kind);
    assert_eq!(again.birth, c.birth);
    assert_eq!(again.is_valid(), c.is_valid());
});
