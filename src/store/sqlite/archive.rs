//! The archive: the full-text index behind `newswatch search`, and retention (texts of old
//! stories pruned, the file shrunk).
//!
//! The index (`search_index`, migration V11) holds each story's text by its id, as trigrams
//! without positions: it says which stories may hold a word, the matcher says which do. It is
//! filled after polls, not inside them (`index_for_search`), in the order stories were stored,
//! so that a poll pays nothing for it and an archive from before the index is indexed by the
//! same path.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Sqlite, StoreError, put_state, state_value, ts};
use crate::store::Narrowing;
use crate::store::columns::story_text;

/// The `state` key: every story up to this id is in the index.
const INDEXED_UPTO: &str = "search_upto";
/// The `state` key: every story up to this id is pruned or was too young when last looked at.
const PRUNED_UPTO: &str = "prune_upto";

/// Only stories the source named by the 4th parameter carried (NULL: any).
const FROM_SOURCE: &str = "(?4 IS NULL OR EXISTS (SELECT 1 FROM entries e JOIN sources s ON s.id = e.source_id
                           WHERE e.item_id = i.id AND s.name = ?4))";

/// A stored story as `search` checks it against the query.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: i64,
    pub title: String,
    /// Summary, and the article when one was fetched.
    pub text: String,
    pub link: Option<String>,
    pub published: Option<Timestamp>,
    pub first_seen: Timestamp,
}

/// What one batch of retention did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    /// Stories whose texts were pruned.
    pub stories: usize,
    /// Stories old enough that were kept: queued, in a message not sent yet, or reported
    /// again by an outlet since the cutoff.
    pub kept: usize,
    /// Whether stories older than the cutoff may remain (another batch is due).
    pub more: bool,
}

impl Sqlite {
    pub fn index_for_search(&mut self, limit: usize) -> Result<usize, StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        let upto: i64 = state_value(&tx, INDEXED_UPTO)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let stale: Vec<i64> = tx
            .prepare_cached("SELECT item_id FROM search_stale WHERE item_id <= ?1 ORDER BY item_id LIMIT ?2")?
            .query_map(params![upto, limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !stale.is_empty() {
            let ids = serde_json::to_string(&stale).unwrap_or_default();
            // One statement: FTS5 writes its pending changes out at every statement.
            tx.prepare_cached("DELETE FROM search_index WHERE rowid IN (SELECT value FROM json_each(?1))")?
                .execute([&ids])?;
            let mut read = tx.prepare_cached("SELECT id, title, body, article FROM items WHERE id = ?1")?;
            for id in &stale {
                if let Some((id, text)) = read.query_row([id], indexable).optional()? {
                    add(&tx, id, &text)?;
                }
            }
            tx.prepare_cached("DELETE FROM search_stale WHERE item_id IN (SELECT value FROM json_each(?1))")?
                .execute([&ids])?;
        }
        let fresh: Vec<(i64, String)> = tx
            .prepare_cached("SELECT id, title, body, article FROM items WHERE id > ?1 ORDER BY id LIMIT ?2")?
            .query_map(params![upto, (limit - stale.len()) as i64], indexable)?
            .collect::<Result<_, _>>()?;
        for (id, text) in &fresh {
            add(&tx, *id, text)?;
        }
        if let Some((last, _)) = fresh.last() {
            put_state(&tx, INDEXED_UPTO, &last.to_string())?;
            // Changed before they were indexed: indexed as they are now.
            tx.prepare_cached("DELETE FROM search_stale WHERE item_id > ?1 AND item_id <= ?2")?
                .execute(params![upto, last])?;
        }
        tx.commit()?;
        Ok(stale.len() + fresh.len())
    }

    pub fn search_candidates(
        &self,
        narrowing: Option<&Narrowing>,
        from: i64,
        below: i64,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let columns = "i.id, i.title, i.body, i.article, i.link, i.published, i.first_seen";
        // The index reads a narrowing as an FTS5 query, its `Display`.
        let fts = narrowing.map(|n| n.to_string());
        let mut stmt = self.conn.prepare_cached(&match fts {
            Some(_) => format!(
                "SELECT {columns} FROM search_index f JOIN items i ON i.id = f.rowid
                 WHERE search_index MATCH ?5 AND f.rowid >= ?1 AND f.rowid < ?2 AND {FROM_SOURCE}
                 ORDER BY f.rowid DESC LIMIT ?3"
            ),
            None => format!(
                "SELECT {columns} FROM items i WHERE i.id >= ?1 AND i.id < ?2 AND {FROM_SOURCE}
                 AND ?5 IS NULL ORDER BY i.id DESC LIMIT ?3"
            ),
        })?;
        let rows = stmt.query_map(params![from, below, limit as i64, source, fts], found)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn sample_counts(&self, queries: &[Narrowing], sample: i64) -> Result<(Vec<u64>, u64), StoreError> {
        // The index is filled in id order: its newest story is the state's mark (MAX(rowid)
        // of an FTS5 table reads every row of it).
        let newest: i64 = state_value(&self.conn, INDEXED_UPTO)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if newest <= 0 {
            return Ok((vec![0; queries.len()], 0));
        }
        let mut count = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM search_index WHERE search_index MATCH ?1 AND rowid > ?2")?;
        let floor = newest.saturating_sub(sample);
        let counts = queries
            .iter()
            .map(|q| count.query_row(params![q.to_string(), floor], |r| r.get::<_, i64>(0)))
            .map(|n| n.map(|n| n.max(0) as u64))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((counts, sample.min(newest).max(0) as u64))
    }

    pub fn first_story_since(&self, since: Timestamp) -> Result<i64, StoreError> {
        let max: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM items", [], |r| r.get(0))?;
        let mut at = self
            .conn
            .prepare_cached("SELECT first_seen FROM items WHERE id >= ?1 ORDER BY id LIMIT 1")?;
        // Binary search by id: a few primary-key look-ups instead of an index on first_seen
        // that every insert would pay for.
        let (mut lo, mut hi) = (1, max + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let seen: Option<i64> = at.query_row([mid], |r| r.get(0)).optional()?;
            match seen {
                Some(s) if s < since.as_second() => lo = mid + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    pub fn story_sources(&self, id: i64) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.name FROM entries e JOIN sources s ON s.id = e.source_id JOIN items i ON i.id = e.item_id
             WHERE e.item_id = ?1 GROUP BY s.id ORDER BY MAX(e.id = i.lead) DESC, MIN(e.id)",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn prune(&mut self, cutoff: Timestamp, limit: usize) -> Result<Pruned, StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        let upto: i64 = state_value(&tx, PRUNED_UPTO)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let cutoff = cutoff.as_second();
        let candidates: Vec<(i64, i64, String)> = tx
            .prepare_cached(
                "SELECT id, first_seen, state FROM items WHERE id > ?1 AND pruned = 0 ORDER BY id LIMIT ?2",
            )?
            .query_map(params![upto, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let unsent: Vec<i64> = tx
            .prepare_cached(
                "SELECT d.item_id FROM outbox o JOIN deliveries d ON d.outbox_id = o.id WHERE o.state != 'sent'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = Pruned::default();
        // Every story up to `floor` is pruned: the next batch starts after it. A story kept
        // stops the floor, so that it is looked at again.
        let (mut floor, mut floor_moves, mut young) = (upto, true, false);
        for (id, first_seen, state) in &candidates {
            if *first_seen >= cutoff {
                // Stories are stored in time order: the rest are younger.
                young = true;
                break;
            }
            let last_seen: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(first_seen), 0) FROM entries WHERE item_id = ?1")?
                .query_row([id], |r| r.get(0))?;
            if state == "queued" || unsent.contains(id) || last_seen >= cutoff {
                out.kept += 1;
                floor_moves = false;
                continue;
            }
            prune_story(&tx, *id)?;
            out.stories += 1;
            if floor_moves {
                floor = *id;
            }
        }
        out.more = !young && candidates.len() == limit;
        put_state(&tx, PRUNED_UPTO, &floor.to_string())?;
        tx.commit()?;
        Ok(out)
    }

    pub fn shrink(&mut self, pages: u32) -> Result<i64, StoreError> {
        self.flush()?;
        self.conn
            .execute_batch(&format!("PRAGMA incremental_vacuum({pages})"))?;
        Ok(self.conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?)
    }

    pub fn compact_index(&mut self, pages: u32) -> Result<bool, StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        let before = tx.total_changes();
        // Negative: merge whatever segments there are, not only those of one level.
        tx.execute(
            "INSERT INTO search_index (search_index, rank) VALUES ('merge', ?1)",
            [-i64::from(pages)],
        )?;
        // FTS5's way of saying it did something: more than the one row of the command.
        let worked = tx.total_changes() - before > 1;
        tx.commit()?;
        Ok(worked)
    }

    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn shrinks_incrementally(&self) -> Result<bool, StoreError> {
        let mode: i64 = self.conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
        Ok(mode == 2)
    }

    pub fn vacuum(&mut self) -> Result<(), StoreError> {
        self.flush()?;
        // The copy VACUUM builds goes to a temporary file: with the store's `temp_store =
        // MEMORY` it was held in memory (1.16 GB of RSS for a 1.6 GB archive; 13 MB this way).
        self.conn
            .execute_batch("PRAGMA temp_store = FILE; PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
        self.conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        Ok(())
    }
}

fn prune_story(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE items SET body = '', article = NULL, snippet = NULL, snippet_marks = NULL, pruned = 1 WHERE id = ?1",
    )?
    .execute([id])?;
    tx.prepare_cached("UPDATE entries SET vector = NULL, keys = NULL WHERE item_id = ?1")?
        .execute([id])?;
    // The update marked it for the search index (`search_stale`): its next catch-up indexes
    // the title alone.
    Ok(())
}

/// A story's id and its text as the index holds it (`text::searchable`): title, summary,
/// article.
fn indexable(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String)> {
    let (title, body, article): (String, String, Option<String>) = (r.get(1)?, r.get(2)?, r.get(3)?);
    let mut text = String::with_capacity(title.len() + body.len() + article.as_ref().map_or(0, String::len) + 8);
    for part in [Some(&title), Some(&body), article.as_ref()].into_iter().flatten() {
        crate::text::searchable(part, &mut text);
    }
    Ok((r.get(0)?, text))
}

fn add(tx: &Connection, id: i64, text: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO search_index (rowid, text) VALUES (?1, ?2)")?
        .execute(params![id, text])?;
    Ok(())
}

fn found(r: &rusqlite::Row<'_>) -> rusqlite::Result<Found> {
    let (body, article): (String, Option<String>) = (r.get(2)?, r.get(3)?);
    Ok(Found {
        id: r.get(0)?,
        title: r.get(1)?,
        text: story_text(body, article),
        link: r.get(4)?,
        published: r.get::<_, Option<i64>>(5)?.map(ts),
        first_seen: ts(r.get(6)?),
    })
}
