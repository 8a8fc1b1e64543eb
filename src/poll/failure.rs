//! When a poll fails: what the failure's kind means for the source (backoff, a pause after 410,
//! a hold on its host after 429/503), what is recorded, and whether our own network, not the
//! source, is to blame.
//!
//! Part of poll: only poll reports and records failures; health reads what it recorded.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::outcome::{Failure, FailureKind};
use crate::app::App;
use crate::config::Source;
use crate::fetch::FetchError;
use crate::model::{HostHold, SourceState};
use crate::schedule;
use crate::store::FailureRecord;
use crate::timefmt::format_time;

/// Recent fetch outcomes per host, to tell "this source is down" from "our network is down".
#[derive(Default)]
pub(super) struct NetworkWatch {
    events: Mutex<VecDeque<(Instant, String, bool)>>,
}

impl NetworkWatch {
    const WINDOW: Duration = Duration::from_secs(60);
    const MIN_HOSTS: usize = 3;

    pub(super) fn note(&self, host: String, reached: bool) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push_back((Instant::now(), host, reached));
        while events.front().is_some_and(|e| e.0.elapsed() > Self::WINDOW) || events.len() > 10_000 {
            events.pop_front();
        }
    }

    /// Connection failures to at least [`Self::MIN_HOSTS`] hosts within a minute, and not one
    /// host reached: the fault is ours, not the sources'.
    pub(super) fn looks_down(&self) -> bool {
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

/// A failed fetch of `source` (on `host`) as a failure, with what it implies: a host that asked
/// to wait is left alone for that long (recorded per host; the time is returned, as when to try
/// the source again), a source that is gone is paused.
pub(super) async fn from_fetch(
    app: &App,
    source: &Source,
    host: &str,
    error: FetchError,
) -> (Failure, Option<Timestamp>) {
    let mut failure = Failure::from(error.clone());
    match error {
        FetchError::RateLimited { status, retry_after } => {
            // Rate limits are per client address: leave the whole host alone.
            let now = crate::clock::now();
            let hold = HostHold {
                until: schedule::host_hold_until(retry_after, source.interval, now),
                reason: format!("HTTP {status}"),
            };
            let until = hold.until;
            // This source was not read: it is due again at its next poll time, or when the
            // host's wait ends, whichever is later.
            let retry_at = until.max(schedule::next_poll(source.interval, now));
            failure.message = format!(
                "{}; {host} is left alone until {}",
                failure.message,
                format_time(until, &app.config.digest.timezone)
            );
            let h = host.to_string();
            if let Err(e) = app.store(move |s| s.set_host_hold(&h, &hold)).await {
                tracing::error!(error = %e, "cannot record the host's Retry-After");
            }
            return (failure, Some(retry_at));
        }
        FetchError::Gone => {
            failure.message = format!(
                "{}; paused: remove it from the config, or `newswatch sources --resume \"{}\"`",
                failure.message, source.name
            );
        }
        _ => {}
    }
    (failure, None)
}

/// A connection failure, once the whole round is known: if our network looks down, it is not
/// the source's failure.
pub(super) fn connection_failed(error: FetchError, network_down: bool) -> Failure {
    if network_down {
        Failure::new(
            FailureKind::NetworkDown,
            format!("{error} (the network looks down: not counted against the source)"),
        )
    } else {
        Failure::from(error)
    }
}

/// Stores `failure` as the source's last poll, as its kind says: whether it counts toward
/// backoff, when to try again (`retry_at`, else by backoff), a pause after 410.
pub(super) async fn record(
    app: &App,
    source: &Source,
    state: Option<&SourceState>,
    failure: &Failure,
    retry_at: Option<Timestamp>,
) {
    let now = crate::clock::now();
    let penalise = failure.kind.counts_against_source();
    let failures = state.map_or(0, |s| s.consecutive_failures) + u32::from(penalise);
    let next_poll = retry_at.unwrap_or_else(|| match failure.kind {
        FailureKind::NetworkDown => schedule::network_retry(source.interval, now),
        _ => schedule::after_failures(source.interval, failures, now),
    });
    let record = FailureRecord {
        error: failure.message.clone(),
        status: failure.status(),
        next_poll,
        penalise,
        pause: failure.kind == FailureKind::Gone,
    };
    let (name, url) = (source.name.clone(), source.url.to_string());
    if let Err(e) = app.store(move |s| s.record_failure(&name, &url, &record, now)).await {
        tracing::error!(source = %source.name, error = %e, "cannot record the failure");
    }
}
