//! `newswatch run`: the daemon. One loop decides, tasks do the work:
//! - each source is polled by a task of its own when `schedule` says it is due, so a slow or
//!   hanging source delays nobody (on a database several daemons share, when this one leased
//!   it: `poll::lease`; the leases of its polls in flight are renewed);
//! - stories of immediate topics are composed into alerts a few seconds after the poll that
//!   found them; the digest is composed at each `digest.at` time (a time missed while newswatch
//!   was down is sent once at start);
//! - a sender task sends the outbox whenever something in it is due (retries included);
//! - an upkeep task brings the search index up to date after the first polls and every
//!   minute, and prunes old texts once a day (`retention`);
//! - SIGHUP reloads the config, SIGINT/SIGTERM stop it within `SHUTDOWN_GRACE` (a send in
//!   flight stays pending and goes at the next start); systemd hears READY, RELOADING,
//!   STOPPING and the watchdog.
//!
//! Times are recomputed from the wall clock at every wake-up (at least once a minute), so a
//! suspended laptop, a clock change or a DST switch never makes a digest late by more than that.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::{JoinHandle, JoinSet};

use crate::app::App;
use crate::config::Config;
use crate::deliver::{self, DigestTime, Pass};
use crate::model::MessageKind;
use crate::poll::{PollOutcome, Poller, SourceReport};
use crate::schedule::{self, Mode};
use crate::store::StoreError;
use crate::timefmt::format_time;

mod lock;
mod shared;
use lock::RunLock;
use shared::Shared;

/// How often memory freed is given back to the system (`memory.rs`): a few ms each time.
const TRIM_EVERY: Duration = Duration::from_secs(30);
/// How long in-flight polls and sends may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Why a SIGHUP left the running config in place.
#[derive(Debug, thiserror::Error)]
enum ReloadError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Setup(#[from] crate::app::SetupError),
    #[error("the reload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen for signals: {0}")]
    Signal(#[from] std::io::Error),
    #[error(transparent)]
    Listen(#[from] crate::serve::ListenError),
    /// Two daemons on one database would poll every source twice.
    #[error(
        "another newswatch is already running on {} ({holder}): stop it first, or give this one a \
         database of its own ([storage] database). Commands such as `status` work beside it",
        database
    )]
    AlreadyRunning { database: String, holder: String },
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The HTTP listener, when `[http] listen` is set.
struct Listener {
    shared: Arc<crate::serve::Shared>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    addr: std::net::SocketAddr,
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(app: Arc<App>) -> Result<(), DaemonError> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut daemon = Daemon::start(app).await?;
    let mut watchdog = sd_notify::watchdog_enabled().map(|d| tokio::time::interval(d / 2));
    notify(&[NotifyState::Ready, NotifyState::Status("polling")]);

    let mut trimmed = std::time::Instant::now();
    loop {
        if let Some(l) = &daemon.listener {
            l.shared.beat();
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            crate::memory::give_back();
            trimmed = std::time::Instant::now();
        }
        if let Some(shared) = daemon.shared.as_mut() {
            shared.beat(&daemon.poller).await;
        }
        let next_poll = daemon.start_due_polls().await;
        daemon.announce_next_poll(next_poll);
        daemon.alerts_if_due().await;
        daemon.digest_if_due().await;
        daemon.send_if_due().await;
        daemon.upkeep_if_due().await;
        let now = crate::clock::now();
        let sleep = schedule::sleep_until(
            [
                next_poll,
                Some(daemon.next_digest),
                daemon.alerts_at,
                daemon.send_at,
                Some(schedule::upkeep_wake(daemon.next_upkeep, daemon.started)),
            ],
            now,
        );
        // Every wake-up has started what was due and composed what was due by now.
        tracing::debug!(until = %(now + SignedDuration::try_from(sleep).unwrap_or_default()), "idle");
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            Some(done) = daemon.polls.join_next_with_id(), if !daemon.polls.is_empty() => {
                daemon.poll_done(done);
                // The others that ended meanwhile too: one plan for all of them.
                while let Some(done) = daemon.polls.try_join_next_with_id() {
                    daemon.poll_done(done);
                }
            }
            sent = finished(&mut daemon.sender), if daemon.sender.is_some() => daemon.sender_done(sent),
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                notify(&[NotifyState::Reloading]);
                daemon.reload().await;
                notify(&[NotifyState::Ready]);
            }
            _ = tick(&mut watchdog), if watchdog.is_some() => notify(&[NotifyState::Watchdog]),
            _ = shared::renewal_due(&mut daemon.shared), if !daemon.in_flight.is_empty() => {
                daemon.poller.renew(daemon.in_flight.values().cloned().collect()).await;
            }
        }
    }
    notify(&[NotifyState::Stopping]);
    daemon.stop().await;
    tracing::info!("newswatch stopped");
    Ok(())
}

struct Daemon {
    app: Arc<App>,
    poller: Poller,
    /// Sources being polled, by their task.
    polls: JoinSet<SourceReport>,
    in_flight: HashMap<tokio::task::Id, String>,
    /// Sources of the first round since start whose poll has not ended yet (`None` before it).
    first_polls: Option<HashSet<String>>,
    started: Timestamp,
    sender: Option<JoinHandle<Result<Pass, StoreError>>>,
    /// The search index's catch-up and the daily prune, while running.
    upkeep: Option<JoinHandle<Result<(), StoreError>>>,
    /// `None` before the first, which waits for the first polls.
    next_upkeep: Option<Timestamp>,
    /// When the outbox next needs the sender.
    send_at: Option<Timestamp>,
    alerts_at: Option<Timestamp>,
    /// Composing failed this many times in a row (alerts or digest): the retries back off.
    compose_failures: u32,
    /// The next poll time last logged.
    announced: Option<Timestamp>,
    last_handled: Timestamp,
    next_digest: Timestamp,
    stopping: Arc<AtomicBool>,
    listener: Option<Listener>,
    /// Leases renewed, and word that it runs (a shared database only).
    shared: Option<Shared>,
    _lock: RunLock,
}

impl Daemon {
    async fn start(app: Arc<App>) -> Result<Daemon, DaemonError> {
        let config = &app.config;
        let lock = RunLock::take(&config.storage.database)?;
        tracing::info!(
            sources = config.sources.len(),
            topics = config.topics.len(),
            database = %config.storage.database,
            "newswatch started"
        );
        let now = crate::clock::now();
        let last_handled = match deliver::last_handled(&app).await? {
            Some(t) => t,
            None => {
                // A new installation starts counting now: it has nothing old to send.
                deliver::set_last_handled(&app, now).await?;
                now
            }
        };
        let next_digest = schedule::next_digest(last_handled, &config.digest);
        if next_digest <= now {
            tracing::info!("a digest time passed while newswatch was not running; sending it after the first polls");
        } else {
            tracing::info!(at = %format_time(next_digest, &config.digest.timezone), "next digest");
        }
        let listener = match config.http.listen {
            Some(addr) => Some(listen(addr, Arc::clone(&app)).await?),
            None => None,
        };
        // Alert stories a stopped process left queued go out with the first look.
        let alerts_at = deliver::has_alerts(config).then_some(now);
        let poller = Poller::new(Arc::clone(&app));
        let shared = Shared::start(&poller, config).await;
        Ok(Daemon {
            listener,
            poller,
            shared,
            first_polls: None,
            app,
            polls: JoinSet::new(),
            in_flight: HashMap::new(),
            started: now,
            sender: None,
            upkeep: None,
            next_upkeep: None,
            // What a process that stopped left pending goes out now.
            send_at: Some(now),
            alerts_at,
            compose_failures: 0,
            announced: None,
            last_handled,
            next_digest,
            stopping: Arc::new(AtomicBool::new(false)),
            _lock: lock,
        })
    }

    /// Says when the next poll is, once per quiet spell: when nothing is being polled and the
    /// next poll is a minute away or more (a config of many sources polls all the time).
    fn announce_next_poll(&mut self, next: Option<Timestamp>) {
        let now = crate::clock::now();
        let Some(at) =
            next.filter(|at| self.in_flight.is_empty() && at.duration_since(now) >= SignedDuration::from_mins(1))
        else {
            return;
        };
        if self
            .announced
            .is_none_or(|t| t.duration_since(at).abs() >= SignedDuration::from_mins(1))
        {
            tracing::info!(at = %format_time(at, &self.app.config.digest.timezone), "polls done; next poll");
            self.announced = Some(at);
        }
    }

    /// Starts a task for each due source not being polled already; returns when the next of
    /// the others is due.
    async fn start_due_polls(&mut self) -> Option<Timestamp> {
        let busy: HashSet<&String> = self.in_flight.values().collect();
        let idle: Vec<_> = self
            .app
            .config
            .sources
            .iter()
            .filter(|s| !busy.contains(&s.name))
            .cloned()
            .collect();
        // On a shared database, no more leases than polls it can start now (`poll::lease`).
        let room = self.app.config.fetch.concurrency.saturating_sub(self.in_flight.len());
        let mut plan = match self.poller.plan_within(&idle, Mode::Daemon, room).await {
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sources' state; trying again soon");
                return Some(crate::clock::now() + schedule::RETRY_SOON);
            }
        };
        let due = plan.take_due();
        if self.first_polls.is_none() {
            self.first_polls = Some(due.iter().map(|(s, _)| s.name.clone()).collect());
        }
        for (source, state) in due {
            let (poller, name) = (self.poller.clone(), source.name.clone());
            let metrics = Arc::clone(&self.app.metrics);
            let task = self.polls.spawn(async move {
                let started = std::time::Instant::now();
                let report = poller.poll_alone(source, state).await;
                let (outcome, stored) = match &report.outcome {
                    PollOutcome::Fetched { counts, .. } => ("fetched", counts.new as u64),
                    PollOutcome::Unchanged { .. } => ("unchanged", 0),
                    PollOutcome::Failed(_) => ("failed", 0),
                    PollOutcome::Skipped(_) => ("skipped", 0),
                };
                metrics.poll(outcome, stored, started.elapsed());
                report
            });
            self.in_flight.insert(task.id(), name);
        }
        plan.next
    }

    fn poll_done(&mut self, done: Result<(tokio::task::Id, SourceReport), tokio::task::JoinError>) {
        let (id, report) = match done {
            Ok((id, report)) => (id, Some(report)),
            Err(e) => {
                tracing::error!(error = %e, "a poll task failed");
                (e.id(), None)
            }
        };
        if let (Some(name), Some(first)) = (self.in_flight.remove(&id), self.first_polls.as_mut()) {
            first.remove(&name);
        }
        let matched = match report.map(|r| r.outcome) {
            Some(PollOutcome::Fetched { counts, articles, .. }) => counts.matched + articles.matched_late,
            Some(PollOutcome::Unchanged { articles, .. }) => articles.matched_late,
            _ => 0,
        };
        if matched > 0 && deliver::has_alerts(&self.app.config) {
            self.alerts_at = Some(schedule::alerts_at(self.alerts_at, crate::clock::now()));
        }
    }

    async fn alerts_if_due(&mut self) {
        let now = crate::clock::now();
        if self.alerts_at.is_some_and(|t| t <= now) {
            // Cleared only once composed: stories of a failed attempt are still queued.
            self.alerts_at = match self.compose(MessageKind::Alert).await {
                true => None,
                false => Some(schedule::compose_retry(
                    &self.app.config.email.retry,
                    self.compose_failures,
                    now,
                )),
            };
        }
    }

    /// Whether the first polls are done or waited for long enough (`schedule::past_first_polls`).
    fn past_first_polls(&self, now: Timestamp) -> bool {
        let done = self.first_polls.as_ref().is_some_and(|f| f.is_empty());
        schedule::past_first_polls(done, self.started, now)
    }

    async fn digest_if_due(&mut self) {
        let now = crate::clock::now();
        if now < self.next_digest {
            return;
        }
        // A digest missed while down waits for the first polls, to carry what they find.
        if !self.past_first_polls(now) {
            return;
        }
        // Composed and recorded as handled in one transaction, unless another daemon sharing
        // the database handled this digest time already.
        let composed = deliver::compose_digest_time(&self.app).await.map(|time| match time {
            DigestTime::Composed(ids) => {
                self.last_handled = now;
                ids
            }
            DigestTime::HandledElsewhere(at) => {
                tracing::info!("another newswatch sharing the database handled this digest time");
                self.last_handled = at;
                Vec::new()
            }
        });
        if !self.composed(MessageKind::Digest, composed) {
            // Nothing was composed (the store failed): the stories are still queued.
            self.next_digest = schedule::compose_retry(&self.app.config.email.retry, self.compose_failures, now);
            return;
        }
        self.next_digest = schedule::next_digest(self.last_handled, &self.app.config.digest);
        tracing::info!(at = %format_time(self.next_digest, &self.app.config.digest.timezone), "next digest");
    }

    /// Composes messages of `kind` into the outbox and wakes the sender; `false` if that failed.
    async fn compose(&mut self, kind: MessageKind) -> bool {
        let composed = deliver::compose(&self.app, kind).await;
        self.composed(kind, composed)
    }

    /// After composing: the sender woken, or the failure counted; `false` if it failed.
    fn composed(&mut self, kind: MessageKind, composed: Result<Vec<i64>, deliver::DeliverError>) -> bool {
        match composed {
            Ok(ids) => {
                self.compose_failures = 0;
                if ids.is_empty() && kind == MessageKind::Digest {
                    tracing::info!("digest time: nothing new to send");
                }
                self.send_at = Some(crate::clock::now());
                true
            }
            Err(e) => {
                self.compose_failures += 1;
                tracing::error!(error = %e, kind = ?kind, failures = self.compose_failures, "cannot compose messages; trying again");
                false
            }
        }
    }

    fn sender_done(&mut self, sent: Result<Result<Pass, StoreError>, tokio::task::JoinError>) {
        self.sender = None;
        match sent {
            Ok(Ok(pass)) => {
                let (posts, posts_failed) = (pass.webhooks_sent, pass.webhooks_failed);
                let metrics = &self.app.metrics;
                metrics.messages(
                    "mail",
                    (pass.sent.len() - posts) as u64,
                    (pass.failed.len() - posts_failed) as u64,
                );
                metrics.messages("webhook", posts as u64, posts_failed as u64);
                // Another process (a `newswatch digest` by hand) holds the outbox.
                if pass.busy {
                    self.send_at = Some(crate::clock::now() + schedule::RETRY_SOON);
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "the outbox could not be sent"),
            Err(e) => tracing::error!(error = %e, "the sender failed"),
        }
    }

    /// Starts the sender when the outbox has something due and no send is running.
    async fn send_if_due(&mut self) {
        if self.sender.is_some() {
            return;
        }
        // What is due in the outbox (a retry, say) may come before what the daemon asked for.
        match deliver::next_due(&self.app).await {
            Ok(due) => {
                self.send_at = [self.send_at, due].into_iter().flatten().min();
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
        if self.send_at.is_none_or(|t| t > crate::clock::now()) {
            return;
        }
        self.send_at = None;
        let (app, stopping) = (Arc::clone(&self.app), Arc::clone(&self.stopping));
        self.sender = Some(tokio::spawn(async move {
            deliver::send_due(&app, Duration::ZERO, &|| stopping.load(Ordering::Relaxed)).await
        }));
    }

    /// Starts the upkeep (`retention::upkeep`) when due: once the first polls are done, then
    /// every `schedule::UPKEEP_EVERY`; logs how the last one ended.
    async fn upkeep_if_due(&mut self) {
        if let Some(task) = self.upkeep.take_if(|t| t.is_finished()) {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "upkeep (search index, retention) failed"),
                Err(e) => tracing::error!(error = %e, "the upkeep task failed"),
            }
        }
        let now = crate::clock::now();
        if self.upkeep.is_some() || !schedule::upkeep_due(self.next_upkeep, self.past_first_polls(now), now) {
            return;
        }
        self.next_upkeep = Some(now + schedule::UPKEEP_EVERY);
        let app = Arc::clone(&self.app);
        self.upkeep = Some(tokio::spawn(async move { crate::retention::upkeep(&app).await }));
    }

    /// SIGHUP: the config file again. Sources and topics take effect at their next poll; an
    /// invalid file changes nothing; a new database path needs a restart.
    async fn reload(&mut self) {
        // Reading the file and building the matcher and the HTTP clients is blocking work (a
        // config of thousands of sources and topics takes a while): not on the loop's worker,
        // where it would hold up the polls' I/O.
        let app = Arc::clone(&self.app);
        let built = tokio::task::spawn_blocking(move || reconfigured(&app)).await;
        match built.map_err(ReloadError::from).and_then(|r| r) {
            Ok(app) => {
                self.app = Arc::new(app);
                self.poller = self.poller.with_app(Arc::clone(&self.app));
                if let Some(l) = &self.listener {
                    l.shared.set_app(Arc::clone(&self.app));
                    if self.app.config.http.listen != Some(l.addr) {
                        tracing::warn!(kept = %l.addr, "http.listen changed: restart newswatch to listen on the new address");
                    }
                }
                let config = &self.app.config;
                self.next_digest = schedule::next_digest(self.last_handled, &config.digest);
                tracing::info!(
                    sources = config.sources.len(),
                    topics = config.topics.len(),
                    next_digest = %format_time(self.next_digest, &config.digest.timezone),
                    "config reloaded"
                );
            }
            Err(e) => tracing::error!(error = %e, "config not reloaded; the running one stays"),
        }
    }

    /// Lets polls and the send in flight finish for a while, then abandons them: what was not
    /// recorded is done again at the next start, a message not marked sent stays pending.
    async fn stop(mut self) {
        tracing::info!("stopping: letting what is in flight finish");
        self.stopping.store(true, Ordering::Relaxed);
        let polls = async { while self.polls.join_next().await.is_some() {} };
        let sender = async {
            if let Some(s) = self.sender.as_mut() {
                let _ = s.await;
            }
        };
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async { tokio::join!(polls, sender) }).await;
        self.polls.abort_all();
        // The polls abandoned here are another daemon's to do, now rather than when their
        // leases run out.
        self.poller.release(self.in_flight.values().cloned().collect()).await;
        self.poller.stopped().await;
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
        // Each of its transactions stands alone: stopping between two loses nothing.
        if let Some(upkeep) = self.upkeep.take() {
            upkeep.abort();
        }
        if let Some(l) = self.listener.take() {
            let _ = l.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(2), l.task).await;
        }
    }
}

/// Binds `[http] listen` (a failure stops the start, as a config error would) and serves it.
async fn listen(addr: std::net::SocketAddr, app: Arc<App>) -> Result<Listener, DaemonError> {
    let socket = crate::serve::bind(addr).await?;
    let bound = socket.local_addr().unwrap_or(addr);
    tracing::info!(
        address = %bound,
        token = app.config.http.token.is_some(),
        "listening for HTTP: the pages (/), /feed.atom, /healthz, /metrics"
    );
    let timeout = app.config.http.timeout;
    let shared = crate::serve::Shared::new(app);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crate::serve::serve(socket, Arc::clone(&shared), timeout, async {
        let _ = stopped.await;
    }));
    Ok(Listener {
        shared,
        stop,
        task,
        addr,
    })
}

/// The running sender's result (the caller makes sure there is one).
async fn finished(
    sender: &mut Option<JoinHandle<Result<Pass, StoreError>>>,
) -> Result<Result<Pass, StoreError>, tokio::task::JoinError> {
    match sender.as_mut() {
        Some(s) => s.await,
        None => std::future::pending().await,
    }
}

async fn tick(watchdog: &mut Option<tokio::time::Interval>) {
    if let Some(w) = watchdog.as_mut() {
        w.tick().await;
    }
}

/// Tells systemd, when it runs newswatch (`Type=notify`); nothing otherwise.
fn notify(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!(error = %e, "cannot notify the service manager");
    }
}

/// The app `app` becomes with its config file read again; why not, if it cannot. The database
/// stays the one in use (a new path needs a restart).
fn reconfigured(app: &App) -> Result<App, ReloadError> {
    let mut config = Config::load(&app.config.path)?;
    let database = &app.config.storage.database;
    if config.storage.database != *database {
        tracing::warn!(
            new = %config.storage.database,
            kept = %database,
            "storage.database changed: restart newswatch to use the new one"
        );
        config.storage.database = database.clone();
    }
    Ok(app.reconfigure(config)?)
}
