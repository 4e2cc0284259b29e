//! Household rules do not depend on the order of a household's rows: the rule frame numbers
//! households by first appearance (members listed together, as exports list them, give
//! ascending numbers; scattered members do not). The same households must be found either way;
//! a polars sorted flag set on that column regardless of order makes this test fail.

#[path = "cli/common.rs"]
mod common;

use std::collections::BTreeMap;

use common::*;

fn household_findings(text: &str) -> BTreeMap<(String, String), usize> {
    let doc: serde_json::Value = serde_json::from_str(text).expect("json");
    let mut out = BTreeMap::new();
    for f in doc["findings"].as_array().expect("findings") {
        if f["scope"] == "household" {
            let key = (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["household"].as_str().unwrap_or_default().to_string(),
            );
            *out.entry(key).or_default() += 1;
        }
    }
    out
}

#[test]
fn scattered_members_give_the_household_findings_of_listed_together() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = povcheck(
        d.path(),
        &[
            "sample",
            "--rows",
            "3000",
            "--error-rate",
            "0.3",
            "--seed",
            "11",
            "-o",
            "s.csv",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(d.path().join("s.csv")).expect("sample");
    let lines: Vec<&str> = text.lines().collect();
    let (head, data) = lines.split_at(3);
    // Odd data rows first, then even ones: every household of two or more is split apart.
    let mut scattered: Vec<&str> = head.to_vec();
    scattered.extend(data.iter().step_by(2));
    scattered.extend(data.iter().skip(1).step_by(2));
    std::fs::write(d.path().join("i.csv"), scattered.join("\n") + "\n").expect("write");
    let listed = povcheck(d.path(), &["check", "s.csv", "--format", "json"]);
    let split = povcheck(d.path(), &["check", "i.csv", "--format", "json"]);
    assert_eq!(listed.code, 1, "{}", listed.stderr);
    assert_eq!(split.code, 1, "{}", split.stderr);
    let (a, b) = (
        household_findings(&listed.stdout),
        household_findings(&split.stdout),
    );
    assert!(a.values().sum::<usize>() >= 20, "{a:?}");
    assert_eq!(a, b);
}
