//! Follow-up coverage (`told`): which outlets of each story a recipient has been told of, and
//! the stories mailed to them that other outlets have reported since. Which of those a message
//! carries is decided by `deliver`.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::{Compose, Sqlite, StoreError, ts};
use crate::model::{FollowUp, Outlet, ReaderHistory};

impl Sqlite {
    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        history(&self.conn, recipient, since)
    }
}

impl Compose<'_> {
    pub fn history(&self, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
        history(self.conn, recipient, since)
    }
}

fn history(conn: &Connection, recipient: &str, since: Timestamp) -> Result<ReaderHistory, StoreError> {
    Ok(ReaderHistory {
        follow_ups: follow_ups(conn, recipient, since)?,
        last_digest: last_digest(conn, recipient)?,
    })
}

fn follow_ups(conn: &Connection, recipient: &str, since: Timestamp) -> Result<Vec<FollowUp>, StoreError> {
    // Only messages the server took: a message still pending (or parked) carries the outlets
    // known when it was composed, and one the reader never got is no thread to follow.
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, i.title, i.link, o.message_id, src.name, e.link
         FROM outbox o
         JOIN deliveries d ON d.outbox_id = o.id AND d.recipient = o.recipient
         JOIN items i ON i.id = d.item_id
         JOIN entries e ON e.item_id = d.item_id
         JOIN sources src ON src.id = e.source_id
         WHERE o.recipient = ?1 AND o.created_at >= ?2 AND o.state = 'sent'
           AND NOT EXISTS (SELECT 1 FROM told t
                           WHERE t.recipient = ?1 AND t.item_id = e.item_id AND t.source_id = e.source_id)
         ORDER BY i.id, e.first_seen, e.id",
    )?;
    let rows = stmt.query_map(params![recipient, since.as_second()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out: Vec<FollowUp> = Vec::new();
    for row in rows {
        let (story, title, link, first_message, source, outlet_link) = row?;
        if out.last().is_none_or(|f| f.story != story) {
            out.push(FollowUp {
                story,
                title,
                link,
                outlets: Vec::new(),
                first_message,
            });
        }
        let outlets = &mut out.last_mut().expect("pushed above").outlets;
        // Two entries of one new outlet: it is named once, by its first report.
        if !outlets.iter().any(|o| o.source == source) {
            outlets.push(Outlet {
                source,
                link: outlet_link,
            });
        }
    }
    Ok(out)
}

fn last_digest(conn: &Connection, recipient: &str) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = conn.query_row(
        "SELECT MAX(created_at) FROM outbox WHERE recipient = ?1 AND kind = 'digest'",
        params![recipient],
        |r| r.get(0),
    )?;
    Ok(at.map(ts))
}

/// Records that message `outbox_id` told `recipient` of every outlet of story `item_id`.
pub(super) fn tell(conn: &Connection, recipient: &str, item_id: i64, outbox_id: i64) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO told (recipient, item_id, source_id, outbox_id)
         SELECT ?1, item_id, source_id, ?3 FROM entries WHERE item_id = ?2",
    )?
    .execute(params![recipient, item_id, outbox_id])?;
    Ok(())
}
