//! What a workbook shows besides its values — merged ranges, column widths, frozen panes, hidden
//! rows, columns and sheets, custom row heights — so the annotated copy can carry the clerk's
//! layout over instead of flattening it.
//!
//! For xlsx the layout is read from the package XML: each sheet is inflated once more and its
//! bytes scanned for the few elements that matter (`<col>`, `<pane>`, `<row>`, `<mergeCell>`),
//! the same byte scan as the merge finder ([`super::merges`]): a `<` cannot appear unescaped in
//! cell text, so a `<row ` in the bytes is a row element. xls gives its merges and hidden sheets
//! through calamine, ods its merges through the content.xml pass the reader already has; their
//! widths and panes are not read (docs/annotate.md).

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::Path;

use calamine::Reader;

pub use super::sheet::Merge;

use super::merges::{attribute, elements, entry_name, package_target, parse_range, relationships};

/// A run of columns with one width or hidden state, 0-based and inclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub first: u32,
    pub last: u32,
    /// Width as stored in the file (Excel character units, padding included).
    pub width: Option<f64>,
    pub hidden: bool,
}

/// A row with a custom height or hidden, 0-based.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSpec {
    pub row: u32,
    /// Height in points, when the file sets one on purpose.
    pub height: Option<f64>,
    pub hidden: bool,
}

/// The layout of one sheet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SheetLayout {
    pub merges: Vec<Merge>,
    pub columns: Vec<ColumnSpec>,
    pub rows: Vec<RowSpec>,
    /// Frozen rows and columns (the top-left cell of the scrolling pane).
    pub freeze: Option<(u32, u32)>,
    /// Hidden (or very hidden) sheet.
    pub hidden: bool,
}

/// The layout of every sheet by name, best effort: a part that cannot be read gives no layout
/// for that sheet (the copy is then written as before, values only), never an error.
pub fn read_layouts(path: &Path, max_inflated: u64) -> HashMap<String, SheetLayout> {
    let Ok(mut file) = std::fs::File::open(path) else {
        return HashMap::new();
    };
    let mut head = [0u8; 4];
    let n = file.read(&mut head).unwrap_or(0);
    if file.rewind().is_err() {
        return HashMap::new();
    }
    let reader = std::io::BufReader::new(file);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match head.get(..n) {
        Some(b"PK\x03\x04") if ext == "ods" => ods_layouts(reader, path, max_inflated),
        Some(b"PK\x03\x04") if ext == "xlsb" => HashMap::new(),
        Some(b"PK\x03\x04") => xlsx_layouts(reader, max_inflated).unwrap_or_default(),
        Some([0xD0, 0xCF, 0x11, 0xE0]) => xls_layouts(reader),
        _ => HashMap::new(),
    }
}

fn xls_layouts<RS: Read + Seek>(reader: RS) -> HashMap<String, SheetLayout> {
    let Ok(wb) = calamine::Xls::new(reader) else {
        return HashMap::new();
    };
    let meta: Vec<(String, bool)> = wb
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible != calamine::SheetVisible::Visible))
        .collect();
    meta.into_iter()
        .map(|(name, hidden)| {
            let merges = wb
                .merge_cells_by_sheet_name(&name)
                .unwrap_or_default()
                .iter()
                .map(|d| Merge {
                    start: d.start,
                    end: d.end,
                })
                .collect();
            let layout = SheetLayout {
                merges,
                hidden,
                ..SheetLayout::default()
            };
            (name, layout)
        })
        .collect()
}

fn ods_layouts<RS: Read + Seek>(
    reader: RS,
    path: &Path,
    max_inflated: u64,
) -> HashMap<String, SheetLayout> {
    let hidden: HashMap<String, bool> = calamine::Ods::new(reader)
        .map(|wb| {
            wb.sheets_metadata()
                .iter()
                .map(|s| (s.name.clone(), s.visible != calamine::SheetVisible::Visible))
                .collect()
        })
        .unwrap_or_default();
    let tables = std::fs::File::open(path)
        .ok()
        .and_then(|f| super::ods::scan_ods(std::io::BufReader::new(f), max_inflated, u64::MAX).ok())
        .unwrap_or_default();
    let mut out: HashMap<String, SheetLayout> = tables
        .into_iter()
        .map(|(name, t)| {
            let layout = SheetLayout {
                merges: t.merges,
                ..SheetLayout::default()
            };
            (name, layout)
        })
        .collect();
    for (name, h) in hidden {
        out.entry(name).or_default().hidden = h;
    }
    out
}

/// Layouts by sheet name from the package XML; Err when the package is not laid out as usual.
pub fn xlsx_layouts<R: Read + Seek>(
    reader: R,
    max_inflated: u64,
) -> Result<HashMap<String, SheetLayout>, String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| e.to_string())?;
    let workbook = package_target(&mut zip, "_rels/.rels", "officeDocument")?
        .ok_or("no workbook in the package")?;
    let (dir, name) = workbook.rsplit_once('/').unwrap_or(("", workbook.as_str()));
    let rels_path = match dir {
        "" => format!("_rels/{name}.rels"),
        dir => format!("{dir}/_rels/{name}.rels"),
    };
    let rels = relationships(&mut zip, &rels_path)?;
    let xml = super::merges::xml_of(&mut zip, &workbook)?.ok_or("no workbook part")?;
    let sheets = elements(&xml, b"sheet", [b"name".as_slice(), b"id", b"state"])?;
    let mut out = HashMap::new();
    for [name, id, state] in sheets {
        let (Some(name), Some(id)) = (name, id) else {
            continue;
        };
        let hidden = state.is_some_and(|s| s == "hidden" || s == "veryHidden");
        let Some(target) = rels.get(&id) else {
            continue;
        };
        let path = match target.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None if dir.is_empty() => target.clone(),
            None => format!("{dir}/{target}"),
        };
        let mut layout = match entry_name(&mut zip, &path) {
            Some(entry) => {
                let file = zip.by_name(&entry).map_err(|e| e.to_string())?;
                scan_sheet(file.take(max_inflated))?
            }
            None => SheetLayout::default(),
        };
        layout.hidden = hidden;
        out.insert(name, layout);
    }
    Ok(out)
}

/// The elements of interest, by local name.
const TAGS: [&[u8]; 4] = [b"row", b"col", b"pane", b"mergeCell"];

/// One pass over a sheet's XML, in chunks, looking at every element name.
fn scan_sheet(mut xml: impl Read) -> Result<SheetLayout, String> {
    // Enough to hold one whole start tag of interest across a chunk boundary (a row's
    // attributes are short; a longer tag is not one of ours).
    const KEEP: usize = 1024;
    let mut layout = SheetLayout::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    let mut from = 0usize;
    loop {
        let n = xml.read(&mut chunk).map_err(|e| e.to_string())?;
        let end = n == 0;
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let limit = if end {
            buf.len()
        } else {
            buf.len().saturating_sub(KEEP)
        };
        let mut at = from;
        while at < limit {
            let Some(lt) = memchr::memchr(b'<', buf.get(at..limit).unwrap_or_default()) else {
                at = limit;
                break;
            };
            let start = at + lt;
            at = start + 1;
            if let Some((tag, body)) = element_at(&buf, start) {
                take(&mut layout, tag, body);
            }
        }
        if end {
            break;
        }
        buf.drain(..at);
        from = 0;
    }
    Ok(layout)
}

/// The tag index and the attribute text of the start tag at `buf[lt] == b'<'`, when it is one
/// of [`TAGS`] (with or without a namespace prefix).
fn element_at(buf: &[u8], lt: usize) -> Option<(usize, &str)> {
    let rest = buf.get(lt + 1..)?;
    let name_end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')?;
    let name = rest.get(..name_end)?;
    let local = match memchr::memrchr(b':', name) {
        Some(i) => name.get(i + 1..)?,
        None => name,
    };
    let tag = TAGS.iter().position(|t| *t == local)?;
    let after = rest.get(name_end..)?;
    let close = memchr::memchr(b'>', after.get(..after.len().min(1024))?)?;
    let body = std::str::from_utf8(after.get(..close)?).ok()?;
    Some((tag, body))
}

fn num(body: &str, name: &str) -> Option<f64> {
    attribute(body, name)?.trim().parse().ok()
}

fn flag(body: &str, name: &str) -> bool {
    attribute(body, name).is_some_and(|v| v == "1" || v == "true")
}

fn take(layout: &mut SheetLayout, tag: usize, body: &str) {
    match tag {
        0 => {
            let Some(r) = num(body, "r").filter(|r| *r >= 1.0) else {
                return;
            };
            let hidden = flag(body, "hidden");
            let height = if flag(body, "customHeight") {
                num(body, "ht").filter(|h| *h > 0.0 && *h <= 409.5)
            } else {
                None
            };
            if hidden || height.is_some() {
                layout.rows.push(RowSpec {
                    row: r as u32 - 1,
                    height,
                    hidden,
                });
            }
        }
        1 => {
            let (Some(min), Some(max)) = (num(body, "min"), num(body, "max")) else {
                return;
            };
            if min < 1.0 || max < min || max > 16_384.0 {
                return;
            }
            let hidden = flag(body, "hidden");
            let width = num(body, "width").filter(|w| *w >= 0.0 && *w <= 255.0);
            if hidden || width.is_some() {
                layout.columns.push(ColumnSpec {
                    first: min as u32 - 1,
                    last: max as u32 - 1,
                    width,
                    hidden,
                });
            }
        }
        2 => {
            let frozen = attribute(body, "state").is_some_and(|s| s == "frozen");
            if !frozen {
                return;
            }
            let rows = num(body, "ySplit").unwrap_or(0.0).max(0.0) as u32;
            let cols = num(body, "xSplit").unwrap_or(0.0).max(0.0) as u32;
            if rows > 0 || cols > 0 {
                layout.freeze = Some((rows, cols));
            }
        }
        _ => {
            if let Some(m) = attribute(body, "ref").and_then(parse_range) {
                layout.merges.push(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_a_written_workbook_is_read_back() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let plain = rust_xlsxwriter::Format::new();
        let ws = wb.add_worksheet().set_name("花名册").unwrap();
        ws.merge_range(0, 0, 0, 5, "标题", &plain).unwrap();
        ws.merge_range(3, 0, 5, 0, "H1", &plain).unwrap();
        ws.set_column_width(2, 30).unwrap();
        ws.set_column_hidden(4).unwrap();
        ws.set_row_hidden(7).unwrap();
        ws.set_row_height(2, 40).unwrap();
        ws.set_freeze_panes(3, 1).unwrap();
        for r in 0..10 {
            ws.write(r + 3, 3, format!("x{r}")).unwrap();
        }
        let ws = wb.add_worksheet().set_name("说明").unwrap();
        ws.write(0, 0, "无").unwrap();
        ws.set_hidden(true);
        let bytes = wb.save_to_buffer().unwrap();
        let got = xlsx_layouts(std::io::Cursor::new(&bytes), u64::MAX).unwrap();
        let l = &got["花名册"];
        assert_eq!(
            l.merges
                .iter()
                .map(|m| (m.start, m.end))
                .collect::<Vec<_>>(),
            [((0, 0), (0, 5)), ((3, 0), (5, 0))]
        );
        assert_eq!(l.freeze, Some((3, 1)));
        assert!(!l.hidden);
        let c = l.columns.iter().find(|c| c.first == 2).unwrap();
        assert!((c.width.unwrap() - 30.71).abs() < 0.01, "{c:?}");
        assert!(l.columns.iter().any(|c| c.first == 4 && c.hidden));
        assert!(l.rows.iter().any(|r| r.row == 7 && r.hidden));
        // The writer keeps heights in whole pixels: 40 points come back as 39.75.
        assert!(
            l.rows
                .iter()
                .any(|r| r.row == 2 && r.height.is_some_and(|h| (h - 40.0).abs() < 0.5)),
            "{:?}",
            l.rows
        );
        assert!(got["说明"].hidden);
    }

    #[test]
    fn elements_split_across_chunks_are_found() {
        let mut xml = String::from(
            "<worksheet><x:sheetViews><x:sheetView><x:pane xSplit=\"2\" ySplit=\"3\" state=\"frozen\"/></x:sheetView></x:sheetViews><cols><col min=\"1\" max=\"3\" width=\"12.5\" customWidth=\"1\"/></cols><sheetData>",
        );
        for i in 1..=40_000 {
            let extra = if i % 1000 == 0 { " hidden=\"1\"" } else { "" };
            xml.push_str(&format!(
                "<row r=\"{i}\"{extra}><c r=\"A{i}\" t=\"inlineStr\"><is><t>&lt;row r=\"9\" hidden=\"1\"&gt;</t></is></c></row>"
            ));
        }
        xml.push_str("</sheetData><mergeCells><mergeCell ref=\"A2:A5\"/></mergeCells><rowBreaks/></worksheet>");
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                self.1 = self.1 % 7919 + 1;
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let l = scan_sheet(Dribble(xml.as_bytes(), 0)).unwrap();
        assert_eq!(l.freeze, Some((3, 2)));
        assert_eq!(l.columns.len(), 1);
        assert_eq!(l.merges.len(), 1);
        let hidden: Vec<u32> = l.rows.iter().filter(|r| r.hidden).map(|r| r.row).collect();
        assert_eq!(hidden, (1..=40).map(|k| k * 1000 - 1).collect::<Vec<_>>());
    }
}
