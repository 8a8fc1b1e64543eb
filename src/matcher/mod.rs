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
//!
//! Pure: entries and topics in, verdicts out; never reads the store or fetches.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::config::Topic;
use crate::model::{Entry, MatchResult, Snippet, TopicHit};
use crate::query::{Expr, Field, Term};

mod normalize;
mod snippet;

pub use normalize::is_unspaced_script;
use normalize::{Norm, normalize};
use snippet::{snippet, title_marks};

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
    /// One word of each term, in any ASCII case: a text holding none of them (and no character
    /// that normalising changes) holds no term, and is not normalised at all. Most entries
    /// match nothing.
    anchors: AhoCorasick,
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
            anchors: anchors(&terms)?,
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
            title_marks: title_marks(&scan.occurrences, &shown),
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
        let none_here = |text: &str| all_unchanged(text) && !self.anchors.is_match(text);
        let both = [(Place::Title, title), (Place::Body, body)];
        let places = match none_here(title) && none_here(body) {
            true => &both[..0],
            false => &both[..],
        };
        for &(place, original) in places {
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

/// The longest word of each term. In a text whose characters are all [`unchanged`],
/// normalising only lower-cases ASCII letters and turns runs of other characters than word
/// characters into one space, so a term occurs in it only if each of its words does as
/// written, up to ASCII case. A term with a character that normalising changes cannot occur
/// in such a text at all.
fn anchors(terms: &[CompiledTerm]) -> Result<AhoCorasick, MatcherError> {
    let words = terms
        .iter()
        .filter(|t| t.key.norm.chars().all(unchanged))
        .filter_map(|t| t.key.norm.split(' ').max_by_key(|w| w.len()));
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(words)
        .map_err(|e| MatcherError::Automaton(e.to_string()))
}

/// Whether normalising leaves `c` as it is, but for ASCII case: ASCII, lower-case accented
/// letters, CJK, dashes and quotes do; capitals, full-width letters and ligatures do not.
fn unchanged(c: char) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let one = |i: &mut dyn Iterator<Item = char>| i.next() == Some(c) && i.next().is_none();
    c.is_ascii() || (one(&mut std::iter::once(c).nfkc()) && one(&mut c.to_lowercase()))
}

/// Whether every character of `text` is [`unchanged`] (checked for non-ASCII ones only).
fn all_unchanged(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.bytes().position(|b| !b.is_ascii()) {
        let Some(c) = rest[i..].chars().next() else { break };
        if !unchanged(c) {
            return false;
        }
        rest = &rest[i + c.len_utf8()..];
    }
    true
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

#[cfg(test)]
mod tests;
