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
    let long: Vec<&str> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 3)
        .collect();
    let capitals = long
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    !long.is_empty() && capitals * 10 >= long.len() * 6
}

/// The words of `title` and the start of `body`, in order (a word may repeat).
pub fn words(title: &str, body: &str) -> Vec<Word> {
    let mut out = Vec::new();
    push_words(title, TITLE_WEIGHT, usize::MAX, !title_case(title), true, &mut out);
    push_words(body, 1.0, MAX_BODY_WORDS, true, true, &mut out);
    out
}

/// The words of the start of `body` as written (not stemmed): enough to tell a copy, and
/// cheaper.
pub fn body_words(body: &str) -> Vec<Word> {
    let mut out = Vec::new();
    push_words(body, 1.0, MAX_BODY_WORDS, true, false, &mut out);
    out
}

fn push_words(text: &str, weight: f32, max: usize, names_by_case: bool, stem: bool, out: &mut Vec<Word>) {
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
            taken += push_cjk(raw, weight, out);
            sentence_start = false;
            continue;
        }
        taken += 1;
        let acronym = raw.chars().count() > 1 && raw.chars().all(|c| c.is_uppercase() || c.is_ascii_digit());
        let capital = raw.chars().next().is_some_and(char::is_uppercase);
        let number = raw.chars().any(|c| c.is_ascii_digit());
        let name = acronym || number || (names_by_case && capital && !sentence_start);
        sentence_start = false;
        let Some(text) = normal(raw, stem) else { continue };
        let name = name && CALENDAR.binary_search(&text.as_str()).is_err();
        out.push(Word {
            text,
            weight: if name { weight * NAME_WEIGHT } else { weight },
        });
    }
}

/// A word as compared: lower case, stemmed; `None` for a common or a one-letter
/// word.
fn normal(raw: &str, stem_it: bool) -> Option<String> {
    // Most words are ASCII: lower-cased byte by byte, the same as Unicode's rules give them.
    let lower = match raw.is_ascii() {
        true => raw.to_ascii_lowercase(),
        false => raw.to_lowercase(),
    };
    if lower.chars().nth(1).is_none() && !lower.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // No stop word is longer: most words skip the search.
    if lower.len() <= STOP_WORD_MAX && STOP_WORDS.binary_search(&lower.as_str()).is_ok() {
        return None;
    }
    Some(if stem_it { stem(&lower) } else { lower })
}

/// The Snowball (Porter 2) English stem: "vaccinated", "vaccines" and "vaccination" meet.
fn stem(word: &str) -> String {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> =
        std::sync::LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));
    STEMMER.stem(word).into_owned()
}

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
fn push_cjk(run: &str, weight: f32, out: &mut Vec<Word>) -> usize {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 {
        out.push(Word {
            text: run.to_string(),
            weight,
        });
        return 1;
    }
    for pair in chars.windows(2) {
        out.push(Word {
            text: pair.iter().collect::<String>().to_lowercase(),
            weight,
        });
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
    fn long_texts_count_only_their_start() {
        let body = "word ".repeat(500);
        assert_eq!(words("", &body).len(), MAX_BODY_WORDS);
    }
}
