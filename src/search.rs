//! Searching the archive (`newswatch search`): the topics' query language over every stored
//! story. The full-text index narrows the candidates to the stories that hold every trigram
//! the query requires; the matcher decides, exactly as it does for topics, and gives the
//! snippet. The index holds words with their edges (`text::searchable`), so `US` narrows by
//! ` us` and `us `; a query it cannot narrow (only terms of one or two characters in a script
//! written without spaces, such as `日本`, or `site:` and exclusions besides) is checked by the
//! matcher over the `--since` window.
//!
//! Uses the store, `query` and the matcher; never fetches.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::app::App;
use crate::config::{AlertMode, Topic};
use crate::matcher::{Matcher, MatcherError};
use crate::model::{Entry, Snippet};
use crate::query::{self, Expr, QueryError, Term};
use crate::store::{Found, Narrowing, StoreError};
use crate::timefmt::ago;

/// The window a query the index cannot narrow is checked over, unless `--since` says.
pub const UNNARROWED_WINDOW: Duration = Duration::from_secs(30 * 86_400);

/// Stories indexed per transaction when the index catches up: their texts are held at once
/// (a few hundred KB), and the daemon waits for the store meanwhile.
const INDEX_BATCH: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the query does not parse: {0}")]
    Query(#[from] QueryError),
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no source named {name:?} in the config")]
    UnknownSource { name: String },
    #[error("matching failed: {0}")]
    Task(String),
}

#[derive(Debug, Clone)]
pub struct Search {
    pub query: String,
    /// Only stories first seen at or after this.
    pub since: Option<Timestamp>,
    /// Only stories this source carried (its name in the config).
    pub source: Option<String>,
    pub limit: usize,
    /// Bring the index up to date first (a command: the database may have been polled by hand
    /// since); the pages leave it to the daemon's upkeep, which does it every minute.
    pub catch_up: bool,
}

/// A story that matches, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    pub published: Option<Timestamp>,
    pub first_seen: Timestamp,
    /// The sources that carried it, the lead's first.
    pub sources: Vec<String>,
    pub snippet: String,
    /// Byte ranges of `snippet` where the query's terms are.
    pub marks: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub hits: Vec<Hit>,
    /// What the index narrowed by (as an FTS5 query); `None`: every story of the window was checked.
    pub narrowed_by: Option<String>,
    /// How far back stories were checked when the index could not narrow.
    pub window: Option<Timestamp>,
    /// Stories the matcher checked.
    pub checked: usize,
}

pub async fn search(app: &App, search: Search) -> Result<Outcome, SearchError> {
    let expr = query::parse(&search.query)?;
    let topic = Topic {
        name: "search".into(),
        rule: expr.clone(),
        case_sensitive: Vec::new(),
        recipients: Vec::new(),
        alert: AlertMode::Digest,
        webhook: None,
    };
    let matcher = Matcher::new(std::slice::from_ref(&topic))?;
    if let Some(name) = &search.source
        && !app.config.sources.iter().any(|s| &s.name == name)
    {
        return Err(SearchError::UnknownSource { name: name.clone() });
    }
    if search.catch_up {
        catch_up(app).await?;
    }
    let narrowed_by = lightest_narrowing(app, &expr).await?;
    let window = match (&narrowed_by, search.since) {
        (None, None) => Some(ago(UNNARROWED_WINDOW)),
        _ => None,
    };
    let since = search.since.or(window);
    let from = match since {
        Some(t) => app.read(move |s| s.first_story_since(t)).await?,
        None => 0,
    };
    let matcher = Arc::new(matcher);
    let (mut hits, mut checked, mut below) = (Vec::new(), 0, i64::MAX);
    // Small first (most searches want the newest few), then larger. The candidates are read
    // and decided on in one job on a reader connection: not on the compute pool, where a
    // search waited behind a running poll's parsing (600 ms where it takes 10).
    let mut batch = (search.limit * 2).max(50);
    while hits.len() < search.limit {
        let (fts, source) = (narrowed_by.clone(), search.source.clone());
        let m = Arc::clone(&matcher);
        let (read, last, matched) = app
            .read(move |s| {
                let found = s.search_candidates(fts.as_ref(), from, below, source.as_deref(), batch)?;
                let (read, last) = (found.len(), found.last().map(|f| f.id));
                let matched: Vec<Hit> = found.into_iter().filter_map(|f| check(&m, f, since)).collect();
                Ok::<_, StoreError>((read, last, matched))
            })
            .await?;
        let Some(last) = last else { break };
        below = last;
        checked += read;
        hits.extend(matched);
        batch = (batch * 4).min(20_000);
    }
    // The newest `limit` stored (candidates come newest first), newest published first.
    hits.truncate(search.limit);
    hits.sort_by_key(|h: &Hit| std::cmp::Reverse(h.published.unwrap_or(h.first_seen)));
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    let sources = app
        .read(move |s| ids.iter().map(|id| s.story_sources(*id)).collect::<Result<Vec<_>, _>>())
        .await?;
    for (hit, sources) in hits.iter_mut().zip(sources) {
        hit.sources = sources;
    }
    Ok(Outcome {
        hits,
        narrowed_by: narrowed_by.map(|n| n.to_string()),
        window,
        checked,
    })
}

/// Brings the index up to date with the stories stored since it was last (a daemon does this
/// after each round; a database only polled by hand may be behind).
pub async fn catch_up(app: &App) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = app.store(|s| s.index_for_search(INDEX_BATCH)).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

fn check(matcher: &Matcher, found: Found, since: Option<Timestamp>) -> Option<Hit> {
    if since.is_some_and(|t| found.first_seen < t) {
        return None;
    }
    let entry = Entry {
        guid: format!("story-{}", found.id),
        link: found.link.clone(),
        title: found.title.clone(),
        body: found.text,
        published: found.published,
    };
    let result = matcher.match_entry(&entry)?;
    let Snippet { text, marks } = result.snippet;
    Some(Hit {
        id: found.id,
        title: found.title,
        link: found.link,
        published: found.published,
        first_seen: found.first_seen,
        sources: Vec::new(),
        snippet: text,
        marks,
    })
}

/// A trigram in more than this share of the newest stories indexed narrows little and costs
/// the most (its list is the longest; ` re` is in 85 % of news): it is left out of the query,
/// which stays one that every match satisfies, and the matcher decides as before. In the
/// 1,000,000-story archive, "General Motors recall" read 232 ms of lists for 24 candidates
/// whole, 58 ms for 36 without its common trigrams.
const COMMON_SHARE: f64 = 0.2;
/// How many of the newest stories indexed tell how common a trigram is.
const SAMPLE: i64 = 5000;
/// A query of at most this many trigrams narrows by all of them (see `lightest_narrowing`).
const FEW_GRAMS: usize = 8;
/// A term's common trigrams are left out only when it has this many others.
const KEEP_AT_LEAST: usize = 2;

/// How common each trigram is among the newest stories indexed.
#[derive(Debug, Default)]
struct Commonness {
    stories: std::collections::HashMap<String, u64>,
    sampled: u64,
}

/// The narrowing that costs least: without the common trigrams (whose lists are the longest),
/// unless that lets through many more stories than all of them (trigrams go together: ` am`,
/// `ama` and `ma ` are each in many stories, all three in few), judged on the newest stories.
async fn lightest_narrowing(app: &App, expr: &Expr) -> Result<Option<Narrowing>, StoreError> {
    let whole = narrowing(expr);
    let mut grams = Vec::new();
    grams_of(expr, &mut grams);
    grams.sort_unstable();
    grams.dedup();
    // Few lists cost little to read whole; the looks at each one's end would cost as much.
    if grams.len() <= FEW_GRAMS {
        return Ok(whole);
    }
    let queries: Vec<Narrowing> = grams.iter().map(|g| quoted(std::slice::from_ref(g))).collect();
    let (counts, sampled) = app.read(move |s| s.sample_counts(&queries, SAMPLE)).await?;
    let common = Commonness {
        stories: grams.into_iter().zip(counts).collect(),
        sampled,
    };
    let lighter = narrowing_by(expr, Some(&common));
    let (Some(w), Some(l)) = (whole.clone(), lighter.clone()) else {
        return Ok(whole);
    };
    if w == l {
        return Ok(whole);
    }
    let (counts, _) = app.read(move |s| s.sample_counts(&[w, l], SAMPLE)).await?;
    // Twice the candidates (and a few) cost more to read and match than the lists saved.
    Ok(if counts[1] > counts[0] * 2 + 10 { whole } else { lighter })
}

/// What every story matching `expr` contains: each term's trigrams, word edges
/// included, ANDed (the index keeps no positions, so no phrase queries: a phrase's trigrams
/// span its words instead); `None` when nothing narrows (exclusions, `site:`, a term of one or
/// two characters of a script without spaces).
pub fn narrowing(expr: &Expr) -> Option<Narrowing> {
    narrowing_by(expr, None)
}

/// [`narrowing`], each term's common trigrams left out when `common` says which.
fn narrowing_by(expr: &Expr, common: Option<&Commonness>) -> Option<Narrowing> {
    let term = |t: &Term| Some(quoted(&kept(term_grams(t)?, common)));
    match expr {
        Expr::Term(t) => term(t),
        Expr::Near(a, b, _) => all([term(a), term(b)]),
        Expr::And(xs) => all(xs.iter().map(|x| narrowing_by(x, common))),
        Expr::Or(xs) => {
            let parts: Option<Vec<Narrowing>> = xs.iter().map(|x| narrowing_by(x, common)).collect();
            let parts = parts?;
            (!parts.is_empty()).then_some(Narrowing::Any(parts))
        }
        Expr::Not(_) | Expr::Site(_) => None,
    }
}

/// Every trigram `expr` could narrow by.
fn grams_of(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Term(t) => out.extend(term_grams(t).unwrap_or_default()),
        Expr::Near(a, b, _) => [a, b]
            .iter()
            .for_each(|t| out.extend(term_grams(t).unwrap_or_default())),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| grams_of(x, out)),
        Expr::Not(_) | Expr::Site(_) => {}
    }
}

/// A term's trigrams without the common ones, in order, when at least `KEEP_AT_LEAST` of its
/// trigrams are not common; else all of them (where every one is common, only all of them
/// together narrow: `ama` is inside every "Obama", ` am`, `ama` and `ma ` together are not).
fn kept(grams: Vec<String>, common: Option<&Commonness>) -> Vec<String> {
    let Some(c) = common.filter(|c| c.sampled > 0) else {
        return grams;
    };
    let bar = (c.sampled as f64 * COMMON_SHARE) as u64;
    let rare = |g: &String| c.stories.get(g).copied().unwrap_or(0) <= bar;
    if grams.iter().filter(|g| rare(g)).count() < KEEP_AT_LEAST {
        return grams;
    }
    grams.into_iter().filter(|g| rare(g)).collect()
}

/// The parts that narrow, ANDed; `None` if none does.
fn all(parts: impl IntoIterator<Item = Option<Narrowing>>) -> Option<Narrowing> {
    let parts: Vec<Narrowing> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then_some(Narrowing::All(parts))
}

/// Trigrams, ANDed.
fn quoted(grams: &[String]) -> Narrowing {
    Narrowing::All(grams.iter().map(|g| Narrowing::Gram(g.clone())).collect())
}

/// A term's trigrams as the index holds text (`text::searchable`): its words one space
/// apart, with the space before and after that a whole word has (none where the term starts
/// or ends in a script written without spaces, where the matcher needs no word edge; none
/// after a prefix term). So `US` narrows by ` us` and `us `, and a phrase by the trigrams that
/// span its words.
fn term_grams(t: &Term) -> Option<Vec<String>> {
    let mut text = String::new();
    crate::text::searchable(&t.text, &mut text);
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let edge = |c: Option<&char>| c.is_some_and(|c| !crate::matcher::is_unspaced_script(*c));
    if t.prefix || !edge(chars.iter().rev().nth(1)) {
        chars.pop();
    }
    if !edge(chars.get(1)) {
        chars.remove(0);
    }
    let mut grams: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        let gram: String = w.iter().collect();
        if !grams.contains(&gram) {
            grams.push(gram);
        }
    }
    (!grams.is_empty()).then_some(grams)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(q: &str) -> Option<String> {
        narrowing(&query::parse(q).unwrap()).map(|n| n.to_string())
    }

    #[test]
    fn terms_become_their_trigrams_with_word_edges() {
        assert_eq!(n("NATO").as_deref(), Some(r#"(" na" AND "nat" AND "ato" AND "to ")"#));
        assert_eq!(n("US").as_deref(), Some(r#"(" us" AND "us ")"#));
        // No edge after a prefix; none where a script without spaces starts or ends.
        assert_eq!(n("Ukr*").as_deref(), Some(r#"(" uk" AND "ukr")"#));
        assert_eq!(n("自衛隊").as_deref(), Some(r#"("自衛隊")"#));
        // The words of a phrase one space apart, however the query wrote them.
        assert_eq!(
            n(r#""Self-Defense Forces""#).as_deref(),
            Some(
                r#"(" se" AND "sel" AND "elf" AND "lf " AND "f d" AND " de" AND "def" AND "efe" AND "fen" AND "ens" AND "nse" AND "se " AND "e f" AND " fo" AND "for" AND "orc" AND "rce" AND "ces" AND "es ")"#
            )
        );
    }

    #[test]
    fn common_trigrams_are_left_out_of_a_term_with_two_others() {
        let stories = [
            (" re", 850),
            ("rec", 330),
            ("eca", 16),
            ("cal", 200),
            ("all", 490),
            ("ll ", 510),
        ];
        let common = Commonness {
            stories: stories.iter().map(|(g, n)| (g.to_string(), *n)).collect(),
            sampled: 1000,
        };
        let expr = query::parse("recall").unwrap();
        assert_eq!(
            narrowing_by(&expr, Some(&common)).map(|n| n.to_string()).as_deref(),
            Some(r#"("eca" AND "cal")"#)
        );
        // All common, or all but one: all stay (together they narrow); nothing known, all stay.
        let all_common = Commonness {
            stories: stories
                .iter()
                .map(|(g, n)| (g.to_string(), if *n == 16 { 16 } else { 900 }))
                .collect(),
            sampled: 1000,
        };
        let by = |expr: &Expr, common| narrowing_by(expr, Some(common)).map(|n| n.to_string());
        assert_eq!(by(&expr, &all_common), n("recall"));
        assert_eq!(by(&query::parse("US").unwrap(), &all_common), n("US"));
        assert_eq!(by(&expr, &Commonness::default()), n("recall"));
    }

    #[test]
    fn what_cannot_narrow_is_left_to_the_matcher() {
        assert_eq!(n("日本"), None);
        assert_eq!(n("日本 -football"), None);
        assert_eq!(n("日本 site:example.org"), None);
        // An AND narrows by the parts that can; an OR only if every branch can.
        assert_eq!(n("日本 US").as_deref(), Some(r#"((" us" AND "us "))"#));
        assert_eq!(n("US OR 日本"), None);
        assert_eq!(n("US -Russia").as_deref(), Some(r#"((" us" AND "us "))"#));
        assert_eq!(
            n("US OR UK").as_deref(),
            Some(r#"((" us" AND "us ") OR (" uk" AND "uk "))"#)
        );
    }
}
