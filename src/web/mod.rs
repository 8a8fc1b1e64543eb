//! The pages a person reads newswatch by, between digests: the matched stories (`/`), one
//! story with why its reports are one story (`/story/ID`), the archive's search (`/search`),
//! the sources' health (`/sources`) and the messages waiting (`/outbox`). Server-rendered
//! HTML, no script (the Content-Security-Policy allows none), read-only; served by the
//! daemon's listener (`serve`), which puts `auth::guard` in front when `[http] token` is set.
//!
//! Reads go through the stages' readers on read-only connections (`App::read`), beside the
//! store's thread: a page never waits in a poll's queue, nor holds one up.

mod auth;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};

use crate::app::App;
use crate::health::{self, Status};
use crate::search::{self, Search, SearchError};
use crate::stories::{self, PageQuery};

pub use auth::guard;

/// The current `App` (replaced when the config is reloaded).
pub type AppSource = Arc<dyn Fn() -> Arc<App> + Send + Sync>;

/// Stories a page of `/` shows.
const PER_PAGE: usize = 50;
/// Pages of `/` at most: ten thousand stories back; further back is what `/search` is for.
const MAX_PAGE: usize = 200;
/// A query longer than this is refused (the query language bounds its terms too).
const MAX_QUERY: usize = 500;
/// Hits `/search` shows.
const SEARCH_HITS: usize = 20;

/// What every answer of the listener carries: no script, no frames, nothing from elsewhere,
/// and no Referer sent to the outlets a reader follows a link to.
pub fn headers(headers: &mut axum::http::HeaderMap) {
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

pub fn router(app: AppSource) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/story/{id}", get(story))
        .route("/search", get(search_page))
        .route("/sources", get(sources))
        .route("/outbox", get(outbox))
        .route("/style.css", get(style))
        .route("/favicon.svg", get(favicon))
        .route("/login", get(auth::login).post(auth::login))
        .with_state(app)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("../templates/web/style.css"))
}

async fn favicon() -> Response {
    asset("image/svg+xml", include_str!("../templates/web/favicon.svg"))
}

/// A file of the pages' own, built into the binary (cached an hour: a new version may change it).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct IndexQuery {
    topic: Option<String>,
    range: Option<String>,
    page: Option<String>,
}

fn bad(text: String) -> Response {
    views::message_page(StatusCode::BAD_REQUEST, "Not understood", text)
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    views::message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database cannot be read",
        format!("{e}"),
    )
}

/// How far back `/` looks (`?range=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Today,
    Week,
    Month,
}

impl Range {
    const ALL: [Range; 3] = [Range::Today, Range::Week, Range::Month];

    fn parse(key: Option<&str>) -> Option<Range> {
        match key {
            None => Some(Range::Week),
            Some(key) => Range::ALL.into_iter().find(|r| r.key() == key),
        }
    }

    /// As the query string says it.
    fn key(self) -> &'static str {
        match self {
            Range::Today => "today",
            Range::Week => "7d",
            Range::Month => "30d",
        }
    }

    /// As its link says it.
    fn label(self) -> &'static str {
        match self {
            Range::Today => "Today",
            Range::Week => "7 days",
            Range::Month => "30 days",
        }
    }

    /// As a sentence says it ("No story matched ...").
    fn phrase(self) -> &'static str {
        match self {
            Range::Today => "today",
            Range::Week => "in the last 7 days",
            Range::Month => "in the last 30 days",
        }
    }

    /// Its start, `now` in `tz` (today: since midnight there).
    fn since(self, now: Timestamp, tz: &jiff::tz::TimeZone) -> Timestamp {
        let days = |n: i64| now - SignedDuration::from_hours(24 * n);
        match self {
            Range::Today => now
                .to_zoned(tz.clone())
                .start_of_day()
                .map_or_else(|_| days(1), |d| d.timestamp()),
            Range::Week => days(7),
            Range::Month => days(30),
        }
    }
}

/// `href` for `/` with these filters (the defaults left out).
fn index_href(topic: Option<&str>, range: Range, page: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(t) = topic {
        q.append_pair("topic", t);
    }
    if range != Range::Week {
        q.append_pair("range", range.key());
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    let q = q.finish();
    if q.is_empty() { "/".into() } else { format!("/?{q}") }
}

async fn index(State(app): State<AppSource>, Query(q): Query<IndexQuery>) -> Response {
    let app = app();
    let tz = app.config.digest.timezone.clone();
    let topic = q.topic.filter(|t| !t.is_empty());
    if let Some(t) = &topic
        && !app.config.topics.iter().any(|c| &c.name == t)
    {
        return views::message_page(
            StatusCode::NOT_FOUND,
            "No such topic",
            format!(
                "The config has no topic named “{}”.",
                crate::text::one_line(crate::text::cut(t, 200))
            ),
        );
    }
    let Some(range) = Range::parse(q.range.as_deref()) else {
        return bad("range is one of today, 7d, 30d".into());
    };
    let page = match q.page.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(p)) if (1..=MAX_PAGE).contains(&p) => p,
        Some(_) => return bad(format!("page is a number from 1 to {MAX_PAGE}")),
    };
    let query = PageQuery {
        since: Some(range.since(crate::clock::now(), &tz)),
        topic: topic.clone(),
        offset: (page - 1) * PER_PAGE,
        limit: PER_PAGE,
    };
    let found = match stories::page(&app, query).await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    // Grouped by topic, in the config's order: a story under the topic asked for, else the
    // first it matched (one the config no longer has comes last, under its old name).
    let mut sections: Vec<views::Section> = Vec::new();
    for (story, card) in &found.stories {
        let Some(under) = topic.as_ref().or(story.topics.first()) else {
            continue;
        };
        let view = views::card(story, card, &found.messages, &tz, under);
        match sections.iter_mut().find(|s| &s.topic == under) {
            Some(section) => section.stories.push(view),
            None => sections.push(views::Section {
                topic: under.clone(),
                stories: vec![view],
            }),
        }
    }
    let place = |name: &str| app.config.topics.iter().position(|t| t.name == name);
    sections.sort_by_key(|s| place(&s.topic).unwrap_or(usize::MAX));
    let mut topics = vec![views::Nav {
        href: index_href(None, range, 1),
        text: "All topics".into(),
        current: topic.is_none(),
    }];
    topics.extend(app.config.topics.iter().map(|t| views::Nav {
        href: index_href(Some(&t.name), range, 1),
        text: t.name.clone(),
        current: topic.as_deref() == Some(t.name.as_str()),
    }));
    let ranges = Range::ALL
        .into_iter()
        .map(|r| views::Nav {
            href: index_href(topic.as_deref(), r, 1),
            text: r.label().into(),
            current: r == range,
        })
        .collect();
    views::page(&views::Index {
        title: match &topic {
            Some(t) => format!("{t}: matched stories"),
            None => "Matched stories".into(),
        },
        version: views::version(),
        topics,
        ranges,
        sections,
        newer: (page > 1).then(|| index_href(topic.as_deref(), range, page - 1)),
        older: (found.more && page < MAX_PAGE).then(|| index_href(topic.as_deref(), range, page + 1)),
        empty: format!("No story matched {}.", range.phrase()),
    })
}

async fn story(State(app): State<AppSource>, Path(id): Path<String>) -> Response {
    let app = app();
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return bad("a story is named by its number, as /story/12".into());
    };
    match stories::story(&app, id).await {
        Ok(Some((story, card, messages))) => views::page(&views::story_page(
            &story,
            &card,
            &messages,
            &app.config.digest.timezone,
        )),
        Ok(None) => views::message_page(
            StatusCode::NOT_FOUND,
            "No such story",
            format!("No story #{id} is stored (retention may have removed it)."),
        ),
        Err(e) => unavailable(e),
    }
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search_page(State(app): State<AppSource>, Query(q): Query<SearchQuery>) -> Response {
    let app = app();
    let query = q.q.unwrap_or_default();
    if query.len() > MAX_QUERY {
        return bad(format!("a query is at most {MAX_QUERY} bytes long"));
    }
    let mut page = views::search_page(&query);
    if query.trim().is_empty() {
        return views::page(&page);
    }
    let request = Search {
        query: query.clone(),
        since: None,
        source: None,
        limit: SEARCH_HITS,
        catch_up: false,
    };
    let tz = app.config.digest.timezone.clone();
    let mut status = StatusCode::OK;
    match search::search(&app, request).await {
        Ok(found) => {
            page.searched = true;
            page.note = match (found.hits.len(), found.window) {
                (0, Some(w)) => format!(
                    "Nothing found among the stories since {}.",
                    crate::timefmt::format_time(w, &tz)
                ),
                (0, None) => "Nothing found.".into(),
                (n, _) => format!(
                    "{} found, newest first{}.",
                    crate::text::plural(n, "story", "stories"),
                    if n == SEARCH_HITS {
                        " (the newest 20: narrow the query, or `newswatch search --limit N`)"
                    } else {
                        ""
                    }
                ),
            };
            page.hits = found.hits.iter().map(|h| views::hit(h, &tz)).collect();
        }
        Err(SearchError::Query(e)) => {
            status = StatusCode::BAD_REQUEST;
            let caret = format!("{}^", " ".repeat(e.column.saturating_sub(1).min(MAX_QUERY)));
            page.error = Some((caret, format!("column {}: {}", e.column, e.message)));
        }
        Err(e @ SearchError::Matcher(_)) => {
            status = StatusCode::BAD_REQUEST;
            page.error = Some((String::new(), e.to_string()));
        }
        Err(e) => return unavailable(e),
    }
    let mut response = views::page(&page);
    *response.status_mut() = status;
    response
}

async fn sources(State(app): State<AppSource>) -> Response {
    let app = app();
    let now = crate::clock::now();
    let tz = app.config.digest.timezone.clone();
    let sources = match health::next_polls(&app, now).await {
        Ok(sources) => sources,
        Err(e) => return unavailable(e),
    };
    let mut rows: Vec<(u8, views::SourceView)> = sources
        .into_iter()
        .map(|(h, next)| {
            // By its stored next poll (`next` says "now" for any source due), as `/healthz`.
            let overdue = health::overdue(&h, app.config.fetch.timeout, now).is_some();
            let rank = match h.status {
                Status::Failing | Status::Paused => 0,
                _ if h.needs_attention || overdue => 1,
                Status::Retrying => 2,
                _ => 3,
            };
            let problem = match (&h.last_error, &h.last_warning) {
                (Some(e), _) if h.consecutive_failures > 0 || h.status == Status::Paused => e.clone(),
                (_, Some(w)) => format!("warning: {w}"),
                _ => String::new(),
            };
            let next_text = match (next.next_poll, &next.waiting) {
                (None, Some(w)) => w.clone(),
                (None, None) => "not polled".into(),
                (Some(at), waiting) => {
                    let when = match at <= now {
                        true => "due now".into(),
                        false => crate::timefmt::format_time(at, &tz),
                    };
                    let late = if overdue { " (overdue)" } else { "" };
                    match waiting {
                        Some(w) => format!("{when}{late}: {w}"),
                        None => format!("{when}{late}"),
                    }
                }
            };
            let view = views::SourceView {
                name: h.name,
                status: h.status.to_string(),
                attention: rank < 2,
                last_success: views::time(h.last_success, &tz, "never"),
                failures: h.consecutive_failures,
                problem,
                next: next_text,
            };
            (rank, view)
        })
        .collect();
    rows.sort_by_key(|(rank, _)| *rank);
    views::page(&views::SourcesPage {
        title: "Sources".into(),
        version: views::version(),
        sources: rows.into_iter().map(|(_, v)| v).collect(),
    })
}

async fn outbox(State(app): State<AppSource>) -> Response {
    let app = app();
    let tz = app.config.digest.timezone.clone();
    match health::overview(&app, crate::clock::now()).await {
        Ok(o) => views::page(&views::OutboxPage {
            title: "Outbox".into(),
            version: views::version(),
            messages: o.outbox.iter().map(|m| views::message(m, &tz)).collect(),
        }),
        Err(e) => unavailable(e),
    }
}
