//! The `sources` and `hosts` tables on PostgreSQL (as `sqlite/sources.rs` on SQLite): each
//! source's fetch state and health, and hosts that asked to be left alone.

use jiff::Timestamp;
use tokio_postgres::GenericClient;

use super::{Postgres, StoreError, ts};
use crate::model::{HostHold, SourceState, SourceStates};
use crate::store::{FailureRecord, FetchRecord};

impl Postgres {
    pub fn source_states(&self) -> Result<SourceStates, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT name, url, last_attempt, last_success, consecutive_failures, last_error, last_status, items_seen,
                    items_matched, etag, last_modified, body_hash, next_poll, failing_since, paused, moved_to,
                    kind, feed_url, last_warning
             FROM sources",
            &[],
        ))?;
        let mut states = SourceStates::default();
        for r in rows {
            let state = SourceState {
                name: r.get(0),
                url: r.get(1),
                last_attempt: r.get::<_, Option<i64>>(2).map(ts),
                last_success: r.get::<_, Option<i64>>(3).map(ts),
                consecutive_failures: u32::try_from(r.get::<_, i32>(4)).unwrap_or(0),
                last_error: r.get(5),
                last_status: r.get::<_, Option<i32>>(6).and_then(|s| u16::try_from(s).ok()),
                items_seen: r.get(7),
                items_matched: r.get(8),
                etag: r.get(9),
                last_modified: r.get(10),
                body_hash: r.get(11),
                next_poll: r.get::<_, Option<i64>>(12).map(ts),
                failing_since: r.get::<_, Option<i64>>(13).map(ts),
                paused: r.get(14),
                moved_to: r.get(15),
                kind: r.get(16),
                feed_url: r.get(17),
                last_warning: r.get(18),
            };
            states.0.insert(state.name.clone(), state);
        }
        Ok(states)
    }

    /// One statement for the whole batch (an unchanged poll of thousands of sources was two
    /// round trips a source): each source created or brought up to date and its success
    /// recorded, as `upsert_source` and then `record_success` would.
    pub fn record_unchanged(
        &mut self,
        sources: &[(String, String, FetchRecord)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let column = |f: &dyn Fn(&FetchRecord) -> Option<String>| -> Vec<Option<String>> {
            sources.iter().map(|(_, _, r)| f(r)).collect()
        };
        let names: Vec<&str> = sources.iter().map(|(n, _, _)| n.as_str()).collect();
        let urls: Vec<&str> = sources.iter().map(|(_, u, _)| u.as_str()).collect();
        let statuses: Vec<i32> = sources.iter().map(|(_, _, r)| i32::from(r.status)).collect();
        let next_polls: Vec<i64> = sources.iter().map(|(_, _, r)| r.next_poll.as_second()).collect();
        let (moved, etags, modified) = (
            column(&|r| r.moved_to.clone()),
            column(&|r| r.etag.clone()),
            column(&|r| r.last_modified.clone()),
        );
        let (hashes, warnings) = (column(&|r| r.body_hash.clone()), column(&|r| r.warning.clone()));
        self.rt.block_on(self.client.execute(
            "INSERT INTO sources AS s (name, url, last_attempt, last_success, last_status, next_poll, moved_to,
                                       etag, last_modified, body_hash, last_warning)
             SELECT t.name, t.url, $10, $10, t.status, t.next_poll, t.moved_to, t.etag, t.last_modified, t.body_hash,
                    CASE WHEN t.body_hash IS NULL THEN NULL ELSE t.warning END
             FROM unnest($1::TEXT[], $2::TEXT[], $3::INTEGER[], $4::BIGINT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                         $8::TEXT[], $9::TEXT[])
                  AS t(name, url, status, next_poll, moved_to, etag, last_modified, body_hash, warning)
             ON CONFLICT (name) DO UPDATE SET
                 url = excluded.url,
                 last_attempt = $10, last_success = $10, consecutive_failures = 0, failing_since = NULL,
                 last_error = NULL, last_status = excluded.last_status, next_poll = excluded.next_poll,
                 moved_to = excluded.moved_to, etag = excluded.etag, last_modified = excluded.last_modified,
                 body_hash = COALESCE(excluded.body_hash, CASE WHEN s.url = excluded.url THEN s.body_hash END),
                 last_warning = CASE WHEN excluded.body_hash IS NULL THEN s.last_warning ELSE excluded.last_warning END,
                 paused = CASE WHEN s.url = excluded.url THEN s.paused ELSE FALSE END,
                 kind = CASE WHEN s.url = excluded.url THEN s.kind END,
                 feed_url = CASE WHEN s.url = excluded.url THEN s.feed_url END",
            &[
                &names,
                &urls,
                &statuses,
                &next_polls,
                &moved,
                &etags,
                &modified,
                &hashes,
                &warnings,
                &now.as_second(),
            ],
        ))?;
        Ok(())
    }

    pub fn record_failure(
        &mut self,
        source: &str,
        url: &str,
        failure: &FailureRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            let id = upsert_source(&tx, source, url).await?;
            tx.execute(
                "UPDATE sources SET last_attempt = $2, last_error = $3, last_status = $4, next_poll = $5,
                 consecutive_failures = consecutive_failures + CASE WHEN $6 THEN 1 ELSE 0 END,
                 failing_since = CASE WHEN $6 THEN COALESCE(failing_since, $2) ELSE failing_since END,
                 paused = paused OR $7
             WHERE id = $1",
                &[
                    &id,
                    &now.as_second(),
                    &failure.error,
                    &failure.status.map(i32::from),
                    &failure.next_poll.as_second(),
                    &failure.penalise,
                    &failure.pause,
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub fn set_kind(&mut self, source: &str, url: &str, kind: &str, feed_url: Option<&str>) -> Result<(), StoreError> {
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            let id = upsert_source(&tx, source, url).await?;
            tx.execute(
                "UPDATE sources SET kind = $2, feed_url = $3 WHERE id = $1",
                &[&id, &kind, &feed_url],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub fn resume(&mut self, source: &str) -> Result<bool, StoreError> {
        let changed = self.rt.block_on(self.client.execute(
            "UPDATE sources SET paused = FALSE, next_poll = NULL, consecutive_failures = 0, failing_since = NULL
             WHERE name = $1",
            &[&source],
        ))?;
        Ok(changed > 0)
    }

    pub fn set_host_hold(&mut self, host: &str, hold: &HostHold) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "INSERT INTO hosts (host, retry_after, reason) VALUES ($1, $2, $3)
             ON CONFLICT (host) DO UPDATE SET retry_after = excluded.retry_after, reason = excluded.reason",
            &[&host, &hold.until.as_second(), &hold.reason],
        ))?;
        Ok(())
    }

    pub fn host_holds(&self, now: Timestamp) -> Result<Vec<(String, HostHold)>, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT host, retry_after, reason FROM hosts WHERE retry_after > $1",
            &[&now.as_second()],
        ))?;
        Ok(rows
            .iter()
            .map(|r| {
                let hold = HostHold {
                    until: ts(r.get(1)),
                    reason: r.get(2),
                };
                (r.get(0), hold)
            })
            .collect())
    }
}

/// The source's row id, created on first use. A new URL is a new document: its validators,
/// pause and backoff start afresh.
pub(super) async fn upsert_source(c: &impl GenericClient, name: &str, url: &str) -> Result<i64, tokio_postgres::Error> {
    Ok(c.query_one(
        "INSERT INTO sources AS s (name, url) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET
             etag = CASE WHEN s.url = excluded.url THEN s.etag END,
             last_modified = CASE WHEN s.url = excluded.url THEN s.last_modified END,
             body_hash = CASE WHEN s.url = excluded.url THEN s.body_hash END,
             paused = CASE WHEN s.url = excluded.url THEN s.paused ELSE FALSE END,
             moved_to = CASE WHEN s.url = excluded.url THEN s.moved_to END,
             kind = CASE WHEN s.url = excluded.url THEN s.kind END,
             feed_url = CASE WHEN s.url = excluded.url THEN s.feed_url END,
             url = excluded.url
         RETURNING id",
        &[&name, &url],
    )
    .await?
    .get(0))
}

pub(super) async fn record_success(
    c: &impl GenericClient,
    id: i64,
    r: &FetchRecord,
    now: Timestamp,
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE sources SET last_attempt = $2, last_success = $2, consecutive_failures = 0, failing_since = NULL,
             last_error = NULL, last_status = $3, next_poll = $4, moved_to = $5,
             etag = $6, last_modified = $7, body_hash = COALESCE($8, body_hash),
             last_warning = CASE WHEN $8::TEXT IS NULL THEN last_warning ELSE $9 END
         WHERE id = $1",
        &[
            &id,
            &now.as_second(),
            &i32::from(r.status),
            &r.next_poll.as_second(),
            &r.moved_to,
            &r.etag,
            &r.last_modified,
            &r.body_hash,
            &r.warning,
        ],
    )
    .await?;
    Ok(())
}
