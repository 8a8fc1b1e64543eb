//! Neutral text helpers that several stages need: bytes to text in the right charset
//! ([`decode`]), text kept on one line, strings cut at a character boundary, telling an HTML
//! page from other documents, HTML to plain text ([`html_to_text`]), and a panic's message.
//!
//! Every room may use this one; it uses no other room of ours, and must not.

mod charset;
mod html;

pub use charset::{Decoded, Markup, declare_utf8, decode, http_charset};
pub use html::html_to_text;

/// The message a panic carried (its payload, when it is text), for the error it becomes.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// `text` as the search index holds it, appended to `out`: NFKC, lower case, every run of
/// characters that are not letters or digits one space, and a space at each end. So a whole
/// word is always ` word ` and the words of a phrase are one space apart, however the text
/// wrote them: the index can narrow by word edges and phrases, the matcher (which splits words
/// the same way or finer) decides.
pub fn searchable(text: &str, out: &mut String) {
    use unicode_normalization::UnicodeNormalization;
    if !out.ends_with(' ') {
        out.push(' ');
    }
    let push = |c: char, out: &mut String| {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    };
    for c in text.chars() {
        match c.is_ascii() {
            true => push(c, out),
            false => std::iter::once(c).nfkc().for_each(|k| push(k, out)),
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

/// An error and its causes on one line, each said once ("permanent error (554): no thanks").
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        cause = c.source();
    }
    one_line(&reason)
}

/// Control characters (CR and LF above all) removed and runs of whitespace made one space, so
/// that text from a feed cannot start a new header or line.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` cut to at most `max` bytes at a character boundary (see [`cut`]), without a copy.
pub fn truncated(mut s: String, max: usize) -> String {
    let keep = cut(&s, max).len();
    s.truncate(keep);
    s
}

/// Whether XML 1.0 allows `c` in a document at all, escaped or not: a character it forbids
/// (U+0001, U+FFFF ...) makes every XML parser refuse the whole document.
fn xml_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` as XML character data or an attribute value: what XML 1.0 forbids dropped, `& < > " '`
/// escaped. Every XML document newswatch writes (the Atom feed, OPML) goes through this one.
pub fn xml_escape(s: &str) -> String {
    let allowed: std::borrow::Cow<str> = match s.chars().all(xml_allows) {
        true => s.into(),
        false => s.chars().filter(|&c| xml_allows(c)).collect::<String>().into(),
    };
    quick_xml::escape::escape(allowed.as_ref()).into_owned()
}

/// A URL as screens and logs show one whose path may be a secret (a chat's incoming-webhook
/// URL): scheme, host and port only.
pub fn url_origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map_or(String::new(), |p| format!(":{p}"))
        ),
        Err(_) => "(a webhook)".to_string(),
    }
}

/// The SHA-256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// "1 entry", "3 entries": `n` with the word for one or for many.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text/html` of `text/html; charset=utf-8`.
pub fn mime_essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or(content_type).trim()
}

/// Whether a document is an HTML page: its content type says so, or it starts like one.
pub fn looks_like_html(bytes: &[u8], content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|ct| {
        let essence = mime_essence(ct);
        essence.eq_ignore_ascii_case("text/html") || essence.eq_ignore_ascii_case("application/xhtml+xml")
    }) {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

#[cfg(test)]
mod tests {
    #[test]
    fn searchable_text_has_words_one_space_apart_in_lower_case() {
        let mut out = String::new();
        super::searchable("NATO's \"Self-Defense\"  Forces:", &mut out);
        super::searchable("ＮＡＴＯ 陸上自衛隊", &mut out);
        assert_eq!(out, " nato s self defense forces nato 陸上自衛隊 ");
    }

    use super::*;

    #[test]
    fn one_line_strips_line_breaks_and_controls() {
        assert_eq!(one_line("a\r\nBcc: x\u{0}y\t z "), "a Bcc: x y z");
    }

    #[test]
    fn xml_text_drops_what_xml_forbids_and_escapes_the_rest() {
        assert_eq!(
            xml_escape("a\u{1}b\u{FFFF}c\u{FFFE}\u{B}<&>\"\t\u{1F600}"),
            "abc&lt;&amp;&gt;&quot;\t\u{1F600}"
        );
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("日本語", 4), "日");
        assert_eq!(cut("日本語", 6), "日本");
        assert_eq!(truncated("Київ".to_string(), 3), "К");
    }

    #[test]
    fn html_is_told_by_its_type_or_its_start() {
        assert!(looks_like_html(b"x", Some("text/html; charset=utf-8")));
        assert!(looks_like_html(b"x", Some("application/xhtml+xml")));
        assert!(looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>", None));
        assert!(!looks_like_html(b"<rss version=\"2.0\">", Some("application/rss+xml")));
        assert!(!looks_like_html(b"<?xml version=\"1.0\"?><feed>", None));
    }
}
