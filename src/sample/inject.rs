//! The catalogue of injectable errors: for each kind, the household it needs, how it is made and
//! which rule code it must trigger (alone, per the overlap rules of rules.md).

use super::people::{IdAlloc, Person, Rng, Want, id_check};

/// One kind of injected error. Each is designed so that exactly its code fires: the household
/// it lands in is shaped (`want`) so that no neighbouring rule is touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    C101,
    V102,
    V103,
    V105,
    V106,
    V201,
    V301,
    V302,
    V501,
    L101,
    L111,
    L121,
    L202,
    L203,
    L301,
    L401,
    L503,
    D101,
    C107,
    C108,
    C109,
    C111,
    C112,
    C113,
    C114,
    C115,
    V304,
    V305,
    L114,
    L126,
    L127,
    L129,
    L132,
    L133,
    V108,
    L131,
    L208,
    L209,
    L305,
    L306,
    L307,
    L308,
    L406,
    L505,
    L604,
    L605,
    L606,
    L607,
    L608,
    L609,
    L610,
}

/// Round-robin order, so even a small sample shows every kind.
pub(crate) const KINDS: &[Kind] = &[
    Kind::C101,
    Kind::V102,
    Kind::V103,
    Kind::V105,
    Kind::V106,
    Kind::V201,
    Kind::V301,
    Kind::V302,
    Kind::V501,
    Kind::L101,
    Kind::L111,
    Kind::L121,
    Kind::L202,
    Kind::L203,
    Kind::L301,
    Kind::L401,
    Kind::L503,
    Kind::D101,
    Kind::C107,
    Kind::C108,
    Kind::C109,
    Kind::C111,
    Kind::C112,
    Kind::C113,
    Kind::C114,
    Kind::C115,
    Kind::V304,
    Kind::V305,
    Kind::L114,
    Kind::L126,
    Kind::L127,
    Kind::L129,
    Kind::L132,
    Kind::L133,
    Kind::V108,
    Kind::L131,
    Kind::L208,
    Kind::L209,
    Kind::L305,
    Kind::L306,
    Kind::L307,
    Kind::L308,
    Kind::L406,
    Kind::L505,
    Kind::L604,
    Kind::L605,
    Kind::L606,
    Kind::L607,
    Kind::L608,
    Kind::L609,
    Kind::L610,
];

impl Kind {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::C101 => "C101",
            Kind::V102 => "V102",
            Kind::V103 => "V103",
            Kind::V105 => "V105",
            Kind::V106 => "V106",
            Kind::V201 => "V201",
            Kind::V301 => "V301",
            Kind::V302 => "V302",
            Kind::V501 => "V501",
            Kind::L101 => "L101",
            Kind::L111 => "L111",
            Kind::L121 => "L121",
            Kind::L202 => "L202",
            Kind::L203 => "L203",
            Kind::L301 => "L301",
            Kind::L401 => "L401",
            Kind::L503 => "L503",
            Kind::D101 => "D101",
            Kind::C107 => "C107",
            Kind::C108 => "C108",
            Kind::C109 => "C109",
            Kind::C111 => "C111",
            Kind::C112 => "C112",
            Kind::C113 => "C113",
            Kind::C114 => "C114",
            Kind::C115 => "C115",
            Kind::V304 => "V304",
            Kind::V305 => "V305",
            Kind::L114 => "L114",
            Kind::L126 => "L126",
            Kind::L127 => "L127",
            Kind::L129 => "L129",
            Kind::L132 => "L132",
            Kind::L133 => "L133",
            Kind::V108 => "V108",
            Kind::L131 => "L131",
            Kind::L208 => "L208",
            Kind::L209 => "L209",
            Kind::L305 => "L305",
            Kind::L306 => "L306",
            Kind::L307 => "L307",
            Kind::L308 => "L308",
            Kind::L406 => "L406",
            Kind::L505 => "L505",
            Kind::L604 => "L604",
            Kind::L605 => "L605",
            Kind::L606 => "L606",
            Kind::L607 => "L607",
            Kind::L608 => "L608",
            Kind::L609 => "L609",
            Kind::L610 => "L610",
        }
    }

    /// The household shape this kind needs. `variant` alternates the two forms of C101/V201.
    pub(crate) fn want(self, variant: u32) -> Want {
        let mut w = Want::default();
        match self {
            Kind::L101 => w.no_spouse = true,
            // Unlifted, so L403 (its household echo) stays silent.
            Kind::L111 => {
                w.child_age = Some((10, 10));
                w.lifted = Some(false);
            }
            Kind::L121 => {
                w.child_age = Some((12, 15));
                w.lifted = Some(false);
            }
            Kind::L202 => w.adult_child = true,
            Kind::L401 => w.lifted = Some(true),
            // Unlifted: a lifted household's cause is history, L503 only judges 未脱贫 / 返贫.
            Kind::L503 => {
                w.adults_only = true;
                w.lifted = Some(false);
            }
            Kind::V201 if variant.is_multiple_of(2) => w.child_age = Some((12, 14)),
            Kind::V201 => w.lifted = Some(true),
            Kind::V302 => w.head_working = true,
            // A child whose cell is blanked: other members keep the household's 低保 answer (L601).
            Kind::C107 => w.child_age = Some((8, 12)),
            // An adult child out of school (aged 16–22): a blank 在校生状况 below 16 is also L111.
            Kind::C109 | Kind::L114 => w.child_age = Some((16, 22)),
            Kind::L129 => w.child_age = Some((16, 17)),
            // A healthy child under 16 with 丧失劳动力: L125 only looks at 16–59.
            Kind::L126 => w.child_age = Some((8, 12)),
            Kind::C115 => w.lifted = Some(false),
            Kind::V305 => w.lifted = Some(true),
            // A healthy working head: the one changed (or the worker the moved wage needs).
            Kind::V304 | Kind::L127 | Kind::L132 | Kind::L133 | Kind::V108 | Kind::L131 => {
                w.head_working = true
            }
            Kind::L208 => {
                w.child_age = Some((18, 30));
                w.spouse_and_opposite_child = true;
            }
            Kind::L306 | Kind::L610 => w.head_working = true,
            // A working head keeps the household off L604 once it is forced to 一般.
            Kind::L308 => {
                w.lifted = Some(false);
                w.kind = Some(0);
                w.head_working = true;
            }
            Kind::L406 => w.lifted = Some(true),
            Kind::L604 => {
                w.lone_elder = true;
                w.kind = Some(0);
            }
            Kind::L605 | Kind::L607 | Kind::L609 => {
                w.lone_elder = true;
                w.kind = Some(2);
            }
            Kind::L606 | Kind::L608 => w.kind = Some(1),
            _ => {}
        }
        w
    }

    /// Rows the household needs at least.
    pub(crate) fn min_rows(self, variant: u32) -> u32 {
        match self {
            Kind::L111 | Kind::L121 | Kind::L202 => 2,
            Kind::C107 | Kind::C109 | Kind::L114 | Kind::L126 | Kind::L129 => 2,
            Kind::L208 => 3,
            Kind::V201 if variant.is_multiple_of(2) => 2,
            _ => 1,
        }
    }
}

/// Index of the first 之子/之女 (the child a `want.child_age` household was built around).
pub(crate) fn first_child(members: &[Person]) -> Option<usize> {
    members
        .iter()
        .position(|p| matches!(p.rel, "之子" | "之女"))
}

/// Change made to an ID number cell (kept apart from `Person` because the sample person stays
/// the same fictitious individual; only what is written differs).
pub(crate) enum IdDamage {
    /// Text written instead of the ID.
    Text(String),
    /// CSV text and xlsx numeric value for an ID stored as a number.
    Number(String, f64),
}

pub(crate) fn damage_id(kind: Kind, p: &Person, ids: &mut IdAlloc) -> Option<IdDamage> {
    let mut id = p.id;
    match kind {
        Kind::V102 => {
            let last = id[17];
            id[17] = match last {
                b'X' => b'0',
                b'9' => b'0',
                d => d + 1,
            };
            Some(IdDamage::Text(ascii(&id)))
        }
        Kind::V103 => {
            id[10] = b'1';
            id[11] = b'3';
            id[17] = id_check(&id[..17]);
            Some(IdDamage::Text(ascii(&id)))
        }
        Kind::V105 => {
            // What Excel keeps of an 18-digit number: 15 significant digits, shown as 4.40811E+17.
            let head: u64 = ascii(&id[..15]).parse().unwrap_or(0);
            let value = head as f64 * 1000.0;
            let sci = format!("{value:.5E}");
            let (mantissa, exp) = sci.split_once('E').unwrap_or((&sci, "17"));
            let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
            Some(IdDamage::Number(format!("{mantissa}E+{exp}"), value))
        }
        Kind::V106 => {
            let x = ids.alloc(p.region, p.birth, p.male, true);
            Some(IdDamage::Text(ascii(&x).to_lowercase()))
        }
        // A 20-character 残疾人证 number: category 1, grade 4 (L132: on a healthy person) or
        // grade 2, severe (L133: on a disabled labourer).
        Kind::L132 => Some(IdDamage::Text(format!("{}14", ascii(&id)))),
        Kind::L133 => Some(IdDamage::Text(format!("{}12", ascii(&id)))),
        _ => None,
    }
}

pub(crate) fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Pick a member index for a person-level error.
pub(crate) fn any_member(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

pub(crate) const CHINESE_NUMERALS: &[&str] =
    &["一", "二", "三", "四", "五", "六", "七", "八", "九"];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn person() -> (Person, IdAlloc) {
        let mut ids = IdAlloc::default();
        let birth = NaiveDate::from_ymd_opt(1975, 3, 9).unwrap();
        let id = ids.alloc(440811, birth, true, false);
        let p = Person {
            name: "陈明".into(),
            id,
            birth,
            age: 42,
            male: true,
            region: 440811,
            rel: "户主",
            nation: "汉族",
            edu: "初中",
            school: "非在校生",
            health: "健康",
            labour: "普通劳动力",
            work: "",
            months: 0,
            medical: true,
            serious: true,
            pension: true,
            dibao: false,
            wubao: false,
        };
        (p, ids)
    }

    #[test]
    fn v103_keeps_a_valid_check_digit() {
        let (p, mut ids) = person();
        let Some(IdDamage::Text(t)) = damage_id(Kind::V103, &p, &mut ids) else {
            panic!("text expected");
        };
        let b = t.as_bytes();
        assert_eq!(&t[10..12], "13");
        assert_eq!(id_check(&b[..17]), b[17]);
    }

    #[test]
    fn v102_breaks_only_the_check_digit() {
        let (p, mut ids) = person();
        let Some(IdDamage::Text(t)) = damage_id(Kind::V102, &p, &mut ids) else {
            panic!("text expected");
        };
        assert_eq!(t[..17], ascii(&p.id[..17]));
        assert_ne!(id_check(&t.as_bytes()[..17]), t.as_bytes()[17]);
    }

    #[test]
    fn v105_looks_like_excel_scientific_notation() {
        let (p, mut ids) = person();
        let Some(IdDamage::Number(t, v)) = damage_id(Kind::V105, &p, &mut ids) else {
            panic!("number expected");
        };
        assert_eq!(t, "4.40811E+17");
        // Written to xlsx as the shortest round-trip digits: 18 digits ending in 000.
        let shown = format!("{v}");
        assert_eq!(shown.len(), 18, "{shown}");
        assert!(shown.ends_with("000") && shown.starts_with(&ascii(&p.id[..15])));
    }

    #[test]
    fn v106_is_a_lower_case_x() {
        let (p, mut ids) = person();
        let Some(IdDamage::Text(t)) = damage_id(Kind::V106, &p, &mut ids) else {
            panic!("text expected");
        };
        assert!(t.ends_with('x'));
        assert_eq!(t[6..14], ascii(&p.id[6..14]));
    }
}
