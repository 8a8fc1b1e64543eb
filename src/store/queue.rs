//! The digest queue: matched stories (`items.state`, `matches`), claimed by one digest at a
//! time, marked sent once the mail transport accepted them, released when it did not; and the
//! `digests` log. Claims and sent marks are durable writes (see "Durability" in `mod.rs`).

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::{Store, StoreError, ts};
use crate::model::{MatchResult, Snippet, Story, TopicHit};

/// How long a digest may hold its stories before another process may take them: long enough for a
/// slow SMTP server, short enough that a digest process that died does not delay stories for long.
const CLAIM_LEASE: Duration = Duration::from_secs(30 * 60);

impl Store {
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

    /// The digest holding `token` was not sent: its stories go back to the queue.
    pub fn release(&mut self, token: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE items SET claim = NULL, claimed_at = NULL WHERE claim = ?1",
            params![token],
        )?;
        Ok(())
    }

    /// Logs a digest: how many stories, and its Message-ID or why it failed.
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

/// Queues a stored story for the digest with the topics it matched; `false` if it was not in the
/// 'stored' state (already queued or sent).
pub(super) fn queue(conn: &Connection, item_id: i64, result: &MatchResult) -> Result<bool, rusqlite::Error> {
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
pub(super) mod tests {
    use super::*;
    use crate::model::Entry;
    use crate::store::FetchRecord;

    /// A store with one story of source "A" queued as matching topic "T".
    pub(crate) fn with_one_story(queued: bool) -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("newswatch.db")).unwrap();
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
                id = tx.add_story(&entry, Some("a.org/1"), Some(&Err("HTTP 500".into())))?;
                tx.add_sighting(id, &entry)?;
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
        }
    }

    #[test]
    fn claims_are_exclusive_and_release_requeues() {
        let (_d, mut s, _) = with_one_story(true);
        let now = Timestamp::now();
        let claimed = s.claim_stories("first", now).unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].sources, ["A"]);
        assert_eq!(claimed[0].hits[0].topic, "T");
        assert_eq!(claimed[0].snippet.marks, [(0, 3)], "marks survive the round trip");
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
    fn stale_claims_expire() {
        let (_d, mut s, _) = with_one_story(true);
        let now = Timestamp::now();
        s.claim_stories("dead", now).unwrap();
        let later = now + jiff::SignedDuration::from_hours(1);
        assert_eq!(s.claim_stories("alive", later).unwrap().len(), 1);
    }
}
