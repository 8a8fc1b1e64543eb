//! How things stand: each source's health (`newswatch sources`, the digest's "Sources needing
//! attention"), and the whole picture for `newswatch status` (when each source is polled next,
//! the next digest, the outbox, the database); read from what polls and deliveries recorded.
//! Resuming a source paused after 410 Gone; a backup of the database.
//!
//! Reads the store (and writes only the resume); never fetches, polls or sends.

use std::fmt;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::app::App;
use crate::model::{Attention, MessageState, OutboxEntry, SourceStates, host_key};
use crate::schedule::{self, Decision, Mode};
use crate::store::StoreError;
use crate::timefmt::format_time;

/// A source is reported as needing attention after failing this long.
const ATTENTION_AFTER: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    #[serde(rename = "never polled")]
    NeverPolled,
    #[serde(rename = "paused (410 Gone)")]
    Paused,
    /// Its last polls failed, counted against it.
    #[serde(rename = "failing")]
    Failing,
    /// Its last poll failed without it counting against the source: its host's Retry-After, or
    /// our own network being down.
    #[serde(rename = "retrying")]
    Retrying,
    /// Polled fine, but from a new address the config should name.
    #[serde(rename = "moved")]
    Moved,
    /// Read, but not all of it: entries skipped, or recovered from a malformed document.
    #[serde(rename = "warning")]
    Warning,
    #[serde(rename = "ok")]
    Ok,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::NeverPolled => "never polled",
            Status::Paused => "paused (410 Gone)",
            Status::Failing => "failing",
            Status::Retrying => "retrying",
            Status::Moved => "moved",
            Status::Warning => "warning",
            Status::Ok => "ok",
        })
    }
}

/// A source's health.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub name: String,
    pub url: String,
    pub status: Status,
    /// Failing for more than a day, paused, or moved: the user should look.
    pub needs_attention: bool,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// What was wrong with the last document, though it was read.
    pub last_warning: Option<String>,
    pub last_status: Option<u16>,
    pub items_seen: i64,
    pub items_matched: i64,
    pub next_poll: Option<Timestamp>,
    pub moved_to: Option<String>,
}

/// Health of every configured source, in config order.
pub async fn report(app: &App, now: Timestamp) -> Result<Vec<Health>, StoreError> {
    let states = app.read(|s| s.source_states()).await?;
    Ok(of(app, &states, now))
}

/// Health of every configured source from their stored `states`, in config order.
fn of(app: &App, states: &SourceStates, now: Timestamp) -> Vec<Health> {
    app.config
        .sources
        .iter()
        .map(|source| {
            let st = states
                .current(&source.name, source.url.as_str())
                .cloned()
                .unwrap_or_default();
            let long_failing = st
                .failing_since
                .is_some_and(|t| now.duration_since(t) > ATTENTION_AFTER);
            let status = if st.last_attempt.is_none() {
                Status::NeverPolled
            } else if st.paused {
                Status::Paused
            } else if st.consecutive_failures > 0 {
                Status::Failing
            } else if st.last_error.is_some() {
                Status::Retrying
            } else if st.moved_to.is_some() {
                Status::Moved
            } else if st.last_warning.is_some() {
                Status::Warning
            } else {
                Status::Ok
            };
            Health {
                name: source.name.clone(),
                url: source.url.to_string(),
                status,
                needs_attention: st.paused || st.moved_to.is_some() || long_failing,
                last_attempt: st.last_attempt,
                last_success: st.last_success,
                consecutive_failures: st.consecutive_failures,
                failing_since: st.failing_since,
                last_error: st.last_error,
                last_warning: st.last_warning,
                last_status: st.last_status,
                items_seen: st.items_seen,
                items_matched: st.items_matched,
                next_poll: st.next_poll,
                moved_to: st.moved_to,
            }
        })
        .collect()
}

/// The sources that need the user, and why, for the end of a digest.
pub fn attention(health: &[Health], tz: &TimeZone) -> Vec<Attention> {
    health
        .iter()
        .filter(|h| h.needs_attention)
        .map(|h| {
            let reason = if h.status == Status::Paused {
                "paused after HTTP 410 Gone: remove it or resume it".to_string()
            } else if h.consecutive_failures > 0 {
                format!(
                    "failing since {}: {}",
                    h.failing_since.map(|t| format_time(t, tz)).unwrap_or_default(),
                    h.last_error.clone().unwrap_or_default()
                )
            } else {
                format!(
                    "moved permanently to {}: update the config",
                    h.moved_to.clone().unwrap_or_default()
                )
            };
            Attention {
                source: h.name.clone(),
                reason,
            }
        })
        .collect()
}

/// A copy of the database at `to`, safe while the daemon runs; its size and schema version.
pub async fn backup(app: &App, to: &std::path::Path) -> Result<(u64, i64), StoreError> {
    let to = to.to_path_buf();
    app.store(move |s| {
        s.backup(&to)?;
        let bytes = std::fs::metadata(&to).map_or(0, |m| m.len());
        Ok((bytes, s.schema_version()?))
    })
    .await
}

/// Copies the SQLite archive `config` names into the empty PostgreSQL database `to` (on the
/// blocking pool); how many rows each table brought.
pub async fn migrate_to(
    config: &crate::config::Config,
    to: &crate::model::Database,
) -> Result<crate::store::migrate::Copied, StoreError> {
    use crate::model::Database;
    let (Database::File(from), Database::Server { url, password }) = (&config.storage.database, to) else {
        return Err(StoreError::Task(
            "migrate-to copies a SQLite archive ([storage] database a file) into a PostgreSQL database \
             (postgres://user@host/db)"
                .into(),
        ));
    };
    let (from, url, password) = (from.clone(), url.clone(), password.clone());
    tokio::task::spawn_blocking(move || crate::store::migrate::migrate_to(&from, &url, password.as_deref()))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Lets a source paused after 410 Gone be polled again; `false` if it was never polled.
pub async fn resume(app: &App, name: &str) -> Result<bool, StoreError> {
    let name = name.to_string();
    app.store(move |s| s.resume(&name)).await
}

/// `newswatch status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    pub sources: Vec<NextPoll>,
    pub next_digest: Timestamp,
    /// Pending and parked messages.
    pub outbox: Vec<OutboxEntry>,
    pub database: String,
    /// The database file, with its write-ahead log.
    pub database_bytes: u64,
    pub stories_matched_24h: usize,
    pub messages_sent_24h: usize,
    /// On a shared database, the daemons running on it; `None` on SQLite (one daemon, named
    /// by its run lock).
    pub daemons: Option<Vec<crate::store::DaemonSeen>>,
}

/// When a source is polled next, as the daemon sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NextPoll {
    pub name: String,
    pub status: Status,
    /// `None` while paused.
    pub next_poll: Option<Timestamp>,
    /// Why not sooner: paused, its host's Retry-After, backing off after failures.
    pub waiting: Option<String>,
}

/// How long past its stored next poll `h` is, if that is overdue: a poll in flight is late by
/// up to `timeout` (`fetch.timeout`), so only more than twice that and a minute counts; a
/// paused source is never overdue. `/healthz` and `/sources` both ask here.
pub fn overdue(h: &Health, timeout: std::time::Duration, now: Timestamp) -> Option<SignedDuration> {
    let grace =
        SignedDuration::try_from(timeout * 2 + std::time::Duration::from_secs(60)).unwrap_or(SignedDuration::MAX);
    let late = now.duration_since(h.next_poll?);
    (h.status != Status::Paused && late > grace).then_some(late)
}

/// Each source's health, with when it is polled next and why not sooner, in config order.
pub async fn next_polls(app: &App, now: Timestamp) -> Result<Vec<(Health, NextPoll)>, StoreError> {
    let (states, holds) = app
        .read(move |s| Ok::<_, StoreError>((s.source_states()?, s.host_holds(now)?)))
        .await?;
    Ok(app
        .config
        .sources
        .iter()
        .zip(of(app, &states, now))
        .map(|(source, h)| {
            let state = states.current(&source.name, source.url.as_str());
            let host = host_key(&source.url);
            let hold = holds.iter().find(|(k, _)| *k == host).map(|(_, h)| h);
            let (next_poll, waiting) = match schedule::decide(state, &host, hold, now, Mode::Daemon) {
                Decision::Due => (Some(now), None),
                Decision::NotYet(at) => {
                    let why = match (hold, state) {
                        (Some(h), _) if h.until >= at => Some(format!("{host} asked to wait ({})", h.reason)),
                        (_, Some(s)) if s.consecutive_failures > 0 => Some(format!(
                            "backing off after {} failure{}",
                            s.consecutive_failures,
                            if s.consecutive_failures == 1 { "" } else { "s" }
                        )),
                        _ => None,
                    };
                    (Some(at), why)
                }
                // The daemon skips nothing but paused sources.
                Decision::Skip(_) => (None, Some("paused after HTTP 410 Gone".into())),
            };
            let next = NextPoll {
                name: h.name.clone(),
                status: h.status,
                next_poll,
                waiting,
            };
            (h, next)
        })
        .collect())
}

pub async fn overview(app: &App, now: Timestamp) -> Result<Overview, StoreError> {
    let sources = next_polls(app, now).await?.into_iter().map(|(_, next)| next).collect();
    let (last_handled, outbox, (sent, matched), database_bytes, daemons) = app
        .read(move |s| {
            Ok::<_, StoreError>((
                s.last_digest_handled()?,
                s.outbox(&[MessageState::Pending, MessageState::Parked])?,
                s.activity_since(now - SignedDuration::from_hours(24))?,
                s.bytes()?,
                s.daemons(DAEMON_SILENT)?,
            ))
        })
        .await?;
    let database = app.config.storage.database.clone();
    Ok(Overview {
        sources,
        next_digest: schedule::next_digest(last_handled.unwrap_or(now), &app.config.digest),
        outbox,
        database: database.to_string(),
        database_bytes,
        stories_matched_24h: matched,
        messages_sent_24h: sent,
        daemons: matches!(app.config.storage.database, crate::model::Database::Server { .. }).then_some(daemons),
    })
}

/// A daemon on a shared database that has not said it is running for this long (it says so
/// every 30 s to a minute) is not listed by `status`.
const DAEMON_SILENT: std::time::Duration = std::time::Duration::from_secs(180);

/// What `/metrics` reads from the database at each scrape.
pub struct Figures {
    /// Stories matched per topic, all time.
    pub matched: Vec<(String, i64)>,
    /// Messages waiting in the outbox (pending or parked).
    pub outbox_pending: usize,
    /// Each source's last successful poll.
    pub last_success: Vec<(String, Option<Timestamp>)>,
}

pub async fn figures(app: &App, now: Timestamp) -> Result<Figures, StoreError> {
    let health = report(app, now).await?;
    let (matched, outbox) = app
        .read(|s| {
            Ok::<_, StoreError>((
                s.matched_per_topic()?,
                s.outbox(&[MessageState::Pending, MessageState::Parked])?,
            ))
        })
        .await?;
    Ok(Figures {
        matched,
        outbox_pending: outbox.len(),
        last_success: health.into_iter().map(|h| (h.name, h.last_success)).collect(),
    })
}
