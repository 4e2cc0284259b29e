//! Deciding what a file is from its bytes, and refusing containers whose declared size is
//! hostile, before any parser inflates or allocates anything.

use std::fs::File;
use std::io::{BufReader, Read, Seek};

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
/// the archive holds. Errors are Chinese reasons for the user.
pub fn check_zip<R: Read + Seek>(reader: R, max_inflated: u64) -> Result<Kind, String> {
    let zip = zip::ZipArchive::new(reader)
        .map_err(|e| format!("文件已损坏（zip 结构不完整或有误：{e}），可能下载或复制不完整"))?;
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip
            .by_index_data(i)
            .map_err(|e| format!("文件已损坏（zip 目录第 {} 项有误：{e}）", i + 1))?;
        let size = entry.size();
        let packed = entry.compressed_size().max(1);
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if size > RATIO_FLOOR && size / packed > MAX_RATIO {
            return Err(format!(
                "文件疑似压缩炸弹：其中 {name} 声明解压后 {size} 字节，压缩比超过 {MAX_RATIO}:1，拒绝读取"
            ));
        }
        total = total.saturating_add(size);
        if total > max_inflated {
            return Err(format!(
                "文件解压后超过上限 {max_inflated} 字节（zip 目录声明的大小），拒绝读取；如确需检查，请拆分文件"
            ));
        }
        names.push(name);
    }
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    if has("xl/workbook.xml") {
        Ok(Kind::Xlsx)
    } else if has("xl/workbook.bin") {
        Ok(Kind::Xlsb)
    } else if has("content.xml") {
        Ok(Kind::Ods)
    } else if names.is_empty() {
        Err("zip 文件是空的，不是工作簿".into())
    } else {
        Err("这是 zip 压缩包，但里面没有 Excel/ODS 工作簿".into())
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

pub const ENCRYPTED_REASON: &str = "文件已加密（有密码保护），请另存为不加密的文件后再检查";

/// CFB sector ids at or above this are markers (end of chain, free, FAT, DIFAT), not sectors.
const CFB_RESERVED: u32 = 0xFFFF_FFFA;
const CFB_DIFSECT: u32 = 0xFFFF_FFFC;
const CFB_ENDOFCHAIN: u32 = 0xFFFF_FFFE;

pub const CFB_DAMAGED_REASON: &str =
    "文件已损坏（.xls 的扇区链有环或指向不存在的扇区），可能下载或复制不完整";

/// Refuse a CFB container whose sector chains calamine cannot follow safely: it walks a chain
/// until the end marker without a step limit, so one cycle in the FAT grows memory until the
/// process dies (fuzz find, tests/regressions.rs), and a next-sector id past the FAT's end
/// panics. Reads the header, DIFAT, FAT, directory and mini FAT exactly as calamine does; what
/// calamine itself reports as an error (short file, unknown sector size) passes here.
pub fn check_cfb(bytes: &[u8]) -> Result<(), &'static str> {
    const DAMAGED: Result<(), &str> = Err(CFB_DAMAGED_REASON);
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
    let entries: Vec<(u32, u32)> = dirs
        .chunks_exact(128)
        .filter_map(|d| Some((u32_le(d.get(116..120)?)?, u32_le(d.get(120..124)?)?)))
        .collect();
    let (mini_fat, ministream_len) = match entries.first() {
        Some(&(root_start, root_len)) if mini_fat_len > 0 => {
            if !ok_ptr(root_start) {
                return DAMAGED;
            }
            let mf = chain(mini_fat_start, mini_fat_len.saturating_mul(ss));
            if mf.len() % 4 != 0 {
                return DAMAGED;
            }
            (u32s(&mf), chain(root_start, root_len as usize).len())
        }
        _ => (Vec::new(), 0),
    };
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
    for &(start, len) in entries.iter().skip(1) {
        let ok = if len >= 4096 {
            ok_ptr(start)
        } else {
            len == 0 || ok_mini(start)
        };
        if !ok {
            return DAMAGED;
        }
    }
    Ok(())
}

fn u32_le(b: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes)
}

/// Open a file for sniffing; returns the reader rewound and the first bytes.
pub fn open_head(path: &std::path::Path) -> std::io::Result<(BufReader<File>, Vec<u8>, u64)> {
    let f = File::open(path)?;
    let meta = f.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("这是一个文件夹，不是文件"));
    }
    let mut r = BufReader::new(f);
    let mut head = Vec::with_capacity(8);
    (&mut r).take(8).read_to_end(&mut head)?;
    r.rewind()?;
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
        assert!(e.contains("上限"), "{e}");
        // 30 MiB of one byte deflates to about 1000:1.
        let z = zip_with("xl/worksheets/sheet1.xml", &vec![b'a'; 30 << 20]);
        let e = check_zip(Cursor::new(&z), u64::MAX).unwrap_err();
        assert!(e.contains("压缩炸弹"), "{e}");
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
    fn encrypted_cfb_is_recognised() {
        let mut b = CFB_MAGIC.to_vec();
        b.extend(vec![0u8; 100]);
        assert!(!cfb_is_encrypted(&b));
        b.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(cfb_is_encrypted(&b));
    }
}
