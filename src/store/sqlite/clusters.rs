//! What the poll stage asks of the clustering window (`store/window.rs`, in memory), and the rows it is read from: an entry's
//! features weighed against the window's words, and the entries it may share an event with.
//! Which entries are one story is decided by `cluster` and the poll stage; this only looks up.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::items::Ingest;
use super::{Sqlite, StoreError};
use crate::cluster::{Features, Neighbour, Prepared};
use crate::store::window::{ReadMember, Stored};

impl Ingest<'_> {
    pub fn features(&self, prepared: Prepared) -> Result<Features, StoreError> {
        Ok(match prepared {
            Prepared::Ready(features) => features,
            Prepared::Weigh(draft) => self.window.index.weigh(draft),
        })
    }

    pub fn neighbours(&self, features: &Features, from: Timestamp, to: Timestamp) -> Vec<Neighbour<'_>> {
        self.window
            .index
            .neighbours(features, self.source_id, from.as_second(), to.as_second())
    }

    pub fn df(&self, term: crate::cluster::TermId) -> u32 {
        self.window.index.df(term)
    }

    pub fn counted(&self) -> u64 {
        self.window.index.counted()
    }
}

/// The window's entries as SQLite reads them, inside a poll's transaction.
pub(super) struct Rows<'a>(pub &'a Connection);

impl Stored for Rows<'_> {
    fn entries_after(&mut self, after: i64, each: &mut dyn FnMut(i64, i64, i64) -> bool) -> Result<(), StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT id, at, first_seen FROM entries WHERE id > ?1 ORDER BY id DESC")?;
        let mut rows = stmt.query(params![after])?;
        while let Some(row) = rows.next()? {
            if !each(row.get(0)?, row.get(1)?, row.get(2)?) {
                break;
            }
        }
        Ok(())
    }

    fn member(&mut self, entry: i64, read: &mut ReadMember<'_>) -> Result<(), StoreError> {
        self.0
            .prepare_cached("SELECT item_id, source_id, vector, keys FROM entries WHERE id = ?1")?
            .query_row(params![entry], |row| {
                read(
                    row.get(0)?,
                    row.get(1)?,
                    row.get_ref(2)?.as_blob_or_null()?,
                    row.get_ref(3)?.as_blob_or_null()?,
                );
                Ok(())
            })?;
        Ok(())
    }
}

impl Sqlite {
    pub fn prune_cluster_index(&mut self, before: Timestamp) -> bool {
        self.window.advance(before.as_second())
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
            next_poll: crate::clock::now(),
            ..FetchRecord::default()
        }
    }

    /// Stores an entry of `source` with `BODY` at time `at`, as a story of its own.
    fn file(store: &mut Sqlite, source: &str, guid: &str, at: Timestamp) -> i64 {
        let entry = Entry {
            guid: guid.into(),
            link: None,
            title: "t".into(),
            body: BODY.into(),
            published: Some(at),
        };
        let mut id = 0;
        store
            .ingest(source, "u", &record(), crate::clock::now(), |tx| {
                let item = tx.add_story(&entry, None)?;
                id = tx.add_entry(item, &entry, None, at, &Draft::copies_only(BODY))?;
                Ok(Default::default())
            })
            .unwrap();
        id
    }

    /// The entries a copy of `BODY` from `source` would be compared with.
    fn near(store: &mut Sqlite, source: &str) -> Vec<i64> {
        let now = crate::clock::now();
        let day = jiff::SignedDuration::from_hours(24);
        let mut found = Vec::new();
        store
            .ingest(source, "u", &record(), now, |tx| {
                let near = tx.neighbours(&Draft::copies_only(BODY), now - day, now + day);
                found = near.into_iter().map(|n| n.entry).collect();
                Ok(Default::default())
            })
            .unwrap();
        found.sort();
        found
    }

    #[test]
    fn entries_are_found_by_this_process_another_and_the_next_after_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let mut store = Sqlite::open(&path).unwrap();
        let a = file(&mut store, "A", "a", crate::clock::now());
        assert_eq!(near(&mut store, "B"), vec![a]);
        assert_eq!(near(&mut store, "A"), Vec::<i64>::new(), "not a source's own entries");

        // Another process on the same database sees what this one stores, and the reverse.
        let mut other = Sqlite::open(&path).unwrap();
        assert_eq!(near(&mut other, "B"), vec![a]);
        let b = file(&mut other, "B", "b", crate::clock::now());
        assert_eq!(near(&mut store, "C"), vec![a, b]);

        // Killed: the next process reads the window back from the entries.
        std::mem::forget(other);
        std::mem::forget(store);
        let mut next = Sqlite::open(&path).unwrap();
        assert_eq!(near(&mut next, "C"), vec![a, b]);
        assert_eq!(next.window.index.len(), 2, "each entry read once");
    }

    #[test]
    fn the_window_forgets_what_is_older_than_its_start_and_reads_back_only_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let mut store = Sqlite::open(&path).unwrap();
        let now = crate::clock::now();
        file(&mut store, "A", "old", Timestamp::from_second(1_000).unwrap());
        file(&mut store, "A", "new", now);
        let _ = near(&mut store, "B");
        assert_eq!(store.window.index.len(), 2);
        assert!(store.prune_cluster_index(Timestamp::from_second(2_000 + 86_400).unwrap()));
        assert_eq!(store.window.index.len(), 1, "the old entry goes");
        assert!(
            !store.prune_cluster_index(Timestamp::from_second(2_000 + 86_400 + 3_600).unwrap()),
            "not again within the day"
        );
        // A process that starts now holds the same window.
        drop(store);
        let mut next = Sqlite::open(&path).unwrap();
        next.prune_cluster_index(Timestamp::from_second(2_000 + 86_400).unwrap());
        let _ = near(&mut next, "B");
        assert_eq!(next.window.index.len(), 1);
    }
}
