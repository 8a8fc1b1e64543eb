//! The clustering index's newest part, in memory: the keys of entries not yet written to
//! `cluster_keys`.
//!
//! Why: filing an entry's keys in `cluster_keys` as it is stored put each key on a random page
//! of the table (the keys are hashes), so every poll's commit wrote a few hundred pages again:
//! a first poll of 25,000 entries wrote six times the database's size into the WAL. Written
//! out sorted, in batches of tens of thousands, each page is written once per batch.
//!
//! What holds, with several processes on one database (the daemon and a `poll` run by hand)
//! and after a crash:
//! - every entry up to the `state` key `cluster_keys_upto` has its keys in `cluster_keys`;
//! - every entry carries its keys in `entries.keys`, so what is newer than that mark is read
//!   back from there: when a process first writes, and at the start of every poll's
//!   transaction (the entries this process and any other stored since it last looked);
//! - an entry is only read in once its poll's writes are kept: committed, or released into a
//!   batch's transaction (`batch.rs`); a poll rolled back leaves nothing here, and a batch
//!   whose commit fails has the whole window dropped and read back from the database.

use std::collections::HashMap;

use rusqlite::{Connection, TransactionBehavior, params};

/// The `state` key: the newest entry whose keys are all in `cluster_keys`.
const UPTO_KEY: &str = "cluster_keys_upto";

/// Keys held before they are written out: about 6,000 entries (4 keys each when only copies
/// are looked for, up to 24 with rewrites), 2–3 MB. Larger batches write each page of the
/// table less often but hold more memory between them; a first poll of 25,000 entries is
/// as fast with 25,000 as with 100,000 (benches/poll.sh), and the daemon's memory reaches its
/// level within a few rounds of polls (benches/memory.sh).
pub(super) const WRITE_AT: usize = 25_000;

/// At most this many entries are taken per key, the earliest in the range first: a word in
/// more entries of the window than that tells little about an event.
pub(super) const PER_KEY: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Window {
    /// key → (time, entry), sorted.
    postings: HashMap<u64, Vec<(i64, i64)>>,
    len: usize,
    /// The newest entry read in; none before the first read.
    seen: Option<i64>,
}

impl Window {
    /// Reads in the keys of every entry stored since the last read (by any process).
    pub fn catch_up(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let seen = match self.seen {
            Some(seen) => seen,
            None => upto(conn)?,
        };
        let mut stmt = conn.prepare_cached("SELECT id, at, keys FROM entries WHERE id > ?1 ORDER BY id")?;
        let mut rows = stmt.query(params![seen])?;
        let mut last = seen;
        while let Some(row) = rows.next()? {
            let (entry, at): (i64, i64) = (row.get(0)?, row.get(1)?);
            last = entry;
            if let Some(bytes) = row.get_ref(2)?.as_blob_or_null()? {
                for key in decode(bytes) {
                    self.add(key, at, entry);
                }
            }
        }
        self.seen = Some(last);
        Ok(())
    }

    fn add(&mut self, key: u64, at: i64, entry: i64) {
        // Most keys (MinHash bands) belong to one entry: no room for more until needed.
        let list = self.postings.entry(key).or_insert_with(|| Vec::with_capacity(1));
        // Mostly an append: entries come in id order, and mostly in time order.
        let i = list.partition_point(|p| *p <= (at, entry));
        if i > 0 && list[i - 1] == (at, entry) {
            return;
        }
        list.insert(i, (at, entry));
        self.len += 1;
    }

    /// The entries filed under `key` with a time from `from` to `to`, earliest first, at most
    /// [`PER_KEY`].
    pub fn lookup(&self, key: u64, from: i64, to: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let list = self.postings.get(&key).map(Vec::as_slice).unwrap_or_default();
        let start = list.partition_point(|p| p.0 < from);
        list[start..]
            .iter()
            .take_while(move |p| p.0 <= to)
            .take(PER_KEY)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Writes the keys held here to `cluster_keys`, sorted, in one transaction, and moves the
    /// mark. On an error nothing is forgotten.
    pub fn write_out(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        self.catch_up(&tx)?;
        let mut rows: Vec<(i64, i64, i64)> = self
            .postings
            .iter()
            .flat_map(|(key, list)| list.iter().map(|&(at, entry)| (*key as i64, at, entry)))
            .collect();
        // In the table's order, so that each page is visited once.
        rows.sort_unstable();
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO cluster_keys (key, at, entry) VALUES (?1, ?2, ?3)")?;
            for row in &rows {
                insert.execute(params![row.0, row.1, row.2])?;
            }
        }
        // Another process may have moved the mark further already.
        tx.execute(
            "INSERT INTO state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            params![UPTO_KEY, self.seen.unwrap_or(0).to_string()],
        )?;
        tx.commit()?;
        self.postings.clear();
        self.len = 0;
        Ok(())
    }

    /// Forgets the keys of entries older than `before`.
    pub fn prune(&mut self, before: i64) {
        let mut len = 0;
        self.postings.retain(|_, list| {
            list.retain(|p| p.0 >= before);
            len += list.len();
            !list.is_empty()
        });
        self.len = len;
    }
}

fn upto(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(super::state_value(conn, UPTO_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// An entry's keys as stored in `entries.keys`.
pub(super) fn encode(keys: impl Iterator<Item = u64>) -> Vec<u8> {
    keys.flat_map(u64::to_le_bytes).collect()
}

fn decode(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gives_its_earliest_entries_in_the_range_each_once() {
        let mut w = Window::default();
        for (at, entry) in [(30, 3), (10, 1), (20, 2), (20, 2), (50, 5)] {
            w.add(7, at, entry);
        }
        assert_eq!(w.len(), 4, "the same entry twice is filed once");
        assert_eq!(w.lookup(7, 15, 40).collect::<Vec<_>>(), vec![(20, 2), (30, 3)]);
        assert_eq!(w.lookup(8, 0, 100).count(), 0);
        for e in 100..200 {
            w.add(9, e, e);
        }
        let first: Vec<_> = w.lookup(9, 0, i64::MAX).collect();
        assert_eq!(first.len(), PER_KEY);
        assert_eq!(first[0], (100, 100));
        w.prune(150);
        assert_eq!(w.lookup(9, 0, i64::MAX).next(), Some((150, 150)));
        assert_eq!(w.len(), 50, "key 7's entries are all older");
        assert_eq!(w.lookup(7, 0, i64::MAX).count(), 0);
    }

    #[test]
    fn keys_read_back_as_written() {
        let keys = [0, 1, u64::MAX, 0xE732_3BFF_464C_AC81];
        assert_eq!(decode(&encode(keys.into_iter())).collect::<Vec<_>>(), keys);
    }
}
