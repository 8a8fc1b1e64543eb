//! Deciding when two entries are the same story: canonical links (tracking parameters, `www.`,
//! scheme and trailing slashes do not make a link different) and comparable titles.
//!
//! Pure decisions: the poll stage asks the store for the candidates and records the verdict.

use url::Url;

use crate::model::{Entry, ItemState, StoryCandidate, StoryHead};

/// Query parameters that only say where a click came from; they never change the article.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "ref_url",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "_hsenc",
    "_hsmi",
    "_ga",
    "_gl",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "cmpid",
    "s_cid",
    "ncid",
    "sr_share",
    "at_medium",
    "at_campaign",
    "spm",
    "smid",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// The canonical form of an article link: lower-case host, no default port, no fragment (except
/// `#!` routes), no tracking parameters, the remaining parameters sorted.
/// Returns `None` for anything that is not an absolute http(s) URL.
pub fn canonical_link(link: &str) -> Option<Url> {
    let mut url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    // `url` already lower-cases the host and drops a default port.
    if url.fragment().is_some_and(|f| !f.starts_with('!')) {
        url.set_fragment(None);
    }
    if url.query().is_some() {
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    Some(url)
}

/// The key under which stories are compared: the canonical link without its scheme, a leading
/// `www.` or a trailing `/`. A site's root page is never a key: feeds that link every item to the
/// home page would otherwise collapse into one story.
pub fn dedup_key(link: &str) -> Option<String> {
    let url = canonical_link(link)?;
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = url.path().trim_end_matches('/');
    if path.is_empty() && url.query().is_none() && url.fragment().is_none() {
        return None;
    }
    let mut key = String::with_capacity(link.len());
    key.push_str(host);
    if let Some(port) = url.port() {
        key.push(':');
        key.push_str(&port.to_string());
    }
    key.push_str(path);
    if let Some(q) = url.query() {
        key.push('?');
        key.push_str(q);
    }
    if let Some(f) = url.fragment() {
        key.push('#');
        key.push_str(f);
    }
    Some(key)
}

/// A title reduced for comparison: case, punctuation and spacing do not count.
pub fn comparable_title(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stored story a new entry titled `title` is another copy of, among the `candidates` that
/// share its link key (oldest first): the first one another source carried; else, from the
/// same source, one with the same title (a republished item; the items of a live blog share a
/// link but not a title); else none, and the entry is a new story.
pub fn same_story<'c>(candidates: &'c [StoryCandidate], title: &str) -> Option<&'c StoryCandidate> {
    if let Some(shared) = candidates.iter().find(|c| c.carried_elsewhere) {
        return Some(shared);
    }
    if candidates.is_empty() {
        return None;
    }
    let wanted = comparable_title(title);
    candidates.iter().find(|c| comparable_title(&c.title) == wanted)
}

/// Whether `entry`, a new report of the story `head`, should lead it (be the report the story
/// is shown by): never once the story was sent (what was mailed stays what the story says);
/// else when the lead has only a headline and `entry` has a text, or when `entry` has a text
/// and was published earlier (the first report leads).
pub fn leads(head: &StoryHead, entry: &Entry) -> bool {
    if head.state == ItemState::Sent || entry.body.trim().is_empty() {
        return false;
    }
    head.headline_only
        || entry
            .published
            .is_some_and(|at| head.published.is_none_or(|lead| lead > at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_with_text_or_published_first_leads_a_story_not_yet_sent() {
        let t = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
        let entry = |body: &str, published: Option<&str>| Entry {
            guid: "g".into(),
            link: None,
            title: "Title".into(),
            body: body.into(),
            published: published.map(t),
        };
        let head = |state, headline_only, published: Option<&str>| StoryHead {
            state,
            headline_only,
            published: published.map(t),
        };
        let (early, late) = ("2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z");
        let queued = ItemState::Queued;
        // A text where the lead has a headline alone.
        assert!(leads(&head(queued, true, Some(early)), &entry("Text.", Some(late))));
        assert!(leads(&head(ItemState::Stored, true, None), &entry("Text.", None)));
        // Published earlier than the lead, or the lead's time unknown.
        assert!(leads(&head(queued, false, Some(late)), &entry("Text.", Some(early))));
        assert!(leads(&head(queued, false, None), &entry("Text.", Some(late))));
        // Later, at the same time, or with no time: the first report stays.
        assert!(!leads(&head(queued, false, Some(early)), &entry("Text.", Some(late))));
        assert!(!leads(&head(queued, false, Some(early)), &entry("Text.", Some(early))));
        assert!(!leads(&head(queued, false, Some(late)), &entry("Text.", None)));
        // A headline alone never leads; a sent story keeps the lead it was mailed with.
        assert!(!leads(&head(queued, true, None), &entry(" \n", Some(early))));
        assert!(!leads(
            &head(ItemState::Sent, true, Some(late)),
            &entry("Text.", Some(early))
        ));
    }

    #[test]
    fn tracking_parameters_and_fragments_go() {
        assert_eq!(
            canonical_link("HTTPS://News.Example.ORG:443/a/b?utm_source=x&id=7&fbclid=1&b=2#comments")
                .unwrap()
                .as_str(),
            "https://news.example.org/a/b?b=2&id=7"
        );
        assert_eq!(
            canonical_link("http://example.org:80/a?UTM_Medium=rss")
                .unwrap()
                .as_str(),
            "http://example.org/a"
        );
        assert_eq!(
            canonical_link("https://example.org/app#!/story/5").unwrap().as_str(),
            "https://example.org/app#!/story/5"
        );
        for p in ["gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref_src"] {
            assert_eq!(
                canonical_link(&format!("https://e.org/x?{p}=1")).unwrap().as_str(),
                "https://e.org/x",
                "{p}"
            );
        }
    }

    #[test]
    fn keys_ignore_scheme_www_and_trailing_slash() {
        let k = dedup_key("https://www.example.org/news/story-1/").unwrap();
        assert_eq!(k, "example.org/news/story-1");
        assert_eq!(
            dedup_key("http://example.org/news/story-1?utm_campaign=feed").unwrap(),
            k
        );
        assert_ne!(dedup_key("https://example.org/news/story-2").unwrap(), k);
        assert_ne!(dedup_key("https://example.org:8443/news/story-1").unwrap(), k);
        assert_eq!(dedup_key("https://example.org/?p=123").unwrap(), "example.org?p=123");
    }

    #[test]
    fn root_pages_and_non_http_links_are_never_keys() {
        assert_eq!(dedup_key("https://www.example.org/"), None);
        assert_eq!(dedup_key("https://example.org"), None);
        assert_eq!(dedup_key("https://example.org/?utm_source=rss"), None);
        assert_eq!(dedup_key("javascript:alert(1)"), None);
        assert_eq!(dedup_key("/relative/path"), None);
        assert_eq!(dedup_key("mailto:x@example.org"), None);
    }

    #[test]
    fn titles_compare_without_case_or_punctuation() {
        assert_eq!(
            comparable_title("NATO  summit: SDF joins!"),
            comparable_title("nato summit — SDF joins")
        );
        assert_ne!(comparable_title("Live: update 1"), comparable_title("Live: update 2"));
    }

    #[test]
    fn same_story_prefers_what_another_source_carried_then_the_same_title() {
        use crate::model::ItemState;
        let c = |id: i64, title: &str, elsewhere: bool| StoryCandidate {
            entry: id * 10,
            id,
            title: title.into(),
            state: ItemState::Stored,
            carried_elsewhere: elsewhere,
        };
        let none: [StoryCandidate; 0] = [];
        assert_eq!(same_story(&none, "X"), None);
        let live = [c(1, "Update 1", false), c(2, "Update 2", false)];
        assert_eq!(same_story(&live, "update 1!").map(|s| s.id), Some(1));
        assert_eq!(
            same_story(&live, "Update 3"),
            None,
            "a live blog's new item is a new story"
        );
        let shared = [c(1, "Update 1", false), c(2, "Other", true)];
        assert_eq!(same_story(&shared, "Update 1").map(|s| s.id), Some(2));
    }
}
