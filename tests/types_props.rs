//! Property tests of the built-in field types: the ID checker against an independent GB 11643
//! implementation, the 15→18 upgrade, the ID generator, and idempotent normalisation.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::select;

use povcheck::read::Cell;
use povcheck::types::{self, IdIssue, IdKind, Sex};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 12, 31).expect("valid date")
}

/// A second, deliberately different implementation of GB 11643-1999 for 18-character numbers:
/// weights computed as 2^(17-i) mod 11 instead of read from a table, the check value as
/// (12 - S mod 11) mod 11, dates by hand-written calendar arithmetic, provinces as numeric ranges.
mod reference {
    pub fn checksum_ok(id: &[u8; 18]) -> bool {
        let mut s = 0u32;
        for (i, &b) in id.iter().take(17).enumerate() {
            let weight = (1u32 << (17 - i)) % 11;
            s += u32::from(b - b'0') * weight;
        }
        let check = (12 - s % 11) % 11;
        let want = if check == 10 {
            b'X'
        } else {
            b'0' + check as u8
        };
        id[17] == want
    }

    fn num(bytes: &[u8]) -> u32 {
        bytes.iter().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
    }

    pub fn date_ok(id: &[u8; 18], as_of: (u32, u32, u32)) -> bool {
        let (y, m, d) = (num(&id[6..10]), num(&id[10..12]), num(&id[12..14]));
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in_month = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days_in_month).contains(&d) && y >= 1900 && (y, m, d) <= as_of
    }

    pub fn region_ok(id: &[u8; 18]) -> bool {
        let province = num(&id[0..2]);
        let city = num(&id[2..4]);
        match province {
            11 | 12 | 31 => city == 1 || city == 2,
            50 => (1..=3).contains(&city),
            81..=83 => city == 0,
            71 => true,
            13..=15 | 21..=23 | 32..=37 | 41..=46 | 51..=54 | 61..=65 => city != 0,
            _ => false,
        }
    }

    pub fn shape_ok(id: &[u8]) -> bool {
        id.len() == 18
            && id[..17].iter().all(u8::is_ascii_digit)
            && (id[17].is_ascii_digit() || id[17] == b'X')
    }
}

/// Valid-looking address codes and some that are not, so every region branch is exercised.
const REGIONS: &[&str] = &[
    "440811", "440802", "440308", "110101", "120102", "310230", "500101", "500381", "469001",
    "650102", "540102", "810000", "820000", "830000", "710000", "990426", "100101", "440011",
    "110301", "500401", "810101", "000000", "123456",
];

/// 18-character candidates built like IDs (a region, a date-ish block, a sequence) with either
/// the right check character or an arbitrary one, so valid numbers are common, not one in 11.
fn id_like() -> impl Strategy<Value = String> {
    // Dates at the edges of validity (1900, the reference date, leap days) next to random ones.
    let edge_dates = select(
        &[
            (1899, 12, 31),
            (1900, 1, 1),
            (1900, 2, 29),
            (2000, 2, 29),
            (2019, 2, 29),
            (2020, 2, 29),
            (2020, 12, 31),
            (2021, 1, 1),
        ][..],
    );
    (
        prop_oneof![select(REGIONS).prop_map(str::to_string), digits(6)],
        prop_oneof![(1880u32..2030, 0u32..14, 0u32..33), edge_dates],
        0u32..1000,
        prop_oneof![Just(None), select(&b"0123456789X"[..]).prop_map(Some)],
    )
        .prop_map(|(region, (y, m, d), seq, check)| {
            let first17 = format!("{region}{y:04}{m:02}{d:02}{seq:03}");
            let check = check
                .map(char::from)
                .or_else(|| types::check_char(&first17))
                .unwrap_or('0');
            format!("{first17}{check}")
        })
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

/// Arbitrary 18-character strings over an ID-ish alphabet (digits, X, x, a letter, a space).
fn random18() -> impl Strategy<Value = String> {
    prop::collection::vec(select(&b"0123456789Xx A"[..]), 18)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn any_string() -> impl Strategy<Value = String> {
    let interesting = select(
        &[
            'x', 'X', 'b', 'B', '1', '0', ' ', '\u{00A0}', '\u{3000}', '\u{200B}', '\u{FEFF}',
            '\u{FF11}', '\u{FF38}', '\u{FF58}', 'E', '.', '+', '张', '·', '(', '（',
        ][..],
    );
    prop::collection::vec(prop_oneof![any::<char>(), interesting], 0..30)
        .prop_map(|v| v.into_iter().collect())
}

fn check_against_reference(s: &str) -> Result<(), TestCaseError> {
    let got = types::check_id(s, false, as_of());
    let bytes = s.as_bytes();
    if !reference::shape_ok(bytes) {
        // Lower-case x and spaces are normalised (V106), then checked like any other value.
        let normalized = s.replace(' ', "").replace('x', "X");
        if normalized != s && reference::shape_ok(normalized.as_bytes()) {
            prop_assert!(got.has("V106") || got.has("V101"), "{s}: {:?}", got.issues);
            let direct = types::check_id(&normalized, false, as_of());
            prop_assert_eq!(got.is_valid(), direct.is_valid());
            prop_assert_eq!(got.birth, direct.birth);
            return check_against_reference(&normalized);
        }
        // Anything else is malformed, unless removing spaces left a 15-digit old form.
        prop_assert!(
            got.has("V101") || got.kind == IdKind::Old15,
            "{s}: {:?}",
            got.issues
        );
        prop_assert!(!got.is_valid() || got.kind == IdKind::Old15);
        return Ok(());
    }
    let Ok(id) = <[u8; 18]>::try_from(bytes) else {
        return Err(TestCaseError::fail("shape_ok implies 18 bytes"));
    };
    let (checksum, date, region) = (
        reference::checksum_ok(&id),
        reference::date_ok(&id, (2020, 12, 31)),
        reference::region_ok(&id),
    );
    prop_assert_eq!(
        got.is_valid(),
        checksum && date && region,
        "{}: {:?}",
        s,
        got.issues
    );
    if !got.has("V101") {
        prop_assert_eq!(got.has("V102"), !checksum, "{}", s);
        prop_assert_eq!(got.has("V103"), !date, "{}", s);
        prop_assert_eq!(got.has("V104"), !region, "{}", s);
        prop_assert_eq!(got.kind, IdKind::Resident18);
    }
    // Birth and sex are known exactly when the ID is usable and its date is real.
    let usable = !got.has("V101") && date;
    prop_assert_eq!(got.birth.is_some(), usable, "{}", s);
    prop_assert_eq!(got.sex.is_some(), usable, "{}", s);
    prop_assert_eq!(got.region.is_some(), usable && region, "{}", s);
    if let Some(birth) = got.birth {
        prop_assert_eq!(birth.format("%Y%m%d").to_string(), &s[6..14]);
        let odd = (id[16] - b'0') % 2 == 1;
        prop_assert_eq!(got.sex, Some(if odd { Sex::Male } else { Sex::Female }));
    }
    if let Some(IdIssue::Checksum { expected }) = got
        .issues
        .iter()
        .find(|i| matches!(i, IdIssue::Checksum { .. }))
    {
        let mut fixed = id;
        fixed[17] = *expected as u8;
        prop_assert!(reference::checksum_ok(&fixed));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn id_checker_agrees_with_reference_on_id_like_input(s in id_like()) {
        check_against_reference(&s)?;
    }

    #[test]
    fn id_checker_agrees_with_reference_on_random_input(s in random18()) {
        check_against_reference(&s)?;
    }

    #[test]
    fn upgrade15_round_trips(s in prop::collection::vec(0u8..10, 15)) {
        let id15: String = s.iter().map(|d| char::from(b'0' + d)).collect();
        let up = types::upgrade15(&id15);
        prop_assert!(up.is_some());
        let up = up.unwrap_or_default();
        prop_assert_eq!(up.len(), 18);
        prop_assert_eq!(&up[6..8], "19");
        let back = format!("{}{}", &up[..6], &up[8..17]);
        prop_assert_eq!(&back, &id15);
        let Ok(id) = <[u8; 18]>::try_from(up.as_bytes()) else {
            return Err(TestCaseError::fail("18 bytes"));
        };
        prop_assert!(reference::checksum_ok(&id));
        let got = types::check_id(&id15, false, as_of());
        if !got.has("V101") {
            prop_assert!(got.has("V107"));
            prop_assert_eq!(got.kind, IdKind::Old15);
            prop_assert_eq!(got.upgraded.as_deref(), Some(up.as_str()));
            prop_assert!(!got.has("V102"), "an upgraded ID cannot fail its own checksum");
        }
    }

    #[test]
    fn make_id_always_validates(
        region in select(&["440811", "440802", "110101", "500381", "650102", "810000"][..]),
        days in 0i64..44_195,
        seq in any::<u16>(),
    ) {
        let start = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
        let birth = start + chrono::Duration::days(days);
        prop_assume!(birth <= as_of());
        let id = types::make_id(region, birth, seq);
        let got = types::check_id(&id, false, as_of());
        prop_assert!(got.issues.is_empty(), "{}: {:?}", id, got.issues);
        let Ok(bytes) = <[u8; 18]>::try_from(id.as_bytes()) else {
            return Err(TestCaseError::fail("18 bytes"));
        };
        prop_assert!(reference::checksum_ok(&bytes), "{}", id);
        prop_assert_eq!(got.birth, Some(birth));
        prop_assert_eq!(got.region.as_deref(), Some(region));
        let male = (seq % 1000) % 2 == 1;
        prop_assert_eq!(got.sex, Some(if male { Sex::Male } else { Sex::Female }));
    }

    #[test]
    fn normalisation_is_idempotent(s in any_string()) {
        let once = types::normalize_id(&s);
        prop_assert_eq!(types::normalize_id(&once), once.clone());
        let trimmed = types::trim_value(&s).value;
        let again = types::trim_value(&trimmed);
        prop_assert_eq!(&again.value, &trimmed);
        prop_assert!(!again.changed);
        let folded = types::code_list::fold(&s);
        prop_assert_eq!(types::code_list::fold(&folded), folded.clone());
    }

    #[test]
    fn checkers_never_panic(s in any_string(), numeric in any::<bool>()) {
        let got = types::check_id(&s, numeric, as_of());
        // V105 and V101 leave nothing to trust.
        if got.has("V105") || got.has("V101") {
            prop_assert!(got.birth.is_none() && got.sex.is_none() && got.region.is_none());
        }
        if got.has("V105") {
            prop_assert_eq!(got.issues.len(), 1);
        }
        let _ = types::parse_date(&s);
        let _ = types::parse_number(&s);
        let _ = types::is_valid_phone(&s);
        let _ = types::check_bank_card(&s);
        let _ = types::check_name(&s);
        let _ = types::lookup(&s, &["初中".to_string(), "小学".to_string()], &Default::default());
    }

    #[test]
    fn whole_numbers_display_as_digits(n in -999_999_999_999_999i64..=999_999_999_999_999) {
        // Up to 15 digits Excel shows a whole number exactly; so must cell_text.
        let text = types::cell_text(Cell::Number(n as f64).as_ref());
        prop_assert_eq!(text, Some(n.to_string()));
    }

    #[test]
    fn displayed_numbers_parse_back_closely(x in -1e15f64..1e15) {
        // Below 1e-9 Excel (and number_text) switch to scientific form, which is not typed text.
        prop_assume!(x == 0.0 || x.abs() >= 1e-9);
        let text = types::number_text(x);
        let back = types::parse_number(&text);
        prop_assert!(back.is_some(), "{} -> {}", x, text);
        let back = back.unwrap_or(f64::NAN);
        prop_assert!((back - x).abs() <= x.abs() * 1e-14 + 1e-300, "{} -> {}", x, text);
    }
}
