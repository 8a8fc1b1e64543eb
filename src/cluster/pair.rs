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

/// What the window says of a new entry's words, worked out once for all the pairs it is in.
#[derive(Debug, Clone)]
pub struct Weighing {
    /// For each of its slots, whether the word is rare in the window.
    rare: Vec<bool>,
    /// How much the window's rarity is worth (see [`Pair::rare`]): 0 to 1.
    known: f32,
}

impl Weighing {
    /// For `new` in a window of `entries` counted, `df` of which have a word.
    pub fn of(new: &Features, df: impl Fn(TermId) -> u32, entries: u64) -> Weighing {
        Weighing {
            rare: new.slots.iter().map(|s| s.all > 0 && df(s.term) <= RARE).collect(),
            known: (entries as f32 / KNOWN as f32).min(1.0),
        }
    }
}

impl Pair {
    /// The figures of `new` against `old`, `apart` a share of the window between them,
    /// `weighing` what the window says of `new`'s words.
    ///
    /// Called for every entry a new one is weighed against, on the store's thread: one pass
    /// over the two entries' sorted words, nothing allocated.
    pub fn of(new: &Features, old: &Features, apart: f32, weighing: &Weighing) -> Pair {
        let (a, b) = (&new.slots, &old.slots);
        // Sums of products of the stored weights (scaled at the end), and the names' norms.
        let (mut all, mut title, mut body, mut names) = (0u32, 0u32, 0u32, 0u32);
        let (mut a_names, mut b_names) = (0u32, 0u32);
        let (mut shared, mut rare) = (0u32, 0u32);
        let name_weight = |s: &Slot| if s.name { u32::from(s.all) * u32::from(s.all) } else { 0 };
        let stranger = |s: &Slot| u32::from(s.name && s.title > 0);
        let (mut a_strangers, mut b_strangers) = (0u32, 0u32);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (x, y) = (&a[i], &b[j]);
            match x.term.cmp(&y.term) {
                std::cmp::Ordering::Less => {
                    a_names += name_weight(x);
                    a_strangers += stranger(x);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    b_names += name_weight(y);
                    b_strangers += stranger(y);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let product = u32::from(x.all) * u32::from(y.all);
                    all += product;
                    if product > 0 {
                        shared += 1;
                        rare += u32::from(weighing.rare.get(i).copied().unwrap_or(false));
                        if x.name && y.name {
                            names += product;
                        }
                    }
                    a_names += name_weight(x);
                    b_names += name_weight(y);
                    title += u32::from(x.title) * u32::from(y.title);
                    body += u32::from(x.body) * u32::from(y.body);
                    i += 1;
                    j += 1;
                }
            }
        }
        a_names += a[i..].iter().map(name_weight).sum::<u32>();
        b_names += b[j..].iter().map(name_weight).sum::<u32>();
        a_strangers += a[i..].iter().map(stranger).sum::<u32>();
        b_strangers += b[j..].iter().map(stranger).sum::<u32>();
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
