//! The `items` and `entries` tables: stories, and the entries (what one source carried under
//! one GUID) each is made of; and the articles of full-text sources. Which entries are one story
//! is decided by the poll stage (with `dedup` and `cluster`); [`Ingest`] gives it the lookups
//! and writes it needs, inside one transaction per poll.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::sources::{record_success, upsert_source};
use super::{FetchRecord, Sqlite, StoreError, queue, ts};
use crate::model::{Entry, IngestCounts, Joined, MatchResult, StoryCandidate, StoryHead};
use crate::store::columns::{item_state, rule_name};

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

/// One poll's writes for one source, in one transaction (see [`Sqlite::ingest`]).
pub struct Ingest<'a> {
    pub(super) tx: super::batch::Tx<'a>,
    pub(super) source_id: i64,
    pub(super) window: &'a super::window::Window,
    now: i64,
    /// The entries stored, for the clustering window once the writes are kept.
    added: std::cell::RefCell<Vec<(i64, crate::cluster::Member)>>,
}

impl Sqlite {
    pub fn ingest(
        &mut self,
        source: &str,
        url: &str,
        record: &FetchRecord,
        now: Timestamp,
        write: impl FnOnce(&Ingest<'_>) -> Result<IngestCounts, StoreError>,
    ) -> Result<IngestCounts, StoreError> {
        let (counts, added) = {
            let tx = super::batch::write(&mut self.conn, &self.batch)?;
            // What was stored since this process last looked, by it or another process, before
            // anything is looked up.
            self.window.catch_up(&mut super::clusters::Rows(&tx))?;
            let source_id = upsert_source(&tx, source, url)?;
            let ingest = Ingest {
                tx,
                source_id,
                window: &self.window,
                now: now.as_second(),
                added: Default::default(),
            };
            let counts = write(&ingest)?;
            let (tx, added) = (ingest.tx, ingest.added.into_inner());
            tx.execute(
                "UPDATE sources SET items_seen = items_seen + ?2, items_matched = items_matched + ?3 WHERE id = ?1",
                params![source_id, counts.new as i64, counts.matched as i64],
            )?;
            record_success(&tx, source_id, record, now)?;
            tx.commit()?;
            (counts, added)
        };
        // Kept (or released into the batch, whose failed commit forgets the window).
        for (entry, member) in added {
            self.window.hold(entry, member);
        }
        Ok(counts)
    }

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
            .prepare_cached("SELECT 1 FROM entries WHERE source_id = ?1 AND guid = ?2")?;
        let mut out = Vec::new();
        for guid in guids {
            if !seen.exists(params![source_id, guid])? {
                out.push(guid.clone());
            }
        }
        Ok(out)
    }

    pub fn pending_articles(&self, source: &str) -> Result<Vec<PendingArticle>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT i.id, i.link, i.title, i.body, i.published, i.first_seen
             FROM items i JOIN entries s ON s.item_id = i.id JOIN sources src ON src.id = s.source_id
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

    pub fn record_article(
        &mut self,
        item_id: i64,
        article: &Result<String, String>,
        queue_as: Option<&MatchResult>,
    ) -> Result<bool, StoreError> {
        let tx = super::batch::write(&mut self.conn, &self.batch)?;
        tx.execute(
            "UPDATE items SET article = ?2, article_error = ?3, article_attempts = article_attempts + 1 WHERE id = ?1",
            params![item_id, article.as_ref().ok(), article.as_ref().err()],
        )?;
        let queued = match queue_as {
            Some(result) => queue::queue(&tx, item_id, result)?,
            None => false,
        };
        tx.commit()?;
        Ok(queued)
    }
}

impl Ingest<'_> {
    pub fn seen(&self, guid: &str) -> Result<bool, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM entries WHERE source_id = ?1 AND guid = ?2")?
            .exists(params![self.source_id, guid])?)
    }

    pub fn candidates(&self, key: &str) -> Result<Vec<StoryCandidate>, StoreError> {
        // This runs for every new entry, so it is kept to statements SQLite compiles once: with
        // an ORDER BY (or a correlated EXISTS) it recompiled the statement on every run as the
        // table grew. Candidates are few; they are sorted here.
        let mut ids = self
            .tx
            .prepare_cached("SELECT item_id, id FROM entries WHERE link_key = ?1")?
            .query_map(params![key], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.sort_unstable();
        ids.dedup_by_key(|(item, _)| *item);
        let mut story = self.tx.prepare_cached("SELECT title, state FROM items WHERE id = ?1")?;
        let mut elsewhere = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM entries WHERE item_id = ?1 AND source_id != ?2)")?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, entry) in ids {
            let (title, state) =
                story.query_row(params![id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            out.push(StoryCandidate {
                id,
                entry,
                title,
                state: item_state(&state),
                carried_elsewhere: elsewhere.query_row(params![id, self.source_id], |r| r.get(0))?,
            });
        }
        Ok(out)
    }

    pub fn story_head(&self, item_id: i64) -> Result<StoryHead, StoreError> {
        // SQLite's trim, as before: spaces only (texts are stored trimmed of the rest).
        let (state, headline_only, published): (String, bool, Option<i64>) = self
            .tx
            .prepare_cached("SELECT state, trim(body) = '' OR body = title, published FROM items WHERE id = ?1")?
            .query_row(params![item_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(StoryHead {
            state: item_state(&state),
            headline_only,
            published: published.and_then(|t| Timestamp::from_second(t).ok()),
        })
    }

    pub fn new_story(
        &self,
        entry: &Entry,
        article: Option<&Result<String, String>>,
        (link_key, at): (Option<&str>, Timestamp),
        features: &crate::cluster::Features,
    ) -> Result<(i64, i64), StoreError> {
        let item_id = self.add_story(entry, article)?;
        let entry_id = self.add_entry(item_id, entry, link_key, at, features)?;
        self.set_lead(item_id, entry_id)?;
        Ok((item_id, entry_id))
    }

    pub(super) fn add_story(&self, entry: &Entry, article: Option<&Result<String, String>>) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO items (title, link, body, published, first_seen,
                                    article, article_attempts, article_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                entry.title,
                entry.link,
                entry.body,
                entry.published.map(|t| t.as_second()),
                self.now,
                article.and_then(|a| a.as_ref().ok()),
                i64::from(article.is_some()),
                article.and_then(|a| a.as_ref().err()),
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn make_lead(
        &self,
        item_id: i64,
        (entry_id, entry): (i64, &Entry),
        verdict: Option<&MatchResult>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE items SET title = ?2, link = ?3, body = ?4, published = ?5, lead = ?6 WHERE id = ?1",
            )?
            .execute(params![
                item_id,
                entry.title,
                entry.link,
                entry.body,
                entry.published.map(|t| t.as_second()),
                entry_id
            ])?;
        Ok(queue::set_highlights(&self.tx, item_id, verdict)?)
    }

    pub fn record_join(&self, entry_id: i64, join: &Joined) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO joins (entry, to_entry, rule, score, next, shared, pair, weighed) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                entry_id,
                join.with,
                rule_name(join.rule),
                join.score.map(f64::from),
                join.next.map(f64::from),
                join.shared.join("\n"),
                join.pair.map(f64::from),
                join.weighed,
            ])?;
        Ok(())
    }

    fn set_lead(&self, item_id: i64, entry_id: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE items SET lead = ?2 WHERE id = ?1")?
            .execute(params![item_id, entry_id])?;
        Ok(())
    }

    pub fn add_entry(
        &self,
        item_id: i64,
        entry: &Entry,
        link_key: Option<&str>,
        at: Timestamp,
        features: &crate::cluster::Features,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO entries (source_id, guid, item_id, link, link_key, title, published, first_seen, at, vector, keys)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                self.source_id,
                entry.guid,
                item_id,
                entry.link,
                link_key,
                entry.title,
                entry.published.map(|t| t.as_second()),
                self.now,
                at.as_second(),
                crate::cluster::stored(features),
                super::window::encode(features.keys()),
            ])?;
        let id = self.tx.last_insert_rowid();
        self.added.borrow_mut().push((
            id,
            crate::cluster::Member {
                story: item_id,
                source: self.source_id,
                at: at.as_second(),
                features: features.clone(),
            },
        ));
        Ok(id)
    }

    pub fn add_topics(&self, item_id: i64, result: &MatchResult) -> Result<(), StoreError> {
        Ok(queue::add_topics(&self.tx, item_id, result)?)
    }

    pub fn queue(&self, item_id: i64, result: &MatchResult) -> Result<bool, StoreError> {
        Ok(queue::queue(&self.tx, item_id, result)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::sqlite::queue::tests::{matched, with_one_story};

    #[test]
    fn articles_are_tried_three_times_at_most() {
        // The story's first attempt failed while it was stored.
        let (_d, mut s, id) = with_one_story(false);
        assert_eq!(s.pending_articles("A").unwrap()[0].item_id, id);
        s.record_article(id, &Err("HTTP 500".into()), None).unwrap();
        assert_eq!(s.pending_articles("A").unwrap().len(), 1, "two attempts so far");
        s.record_article(id, &Err("HTTP 500".into()), None).unwrap();
        assert!(s.pending_articles("A").unwrap().is_empty(), "three attempts: given up");
        assert!(s.queued_stories().unwrap().is_empty(), "never queued without a match");
    }

    #[test]
    fn an_article_that_loads_late_queues_its_story() {
        let (_d, mut s, id) = with_one_story(false);
        assert!(s.record_article(id, &Ok("text".into()), Some(&matched())).unwrap());
        assert!(s.pending_articles("A").unwrap().is_empty(), "loaded: no longer pending");
        assert_eq!(s.queued_stories().unwrap().len(), 1);
        assert!(
            !s.record_article(id, &Ok("text".into()), Some(&matched())).unwrap(),
            "queued once"
        );
    }
}
