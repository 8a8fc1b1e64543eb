//! What makes a poll's transaction on PostgreSQL cost a few round trips, not a few per entry
//! (on SQLite a statement is a function call; here each is a trip to the server and back):
//!
//! - the GUIDs and link keys a poll will ask about are read in one go at its start
//!   ([`Ingest::expect`]): `seen` is then answered from memory, and `candidates` asks the server
//!   only for a link some stored entry has;
//! - ids for new stories and entries are drawn from their sequences in blocks, so that writing
//!   a story needs no answer;
//! - writes whose answer the poll does not need wait here and go to the server together, a
//!   statement per kind over arrays (`held.rs`, pipelined), before the next read and before
//!   the commit.
//!
//! What the server would answer is what memory answers: the sets grow with every entry this
//! transaction writes, and anything not known for sure is asked.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};

use super::held::Held;
use super::items::Ingest;
use crate::store::StoreError;

/// What a poll's transaction holds back or knows ahead.
#[derive(Default)]
pub(super) struct Pipeline {
    writes: RefCell<Held>,
    /// Ids drawn for stories and entries not written yet.
    ids: RefCell<VecDeque<(i64, i64)>>,
    known: RefCell<Option<Known>>,
    /// Stories this transaction made: still 'stored' until it queues them.
    fresh: RefCell<HashSet<i64>>,
}

/// The answers read ahead ([`Ingest::expect`]), kept true as entries are written.
struct Known {
    /// The GUIDs and link keys the poll said it would ask about: others are asked.
    asked: (HashSet<String>, HashSet<String>),
    /// This source's GUIDs stored, of those the poll brought.
    seen: HashSet<String>,
    /// Link keys some stored entry has, of those the poll brought.
    keys: HashSet<String>,
    /// Entries the poll may still write, for drawing ids in one go.
    left: usize,
}

impl Ingest<'_> {
    /// Reads ahead which of `guids` this source has stored and which of `keys` any entry
    /// has (two statements, one round trip). Each value is looked up in its index: a prepared
    /// statement's generic plan for `= ANY($1)` read the whole table (21 ms a poll at 25,000
    /// entries, measured).
    pub fn expect(&self, guids: &[&str], keys: &[&str]) -> Result<(), StoreError> {
        self.flush()?;
        let seen = self.prepared(
            "SELECT g FROM unnest($2::text[]) AS g
             WHERE EXISTS (SELECT 1 FROM entries WHERE source_id = $1 AND guid = g)",
        )?;
        let linked = self.prepared(
            "SELECT k FROM unnest($1::text[]) AS k WHERE EXISTS (SELECT 1 FROM entries WHERE link_key = k)",
        )?;
        let (seen, linked) = self.rt.block_on(futures_util::future::try_join(
            self.tx.query(&seen, &[&self.source_id, &guids]),
            self.tx.query(&linked, &[&keys]),
        ))?;
        let seen: HashSet<String> = seen.iter().map(|r| r.get(0)).collect();
        *self.pipe.known.borrow_mut() = Some(Known {
            asked: (
                guids.iter().map(|g| g.to_string()).collect(),
                keys.iter().map(|k| k.to_string()).collect(),
            ),
            left: guids.len().saturating_sub(seen.len()),
            seen,
            keys: linked.iter().map(|r| r.get(0)).collect(),
        });
        Ok(())
    }

    /// Whether `guid` is stored for this source, if known without asking.
    pub(super) fn known_seen(&self, guid: &str) -> Option<bool> {
        let known = self.pipe.known.borrow();
        let known = known
            .as_ref()
            .filter(|k| k.asked.0.contains(guid) || k.seen.contains(guid))?;
        Some(known.seen.contains(guid))
    }

    /// Whether no stored entry has link key `key`, if known without asking.
    pub(super) fn known_unlinked(&self, key: &str) -> bool {
        self.pipe
            .known
            .borrow()
            .as_ref()
            .is_some_and(|k| k.asked.1.contains(key) && !k.keys.contains(key))
    }

    /// Notes an entry this transaction writes, so that later answers from memory count it.
    pub(super) fn note_written(&self, guid: &str, key: Option<&str>) {
        if let Some(known) = self.pipe.known.borrow_mut().as_mut() {
            known.seen.insert(guid.to_string());
            known.left = known.left.saturating_sub(1);
            if let Some(key) = key {
                known.keys.insert(key.to_string());
            }
        }
    }

    /// Ids for a new story and its entry (or an entry alone: the story's is then unused).
    pub(super) fn draw_ids(&self) -> Result<(i64, i64), StoreError> {
        if let Some(ids) = self.pipe.ids.borrow_mut().pop_front() {
            return Ok(ids);
        }
        let wanted = self.pipe.known.borrow().as_ref().map_or(1, |k| k.left).clamp(1, 1000);
        let draw = self.prepared(
            "SELECT nextval(pg_get_serial_sequence('items', 'id')), nextval(pg_get_serial_sequence('entries', 'id'))
             FROM generate_series(1, $1)",
        )?;
        let rows = self
            .rt
            .block_on(self.tx.query(&draw, &[&i32::try_from(wanted).unwrap_or(1000)]))?;
        let mut ids = self.pipe.ids.borrow_mut();
        ids.extend(rows.iter().map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1))));
        ids.pop_front()
            .ok_or_else(|| StoreError::Task("the database drew no ids".into()))
    }

    /// What is held back until the next read or the commit, to add to.
    pub(super) fn later(&self) -> std::cell::RefMut<'_, Held> {
        self.pipe.writes.borrow_mut()
    }

    pub(super) fn made_story(&self, item: i64) {
        self.pipe.fresh.borrow_mut().insert(item);
    }

    /// Whether this transaction made story `item` and has not queued it: a queueing of it
    /// changes one row for sure, and needs no answer.
    pub(super) fn take_fresh(&self, item: i64) -> bool {
        self.pipe.fresh.borrow_mut().remove(&item)
    }

    /// Sends the writes held back (`held.rs`); the first error fails the poll.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        let held = std::mem::take(&mut *self.pipe.writes.borrow_mut());
        if held.is_empty() {
            return Ok(());
        }
        held.send((&self.tx, self.rt), self.source_id, |sql| self.prepared(sql))
    }
}
