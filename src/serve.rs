//! The daemon's HTTP listener (`[http] listen`, off by default): the matched stories as an Atom
//! feed a feed reader can follow (`/feed.atom`, `?topic=NAME` for one topic, with an ETag so an
//! unchanged feed costs a 304), and whether the daemon is keeping up (`/healthz`). It reads
//! through the stages' own readers and changes nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;

use crate::app::App;
use crate::health;
use crate::model::StoryRecord;
use crate::stories::{self, StoryFilter};
use crate::text::xml_escape;

/// Stories in the feed at most, newest first: what a reader shows, not the archive.
const FEED_STORIES: usize = 100;
/// How far back the feed looks.
const FEED_DAYS: i64 = 30;
/// The daemon's loop looks at the clock at least once a minute; silent for this long, it is stuck.
const STALLED_AFTER: i64 = 180;

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} (http.listen): {source}")]
pub struct ListenError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// What the listener shares with the daemon: the current config (replaced on reload) and the
/// time the daemon's loop last went round.
pub struct Shared {
    app: RwLock<Arc<App>>,
    heartbeat: AtomicI64,
}

impl Shared {
    pub fn new(app: Arc<App>) -> Arc<Shared> {
        Arc::new(Shared {
            app: RwLock::new(app),
            heartbeat: AtomicI64::new(crate::clock::now().as_second()),
        })
    }

    /// The daemon's loop went round now.
    pub fn beat(&self) {
        self.heartbeat.store(crate::clock::now().as_second(), Ordering::Relaxed);
    }

    /// After a reload: the new topics and sources.
    pub fn set_app(&self, app: Arc<App>) {
        *self.app.write().unwrap_or_else(|p| p.into_inner()) = app;
    }

    fn app(&self) -> Arc<App> {
        Arc::clone(&self.app.read().unwrap_or_else(|p| p.into_inner()))
    }
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ListenError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, source })
}

/// Connections served at once; more are closed as they come. The polls need the process's
/// descriptors more than a listener needs a thousand idle readers.
const MAX_CONNECTIONS: usize = 64;
/// A connection is closed after this many `[http] timeout`s, busy or not: a feed reader's
/// request takes milliseconds, and it connects again.
const LIFETIME_TIMEOUTS: u32 = 6;

/// Serves until `stop` resolves. Each connection has `timeout` to send its request's headers
/// (an idle connection is closed after it), and lives at most [`LIFETIME_TIMEOUTS`] times it;
/// past [`MAX_CONNECTIONS`] a new one is closed at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    timeout: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let source: crate::web::AppSource = {
        let shared = Arc::clone(&shared);
        Arc::new(move || shared.app())
    };
    let router = Router::new()
        .route("/feed.atom", get(feed))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared)
        .merge(crate::web::router(Arc::clone(&source)))
        .layer(axum::middleware::from_fn_with_state(source, crate::web::guard))
        .layer(axum::middleware::map_response(|mut r: Response| async move {
            crate::web::headers(r.headers_mut());
            r
        }));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    let mut warned_at: Option<std::time::Instant> = None;
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (EMFILE) or the like: say it once a minute, and let
                    // what holds them finish instead of spinning.
                    if warned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "the HTTP listener cannot accept a connection");
                        warned_at = Some(std::time::Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(timeout * LIFETIME_TIMEOUTS, connection).await;
        });
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    topic: Option<String>,
}

async fn feed(State(shared): State<Arc<Shared>>, Query(query): Query<FeedQuery>, headers: HeaderMap) -> Response {
    let app = shared.app();
    if let Some(topic) = &query.topic
        && !app.config.topics.iter().any(|t| &t.name == topic)
    {
        return (StatusCode::NOT_FOUND, format!("no topic named {topic:?}\n")).into_response();
    }
    let since = crate::clock::now() - jiff::SignedDuration::from_hours(24 * FEED_DAYS);
    let filter = StoryFilter {
        since: Some(since),
        topic: query.topic.clone(),
        all: false,
        id: None,
        limit: Some(FEED_STORIES),
    };
    let stories = match stories::list(&app, filter).await {
        Ok(stories) => stories,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}\n")).into_response(),
    };
    let ids = stories.iter().map(|s| s.id).collect();
    let cards = match stories::cards(&app, ids).await {
        Ok(cards) => cards,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}\n")).into_response(),
    };
    let title = match &query.topic {
        Some(topic) => format!("newswatch: {topic}"),
        None => "newswatch: matched stories".to_string(),
    };
    let body = atom(&title, &stories, &cards);
    let etag = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        body.hash(&mut hasher);
        format!("\"{:016x}\"", hasher.finish())
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/atom+xml; charset=utf-8"),
            ),
            (header::ETAG, etag_header),
        ],
        body,
    )
        .into_response()
}

/// The stories as an Atom 1.0 document, one entry per story with the outlets that carried it,
/// its snippet, and a link to its page (`/story/ID`: why its reports are one story).
fn atom(title: &str, stories: &[StoryRecord], cards: &[crate::stories::Card]) -> String {
    let updated = stories
        .iter()
        .map(|s| s.first_seen)
        .max()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out += &format!("  <title>{}</title>\n", xml_escape(title));
    out += &format!(
        "  <id>urn:newswatch:feed:{}</id>\n",
        xml_escape(title.to_lowercase().replace(" ", "-").as_str())
    );
    out += &format!("  <updated>{}</updated>\n", rfc3339(updated));
    out += "  <author><name>newswatch</name></author>\n  <generator>newswatch</generator>\n";
    for (i, story) in stories.iter().enumerate() {
        let unique: Vec<&str> = story.outlets().iter().map(|e| e.source.as_str()).collect();
        let reported = match unique.split_first() {
            Some((first, [])) => format!("Reported by {first}. "),
            Some((first, also)) => format!("Reported by {first}; also reported by {}. ", also.join(", ")),
            None => String::new(),
        };
        let snippet = cards.get(i).map(|c| c.snippet.text.as_str()).unwrap_or_default();
        let snippet = match snippet.is_empty() {
            true => String::new(),
            false => format!("{} ", crate::text::one_line(snippet)),
        };
        let summary = format!("{snippet}{reported}Topics: {}.", story.topics.join(", "));
        out += "  <entry>\n";
        out += &format!(
            "    <title>{}</title>\n",
            xml_escape(crate::text::one_line(&story.title).as_str())
        );
        out += &format!("    <id>urn:newswatch:story:{}</id>\n", story.id);
        if let Some(link) = &story.link {
            out += &format!("    <link rel=\"alternate\" href=\"{}\"/>\n", xml_escape(link.as_str()));
        }
        out += &format!("    <link rel=\"related\" href=\"/story/{}\"/>\n", story.id);
        out += &format!("    <updated>{}</updated>\n", rfc3339(story.first_seen));
        if let Some(published) = story.published {
            out += &format!("    <published>{}</published>\n", rfc3339(published));
        }
        for source in &unique {
            out += &format!("    <category term=\"{}\" label=\"outlet\"/>\n", xml_escape(source));
        }
        out += &format!("    <summary>{}</summary>\n", xml_escape(summary.as_str()));
        out += "  </entry>\n";
    }
    out += "</feed>\n";
    out
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// 200 while the daemon's loop goes round and no source is overdue; 503 with the reason.
async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let now = crate::clock::now();
    let silent = now.as_second() - shared.heartbeat.load(Ordering::Relaxed);
    if silent > STALLED_AFTER {
        return unhealthy(format!("the scheduler has not run for {silent} s"));
    }
    let app = shared.app();
    let report = match health::report(&app, now).await {
        Ok(report) => report,
        Err(e) => return unhealthy(format!("cannot read the database: {e}")),
    };
    let late = report
        .iter()
        .filter_map(|h| Some((h, health::overdue(h, app.config.fetch.timeout, now)?)))
        .max_by_key(|(_, late)| *late);
    match late {
        Some((h, late)) => unhealthy(format!("source {:?} is {} s overdue", h.name, late.as_secs())),
        None => (StatusCode::OK, format!("ok: {} sources polled on time\n", report.len())).into_response(),
    }
}

fn unhealthy(reason: String) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response()
}

/// The counters of this process and what the database says now, in Prometheus' text format.
async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    use crate::metrics::{head, label};
    let app = shared.app();
    let figures = match health::figures(&app, crate::clock::now()).await {
        Ok(figures) => figures,
        Err(e) => return unhealthy(format!("cannot read the database: {e}")),
    };
    let mut out = String::new();
    app.metrics.render(&mut out);
    head(
        &mut out,
        "newswatch_stories_matched_total",
        "counter",
        "Stories matched, by topic.",
    );
    for (topic, n) in &figures.matched {
        out += &format!("newswatch_stories_matched_total{{topic=\"{}\"}} {n}\n", label(topic));
    }
    head(
        &mut out,
        "newswatch_outbox_pending",
        "gauge",
        "Messages in the outbox not sent yet.",
    );
    out += &format!("newswatch_outbox_pending {}\n", figures.outbox_pending);
    let name = "newswatch_source_last_success_timestamp_seconds";
    head(
        &mut out,
        name,
        "gauge",
        "When each source was last polled successfully (Unix time).",
    );
    for (source, at) in &figures.last_success {
        if let Some(at) = at {
            out += &format!("{name}{{source=\"{}\"}} {}\n", label(source), at.as_second());
        }
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
