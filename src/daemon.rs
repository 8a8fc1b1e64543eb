//! `newswatch run`: poll each source when it is due, send the digest at each `digest.at` time,
//! stop cleanly on SIGINT/SIGTERM.
//!
//! Schedules are recomputed from wall-clock time on every wake-up (at least once a minute), so a
//! suspended laptop, a clock change or a DST switch never makes a digest late by more than that.
//! The last digest time handled is stored in the database: a restart neither sends it twice nor
//! forgets one missed while newswatch was down.
//!
//! The loop only: when things are due comes from `schedule`, the work from `poll` and `deliver`.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

use crate::app::App;
use crate::deliver;
use crate::model::MessageKind;
use crate::poll::Poller;
use crate::schedule::{self, Mode};
use crate::store::StoreError;
use crate::timefmt::format_time;

/// Longest sleep between schedule checks.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long in-flight work may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen for stop signals: {0}")]
    Signal(#[from] std::io::Error),
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(app: App) -> Result<(), DaemonError> {
    let mut stop = stop_signal()?;
    let config = &app.config;
    let tz = &config.digest.timezone;
    tracing::info!(
        sources = config.sources.len(),
        topics = config.topics.len(),
        database = %config.storage.database.display(),
        "newswatch started"
    );

    let now = Timestamp::now();
    let last_handled = match deliver::last_handled(&app).await? {
        Some(t) => t,
        None => {
            // A new installation starts counting now: it has nothing old to send.
            deliver::set_last_handled(&app, now).await?;
            now
        }
    };
    let mut next_digest = schedule::next_digest(last_handled, &config.digest);
    if next_digest <= now {
        tracing::info!("a digest time passed while newswatch was not running; sending it after the first poll");
    } else {
        tracing::info!(at = %format_time(next_digest, tz), "next digest");
    }

    let poller = Poller::new(&app);
    loop {
        let plan = poller.plan(&config.sources, Mode::Daemon).await?;
        if plan.has_due() {
            let poll = poller.run(plan);
            tokio::pin!(poll);
            let reports = tokio::select! {
                r = &mut poll => r,
                _ = stop.changed() => {
                    tracing::info!("stopping: letting in-flight polls finish");
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, poll).await;
                    break;
                }
            };
            let polled = reports.iter().filter(|r| !r.outcome.is_skipped()).count();
            let failed = reports.iter().filter(|r| r.outcome.is_failure()).count();
            tracing::info!(polled, failed, "poll round done");
        }

        if Timestamp::now() >= next_digest {
            let send = async {
                deliver::compose(&app, MessageKind::Digest).await?;
                deliver::send_due(&app, Duration::from_secs(5), &|| false).await?;
                Ok::<_, deliver::DeliverError>(())
            };
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
                Some(Ok(())) => {}
                // Already logged; the stories stay queued for the next digest time.
                Some(Err(e)) => tracing::error!(error = %e, "digest failed"),
                // Abandoned: the time stays unhandled, so the next start sends the digest.
                None => break,
            }
            let handled = Timestamp::now();
            deliver::set_last_handled(&app, handled).await?;
            if stopping {
                break;
            }
            next_digest = schedule::next_digest(handled, &config.digest);
            tracing::info!(at = %format_time(next_digest, tz), "next digest");
        }

        // Each polled source now has its own next time.
        let now = Timestamp::now();
        let plan = poller.plan(&config.sources, Mode::Daemon).await?;
        let wake = if plan.has_due() {
            // Only if a poll could not record its result; do not spin.
            now + SignedDuration::from_secs(1)
        } else {
            plan.next.map_or(next_digest, |d| d.min(next_digest))
        };
        let sleep = Duration::try_from(wake.duration_since(now))
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        // Every wake-up has polled what was due and sent what was due by now.
        tracing::debug!(until = %(now + SignedDuration::try_from(sleep).unwrap_or_default()), "idle");
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
