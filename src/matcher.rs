//! Keyword matching: which topics an entry belongs to, which keywords matched, and a snippet of
//! text around the first match.
//!
//! A keyword matches as a whole word or phrase, case-insensitively, with Unicode word boundaries:
//! `NATO` matches "Nato summit" and "NATO's", not "Donato". Scripts written without spaces
//! (Chinese, Japanese, Thai, Korean particles) have no word boundaries to test, so a keyword
//! edge in such a script matches anywhere: `自衛隊` matches "自衛隊は".

use regex::Regex;

use crate::config::Topic;
use crate::model::{MatchResult, Snippet, TopicHit};

/// Characters of text shown around a match.
const SNIPPET_CHARS: usize = 200;
/// How much of the snippet comes before the first match.
const SNIPPET_LEAD: usize = 60;

#[derive(Debug, thiserror::Error)]
#[error("topic {topic:?}: keyword {keyword:?} cannot be matched: {reason}")]
pub struct MatcherError {
    topic: String,
    keyword: String,
    reason: String,
}

#[derive(Debug)]
struct Keyword {
    text: String,
    /// The phrase alone; word boundaries are checked by hand (see [`Keyword::find_iter`]).
    regex: Regex,
    /// Whether a match must not continue a word on its left / right.
    bounded_left: bool,
    bounded_right: bool,
}

impl Keyword {
    fn new(text: &str) -> Result<Keyword, regex::Error> {
        let body = text
            .split_whitespace()
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(r"\s+");
        let bounded = |c: Option<char>| c.is_some_and(|c| is_word_char(c) && !is_unspaced_script(c));
        Ok(Keyword {
            text: text.to_string(),
            regex: Regex::new(&format!("(?i){body}"))?,
            bounded_left: bounded(text.chars().next()),
            bounded_right: bounded(text.chars().next_back()),
        })
    }

    /// Byte ranges of whole-word matches. `\b` cannot express "a boundary, or a neighbour in a
    /// script without spaces" (`日本とNATOの` holds NATO as a word), so the edges are checked here.
    fn find_iter<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        self.regex
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .filter(move |&(s, e)| {
                let edge = |c: Option<char>| c.is_none_or(|c| !is_word_char(c) || is_unspaced_script(c));
                (!self.bounded_left || edge(text[..s].chars().next_back()))
                    && (!self.bounded_right || edge(text[e..].chars().next()))
            })
    }

    fn is_match(&self, text: &str) -> bool {
        self.find_iter(text).next().is_some()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[derive(Debug)]
struct TopicMatcher {
    name: String,
    keywords: Vec<Keyword>,
}

#[derive(Debug)]
pub struct Matcher {
    topics: Vec<TopicMatcher>,
}

impl Matcher {
    pub fn new(topics: &[Topic]) -> Result<Matcher, MatcherError> {
        let topics = topics
            .iter()
            .map(|t| {
                let keywords = t
                    .keywords
                    .iter()
                    .map(|k| {
                        Keyword::new(k).map_err(|e| MatcherError {
                            topic: t.name.clone(),
                            keyword: k.clone(),
                            reason: e.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(TopicMatcher {
                    name: t.name.clone(),
                    keywords,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Matcher { topics })
    }

    /// Matches an entry's title and body against every topic; `None` when no topic matches.
    pub fn match_entry(&self, title: &str, body: &str) -> Option<MatchResult> {
        let mut hits = Vec::new();
        let mut matched: Vec<&Keyword> = Vec::new();
        for topic in &self.topics {
            let found: Vec<&Keyword> = topic
                .keywords
                .iter()
                .filter(|k| k.is_match(title) || k.is_match(body))
                .collect();
            if !found.is_empty() {
                hits.push(TopicHit {
                    topic: topic.name.clone(),
                    keywords: found.iter().map(|k| k.text.clone()).collect(),
                });
                matched.extend(found);
            }
        }
        if hits.is_empty() {
            return None;
        }
        Some(MatchResult {
            hits,
            snippet: snippet(body, &matched),
        })
    }
}

/// Scripts whose words are not separated by spaces, so that `\b` says nothing there.
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

/// About [`SNIPPET_CHARS`] characters of `body` around the earliest match of any of `keywords`
/// (or its start, when the keywords matched only the title), with every keyword occurrence marked.
fn snippet(body: &str, keywords: &[&Keyword]) -> Snippet {
    if body.is_empty() {
        return Snippet::default();
    }
    let first = keywords
        .iter()
        .filter_map(|k| k.find_iter(body).next().map(|(s, _)| s))
        .min()
        .unwrap_or(0);

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

    let mut text = String::with_capacity(end - start + 8);
    if start > 0 {
        text.push('…');
    }
    text.push_str(body[start..end].trim());
    if end < body.len() {
        text.push('…');
    }

    let mut marks: Vec<(usize, usize)> = keywords
        .iter()
        .flat_map(|k| k.find_iter(&text))
        .filter(|(s, e)| s < e)
        .collect();
    marks.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(marks.len());
    for (s, e) in marks {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    Snippet { text, marks: merged }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(keywords: &[&str]) -> Matcher {
        Matcher::new(&[Topic {
            name: "T".into(),
            keywords: keywords.iter().map(|s| s.to_string()).collect(),
        }])
        .unwrap()
    }

    fn matches(keyword: &str, text: &str) -> bool {
        matcher(&[keyword]).match_entry(text, "").is_some()
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
        assert!(matches("Ukraine", "UKRAINE talks"));
    }

    #[test]
    fn phrases_match_across_any_spacing() {
        assert!(matches("Self-Defense Forces", "Japan's Self-Defense  Forces train"));
        assert!(matches("Self-Defense Forces", "self-defense\nforces"));
        assert!(!matches("Self-Defense Forces", "self-defense force"));
    }

    #[test]
    fn unicode_case_and_boundaries() {
        assert!(matches("Україна", "УКРАЇНА і НАТО"));
        assert!(!matches("nato", "donato"));
        assert!(matches("自衛隊", "陸上自衛隊は演習を行った"));
        assert!(matches("NATO", "日本とNATOの協力"));
    }

    #[test]
    fn regex_syntax_in_keywords_is_literal() {
        assert!(matches("C++", "Learning C++ today"));
        assert!(!matches("a.c", "abc"));
    }

    #[test]
    fn records_topics_and_keywords() {
        let m = Matcher::new(&[
            Topic {
                name: "Japan".into(),
                keywords: vec!["SDF".into(), "Japan".into()],
            },
            Topic {
                name: "Alliance".into(),
                keywords: vec!["NATO".into()],
            },
            Topic {
                name: "Other".into(),
                keywords: vec!["Mars".into()],
            },
        ])
        .unwrap();
        let r = m.match_entry("SDF and NATO", "joint exercise").unwrap();
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
        assert!(m.match_entry("Nothing here", "at all").is_none());
    }

    #[test]
    fn snippet_surrounds_first_match_and_marks_keywords() {
        let filler = "lorem ipsum ".repeat(30);
        let body = format!("{filler}The NATO summit discussed Ukraine and nato aid. {filler}");
        let r = matcher(&["NATO", "Ukraine"]).match_entry("Headline", &body).unwrap();
        let s = &r.snippet;
        assert!(s.text.starts_with('…') && s.text.ends_with('…'), "{}", s.text);
        assert!(s.text.chars().count() <= SNIPPET_CHARS + 2);
        let marked: Vec<&str> = s.marks.iter().map(|&(a, b)| &s.text[a..b]).collect();
        assert_eq!(marked, vec!["NATO", "Ukraine", "nato"]);
    }

    #[test]
    fn snippet_of_short_text_is_whole_text() {
        let r = matcher(&["NATO"]).match_entry("NATO", "Short body.").unwrap();
        assert_eq!(r.snippet.text, "Short body.");
        assert!(r.snippet.marks.is_empty());
        let r = matcher(&["ß"]).match_entry("", "ßßß ß ü").unwrap();
        assert!(r.snippet.text.is_char_boundary(r.snippet.marks[0].0));
    }
}
