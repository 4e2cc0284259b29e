//! The merged ranges of every worksheet of an xlsx, found without a second XML parse.
//!
//! calamine finds a sheet's merges by parsing the whole sheet XML a second time; on a
//! million-row export that costs half as much as reading the cells. Merges sit in `<mergeCell
//! ref="A1:B2"/>` elements, and a `<` cannot appear unescaped in cell text, so inflating the
//! sheet and searching the bytes for `<mergeCell` (or a prefixed `<x:mergeCell`) finds exactly
//! them. This runs on another thread while the cells stream.

use std::collections::HashMap;
use std::io::{Read, Seek};

use quick_xml::events::Event;

use super::sheet::Merge;

/// Merged ranges by sheet name; Err when the package layout is not the usual one (the caller
/// then asks calamine).
pub fn xlsx_merges<R: Read + Seek>(
    reader: R,
    max_inflated: u64,
) -> Result<HashMap<String, Vec<Merge>>, String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| e.to_string())?;
    let workbook = package_target(&mut zip, "_rels/.rels", "officeDocument")?
        .ok_or("no workbook in the package")?;
    let (dir, name) = workbook.rsplit_once('/').unwrap_or(("", workbook.as_str()));
    // A workbook part at the package root has its relationships at `_rels/`, not `/_rels/`.
    let rels_path = match dir {
        "" => format!("_rels/{name}.rels"),
        dir => format!("{dir}/_rels/{name}.rels"),
    };
    let rels = relationships(&mut zip, &rels_path)?;
    let mut out = HashMap::new();
    for (sheet, id) in sheets(&mut zip, &workbook)? {
        let Some(target) = rels.get(&id) else {
            continue;
        };
        let path = match target.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None if dir.is_empty() => target.clone(),
            None => format!("{dir}/{target}"),
        };
        let Some(entry) = entry_name(&mut zip, &path) else {
            continue;
        };
        let file = zip.by_name(&entry).map_err(|e| e.to_string())?;
        out.insert(sheet, scan(file.take(max_inflated))?);
    }
    Ok(out)
}

/// The zip entry for a package path: exact, else ignoring case and `\` separators as Excel does.
pub(super) fn entry_name<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &str,
) -> Option<String> {
    if zip.index_for_name(path).is_some() {
        return Some(path.to_string());
    }
    let want = path.to_ascii_lowercase();
    zip.file_names()
        .filter_map(Result::ok)
        .find(|n| n.replace('\\', "/").to_ascii_lowercase() == want)
        .map(|n| n.to_string())
}

pub(super) fn xml_of<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &str,
) -> Result<Option<String>, String> {
    let Some(entry) = entry_name(zip, path) else {
        return Ok(None);
    };
    let mut text = String::new();
    zip.by_name(&entry)
        .map_err(|e| e.to_string())?
        // Package parts are small; a huge one is not what this reads.
        .take(64 << 20)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(Some(text))
}

/// Id → Target of a relationships part.
pub(super) fn relationships<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &str,
) -> Result<HashMap<String, String>, String> {
    let Some(xml) = xml_of(zip, path)? else {
        return Ok(HashMap::new());
    };
    Ok(
        elements(&xml, b"Relationship", [b"Id".as_slice(), b"Target"])?
            .into_iter()
            .filter_map(|[id, target]| Some((id?, target?)))
            .collect(),
    )
}

/// The target of the first relationship whose type ends with `kind`.
pub(super) fn package_target<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &str,
    kind: &str,
) -> Result<Option<String>, String> {
    let Some(xml) = xml_of(zip, path)? else {
        return Ok(None);
    };
    Ok(
        elements(&xml, b"Relationship", [b"Type".as_slice(), b"Target"])?
            .into_iter()
            .find_map(|[ty, target]| target.filter(|_| ty.is_some_and(|t| t.ends_with(kind))))
            .map(|t| t.trim_start_matches('/').to_string()),
    )
}

/// (name, relationship id) of every sheet of the workbook, in order.
fn sheets<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    workbook: &str,
) -> Result<Vec<(String, String)>, String> {
    let xml = xml_of(zip, workbook)?.ok_or("no workbook part")?;
    Ok(elements(&xml, b"sheet", [b"name".as_slice(), b"id"])?
        .into_iter()
        .filter_map(|[name, id]| Some((name?, id?)))
        .collect())
}

/// For every element called `name` (any namespace prefix), the unescaped values of the
/// attributes `attrs` (matched by local name, so `r:id` is `id`).
pub(super) fn elements<const N: usize>(
    xml: &str,
    name: &[u8],
    attrs: [&[u8]; N],
) -> Result<Vec<[Option<String>; N]>, String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match r.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == name => {
                let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
                for a in e.attributes().flatten() {
                    if let Some(i) = attrs.iter().position(|n| *n == a.key.local_name().as_ref()) {
                        values[i] =
                            Some(a.unescape_value().map_err(|e| e.to_string())?.into_owned());
                    }
                }
                out.push(values);
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// The `ref` of every `mergeCell` element in a sheet's XML, read as a stream.
fn scan(mut xml: impl Read) -> Result<Vec<Merge>, String> {
    const TAG: &[u8] = b"mergeCell";
    // Enough to hold one whole element across a chunk boundary.
    const KEEP: usize = 256;
    // Bytes kept before the unscanned part, for the `<prefix:` in front of a name.
    const CONTEXT: usize = 32;
    let finder = memchr::memmem::Finder::new(TAG);
    let mut merges = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    // Absolute offset of buf[0], and how far matches have been looked at.
    let (mut base, mut done) = (0usize, 0usize);
    loop {
        let n = xml.read(&mut chunk).map_err(|e| e.to_string())?;
        let end = n == 0;
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        // Elements that start before `limit` are complete in `buf` (or never will be).
        let limit = if end {
            buf.len()
        } else {
            buf.len().saturating_sub(KEEP)
        };
        let from = done.saturating_sub(base);
        for at in finder.find_iter(buf.get(from..).unwrap_or_default()) {
            let at = from + at;
            if at >= limit {
                break;
            }
            if let Some(m) = merge_at(&buf, at, TAG.len()) {
                merges.push(m);
            }
        }
        done = done.max(base + limit);
        if end {
            return Ok(merges);
        }
        let drop = limit.saturating_sub(CONTEXT);
        buf.drain(..drop);
        base += drop;
    }
}

/// The merge whose element name ends at `at + len`, if `at` starts a `mergeCell` element.
fn merge_at(buf: &[u8], at: usize, len: usize) -> Option<Merge> {
    // `<mergeCell` or `<prefix:mergeCell`, followed by white space (not `mergeCells`).
    let before = buf.get(..at)?;
    let opens = match before.last()? {
        b'<' => true,
        b':' => {
            let lt = before.iter().rposition(|&b| b == b'<')?;
            before[lt + 1..before.len() - 1]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == b'.')
        }
        _ => false,
    };
    if !opens || !buf.get(at + len)?.is_ascii_whitespace() {
        return None;
    }
    let rest = buf.get(at + len..)?;
    let close = memchr::memchr(b'>', rest)?;
    let tag = std::str::from_utf8(rest.get(..close)?).ok()?;
    let value = attribute(tag, "ref")?;
    parse_range(value)
}

/// The value of `name="…"` (or '…') in the text of a start tag.
pub(super) fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest[..i].ends_with(|c: char| c.is_ascii_whitespace());
        let after = rest[i + name.len()..].trim_start();
        if before_ok && let Some(after) = after.strip_prefix('=') {
            let after = after.trim_start();
            let q = after.chars().next()?;
            if q == '"' || q == '\'' {
                let body = &after[1..];
                return body.find(q).map(|e| &body[..e]);
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// `A1:B2` (or a single `C3`) as a 0-based inclusive range; None when malformed or beyond
/// Excel's grid.
pub fn parse_range(s: &str) -> Option<Merge> {
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let start = parse_cell(a)?;
    let end = parse_cell(b)?;
    Some(Merge {
        start: (start.0.min(end.0), start.1.min(end.1)),
        end: (start.0.max(end.0), start.1.max(end.1)),
    })
}

/// `B12` → (11, 1); `$B$12` too.
fn parse_cell(s: &str) -> Option<(u32, u32)> {
    let s = s.trim().replace('$', "");
    let digits = s.find(|c: char| c.is_ascii_digit())?;
    let (letters, number) = s.split_at(digits);
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let col = letters.bytes().fold(0u32, |acc, b| {
        acc * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row: u32 = number.parse().ok()?;
    if !(1..=16_384).contains(&col) || !(1..=1_048_576).contains(&row) {
        return None;
    }
    Some((row - 1, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a workbook Excel's way (shared strings, two sheets, a name needing escapes), the scan
    /// finds exactly what calamine's second parse finds.
    #[test]
    fn scan_agrees_with_calamine() {
        use calamine::Reader;
        let mut wb = rust_xlsxwriter::Workbook::new();
        let plain = rust_xlsxwriter::Format::new();
        let ws = wb.add_worksheet().set_name("花名册 & 补录").unwrap();
        ws.merge_range(0, 0, 0, 8, "标题", &plain).unwrap();
        for h in 0..50u32 {
            ws.merge_range(2 + h * 4, 0, 5 + h * 4, 2, &format!("H{h}"), &plain)
                .unwrap();
            for r in 0..4 {
                ws.write(2 + h * 4 + r, 3, format!("人{h}-{r}")).unwrap();
            }
        }
        let ws = wb.add_worksheet().set_name("说明").unwrap();
        ws.write(0, 0, "无合并").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let found = xlsx_merges(std::io::Cursor::new(&bytes), u64::MAX).unwrap();
        let mut cal: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(&bytes)).unwrap();
        for name in ["花名册 & 补录", "说明"] {
            let want: Vec<((u32, u32), (u32, u32))> = cal
                .merge_cells_by_sheet_name(name)
                .unwrap()
                .iter()
                .map(|d| (d.start, d.end))
                .collect();
            let got: Vec<((u32, u32), (u32, u32))> =
                found[name].iter().map(|m| (m.start, m.end)).collect();
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(found["花名册 & 补录"].len(), 51);
    }

    #[test]
    fn ranges_parse_and_refuse_nonsense() {
        let m = parse_range("B2:D10").unwrap();
        assert_eq!((m.start, m.end), ((1, 1), (9, 3)));
        let m = parse_range("$A$1").unwrap();
        assert_eq!((m.start, m.end), ((0, 0), (0, 0)));
        let m = parse_range("XFD1048576:A1").unwrap();
        assert_eq!((m.start, m.end), ((0, 0), (1_048_575, 16_383)));
        for bad in [
            "",
            "A",
            "1",
            "A0",
            "XFE1",
            "AAAA1",
            "A1048577",
            "A1:",
            "A99999999999999",
        ] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_merge_elements_are_found_across_chunk_boundaries() {
        let mut xml = String::from("<worksheet><sheetData>");
        for i in 0..20_000 {
            // Cell text can mention mergeCell, but never with an unescaped `<`.
            xml.push_str(&format!(
                "<row r=\"{r}\"><c r=\"A{r}\" t=\"inlineStr\"><is><t>&lt;mergeCell ref=\"A1:Z9\"/&gt; {i}</t></is></c></row>",
                r = i + 1
            ));
        }
        xml.push_str("</sheetData><mergeCells count=\"3\">");
        xml.push_str("<mergeCell ref=\"A2:A5\"/><x:mergeCell  ref='B2:C2'/>");
        xml.push_str("<mergeCell\nref=\"$D$7:$E$9\"></mergeCell><mergeCell ref=\"oops\"/>");
        xml.push_str("</mergeCells></worksheet>");
        // A reader that hands out odd-sized pieces, so elements straddle reads.
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
        let merges = scan(Dribble(xml.as_bytes(), 0)).unwrap();
        let got: Vec<_> = merges.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(
            got,
            vec![((1, 0), (4, 0)), ((1, 1), (1, 2)), ((6, 3), (8, 4))]
        );
    }
}
