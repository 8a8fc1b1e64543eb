//! The calls made within one transaction of the store, a poll's ([`Ingest`]) or a
//! composition's ([`Compose`]), and the right to send that one process holds at a time
//! ([`SendLock`]): documented here once, answered by the backend, as `interface.rs` does for
//! [`Store`].

use jiff::Timestamp;

use super::{Compose, ComposeOn, Ingest, IngestOn, NewMessage, SendLock, SendLockOn, StoreError, postgresql, sqlite};
use crate::cluster::{Features, Neighbour, Prepared};
use crate::model::{
    Database, Entry, Joined, MatchResult, OutboxEntry, QueuedStory, ReaderHistory, StoryCandidate, StoryHead,
};

impl Ingest<'_> {
    /// The features of an entry whose words were `prepared`, weighed against the window as it
    /// is when rewrites are looked for (copies need no weights).
    pub fn features(&self, prepared: Prepared) -> Result<Features, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.features(prepared),
            IngestOn::Postgres(tx) => tx.features(prepared),
        }
    }

    /// The entries of other sources from `from` to `to` that share enough index keys with
    /// `features` to be compared (see `cluster::Index::neighbours`).
    pub fn neighbours(&self, features: &Features, from: Timestamp, to: Timestamp) -> Vec<Neighbour<'_>> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.neighbours(features, from, to),
            IngestOn::Postgres(tx) => tx.neighbours(features, from, to),
        }
    }

    /// How many entries of the window have the word `term`.
    pub fn df(&self, term: crate::cluster::TermId) -> u32 {
        match self.on {
            IngestOn::Sqlite(tx) => tx.df(term),
            IngestOn::Postgres(tx) => tx.df(term),
        }
    }

    /// How many entries of the window have their words counted.
    pub fn counted(&self) -> u64 {
        match self.on {
            IngestOn::Sqlite(tx) => tx.counted(),
            IngestOn::Postgres(tx) => tx.counted(),
        }
    }

    /// Whether [`Ingest::expect`] saves anything here (on a server: round trips).
    pub fn reads_ahead(&self) -> bool {
        matches!(self.on, IngestOn::Postgres(_))
    }

    /// Tells the transaction the GUIDs and link keys this poll will ask about ([`Ingest::seen`],
    /// [`Ingest::candidates`]), so that a backend that pays a round trip per question (a server)
    /// reads them in one go. Answers are the same with or without it; SQLite ignores it.
    pub fn expect(&self, guids: &[&str], keys: &[&str]) -> Result<(), StoreError> {
        match self.on {
            IngestOn::Sqlite(_) => Ok(()),
            IngestOn::Postgres(tx) => tx.expect(guids, keys),
        }
    }

    /// Whether this source stored an entry with this GUID before.
    pub fn seen(&self, guid: &str) -> Result<bool, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.seen(guid),
            IngestOn::Postgres(tx) => tx.seen(guid),
        }
    }

    /// The stored stories with an entry under link key `key`, oldest first, each with its
    /// first such entry.
    pub fn candidates(&self, key: &str) -> Result<Vec<StoryCandidate>, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.candidates(key),
            IngestOn::Postgres(tx) => tx.candidates(key),
        }
    }

    /// Where story `item_id` stands and what its lead has (for `dedup::leads`).
    pub fn story_head(&self, item_id: i64) -> Result<StoryHead, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.story_head(item_id),
            IngestOn::Postgres(tx) => tx.story_head(item_id),
        }
    }

    /// A new story begun by `entry`, its lead: the story (with its article if one was fetched;
    /// `Err`: it failed to load and is tried again later) and the entry (as `add_entry` files
    /// it), in one call. Returns the story's id and the entry's.
    pub fn new_story(
        &self,
        entry: &Entry,
        article: Option<&Result<String, String>>,
        (link_key, at): (Option<&str>, Timestamp),
        features: &Features,
    ) -> Result<(i64, i64), StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.new_story(entry, article, (link_key, at), features),
            IngestOn::Postgres(tx) => tx.new_story(entry, article, (link_key, at), features),
        }
    }

    /// Makes `entry` the lead of story `item_id` (`dedup::leads` said it should be): the story
    /// shows its title, link, text and time, and a queued story what the matcher made of it
    /// (`verdict`).
    pub fn make_lead(
        &self,
        item_id: i64,
        (entry_id, entry): (i64, &Entry),
        verdict: Option<&MatchResult>,
    ) -> Result<(), StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.make_lead(item_id, (entry_id, entry), verdict),
            IngestOn::Postgres(tx) => tx.make_lead(item_id, (entry_id, entry), verdict),
        }
    }

    /// Records why entry `entry_id` joined its story (for `newswatch stories --why`).
    pub fn record_join(&self, entry_id: i64, join: &Joined) -> Result<(), StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.record_join(entry_id, join),
            IngestOn::Postgres(tx) => tx.record_join(entry_id, join),
        }
    }

    /// Records that this source carried story `item_id` as `entry`, filed under link key
    /// `link_key`, at time `at` for the clustering window, with its vectors and index keys
    /// (read into the index once committed: see `window.rs`). Returns its id.
    pub fn add_entry(
        &self,
        item_id: i64,
        entry: &Entry,
        link_key: Option<&str>,
        at: Timestamp,
        features: &crate::cluster::Features,
    ) -> Result<i64, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.add_entry(item_id, entry, link_key, at, features),
            IngestOn::Postgres(tx) => tx.add_entry(item_id, entry, link_key, at, features),
        }
    }

    /// Adds the topics of `result` to story `item_id`, queued or sent: a story matches a topic
    /// when any of its entries does.
    pub fn add_topics(&self, item_id: i64, result: &MatchResult) -> Result<(), StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.add_topics(item_id, result),
            IngestOn::Postgres(tx) => tx.add_topics(item_id, result),
        }
    }

    /// Queues a stored story for the digest with the topics it matched; `false` if it was not
    /// in the `Stored` state (already queued or sent).
    pub fn queue(&self, item_id: i64, result: &MatchResult) -> Result<bool, StoreError> {
        match self.on {
            IngestOn::Sqlite(tx) => tx.queue(item_id, result),
            IngestOn::Postgres(tx) => tx.queue(item_id, result),
        }
    }
}

impl Compose<'_> {
    /// The last digest time handled, read inside this transaction: of two processes at one
    /// digest time, the second sees the first's.
    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.last_digest_handled(),
            ComposeOn::Postgres(tx) => tx.last_digest_handled(),
        }
    }

    /// Records `at` as the last digest time handled, with this composition's messages.
    pub fn set_last_digest_handled(&self, at: Timestamp) -> Result<(), StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.set_last_digest_handled(at),
            ComposeOn::Postgres(tx) => tx.set_last_digest_handled(at),
        }
    }

    /// What `recipient` was mailed before: stories carried by messages composed since `since`
    /// and delivered that outlets they were not told of have reported since (oldest story
    /// first), and when their last digest was composed.
    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.history(recipient, since),
            ComposeOn::Postgres(tx) => tx.history(recipient, since),
        }
    }

    /// The queue as it stands inside this transaction.
    pub fn queued(&self) -> Result<Vec<QueuedStory>, StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.queued(),
            ComposeOn::Postgres(tx) => tx.queued(),
        }
    }

    /// Parked messages no later message has mentioned yet.
    pub fn parked_unnoticed(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.parked_unnoticed(),
            ComposeOn::Postgres(tx) => tx.parked_unnoticed(),
        }
    }

    /// Adds a message and gives it its stories; returns its id.
    pub fn add_message(&self, m: &NewMessage) -> Result<i64, StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.add_message(m),
            ComposeOn::Postgres(tx) => tx.add_message(m),
        }
    }

    /// Parked messages a new message now mentions.
    pub fn mark_noticed(&self, ids: &[i64]) -> Result<(), StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.mark_noticed(ids),
            ComposeOn::Postgres(tx) => tx.mark_noticed(ids),
        }
    }

    /// Stories now in the outbox for everyone they are due to: no longer queued.
    pub fn mark_done(&self, items: &[i64]) -> Result<(), StoreError> {
        match self.on {
            ComposeOn::Sqlite(tx) => tx.mark_done(items),
            ComposeOn::Postgres(tx) => tx.mark_done(items),
        }
    }
}

impl SendLock {
    /// Takes the right to send for `database`, if no other process holds it; `None` if one
    /// does (no waiting here: the caller chooses how long to wait). On a server, a process on
    /// any machine.
    pub fn try_take(database: &Database) -> Result<Option<SendLock>, StoreError> {
        Ok(match database {
            Database::File(path) => sqlite::SendLock::try_take(path)?.map(|lock| SendLock {
                _on: SendLockOn::Sqlite { _file: lock },
            }),
            Database::Server { url, password } => {
                postgresql::Hold::try_take(url, password.as_deref(), "send")?.map(|lock| SendLock {
                    _on: SendLockOn::Postgres { _lock: lock },
                })
            }
        })
    }
}
