//! Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into [`Entry`]s with plain text.
//!
//! The bytes are first made valid UTF-8 here (BOM, then the XML declaration, then the HTTP
//! charset; invalid bytes replaced), so that every feed-rs sees is well-formed text whatever
//! encoding the server used or claimed.

use std::borrow::Cow;
use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use jiff::Timestamp;
use regex::bytes::Regex as BytesRegex;
use url::Url;

use crate::model::Entry;
use crate::text::{self, html_to_text};

/// Longest title kept, in bytes; feeds have sent whole articles as titles.
const MAX_TITLE_BYTES: usize = 1_000;
/// Longest body kept per entry, in bytes: enough to match on, small enough to store thousands.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Marks an entry for which the feed gave no id (feed-rs would otherwise invent a random one, and
/// every poll would look new).
const NO_ID: &str = "\u{0}newswatch:no-id";

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed (got {0})")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
}

/// A parsed feed: at most `max_entries` entries, newest first.
#[derive(Debug)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    /// Entries past `max_entries`, dropped.
    pub skipped: usize,
}

/// Parses a feed document. `base` (the URL it was fetched from) resolves relative links;
/// `content_type` gives the charset when the document does not, and explains a failure.
pub fn parse_feed(
    bytes: &[u8],
    base: &Url,
    content_type: Option<&str>,
    now: Timestamp,
    max_entries: usize,
) -> Result<Parsed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    let text = to_utf8(bytes, content_type);
    let feed = parser.parse(text.as_ref()).map_err(|e| {
        if text::looks_like_html(bytes, content_type) {
            ParseError::NotAFeed(
                content_type.map_or_else(|| "an HTML page".to_string(), |ct| text::mime_essence(ct).to_string()),
            )
        } else {
            ParseError::Malformed(text::one_line(&e.to_string()))
        }
    })?;
    let mut entries: Vec<Entry> = feed.entries.into_iter().map(|e| convert(e, base, now)).collect();
    // Newest first (undated ones keep their place at the end), so a cap drops the oldest.
    entries.sort_by_key(|e| std::cmp::Reverse(e.published));
    let skipped = entries.len().saturating_sub(max_entries);
    entries.truncate(max_entries);
    Ok(Parsed { entries, skipped })
}

/// The document as valid UTF-8 with a matching XML declaration. Order of evidence: a byte order
/// mark, the XML declaration, bytes that already are valid UTF-8, the HTTP charset; invalid
/// sequences become U+FFFD.
fn to_utf8<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let rest = &bytes[bom..];
        return if encoding == UTF_8 {
            valid_utf8(rest)
        } else {
            let (text, _) = encoding.decode_without_bom_handling(rest);
            Cow::Owned(declare_utf8(text.into_owned().into_bytes()))
        };
    }
    let declared = declared_encoding(bytes).and_then(|label| Encoding::for_label(label.as_bytes()));
    let encoding = match declared {
        // A declaration readable as ASCII rules out UTF-16: it was a mistake in the declaration.
        Some(e) if e == UTF_16LE || e == UTF_16BE => UTF_8,
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => content_type
            .and_then(http_charset)
            .and_then(|label| Encoding::for_label(label.as_bytes()))
            .unwrap_or(UTF_8),
    };
    if encoding == UTF_8 {
        return valid_utf8(bytes);
    }
    let (text, _, _) = encoding.decode(bytes);
    Cow::Owned(declare_utf8(text.into_owned().into_bytes()))
}

fn valid_utf8(bytes: &[u8]) -> Cow<'_, [u8]> {
    // `from_utf8` is the fast check; the lossy copy is only for the rare broken document.
    if std::str::from_utf8(bytes).is_ok() {
        return Cow::Borrowed(bytes);
    }
    match String::from_utf8_lossy(bytes) {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(fixed) => Cow::Owned(declare_utf8(fixed.into_bytes())),
    }
}

static DECLARATION: LazyLock<BytesRegex> = LazyLock::new(|| {
    BytesRegex::new(r#"\A\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']"#).expect("valid regex")
});

fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(512)];
    let caps = DECLARATION.captures(head)?;
    Some(String::from_utf8_lossy(&caps[1]).into_owned())
}

/// Rewrites the declaration's encoding to UTF-8, now that the text is UTF-8.
fn declare_utf8(text: Vec<u8>) -> Vec<u8> {
    let head_len = text.len().min(512);
    match DECLARATION.captures(&text[..head_len]).and_then(|c| c.get(1)) {
        Some(m) => {
            let mut out = Vec::with_capacity(text.len());
            out.extend_from_slice(&text[..m.start()]);
            out.extend_from_slice(b"UTF-8");
            out.extend_from_slice(&text[m.end()..]);
            out
        }
        None => text,
    }
}

fn http_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

fn convert(e: feed_rs::model::Entry, base: &Url, now: Timestamp) -> Entry {
    let title = e
        .title
        .as_ref()
        .map(|t| text::truncated(html_to_text(&t.content), MAX_TITLE_BYTES))
        .unwrap_or_default();
    let link = e
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| e.links.first())
        .and_then(|l| absolute_http_link(&l.href, base));

    let summary = e.summary.as_ref().map(|s| html_to_text(&s.content)).unwrap_or_default();
    let content = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(html_to_text)
        .unwrap_or_default();
    let body = match (summary.is_empty(), content.is_empty()) {
        (_, true) => summary,
        (true, false) => content,
        // Both: the summary is often the content's first sentence; keep it only when it adds text.
        (false, false) if content.contains(&summary) => content,
        (false, false) => format!("{summary}\n\n{content}"),
    };
    let body = text::truncated(body, MAX_BODY_BYTES);

    // A date in the future is a broken clock or a scheduled post; neither is a publication time.
    let published = e
        .published
        .or(e.updated)
        .and_then(|d| Timestamp::from_second(d.timestamp()).ok())
        .filter(|t| *t <= now);

    let guid = if e.id == NO_ID || e.id.trim().is_empty() {
        // Stable across polls: the same link and title always give the same id.
        format!(
            "newswatch:{}|{}",
            link.as_deref().unwrap_or(""),
            if title.is_empty() { &body } else { &title }
        )
    } else {
        e.id.trim().to_string()
    };

    Entry {
        guid,
        link,
        title,
        body,
        published,
    }
}

fn absolute_http_link(href: &str, base: &Url) -> Option<String> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example.org/feeds/rss.xml").unwrap()
    }

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn rss_items_become_plain_entries() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><guid>id-1</guid><title>SDF &amp; NATO</title><link>/a/1</link>
<description>&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &lt;b&gt;para&lt;/b&gt;&lt;script&gt;evil()&lt;/script&gt;&lt;/p&gt;</description>
<pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate></item></channel></rss>"#;
        let entries = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.guid, "id-1");
        assert_eq!(e.title, "SDF & NATO");
        assert_eq!(e.link.as_deref(), Some("https://news.example.org/a/1"));
        assert_eq!(e.body, "First second para");
        assert_eq!(e.published, Some("2026-11-23T09:00:00Z".parse().unwrap()));
    }

    #[test]
    fn missing_guid_gives_a_stable_id() {
        let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><title>No id</title><link>https://e.org/x</link></item></channel></rss>"#;
        let a = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
        let b = parse_feed(rss, &base(), None, now(), 1000).unwrap().entries;
        assert_eq!(a[0].guid, b[0].guid);
        assert!(a[0].guid.contains("https://e.org/x"));
    }

    #[test]
    fn future_dates_and_hostile_links_are_dropped() {
        let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><guid>g</guid><title>x</title><link>javascript:alert(1)</link><pubDate>Mon, 23 Nov 2099 09:00:00 GMT</pubDate></item>
</channel></rss>"#;
        let e = &parse_feed(rss, &base(), None, now(), 1000).unwrap().entries[0];
        assert_eq!(e.link, None);
        assert_eq!(e.published, None);
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let page = b"<!DOCTYPE html><html><body><form>Login</form></body></html>";
        let err = parse_feed(page, &base(), Some("text/html; charset=utf-8"), now(), 1000).unwrap_err();
        assert_eq!(err.to_string(), "not a feed (got text/html)");
        let err = parse_feed(
            b"<rss><channel><item>",
            &base(),
            Some("application/rss+xml"),
            now(),
            1000,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("malformed feed"), "{err}");
    }

    fn titles(bytes: &[u8], content_type: Option<&str>) -> Vec<String> {
        parse_feed(bytes, &base(), content_type, now(), 1000)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.title)
            .collect()
    }

    fn rss_with_title(declaration: &str, title: &[u8]) -> Vec<u8> {
        let mut doc = format!("{declaration}<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>")
            .into_bytes();
        doc.extend_from_slice(title);
        doc.extend_from_slice(b"</title></item></channel></rss>");
        doc
    }

    #[test]
    fn declared_and_sniffed_encodings() {
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Украина и НАТО");
        let doc = rss_with_title(r#"<?xml version="1.0" encoding="windows-1251"?>"#, &cp1251);
        assert_eq!(titles(&doc, None), ["Украина и НАТО"]);
        // No declaration: the HTTP charset decides.
        let doc = rss_with_title("", &cp1251);
        assert_eq!(
            titles(&doc, Some("application/rss+xml; charset=windows-1251")),
            ["Украина и НАТО"]
        );

        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("自衛隊とNATO");
        let doc = rss_with_title(r#"<?xml version="1.0" encoding="Shift_JIS"?>"#, &sjis);
        assert_eq!(titles(&doc, None), ["自衛隊とNATO"]);
        let (eucjp, _, _) = encoding_rs::EUC_JP.encode("自衛隊");
        let doc = rss_with_title(r#"<?xml version='1.0' encoding='EUC-JP'?>"#, &eucjp);
        assert_eq!(titles(&doc, None), ["自衛隊"]);
        let doc = rss_with_title(r#"<?xml version="1.0" encoding="ISO-8859-1"?>"#, b"Caf\xe9");
        assert_eq!(titles(&doc, None), ["Café"]);

        // UTF-16 with a BOM.
        let text = String::from_utf8(rss_with_title(
            r#"<?xml version="1.0" encoding="UTF-16"?>"#,
            "Київ".as_bytes(),
        ))
        .unwrap();
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(titles(&utf16, None), ["Київ"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let doc = rss_with_title(r#"<?xml version="1.0" encoding="utf-8"?>"#, b"NATO \xff\xfe summit");
        assert_eq!(titles(&doc, None), ["NATO \u{fffd}\u{fffd} summit"]);
    }

    #[test]
    fn at_most_max_entries_newest_first() {
        let mut doc = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for day in 1..=9 {
            doc.push_str(&format!(
                "<item><guid>{day}</guid><title>day {day}</title><pubDate>0{day} Nov 2026 00:00:00 GMT</pubDate></item>"
            ));
        }
        doc.push_str("</channel></rss>");
        let parsed = parse_feed(doc.as_bytes(), &base(), None, now(), 3).unwrap();
        let got: Vec<&str> = parsed.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(got, ["day 9", "day 8", "day 7"]);
        assert_eq!(parsed.skipped, 6);
    }
}
