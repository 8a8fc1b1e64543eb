//! `newswatch run`: poll each source when it is due, send the digest at each `digest.at` time,
//! stop cleanly on SIGINT/SIGTERM.
//!
//! Schedules are recomputed from wall-clock time on every wake-up (at least once a minute), so a
//! suspended laptop, a clock change or a DST switch never makes a digest late by more than that.
//! The last digest time handled is stored in the database: a restart neither sends it twice nor
//! forgets one missed while newswatch was down.

use std::collections::HashMap;

use crate::config::Source;
use crate::store::SourceState;
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use crate::pipeline::{App, DigestOutcome, PollOutcome};
use crate::store::StoreError;

/// Longest sleep between schedule checks.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long in-flight work may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
const LAST_DIGEST_KEY: &str = "last_digest_slot";

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen for stop signals: {0}")]
    Signal(#[from] std::io::Error),
}

/// The first digest time strictly after `after`.
pub fn next_digest_time(after: Timestamp, at: &[Time], tz: &TimeZone) -> Timestamp {
    let today = after.to_zoned(tz.clone()).date();
    let mut day = today;
    // Two days always hold a later slot; a few more cover odd DST days without ever looping forever.
    for _ in 0..4 {
        for t in at {
            if let Ok(zoned) = day.to_datetime(*t).to_zoned(tz.clone())
                && zoned.timestamp() > after
            {
                return zoned.timestamp();
            }
        }
        day = day.tomorrow().unwrap_or(day);
    }
    after + SignedDuration::from_hours(24)
}

/// The sources due at `now`, and when the next of the others is due. A source never polled is
/// due; one paused after 410 Gone never is; one on a host that sent Retry-After waits for it.
async fn due_sources(app: &App, now: Timestamp) -> Result<(Vec<Source>, Option<Timestamp>), StoreError> {
    let states: HashMap<String, SourceState> = app
        .with_store(|s| s.source_states())
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let limited: HashMap<String, Timestamp> = app
        .with_store(move |s| s.host_retries(now))
        .await?
        .into_iter()
        .map(|(host, until, _)| (host, until))
        .collect();
    let mut due = Vec::new();
    let mut next: Option<Timestamp> = None;
    for source in &app.config.sources {
        let state = states.get(&source.name).filter(|s| s.url == source.url.as_str());
        if state.is_some_and(|s| s.paused) {
            continue;
        }
        let mut at = state.and_then(|s| s.next_poll).unwrap_or(now);
        if let Some(until) = limited.get(&crate::fetch::host_key(&source.url)) {
            at = at.max(*until);
        }
        if at <= now {
            due.push(source.clone());
        } else {
            next = Some(next.map_or(at, |n: Timestamp| n.min(at)));
        }
    }
    Ok((due, next))
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(app: App) -> Result<(), DaemonError> {
    let mut stop = stop_signal()?;
    let config = &app.config;
    tracing::info!(
        sources = config.sources.len(),
        topics = config.topics.len(),
        database = %config.storage.database.display(),
        "newswatch started"
    );

    let now = Timestamp::now();
    let last_slot = match app.with_store(|s| s.get_state(LAST_DIGEST_KEY)).await? {
        Some(v) => v.parse::<Timestamp>().unwrap_or(now),
        None => {
            // A new installation starts counting now: it has nothing old to send.
            let v = now.to_string();
            app.with_store(move |s| s.set_state(LAST_DIGEST_KEY, &v)).await?;
            now
        }
    };
    let mut next_digest = next_digest_time(last_slot, &config.digest.at, &config.digest.timezone);
    if next_digest <= now {
        tracing::info!("a digest time passed while newswatch was not running; sending it after the first poll");
    } else {
        tracing::info!(at = %crate::timefmt::format_time(next_digest, &config.digest.timezone), "next digest");
    }

    loop {
        let now = Timestamp::now();
        let (due_now, _) = due_sources(&app, now).await?;
        if !due_now.is_empty() {
            let poll = app.poll(&due_now, false);
            tokio::pin!(poll);
            let reports = tokio::select! {
                r = &mut poll => r,
                _ = stop.changed() => {
                    tracing::info!("stopping: letting in-flight polls finish");
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, poll).await;
                    break;
                }
            };
            let failed = reports
                .iter()
                .filter(|r| matches!(r.outcome, PollOutcome::Failed(_)))
                .count();
            tracing::info!(polled = reports.len(), failed, "poll round done");
        }

        if Timestamp::now() >= next_digest {
            let send = app.send_digest(false);
            tokio::pin!(send);
            let mut stopping = false;
            let result = tokio::select! {
                r = &mut send => Some(r),
                _ = stop.changed() => {
                    tracing::info!("stopping: letting the digest finish");
                    stopping = true;
                    tokio::time::timeout(SHUTDOWN_GRACE, send).await.ok()
                }
            };
            match result {
                Some(Ok(DigestOutcome::NothingToSend)) => tracing::info!("digest time: nothing new to send"),
                Some(Ok(_)) => {}
                // Already logged; the stories stay queued for the next digest time.
                Some(Err(e)) => tracing::error!(error = %e, "digest failed"),
                // Abandoned: the time stays unhandled, so the next start sends the digest.
                None => break,
            }
            let handled = Timestamp::now();
            let v = handled.to_string();
            app.with_store(move |s| s.set_state(LAST_DIGEST_KEY, &v)).await?;
            if stopping {
                break;
            }
            next_digest = next_digest_time(handled, &config.digest.at, &config.digest.timezone);
            tracing::info!(at = %crate::timefmt::format_time(next_digest, &config.digest.timezone), "next digest");
        }

        // Each polled source now has its own next time.
        let now = Timestamp::now();
        let (still_due, next_due) = due_sources(&app, now).await?;
        let wake = if still_due.is_empty() {
            next_due.map_or(next_digest, |d| d.min(next_digest))
        } else {
            // Only if a poll could not record its result; do not spin.
            now + SignedDuration::from_secs(1)
        };
        let sleep = Duration::try_from(wake.duration_since(now))
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = stop.changed() => break,
        }
    }
    tracing::info!("newswatch stopped");
    Ok(())
}

/// A channel that changes once SIGINT or SIGTERM arrives.
fn stop_signal() -> Result<watch::Receiver<()>, std::io::Error> {
    let (tx, rx) = watch::channel(());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(());
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn next_digest_in_the_configured_zone() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let at = [Time::constant(8, 0, 0, 0), Time::constant(18, 30, 0, 0)];
        // 2026-11-23 05:00 JST -> 08:00 JST the same day (23:00 UTC the day before).
        assert_eq!(
            next_digest_time(t("2026-11-22T20:00:00Z"), &at, &tokyo),
            t("2026-11-22T23:00:00Z")
        );
        // Exactly at a slot: the next one.
        assert_eq!(
            next_digest_time(t("2026-11-22T23:00:00Z"), &at, &tokyo),
            t("2026-11-23T09:30:00Z")
        );
        // After the last slot of the day: tomorrow's first.
        assert_eq!(
            next_digest_time(t("2026-11-23T10:00:00Z"), &at, &tokyo),
            t("2026-11-23T23:00:00Z")
        );
    }

    #[test]
    fn dst_change_keeps_local_time() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let at = [Time::constant(8, 0, 0, 0)];
        // Summer time ends 2026-10-25: 08:00 is 06:00 UTC before and 07:00 UTC after.
        assert_eq!(
            next_digest_time(t("2026-10-24T07:00:00Z"), &at, &berlin),
            t("2026-10-25T07:00:00Z")
        );
        // 02:30 does not exist on 2026-03-29 in Berlin; the digest still happens that day.
        let gap = [Time::constant(2, 30, 0, 0)];
        let next = next_digest_time(t("2026-03-28T12:00:00Z"), &gap, &berlin);
        assert!(
            next > t("2026-03-28T12:00:00Z") && next < t("2026-03-29T12:00:00Z"),
            "{next}"
        );
    }
}
