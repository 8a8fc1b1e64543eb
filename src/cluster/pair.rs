//! What two entries have in common, as the figures a verdict on "same event" is made from.
//!
//! Why several figures and not one similarity: each tells "same event" from "same subject" in
//! its own way, and none is enough alone. Reports of one event share its names and numbers (who,
//! where, how many: an event signature), and words rare in the window; a headline is what an
//! editor chose to say of the event; a report days apart is more often a later event on the
//! same subject; two headlines alone share few words by chance. The verdict weighs them
//! (`judge.rs`).

use super::{Features, TermId};

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
}

/// A word in at most this many entries of the window is rare.
pub const RARE: u32 = 3;
/// A window of this many entries knows which words are rare.
pub const KNOWN: u64 = 50;

impl Pair {
    /// The figures of `new` against `old`, `apart` a share of the window between them, `df`
    /// the number of entries of the window with a word, `entries` the entries it counted.
    ///
    /// Called for every entry a new one is weighed against, on the store's thread: one pass
    /// over each pair of sorted vectors, nothing allocated.
    pub fn of(new: &Features, old: &Features, apart: f32, (df, entries): (impl Fn(TermId) -> u32, u64)) -> Pair {
        let has_body = |f: &Features| f.body.terms.len() >= super::MIN_BODY_WORDS;
        let bodies = has_body(new) && has_body(old);
        let mut all = Merged::default();
        // Names' weights: their dot product over the shared ones, their norms over each side.
        let (mut names_dot, mut new_names, mut old_names) = (0.0f32, 0.0f32, 0.0f32);
        let (a, b) = (&new.vector.terms, &old.vector.terms);
        let (mut na, mut nb) = (NameCursor::new(&new.names), NameCursor::new(&old.names));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let (ta, tb) = (a.get(i).map(|t| t.0), b.get(j).map(|t| t.0));
            match (ta, tb) {
                (Some(x), Some(y)) if x == y => {
                    let (wa, wb) = (a[i].1, b[j].1);
                    all.add(wa * wb);
                    if df(x) <= RARE {
                        all.rare += 1;
                    }
                    let (an, bn) = (na.is(x), nb.is(y));
                    new_names += if an { wa * wa } else { 0.0 };
                    old_names += if bn { wb * wb } else { 0.0 };
                    if an && bn {
                        names_dot += wa * wb;
                    }
                    i += 1;
                    j += 1;
                }
                (Some(x), y) if y.is_none_or(|y| x < y) => {
                    if na.is(x) {
                        new_names += a[i].1 * a[i].1;
                    }
                    i += 1;
                }
                (_, Some(y)) => {
                    if nb.is(y) {
                        old_names += b[j].1 * b[j].1;
                    }
                    j += 1;
                }
                _ => break,
            }
        }
        let names = match new_names > 0.0 && old_names > 0.0 {
            true => (names_dot / (new_names * old_names).sqrt()).min(1.0),
            false => 0.0,
        };
        Pair {
            all: all.dot.min(1.0),
            title: dot(&new.title.terms, &old.title.terms),
            names,
            body: if bodies {
                dot(&new.body.terms, &old.body.terms)
            } else {
                0.0
            },
            shared: all.shared as f32,
            rare: all.rare as f32 * (entries as f32 / KNOWN as f32).min(1.0),
            apart: apart.clamp(0.0, 1.0),
            words: a.len().min(b.len()) as f32,
            bodies,
        }
    }
}

/// What a merge of two vectors found.
#[derive(Default)]
struct Merged {
    dot: f32,
    shared: usize,
    rare: usize,
}

impl Merged {
    fn add(&mut self, product: f32) {
        self.dot += product;
        self.shared += 1;
    }
}

/// Walks a sorted list of names alongside a vector's sorted terms.
struct NameCursor<'a> {
    names: &'a [TermId],
    at: usize,
}

impl<'a> NameCursor<'a> {
    fn new(names: &'a [TermId]) -> Self {
        NameCursor { names, at: 0 }
    }

    /// Whether `term` is a name; terms must be asked in increasing order.
    fn is(&mut self, term: TermId) -> bool {
        while self.names.get(self.at).is_some_and(|n| *n < term) {
            self.at += 1;
        }
        self.names.get(self.at) == Some(&term)
    }
}

/// The dot product of two sorted (term, weight) lists: their cosine when both have length 1.
pub fn dot(a: &[(TermId, f32)], b: &[(TermId, f32)]) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum.min(1.0)
}
