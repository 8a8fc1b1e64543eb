//! Reading stored stories back with their entries, for `newswatch stories`.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Sqlite, StoreError, ts};
use crate::model::{EntryRecord, StoryRecord};

/// Which stories to read.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    /// First seen at or after this.
    pub since: Option<Timestamp>,
    /// Only stories that matched this topic.
    pub topic: Option<String>,
    /// Also stories that matched no topic.
    pub all: bool,
    /// Only this story, whatever the other fields say.
    pub id: Option<i64>,
    /// At most this many, the newest (all when `None`).
    pub limit: Option<usize>,
}

impl Sqlite {
    pub fn stories(&self, filter: &StoryFilter) -> Result<Vec<StoryRecord>, StoreError> {
        let row = |r: &rusqlite::Row<'_>| {
            Ok(StoryRecord {
                id: r.get(0)?,
                title: r.get(1)?,
                link: r.get(2)?,
                state: r.get(3)?,
                topics: Vec::new(),
                published: r.get::<_, Option<i64>>(4)?.map(ts),
                first_seen: ts(r.get(5)?),
                sent_at: None,
                entries: Vec::new(),
            })
        };
        const COLUMNS: &str = "SELECT i.id, i.title, i.link, i.state, i.published, i.first_seen FROM items i";
        let rows = match filter.id {
            // By its id alone: one query for both would scan every story (SQLite plans an OR
            // over parameters as a scan).
            Some(id) => self
                .conn
                .prepare(&format!("{COLUMNS} WHERE i.id = ?1"))?
                .query_map(params![id], row)?
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                let since = filter.since.map_or(i64::MIN, |t| t.as_second());
                // SQLite reads a negative LIMIT as none.
                let limit = filter.limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
                self.conn
                    .prepare(&format!(
                        "{COLUMNS}
                         WHERE i.first_seen >= ?1
                           AND (?2 OR EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id))
                           AND (?3 IS NULL OR EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id AND m.topic = ?3))
                         ORDER BY i.first_seen DESC, i.id DESC
                         LIMIT ?4"
                    ))?
                    .query_map(params![since, filter.all, filter.topic, limit], row)?
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let mut topics = self
            .conn
            .prepare("SELECT topic FROM matches WHERE item_id = ?1 ORDER BY rowid")?;
        let mut sent = self.conn.prepare(
            "SELECT MIN(o.sent_at) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
             WHERE d.item_id = ?1 AND o.state = 'sent'",
        )?;
        let mut entries = self.conn.prepare(
            "SELECT src.name, e.title, e.link, e.guid, e.published, e.first_seen, e.id IS i.lead, e.id,
                    j.rule, j.to_entry, j.score, j.next, j.shared, j.pair, j.weighed
             FROM entries e JOIN sources src ON src.id = e.source_id JOIN items i ON i.id = e.item_id
             LEFT JOIN joins j ON j.entry = e.id
             WHERE e.item_id = ?1 ORDER BY e.id IS NOT i.lead, e.first_seen, e.id",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for mut story in rows {
            story.topics = topics
                .query_map(params![story.id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            story.sent_at = sent
                .query_row(params![story.id], |r| r.get::<_, Option<i64>>(0))
                .optional()?
                .flatten()
                .map(ts);
            // `sent` in the table means "composed": until a message carrying it is accepted,
            // the story is pending in the outbox.
            if story.state == "sent" && story.sent_at.is_none() {
                story.state = "pending".to_string();
            }
            story.entries = entries
                .query_map(params![story.id], |r| {
                    Ok(EntryRecord {
                        source: r.get(0)?,
                        title: r.get(1)?,
                        link: r.get(2)?,
                        guid: r.get(3)?,
                        published: r.get::<_, Option<i64>>(4)?.map(ts),
                        first_seen: ts(r.get(5)?),
                        lead: r.get(6)?,
                        id: r.get(7)?,
                        joined: crate::store::columns::joined(
                            r.get::<_, Option<String>>(8)?.as_deref(),
                            r.get(9)?,
                            [r.get(10)?, r.get(11)?, r.get(13)?],
                            r.get(14)?,
                            r.get::<_, Option<String>>(12)?,
                        ),
                    })
                })?
                .collect::<Result<_, _>>()?;
            out.push(story);
        }
        Ok(out)
    }
}
