//! The clustering window in memory: every entry of the window with its features, the index
//! that finds the ones a new entry may share an event with, and how many of them have each
//! word (for TF-IDF).
//!
//! Why in memory: an entry is compared only with entries of the window, so what clustering
//! needs is bounded by the window, however large the archive grows. Kept as SQLite rows, every
//! entry wrote a row per word and per key (scattered by hash over the tables' pages) and read
//! one per word back: five times the CPU of a poll that looked for copies only. The store
//! rebuilds this from the entries' stored features when it starts (`store/window.rs`).
//!
//! Pure: no I/O; the store decides what goes in and when old entries go.

use rustc_hash::FxHashMap as HashMap;

use super::{Draft, Features, Neighbour, Part, TermId};

/// A key filed under more entries than this in the range of a new entry finds none of them: a
/// word in that many entries of the window tells little about an event.
pub const PER_KEY: usize = 64;
/// At most this many entries are found for a new one through the index, those sharing most
/// keys first.
pub const MAX_NEIGHBOURS: usize = 16;
/// At most this many entries of a story found are weighed with it, the newest first.
pub const STORY_ENTRIES: usize = 16;

/// An entry of the window.
#[derive(Debug, Clone)]
pub struct Member {
    pub story: i64,
    /// Its source (the store's id): a source's own entries are not compared.
    pub source: i64,
    /// Its time in the window (Unix seconds).
    pub at: i64,
    /// What it is compared by (its index keys are in the index, not here).
    pub features: Features,
}

#[derive(Debug, Default)]
pub struct Index {
    members: HashMap<i64, Member>,
    /// story → its entries in the window, oldest first.
    stories: HashMap<i64, Entries>,
    /// key → the entries filed under it, sorted by time.
    postings: Postings,
    /// word → entries of the window with it (words of entries weighed by TF-IDF only).
    df: HashMap<TermId, u32>,
    /// Entries counted in `df`.
    counted: u64,
}

impl Index {
    /// How many entries of the window have the word `term`.
    pub fn df(&self, term: TermId) -> u32 {
        self.df.get(&term).copied().unwrap_or(0)
    }

    /// How many entries of the window have their words counted (those weighed by TF-IDF).
    pub fn counted(&self) -> u64 {
        self.counted
    }

    /// `draft` weighed against the window's words.
    pub fn weigh(&self, draft: Draft) -> Features {
        draft.weigh(self.counted, |t| u64::from(self.df(t)))
    }

    pub fn member(&self, entry: i64) -> Option<&Member> {
        self.members.get(&entry)
    }

    pub fn contains(&self, entry: i64) -> bool {
        self.members.contains_key(&entry)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds `entry` (once: a second time changes nothing).
    pub fn insert(&mut self, entry: i64, mut member: Member) {
        if self.members.contains_key(&entry) {
            return;
        }
        // Past four billion entries, an entry is compared only once it is found another way.
        if let Ok(posting) = Posting::of(member.at, entry) {
            for key in member.features.keys() {
                self.postings.insert(key, posting);
            }
        }
        if member.features.count(Part::All) > 0 {
            self.counted += 1;
            for s in member.features.slots.iter().filter(|s| s.all > 0) {
                *self.df.entry(s.term).or_default() += 1;
            }
        }
        // The keys are in `postings`; held twice they would only take room.
        member.features.forget_keys();
        self.stories
            .entry(member.story)
            .and_modify(|list| list.insert(entry))
            .or_insert(Entries::One(entry));
        self.members.insert(entry, member);
    }

    /// Forgets the entries older than `before`.
    pub fn prune(&mut self, before: i64) {
        let (members, df) = (&mut self.members, &mut self.df);
        let mut counted = self.counted;
        members.retain(|_, m| {
            if m.at >= before {
                return true;
            }
            if m.features.count(Part::All) > 0 {
                counted -= 1;
                for s in m.features.slots.iter().filter(|s| s.all > 0) {
                    if let Some(n) = df.get_mut(&s.term) {
                        *n -= 1;
                    }
                }
            }
            false
        });
        self.counted = counted;
        self.df.retain(|_, n| *n > 0);
        self.stories.retain(|_, list| list.retain(|e| members.contains_key(&e)));
        let before = Posting::minute(before);
        self.postings.keep_from(before);
        self.members.shrink_to_fit();
    }

    /// The entries of sources other than `source` from `from` to `to` that share enough index
    /// keys with `features` to be compared (`found`), those sharing most first, at most
    /// [`MAX_NEIGHBOURS`]; then the other entries of their stories in that range, at most
    /// [`STORY_ENTRIES`] a story. A source's own entries are left out: an outlet that writes
    /// about an event again (a live blog, a daily briefing) is telling something new.
    pub fn neighbours(&self, features: &Features, source: i64, from: i64, to: i64) -> Vec<Neighbour<'_>> {
        // entry → (band hits, term hits)
        let mut hits: HashMap<i64, (usize, usize)> = HashMap::with_capacity_and_hasher(256, Default::default());
        let keys = features
            .band_keys()
            .iter()
            .map(|k| (k, true))
            .chain(features.term_keys().iter().map(|k| (k, false)));
        let (first, last) = (Posting::minute(from), Posting::minute(to.saturating_add(59)));
        for (key, band) in keys {
            let list = self.postings.get(*key);
            // Most often the newest postings are in the range (entries come about in time
            // order): two looks at the list's end tell a common word, without a search.
            let n = list.len();
            if n > PER_KEY && list[n - 1].at <= last && list[n - 1 - PER_KEY].at >= first {
                continue;
            }
            let start = list.partition_point(|p| p.at < first);
            // A word in more entries of the range than that is too common to tell an event by.
            // One look past the first `PER_KEY` tells, where a second search of a common word's
            // long list would cost a cache miss a step.
            if list.get(start + PER_KEY).is_some_and(|p| p.at <= last) {
                continue;
            }
            let end = start + list[start..].iter().take(PER_KEY).take_while(|p| p.at <= last).count();
            for p in &list[start..end] {
                let h = hits.entry(i64::from(p.entry)).or_default();
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
        let found: Vec<i64> = found
            .into_iter()
            .filter(|(entry, _)| self.members.get(entry).is_some_and(|m| m.source != source))
            .map(|(entry, _)| entry)
            .take(MAX_NEIGHBOURS)
            .collect();
        // Then the other entries of their stories in the range: a story is weighed whole.
        let mut out: Vec<Neighbour> = found
            .iter()
            .map(|&entry| Neighbour {
                entry,
                member: &self.members[&entry],
                found: true,
            })
            .collect();
        let mut stories: Vec<i64> = out.iter().map(|n| n.member.story).collect();
        stories.sort_unstable();
        stories.dedup();
        for story in stories {
            let entries = self.stories.get(&story).map(Entries::as_slice).unwrap_or_default();
            let mut taken = out.iter().filter(|n| n.member.story == story).count();
            for &entry in entries.iter().rev() {
                if taken >= STORY_ENTRIES {
                    break;
                }
                let m = &self.members[&entry];
                if m.source == source || m.at < from || m.at > to || found.contains(&entry) {
                    continue;
                }
                out.push(Neighbour {
                    entry,
                    member: m,
                    found: false,
                });
                taken += 1;
            }
        }
        out
    }
}

/// A story's entries in the window, oldest first. Most stories have one: it is held without a
/// list (a list of one took a heap block of its own, for every story in the window).
#[derive(Debug)]
enum Entries {
    One(i64),
    Many(Vec<i64>),
}

impl Entries {
    fn as_slice(&self) -> &[i64] {
        match self {
            Entries::One(e) => std::slice::from_ref(e),
            Entries::Many(list) => list,
        }
    }

    /// Adds `entry` in its place (once).
    fn insert(&mut self, entry: i64) {
        match self {
            Entries::One(e) if *e == entry => {}
            Entries::One(e) => *self = Entries::Many(vec![entry.min(*e), entry.max(*e)]),
            Entries::Many(list) => {
                let i = list.partition_point(|e| *e < entry);
                if list.get(i) != Some(&entry) {
                    list.insert(i, entry);
                }
            }
        }
    }

    /// Keeps the entries `keep` says; whether any are left.
    fn retain(&mut self, keep: impl Fn(i64) -> bool) -> bool {
        match self {
            Entries::One(e) => keep(*e),
            Entries::Many(list) => {
                list.retain(|e| keep(*e));
                match list.as_slice() {
                    [] => false,
                    [only] => {
                        *self = Entries::One(*only);
                        true
                    }
                    _ => true,
                }
            }
        }
    }
}

/// An entry filed under a key: its time (minutes since 1970) and id, in eight bytes. The index
/// holds some twenty of these an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Posting {
    at: i32,
    entry: u32,
}

impl Posting {
    fn of(at: i64, entry: i64) -> Result<Posting, std::num::TryFromIntError> {
        Ok(Posting {
            at: Posting::minute(at),
            entry: u32::try_from(entry)?,
        })
    }

    /// The minute of `at` (Unix seconds), within the range of the index's times.
    fn minute(at: i64) -> i32 {
        at.div_euclid(60).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }
}

/// The entries filed under each key, sorted. Most keys (a rare word, a MinHash band) have one
/// entry: those are held in a table of their own, eight bytes a key beside it, and only keys
/// with more get a list. Lists grow one posting at a time, without room to spare: the window
/// holds hundreds of thousands of postings, and a doubled list is mostly room.
#[derive(Debug, Default)]
struct Postings {
    one: HashMap<u64, Posting>,
    many: HashMap<u64, Vec<Posting>>,
}

impl Postings {
    fn get(&self, key: u64) -> &[Posting] {
        match self.one.get(&key) {
            Some(p) => std::slice::from_ref(p),
            None => self.many.get(&key).map(Vec::as_slice).unwrap_or_default(),
        }
    }

    fn insert(&mut self, key: u64, p: Posting) {
        if let Some(list) = self.many.get_mut(&key) {
            // Mostly an append: entries come in id order, and mostly in time order.
            let i = list.partition_point(|x| *x <= p);
            if i == 0 || list[i - 1] != p {
                list.reserve_exact(1);
                list.insert(i, p);
            }
            return;
        }
        match self.one.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(p);
            }
            std::collections::hash_map::Entry::Occupied(o) if *o.get() == p => {}
            std::collections::hash_map::Entry::Occupied(o) => {
                let first = o.remove();
                let mut list = vec![first.min(p), first.max(p)];
                list.shrink_to_fit();
                self.many.insert(key, list);
            }
        }
    }

    /// Keeps the postings from minute `first` on.
    fn keep_from(&mut self, first: i32) {
        self.one.retain(|_, p| p.at >= first);
        self.many.retain(|_, list| {
            list.retain(|p| p.at >= first);
            list.shrink_to_fit();
            !list.is_empty()
        });
        self.one.shrink_to_fit();
        self.many.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_s_entries_stay_in_order_as_they_come_and_go() {
        let mut list = Entries::One(5);
        for e in [3, 9, 5, 7, 1] {
            list.insert(e);
        }
        assert_eq!(list.as_slice(), &[1, 3, 5, 7, 9]);
        assert!(list.retain(|e| e == 7 || e == 9));
        assert_eq!(list.as_slice(), &[7, 9]);
        assert!(list.retain(|e| e == 9));
        assert!(matches!(list, Entries::One(9)), "one entry is held without a list");
        list.insert(2);
        assert_eq!(list.as_slice(), &[2, 9]);
        assert!(!list.retain(|_| false));
    }
}
