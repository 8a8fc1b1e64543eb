//! What two entries have in common, as the figures a verdict on "same event" is made from.
//!
//! Why several figures and not one similarity: each tells "same event" from "same subject" in
//! its own way, and none is enough alone. Reports of one event share its names and numbers (who,
//! where, how many: an event signature), and words rare in the window; a headline is what an
//! editor chose to say of the event; a report days apart is more often a later event on the
//! same subject; two headlines alone share few words by chance. The verdict weighs them
//! (`judge.rs`).

use super::{Features, Similarity, Vector, similarity};

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
    /// Also the pair's similarity, for explaining a join.
    pub fn of(
        new: &Features,
        old: &Features,
        apart: f32,
        (df, entries): (impl Fn(u64) -> u32, u64),
    ) -> (Pair, Similarity) {
        let s = similarity(&new.vector, &old.vector);
        let has_body = |v: &Vector| v.terms.len() >= super::MIN_BODY_WORDS;
        let bodies = has_body(&new.body) && has_body(&old.body);
        let rare = s.shared.iter().filter(|(t, _)| df(*t) <= RARE).count();
        let pair = Pair {
            all: s.score,
            title: similarity(&new.title, &old.title).score,
            names: names_cosine(new, old),
            body: if bodies {
                similarity(&new.body, &old.body).score
            } else {
                0.0
            },
            shared: s.shared.len() as f32,
            rare: rare as f32 * (entries as f32 / KNOWN as f32).min(1.0),
            apart: apart.clamp(0.0, 1.0),
            words: new.vector.terms.len().min(old.vector.terms.len()) as f32,
            bodies,
        };
        (pair, s)
    }
}

/// The cosine of two entries' vectors kept to the words each marks as names.
fn names_cosine(a: &Features, b: &Features) -> f32 {
    let only = |f: &Features| -> Vec<(u64, f32)> {
        f.vector
            .terms
            .iter()
            .filter(|(t, _)| f.names.binary_search(t).is_ok())
            .copied()
            .collect()
    };
    let (x, y) = (only(a), only(b));
    let norm = |v: &[(u64, f32)]| v.iter().map(|t| t.1 * t.1).sum::<f32>().sqrt();
    let (nx, ny) = (norm(&x), norm(&y));
    if nx == 0.0 || ny == 0.0 {
        return 0.0;
    }
    let dot = similarity(&Vector { terms: x }, &Vector { terms: y })
        .shared
        .iter()
        .map(|s| s.1)
        .sum::<f32>();
    (dot / (nx * ny)).min(1.0)
}
