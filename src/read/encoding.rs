//! Decoding CSV bytes to text: BOM, UTF-16 without BOM, UTF-8, else GB18030; a forced encoding
//! is honoured. A decode that would need replacement characters is refused, naming the line,
//! because a silently garbled name or ID is worse than an unreadable file.

use super::Encoding;

/// The text and the encoding that produced it (for messages).
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Borrowed from the input when it already was UTF-8 (no copy of a large file).
    pub text: std::borrow::Cow<'a, str>,
    pub encoding: &'static str,
}

/// Decode `bytes`. Err is a Chinese reason naming the first bad line.
pub fn decode(bytes: &[u8], forced: Encoding) -> Result<Decoded<'_>, String> {
    decode_reason(bytes, forced).map_err(|r| r.to_string())
}

/// Decode `bytes`. Err names the first bad line.
pub fn decode_reason(bytes: &[u8], forced: Encoding) -> Result<Decoded<'_>, super::Reason> {
    let (enc, body): (&'static encoding_rs::Encoding, &[u8]) = match forced {
        Encoding::Utf8 => (
            encoding_rs::UTF_8,
            bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        ),
        Encoding::Gbk => (encoding_rs::GB18030, bytes),
        Encoding::Utf16Le => (
            encoding_rs::UTF_16LE,
            bytes.strip_prefix(b"\xFF\xFE").unwrap_or(bytes),
        ),
        Encoding::Utf16Be => (
            encoding_rs::UTF_16BE,
            bytes.strip_prefix(b"\xFE\xFF").unwrap_or(bytes),
        ),
        Encoding::Auto => detect(bytes),
    };
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    if had_errors {
        let line = bad_line(enc, body, &text);
        let name = label(enc);
        return Err(super::Reason::Undecodable {
            encoding: name,
            line,
            forced: forced != Encoding::Auto,
        });
    }
    Ok(Decoded {
        text,
        encoding: label(enc),
    })
}

fn label(enc: &'static encoding_rs::Encoding) -> &'static str {
    if enc == encoding_rs::GB18030 {
        "GB18030/GBK"
    } else {
        enc.name()
    }
}

/// BOM first; then NUL bytes (never in real text) mean UTF-16, the side the NULs fall on giving
/// the byte order; then strict UTF-8; else GB18030, a superset of GBK and GB2312.
fn detect(bytes: &[u8]) -> (&'static encoding_rs::Encoding, &[u8]) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (encoding_rs::UTF_8, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return (encoding_rs::UTF_16LE, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return (encoding_rs::UTF_16BE, rest);
    }
    let sample = bytes.get(..4096).unwrap_or(bytes);
    let even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    if even + odd > 0 {
        return if odd >= even {
            (encoding_rs::UTF_16LE, bytes)
        } else {
            (encoding_rs::UTF_16BE, bytes)
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => (encoding_rs::UTF_8, bytes),
        Err(e) => {
            if encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .is_some()
            {
                return (encoding_rs::GB18030, bytes);
            }
            // Neither decodes. Chinese already seen as valid UTF-8 before the first bad byte
            // means a damaged UTF-8 file: report it as UTF-8 so the line named is the bad one.
            let utf8_seen = bytes
                .get(..e.valid_up_to())
                .is_some_and(|ok| ok.iter().any(|&b| b >= 0x80));
            if utf8_seen {
                (encoding_rs::UTF_8, bytes)
            } else {
                (encoding_rs::GB18030, bytes)
            }
        }
    }
}

/// 1-based line of the first undecodable byte.
fn bad_line(enc: &'static encoding_rs::Encoding, body: &[u8], text: &str) -> usize {
    if enc == encoding_rs::UTF_8 {
        let valid = match std::str::from_utf8(body) {
            Ok(_) => body.len(),
            Err(e) => e.valid_up_to(),
        };
        let upto = body.get(..valid).unwrap_or(body);
        return upto.iter().filter(|&&b| b == b'\n').count() + 1;
    }
    let upto = text.find('\u{FFFD}').unwrap_or(text.len());
    text.get(..upto).unwrap_or(text).matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, le: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    #[test]
    fn detects_each_encoding() {
        let s = "姓名,证件号码\n甲,1\n";
        let d = decode(s.as_bytes(), Encoding::Auto).unwrap();
        assert_eq!((&*d.text, d.encoding), (s, "UTF-8"));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(s.as_bytes());
        assert_eq!(decode(&bom, Encoding::Auto).unwrap().text, s);
        let (gbk, _, _) = encoding_rs::GBK.encode(s);
        let d = decode(&gbk, Encoding::Auto).unwrap();
        assert_eq!((&*d.text, d.encoding), (s, "GB18030/GBK"));
        let mut le = b"\xFF\xFE".to_vec();
        le.extend(utf16(s, true));
        assert_eq!(decode(&le, Encoding::Auto).unwrap().text, s);
        assert_eq!(decode(&utf16(s, true), Encoding::Auto).unwrap().text, s);
        assert_eq!(decode(&utf16(s, false), Encoding::Auto).unwrap().text, s);
    }

    #[test]
    fn wrong_forced_encoding_is_refused_with_line() {
        let (gbk, _, _) = encoding_rs::GBK.encode("a,b\nc,d\n姓名,1\n");
        let e = decode(&gbk, Encoding::Utf8).unwrap_err();
        assert!(e.contains("第 3 行"), "{e}");
        assert!(decode(&gbk, Encoding::Gbk).is_ok());
    }

    #[test]
    fn undecodable_gbk_is_refused() {
        // 0x80 alone and a lone lead byte at the end are invalid GB18030.
        let e = decode(b"a,b\n\x80\xff\n", Encoding::Auto).unwrap_err();
        assert!(e.contains("第 2 行"), "{e}");
    }
}
