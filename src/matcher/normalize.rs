//! Text prepared for matching: NFKC, case folding, runs of non-word characters as one space,
//! with a map back to the original text; word boundaries and word positions over it. Pure.

use unicode_normalization::UnicodeNormalization;

use super::CompiledTerm;

/// Text prepared for matching, with a way back to the original.
#[derive(Debug)]
pub(super) struct Norm {
    pub(super) text: String,
    /// For each byte of `text`, the byte offset in the original of the character it came from.
    map: Vec<u32>,
}

/// Characters that are part of words besides letters and digits: `C++`, `C#`, `AT&T`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '+' | '#' | '&' | '@' | '_' | '$' | '%')
}

/// NFKC, then (with `fold`) lower case; every run of characters that are not word characters
/// becomes one space.
pub(super) fn normalize(original: &str, fold: bool) -> Norm {
    let mut text = String::with_capacity(original.len());
    let mut map: Vec<u32> = Vec::with_capacity(original.len());
    let mut pending_space = false;
    let push = |c: char, at: usize, text: &mut String, map: &mut Vec<u32>, pending_space: &mut bool| {
        if !is_word_char(c) {
            *pending_space = !text.is_empty();
            return;
        }
        if *pending_space {
            text.push(' ');
            map.push(at as u32);
            *pending_space = false;
        }
        let before = text.len();
        text.push(c);
        map.extend(std::iter::repeat_n(at as u32, text.len() - before));
    };
    let bytes = original.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // Most news text is ASCII: a byte is a character, and NFKC leaves it alone.
        let b = bytes[at];
        if b.is_ascii() {
            let b = if fold { b.to_ascii_lowercase() } else { b };
            if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'#' | b'&' | b'@' | b'_' | b'$' | b'%') {
                if pending_space {
                    text.push(' ');
                    map.push(at as u32);
                    pending_space = false;
                }
                text.push(b as char);
                map.push(at as u32);
            } else {
                pending_space = !text.is_empty();
            }
            at += 1;
            continue;
        }
        let c = original[at..].chars().next().expect("at is on a char boundary");
        for k in std::iter::once(c).nfkc() {
            if fold {
                for l in k.to_lowercase() {
                    push(l, at, &mut text, &mut map, &mut pending_space);
                }
            } else {
                push(k, at, &mut text, &mut map, &mut pending_space);
            }
        }
        at += c.len_utf8();
    }
    Norm { text, map }
}

impl Norm {
    /// Whether the match `start..end` of `term` stands as whole words.
    pub(super) fn bounded(&self, start: usize, end: usize, term: &CompiledTerm) -> bool {
        let before = self.text[..start].chars().next_back();
        let after = self.text[end..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| c == ' ' || is_unspaced_script(c));
        (term.open_start || edge(before)) && (term.key.prefix || term.open_end || edge(after))
    }

    /// The original byte range a normalised range came from.
    pub(super) fn original_range(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        let s = self.map[start] as usize;
        let last = self.map[end - 1] as usize;
        let e = last + original[last..].chars().next().map_or(0, char::len_utf8);
        (s, e)
    }

    /// The index of the word holding byte `at`; in scripts without spaces each character is a word.
    pub(super) fn word_at(&self, at: usize) -> usize {
        let mut words: usize = 0;
        let mut in_word = false;
        for (i, c) in self.text.char_indices() {
            if i > at {
                break;
            }
            if c == ' ' {
                in_word = false;
            } else if is_unspaced_script(c) || !in_word {
                words += 1;
                in_word = !is_unspaced_script(c);
            }
        }
        words.saturating_sub(1)
    }
}

/// Scripts whose words are not separated by spaces, so that word boundaries say nothing there.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF      // Thai, Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables (particles attach to nouns)
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FFFF  // CJK extensions B and later
    )
}
