//! Reading tests: every format and quirk clerks' files have, and the broken and hostile inputs
//! the reader must refuse cleanly. xlsx and CSV inputs are built here; .xls, .ods and the
//! hand-made xlsx oddities come from tests/fixtures/make_fixtures.py.

use std::io::Write;
use std::path::{Path, PathBuf};

use povcheck::read::{
    Cell, CellRef, Encoding, Error, FileRead, HeaderMatcher, InputStatus, ReadOptions, Reason,
    Table, read_file,
};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

#[path = "cli/common.rs"]
mod common;

// ---- helpers -------------------------------------------------------------------------------

fn matcher() -> HeaderMatcher {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let fields: Vec<(&str, Vec<String>)> = vec![
        ("乡镇", s(&["乡(镇)", "镇"])),
        ("行政村", s(&["村"])),
        ("户编号", s(&[])),
        ("姓名", s(&[])),
        ("证件号码", s(&["身份证号码", "身份证号"])),
        ("人数", s(&["家庭人口数"])),
        ("与户主关系", s(&[])),
        ("出生日期", s(&[])),
    ];
    HeaderMatcher::new(fields.iter().map(|(n, a)| (*n, a.as_slice())))
}

/// A valid GB 11643 ID number (synthetic: region, birth date, sequence, check digit).
fn id_number(region: &str, birth: &str, seq: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{region}{birth}{seq:03}");
    let sum: u32 = body
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn read_with(path: &Path, opts: &ReadOptions) -> FileRead {
    let display = path.file_name().unwrap().to_string_lossy().to_string();
    read_file(path, &display, opts, &matcher())
}

fn read(path: &Path) -> FileRead {
    read_with(path, &ReadOptions::default())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn table<'a>(fr: &'a FileRead, sheet: Option<&str>) -> &'a Table {
    fr.tables
        .iter()
        .find(|t| t.sheet.as_deref() == sheet)
        .unwrap_or_else(|| panic!("no table {sheet:?} in {fr:#?}"))
}

fn cell(t: &Table, row: u32, field: &str) -> Cell {
    let c = t
        .column_of(field)
        .unwrap_or_else(|| panic!("no column {field}"));
    t.rows().find(|r| r.number == row).unwrap().cells[c].to_owned()
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

/// Assert one unreadable entry and one error naming the file, whose reason contains `needle`.
fn assert_unreadable(fr: &FileRead, needle: &str) {
    assert!(fr.tables.is_empty(), "{fr:#?}");
    assert!(
        fr.inputs
            .iter()
            .all(|i| i.status == InputStatus::Unreadable),
        "{fr:#?}"
    );
    let reason = fr.inputs[0]
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        reason.contains(needle),
        "reason {reason:?} lacks {needle:?}"
    );
    assert!(!fr.errors.is_empty(), "no error for the CLI: {fr:#?}");
    let msg = fr.errors[0].to_string();
    assert!(msg.contains(&fr.inputs[0].file), "{msg}");
}

// ---- xlsx ----------------------------------------------------------------------------------

const HEADERS: [&str; 9] = [
    "乡(镇)",
    "行政村",
    "户编号",
    "姓名",
    "身份证\n号码",
    "家庭人口数",
    "与户主关系",
    "出生日期",
    "备注",
];

/// The national export layout: a merged title row, an export-time row, the header on row 3,
/// household fields merged over member rows, one ID stored as a number, serial dates, a formula
/// error, a blank row and a totals row; plus a prose sheet and a hidden data sheet.
fn national_xlsx(dir: &tempfile::TempDir) -> (PathBuf, [String; 3]) {
    let ids = [
        id_number("440811", "19700101", 11),
        id_number("440811", "19720315", 22),
        id_number("440811", "20050620", 31),
    ];
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let plain = Format::new();
    let ws = wb.add_worksheet().set_name("花名册").unwrap();
    ws.merge_range(0, 0, 0, 8, "某县建档立卡贫困人口花名册", &plain)
        .unwrap();
    ws.write_string(1, 0, "导出时间：2017-12-31  单位：人")
        .unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    ws.merge_range(3, 0, 5, 0, "湖光镇", &plain).unwrap();
    ws.merge_range(3, 1, 5, 1, "东村", &plain).unwrap();
    ws.merge_range(3, 2, 5, 2, "4408110101000123", &plain)
        .unwrap();
    let names = ["李测一", "王测二", "李测三"];
    let rels = ["户主", "配偶", "之子"];
    let births = [(1970, 1, 1), (1972, 3, 15), (2005, 6, 20)];
    for i in 0..3 {
        let r = 3 + i as u32;
        ws.write_string(r, 3, names[i]).unwrap();
        if i == 1 {
            ws.write_number(r, 4, ids[i].parse::<f64>().unwrap())
                .unwrap();
        } else {
            ws.write_string(r, 4, &ids[i]).unwrap();
        }
        ws.write_string(r, 6, rels[i]).unwrap();
        let (y, m, d) = births[i];
        let dt = ExcelDateTime::from_ymd(y, m, d).unwrap();
        ws.write_datetime_with_format(r, 7, &dt, &date).unwrap();
    }
    ws.write_formula(3, 5, Formula::new("=COUNTA(D4:D6)").set_result("3"))
        .unwrap();
    ws.write_formula(4, 8, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    // Row 7 is left blank; row 8 is the totals row.
    ws.write_string(7, 0, "合计").unwrap();
    ws.write_number(7, 5, 3.0).unwrap();

    let prose = wb.add_worksheet().set_name("填表说明").unwrap();
    prose
        .write_string(
            0,
            0,
            "填表说明：请按户填写，每人一行；证件号码请设置为文本格式。",
        )
        .unwrap();

    let hidden = wb.add_worksheet().set_name("补录").unwrap();
    for (c, h) in ["户编号", "姓名", "证件号码"].iter().enumerate() {
        hidden.write_string(0, c as u16, *h).unwrap();
    }
    hidden.write_string(1, 0, "4408110101000200").unwrap();
    hidden.write_string(1, 1, "赵测四").unwrap();
    hidden.set_hidden(true);

    let p = dir.path().join("national.xlsx");
    wb.save(&p).unwrap();
    (p, ids)
}

#[test]
fn xlsx_national_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (p, ids) = national_xlsx(&dir);
    let fr = read(&p);
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    assert_eq!(fr.inputs.len(), 3);

    let main = &fr.inputs[0];
    assert_eq!(main.sheet.as_deref(), Some("花名册"));
    assert_eq!(main.status, InputStatus::Checked);
    assert_eq!(main.header_row, Some(3));
    assert_eq!((main.rows, main.skipped_rows), (3, 1));

    let prose = &fr.inputs[1];
    assert_eq!(prose.status, InputStatus::Skipped);
    assert!(
        prose
            .reason
            .as_ref()
            .unwrap()
            .to_string()
            .contains("没有找到表头")
    );

    let hidden = &fr.inputs[2];
    assert_eq!(
        hidden.status,
        InputStatus::Checked,
        "hidden sheets are read"
    );
    assert_eq!(table(&fr, Some("补录")).len(), 1);

    let t = table(&fr, Some("花名册"));
    assert_eq!(t.file, "national.xlsx");
    let fields: Vec<Option<&str>> = t.columns.iter().map(|c| c.field.as_deref()).collect();
    assert_eq!(
        fields,
        [
            Some("乡镇"),
            Some("行政村"),
            Some("户编号"),
            Some("姓名"),
            Some("证件号码"),
            Some("人数"),
            Some("与户主关系"),
            Some("出生日期"),
            None
        ]
    );
    assert_eq!(
        t.columns[4].header, "身份证\n号码",
        "header kept as written"
    );
    assert_eq!(t.row_numbers().to_vec(), [4, 5, 6]);
    // Merged household cells reach every member row.
    for r in 4..=6 {
        assert_eq!(cell(t, r, "乡镇"), text("湖光镇"));
        assert_eq!(cell(t, r, "户编号"), text("4408110101000123"));
    }
    assert_eq!(cell(t, 4, "证件号码"), text(&ids[0]));
    assert!(
        matches!(cell(t, 5, "证件号码"), Cell::Number(f) if f > 4.4e17),
        "an ID typed as a number stays numeric: {:?}",
        cell(t, 5, "证件号码")
    );
    assert_eq!(cell(t, 4, "出生日期"), Cell::DateTime(25569.0));
    assert_eq!(
        cell(t, 4, "人数"),
        Cell::Number(3.0),
        "formula cached value"
    );
    let note = t.columns.iter().position(|c| c.header == "备注").unwrap();
    assert_eq!(t.cell(1, note), Cell::Error("#N/A".into()));
    assert_eq!(t.skipped_rows[0].number, 8);
    assert!(t.skipped_rows[0].reason.contains("合计"));
}

#[test]
fn workbook_without_any_header_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    wb.add_worksheet()
        .set_name("填表说明")
        .unwrap()
        .write_string(0, 0, "请如实填写")
        .unwrap();
    wb.add_worksheet(); // empty sheet
    let p = dir.path().join("prose.xlsx");
    wb.save(&p).unwrap();
    let fr = read(&p);
    assert_eq!(fr.inputs.len(), 2);
    assert_unreadable(&fr, "没有找到表头");
    assert!(matches!(fr.errors[0], Error::NoHeader { .. }));
}

#[test]
fn header_without_rows_and_duplicate_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["户编号", "姓名", "证件号码", "姓名"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let p = dir.path().join("empty_rows.xlsx");
    wb.save(&p).unwrap();
    let fr = read(&p);
    assert_eq!(fr.inputs[0].status, InputStatus::Checked);
    assert_eq!(fr.inputs[0].rows, 0);
    let t = &fr.tables[0];
    assert_eq!(t.columns[1].field.as_deref(), Some("姓名"));
    // The duplicate keeps its field (the check reads the leftmost only and reports C002), so it
    // is not listed as unrecognised.
    assert_eq!(t.columns[3].field.as_deref(), Some("姓名"));
    assert_eq!(t.column_of("姓名"), Some(1));
    assert!(fr.inputs[0].unmapped_columns.is_empty());
}

#[test]
fn far_away_cell_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["户编号", "姓名", "证件号码"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 1, "李测一").unwrap();
    ws.write_string(1_048_575, 16_383, "远处").unwrap();
    let p = dir.path().join("far.xlsx");
    wb.save(&p).unwrap();
    let started = std::time::Instant::now();
    let fr = read(&p);
    assert!(started.elapsed().as_secs() < 10);
    let t = &fr.tables[0];
    assert_eq!(t.len(), 1);
    // The far cell has no header: said, not silently dropped.
    assert_eq!(t.skipped_rows.len(), 1);
    assert_eq!(t.skipped_rows[0].number, 1_048_576);
    assert!(t.skipped_rows[0].reason.contains("XFD1048576"));
}

#[test]
fn lying_dimension_record_is_ignored() {
    let fr = read(&fixture("lying_dimension.xlsx"));
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    let t = &fr.tables[0];
    assert_eq!(t.len(), 1);
    assert_eq!(cell(t, 2, "姓名"), text("李测一"));
}

#[test]
fn shared_string_out_of_range_does_not_panic() {
    let fr = read(&fixture("bad_shared_string.xlsx"));
    // The sheet is refused with the parser's reason; the error names file and sheet.
    assert_eq!(fr.inputs.len(), 1);
    assert_eq!(fr.inputs[0].status, InputStatus::Unreadable);
    assert!(
        fr.inputs[0]
            .reason
            .as_ref()
            .unwrap()
            .to_string()
            .contains("工作表内容损坏")
    );
    let msg = fr.errors[0].to_string();
    assert!(msg.contains("bad_shared_string.xlsx [Sheet1]"), "{msg}");
}

#[test]
fn cell_limit_refuses_a_sheet() {
    // Few strings (the header), many cells (numbers): the sheet is over the limit, the shared
    // strings are not.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("numbers.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("花名册").unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..6u32 {
        for c in 0..HEADERS.len() as u16 {
            ws.write_number(r, c, f64::from(r * 100 + u32::from(c)))
                .unwrap();
        }
    }
    wb.save(&p).unwrap();
    let opts = ReadOptions {
        max_cells: 20,
        ..ReadOptions::default()
    };
    let fr = read_with(&p, &opts);
    let main = &fr.inputs[0];
    assert_eq!(main.status, InputStatus::Unreadable);
    let reason = main.reason.as_ref().unwrap().to_string();
    assert!(reason.contains("单元格数超过上限 20"), "{reason}");
    assert!(matches!(&fr.errors[0], Error::Content { sheet: Some(s), .. } if s == "花名册"));
    assert!(fr.errors[0].to_string().contains("numbers.xlsx"));
}

#[test]
fn shared_strings_over_the_cell_limit_refuse_the_file_before_reading() {
    // national.xlsx holds about 25 distinct strings.
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = national_xlsx(&dir);
    let opts = ReadOptions {
        max_cells: 10,
        ..ReadOptions::default()
    };
    let fr = read_with(&p, &opts);
    assert_eq!(fr.inputs.len(), 1);
    assert_eq!(fr.inputs[0].status, InputStatus::Unreadable);
    assert_eq!(fr.inputs[0].sheet, None);
    assert_eq!(
        fr.inputs[0].reason,
        Some(Reason::TooManyStrings {
            part: "xl/sharedStrings.xml".into(),
            max: 10
        })
    );
    assert!(matches!(&fr.errors[0], Error::Format { .. }));
    // Under the limit the same file reads.
    let fr = read_with(
        &p,
        &ReadOptions {
            max_cells: 1000,
            ..ReadOptions::default()
        },
    );
    assert_eq!(fr.inputs[0].status, InputStatus::Checked);
}

#[test]
fn inflate_limit_and_zip_bomb_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = national_xlsx(&dir);
    let opts = ReadOptions {
        max_inflated_bytes: 1000,
        ..ReadOptions::default()
    };
    assert_unreadable(&read_with(&p, &opts), "上限");

    // A small archive whose one member inflates to 64 MiB of the same byte.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("xl/workbook.xml", o).unwrap();
        z.write_all(b"<workbook/>").unwrap();
        z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
        let block = vec![b' '; 1 << 20];
        for _ in 0..64 {
            z.write_all(&block).unwrap();
        }
        z.finish().unwrap();
    }
    let bytes = buf.into_inner();
    assert!(bytes.len() < 200_000);
    let p = write(&dir, "bomb.xlsx", &bytes);
    assert_unreadable(&read(&p), "压缩炸弹");
}

// ---- broken files --------------------------------------------------------------------------

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    assert_unreadable(&read(&write(&dir, "空.xlsx", b"")), "0 字节");
    assert_unreadable(&read(&write(&dir, "空.csv", b"")), "0 字节");
}

#[test]
fn text_renamed_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "renamed.xlsx",
        "户编号,姓名,证件号码\n1,李测一,x\n".as_bytes(),
    );
    let fr = read(&p);
    assert_unreadable(&fr, "不是工作簿");
    assert!(matches!(fr.errors[0], Error::Format { .. }));
}

#[test]
fn truncated_zip() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = national_xlsx(&dir);
    let bytes = std::fs::read(&p).unwrap();
    let cut = write(&dir, "cut.xlsx", &bytes[..bytes.len() / 2]);
    assert_unreadable(&read(&cut), "损坏");
}

#[test]
fn encrypted_xlsx() {
    assert_unreadable(&read(&fixture("encrypted.xlsx")), "文件已加密");
}

#[test]
fn directory_and_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let fr = read(dir.path());
    assert!(matches!(fr.errors[0], Error::Open { .. }));
    assert_eq!(fr.inputs[0].status, InputStatus::Unreadable);
    let fr = read(&dir.path().join("没有 这个 $(file).xlsx"));
    assert_unreadable(&fr, "文件不存在");
}

#[test]
fn zip_that_is_not_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"hello").unwrap();
        z.finish().unwrap();
    }
    let p = write(&dir, "archive.xlsx", &buf.into_inner());
    assert_unreadable(&read(&p), "没有 Excel");
}

// ---- xls and ods (generated by make_fixtures.py) -----------------------------------------

#[test]
fn xls_merges_hidden_prose_numbers_dates_totals() {
    let fr = read(&fixture("household.xls"));
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    assert_eq!(fr.inputs.len(), 2);
    assert_eq!(fr.inputs[0].status, InputStatus::Checked);
    assert_eq!(fr.inputs[0].header_row, Some(3));
    assert_eq!(fr.inputs[1].sheet.as_deref(), Some("填表说明"));
    assert_eq!(fr.inputs[1].status, InputStatus::Skipped);
    let t = table(&fr, Some("花名册"));
    assert_eq!(
        t.columns[0].field.as_deref(),
        Some("乡镇"),
        "乡（镇） full-width"
    );
    assert_eq!(t.len(), 3);
    for r in 4..=6 {
        assert_eq!(cell(t, r, "乡镇"), text("湖光镇"));
        assert_eq!(cell(t, r, "户编号"), text("4408110101000123"));
        assert!(
            matches!(cell(t, r, "人数"), Cell::Number(n) if n == 3.0)
                || matches!(cell(t, r, "人数"), Cell::Int(3))
        );
    }
    assert_eq!(cell(t, 4, "证件号码"), text("44081119700101011X"));
    assert!(matches!(cell(t, 5, "证件号码"), Cell::Number(_)));
    assert_eq!(cell(t, 4, "出生日期"), Cell::DateTime(25569.0));
    assert_eq!(t.skipped_rows.len(), 1);
    assert_eq!(t.skipped_rows[0].number, 8);
}

#[test]
fn ods_is_read() {
    let fr = read(&fixture("household.ods"));
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    let t = table(&fr, Some("花名册"));
    assert_eq!(t.header_row, 2);
    assert_eq!(t.len(), 3);
    assert_eq!(cell(t, 3, "姓名"), text("李测一"));
    assert_eq!(cell(t, 5, "证件号码"), text("440811200506200319"));
}

/// The merged-household export (household fields written once, merged down over the members)
/// re-saved by LibreOffice as .ods and .xls gives the xlsx's findings: the ods reader reads
/// `number-rows-spanned`, so no member row loses its household fields (issue 15 §4).
/// tests/fixtures/merged/make.sh made the files.
#[test]
fn merged_cells_give_the_same_findings_in_xlsx_ods_and_xls() {
    let dir = fixture("merged");
    let expected = common::manifest(&dir.join("merged.expected.csv"));
    assert!(!expected.is_empty());
    let mut all = Vec::new();
    for name in ["merged.xlsx", "merged.ods", "merged.xls"] {
        let r = common::povcheck(&dir, &["check", name, "--format", "json"]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        let doc = common::json_doc(&r.stdout);
        assert_eq!(doc.inputs.len(), 1, "{name}");
        assert_eq!(doc.inputs[0].status, "checked", "{name}");
        assert_eq!(doc.inputs[0].reason.0, None, "{name}");
        assert_eq!(common::row_codes(&doc), expected, "{name}");
        let mut keys: Vec<(String, Option<u32>, Option<String>)> = doc
            .findings
            .iter()
            .map(|f| (f.rule.clone(), f.row.0, f.column.0.clone()))
            .collect();
        keys.sort();
        all.push((name, keys));
    }
    for (name, keys) in &all[1..] {
        assert_eq!(keys, &all[0].1, "{name} against merged.xlsx");
    }
}

/// A copy of an xlsx package with its parts renamed and edited by `edit(name, text)`.
fn repackage(src: &Path, dst: &Path, edit: impl Fn(&str, String) -> (String, String)) {
    use std::io::Read as _;
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut z = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        let (name, text) = edit(&name, text);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

/// Layouts calamine reads that povcheck's own pre-checks once refused (issue 15 §3): part
/// names with backslashes (`xl\workbook.xml`, written by some Chinese tools) and a workbook
/// part at the package root, found through `_rels/.rels`. Both read as the original does.
#[test]
fn backslash_part_names_and_a_root_workbook_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = national_xlsx(&dir);
    let original = read(&p);
    assert!(original.errors.is_empty(), "{:?}", original.errors);
    let rows = |fr: &FileRead| -> Vec<Vec<Cell>> {
        fr.tables[0]
            .rows()
            .map(|r| r.cells.iter().map(CellRef::to_owned).collect())
            .collect()
    };
    let back = dir.path().join("backslash.xlsx");
    repackage(&p, &back, |name, text| (name.replace('/', "\\"), text));
    let root = dir.path().join("root.xlsx");
    repackage(&p, &root, |name, text| {
        let name = match name {
            "xl/_rels/workbook.xml.rels" => "_rels/workbook.xml.rels".to_string(),
            n => n.strip_prefix("xl/").unwrap_or(n).to_string(),
        };
        let text = text
            .replace("Target=\"xl/workbook.xml\"", "Target=\"workbook.xml\"")
            .replace("PartName=\"/xl/", "PartName=\"/");
        (name, text)
    });
    for p in [&back, &root] {
        let fr = read(p);
        assert!(fr.errors.is_empty(), "{}: {:?}", p.display(), fr.errors);
        assert_eq!(fr.inputs[0].status, InputStatus::Checked);
        assert_eq!(rows(&fr), rows(&original), "{}", p.display());
        // The merged household fields came through too.
        assert_eq!(
            fr.tables[0].header_row,
            original.tables[0].header_row,
            "{}",
            p.display()
        );
    }
}

/// Offset of the CFB directory sector holding "Root Entry", and the sector size.
fn cfb_directory(bytes: &[u8]) -> usize {
    let root: Vec<u8> = "Root Entry"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    bytes.windows(root.len()).position(|w| w == root).unwrap()
}

/// An unused directory entry with stale start/length values is never read by calamine, so it
/// must not make the file unreadable (issue 15 §3); the same values on the Workbook entry do.
#[test]
fn xls_with_a_stale_unused_directory_entry_is_read() {
    let bytes = std::fs::read(fixture("household.xls")).unwrap();
    let dir_at = cfb_directory(&bytes);
    // The first entry whose name is empty and type is unused.
    let unused = (1..4)
        .map(|i| dir_at + i * 128)
        .find(|&o| bytes[o..o + 64].iter().all(|&b| b == 0) && bytes[o + 66] == 0)
        .expect("an unused directory entry");
    // A start sector just past the file's last whole sector, over 4096 bytes long: a chain
    // calamine would slice out of order, were it to follow it.
    let past = (bytes.len() / 512) as u32;
    let mut stale = bytes.clone();
    stale[unused + 116..unused + 120].copy_from_slice(&past.to_le_bytes());
    stale[unused + 120..unused + 124].copy_from_slice(&5000u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let fr = read(&write(&dir, "stale.xls", &stale));
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    assert_eq!(fr.tables.len(), 1);
    // The Workbook entry with the same values is damage calamine would follow.
    let workbook: Vec<u8> = "Workbook"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let wb = (0..4)
        .map(|i| dir_at + i * 128)
        .find(|&o| bytes[o..].starts_with(&workbook))
        .expect("the Workbook entry");
    let mut broken = bytes.clone();
    broken[wb + 116..wb + 120].copy_from_slice(&past.to_le_bytes());
    broken[wb + 120..wb + 124].copy_from_slice(&5000u32.to_le_bytes());
    let fr = read(&write(&dir, "broken.xls", &broken));
    assert_eq!(fr.inputs[0].reason, Some(Reason::CfbDamaged));
}

/// An .xls DIMENSIONS record declaring 4 billion rows made calamine reserve them all; it is
/// refused, naming the sheet, before calamine opens the file.
#[test]
fn xls_declaring_a_huge_extent_is_refused() {
    let mut bytes = std::fs::read(fixture("household.xls")).unwrap();
    let dims = bytes
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .expect("a DIMENSIONS record");
    bytes[dims + 8..dims + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let fr = read(&write(&dir, "huge.xls", &bytes));
    assert_eq!(fr.inputs.len(), 1);
    assert_eq!(fr.inputs[0].status, InputStatus::Unreadable);
    assert!(
        matches!(
            &fr.inputs[0].reason,
            Some(Reason::ExtentTooLarge { sheet, .. }) if sheet == "花名册"
        ),
        "{:?}",
        fr.inputs[0].reason
    );
}

/// An .xls encrypted with a password (a FILEPASS record, everything after it ciphertext) is
/// refused as encrypted, not read for extents (calamine's issue_385.xls was once refused as
/// declaring 177,978,333,047,466 cells). Made by turning the CODEPAGE record into FILEPASS in
/// place.
#[test]
fn encrypted_xls_says_encrypted() {
    let mut bytes = std::fs::read(fixture("household.xls")).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == [0x42, 0x00, 0x02, 0x00])
        .expect("a CODEPAGE record");
    bytes[at..at + 6].copy_from_slice(&[0x2F, 0x00, 0x02, 0x00, 0x01, 0x00]);
    // Ciphertext may look like a DIMENSIONS record of any size: it must not be read as one.
    let dims = bytes
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .expect("a DIMENSIONS record");
    bytes[dims + 8..dims + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let fr = read(&write(&dir, "locked.xls", &bytes));
    assert_eq!(fr.inputs[0].reason, Some(Reason::Encrypted), "{fr:#?}");
}

/// A password-protected .ods says so, as the other formats do.
#[test]
fn encrypted_ods_says_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("locked.ods");
    repackage(&fixture("household.ods"), &p, |name, text| {
        let text = if name == "META-INF/manifest.xml" {
            text.replacen(
                "manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>",
                "manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"><manifest:encryption-data manifest:checksum-type=\"SHA1/1K\" manifest:checksum=\"x\"/></manifest:file-entry>",
                1,
            )
        } else {
            text
        };
        (name.to_string(), text)
    });
    let fr = read(&p);
    assert_eq!(fr.inputs[0].reason, Some(Reason::Encrypted), "{fr:#?}");
}

// ---- CSV -----------------------------------------------------------------------------------

fn csv_text() -> String {
    format!(
        "某县花名册导出\n乡（镇）,行政村,户编号,姓名,身份证号码,家庭人口数\n湖光镇,东村,4408110101000123,李测一,{},2\n湖光镇,东村,4408110101000123,王测二,4.40811E+17,2\n",
        id_number("440811", "19700101", 11)
    )
}

fn check_csv(fr: &FileRead) {
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    let t = &fr.tables[0];
    assert_eq!(t.sheet, None);
    assert_eq!(t.header_row, 2);
    assert_eq!(t.len(), 2);
    assert_eq!(cell(t, 3, "姓名"), text("李测一"));
    assert_eq!(
        cell(t, 4, "证件号码"),
        text("4.40811E+17"),
        "CSV cells stay text"
    );
    assert_eq!(cell(t, 3, "乡镇"), text("湖光镇"));
}

#[test]
fn csv_utf8_with_and_without_bom() {
    let dir = tempfile::tempdir().unwrap();
    check_csv(&read(&write(&dir, "a.csv", csv_text().as_bytes())));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(csv_text().as_bytes());
    check_csv(&read(&write(&dir, "b.csv", &bom)));
}

#[test]
fn csv_gbk_detected_and_forced() {
    let dir = tempfile::tempdir().unwrap();
    let text = csv_text();
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let p = write(&dir, "gbk.csv", &gbk);
    check_csv(&read(&p));
    let forced = ReadOptions {
        encoding: Encoding::Gbk,
        ..ReadOptions::default()
    };
    check_csv(&read_with(&p, &forced));
    // Forcing UTF-8 on GBK bytes must not garble: refused, naming the first bad line.
    let wrong = ReadOptions {
        encoding: Encoding::Utf8,
        ..ReadOptions::default()
    };
    assert_unreadable(&read_with(&p, &wrong), "第 1 行");
}

#[test]
fn csv_utf16_with_and_without_bom() {
    let dir = tempfile::tempdir().unwrap();
    let le: Vec<u8> = csv_text()
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let be: Vec<u8> = csv_text()
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let mut le_bom = b"\xFF\xFE".to_vec();
    le_bom.extend(&le);
    let mut be_bom = b"\xFE\xFF".to_vec();
    be_bom.extend(&be);
    check_csv(&read(&write(&dir, "le_bom.csv", &le_bom)));
    check_csv(&read(&write(&dir, "be_bom.csv", &be_bom)));
    check_csv(&read(&write(&dir, "le.csv", &le)));
    check_csv(&read(&write(&dir, "be.csv", &be)));
}

#[test]
fn csv_embedded_newlines_and_quotes_keep_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let s = "户编号,姓名,证件号码,备注\n1,李测一,x,\"第一行\n第二行\"\n2,\"王\"\"测\"\"二\",y,\n3,李测三,z,\n";
    let fr = read(&write(&dir, "q.csv", s.as_bytes()));
    let t = &fr.tables[0];
    assert_eq!(
        t.row_numbers().to_vec(),
        [2, 4, 5],
        "row number = line of the record's first line"
    );
    assert_eq!(cell(t, 2, "姓名"), text("李测一"));
    assert_eq!(t.cell(0, 3), text("第一行\n第二行"));
    assert_eq!(cell(t, 4, "姓名"), text("王\"测\"二"));
}

#[test]
fn ragged_csv_is_unreadable_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = "标题\n户编号,姓名,证件号码\n1,李测一,x\n2,王测二,y,多余\n3,李测三\n";
    let fr = read(&write(&dir, "ragged.csv", s.as_bytes()));
    assert_unreadable(&fr, "第 4 行");
    // The same file without the bad records is fine (the title row's width does not matter).
    let ok = "标题\n户编号,姓名,证件号码\n1,李测一,x\n";
    assert_eq!(read(&write(&dir, "ok.csv", ok.as_bytes())).tables.len(), 1);
}

#[test]
fn csv_blank_lines_totals_and_no_header() {
    let dir = tempfile::tempdir().unwrap();
    let s = "户编号,姓名,证件号码\n1,李测一,x\n,,\n\n   \n小计,,\n";
    let fr = read(&write(&dir, "t.csv", s.as_bytes()));
    let t = &fr.tables[0];
    assert_eq!(t.len(), 1);
    assert_eq!(t.skipped_rows.len(), 1);
    assert_eq!(t.skipped_rows[0].number, 6);
    assert_eq!(fr.inputs[0].skipped_rows, 1);

    let p = write(&dir, "prose.csv", "这是说明\n没有表头\n".as_bytes());
    let fr = read(&p);
    assert_unreadable(&fr, "没有找到表头");
    assert!(matches!(fr.errors[0], Error::NoHeader { .. }));
}

#[test]
fn undecodable_csv_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = "户编号,姓名,证件号码\n1,".as_bytes().to_vec();
    b.extend([0x81, 0xFF]);
    b.extend(b",x\n");
    assert_unreadable(&read(&write(&dir, "bad.csv", &b)), "第 2 行");
}

// ---- hostile xlsx built by hand -----------------------------------------------------------

/// A one-sheet xlsx around `sheet_xml` (worksheet XML), written with the zip crate.
fn minimal_xlsx(sheet_xml: &str) -> Vec<u8> {
    const CT: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const WB: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const WB_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in [
            ("[Content_Types].xml", CT),
            ("_rels/.rels", RELS),
            ("xl/workbook.xml", WB),
            ("xl/_rels/workbook.xml.rels", WB_RELS),
            ("xl/worksheets/sheet1.xml", sheet_xml),
        ] {
            z.start_file(name, o).unwrap();
            z.write_all(data.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

fn worksheet(prolog: &str, rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c><c r="B1" t="inlineStr"><is><t>姓名</t></is></c><c r="C1" t="inlineStr"><is><t>证件号码</t></is></c></row>{rows}</sheetData></worksheet>"#
    )
}

#[test]
fn ten_megabyte_cell_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let big: String = (0..1_200_000u32).map(|i| format!("{i:08}")).collect();
    assert!(big.len() >= 9_600_000);
    let xml = worksheet(
        "",
        &format!(r#"<row r="2"><c r="B2" t="inlineStr"><is><t>{big}</t></is></c></row>"#),
    );
    let p = write(&dir, "big_cell.xlsx", &minimal_xlsx(&xml));
    let fr = read(&p);
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    assert!(matches!(cell(&fr.tables[0], 2, "姓名"), Cell::Text(s) if s.len() == big.len()));
}

#[test]
fn xml_entity_tricks_are_not_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let mut dtd = String::from(r#"<!DOCTYPE worksheet [<!ENTITY lol0 "lol">"#);
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1).repeat(10);
        dtd.push_str(&format!(r#"<!ENTITY lol{i} "{prev}">"#));
    }
    dtd.push_str(r#"<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#);
    let rows = r#"<row r="2"><c r="B2" t="inlineStr"><is><t>&lol9;</t></is></c><c r="C2" t="inlineStr"><is><t>&xxe;</t></is></c></row>"#;
    let p = write(&dir, "laughs.xlsx", &minimal_xlsx(&worksheet(&dtd, rows)));
    let started = std::time::Instant::now();
    let fr = read(&p);
    assert!(started.elapsed().as_secs() < 10);
    // Read or refused, but never expanded or resolved.
    for t in &fr.tables {
        for r in t.rows() {
            for c in &r.cells {
                if let CellRef::Text(s) = c {
                    assert!(s.len() < 1000 && !s.contains("root:"), "{s:.80}");
                }
            }
        }
    }
    assert_eq!(fr.inputs.len(), 1);
}

#[test]
fn wide_table_is_bounded_by_the_cell_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for c in 0..16_384u16 {
        let h = match c {
            0 => "户编号".to_string(),
            1 => "姓名".to_string(),
            2 => "证件号码".to_string(),
            _ => format!("列{c}"),
        };
        ws.write_string(0, c, h).unwrap();
    }
    for r in 1..=5 {
        ws.write_string(r, 1, "李测一").unwrap();
    }
    let p = dir.path().join("wide.xlsx");
    wb.save(&p).unwrap();
    let fr = read(&p);
    assert_eq!(fr.tables[0].columns.len(), 16_384);
    assert_eq!(fr.tables[0].len(), 5);
    // 5 rows × 16,384 columns is over a 50,000-cell limit though the sheet holds 16,389 cells.
    let opts = ReadOptions {
        max_cells: 50_000,
        ..ReadOptions::default()
    };
    let fr = read_with(&p, &opts);
    assert_eq!(fr.inputs[0].status, InputStatus::Unreadable);
    assert!(matches!(fr.errors[0], Error::Content { .. }));
}

#[test]
fn a_million_empty_rows_after_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows =
        String::from(r#"<row r="2"><c r="B2" t="inlineStr"><is><t>李测一</t></is></c></row>"#);
    for r in 3..=1_048_576u32 {
        rows.push_str(&format!(r#"<row r="{r}"><c r="A{r}" s="0"/></row>"#));
    }
    let p = write(&dir, "tail.xlsx", &minimal_xlsx(&worksheet("", &rows)));
    let fr = read(&p);
    assert!(fr.errors.is_empty(), "{:?}", fr.errors);
    assert_eq!(fr.tables[0].len(), 1);
    assert!(fr.tables[0].skipped_rows.is_empty());
}

#[test]
fn mixed_encodings_in_one_csv_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = "户编号,姓名,证件号码\n1,李测一,x\n".as_bytes().to_vec();
    let (gbk, _, _) = encoding_rs::GBK.encode("2,王测二,y\n");
    b.extend(gbk.iter());
    assert_unreadable(&read(&write(&dir, "mixed.csv", &b)), "第 3 行");
}

#[test]
fn odd_file_names_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let body = "户编号,姓名,证件号码\n1,李测一,x\n";
    for name in [
        "湖光镇 第一批.csv",
        "a;b&c|d$(e)`f`.csv",
        "'quoted' \"name\".csv",
    ] {
        let p = write(&dir, name, body.as_bytes());
        let fr = read(&p);
        assert_eq!(fr.tables.len(), 1, "{name}");
        assert_eq!(fr.tables[0].file, name);
    }
}

#[test]
fn workbook_with_no_sheets_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let xml = worksheet("", "");
    let mut bytes = minimal_xlsx(&xml);
    // Same package, but the workbook lists no sheets.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut src = zip::ZipArchive::new(std::io::Cursor::new(&mut bytes)).unwrap();
        let mut z = zip::ZipWriter::new(&mut buf);
        for i in 0..src.len() {
            let mut f = src.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = String::new();
            std::io::Read::read_to_string(&mut f, &mut data).unwrap();
            if name == "xl/workbook.xml" {
                let start = data.find("<sheets>").unwrap();
                let end = data.find("</sheets>").unwrap() + "</sheets>".len();
                data.replace_range(start..end, "<sheets/>");
            }
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(data.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    let p = write(&dir, "nosheets.xlsx", &buf.into_inner());
    assert_unreadable(&read(&p), "没有工作表");
}

#[test]
fn values_written_are_values_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["户编号", "姓名", "证件号码", "备注"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let texts = [
        " 前后空格 ",
        "=1+1",
        "@SUM(A1)",
        "<b>&amp;</b>",
        "\u{00a0}不换行空格",
        "𠀀扩展区汉字",
        "0012",
    ];
    for (i, t) in texts.iter().enumerate() {
        ws.write_string(1 + i as u32, 3, *t).unwrap();
        ws.write_string(1 + i as u32, 1, format!("测{i}")).unwrap();
    }
    let nums = [0.1, -3.0, 1e15, 123456789012345.0];
    for (i, n) in nums.iter().enumerate() {
        ws.write_number(10 + i as u32, 3, *n).unwrap();
    }
    ws.write_boolean(20, 3, true).unwrap();
    let p = dir.path().join("roundtrip.xlsx");
    wb.save(&p).unwrap();
    let fr = read(&p);
    let t = &fr.tables[0];
    let note = |row: u32| t.rows().find(|r| r.number == row).unwrap().cells[3].to_owned();
    for (i, s) in texts.iter().enumerate() {
        assert_eq!(note(2 + i as u32), text(s));
    }
    for (i, n) in nums.iter().enumerate() {
        assert_eq!(note(11 + i as u32), Cell::Number(*n));
    }
    assert_eq!(note(21), Cell::Bool(true));
}

fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// Rows an xlsx stores out of order (only hand-made or rewritten files do) are read whole, in
/// sheet order, instead of streamed.
#[test]
fn rows_stored_out_of_order_are_read_in_sheet_order() {
    let dir = tempfile::tempdir().unwrap();
    let rows = format!(
        r#"<row r="3">{}{}</row><row r="2">{}{}</row><row r="4">{}</row>"#,
        inline("A3", "H2"),
        inline("B3", "乙"),
        inline("A2", "H1"),
        inline("B2", "甲"),
        inline("B4", "丙"),
    );
    let p = write(&dir, "order.xlsx", &minimal_xlsx(&worksheet("", &rows)));
    let fr = read(&p);
    let t = table(&fr, Some("Sheet1"));
    assert_eq!(t.row_numbers(), [2, 3, 4]);
    assert_eq!(cell(t, 2, "姓名"), text("甲"));
    assert_eq!(cell(t, 3, "户编号"), text("H2"));
}

/// Merged ranges stored after the cells (as Excel writes them, here with and without a
/// namespace prefix) fill the data rows they cover; a totals row whose label is merged across
/// the name column is still a totals row, because a row's kind is decided by what is written
/// in it.
#[test]
fn merges_after_the_cells_fill_data_rows_and_leave_totals_rows_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    rows.push_str(&format!(
        r#"<row r="2">{}{}</row>"#,
        inline("A2", "H1"),
        inline("B2", "甲")
    ));
    rows.push_str(&format!(r#"<row r="3">{}</row>"#, inline("B3", "乙")));
    rows.push_str(&format!(r#"<row r="4">{}</row>"#, inline("B4", "丙")));
    rows.push_str(&format!(
        r#"<row r="5">{}</row>"#,
        inline("A5", "合计：3人")
    ));
    let xml = worksheet("", &rows).replace(
        "</sheetData>",
        r#"</sheetData><mergeCells count="2"><mergeCell ref="A2:A4"/><mergeCell ref="A5:C5"/></mergeCells>"#,
    );
    let prefixed = xml
        .replace("<mergeCells", "<x:mergeCells")
        .replace("</mergeCells", "</x:mergeCells")
        .replace("<mergeCell ", "<x:mergeCell ")
        .replace(
            "<worksheet xmlns=",
            r#"<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns="#,
        );
    for (name, xml) in [("merged.xlsx", xml), ("prefixed.xlsx", prefixed)] {
        let p = write(&dir, name, &minimal_xlsx(&xml));
        let fr = read(&p);
        let t = table(&fr, Some("Sheet1"));
        assert_eq!(t.row_numbers(), [2, 3, 4], "{name}");
        for r in [2, 3, 4] {
            assert_eq!(cell(t, r, "户编号"), text("H1"), "{name} row {r}");
        }
        assert_eq!(t.skipped_rows.len(), 1, "{name}");
        assert_eq!(t.skipped_rows[0].number, 5);
        assert!(t.skipped_rows[0].reason.starts_with("合计"), "{name}");
    }
}

/// A long read reports its rows as it goes (what moves the progress bar on one big file).
#[test]
fn a_long_read_reports_rows_as_it_goes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("户编号,姓名,证件号码\n");
    for i in 0..140_000 {
        csv.push_str(&format!("H{i},甲{i},x{i}\n"));
    }
    let p = write(&dir, "long.csv", csv.as_bytes());
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let opts = ReadOptions {
        progress: Some(povcheck::read::RowProgress(Arc::new(move |n| {
            counter.fetch_add(n, Ordering::Relaxed);
        }))),
        ..ReadOptions::default()
    };
    let fr = read_with(&p, &opts);
    assert_eq!(fr.tables[0].len(), 140_000);
    // Every row offered to the table is counted once, whichever part of the file it was in.
    assert_eq!(seen.load(Ordering::Relaxed), 140_000);
}
