//! When entries from different outlets report the same event: the entries' words weighted by
//! TF-IDF, compared by cosine similarity, and found through an index of their rarest words and
//! of MinHash bands over their word triples.
//!
//! Why this method: copies of wire stories and press releases share most word triples (MinHash
//! finds them whatever the links and titles); rewrites of one event by different outlets share
//! few triples but the same rare words (names, places, numbers), which TF-IDF weighs up and
//! common words down. The index keeps the cost of a new entry independent of the archive: only
//! entries of the window that share a rare word or a band are compared.
//!
//! Pure: the store keeps the vectors, the index and the document frequencies; the poll stage
//! asks it for candidates and records the verdict. Hashes are FNV-1a and SplitMix64, spelled
//! out here, because they are stored: they must not change between versions or runs.

mod terms;

pub use terms::{Word, words};

/// Terms of an entry used to look up candidates: its most telling words.
pub const LOOKUP_TERMS: usize = 20;
/// MinHash: bands of rows. Copies (nine tenths of their word triples in common) share a band
/// with probability 1 - (1 - 0.9^4)^4 ≈ 0.99; texts with half in common, 0.23. Few bands:
/// each is a row to write and a look-up per entry.
const BANDS: usize = 4;
const ROWS: usize = 4;

/// An entry's words, weighted and scaled to length 1, sorted by term hash.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector {
    pub terms: Vec<(u64, f32)>,
}

/// The inverse document frequency of a word in `n` entries, `df` of which have it, as if
/// `PRIOR_ENTRIES` more entries without it had been seen: in a young archive a word seen once
/// before is not yet common (plain IDF would make every shared word worth less than an unshared
/// one, and copies unlike each other), and the prior fades as the archive grows.
pub fn idf(n: u64, df: u64) -> f32 {
    let (n, df) = (n as f64, df.min(n) as f64);
    (1.0 + (n + PRIOR_ENTRIES) / (df + 1.0)).ln() as f32
}

const PRIOR_ENTRIES: f64 = 100.0;

/// An entry's words counted, before they are weighed against the archive.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// (term hash, summed word weight), sorted by hash, each term once.
    counts: Vec<(u64, f32)>,
    /// The same, of the body alone.
    body: Vec<(u64, f32)>,
    bands: Vec<u64>,
}

/// The `hashed` words, each term once with its weights summed, sorted.
fn count(mut counts: Vec<(u64, f32)>) -> Vec<(u64, f32)> {
    counts.sort_unstable_by_key(|t| t.0);
    counts.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    counts
}

/// `counts` with sublinear term frequencies times `idf`, scaled to length 1.
fn weighted(counts: &[(u64, f32)], idf: impl Fn(u64) -> f32) -> Vector {
    let mut terms: Vec<(u64, f32)> = counts.iter().map(|&(t, w)| (t, (1.0 + w.ln()) * idf(t))).collect();
    let norm = terms.iter().map(|t| t.1 * t.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        terms.iter_mut().for_each(|t| t.1 /= norm);
    }
    Vector { terms }
}

impl Draft {
    /// The words of an entry with `title` and `body`.
    pub fn of(title: &str, body: &str) -> Draft {
        let words = terms::word_hashes(title, body);
        let body_words = terms::body_hashes(body);
        let body_bands = bands(&body_words);
        let body = count(body_words);
        // Copies are found by their bodies: a copy is often retitled.
        let bands = if body.len() >= MIN_BODY_WORDS {
            body_bands
        } else {
            bands(&words)
        };
        Draft {
            counts: count(words),
            body,
            bands,
        }
    }

    /// The features of an entry with `body` for finding copies only: its body's words and
    /// their bands, nothing weighed against the archive (the same as [`Draft::of`] gives for a
    /// body); none for a short body.
    pub fn copies_only(body: &str) -> Features {
        let words = terms::body_hashes(body);
        let band_keys = bands(&words);
        let counts = count(words);
        if counts.len() < MIN_BODY_WORDS {
            return Features::default();
        }
        Features {
            body: weighted(&counts, |_| 1.0),
            band_keys,
            ..Features::default()
        }
    }

    /// Its words' hashes, each once.
    pub fn terms(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.iter().map(|t| t.0)
    }

    /// Its features among `n` entries, `df(term)` of which have a word.
    pub fn weigh(self, n: u64, df: impl Fn(u64) -> u64) -> Features {
        let vector = weighted(&self.counts, |t| idf(n, df(t)));
        let body = weighted(&self.body, |_| 1.0);
        let terms = &vector.terms;
        let mut heaviest = terms.clone();
        heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Features {
            term_keys: heaviest.iter().take(LOOKUP_TERMS).map(|t| t.0).collect(),
            band_keys: self.bands,
            body,
            vector,
        }
    }
}

/// An entry's words, made ready away from the store (they need no look-up, and on the compute
/// pool they are counted in parallel while the store writes): final when only copies are looked
/// for, else a draft still to be weighed against the archive.
#[derive(Debug, Clone)]
pub enum Prepared {
    Ready(Features),
    Weigh(Draft),
}

impl Prepared {
    pub fn of(title: &str, body: &str, rewrites: bool) -> Prepared {
        match rewrites {
            true => Prepared::Weigh(Draft::of(title, body)),
            false => Prepared::Ready(Draft::copies_only(body)),
        }
    }
}

/// The features of one entry: what the index files it under and what it is compared by.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Its words weighed by TF-IDF (empty when only copies are looked for).
    pub vector: Vector,
    /// Its body's words by their frequency alone: what copies share. Not the title: titles are
    /// shared by different events ("Live updates"). Not weighed by rarity: a rare sentence
    /// two stories share (a quote, a standard line) would outweigh the rest.
    pub body: Vector,
    /// Its `LOOKUP_TERMS` heaviest words (none when only copies are looked for).
    pub term_keys: Vec<u64>,
    /// Its MinHash bands.
    pub band_keys: Vec<u64>,
}

impl Features {
    /// Every key the index files it under: its heaviest words, then its bands.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.term_keys.iter().chain(&self.band_keys).copied()
    }

    /// An entry found through the index is compared when it shares two bands (one may be a
    /// stock phrase both use; copies share nearly all), or one of the heaviest words.
    pub fn worth_comparing(band_hits: usize, term_hits: usize) -> bool {
        band_hits >= 2 || term_hits >= 1
    }
}

/// How alike two entries are, and through which words.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// Cosine of their vectors, 0 to 1.
    pub score: f32,
    /// Shared words (by hash), the heaviest first, with what each adds to the score.
    pub shared: Vec<(u64, f32)>,
}

/// The cosine similarity of `a` and `b` (both of length 1).
pub fn similarity(a: &Vector, b: &Vector) -> Similarity {
    let (mut i, mut j) = (0, 0);
    let mut shared = Vec::new();
    while i < a.terms.len() && j < b.terms.len() {
        let (ta, wa) = a.terms[i];
        let (tb, wb) = b.terms[j];
        match ta.cmp(&tb) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared.push((ta, wa * wb));
                i += 1;
                j += 1;
            }
        }
    }
    shared.sort_unstable_by(|x, y| y.1.total_cmp(&x.1));
    Similarity {
        score: shared.iter().map(|s| s.1).sum::<f32>().min(1.0),
        shared,
    }
}

/// An entry of the window that the index found for a new one.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub story: i64,
    /// The entry's id.
    pub entry: i64,
    /// Its time (Unix seconds) in the clustering window.
    pub at: i64,
    pub vector: Vector,
    pub body: Vector,
}

/// The story among `neighbours` that an entry reports, if any, and how alike they are.
///
/// - A copy: an entry whose body is at least `COPY` alike (a wire story or a press release
///   carried again, under another headline or link) is the same story; entries without a body
///   of some length are never copies.
/// - A rewrite: below that, an entry at least `threshold` alike that shares two words or more
///   (one shared name is a subject, not an event), and whose body, if both have one, is a
///   quarter alike (`REWRITE_BODY`). Short texts (headlines alone) must be more
///   alike: with few words, a few shared ones happen by chance; the bar is `threshold` ×
///   (1 + 4 / words of the shorter text), half as high again for a headline of eight words. And
///   reports far apart in time must be more alike: the bar rises in proportion to the time
///   between them, to twice as high a whole window apart (reports of one event come close
///   together; another event on the same subject is often days away). `threshold` 1 turns
///   rewrites off.
/// - A clear lead: an entry a little under that bar (at least `CLEAR_LOW` of it, past the same
///   gates) whose story stands `CLEAR_LEAD` times as high as any other story found. A report
///   far more like one story than like anything else in the window is that story's, where the
///   same score among several near stories would be a guess (the ratio test of
///   nearest-neighbour matching). It buys recall at equal precision (docs/clustering.md).
///
/// A pair's standing is its score over what the bar asks of it beyond `threshold` (short
/// texts, time apart). Of several, the story whose entry stands highest.
pub fn same_event(new: &Features, neighbours: &[Neighbour], bar: Bar) -> Option<Join> {
    let threshold = bar.threshold;
    let join = |n: &Neighbour, rule, similarity| Join {
        story: n.story,
        entry: n.entry,
        rule,
        similarity,
    };
    let has_body = |v: &Vector| v.terms.len() >= MIN_BODY_WORDS;
    // Titles alone never make a copy: different events share them.
    let bodies: Vec<Option<Similarity>> = neighbours
        .iter()
        .map(|n| (has_body(&new.body) && has_body(&n.body)).then(|| similarity(&new.body, &n.body)))
        .collect();
    let copy = neighbours
        .iter()
        .zip(&bodies)
        .filter_map(|(n, b)| b.as_ref().filter(|b| b.score >= COPY).map(|b| (n, b)))
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score).then(b.0.story.cmp(&a.0.story)));
    if let Some((n, b)) = copy {
        return Some(join(n, Rule::Copy, b.clone()));
    }
    if threshold >= 1.0 {
        return None;
    }
    let scored: Vec<Standing> = neighbours
        .iter()
        .zip(&bodies)
        .map(|(n, body)| {
            let s = similarity(&new.vector, &n.vector);
            let words = new.vector.terms.len().min(n.vector.terms.len()).max(1) as f32;
            let apart = (bar.at.abs_diff(n.at) as f32 / bar.window.max(1) as f32).min(1.0);
            let standing = s.score / ((1.0 + SHORT_TEXT / words) * (1.0 + apart));
            // One headline over another story's text is not a rewrite of it.
            let body_alike = body.as_ref().is_none_or(|b| b.score >= REWRITE_BODY);
            let eligible = s.shared.len() >= 2 && body_alike;
            Standing {
                n,
                s,
                standing,
                eligible,
            }
        })
        .collect();
    let best = scored
        .iter()
        .filter(|c| c.eligible)
        .max_by(|a, b| a.standing.total_cmp(&b.standing).then(b.n.story.cmp(&a.n.story)))?;
    if best.standing >= threshold {
        return Some(join(best.n, Rule::Rewrite, best.s.clone()));
    }
    // Every other story counts against a lead, eligible or not: it is what the entry is also like.
    let next = scored
        .iter()
        .filter(|c| c.n.story != best.n.story)
        .map(|c| c.standing)
        .fold(0.0, f32::max);
    let clear = best.standing >= threshold * CLEAR_LOW && best.standing >= CLEAR_LEAD * next;
    // Shown beside the pair's score, so on its scale.
    let next = next * best.s.score / best.standing.max(f32::MIN_POSITIVE);
    clear.then(|| join(best.n, Rule::Clear { next }, best.s.clone()))
}

/// A neighbour weighed as a rewrite of the new entry (see [`same_event`]).
struct Standing<'a> {
    n: &'a Neighbour,
    s: Similarity,
    standing: f32,
    /// Whether it passes the gates every rewrite must pass.
    eligible: bool,
}

/// What a rewrite must reach in [`same_event`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// `[dedup] similarity`: 1 for copies only.
    pub threshold: f32,
    /// The new entry's time and the window's length, in seconds.
    pub at: i64,
    pub window: i64,
}

/// Which rule of [`same_event`] found two entries to report one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Copy,
    Rewrite,
    /// A rewrite a little under the bar whose story leads every other by far; `next` is how
    /// alike the next story was, on the scale of this pair's score (0 when there is none).
    Clear {
        next: f32,
    },
}

/// A new entry joins `story`: it was found alike `entry` of it by `rule`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub story: i64,
    pub entry: i64,
    pub rule: Rule,
    pub similarity: Similarity,
}

/// The shared words of `join` (of the entry with `title` and `body`) as text, the heaviest
/// first, at most `max`: the body's words as written for a copy, stems for a rewrite.
pub fn shared_words(title: &str, body: &str, join: &Join, max: usize) -> Vec<String> {
    let words = match join.rule {
        Rule::Copy => terms::body_words(body),
        Rule::Rewrite | Rule::Clear { .. } => words(title, body),
    };
    let mut out: Vec<String> = Vec::new();
    for (hash, _) in &join.similarity.shared {
        if out.len() == max {
            break;
        }
        if let Some(w) = words.iter().find(|w| term_hash(&w.text) == *hash)
            && !out.contains(&w.text)
        {
            out.push(w.text.clone());
        }
    }
    out
}

/// How alike the bodies of copies are. Bodies, not titles: a copy is often retitled, and
/// different events share titles ("Live updates", a headline template).
pub const COPY: f32 = 0.9;
/// How alike the bodies of a rewrite must be, when both have one: one headline over another
/// story's text is not a rewrite of it.
const REWRITE_BODY: f32 = 0.25;
/// A body with fewer distinct words (after common ones) does not make a copy: "Read more".
const MIN_BODY_WORDS: usize = 8;

/// A clear lead (see [`same_event`]): how far under the bar, and how far ahead of the next
/// story.
const CLEAR_LOW: f32 = 2.0 / 3.0;
const CLEAR_LEAD: f32 = 3.0;

/// How much more alike short texts must be (see [`same_event`]).
const SHORT_TEXT: f32 = 4.0;

/// MinHash band keys of the word triples of `words` (hashed, in order); none for fewer than
/// three words.
fn bands(words: &[(u64, f32)]) -> Vec<u64> {
    if words.len() < 3 {
        return Vec::new();
    }
    let shingles = words.windows(3).map(|w| mix(mix(mix(w[0].0) ^ w[1].0) ^ w[2].0));
    let mut mins = [u64::MAX; BANDS * ROWS];
    for s in shingles {
        for (k, m) in mins.iter_mut().enumerate() {
            *m = (*m).min(mix(s ^ SEEDS[k % SEEDS.len()].wrapping_mul(k as u64 + 1)));
        }
    }
    mins.chunks(ROWS)
        .enumerate()
        .map(|(band, rows)| {
            let mut h = mix(0xB4AD_0000 + band as u64);
            for r in rows {
                h = mix(h ^ r);
            }
            h
        })
        .collect()
}

const SEEDS: [u64; 4] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0x27D4_EB2F_1656_67C5,
];

/// SplitMix64's finaliser: a stable, well-mixed 64-bit permutation.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a word's stable id.
pub fn term_hash(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// An entry's vectors as stored: the number of terms of the whole, the whole, then the body's.
pub fn stored(all: &Vector, body: &Vector) -> Vec<u8> {
    let mut out = (all.terms.len() as u32).to_le_bytes().to_vec();
    out.extend(all.to_bytes());
    out.extend(body.to_bytes());
    out
}

/// The vectors of [`stored`] bytes; bytes that are not such read as empty.
pub fn from_stored(bytes: &[u8]) -> (Vector, Vector) {
    let Some((n, rest)) = bytes.split_first_chunk::<4>() else {
        return Default::default();
    };
    let split = (u32::from_le_bytes(*n) as usize).saturating_mul(12).min(rest.len());
    (Vector::from_bytes(&rest[..split]), Vector::from_bytes(&rest[split..]))
}

impl Vector {
    /// The vector as stored: (hash, weight) pairs, little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.terms.len() * 12);
        for (t, w) in &self.terms {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// A stored vector; bytes that are not one read as empty.
    pub fn from_bytes(bytes: &[u8]) -> Vector {
        if !bytes.len().is_multiple_of(12) {
            return Vector::default();
        }
        let terms = bytes
            .chunks_exact(12)
            .map(|c| {
                let t = u64::from_le_bytes(c[..8].try_into().unwrap_or_default());
                let w = f32::from_le_bytes(c[8..].try_into().unwrap_or_default());
                (t, w)
            })
            .collect();
        Vector { terms }
    }
}

#[cfg(test)]
mod tests;
