//! When entries from different outlets report the same event: each entry's words (stemmed,
//! weighed by TF-IDF in the whole and the title, by frequency in the body) as eight-byte slots,
//! found through an index of their heaviest words and of MinHash bands over their word triples,
//! and judged by fitted models (`judge.rs`, docs/clustering.md).
//!
//! Why this method: copies of wire stories and press releases share most word triples (MinHash
//! finds them whatever the links and titles); rewrites of one event by different outlets share
//! few triples but the same rare words (names, places, numbers), which TF-IDF weighs up and
//! common words down. The index keeps the cost of a new entry independent of the archive: only
//! entries of the window that share heavy words or bands are weighed.
//!
//! Pure: the window (`index.rs`) is held in memory by the store, which reads it in and asks for
//! candidates; the poll stage records the verdict. Hashes are FNV-1a and SplitMix64, spelled out
//! here, because they are stored: they must not change between versions or runs.

mod index;
mod judge;
mod pair;
mod terms;

pub use index::{Index, MAX_NEIGHBOURS, Member, PER_KEY, STORY_ENTRIES};
pub use judge::{Bar, Join, Rule, same_event};
pub use pair::Pair;
pub use pair::Weighing;
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

/// One word of an entry as clustering compares it, with its weight in each part of the entry:
/// the whole (title and lead, by TF-IDF), the title (by TF-IDF) and the body (by frequency
/// alone). Each part is scaled to length 1 and stored in 1/255ths of its heaviest word
/// (`Features::scale`); 0 where the word is not in that part. Eight bytes a word: the window of
/// tens of thousands of entries is held in memory, and one pass over two entries' words gives
/// every figure of a pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slot {
    pub term: TermId,
    pub all: u8,
    pub title: u8,
    pub body: u8,
    /// A name, an acronym or a number.
    pub name: bool,
}

/// The parts of an entry's words (see [`Slot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    All,
    Title,
    Body,
}

impl Slot {
    fn get(&self, part: Part) -> u8 {
        match part {
            Part::All => self.all,
            Part::Title => self.title,
            Part::Body => self.body,
        }
    }
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

/// A word of an entry counted, before it is weighed against the window.
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    term: TermId,
    /// Summed word weights in the whole, the title, the body.
    all: f32,
    title: f32,
    body: f32,
    name: bool,
}

/// An entry's words counted, before they are weighed against the window.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Each word once, sorted by id.
    words: Vec<Counted>,
    bands: Vec<u64>,
}

/// `terms` counted: each word once with its weights summed per part, sorted by id.
fn count(terms: impl Iterator<Item = terms::Term>) -> Vec<Counted> {
    let mut words: Vec<Counted> = terms
        .map(|t| Counted {
            term: t.hash as TermId,
            all: t.weight,
            title: if t.title { t.weight } else { 0.0 },
            body: if t.title { 0.0 } else { t.weight },
            name: t.name,
        })
        .collect();
    merge_counts(&mut words);
    words
}

/// Sorts `words` by id and sums the weights of each id into one.
fn merge_counts(words: &mut Vec<Counted>) {
    words.sort_unstable_by_key(|w| w.term);
    words.dedup_by(|b, a| {
        if a.term != b.term {
            return false;
        }
        a.all += b.all;
        a.title += b.title;
        a.body += b.body;
        a.name |= b.name;
        true
    });
}

impl Draft {
    /// The words of an entry with `title` and `body`.
    pub fn of(title: &str, body: &str) -> Draft {
        let (terms, written) = terms::word_terms(title, body);
        let words = count(terms.iter().copied());
        let body_words = words.iter().filter(|w| w.body > 0.0).count();
        // Copies are found by their bodies (a copy is often retitled), as written.
        let bands = if body_words >= MIN_BODY_WORDS {
            bands(&written)
        } else {
            let all: Vec<(u64, f32)> = terms.iter().map(|t| (t.hash, t.weight)).collect();
            bands(&all)
        };
        Draft { words, bands }
    }

    /// The features of an entry with `body` for finding copies only: its body's words and
    /// their bands, nothing weighed against the window (the body part [`Draft::of`] gives);
    /// none for a short body.
    pub fn copies_only(body: &str) -> Features {
        let (terms, written) = terms::word_terms("", body);
        let words = count(terms.into_iter());
        if words.len() < MIN_BODY_WORDS {
            return Features::default();
        }
        // Unweighed, no word is heavy: its keys are its bands alone.
        Draft {
            words,
            bands: bands(&written),
        }
        .weighed(None)
    }

    /// Its words' ids, each once.
    pub fn terms(&self) -> impl Iterator<Item = TermId> + '_ {
        self.words.iter().map(|w| w.term)
    }

    /// Its features among `n` entries, `df(term)` of which have a word.
    pub fn weigh(self, n: u64, df: impl Fn(TermId) -> u64) -> Features {
        self.weighed(Some(&|t| idf(n, df(t))))
    }

    /// Its features with words weighed by `idf` (the whole and the title; none for copies only,
    /// which weigh the body alone).
    fn weighed(self, idf: Option<&dyn Fn(TermId) -> f32>) -> Features {
        let tf = |c: f32| if c > 0.0 { 1.0 + c.ln() } else { 0.0 };
        let weights: Vec<[f32; 3]> = self
            .words
            .iter()
            .map(|w| match idf {
                Some(idf) => {
                    let idf = idf(w.term);
                    [tf(w.all) * idf, tf(w.title) * idf, tf(w.body)]
                }
                None => [0.0, 0.0, tf(w.body)],
            })
            .collect();
        let (slots, scale, counts) = pack(&self.words, &weights, idf.is_some());
        let mut heaviest: Vec<(TermId, f32)> = self.words.iter().zip(&weights).map(|(c, w)| (c.term, w[0])).collect();
        heaviest.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut f = Features {
            slots,
            scale,
            counts,
            ..Features::default()
        };
        let terms: Vec<u64> = heaviest
            .iter()
            .filter(|t| t.1 > 0.0)
            .take(LOOKUP_TERMS)
            .map(|t| u64::from(t.0))
            .collect();
        f.set_keys(&terms, &self.bands);
        f
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
///
/// The body part is what copies share: not the title (titles are shared by different events:
/// "Live updates"), and not weighed by rarity (a rare sentence two stories share, a quote or a
/// standard line, would outweigh the rest). The whole and the title are weighed by TF-IDF, and
/// are empty when only copies are looked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Its words, sorted by id.
    pub slots: Vec<Slot>,
    /// What a weight of 1 in each part ([`Part`] order) is worth.
    pub scale: [f32; 3],
    /// How many words each part has.
    pub counts: [u16; 3],
    /// How many of `keys` are words (the rest are bands).
    terms: u16,
    /// What the index files it under: its `LOOKUP_TERMS` heaviest words (none when only copies
    /// are looked for), then its MinHash bands. One boxed slice, not two lists: the window holds
    /// an entry's features without its keys (the index has them), and two empty lists were a
    /// third of what it held for each entry beside its words.
    keys: Box<[u64]>,
}

impl Features {
    /// Every key the index files it under: its heaviest words, then its bands.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.iter().copied()
    }

    /// Its heaviest words as index keys.
    pub fn term_keys(&self) -> &[u64] {
        &self.keys[..usize::from(self.terms)]
    }

    /// Its MinHash bands as index keys.
    pub fn band_keys(&self) -> &[u64] {
        &self.keys[usize::from(self.terms)..]
    }

    /// Sets its keys: `terms` words (at most `u16::MAX` of them are taken as words), then
    /// `bands`.
    pub fn set_keys(&mut self, terms: &[u64], bands: &[u64]) {
        let terms = &terms[..terms.len().min(usize::from(u16::MAX))];
        self.terms = terms.len() as u16;
        self.keys = terms.iter().chain(bands).copied().collect();
    }

    /// Forgets its keys (they are in the index, or not wanted).
    pub fn forget_keys(&mut self) {
        self.terms = 0;
        self.keys = Box::default();
    }

    /// An entry found through the index is compared when it shares two bands (one may be a
    /// stock phrase both use; copies share nearly all), or two of the heaviest words.
    pub fn worth_comparing(band_hits: usize, term_hits: usize) -> bool {
        band_hits >= 2 || term_hits >= 2
    }

    /// How many words `part` has.
    pub fn count(&self, part: Part) -> usize {
        usize::from(self.counts[part as usize])
    }

    /// Whether its body is long enough to tell a copy by ("Read more" is not).
    pub fn has_body(&self) -> bool {
        self.count(Part::Body) >= MIN_BODY_WORDS
    }

    /// Its words weighed in `part`, as (id, weight), sorted by id.
    pub fn weights(&self, part: Part) -> impl Iterator<Item = (TermId, f32)> + '_ {
        let scale = self.scale[part as usize];
        self.slots
            .iter()
            .filter(move |s| s.get(part) > 0)
            .map(move |s| (s.term, f32::from(s.get(part)) * scale))
    }
}

/// How alike two entries are in one part, and through which words.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// Cosine of their vectors, 0 to 1.
    pub score: f32,
    /// Shared words (by id), the heaviest first, with what each adds to the score.
    pub shared: Vec<(TermId, f32)>,
}

/// The cosine similarity of `a` and `b` in `part`, with the words it comes from.
pub fn similarity(a: &Features, b: &Features, part: Part) -> Similarity {
    let b: std::collections::HashMap<TermId, f32> = b.weights(part).collect();
    let mut shared: Vec<(TermId, f32)> = a
        .weights(part)
        .filter_map(|(t, w)| b.get(&t).map(|v| (t, w * v)))
        .collect();
    shared.sort_unstable_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
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

/// The shared words of `join` (of the entry with `title` and `body`) as text (stems), at most
/// `max`: for a copy the body's, the heaviest first; for the same event the names, acronyms and
/// numbers first (the event's signature), each part the heaviest first.
pub fn shared_words(title: &str, body: &str, join: &Join, max: usize) -> Vec<String> {
    let words = match join.rule {
        Rule::Copy => words("", body),
        Rule::Event { .. } => words(title, body),
    };
    // Each word hashed once, not once for every shared word looked for (on the store's thread,
    // for every join).
    let ids: Vec<TermId> = words.iter().map(|w| term_id(&w.text)).collect();
    let mut found: Vec<&Word> = Vec::new();
    for (hash, _) in &join.similarity.shared {
        if let Some(i) = ids.iter().position(|id| id == hash)
            && !found.iter().any(|f| f.text == words[i].text)
        {
            found.push(&words[i]);
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

/// Marks the stored form of [`Slot`]s; the form before it began with the number of terms of
/// the whole vector, which is never this large.
const STORED_SLOTS: u32 = 0xFFFF_FF03;

/// What an entry is compared by, as stored in `entries.vector` (little-endian): the mark, the
/// number of words, the three scales, the three counts and two bytes unused, then each word's
/// id, weights and name flag.
pub fn stored(f: &Features) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + 8 * f.slots.len());
    out.extend(STORED_SLOTS.to_le_bytes());
    out.extend((f.slots.len() as u32).to_le_bytes());
    f.scale.iter().for_each(|s| out.extend(s.to_le_bytes()));
    f.counts.iter().for_each(|c| out.extend(c.to_le_bytes()));
    out.extend([0, 0]);
    for s in &f.slots {
        out.extend(s.term.to_le_bytes());
        out.extend([s.all, s.title, s.body, u8::from(s.name)]);
    }
    out
}

/// The features of [`stored`] bytes (without index keys), or of the form before slots (its
/// whole vector and body as 64-bit hashes with weights; the body's words then were not
/// stemmed); bytes that are neither read as empty.
pub fn from_stored(bytes: &[u8]) -> Features {
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    let f32_at = |i: usize| u32_at(i).map(f32::from_bits).unwrap_or_default();
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map_or(0, |b| u16::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    let Some(first) = u32_at(0) else {
        return Features::default();
    };
    if first != STORED_SLOTS {
        return from_wide(bytes, first);
    }
    let n = u32_at(4).unwrap_or(0) as usize;
    let Some(rest) = bytes.get(28..).filter(|r| r.len() == n * 8) else {
        return Features::default();
    };
    let slots = rest
        .chunks_exact(8)
        .map(|c| Slot {
            term: u32::from_le_bytes(c[..4].try_into().unwrap_or_default()),
            all: c[4],
            title: c[5],
            body: c[6],
            name: c[7] != 0,
        })
        .collect();
    Features {
        slots,
        scale: [f32_at(8), f32_at(12), f32_at(16)],
        counts: [u16_at(20), u16_at(22), u16_at(24)],
        ..Features::default()
    }
}

/// The form before slots: the number of terms of the whole vector, then it and the body's, as
/// (64-bit hash, f32 weight) pairs.
fn from_wide(bytes: &[u8], terms: u32) -> Features {
    let rest = &bytes[4..];
    let split = (terms as usize).saturating_mul(12).min(rest.len());
    let read = |b: &[u8]| -> Option<Vec<(TermId, f32)>> {
        b.len().is_multiple_of(12).then(|| {
            b.chunks_exact(12)
                .map(|c| {
                    let t = u64::from_le_bytes(c[..8].try_into().unwrap_or_default());
                    (t as TermId, f32::from_le_bytes(c[8..].try_into().unwrap_or_default()))
                })
                .collect()
        })
    };
    let (Some(all), Some(body)) = (read(&rest[..split]), read(&rest[split..])) else {
        return Features::default();
    };
    let mut words: Vec<Counted> = all
        .iter()
        .map(|&(term, w)| Counted {
            term,
            all: w,
            ..Counted::default()
        })
        .chain(body.iter().map(|&(term, w)| Counted {
            term,
            body: w,
            ..Counted::default()
        }))
        .collect();
    merge_counts(&mut words);
    // The stored weights were final: weighed as they are, by an IDF of 1.
    Draft {
        words,
        bands: Vec::new(),
    }
    .stored_weights()
}

impl Draft {
    /// Features of words whose weights are final already (the form before slots).
    fn stored_weights(self) -> Features {
        let weights: Vec<[f32; 3]> = self.words.iter().map(|w| [w.all, 0.0, w.body]).collect();
        let (slots, scale, counts) = pack(&self.words, &weights, false);
        Features {
            slots,
            scale,
            counts,
            ..Features::default()
        }
    }
}

/// `words` with their `weights` in each part ([`Part`] order) as slots: each part scaled to
/// length 1 and stored in 1/255ths of its heaviest word (a word present keeps at least one),
/// with the scales and each part's count; names marked if `named`.
fn pack(words: &[Counted], weights: &[[f32; 3]], named: bool) -> (Vec<Slot>, [f32; 3], [u16; 3]) {
    let mut scale = [0.0f32; 3];
    let mut quantum = [0.0f32; 3];
    for part in 0..3 {
        let norm = weights.iter().map(|w| w[part] * w[part]).sum::<f32>().sqrt();
        let max = weights.iter().map(|w| w[part]).fold(0.0, f32::max);
        if norm > 0.0 {
            scale[part] = max / norm / 255.0;
            quantum[part] = 255.0 / max;
        }
    }
    let q = |w: f32, part: usize| match w > 0.0 {
        true => (w * quantum[part]).round().clamp(1.0, 255.0) as u8,
        false => 0,
    };
    let slots: Vec<Slot> = words
        .iter()
        .zip(weights)
        .map(|(c, w)| Slot {
            term: c.term,
            all: q(w[0], 0),
            title: q(w[1], 1),
            body: q(w[2], 2),
            name: c.name && named,
        })
        .collect();
    let counts = [Part::All, Part::Title, Part::Body].map(|p| slots.iter().filter(|s| s.get(p) > 0).count() as u16);
    (slots, scale, counts)
}

#[cfg(test)]
mod tests;
