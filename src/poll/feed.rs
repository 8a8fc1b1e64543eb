//! A feed document, from bytes to stored entries: parse, fetch new entries' articles (full-text
//! sources), match, record.
//!
//! Part of poll; never sends mail or renders a digest.

use std::collections::HashMap;
use std::sync::Arc;

use super::articles;
use super::outcome::{ArticleStats, Failure, FailureKind, PollOutcome};
use super::record::{self, NewEntry};
use crate::app::App;
use crate::config::Source;
use crate::fetch::{Document, Scope};
use crate::model::Entry;
use crate::parse::{self, ParseError};
use crate::store::FetchRecord;

/// Articles fetched for a full-text source's new entries, by the entry's position.
type Articles = HashMap<usize, Result<String, String>>;

pub(super) async fn poll(
    app: &App,
    source: &Source,
    doc: Document,
    record: FetchRecord,
    scope: &Scope,
) -> Result<PollOutcome, Failure> {
    // Parsing and matching are the CPU-heavy part: done on blocking threads of their own,
    // off the store's thread, so that several sources are worked on at once. Without
    // articles to fetch between them they are one job: each job is a hand-over to another
    // thread and back (at 10,000 sources a tenth of the CPU went to switching threads).
    let max_entries = app.config.fetch.max_entries;
    let judge = {
        let matcher = Arc::clone(&app.matcher);
        let dedup = app.config.dedup.clone();
        move |entries: Vec<Entry>, mut articles: Articles| -> Vec<NewEntry> {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, entry)| {
                    let article = articles.remove(&i);
                    // The article's text is matched too, and the snippet comes from where the match is.
                    let verdict = match &article {
                        Some(Ok(text)) => matcher.match_entry(&articles::with_article(&entry, text)),
                        _ => matcher.match_entry(&entry),
                    };
                    NewEntry::new(entry, verdict, article, &dedup)
                })
                .collect()
        }
    };
    let full_text = source.full_text;
    let (parsed, judged) = app
        .compute({
            let judge = judge.clone();
            move || {
                let mut parsed = parse::parse_feed(
                    &doc.body,
                    &doc.base(),
                    doc.content_type.as_deref(),
                    crate::clock::now(),
                    max_entries,
                )?;
                let judged = (!full_text).then(|| judge(std::mem::take(&mut parsed.entries), Articles::new()));
                Ok((parsed, judged))
            }
        })
        .await
        .map_err(Failure::internal("parsing the feed"))?
        .map_err(|e: ParseError| {
            let kind = match e {
                ParseError::NotAFeed(_) => FailureKind::NotAFeed,
                ParseError::Malformed(_) => FailureKind::Malformed,
            };
            Failure::new(kind, e.to_string())
        })?;

    let (over_cap, warning) = (parsed.over_cap, parsed.warning.clone());
    let mut stats = ArticleStats::default();
    let entries = match judged {
        Some(entries) => entries,
        None => {
            let articles = articles::fetch_new(app, source, &parsed.entries, scope).await;
            stats.failed = articles.values().filter(|a| a.is_err()).count();
            stats.add(articles::retry(app, source, scope).await);
            app.compute(move || judge(parsed.entries, articles))
                .await
                .map_err(Failure::internal("matching"))?
        }
    };
    let report = record::Report {
        over_cap,
        articles: stats,
        warning,
    };
    record::store(app, source, entries, record, report).await
}
