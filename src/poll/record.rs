//! Writing one poll's entries: which are new for the source, which are another copy of a stored
//! story (decided by `dedup`), and which are reported (matched, and not older than
//! `fetch.max_age`). The decisions are made here; the store only records them, in one
//! transaction per poll.

use std::time::Duration;

use jiff::Timestamp;

use super::outcome::{ArticleStats, Failure, FailureKind, PollOutcome};
use crate::app::App;
use crate::config::Source;
use crate::dedup;
use crate::model::{Entry, IngestCounts, ItemState, MatchResult};
use crate::store::{FetchRecord, Store, StoreError};

/// An entry as the poll prepared it.
#[derive(Debug)]
pub(super) struct NewEntry {
    pub entry: Entry,
    /// What the matcher said of it (with its article, if one was fetched).
    pub verdict: Option<MatchResult>,
    /// Its article's text, or why the article did not load (full-text sources only).
    pub article: Option<Result<String, String>>,
}

/// What a poll reports besides what it stored.
pub(super) struct Report {
    /// Entries past `fetch.max_entries`, not stored.
    pub over_cap: usize,
    pub articles: ArticleStats,
    pub warning: Option<String>,
}

/// Stores a poll's entries and its fetch record (on the store's thread) and reports the poll; a
/// database failure is the poll's failure.
pub(super) async fn store(
    app: &App,
    source: &Source,
    entries: Vec<NewEntry>,
    mut record: FetchRecord,
    report: Report,
) -> Result<PollOutcome, Failure> {
    let (name, url) = (source.name.clone(), source.url.to_string());
    record.warning = report.warning.clone();
    let moved_to = record.moved_to.clone();
    let max_age = app.config.fetch.max_age;
    let counts = app
        .store(move |s| store_entries(s, (&name, &url), &entries, &record, Timestamp::now(), max_age))
        .await
        .map_err(|e| Failure::new(FailureKind::Store, format!("database: {e}")))?;
    Ok(PollOutcome::Fetched {
        counts,
        over_cap: report.over_cap,
        moved_to,
        articles: report.articles,
        warning: report.warning,
    })
}

/// Stores `entries` of `source` and the fetch `record`, all or nothing.
pub(super) fn store_entries(
    store: &mut Store,
    (source, url): (&str, &str),
    entries: &[NewEntry],
    record: &FetchRecord,
    now: Timestamp,
    max_age: Duration,
) -> Result<IngestCounts, StoreError> {
    store.ingest(source, url, record, now, |tx| {
        let mut counts = IngestCounts::default();
        for new in entries {
            let entry = &new.entry;
            if tx.seen(&entry.guid)? {
                continue;
            }
            counts.new += 1;
            let key = entry.link.as_deref().and_then(dedup::dedup_key);
            let existing = match &key {
                Some(key) => dedup::same_story(&tx.candidates(key)?, &entry.title).map(|c| (c.id, c.state)),
                None => None,
            };
            let (item_id, state) = match existing {
                Some(found) => found,
                None => (
                    tx.add_story(entry, key.as_deref(), new.article.as_ref())?,
                    ItemState::Stored,
                ),
            };
            tx.add_sighting(item_id, entry)?;
            // A story that is queued or sent stays so; one stored unmatched may match through
            // the text another outlet gives it.
            if state != ItemState::Stored || !reportable(entry.published, now, max_age) {
                continue;
            }
            if let Some(verdict) = &new.verdict
                && tx.queue(item_id, verdict)?
            {
                counts.matched += 1;
            }
        }
        Ok(counts)
    })
}

/// Whether a story published at `published` and first seen at `first_seen` may be reported:
/// not if it was published more than `max_age` before newswatch saw it (adding a source must
/// not mail its archive). Undated stories may.
pub(super) fn reportable(published: Option<Timestamp>, first_seen: Timestamp, max_age: Duration) -> bool {
    published.is_none_or(|p| first_seen.duration_since(p).as_secs() <= max_age.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snippet, TopicHit};

    const WEEK: Duration = Duration::from_secs(7 * 86_400);

    fn entry(guid: &str, link: &str, title: &str) -> Entry {
        Entry {
            guid: guid.into(),
            link: Some(link.into()),
            title: title.into(),
            body: format!("{title} body"),
            published: None,
        }
    }

    fn matched(e: Entry) -> NewEntry {
        let verdict = MatchResult {
            hits: vec![TopicHit {
                topic: "T".into(),
                keywords: vec!["k".into()],
            }],
            snippet: Snippet {
                text: e.body.clone(),
                marks: vec![(0, 1)],
            },
        };
        NewEntry {
            entry: e,
            verdict: Some(verdict),
            article: None,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("newswatch.db")).unwrap();
        (dir, store)
    }

    fn poll(s: &mut Store, source: &str, entries: Vec<Entry>) -> IngestCounts {
        let now = Timestamp::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let entries: Vec<NewEntry> = entries.into_iter().map(matched).collect();
        store_entries(s, (source, "u"), &entries, &record, now, WEEK).unwrap()
    }

    #[test]
    fn same_guid_same_source_is_one_item() {
        let (_d, mut s) = store();
        let e = || vec![entry("1", "https://a.org/x", "X")];
        assert_eq!(poll(&mut s, "A", e()).new, 1);
        assert_eq!(poll(&mut s, "A", e()).new, 0);
        assert_eq!(s.queued_stories().unwrap().len(), 1);
    }

    #[test]
    fn same_link_from_other_source_is_one_story_with_both_sources() {
        let (_d, mut s) = store();
        poll(
            &mut s,
            "A",
            vec![entry("1", "https://www.a.org/x/?utm_source=rss", "X")],
        );
        let b = poll(&mut s, "B", vec![entry("zz", "http://a.org/x", "Other title")]);
        assert_eq!((b.new, b.matched), (1, 0), "new for B, but not a new story");
        let stories = s.queued_stories().unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].story.sources, vec!["A".to_string(), "B".to_string()]);
    }

    #[test]
    fn republished_item_dedups_but_live_blog_items_stay_apart() {
        let (_d, mut s) = store();
        poll(&mut s, "A", vec![entry("1", "https://a.org/live", "Update 1")]);
        poll(&mut s, "A", vec![entry("2", "https://a.org/live", "Update 2")]);
        poll(&mut s, "A", vec![entry("3", "https://a.org/live", "update 1!")]);
        assert_eq!(s.queued_stories().unwrap().len(), 2);
    }

    #[test]
    fn root_page_links_never_merge_stories() {
        let (_d, mut s) = store();
        poll(&mut s, "A", vec![entry("1", "https://a.org/", "One")]);
        poll(&mut s, "B", vec![entry("2", "https://a.org/", "Two")]);
        assert_eq!(s.queued_stories().unwrap().len(), 2);
    }

    #[test]
    fn old_entries_are_stored_but_not_queued() {
        let (_d, mut s) = store();
        let mut old = entry("1", "https://a.org/old", "Old");
        old.published = Some(Timestamp::now() - jiff::SignedDuration::from_hours(24 * 8));
        let c = poll(&mut s, "A", vec![old]);
        assert_eq!((c.new, c.matched), (1, 0));
        assert!(s.queued_stories().unwrap().is_empty());
    }

    #[test]
    fn a_failed_store_leaves_nothing_behind() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let result = s.ingest("A", "u", &record, now, |tx| {
            tx.add_story(&entry("1", "https://a.org/1", "One"), None, None)?;
            Err(StoreError::Task("interrupted".into()))
        });
        assert!(result.is_err());
        assert_eq!(poll(&mut s, "A", vec![entry("1", "https://a.org/1", "One")]).new, 1);
        assert_eq!(
            s.queued_stories().unwrap().len(),
            1,
            "the rolled-back story is not there twice"
        );
    }
}
