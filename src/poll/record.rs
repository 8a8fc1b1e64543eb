//! Writing one poll's entries: which are new for the source, which story each belongs to (a
//! copy under the same link, decided by `dedup`; a report of the same event, decided by
//! `cluster`), and which are reported (matched, and not older than `fetch.max_age`). The
//! decisions are made here; the store only records them, in one transaction per poll.

use std::time::Duration;

use jiff::Timestamp;

use super::outcome::{ArticleStats, Failure, FailureKind, PollOutcome};
use crate::app::App;
use crate::cluster;
use crate::config::{Dedup, Source};
use crate::dedup;
use crate::model::{Entry, IngestCounts, ItemState, JoinRule, Joined, MatchResult};
use crate::store::{FetchRecord, Store, StoreError};

/// An entry as the poll prepared it.
#[derive(Debug)]
pub struct NewEntry {
    pub entry: Entry,
    /// What the matcher said of it (with its article, if one was fetched).
    pub verdict: Option<MatchResult>,
    /// Its article's text, or why the article did not load (full-text sources only).
    pub article: Option<Result<String, String>>,
    /// Its words for clustering (see [`cluster::Prepared`]).
    pub words: cluster::Prepared,
}

impl NewEntry {
    /// `entry` with its verdict and article, and its words counted for clustering by `dedup`:
    /// on the compute pool, in parallel, not on the store's thread.
    pub fn new(
        entry: Entry,
        verdict: Option<MatchResult>,
        article: Option<Result<String, String>>,
        dedup: &Dedup,
    ) -> NewEntry {
        NewEntry {
            words: cluster::Prepared::of(&entry.title, &entry.body, dedup.rewrites),
            entry,
            verdict,
            article,
        }
    }
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
    let rules = Rules {
        max_age: app.config.fetch.max_age,
        dedup: app.config.dedup.clone(),
    };
    let counts = app
        .store(move |s| store_entries(s, (&name, &url), entries, &record, crate::clock::now(), &rules))
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

/// The settings that decide what a poll's entries become.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Entries published longer than this before they are seen are stored, not reported.
    pub max_age: Duration,
    pub dedup: Dedup,
}

/// Stores `entries` of `source` and the fetch `record`, all or nothing.
pub fn store_entries(
    store: &mut Store,
    (source, url): (&str, &str),
    entries: Vec<NewEntry>,
    record: &FetchRecord,
    now: Timestamp,
    rules: &Rules,
) -> Result<IngestCounts, StoreError> {
    let window = rules.dedup.window;
    // An entry is compared with entries up to a window before it; entries older than max_age
    // are never reported, so nothing needs the index further back than both.
    store.prune_cluster_index(shifted(now, -1, rules.max_age.saturating_add(window)));
    store.ingest(source, url, record, now, |tx| {
        let link_key = |e: &Entry| e.link.as_deref().and_then(dedup::dedup_key);
        // On a server, what the loop will ask is read in one go (`Ingest::expect`).
        let mut ahead = Vec::new();
        if tx.reads_ahead() {
            ahead = entries.iter().map(|n| link_key(&n.entry)).collect::<Vec<_>>();
            let guids: Vec<&str> = entries.iter().map(|n| n.entry.guid.as_str()).collect();
            tx.expect(&guids, &ahead.iter().flatten().map(String::as_str).collect::<Vec<_>>())?;
        }
        let mut ahead = ahead.into_iter();
        let mut counts = IngestCounts::default();
        for new in entries {
            let entry = &new.entry;
            let key_ahead = ahead.next();
            if tx.seen(&entry.guid)? {
                continue;
            }
            counts.new += 1;
            // The entry's time: when it was published, else now (a feed's future dates are
            // already gone).
            let at = entry.published.unwrap_or(now);
            let key = key_ahead.unwrap_or_else(|| link_key(entry));
            let features = tx.features(new.words)?;
            let by_link = match &key {
                Some(key) => dedup::same_story(&tx.candidates(key)?, &entry.title).map(|c| (c.id, c.entry)),
                None => None,
            };
            let by_words = match by_link {
                Some(_) => None,
                None => {
                    let near = tx.neighbours(&features, shifted(at, -1, window), shifted(at, 1, window));
                    let bar = cluster::Bar {
                        certainty: rules.dedup.rewrites.then_some(rules.dedup.certainty),
                        at: at.as_second(),
                        window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX),
                    };
                    cluster::same_event(&features, &near, bar, (|t| tx.df(t), tx.counted()))
                }
            };
            let joined = by_link.map(|(story, _)| story).or(by_words.as_ref().map(|j| j.story));
            let (item_id, head) = match joined {
                Some(id) => {
                    let head = tx.story_head(id)?;
                    let entry_id = tx.add_entry(id, entry, key.as_deref(), at, &features)?;
                    if dedup::leads(&head, entry) {
                        tx.make_lead(id, (entry_id, entry), new.verdict.as_ref())?;
                    }
                    tx.record_join(entry_id, &why(entry, by_link.map(|(_, e)| e), by_words.as_ref()))?;
                    (id, Some(head))
                }
                None => {
                    let (id, _) = tx.new_story(entry, new.article.as_ref(), (key.as_deref(), at), &features)?;
                    (id, None)
                }
            };
            let state = head.map_or(ItemState::Stored, |h| h.state);
            let Some(verdict) = &new.verdict else { continue };
            for keyword in verdict.hits.iter().flat_map(|h| &h.keywords) {
                counts.keywords.entry(keyword.clone()).or_default().insert(item_id);
            }
            match state {
                // A story stored unmatched may match through the text another outlet gives it.
                ItemState::Stored => {
                    if reportable(entry.published, now, rules.max_age) && tx.queue(item_id, verdict)? {
                        counts.matched += 1;
                    }
                }
                // A story matches every topic one of its entries matches.
                ItemState::Queued | ItemState::Sent => {
                    counts.joined += 1;
                    tx.add_topics(item_id, verdict)?
                }
            }
        }
        Ok(counts)
    })
}

/// Words shown for why an entry joined its story.
const SHARED_SHOWN: usize = 12;

/// Why `entry` joined its story: by `words`, or else by the link of entry `by_link`.
fn why(entry: &Entry, by_link: Option<i64>, words: Option<&cluster::Join>) -> Joined {
    match words {
        Some(j) => {
            let shared = cluster::shared_words(&entry.title, &entry.body, j, SHARED_SHOWN);
            match j.rule {
                cluster::Rule::Copy => Joined {
                    rule: JoinRule::Copy,
                    with: Some(j.entry),
                    score: Some(j.similarity.score),
                    next: None,
                    pair: None,
                    weighed: None,
                    shared,
                },
                cluster::Rule::Event {
                    certainty,
                    pair,
                    entries,
                    next,
                } => Joined {
                    rule: JoinRule::Event,
                    with: Some(j.entry),
                    score: Some(certainty),
                    next: Some(next),
                    pair: Some(pair),
                    weighed: Some(u32::try_from(entries).unwrap_or(u32::MAX)),
                    shared,
                },
            }
        }
        None => Joined {
            rule: JoinRule::Link,
            with: by_link,
            score: None,
            next: None,
            pair: None,
            weighed: None,
            shared: Vec::new(),
        },
    }
}

/// `at` moved by `by` into the future (`sign` 1) or the past (-1), at most to the ends of time.
fn shifted(at: Timestamp, sign: i32, by: Duration) -> Timestamp {
    let moved = jiff::SignedDuration::try_from(by)
        .ok()
        .and_then(|d| at.checked_add(d * sign).ok());
    moved.unwrap_or(if sign < 0 { Timestamp::MIN } else { Timestamp::MAX })
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

    fn rules() -> Rules {
        Rules {
            max_age: Duration::from_secs(7 * 86_400),
            dedup: Dedup {
                window: Duration::from_secs(72 * 3600),
                rewrites: false,
                certainty: crate::config::DEFAULT_CERTAINTY,
            },
        }
    }

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
            title_marks: vec![(0, 1)],
        };
        NewEntry::new(e, Some(verdict), None, &rules().dedup)
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::model::Database::File(dir.path().join("newswatch.db"))).unwrap();
        (dir, store)
    }

    fn poll(s: &mut Store, source: &str, entries: Vec<Entry>) -> IngestCounts {
        let now = crate::clock::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let entries: Vec<NewEntry> = entries.into_iter().map(matched).collect();
        store_entries(s, (source, "u"), entries, &record, now, &rules()).unwrap()
    }

    #[test]
    fn a_busy_feed_of_copies_does_not_crowd_out_the_original() {
        let (_d, mut s) = store();
        let wire = "Three officers of the Ground Self-Defense Force will join the NATO command in \
                    Wiesbaden from January, the Defense Ministry said on Monday.";
        let copy = |i: usize| Entry {
            body: wire.into(),
            ..entry(
                &format!("b{i}"),
                &format!("https://b.org/{i}"),
                &format!("Officers, take {i}"),
            )
        };
        poll(
            &mut s,
            "A",
            vec![Entry {
                body: wire.into(),
                ..entry("a", "https://a.org/1", "Officers")
            }],
        );
        // More of B's own copies than a new entry is compared with: each still finds A's.
        poll(&mut s, "B", (0..40).map(copy).collect());
        let stories = s.queued_stories().unwrap();
        assert_eq!(stories.len(), 1, "one story, not {}", stories.len());
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
    fn a_report_with_text_leads_a_story_that_had_only_a_headline() {
        let (_d, mut s) = store();
        let mut bare = entry("1", "https://a.org/x", "Summit");
        bare.body = String::new();
        poll(&mut s, "A", vec![bare]);
        poll(
            &mut s,
            "B",
            vec![entry("2", "https://a.org/x", "Summit opens in Vilnius")],
        );
        let stories = s.queued_stories().unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].story.title, "Summit opens in Vilnius");
        assert_eq!(stories[0].story.sources, ["B", "A"], "the lead's outlet first");
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
        // `stories --why` names the entry whose link it shares.
        let filter = crate::store::StoryFilter {
            id: Some(stories[0].story.id),
            ..Default::default()
        };
        let entries = &s.stories(&filter).unwrap()[0].entries;
        let joined = entries[1].joined.as_ref().expect("B joined");
        assert_eq!((joined.rule, joined.with), (JoinRule::Link, Some(entries[0].id)));
        // `--since` leaves out stories first seen before it; `--why` shows its story whatever.
        let later = crate::clock::now() + jiff::SignedDuration::from_hours(1);
        let since = |id| crate::store::StoryFilter {
            since: Some(later),
            id,
            ..Default::default()
        };
        assert!(s.stories(&since(None)).unwrap().is_empty());
        assert_eq!(s.stories(&since(Some(stories[0].story.id))).unwrap().len(), 1);
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
        old.published = Some(crate::clock::now() - jiff::SignedDuration::from_hours(24 * 8));
        let c = poll(&mut s, "A", vec![old]);
        assert_eq!((c.new, c.matched), (1, 0));
        assert!(s.queued_stories().unwrap().is_empty());
    }

    #[test]
    fn a_failed_store_leaves_nothing_behind() {
        let (_d, mut s) = store();
        let now = crate::clock::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let result = s.ingest("A", "u", &record, now, |tx| {
            tx.new_story(
                &entry("1", "https://a.org/1", "One"),
                None,
                (None, now),
                &Default::default(),
            )?;
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

    /// A report carried by one source, and the same words under another's link.
    fn report(source: &str, guid: &str) -> Entry {
        Entry {
            body: "Three officers of the Ground Self-Defense Force will join the NATO command in \
                   Wiesbaden from January, the Defense Ministry said on Monday."
                .into(),
            ..entry(
                guid,
                &format!("https://{source}.org/officers"),
                "Officers to join NATO command",
            )
        }
    }

    fn failing_poll(s: &mut Store, source: &str) {
        let now = crate::clock::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let result = s.ingest(source, "u", &record, now, |tx| {
            tx.new_story(
                &entry("broken", "https://broken.org/1", "Broken"),
                None,
                (None, now),
                &Default::default(),
            )?;
            Err(StoreError::Task("interrupted".into()))
        });
        assert!(result.is_err());
    }

    #[test]
    fn in_a_batch_a_failed_poll_takes_back_only_its_own_writes() {
        let (_d, mut s) = store();
        s.begin_batch();
        poll(&mut s, "A", vec![entry("a", "https://a.org/1", "One")]);
        failing_poll(&mut s, "B");
        poll(&mut s, "C", vec![entry("c", "https://c.org/1", "Two")]);
        s.end_batch().unwrap();
        let every = crate::store::StoryFilter {
            all: true,
            ..Default::default()
        };
        let titles: Vec<String> = s.stories(&every).unwrap().into_iter().map(|r| r.title).collect();
        assert_eq!(titles.len(), 2, "A's and C's stories, not B's: {titles:?}");
        let newest = crate::store::StoryFilter {
            all: true,
            limit: Some(1),
            ..Default::default()
        };
        let titles: Vec<String> = s.stories(&newest).unwrap().into_iter().map(|r| r.title).collect();
        assert_eq!(titles, ["Two"], "a limit keeps the newest");
        assert_eq!(poll(&mut s, "C", vec![entry("c", "https://c.org/1", "Two")]).new, 0);
    }

    #[test]
    fn a_failed_batch_commit_is_as_if_the_batch_never_ran() {
        let (_d, mut s) = store();
        s.begin_batch();
        let others = |p: &str| {
            (0..3)
                .map(|i| entry(&format!("{p}{i}"), &format!("https://{p}.org/{i}"), p))
                .collect()
        };
        poll(&mut s, "X", others("x"));
        poll(&mut s, "A", vec![report("a", "a1")]);
        poll(&mut s, "Y", others("y"));
        s.break_next_commit();
        let lost = s.end_batch().unwrap_err().to_string();
        assert!(lost.contains("could not commit"), "{lost}");
        assert!(s.queued_stories().unwrap().is_empty(), "nothing of the batch is kept");
        // The same report from B, then A's again: new, and one story, as on an empty database.
        assert_eq!(poll(&mut s, "B", vec![report("b", "b1")]).new, 1);
        assert_eq!(poll(&mut s, "A", vec![report("a", "a1")]).new, 1);
        assert_eq!(s.queued_stories().unwrap().len(), 1, "A's report joins B's");
    }

    #[test]
    fn a_backfilled_topic_queues_stored_stories_and_joins_queued_ones() {
        let (_d, mut s) = store();
        poll(&mut s, "A", vec![entry("a", "https://a.org/1", "Queued for T")]);
        let now = crate::clock::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let unmatched = NewEntry::new(entry("b", "https://b.org/1", "Only stored"), None, None, &rules().dedup);
        store_entries(&mut s, ("B", "u"), vec![unmatched], &record, now, &rules()).unwrap();
        let unsent = s.unsent_since(now - jiff::SignedDuration::from_hours(1), "U").unwrap();
        assert_eq!(unsent.len(), 2, "both are never sent and not on U");
        let on_u = |id| {
            let mut r = matched(entry("x", "https://x.org", "x")).verdict.unwrap();
            r.hits[0].topic = "U".into();
            (id, r)
        };
        let verdicts: Vec<_> = unsent.iter().map(|u| on_u(u.item_id)).collect();
        assert_eq!(
            s.backfill(&verdicts).unwrap(),
            1,
            "the stored one is queued; the queued one joins"
        );
        let queued = s.queued_stories().unwrap();
        let topics = |title: &str| -> Vec<String> {
            let q = queued.iter().find(|q| q.story.title == title).unwrap();
            q.story.hits.iter().map(|h| h.topic.clone()).collect()
        };
        assert_eq!(topics("Queued for T"), ["T", "U"]);
        assert_eq!(topics("Only stored"), ["U"]);
        assert!(
            s.unsent_since(now - jiff::SignedDuration::from_hours(1), "U")
                .unwrap()
                .is_empty()
        );
    }
}
