//! Polling. `Poller::poll_source` tells the story of one source, top to bottom (Miniflux's
//! `RefreshFeed`): fetch → feed or page? → unchanged? → parse, or extract links and articles →
//! match → dedup → store. The steps live beside it:
//!
//! - `feed.rs`: a feed document into stored entries; `page.rs`: what an `auto` source is, and
//!   a page's article links into stored entries; `articles.rs`: full text, and its retries.
//! - `record.rs`: which entries are new, another copy of a stored story, or reportable; the
//!   store writes what it decides.
//! - `failure.rs`: what a failure means for the source, and whether our network is to blame.
//! - `outcome.rs`: how a poll went, as data.
//!
//! When sources are due comes from `schedule`. Polling never sends mail or renders a digest.

mod articles;
mod failure;
mod feed;
pub mod lease;
mod outcome;
mod page;
pub mod record;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use jiff::Timestamp;
use url::Url;

pub use articles::fetch_article;
pub use outcome::{ArticleStats, Failure, FailureKind, PollOutcome, SourceReport};

use crate::app::App;
use crate::config::{Source, SourceKind};
use crate::fetch::{self, FetchError, Fetched, Scope, Validators};
use crate::model::{Database, HostHold, SourceState, SourceStates};
use crate::schedule::{self, Decision, Mode};
use crate::store::{FetchRecord, StoreError};
use failure::NetworkWatch;
use page::Kind;

/// Polls sources for one process. Cheap to clone: the daemon gives a clone to each source's
/// task, and keeps the network watch across config reloads ([`Poller::with_app`]), so that it
/// can tell a source's failure from its own network being down.
#[derive(Clone)]
pub struct Poller {
    app: Arc<App>,
    network: Arc<NetworkWatch>,
    progress: Arc<Progress>,
    /// Who this process is in the leases, when its database is shared (`lease.rs`).
    holder: Option<String>,
}

/// How far the current round is: sources polled, of how many. For a progress line; read while
/// the round runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub total: AtomicUsize,
}

/// How long the daemon waits before judging a connection failure: long enough for the failures
/// of other hosts, if our network is down, to be seen too.
const SETTLE: Duration = Duration::from_secs(3);

/// What a round will do: which sources are polled (with their stored state), which are skipped
/// and why, and when the next of the others is due.
pub struct Plan {
    due: Vec<(Source, Option<SourceState>)>,
    pub skipped: Vec<SourceReport>,
    pub next: Option<Timestamp>,
}

impl Plan {
    pub fn has_due(&self) -> bool {
        !self.due.is_empty()
    }

    /// The due sources and their state, for polling each on its own ([`Poller::poll_alone`]).
    pub fn take_due(&mut self) -> Vec<(Source, Option<SourceState>)> {
        std::mem::take(&mut self.due)
    }
}

/// How one source's poll ended before the round is over.
enum Polled {
    Done(SourceReport),
    /// No connection: whether it is the source's failure is decided once the round is known.
    Deferred(Box<(Source, Option<SourceState>, FetchError)>),
}

/// Why a poll stopped early.
enum Stop {
    Deferred(FetchError),
    /// The failure, and when to try again if not by backoff.
    Failed(Failure, Option<Timestamp>),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Failed(f, None)
    }
}

/// The plan for `sources` from their stored `states` and hosts' `holds`.
fn decide_all(
    sources: &[Source],
    states: &SourceStates,
    holds: &[(String, HostHold)],
    now: Timestamp,
    mode: Mode,
) -> Plan {
    let holds: HashMap<&str, &HostHold> = holds.iter().map(|(h, hold)| (h.as_str(), hold)).collect();
    let mut plan = Plan {
        due: Vec::new(),
        skipped: Vec::new(),
        next: None,
    };
    for source in sources {
        let state = states.current(&source.name, source.url.as_str());
        let host = fetch::host_key(&source.url);
        match schedule::decide(state, &host, holds.get(host.as_str()).copied(), now, mode) {
            Decision::Due => plan.due.push((source.clone(), state.cloned())),
            Decision::NotYet(at) => plan.next = Some(plan.next.map_or(at, |n| n.min(at))),
            Decision::Skip(skip) => plan.skipped.push(SourceReport {
                source: source.name.clone(),
                outcome: PollOutcome::Skipped(skip),
            }),
        }
    }
    plan
}

/// Unchanged sources of a round, written together at its end.
type UnchangedBatch = Mutex<Vec<(String, String, FetchRecord)>>;

impl Poller {
    pub fn new(app: Arc<App>) -> Poller {
        let holder = matches!(app.config.storage.database, Database::Server { .. }).then(lease::holder_name);
        Poller {
            app,
            network: Arc::new(NetworkWatch::default()),
            progress: Arc::default(),
            holder,
        }
    }

    /// The same poller (and network watch) with another context, after a config reload.
    pub fn with_app(&self, app: Arc<App>) -> Poller {
        Poller {
            app,
            network: Arc::clone(&self.network),
            progress: Arc::clone(&self.progress),
            holder: self.holder.clone(),
        }
    }

    /// How far the round running now is.
    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.progress)
    }

    /// For the daemon: one source on its own, recorded as soon as it is done, whatever the
    /// other sources do. A connection failure is judged after `SETTLE`, from what the other
    /// sources' fetches saw meanwhile.
    pub async fn poll_alone(&self, source: Source, state: Option<SourceState>) -> SourceReport {
        let batch = UnchangedBatch::default();
        let name = source.name.clone();
        let polled = self.poll_one(source, state, &batch).await;
        self.flush_unchanged(batch).await;
        let report = match polled {
            Polled::Done(report) => report,
            Polled::Deferred(deferred) => {
                tokio::time::sleep(SETTLE).await;
                let (source, state, error) = *deferred;
                self.connection_failed(source, state, error, self.network.looks_down())
                    .await
            }
        };
        // Recorded first: whoever leases it next reads this poll's result.
        self.release(vec![name]).await;
        report
    }

    /// Which of `sources` to poll now (see [`schedule::decide`]). When the database is shared,
    /// only those this process leased (`lease.rs`).
    pub async fn plan(&self, sources: &[Source], mode: Mode) -> Result<Plan, StoreError> {
        self.plan_within(sources, mode, usize::MAX).await
    }

    /// [`Poller::plan`] for a process that can start `room` more polls now: when the database
    /// is shared, it leases no more than that, and leaves the rest to the other daemons.
    pub async fn plan_within(&self, sources: &[Source], mode: Mode, room: usize) -> Result<Plan, StoreError> {
        let now = crate::clock::now();
        let (states, holds) = self
            .app
            .store(move |s| Ok::<_, StoreError>((s.source_states()?, s.host_holds(now)?)))
            .await?;
        let mut plan = decide_all(sources, &states, &holds, now, mode);
        if let Some(holder) = &self.holder
            && plan.has_due()
        {
            self.lease_due(&mut plan, sources, (mode, room), holder).await?;
        }
        Ok(plan)
    }

    /// Plans and runs a round over `sources`; if the plan cannot be made, every source reports it.
    pub async fn round(&self, sources: &[Source], mode: Mode) -> Vec<SourceReport> {
        match self.plan(sources, mode).await {
            Ok(plan) => self.run(plan).await,
            Err(e) => {
                let failure = Failure::new(FailureKind::Store, format!("cannot read source state: {e}"));
                sources
                    .iter()
                    .map(|s| SourceReport {
                        source: s.name.clone(),
                        outcome: PollOutcome::Failed(failure.clone()),
                    })
                    .collect()
            }
        }
    }

    /// Polls the due sources of `plan` concurrently (at most `fetch.concurrency` at once). A
    /// failing source is reported and recorded; it never stops the others. The skipped sources
    /// are reported too.
    pub async fn run(&self, plan: Plan) -> Vec<SourceReport> {
        let batch = UnchangedBatch::default();
        self.progress.done.store(0, Ordering::Relaxed);
        self.progress.total.store(plan.due.len(), Ordering::Relaxed);
        let results: Vec<Polled> = futures_util::stream::iter(plan.due)
            .map(|(source, state)| async {
                let polled = self.poll_one(source, state, &batch).await;
                self.progress.done.fetch_add(1, Ordering::Relaxed);
                polled
            })
            .buffer_unordered(self.app.config.fetch.concurrency)
            .collect()
            .await;

        let network_down = self.network.looks_down();
        let mut reports = plan.skipped;
        for polled in results {
            match polled {
                Polled::Done(report) => reports.push(report),
                Polled::Deferred(deferred) => {
                    let (source, state, error) = *deferred;
                    reports.push(self.connection_failed(source, state, error, network_down).await);
                }
            }
        }
        self.flush_unchanged(batch).await;
        if self.holder.is_some() {
            self.release(reports.iter().map(|r| r.source.clone()).collect()).await;
        }
        reports
    }

    async fn connection_failed(
        &self,
        source: Source,
        state: Option<SourceState>,
        error: FetchError,
        network_down: bool,
    ) -> SourceReport {
        let failure = failure::connection_failed(error, network_down);
        failure::record(&self.app, &source, state.as_ref(), &failure, None).await;
        tracing::warn!(source = %source.name, error = %failure, "poll failed");
        SourceReport {
            source: source.name,
            outcome: PollOutcome::Failed(failure),
        }
    }

    /// Writes the unchanged sources' records in one transaction.
    async fn flush_unchanged(&self, batch: UnchangedBatch) {
        let batch = batch.into_inner().unwrap_or_else(|p| p.into_inner());
        if !batch.is_empty()
            && let Err(e) = self
                .app
                .store(move |s| s.record_unchanged(&batch, crate::clock::now()))
                .await
        {
            // The sources were fetched; only their last-checked times are lost.
            tracing::error!(error = %e, "cannot record unchanged sources");
        }
    }

    /// One source's poll, with whatever goes wrong in it (a panic included) recorded as that
    /// source's failure.
    async fn poll_one(&self, source: Source, state: Option<SourceState>, batch: &UnchangedBatch) -> Polled {
        let polled = contained(self.poll_source(&source, state.as_ref(), batch)).await;
        let outcome = match polled {
            Ok(outcome) => outcome,
            Err(Stop::Deferred(error)) => return Polled::Deferred(Box::new((source, state, error))),
            Err(Stop::Failed(failure, retry_at)) => {
                failure::record(&self.app, &source, state.as_ref(), &failure, retry_at).await;
                PollOutcome::Failed(failure)
            }
        };
        match &outcome {
            PollOutcome::Failed(f) => {
                tracing::warn!(source = %source.name, error = %f, transient = f.kind.is_transient(), "poll failed")
            }
            PollOutcome::Fetched {
                counts,
                warning: Some(w),
                ..
            } => {
                tracing::warn!(source = %source.name, new = counts.new, matched = counts.matched, warning = %w, "polled")
            }
            PollOutcome::Fetched { counts, .. } => {
                tracing::info!(source = %source.name, new = counts.new, matched = counts.matched, "polled")
            }
            _ => tracing::debug!(source = %source.name, "unchanged"),
        }
        Polled::Done(SourceReport {
            source: source.name,
            outcome,
        })
    }

    /// One poll of one source, top to bottom.
    async fn poll_source(
        &self,
        source: &Source,
        state: Option<&SourceState>,
        batch: &UnchangedBatch,
    ) -> Result<PollOutcome, Stop> {
        let app = &*self.app;
        let scope = fetch::Scope::for_source(&source.url, &source.access);
        let scope = &scope;
        let host = fetch::host_key(&source.url);

        // Fetch: a conditional GET, of the feed the page advertised if it did.
        let validators = Validators {
            etag: state.and_then(|s| s.etag.clone()),
            last_modified: state.and_then(|s| s.last_modified.clone()),
        };
        let target = state
            .filter(|_| source.kind != SourceKind::Page)
            .and_then(|s| s.feed_url.as_deref())
            .and_then(|f| Url::parse(f).ok())
            .unwrap_or_else(|| source.url.clone());
        let fetched = app.fetcher.get(&target, &validators, scope).await;
        match &fetched {
            Ok(Fetched::Document(doc)) => app.metrics.response(200, doc.body.len() as u64),
            Ok(Fetched::NotModified) => app.metrics.response(304, 0),
            Err(FetchError::Status { status, .. } | FetchError::RateLimited { status, .. }) => {
                app.metrics.response(*status, 0)
            }
            Err(_) => {}
        }
        self.network
            .note(host.clone(), !matches!(&fetched, Err(e) if e.is_connection_level()));
        let next_poll = schedule::next_poll(source.interval, crate::clock::now());
        let doc = match fetched {
            Ok(Fetched::Document(doc)) => *doc,
            Ok(Fetched::NotModified) => {
                let record = FetchRecord {
                    status: 304,
                    etag: validators.etag,
                    last_modified: validators.last_modified,
                    body_hash: None,
                    next_poll,
                    moved_to: state.and_then(|s| s.moved_to.clone()),
                    warning: None,
                };
                return Ok(self.unchanged(source, record, scope, batch).await);
            }
            Err(e) if e.is_connection_level() => return Err(Stop::Deferred(e)),
            Err(e) => {
                let (failure, retry_at) = failure::from_fetch(app, source, &host, e).await;
                return Err(Stop::Failed(failure, retry_at));
            }
        };

        // A feed, or a page of article links?
        let (kind, doc) = page::decide_kind(app, source, state, doc, scope).await?;

        // The same body as last time is not read again.
        let (doc, hash) = self
            .app
            .compute(move || {
                let hash = crate::text::sha256_hex(&doc.body);
                (doc, hash)
            })
            .await
            .map_err(Failure::internal("hashing the body"))?;
        let record = FetchRecord {
            status: 200,
            etag: doc.validators.etag.clone(),
            last_modified: doc.validators.last_modified.clone(),
            body_hash: Some(hash.clone()),
            next_poll,
            moved_to: doc.moved_to.as_ref().map(ToString::to_string),
            // The document read before, unless parsed anew below.
            warning: state.and_then(|s| s.last_warning.clone()),
        };
        let same_body = state.and_then(|s| s.body_hash.as_deref()) == Some(hash.as_str());
        let outcome = match kind {
            Kind::Feed if same_body => self.unchanged(source, record, scope, batch).await,
            Kind::Feed => feed::poll(app, source, doc, record, scope).await?,
            // A page is read again even when unchanged: links whose article failed to load are
            // tried again (stored links are never fetched twice).
            Kind::Page => page::poll(app, source, state, doc, record, scope).await?,
        };
        Ok(outcome)
    }

    /// Nothing new in the source; its record waits for the end of the round (losing it in a
    /// crash only means the source is polled a little early next time). Articles that failed
    /// before may load now.
    async fn unchanged(
        &self,
        source: &Source,
        record: FetchRecord,
        scope: &Scope,
        batch: &UnchangedBatch,
    ) -> PollOutcome {
        let moved_to = record.moved_to.clone();
        batch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((source.name.clone(), source.url.to_string(), record));
        let articles = if source.full_text {
            articles::retry(&self.app, source, scope).await
        } else {
            ArticleStats::default()
        };
        PollOutcome::Unchanged { moved_to, articles }
    }
}

/// `poll`, with a panic in it turned into an internal failure of the source being polled.
async fn contained(poll: impl Future<Output = Result<PollOutcome, Stop>>) -> Result<PollOutcome, Stop> {
    AssertUnwindSafe(poll)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(Failure::internal("polling")(crate::text::panic_text(&*panic)).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_polling_becomes_the_sources_failure() {
        let panicking = async {
            let entries: Vec<u8> = Vec::new();
            let _ = entries[3];
            Ok(PollOutcome::Unchanged {
                moved_to: None,
                articles: ArticleStats::default(),
            })
        };
        match contained(panicking).await {
            Err(Stop::Failed(failure, None)) => {
                assert_eq!(failure.kind, FailureKind::Internal);
                assert!(
                    failure
                        .message
                        .starts_with("internal error while polling: index out of bounds"),
                    "{}",
                    failure.message
                );
            }
            _ => panic!("the panic was not contained"),
        }
    }
}
