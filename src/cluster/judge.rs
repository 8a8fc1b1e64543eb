//! The verdict: which story, if any, a new entry reports, from what it has in common with the
//! entries of the window the index found and the other entries of their stories (`pair.rs`).
//!
//! - A copy: an entry found whose body is at least [`COPY`] alike (a wire story or a press
//!   release carried again, under another headline or link) is the same story. Titles alone
//!   never make a copy: different events share them ("Live updates", a headline template).
//! - The same event: each pair of entries is scored by a small logistic model over its figures
//!   (`Pair`): the chance that the two report one event, learned from reports labelled by people
//!   (`benches/train_pairs.py`; docs/clustering.md). A story is weighed by all of its entries in
//!   the window, not its most alike one: a report like one entry of a story and unlike the rest
//!   is more often about another event on the same subject, and one such join draws the next
//!   (chaining). A second model reads the mean of those chances (average link), the best one,
//!   and the next story's mean (a story far ahead of the others is surer than one of two
//!   alike: the ratio test of nearest-neighbour matching); the story it scores highest joins
//!   when that reaches `[dedup] certainty`.
//!
//! Pairs where one entry is a headline alone are scored by a model of their own, learned from
//! the same reports' headlines: two headlines share few words even when they tell one event.

use super::pair::bodies_alike;
use super::{COPY, Features, Neighbour, Pair, Part, Similarity, TermId, Weighing, similarity};

/// A logistic model over `N` figures.
#[derive(Debug, Clone, Copy)]
struct Model<const N: usize> {
    bias: f32,
    weights: [f32; N],
}

impl<const N: usize> Model<N> {
    /// The chance (0 to 1) the model gives inputs `x`.
    fn chance(&self, x: [f32; N]) -> f32 {
        let z = self.bias + self.weights.iter().zip(x).map(|(w, x)| w * x).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

// Fitted by benches/train_pairs.py on the even AllSides stories; see docs/clustering.md.
// Pairs: see `inputs`. Stories: the mean chance over the story's entries, the best one, and the
// next story's mean.
const HEADLINES: Model<9> = Model {
    bias: -1.7011,
    weights: [
        2.0408, 2.0408, -0.1634, 0.0000, 0.6878, 1.9010, -1.8405, 0.7095, -0.7790,
    ],
};
const BODIES: Model<9> = Model {
    bias: -3.9734,
    weights: [1.7553, 4.1900, 0.2004, 0.7108, 0.7252, 1.5289, -1.7028, 0.0448, -0.6872],
};
const STORY_HEADLINES: Model<3> = Model {
    bias: 0.1070,
    weights: [2.5339, 0.1821, -1.1752],
};
const STORY_BODIES: Model<3> = Model {
    bias: -2.1330,
    weights: [4.3286, 1.2915, -1.4586],
};

/// What the pair models read of a pair; the same transform as `row_features` in
/// benches/train_pairs.py.
fn inputs(p: &Pair) -> [f32; 9] {
    [
        p.all,
        p.title,
        p.names,
        if p.bodies { p.body } else { 0.0 },
        p.shared.ln_1p(),
        p.rare.ln_1p(),
        p.apart,
        1.0 / p.words.max(1.0),
        p.strangers.ln_1p(),
    ]
}

/// The chance (0 to 1) that the two entries of `pair` report one event. Rules set by hand, not
/// learned (reports labelled as one story seldom break them, and the models never saw the pairs
/// that do: very short headlines, shared templates): one shared word is a subject, not an
/// event, and where one is a headline alone two shared words happen by chance ("NATO summit
/// opens", "NATO summit closes"); a headline much alike over a text unlike the other's is another
/// event under a shared headline (a template, a recurring column), and so are headlines much
/// alike that name other people or places.
pub fn pair_score(pair: &Pair) -> f32 {
    // The more alike the headlines, the more alike the texts must be: from bodies 0.3 alike
    // under the same headline to 0.16 under headlines 0.6 alike (reports of one event under
    // one headline tell it in many of the same words).
    let shared_headline = pair.bodies && pair.title >= 0.6 && pair.body < 0.35 * pair.title - 0.05;
    // Headlines much alike, each naming someone or somewhere the other never mentions: one
    // template told of two people or places ("Sendor pledges aid", "Mones pledges aid").
    let template = pair.title >= 0.6 && pair.strangers >= 1.0;
    let fewest = if pair.bodies { 2.0 } else { 3.0 };
    if pair.shared < fewest || shared_headline || template {
        return 0.0;
    }
    match pair.bodies {
        true => BODIES.chance(inputs(pair)),
        false => HEADLINES.chance(inputs(pair)),
    }
}

/// The story among `neighbours` that an entry with `new` features reports, if any: a copy, or
/// (when `bar` looks for rewrites) the same event. `df` is the number of entries of the
/// window with a word, `entries` the number it counted.
pub fn same_event(
    new: &Features,
    neighbours: &[Neighbour],
    bar: Bar,
    (df, entries): (impl Fn(TermId) -> u32, u64),
) -> Option<Join> {
    let apart = |n: &Neighbour| bar.at.abs_diff(n.member.at) as f32 / bar.window.max(1) as f32;
    // With rewrites, every pair is weighed whole once, its body figure serving the copy test;
    // copies only need the bodies of the entries found.
    let pairs: Vec<Pair> = match bar.certainty {
        Some(_) => {
            let weighing = Weighing::of(new, df, entries);
            neighbours
                .iter()
                .map(|n| Pair::of(new, &n.member.features, apart(n), &weighing))
                .collect()
        }
        None => Vec::new(),
    };
    let body = |i: usize, n: &Neighbour| match pairs.get(i) {
        Some(p) => p.body,
        None if new.has_body() && n.member.features.has_body() => bodies_alike(new, &n.member.features),
        None => 0.0,
    };
    let copy = neighbours
        .iter()
        .enumerate()
        .filter(|(_, n)| n.found)
        .map(|(i, n)| (n, body(i, n)))
        .filter(|(_, s)| *s >= COPY)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.member.story.cmp(&a.0.member.story)));
    if let Some((n, _)) = copy {
        return Some(Join {
            story: n.member.story,
            entry: n.entry,
            rule: Rule::Copy,
            similarity: similarity(new, &n.member.features, Part::Body),
        });
    }
    let certainty = bar.certainty?;
    let mut stories: Vec<Weighed> = Vec::new();
    let mut bodies = false;
    for (n, pair) in neighbours.iter().zip(&pairs) {
        bodies |= pair.bodies;
        let p = pair_score(pair);
        let i = match stories.iter().position(|w| w.story == n.member.story) {
            Some(i) => i,
            None => {
                stories.push(Weighed {
                    story: n.member.story,
                    sum: 0.0,
                    entries: 0,
                    best: (n, -1.0),
                });
                stories.len() - 1
            }
        };
        let w = &mut stories[i];
        w.sum += p;
        w.entries += 1;
        if p > w.best.1 {
            w.best = (n, p);
        }
    }
    // Each story against the others: the story model reads its mean, its best pair and the
    // next story's mean (a story far ahead of the rest is surer than one of two alike).
    let model = if bodies { &STORY_BODIES } else { &STORY_HEADLINES };
    let means: Vec<f32> = stories.iter().map(|w| w.sum / w.entries.max(1) as f32).collect();
    let mut scored: Vec<(f32, &Weighed)> = stories
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let next = means
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, m)| *m)
                .fold(0.0, f32::max);
            (model.chance([means[i], w.best.1, next]), w)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.story.cmp(&b.1.story)));
    let &(story_certainty, first) = scored.first()?;
    if story_certainty < certainty {
        return None;
    }
    let next = scored.get(1).map_or(0.0, |s| s.0);
    let (n, pair) = first.best;
    Some(Join {
        story: first.story,
        entry: n.entry,
        rule: Rule::Event {
            certainty: story_certainty,
            pair,
            entries: first.entries,
            next,
        },
        similarity: similarity(new, &n.member.features, Part::All),
    })
}

/// A story found for a new entry, weighed by its entries.
struct Weighed<'a, 'm> {
    story: i64,
    sum: f32,
    entries: usize,
    /// The entry scored highest, and its score.
    best: (&'a Neighbour<'m>, f32),
}

/// What a new entry must reach in [`same_event`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// `[dedup] certainty` when rewrites are grouped; none for copies only.
    pub certainty: Option<f32>,
    /// The new entry's time and the window's length, in seconds.
    pub at: i64,
    pub window: i64,
}

/// Which rule of [`same_event`] found an entry to report a story's event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Copy,
    /// The same event: the story's `certainty` (the mean score of its `entries` weighed), the
    /// `pair` score of the entry most alike, and the `next` story's certainty (0 when none).
    Event {
        certainty: f32,
        pair: f32,
        entries: usize,
        next: f32,
    },
}

/// A new entry joins `story`: it was found most alike `entry` of it by `rule`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub story: i64,
    pub entry: i64,
    pub rule: Rule,
    pub similarity: Similarity,
}
