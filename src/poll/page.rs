//! Sources without a feed: what a `kind = "auto"` source is (decided once, on its first good
//! fetch, and stored), and a page's new article links fetched once each and stored as entries.
//!
//! Part of poll; never sends mail or renders a digest.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::StreamExt;
use url::Url;

use super::articles;
use super::outcome::{ArticleStats, Failure, FailureKind, PollOutcome};
use super::record::{self, NewEntry};
use crate::app::App;
use crate::config::{Source, SourceKind};
use crate::dedup;
use crate::extract;
use crate::fetch::{Document, Fetched, Scope, Validators};
use crate::model::{Entry, SourceState};
use crate::store::FetchRecord;
use crate::text;

/// What a source's document is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Feed,
    Page,
}

/// What `source` is, deciding and storing it for `kind = "auto"` on the first successful fetch.
/// A page that advertises a feed becomes that feed: the feed is fetched now and returned in the
/// page's place.
pub(super) async fn decide_kind(
    app: &App,
    source: &Source,
    state: Option<&SourceState>,
    doc: Document,
    scope: &Scope,
) -> Result<(Kind, Document), Failure> {
    match source.kind {
        SourceKind::Feed => return Ok((Kind::Feed, doc)),
        SourceKind::Page => return Ok((Kind::Page, doc)),
        SourceKind::Auto => {}
    }
    // Decided once: a feed that now serves an HTML page is an error, not a page.
    match state.and_then(|s| s.kind.as_deref()) {
        Some("page") => return Ok((Kind::Page, doc)),
        Some(_) => return Ok((Kind::Feed, doc)),
        None => {}
    }
    if !text::looks_like_html(&doc.body, doc.content_type.as_deref()) {
        remember_kind(app, source, "feed", None).await;
        return Ok((Kind::Feed, doc));
    }
    let (html, base, css) = (page_text(&doc), doc.url.clone(), source.links.clone());
    // One parse tells both: an advertised feed, else whether the page lists articles.
    let (advertised, has_links) = app
        .compute(move || match extract::advertised_feed(&html, &base) {
            Some(feed) => (Some(feed), true),
            None => (
                None,
                !extract::page_links(&html, &base, css.as_deref()).links.is_empty(),
            ),
        })
        .await
        .map_err(Failure::internal("reading the page"))?;

    let Some(feed_url) = advertised else {
        // A page is a page only if it lists articles: a login wall or an error page in place
        // of a feed is reported, not taken for a page with nothing on it.
        if !has_links {
            let kind = doc.content_type.as_deref().map_or("text/html", text::mime_essence);
            return Err(Failure::new(
                FailureKind::NotAFeed,
                format!(
                    "not a feed (got {kind}), and no article links on the page (set kind = \"page\" and links = \"...\" if it is one)"
                ),
            ));
        }
        remember_kind(app, source, "page", None).await;
        return Ok((Kind::Page, doc));
    };
    let failed = |kind: FailureKind, why: String| Failure::new(kind, format!("advertised feed {feed_url}: {why}"));
    match app.fetcher.get(&feed_url, &Validators::default(), scope).await {
        Ok(Fetched::Document(feed)) => {
            remember_kind(app, source, "feed", Some(feed_url.as_str())).await;
            tracing::info!(source = %source.name, feed = %feed_url, "the page advertises a feed; polling it");
            Ok((Kind::Feed, *feed))
        }
        Ok(Fetched::NotModified) => Err(failed(FailureKind::Transfer, "not modified".into())),
        Err(e) => {
            // The page itself answered: a feed it advertises being gone is a failure to
            // look at, not a reason to pause the source.
            let kind = match FailureKind::from(&e) {
                FailureKind::Gone => FailureKind::Status(410),
                kind => kind,
            };
            Err(failed(kind, e.to_string()))
        }
    }
}

/// A page's text, in the charset its server or its `<meta>` names.
fn page_text(doc: &Document) -> String {
    text::decode(&doc.body, doc.content_type.as_deref(), text::Markup::Html).text
}

async fn remember_kind(app: &App, source: &Source, kind: &'static str, feed_url: Option<&str>) {
    let (name, url, feed) = (
        source.name.clone(),
        source.url.to_string(),
        feed_url.map(str::to_string),
    );
    if let Err(e) = app.store(move |s| s.set_kind(&name, &url, kind, feed.as_deref())).await {
        tracing::error!(source = %source.name, error = %e, "cannot record the source's kind");
    }
}

/// A page source: its new article links are fetched once each and stored as entries.
pub(super) async fn poll(
    app: &App,
    source: &Source,
    state: Option<&SourceState>,
    doc: Document,
    record: FetchRecord,
    scope: &Scope,
) -> Result<PollOutcome, Failure> {
    let (base, selector) = (doc.url.clone(), source.links.clone());
    let found = app
        .compute(move || extract::page_links(&page_text(&doc), &base, selector.as_deref()))
        .await
        .map_err(Failure::internal("reading the page"))?;
    let warning = match &source.links {
        Some(css) if found.selected == 0 => Some(format!("links = {css:?} matched nothing on the page")),
        _ if found.links.is_empty() => Some("no article links found on the page".to_string()),
        _ => None,
    };
    let max = app.config.fetch.max_entries;
    let over_cap = found.links.len().saturating_sub(max);
    let links: Vec<Url> = found.links.into_iter().take(max).collect();
    let guids: Vec<String> = links
        .iter()
        .map(|u| dedup::dedup_key(u.as_str()).unwrap_or_else(|| u.to_string()))
        .collect();
    let (name, wanted) = (source.name.clone(), guids.clone());
    let unseen: HashSet<String> = app
        .store(move |s| s.unseen(&name, &wanted))
        .await
        .map_err(|e| Failure::new(FailureKind::Store, format!("database: {e}")))?
        .into_iter()
        .collect();
    // Links already stored are never fetched again.
    let jobs: Vec<(String, Url)> = guids
        .into_iter()
        .zip(links)
        .filter(|(g, _)| unseen.contains(g))
        .collect();
    let fetched: Vec<_> = futures_util::stream::iter(jobs)
        .map(|(guid, url)| async move {
            let article = articles::fetch_article(&app.fetcher, &url, scope).await;
            (guid, url, article)
        })
        .buffer_unordered(app.config.fetch.concurrency)
        .collect()
        .await;
    let now = crate::clock::now();
    let mut stats = ArticleStats::default();
    let mut entries = Vec::new();
    for (guid, url, article) in fetched {
        match article {
            Ok(a) => entries.push(Entry {
                guid,
                title: if a.title.is_empty() { url.to_string() } else { a.title },
                link: Some(url.to_string()),
                body: a.text,
                published: a.published.filter(|t| *t <= now),
            }),
            // Not stored: the link is tried again at the next poll.
            Err(_) => stats.failed += 1,
        }
    }
    // On the first poll nothing tells whether an undated article is new: it is recorded as
    // seen, not reported.
    let first_poll = state.is_none_or(|s| s.last_success.is_none());
    let matcher = Arc::clone(&app.matcher);
    let dedup = app.config.dedup.clone();
    let entries: Vec<NewEntry> = app
        .compute(move || {
            entries
                .into_iter()
                .map(|entry| {
                    let verdict = match first_poll && entry.published.is_none() {
                        true => None,
                        false => matcher.match_entry(&entry),
                    };
                    NewEntry::new(entry, verdict, None, &dedup)
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
