//! Header detection and mapping on arbitrary rows of strings, with the default schema's
//! matcher; normalisation must be idempotent and the chosen columns consistent.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use povcheck::read::header::{CandidateRow, HEADER_SCAN_ROWS, MIN_HEADER_MATCHES, find_header};
use povcheck::read::{HeaderMatcher, normalize_header};

fn matcher() -> &'static HeaderMatcher {
    static M: OnceLock<HeaderMatcher> = OnceLock::new();
    M.get_or_init(|| HeaderMatcher::from_schema(&povcheck::schema::default_schema()))
}

fuzz_target!(|rows: Vec<(u32, Vec<(u32, String)>)>| {
    let m = matcher();
    for (_, cells) in &rows {
        for (_, text) in cells {
            let once = normalize_header(text);
            assert_eq!(
                normalize_header(&once),
                once,
                "normalize_header not idempotent"
            );
            // Matching is by normalised text, so the normalised header names the same field.
            assert_eq!(m.field(text), m.field(&once));
        }
    }
    let candidates: Vec<CandidateRow> = rows;
    if let Some((row, columns)) = find_header(&candidates, m) {
        // Rows from `arbitrary` may repeat a row number (a real sheet never does): the header
        // is one of the first candidates with that number, and every column comes from it.
        let from_header = candidates
            .iter()
            .take(HEADER_SCAN_ROWS)
            .filter(|(r, _)| *r == row)
            .any(|(_, cells)| {
                columns.iter().all(|c| {
                    cells
                        .iter()
                        .any(|(col, text)| *col as usize == c.index && *text == c.header)
                })
            });
        assert!(
            from_header,
            "header row {row}: columns not from one candidate row"
        );
        let mapped: Vec<&str> = columns.iter().filter_map(|c| c.field.as_deref()).collect();
        let mut distinct = mapped.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(mapped.len(), distinct.len(), "a field mapped twice");
        assert!(
            distinct.len() >= MIN_HEADER_MATCHES,
            "too few fields for a header"
        );
    }
});
