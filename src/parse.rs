//! Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) into [`Entry`]s with plain text.
//!
//! feed-rs is given the raw bytes so that it honours the document's own encoding declaration.

use jiff::Timestamp;
use scraper::{Html, Node};
use url::Url;

use crate::model::Entry;

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

/// Parses a feed document. `base` (the URL it was fetched from) resolves relative links;
/// `content_type` is only used to explain a failure.
pub fn parse_feed(
    bytes: &[u8],
    base: &Url,
    content_type: Option<&str>,
    now: Timestamp,
) -> Result<Vec<Entry>, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| NO_ID.to_string())
        .build();
    let feed = parser.parse(bytes).map_err(|e| {
        if looks_like_html(bytes, content_type) {
            ParseError::NotAFeed(content_type.map_or_else(|| "an HTML page".to_string(), |ct| essence(ct).to_string()))
        } else {
            ParseError::Malformed(one_line(&e.to_string()))
        }
    })?;
    Ok(feed.entries.into_iter().map(|e| convert(e, base, now)).collect())
}

fn convert(e: feed_rs::model::Entry, base: &Url, now: Timestamp) -> Entry {
    let title = e
        .title
        .as_ref()
        .map(|t| cap(html_to_text(&t.content), MAX_TITLE_BYTES))
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
    let body = cap(body, MAX_BODY_BYTES);

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

/// Plain text of an HTML fragment: tags dropped, entities decoded, script and style skipped,
/// whitespace collapsed. Text with no markup is returned as is (but with whitespace collapsed).
pub fn html_to_text(s: &str) -> String {
    if !s.contains(['<', '&']) {
        return collapse_whitespace(s);
    }
    let fragment = Html::parse_fragment(s);
    let mut out = String::with_capacity(s.len());
    for node in fragment.root_element().descendants() {
        match node.value() {
            Node::Text(text) => {
                let hidden = node.ancestors().any(|a| {
                    a.value()
                        .as_element()
                        .is_some_and(|el| matches!(el.name(), "script" | "style" | "noscript" | "template" | "head"))
                });
                if !hidden {
                    out.push_str(text);
                }
            }
            // Block boundaries separate words: "end.</p><p>Start" must not become "end.Start".
            Node::Element(el) if is_block(el.name()) => out.push(' '),
            _ => {}
        }
    }
    collapse_whitespace(&out)
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "tr"
            | "td"
            | "th"
            | "blockquote"
            | "pre"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "figure"
            | "figcaption"
            | "hr"
            | "table"
            | "dd"
            | "dt"
    )
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cap(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or(content_type).trim()
}

fn looks_like_html(bytes: &[u8], content_type: Option<&str>) -> bool {
    if content_type.is_some_and(|ct| essence(ct).eq_ignore_ascii_case("text/html")) {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn one_line(s: &str) -> String {
    collapse_whitespace(s)
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
        let entries = parse_feed(rss, &base(), None, now()).unwrap();
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
        let a = parse_feed(rss, &base(), None, now()).unwrap();
        let b = parse_feed(rss, &base(), None, now()).unwrap();
        assert_eq!(a[0].guid, b[0].guid);
        assert!(a[0].guid.contains("https://e.org/x"));
    }

    #[test]
    fn future_dates_and_hostile_links_are_dropped() {
        let rss = br#"<rss version="2.0"><channel><title>T</title>
<item><guid>g</guid><title>x</title><link>javascript:alert(1)</link><pubDate>Mon, 23 Nov 2099 09:00:00 GMT</pubDate></item>
</channel></rss>"#;
        let e = &parse_feed(rss, &base(), None, now()).unwrap()[0];
        assert_eq!(e.link, None);
        assert_eq!(e.published, None);
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let page = b"<!DOCTYPE html><html><body><form>Login</form></body></html>";
        let err = parse_feed(page, &base(), Some("text/html; charset=utf-8"), now()).unwrap_err();
        assert_eq!(err.to_string(), "not a feed (got text/html)");
        let err = parse_feed(b"<rss><channel><item>", &base(), Some("application/rss+xml"), now()).unwrap_err();
        assert!(err.to_string().starts_with("malformed feed"), "{err}");
    }

    #[test]
    fn html_to_text_keeps_plain_text_and_drops_markup() {
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<p>end.</p><p>Start</p>"), "end. Start");
        assert_eq!(html_to_text("x<style>p{}</style>y<script>z()</script>"), "xy");
        assert_eq!(html_to_text("Tom &amp; Jerry&nbsp;!"), "Tom & Jerry !");
    }
}
