//! What every story matching a search contains, for a backend's search index to narrow the
//! candidates by before the matcher decides: trigrams of the text as the index holds it
//! (`text::searchable`), all of them or any. Made by `search`; each backend reads it its own
//! way (SQLite as an FTS5 query, its `Display`; PostgreSQL as trigram `LIKE`s).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Narrowing {
    /// Three characters of the index's text, which every match contains.
    Gram(String),
    All(Vec<Narrowing>),
    Any(Vec<Narrowing>),
}

impl Narrowing {
    /// Its trigrams, each once, in order.
    pub fn grams(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.each_gram(&mut |g| {
            if !out.contains(&g) {
                out.push(g);
            }
        });
        out
    }

    fn each_gram<'a>(&'a self, f: &mut impl FnMut(&'a str)) {
        match self {
            Narrowing::Gram(g) => f(g),
            Narrowing::All(xs) | Narrowing::Any(xs) => xs.iter().for_each(|x| x.each_gram(f)),
        }
    }
}

/// As an FTS5 query: `("nat" AND "ato")`, `(... OR ...)`; a quote in a trigram doubled.
impl fmt::Display for Narrowing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (parts, joint) = match self {
            Narrowing::Gram(g) => return write!(f, "\"{}\"", g.replace('"', "\"\"")),
            Narrowing::All(xs) => (xs, " AND "),
            Narrowing::Any(xs) => (xs, " OR "),
        };
        f.write_str("(")?;
        for (i, x) in parts.iter().enumerate() {
            if i > 0 {
                f.write_str(joint)?;
            }
            write!(f, "{x}")?;
        }
        f.write_str(")")
    }
}
