//! The queue, the outbox and follow-up coverage on PostgreSQL (as `sqlite/queue.rs`,
//! `sqlite/outbox.rs` and `sqlite/followups.rs`): matched stories read back for a message,
//! messages written before they are sent, and what each recipient was told of.
//!
//! A composition is one transaction; PostgreSQL makes every commit durable before it returns
//! (`synchronous_commit` on, its default), which is what SQLite's `durably` asks for.

use jiff::Timestamp;
use tokio_postgres::{GenericClient, Row, Transaction};

use super::{Driver, Postgres, StoreError, ts};
use crate::model::{
    Channel, FollowUp, MessageState, OutboxEntry, Outlet, QueuedStory, ReaderHistory, Snippet, Story, TopicHit,
};
use crate::store::columns::{
    LAST_DIGEST_KEY, decode_marks, digest_handled, message_kind, message_state, shown, state_name,
};
use crate::store::{Attempt, NewMessage};

/// The reads and writes of one composition, in one transaction (see [`Postgres::compose`]).
pub struct Compose<'a> {
    tx: Transaction<'a>,
    rt: &'a Driver,
    now: i64,
}

const COLUMNS: &str = "id, kind, recipient, message_id, subject, stories, created_at, state, attempts, refusals,
                       next_attempt, last_attempt, last_error, sent_at, destination, channel";

impl Postgres {
    pub fn compose<T, E: From<StoreError>>(
        &mut self,
        now: Timestamp,
        write: impl FnOnce(&Compose<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let rt = &self.rt;
        let tx = rt.block_on(self.client.transaction()).map_err(StoreError::from)?;
        // One composition at a time, on every machine (SQLite's is an immediate transaction):
        // a second waits here, then reads the queue the first left.
        rt.block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::lock::key("compose")]))
            .map_err(StoreError::from)?;
        let compose = Compose {
            tx,
            rt,
            now: now.as_second(),
        };
        let value = write(&compose)?;
        rt.block_on(compose.tx.commit()).map_err(StoreError::from)?;
        Ok(value)
    }

    pub fn queued_stories(&self) -> Result<Vec<QueuedStory>, StoreError> {
        self.rt.block_on(queued_stories(&self.client))
    }

    pub fn due_message(&self, now: Timestamp) -> Result<Option<(OutboxEntry, Vec<u8>)>, StoreError> {
        let row = self.rt.block_on(self.client.query_opt(
            &format!(
                "SELECT {COLUMNS}, message FROM outbox WHERE state = 'pending' AND next_attempt <= $1 ORDER BY id LIMIT 1"
            ),
            &[&now.as_second()],
        ))?;
        Ok(row.map(|r| (entry(&r), r.get(16))))
    }

    pub fn next_message_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = self.rt.block_on(
            self.client
                .query_one("SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'", &[]),
        )?;
        Ok(row.get::<_, Option<i64>>(0).map(ts))
    }

    pub fn message_sent(&mut self, id: i64, destination: &str, now: Timestamp) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "UPDATE outbox SET state = 'sent', sent_at = $2, last_attempt = $2, attempts = attempts + 1,
                 destination = $3, last_error = NULL
             WHERE id = $1",
            &[&id, &now.as_second(), &destination],
        ))?;
        Ok(())
    }

    pub fn message_failed(&mut self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "UPDATE outbox SET attempts = attempts + 1, refusals = refusals + $2, last_attempt = $3,
                 last_error = $4, next_attempt = COALESCE($5, next_attempt),
                 state = CASE WHEN $5::BIGINT IS NULL THEN 'parked' ELSE 'pending' END
             WHERE id = $1",
            &[
                &id,
                &i32::from(attempt.refused),
                &now.as_second(),
                &attempt.error,
                &attempt.next_attempt.map(|t| t.as_second()),
            ],
        ))?;
        Ok(())
    }

    pub fn retry_messages(&mut self, id: Option<i64>, now: Timestamp) -> Result<usize, StoreError> {
        let changed = self.rt.block_on(self.client.execute(
            "UPDATE outbox SET state = 'pending', next_attempt = $2, refusals = 0, parked_noticed = FALSE
             WHERE state IN ('pending', 'parked') AND ($1::BIGINT IS NULL OR id = $1)",
            &[&id, &now.as_second()],
        ))?;
        Ok(changed as usize)
    }

    pub fn pending_due(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let changed = self.rt.block_on(self.client.execute(
            "UPDATE outbox SET next_attempt = $1 WHERE state = 'pending' AND next_attempt > $1",
            &[&now.as_second()],
        ))?;
        Ok(changed as usize)
    }

    pub fn outbox(&self, states: &[MessageState]) -> Result<Vec<OutboxEntry>, StoreError> {
        let wanted: Vec<&str> = states.iter().map(|s| state_name(*s)).collect();
        let rows = self.rt.block_on(self.client.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE state = ANY($1) ORDER BY id"),
            &[&wanted],
        ))?;
        Ok(rows.iter().map(entry).collect())
    }

    pub fn outbox_entries(&self, ids: &[i64]) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self.rt.block_on(
            self.client
                .query(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ANY($1)"), &[&ids]),
        )?;
        let found: Vec<OutboxEntry> = rows.iter().map(entry).collect();
        // In the order asked for, as on SQLite.
        Ok(ids
            .iter()
            .filter_map(|id| found.iter().find(|e| e.id == *id).cloned())
            .collect())
    }

    pub fn activity_since(&self, since: Timestamp) -> Result<(usize, usize), StoreError> {
        let row = self.rt.block_on(self.client.query_one(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at >= $1),
                    (SELECT COUNT(*) FROM items WHERE state IN ('queued', 'sent') AND first_seen >= $1)",
            &[&since.as_second()],
        ))?;
        Ok((row.get::<_, i64>(0) as usize, row.get::<_, i64>(1) as usize))
    }

    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        self.rt.block_on(history(&self.client, recipient, since))
    }
}

impl Compose<'_> {
    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = self.rt.block_on(
            self.tx
                .query_opt("SELECT value FROM state WHERE key = $1", &[&LAST_DIGEST_KEY]),
        )?;
        Ok(row.map(|r| digest_handled(r.get::<_, &str>(0))))
    }

    pub fn set_last_digest_handled(&self, at: Timestamp) -> Result<(), StoreError> {
        self.rt.block_on(self.tx.execute(
            "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&LAST_DIGEST_KEY, &at.to_string()],
        ))?;
        Ok(())
    }

    pub fn queued(&self) -> Result<Vec<QueuedStory>, StoreError> {
        self.rt.block_on(queued_stories(&self.tx))
    }

    pub fn parked_unnoticed(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self.rt.block_on(self.tx.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE state = 'parked' AND NOT parked_noticed ORDER BY id"),
            &[],
        ))?;
        Ok(rows.iter().map(entry).collect())
    }

    pub fn add_message(&self, m: &NewMessage) -> Result<i64, StoreError> {
        self.rt.block_on(async {
            let id: i64 = self
                .tx
                .query_one(
                    "INSERT INTO outbox (kind, recipient, message_id, subject, message, stories, created_at,
                                         next_attempt, channel)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING id",
                    &[
                        &m.kind.name(),
                        &m.recipient,
                        &m.message_id,
                        &m.subject,
                        &m.message,
                        &(m.items.len() as i32),
                        &self.now,
                        &m.channel.name(),
                    ],
                )
                .await?
                .get(0);
            for item in &m.items {
                self.tx
                    .execute(
                        "INSERT INTO deliveries (recipient, item_id, outbox_id) VALUES ($1, $2, $3)",
                        &[&m.recipient, item, &id],
                    )
                    .await?;
            }
            // Inside this transaction the outlets are those the message was composed with.
            for &item in m.items.iter().chain(&m.follow_ups) {
                self.tx
                    .execute(
                        "INSERT INTO told (recipient, item_id, source_id, outbox_id)
                         SELECT DISTINCT $1::TEXT, item_id, source_id, $3::BIGINT FROM entries WHERE item_id = $2
                         ON CONFLICT DO NOTHING",
                        &[&m.recipient, &item, &id],
                    )
                    .await?;
            }
            Ok(id)
        })
    }

    pub fn mark_noticed(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.rt.block_on(
            self.tx
                .execute("UPDATE outbox SET parked_noticed = TRUE WHERE id = ANY($1)", &[&ids]),
        )?;
        Ok(())
    }

    pub fn mark_done(&self, items: &[i64]) -> Result<(), StoreError> {
        self.rt.block_on(self.tx.execute(
            "UPDATE items SET state = 'sent' WHERE id = ANY($1) AND state = 'queued'",
            &[&items],
        ))?;
        Ok(())
    }

    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        self.rt.block_on(history(&self.tx, recipient, since))
    }
}

async fn queued_stories(c: &impl GenericClient) -> Result<Vec<QueuedStory>, StoreError> {
    let ids: Vec<i64> = c
        .query("SELECT id FROM items WHERE state = 'queued' ORDER BY id", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for story in stories(c, &ids).await? {
        let delivered_to = c
            .query("SELECT recipient FROM deliveries WHERE item_id = $1", &[&story.id])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.push(QueuedStory { story, delivered_to });
    }
    Ok(out)
}

/// The stories with these item ids, in that order.
pub(super) async fn stories(c: &impl GenericClient, ids: &[i64]) -> Result<Vec<Story>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let r = c
            .query_one(
                "SELECT title, link, published, first_seen, snippet, snippet_marks, title_marks FROM items WHERE id = $1",
                &[&id],
            )
            .await?;
        let first_seen: i64 = r.get(3);
        let mut names: Vec<String> = Vec::new();
        let mut also = Vec::new();
        let sources = c
            .query(
                "SELECT src.name, s.link FROM entries s JOIN sources src ON src.id = s.source_id
                 JOIN items i ON i.id = s.item_id
                 WHERE s.item_id = $1 ORDER BY s.id IS DISTINCT FROM i.lead, s.first_seen, s.id",
                &[&id],
            )
            .await?;
        for row in &sources {
            let name: String = row.get(0);
            if names.contains(&name) {
                continue;
            }
            if !names.is_empty() {
                also.push(Outlet {
                    source: name.clone(),
                    link: row.get(1),
                });
            }
            names.push(name);
        }
        let hits = c
            .query(
                "SELECT topic, keywords FROM matches WHERE item_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?
            .iter()
            .map(|h| TopicHit {
                topic: h.get(0),
                keywords: h.get::<_, String>(1).split('\n').map(str::to_string).collect(),
            })
            .collect();
        out.push(Story {
            id,
            title: r.get(0),
            link: r.get(1),
            published: ts(r.get::<_, Option<i64>>(2).unwrap_or(first_seen)),
            first_seen: ts(first_seen),
            sources: names,
            also,
            hits,
            snippet: Snippet {
                text: r.get::<_, Option<String>>(4).unwrap_or_default(),
                marks: decode_marks(r.get::<_, Option<&str>>(5).unwrap_or("")),
            },
            title_marks: decode_marks(r.get::<_, Option<&str>>(6).unwrap_or("")),
        });
    }
    Ok(out)
}

async fn history(c: &impl GenericClient, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
    // Only messages the server took: a message still pending (or parked) carries the outlets
    // known when it was composed, and one the reader never got is no thread to follow.
    let rows = c
        .query(
            "SELECT i.id, i.title, i.link, o.message_id, src.name, e.link
             FROM outbox o
             JOIN deliveries d ON d.outbox_id = o.id AND d.recipient = o.recipient
             JOIN items i ON i.id = d.item_id
             JOIN entries e ON e.item_id = d.item_id
             JOIN sources src ON src.id = e.source_id
             WHERE o.recipient = $1 AND o.created_at >= $2 AND o.state = 'sent'
               AND NOT EXISTS (SELECT 1 FROM told t
                               WHERE t.recipient = $1 AND t.item_id = e.item_id AND t.source_id = e.source_id)
             ORDER BY i.id, e.first_seen, e.id",
            &[&recipient, &since.as_second()],
        )
        .await?;
    let mut follow_ups: Vec<FollowUp> = Vec::new();
    for r in &rows {
        let story: i64 = r.get(0);
        if follow_ups.last().is_none_or(|f| f.story != story) {
            follow_ups.push(FollowUp {
                story,
                title: r.get(1),
                link: r.get(2),
                outlets: Vec::new(),
                first_message: r.get(3),
            });
        }
        let outlets = &mut follow_ups.last_mut().expect("pushed above").outlets;
        let source: String = r.get(4);
        // Two entries of one new outlet: it is named once, by its first report.
        if !outlets.iter().any(|o| o.source == source) {
            outlets.push(Outlet { source, link: r.get(5) });
        }
    }
    let last_digest = c
        .query_one(
            "SELECT MAX(created_at) FROM outbox WHERE recipient = $1 AND kind = 'digest'",
            &[&recipient],
        )
        .await?
        .get::<_, Option<i64>>(0)
        .map(ts);
    Ok(ReaderHistory {
        follow_ups,
        last_digest,
    })
}

fn entry(r: &Row) -> OutboxEntry {
    let channel = Channel::from_name(r.get(15));
    let recipient: String = r.get(2);
    OutboxEntry {
        shown: shown(&channel, &recipient),
        recipient,
        channel,
        id: r.get(0),
        kind: message_kind(r.get::<_, &str>(1)),
        message_id: r.get(3),
        subject: r.get(4),
        stories: usize::try_from(r.get::<_, i32>(5)).unwrap_or(0),
        created_at: ts(r.get(6)),
        state: message_state(r.get::<_, &str>(7)),
        attempts: u32::try_from(r.get::<_, i32>(8)).unwrap_or(0),
        refusals: u32::try_from(r.get::<_, i32>(9)).unwrap_or(0),
        next_attempt: ts(r.get(10)),
        last_attempt: r.get::<_, Option<i64>>(11).map(ts),
        last_error: r.get(12),
        sent_at: r.get::<_, Option<i64>>(13).map(ts),
        destination: r.get(14),
    }
}
