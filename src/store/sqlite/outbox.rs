//! The outbox (`outbox`, `deliveries`): messages written before they are sent, each to one
//! recipient, with the stories it carries. Which stories go to whom, and what a failure means,
//! is decided by `deliver`; this file records it. Composing and marking sent are durable writes
//! (see "Durability" in `mod.rs`): a message the server accepted must never be forgotten, nor
//! one composed before it was sent.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Sqlite, StoreError, followups, queue, ts};
use crate::model::{Channel, MessageKind, MessageState, OutboxEntry, QueuedStory};
use crate::store::columns::{LAST_DIGEST_KEY, digest_handled, message_kind, message_state, shown, state_name};

/// A message ready for the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageKind,
    pub channel: Channel,
    /// The address, lower case; a webhook's URL.
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    /// The whole message, as every attempt sends it.
    pub message: Vec<u8>,
    /// The stories it carries (item ids): from now on they are this recipient's through it.
    pub items: Vec<i64>,
    /// Stories sent before whose new outlets it names ("More coverage of earlier stories").
    pub follow_ups: Vec<i64>,
}

/// What a failed attempt changes.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub error: String,
    /// The server refused it for good (5xx), as opposed to not now.
    pub refused: bool,
    /// When to try again; `None` parks the message.
    pub next_attempt: Option<Timestamp>,
}

/// The reads and writes of one composition, in one durable transaction (see [`Sqlite::compose`]).
pub struct Compose<'a> {
    pub(super) conn: &'a Connection,
    now: i64,
}

const COLUMNS: &str = "id, kind, recipient, message_id, subject, stories, created_at, state, attempts, refusals,
                       next_attempt, last_attempt, last_error, sent_at, destination, channel";

impl Sqlite {
    pub fn compose<T, E: From<StoreError>>(
        &mut self,
        now: Timestamp,
        write: impl FnOnce(&Compose<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.durably(|conn| {
            write(&Compose {
                conn,
                now: now.as_second(),
            })
        })
    }

    pub fn due_message(&self, now: Timestamp) -> Result<Option<(OutboxEntry, Vec<u8>)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS}, message FROM outbox WHERE state = 'pending' AND next_attempt <= ?1 ORDER BY id LIMIT 1"
                ),
                params![now.as_second()],
                |r| Ok((entry(r)?, r.get::<_, Vec<u8>>(16)?)),
            )
            .optional()?)
    }

    pub fn next_message_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = self.conn.query_row(
            "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(at.map(ts))
    }

    pub fn message_sent(&mut self, id: i64, destination: &str, now: Timestamp) -> Result<(), StoreError> {
        self.durably(|conn| {
            conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?2, last_attempt = ?2, attempts = attempts + 1,
                     destination = ?3, last_error = NULL
                 WHERE id = ?1",
                params![id, now.as_second(), destination],
            )?;
            Ok::<_, StoreError>(())
        })
    }

    pub fn message_failed(&mut self, id: i64, attempt: &Attempt, now: Timestamp) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, refusals = refusals + ?2, last_attempt = ?3,
                 last_error = ?4, next_attempt = COALESCE(?5, next_attempt),
                 state = CASE WHEN ?5 IS NULL THEN 'parked' ELSE 'pending' END
             WHERE id = ?1",
            params![
                id,
                i64::from(attempt.refused),
                now.as_second(),
                attempt.error,
                attempt.next_attempt.map(|t| t.as_second())
            ],
        )?;
        Ok(())
    }

    pub fn retry_messages(&mut self, id: Option<i64>, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt = ?2, refusals = 0, parked_noticed = 0
             WHERE state IN ('pending', 'parked') AND (?1 IS NULL OR id = ?1)",
            params![id, now.as_second()],
        )?)
    }

    pub fn pending_due(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET next_attempt = ?1 WHERE state = 'pending' AND next_attempt > ?1",
            params![now.as_second()],
        )?)
    }

    pub fn outbox(&self, states: &[MessageState]) -> Result<Vec<OutboxEntry>, StoreError> {
        let wanted: Vec<&str> = states.iter().map(|s| state_name(*s)).collect();
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id"))?;
        let all = stmt.query_map([], entry)?.collect::<Result<Vec<_>, _>>()?;
        Ok(all
            .into_iter()
            .filter(|e| wanted.contains(&state_name(e.state)))
            .collect())
    }

    pub fn outbox_entries(&self, ids: &[i64]) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(e) = stmt.query_row(params![id], entry).optional()? {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub fn activity_since(&self, since: Timestamp) -> Result<(usize, usize), StoreError> {
        let sent: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND sent_at >= ?1",
            params![since.as_second()],
            |r| r.get(0),
        )?;
        let matched: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM items WHERE state IN ('queued', 'sent') AND first_seen >= ?1",
            params![since.as_second()],
            |r| r.get(0),
        )?;
        Ok((sent as usize, matched as usize))
    }
}

impl Compose<'_> {
    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(super::state_value(self.conn, LAST_DIGEST_KEY)?
            .as_deref()
            .map(digest_handled))
    }

    pub fn set_last_digest_handled(&self, at: Timestamp) -> Result<(), StoreError> {
        Ok(super::put_state(self.conn, LAST_DIGEST_KEY, &at.to_string())?)
    }

    pub fn queued(&self) -> Result<Vec<QueuedStory>, StoreError> {
        queue::queued_stories(self.conn)
    }

    pub fn parked_unnoticed(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'parked' AND parked_noticed = 0 ORDER BY id"
        ))?;
        Ok(stmt.query_map([], entry)?.collect::<Result<_, _>>()?)
    }

    pub fn add_message(&self, m: &NewMessage) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO outbox (kind, recipient, message_id, subject, message, stories, created_at, next_attempt, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
            params![
                m.kind.name(),
                m.recipient,
                m.message_id,
                m.subject,
                m.message,
                m.items.len() as i64,
                self.now,
                m.channel.name()
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        let mut give = self
            .conn
            .prepare_cached("INSERT INTO deliveries (recipient, item_id, outbox_id) VALUES (?1, ?2, ?3)")?;
        for item in &m.items {
            give.execute(params![m.recipient, item, id])?;
        }
        // Inside this transaction the outlets are those the message was composed with.
        for &item in m.items.iter().chain(&m.follow_ups) {
            followups::tell(self.conn, &m.recipient, item, id)?;
        }
        Ok(id)
    }

    pub fn mark_noticed(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE outbox SET parked_noticed = 1 WHERE id = ?1")?;
        for id in ids {
            stmt.execute(params![id])?;
        }
        Ok(())
    }

    pub fn mark_done(&self, items: &[i64]) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("UPDATE items SET state = 'sent' WHERE id = ?1 AND state = 'queued'")?;
        for id in items {
            stmt.execute(params![id])?;
        }
        Ok(())
    }
}

fn entry(r: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    // An unknown channel stays what it is: read as mail, a message meant for another channel
    // would be mailed.
    let channel = Channel::from_name(&r.get::<_, String>(15)?);
    let recipient: String = r.get(2)?;
    Ok(OutboxEntry {
        shown: shown(&channel, &recipient),
        recipient,
        channel,
        id: r.get(0)?,
        kind: message_kind(r.get::<_, String>(1)?.as_str()),
        message_id: r.get(3)?,
        subject: r.get(4)?,
        stories: r.get::<_, i64>(5)? as usize,
        created_at: ts(r.get(6)?),
        state: message_state(r.get::<_, String>(7)?.as_str()),
        attempts: r.get(8)?,
        refusals: r.get(9)?,
        next_attempt: ts(r.get(10)?),
        last_attempt: r.get::<_, Option<i64>>(11)?.map(ts),
        last_error: r.get(12)?,
        sent_at: r.get::<_, Option<i64>>(13)?.map(ts),
        destination: r.get(14)?,
    })
}
