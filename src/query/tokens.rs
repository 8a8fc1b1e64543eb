//! A query's text as tokens: words, phrases, `intitle:` and `site:` terms, operators and
//! parentheses, each with its column; a term too long to match in reasonable time is an error
//! here, where its column is known.

use std::fmt;

use super::{QueryError, check_term};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    Word(String),
    Phrase(String),
    /// `intitle:` before a word or phrase.
    InTitle(Box<Kind>),
    Site(String),
    And,
    Or,
    Not,
    /// `-` glued to what follows.
    Minus,
    Near(usize),
    Open,
    Close,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Word(w) => write!(f, "word {w:?}"),
            Kind::Phrase(p) => write!(f, "phrase \"{p}\""),
            Kind::InTitle(_) => write!(f, "intitle:"),
            Kind::Site(s) => write!(f, "site:{s}"),
            Kind::And => write!(f, "AND"),
            Kind::Or => write!(f, "OR"),
            Kind::Not => write!(f, "NOT"),
            Kind::Minus => write!(f, "'-'"),
            Kind::Near(n) => write!(f, "NEAR/{n}"),
            Kind::Open => write!(f, "'('"),
            Kind::Close => write!(f, "')'"),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) column: usize,
}

pub(super) fn tokenize(q: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: String| QueryError { column, message };
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(Token {
                    kind: Kind::Open,
                    column,
                });
                i += 1;
            }
            ')' => {
                out.push(Token {
                    kind: Kind::Close,
                    column,
                });
                i += 1;
            }
            '|' => {
                out.push(Token { kind: Kind::Or, column });
                i += 1;
            }
            '-' if chars.get(i + 1).is_some_and(|n| !n.is_whitespace() && *n != ')') => {
                out.push(Token {
                    kind: Kind::Minus,
                    column,
                });
                i += 1;
            }
            '"' | '“' | '”' => {
                let (phrase, next) = read_phrase(&chars, i)
                    .ok_or_else(|| err(column, "unterminated phrase: add the closing \"".into()))?;
                if phrase.trim().is_empty() {
                    return Err(err(column, "empty phrase".into()));
                }
                out.push(Token {
                    kind: Kind::Phrase(phrase),
                    column,
                });
                i = next;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !matches!(chars[i], '(' | ')' | '"' | '“' | '”')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let kind = match word.as_str() {
                    "AND" => Kind::And,
                    "OR" => Kind::Or,
                    "NOT" => Kind::Not,
                    w if w.starts_with("NEAR/") => {
                        let n = w["NEAR/".len()..].parse::<usize>().map_err(|_| {
                            err(
                                column,
                                format!("{w:?}: write NEAR/ and a number of words, e.g. NEAR/10"),
                            )
                        })?;
                        Kind::Near(n)
                    }
                    w if w.to_ascii_lowercase().starts_with("intitle:") => {
                        let rest = &w["intitle:".len()..];
                        if rest.is_empty() {
                            // intitle:"a phrase"
                            match chars.get(i) {
                                Some('"' | '“' | '”') => {
                                    let (phrase, next) = read_phrase(&chars, i)
                                        .ok_or_else(|| err(i + 1, "unterminated phrase: add the closing \"".into()))?;
                                    i = next;
                                    Kind::InTitle(Box::new(Kind::Phrase(phrase)))
                                }
                                _ => {
                                    return Err(err(
                                        column,
                                        "intitle: needs a word or a \"phrase\" right after it".into(),
                                    ));
                                }
                            }
                        } else {
                            Kind::InTitle(Box::new(Kind::Word(rest.to_string())))
                        }
                    }
                    w if w.to_ascii_lowercase().starts_with("site:") => {
                        let host = w["site:".len()..].trim_matches('/').to_ascii_lowercase();
                        let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
                        if host.is_empty() || host.contains('/') {
                            return Err(err(column, "site: needs a host name, e.g. site:example.org".into()));
                        }
                        Kind::Site(host)
                    }
                    _ => Kind::Word(word),
                };
                out.push(Token { kind, column });
            }
        }
    }
    for t in &out {
        let text = match &t.kind {
            Kind::Word(w) | Kind::Phrase(w) | Kind::Site(w) => w,
            Kind::InTitle(inner) => match inner.as_ref() {
                Kind::Word(w) | Kind::Phrase(w) => w,
                _ => continue,
            },
            _ => continue,
        };
        check_term(text).map_err(|m| err(t.column, m))?;
    }
    Ok(out)
}

/// Reads a quoted phrase starting at the quote at `i`; returns the text and the index after it.
fn read_phrase(chars: &[char], i: usize) -> Option<(String, usize)> {
    let end = chars[i + 1..].iter().position(|c| matches!(c, '"' | '“' | '”'))? + i + 1;
    Some((chars[i + 1..end].iter().collect(), end + 1))
}
