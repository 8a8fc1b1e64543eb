//! The queue: matched stories (`items.state`, `matches`) waiting to be put into outbox messages,
//! and stories read back for a message. Who gets which story is decided by `deliver`; the
//! outbox (`outbox.rs`) records it.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::{Sqlite, StoreError, ts};
use crate::model::{Entry, MatchResult, Outlet, QueuedStory, Snippet, Story, TopicHit};
use crate::store::columns::{decode_marks, encode_marks};

impl Sqlite {
    pub fn queued_stories(&self) -> Result<Vec<QueuedStory>, StoreError> {
        queued_stories(&self.conn)
    }
}

pub(super) fn queued_stories(conn: &Connection) -> Result<Vec<QueuedStory>, StoreError> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM items WHERE state = 'queued' ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut delivered = conn.prepare_cached("SELECT recipient FROM deliveries WHERE item_id = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for story in stories(conn, &ids)? {
        let delivered_to = delivered
            .query_map(params![story.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        out.push(QueuedStory { story, delivered_to });
    }
    Ok(out)
}

/// The stories with these item ids, in that order.
pub(super) fn stories(conn: &Connection, ids: &[i64]) -> Result<Vec<Story>, StoreError> {
    let mut item = conn.prepare_cached(
        "SELECT title, link, published, first_seen, snippet, snippet_marks, title_marks FROM items WHERE id = ?1",
    )?;
    let mut sources = conn.prepare_cached(
        "SELECT src.name, s.link FROM entries s JOIN sources src ON src.id = s.source_id JOIN items i ON i.id = s.item_id
             WHERE s.item_id = ?1 ORDER BY s.id IS NOT i.lead, s.first_seen, s.id",
    )?;
    let mut hits = conn.prepare_cached("SELECT topic, keywords FROM matches WHERE item_id = ?1 ORDER BY rowid")?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let (title, link, published, first_seen, snippet, marks, title_marks) = item.query_row(params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut names: Vec<String> = Vec::new();
        let mut also = Vec::new();
        for row in sources.query_map(params![id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })? {
            let (name, link) = row?;
            if names.contains(&name) {
                continue;
            }
            if !names.is_empty() {
                also.push(Outlet {
                    source: name.clone(),
                    link,
                });
            }
            names.push(name);
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
            also,
            hits,
            snippet: Snippet {
                text: snippet.unwrap_or_default(),
                marks: decode_marks(marks.as_deref().unwrap_or("")),
            },
            title_marks: decode_marks(title_marks.as_deref().unwrap_or("")),
        });
    }
    Ok(out)
}

/// Queues a stored story for the digest with the topics it matched; `false` if it was not in the
/// 'stored' state (already queued or sent).
pub(super) fn queue(conn: &Connection, item_id: i64, result: &MatchResult) -> Result<bool, rusqlite::Error> {
    let changed = conn
        .prepare_cached(
            "UPDATE items SET state = 'queued', snippet = ?2, snippet_marks = ?3, title_marks = ?4
             WHERE id = ?1 AND state = 'stored'",
        )?
        .execute(params![
            item_id,
            result.snippet.text,
            encode_marks(&result.snippet.marks),
            encode_marks(&result.title_marks)
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

/// Shows a new lead's snippet and title marks for a story that is queued (a stored story gets
/// them when it is queued); with no verdict on the new lead, its title is shown unmarked (the
/// marks were of another title) and the snippet stays (it quotes the story all the same).
pub(super) fn set_highlights(
    conn: &Connection,
    item_id: i64,
    verdict: Option<&MatchResult>,
) -> Result<(), rusqlite::Error> {
    match verdict {
        Some(v) => conn
            .prepare_cached(
                "UPDATE items SET snippet = ?2, snippet_marks = ?3, title_marks = ?4 WHERE id = ?1 AND state = 'queued'",
            )?
            .execute(params![
                item_id,
                v.snippet.text,
                encode_marks(&v.snippet.marks),
                encode_marks(&v.title_marks)
            ])?,
        None => conn
            .prepare_cached("UPDATE items SET title_marks = NULL WHERE id = ?1 AND state = 'queued'")?
            .execute(params![item_id])?,
    };
    Ok(())
}

/// Adds topics to a story whatever its state; a topic it has keeps its keywords.
pub(super) fn add_topics(conn: &Connection, item_id: i64, result: &MatchResult) -> Result<(), rusqlite::Error> {
    for hit in &result.hits {
        conn.prepare_cached("INSERT OR IGNORE INTO matches (item_id, topic, keywords) VALUES (?1, ?2, ?3)")?
            .execute(params![item_id, hit.topic, hit.keywords.join("\n")])?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::Entry;
    use crate::store::FetchRecord;
    use jiff::Timestamp;

    /// A store with one story of source "A" queued as matching topic "T".
    pub(crate) fn with_one_story(queued: bool) -> (tempfile::TempDir, Sqlite, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Sqlite::open(&dir.path().join("newswatch.db")).unwrap();
        let now = Timestamp::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let entry = Entry {
            guid: "1".into(),
            link: Some("https://a.org/1".into()),
            title: "One".into(),
            body: "One body".into(),
            published: None,
        };
        let mut id = 0;
        store
            .ingest("A", "u", &record, now, |tx| {
                id = tx.add_story(&entry, Some(&Err("HTTP 500".into())))?;
                tx.add_entry(id, &entry, Some("a.org/1"), now, &Default::default())?;
                if queued {
                    tx.queue(id, &matched())?;
                }
                Ok(Default::default())
            })
            .unwrap();
        (dir, store, id)
    }

    pub(crate) fn matched() -> MatchResult {
        MatchResult {
            hits: vec![TopicHit {
                topic: "T".into(),
                keywords: vec!["One".into()],
            }],
            snippet: Snippet {
                text: "One body".into(),
                marks: vec![(0, 3)],
            },
            title_marks: vec![(0, 3)],
        }
    }
}

/// A stored story a topic added later may match: never sent, first seen in the window asked for.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub item_id: i64,
    /// The story as an entry (its lead's title and text, the article appended when fetched).
    pub entry: Entry,
}

impl Sqlite {
    pub fn unsent_since(&self, since: Timestamp, topic: &str) -> Result<Vec<Unsent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT i.id, i.title, i.body, i.article, i.link, i.published FROM items i
             WHERE i.first_seen >= ?1 AND i.state IN ('stored', 'queued')
               AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id AND m.topic = ?2)
             ORDER BY i.first_seen, i.id",
        )?;
        let rows = stmt.query_map(params![since.as_second(), topic], |r| {
            let (id, title, body): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let article: Option<String> = r.get(3)?;
            Ok(Unsent {
                item_id: id,
                entry: Entry {
                    guid: format!("story-{id}"),
                    link: r.get(4)?,
                    title,
                    body: crate::store::columns::story_text(body, article),
                    published: r.get::<_, Option<i64>>(5)?.map(ts),
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn backfill(&mut self, verdicts: &[(i64, MatchResult)]) -> Result<usize, StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        let mut queued = 0;
        for (item_id, result) in verdicts {
            match queue(&tx, *item_id, result)? {
                true => queued += 1,
                false => add_topics(&tx, *item_id, result)?,
            }
        }
        tx.commit()?;
        Ok(queued)
    }
}

impl Sqlite {
    pub fn matched_per_topic(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT topic, COUNT(*) FROM matches GROUP BY topic ORDER BY topic")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
