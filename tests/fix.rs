//! `povcheck fix` through the binary: inputs from `povcheck sample` with V106/V107/V602/V201
//! added, fixed, then re-checked and compared cell by cell with the input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use umya_spreadsheet as umya;

const AS_OF: &str = "2017-12-31";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn sample(dir: &Path, name: &str, merged: bool) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "sample",
        "--rows",
        "240",
        "--error-rate",
        "0.4",
        "--seed",
        "7",
        "--as-of",
        AS_OF,
        "-o",
        s(&out),
    ];
    if merged {
        args.push("--merged");
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Findings of `check` as (sheet, cell, rule, value) — the file name left out, so an input and
/// its copy compare.
fn findings(path: &Path) -> Vec<(String, String, String, String)> {
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
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    let mut out: Vec<_> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let str_of = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (
                str_of("sheet"),
                format!("{}{}", str_of("cell"), f["row"]),
                str_of("rule"),
                str_of("value"),
            )
        })
        .collect();
    out.sort();
    out
}

fn count(f: &[(String, String, String, String)], rule: &str) -> usize {
    f.iter().filter(|x| x.2 == rule).count()
}

fn fix_json(inputs: &[&Path], dir: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["fix"];
    args.extend(inputs.iter().map(|p| s(p)));
    args.extend(["-o", s(dir), "--format", "json", "--as-of", AS_OF]);
    args.extend(extra);
    let o = run(&args);
    let log: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, log)
}

/// A valid 18-digit ID born in the 1900s, in text, not otherwise flagged.
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

fn header_row(ws: &umya::Worksheet) -> (u32, BTreeMap<String, u32>) {
    for r in 1..10 {
        let mut cols = BTreeMap::new();
        for c in 1..60 {
            if let Some(cell) = ws.cell((c, r)) {
                cols.insert(cell.value().into_owned(), c);
            }
        }
        if cols.contains_key("证件号码") {
            return (r, cols);
        }
    }
    panic!("no header row");
}

/// Add to a sample workbook what `sample` does not inject: a 15-digit ID (V107), white space
/// around a person's code (V602) and around a household field merged down (V602 on the merge).
fn add_v107_v602_xlsx(path: &Path) {
    let mut book = umya::reader::xlsx::read(path).expect("read sample");
    let ws = book.sheet_mut(0).expect("sheet");
    let (hr, cols) = header_row(ws);
    let id_col = cols["证件号码"];
    let nation_col = cols["民族"];
    let lifted_col = cols["脱贫属性"];
    let mut olds = 0;
    let mut spaced = 0;
    for r in hr + 1..hr + 200 {
        let id = ws.cell((id_col, r)).map(|c| c.value().into_owned());
        if olds < 2 && r % 7 == 3 && id.as_deref().is_some_and(clean_id) {
            let id = id.expect("id");
            ws.cell_mut((id_col, r)).set_value_string(old_form(&id));
            olds += 1;
        }
        let nation = ws.cell((nation_col, r)).map(|c| c.value().into_owned());
        if spaced < 2 && r % 11 == 5 && nation.as_deref() == Some("汉族") {
            ws.cell_mut((nation_col, r))
                .set_value_string(" 汉族\u{3000}");
            spaced += 1;
        }
    }
    assert_eq!((olds, spaced), (2, 2), "test rows found");
    // A merged household field: the top-left cell of a merge in 脱贫属性.
    let merge = ws
        .merge_cells()
        .iter()
        .find(|m| m.coordinate_start_col().map(|c| c.num()) == Some(lifted_col))
        .map(|m| m.coordinate_start_row().map(|r| r.num()).expect("row"));
    if let Some(top) = merge {
        let v = ws
            .cell((lifted_col, top))
            .map(|c| c.value().into_owned())
            .unwrap_or_default();
        if !v.trim().is_empty() && v == v.trim() {
            ws.cell_mut((lifted_col, top))
                .set_value_string(format!("{v} "));
        }
    }
    umya::writer::xlsx::write(&book, path).expect("write sample");
}

type Cells = BTreeMap<String, (String, String)>;

/// Every cell of every sheet: A1 → (value, style).
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
                        (c.value().into_owned(), format!("{:?}", c.style())),
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
fn xlsx_with_merges_is_fixed_and_everything_else_kept() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = sample(tmp.path(), "村.xlsx", true);
    add_v107_v602_xlsx(&input);
    let before = findings(&input);
    for rule in ["V106", "V107", "V602", "V201"] {
        assert!(count(&before, rule) > 0, "input has {rule}: {before:?}");
    }
    let out = tmp.path().join("out");
    let (o, log) = fix_json(&[&input], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let copy = out.join("村.xlsx");
    assert!(copy.exists());
    let changes = log["changes"].as_array().expect("changes");
    assert!(!changes.is_empty());

    // Re-checked: V106, V107, V602 gone; V201 only where no single value folds the same; every
    // other finding exactly as before.
    let after = findings(&copy);
    for rule in ["V106", "V107", "V602"] {
        assert_eq!(count(&after, rule), 0, "{rule} left: {after:?}");
    }
    assert!(count(&after, "V201") < count(&before, "V201"));
    let fixable = |f: &(String, String, String, String)| {
        ["V106", "V107", "V602", "V201"].contains(&f.2.as_str())
    };
    let kept_before: Vec<_> = before.iter().filter(|f| !fixable(f)).collect();
    let kept_after: Vec<_> = after.iter().filter(|f| !fixable(f)).collect();
    assert_eq!(
        kept_before, kept_after,
        "no finding appears or goes but the fixed ones"
    );
    let left_after: BTreeSet<_> = after.iter().filter(|f| fixable(f)).collect();
    let left_before: BTreeSet<_> = before.iter().filter(|f| fixable(f)).collect();
    assert!(left_after.is_subset(&left_before));

    // Cell by cell: only the logged cells differ, in value only; styles, merges, widths kept.
    let a = umya::reader::xlsx::read(&input).expect("input");
    let b = umya::reader::xlsx::read(&copy).expect("copy");
    let (ca, cb) = (cells(&a), cells(&b));
    let logged: BTreeMap<(String, String), (String, String)> = changes
        .iter()
        .map(|c| {
            (
                (
                    c["sheet"].as_str().expect("sheet").to_string(),
                    c["cell"].as_str().expect("cell").to_string(),
                ),
                (
                    c["before"].as_str().expect("before").to_string(),
                    c["after"].as_str().expect("after").to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(logged.len(), changes.len(), "each cell changed once");
    for (sheet, cells_a) in &ca {
        let cells_b = &cb[sheet];
        assert_eq!(
            cells_a.keys().collect::<Vec<_>>(),
            cells_b.keys().collect::<Vec<_>>(),
            "{sheet}: same cells"
        );
        for (addr, (va, sa)) in cells_a {
            let (vb, sb) = &cells_b[addr];
            assert_eq!(sa, sb, "{sheet}!{addr}: style kept");
            match logged.get(&(sheet.clone(), addr.clone())) {
                Some((before, after)) => {
                    assert_eq!((va, vb), (before, after), "{sheet}!{addr}: as logged")
                }
                None => assert_eq!(va, vb, "{sheet}!{addr}: value kept"),
            }
        }
        let (wa, wb) = (
            a.sheet_by_name(sheet).expect("a"),
            b.sheet_by_name(sheet).expect("b"),
        );
        assert_eq!(layout(wa), layout(wb), "{sheet}: merges and widths kept");
    }
    // The log sheet: a header and one row per change.
    let log_sheet = b.sheet_by_name("修改记录").expect("log sheet");
    assert_eq!(log_sheet.highest_row() as usize, changes.len() + 1);
    let merged_sheet = a.sheet_collection_no_check().first().expect("first");
    assert!(
        !merged_sheet.merge_cells().is_empty(),
        "the sample is merged"
    );
    let rules: BTreeSet<&str> = changes
        .iter()
        .flat_map(|c| c["rules"].as_array().expect("rules").iter())
        .filter_map(Value::as_str)
        .collect();
    for r in ["V106", "V107", "V602", "V201"] {
        assert!(rules.contains(r), "{r} fixed: {rules:?}");
    }
}

/// Lines of a CSV's bytes (split on LF, which no GBK or UTF-8 multi-byte character contains).
fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split(|&c| c == b'\n').collect()
}

fn csv_case(gbk: bool) {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = sample(tmp.path(), "乡.csv", false);
    let text = std::fs::read_to_string(&input).expect("utf-8 sample");
    let bom = text.starts_with('\u{FEFF}');
    let mut out_lines: Vec<String> = Vec::new();
    let (mut olds, mut spaced) = (0, 0);
    for (n, line) in text.split('\n').enumerate() {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        if n > 0 && fields.len() > 14 {
            if olds < 2 && n % 5 == 2 && clean_id(&fields[8]) {
                fields[8] = old_form(&fields[8]);
                olds += 1;
            } else if spaced < 2 && n % 7 == 3 && fields[14] == "初中" {
                fields[14] = "初中 ".into();
                spaced += 1;
            }
        }
        out_lines.push(fields.join(","));
    }
    assert_eq!((olds, spaced), (2, 2), "test rows found");
    let text = out_lines.join("\n");
    let bytes = if gbk {
        let body = text.trim_start_matches('\u{FEFF}');
        encoding_rs::GBK.encode(body).0.into_owned()
    } else {
        text.into_bytes()
    };
    std::fs::write(&input, &bytes).expect("write");
    let before = findings(&input);
    for rule in ["V106", "V107", "V602"] {
        assert!(count(&before, rule) > 0, "input has {rule}");
    }
    let out = tmp.path().join("out");
    let (o, log) = fix_json(&[&input], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let copy = out.join("乡.csv");
    let after = findings(&copy);
    for rule in ["V106", "V107", "V602"] {
        assert_eq!(count(&after, rule), 0, "{rule} left");
    }
    let fixable = |f: &&(String, String, String, String)| {
        ["V106", "V107", "V602", "V201"].contains(&f.2.as_str())
    };
    assert_eq!(
        before.iter().filter(|f| !fixable(f)).collect::<Vec<_>>(),
        after.iter().filter(|f| !fixable(f)).collect::<Vec<_>>()
    );
    // Bytes: same encoding (no BOM added to GBK, kept on UTF-8), every unchanged line
    // byte-identical, changed lines differ only in the logged fields.
    let got = std::fs::read(&copy).expect("copy");
    assert_eq!(got.starts_with(b"\xEF\xBB\xBF"), bom && !gbk);
    let changes = log["changes"].as_array().expect("changes");
    let changed_lines: BTreeMap<usize, Vec<&Value>> =
        changes.iter().fold(BTreeMap::new(), |mut m, c| {
            let cell = c["cell"].as_str().expect("cell");
            let line: usize = cell
                .trim_start_matches(|ch: char| ch.is_ascii_uppercase())
                .parse()
                .expect("line");
            m.entry(line).or_default().push(c);
            m
        });
    let (la, lb) = (lines(&bytes), lines(&got));
    assert_eq!(la.len(), lb.len());
    for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
        match changed_lines.get(&(i + 1)) {
            None => assert_eq!(x, y, "line {} kept byte for byte", i + 1),
            Some(cs) => {
                let dec = |b: &[u8]| {
                    if gbk {
                        encoding_rs::GBK.decode(b).0.into_owned()
                    } else {
                        String::from_utf8(b.to_vec()).expect("utf-8")
                    }
                };
                let (fx, fy) = (dec(x), dec(y));
                let (fx, fy): (Vec<&str>, Vec<&str>) =
                    (fx.split(',').collect(), fy.split(',').collect());
                assert_eq!(fx.len(), fy.len());
                let mut differing = 0;
                for (a, b) in fx.iter().zip(&fy) {
                    if a != b {
                        differing += 1;
                        assert!(
                            cs.iter().any(|c| c["before"] == *a && c["after"] == *b),
                            "line {}: {a:?} → {b:?} is logged",
                            i + 1
                        );
                    }
                }
                assert_eq!(differing, cs.len());
            }
        }
    }
}

#[test]
fn csv_utf8_keeps_its_bytes_but_the_fixed_fields() {
    csv_case(false);
}

#[test]
fn csv_gbk_stays_gbk() {
    csv_case(true);
}

#[test]
fn dry_run_writes_nothing_and_logs_the_changes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = sample(tmp.path(), "a.csv", false);
    let o = run(&["fix", s(&input), "--dry-run", "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("V106") && text.contains("将修改"), "{text}");
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only the sample and its manifest: {names:?}"
    );
    let o = run(&[
        "fix",
        s(&input),
        "--dry-run",
        "--as-of",
        AS_OF,
        "--lang",
        "en",
        "--mask",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("would make"), "{text}");
    // IDs in the log are masked: no 18-character run of ID characters is left.
    assert!(
        !text
            .split(|c: char| !(c.is_ascii_digit() || c == 'X' || c == 'x'))
            .any(|w| w.len() >= 15),
        "{text}"
    );
}

#[test]
fn refuses_to_overwrite_and_goes_on_past_an_unreadable_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    let good = sample(tmp.path(), "good.csv", false);
    let original = std::fs::read(&good).expect("read");
    // -o the input's own directory: the copy would replace the input.
    let o = run(&["fix", s(&good), "-o", s(tmp.path()), "--as-of", AS_OF]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("覆盖"));
    assert_eq!(std::fs::read(&good).expect("read"), original);

    let bad = tmp.path().join("locked.xlsx");
    std::fs::write(&bad, b"\xD0\xCF\x11\xE0not really a workbook").expect("write");
    let out = tmp.path().join("out");
    let o = run(&[
        "fix",
        s(&bad),
        s(&good),
        "-o",
        s(&out),
        "--as-of",
        AS_OF,
        "--lang",
        "en",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("locked.xlsx") && err.contains("cannot be read"),
        "{err}"
    );
    assert!(
        out.join("good.csv").exists(),
        "the readable input is still fixed"
    );
    assert!(!out.join("locked.xlsx").exists());
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn an_encrypted_workbook_is_named_and_an_unfixable_xls_keeps_its_bytes_and_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let xls = fixture("household.xls");
    let o = run(&[
        "fix",
        s(&fixture("encrypted.xlsx")),
        s(&xls),
        "-o",
        s(&out),
        "--as-of",
        AS_OF,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("encrypted.xlsx") && err.contains("加密"),
        "{err}"
    );
    // Its one finding (V105, digits lost) has no right answer: copied as it is, still .xls.
    assert_eq!(
        std::fs::read(out.join("household.xls")).expect("copy"),
        std::fs::read(&xls).expect("input")
    );
    assert!(!out.join("household.xlsx").exists());
    assert!(!out.join("encrypted.xlsx").exists());
}

#[test]
fn a_file_with_nothing_to_fix_is_copied_unchanged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("clean.csv");
    let o = run(&[
        "sample",
        "--rows",
        "30",
        "--error-rate",
        "0",
        "-o",
        s(&input),
    ]);
    assert!(o.status.success());
    let out = tmp.path().join("out");
    let (o, log) = fix_json(&[&input], &out, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(log["files"][0]["status"], "unchanged");
    assert_eq!(
        std::fs::read(out.join("clean.csv")).expect("copy"),
        std::fs::read(&input).expect("input")
    );
}

/// household.ods with its head's ID written with a lower-case x (V106).
fn ods_with_v106(dest: &Path) {
    use std::io::{Read, Write};
    let mut zin = zip::ZipArchive::new(std::fs::File::open(fixture("household.ods")).expect("ods"))
        .expect("zip");
    let mut zout = zip::ZipWriter::new(std::fs::File::create(dest).expect("create"));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).expect("entry");
        let name = f.name().expect("entry name").to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).expect("read");
        if name == "content.xml" {
            let text = String::from_utf8(bytes).expect("xml");
            assert!(text.contains("44081119700101011X"));
            bytes = text
                .replace("44081119700101011X", "44081119700101011x")
                .into_bytes();
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zout.start_file(name, opts).expect("start");
        zout.write_all(&bytes).expect("write");
    }
    zout.finish().expect("finish");
}

#[test]
fn an_ods_with_a_fix_is_rebuilt_as_xlsx_with_its_values() {
    use calamine::Reader;
    let tmp = tempfile::tempdir().expect("tmp");
    let input = tmp.path().join("户.ods");
    ods_with_v106(&input);
    let before = findings(&input);
    assert_eq!(count(&before, "V106"), 1, "{before:?}");
    let out = tmp.path().join("out");
    let (o, log) = fix_json(&[&input], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let copy = out.join("户.xlsx");
    let after = findings(&copy);
    assert_eq!(count(&after, "V106"), 0);
    let others = |f: &[(String, String, String, String)]| {
        f.iter()
            .filter(|x| x.2 != "V106")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&before), others(&after));
    assert_eq!(log["changes"].as_array().expect("changes").len(), 1);
    // Every value is there, as the clerk sees it; only the ID's x changed case.
    let text = |p: &Path, sheet: &str| -> Vec<Vec<String>> {
        let mut wb = calamine::open_workbook_auto(p).expect("open");
        let range = wb.worksheet_range(sheet).expect("sheet");
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        calamine::Data::Float(f) => f.to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    };
    let wb = calamine::open_workbook_auto(&input).expect("open");
    for sheet in wb.sheet_names() {
        let (a, b) = (text(&input, &sheet), text(&copy, &sheet));
        let a: Vec<Vec<String>> = a
            .into_iter()
            .map(|r| r.into_iter().map(|c| c.replace("011x", "011X")).collect())
            .collect();
        assert_eq!(a, b, "{sheet}: values kept");
    }
}
