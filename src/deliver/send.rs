//! Sending the outbox: due messages, oldest first, each as the very bytes it was composed as;
//! marked sent once the transport accepted it, else tried again (or parked) when
//! `schedule::message_retry` says. One process sends at a time: it holds the store's
//! `SendLock`, which a process that dies lets go of, however it dies.

use std::time::Duration;

use crate::app::App;
use crate::mail::Formatted;
use crate::model::{Channel, Database, OutboxEntry};
use crate::schedule;
use crate::store::{Attempt, SendLock, StoreError};
use crate::webhook::{Poster, WebhookError};

/// Takes the right to send (`store::SendLock`), waiting up to `wait` for another process to
/// let go of it; `None` if it did not.
async fn take_lock(database: &Database, wait: Duration) -> Result<Option<SendLock>, StoreError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // On the blocking pool: on a server, taking it is a connection and a statement.
        let db = database.clone();
        let taken = tokio::task::spawn_blocking(move || SendLock::try_take(&db))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        match taken? {
            Some(lock) => return Ok(Some(lock)),
            None if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            None => return Ok(None),
        }
    }
}

/// What a pass over the outbox did.
#[derive(Debug, Default)]
pub struct Pass {
    pub sent: Vec<i64>,
    pub failed: Vec<i64>,
    /// Of those, how many were webhook posts (the rest mail).
    pub webhooks_sent: usize,
    pub webhooks_failed: usize,
    /// Another process was sending, and went on longer than we would wait.
    pub busy: bool,
}

/// Sends every message due now, each at most once. `stopping` is asked between two messages.
pub async fn send_due(
    app: &App,
    lock_wait: Duration,
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<Pass, StoreError> {
    let mut pass = Pass::default();
    let Some(_lock) = take_lock(&app.config.storage.database, lock_wait).await? else {
        pass.busy = true;
        return Ok(pass);
    };
    // Due when the pass began: a message that fails in this pass waits for the next one, however
    // long this one takes, so that it is not refused several times in one go.
    let started = crate::clock::now();
    let mut poster = None;
    while !stopping() {
        let Some((entry, bytes)) = app.store(move |s| s.due_message(started)).await? else {
            break;
        };
        let id = entry.id;
        match transmit(app, &entry, bytes, &mut poster).await {
            Ok(destination) => {
                let at = destination.clone();
                app.store(move |s| s.message_sent(id, &at, crate::clock::now())).await?;
                tracing::info!(id, kind = ?entry.kind, to = %entry.shown, stories = entry.stories, %destination, "message sent");
                pass.sent.push(id);
                pass.webhooks_sent += usize::from(entry.channel == Channel::Webhook);
            }
            Err((error, refused)) => {
                let now = crate::clock::now();
                let next_attempt = match entry.channel {
                    // No attempt of this newswatch will ever send it: parked at once.
                    Channel::Unknown(_) => None,
                    _ => schedule::message_retry(&app.config.email.retry, entry.attempts, entry.refusals, refused, now),
                };
                let attempt = Attempt {
                    error: error.to_string(),
                    refused,
                    next_attempt,
                };
                app.store(move |s| s.message_failed(id, &attempt, now)).await?;
                match next_attempt {
                    Some(at) => {
                        tracing::warn!(id, to = %entry.shown, %error, next_attempt = %at, "message not sent")
                    }
                    None => {
                        tracing::error!(id, to = %entry.shown, %error, "message parked until `newswatch outbox retry`")
                    }
                }
                pass.failed.push(id);
                pass.webhooks_failed += usize::from(entry.channel == Channel::Webhook);
            }
        }
    }
    Ok(pass)
}

/// Hands one message to its transport: where it went, or why not and whether that was a
/// refusal. The webhook client is made for the first webhook message of a pass.
async fn transmit(
    app: &App,
    entry: &OutboxEntry,
    bytes: Vec<u8>,
    poster: &mut Option<Poster>,
) -> Result<String, (String, bool)> {
    match &entry.channel {
        Channel::Mail => {
            let message = Formatted {
                message_id: entry.message_id.clone(),
                bytes,
            };
            match app.mailer.send(&entry.recipient, &message).await {
                Ok(sent) => Ok(sent.destination),
                Err(e) => Err((e.to_string(), e.is_refusal())),
            }
        }
        Channel::Webhook => {
            let failed = |e: WebhookError| (e.to_string(), e.is_refusal());
            let p = match poster {
                Some(p) => p,
                None => poster
                    .insert(Poster::new(app.config.webhook.timeout, &app.config.fetch.user_agent).map_err(failed)?),
            };
            match p.post(&entry.recipient, bytes, &entry.message_id).await {
                Ok(status) => Ok(format!("{} ({status})", entry.shown)),
                Err(e) => Err(failed(e)),
            }
        }
        Channel::Unknown(name) => Err((
            format!(
                "unknown channel {name:?}: this newswatch sends by mail and webhook only \
                 (was the message written by another version?)"
            ),
            true,
        )),
    }
}
