//! Corrected CSV copies: the changed fields' text spliced into the decoded file, which is then
//! encoded back as it came (UTF-8 with or without BOM, GB18030/GBK, UTF-16 with its byte order
//! and BOM). Everything else keeps its bytes: the delimiter, quoting, line ends, other fields.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Change, Edit, t, write_atomically};
use crate::finding::Lang;
use crate::read::{self, Encoding};

/// How the file was encoded, to encode the corrected text the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Utf8 { bom: bool },
    Gb18030,
    Utf16 { le: bool, bom: bool },
}

fn codec_of(bytes: &[u8], label: &str) -> Codec {
    match label {
        "UTF-16LE" => Codec::Utf16 {
            le: true,
            bom: bytes.starts_with(b"\xFF\xFE"),
        },
        "UTF-16BE" => Codec::Utf16 {
            le: false,
            bom: bytes.starts_with(b"\xFE\xFF"),
        },
        "GB18030/GBK" => Codec::Gb18030,
        _ => Codec::Utf8 {
            bom: bytes.starts_with(b"\xEF\xBB\xBF"),
        },
    }
}

fn encode(text: &str, codec: Codec) -> Vec<u8> {
    match codec {
        Codec::Utf8 { bom } => {
            let mut out = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            out.extend_from_slice(text.as_bytes());
            out
        }
        Codec::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        Codec::Utf16 { le, bom } => {
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            let mut push =
                |u: u16| out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
            if bom {
                push(0xFEFF);
            }
            for u in text.encode_utf16() {
                push(u);
            }
            out
        }
    }
}

/// One field of a record: its byte span in the decoded text, quoted or not.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    quoted: bool,
}

/// Every record's fields by the line the record starts on (the line the reader reports).
fn records(text: &str, delimiter: u8) -> BTreeMap<u32, Vec<Span>> {
    let b = text.as_bytes();
    let mut out = BTreeMap::new();
    let (mut i, mut line) = (0usize, 1u32);
    while i < b.len() {
        let first_line = line;
        let mut fields = Vec::new();
        loop {
            let span = if b.get(i) == Some(&b'"') {
                let start = i + 1;
                let mut j = start;
                loop {
                    match b.get(j) {
                        None => break,
                        Some(b'"') if b.get(j + 1) == Some(&b'"') => j += 2,
                        Some(b'"') => break,
                        Some(b'\n') => {
                            line += 1;
                            j += 1;
                        }
                        Some(_) => j += 1,
                    }
                }
                let end = j;
                i = (j + 1).min(b.len());
                // Anything between the closing quote and the delimiter is kept as it is.
                while i < b.len() && !matches!(b[i], b'\n' | b'\r') && b[i] != delimiter {
                    i += 1;
                }
                Span {
                    start,
                    end,
                    quoted: true,
                }
            } else {
                let start = i;
                while i < b.len() && !matches!(b[i], b'\n' | b'\r') && b[i] != delimiter {
                    i += 1;
                }
                Span {
                    start,
                    end: i,
                    quoted: false,
                }
            };
            fields.push(span);
            match b.get(i) {
                Some(&d) if d == delimiter => i += 1,
                _ => break,
            }
        }
        if b.get(i) == Some(&b'\r') {
            i += 1;
        }
        if b.get(i) == Some(&b'\n') {
            i += 1;
            line += 1;
        }
        out.insert(first_line, fields);
    }
    out
}

pub(crate) fn apply(
    path: &Path,
    dest: Option<&Path>,
    display: &str,
    edits: &[Edit],
    encoding: Encoding,
    lang: Lang,
) -> Result<Vec<Change>, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "{}{e}",
            t(lang, "无法读取，未改正：", "cannot be read, not fixed: ")
        )
    })?;
    let decoded = read::encoding::decode(&bytes, encoding)?;
    let codec = codec_of(&bytes, decoded.encoding);
    let text = decoded.text.into_owned();
    // Only when the text encodes back to the very same bytes can the rest be kept byte for byte.
    if encode(&text, codec) != bytes {
        return Err(t(
            lang,
            "此文件的编码无法逐字节保持，未改正",
            "this file's encoding cannot be kept byte for byte; not fixed",
        ));
    }
    let delimiter = read::csv::sniff_delimiter(&text);
    let recs = records(&text, delimiter);
    // Replacements by start offset; later ones applied first so offsets stay valid.
    let mut splices: BTreeMap<usize, (usize, String)> = BTreeMap::new();
    let mut changes = Vec::new();
    for e in edits {
        let Some(span) = recs.get(&e.row).and_then(|f| f.get(e.col)) else {
            continue;
        };
        let raw = &text[span.start..span.end];
        let current = if span.quoted {
            raw.replace("\"\"", "\"")
        } else {
            raw.to_string()
        };
        if current != e.before {
            continue;
        }
        let needs_quotes = e
            .after
            .bytes()
            .any(|c| c == delimiter || matches!(c, b'"' | b'\n' | b'\r'));
        let new = if span.quoted {
            e.after.replace('"', "\"\"")
        } else if needs_quotes {
            format!("\"{}\"", e.after.replace('"', "\"\""))
        } else {
            e.after.clone()
        };
        splices.insert(span.start, (span.end, new));
        changes.push(super::change(display, e, e.col, e.row));
    }
    let mut out = text;
    for (start, (end, new)) in splices.into_iter().rev() {
        out.replace_range(start..end, &new);
    }
    if let Some(dest) = dest {
        let bytes = encode(&out, codec);
        write_atomically(dest, lang, |tmp| {
            std::fs::write(tmp, &bytes).map_err(|e| {
                format!(
                    "{}{e}",
                    t(lang, "副本无法写出：", "the copy cannot be written: ")
                )
            })
        })?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_start_lines_and_quoted_fields() {
        let text = "a,b\r\n\"x\ny\",\" q\"\"\"\n\nlast,\n";
        let recs = records(text, b',');
        let lines: Vec<u32> = recs.keys().copied().collect();
        assert_eq!(lines, [1, 2, 4, 5]);
        let f = &recs[&2];
        assert_eq!(&text[f[0].start..f[0].end], "x\ny");
        assert_eq!(&text[f[1].start..f[1].end], " q\"\"");
        assert!(f[1].quoted);
        assert_eq!(recs[&5].len(), 2);
    }

    #[test]
    fn every_codec_round_trips() {
        let text = "姓名,证件号码\n张*,1\n";
        for codec in [
            Codec::Utf8 { bom: true },
            Codec::Utf8 { bom: false },
            Codec::Gb18030,
            Codec::Utf16 {
                le: true,
                bom: true,
            },
            Codec::Utf16 {
                le: false,
                bom: true,
            },
        ] {
            let bytes = encode(text, codec);
            let d = read::encoding::decode(&bytes, Encoding::Auto).expect("decodes");
            assert_eq!(d.text, text);
            assert_eq!(codec_of(&bytes, d.encoding), codec);
        }
    }
}
