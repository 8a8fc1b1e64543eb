//! Full text: the article behind each new entry of a `full_text` source, fetched politely
//! (robots.txt, the fetcher's bounds) and reduced to its main text; and, at later polls, the
//! articles that failed to load, three attempts in all, queued if they then match.
//!
//! Part of poll; the store is reached through `App`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::StreamExt;
use url::Url;

use super::outcome::ArticleStats;
use super::record::reportable;
use crate::app::App;
use crate::config::Source;
use crate::extract::{self, Article};
use crate::fetch::{Fetched, Fetcher, Scope};
use crate::model::Entry;

/// Longest article text kept, in bytes.
const MAX_ARTICLE_BYTES: usize = 256 * 1024;

/// Fetches an article (robots.txt permitting) and extracts its title, time and main text; the
/// text is cut at `MAX_ARTICLE_BYTES`. The error says why it did not load.
pub async fn fetch_article(fetcher: &Fetcher, url: &Url, scope: &Scope) -> Result<Article, String> {
    let doc = match fetcher.get_page(url, scope).await {
        Ok(Fetched::Document(doc)) => doc,
        Ok(Fetched::NotModified) => return Err("not modified".into()),
        Err(e) => {
            tracing::debug!(%url, error = %e, "article not loaded");
            return Err(e.to_string());
        }
    };
    tokio::task::spawn_blocking(move || {
        let html = crate::text::decode(&doc.body, doc.content_type.as_deref(), crate::text::Markup::Html).text;
        let mut article = extract::extract(&html);
        article.text = crate::text::truncated(article.text, MAX_ARTICLE_BYTES);
        article
    })
    .await
    .map_err(|e| format!("extraction failed: {e}"))
}

/// `entry` with its article's text appended, as the matcher should see it.
pub(super) fn with_article(entry: &Entry, article: &str) -> Entry {
    Entry {
        body: format!("{}\n\n{article}", entry.body),
        ..entry.clone()
    }
}

/// The articles of the entries this source has not stored yet, by entry index.
pub(super) async fn fetch_new(
    app: &App,
    source: &Source,
    entries: &[Entry],
    scope: &Scope,
) -> HashMap<usize, Result<String, String>> {
    let guids: Vec<String> = entries.iter().map(|e| e.guid.clone()).collect();
    let name = source.name.clone();
    let unseen: HashSet<String> = match app.store(move |s| s.unseen(&name, &guids)).await {
        Ok(list) => list.into_iter().collect(),
        Err(e) => {
            tracing::error!(source = %source.name, error = %e, "cannot tell new entries; no articles fetched");
            return HashMap::new();
        }
    };
    let jobs: Vec<(usize, Url)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| unseen.contains(&e.guid))
        .filter_map(|(i, e)| e.link.as_deref().and_then(|l| Url::parse(l).ok()).map(|u| (i, u)))
        .collect();
    futures_util::stream::iter(jobs)
        .map(|(i, url)| async move { (i, fetch_article(&app.fetcher, &url, scope).await.map(|a| a.text)) })
        .buffer_unordered(app.config.fetch.concurrency)
        .collect()
        .await
}

/// Tries again the articles of this source's stories that failed to load before; a story that
/// then matches (and is not too old to report) is queued.
pub(super) async fn retry(app: &App, source: &Source, scope: &Scope) -> ArticleStats {
    let name = source.name.clone();
    let pending = match app.store(move |s| s.pending_articles(&name)).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(source = %source.name, error = %e, "cannot read pending articles");
            return ArticleStats::default();
        }
    };
    let max_age = app.config.fetch.max_age;
    let mut stats = ArticleStats::default();
    for p in pending {
        let Ok(url) = Url::parse(&p.link) else { continue };
        let article = fetch_article(&app.fetcher, &url, scope).await.map(|a| a.text);
        stats.failed += usize::from(article.is_err());
        let verdict = match &article {
            Ok(text) if reportable(p.published, p.first_seen, max_age) => {
                let entry = Entry {
                    guid: String::new(),
                    link: Some(p.link.clone()),
                    title: p.title.clone(),
                    body: format!("{}\n\n{text}", p.body),
                    published: p.published,
                };
                let matcher = Arc::clone(&app.matcher);
                app.compute(move || matcher.match_entry(&entry))
                    .await
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, "matcher task failed");
                        None
                    })
            }
            _ => None,
        };
        let id = p.item_id;
        match app
            .store(move |s| s.record_article(id, &article, verdict.as_ref()))
            .await
        {
            Ok(true) => stats.matched_late += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot record an article"),
        }
    }
    stats
}
