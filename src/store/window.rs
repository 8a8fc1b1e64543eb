//! The clustering window held in memory (`cluster::Index`), and how it is kept equal to what
//! the database holds, whichever backend holds it (each reads its entries through [`Stored`]).
//!
//! What holds, with several processes on one database (the daemon and a `poll` run by hand)
//! and after a crash or a restart:
//! - every entry carries what clustering compares it by (`entries.vector`) and the keys it is
//!   found by (`entries.keys`), written with the entry's own row: nothing else is written per
//!   entry;
//! - the window is read from there: when a process first writes, and at the start of every
//!   poll's transaction (the entries other processes stored since it last looked; its own
//!   are held as its polls store them, the same features without reading them back), so a
//!   restarted process holds the same window, and judges the same, as one that ran on;
//! - the window's start moves a whole day at a time (`HORIZON_STEP`), the same for a process
//!   that ran on and one that just started, and entries older than it are not held;
//! - an entry is only held once its poll's writes are kept: committed, or released into a
//!   batch's transaction (`batch.rs`); a poll rolled back leaves nothing here, and a batch
//!   whose commit fails has the whole window dropped and read back from the database.

use super::StoreError;
use crate::cluster::{Index, Member};

/// Takes a stored entry's story, source, features and index keys.
pub(super) type ReadMember<'a> = dyn FnMut(i64, i64, Option<&[u8]>, Option<&[u8]>) + 'a;

/// What the window is read from: a backend's entries, inside the transaction of the poll that
/// reads them.
pub(super) trait Stored {
    /// The id, time in the window and storing time of each entry stored after entry `after`,
    /// newest first, handed to `each` until it returns `false`.
    fn entries_after(&mut self, after: i64, each: &mut dyn FnMut(i64, i64, i64) -> bool) -> Result<(), StoreError>;

    /// Entry `entry`'s story and source, and its stored features and index keys (`None` once
    /// pruned), handed to `read`.
    fn member(&mut self, entry: i64, read: &mut ReadMember<'_>) -> Result<(), StoreError>;
}

/// How far the window's start moves at a time: once a day, on a day boundary (UTC).
pub(super) const HORIZON_STEP: i64 = 86_400;

/// An entry is stored at or after its time in the window (a feed's future dates are dropped),
/// and the clocks of two processes may differ a little: the first read goes back this much
/// further by storing time.
const CLOCK_SLACK: i64 = 86_400;

#[derive(Debug, Default)]
pub(super) struct Window {
    pub index: Index,
    /// The newest entry read in; none before the first read.
    seen: Option<i64>,
    /// The window's start (Unix seconds): older entries are not held. None until the poll
    /// stage first says.
    horizon: Option<i64>,
}

impl Window {
    /// Moves the window's start to the day boundary at or before `before`, forgetting older
    /// entries. Returns whether it moved.
    pub fn advance(&mut self, before: i64) -> bool {
        let start = before.div_euclid(HORIZON_STEP) * HORIZON_STEP;
        if self.horizon.is_some_and(|h| h >= start) {
            return false;
        }
        self.horizon = Some(start);
        self.index.prune(start);
        true
    }

    /// Forgets what was read (it is read again at the next catch-up), keeping the start.
    pub fn forget(&mut self) {
        *self = Window {
            horizon: self.horizon,
            ..Window::default()
        };
    }

    /// Holds an entry this process has just stored (its poll's writes kept), as a catch-up
    /// would read it back: without reading back what was just written.
    pub fn hold(&mut self, entry: i64, member: Member) {
        if self.horizon.is_none_or(|h| member.at >= h) {
            self.index.insert(entry, member);
        }
    }

    /// Reads in every entry stored since the last read (by any process) within the window.
    pub fn catch_up(&mut self, stored: &mut dyn Stored) -> Result<(), StoreError> {
        let horizon = self.horizon.unwrap_or(i64::MIN);
        // Newest first: the first read stops at entries stored before the window began, without
        // reading the archive. Only the ids first: most are this process's own, held already.
        let mut wanted = Vec::new();
        let mut newest = self.seen;
        stored.entries_after(self.seen.unwrap_or(0), &mut |entry, at, first_seen| {
            newest = newest.max(Some(entry));
            if first_seen < horizon.saturating_sub(CLOCK_SLACK) {
                return false;
            }
            if at >= horizon && !self.index.contains(entry) {
                wanted.push((entry, at));
            }
            true
        })?;
        for (entry, at) in wanted.into_iter().rev() {
            let mut member = None;
            stored.member(entry, &mut |story, source, vector, keys| {
                let mut features = vector.map(crate::cluster::from_stored).unwrap_or_default();
                if let Some(bytes) = keys {
                    // Which keys are which does not matter to the index: each is looked up alike.
                    features.set_keys(&[], &decode(bytes).collect::<Vec<u64>>());
                }
                member = Some(Member {
                    story,
                    source,
                    at,
                    features,
                });
            })?;
            if let Some(member) = member {
                self.index.insert(entry, member);
            }
        }
        self.seen = newest;
        Ok(())
    }
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
    fn keys_read_back_as_written() {
        let keys = [0, 1, u64::MAX, 0xE732_3BFF_464C_AC81];
        assert_eq!(decode(&encode(keys.into_iter())).collect::<Vec<_>>(), keys);
    }

    #[test]
    fn the_start_moves_a_whole_day_at_a_time() {
        let mut w = Window::default();
        assert!(w.advance(3 * HORIZON_STEP + 5));
        assert!(!w.advance(3 * HORIZON_STEP + 80_000), "the same day");
        assert!(w.advance(4 * HORIZON_STEP + 1));
        assert_eq!(w.horizon, Some(4 * HORIZON_STEP));
    }
}
