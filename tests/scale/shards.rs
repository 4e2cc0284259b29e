//! Shard files with cross-file problems, and the D findings of a run: shared by tests/scale.rs
//! (the local engine) and tests/distributed.rs (Ballista), which include it by path.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::*;

pub const SECRET: &str = "a synthetic test secret, 40 bytes long..";

/// A synthetic export split into four shard files, with cross-file problems added: a household
/// number reused in another file and village (D102), a phone number of one file's household
/// written for another file's (D103), and one person's ID in two files, once in its 15-digit
/// form (D101, compared on the 18-digit key).
pub fn shards(dir: &Path) -> Vec<String> {
    let r = povcheck(
        dir,
        &["sample", "--rows", "2400", "--seed", "7", "-o", "all.csv"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(dir.join("all.csv")).expect("sample");
    let lines: Vec<&str> = text.lines().collect();
    let (head, data) = lines.split_at(3);
    let header: Vec<&str> = head[2].split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (hid, village, phone, id) = (
        col("户编号"),
        col("行政村"),
        col("联系电话"),
        col("证件号码"),
    );
    let mut parts: Vec<Vec<Vec<String>>> = data
        .chunks(data.len() / 4 + 1)
        .map(|c| {
            c.iter()
                .map(|l| l.split(',').map(str::to_string).collect())
                .collect()
        })
        .collect();
    assert_eq!(parts.len(), 4);
    // D102: the first row of shard 1 joins the first household of shard 0, elsewhere.
    let h0 = parts[0][0][hid].clone();
    parts[1][0][hid] = h0;
    parts[1][0][village] = "测试村".to_string();
    // D103: a phone of shard 0 written on a row of another household in shard 2.
    let with_phone = |p: &Vec<Vec<String>>| {
        p.iter()
            .position(|r| !r[phone].is_empty())
            .expect("a row with a phone")
    };
    let (i0, i2) = (with_phone(&parts[0]), with_phone(&parts[2]));
    parts[2][i2][phone] = parts[0][i0][phone].clone();
    // D101: a person of shard 0 in shard 3 too, as the 15-digit form of the same ID.
    let id18 = parts[0][5][id].clone();
    assert_eq!(id18.len(), 18, "{id18}");
    parts[3][7][id] = format!("{}{}", &id18[..6], &id18[8..17]);
    let mut names = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        let name = format!("c{k}.csv");
        let mut out = head.join("\n");
        for r in p {
            out.push('\n');
            out.push_str(&r.join(","));
        }
        out.push('\n');
        std::fs::write(dir.join(&name), out).expect("write shard");
        names.push(name);
    }
    names
}

pub fn json(r: &Ran) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr))
}

/// (rule, file, sheet, row) of every D finding.
pub fn d_findings(v: &serde_json::Value) -> BTreeSet<(String, String, String, u64)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with('D')))
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["sheet"].as_str().unwrap_or_default().to_string(),
                f["row"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

pub fn args<'a>(first: &[&'a str], files: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = first.to_vec();
    v.extend(files.iter().map(String::as_str));
    v.extend(rest);
    v
}
