//! The annotated copy (`--annotate DIR`) read back with calamine and, for notes and fills that
//! calamine does not expose, through the xlsx XML; and the progress bar's silence on a pipe.
//! All data is synthetic (generated sample files, fictitious names, generated ID numbers).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::NaiveDate;
use povcheck::check::{self, CheckOptions};
use povcheck::finding::{Category, Finding, FindingScope, Lang, Severity, a1};
use povcheck::read::{self, Column, HeaderMatcher, ReadOptions, Table};
use povcheck::report::annotated::{AnnotateOptions, Source, annotate_all, annotate_file};
use povcheck::schema::{Schema, default_schema};
use rust_xlsxwriter::{Format, Workbook};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Read, check and annotate `inputs` into `dir` as the CLI does.
fn pipeline(inputs: &[PathBuf], dir: &Path) -> (Vec<PathBuf>, Vec<Table>, Vec<Finding>) {
    let schema = default_schema();
    let matcher = HeaderMatcher::from_schema(&schema);
    let displays: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut tables = Vec::new();
    for (p, d) in inputs.iter().zip(&displays) {
        tables.extend(read::read_file(p, d, &ReadOptions::default(), &matcher).tables);
    }
    let opts = CheckOptions {
        as_of: NaiveDate::from_ymd_opt(2017, 12, 31).unwrap(),
        lang: Lang::Zh,
        select: vec![],
        ignore: vec![],
        exclusions: vec![],
    };
    let findings = check::check(&tables, &schema, &opts).findings;
    let sources: Vec<Source> = inputs
        .iter()
        .zip(&displays)
        .map(|(path, display)| Source { path, display })
        .collect();
    let (written, errors) = annotate_all(
        dir,
        &sources,
        &tables,
        &findings,
        &schema,
        &AnnotateOptions::default(),
        |_| {},
    );
    assert!(errors.is_empty(), "{errors:?}");
    (written, tables, findings)
}

/// The used cells of one sheet: (0-based row, 0-based column, value).
type SheetCells = Vec<(u32, u32, Data)>;

/// The sheets povcheck adds to a copy: the issue list (first) and the hidden code lists.
const ADDED: [&str; 4] = ["问题清单", "Issues", "代码表", "Codes"];

/// Every used cell of every sheet, by sheet name in workbook order, without the sheets povcheck
/// adds ([`ADDED`]; [`all_cells`] has them).
fn cells(path: &Path) -> Vec<(String, SheetCells)> {
    all_cells(path)
        .into_iter()
        .filter(|(n, _)| !ADDED.contains(&n.as_str()))
        .collect()
}

fn all_cells(path: &Path) -> Vec<(String, SheetCells)> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    wb.sheet_names()
        .into_iter()
        .map(|name| {
            let range = wb.worksheet_range(&name).unwrap();
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let used = range
                .used_cells()
                .map(|(r, c, v)| (r0 + r as u32, c0 + c as u32, v.clone()))
                .collect();
            (name, used)
        })
        .collect()
}

fn same(a: &Data, b: &Data) -> bool {
    match (a, b) {
        (Data::DateTime(x), Data::DateTime(y)) => (x.as_f64() - y.as_f64()).abs() < 1e-9,
        (Data::Int(i), Data::Float(f)) | (Data::Float(f), Data::Int(i)) => *i as f64 == *f,
        _ => a == b,
    }
}

fn zip_entries(path: &Path, prefix: &str) -> Vec<(String, String)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let names: Vec<String> = z
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .collect();
    let mut out = Vec::new();
    for n in names.into_iter().filter(|n| n.starts_with(prefix)) {
        let mut s = String::new();
        z.by_name(&n).unwrap().read_to_string(&mut s).unwrap();
        out.push((n, s));
    }
    out.sort();
    out
}

/// `(cell ref, note text)` of every note in the workbook's comments parts, by comments part.
fn notes(path: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, xml) in zip_entries(path, "xl/comments") {
        for part in xml.split("<comment ref=\"").skip(1) {
            let r = part.split('"').next().unwrap().to_string();
            let body = part.split("</comment>").next().unwrap();
            let text: String = body
                .split("<t")
                .skip(1)
                .filter_map(|t| t.split_once('>').map(|(_, rest)| rest))
                .map(|t| t.split("</t>").next().unwrap())
                .collect();
            out.push((r, text));
        }
    }
    out
}

/// Fill colour (RGB hex) of the cell `r` in the sheet XML, through styles.xml.
fn fill_of(path: &Path, sheet_xml: &str, r: &str) -> Option<String> {
    let cell = sheet_xml.split(&format!("<c r=\"{r}\"")).nth(1)?;
    let attrs = cell.split('>').next()?;
    let s: usize = attrs
        .split("s=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()?;
    let styles = zip_entries(path, "xl/styles.xml").pop()?.1;
    let xfs = styles
        .split("<cellXfs")
        .nth(1)?
        .split("</cellXfs>")
        .next()?;
    let xf = xfs.split("<xf ").nth(s + 1)?;
    let fill_id: usize = xf
        .split("fillId=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()?;
    let fills = styles.split("<fills").nth(1)?.split("</fills>").next()?;
    let fill = fills.split("<fill>").nth(fill_id + 1)?;
    let rgb = fill.split("fgColor rgb=\"").nth(1)?.split('"').next()?;
    Some(rgb.to_string())
}

fn sheet_xmls(path: &Path) -> Vec<String> {
    let mut v = zip_entries(path, "xl/worksheets/sheet");
    // sheet10 after sheet9: order by the number.
    v.sort_by_key(|(n, _)| {
        n.trim_start_matches("xl/worksheets/sheet")
            .trim_end_matches(".xml")
            .parse::<u32>()
            .unwrap_or(0)
    });
    // sheet1 is the issue list: the copied sheets follow it.
    v.into_iter().skip(1).map(|(_, x)| x).collect()
}

const RED: &str = "FFFF9999";
const YELLOW: &str = "FFFFFF66";

#[test]
fn xlsx_copy_keeps_every_value_at_its_address_on_every_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("all-kinds.xlsx");
    let (written, _, findings) = pipeline(std::slice::from_ref(&input), dir.path());
    assert_eq!(written.len(), 1);
    assert!(!findings.is_empty());
    let orig = cells(&input);
    let copy = cells(&written[0]);
    assert_eq!(
        orig.iter().map(|s| &s.0).collect::<Vec<_>>(),
        copy.iter()
            .take(orig.len())
            .map(|s| &s.0)
            .collect::<Vec<_>>()
    );
    let mut checked = 0;
    for ((name, o), (_, c)) in orig.iter().zip(&copy) {
        for (r, col, v) in o {
            let got = c.iter().find(|(r2, c2, _)| r2 == r && c2 == col);
            let got = got.map(|x| &x.2);
            assert!(
                got.is_some_and(|g| same(v, g)),
                "{name}!{} was {v:?}, copy has {got:?}",
                a1(*col as usize, r + 1)
            );
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} cells compared");
}

#[test]
fn flagged_cells_carry_notes_fills_and_row_codes() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("all-kinds.xlsx");
    let (written, tables, findings) = pipeline(std::slice::from_ref(&input), dir.path());
    let out = &written[0];
    let notes = notes(out);
    let copy = cells(out);
    let xmls = sheet_xmls(out);
    let sheet_names: Vec<&String> = copy.iter().map(|s| &s.0).collect();
    let mut marked = 0;
    for f in findings.iter().filter(|f| f.row.is_some()) {
        let row = f.row.unwrap();
        let si = sheet_names
            .iter()
            .position(|n| Some(n.as_str()) == f.sheet.as_deref())
            .unwrap();
        assert!(!f.col_indices.is_empty() || f.scope == FindingScope::Dataset);
        for &c in &f.col_indices {
            let r = a1(c, row);
            assert!(
                notes
                    .iter()
                    .any(|(nr, t)| *nr == r && t.contains(&f.rule) && t.contains(&f.message)),
                "{} at {r} has no note",
                f.rule
            );
            let worst = findings
                .iter()
                .filter(|g| g.row == Some(row) && g.sheet == f.sheet && g.col_indices.contains(&c))
                .map(|g| g.severity)
                .max()
                .unwrap();
            let want = if worst == Severity::Error {
                RED
            } else {
                YELLOW
            };
            assert_eq!(fill_of(out, &xmls[si], &r).as_deref(), Some(want), "{r}");
            marked += 1;
        }
        // The codes column: right of the last used column, on the finding's row.
        let sheet = &copy[si].1;
        let table = tables.iter().find(|t| t.sheet == f.sheet).unwrap();
        let codes_col = sheet
            .iter()
            .filter(|(r, _, v)| *r == table.header_row - 1 && v == &Data::String("问题代码".into()))
            .map(|(_, c, _)| *c)
            .next()
            .expect("问题代码 header");
        let orig_last = cells(&input)[si]
            .1
            .iter()
            .map(|(_, c, _)| *c)
            .max()
            .unwrap();
        assert_eq!(codes_col, orig_last + 1);
        let codes = sheet
            .iter()
            .find(|(r, c, _)| *r == row - 1 && *c == codes_col)
            .map(|(_, _, v)| v.to_string())
            .unwrap_or_default();
        assert!(codes.split(", ").any(|c| c == f.rule), "row {row}: {codes}");
    }
    assert!(marked >= 10, "only {marked} cells marked");
    // A row without findings lists no codes.
    let flagged: HashSet<(Option<&str>, u32)> = findings
        .iter()
        .filter_map(|f| Some((f.sheet.as_deref(), f.row?)))
        .collect();
    let t = &tables[0];
    let clean = t
        .rows()
        .find(|r| !flagged.contains(&(t.sheet.as_deref(), r.number)))
        .unwrap();
    let si = sheet_names
        .iter()
        .position(|n| Some(n.as_str()) == t.sheet.as_deref())
        .unwrap();
    let last_orig = cells(&input)[si]
        .1
        .iter()
        .map(|(_, c, _)| *c)
        .max()
        .unwrap();
    assert!(
        !copy[si]
            .1
            .iter()
            .any(|(r, c, _)| *r == clean.number - 1 && *c > last_orig)
    );
}

#[test]
fn csv_copy_is_one_sheet_with_lines_as_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample("all-kinds.csv");
    let (written, _, findings) = pipeline(std::slice::from_ref(&input), dir.path());
    assert!(written[0].ends_with("all-kinds.annotated.xlsx"));
    let copy = cells(&written[0]);
    assert_eq!(copy.len(), 1);
    let text = std::fs::read_to_string(&input).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut compared = 0;
    for (i, line) in text.lines().enumerate() {
        let rec = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next();
        let Some(Ok(rec)) = rec else { continue };
        for (c, v) in rec.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            let got = copy[0]
                .1
                .iter()
                .find(|(r, cc, _)| *r == i as u32 && *cc == c as u32);
            assert_eq!(
                got.map(|x| &x.2),
                Some(&Data::String(v.to_string())),
                "line {}",
                i + 1
            );
            compared += 1;
        }
    }
    assert!(compared > 1000);
    let notes = notes(&written[0]);
    for f in findings.iter().filter(|f| f.row.is_some()) {
        for &c in &f.col_indices {
            let r = a1(c, f.row.unwrap());
            assert!(notes.iter().any(|(nr, _)| *nr == r), "{} {r}", f.rule);
        }
    }
}

// ---- hand-built workbooks with hand-made findings ----

fn id(seq: u16) -> String {
    povcheck::types::id_number::make_id(
        "440811",
        NaiveDate::from_ymd_opt(1980, 5, 17).unwrap(),
        seq,
    )
}

/// Sheet 说明 (text only), then 花名册: title A1, header row 2, two data rows, a blank row, a
/// totals row, an unmapped 备注 column with formula-like text, a date, a number and a boolean.
fn build_input(path: &Path, far_cell: bool) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("说明").unwrap();
    ws.write_string(0, 0, "填表说明：按户填写").unwrap();
    // Personal data outside any table: masked by pattern.
    ws.write_string(1, 0, format!("联系人证件 {}", id(13)))
        .unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("花名册").unwrap();
    ws.write_string(0, 0, "湖光镇建档立卡花名册").unwrap();
    for (c, h) in [
        "户编号",
        "姓名",
        "证件号码",
        "出生日期",
        "人数",
        "备注",
        "核实",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(2, 0, "4408110000000001").unwrap();
    ws.write_string(2, 1, "林小明").unwrap();
    ws.write_string(2, 2, id(11)).unwrap();
    ws.write_number_with_format(2, 3, 29358.0, &date).unwrap();
    ws.write_number(2, 4, 3.0).unwrap();
    ws.write_string(2, 5, "=HYPERLINK(\"http://x.invalid\",\"点我\")")
        .unwrap();
    ws.write_boolean(2, 6, true).unwrap();
    ws.write_string(3, 0, "4408110000000001").unwrap();
    // 姓名 left empty on row 4: a missing item.
    ws.write_string(3, 2, id(12)).unwrap();
    ws.write_string(3, 5, "<script>alert(1)</script>").unwrap();
    ws.write_string(5, 0, "合计").unwrap();
    ws.write_number(5, 4, 3.0).unwrap();
    if far_cell {
        ws.write_string(0, 16_383, "最后一列").unwrap();
    }
    wb.save(path).unwrap();
}

fn roster_table(file: &str) -> Table {
    let fields = ["户编号", "姓名", "证件号码", "出生日期", "人数"];
    let mut columns: Vec<Column> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| Column {
            index: i,
            header: f.to_string(),
            field: Some(f.to_string()),
        })
        .collect();
    columns.push(Column {
        index: 5,
        header: "备注".into(),
        field: None,
    });
    Table::new(file, Some("花名册"), 2, columns)
}

fn finding(file: &str, rule: &str, sev: Severity, row: Option<u32>, cols: &[usize]) -> Finding {
    Finding {
        file: file.into(),
        sheet: row.map(|_| "花名册".into()),
        row,
        cell: row.and_then(|r| cols.first().map(|c| a1(*c, r))),
        column: None,
        columns: vec![],
        header: None,
        rule: rule.into(),
        category: Category::Completeness,
        severity: sev,
        scope: if row.is_none() {
            FindingScope::File
        } else if cols.len() > 1 {
            FindingScope::Household
        } else {
            FindingScope::Cell
        },
        household: None,
        unit: None,
        value: None,
        message: format!("{rule} 的说明"),
        hint: format!("{rule} 的提示"),
        table: Some(0),
        col_indices: cols.to_vec(),
    }
}

fn annotate_one(input: &Path, out: &Path, findings: &[Finding], mask: bool) {
    let display = input.display().to_string();
    let table = roster_table(&display);
    let schema: Schema = default_schema();
    let refs: Vec<&Finding> = findings.iter().collect();
    annotate_file(
        &Source {
            path: input,
            display: &display,
        },
        out,
        &[&table],
        &refs,
        &schema,
        &AnnotateOptions {
            mask,
            ..AnnotateOptions::default()
        },
    )
    .unwrap();
}

fn hand_findings(file: &str) -> Vec<Finding> {
    vec![
        finding(file, "C101", Severity::Error, Some(4), &[1]),
        // A warning and an error on one cell: red wins, both in the note.
        finding(file, "V103", Severity::Warning, Some(3), &[2]),
        finding(file, "V101", Severity::Error, Some(3), &[2]),
        finding(file, "V301", Severity::Warning, Some(3), &[4]),
        // Household scope: every column named, on its row.
        finding(file, "H101", Severity::Error, Some(4), &[0, 4]),
        finding(file, "C001", Severity::Error, None, &[]),
    ]
}

#[test]
fn hand_built_copy_keeps_types_layout_and_inert_text() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xlsx");
    build_input(&input, false);
    let out = dir.path().join("out.xlsx");
    annotate_one(
        &input,
        &out,
        &hand_findings(&input.display().to_string()),
        false,
    );
    let orig = cells(&input);
    let copy = cells(&out);
    assert_eq!(copy.len(), 2);
    for ((n1, o), (n2, c)) in orig.iter().zip(&copy) {
        assert_eq!(n1, n2);
        for (r, col, v) in o {
            let got = c
                .iter()
                .find(|(r2, c2, _)| r2 == r && c2 == col)
                .map(|x| &x.2);
            assert!(
                got.is_some_and(|g| same(v, g)),
                "{n1} {r},{col}: {v:?} vs {got:?}"
            );
        }
    }
    let roster = &copy[1].1;
    let at = |r: u32, c: u32| {
        roster
            .iter()
            .find(|x| x.0 == r && x.1 == c)
            .map(|x| x.2.clone())
    };
    assert!(matches!(at(2, 3), Some(Data::DateTime(_))));
    assert_eq!(at(2, 4), Some(Data::Float(3.0)));
    assert_eq!(at(2, 6), Some(Data::Bool(true)));
    assert_eq!(at(5, 0), Some(Data::String("合计".into())));
    assert_eq!(at(1, 7), Some(Data::String("问题代码".into())));
    assert_eq!(at(2, 7), Some(Data::String("V101, V103, V301".into())));
    assert_eq!(at(3, 7), Some(Data::String("C101, H101".into())));
    assert_eq!(at(5, 7), None);
    // Formula-looking text stays text: no formula element anywhere.
    let xmls = sheet_xmls(&out);
    assert!(
        xmls.iter()
            .all(|x| !x.contains("<f>") && !x.contains("<f "))
    );
    assert!(xmls[1].contains("HYPERLINK"));

    let notes = notes(&out);
    let note = |r: &str| notes.iter().find(|(nr, _)| nr == r).map(|x| x.1.clone());
    let c3 = note("C3").unwrap();
    assert!(c3.contains("V101") && c3.contains("V103") && c3.contains("V101 的提示"));
    assert!(note("B4").unwrap().contains("C101"));
    assert!(note("A4").unwrap().contains("H101") && note("E4").unwrap().contains("H101"));
    // File scope: on A1 of the first sheet.
    assert!(note("A1").unwrap().contains("C001"));
    assert_eq!(note("D3"), None);
    // Fills: error red (winning over a warning), warning yellow, empty flagged cell filled.
    assert_eq!(fill_of(&out, &xmls[1], "C3").as_deref(), Some(RED));
    assert_eq!(fill_of(&out, &xmls[1], "E3").as_deref(), Some(YELLOW));
    assert_eq!(fill_of(&out, &xmls[1], "B4").as_deref(), Some(RED));
    assert_eq!(fill_of(&out, &xmls[1], "D3"), None);
}

#[test]
fn full_width_sheet_gets_a_side_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.xlsx");
    build_input(&input, true);
    let out = dir.path().join("out.xlsx");
    annotate_one(
        &input,
        &out,
        &hand_findings(&input.display().to_string()),
        false,
    );
    let copy = cells(&out);
    let names: Vec<&str> = copy.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["说明", "花名册", "花名册_问题"]);
    let side = &copy[2].1;
    let at = |r: u32, c: u32| {
        side.iter()
            .find(|x| x.0 == r && x.1 == c)
            .map(|x| x.2.clone())
    };
    assert_eq!(at(0, 1), Some(Data::String("问题代码".into())));
    assert_eq!(at(1, 0), Some(Data::Float(3.0)));
    assert_eq!(at(1, 1), Some(Data::String("V101, V103, V301".into())));
    assert_eq!(at(2, 0), Some(Data::Float(4.0)));
    // Nothing written beyond the last column, and the far cell kept.
    assert!(
        copy[1]
            .1
            .iter()
            .any(|x| x.0 == 0 && x.1 == 16_383 && x.2 == Data::String("最后一列".into()))
    );
    // Narrow sheet: no side sheet.
    let narrow = dir.path().join("narrow.xlsx");
    build_input(&narrow, false);
    let out2 = dir.path().join("out2.xlsx");
    annotate_one(
        &narrow,
        &out2,
        &hand_findings(&narrow.display().to_string()),
        false,
    );
    assert_eq!(cells(&out2).len(), 2);
}

fn all_text(path: &Path) -> String {
    zip_entries(path, "xl/")
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn mask_hides_ids_and_names_in_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xlsx");
    build_input(&input, false);
    let file = input.display().to_string();
    let plain = dir.path().join("plain.xlsx");
    annotate_one(&input, &plain, &hand_findings(&file), false);
    let masked = dir.path().join("masked.xlsx");
    annotate_one(&input, &masked, &hand_findings(&file), true);
    let (p, m) = (all_text(&plain), all_text(&masked));
    for secret in [id(11), id(12), id(13), "林小明".to_string()] {
        assert!(p.contains(&secret), "unmasked copy should keep {secret}");
        assert!(!m.contains(&secret), "masked copy leaks {secret}");
    }
    assert!(m.contains("440811********"));
    assert!(m.contains("林*明"));
    // Other values unchanged by masking; a 16-digit household number is not a card number.
    assert!(m.contains("湖光镇建档立卡花名册"));
    assert!(m.contains("4408110000000001"));
    let copy = cells(&masked);
    assert_eq!(
        copy[1]
            .1
            .iter()
            .find(|x| x.0 == 2 && x.1 == 0)
            .map(|x| &x.2),
        Some(&Data::String("4408110000000001".into()))
    );
}

#[test]
fn never_overwrites_an_input_and_names_collide_safely() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let input = dir.path().join("in.xlsx");
    build_input(&input, false);
    // DIR/in.annotated.xlsx is a link to the input itself: writing it would destroy the input.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&input, out_dir.join("in.annotated.xlsx")).unwrap();
        let before = std::fs::read(&input).unwrap();
        let display = input.display().to_string();
        let table = roster_table(&display);
        let (written, errors) = annotate_all(
            &out_dir,
            &[Source {
                path: &input,
                display: &display,
            }],
            &[table],
            &[],
            &default_schema(),
            &AnnotateOptions::default(),
            |_| {},
        );
        assert!(written.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(std::fs::read(&input).unwrap(), before);
    }
    // Two inputs with one stem: two copies.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let second = sub.join("in.xlsx");
    build_input(&second, false);
    let d1 = input.display().to_string();
    let d2 = second.display().to_string();
    let fresh = dir.path().join("fresh");
    let (written, errors) = annotate_all(
        &fresh,
        &[
            Source {
                path: &input,
                display: &d1,
            },
            Source {
                path: &second,
                display: &d2,
            },
        ],
        &[roster_table(&d1), roster_table(&d2)],
        &[],
        &default_schema(),
        &AnnotateOptions::default(),
        |_| {},
    );
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["in.annotated.xlsx", "in-2.annotated.xlsx"]);
    assert!(written.iter().all(|p| p.parent() == Some(fresh.as_path())));
}

// ---- the binary: flags, quiet, and no progress bar on a pipe ----

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_povcheck"))
}

#[test]
fn cli_annotate_writes_copies_and_stderr_stays_clean_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("copies");
    let run = |quiet: bool| {
        let mut cmd = bin();
        cmd.arg("check")
            .arg(sample("all-kinds.csv"))
            .arg(sample("all-kinds.xlsx"))
            .arg("--annotate")
            .arg(&out_dir)
            .arg("--format")
            .arg("json");
        if quiet {
            cmd.arg("--quiet");
        }
        cmd.output().unwrap()
    };
    let loud = run(false);
    assert_eq!(loud.status.code(), Some(1));
    let err = String::from_utf8_lossy(&loud.stderr);
    // A bar redraws with carriage returns and ANSI escapes; neither belongs on a pipe.
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    assert!(!err.contains('█') && !err.contains("░"), "{err:?}");
    assert!(err.contains("已写入标注副本"), "{err:?}");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["all-kinds-2.annotated.xlsx", "all-kinds.annotated.xlsx"]
    );
    let quiet = run(true);
    assert_eq!(quiet.status.code(), Some(1));
    assert!(
        quiet.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    // The JSON report on stdout is unaffected by either flag.
    assert_eq!(loud.stdout.len(), quiet.stdout.len());
}

#[test]
fn sheet_over_the_cell_limit_is_kept_empty_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.xlsx");
    build_input(&input, false);
    let display = input.display().to_string();
    let out = dir.path().join("out.xlsx");
    let table = roster_table(&display);
    annotate_file(
        &Source {
            path: &input,
            display: &display,
        },
        &out,
        &[&table],
        &[],
        &default_schema(),
        &AnnotateOptions {
            max_cells: 5,
            ..AnnotateOptions::default()
        },
    )
    .unwrap();
    let copy = cells(&out);
    let names: Vec<&str> = copy.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["说明", "花名册"]);
    assert_eq!(copy[0].1.len(), 2);
    assert!(copy[1].1.is_empty());
    assert!(
        notes(&out)
            .iter()
            .any(|(r, t)| r == "A1" && t.contains("无法复制") && t.contains('5'))
    );
}

#[test]
fn english_copy_has_english_labels() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.xlsx");
    build_input(&input, true);
    let display = input.display().to_string();
    let out = dir.path().join("out.xlsx");
    let table = roster_table(&display);
    let findings = hand_findings(&display);
    let refs: Vec<&Finding> = findings.iter().collect();
    annotate_file(
        &Source {
            path: &input,
            display: &display,
        },
        &out,
        &[&table],
        &refs,
        &default_schema(),
        &AnnotateOptions {
            lang: Lang::En,
            ..AnnotateOptions::default()
        },
    )
    .unwrap();
    let copy = cells(&out);
    assert_eq!(copy[2].0, "花名册_issues");
    assert!(
        copy[2]
            .1
            .contains(&(0, 1, Data::String("Issue codes".into())))
    );
    let notes = notes(&out);
    let c3 = &notes.iter().find(|(r, _)| r == "C3").unwrap().1;
    assert!(
        c3.contains("V101 error: V101 的说明") && c3.contains("Hint: V101 的提示"),
        "{c3}"
    );
}
