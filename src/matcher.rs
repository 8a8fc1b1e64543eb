//! Matching entries against topics: which topics match, which terms matched, and a snippet of
//! text around the first match.
//!
//! Text and terms are compared after Unicode NFKC normalisation and case folding (terms listed in
//! a topic's `case_sensitive` keep their case). Between words, any run of spaces, hyphens and
//! punctuation counts as one separator, so `"Self-Defense Forces"` matches "Self Defense Forces"
//! and `NATO` matches "NATO's". Terms match whole words; at the edge of a script written without
//! spaces (Chinese, Japanese, Thai) there is no boundary to test, so `自衛隊` matches "陸上自衛隊の".
//!
//! All topics' terms are compiled into one Aho-Corasick automaton: one pass over an entry finds
//! every term of every topic, so the cost per entry does not grow with the number of topics.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use unicode_normalization::UnicodeNormalization;

use crate::config::Topic;
use crate::model::{Entry, MatchResult, Snippet, TopicHit};
use crate::query::{Expr, Field, Term};

/// Characters of text shown around a match.
const SNIPPET_CHARS: usize = 200;
/// How much of the snippet comes before the first match.
const SNIPPET_LEAD: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum MatcherError {
    #[error("topic {topic:?}: term {term:?} has no letters or digits to match")]
    EmptyTerm { topic: String, term: String },
    #[error("cannot build the keyword automaton: {0}")]
    Automaton(String),
}

/// A term as matched: normalised text and how its edges are tested.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TermKey {
    norm: String,
    prefix: bool,
    exact: bool,
}

#[derive(Debug)]
struct CompiledTerm {
    key: TermKey,
    /// No word boundary is needed where the term starts/ends in a script without spaces.
    open_start: bool,
    open_end: bool,
}

#[derive(Debug)]
enum Rule {
    Term(usize, Field),
    Site(String),
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Near((usize, Field), (usize, Field), usize),
}

#[derive(Debug)]
struct CompiledTopic {
    name: String,
    rule: Rule,
    /// Terms that count as "matched keywords" when they occur: (term id, field, as written).
    positive: Vec<(usize, Field, String)>,
}

/// One automaton over the folded text, one over the exact (case-kept) text.
#[derive(Debug)]
struct Automaton {
    ac: AhoCorasick,
    /// Pattern id to term id.
    terms: Vec<usize>,
}

#[derive(Debug)]
pub struct Matcher {
    topics: Vec<CompiledTopic>,
    terms: Vec<CompiledTerm>,
    folded: Option<Automaton>,
    exact: Option<Automaton>,
}

/// Where an occurrence was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Title,
    Body,
}

#[derive(Debug, Clone, Copy)]
struct Occurrence {
    term: usize,
    place: Place,
    /// Byte range in the normalised text (folded or exact, as the term is).
    start: usize,
    end: usize,
    /// Byte range in the original text.
    orig_start: usize,
    orig_end: usize,
}

/// What `explain` reports for one topic and one text.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub topic: String,
    /// The topic's rule as read, with explicit operators.
    pub reading: String,
    pub matched: bool,
    /// Each term of the topic: as written, where it must occur, and how often it occurred in the
    /// title and in the text.
    pub terms: Vec<TermReport>,
    pub snippet: Snippet,
}

#[derive(Debug, Clone)]
pub struct TermReport {
    pub term: String,
    pub title_only: bool,
    pub negated: bool,
    pub in_title: usize,
    pub in_text: usize,
}

impl Matcher {
    pub fn new(topics: &[Topic]) -> Result<Matcher, MatcherError> {
        let mut terms: Vec<CompiledTerm> = Vec::new();
        let mut index: HashMap<TermKey, usize> = HashMap::new();
        let mut compiled = Vec::new();
        for topic in topics {
            let exact_terms: Vec<String> = topic.case_sensitive.iter().map(|t| normalize(t, false).text).collect();
            let mut intern = |t: &Term| -> Result<usize, MatcherError> {
                let exact = exact_terms.contains(&normalize(&t.text, false).text);
                let norm = normalize(&t.text, !exact).text;
                if norm.is_empty() {
                    return Err(MatcherError::EmptyTerm {
                        topic: topic.name.clone(),
                        term: t.text.clone(),
                    });
                }
                let key = TermKey {
                    norm,
                    prefix: t.prefix,
                    exact,
                };
                Ok(*index.entry(key.clone()).or_insert_with(|| {
                    terms.push(CompiledTerm {
                        open_start: key.norm.chars().next().is_some_and(is_unspaced_script),
                        open_end: key.norm.chars().next_back().is_some_and(is_unspaced_script),
                        key,
                    });
                    terms.len() - 1
                }))
            };
            let rule = compile(&topic.rule, &mut intern)?;
            let mut positive = Vec::new();
            for t in topic.rule.positive_terms() {
                let id = intern(t)?;
                if !positive.iter().any(|(i, f, _)| *i == id && *f == t.field) {
                    positive.push((id, t.field, t.text.clone()));
                }
            }
            compiled.push(CompiledTopic {
                name: topic.name.clone(),
                rule,
                positive,
            });
        }
        let automaton = |exact: bool| -> Result<Option<Automaton>, MatcherError> {
            let ids: Vec<usize> = (0..terms.len()).filter(|&i| terms[i].key.exact == exact).collect();
            if ids.is_empty() {
                return Ok(None);
            }
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                // A DFA is larger to build but the fastest to run, and it is built once.
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(ids.iter().map(|&i| terms[i].key.norm.as_str()))
                .map_err(|e| MatcherError::Automaton(e.to_string()))?;
            Ok(Some(Automaton { ac, terms: ids }))
        };
        Ok(Matcher {
            folded: automaton(false)?,
            exact: automaton(true)?,
            topics: compiled,
            terms,
        })
    }

    /// Matches an entry's title, text and link against every topic; `None` when none matches.
    pub fn match_entry(&self, entry: &Entry) -> Option<MatchResult> {
        let scan = self.scan(&entry.title, &entry.body);
        let mut hits = Vec::new();
        let mut shown: Vec<usize> = Vec::new();
        for topic in &self.topics {
            if !scan.eval(&topic.rule, entry.link.as_deref()) {
                continue;
            }
            let mut keywords = Vec::new();
            for (id, field, text) in &topic.positive {
                if scan.occurs(*id, *field) {
                    if !keywords.contains(text) {
                        keywords.push(text.clone());
                    }
                    shown.push(*id);
                }
            }
            hits.push(TopicHit {
                topic: topic.name.clone(),
                keywords,
            });
        }
        if hits.is_empty() {
            return None;
        }
        Some(MatchResult {
            hits,
            snippet: snippet(&entry.body, &scan.occurrences, &shown),
        })
    }

    /// How topic `name` reads and matches `entry`, term by term; `None` if there is no such topic.
    pub fn explain(&self, name: &str, topics: &[Topic], entry: &Entry) -> Option<Explanation> {
        let (topic, config) = self.topics.iter().zip(topics).find(|(t, _)| t.name == name)?;
        let scan = self.scan(&entry.title, &entry.body);
        let matched = scan.eval(&topic.rule, entry.link.as_deref());
        let positive: Vec<&Term> = config.rule.positive_terms();
        let mut terms = Vec::new();
        for t in config.rule.all_terms() {
            let exact = config
                .case_sensitive
                .iter()
                .any(|c| normalize(c, false).text == normalize(&t.text, false).text);
            let key = TermKey {
                norm: normalize(&t.text, !exact).text,
                prefix: t.prefix,
                exact,
            };
            let Some(id) = self.terms.iter().position(|c| c.key == key) else {
                continue;
            };
            let count = |p: Place| scan.occurrences.iter().filter(|o| o.term == id && o.place == p).count();
            let label = if t.prefix {
                format!("{}*", t.text)
            } else {
                t.text.clone()
            };
            if terms
                .iter()
                .any(|r: &TermReport| r.term == label && r.title_only == (t.field == Field::Title))
            {
                continue;
            }
            terms.push(TermReport {
                term: label,
                title_only: t.field == Field::Title,
                negated: !positive.contains(&t),
                in_title: count(Place::Title),
                in_text: if t.field == Field::Title { 0 } else { count(Place::Body) },
            });
        }
        let shown: Vec<usize> = topic
            .positive
            .iter()
            .filter(|(id, field, _)| scan.occurs(*id, *field))
            .map(|(id, _, _)| *id)
            .collect();
        Some(Explanation {
            topic: topic.name.clone(),
            reading: config.rule.to_string(),
            matched,
            terms,
            snippet: if matched {
                snippet(&entry.body, &scan.occurrences, &shown)
            } else {
                Snippet::default()
            },
        })
    }

    fn scan(&self, title: &str, body: &str) -> Scan<'_> {
        let mut occurrences = Vec::new();
        let mut texts = Vec::new();
        for (place, original) in [(Place::Title, title), (Place::Body, body)] {
            for (automaton, fold) in [(&self.folded, true), (&self.exact, false)] {
                let Some(automaton) = automaton else { continue };
                let norm = normalize(original, fold);
                for m in automaton.ac.find_overlapping_iter(&norm.text) {
                    let id = automaton.terms[m.pattern().as_usize()];
                    let term = &self.terms[id];
                    if !norm.bounded(m.start(), m.end(), term) {
                        continue;
                    }
                    let (orig_start, orig_end) = norm.original_range(original, m.start(), m.end());
                    occurrences.push(Occurrence {
                        term: id,
                        place,
                        start: m.start(),
                        end: m.end(),
                        orig_start,
                        orig_end,
                    });
                }
                texts.push((place, fold, norm));
            }
        }
        let mut anywhere = vec![false; self.terms.len()];
        let mut in_title = vec![false; self.terms.len()];
        for o in &occurrences {
            anywhere[o.term] = true;
            in_title[o.term] |= o.place == Place::Title;
        }
        Scan {
            matcher: self,
            occurrences,
            anywhere,
            in_title,
            texts,
        }
    }
}

fn compile(expr: &Expr, intern: &mut impl FnMut(&Term) -> Result<usize, MatcherError>) -> Result<Rule, MatcherError> {
    Ok(match expr {
        Expr::Term(t) => Rule::Term(intern(t)?, t.field),
        Expr::Site(h) => Rule::Site(h.clone()),
        Expr::And(v) => Rule::And(v.iter().map(|e| compile(e, intern)).collect::<Result<_, _>>()?),
        Expr::Or(v) => Rule::Or(v.iter().map(|e| compile(e, intern)).collect::<Result<_, _>>()?),
        Expr::Not(e) => Rule::Not(Box::new(compile(e, intern)?)),
        Expr::Near(a, b, n) => Rule::Near((intern(a)?, a.field), (intern(b)?, b.field), *n),
    })
}

/// The occurrences of every term in one entry.
struct Scan<'m> {
    matcher: &'m Matcher,
    occurrences: Vec<Occurrence>,
    /// Per term: occurs anywhere / in the title (the rules ask these again and again).
    anywhere: Vec<bool>,
    in_title: Vec<bool>,
    /// The normalised texts, for word positions (NEAR).
    texts: Vec<(Place, bool, Norm)>,
}

impl Scan<'_> {
    fn occurs(&self, term: usize, field: Field) -> bool {
        match field {
            Field::Anywhere => self.anywhere[term],
            Field::Title => self.in_title[term],
        }
    }

    fn eval(&self, rule: &Rule, link: Option<&str>) -> bool {
        match rule {
            Rule::Term(id, field) => self.occurs(*id, *field),
            Rule::Site(host) => link
                .and_then(|l| url::Url::parse(l).ok())
                .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                .is_some_and(|h| h == *host || h.ends_with(&format!(".{host}"))),
            Rule::And(v) => v.iter().all(|r| self.eval(r, link)),
            Rule::Or(v) => v.iter().any(|r| self.eval(r, link)),
            Rule::Not(r) => !self.eval(r, link),
            Rule::Near(a, b, n) => self.near(*a, *b, *n),
        }
    }

    /// Whether an occurrence of `a` and one of `b` in the same text are at most `n` words apart.
    fn near(&self, a: (usize, Field), b: (usize, Field), n: usize) -> bool {
        let allowed = |o: &Occurrence, f: Field| f == Field::Anywhere || o.place == Place::Title;
        for oa in self.occurrences.iter().filter(|o| o.term == a.0 && allowed(o, a.1)) {
            for ob in self
                .occurrences
                .iter()
                .filter(|o| o.term == b.0 && allowed(o, b.1) && o.place == oa.place)
            {
                let fold_a = !self.matcher.terms[oa.term].key.exact;
                let fold_b = !self.matcher.terms[ob.term].key.exact;
                // Positions from the same normalised text when both terms agree on case, else
                // from each one's own (word counts are the same in both).
                let words = |o: &Occurrence, fold: bool| {
                    self.texts
                        .iter()
                        .find(|(p, f, _)| *p == o.place && *f == fold)
                        .map(|(_, _, norm)| (norm.word_at(o.start), norm.word_at(o.end.saturating_sub(1))))
                };
                let (Some((a_first, a_last)), Some((b_first, b_last))) = (words(oa, fold_a), words(ob, fold_b)) else {
                    continue;
                };
                let gap = if a_first <= b_first {
                    b_first.saturating_sub(a_last + 1)
                } else {
                    a_first.saturating_sub(b_last + 1)
                };
                if gap <= n {
                    return true;
                }
            }
        }
        false
    }
}

/// Text prepared for matching, with a way back to the original.
#[derive(Debug)]
struct Norm {
    text: String,
    /// For each byte of `text`, the byte offset in the original of the character it came from.
    map: Vec<u32>,
}

/// Characters that are part of words besides letters and digits: `C++`, `C#`, `AT&T`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '+' | '#' | '&' | '@' | '_' | '$' | '%')
}

/// NFKC, then (with `fold`) lower case; every run of characters that are not word characters
/// becomes one space.
fn normalize(original: &str, fold: bool) -> Norm {
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
    fn bounded(&self, start: usize, end: usize, term: &CompiledTerm) -> bool {
        let before = self.text[..start].chars().next_back();
        let after = self.text[end..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| c == ' ' || is_unspaced_script(c));
        (term.open_start || edge(before)) && (term.key.prefix || term.open_end || edge(after))
    }

    /// The original byte range a normalised range came from.
    fn original_range(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        let s = self.map[start] as usize;
        let last = self.map[end - 1] as usize;
        let e = last + original[last..].chars().next().map_or(0, char::len_utf8);
        (s, e)
    }

    /// The index of the word holding byte `at`; in scripts without spaces each character is a word.
    fn word_at(&self, at: usize) -> usize {
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
fn is_unspaced_script(c: char) -> bool {
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

/// About [`SNIPPET_CHARS`] characters of `body` around the earliest occurrence in it of the
/// `shown` terms (or its start, when they matched only the title), with every one marked.
fn snippet(body: &str, occurrences: &[Occurrence], shown: &[usize]) -> Snippet {
    if body.is_empty() {
        return Snippet::default();
    }
    let mut in_body: Vec<(usize, usize)> = occurrences
        .iter()
        .filter(|o| o.place == Place::Body && shown.contains(&o.term))
        .map(|o| (o.orig_start, o.orig_end))
        .collect();
    in_body.sort_unstable();
    let first = in_body.first().map_or(0, |o| o.0);

    // Start a little before the match, at a word boundary when one is near.
    let mut start = body[..first]
        .char_indices()
        .rev()
        .nth(SNIPPET_LEAD - 1)
        .map_or(0, |(i, _)| i);
    if start > 0
        && let Some(ws) = body[start..first].find(char::is_whitespace)
    {
        start += ws;
    }
    let mut end = body[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(body.len(), |(i, _)| start + i);
    if end < body.len()
        && let Some(ws) = body[first.max(start)..end].rfind(char::is_whitespace)
    {
        end = first.max(start) + ws;
    }
    let inner = &body[start..end];
    let lead = inner.len() - inner.trim_start().len();
    let kept = inner.trim();
    let (from, to) = (start + lead, start + lead + kept.len());

    let mut text = String::with_capacity(kept.len() + 8);
    if start > 0 {
        text.push('…');
    }
    let shift = text.len();
    text.push_str(kept);
    if end < body.len() {
        text.push('…');
    }

    let mut marks: Vec<(usize, usize)> = Vec::new();
    for (s, e) in in_body {
        if s < from || e > to {
            continue;
        }
        let (s, e) = (s - from + shift, e - from + shift);
        match marks.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => marks.push((s, e)),
        }
    }
    Snippet { text, marks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query;

    fn topic(name: &str, rule: Expr) -> Topic {
        Topic {
            name: name.into(),
            rule,
            case_sensitive: Vec::new(),
        }
    }

    fn keywords(words: &[&str]) -> Matcher {
        let words: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        Matcher::new(&[topic("T", query::any_of(&words))]).unwrap()
    }

    fn entry(title: &str, body: &str) -> Entry {
        Entry {
            guid: "g".into(),
            link: Some("https://news.example.org/a".into()),
            title: title.into(),
            body: body.into(),
            published: None,
        }
    }

    fn matches(keyword: &str, text: &str) -> bool {
        keywords(&[keyword]).match_entry(&entry(text, "")).is_some()
    }

    fn query_matches(q: &str, title: &str, body: &str) -> bool {
        Matcher::new(&[topic("Q", query::parse(q).unwrap())])
            .unwrap()
            .match_entry(&entry(title, body))
            .is_some()
    }

    #[test]
    fn whole_words_case_insensitive() {
        assert!(matches("NATO", "Nato summit opens"));
        assert!(matches("NATO", "NATO's new members"));
        assert!(matches("NATO", "(NATO)"));
        assert!(!matches("NATO", "Donato wins"));
        assert!(!matches("NATO", "NATOS"));
        assert!(matches("SDF", "The SDF deployed"));
        assert!(!matches("SDF", "SDFormat 1.9 released"));
        assert!(!matches("nat", "natural gas"));
        assert!(matches("Ukraine", "UKRAINE talks"));
    }

    #[test]
    fn phrases_match_across_spacing_hyphens_and_punctuation() {
        assert!(matches("Self-Defense Forces", "Japan's Self-Defense  Forces train"));
        assert!(matches("Self-Defense Forces", "self defense\nforces"));
        assert!(matches("Self Defense Forces", "Self—Defense, Forces"));
        assert!(!matches("Self-Defense Forces", "self-defense force"));
    }

    #[test]
    fn nfkc_full_width_and_unicode_case() {
        assert!(matches("NATO", "ＮＡＴＯ首脳会議"));
        assert!(matches("Україна", "УКРАЇНА і НАТО"));
        assert!(matches("自衛隊", "陸上自衛隊は演習を行った"));
        assert!(matches("NATO", "日本とNATOの協力"));
    }

    #[test]
    fn symbols_that_make_words() {
        assert!(matches("C++", "Learning C++ today"));
        assert!(!matches("C++", "Learning C today"));
        assert!(matches("AT&T", "AT&T results"));
        assert!(!matches("a.c", "abc"));
    }

    #[test]
    fn case_sensitive_terms() {
        let mut t = topic("T", query::any_of(&["SDF".to_string(), "Japan".to_string()]));
        t.case_sensitive = vec!["SDF".into()];
        let m = Matcher::new(&[t]).unwrap();
        assert!(m.match_entry(&entry("SDF drills", "")).is_some());
        assert!(m.match_entry(&entry("sdf files", "")).is_none());
        assert!(m.match_entry(&entry("JAPAN", "")).is_some());
    }

    #[test]
    fn query_operators() {
        assert!(query_matches("NATO Ukraine", "NATO and Ukraine", ""));
        assert!(!query_matches("NATO Ukraine", "NATO alone", ""));
        assert!(query_matches("NATO Ukraine OR Russia", "NATO warns Russia", ""));
        assert!(!query_matches("NATO Ukraine OR Russia", "Russia alone", ""));
        assert!(!query_matches("NATO -football", "NATO football cup", ""));
        assert!(query_matches("NATO -\"press release\"", "NATO press", "release"));
        assert!(!query_matches("NATO NOT drill", "NATO", "a drill"));
        assert!(query_matches("Ukrain*", "Ukrainian forces", ""));
        assert!(query_matches("Ukrain*", "Ukraine's army", ""));
        assert!(query_matches("Ukrain*", "the Ukrain", ""));
        assert!(!query_matches("Ukrain*", "xUkraine", ""));
        assert!(query_matches("intitle:NATO", "NATO here", "nothing"));
        assert!(!query_matches("intitle:NATO", "Nothing", "NATO in body"));
        assert!(query_matches("NATO site:example.org", "NATO", ""));
        assert!(!query_matches("NATO site:other.org", "NATO", ""));
        assert!(query_matches("(NATO OR EU) (Japan -China)", "EU and Japan", ""));
    }

    #[test]
    fn near_counts_words_between() {
        assert!(!query_matches(
            "NATO NEAR/3 Japan",
            "NATO said on Monday that Japan",
            ""
        ));
        assert!(query_matches("NATO NEAR/4 Japan", "NATO said on Monday that Japan", ""));
        assert!(query_matches("NATO NEAR/4 Japan", "Japan said on Monday that NATO", ""));
        assert!(query_matches("NATO NEAR/0 Japan", "", "NATO Japan"));
        assert!(
            !query_matches("NATO NEAR/2 Japan", "NATO", "Japan"),
            "title and text are apart"
        );
        assert!(query_matches("自衛隊 NEAR/2 訓練", "", "自衛隊が訓練"));
    }

    #[test]
    fn records_topics_and_keywords_in_one_pass() {
        let m = Matcher::new(&[
            topic("Japan", query::any_of(&["SDF".into(), "Japan".into()])),
            topic("Alliance", query::any_of(&["NATO".into()])),
            topic("Other", query::any_of(&["Mars".into()])),
        ])
        .unwrap();
        let r = m.match_entry(&entry("SDF and NATO", "joint exercise")).unwrap();
        assert_eq!(
            r.hits,
            vec![
                TopicHit {
                    topic: "Japan".into(),
                    keywords: vec!["SDF".into()]
                },
                TopicHit {
                    topic: "Alliance".into(),
                    keywords: vec!["NATO".into()]
                },
            ]
        );
        assert!(m.match_entry(&entry("Nothing here", "at all")).is_none());
    }

    #[test]
    fn snippet_surrounds_first_match_and_marks_keywords() {
        let filler = "lorem ipsum ".repeat(30);
        let body = format!("{filler}The NATO summit discussed Ukraine and nato aid. {filler}");
        let r = keywords(&["NATO", "Ukraine"])
            .match_entry(&entry("Headline", &body))
            .unwrap();
        let s = &r.snippet;
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
        assert!(s.text.chars().count() <= SNIPPET_CHARS + 2);
        let marked: Vec<&str> = s.marks.iter().map(|&(a, b)| &s.text[a..b]).collect();
        assert_eq!(marked, vec!["NATO", "Ukraine", "nato"]);
    }

    #[test]
    fn snippet_marks_the_original_text() {
        let r = keywords(&["NATO"])
            .match_entry(&entry("x", "Die ＮＡＴＯ-Gipfel"))
            .unwrap();
        let marked: Vec<&str> = r.snippet.marks.iter().map(|&(a, b)| &r.snippet.text[a..b]).collect();
        assert_eq!(marked, vec!["ＮＡＴＯ"]);
        let r = keywords(&["NATO"]).match_entry(&entry("NATO", "Short body.")).unwrap();
        assert_eq!(r.snippet.text, "Short body.");
        assert!(r.snippet.marks.is_empty());
    }

    #[test]
    fn explain_reports_each_term() {
        let t = topic("Q", query::parse("NATO -football intitle:Japan").unwrap());
        let m = Matcher::new(std::slice::from_ref(&t)).unwrap();
        let x = m
            .explain("Q", std::slice::from_ref(&t), &entry("Japan and NATO", "NATO again"))
            .unwrap();
        assert!(x.matched);
        assert_eq!(x.reading, "(NATO AND NOT football AND intitle:Japan)");
        let nato = x.terms.iter().find(|r| r.term == "NATO").unwrap();
        assert_eq!((nato.in_title, nato.in_text, nato.negated), (1, 1, false));
        assert!(x.terms.iter().find(|r| r.term == "football").unwrap().negated);
    }
}
