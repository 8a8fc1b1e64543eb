//! A feed document, from bytes to stored entries: parse, fetch new entries' articles (full-text
//! sources), match, record.
//!
//! Part of poll; never sends mail or renders a digest.

use std::sync::Arc;

use jiff::Timestamp;

use super::articles;
use super::outcome::{ArticleStats, Failure, FailureKind, PollOutcome};
use super::record::{self, NewEntry};
use crate::app::App;
use crate::config::Source;
use crate::fetch::{Document, Scope};
use crate::parse::{self, ParseError};
use crate::store::FetchRecord;

pub(super) async fn poll(
    app: &App,
    source: &Source,
    doc: Document,
    record: FetchRecord,
    scope: &Scope,
) -> Result<PollOutcome, Failure> {
    // Parsing and matching are the CPU-heavy part: done on blocking threads of their own,
    // outside the store's lock, so that several sources are worked on at once.
    let max_entries = app.config.fetch.max_entries;
    let parsed = app
        .compute(move || {
            parse::parse_feed(
                &doc.body,
                &doc.base(),
                doc.content_type.as_deref(),
                Timestamp::now(),
                max_entries,
            )
        })
        .await
        .map_err(Failure::internal("parsing the feed"))?
        .map_err(|e| {
            let kind = match e {
                ParseError::NotAFeed(_) => FailureKind::NotAFeed,
                ParseError::Malformed(_) => FailureKind::Malformed,
            };
            Failure::new(kind, e.to_string())
        })?;

    let (over_cap, warning) = (parsed.over_cap, parsed.warning.clone());
    let mut articles = if source.full_text {
        articles::fetch_new(app, source, &parsed.entries, scope).await
    } else {
        Default::default()
    };
    let mut stats = ArticleStats {
        failed: articles.values().filter(|a| a.is_err()).count(),
        ..ArticleStats::default()
    };
    if source.full_text {
        stats.add(articles::retry(app, source, scope).await);
    }

    let matcher = Arc::clone(&app.matcher);
    let dedup = app.config.dedup.clone();
    let entries: Vec<NewEntry> = app
        .compute(move || {
            parsed
                .entries
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
        })
        .await
        .map_err(Failure::internal("matching"))?;
    let report = record::Report {
        over_cap,
        articles: stats,
        warning,
    };
    record::store(app, source, entries, record, report).await
}
