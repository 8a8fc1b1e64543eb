//! feed-rs's entries into ours: plain text, one link (the story's page, never its enclosure or
//! comments), a publication time, a stable id.

use feed_rs::model::{Entry as FeedEntry, Link, LinkTarget};
use jiff::Timestamp;
use url::Url;

use crate::model::Entry;
use crate::text::{self, html_to_text};

/// Longest title kept, in bytes; feeds have sent whole articles as titles.
const MAX_TITLE_BYTES: usize = 1_000;
/// Longest body kept per entry, in bytes: enough to match on, small enough to store thousands.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Words of the text that make a title for an entry that has none.
const TITLE_WORDS: usize = 12;
const MAX_MADE_TITLE_BYTES: usize = 120;
/// Marks an entry for which the feed gave no id (feed-rs would otherwise invent a random one, and
/// every poll would look new).
pub(super) const NO_ID: &str = "\u{0}newswatch:no-id";

/// Links that are never the story's page.
const NOT_THE_PAGE: [&str; 8] = [
    "enclosure",
    "license",
    "self",
    "via",
    "replies",
    "edit",
    "edit-media",
    "comments",
];

/// Our entry for feed-rs's, or `None` when it has nothing to show: no title, link or text.
pub(super) fn entry(e: FeedEntry, base: &Url, now: Timestamp) -> Option<Entry> {
    let link = story_link(&e.links).and_then(|href| absolute_http_link(href, base));

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

    let title = e
        .title
        .iter()
        .chain(e.media.iter().filter_map(|m| m.title.as_ref()))
        .map(|t| html_to_text(&t.content))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| first_words(&body));
    let title = text::truncated(title, MAX_TITLE_BYTES);
    if title.is_empty() && link.is_none() && body.is_empty() {
        return None;
    }

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

    Some(Entry {
        guid,
        link,
        title,
        body,
        published,
    })
}

/// The link to the story's page: an alternate (or unqualified) link to an HTML page first, then
/// any alternate that is not a media file.
fn story_link(links: &[Link]) -> Option<&str> {
    let candidates = || {
        links.iter().filter(|l| {
            let rel = l.rel.as_deref().map(str::trim).unwrap_or("alternate");
            let comments = matches!(l.target, Some(LinkTarget::Comments | LinkTarget::CommentsFeed));
            !comments && !NOT_THE_PAGE.iter().any(|r| rel.eq_ignore_ascii_case(r)) && !l.href.trim().is_empty()
        })
    };
    let kind = |l: &Link| {
        l.media_type
            .as_deref()
            .map(|t| text::mime_essence(t).to_ascii_lowercase())
    };
    let alternate = |l: &&Link| {
        l.rel
            .as_deref()
            .is_none_or(|r| r.trim().eq_ignore_ascii_case("alternate"))
    };
    candidates()
        .filter(alternate)
        .find(|l| kind(l).is_none_or(|t| t == "text/html" || t == "application/xhtml+xml"))
        .or_else(|| {
            candidates().filter(alternate).find(|l| {
                kind(l).is_none_or(|t| !(t.starts_with("audio/") || t.starts_with("video/") || t.starts_with("image/")))
            })
        })
        .map(|l| l.href.as_str())
}

fn absolute_http_link(href: &str, base: &Url) -> Option<String> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// A title made of the text's first words, for entries that have none.
fn first_words(body: &str) -> String {
    let mut words = body.split_whitespace();
    let title = words.by_ref().take(TITLE_WORDS).collect::<Vec<_>>().join(" ");
    let more = words.next().is_some() || title.len() > MAX_MADE_TITLE_BYTES;
    let title = text::cut(&title, MAX_MADE_TITLE_BYTES);
    if more { format!("{title}…") } else { title.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(href: &str, rel: Option<&str>, ty: Option<&str>) -> Link {
        Link {
            href: href.to_string(),
            target: None,
            rel: rel.map(str::to_string),
            media_type: ty.map(str::to_string),
            href_lang: None,
            title: None,
            length: None,
        }
    }

    #[test]
    fn the_story_link_is_the_html_alternate() {
        let links = [
            link("v.mp4", Some("enclosure"), Some("video/mp4")),
            link("lic", Some("license"), None),
            link("self", Some("self"), Some("application/atom+xml")),
            link("a.pdf", Some("alternate"), Some("application/pdf")),
            link("page", Some("alternate"), Some("text/html")),
        ];
        assert_eq!(story_link(&links), Some("page"));
        assert_eq!(story_link(&links[..4]), Some("a.pdf"));
        assert_eq!(story_link(&links[..3]), None);
        let mut comments = link("c", None, None);
        comments.target = Some(LinkTarget::Comments);
        assert_eq!(story_link(&[comments, link("p", None, None)]), Some("p"));
        assert_eq!(story_link(&[link("a.mp3", None, Some("audio/mpeg"))]), None);
    }

    #[test]
    fn titles_from_first_words() {
        assert_eq!(first_words("short text"), "short text");
        assert_eq!(
            first_words("one two three four five six seven eight nine ten eleven twelve thirteen"),
            "one two three four five six seven eight nine ten eleven twelve…"
        );
        assert_eq!(first_words(""), "");
    }
}
