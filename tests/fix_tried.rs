//! `povcheck fix` and receipts tried as issue 14's "How it will be tried" says, on inputs the
//! other tests do not use: a workbook of several sheets (a notes sheet, one data sheet per
//! town) with title rows, merged titles, styles, widths, a formula and IDs stored as numbers;
//! CSV in UTF-16. Each copy is re-checked: its findings must be exactly the input's minus the
//! ones the change log says it fixed, compared as (sheet, rule, row, column) sets, and every
//! cell the log does not name must be unchanged, with its style, merges and widths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use umya_spreadsheet as umya;

const AS_OF: &str = "2017-12-31";
const FIXABLE: [&str; 4] = ["V106", "V107", "V602", "V201"];

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
        .args(args)
        .env_remove("POVCHECK_LEDGER")
        .output()
        .expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A generated export as CSV text (a title row, an export-time row, the header, the data).
fn sample_csv(dir: &Path, error_rate: &str, seed: &str) -> String {
    let out = dir.join(format!("gen-{seed}.csv"));
    let o = run(&[
        "sample",
        "--rows",
        "160",
        "--error-rate",
        error_rate,
        "--seed",
        seed,
        "--as-of",
        AS_OF,
        "-o",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(&out)
        .expect("utf-8 sample")
        .trim_start_matches('\u{FEFF}')
        .to_string()
}

/// A valid 18-digit ID born in the 1900s, not otherwise flagged.
fn clean_id(v: &str) -> bool {
    let as_of = chrono::NaiveDate::from_ymd_opt(2017, 12, 31).expect("date");
    v.len() == 18
        && v.get(6..8) == Some("19")
        && povcheck::types::check_id(v, false, as_of).issues.is_empty()
}

/// The 15-digit old form of an 18-digit ID born in the 1900s.
fn old_form(id: &str) -> String {
    format!("{}{}", &id[..6], &id[8..17])
}

/// (sheet, rule, row, column) of every finding of `check` on `path`.
type Key = (String, String, u64, String);

fn findings(path: &Path) -> BTreeSet<Key> {
    let o = run(&[
        "check",
        s(path),
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--fail-on",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (
                text("sheet"),
                text("rule"),
                f["row"].as_u64().unwrap_or(0),
                text("column"),
            )
        })
        .collect()
}

/// The findings of `check` on `path` with their cells, to match against the change log.
fn findings_with_cells(path: &Path) -> Vec<(Key, String)> {
    let o = run(&[
        "check",
        s(path),
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--fail-on",
        "never",
    ]);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (
                (
                    text("sheet"),
                    text("rule"),
                    f["row"].as_u64().unwrap_or(0),
                    text("column"),
                ),
                text("cell"),
            )
        })
        .collect()
}

/// Fixes `input` into `out`, then checks the copy's findings are exactly the input's minus
/// the fixed ones. Returns the copy's path and the change log.
fn fix_and_recheck(input: &Path, out: &Path, copy_name: &str) -> (PathBuf, Vec<Value>) {
    let before = findings_with_cells(input);
    let o = run(&[
        "fix",
        s(input),
        "-o",
        s(out),
        "--format",
        "json",
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log: Value = serde_json::from_slice(&o.stdout).expect("json log");
    let changes = log["changes"].as_array().expect("changes").clone();
    assert!(!changes.is_empty(), "{log}");
    for c in &changes {
        for r in c["rules"].as_array().expect("rules") {
            assert!(
                FIXABLE.contains(&r.as_str().expect("rule")),
                "only safe fixes: {c}"
            );
        }
    }
    let fixed = |(k, cell): &(Key, String)| {
        changes.iter().any(|c| {
            c["sheet"].as_str().unwrap_or("") == k.0
                && c["cell"].as_str() == Some(cell.as_str())
                && c["rules"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|r| r.as_str() == Some(k.1.as_str())))
        })
    };
    let expected: BTreeSet<Key> = before
        .iter()
        .filter(|f| !fixed(f))
        .map(|(k, _)| k.clone())
        .collect();
    let copy = out.join(copy_name);
    let after = findings(&copy);
    let gone: Vec<_> = expected.difference(&after).collect();
    let new: Vec<_> = after.difference(&expected).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "unfixed findings that went: {gone:?}\nfindings that appeared: {new:?}"
    );
    (copy, changes)
}

/// What the test planted, to check the copy by.
struct Planted {
    /// (sheet, A1) of a 15-digit ID written as a number, with its 18-digit form.
    numeric_old: Vec<(String, String, String)>,
    /// (sheet, A1) of an 18-digit ID written as a number (its digits are lost: never fixed).
    numeric_lost: (String, String),
}

fn col_letter(mut c: u32) -> String {
    let mut out = String::new();
    while c > 0 {
        let r = (c - 1) % 26;
        out.insert(0, char::from(b'A' + r as u8));
        c = (c - 1) / 26;
    }
    out
}

/// A district's workbook: a notes sheet first (a value with spaces, a formula, a number —
/// none of it data), then one sheet per town with a merged, bold title row, an export-time row,
/// a styled header, numbers as numbers, set widths; planted: 15-digit IDs stored as numbers
/// (V107), an 18-digit ID stored as a number (V105), white space around a code (V602).
fn district_workbook(csv: &str, path: &Path) -> Planted {
    let lines: Vec<Vec<&str>> = csv
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .collect();
    let header = &lines[2];
    let at = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (town, id, nation) = (at("乡(镇)"), at("证件号码"), at("民族"));
    let text_cols: BTreeSet<usize> = ["户编号", "人编号", "证件号码", "联系电话", "银行卡号"]
        .iter()
        .map(|h| at(h))
        .collect();
    let mut towns: BTreeMap<&str, Vec<&Vec<&str>>> = BTreeMap::new();
    for row in &lines[3..] {
        if row.len() == header.len() {
            towns.entry(row[town]).or_default().push(row);
        }
    }
    assert!(towns.len() >= 2, "several towns: {:?}", towns.keys());

    let mut book = umya::new_file();
    {
        let notes = book.sheet_mut(0).expect("first sheet");
        notes.set_name("填表说明");
        notes.cell_mut("A1").set_value_string("填表说明");
        notes.cell_mut("A1").style_mut().font_mut().set_bold(true);
        notes
            .cell_mut("A2")
            .set_value_string(" 本表由各村填报，证件号码请设为文本 ");
        notes.cell_mut("A3").set_formula("1+1");
        notes.cell_mut("A3").set_formula_result_number(2);
        notes.cell_mut("A4").set_value_number(3.5);
        notes.column_dimension_mut("A").set_width(40.0);
    }
    let last = col_letter(header.len() as u32);
    let mut planted = Planted {
        numeric_old: Vec::new(),
        numeric_lost: (String::new(), String::new()),
    };
    for (t, (name, rows)) in towns.iter().enumerate() {
        let ws = book.new_sheet(*name).expect("new sheet");
        ws.cell_mut("A1").set_value_string(lines[0][0]);
        ws.cell_mut("A1").style_mut().font_mut().set_bold(true);
        ws.add_merge_cells(format!("A1:{last}1"));
        ws.cell_mut("A2").set_value_string(lines[1][0]);
        for (c, h) in header.iter().enumerate() {
            let cell = ws.cell_mut((c as u32 + 1, 3));
            cell.set_value_string(*h);
            cell.style_mut().font_mut().set_bold(true);
            cell.style_mut().set_background_color("FFDDEBF7");
        }
        ws.column_dimension_mut(&col_letter(id as u32 + 1))
            .set_width(22.0);
        ws.column_dimension_mut("A").set_width(9.5);
        let (mut olds, mut spaced) = (0, 0);
        for (i, row) in rows.iter().enumerate() {
            let r = i as u32 + 4;
            for (c, v) in row.iter().enumerate() {
                let cell = ws.cell_mut((c as u32 + 1, r));
                match v.parse::<f64>() {
                    Ok(n) if !text_cols.contains(&c) && !v.is_empty() => {
                        cell.set_value_number(n);
                    }
                    _ => {
                        cell.set_value_string(*v);
                    }
                }
            }
            let a1 = format!("{}{r}", col_letter(id as u32 + 1));
            let idv = row[id];
            if olds < 2 && i % 9 == 4 && clean_id(idv) {
                let old = old_form(idv);
                ws.cell_mut(a1.as_str())
                    .set_value_number(old.parse::<f64>().expect("digits"));
                planted
                    .numeric_old
                    .push((name.to_string(), a1.clone(), idv.to_string()));
                olds += 1;
            } else if t == 0
                && planted.numeric_lost.0.is_empty()
                && i > 20
                && clean_id(idv)
                && idv.bytes().all(|b| b.is_ascii_digit())
            {
                ws.cell_mut(a1.as_str())
                    .set_value_number(idv.parse::<f64>().expect("digits"));
                planted.numeric_lost = (name.to_string(), a1);
            } else if spaced < 1 && i % 7 == 3 && row[nation] == "汉族" {
                ws.cell_mut((nation as u32 + 1, r))
                    .set_value_string("汉族\u{3000}");
                spaced += 1;
            }
        }
        ws.cell_mut("A1"); // keep the title cell
    }
    assert!(planted.numeric_old.len() >= 2, "15-digit IDs planted");
    assert!(!planted.numeric_lost.0.is_empty(), "a lost ID planted");
    umya::writer::xlsx::write(&book, path).expect("write workbook");
    planted
}

type Cells = BTreeMap<String, (String, String, String, String)>;

/// Every cell of every sheet: A1 → (value, type, formula, style).
fn cells(book: &umya::Workbook) -> BTreeMap<String, Cells> {
    book.sheet_collection_no_check()
        .iter()
        .map(|ws| {
            let cells = ws
                .collection_to_hashmap()
                .values()
                .map(|c| {
                    (
                        c.coordinate().to_string(),
                        (
                            c.value().into_owned(),
                            c.data_type().to_string(),
                            c.formula().to_string(),
                            format!("{:?}", c.style()),
                        ),
                    )
                })
                .collect();
            (ws.name().to_string(), cells)
        })
        .collect()
}

fn layout(ws: &umya::Worksheet) -> (Vec<String>, Vec<(u32, String)>) {
    let mut merges: Vec<String> = ws.merge_cells().iter().map(|m| m.range()).collect();
    merges.sort();
    let widths = ws
        .column_dimensions()
        .iter()
        .map(|c| (c.col_num(), format!("{:.3}", c.width())))
        .collect();
    (merges, widths)
}

#[test]
fn a_workbook_of_several_sheets_with_title_rows_and_numeric_ids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = sample_csv(tmp.path(), "0.5", "11");
    let input = tmp.path().join("区.xlsx");
    let planted = district_workbook(&csv, &input);
    let before = findings(&input);
    for rule in ["V107", "V105", "V602"] {
        assert!(
            before.iter().any(|f| f.1 == rule),
            "input has {rule}: {before:?}"
        );
    }
    let sheets: BTreeSet<&str> = before.iter().map(|f| f.0.as_str()).collect();
    assert!(sheets.len() >= 2, "findings on several sheets: {sheets:?}");
    assert!(!sheets.contains("填表说明"), "the notes sheet is not data");

    let out = tmp.path().join("out");
    let (copy, changes) = fix_and_recheck(&input, &out, "区.xlsx");
    let after = findings(&copy);
    for rule in ["V107", "V602"] {
        assert!(!after.iter().any(|f| f.1 == rule), "{rule} left: {after:?}");
    }
    assert!(
        after.iter().any(|f| f.1 == "V105"),
        "a lost ID is never guessed"
    );

    let a = umya::reader::xlsx::read(&input).expect("input");
    let b = umya::reader::xlsx::read(&copy).expect("copy");
    // The numeric 15-digit IDs became their 18-digit form as text.
    for (sheet, a1, full) in &planted.numeric_old {
        let cell = b
            .sheet_by_name(sheet)
            .expect("sheet")
            .cell(a1.as_str())
            .expect("cell");
        assert_eq!(cell.value(), *full, "{sheet}!{a1}");
        assert_eq!(cell.data_type(), "s", "{sheet}!{a1} is text");
    }
    let (ls, la) = &planted.numeric_lost;
    let lost = b
        .sheet_by_name(ls)
        .expect("sheet")
        .cell(la.as_str())
        .expect("cell");
    assert_eq!(lost.data_type(), "n", "the lost ID is left as it was");

    // Cell by cell, every sheet: only logged cells differ, in value only.
    let logged: BTreeMap<(String, String), (String, String)> = changes
        .iter()
        .map(|c| {
            let t = |k: &str| c[k].as_str().expect(k).to_string();
            ((t("sheet"), t("cell")), (t("before"), t("after")))
        })
        .collect();
    assert_eq!(logged.len(), changes.len(), "each cell changed once");
    let (ca, cb) = (cells(&a), cells(&b));
    assert_eq!(
        ca.keys().collect::<Vec<_>>(),
        cb.keys()
            .filter(|k| k.as_str() != "修改记录")
            .collect::<Vec<_>>(),
        "the same sheets, the log sheet added"
    );
    for (sheet, cells_a) in &ca {
        let cells_b = &cb[sheet];
        assert_eq!(
            cells_a.keys().collect::<Vec<_>>(),
            cells_b.keys().collect::<Vec<_>>(),
            "{sheet}: same cells"
        );
        for (addr, (va, ta, fa, sa)) in cells_a {
            let (vb, tb, fb, sb) = &cells_b[addr];
            assert_eq!(sa, sb, "{sheet}!{addr}: style kept");
            assert_eq!(fa, fb, "{sheet}!{addr}: formula kept");
            match logged.get(&(sheet.clone(), addr.clone())) {
                Some((before, after)) => {
                    assert_eq!((va, vb), (before, after), "{sheet}!{addr}: as logged")
                }
                None => assert_eq!((va, ta), (vb, tb), "{sheet}!{addr}: value and type kept"),
            }
        }
        let (wa, wb) = (
            a.sheet_by_name(sheet).expect("a"),
            b.sheet_by_name(sheet).expect("b"),
        );
        assert_eq!(layout(wa), layout(wb), "{sheet}: merges and widths kept");
    }
    assert_eq!(cb["填表说明"]["A3"].2, "1+1");

    // The 修改记录 sheet lists each change: sheet, cell, …, before, after.
    let log = b.sheet_by_name("修改记录").expect("log sheet");
    let rows: BTreeSet<(String, String, String, String)> = (2..=log.highest_row())
        .map(|r| {
            let v = |c: u32| {
                log.cell((c, r))
                    .map(|x| x.value().into_owned())
                    .unwrap_or_default()
            };
            (v(1), v(2), v(5), v(6))
        })
        .collect();
    let want: BTreeSet<(String, String, String, String)> = logged
        .iter()
        .map(|((sh, c), (x, y))| (sh.clone(), c.clone(), x.clone(), y.clone()))
        .collect();
    assert_eq!(rows, want);
}

/// A sample CSV with two 15-digit IDs and a code with a trailing space, in UTF-16 with its BOM.
fn utf16_case(be: bool) {
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = sample_csv(tmp.path(), "0.3", "12");
    let header: Vec<&str> = csv.lines().nth(2).expect("header").split(',').collect();
    let id = header.iter().position(|h| *h == "证件号码").expect("id");
    let edu = header.iter().position(|h| *h == "文化程度").expect("edu");
    let (mut olds, mut spaced) = (0, 0);
    let text: Vec<String> = csv
        .split('\n')
        .enumerate()
        .map(|(n, line)| {
            let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
            if n > 2 && f.len() == header.len() {
                if olds < 2 && n % 5 == 1 && clean_id(&f[id]) {
                    f[id] = old_form(&f[id]);
                    olds += 1;
                } else if spaced < 1 && f[edu] == "初中" {
                    f[edu] = "初中 ".into();
                    spaced += 1;
                }
            }
            f.join(",")
        })
        .collect();
    assert_eq!((olds, spaced), (2, 1), "rows planted");
    let text = text.join("\n");
    let mut bytes: Vec<u8> = if be {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        bytes.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
    }
    let input = tmp.path().join("村.csv");
    std::fs::write(&input, &bytes).expect("write");
    let out = tmp.path().join("out");
    let (copy, changes) = fix_and_recheck(&input, &out, "村.csv");
    assert!(changes.len() >= 3, "{changes:?}");
    let got = std::fs::read(&copy).expect("copy");
    assert_eq!(got[..2], bytes[..2], "the BOM and byte order are kept");
    let decode = |b: &[u8]| -> String {
        let units: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).expect("utf-16")
    };
    let (x, y) = (decode(&bytes), decode(&got));
    let (lx, ly): (Vec<&str>, Vec<&str>) = (x.split('\n').collect(), y.split('\n').collect());
    assert_eq!(lx.len(), ly.len());
    let mut differing = 0;
    for (a, b) in lx.iter().zip(&ly) {
        for (fa, fb) in a.split(',').zip(b.split(',')) {
            if fa != fb {
                differing += 1;
                assert!(
                    changes
                        .iter()
                        .any(|c| c["before"] == *fa && c["after"] == *fb),
                    "{fa:?} → {fb:?} is logged"
                );
            }
        }
    }
    assert_eq!(differing, changes.len(), "only the logged fields differ");
}

#[test]
fn csv_in_utf16_le_keeps_its_encoding() {
    utf16_case(false);
}

#[test]
fn csv_in_utf16_be_keeps_its_encoding() {
    utf16_case(true);
}

/// A receipt vouches for inputs it did not see before: a clean multi-sheet workbook and a
/// UTF-16 CSV pass and verify; a changed byte, a truncated receipt and a run with errors fail.
#[test]
fn receipts_of_several_sheets_and_utf16() {
    let tmp = tempfile::tempdir().expect("tmp");
    let clean = sample_csv(tmp.path(), "0", "13");
    let book = tmp.path().join("区.xlsx");
    let _ = district_workbook(&clean, &book);
    // The planted IDs are errors: this workbook's run must not pass.
    let receipt_bad = tmp.path().join("bad.json");
    let o = run(&[
        "check",
        s(&book),
        "--as-of",
        AS_OF,
        "--receipt",
        s(&receipt_bad),
        "--fail-on",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = run(&["verify-receipt", s(&receipt_bad), s(&book)]);
    assert_eq!(
        v.status.code(),
        Some(1),
        "a run with errors: {}",
        stderr(&v)
    );

    let csv = tmp.path().join("村.csv");
    let mut bytes = vec![0xFF, 0xFE];
    for u in clean.encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    std::fs::write(&csv, &bytes).expect("write");
    let receipt = tmp.path().join("receipt.json");
    let o = run(&["check", s(&csv), "--as-of", AS_OF, "--receipt", s(&receipt)]);
    assert_eq!(o.status.code(), Some(0), "a clean run: {}", stderr(&o));
    let v = run(&["verify-receipt", s(&receipt), s(&csv)]);
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));

    // One changed byte in the input: the low bit of a byte halfway through the file.
    let mut changed = bytes.clone();
    let at = (changed.len() / 2) & !1;
    changed[at] ^= 0x01;
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, &changed).expect("write");
    let v = run(&["verify-receipt", s(&receipt), s(&other)]);
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));

    // A truncated receipt.
    let r = std::fs::read(&receipt).expect("receipt");
    let short = tmp.path().join("short.json");
    std::fs::write(&short, &r[..r.len() - 10]).expect("write");
    let v = run(&["verify-receipt", s(&short), s(&csv)]);
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
}

fn merged_fixture(ext: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/merged")
        .join(format!("merged.{ext}"))
}

/// The merged ranges of every sheet, as A1 ranges, read back with calamine.
fn merges_of(path: &Path) -> BTreeMap<String, BTreeSet<String>> {
    use calamine::Reader;
    let mut out = BTreeMap::new();
    match calamine::open_workbook_auto(path).expect("open") {
        calamine::Sheets::Xlsx(mut x) => {
            for name in x.sheet_names() {
                let set = x
                    .merge_cells_by_sheet_name(&name)
                    .expect("merges")
                    .iter()
                    .map(|d| format!("{:?}-{:?}", d.start, d.end))
                    .collect();
                out.insert(name, set);
            }
        }
        _ => panic!("an xlsx"),
    }
    out
}

/// An xls or ods with household fields merged down (the fixture's V106 and V201 are fixable):
/// the copy is an xlsx with the same merged ranges as the workbook the fixture was made from,
/// every value kept but the logged ones, and the findings left are exactly the unfixed ones.
/// The ods copy used to lose every merge (calamine reads none from an ods).
#[test]
fn an_xls_or_ods_with_merges_keeps_them_in_its_xlsx_copy() {
    use calamine::Reader;
    let want = merges_of(&merged_fixture("xlsx"));
    assert!(want.values().any(|m| m.len() > 100), "{want:?}");
    for ext in ["xls", "ods"] {
        let tmp = tempfile::tempdir().expect("tmp");
        let input = tmp.path().join(format!("户.{ext}"));
        std::fs::copy(merged_fixture(ext), &input).expect("copy fixture");
        let out = tmp.path().join("out");
        let (copy, changes) = fix_and_recheck(&input, &out, "户.xlsx");
        let mut got = merges_of(&copy);
        got.remove("修改记录");
        let count =
            |m: &BTreeMap<String, BTreeSet<String>>| m.values().map(BTreeSet::len).sum::<usize>();
        assert!(
            got == want,
            "{ext}: merges kept: {} in the copy, {} in the workbook",
            count(&got),
            count(&want)
        );
        // Values, cell by cell, as calamine reads them from the input and the copy.
        let logged: BTreeMap<(String, String), String> = changes
            .iter()
            .map(|c| {
                let t = |k: &str| c[k].as_str().expect(k).to_string();
                ((t("sheet"), t("cell")), t("after"))
            })
            .collect();
        let mut a = calamine::open_workbook_auto(&input).expect("input");
        let mut b = calamine::open_workbook_auto(&copy).expect("copy");
        for sheet in a.sheet_names() {
            let (ra, rb) = (
                a.worksheet_range(&sheet).expect("a"),
                b.worksheet_range(&sheet).expect("b"),
            );
            let text = |d: &calamine::Data| match d {
                calamine::Data::Float(f) => f.to_string(),
                calamine::Data::Int(i) => i.to_string(),
                other => other.to_string(),
            };
            let (sa, sb) = (ra.start().unwrap_or((0, 0)), rb.start().unwrap_or((0, 0)));
            let cells_a: BTreeMap<(u32, u32), String> = ra
                .used_cells()
                .map(|(r, c, v)| ((sa.0 + r as u32, sa.1 + c as u32), text(v)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let cells_b: BTreeMap<(u32, u32), String> = rb
                .used_cells()
                .map(|(r, c, v)| ((sb.0 + r as u32, sb.1 + c as u32), text(v)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            assert_eq!(
                cells_a.keys().collect::<Vec<_>>(),
                cells_b.keys().collect::<Vec<_>>(),
                "{ext} {sheet}: same cells"
            );
            for (pos, va) in &cells_a {
                let a1 = format!("{}{}", col_letter(pos.1 + 1), pos.0 + 1);
                let want = logged.get(&(sheet.clone(), a1.clone())).unwrap_or(va);
                assert_eq!(&cells_b[pos], want, "{ext} {sheet}!{a1}");
            }
        }
    }
}
