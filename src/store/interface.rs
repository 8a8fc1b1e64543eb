//! Every call the stages may make of a store, documented here once and answered by the backend
//! the store was opened on (`on_backend!`). Plain delegation: what a call does is the
//! backend's, and every backend does the same (the store's tests hold each to it).

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;

use super::{
    Attempt, Card, FailureRecord, FetchRecord, Found, Narrowing, PageQuery, PendingArticle, Pruned, StoryFilter, Unsent,
};
use super::{
    Backend, Compose, ComposeOn, DaemonSeen, Ingest, IngestOn, Leased, Store, StoreError, on_backend, postgresql,
    sqlite,
};
use crate::model::{
    Database, HostHold, IngestCounts, MatchResult, MessageState, OutboxEntry, QueuedStory, ReaderHistory, SourceStates,
    StoryRecord,
};

impl Store {
    // Opening, the schema, backups and the small key-value state.

    /// Opens (creating if needed) the database and brings its schema up to date. Blocking: run
    /// it off the async runtime.
    pub fn open(database: &Database) -> Result<Store, StoreError> {
        let backend = match database {
            Database::File(path) => Backend::Sqlite(sqlite::Sqlite::open(path)?),
            Database::Server { url, password } => {
                Backend::Postgres(postgresql::Postgres::open(url, password.as_deref())?)
            }
        };
        Ok(Store { backend })
    }

    /// A second connection to a database the writer has opened (and migrated), that can only
    /// read: the pages' queries run on it, beside the writer (WAL: a reader sees the last
    /// commit and never waits for the writer, nor makes it wait). Blocking.
    pub fn open_reader(database: &Database) -> Result<Store, StoreError> {
        let backend = match database {
            Database::File(path) => Backend::Sqlite(sqlite::Sqlite::open_reader(path)?),
            Database::Server { url, password } => {
                Backend::Postgres(postgresql::Postgres::open_reader(url, password.as_deref())?)
            }
        };
        Ok(Store { backend })
    }

    /// How much room the database takes on disk, in bytes (SQLite: the file with its
    /// write-ahead log).
    pub fn bytes(&self) -> Result<u64, StoreError> {
        on_backend!(&self.backend, s => s.bytes())
    }

    /// Whether the connection to the database is lost (a server restarted): a reader's is
    /// opened again. A file's never is.
    pub fn is_broken(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => false,
            Backend::Postgres(s) => s.is_broken(),
        }
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        on_backend!(&self.backend, s => s.schema_version())
    }

    /// A consistent copy of the database at `to` (SQLite's online backup: safe while the daemon
    /// writes). Written beside `to` first, owner-only (it holds webhook URLs and addresses),
    /// checked with `PRAGMA quick_check` and synced, then renamed: `to` is never a half or a
    /// damaged copy, and a damaged database is said to be so instead of copied in silence.
    pub fn backup(&mut self, to: &Path) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.backup(to))
    }

    /// A value of the small key-value table (e.g. the last digest time handled).
    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        on_backend!(&self.backend, s => s.get_state(key))
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.set_state(key, value))
    }

    /// The last digest time the daemon handled, as it recorded it.
    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        on_backend!(&self.backend, s => s.last_digest_handled())
    }

    pub fn set_last_digest_handled(&mut self, at: Timestamp) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.set_last_digest_handled(at))
    }

    // Leases: which daemon polls a source, when several share a server's database.

    /// Leases to `holder` (one daemon) the first `most` of `sources` that no other daemon
    /// holds a lease on, for `ttl`; what it got, and when the others' leases run out. A lease
    /// held by a daemon that stopped renewing it lapses at its end, so a dead daemon's
    /// sources pass to the others. On SQLite (one daemon per file) the first `most` are
    /// granted at once.
    pub fn lease(
        &mut self,
        holder: &str,
        sources: &[String],
        most: usize,
        ttl: Duration,
    ) -> Result<Leased, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(Leased {
                granted: sources.iter().take(most).cloned().collect(),
                others_until: None,
            }),
            Backend::Postgres(s) => s.lease(holder, sources, most, ttl),
        }
    }

    /// Makes `holder`'s leases on `sources` last `ttl` from now (a long poll outlives one
    /// lease); how many it still held.
    pub fn renew_leases(&mut self, holder: &str, sources: &[String], ttl: Duration) -> Result<usize, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(sources.len()),
            Backend::Postgres(s) => s.renew_leases(holder, sources, ttl),
        }
    }

    /// Gives `holder`'s leases on `sources` back: polled, or not due after all.
    pub fn release_leases(&mut self, holder: &str, sources: &[String]) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(s) => s.release_leases(holder, sources),
        }
    }

    /// Says that daemon `holder` is running (a shared database's `status` lists them); a
    /// no-op on SQLite, whose one daemon its run lock names.
    pub fn daemon_seen(&mut self, holder: &str) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(s) => s.daemon_seen(holder),
        }
    }

    /// Daemon `holder` stopped.
    pub fn daemon_gone(&mut self, holder: &str) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(s) => s.daemon_gone(holder),
        }
    }

    /// The daemons that said they were running within `within`, oldest first (none on SQLite).
    pub fn daemons(&self, within: Duration) -> Result<Vec<DaemonSeen>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Vec::new()),
            Backend::Postgres(s) => s.daemons(within),
        }
    }

    // Sources, their fetch state and health; hosts that sent Retry-After.

    /// Every source ever polled, by name.
    pub fn source_states(&self) -> Result<SourceStates, StoreError> {
        on_backend!(&self.backend, s => s.source_states())
    }

    /// Records many fetches that found nothing new (a 304, or a body identical to the last
    /// one), in one transaction: a poll of hundreds of unchanged feeds is hundreds of these,
    /// and one commit is far cheaper than hundreds.
    pub fn record_unchanged(
        &mut self,
        sources: &[(String, String, FetchRecord)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.record_unchanged(sources, now))
    }

    /// Records a failed poll of `source`.
    pub fn record_failure(
        &mut self,
        source: &str,
        url: &str,
        failure: &FailureRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.record_failure(source, url, failure, now))
    }

    /// Records what an auto source turned out to be, for good.
    pub fn set_kind(&mut self, source: &str, url: &str, kind: &str, feed_url: Option<&str>) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.set_kind(source, url, kind, feed_url))
    }

    /// Lets a source paused after a 410 be polled again. `false` if no such source is stored.
    pub fn resume(&mut self, source: &str) -> Result<bool, StoreError> {
        on_backend!(&mut self.backend, s => s.resume(source))
    }

    /// A host asked to be left alone (429/503 with Retry-After).
    pub fn set_host_hold(&mut self, host: &str, hold: &HostHold) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.set_host_hold(host, hold))
    }

    /// Hosts still asking to be left alone at `now`.
    pub fn host_holds(&self, now: Timestamp) -> Result<Vec<(String, HostHold)>, StoreError> {
        on_backend!(&self.backend, s => s.host_holds(now))
    }

    // A poll's writes, unseen GUIDs, articles of full-text sources.

    /// Stores one poll of `source`: `write` records its entries through [`Ingest`] and returns
    /// what it added; then the source's counters and fetch state are updated, and everything
    /// is committed together (or nothing, on an error).
    pub fn ingest(
        &mut self,
        source: &str,
        url: &str,
        record: &FetchRecord,
        now: Timestamp,
        write: impl FnOnce(&Ingest<'_>) -> Result<IngestCounts, StoreError>,
    ) -> Result<IngestCounts, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.ingest(source, url, record, now, |tx| {
                write(&Ingest {
                    on: IngestOn::Sqlite(tx),
                })
            }),
            Backend::Postgres(s) => s.ingest(source, url, record, now, |tx| {
                write(&Ingest {
                    on: IngestOn::Postgres(tx),
                })
            }),
        }
    }

    /// Which of `guids` this source has not stored yet (before polling, to fetch their articles).
    pub fn unseen(&self, source: &str, guids: &[String]) -> Result<Vec<String>, StoreError> {
        on_backend!(&self.backend, s => s.unseen(source, guids))
    }

    /// Stories of `source` whose article could not be fetched yet (fewer than three attempts)
    /// and that no topic matched on their summary.
    pub fn pending_articles(&self, source: &str) -> Result<Vec<PendingArticle>, StoreError> {
        on_backend!(&self.backend, s => s.pending_articles(source))
    }

    /// Records another attempt at a story's article; with `queue_as`, the stage's verdict that
    /// the story is to be reported, queues it. Returns whether it was queued now.
    pub fn record_article(
        &mut self,
        item_id: i64,
        article: &Result<String, String>,
        queue_as: Option<&MatchResult>,
    ) -> Result<bool, StoreError> {
        on_backend!(&mut self.backend, s => s.record_article(item_id, article, queue_as))
    }

    // The clustering window.

    /// Moves the clustering window's start to `before` (a whole day at a time): no new entry's
    /// window reaches further back. Returns whether it moved.
    pub fn prune_cluster_index(&mut self, before: Timestamp) -> bool {
        on_backend!(&mut self.backend, s => s.prune_cluster_index(before))
    }

    // Group commit (the store's thread).

    /// Writes from now on join one transaction, until [`Sqlite::end_batch`].
    pub fn begin_batch(&mut self) {
        on_backend!(&mut self.backend, s => s.begin_batch())
    }

    /// Commits the batch's writes and leaves batch mode. `Err` if they are lost: the commit
    /// failed, now or inside the batch.
    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.end_batch())
    }

    // Matched stories waiting for the outbox; a topic looking back.

    /// Queued stories (matched, reportable, not yet in the outbox for everyone they are due
    /// to), oldest first, with the recipients who have them already.
    pub fn queued_stories(&self) -> Result<Vec<QueuedStory>, StoreError> {
        on_backend!(&self.backend, s => s.queued_stories())
    }

    /// Stories first seen since `since` that no one has been sent (stored, or queued for other
    /// topics) and that `topic` is not on yet, oldest first.
    pub fn unsent_since(&self, since: Timestamp, topic: &str) -> Result<Vec<Unsent>, StoreError> {
        on_backend!(&self.backend, s => s.unsent_since(since, topic))
    }

    /// Puts each story on the topics of its verdict: queued if it was only stored, the topics
    /// added if it was queued already; one transaction. Returns how many were queued now.
    pub fn backfill(&mut self, verdicts: &[(i64, MatchResult)]) -> Result<usize, StoreError> {
        on_backend!(&mut self.backend, s => s.backfill(verdicts))
    }

    /// Stories each topic has matched, all time (for `/metrics`).
    pub fn matched_per_topic(&self) -> Result<Vec<(String, i64)>, StoreError> {
        on_backend!(&self.backend, s => s.matched_per_topic())
    }

    // Messages: composed, due, sent, failed, retried.

    /// Puts new messages into the outbox: `write` reads the queue and adds messages through
    /// [`Compose`], all in one transaction that holds the database's write lock from the start,
    /// so that two processes composing at once cannot both give a story to one recipient.
    pub fn compose<T, E: From<StoreError>>(
        &mut self,
        now: Timestamp,
        write: impl FnOnce(&Compose<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match &mut self.backend {
            Backend::Sqlite(s) => s.compose(now, |tx| {
                write(&Compose {
                    on: ComposeOn::Sqlite(tx),
                })
            }),
            Backend::Postgres(s) => s.compose(now, |tx| {
                write(&Compose {
                    on: ComposeOn::Postgres(tx),
                })
            }),
        }
    }

    /// The oldest pending message due at `now`, with its bytes.
    pub fn due_message(&self, now: Timestamp) -> Result<Option<(OutboxEntry, Vec<u8>)>, StoreError> {
        on_backend!(&self.backend, s => s.due_message(now))
    }

    /// When the next pending message is due, if any is.
    pub fn next_message_due(&self) -> Result<Option<Timestamp>, StoreError> {
        on_backend!(&self.backend, s => s.next_message_due())
    }

    /// The transport accepted message `id`.
    pub fn message_sent(&mut self, id: i64, destination: &str, now: Timestamp) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.message_sent(id, destination, now))
    }

    /// An attempt at message `id` failed.
    pub fn message_failed(&mut self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.message_failed(id, attempt, now))
    }

    /// Makes parked (and pending) messages due now, all of them or message `id`; their refusals
    /// count afresh. Returns how many.
    pub fn retry_messages(&mut self, id: Option<i64>, now: Timestamp) -> Result<usize, StoreError> {
        on_backend!(&mut self.backend, s => s.retry_messages(id, now))
    }

    /// Every pending message due at `now` at the latest (parked ones stay parked): for a send
    /// asked for by hand, which should not wait for a retry time set before a fix.
    pub fn pending_due(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        on_backend!(&mut self.backend, s => s.pending_due(now))
    }

    /// The messages in these states, oldest first.
    pub fn outbox(&self, states: &[MessageState]) -> Result<Vec<OutboxEntry>, StoreError> {
        on_backend!(&self.backend, s => s.outbox(states))
    }

    /// The messages with these ids, in that order.
    pub fn outbox_entries(&self, ids: &[i64]) -> Result<Vec<OutboxEntry>, StoreError> {
        on_backend!(&self.backend, s => s.outbox_entries(ids))
    }

    /// Messages sent, and stories queued, since `since`: for `status`.
    pub fn activity_since(&self, since: Timestamp) -> Result<(usize, usize), StoreError> {
        on_backend!(&self.backend, s => s.activity_since(since))
    }

    // What each recipient was told of.

    /// What [`Compose::history`] would find now; for a preview, which writes nothing.
    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        on_backend!(&self.backend, s => s.history(recipient, since))
    }

    // Stories read back.

    /// Stories first seen since `filter.since`, newest first, with their entries.
    pub fn stories(&self, filter: &StoryFilter) -> Result<Vec<StoryRecord>, StoreError> {
        on_backend!(&self.backend, s => s.stories(filter))
    }

    // What the pages read.

    /// The ids of the matched stories `q` asks for, newest first: a walk back through the
    /// matches (of one topic, by `matches_by_topic`), never through the stories that matched
    /// nothing. Stories are numbered as they are stored, so the time range is one of ids
    /// (`first_story_since`), without an index on first_seen that every insert would pay for.
    pub fn page_ids(&self, q: &PageQuery) -> Result<Vec<i64>, StoreError> {
        on_backend!(&self.backend, s => s.page_ids(q))
    }

    /// The card of story `id` (empty for a story not stored).
    pub fn card(&self, id: i64) -> Result<Card, StoreError> {
        on_backend!(&self.backend, s => s.card(id))
    }

    // Search and retention.

    /// Indexes up to `limit` stories: first those whose text changed since they were indexed
    /// (a new lead, an article, pruning), then those not indexed yet. Returns how many; 0: the
    /// index is complete.
    pub fn index_for_search(&mut self, limit: usize) -> Result<usize, StoreError> {
        on_backend!(&mut self.backend, s => s.index_for_search(limit))
    }

    /// Candidates for a search, newest (highest id) first, id below `below` and at least
    /// `from`, at most `limit`: the stories the index says may satisfy `narrowing`, or every
    /// story when the query cannot be narrowed (`None`).
    pub fn search_candidates(
        &self,
        narrowing: Option<&Narrowing>,
        from: i64,
        below: i64,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        on_backend!(&self.backend, s => s.search_candidates(narrowing, from, below, source, limit))
    }

    /// How many of the newest `sample` stories indexed for search satisfy each of `queries` (a
    /// trigram, or a narrowing), and how many stories that is: how common a
    /// query's trigrams are, and how much a narrowing narrows, for `search` to choose the one
    /// that costs least. A look at the end of each trigram's list.
    pub fn sample_counts(&self, queries: &[Narrowing], sample: i64) -> Result<(Vec<u64>, u64), StoreError> {
        on_backend!(&self.backend, s => s.sample_counts(queries, sample))
    }

    /// The lowest story id first seen at or after `since` (stories are numbered as they are
    /// stored, so ids follow time); one past the last story if none is.
    pub fn first_story_since(&self, since: Timestamp) -> Result<i64, StoreError> {
        on_backend!(&self.backend, s => s.first_story_since(since))
    }

    /// The sources that carried each story, the lead's first.
    pub fn story_sources(&self, id: i64) -> Result<Vec<String>, StoreError> {
        on_backend!(&self.backend, s => s.story_sources(id))
    }

    /// Prunes the texts of up to `limit` stories last reported before `cutoff`, oldest first:
    /// summary, article and snippet, the entries' vectors and clustering keys (the search
    /// index keeps the title, at its next catch-up).
    /// Titles, links and every entry's (source, GUID) and link key stay. Stories queued, or in
    /// a message not sent yet, are kept whatever their age.
    pub fn prune(&mut self, cutoff: Timestamp, limit: usize) -> Result<Pruned, StoreError> {
        on_backend!(&mut self.backend, s => s.prune(cutoff, limit))
    }

    /// Gives up to `pages` free pages back to the file system (the file shrinks); returns how
    /// many free pages remain. Does nothing on a file not made for it (see `vacuum`).
    pub fn shrink(&mut self, pages: u32) -> Result<i64, StoreError> {
        on_backend!(&mut self.backend, s => s.shrink(pages))
    }

    /// Merges up to `pages` pages of the search index's segments, dropping the rows pruned
    /// from them; `false` once there is nothing left to merge.
    pub fn compact_index(&mut self, pages: u32) -> Result<bool, StoreError> {
        on_backend!(&mut self.backend, s => s.compact_index(pages))
    }

    /// Copies the WAL into the database and empties it (what shrinking freed is counted once
    /// the WAL is back to nothing); waits for readers, gives up quietly if one stays.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.checkpoint())
    }

    /// Whether free pages can be given back a few at a time (`auto_vacuum = INCREMENTAL`).
    pub fn shrinks_incrementally(&self) -> Result<bool, StoreError> {
        on_backend!(&self.backend, s => s.shrinks_incrementally())
    }

    /// Rewrites the whole file, compact and able to shrink incrementally from then on. Takes
    /// a while on a big archive, and needs as much free disk as the file takes.
    pub fn vacuum(&mut self) -> Result<(), StoreError> {
        on_backend!(&mut self.backend, s => s.vacuum())
    }
}

#[cfg(test)]
impl Store {
    /// Makes the batch's commit fail: a reference checked only at commit, to nothing.
    pub fn break_next_commit(&mut self) {
        match &mut self.backend {
            Backend::Sqlite(s) => s.break_next_commit(),
            Backend::Postgres(_) => unreachable!("a test of SQLite's group commit"),
        }
    }
}
