//! The `sources` and `hosts` tables: each source's fetch state and health, and hosts that asked
//! to be left alone. What to write (next poll time, whether a failure counts, a pause) is
//! decided by the poll stage; this file only writes it.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::{Sqlite, StoreError, ts};
use crate::model::{HostHold, SourceState, SourceStates};

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
    /// What was wrong with the document, though it was read; with a `body_hash`, it replaces
    /// the stored one (without, the document is the one read before, and so is its warning).
    pub warning: Option<String>,
}

/// What a failed fetch changes.
#[derive(Debug, Clone)]
pub struct FailureRecord {
    pub error: String,
    pub status: Option<u16>,
    pub next_poll: Timestamp,
    /// Counts toward backoff; `false` when the failure was not the source's (our network was
    /// down, or its host asked us to wait).
    pub penalise: bool,
    /// 410 Gone: poll no more until resumed.
    pub pause: bool,
}

impl Sqlite {
    pub fn source_states(&self) -> Result<SourceStates, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, url, last_attempt, last_success, consecutive_failures, last_error, last_status, items_seen,
                    items_matched, etag, last_modified, body_hash, next_poll, failing_since, paused, moved_to,
                    kind, feed_url, last_warning
             FROM sources",
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
                last_warning: r.get(18)?,
            })
        })?;
        let mut states = SourceStates::default();
        for state in rows {
            let state = state?;
            states.0.insert(state.name.clone(), state);
        }
        Ok(states)
    }

    pub fn record_unchanged(
        &mut self,
        sources: &[(String, String, FetchRecord)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        for (source, url, record) in sources {
            let id = upsert_source(&tx, source, url)?;
            record_success(&tx, id, record, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn record_failure(
        &mut self,
        source: &str,
        url: &str,
        failure: &FailureRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
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

    pub fn set_kind(&mut self, source: &str, url: &str, kind: &str, feed_url: Option<&str>) -> Result<(), StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        let id = upsert_source(&tx, source, url)?;
        tx.execute(
            "UPDATE sources SET kind = ?2, feed_url = ?3 WHERE id = ?1",
            params![id, kind, feed_url],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn resume(&mut self, source: &str) -> Result<bool, StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET paused = 0, next_poll = NULL, consecutive_failures = 0, failing_since = NULL
             WHERE name = ?1",
            params![source],
        )?;
        Ok(changed > 0)
    }

    pub fn set_host_hold(&mut self, host: &str, hold: &HostHold) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO hosts (host, retry_after, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET retry_after = excluded.retry_after, reason = excluded.reason",
            params![host, hold.until.as_second(), hold.reason],
        )?;
        Ok(())
    }

    pub fn host_holds(&self, now: Timestamp) -> Result<Vec<(String, HostHold)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT host, retry_after, reason FROM hosts WHERE retry_after > ?1")?;
        let rows = stmt.query_map(params![now.as_second()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                HostHold {
                    until: ts(r.get(1)?),
                    reason: r.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The source's row id, created on first use. A new URL is a new document: its validators,
/// pause and backoff start afresh.
pub(super) fn upsert_source(conn: &Connection, name: &str, url: &str) -> Result<i64, rusqlite::Error> {
    // Cached: a poll runs this once per source, and compiling it costs more than running it.
    conn.prepare_cached(
        "INSERT INTO sources (name, url) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET
             etag = CASE WHEN url = excluded.url THEN etag END,
             last_modified = CASE WHEN url = excluded.url THEN last_modified END,
             body_hash = CASE WHEN url = excluded.url THEN body_hash END,
             paused = CASE WHEN url = excluded.url THEN paused ELSE 0 END,
             moved_to = CASE WHEN url = excluded.url THEN moved_to END,
             kind = CASE WHEN url = excluded.url THEN kind END,
             feed_url = CASE WHEN url = excluded.url THEN feed_url END,
             url = excluded.url
         RETURNING id",
    )?
    .query_row(params![name, url], |r| r.get(0))
}

pub(super) fn record_success(
    conn: &Connection,
    id: i64,
    r: &FetchRecord,
    now: Timestamp,
) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "UPDATE sources SET last_attempt = ?2, last_success = ?2, consecutive_failures = 0, failing_since = NULL,
             last_error = NULL, last_status = ?3, next_poll = ?4, moved_to = ?5,
             etag = ?6, last_modified = ?7, body_hash = COALESCE(?8, body_hash),
             last_warning = CASE WHEN ?8 IS NULL THEN last_warning ELSE ?9 END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        now.as_second(),
        r.status,
        r.next_poll.as_second(),
        r.moved_to,
        r.etag,
        r.last_modified,
        r.body_hash,
        r.warning
    ])?;
    Ok(())
}
