//! Articles out of web pages: title, publication time and main text, with scraper.
//!
//! The main text is the block holding most paragraph text (an `<article>`, `<main>` or the
//! densest container of `<p>`s), without navigation, asides, footers, forms, scripts or styles.
//! html5ever builds trees in time quadratic in nesting depth, so pages nested deeper than
//! [`MAX_DEPTH`] are read with the tokenizer alone ([`crate::text::html_to_text`]).
//!
//! Pure: HTML in, text and links out; never fetches or stores.

use std::borrow::Cow;
use std::collections::HashMap;

use jiff::Timestamp;
use scraper::{ElementRef, Html, Selector};

/// Nesting depth above which a page is not parsed into a tree.
pub const MAX_DEPTH: usize = 512;

/// What a page says, as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    pub text: String,
    pub published: Option<Timestamp>,
}

/// Elements whose text is never article text.
const NOISE: &[&str] = &[
    "nav", "aside", "footer", "header", "form", "script", "style", "noscript", "template", "button", "select",
    "iframe", "svg", "figure",
];

pub fn extract(html: &str) -> Article {
    if nesting_exceeds(html, MAX_DEPTH) {
        return Article {
            title: String::new(),
            text: crate::text::html_to_text(html),
            published: None,
        };
    }
    let doc = Html::parse_document(html);
    Article {
        title: title(&doc),
        text: main_text(&doc),
        published: published(&doc),
    }
}

/// Links found on a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageLinks {
    /// Absolute http(s) links on the page's own site, in page order, without duplicates.
    pub links: Vec<url::Url>,
    /// With a selector: how many elements it matched (0 means the selector needs fixing).
    pub selected: usize,
}

/// Checks a CSS selector (for the config).
pub fn check_selector(css: &str) -> Result<(), String> {
    Selector::parse(css).map(|_| ()).map_err(|e| e.to_string())
}

/// The article links of a page: those `selector` picks (anchors, or anchors inside what it
/// picks), or without one, links in the page's main content and headlines that look like
/// articles rather than navigation. Only links to the page's own site (or its subdomains).
pub fn page_links(html: &str, base: &url::Url, selector: Option<&str>) -> PageLinks {
    if nesting_exceeds(html, MAX_DEPTH) {
        return PageLinks::default();
    }
    let doc = Html::parse_document(html);
    let anchor = Selector::parse("a[href]").expect("valid");
    let mut candidates: Vec<(String, bool)> = Vec::new();
    let mut selected = 0;
    match selector.and_then(|css| Selector::parse(css).ok()) {
        Some(sel) => {
            for el in doc.select(&sel) {
                selected += 1;
                if el.value().name() == "a" {
                    candidates.extend(el.value().attr("href").map(|h| (h.to_string(), true)));
                } else {
                    candidates.extend(
                        el.select(&anchor)
                            .filter_map(|a| a.value().attr("href"))
                            .map(|h| (h.to_string(), true)),
                    );
                }
            }
        }
        None => {
            let content = Selector::parse(
                "main a[href], article a[href], [role=main] a[href], h1 a[href], h2 a[href], h3 a[href]",
            )
            .expect("valid");
            for a in doc.select(&content) {
                let in_noise = a.ancestors().any(|n| {
                    n.value()
                        .as_element()
                        .is_some_and(|e| matches!(e.name(), "nav" | "header" | "footer" | "aside"))
                });
                if !in_noise {
                    candidates.extend(a.value().attr("href").map(|h| (h.to_string(), false)));
                }
            }
        }
    }
    let site = base
        .host_str()
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
        .unwrap_or_default();
    let mut links: Vec<url::Url> = Vec::new();
    for (href, chosen) in candidates {
        let Ok(mut url) = base.join(href.trim()) else { continue };
        url.set_fragment(None);
        if !matches!(url.scheme(), "http" | "https") || url == *base {
            continue;
        }
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
            .unwrap_or_default();
        if host != site && !host.ends_with(&format!(".{site}")) {
            continue;
        }
        if !chosen && !looks_like_article(&url) {
            continue;
        }
        if !links.contains(&url) {
            links.push(url);
        }
    }
    PageLinks { links, selected }
}

/// An article's address has a slug or an id; section, tag and paging addresses have not.
fn looks_like_article(url: &url::Url) -> bool {
    let path = url.path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(last) = segments.last() else { return false };
    let listing = [
        "tag",
        "tags",
        "category",
        "categories",
        "author",
        "authors",
        "page",
        "section",
        "topics",
        "search",
    ];
    if segments
        .iter()
        .any(|s| listing.contains(&s.to_ascii_lowercase().as_str()))
    {
        return false;
    }
    last.len() >= 12 && (last.contains('-') || last.contains('_'))
        || last.chars().any(|c| c.is_ascii_digit()) && last.len() >= 4
}

/// The feed a page advertises (`<link rel="alternate" type="application/rss+xml" href=...>`).
pub fn advertised_feed(html: &str, base: &url::Url) -> Option<url::Url> {
    if nesting_exceeds(html, MAX_DEPTH) {
        return None;
    }
    let doc = Html::parse_document(html);
    let sel = Selector::parse(r#"link[rel~="alternate"][href]"#).expect("valid");
    doc.select(&sel)
        .find(|l| {
            l.value().attr("type").is_some_and(|t| {
                matches!(
                    t.trim().to_ascii_lowercase().as_str(),
                    "application/rss+xml" | "application/atom+xml" | "application/feed+json" | "application/json"
                )
            })
        })
        .and_then(|l| base.join(l.value().attr("href")?.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn select<'a>(doc: &'a Html, css: &str) -> impl Iterator<Item = ElementRef<'a>> {
    let selector = Selector::parse(css).expect("selectors here are valid");
    doc.select(&selector).collect::<Vec<_>>().into_iter()
}

fn text_of(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    for node in el.descendants() {
        if let Some(text) = node.value().as_text() {
            let hidden = node
                .ancestors()
                .take_while(|a| a.id() != el.id())
                .any(|a| a.value().as_element().is_some_and(|e| NOISE.contains(&e.name())));
            if !hidden {
                out.push_str(text);
                out.push(' ');
            }
        }
    }
    crate::text::one_line(&out)
}

fn title(doc: &Html) -> String {
    let meta = select(doc, r#"meta[property="og:title"], meta[name="twitter:title"]"#)
        .find_map(|m| m.value().attr("content").map(crate::text::one_line))
        .filter(|t| !t.is_empty());
    meta.or_else(|| select(doc, "h1").map(text_of).find(|t| !t.is_empty()))
        .or_else(|| select(doc, "title").map(text_of).find(|t| !t.is_empty()))
        .unwrap_or_default()
}

fn main_text(doc: &Html) -> String {
    // An explicit article container with real text wins.
    let best_container = select(doc, "article, main, [role=main], [itemprop=articleBody]")
        .map(|el| (paragraph_chars(el), el))
        .filter(|(n, _)| *n >= 200)
        .max_by_key(|(n, _)| *n);
    if let Some((_, el)) = best_container {
        return paragraphs(el).unwrap_or_else(|| text_of(el));
    }
    // Otherwise the element whose own <p> children hold the most text.
    let densest = select(doc, "div, section, td, body")
        .map(|el| {
            let own: usize = el
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|c| c.value().name() == "p")
                .map(|p| text_of(p).chars().count())
                .sum();
            (own, el)
        })
        .max_by_key(|(n, _)| *n);
    match densest {
        Some((n, el)) if n > 0 => paragraphs(el).unwrap_or_else(|| text_of(el)),
        _ => select(doc, "body").next().map(text_of).unwrap_or_default(),
    }
}

fn paragraph_chars(el: ElementRef<'_>) -> usize {
    let p = Selector::parse("p").expect("valid");
    el.select(&p).map(|p| text_of(p).chars().count()).sum()
}

/// The container's paragraphs and headings, outside noise elements, one per line.
fn paragraphs(el: ElementRef<'_>) -> Option<String> {
    let blocks = Selector::parse("p, h2, h3, li, blockquote").expect("valid");
    let parts: Vec<String> = el
        .select(&blocks)
        .filter(|b| {
            !b.ancestors()
                .take_while(|a| a.id() != el.id())
                .any(|a| a.value().as_element().is_some_and(|e| NOISE.contains(&e.name())))
        })
        .map(text_of)
        .filter(|t| !t.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn published(doc: &Html) -> Option<Timestamp> {
    let parse = |s: &str| -> Option<Timestamp> {
        let s = s.trim();
        s.parse::<Timestamp>()
            .ok()
            .or_else(|| s.parse::<jiff::Zoned>().ok().map(|z| z.timestamp()))
            .or_else(|| {
                s.parse::<jiff::civil::DateTime>()
                    .ok()
                    .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|z| z.timestamp())
            })
            .or_else(|| {
                s.parse::<jiff::civil::Date>()
                    .ok()
                    .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|z| z.timestamp())
            })
    };
    if let Some(t) = select(
        doc,
        r#"meta[property="article:published_time"], meta[itemprop="datePublished"]"#,
    )
    .find_map(|m| m.value().attr("content").and_then(parse))
    {
        return Some(t);
    }
    for script in select(doc, r#"script[type="application/ld+json"]"#) {
        let json: String = script.text().collect();
        if let Some(t) = find_date_published(&json).and_then(|s| parse(&s)) {
            return Some(t);
        }
    }
    select(doc, "time[datetime]").find_map(|t| t.value().attr("datetime").and_then(parse))
}

/// `"datePublished": "..."` anywhere in a JSON-LD block (it nests in @graph arrays and the like).
fn find_date_published(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    fn walk(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Object(map) => map
                .get("datePublished")
                .and_then(|d| d.as_str().map(str::to_string))
                .or_else(|| map.values().find_map(walk)),
            serde_json::Value::Array(items) => items.iter().find_map(walk),
            _ => None,
        }
    }
    walk(&value)
}

/// Whether open tags nest deeper than `limit` (a cheap scan, no parsing). Depth is counted
/// the way the tree builder will build it: an end tag closes the innermost open element of its
/// name and all inside it, and an end tag that closes nothing (`</p>` with no open `p`) changes
/// nothing, so `<div></p>` repeated is as deep as `<div>` repeated.
pub fn nesting_exceeds(s: &str, limit: usize) -> bool {
    // Elements that never hold others, or that the next such element closes.
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr", "p",
        "li", "!doctype",
    ];
    let bytes = s.as_bytes();
    // Tag names as small numbers; `open` is the stack of open elements, `counts` how many of
    // each name are open, so that an end tag that closes nothing is told without a walk down
    // the stack.
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        i += off + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        if !bytes.get(start).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name_end = bytes[start..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .map_or(bytes.len(), |p| start + p);
        let name = &s[start..name_end];
        let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if closing {
            let Some(&id) = ids.get(name.as_ref()) else { continue };
            if counts[id] > 0 {
                while let Some(top) = open.pop() {
                    counts[top] -= 1;
                    if top == id {
                        break;
                    }
                }
            }
            continue;
        }
        let self_closing = bytes[name_end..]
            .iter()
            .position(|&c| c == b'>')
            .is_some_and(|p| p > 0 && bytes[name_end + p - 1] == b'/');
        if VOID.contains(&name.as_ref()) || self_closing {
            continue;
        }
        let id = match ids.get(name.as_ref()) {
            Some(&id) => id,
            None => {
                ids.insert(name.into_owned(), counts.len());
                counts.push(0);
                counts.len() - 1
            }
        };
        counts[id] += 1;
        open.push(id);
        if open.len() > limit {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html><html><head><title>Site name | Story</title>
<meta property="og:title" content="SDF joins NATO drill">
<meta property="article:published_time" content="2026-11-20T09:30:00+09:00">
<script>var nav = "NATO in a script";</script></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World NATO menu</a></nav></header>
<main><article><h1>SDF joins NATO drill</h1>
<p>The Self-Defense Forces joined a NATO exercise in the Baltic on Friday, officials said.</p>
<p>It is the first time Japanese troops take part in the drill, which runs for two weeks.</p>
<aside>Related: other stories about the alliance</aside>
<p>A spokesman said the deployment was planned with allies over several months.</p>
</article></main>
<footer>Copyright, contact, NATO newsletter sign-up</footer></body></html>"#;

    #[test]
    fn title_time_and_main_text() {
        let a = extract(PAGE);
        assert_eq!(a.title, "SDF joins NATO drill");
        assert_eq!(a.published, Some("2026-11-20T00:30:00Z".parse().unwrap()));
        assert!(
            a.text.contains("The Self-Defense Forces joined a NATO exercise"),
            "{}",
            a.text
        );
        assert!(a.text.contains("planned with allies"));
        for noise in ["menu", "newsletter", "Related", "in a script"] {
            assert!(!a.text.contains(noise), "{noise} leaked: {}", a.text);
        }
    }

    #[test]
    fn dates_from_json_ld_and_time_elements() {
        let ld = r#"<html><head><script type="application/ld+json">{"@graph":[{"@type":"NewsArticle","datePublished":"2026-11-01T08:00:00Z"}]}</script></head><body><p>x</p></body></html>"#;
        assert_eq!(extract(ld).published, Some("2026-11-01T08:00:00Z".parse().unwrap()));
        let time = r#"<html><body><time datetime="2026-10-31">Oct 31</time><p>x</p></body></html>"#;
        assert_eq!(extract(time).published, Some("2026-10-31T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn pages_without_article_markup_use_the_densest_block() {
        let page = format!(
            "<html><body><div class=menu><p>Home</p><p>World</p></div><div class=story><p>{}</p><p>{}</p></div></body></html>",
            "The NATO summit opened in Vilnius with leaders from thirty countries.",
            "Japan attended as a partner nation."
        );
        let a = extract(&page);
        assert!(a.text.starts_with("The NATO summit opened"), "{}", a.text);
        assert!(!a.text.contains("Home"));
    }

    #[test]
    fn article_links_with_and_without_a_selector() {
        let base = url::Url::parse("https://www.ministry.example/press/").unwrap();
        let page = r#"<html><body><nav><a href="/press/about-the-ministry-page">About</a></nav>
<main><h2><a class="headline" href="/press/2026/11/minister-meets-nato-chief">Minister meets NATO chief</a></h2>
<h2><a class="headline" href="2026/11/japan-sdf-exercise-ends#top">SDF exercise ends</a></h2>
<a href="/press/tag/defence">Defence</a> <a href="/press/page/2">Next</a>
<a href="https://elsewhere.example/story-about-something-else">Elsewhere</a>
<a href="https://news.ministry.example/2026/statement-on-ukraine">Statement</a></main></body></html>"#;
        let all = page_links(page, &base, None);
        let got: Vec<&str> = all.links.iter().map(|u| u.as_str()).collect();
        assert_eq!(
            got,
            [
                "https://www.ministry.example/press/2026/11/minister-meets-nato-chief",
                "https://www.ministry.example/press/2026/11/japan-sdf-exercise-ends",
                "https://news.ministry.example/2026/statement-on-ukraine",
            ]
        );
        let chosen = page_links(page, &base, Some("a.headline"));
        assert_eq!(chosen.links.len(), 2);
        assert_eq!(chosen.selected, 2);
        assert_eq!(page_links(page, &base, Some("a.nothing")).selected, 0);
    }

    #[test]
    fn advertised_feeds() {
        let base = url::Url::parse("https://site.example/news/").unwrap();
        let page = r#"<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml"></head></html>"#;
        assert_eq!(
            advertised_feed(page, &base).unwrap().as_str(),
            "https://site.example/feed.xml"
        );
        assert_eq!(advertised_feed("<html><head></head></html>", &base), None);
    }

    #[test]
    fn deep_pages_are_not_parsed_into_trees() {
        let deep = format!(
            "<html><body>{}NATO deep{}</body></html>",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        );
        assert!(nesting_exceeds(&deep, MAX_DEPTH));
        assert_eq!(extract(&deep).text, "NATO deep");
        assert!(!nesting_exceeds("<p>a<br>b<img src=x/><p>c</p>", 2));
        // End tags that close nothing do not make a page shallower.
        assert!(nesting_exceeds(&"<div></p>".repeat(200_000), MAX_DEPTH));
        assert!(nesting_exceeds(&"<div></span>".repeat(1_000), MAX_DEPTH));
        // One that closes an outer element closes everything inside it.
        let closed = "<section><div><div><div></section>".repeat(1_000);
        assert!(!nesting_exceeds(&closed, 4));
        assert!(nesting_exceeds(&closed, 3));
    }
}
