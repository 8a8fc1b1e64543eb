//! The query language of topics, as people know it from Google Alerts and news search:
//!
//! | syntax | meaning |
//! |---|---|
//! | `NATO Ukraine` | both (implicit AND); `AND` may be written |
//! | `NATO OR Ukraine`, `NATO \| Ukraine` | either |
//! | `"Self-Defense Forces"` | phrase |
//! | `-football`, `-"press release"`, `NOT x` | must not occur |
//! | `( ... )` | grouping |
//! | `Ukrain*` | word prefix |
//! | `intitle:NATO`, `intitle:"..."` | only in the title |
//! | `site:example.org` | only stories linked on that host or its subdomains |
//! | `NATO NEAR/10 Japan` | both, at most 10 words apart, either order |
//!
//! As in Google, `OR` binds tighter than the implicit AND: `NATO Ukraine OR Russia` is
//! `NATO AND (Ukraine OR Russia)`. `NEAR/n` binds tighter still, between two terms.
//!
//! Pure: a string in, an expression out; matching it is the matcher's work.

use std::fmt;

mod tokens;
use tokens::{Kind, Token, tokenize};

/// Where a term must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Anywhere,
    Title,
}

/// One searchable term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// As written (without quotes, `*` or `intitle:`).
    pub text: String,
    /// `Ukrain*`: matches words starting with the text.
    pub prefix: bool,
    pub field: Field,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Term(Term),
    /// `site:host`: the story's link is on `host` or a subdomain.
    Site(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Both terms at most `distance` words apart, either order.
    Near(Term, Term, usize),
}

/// A query that does not parse; `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

/// Keywords as a query: any of them, each as a phrase.
pub fn any_of(keywords: &[String]) -> Expr {
    Expr::Or(
        keywords
            .iter()
            .map(|k| {
                Expr::Term(Term {
                    text: k.clone(),
                    prefix: false,
                    field: Field::Anywhere,
                })
            })
            .collect(),
    )
}

/// Groups and negations nested deeper than this are refused: reading them recurses, and a
/// hostile or mistaken query 10,000 deep would overflow the stack. No real topic needs 20.
pub const MAX_DEPTH: usize = 50;
/// The longest term, in characters: building the matcher grows with its square, and a
/// sentence-long phrase is under 300.
pub const MAX_TERM: usize = 500;

/// `Err` with the reason when a keyword or term is too long to match in reasonable time.
pub fn check_term(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    match n > MAX_TERM {
        true => Err(format!(
            "a term of {n} characters (\"{}…\"); at most {MAX_TERM}",
            text.chars().take(20).collect::<String>()
        )),
        false => Ok(()),
    }
}

pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let tokens = tokenize(query)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: query.chars().count() + 1,
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(QueryError {
            column: 1,
            message: "the query is empty".into(),
        });
    }
    let expr = p.and_expr()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(QueryError {
            column: t.column,
            message: format!("unexpected {}", t.kind),
        });
    }
    if !has_positive(&expr) {
        return Err(QueryError {
            column: 1,
            message: "the query needs at least one term that must occur (it has only exclusions)".into(),
        });
    }
    Ok(expr)
}

/// Whether the expression can match because something occurs, not only because something does not.
fn has_positive(e: &Expr) -> bool {
    match e {
        Expr::Term(_) | Expr::Near(..) => true,
        Expr::Site(_) => false,
        Expr::And(v) | Expr::Or(v) => v.iter().any(has_positive),
        Expr::Not(_) => false,
    }
}

impl Expr {
    /// Every term that must (or may) occur for the expression to match, i.e. not under a NOT.
    pub fn positive_terms(&self) -> Vec<&Term> {
        let mut out = Vec::new();
        self.collect_terms(false, &mut out);
        out
    }

    /// Every term, under NOT or not.
    pub fn all_terms(&self) -> Vec<&Term> {
        let mut out = Vec::new();
        self.collect_terms(true, &mut out);
        out
    }

    fn collect_terms<'a>(&'a self, negated_too: bool, out: &mut Vec<&'a Term>) {
        match self {
            Expr::Term(t) => out.push(t),
            Expr::Near(a, b, _) => {
                out.push(a);
                out.push(b);
            }
            Expr::Site(_) => {}
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect_terms(negated_too, out)),
            Expr::Not(e) => {
                if negated_too {
                    e.collect_terms(negated_too, out);
                }
            }
        }
    }
}

/// How the query was read, with explicit operators and parentheses (for `explain` and docs).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn term(t: &Term) -> String {
            let field = if t.field == Field::Title { "intitle:" } else { "" };
            let star = if t.prefix { "*" } else { "" };
            if t.text.contains(char::is_whitespace) {
                format!("{field}\"{}\"{star}", t.text)
            } else {
                format!("{field}{}{star}", t.text)
            }
        }
        match self {
            Expr::Term(t) => write!(f, "{}", term(t)),
            Expr::Site(h) => write!(f, "site:{h}"),
            Expr::Near(a, b, n) => write!(f, "({} NEAR/{n} {})", term(a), term(b)),
            Expr::Not(e) => write!(f, "NOT {e}"),
            Expr::And(v) | Expr::Or(v) => {
                let op = if matches!(self, Expr::And(_)) { " AND " } else { " OR " };
                let parts: Vec<String> = v.iter().map(ToString::to_string).collect();
                if v.len() == 1 {
                    write!(f, "{}", parts[0])
                } else {
                    write!(f, "({})", parts.join(op))
                }
            }
        }
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Column just past the end of the query.
    end: usize,
    /// Groups and negations open around the current token.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.column)
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.column(),
            message: message.into(),
        })
    }

    /// One level deeper at the `(` or NOT in `column`, refused past [`MAX_DEPTH`]; `leave`
    /// when done.
    fn enter(&mut self, column: usize) -> Result<(), QueryError> {
        self.depth += 1;
        match self.depth > MAX_DEPTH {
            true => Err(QueryError {
                column,
                message: format!("groups and negations nested more than {MAX_DEPTH} deep; write the query flatter"),
            }),
            false => Ok(()),
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.or_expr()?];
        loop {
            match self.peek() {
                None | Some(Kind::Close) => break,
                Some(Kind::And) => {
                    self.pos += 1;
                    if matches!(self.peek(), None | Some(Kind::Close)) {
                        return self.error("AND needs a term after it");
                    }
                }
                _ => {}
            }
            items.push(self.or_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut items = vec![self.unary()?];
        while matches!(self.peek(), Some(Kind::Or)) {
            self.pos += 1;
            if matches!(self.peek(), None | Some(Kind::Close | Kind::Or | Kind::And)) {
                return self.error("OR needs a term after it");
            }
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if matches!(self.peek(), Some(Kind::Minus | Kind::Not)) {
            let at = self.column();
            self.pos += 1;
            if matches!(self.peek(), None | Some(Kind::Close | Kind::Or | Kind::And)) {
                return self.error("NOT or '-' needs a term after it");
            }
            self.enter(at)?;
            let inner = self.unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        let left = self.primary()?;
        if let Some(Kind::Near(n)) = self.peek().cloned() {
            let at = self.column();
            self.pos += 1;
            let right = self.primary()?;
            return match (left, right) {
                (Expr::Term(a), Expr::Term(b)) => Ok(Expr::Near(a, b, n)),
                _ => Err(QueryError {
                    column: at,
                    message: "NEAR joins two words or phrases, not groups or site:".into(),
                }),
            };
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return self.error("the query ends where a term was expected");
        };
        self.pos += 1;
        match token.kind {
            Kind::Open => {
                if matches!(self.peek(), Some(Kind::Close)) {
                    return self.error("empty parentheses");
                }
                self.enter(token.column)?;
                let inner = self.and_expr()?;
                self.leave();
                if !matches!(self.peek(), Some(Kind::Close)) {
                    return Err(QueryError {
                        column: token.column,
                        message: "this '(' is never closed".into(),
                    });
                }
                self.pos += 1;
                Ok(inner)
            }
            Kind::Word(w) => Ok(Expr::Term(word_term(&w, Field::Anywhere))),
            Kind::Phrase(p) => Ok(Expr::Term(Term {
                text: p.trim().to_string(),
                prefix: false,
                field: Field::Anywhere,
            })),
            Kind::InTitle(inner) => Ok(Expr::Term(match *inner {
                Kind::Phrase(p) => Term {
                    text: p.trim().to_string(),
                    prefix: false,
                    field: Field::Title,
                },
                Kind::Word(w) => word_term(&w, Field::Title),
                _ => unreachable!("the tokenizer only wraps words and phrases"),
            })),
            Kind::Site(host) => Ok(Expr::Site(host)),
            Kind::Close => Err(QueryError {
                column: token.column,
                message: "this ')' has no '(' before it".into(),
            }),
            other => Err(QueryError {
                column: token.column,
                message: format!("{other} where a term was expected"),
            }),
        }
    }
}

fn word_term(word: &str, field: Field) -> Term {
    match word.strip_suffix('*') {
        Some(stem) if !stem.is_empty() => Term {
            text: stem.to_string(),
            prefix: true,
            field,
        },
        _ => Term {
            text: word.to_string(),
            prefix: false,
            field,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(q: &str) -> String {
        parse(q).unwrap().to_string()
    }

    #[test]
    fn or_binds_tighter_than_implicit_and() {
        assert_eq!(read("NATO Ukraine OR Russia"), "(NATO AND (Ukraine OR Russia))");
        assert_eq!(read("NATO AND Ukraine"), "(NATO AND Ukraine)");
        assert_eq!(read("NATO | Ukraine"), "(NATO OR Ukraine)");
        assert_eq!(read("(NATO Japan) OR Ukraine"), "((NATO AND Japan) OR Ukraine)");
    }

    #[test]
    fn phrases_negations_prefixes_fields() {
        assert_eq!(
            read("\"Self-Defense Forces\" -football"),
            "(\"Self-Defense Forces\" AND NOT football)"
        );
        assert_eq!(read("NATO -\"press release\""), "(NATO AND NOT \"press release\")");
        assert_eq!(read("NATO NOT drill"), "(NATO AND NOT drill)");
        assert_eq!(read("Ukrain*"), "Ukrain*");
        assert_eq!(
            read("intitle:NATO intitle:\"Self-Defense Forces\""),
            "(intitle:NATO AND intitle:\"Self-Defense Forces\")"
        );
        assert_eq!(read("NATO site:www.Example.org/"), "(NATO AND site:example.org)");
        assert_eq!(read("NATO NEAR/10 Japan"), "(NATO NEAR/10 Japan)");
        assert_eq!(read("well-known"), "well-known");
    }

    #[test]
    fn nesting_and_term_length_are_bounded_with_a_clear_error() {
        let deep = format!("{}nato{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nested more than 50 deep"), "{e}");
        assert_eq!(e.column, MAX_DEPTH + 1);
        let nots = format!("nato {}x", "-(".repeat(5_000));
        assert!(parse(&nots).unwrap_err().message.contains("nested"));
        let ok = format!("{}nato{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let long = "a".repeat(100_000);
        let e = parse(&format!("nato \"{long}\"")).unwrap_err();
        assert!(e.message.contains("a term of 100000 characters"), "{e}");
        assert_eq!(e.column, 6);
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = |q: &str| parse(q).unwrap_err();
        assert_eq!(e("NATO (Japan").column, 6);
        assert_eq!(e("NATO )").column, 6);
        assert_eq!(e("NATO \"Self").column, 6);
        assert_eq!(e("NATO OR").column, 8);
        assert_eq!(e("NATO NEAR/x Japan").column, 6);
        assert!(e("-football").message.contains("only exclusions"));
        assert!(e("").message.contains("empty"));
        assert_eq!(e("(NATO OR EU) NEAR/3 x").column, 14);
        assert!(e("site:").message.contains("host"));
    }

    #[test]
    fn positive_terms_skip_exclusions() {
        let q = parse("NATO -football (Japan OR intitle:SDF)").unwrap();
        let terms: Vec<&str> = q.positive_terms().iter().map(|t| t.text.as_str()).collect();
        assert_eq!(terms, ["NATO", "Japan", "SDF"]);
        assert_eq!(q.all_terms().len(), 4);
    }
}
