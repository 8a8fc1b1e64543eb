//! The archive on PostgreSQL (as `sqlite/archive.rs`): the search index (`search_text`, a
//! trigram index that `LIKE` reads: `migrations/postgres/V2__search.sql`) and its catch-up,
//! and retention: old stories' texts pruned in batches, never one waiting to be sent.

use jiff::Timestamp;
use tokio_postgres::types::ToSql;

use super::{Postgres, StoreError, ts};
use crate::store::columns::story_text;
use crate::store::{Found, Narrowing, Pruned};

/// The `state` key of the last story pruned or found too young (the same as SQLite's).
const PRUNED_UPTO: &str = "prune_upto";
/// The `state` key of the last story indexed for search (the same as SQLite's).
const INDEXED_UPTO: &str = "search_upto";

impl Postgres {
    pub fn index_for_search(&mut self, limit: usize) -> Result<usize, StoreError> {
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            let upto: i64 = tx
                .query_opt("SELECT value FROM state WHERE key = $1", &[&INDEXED_UPTO])
                .await?
                .and_then(|r| r.get::<_, String>(0).parse().ok())
                .unwrap_or(0);
            let stale: Vec<i64> = tx
                .query(
                    "SELECT item_id FROM search_stale WHERE item_id <= $1 ORDER BY item_id LIMIT $2",
                    &[&upto, &(limit as i64)],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let reindexed = tx
                .query(
                    "SELECT id, title, body, article FROM items WHERE id = ANY($1)",
                    &[&stale],
                )
                .await?;
            for r in &reindexed {
                tx.execute(
                    "INSERT INTO search_text (item_id, text) VALUES ($1, $2)
                     ON CONFLICT (item_id) DO UPDATE SET text = excluded.text",
                    &[&r.get::<_, i64>(0), &searchable(r)],
                )
                .await?;
            }
            tx.execute("DELETE FROM search_stale WHERE item_id = ANY($1)", &[&stale])
                .await?;
            let fresh = tx
                .query(
                    "SELECT id, title, body, article FROM items WHERE id > $1 ORDER BY id LIMIT $2",
                    &[&upto, &((limit - stale.len()) as i64)],
                )
                .await?;
            for r in &fresh {
                tx.execute(
                    "INSERT INTO search_text (item_id, text) VALUES ($1, $2)
                     ON CONFLICT (item_id) DO UPDATE SET text = excluded.text",
                    &[&r.get::<_, i64>(0), &searchable(r)],
                )
                .await?;
            }
            if let Some(last) = fresh.last().map(|r| r.get::<_, i64>(0)) {
                tx.execute(
                    "INSERT INTO state (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&INDEXED_UPTO, &last.to_string()],
                )
                .await?;
                // Changed before they were indexed: indexed as they are now.
                tx.execute(
                    "DELETE FROM search_stale WHERE item_id > $1 AND item_id <= $2",
                    &[&upto, &last],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(stale.len() + fresh.len())
        })
    }

    pub fn sample_counts(&self, queries: &[Narrowing], sample: i64) -> Result<(Vec<u64>, u64), StoreError> {
        self.rt.block_on(async {
            let newest: i64 = self
                .client
                .query_opt("SELECT value FROM state WHERE key = $1", &[&INDEXED_UPTO])
                .await?
                .and_then(|r| r.get::<_, String>(0).parse().ok())
                .unwrap_or(0);
            if newest <= 0 {
                return Ok((vec![0; queries.len()], 0));
            }
            let floor = newest.saturating_sub(sample);
            let mut counts = Vec::with_capacity(queries.len());
            for q in queries {
                let mut patterns = Vec::new();
                let sql = format!(
                    "SELECT COUNT(*) FROM search_text f WHERE f.item_id > $1 AND {}",
                    condition(q, 2, &mut patterns)
                );
                let mut params: Vec<&(dyn ToSql + Sync)> = vec![&floor];
                params.extend(patterns.iter().map(|p| p as &(dyn ToSql + Sync)));
                let n: i64 = self.client.query_one(&sql, &params).await?.get(0);
                counts.push(n.max(0) as u64);
            }
            Ok((counts, sample.min(newest).max(0) as u64))
        })
    }

    /// The trigram index merges itself (GIN's pending list, at vacuum): nothing to do by hand.
    pub fn compact_index(&mut self, _pages: u32) -> Result<bool, StoreError> {
        Ok(false)
    }

    pub fn prune(&mut self, cutoff: Timestamp, limit: usize) -> Result<Pruned, StoreError> {
        let cutoff = cutoff.as_second();
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            let upto: i64 = tx
                .query_opt("SELECT value FROM state WHERE key = $1", &[&PRUNED_UPTO])
                .await?
                .and_then(|r| r.get::<_, String>(0).parse().ok())
                .unwrap_or(0);
            let candidates = tx
                .query(
                    "SELECT i.id, i.first_seen, i.state,
                            (SELECT COALESCE(MAX(e.first_seen), 0) FROM entries e WHERE e.item_id = i.id),
                            EXISTS (SELECT 1 FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
                                    WHERE d.item_id = i.id AND o.state != 'sent')
                     FROM items i WHERE i.id > $1 AND NOT i.pruned ORDER BY i.id LIMIT $2",
                    &[&upto, &(limit as i64)],
                )
                .await?;
            let mut out = Pruned::default();
            // Every story up to `floor` is pruned: the next batch starts after it. A story kept
            // stops the floor, so that it is looked at again.
            let (mut floor, mut floor_moves, mut young) = (upto, true, false);
            for r in &candidates {
                let (id, first_seen, state, last_seen, unsent): (i64, i64, &str, i64, bool) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                if first_seen >= cutoff {
                    // Stories are stored in time order: the rest are younger.
                    young = true;
                    break;
                }
                if state == "queued" || unsent || last_seen >= cutoff {
                    out.kept += 1;
                    floor_moves = false;
                    continue;
                }
                tx.execute(
                    "UPDATE items SET body = '', article = NULL, snippet = NULL, snippet_marks = NULL, pruned = TRUE
                     WHERE id = $1",
                    &[&id],
                )
                .await?;
                tx.execute(
                    "UPDATE entries SET vector = NULL, keys = NULL WHERE item_id = $1",
                    &[&id],
                )
                .await?;
                out.stories += 1;
                if floor_moves {
                    floor = id;
                }
            }
            out.more = !young && candidates.len() == limit;
            tx.execute(
                "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&PRUNED_UPTO, &floor.to_string()],
            )
            .await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    pub fn search_candidates(
        &self,
        narrowing: Option<&Narrowing>,
        from: i64,
        below: i64,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let mut patterns: Vec<String> = Vec::new();
        let (table, narrowed) = match narrowing {
            Some(n) => (
                "search_text f JOIN items i ON i.id = f.item_id",
                condition(n, 5, &mut patterns),
            ),
            None => ("items i", "TRUE".to_string()),
        };
        let sql = format!(
            "SELECT i.id, i.title, i.body, i.article, i.link, i.published, i.first_seen FROM {table}
             WHERE i.id >= $1 AND i.id < $2 AND {narrowed}
               AND ($4::TEXT IS NULL OR EXISTS (SELECT 1 FROM entries e JOIN sources s ON s.id = e.source_id
                                                WHERE e.item_id = i.id AND s.name = $4))
             ORDER BY i.id DESC LIMIT $3"
        );
        let limit = limit as i64;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&from, &below, &limit, &source];
        params.extend(patterns.iter().map(|p| p as &(dyn ToSql + Sync)));
        let rows = self.rt.block_on(self.client.query(&sql, &params))?;
        Ok(rows
            .iter()
            .map(|r| {
                let body: String = r.get(2);
                let article: Option<String> = r.get(3);
                Found {
                    id: r.get(0),
                    title: r.get(1),
                    text: story_text(body, article),
                    link: r.get(4),
                    published: r.get::<_, Option<i64>>(5).map(ts),
                    first_seen: ts(r.get(6)),
                }
            })
            .collect())
    }
}

/// A story's text as the index holds it (`text::searchable`): title, summary, article.
fn searchable(r: &tokio_postgres::Row) -> String {
    let (title, body, article): (&str, &str, Option<&str>) = (r.get(1), r.get(2), r.get(3));
    let mut text = String::with_capacity(title.len() + body.len() + article.map_or(0, str::len) + 8);
    for part in [Some(title), Some(body), article].into_iter().flatten() {
        crate::text::searchable(part, &mut text);
    }
    text
}

/// `narrowing` as a condition on `f.text`, each trigram a `LIKE` (which the trigram index
/// reads), its pattern added to `patterns` as parameter `$first` on.
fn condition(narrowing: &Narrowing, first: usize, patterns: &mut Vec<String>) -> String {
    let (parts, joint) = match narrowing {
        Narrowing::Gram(g) => {
            let escaped = g.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            patterns.push(format!("%{escaped}%"));
            return format!("f.text LIKE ${}", first + patterns.len() - 1);
        }
        Narrowing::All(xs) => (xs, " AND "),
        Narrowing::Any(xs) => (xs, " OR "),
    };
    if parts.is_empty() {
        return "TRUE".into();
    }
    let parts: Vec<String> = parts.iter().map(|x| condition(x, first, patterns)).collect();
    format!("({})", parts.join(joint))
}
