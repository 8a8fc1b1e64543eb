//! What the pages, `backfill`, `/metrics` and `status` read on PostgreSQL (as
//! `sqlite/pages.rs`, `sqlite/queue.rs` and `sqlite/archive.rs`), and the calls that are
//! SQLite's housekeeping, answered here for what they mean on a server.

use jiff::Timestamp;

use super::items::{add_topics, queue};
use super::{Postgres, StoreError, ts};
use crate::model::{Entry, MatchResult, Snippet};
use crate::store::columns::{decode_marks, story_text};
use crate::store::{Card, PageQuery, Unsent};

impl Postgres {
    pub fn unsent_since(&self, since: Timestamp, topic: &str) -> Result<Vec<Unsent>, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT i.id, i.title, i.body, i.article, i.link, i.published FROM items i
             WHERE i.first_seen >= $1 AND i.state IN ('stored', 'queued')
               AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id AND m.topic = $2)
             ORDER BY i.first_seen, i.id",
            &[&since.as_second(), &topic],
        ))?;
        Ok(rows
            .iter()
            .map(|r| {
                let id: i64 = r.get(0);
                Unsent {
                    item_id: id,
                    entry: Entry {
                        guid: format!("story-{id}"),
                        link: r.get(4),
                        title: r.get(1),
                        body: story_text(r.get(2), r.get(3)),
                        published: r.get::<_, Option<i64>>(5).map(ts),
                    },
                }
            })
            .collect())
    }

    pub fn backfill(&mut self, verdicts: &[(i64, MatchResult)]) -> Result<usize, StoreError> {
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            let mut queued = 0;
            for (item_id, result) in verdicts {
                match queue(&tx, *item_id, result).await? {
                    true => queued += 1,
                    false => add_topics(&tx, *item_id, result).await?,
                }
            }
            tx.commit().await?;
            Ok(queued)
        })
    }

    pub fn matched_per_topic(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self.rt.block_on(
            self.client
                .query("SELECT topic, COUNT(*) FROM matches GROUP BY topic ORDER BY topic", &[]),
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub fn first_story_since(&self, since: Timestamp) -> Result<i64, StoreError> {
        // Ids follow time (stories are numbered as they are stored): the first at or after
        // `since`, or one past the last.
        let row = self.rt.block_on(self.client.query_one(
            "SELECT COALESCE((SELECT MIN(id) FROM items WHERE first_seen >= $1),
                             (SELECT COALESCE(MAX(id), 0) + 1 FROM items))",
            &[&since.as_second()],
        ))?;
        Ok(row.get(0))
    }

    pub fn story_sources(&self, id: i64) -> Result<Vec<String>, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT s.name FROM entries e JOIN sources s ON s.id = e.source_id JOIN items i ON i.id = e.item_id
             WHERE e.item_id = $1 GROUP BY s.id, s.name
             ORDER BY bool_or(e.id = i.lead) IS TRUE DESC, MIN(e.id)",
            &[&id],
        ))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn page_ids(&self, q: &PageQuery) -> Result<Vec<i64>, StoreError> {
        let from = match q.since {
            Some(t) => self.first_story_since(t)?,
            None => 0,
        };
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let rows = self.rt.block_on(self.client.query(
            "SELECT DISTINCT item_id FROM matches WHERE item_id >= $1 AND ($2::TEXT IS NULL OR topic = $2)
             ORDER BY item_id DESC LIMIT $3 OFFSET $4",
            &[&from, &q.topic, &limit, &offset],
        ))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn card(&self, id: i64) -> Result<Card, StoreError> {
        self.rt.block_on(async {
            let item = self
                .client
                .query_opt(
                    "SELECT snippet, snippet_marks, title_marks FROM items WHERE id = $1",
                    &[&id],
                )
                .await?;
            let (text, marks, title_marks): (Option<String>, Option<String>, Option<String>) = match &item {
                Some(r) => (r.get(0), r.get(1), r.get(2)),
                None => (None, None, None),
            };
            let matched = self
                .client
                .query(
                    "SELECT topic, keywords FROM matches WHERE item_id = $1 ORDER BY seq",
                    &[&id],
                )
                .await?
                .iter()
                .map(|r| {
                    let keywords: &str = r.get(1);
                    let keywords = keywords.split('\n').filter(|k| !k.is_empty()).map(str::to_string);
                    (r.get(0), keywords.collect())
                })
                .collect();
            let messages = self
                .client
                .query(
                    "SELECT DISTINCT outbox_id FROM deliveries WHERE item_id = $1 ORDER BY outbox_id",
                    &[&id],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            Ok(Card {
                snippet: Snippet {
                    text: text.unwrap_or_default(),
                    marks: decode_marks(&marks.unwrap_or_default()),
                },
                title_marks: decode_marks(&title_marks.unwrap_or_default()),
                matched,
                messages,
            })
        })
    }

    pub fn bytes(&self) -> Result<u64, StoreError> {
        let row = self.rt.block_on(
            self.client
                .query_one("SELECT pg_database_size(current_database())", &[]),
        )?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    pub fn backup(&mut self, to: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Backup {
            path: to.to_path_buf(),
            reason: "a PostgreSQL database is backed up by the server's own tools: \
                     pg_dump --format=custom --file=newswatch.dump DATABASE-URL"
                .into(),
        })
    }

    /// Each call commits on its own: no group commit on a server, which takes concurrent
    /// writers (`begin_batch` and `end_batch` are SQLite's). Before a batch, a connection the
    /// server dropped is made again (a failure to is said, and the batch's jobs fail).
    pub fn begin_batch(&mut self) {
        if let Err(e) = self.reconnect_if_lost() {
            tracing::error!("{e}");
        }
    }

    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The server checkpoints its own write-ahead log.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The server reuses the room of pruned rows (autovacuum); nothing is given back by hand.
    pub fn shrinks_incrementally(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    pub fn shrink(&mut self, _pages: u32) -> Result<i64, StoreError> {
        Ok(0)
    }

    /// `prune --vacuum`: the tables retention pruned, vacuumed now rather than when autovacuum
    /// comes to them.
    pub fn vacuum(&mut self) -> Result<(), StoreError> {
        self.rt
            .block_on(self.client.batch_execute("VACUUM (ANALYZE) items, entries"))?;
        Ok(())
    }

    pub fn prune_cluster_index(&mut self, before: Timestamp) -> bool {
        self.window.advance(before.as_second())
    }
}
