//! Bytes to text, for feeds and web pages alike, by the evidence liberal readers trust, in this
//! order:
//! 1. a byte order mark;
//! 2. the byte patterns of XML 1.0 Appendix F: UTF-16 and UTF-32 without a BOM;
//! 3. bytes that are valid UTF-8 are UTF-8, whatever a label says (labels are often wrong, and
//!    text in another charset is almost never valid UTF-8 by chance);
//! 4. the HTTP `charset`, then the document's own declaration (XML `encoding`, HTML `<meta
//!    charset>`), each only if the bytes decode in it without error;
//! 5. windows-1252, as liberal readers do when nothing usable is declared.
//!
//! Pure; encoding_rs does the decoding, but for UTF-32, which it does not know.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use regex::bytes::Regex;

/// Where the document's own charset declaration is to be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// `<?xml ... encoding="..."?>`
    Xml,
    /// `<meta charset="...">` or `<meta http-equiv="Content-Type" content="...; charset=...">`
    Html,
}

/// Text, and the charset it was read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub charset: &'static str,
}

pub fn decode(bytes: &[u8], content_type: Option<&str>, markup: Markup) -> Decoded {
    if let Some(decoded) = by_bom(bytes).or_else(|| by_pattern(bytes)) {
        return decoded;
    }
    // ESC is no XML or HTML character: 7-bit text with it is ISO-2022-JP (or kin), which is
    // valid UTF-8 byte for byte but means something else.
    if let Ok(text) = std::str::from_utf8(bytes)
        && !bytes.contains(&0x1b)
    {
        return Decoded {
            text: text.to_string(),
            charset: "UTF-8",
        };
    }
    let declared = match markup {
        Markup::Xml => xml_declaration(bytes),
        Markup::Html => html_meta(bytes),
    };
    for label in [content_type.and_then(http_charset), declared].into_iter().flatten() {
        let Some(encoding) = Encoding::for_label(label.trim().as_bytes()) else {
            continue;
        };
        // The bytes are not UTF-8, nor did they look like UTF-16: those labels are wrong.
        if encoding == UTF_8 || encoding == UTF_16LE || encoding == UTF_16BE {
            continue;
        }
        if let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
            return Decoded {
                text: text.into_owned(),
                charset: encoding.name(),
            };
        }
    }
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        charset: WINDOWS_1252.name(),
    }
}

fn by_bom(bytes: &[u8]) -> Option<Decoded> {
    // UTF-32 first: its little-endian BOM begins like UTF-16's.
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE, 0, 0]) {
        return Some(utf32(rest, false));
    }
    if let Some(rest) = bytes.strip_prefix(&[0, 0, 0xFE, 0xFF]) {
        return Some(utf32(rest, true));
    }
    let (encoding, len) = Encoding::for_bom(bytes)?;
    let (text, _) = encoding.decode_without_bom_handling(&bytes[len..]);
    Some(Decoded {
        text: text.into_owned(),
        charset: encoding.name(),
    })
}

/// XML 1.0 Appendix F: a document begins with `<` or white space, so its first characters are
/// ASCII, and where the zero bytes fall tells the width and the byte order.
fn by_pattern(bytes: &[u8]) -> Option<Decoded> {
    let [a, b, c, d, ..] = *bytes else { return None };
    let nonzero = |x: u8| x != 0;
    if a == 0 && b == 0 && c == 0 && nonzero(d) {
        return Some(utf32(bytes, true));
    }
    if nonzero(a) && b == 0 && c == 0 && d == 0 {
        return Some(utf32(bytes, false));
    }
    let encoding = if a == 0 && nonzero(b) && c == 0 && nonzero(d) {
        UTF_16BE
    } else if nonzero(a) && b == 0 && nonzero(c) && d == 0 {
        UTF_16LE
    } else {
        return None;
    };
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    Some(Decoded {
        text: text.into_owned(),
        charset: encoding.name(),
    })
}

fn utf32(bytes: &[u8], big_endian: bool) -> Decoded {
    let text = bytes
        .chunks(4)
        .map(|c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            let n = if big_endian {
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            };
            char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    Decoded {
        text,
        charset: if big_endian { "UTF-32BE" } else { "UTF-32LE" },
    }
}

/// The `charset` parameter of a Content-Type.
pub fn http_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

static XML_DECLARATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\A\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"#).expect("valid regex")
});

static HTML_META: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta\b[^>]*?charset\s*=\s*["']?\s*([a-z0-9._:-]{1,40})"#).expect("valid regex")
});

fn xml_declaration(bytes: &[u8]) -> Option<String> {
    let caps = XML_DECLARATION.captures(&bytes[..bytes.len().min(512)])?;
    Some(String::from_utf8_lossy(&caps[1]).into_owned())
}

fn html_meta(bytes: &[u8]) -> Option<String> {
    let caps = HTML_META.captures(&bytes[..bytes.len().min(2048)])?;
    Some(String::from_utf8_lossy(&caps[1]).into_owned())
}

/// `text` with its XML declaration saying UTF-8, as it now is: an XML reader that trusts the
/// declaration must not decode it a second time.
pub fn declare_utf8(text: String) -> String {
    let head = &text.as_bytes()[..text.len().min(512)];
    match XML_DECLARATION.captures(head).and_then(|c| c.get(1)) {
        Some(m) => format!("{}UTF-8{}", &text[..m.start()], &text[m.end()..]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(bytes: &[u8], ct: Option<&str>) -> Decoded {
        decode(bytes, ct, Markup::Xml)
    }

    fn utf16(s: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
        }
        for u in s.encode_utf16() {
            out.extend_from_slice(&if big { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    fn utf32_bytes(s: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big { &[0, 0, 0xFE, 0xFF] } else { &[0xFF, 0xFE, 0, 0] });
        }
        for c in s.chars() {
            out.extend_from_slice(&if big {
                (c as u32).to_be_bytes()
            } else {
                (c as u32).to_le_bytes()
            });
        }
        out
    }

    const DOC: &str = "<rss><title>Київ 自衛隊</title></rss>";

    #[test]
    fn byte_order_marks_and_appendix_f_patterns() {
        for (big, bom) in [(true, true), (true, false), (false, true), (false, false)] {
            assert_eq!(xml(&utf16(DOC, big, bom), None).text, DOC, "UTF-16 big {big} bom {bom}");
            assert_eq!(
                xml(&utf32_bytes(DOC, big, bom), None).text,
                DOC,
                "UTF-32 big {big} bom {bom}"
            );
        }
        let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
        utf8_bom.extend_from_slice(DOC.as_bytes());
        assert_eq!(xml(&utf8_bom, None).text, DOC);
    }

    #[test]
    fn valid_utf8_wins_over_any_label() {
        let doc = format!("<?xml version=\"1.0\" encoding=\"windows-1251\"?>{DOC}");
        let d = xml(doc.as_bytes(), Some("text/xml; charset=iso-8859-1"));
        assert_eq!((d.text.as_str(), d.charset), (doc.as_str(), "UTF-8"));
    }

    #[test]
    fn http_charset_before_the_declaration_and_only_if_it_fits() {
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Украина");
        let mut doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>".to_vec();
        doc.extend_from_slice(&cp1251);
        // Declared UTF-8, but the bytes are not: the HTTP charset is right.
        let d = xml(&doc, Some("application/rss+xml; charset=windows-1251"));
        assert!(d.text.contains("Украина"), "{d:?}");
        // A multi-byte charset the bytes do not fit is passed over.
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("自衛隊");
        let mut doc = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><t>".to_vec();
        doc.extend_from_slice(&sjis);
        let d = xml(&doc, Some("text/xml; charset=euc-jp"));
        assert!(d.text.contains("自衛隊"), "{d:?}");
    }

    #[test]
    fn nothing_usable_declared_is_windows_1252() {
        let d = xml(b"<t>Caf\xe9 \x93quoted\x94 NATO \xff\xfe</t>", None);
        assert_eq!(d.charset, "windows-1252");
        assert_eq!(d.text, "<t>Café “quoted” NATO ÿþ</t>");
    }

    #[test]
    fn html_pages_name_their_charset_in_meta() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("陸上自衛隊");
        for head in [
            "<meta charset=\"Shift_JIS\">",
            "<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=shift_jis\">",
        ] {
            let mut page = format!("<html><head>{head}</head><body><p>").into_bytes();
            page.extend_from_slice(&sjis);
            let d = decode(&page, Some("text/html"), Markup::Html);
            assert!(d.text.contains("陸上自衛隊"), "{head}: {d:?}");
        }
    }

    #[test]
    fn the_declaration_is_rewritten_to_utf8() {
        assert_eq!(
            declare_utf8("<?xml version='1.0' encoding='koi8-r'?><a/>".into()),
            "<?xml version='1.0' encoding='UTF-8'?><a/>"
        );
        assert_eq!(declare_utf8("<a/>".into()), "<a/>");
    }
}
