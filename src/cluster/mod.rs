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

mod index;
mod judge;
mod pair;
mod terms;

pub use index::{Index, MAX_NEIGHBOURS, Member, PER_KEY, STORY_ENTRIES};
pub use judge::{Bar, Join, Rule, same_event};
pub use pair::Pair;
pub use terms::{Word, words};

/// Terms of an entry used to look up candidates: its most telling words.
pub const LOOKUP_TERMS: usize = 20;
/// MinHash: bands of rows. Copies (nine tenths of their word triples in common) share a band
/// with probability 1 - (1 - 0.9^4)^4 ≈ 0.99; texts with half in common, 0.23. Few bands:
/// each is a row to write and a look-up per entry.
const BANDS: usize = 4;
const ROWS: usize = 4;

/// A word as compared: the low 32 bits of its [`term_hash`]. Half the room of the whole hash in
/// the window held in memory; two words of a window's vocabulary (some 10^5) sharing an id is
/// about as likely as one in 10^5 pairs of entries having one false shared word, which no
/// verdict notices.
pub type TermId = u32;

/// The id of the word `text`.
pub fn term_id(text: &str) -> TermId {
    term_hash(text) as TermId
}

/// An entry's words, weighted and scaled to length 1, sorted by term id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector {
    pub terms: Vec<(TermId, f32)>,
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
    /// (term id, summed word weight), sorted by id, each term once.
    counts: Vec<(TermId, f32)>,
    /// The same, of the title alone.
    title: Vec<(TermId, f32)>,
    /// The terms that are names, acronyms or numbers, sorted, each once.
    names: Vec<TermId>,
    /// The same as `counts`, of the body's words as written (not stemmed).
    body: Vec<(TermId, f32)>,
    bands: Vec<u64>,
}

/// The `hashed` words as term ids, each term once with its weights summed, sorted.
fn count(hashed: &[(u64, f32)]) -> Vec<(TermId, f32)> {
    let mut counts: Vec<(TermId, f32)> = hashed.iter().map(|&(h, w)| (h as TermId, w)).collect();
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
fn weighted(counts: &[(TermId, f32)], idf: impl Fn(TermId) -> f32) -> Vector {
    let mut terms: Vec<(TermId, f32)> = counts.iter().map(|&(t, w)| (t, (1.0 + w.ln()) * idf(t))).collect();
    let norm = terms.iter().map(|t| t.1 * t.1).sum::<f32>().sqrt();
    if norm > 0.0 {
        terms.iter_mut().for_each(|t| t.1 /= norm);
    }
    Vector { terms }
}

impl Draft {
    /// The words of an entry with `title` and `body`.
    pub fn of(title: &str, body: &str) -> Draft {
        let (all, body_words) = terms::word_terms(title, body);
        let words: Vec<(u64, f32)> = all.iter().map(|t| (t.hash, t.weight)).collect();
        let title_words: Vec<(u64, f32)> = all.iter().filter(|t| t.title).map(|t| (t.hash, t.weight)).collect();
        let mut names: Vec<TermId> = all.iter().filter(|t| t.name).map(|t| t.hash as TermId).collect();
        names.sort_unstable();
        names.dedup();
        let body = count(&body_words);
        // Copies are found by their bodies: a copy is often retitled.
        let bands = if body.len() >= MIN_BODY_WORDS {
            bands(&body_words)
        } else {
            bands(&words)
        };
        Draft {
            counts: count(&words),
            title: count(&title_words),
            names,
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
        let counts = count(&words);
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
    pub fn terms(&self) -> impl Iterator<Item = TermId> + '_ {
        self.counts.iter().map(|t| t.0)
    }

    /// Its features among `n` entries, `df(term)` of which have a word.
    pub fn weigh(self, n: u64, df: impl Fn(TermId) -> u64) -> Features {
        let vector = weighted(&self.counts, |t| idf(n, df(t)));
        let title = weighted(&self.title, |t| idf(n, df(t)));
        let body = weighted(&self.body, |_| 1.0);
        let terms = &vector.terms;
        let mut heaviest = terms.clone();
        heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Features {
            term_keys: heaviest.iter().take(LOOKUP_TERMS).map(|t| u64::from(t.0)).collect(),
            band_keys: self.bands,
            body,
            vector,
            title,
            names: self.names,
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
    /// Its title's words weighed by TF-IDF (empty when only copies are looked for).
    pub title: Vector,
    /// Which of its words are names, acronyms or numbers (sorted; empty when only copies are
    /// looked for).
    pub names: Vec<TermId>,
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
        band_hits >= 2 || term_hits >= 2
    }
}

/// How alike two entries are, and through which words.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// Cosine of their vectors, 0 to 1.
    pub score: f32,
    /// Shared words (by id), the heaviest first, with what each adds to the score.
    pub shared: Vec<(TermId, f32)>,
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
#[derive(Debug, Clone, Copy)]
pub struct Neighbour<'a> {
    /// The entry's id.
    pub entry: i64,
    pub member: &'a Member,
    /// Found through the index (else another entry of a story found).
    pub found: bool,
}

/// The shared words of `join` (of the entry with `title` and `body`) as text, at most `max`:
/// for a copy the body's words as written, the heaviest first; for the same event stems, the
/// names, acronyms and numbers first (the event's signature), each part the heaviest first.
pub fn shared_words(title: &str, body: &str, join: &Join, max: usize) -> Vec<String> {
    let words = match join.rule {
        Rule::Copy => terms::body_words(body),
        Rule::Event { .. } => words(title, body),
    };
    let mut found: Vec<&Word> = Vec::new();
    for (hash, _) in &join.similarity.shared {
        if let Some(w) = words.iter().find(|w| term_id(&w.text) == *hash)
            && !found.iter().any(|f| f.text == w.text)
        {
            found.push(w);
        }
    }
    // A stable sort keeps each part in order of weight.
    if matches!(join.rule, Rule::Event { .. }) {
        found.sort_by_key(|w| !words.iter().any(|x| x.text == w.text && x.name));
    }
    found.into_iter().take(max).map(|w| w.text.clone()).collect()
}

/// How alike the bodies of copies are. Bodies, not titles: a copy is often retitled, and
/// different events share titles ("Live updates", a headline template).
pub const COPY: f32 = 0.9;
/// A body with fewer distinct words (after common ones) does not make a copy: "Read more".
pub(crate) const MIN_BODY_WORDS: usize = 8;

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

/// Marks the stored form with titles and names; the form before it began with the number of
/// terms of the whole vector, which is never this large.
const STORED_V2: u32 = 0xFFFF_FF02;

/// What an entry is compared by, as stored in `entries.vector`: the mark, the numbers of terms
/// of its vector, its title's and its names, then those and its body's vector; terms and
/// names as little-endian `u32`, weights as `f32`.
pub fn stored(f: &Features) -> Vec<u8> {
    let mut out = STORED_V2.to_le_bytes().to_vec();
    for n in [f.vector.terms.len(), f.title.terms.len(), f.names.len()] {
        out.extend((n as u32).to_le_bytes());
    }
    f.vector.write(&mut out);
    f.title.write(&mut out);
    out.extend(f.names.iter().flat_map(|n| n.to_le_bytes()));
    f.body.write(&mut out);
    out
}

/// The features of [`stored`] bytes (without index keys), or of the form before titles and
/// names (without them); bytes that are neither read as empty.
pub fn from_stored(bytes: &[u8]) -> Features {
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    let Some(first) = u32_at(0) else {
        return Features::default();
    };
    if first != STORED_V2 {
        // Then: whole 64-bit hashes, 12 bytes a term.
        let rest = &bytes[4..];
        let split = (first as usize).saturating_mul(12).min(rest.len());
        return Features {
            vector: Vector::from_wide(&rest[..split]),
            body: Vector::from_wide(&rest[split..]),
            ..Features::default()
        };
    }
    let (Some(all), Some(title), Some(names)) = (u32_at(4), u32_at(8), u32_at(12)) else {
        return Features::default();
    };
    let mut rest = &bytes[16..];
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        head
    };
    let vector = Vector::read(take(all as usize * 8));
    let title = Vector::read(take(title as usize * 8));
    let names = take(names as usize * 4)
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    let body = Vector::read(rest);
    Features {
        vector,
        title,
        names,
        body,
        ..Features::default()
    }
}

impl Vector {
    /// Appends the vector as stored: (id, weight) pairs, little-endian.
    fn write(&self, out: &mut Vec<u8>) {
        for (t, w) in &self.terms {
            out.extend_from_slice(&t.to_le_bytes());
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    /// A stored vector; bytes that are not one read as empty.
    fn read(bytes: &[u8]) -> Vector {
        if !bytes.len().is_multiple_of(8) {
            return Vector::default();
        }
        let terms = bytes
            .chunks_exact(8)
            .map(|c| {
                let t = u32::from_le_bytes(c[..4].try_into().unwrap_or_default());
                let w = f32::from_le_bytes(c[4..].try_into().unwrap_or_default());
                (t, w)
            })
            .collect();
        Vector { terms }
    }

    /// A vector stored by versions before term ids: (64-bit hash, weight) pairs.
    fn from_wide(bytes: &[u8]) -> Vector {
        if !bytes.len().is_multiple_of(12) {
            return Vector::default();
        }
        let mut terms: Vec<(TermId, f32)> = bytes
            .chunks_exact(12)
            .map(|c| {
                let t = u64::from_le_bytes(c[..8].try_into().unwrap_or_default());
                let w = f32::from_le_bytes(c[8..].try_into().unwrap_or_default());
                (t as TermId, w)
            })
            .collect();
        terms.sort_unstable_by_key(|t| t.0);
        Vector { terms }
    }
}

#[cfg(test)]
mod tests;
