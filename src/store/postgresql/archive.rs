//! Retention on PostgreSQL (as `sqlite/archive.rs`): old stories' texts pruned in batches,
//! never one waiting to be sent. The search index is not built for PostgreSQL yet: a search
//! that needs it is refused with an error saying so.

use jiff::Timestamp;

use super::{Postgres, StoreError, ts};
use crate::store::columns::story_text;
use crate::store::{Found, Narrowing, Pruned};

/// The `state` key of the last story pruned or found too young (the same as SQLite's).
const PRUNED_UPTO: &str = "prune_upto";

impl Postgres {
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
        if narrowing.is_some() {
            return Err(StoreError::Task(
                "searching by the index is not built for PostgreSQL yet".into(),
            ));
        }
        let rows = self.rt.block_on(self.client.query(
            "SELECT i.id, i.title, i.body, i.article, i.link, i.published, i.first_seen FROM items i
             WHERE i.id >= $1 AND i.id < $2
               AND ($4::TEXT IS NULL OR EXISTS (SELECT 1 FROM entries e JOIN sources s ON s.id = e.source_id
                                                WHERE e.item_id = i.id AND s.name = $4))
             ORDER BY i.id DESC LIMIT $3",
            &[&from, &below, &(limit as i64), &source],
        ))?;
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
