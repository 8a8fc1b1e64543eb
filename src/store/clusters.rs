//! What story clustering keeps: each entry's vector (in `entries`), the index of the window
//! (`cluster_keys`) and document frequencies (`cluster_terms`). Which entries are one story is
//! decided by `cluster` and the poll stage; this only looks up and records.

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::items::Ingest;
use super::window::PER_KEY;
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
        let n: u64 = super::state_value(&self.tx, ENTRIES_KEY)?
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
        // The written-out index and the keys still in memory (`window.rs`), merged: the
        // earliest entries of the range first, at most PER_KEY.
        // (The connection's plans ignore bound values, so a bound LIMIT costs no re-planning.)
        let mut postings = self.tx.prepare_cached(
            "SELECT at, entry FROM cluster_keys WHERE key = ?1 AND at BETWEEN ?2 AND ?3 ORDER BY at, entry LIMIT ?4",
        )?;
        let (from, to) = (from.as_second(), to.as_second());
        // entry → (band hits, term hits)
        let mut hits: HashMap<i64, (usize, usize)> = HashMap::new();
        let mut found = Vec::with_capacity(2 * PER_KEY);
        let keys = features
            .band_keys
            .iter()
            .map(|k| (k, true))
            .chain(features.term_keys.iter().map(|k| (k, false)));
        for (key, band) in keys {
            found.clear();
            let rows = postings.query_map(params![*key as i64, from, to, PER_KEY as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            for row in rows {
                found.push(row?);
            }
            found.extend(self.window.lookup(*key, from, to));
            found.sort_unstable();
            found.dedup();
            for &(_, entry) in found.iter().take(PER_KEY) {
                let h = hits.entry(entry).or_default();
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

    /// Counts the words of a stored entry with `features`, for the rarity of words (its index
    /// keys were stored with it: see `window.rs`).
    pub fn count_words(&self, features: &Features) -> Result<(), StoreError> {
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
    /// time: no new entry's window reaches them again. Returns how many went from the table.
    pub fn prune_cluster_index(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        let before = before.as_second();
        if self.pruned.is_some_and(|last| before < last.saturating_add(PRUNE_STEP)) {
            return Ok(0);
        }
        self.pruned = Some(before);
        self.window.prune(before);
        Ok(self
            .conn
            .execute("DELETE FROM cluster_keys WHERE at < ?1", params![before])?)
    }

    /// Writes the index's keys held in memory to the database (`window.rs`): when enough have
    /// gathered, and when the store closes. A failure costs nothing but time: they stay held,
    /// and every entry carries its keys for the next process to read back.
    pub fn write_out_index(&mut self) {
        // The write-out is a transaction of its own, after the batch's (whose entries it holds).
        if self.window.len() == 0 || self.flush().is_err() {
            return;
        }
        if let Err(e) = self.window.write_out(&mut self.conn) {
            tracing::warn!("cannot write the clustering index out to the database (will try again): {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Draft;
    use crate::model::Entry;
    use crate::store::FetchRecord;

    const BODY: &str = "one two three four five six seven eight nine ten eleven twelve";

    fn record() -> FetchRecord {
        FetchRecord {
            status: 200,
            next_poll: Timestamp::now(),
            ..FetchRecord::default()
        }
    }

    /// Stores an entry of `source` with `BODY` at time `at`, as a story of its own.
    fn file(store: &mut Store, source: &str, guid: &str, at: Timestamp) -> i64 {
        let entry = Entry {
            guid: guid.into(),
            link: None,
            title: "t".into(),
            body: BODY.into(),
            published: Some(at),
        };
        let mut id = 0;
        store
            .ingest(source, "u", &record(), Timestamp::now(), |tx| {
                let item = tx.add_story(&entry, None)?;
                id = tx.add_entry(item, &entry, None, at, &Draft::copies_only(BODY))?;
                Ok(Default::default())
            })
            .unwrap();
        id
    }

    /// The entries a copy of `BODY` from `source` would be compared with.
    fn near(store: &mut Store, source: &str) -> Vec<i64> {
        let now = Timestamp::now();
        let day = jiff::SignedDuration::from_hours(24);
        let mut found = Vec::new();
        store
            .ingest(source, "u", &record(), now, |tx| {
                let near = tx.neighbours(&Draft::copies_only(BODY), now - day, now + day)?;
                found = near.into_iter().map(|n| n.entry).collect();
                Ok(Default::default())
            })
            .unwrap();
        found.sort();
        found
    }

    fn rows(s: &Store) -> i64 {
        s.conn
            .query_row("SELECT COUNT(*) FROM cluster_keys", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn entries_are_found_held_in_memory_written_out_or_read_back_after_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let mut store = Store::open(&path).unwrap();
        let a = file(&mut store, "A", "a", Timestamp::now());
        assert_eq!(rows(&store), 0, "held in memory");
        assert_eq!(near(&mut store, "B"), vec![a]);
        assert_eq!(near(&mut store, "A"), Vec::<i64>::new(), "not a source's own entries");

        // Another process on the same database sees what this one stores, and the reverse.
        let mut other = Store::open(&path).unwrap();
        assert_eq!(near(&mut other, "B"), vec![a]);
        let b = file(&mut other, "B", "b", Timestamp::now());
        assert_eq!(near(&mut store, "C"), vec![a, b]);

        // Killed before writing out: the next process reads the keys back from the entries.
        std::mem::forget(other);
        std::mem::forget(store);
        let mut next = Store::open(&path).unwrap();
        assert_eq!(rows(&next), 0);
        assert_eq!(near(&mut next, "C"), vec![a, b]);

        // Written out (as when the store closes): found in the table, and only once.
        next.write_out_index();
        assert_eq!(rows(&next), 8);
        assert_eq!(next.window.len(), 0);
        assert_eq!(near(&mut next, "C"), vec![a, b]);
        drop(next);
        let mut last = Store::open(&path).unwrap();
        assert_eq!(near(&mut last, "C"), vec![a, b]);
        assert_eq!(last.window.len(), 0, "nothing read back twice");
    }

    #[test]
    fn old_index_rows_are_pruned_once_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("n.db")).unwrap();
        let now = Timestamp::now();
        file(&mut store, "A", "old", Timestamp::from_second(1_000).unwrap());
        file(&mut store, "A", "new", now);
        // One entry's keys written out, the other's still held: both pruned alike.
        let _ = near(&mut store, "B");
        store.write_out_index();
        file(&mut store, "A", "newer", now);
        let _ = near(&mut store, "B");
        assert_eq!(rows(&store), 8);
        assert_eq!(store.window.len(), 4);
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
        assert_eq!(store.window.len(), 0, "held keys pruned too");
    }
}
