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
