//! The words of an entry that say which event it reports: lower-cased, stemmed (Snowball
//! English, so "sanctions" meets "sanctioned"), common words dropped, names and numbers
//! weighted up, and scripts written without spaces (Chinese, Japanese, Korean) cut into
//! character pairs.

/// How much a word in the title counts against one in the summary: the title is what an
/// editor chose to say about the event.
const TITLE_WEIGHT: f32 = 2.0;
/// Names (a capital inside a sentence, or an acronym) and numbers tell events apart better
/// than common words.
const NAME_WEIGHT: f32 = 1.5;
/// Only the start of a long text: leads carry the event; the rest is background that two
/// stories on one subject share.
const MAX_BODY_WORDS: usize = 120;

/// Words too common in news to say anything about an event, in English (the languages with
/// spaces that most sources use); elsewhere, inverse document frequency does the same work.
/// The longest of [`STOP_WORDS`], in bytes.
const STOP_WORD_MAX: usize = 7;
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
    "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "last", "latest", "live", "may", "me",
    "might", "more", "most", "must", "my", "new", "news", "no", "nor", "not", "now", "of", "off", "on", "once", "one",
    "only", "or", "other", "our", "out", "over", "own", "report", "said", "same", "say", "says", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "update", "updates", "us", "very", "video", "was", "watch", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "year", "yet",
    "you", "your",
];

/// One word of an entry and how much it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub weight: f32,
    /// A name, an acronym or a number.
    pub name: bool,
}

/// Capitalised in every text, and said of every event: no names.
const CALENDAR: &[&str] = &[
    "april",
    "august",
    "december",
    "february",
    "friday",
    "january",
    "july",
    "june",
    "march",
    "may",
    "monday",
    "november",
    "october",
    "saturday",
    "september",
    "sunday",
    "thursday",
    "tuesday",
    "wednesday",
];

/// Whether most longer words of `title` start with a capital (Title Case): then a capital says
/// nothing of a name.
fn title_case(title: &str) -> bool {
    let (long, capitals) = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().nth(3).is_some())
        .fold((0, 0), |(long, capitals), w| {
            let capital = w.chars().next().is_some_and(char::is_uppercase);
            (long + 1, capitals + usize::from(capital))
        });
    long > 0 && capitals * 10 >= long * 6
}

/// The words of `title` and the start of `body`, in order (a word may repeat).
pub fn words(title: &str, body: &str) -> Vec<Word> {
    owned(|sink| each_word(title, body, sink))
}

/// A word of [`words`] as its [`term_hash`](super::term_hash), with what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    pub hash: u64,
    pub weight: f32,
    /// A name, an acronym or a number (see [`NAME_WEIGHT`]).
    pub name: bool,
    /// From the title.
    pub title: bool,
}

/// [`words`] as [`Term`]s, without making a string of each word, and in the same pass the
/// hashes of the words of the start of `body` as written (not stemmed) with their weights: the
/// word triples that copies share (MinHash bands) are made of these.
pub fn word_terms(title: &str, body: &str) -> (Vec<Term>, Vec<(u64, f32)>) {
    // Room for most entries at once: grown a word at a time, these lists were a tenth of the
    // allocations of a first poll.
    let body_words = MAX_BODY_WORDS.min(body.len() / 4 + 1);
    let mut out = Vec::with_capacity(title.len() / 4 + 1 + body_words);
    let mut written = Vec::with_capacity(body_words);
    let mut buf = String::new();
    push_words(
        title,
        TITLE_WEIGHT,
        usize::MAX,
        !title_case(title),
        &mut buf,
        &mut |x, weight, name| {
            out.push(Term {
                hash: stem_hash(super::term_hash(x), x),
                weight,
                name,
                title: true,
            })
        },
    );
    push_words(body, 1.0, MAX_BODY_WORDS, true, &mut buf, &mut |x, weight, name| {
        let as_written = super::term_hash(x);
        written.push((as_written, weight));
        out.push(Term {
            hash: stem_hash(as_written, x),
            weight,
            name,
            title: false,
        })
    });
    (out, written)
}

type Sink<'a> = &'a mut dyn FnMut(&str, f32, bool);

fn owned(walk: impl FnOnce(Sink)) -> Vec<Word> {
    let mut out = Vec::new();
    walk(&mut |text, weight, name| {
        out.push(Word {
            text: text.to_owned(),
            weight,
            name,
        })
    });
    out
}

fn each_word(title: &str, body: &str, sink: Sink) {
    let mut buf = String::new();
    let names_by_case = !title_case(title);
    let mut stemmed = |x: &str, weight, name| sink(&stem(x), weight, name);
    push_words(title, TITLE_WEIGHT, usize::MAX, names_by_case, &mut buf, &mut stemmed);
    push_words(body, 1.0, MAX_BODY_WORDS, true, &mut buf, &mut stemmed);
}

/// `word` (lower case) stemmed.
fn stem(word: &str) -> std::borrow::Cow<'_, str> {
    STEMMER.stem(word)
}

/// The [`term_hash`](super::term_hash) of `word` (lower case) stemmed, `as_written` the hash
/// of `word` itself. Those of words seen before on this thread are kept (up to [`STEMS_KEPT`]
/// words, then forgotten all at once): news repeats its words, and stemming was a tenth of a
/// first poll's CPU. They are kept by the hash of the word, not the word: no string is made or
/// compared for a word seen before (two words of one 64-bit hash would share a stem; the term
/// ids they end as are 32 bits anyway).
fn stem_hash(as_written: u64, word: &str) -> u64 {
    STEMS.with_borrow_mut(|stems| {
        if let Some(h) = stems.get(&as_written) {
            return *h;
        }
        if stems.len() >= STEMS_KEPT {
            stems.clear();
        }
        let h = super::term_hash(&stem(word));
        stems.insert(as_written, h);
        h
    })
}

/// Some 1 MB a thread. With 8,192 the cache was cleared too often on a corpus of real
/// headlines: this many halved the samples a first poll spent stemming.
const STEMS_KEPT: usize = 32_768;

thread_local! {
    static STEMS: std::cell::RefCell<rustc_hash::FxHashMap<u64, u64>> = Default::default();
}

/// Gives `sink` each word of `text` as compared (see [`normal`]; not yet stemmed) with its
/// weight and whether it is a name; `buf` is room to lower-case a word in, reused from word to
/// word.
fn push_words(
    text: &str,
    weight: f32,
    max: usize,
    names_by_case: bool,
    buf: &mut String,
    sink: &mut (impl FnMut(&str, f32, bool) + ?Sized),
) {
    let mut taken = 0;
    let mut sentence_start = true;
    let mut rest = text;
    while taken < max {
        let Some(start) = rest.find(|c: char| c.is_alphanumeric()) else {
            break;
        };
        if rest[..start].contains(['.', '!', '?', ':', '\n']) {
            sentence_start = true;
        }
        rest = &rest[start..];
        let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
        let raw = &rest[..end];
        rest = &rest[end..];
        if is_cjk(raw.chars().next().unwrap_or(' ')) || raw.chars().any(is_cjk) {
            taken += push_cjk(raw, weight, sink);
            sentence_start = false;
            continue;
        }
        taken += 1;
        let acronym = raw.chars().count() > 1 && raw.chars().all(|c| c.is_uppercase() || c.is_ascii_digit());
        let capital = raw.chars().next().is_some_and(char::is_uppercase);
        let number = raw.chars().any(|c| c.is_ascii_digit());
        let name = acronym || number || (names_by_case && capital && !sentence_start);
        sentence_start = false;
        if !normal(raw, buf) {
            continue;
        }
        let name = name && CALENDAR.binary_search(&buf.as_str()).is_err();
        let weight = if name { weight * NAME_WEIGHT } else { weight };
        sink(buf, weight, name);
    }
}

/// Writes into `buf` the word `raw` as compared, lower case (not yet stemmed); `false` for a
/// common or a one-letter word.
fn normal(raw: &str, buf: &mut String) -> bool {
    buf.clear();
    // Most words are ASCII: copied whole and lower-cased in place (not a char at a time), the
    // same as Unicode's rules give them.
    match raw.is_ascii() {
        true => {
            buf.push_str(raw);
            buf.make_ascii_lowercase();
        }
        false => buf.extend(raw.chars().flat_map(char::to_lowercase)),
    }
    if buf.chars().nth(1).is_none() && !buf.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    // No stop word is longer: most words skip the search.
    !(buf.len() <= STOP_WORD_MAX && STOP_PACKED.binary_search(&packed(buf)).is_ok())
}

/// [`STOP_WORDS`] as integers, sorted: searched with integer comparisons instead of a string
/// comparison (a `memcmp` call) at each step, for nearly every word of every entry.
static STOP_PACKED: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
    let mut packed: Vec<u64> = STOP_WORDS.iter().map(|w| packed(w)).collect();
    packed.sort_unstable();
    packed
});

// Stop words are searched as 8-byte integers.
const _: () = assert!(STOP_WORD_MAX <= 8);

/// A word of at most 8 bytes as one integer (its bytes, zero-padded): two such words are
/// equal when their integers are, as no word holds a zero byte.
fn packed(word: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = word.len().min(8);
    bytes[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_le_bytes(bytes)
}

/// The Snowball (Porter 2) English stemmer: "vaccinated", "vaccines" and "vaccination" meet.
static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> =
    std::sync::LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FFFF) // CJK Extensions B..
}

/// Character pairs of a run with CJK characters in it ("自衛隊" → "自衛", "衛隊"); a lone
/// character is kept as it is. Returns how many were added.
fn push_cjk(run: &str, weight: f32, sink: &mut (impl FnMut(&str, f32, bool) + ?Sized)) -> usize {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 {
        sink(run, weight, false);
        return 1;
    }
    for pair in chars.windows(2) {
        sink(&pair.iter().collect::<String>().to_lowercase(), weight, false);
    }
    chars.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(title: &str, body: &str) -> Vec<String> {
        words(title, body).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(STOP_WORDS.iter().map(|w| w.len()).max(), Some(STOP_WORD_MAX));
        for w in STOP_WORDS {
            let mut buf = String::new();
            assert!(!normal(w, &mut buf), "{w} is dropped");
        }
        let mut buf = String::new();
        assert!(normal("thee", &mut buf) && normal("sanction", &mut buf));
    }

    #[test]
    fn common_words_go_and_forms_of_a_word_meet() {
        assert_eq!(
            texts("The talks on sanctions", "Japan's officers said."),
            ["talk", "sanction", "japan", "offic"]
        );
        assert_eq!(texts("vaccinated", ""), texts("vaccines", ""));
        assert_eq!(texts("sanctioned", ""), texts("sanction", ""));
    }

    #[test]
    fn names_acronyms_and_numbers_weigh_more() {
        let w = words("", "The minister met Kishida and NATO on 12 May. Officials agreed.");
        let weight = |t: &str| w.iter().find(|x| x.text == t).unwrap().weight;
        assert_eq!(weight("minist"), 1.0);
        assert_eq!(weight("kishida"), NAME_WEIGHT);
        assert_eq!(weight("nato"), NAME_WEIGHT);
        assert_eq!(weight("12"), NAME_WEIGHT);
        assert_eq!(weight("offici"), 1.0, "a capital that starts a sentence is no name");
    }

    #[test]
    fn scripts_without_spaces_are_cut_into_pairs() {
        assert_eq!(texts("陸上自衛隊", ""), ["陸上", "上自", "自衛", "衛隊"]);
    }

    #[test]
    fn hashes_are_those_of_the_words_as_compared() {
        let (title, body) = (
            "Über-Minister Kishida meets NATO: the 12 sanctions, Monday",
            "The JSDF (自衛隊) said on Tuesday that ÉCOLE and École are one word; a I x 7 ok. Sanctioned!",
        );
        let hashed = |w: Vec<Word>| -> Vec<(u64, f32)> {
            w.iter().map(|w| (super::super::term_hash(&w.text), w.weight)).collect()
        };
        let (terms, written) = word_terms(title, body);
        let terms: Vec<(u64, f32)> = terms.iter().map(|t| (t.hash, t.weight)).collect();
        assert_eq!(terms, hashed(words(title, body)));
        // The body's words as written: not stemmed ("sanctioned" stays), the same weights.
        let body_terms = words("", body);
        assert_eq!(written.len(), body_terms.len());
        assert!(written.contains(&(super::super::term_hash("sanctioned"), 1.0)));
        assert!(!terms.contains(&(super::super::term_hash("sanctioned"), 1.0)));
    }

    #[test]
    fn long_texts_count_only_their_start() {
        let body = "word ".repeat(500);
        assert_eq!(words("", &body).len(), MAX_BODY_WORDS);
    }
}
