//! The pipeline, run once: poll sources (fetch → parse → match → store) and send a digest
//! (claim → build → mail → mark sent). `newswatch poll`/`digest` call these directly; the daemon
//! calls them on its schedule.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use jiff::{SignedDuration, Timestamp};
use url::Url;

use crate::config::{Config, Source, SourceKind};
use crate::dedup;
use crate::digest::{self, Layout};
use crate::extract;
use crate::fetch::{self, FetchError, Fetched, Fetcher, Reach, Validators};
use crate::mail::{self, Mailer, Outgoing};
use crate::matcher::{self, Matcher};
use crate::model::{Entry, IngestCounts, MatchResult};
use crate::parse;
use crate::store::{FailureRecord, FetchRecord, SourceState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Matcher(#[from] matcher::MatcherError),
    #[error(transparent)]
    Client(#[from] fetch::ClientError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{error} ({stories} stories stay queued for the next digest)")]
    Send { error: mail::MailError, stories: usize },
}

/// Everything a poll or a digest needs, built once from the config.
pub struct App {
    pub config: Config,
    store: Arc<Mutex<Store>>,
    matcher: Arc<Matcher>,
    fetcher: Fetcher,
    mailer: Mailer,
    network: NetworkWatch,
    /// Unchanged sources of the current poll round, written together at its end.
    unchanged: Mutex<Vec<(String, String, FetchRecord)>>,
}

/// How one source's poll went.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub source: String,
    pub outcome: PollOutcome,
}

#[derive(Debug, Clone)]
pub enum PollOutcome {
    /// A new document was parsed and stored.
    Fetched {
        counts: IngestCounts,
        /// Entries past `fetch.max_entries`, not stored.
        over_cap: usize,
        /// The source answered with a permanent redirect: the config should use this URL.
        moved_to: Option<String>,
        articles: ArticleStats,
        /// Something the user should fix, e.g. a links selector that matched nothing.
        warning: Option<String>,
    },
    /// 304 Not Modified, or the same body as last time: nothing parsed.
    Unchanged {
        moved_to: Option<String>,
        articles: ArticleStats,
    },
    Failed(String),
    /// Not polled now (backoff, a host's Retry-After, or paused after 410 Gone), and why.
    Skipped(String),
}

/// Articles of full-text sources in one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArticleStats {
    /// Articles that did not load (tried again at the next polls, three attempts in all).
    pub failed: usize,
    /// Stories queued only now, once their article loaded.
    pub matched_late: usize,
}

impl ArticleStats {
    fn add(&mut self, other: ArticleStats) {
        self.failed += other.failed;
        self.matched_late += other.matched_late;
    }
}

/// What a poll reports besides the store's counts.
struct Stored {
    over_cap: usize,
    articles: ArticleStats,
    warning: Option<String>,
}

/// Longest article text kept, in bytes.
const MAX_ARTICLE_BYTES: usize = 256 * 1024;

fn with_article(entry: &Entry, article: &str) -> Entry {
    Entry {
        body: format!("{}\n\n{article}", entry.body),
        ..entry.clone()
    }
}

/// A poll whose fetch failed before any HTTP exchange: whether it counts against the source is
/// decided once the whole round is known (see [`NetworkWatch`]).
struct ConnectionFailure {
    source: Source,
    state: Option<SourceState>,
    error: String,
}

enum PollResult {
    Done(SourceReport),
    Deferred(Box<ConnectionFailure>),
}

/// Recent fetch outcomes per host, to tell "this source is down" from "our network is down".
#[derive(Default)]
struct NetworkWatch {
    events: Mutex<VecDeque<(Instant, String, bool)>>,
}

impl NetworkWatch {
    const WINDOW: Duration = Duration::from_secs(60);
    const MIN_HOSTS: usize = 3;

    fn note(&self, host: String, reached: bool) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push_back((Instant::now(), host, reached));
        while events.front().is_some_and(|e| e.0.elapsed() > Self::WINDOW) || events.len() > 10_000 {
            events.pop_front();
        }
    }

    /// Connection failures to at least [`Self::MIN_HOSTS`] hosts within a minute, and not one
    /// host reached: the fault is ours, not the sources'.
    fn looks_down(&self) -> bool {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let recent = events.iter().filter(|e| e.0.elapsed() <= Self::WINDOW);
        let mut failed = HashSet::new();
        for (_, host, reached) in recent {
            if *reached {
                return false;
            }
            failed.insert(host.as_str());
        }
        failed.len() >= Self::MIN_HOSTS
    }
}

/// Jitter of ±10 %, so that sources polled together once drift apart.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.9 + fastrand::f64() * 0.2)
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

/// Exponential backoff after `failures` failures in a row: the interval, then twice it, and so
/// on, up to a day.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    jittered(interval.saturating_mul(factor).min(MAX_BACKOFF)).min(MAX_BACKOFF)
}

const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// While the network looks down, sources are tried again this soon at the latest.
const NETWORK_RETRY: Duration = Duration::from_secs(5 * 60);

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A source's health, as `newswatch sources` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub name: String,
    pub url: String,
    /// `ok`, `failing`, `retrying`, `paused (410 Gone)`, `moved`, or `never polled`.
    pub status: String,
    /// Failing for more than a day, paused, or moved: the user should look.
    pub needs_attention: bool,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    pub items_seen: i64,
    pub items_matched: i64,
    pub next_poll: Option<Timestamp>,
    pub moved_to: Option<String>,
}

/// A source is reported as needing attention after failing this long.
impl Health {
    fn paused_or_gone(&self) -> bool {
        self.status.starts_with("paused")
    }
}

const ATTENTION_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// What `digest` did.
#[derive(Debug, Clone)]
pub enum DigestOutcome {
    /// Nothing queued (and `send_empty` is off).
    NothingToSend,
    Sent {
        stories: usize,
        destination: String,
        message_id: String,
    },
    /// `--dry-run`: the plain-text digest, nothing sent or marked.
    DryRun { stories: usize, text: String },
}

impl App {
    pub fn open(config: Config) -> Result<App, SetupError> {
        let store = Store::open(&config.storage.database)?;
        let matcher = Matcher::new(&config.topics)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let mailer = Mailer::new(&config.email)?;
        Ok(App {
            config,
            store: Arc::new(Mutex::new(store)),
            matcher: Arc::new(matcher),
            fetcher,
            mailer,
            network: NetworkWatch::default(),
            unchanged: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the store on a blocking thread: SQLite calls must not stall the async workers.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock left no transaction open (rusqlite rolls back on
            // drop), so the store is still usable.
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string())))
    }

    /// Polls `sources` concurrently (at most `fetch.concurrency` at once). A failing source is
    /// reported and recorded; it never stops the others. Sources backing off after failures, on
    /// a host that asked to be left alone (Retry-After), or paused after 410 Gone are skipped;
    /// `force` polls the first two anyway.
    pub async fn poll(&self, sources: &[Source], force: bool) -> Vec<SourceReport> {
        let now = Timestamp::now();
        let states: HashMap<String, SourceState> = match self.with_store(|s| s.source_states()).await {
            Ok(list) => list.into_iter().map(|s| (s.name.clone(), s)).collect(),
            Err(e) => {
                let error = format!("cannot read source state: {e}");
                return sources
                    .iter()
                    .map(|s| SourceReport {
                        source: s.name.clone(),
                        outcome: PollOutcome::Failed(error.clone()),
                    })
                    .collect();
            }
        };
        let limited: HashMap<String, (Timestamp, String)> = self
            .with_store(move |s| s.host_retries(now))
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(host, until, reason)| (host, (until, reason)))
            .collect();

        let mut reports = Vec::new();
        let mut due = Vec::new();
        for source in sources {
            // State recorded for another URL is stale: the source was moved in the config.
            let state = states
                .get(&source.name)
                .filter(|s| s.url == source.url.as_str())
                .cloned();
            match self.skip_reason(source, state.as_ref(), &limited, now, force) {
                Some(reason) => reports.push(SourceReport {
                    source: source.name.clone(),
                    outcome: PollOutcome::Skipped(reason),
                }),
                None => due.push((source, state)),
            }
        }

        let results: Vec<PollResult> = futures_util::stream::iter(due)
            .map(|(source, state)| self.poll_one(source, state))
            .buffer_unordered(self.config.fetch.concurrency)
            .collect()
            .await;

        let network_down = self.network.looks_down();
        for result in results {
            match result {
                PollResult::Done(report) => reports.push(report),
                PollResult::Deferred(failure) => reports.push(self.connection_failed(*failure, network_down).await),
            }
        }
        if let Err(e) = self.flush_unchanged().await {
            // The sources were fetched; only their last-checked times are lost.
            tracing::error!(error = %e, "cannot record unchanged sources");
        }
        reports
    }

    /// Writes the round's unchanged sources in one transaction.
    async fn flush_unchanged(&self) -> Result<(), StoreError> {
        let batch = std::mem::take(&mut *self.unchanged.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        self.with_store(move |s| s.record_unchanged(&batch, Timestamp::now()))
            .await
    }

    fn skip_reason(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        limited: &HashMap<String, (Timestamp, String)>,
        now: Timestamp,
        force: bool,
    ) -> Option<String> {
        let tz = &self.config.digest.timezone;
        if state.is_some_and(|s| s.paused) {
            return Some(format!(
                "paused after HTTP 410 Gone; remove it from the config, or run `newswatch sources --resume \"{}\"` if it is back",
                source.name
            ));
        }
        if force {
            return None;
        }
        if let Some((until, reason)) = limited.get(&fetch::host_key(&source.url)) {
            return Some(format!(
                "{} asked to wait ({reason}) until {}",
                fetch::host_key(&source.url),
                crate::timefmt::format_time(*until, tz)
            ));
        }
        let state = state?;
        match state.next_poll {
            Some(next) if state.consecutive_failures > 0 && next > now => Some(format!(
                "backing off after {} failure{} until {} (poll --force to try now)",
                state.consecutive_failures,
                if state.consecutive_failures == 1 { "" } else { "s" },
                crate::timefmt::format_time(next, tz)
            )),
            _ => None,
        }
    }

    async fn poll_one(&self, source: &Source, state: Option<SourceState>) -> PollResult {
        let name = source.name.clone();
        let reach = if self.config.fetch.allow_private || fetch::is_private_host(&source.url).await {
            Reach::Any
        } else {
            Reach::PublicOnly
        };
        let validators = Validators {
            etag: state.as_ref().and_then(|s| s.etag.clone()),
            last_modified: state.as_ref().and_then(|s| s.last_modified.clone()),
        };
        // A page that advertised its feed is polled through that feed.
        let target = state
            .as_ref()
            .filter(|_| source.kind != SourceKind::Page)
            .and_then(|s| s.feed_url.as_deref())
            .and_then(|f| Url::parse(f).ok())
            .unwrap_or_else(|| source.url.clone());
        let fetched = self.fetcher.get(&target, &validators, reach).await;
        let host = fetch::host_key(&source.url);
        self.network
            .note(host.clone(), !matches!(&fetched, Err(e) if e.is_connection_level()));

        let now = Timestamp::now();
        let next_poll = later(now, jittered(source.interval));
        let outcome = match fetched {
            Ok(Fetched::NotModified) => {
                let record = FetchRecord {
                    status: 304,
                    etag: validators.etag,
                    last_modified: validators.last_modified,
                    body_hash: None,
                    next_poll,
                    moved_to: state.as_ref().and_then(|s| s.moved_to.clone()),
                };
                self.store_unchanged(source, record, reach).await
            }
            Ok(Fetched::Document(doc)) => match self.decide_kind(source, state.as_ref(), *doc, reach).await {
                Err(outcome) => outcome,
                Ok((is_page, doc)) => {
                    let hash = sha256_hex(&doc.body);
                    let moved_to = doc.moved_to.as_ref().map(ToString::to_string);
                    let record = FetchRecord {
                        status: 200,
                        etag: doc.validators.etag.clone(),
                        last_modified: doc.validators.last_modified.clone(),
                        body_hash: Some(hash.clone()),
                        next_poll,
                        moved_to: moved_to.clone(),
                    };
                    // A page is read again even when unchanged: links whose article failed to
                    // load are tried again (stored links are never fetched twice).
                    if !is_page && state.as_ref().and_then(|s| s.body_hash.as_deref()) == Some(hash.as_str()) {
                        self.store_unchanged(source, record, reach).await
                    } else if is_page {
                        self.store_page(source, state.as_ref(), doc, record, reach).await
                    } else {
                        self.store_document(source, state.as_ref(), doc, record, reach).await
                    }
                }
            },
            Err(error) if error.is_connection_level() => {
                return PollResult::Deferred(Box::new(ConnectionFailure {
                    source: source.clone(),
                    state,
                    error: error.to_string(),
                }));
            }
            Err(error) => self.fetch_failed(source, state.as_ref(), &host, error).await,
        };
        match &outcome {
            PollOutcome::Failed(error) => tracing::warn!(source = %name, %error, "poll failed"),
            PollOutcome::Fetched { counts, .. } => {
                tracing::info!(source = %name, new = counts.new, matched = counts.matched, "polled")
            }
            _ => tracing::debug!(source = %name, "unchanged"),
        }
        PollResult::Done(SourceReport { source: name, outcome })
    }

    /// Whether the source is a page (true) or a feed, deciding and storing it for `kind = "auto"`
    /// on the first successful fetch. A page that advertises a feed becomes that feed: the feed
    /// is fetched now and returned in the page's place.
    async fn decide_kind(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        doc: fetch::Document,
        reach: Reach,
    ) -> Result<(bool, fetch::Document), PollOutcome> {
        match source.kind {
            SourceKind::Feed => return Ok((false, doc)),
            SourceKind::Page => return Ok((true, doc)),
            SourceKind::Auto => {}
        }
        // Decided once: a feed that now serves an HTML page is an error, not a page.
        match state.and_then(|s| s.kind.as_deref()) {
            Some("page") => return Ok((true, doc)),
            Some(_) => return Ok((false, doc)),
            None => {}
        }
        let (name, url) = (source.name.clone(), source.url.to_string());
        if !crate::text::looks_like_html(&doc.body, doc.content_type.as_deref()) {
            if let Err(e) = self.with_store(move |s| s.set_kind(&name, &url, "feed", None)).await {
                tracing::error!(error = %e, "cannot record the source's kind");
            }
            return Ok((false, doc));
        }
        let html = String::from_utf8_lossy(&doc.body).into_owned();
        let base = doc.url.clone();
        let advertised = tokio::task::spawn_blocking(move || extract::advertised_feed(&html, &base))
            .await
            .ok()
            .flatten();
        let Some(feed_url) = advertised else {
            // A page is a page only if it lists articles: a login wall or an error page in
            // place of a feed is reported, not taken for a page with nothing on it.
            let html = String::from_utf8_lossy(&doc.body).into_owned();
            let (base, css) = (doc.url.clone(), source.links.clone());
            let links = tokio::task::spawn_blocking(move || extract::page_links(&html, &base, css.as_deref()).links)
                .await
                .unwrap_or_default();
            if links.is_empty() {
                let kind = doc
                    .content_type
                    .as_deref()
                    .map_or("text/html", |ct| ct.split(';').next().unwrap_or(ct).trim());
                let error = format!(
                    "not a feed (got {kind}), and no article links on the page (set kind = \"page\" and links = \"...\" if it is one)"
                );
                return Err(self
                    .record_failure(source, state, error, Some(200), true, false, None)
                    .await);
            }
            if let Err(e) = self.with_store(move |s| s.set_kind(&name, &url, "page", None)).await {
                tracing::error!(error = %e, "cannot record the source's kind");
            }
            return Ok((true, doc));
        };
        match self.fetcher.get(&feed_url, &Validators::default(), reach).await {
            Ok(Fetched::Document(feed)) => {
                let f = feed_url.to_string();
                if let Err(e) = self
                    .with_store(move |s| s.set_kind(&name, &url, "feed", Some(&f)))
                    .await
                {
                    tracing::error!(error = %e, "cannot record the source's kind");
                }
                tracing::info!(source = %source.name, feed = %feed_url, "the page advertises a feed; polling it");
                Ok((false, *feed))
            }
            Ok(Fetched::NotModified) => Err(PollOutcome::Failed(format!("advertised feed {feed_url}: not modified"))),
            Err(e) => Err(PollOutcome::Failed(format!("advertised feed {feed_url}: {e}"))),
        }
    }

    /// A page source: its new article links are fetched once each and stored as entries.
    async fn store_page(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        doc: fetch::Document,
        record: FetchRecord,
        reach: Reach,
    ) -> PollOutcome {
        let base = doc.url.clone();
        let selector = source.links.clone();
        let found = tokio::task::spawn_blocking(move || {
            extract::page_links(&String::from_utf8_lossy(&doc.body), &base, selector.as_deref())
        })
        .await
        .unwrap_or_default();
        let warning = match &source.links {
            Some(css) if found.selected == 0 => Some(format!("links = {css:?} matched nothing on the page")),
            _ if found.links.is_empty() => Some("no article links found on the page".to_string()),
            _ => None,
        };
        let max = self.config.fetch.max_entries;
        let over_cap = found.links.len().saturating_sub(max);
        let links: Vec<Url> = found.links.into_iter().take(max).collect();
        let guids: Vec<String> = links
            .iter()
            .map(|u| dedup::dedup_key(u.as_str()).unwrap_or_else(|| u.to_string()))
            .collect();
        let name = source.name.clone();
        let wanted = guids.clone();
        let unseen: HashSet<String> = match self.with_store(move |s| s.unseen(&name, &wanted)).await {
            Ok(list) => list.into_iter().collect(),
            Err(e) => return PollOutcome::Failed(format!("database: {e}")),
        };
        // Links already stored are never fetched again.
        let jobs: Vec<(String, Url)> = guids
            .into_iter()
            .zip(links)
            .filter(|(g, _)| unseen.contains(g))
            .collect();
        let fetched: Vec<(String, Url, Result<extract::Article, String>)> = futures_util::stream::iter(jobs)
            .map(|(guid, url)| async move {
                let article = self.fetch_article(&url, reach).await;
                (guid, url, article)
            })
            .buffer_unordered(self.config.fetch.concurrency)
            .collect()
            .await;
        let now = Timestamp::now();
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
        let matcher = Arc::clone(&self.matcher);
        let Ok((entries, verdicts)) = tokio::task::spawn_blocking(move || {
            let verdicts: Vec<_> = entries
                .iter()
                .map(|e| {
                    if first_poll && e.published.is_none() {
                        None
                    } else {
                        matcher.match_entry(e)
                    }
                })
                .collect();
            (entries, verdicts)
        })
        .await
        else {
            return PollOutcome::Failed("matcher task failed".into());
        };
        let stored = Stored {
            over_cap,
            articles: stats,
            warning,
        };
        self.ingest(source, entries, verdicts, HashMap::new(), record, stored)
            .await
    }

    async fn store_unchanged(&self, source: &Source, record: FetchRecord, reach: Reach) -> PollOutcome {
        let moved_to = record.moved_to.clone();
        // Written with the others at the end of the round (see `flush_unchanged`): losing it in
        // a crash only means the source is polled a little early next time.
        self.unchanged.lock().unwrap_or_else(|p| p.into_inner()).push((
            source.name.clone(),
            source.url.to_string(),
            record,
        ));
        // Nothing new in the feed, but articles that failed before may load now.
        let articles = if source.full_text {
            self.retry_articles(source, reach).await
        } else {
            ArticleStats::default()
        };
        PollOutcome::Unchanged { moved_to, articles }
    }

    async fn store_document(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        doc: fetch::Document,
        record: FetchRecord,
        reach: Reach,
    ) -> PollOutcome {
        // Parsing and matching are the CPU-heavy part: done on blocking threads of their own,
        // outside the store's lock, so that several sources are worked on at once.
        let max_entries = self.config.fetch.max_entries;
        let parsed = tokio::task::spawn_blocking(move || {
            parse::parse_feed(
                &doc.body,
                &doc.url,
                doc.content_type.as_deref(),
                Timestamp::now(),
                max_entries,
            )
        })
        .await;
        let parsed = match parsed {
            Ok(Ok(parsed)) => parsed,
            // A document that does not parse is the source's fault, like an HTTP error.
            Ok(Err(parse_error)) => {
                return self
                    .record_failure(source, state, parse_error.to_string(), None, true, false, None)
                    .await;
            }
            Err(e) => return PollOutcome::Failed(format!("parser task failed: {e}")),
        };
        let over_cap = parsed.skipped;
        let articles = if source.full_text {
            self.fetch_articles(source, &parsed.entries, reach).await
        } else {
            HashMap::new()
        };
        let mut stats = ArticleStats {
            failed: articles.values().filter(|a| a.is_err()).count(),
            ..ArticleStats::default()
        };
        if source.full_text {
            stats.add(self.retry_articles(source, reach).await);
        }

        let matcher = Arc::clone(&self.matcher);
        let matched = tokio::task::spawn_blocking(move || {
            let verdicts: Vec<_> = parsed
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| match articles.get(&i) {
                    // The article's text is matched too, and the snippet comes from where the match is.
                    Some(Ok(text)) => matcher.match_entry(&with_article(e, text)),
                    _ => matcher.match_entry(e),
                })
                .collect();
            (parsed.entries, articles, verdicts)
        })
        .await;
        let Ok((entries, articles, verdicts)) = matched else {
            return PollOutcome::Failed("matcher task failed".into());
        };
        let stored = Stored {
            over_cap,
            articles: stats,
            warning: None,
        };
        self.ingest(source, entries, verdicts, articles, record, stored).await
    }

    /// Stores a poll's entries with their verdicts (and articles) and reports the poll.
    async fn ingest(
        &self,
        source: &Source,
        entries: Vec<Entry>,
        verdicts: Vec<Option<MatchResult>>,
        articles: HashMap<usize, Result<String, String>>,
        record: FetchRecord,
        report: Stored,
    ) -> PollOutcome {
        let max_age = self.config.fetch.max_age;
        let (name, url) = (source.name.clone(), source.url.to_string());
        let moved_to = record.moved_to.clone();
        let stored = self
            .with_store(move |store| {
                store.ingest(
                    &name,
                    &url,
                    &entries,
                    &record,
                    Timestamp::now(),
                    max_age,
                    &articles,
                    |i, _| verdicts.get(i).cloned().flatten(),
                )
            })
            .await;
        match stored {
            Ok(counts) => PollOutcome::Fetched {
                counts,
                over_cap: report.over_cap,
                moved_to,
                articles: report.articles,
                warning: report.warning,
            },
            Err(e) => PollOutcome::Failed(format!("database: {e}")),
        }
    }

    /// The articles of the entries this source has not stored yet, by entry index.
    async fn fetch_articles(
        &self,
        source: &Source,
        entries: &[Entry],
        reach: Reach,
    ) -> HashMap<usize, Result<String, String>> {
        let guids: Vec<String> = entries.iter().map(|e| e.guid.clone()).collect();
        let name = source.name.clone();
        let unseen: HashSet<String> = match self.with_store(move |s| s.unseen(&name, &guids)).await {
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
            .map(|(i, url)| async move { (i, self.article(&url, reach).await) })
            .buffer_unordered(self.config.fetch.concurrency)
            .collect()
            .await
    }

    /// Fetches an article (robots.txt permitting) and extracts its main text.
    async fn article(&self, url: &Url, reach: Reach) -> Result<String, String> {
        self.fetch_article(url, reach).await.map(|a| a.text)
    }

    /// Fetches an article (robots.txt permitting) and extracts title, time and main text.
    async fn fetch_article(&self, url: &Url, reach: Reach) -> Result<extract::Article, String> {
        let doc = match self.fetcher.get_page(url, reach).await {
            Ok(Fetched::Document(doc)) => doc,
            Ok(Fetched::NotModified) => return Err("not modified".into()),
            Err(e) => {
                tracing::debug!(%url, error = %e, "article not loaded");
                return Err(e.to_string());
            }
        };
        tokio::task::spawn_blocking(move || {
            let html = String::from_utf8_lossy(&doc.body);
            let mut article = extract::extract(&html);
            article.text = crate::text::truncated(article.text, MAX_ARTICLE_BYTES);
            article
        })
        .await
        .map_err(|e| format!("extraction failed: {e}"))
    }

    /// Tries again the articles of this source's stories that failed to load before; a story
    /// that then matches is queued.
    async fn retry_articles(&self, source: &Source, reach: Reach) -> ArticleStats {
        let name = source.name.clone();
        let pending = match self.with_store(move |s| s.pending_articles(&name)).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(source = %source.name, error = %e, "cannot read pending articles");
                return ArticleStats::default();
            }
        };
        let max_age = self.config.fetch.max_age;
        let mut stats = ArticleStats::default();
        for p in pending {
            let Ok(url) = Url::parse(&p.link) else { continue };
            let article = self.article(&url, reach).await;
            let verdict = article.as_ref().ok().and_then(|text| {
                self.matcher.match_entry(&Entry {
                    guid: String::new(),
                    link: Some(p.link.clone()),
                    title: p.title.clone(),
                    body: format!("{}\n\n{text}", p.body),
                    published: p.published,
                })
            });
            let fresh = p
                .published
                .is_none_or(|t| p.first_seen.duration_since(t).as_secs() <= max_age.as_secs() as i64);
            stats.failed += usize::from(article.is_err());
            let id = p.item_id;
            match self
                .with_store(move |s| s.record_article(id, &article, verdict.as_ref(), fresh))
                .await
            {
                Ok(true) => stats.matched_late += 1,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "cannot record an article"),
            }
        }
        stats
    }

    async fn fetch_failed(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        host: &str,
        error: FetchError,
    ) -> PollOutcome {
        let message = error.to_string();
        match error {
            FetchError::RateLimited { status, retry_after } => {
                // Rate limits are per client address: leave the whole host alone.
                let wait = retry_after.unwrap_or_else(|| backoff(source.interval, 1));
                let until = later(Timestamp::now(), wait);
                let (h, reason) = (host.to_string(), format!("HTTP {status}"));
                if let Err(e) = self.with_store(move |s| s.set_host_retry(&h, until, &reason)).await {
                    tracing::error!(error = %e, "cannot record the host's Retry-After");
                }
                let message = format!(
                    "{message}; {host} is left alone until {}",
                    crate::timefmt::format_time(until, &self.config.digest.timezone)
                );
                self.record_failure(source, state, message, Some(status), false, false, Some(until))
                    .await
            }
            FetchError::Gone => {
                let message = format!(
                    "{message}; paused: remove it from the config, or `newswatch sources --resume \"{}\"`",
                    source.name
                );
                self.record_failure(source, state, message, Some(410), true, true, None)
                    .await
            }
            FetchError::Status { status, .. } => {
                self.record_failure(source, state, message, Some(status), true, false, None)
                    .await
            }
            _ => {
                self.record_failure(source, state, message, None, true, false, None)
                    .await
            }
        }
    }

    async fn connection_failed(&self, failure: ConnectionFailure, network_down: bool) -> SourceReport {
        let ConnectionFailure { source, state, error } = failure;
        let outcome = if network_down {
            let until = later(Timestamp::now(), source.interval.min(NETWORK_RETRY));
            let error = format!("{error} (the network looks down: not counted against the source)");
            self.record_failure(&source, state.as_ref(), error, None, false, false, Some(until))
                .await
        } else {
            self.record_failure(&source, state.as_ref(), error, None, true, false, None)
                .await
        };
        if let PollOutcome::Failed(error) = &outcome {
            tracing::warn!(source = %source.name, %error, "poll failed");
        }
        SourceReport {
            source: source.name,
            outcome,
        }
    }

    /// Stores a failure and reports it. `penalise` counts it toward the source's backoff;
    /// `next_poll` overrides the backoff schedule.
    #[allow(clippy::too_many_arguments)]
    async fn record_failure(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        error: String,
        status: Option<u16>,
        penalise: bool,
        pause: bool,
        next_poll: Option<Timestamp>,
    ) -> PollOutcome {
        let failures = state.map_or(0, |s| s.consecutive_failures) + u32::from(penalise);
        let next_poll = next_poll.unwrap_or_else(|| later(Timestamp::now(), backoff(source.interval, failures.max(1))));
        let record = FailureRecord {
            error: error.clone(),
            status,
            next_poll,
            penalise,
            pause,
        };
        let (name, url) = (source.name.clone(), source.url.to_string());
        if let Err(e) = self
            .with_store(move |s| s.record_failure(&name, &url, &record, Timestamp::now()))
            .await
        {
            tracing::error!(source = %source.name, error = %e, "cannot record the failure");
        }
        PollOutcome::Failed(error)
    }

    /// Health of every configured source, in config order.
    pub async fn health(&self, now: Timestamp) -> Result<Vec<Health>, StoreError> {
        let states: HashMap<String, SourceState> = self
            .with_store(|s| s.source_states())
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        Ok(self
            .config
            .sources
            .iter()
            .map(|source| {
                let st = states
                    .get(&source.name)
                    .filter(|s| s.url == source.url.as_str())
                    .cloned()
                    .unwrap_or_default();
                let long_failing = st
                    .failing_since
                    .is_some_and(|t| now.duration_since(t) > ATTENTION_AFTER);
                let status = if st.last_attempt.is_none() {
                    "never polled"
                } else if st.paused {
                    "paused (410 Gone)"
                } else if st.consecutive_failures > 0 {
                    "failing"
                } else if st.last_error.is_some() {
                    // Failed without it counting against the source: a host's Retry-After, or
                    // our own network being down.
                    "retrying"
                } else if st.moved_to.is_some() {
                    "moved"
                } else {
                    "ok"
                };
                Health {
                    name: source.name.clone(),
                    url: source.url.to_string(),
                    status: status.to_string(),
                    needs_attention: st.paused || st.moved_to.is_some() || long_failing,
                    last_attempt: st.last_attempt,
                    last_success: st.last_success,
                    consecutive_failures: st.consecutive_failures,
                    failing_since: st.failing_since,
                    last_error: st.last_error,
                    last_status: st.last_status,
                    items_seen: st.items_seen,
                    items_matched: st.items_matched,
                    next_poll: st.next_poll,
                    moved_to: st.moved_to,
                }
            })
            .collect())
    }

    /// The "sources needing attention" lines for the digest.
    async fn attention(&self) -> Vec<digest::Attention> {
        let tz = &self.config.digest.timezone;
        match self.health(Timestamp::now()).await {
            Ok(list) => list
                .into_iter()
                .filter(|h| h.needs_attention)
                .map(|h| {
                    let reason = if h.paused_or_gone() {
                        "paused after HTTP 410 Gone: remove it or resume it".to_string()
                    } else if h.consecutive_failures > 0 {
                        format!(
                            "failing since {}: {}",
                            h.failing_since
                                .map(|t| crate::timefmt::format_time(t, tz))
                                .unwrap_or_default(),
                            h.last_error.clone().unwrap_or_default()
                        )
                    } else {
                        format!(
                            "moved permanently to {}: update the config",
                            h.moved_to.clone().unwrap_or_default()
                        )
                    };
                    digest::Attention { source: h.name, reason }
                })
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read source health");
                Vec::new()
            }
        }
    }

    /// Builds and sends the digest of every queued story not yet sent. Stories are claimed first
    /// (so a second newswatch process cannot send them too) and marked sent only once the
    /// transport has accepted the message; on failure they go back to the queue.
    pub async fn send_digest(&self, dry_run: bool) -> Result<DigestOutcome, DigestError> {
        let now = Timestamp::now();
        if dry_run {
            let stories = self.with_store(|s| s.pending_stories()).await?;
            let digest = self.build_digest(&stories).await;
            return Ok(DigestOutcome::DryRun {
                stories: digest.stories,
                text: digest.text,
            });
        }
        let token = format!("{}-{}", std::process::id(), now.as_nanosecond());
        let claim = token.clone();
        let stories = self.with_store(move |s| s.claim_stories(&claim, now)).await?;
        if stories.is_empty() && !self.config.digest.send_empty {
            return Ok(DigestOutcome::NothingToSend);
        }
        let digest = self.build_digest(&stories).await;
        let sent = self
            .mailer
            .send(&Outgoing {
                subject: &digest.subject,
                text: &digest.text,
                html: &digest.html,
            })
            .await;
        match sent {
            Ok(sent) => {
                let (t, id, n) = (token.clone(), sent.message_id.clone(), digest.stories);
                self.with_store(move |s| {
                    s.mark_sent(&t, Timestamp::now())?;
                    s.record_digest(now, n, Some(&id), None)
                })
                .await?;
                tracing::info!(stories = digest.stories, destination = %sent.destination, "digest sent");
                Ok(DigestOutcome::Sent {
                    stories: digest.stories,
                    destination: sent.destination,
                    message_id: sent.message_id,
                })
            }
            Err(error) => {
                let (t, msg, n) = (token.clone(), error.to_string(), digest.stories);
                self.with_store(move |s| {
                    s.release(&t)?;
                    s.record_digest(now, n, None, Some(&msg))
                })
                .await?;
                tracing::error!(%error, "digest not sent");
                Err(DigestError::Send {
                    error,
                    stories: digest.stories,
                })
            }
        }
    }

    async fn build_digest(&self, stories: &[crate::model::Story]) -> digest::Digest {
        let order: Vec<String> = self.config.topics.iter().map(|t| t.name.clone()).collect();
        let attention = self.attention().await;
        digest::build(
            stories,
            &Layout {
                topic_order: &order,
                timezone: &self.config.digest.timezone,
                max_stories: self.config.digest.max_stories,
                attention: &attention,
            },
        )
    }

    /// Sends a short message through the configured transport, to check the mail settings.
    pub async fn mail_test(&self) -> Result<mail::Sent, mail::MailError> {
        let text = format!(
            "This is a test message from newswatch {}.\n\nIf you can read it, the mail settings in {} work.\n",
            env!("CARGO_PKG_VERSION"),
            self.config.path.display()
        );
        let html = format!(
            "<p>This is a test message from newswatch {}.</p><p>If you can read it, the mail settings work.</p>",
            env!("CARGO_PKG_VERSION")
        );
        self.mailer
            .send(&Outgoing {
                subject: "newswatch: test message",
                text: &text,
                html: &html,
            })
            .await
    }
}
