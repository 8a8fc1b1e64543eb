//! What story clustering keeps: each entry's vector (in `entries`), the index of the window
//! (`cluster_keys`) and document frequencies (`cluster_terms`). Which entries are one story is
//! decided by `cluster` and the poll stage; this only looks up and records.

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::items::Ingest;
use super::{Store, StoreError};
use crate::cluster::{Features, Neighbour, Prepared};

/// The `state` key counting the entries whose words are in `cluster_terms`.
const ENTRIES_KEY: &str = "cluster_entries";
/// At most this many entries are compared with a new one, those sharing most keys first.
const MAX_NEIGHBOURS: usize = 32;

impl Ingest<'_> {
    /// The features of an entry whose words were `prepared`, weighed against the archive as
    /// it is when rewrites are looked for (copies need no look-up).
    pub fn features(&self, prepared: Prepared) -> Result<Features, StoreError> {
        let draft = match prepared {
            Prepared::Ready(features) => return Ok(features),
            Prepared::Weigh(draft) => draft,
        };
        let n: u64 = self
            .tx
            .prepare_cached("SELECT value FROM state WHERE key = ?1")?
            .query_row(params![ENTRIES_KEY], |r| r.get::<_, String>(0))
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut stmt = self
            .tx
            .prepare_cached("SELECT entries FROM cluster_terms WHERE term = ?1")?;
        let mut df = HashMap::new();
        for t in draft.terms() {
            let count: Option<i64> = stmt.query_row(params![t as i64], |r| r.get(0)).optional()?;
            df.insert(t, count.unwrap_or(0) as u64);
        }
        Ok(draft.weigh(n, |t| df.get(&t).copied().unwrap_or(0)))
    }

    /// The entries of other sources from `from` to `to` that share enough index keys with
    /// `features` to be compared, with their stories. A source's own entries are left out: an
    /// outlet that writes about an event again (a live blog, a daily briefing) is telling
    /// something new.
    pub fn neighbours(
        &self,
        features: &Features,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Neighbour>, StoreError> {
        // At most 64 index rows per key: a word in more entries of the window than that tells
        // little about an event. The limit is written into the SQL, not bound: SQLite marks a
        // bound LIMIT for re-planning whenever the bindings are cleared, which rusqlite does
        // each time the statement goes back to its cache, so every look-up compiled it again.
        let mut postings = self
            .tx
            .prepare_cached("SELECT entry FROM cluster_keys WHERE key = ?1 AND at BETWEEN ?2 AND ?3 LIMIT 64")?;
        // entry → (band hits, term hits)
        let mut hits: HashMap<i64, (usize, usize)> = HashMap::new();
        let keys = features
            .band_keys
            .iter()
            .map(|k| (k, true))
            .chain(features.term_keys.iter().map(|k| (k, false)));
        for (key, band) in keys {
            let rows = postings.query_map(params![*key as i64, from.as_second(), to.as_second()], |r| {
                r.get::<_, i64>(0)
            })?;
            for entry in rows {
                let h = hits.entry(entry?).or_default();
                if band {
                    h.0 += 1;
                } else {
                    h.1 += 1;
                }
            }
        }
        let mut found: Vec<(i64, (usize, usize))> = hits
            .into_iter()
            .filter(|(_, (b, t))| Features::worth_comparing(*b, *t))
            .collect();
        found.sort_unstable_by(|a, b| (b.1.0 + b.1.1).cmp(&(a.1.0 + a.1.1)).then(b.0.cmp(&a.0)));
        let mut load = self.tx.prepare_cached(
            "SELECT item_id, vector, at FROM entries WHERE id = ?1 AND source_id != ?2 AND vector IS NOT NULL",
        )?;
        let mut out = Vec::with_capacity(MAX_NEIGHBOURS);
        // The source's own entries are skipped as they are loaded, so that a busy feed's own
        // entries do not take the places of other outlets'; a bounded number of tries.
        for (entry, _) in found.into_iter().take(MAX_NEIGHBOURS * 4) {
            if out.len() == MAX_NEIGHBOURS {
                break;
            }
            let row = load
                .query_row(params![entry, self.source_id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?))
                })
                .optional()?;
            if let Some((story, bytes, at)) = row {
                let (vector, body) = crate::cluster::from_stored(&bytes);
                out.push(Neighbour {
                    story,
                    entry,
                    at,
                    vector,
                    body,
                });
            }
        }
        Ok(out)
    }

    /// Files entry `entry` (at time `at`) in the index and counts its words.
    pub fn index(&self, entry: i64, features: &Features, at: Timestamp) -> Result<(), StoreError> {
        let mut key = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO cluster_keys (key, at, entry) VALUES (?1, ?2, ?3)")?;
        for k in features.term_keys.iter().chain(&features.band_keys) {
            key.execute(params![*k as i64, at.as_second(), entry])?;
        }
        if features.vector.terms.is_empty() {
            return Ok(());
        }
        let mut term = self.tx.prepare_cached(
            "INSERT INTO cluster_terms (term, entries) VALUES (?1, 1)
             ON CONFLICT (term) DO UPDATE SET entries = entries + 1",
        )?;
        for (t, _) in &features.vector.terms {
            term.execute(params![*t as i64])?;
        }
        self.tx
            .prepare_cached(
                "INSERT INTO state (key, value) VALUES (?1, '1')
                 ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            )?
            .execute(params![ENTRIES_KEY])?;
        Ok(())
    }
}

/// How far the horizon moves between two prunes: the delete reads the whole (window-sized)
/// table, so it runs about once a day, not at every poll.
const PRUNE_STEP: i64 = 86_400;

impl Store {
    /// Drops index rows of entries older than `before` once it has moved a day since the last
    /// time: no new entry's window reaches them again. Returns how many went.
    pub fn prune_cluster_index(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        let before = before.as_second();
        if self.pruned.is_some_and(|last| before < last.saturating_add(PRUNE_STEP)) {
            return Ok(0);
        }
        self.pruned = Some(before);
        Ok(self
            .conn
            .execute("DELETE FROM cluster_keys WHERE at < ?1", params![before])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Draft;
    use crate::store::FetchRecord;

    #[test]
    fn old_index_rows_are_pruned_once_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("n.db")).unwrap();
        let now = Timestamp::now();
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let body = "one two three four five six seven eight nine ten eleven twelve";
        store
            .ingest("A", "u", &record, now, |tx| {
                let f = Draft::copies_only(body);
                tx.index(1, &f, Timestamp::from_second(1_000).unwrap())?;
                tx.index(2, &f, now)?;
                Ok(Default::default())
            })
            .unwrap();
        let rows = |s: &Store| -> i64 {
            s.conn
                .query_row("SELECT COUNT(*) FROM cluster_keys", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(rows(&store), 8);
        assert_eq!(
            store
                .prune_cluster_index(Timestamp::from_second(2_000).unwrap())
                .unwrap(),
            4
        );
        assert_eq!(rows(&store), 4, "the recent entry's rows stay");
        let within_a_day = Timestamp::from_second(2_000 + 86_000).unwrap();
        assert_eq!(
            store.prune_cluster_index(within_a_day).unwrap(),
            0,
            "not again within a day"
        );
        assert_eq!(rows(&store), 4);
        assert_eq!(
            store
                .prune_cluster_index(now + jiff::SignedDuration::from_hours(1))
                .unwrap(),
            4,
            "a day later"
        );
    }
}
