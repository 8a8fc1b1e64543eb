//! The contract every backend keeps: what the stages rely on, asked by the names the stages
//! use, through [`Store`] (never a backend's own calls). `contract!` makes the suite for one
//! backend; a new backend is added the same way and passes these before it is offered.
//!
//! What a backend stores its rows as is its own affair; these hold it to what a reader would
//! notice: an entry seen once, nothing of a failed poll kept, a story in one message per
//! recipient, a message due again only at its time, a story waiting to be sent never pruned.

use crate::model::{Entry, MatchResult, Snippet, TopicHit};

#[macro_use]
mod outbox;
#[macro_use]
mod poll;

/// The suite, in a module `$name`, for a backend of type `$store`: `open()` gives a new empty
/// one with what keeps it (a folder, a database) or `None` where it cannot be tested here;
/// `reopen(&keep)` opens it again, as a process that starts later.
macro_rules! contract {
    ($name:ident, $store:ty, $keep:ty, $open:expr, $reopen:expr) => {
        mod $name {
            use jiff::Timestamp;

            use super::super::*;
            use super::{entry, matched};
            use crate::model::{Channel, Entry, HostHold, IngestCounts, MessageKind, MessageState, OutboxEntry};

            fn open() -> Option<($keep, $store)> {
                let open: fn() -> Option<($keep, $store)> = $open;
                open()
            }

            fn reopen(keep: &$keep) -> $store {
                let reopen: fn(&$keep) -> $store = $reopen;
                reopen(keep)
            }

            /// `minutes` after a fixed moment: the store keeps the times it is given, whatever the clock.
            fn at(minutes: i64) -> Timestamp {
                Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
            }

            /// Stores each of `guids` from `source` at `now` as a story of its own (queued for topic "T"
            /// when `queue`), as one poll does; their story ids.
            fn poll(s: &mut $store, source: &str, guids: &[&str], now: Timestamp, queue: bool) -> Vec<i64> {
                let mut ids = Vec::new();
                let record = FetchRecord {
                    status: 200,
                    next_poll: now,
                    ..FetchRecord::default()
                };
                s.ingest(
                    source,
                    &format!("https://{source}.example/feed"),
                    &record,
                    now,
                    |tx| {
                        for guid in guids {
                            let e = entry(guid);
                            // Its article's first attempt failed (for a full-text source).
                            let article = Err("HTTP 500".to_string());
                            let (id, _) =
                                tx.new_story(&e, Some(&article), (e.link.as_deref(), now), &Default::default())?;
                            if queue {
                                tx.queue(id, &matched())?;
                            }
                            ids.push(id);
                        }
                        Ok(IngestCounts {
                            new: guids.len(),
                            ..IngestCounts::default()
                        })
                    },
                )
                .unwrap();
                ids
            }

            /// Composes one message to `to` carrying every queued story, as a digest does; its id and the
            /// stories it carries.
            fn compose(s: &mut $store, to: &str, now: Timestamp) -> (i64, Vec<i64>) {
                s.compose(now, |tx| {
                    let stories: Vec<i64> = tx.queued()?.iter().map(|q| q.story.id).collect();
                    let id = tx.add_message(&NewMessage {
                        kind: MessageKind::Digest,
                        channel: Channel::Mail,
                        recipient: to.into(),
                        message_id: format!("<{to}-{}@contract>", stories.len()),
                        subject: "Digest".into(),
                        message: b"the whole message".to_vec(),
                        items: stories.clone(),
                        follow_ups: Vec::new(),
                    })?;
                    tx.mark_done(&stories)?;
                    Ok::<_, StoreError>((id, stories))
                })
                .unwrap()
            }

            fn due(s: &$store, now: Timestamp) -> Option<OutboxEntry> {
                s.due_message(now).unwrap().map(|(entry, _)| entry)
            }

            poll_tests!($store);
            outbox_tests!($store);
        }
    };
}

contract!(
    sqlite,
    Store,
    tempfile::TempDir,
    || {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::model::Database::File(dir.path().join("newswatch.db"))).unwrap();
        Some((dir, store))
    },
    |dir| Store::open(&crate::model::Database::File(dir.path().join("newswatch.db"))).unwrap()
);

contract!(
    postgresql,
    Store,
    crate::store::postgresql::tests::Database,
    || {
        let db = crate::store::postgresql::tests::Database::new()?;
        let store = Store::open(&super::server(&db)).unwrap();
        Some((db, store))
    },
    |db| Store::open(&super::server(db)).unwrap()
);

/// A story's one entry, `guid`, linked under a.example (the backends' own tests use it too).
pub(super) fn entry(guid: &str) -> Entry {
    Entry {
        guid: guid.into(),
        link: Some(format!("https://a.example/{guid}")),
        title: format!("Story {guid}"),
        body: format!("What story {guid} says."),
        published: None,
    }
}

/// A verdict that matched topic "T".
pub(super) fn matched() -> MatchResult {
    MatchResult {
        hits: vec![TopicHit {
            topic: "T".into(),
            keywords: vec!["Story".into()],
        }],
        snippet: Snippet {
            text: "What the story says.".into(),
            marks: vec![(0, 4)],
        },
        title_marks: vec![(0, 5)],
    }
}

/// The test server's database `db`, as `[storage] database` names one.
fn server(db: &crate::store::postgresql::tests::Database) -> crate::model::Database {
    crate::model::Database::Server {
        url: db.url.clone(),
        password: None,
    }
}
