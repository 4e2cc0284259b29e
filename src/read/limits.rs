//! Deciding what a file is from its bytes, and refusing containers whose declared size is
//! hostile, before any parser inflates or allocates anything.

use std::fs::File;
use std::io::{BufReader, Read, Seek};

use super::Reason;

/// What the first bytes (and, for zip, the member names) say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Xlsx,
    Xlsb,
    Ods,
    /// A CFB/OLE container: .xls, or an encrypted OOXML file.
    Cfb,
    /// Anything else: treated as CSV/text.
    Text,
}

pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
pub const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
pub const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Compression ratio above which one zip member is taken for a bomb. Real sheet XML compresses
/// about 10–50×; deflate cannot exceed about 1032×, and only deliberately repetitive content
/// comes near that.
pub const MAX_RATIO: u64 = 500;
/// Members smaller than this are never judged by ratio (tiny files compress oddly).
const RATIO_FLOOR: u64 = 1 << 20;

/// Classify by magic bytes.
pub fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(ZIP_MAGIC) || head.starts_with(ZIP_EMPTY_MAGIC) {
        // Refined by `zip_kind` once the directory is read.
        Kind::Xlsx
    } else if head.starts_with(CFB_MAGIC) {
        Kind::Cfb
    } else {
        Kind::Text
    }
}

/// Read the zip central directory (no inflation), refuse bombs, and tell which workbook format
/// the archive holds.
pub fn check_zip<R: Read + Seek>(reader: R, max_inflated: u64) -> Result<Kind, Reason> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| Reason::ZipDamaged(e.to_string()))?;
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index_data(i).map_err(|e| Reason::ZipEntryDamaged {
            index: i + 1,
            detail: e.to_string(),
        })?;
        let size = entry.size();
        let packed = entry.compressed_size().max(1);
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if size > RATIO_FLOOR && size / packed > MAX_RATIO {
            return Err(Reason::ZipBomb { name, size });
        }
        total = total.saturating_add(size);
        if total > max_inflated {
            return Err(Reason::InflatedTooLarge { max: max_inflated });
        }
        names.push(name);
    }
    // Part names are compared as calamine looks them up: without case, `\` as `/` (some
    // Chinese tools write `xl\workbook.xml`).
    let names: std::collections::HashMap<String, String> = names
        .into_iter()
        .map(|n| (n.replace('\\', "/").to_ascii_lowercase(), n))
        .collect();
    let has = |n: &str| names.contains_key(n);
    if has("xl/workbook.xml") {
        Ok(Kind::Xlsx)
    } else if has("xl/workbook.bin") {
        Ok(Kind::Xlsb)
    } else if has("content.xml") {
        Ok(Kind::Ods)
    } else if let Some(target) = office_document(&mut zip, &names) {
        // The workbook part elsewhere (at the root, say), found as calamine finds it.
        if target.to_ascii_lowercase().ends_with(".bin") {
            Ok(Kind::Xlsb)
        } else {
            Ok(Kind::Xlsx)
        }
    } else if names.is_empty() {
        Err(Reason::ZipEmpty)
    } else {
        Err(Reason::ZipNoWorkbook)
    }
}

/// Shared strings a workbook may hold whatever its sheets' size: a few tens of MB of memory.
const STRINGS_FLOOR: u64 = 1 << 20;
/// The fewest bytes of sheet XML that can use one more shared string (`<c t="s"><v>9</v></c>`
/// is 20).
const CELL_XML_MIN: u64 = 16;
/// The fewest bytes one `<si/>` takes in sharedStrings.xml.
const SI_XML_MIN: u64 = 5;

/// Refuse an xlsx whose shared-string table holds more strings than its sheets could use, or
/// than `max_cells`: calamine reads every string into memory when the workbook is opened (and
/// reserves room for as many as the `uniqueCount` attribute declares), so a part of one-letter
/// strings far below the compression-ratio limit still grows the process by gigabytes. The part
/// is found as calamine finds it (through `_rels/.rels`, names compared without case and with
/// `\` as `/`); its strings are counted in a stream only when its size allows more than the
/// limit.
pub fn check_xlsx_strings<R: Read + Seek>(reader: R, max_cells: u64) -> Result<(), Reason> {
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    let names: std::collections::HashMap<String, String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| (n.replace('\\', "/").to_ascii_lowercase(), n.to_string()))
        .collect();
    let Some(dir) = workbook_dir(&mut zip, &names) else {
        return Ok(());
    };
    let Some(part) = names.get(&format!("{dir}sharedstrings.xml").to_ascii_lowercase()) else {
        return Ok(());
    };
    let part = part.clone();
    let mut others: u64 = 0;
    let mut size: u64 = 0;
    for i in 0..zip.len() {
        let Ok(e) = zip.by_index_raw(i) else { continue };
        if e.name().is_ok_and(|n| n == part.as_str()) {
            size = e.size();
        } else {
            others = others.saturating_add(e.size());
        }
    }
    let max = (others / CELL_XML_MIN).max(STRINGS_FLOOR).min(max_cells);
    let refuse = || Reason::TooManyStrings {
        part: part.clone(),
        max,
    };
    let Ok(file) = zip.by_name(&part) else {
        return Ok(());
    };
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(file));
    xml.config_mut().expand_empty_elements = true;
    xml.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut count: u64 = 0;
    let scan = size / SI_XML_MIN > max;
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) => match e.local_name().as_ref() {
                b"sst" => {
                    let declared = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"uniqueCount")
                        .and_then(|a| {
                            std::str::from_utf8(&a.value)
                                .ok()?
                                .trim()
                                .parse::<u64>()
                                .ok()
                        });
                    if declared.is_some_and(|n| n > max) {
                        return Err(refuse());
                    }
                    if !scan {
                        return Ok(());
                    }
                }
                b"si" => {
                    count += 1;
                    if count > max {
                        return Err(refuse());
                    }
                }
                _ => {}
            },
            // Broken XML is calamine's to report.
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// The fewest bytes of an xlsb sheet that can use one more shared string (a BrtCellIsst
/// record is 14).
const CELL_BIN_MIN: u64 = 8;
/// The fewest bytes one BrtSSTItem record takes (header 2, flags 1, length 4).
const SI_BIN_MIN: u64 = 7;

/// [`check_xlsx_strings`] for an xlsb: calamine reads `xl/sharedStrings.bin` whole on open,
/// one string per BrtSSTItem record. The records are counted in a stream when the part's size
/// allows more than the limit.
pub fn check_xlsb_strings<R: Read + Seek>(reader: R, max_cells: u64) -> Result<(), Reason> {
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    let Some(part) = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| {
            n.replace('\\', "/")
                .eq_ignore_ascii_case("xl/sharedStrings.bin")
        })
        .map(|n| n.to_string())
    else {
        return Ok(());
    };
    let (mut size, mut others) = (0u64, 0u64);
    for i in 0..zip.len() {
        let Ok(e) = zip.by_index_raw(i) else { continue };
        if e.name().is_ok_and(|n| n == part.as_str()) {
            size = e.size();
        } else {
            others = others.saturating_add(e.size());
        }
    }
    let max = (others / CELL_BIN_MIN).max(STRINGS_FLOOR).min(max_cells);
    if size / SI_BIN_MIN <= max {
        return Ok(());
    }
    let Ok(file) = zip.by_name(&part) else {
        return Ok(());
    };
    match count_records(BufReader::new(file), 0x0013, max) {
        Some(n) if n > max => Err(Reason::TooManyStrings { part, max }),
        _ => Ok(()),
    }
}

/// Records of type `typ` in an xlsb record stream (header as calamine reads it: a type of one
/// or two 7-bit bytes, a length of up to four), counted up to `stop + 1`. None when the stream
/// is cut short before that (calamine reports that itself).
fn count_records(mut r: impl Read, typ: u16, stop: u64) -> Option<u64> {
    let mut byte = || -> Option<u8> {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).ok().map(|()| b[0])
    };
    let mut count = 0u64;
    loop {
        let Some(b) = byte() else {
            return Some(count);
        };
        let t = if b & 0x80 != 0 {
            u16::from(b & 0x7F) + (u16::from(byte()? & 0x7F) << 7)
        } else {
            u16::from(b)
        };
        let mut b = byte()?;
        let mut len = u64::from(b & 0x7F);
        for i in 1..4 {
            if b & 0x80 == 0 {
                break;
            }
            b = byte()?;
            len += u64::from(b & 0x7F) << (7 * i);
        }
        for _ in 0..len {
            byte()?;
        }
        if t == typ {
            count += 1;
            if count > stop {
                return Some(count);
            }
        }
    }
}

/// The folder of the workbook part, as calamine finds it: the `officeDocument` target of
/// `_rels/.rels`, with a trailing `/` (empty at the root).
fn workbook_dir<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &std::collections::HashMap<String, String>,
) -> Option<String> {
    let target = office_document(zip, names)?;
    let dir = match target.rfind('/') {
        Some(i) => &target[..=i],
        None => "",
    };
    Some(dir.strip_prefix('/').unwrap_or(dir).to_string())
}

/// The `officeDocument` relationship target of `_rels/.rels`.
fn office_document<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    names: &std::collections::HashMap<String, String>,
) -> Option<String> {
    let rels = names.get("_rels/.rels")?.clone();
    let mut text = String::new();
    zip.by_name(&rels)
        .ok()?
        // A relationships part is a few hundred bytes.
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    let mut xml = quick_xml::Reader::from_str(&text);
    loop {
        match xml.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship" =>
            {
                let get = |k: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == k)
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                };
                if get(b"Type").is_some_and(|t| t.ends_with("/relationships/officeDocument")) {
                    return get(b"Target");
                }
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    }
}

/// Whether a CFB container is an encrypted OOXML package (Office puts a password-protected
/// xlsx into CFB streams named EncryptionInfo and EncryptedPackage). The directory entries store
/// names in UTF-16LE; scanning the bytes avoids parsing the whole container for this one fact.
pub fn cfb_is_encrypted(bytes: &[u8]) -> bool {
    let needle: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// CFB sector ids at or above this are markers (end of chain, free, FAT, DIFAT), not sectors.
const CFB_RESERVED: u32 = 0xFFFF_FFFA;
const CFB_DIFSECT: u32 = 0xFFFF_FFFC;
const CFB_ENDOFCHAIN: u32 = 0xFFFF_FFFE;

/// Refuse a CFB container whose sector chains calamine cannot follow safely: it walks a chain
/// until the end marker without a step limit, so one cycle in the FAT grows memory until the
/// process dies (fuzz find, tests/regressions.rs), and a next-sector id past the FAT's end
/// panics. Reads the header, DIFAT, FAT, directory and mini FAT exactly as calamine does; what
/// calamine itself reports as an error (short file, unknown sector size) passes here.
pub fn check_cfb(bytes: &[u8], max_cells: u64) -> Result<(), Reason> {
    const DAMAGED: Result<(), Reason> = Err(Reason::CfbDamaged);
    let u32s = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    let ss: usize = match bytes.get(30..32) {
        Some([9, 0]) => 512,
        Some([12, 0]) => 4096,
        _ => return Ok(()),
    };
    if bytes.len() < ss.max(512) {
        return Ok(());
    }
    // calamine refuses ids above `maxid` cleanly; ids between the last sector that starts
    // inside the file and `maxid` make it slice out of order (a panic).
    let maxid = u32::try_from(bytes.len() / ss).unwrap_or(u32::MAX);
    let last = u32::try_from((bytes.len() - ss).saturating_sub(1) / ss).unwrap_or(u32::MAX);
    let past_end = |id: u32| id > last && id <= maxid;
    // Sector `id` follows the header; the last one may be cut short by the end of the file.
    let sector = |id: u32| -> Option<&[u8]> {
        if id > last {
            return None;
        }
        let start = (id as usize + 1) * ss;
        bytes.get(start..(start + ss).min(bytes.len()))
    };
    let Some(header) = bytes.get(76..512) else {
        return Ok(());
    };
    let mut difat = u32s(header);
    let mut id = u32_at(68).unwrap_or(CFB_ENDOFCHAIN);
    let mut steps = 0u64;
    while id < CFB_RESERVED {
        steps += 1;
        if steps > u64::from(maxid) + 1 {
            return Ok(());
        }
        if past_end(id) {
            return DAMAGED;
        }
        let Some(s) = sector(id) else { return Ok(()) };
        if s.len() % 4 != 0 {
            return DAMAGED;
        }
        difat.extend(u32s(s));
        let Some(next) = difat.pop() else {
            return Ok(());
        };
        id = next;
    }
    let mut fat = Vec::new();
    for id in difat.into_iter().filter(|id| *id < CFB_DIFSECT) {
        if past_end(id) {
            return DAMAGED;
        }
        let Some(s) = sector(id) else { return Ok(()) };
        if s.len() % 4 != 0 {
            return DAMAGED;
        }
        fat.extend(u32s(s));
    }
    // A pointer calamine reads a sector for and then looks up in the FAT: safe when it is a
    // marker, beyond `maxid` (calamine reports that), or a sector in the file and the FAT.
    let ok_ptr = |v: u32| v >= CFB_RESERVED || v > maxid || (v <= last && (v as usize) < fat.len());
    if !fat.iter().all(|&v| ok_ptr(v)) {
        return DAMAGED;
    }
    // Every chain must end: the FAT is a functional graph, so colour it once.
    let mut colour = vec![0u8; fat.len()];
    let mut path = Vec::new();
    for start in 0..fat.len() {
        let mut cur = start;
        while let (Some(c), Some(&next)) = (colour.get(cur), fat.get(cur)) {
            match c {
                2 => break,
                1 => return DAMAGED,
                _ => {
                    if let Some(c) = colour.get_mut(cur) {
                        *c = 1;
                    }
                    path.push(cur);
                    cur = next as usize;
                }
            }
        }
        for p in path.drain(..) {
            if let Some(c) = colour.get_mut(p) {
                *c = 2;
            }
        }
    }
    // Chains are now finite: follow them as calamine does.
    let chain = |start: u32, len: usize| -> Vec<u8> {
        let mut out = Vec::new();
        let mut id = start;
        while id != CFB_ENDOFCHAIN && out.len() < len {
            let Some(s) = sector(id) else { break };
            out.extend_from_slice(s.get(..s.len().min(len - out.len())).unwrap_or_default());
            match fat.get(id as usize) {
                Some(&next) => id = next,
                None => break,
            }
        }
        out
    };
    let dir_start = u32_at(48).unwrap_or(CFB_ENDOFCHAIN);
    let mini_fat_start = u32_at(60).unwrap_or(CFB_ENDOFCHAIN);
    let mini_fat_len = u32_at(64).unwrap_or(0) as usize;
    if !ok_ptr(dir_start) || !ok_ptr(mini_fat_start) {
        return DAMAGED;
    }
    let dirs = chain(dir_start, usize::MAX);
    let entries: Vec<(String, u32, u32)> = dirs
        .chunks_exact(128)
        .filter_map(|d| {
            Some((
                entry_name(d.get(..64)?),
                u32_le(d.get(116..120)?)?,
                u32_le(d.get(120..124)?)?,
            ))
        })
        .collect();
    let (mini_fat, ministream) = match entries.first() {
        Some(&(_, root_start, root_len)) if mini_fat_len > 0 => {
            if !ok_ptr(root_start) {
                return DAMAGED;
            }
            let mf = chain(mini_fat_start, mini_fat_len.saturating_mul(ss));
            if mf.len() % 4 != 0 {
                return DAMAGED;
            }
            (u32s(&mf), chain(root_start, root_len as usize))
        }
        _ => (Vec::new(), Vec::new()),
    };
    let ministream_len = ministream.len();
    // Mini sectors are 64-byte slices of the mini stream; one starting past its end is sliced
    // out of order, like a sector past the end of the file.
    let mini_max = maxid.saturating_mul(8);
    let ok_mini = |v: u32| {
        v >= CFB_RESERVED
            || v > mini_max
            || ((v as usize) < mini_fat.len() && (v as usize) * 64 < ministream_len)
    };
    if !mini_fat.iter().all(|&v| ok_mini(v)) {
        return DAMAGED;
    }
    // Only the streams calamine opens are followed: the first entry called Workbook, else the
    // first called Book (names without case). Other entries, unused ones with stale values
    // among them, are never read.
    let read = ["workbook", "book"].into_iter().filter_map(|want| {
        entries
            .iter()
            .skip(1)
            .find(|(name, _, _)| name.eq_ignore_ascii_case(want))
    });
    let mut workbook = None;
    for &(_, start, len) in read {
        let ok = if len >= 4096 {
            ok_ptr(start)
        } else {
            len == 0 || ok_mini(start)
        };
        if !ok {
            return DAMAGED;
        }
        workbook.get_or_insert((start, len as usize));
    }
    // The workbook stream, to read the extents it declares before calamine reserves them.
    let Some((start, len)) = workbook else {
        return Ok(());
    };
    let stream = if len >= 4096 {
        chain(start, len)
    } else {
        let mut out = Vec::new();
        let mut id = start;
        while id != CFB_ENDOFCHAIN && out.len() < len {
            let Some(s) =
                ministream.get(id as usize * 64..(id as usize * 64 + 64).min(ministream_len))
            else {
                break;
            };
            out.extend_from_slice(s.get(..s.len().min(len - out.len())).unwrap_or_default());
            match mini_fat.get(id as usize) {
                Some(&next) => id = next,
                None => break,
            }
        }
        out
    };
    xls_extents(&stream, max_cells)
}

/// Refuse a sheet whose DIMENSIONS record declares more than `max_cells` cells: calamine
/// reserves room for every cell of the declared extent (rows × columns, up to 4 billion rows)
/// before reading one. Computed as calamine computes it.
fn xls_extents(stream: &[u8], max_cells: u64) -> Result<(), Reason> {
    // (offset of the sheet's BOF in the stream, sheet name), from BOUNDSHEET8 records.
    let mut sheets: Vec<(usize, String)> = Vec::new();
    let mut pos = 0usize;
    while let Some(h) = stream.get(pos..pos + 4) {
        let typ = u16::from_le_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
        let data = stream.get(pos + 4..pos + 4 + len).unwrap_or_default();
        match typ {
            // FILEPASS: what follows is encrypted, not records to read.
            0x002F => {
                return match data.get(..2) {
                    Some([0, 0]) | None => Ok(()),
                    Some(_) => Err(Reason::Encrypted),
                };
            }
            0x0085 => {
                if let Some(at) = data.get(..4).and_then(u32_le) {
                    sheets.push((at as usize, sheet_name(data).unwrap_or_default()));
                }
            }
            0x0200 => {
                let cells = dimension_cells(data);
                if cells > max_cells {
                    let sheet = sheets
                        .iter()
                        .filter(|(at, _)| *at <= pos)
                        .max_by_key(|(at, _)| *at)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_default();
                    return Err(Reason::ExtentTooLarge {
                        sheet,
                        cells,
                        max: max_cells,
                    });
                }
            }
            _ => {}
        }
        pos += 4 + len;
    }
    Ok(())
}

/// Cells calamine reserves for a DIMENSIONS record (its parse_dimensions, in u32 as it does).
fn dimension_cells(r: &[u8]) -> u64 {
    let u16_at = |o: usize| {
        r.get(o..o + 2)
            .map_or(0, |b| u32::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |o: usize| r.get(o..o + 4).and_then(u32_le).unwrap_or(0);
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
        14 | 16 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
        _ => return 0,
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) = if rl >= 1 && cl >= 1 {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
    let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
    rows.saturating_mul(cols)
}

/// The name in a BOUNDSHEET8 record (BIFF8: a ShortXLUnicodeString after 6 bytes).
fn sheet_name(data: &[u8]) -> Option<String> {
    let cch = usize::from(*data.get(6)?);
    let high = data.get(7)? & 1 == 1;
    let body = data.get(8..)?;
    Some(if high {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .take(cch)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        body.iter().take(cch).map(|&b| char::from(b)).collect()
    })
}

/// A directory entry's name as calamine reads it: 64 bytes of UTF-16LE cut at the first NUL.
fn entry_name(raw: &[u8]) -> String {
    let (name, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(raw);
    match name.find('\0') {
        Some(i) => name[..i].to_string(),
        None => name.into_owned(),
    }
}

fn u32_le(b: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes)
}

/// Open a file for sniffing; returns the reader rewound and the first bytes.
pub fn open_head(path: &std::path::Path) -> Result<(BufReader<File>, Vec<u8>, u64), Reason> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Reason::NotFound,
        std::io::ErrorKind::PermissionDenied => Reason::NoPermission,
        _ => Reason::Io(e.to_string()),
    };
    let f = File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(Reason::IsDir);
    }
    let mut r = BufReader::new(f);
    let mut head = Vec::with_capacity(8);
    (&mut r).take(8).read_to_end(&mut head).map_err(io)?;
    r.rewind().map_err(io)?;
    Ok((r, head, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
        buf.into_inner()
    }

    #[test]
    fn sniff_magic() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Xlsx);
        assert_eq!(sniff(CFB_MAGIC), Kind::Cfb);
        assert_eq!(sniff(b"a,b,c"), Kind::Text);
        assert_eq!(sniff(b""), Kind::Text);
    }

    #[test]
    fn zip_limits() {
        let varied: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("<c r=\"A{i}\"/>").into_bytes())
            .collect();
        let z = zip_with("xl/workbook.xml", &varied);
        assert_eq!(check_zip(Cursor::new(&z), 100 << 20), Ok(Kind::Xlsx));
        let e = check_zip(Cursor::new(&z), 1 << 20).unwrap_err();
        assert_eq!(e, Reason::InflatedTooLarge { max: 1 << 20 });
        // 30 MiB of one byte deflates to about 1000:1.
        let z = zip_with("xl/worksheets/sheet1.xml", &vec![b'a'; 30 << 20]);
        let e = check_zip(Cursor::new(&z), u64::MAX).unwrap_err();
        assert!(matches!(e, Reason::ZipBomb { .. }), "{e}");
    }

    #[test]
    fn zip_kinds_and_damage() {
        assert_eq!(
            check_zip(Cursor::new(zip_with("content.xml", b"x")), 1 << 30),
            Ok(Kind::Ods)
        );
        assert!(check_zip(Cursor::new(zip_with("a.txt", b"x")), 1 << 30).is_err());
        let z = zip_with("xl/workbook.xml", b"hello");
        let cut = &z[..z.len() - 10];
        assert!(check_zip(Cursor::new(cut), 1 << 30).is_err());
    }

    #[test]
    fn xlsb_string_records_are_counted() {
        // BrtBeginSst, then string items (type 0x13) of varying lengths, one with a two-byte
        // length, and a two-byte record type (0x9F as 0x9F 0x01).
        let mut stream = vec![0x9F, 0x01, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        for i in 0..300u32 {
            let text: Vec<u8> = "ab"
                .repeat(i as usize % 5)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect();
            let len = 5 + text.len();
            stream.push(0x13);
            stream.push(len as u8);
            stream.push(0);
            stream.extend((text.len() as u32 / 2).to_le_bytes());
            stream.extend(text);
        }
        stream.extend([0x13, 0x81, 0x01]);
        stream.extend(vec![0u8; 129]);
        assert_eq!(count_records(&stream[..], 0x13, u64::MAX), Some(301));
        assert_eq!(count_records(&stream[..], 0x13, 10), Some(11));
        // Cut inside a record.
        assert_eq!(
            count_records(&stream[..stream.len() - 3], 0x13, u64::MAX),
            None
        );
    }

    #[test]
    fn encrypted_cfb_is_recognised() {
        let mut b = CFB_MAGIC.to_vec();
        b.extend(vec![0u8; 100]);
        assert!(!cfb_is_encrypted(&b));
        b.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(cfb_is_encrypted(&b));
    }
}
