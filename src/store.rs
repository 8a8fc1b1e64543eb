//! SQLite storage: sources and their health, stories and where they were seen, the digest queue.
//!
//! The schema lives in `migrations/` only and is applied at open. Every change that belongs
//! together is one transaction, so a crash (or SIGKILL) at any point leaves the database consistent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::dedup;
use crate::model::{Entry, IngestCounts, MatchResult, Snippet, Story, TopicHit};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// How long a digest may hold its stories before another process may take them: long enough for a
/// slow SMTP server, short enough that a digest process that died does not delay stories for long.
const CLAIM_LEASE: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot migrate database {path}: {message}")]
    Migrate { path: PathBuf, message: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task failed: {0}")]
    Task(String),
}

pub struct Store {
    conn: Connection,
}

/// Everything stored about one source: its health (for `newswatch sources`) and its fetch state.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub name: String,
    pub url: String,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    pub items_seen: i64,
    pub items_matched: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub next_poll: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    pub paused: bool,
    pub moved_to: Option<String>,
    /// What `kind = "auto"` decided: "feed" or "page".
    pub kind: Option<String>,
    /// The feed a page advertised, polled instead of the page.
    pub feed_url: Option<String>,
}

/// A stored story waiting for its article.
#[derive(Debug, Clone)]
pub struct PendingArticle {
    pub item_id: i64,
    pub link: String,
    pub title: String,
    pub body: String,
    pub published: Option<Timestamp>,
    pub first_seen: Timestamp,
}

/// What a successful fetch leaves behind for the next one.
#[derive(Debug, Clone, Default)]
pub struct FetchRecord {
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Of the body parsed; `None` keeps the stored one (a 304 has no body).
    pub body_hash: Option<String>,
    pub next_poll: Timestamp,
    pub moved_to: Option<String>,
}

/// What a failed fetch changes.
#[derive(Debug, Clone)]
pub struct FailureRecord {
    pub error: String,
    pub status: Option<u16>,
    pub next_poll: Timestamp,
    /// Counts toward backoff; `false` when the failure was not the source's (our network was down).
    pub penalise: bool,
    /// 410 Gone: poll no more until resumed.
    pub pause: bool,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // WAL lets a `digest` run by hand read while the daemon writes; FULL makes a committed
        // transaction survive a power cut, which matters more here than write speed.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(15)).map_err(open_err)?;
        embedded::migrations::runner()
            .run(&mut conn)
            .map_err(|e| StoreError::Migrate {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(Store { conn })
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history",
            [],
            |r| r.get(0),
        )?)
    }

    /// Stores the entries of one poll of `source`. Entries seen before (same story, see
    /// [`dedup`]) only add a sighting; for new ones `matcher` gives the verdict on entry `i`,
    /// and those that match and are not older than `max_age` are queued for the next digest.
    #[allow(clippy::too_many_arguments)]
    pub fn ingest(
        &mut self,
        source: &str,
        url: &str,
        entries: &[Entry],
        record: &FetchRecord,
        now: Timestamp,
        max_age: Duration,
        articles: &HashMap<usize, Result<String, String>>,
        matcher: impl Fn(usize, &Entry) -> Option<MatchResult>,
    ) -> Result<IngestCounts, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let source_id = upsert_source(&tx, source, url)?;
        let mut counts = IngestCounts::default();
        let now_s = now.as_second();
        for (i, entry) in entries.iter().enumerate() {
            let seen: Option<i64> = tx
                .prepare_cached("SELECT item_id FROM sightings WHERE source_id = ?1 AND guid = ?2")?
                .query_row(params![source_id, entry.guid], |r| r.get(0))
                .optional()?;
            if seen.is_some() {
                continue;
            }
            counts.new += 1;
            let key = entry.link.as_deref().and_then(dedup::dedup_key);
            let existing = match &key {
                Some(key) => same_story(&tx, source_id, key, &entry.title)?,
                None => None,
            };
            let (item_id, state) = match existing {
                Some(found) => found,
                None => {
                    tx.prepare_cached(
                        "INSERT INTO items (title, link, dedup_key, body, published, first_seen,
                                            article, article_attempts, article_error)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )?
                    .execute(params![
                        entry.title,
                        entry.link,
                        key,
                        entry.body,
                        entry.published.map(|t| t.as_second()),
                        now_s,
                        articles.get(&i).and_then(|a| a.as_ref().ok()),
                        i64::from(articles.contains_key(&i)),
                        articles.get(&i).and_then(|a| a.as_ref().err()),
                    ])?;
                    (tx.last_insert_rowid(), "stored".to_string())
                }
            };
            tx.prepare_cached(
                "INSERT INTO sightings (source_id, guid, item_id, link, title, first_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![source_id, entry.guid, item_id, entry.link, entry.title, now_s])?;

            // A story that is queued or sent stays so; one stored unmatched may match through the
            // text another outlet gives it.
            if state != "stored" {
                continue;
            }
            let too_old = entry
                .published
                .is_some_and(|p| now.duration_since(p).as_secs() > max_age.as_secs() as i64);
            if too_old {
                continue;
            }
            if let Some(result) = matcher(i, entry)
                && queue(&tx, item_id, &result)?
            {
                counts.matched += 1;
            }
        }
        tx.execute(
            "UPDATE sources SET items_seen = items_seen + ?2, items_matched = items_matched + ?3 WHERE id = ?1",
            params![source_id, counts.new as i64, counts.matched as i64],
        )?;
        record_success(&tx, source_id, record, now)?;
        tx.commit()?;
        Ok(counts)
    }

    /// Records what an auto source turned out to be, for good.
    pub fn set_kind(&mut self, source: &str, url: &str, kind: &str, feed_url: Option<&str>) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = upsert_source(&tx, source, url)?;
        tx.execute(
            "UPDATE sources SET kind = ?2, feed_url = ?3 WHERE id = ?1",
            params![id, kind, feed_url],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Which of `guids` this source has not stored yet (before polling, to fetch their articles).
    pub fn unseen(&self, source: &str, guids: &[String]) -> Result<Vec<String>, StoreError> {
        let Some(source_id) = self
            .conn
            .query_row("SELECT id FROM sources WHERE name = ?1", params![source], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
        else {
            return Ok(guids.to_vec());
        };
        let mut seen = self
            .conn
            .prepare_cached("SELECT 1 FROM sightings WHERE source_id = ?1 AND guid = ?2")?;
        let mut out = Vec::new();
        for guid in guids {
            if !seen.exists(params![source_id, guid])? {
                out.push(guid.clone());
            }
        }
        Ok(out)
    }

    /// Stories of `source` whose article could not be fetched yet (fewer than three attempts)
    /// and that no topic matched on their summary.
    pub fn pending_articles(&self, source: &str) -> Result<Vec<PendingArticle>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT i.id, i.link, i.title, i.body, i.published, i.first_seen
             FROM items i JOIN sightings s ON s.item_id = i.id JOIN sources src ON src.id = s.source_id
             WHERE src.name = ?1 AND i.article IS NULL AND i.article_attempts BETWEEN 1 AND 2
               AND i.state = 'stored' AND i.link IS NOT NULL",
        )?;
        let rows = stmt.query_map(params![source], |r| {
            Ok(PendingArticle {
                item_id: r.get(0)?,
                link: r.get(1)?,
                title: r.get(2)?,
                body: r.get(3)?,
                published: r.get::<_, Option<i64>>(4)?.map(ts),
                first_seen: ts(r.get(5)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records another attempt at a story's article; when it loaded and `verdict` matched, and
    /// the story is not too old, queues it. Returns whether it was queued.
    pub fn record_article(
        &mut self,
        item_id: i64,
        article: &Result<String, String>,
        verdict: Option<&MatchResult>,
        queue_it: bool,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE items SET article = ?2, article_error = ?3, article_attempts = article_attempts + 1 WHERE id = ?1",
            params![item_id, article.as_ref().ok(), article.as_ref().err()],
        )?;
        let queued = match verdict {
            Some(result) if queue_it => queue(&tx, item_id, result)?,
            _ => false,
        };
        tx.commit()?;
        Ok(queued)
    }

    /// Records a fetch that found nothing new (a 304, or a body identical to the last one).
    /// Records many fetches that found nothing new, in one transaction: a poll of hundreds of
    /// unchanged feeds is hundreds of these, and one commit is far cheaper than hundreds.
    pub fn record_unchanged(
        &mut self,
        sources: &[(String, String, FetchRecord)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (source, url, record) in sources {
            let id = upsert_source(&tx, source, url)?;
            record_success(&tx, id, record, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed poll of `source`.
    pub fn record_failure(
        &mut self,
        source: &str,
        url: &str,
        failure: &FailureRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = upsert_source(&tx, source, url)?;
        tx.execute(
            "UPDATE sources SET last_attempt = ?2, last_error = ?3, last_status = ?4, next_poll = ?5,
                 consecutive_failures = consecutive_failures + ?6,
                 failing_since = CASE WHEN ?6 = 1 THEN COALESCE(failing_since, ?2) ELSE failing_since END,
                 paused = MAX(paused, ?7)
             WHERE id = ?1",
            params![
                id,
                now.as_second(),
                failure.error,
                failure.status,
                failure.next_poll.as_second(),
                failure.penalise as i64,
                failure.pause as i64
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every source ever polled, by name.
    pub fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, url, last_attempt, last_success, consecutive_failures, last_error, last_status, items_seen,
                    items_matched, etag, last_modified, body_hash, next_poll, failing_since, paused, moved_to,
                    kind, feed_url
             FROM sources ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceState {
                name: r.get(0)?,
                url: r.get(1)?,
                last_attempt: r.get::<_, Option<i64>>(2)?.map(ts),
                last_success: r.get::<_, Option<i64>>(3)?.map(ts),
                consecutive_failures: r.get(4)?,
                last_error: r.get(5)?,
                last_status: r.get(6)?,
                items_seen: r.get(7)?,
                items_matched: r.get(8)?,
                etag: r.get(9)?,
                last_modified: r.get(10)?,
                body_hash: r.get(11)?,
                next_poll: r.get::<_, Option<i64>>(12)?.map(ts),
                failing_since: r.get::<_, Option<i64>>(13)?.map(ts),
                paused: r.get(14)?,
                moved_to: r.get(15)?,
                kind: r.get(16)?,
                feed_url: r.get(17)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Lets a source paused after a 410 be polled again. `false` if no such source is stored.
    pub fn resume(&mut self, source: &str) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET paused = 0, next_poll = NULL, consecutive_failures = 0, failing_since = NULL
             WHERE name = ?1",
            params![source],
        )?;
        Ok(changed > 0)
    }

    /// A host asked to be left alone until `until` (429/503 with Retry-After).
    pub fn set_host_retry(&mut self, host: &str, until: Timestamp, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO hosts (host, retry_after, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET retry_after = excluded.retry_after, reason = excluded.reason",
            params![host, until.as_second(), reason],
        )?;
        Ok(())
    }

    /// Hosts still asking to be left alone at `now`, with until when and why.
    pub fn host_retries(&self, now: Timestamp) -> Result<Vec<(String, Timestamp, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT host, retry_after, reason FROM hosts WHERE retry_after > ?1 ORDER BY host")?;
        let rows = stmt.query_map(params![now.as_second()], |r| {
            Ok((r.get::<_, String>(0)?, ts(r.get(1)?), r.get::<_, String>(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Queued stories not yet sent, without claiming them (for `digest --dry-run`).
    pub fn pending_stories(&self) -> Result<Vec<Story>, StoreError> {
        let ids = self.ids("SELECT id FROM items WHERE state = 'queued' ORDER BY id", params![])?;
        self.stories(&ids)
    }

    /// Takes every queued, unsent story for one digest, so that no other process sends them too.
    /// `token` identifies this digest in [`Store::mark_sent`] and [`Store::release`].
    pub fn claim_stories(&mut self, token: &str, now: Timestamp) -> Result<Vec<Story>, StoreError> {
        self.durably(|conn| {
            conn.execute(
                "UPDATE items SET claim = ?1, claimed_at = ?2
                 WHERE state = 'queued' AND (claim IS NULL OR claimed_at < ?3)",
                params![token, now.as_second(), now.as_second() - CLAIM_LEASE.as_secs() as i64],
            )
        })?;
        let ids = self.ids(
            "SELECT id FROM items WHERE claim = ?1 AND state = 'queued' ORDER BY id",
            params![token],
        )?;
        self.stories(&ids)
    }

    /// The digest holding `token` was accepted by the mail transport: its stories are sent.
    pub fn mark_sent(&mut self, token: &str, now: Timestamp) -> Result<usize, StoreError> {
        self.durably(|conn| {
            conn.execute(
                "UPDATE items SET state = 'sent', sent_at = ?2, claim = NULL, claimed_at = NULL
                 WHERE claim = ?1 AND state = 'queued'",
                params![token, now.as_second()],
            )
        })
    }

    /// Runs `write` as one transaction synced to disk before it returns (synchronous = FULL),
    /// which also makes every earlier commit durable.
    fn durably<T>(&mut self, write: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>) -> Result<T, StoreError> {
        // Changing this pragma makes SQLite recompile cached statements, so it is done only
        // around the rare writes that need it, never per poll.
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        let result = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = write(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        result
    }

    /// The digest holding `token` was not sent: its stories go back to the queue.
    pub fn release(&mut self, token: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE items SET claim = NULL, claimed_at = NULL WHERE claim = ?1",
            params![token],
        )?;
        Ok(())
    }

    pub fn record_digest(
        &mut self,
        now: Timestamp,
        stories: usize,
        message_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO digests (created_at, stories, message_id, error) VALUES (?1, ?2, ?3, ?4)",
            params![now.as_second(), stories as i64, message_id, error],
        )?;
        Ok(())
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM state WHERE key = ?1", params![key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn ids(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let ids = stmt.query_map(params, |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn stories(&self, ids: &[i64]) -> Result<Vec<Story>, StoreError> {
        let mut item = self.conn.prepare_cached(
            "SELECT title, link, published, first_seen, snippet, snippet_marks FROM items WHERE id = ?1",
        )?;
        let mut sources = self.conn.prepare_cached(
            "SELECT src.name FROM sightings s JOIN sources src ON src.id = s.source_id
             WHERE s.item_id = ?1 ORDER BY s.first_seen, s.rowid",
        )?;
        let mut hits = self
            .conn
            .prepare_cached("SELECT topic, keywords FROM matches WHERE item_id = ?1 ORDER BY rowid")?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let (title, link, published, first_seen, snippet, marks) = item.query_row(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            let mut names: Vec<String> = Vec::new();
            for name in sources.query_map(params![id], |r| r.get::<_, String>(0))? {
                let name = name?;
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let hits = hits
                .query_map(params![id], |r| {
                    Ok(TopicHit {
                        topic: r.get(0)?,
                        keywords: r.get::<_, String>(1)?.split('\n').map(str::to_string).collect(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Story {
                id,
                title,
                link,
                published: ts(published.unwrap_or(first_seen)),
                first_seen: ts(first_seen),
                sources: names,
                hits,
                snippet: Snippet {
                    text: snippet.unwrap_or_default(),
                    marks: decode_marks(marks.as_deref().unwrap_or("")),
                },
            });
        }
        Ok(out)
    }
}

fn upsert_source(conn: &Connection, name: &str, url: &str) -> Result<i64, rusqlite::Error> {
    conn.query_row(
        "INSERT INTO sources (name, url) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET
             -- A new URL is a new document: its validators, pause and backoff start afresh.
             etag = CASE WHEN url = excluded.url THEN etag END,
             last_modified = CASE WHEN url = excluded.url THEN last_modified END,
             body_hash = CASE WHEN url = excluded.url THEN body_hash END,
             paused = CASE WHEN url = excluded.url THEN paused ELSE 0 END,
             moved_to = CASE WHEN url = excluded.url THEN moved_to END,
             kind = CASE WHEN url = excluded.url THEN kind END,
             feed_url = CASE WHEN url = excluded.url THEN feed_url END,
             url = excluded.url
         RETURNING id",
        params![name, url],
        |r| r.get(0),
    )
}

/// The stored story an entry with link key `key` is the same as, with that story's state:
/// one stored from another source under that link, or, from this source, one with that link and
/// the same title (a republished item; a live blog's items share a link but not a title).
fn same_story(
    conn: &Connection,
    source_id: i64,
    key: &str,
    title: &str,
) -> Result<Option<(i64, String)>, rusqlite::Error> {
    // This runs for every new entry, so it is kept to statements SQLite compiles once: with an
    // ORDER BY (or a correlated EXISTS) it recompiled the statement on every run as the table
    // grew. Candidates are few; they are sorted here.
    let mut candidates = conn
        .prepare_cached("SELECT id, title, state FROM items WHERE dedup_key = ?1")?
        .query_map(params![key], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    candidates.sort_unstable_by_key(|c| c.0);
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut elsewhere =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sightings WHERE item_id = ?1 AND source_id != ?2)")?;
    for (id, _, state) in &candidates {
        if elsewhere.query_row(params![id, source_id], |r| r.get::<_, bool>(0))? {
            return Ok(Some((*id, state.clone())));
        }
    }
    let wanted = dedup::comparable_title(title);
    Ok(candidates
        .into_iter()
        .find(|c| dedup::comparable_title(&c.1) == wanted)
        .map(|(id, _, state)| (id, state)))
}

/// Queues a stored story for the digest with the topics it matched; `false` if it was not in the
/// 'stored' state (already queued or sent).
fn queue(conn: &Connection, item_id: i64, result: &MatchResult) -> Result<bool, rusqlite::Error> {
    let changed = conn
        .prepare_cached(
            "UPDATE items SET state = 'queued', snippet = ?2, snippet_marks = ?3 WHERE id = ?1 AND state = 'stored'",
        )?
        .execute(params![
            item_id,
            result.snippet.text,
            encode_marks(&result.snippet.marks)
        ])?;
    if changed == 0 {
        return Ok(false);
    }
    for hit in &result.hits {
        conn.prepare_cached("INSERT OR REPLACE INTO matches (item_id, topic, keywords) VALUES (?1, ?2, ?3)")?
            .execute(params![item_id, hit.topic, hit.keywords.join("\n")])?;
    }
    Ok(true)
}

fn record_success(conn: &Connection, id: i64, r: &FetchRecord, now: Timestamp) -> Result<(), rusqlite::Error> {
    conn.execute(
        "UPDATE sources SET last_attempt = ?2, last_success = ?2, consecutive_failures = 0, failing_since = NULL,
             last_error = NULL, last_status = ?3, next_poll = ?4, moved_to = ?5,
             etag = ?6, last_modified = ?7, body_hash = COALESCE(?8, body_hash)
         WHERE id = ?1",
        params![
            id,
            now.as_second(),
            r.status,
            r.next_poll.as_second(),
            r.moved_to,
            r.etag,
            r.last_modified,
            r.body_hash
        ],
    )?;
    Ok(())
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn encode_marks(marks: &[(usize, usize)]) -> String {
    marks
        .iter()
        .map(|(s, e)| format!("{s}-{e}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_marks(s: &str) -> Vec<(usize, usize)> {
    s.split(',')
        .filter_map(|pair| {
            let (a, b) = pair.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(guid: &str, link: &str, title: &str) -> Entry {
        Entry {
            guid: guid.into(),
            link: Some(link.into()),
            title: title.into(),
            body: format!("{title} body"),
            published: None,
        }
    }

    fn all_match(_: usize, e: &Entry) -> Option<MatchResult> {
        Some(MatchResult {
            hits: vec![TopicHit {
                topic: "T".into(),
                keywords: vec!["k".into()],
            }],
            snippet: Snippet {
                text: e.body.clone(),
                marks: vec![(0, 1)],
            },
        })
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sub/newswatch.db")).unwrap();
        (dir, store)
    }

    const WEEK: Duration = Duration::from_secs(7 * 86_400);

    fn rec(now: Timestamp) -> FetchRecord {
        FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        }
    }

    #[test]
    fn migrations_apply_and_version_is_recorded() {
        let (dir, store) = store();
        assert_eq!(store.schema_version().unwrap(), 4);
        drop(store);
        // Reopening applies nothing twice.
        let again = Store::open(&dir.path().join("sub/newswatch.db")).unwrap();
        assert_eq!(again.schema_version().unwrap(), 4);
    }

    #[test]
    fn same_guid_same_source_is_one_item() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        let e = [entry("1", "https://a.org/x", "X")];
        assert_eq!(
            s.ingest("A", "u", &e, &rec(now), now, WEEK, &HashMap::new(), all_match)
                .unwrap()
                .new,
            1
        );
        assert_eq!(
            s.ingest("A", "u", &e, &rec(now), now, WEEK, &HashMap::new(), all_match)
                .unwrap()
                .new,
            0
        );
        assert_eq!(s.pending_stories().unwrap().len(), 1);
    }

    #[test]
    fn same_link_from_other_source_is_one_story_with_both_sources() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        s.ingest(
            "A",
            "u",
            &[entry("1", "https://www.a.org/x/?utm_source=rss", "X")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        s.ingest(
            "B",
            "u",
            &[entry("zz", "http://a.org/x", "Other title")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        let stories = s.pending_stories().unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].sources, vec!["A".to_string(), "B".to_string()]);
    }

    #[test]
    fn republished_item_dedups_but_live_blog_items_stay_apart() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        s.ingest(
            "A",
            "u",
            &[entry("1", "https://a.org/live", "Update 1")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        s.ingest(
            "A",
            "u",
            &[entry("2", "https://a.org/live", "Update 2")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        s.ingest(
            "A",
            "u",
            &[entry("3", "https://a.org/live", "update 1!")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        assert_eq!(s.pending_stories().unwrap().len(), 2);
    }

    #[test]
    fn root_page_links_never_merge_stories() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        s.ingest(
            "A",
            "u",
            &[entry("1", "https://a.org/", "One")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        s.ingest(
            "B",
            "u",
            &[entry("2", "https://a.org/", "Two")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        assert_eq!(s.pending_stories().unwrap().len(), 2);
    }

    #[test]
    fn old_entries_are_stored_but_not_queued() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        let mut old = entry("1", "https://a.org/old", "Old");
        old.published = Some(now - jiff::SignedDuration::from_hours(24 * 8));
        let c = s
            .ingest("A", "u", &[old], &rec(now), now, WEEK, &HashMap::new(), all_match)
            .unwrap();
        assert_eq!((c.new, c.matched), (1, 0));
        assert!(s.pending_stories().unwrap().is_empty());
    }

    #[test]
    fn claims_are_exclusive_and_release_requeues() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        s.ingest(
            "A",
            "u",
            &[entry("1", "https://a.org/1", "One")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        assert_eq!(s.claim_stories("first", now).unwrap().len(), 1);
        assert!(
            s.claim_stories("second", now).unwrap().is_empty(),
            "claimed stories are not claimed twice"
        );
        s.release("first").unwrap();
        assert_eq!(s.claim_stories("third", now).unwrap().len(), 1);
        assert_eq!(s.mark_sent("third", now).unwrap(), 1);
        assert!(s.claim_stories("fourth", now).unwrap().is_empty());
        assert!(s.pending_stories().unwrap().is_empty());
    }

    #[test]
    fn articles_are_tried_three_times_at_most() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        let failed: HashMap<usize, Result<String, String>> = HashMap::from([(0, Err("HTTP 500".to_string()))]);
        let e = [entry("1", "https://a.org/1", "One")];
        s.ingest("A", "u", &e, &rec(now), now, WEEK, &failed, |_, _| None)
            .unwrap();
        let id = s.pending_articles("A").unwrap()[0].item_id;
        s.record_article(id, &Err("HTTP 500".into()), None, true).unwrap();
        assert_eq!(s.pending_articles("A").unwrap().len(), 1, "two attempts so far");
        s.record_article(id, &Err("HTTP 500".into()), None, true).unwrap();
        assert!(s.pending_articles("A").unwrap().is_empty(), "three attempts: given up");
        assert!(s.pending_stories().unwrap().is_empty(), "never queued without a match");
    }

    #[test]
    fn stale_claims_expire() {
        let (_d, mut s) = store();
        let now = Timestamp::now();
        s.ingest(
            "A",
            "u",
            &[entry("1", "https://a.org/1", "One")],
            &rec(now),
            now,
            WEEK,
            &HashMap::new(),
            all_match,
        )
        .unwrap();
        s.claim_stories("dead", now).unwrap();
        let later = now + jiff::SignedDuration::from_hours(1);
        assert_eq!(s.claim_stories("alive", later).unwrap().len(), 1);
    }
}
