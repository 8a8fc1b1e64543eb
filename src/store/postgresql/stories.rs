//! Stories and their entries read back on PostgreSQL (as `sqlite/stories.rs`), for
//! `newswatch stories` and the pages.

use super::{Postgres, StoreError, ts};
use crate::model::{EntryRecord, StoryRecord};
use crate::store::StoryFilter;
use crate::store::columns::joined;

impl Postgres {
    pub fn stories(&self, filter: &StoryFilter) -> Result<Vec<StoryRecord>, StoreError> {
        let since = filter.since.map_or(i64::MIN, |t| t.as_second());
        let limit = filter.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        self.rt.block_on(async {
            let rows = self
                .client
                .query(
                    "SELECT i.id, i.title, i.link, i.state, i.published, i.first_seen FROM items i
                     WHERE CASE WHEN $5::BIGINT IS NOT NULL THEN i.id = $5 ELSE
                           i.first_seen >= $1
                           AND ($2 OR EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id))
                           AND ($3::TEXT IS NULL
                                OR EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id AND m.topic = $3)) END
                     ORDER BY i.first_seen DESC, i.id DESC
                     LIMIT $4",
                    &[&since, &filter.all, &filter.topic, &limit, &filter.id],
                )
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.get(0);
                let topics = self
                    .client
                    .query("SELECT topic FROM matches WHERE item_id = $1 ORDER BY seq", &[&id])
                    .await?
                    .iter()
                    .map(|t| t.get(0))
                    .collect();
                let sent_at = self
                    .client
                    .query_one(
                        "SELECT MIN(o.sent_at) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id
                         WHERE d.item_id = $1 AND o.state = 'sent'",
                        &[&id],
                    )
                    .await?
                    .get::<_, Option<i64>>(0)
                    .map(ts);
                let mut state: String = r.get(3);
                // `sent` in the table means "composed": until a message carrying it is accepted,
                // the story is pending in the outbox.
                if state == "sent" && sent_at.is_none() {
                    state = "pending".to_string();
                }
                let entries = self
                    .client
                    .query(
                        "SELECT src.name, e.title, e.link, e.guid, e.published, e.first_seen, e.id = i.lead IS TRUE,
                                e.id, j.rule, j.to_entry, j.score, j.next, j.shared, j.pair, j.weighed
                         FROM entries e JOIN sources src ON src.id = e.source_id JOIN items i ON i.id = e.item_id
                         LEFT JOIN joins j ON j.entry = e.id
                         WHERE e.item_id = $1 ORDER BY e.id IS DISTINCT FROM i.lead, e.first_seen, e.id",
                        &[&id],
                    )
                    .await?
                    .iter()
                    .map(|e| EntryRecord {
                        source: e.get(0),
                        title: e.get(1),
                        link: e.get(2),
                        guid: e.get(3),
                        published: e.get::<_, Option<i64>>(4).map(ts),
                        first_seen: ts(e.get(5)),
                        lead: e.get(6),
                        id: e.get(7),
                        joined: joined(
                            e.get::<_, Option<&str>>(8),
                            e.get(9),
                            [e.get(10), e.get(11), e.get(13)],
                            e.get::<_, Option<i32>>(14).and_then(|w| u32::try_from(w).ok()),
                            e.get(12),
                        ),
                    })
                    .collect();
                out.push(StoryRecord {
                    id,
                    title: r.get(1),
                    link: r.get(2),
                    state,
                    topics,
                    published: r.get::<_, Option<i64>>(4).map(ts),
                    first_seen: ts(r.get(5)),
                    sent_at,
                    entries,
                });
            }
            Ok(out)
        })
    }
}
