//! What two entries have in common, as the figures a verdict on "same event" is made from.
//!
//! Why several figures and not one similarity: each tells "same event" from "same subject" in
//! its own way, and none is enough alone. Reports of one event share its names and numbers (who,
//! where, how many: an event signature), and words rare in the window; a headline is what an
//! editor chose to say of the event; a report days apart is more often a later event on the
//! same subject; two headlines alone share few words by chance. The verdict weighs them
//! (`judge.rs`).

use super::{Features, Part, Slot, TermId};

/// The figures of one pair of entries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pair {
    /// Cosine of their TF-IDF vectors (title and start of text), 0 to 1.
    pub all: f32,
    /// Cosine of their titles' TF-IDF vectors.
    pub title: f32,
    /// Cosine of their names', acronyms' and numbers' weights: the event signature.
    pub names: f32,
    /// Cosine of their bodies' plain word frequencies (0 unless both have a body).
    pub body: f32,
    /// How many words they share.
    pub shared: f32,
    /// How many of those are rare in the window (in at most [`RARE`] of its entries), in
    /// proportion to how well the window can tell: a window of fewer than [`KNOWN`] entries
    /// has seen too little to know which words are rare (in a new database every word is).
    pub rare: f32,
    /// Time between them, as a share of the window (0 to 1).
    pub apart: f32,
    /// Words of the shorter of the two (of its TF-IDF vector).
    pub words: f32,
    /// Whether both have a body of some length (else one is a headline alone).
    pub bodies: bool,
    /// Names in each one's title that the other does not mention at all, the fewer of the two:
    /// two headlines naming other people or places ("Sendor pledges aid", "Mones pledges aid")
    /// tell two events.
    pub strangers: f32,
}

/// A word in at most this many entries of the window is rare.
pub const RARE: u32 = 3;
/// A window of this many entries knows which words are rare.
pub const KNOWN: u64 = 50;

/// What the window says of a new entry's words, worked out once for all the pairs it is in:
/// which are rare, and where each of its words sits, so that an entry of the window is compared
/// by looking its words up rather than by merging two sorted lists (a merge branches on every
/// word, and mispredicts half of those branches).
#[derive(Debug, Clone)]
pub struct Weighing {
    /// For each of its slots, whether the word is rare in the window.
    rare: Vec<bool>,
    /// How much the window's rarity is worth (see [`Pair::rare`]): 0 to 1.
    known: f32,
    /// Open addressing over its words: a slot's index plus one, 0 where empty.
    table: Vec<u16>,
    /// The table's size in bits (a word's place: the top bits of its id times an odd number).
    bits: u32,
    /// The sum of its names' squared weights, and how many names its title has.
    names: u32,
    strangers: u32,
}

impl Weighing {
    /// For `new` in a window of `entries` counted, `df` of which have a word.
    pub fn of(new: &Features, df: impl Fn(TermId) -> u32, entries: u64) -> Weighing {
        // At most half full: a word not there (most of them) is told after one or two looks.
        let bits = (new.slots.len() * 2)
            .next_power_of_two()
            .clamp(16, 1 << 17)
            .trailing_zeros();
        let mut table = vec![0u16; 1 << bits];
        let mask = table.len() - 1;
        // Slots past u16 (no entry has that many words) are left out of the table, not lost:
        // they count as words the other entry does not share.
        for (i, s) in new.slots.iter().enumerate().take(usize::from(u16::MAX) - 1) {
            let mut at = place(s.term, bits);
            while table[at] != 0 {
                at = (at + 1) & mask;
            }
            table[at] = i as u16 + 1;
        }
        Weighing {
            rare: new.slots.iter().map(|s| s.all > 0 && df(s.term) <= RARE).collect(),
            known: (entries as f32 / KNOWN as f32).min(1.0),
            table,
            bits,
            names: new.slots.iter().map(name_weight).sum(),
            strangers: new.slots.iter().map(stranger).sum(),
        }
    }

    /// The index of the new entry's slot for `term`, if it has the word.
    fn find(&self, new: &[Slot], term: TermId) -> Option<usize> {
        let mask = self.table.len() - 1;
        let mut at = place(term, self.bits);
        loop {
            match self.table[at] {
                0 => return None,
                i if new[usize::from(i) - 1].term == term => return Some(usize::from(i) - 1),
                _ => at = (at + 1) & mask,
            }
        }
    }
}

/// Where `term` starts looking in a table of `bits` bits (Fibonacci hashing: ids are hashes
/// already, but their low bits alone would do for a table this small only by luck).
fn place(term: TermId, bits: u32) -> usize {
    (term.wrapping_mul(0x9E37_79B9) >> (32 - bits)) as usize
}

/// What a name adds to the norm of an entry's names.
fn name_weight(s: &Slot) -> u32 {
    if s.name { u32::from(s.all) * u32::from(s.all) } else { 0 }
}

/// Whether a word is a name in the title (a stranger to the other entry if it lacks the word).
fn stranger(s: &Slot) -> u32 {
    u32::from(s.name && s.title > 0)
}

impl Pair {
    /// The figures of `new` against `old`, `apart` a share of the window between them,
    /// `weighing` what the window says of `new` (made from the same `new`).
    ///
    /// Called for every entry a new one is weighed against, on the store's thread: one pass
    /// over `old`'s words, each looked up in `weighing`, nothing allocated.
    pub fn of(new: &Features, old: &Features, apart: f32, weighing: &Weighing) -> Pair {
        let a = &new.slots;
        debug_assert_eq!(weighing.rare.len(), a.len(), "a weighing of another entry");
        // Sums of products of the stored weights (scaled at the end), and the names' norms.
        let (mut all, mut title, mut body, mut names) = (0u32, 0u32, 0u32, 0u32);
        let (mut b_names, mut shared, mut rare) = (0u32, 0u32, 0u32);
        // Names in a title that the other entry has as a word: not strangers.
        let (mut a_known, mut b_strangers) = (0u32, 0u32);
        for y in &old.slots {
            b_names += name_weight(y);
            let Some(i) = weighing.find(a, y.term) else {
                b_strangers += stranger(y);
                continue;
            };
            let x = &a[i];
            let product = u32::from(x.all) * u32::from(y.all);
            all += product;
            if product > 0 {
                shared += 1;
                rare += u32::from(weighing.rare.get(i).copied().unwrap_or(false));
                if x.name && y.name {
                    names += product;
                }
            }
            a_known += stranger(x);
            title += u32::from(x.title) * u32::from(y.title);
            body += u32::from(x.body) * u32::from(y.body);
        }
        let a_names = weighing.names;
        let a_strangers = weighing.strangers - a_known;
        let scaled = |dot: u32, part: Part| {
            let p = part as usize;
            (dot as f32 * new.scale[p] * old.scale[p]).min(1.0)
        };
        let bodies = new.has_body() && old.has_body();
        Pair {
            all: scaled(all, Part::All),
            title: scaled(title, Part::Title),
            names: match a_names > 0 && b_names > 0 {
                true => (names as f32 / (a_names as f32 * b_names as f32).sqrt()).min(1.0),
                false => 0.0,
            },
            body: if bodies { scaled(body, Part::Body) } else { 0.0 },
            shared: shared as f32,
            rare: rare as f32 * weighing.known,
            apart: apart.clamp(0.0, 1.0),
            words: new.count(Part::All).min(old.count(Part::All)) as f32,
            bodies,
            strangers: a_strangers.min(b_strangers) as f32,
        }
    }
}

/// How alike two entries' bodies are (cosine of their plain word frequencies).
pub fn bodies_alike(a: &Features, b: &Features) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0u32);
    let (x, y) = (&a.slots, &b.slots);
    while i < x.len() && j < y.len() {
        match x[i].term.cmp(&y[j].term) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += u32::from(x[i].body) * u32::from(y[j].body);
                i += 1;
                j += 1;
            }
        }
    }
    let p = Part::Body as usize;
    (dot as f32 * a.scale[p] * b.scale[p]).min(1.0)
}
