//! Delivering: queued stories become messages in the outbox, one per recipient (`route.rs`
//! decides who gets what, `digest` renders it, `mail` formats it, the store writes it all in one
//! durable transaction); then the outbox is sent (`send.rs`). Also the test message, and which
//! digest time the daemon handled last.
//!
//! The promise, per recipient: each story reaches each recipient in one message only, and a
//! crash at any point leads at worst to that same message arriving twice.
//!
//! Uses the store, `digest`, `mail`, `webhook`, `health` (the footer) and `schedule` (retries); never
//! fetches or polls.

mod route;
mod send;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

pub use send::{Pass, send_due};

use crate::app::App;
use crate::config::Config;
use crate::digest::{self, Layout, Placed};
use crate::health;
use crate::mail::{self, MailError};
use crate::model::{Attention, Channel, FollowUp, MessageKind, MessageState, OutboxEntry, QueuedStory, ReaderHistory};
use crate::store::{NewMessage, StoreError};
use crate::timefmt::format_time;
use crate::webhook;

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// A message as `--dry-run` shows it.
#[derive(Debug, Clone)]
pub struct Preview {
    pub recipient: String,
    /// The Subject the message would have.
    pub subject: String,
    pub stories: usize,
    pub text: String,
}

/// What `newswatch digest` did.
#[derive(Debug, Clone)]
pub struct DigestRun {
    /// The messages this run composed, as they stand after sending.
    pub composed: Vec<OutboxEntry>,
    /// Messages left pending before (by a process that died, or failures) that this run sent.
    pub earlier: Vec<OutboxEntry>,
    /// Messages left pending before that this run tried and could not send either.
    pub earlier_failed: Vec<OutboxEntry>,
    /// Another process held the outbox all the while; it sends them.
    pub busy: bool,
}

/// What composing at a digest time did (the daemon's, [`compose_digest_time`]).
#[derive(Debug, Clone, PartialEq)]
pub enum DigestTime {
    /// The digest was composed (these messages, perhaps none) and the time recorded as handled.
    Composed(Vec<i64>),
    /// Another newswatch sharing the database handled this digest time already: the last time
    /// handled, as it recorded it.
    HandledElsewhere(Timestamp),
}

/// Puts the queued stories due now into the outbox: for a digest, every story still due to
/// each recipient; for alerts, the stories of immediate topics. Returns the new messages' ids.
pub async fn compose(app: &App, kind: MessageKind) -> Result<Vec<i64>, DeliverError> {
    match compose_in(app, kind, false).await? {
        DigestTime::Composed(ids) => Ok(ids),
        DigestTime::HandledElsewhere(_) => Ok(Vec::new()),
    }
}

/// The daemon's digest at a digest time: composed, and the time recorded as handled, in one
/// transaction, unless another daemon on the same database handled this digest time already
/// (checked inside that transaction, so of two daemons at one digest time one composes).
pub async fn compose_digest_time(app: &App) -> Result<DigestTime, DeliverError> {
    compose_in(app, MessageKind::Digest, true).await
}

async fn compose_in(app: &App, kind: MessageKind, digest_time: bool) -> Result<DigestTime, DeliverError> {
    let attention = match kind {
        MessageKind::Digest => attention(app).await,
        MessageKind::Alert => Vec::new(),
    };
    let (config, mailer) = (app.config.clone(), Arc::clone(&app.mailer));
    let now = crate::clock::now();
    let composed = app
        .store(move |s| {
            s.compose(now, |tx| {
                if digest_time
                    && let Some(handled) = tx.last_digest_handled()?
                    && crate::schedule::next_digest(handled, &config.digest) > now
                {
                    return Ok(DigestTime::HandledElsewhere(handled));
                }
                let queue = tx.queued()?;
                let parked = tx.parked_unnoticed()?;
                let routing = route::route(&config, kind, &queue);
                let mut ids = Vec::new();
                let mut noticed = Vec::new();
                for r in &routing.routes {
                    let history = match kind == MessageKind::Digest && r.takes_digests {
                        true => tx.history(&r.address, follow_up_horizon(&config, now))?,
                        false => ReaderHistory::default(),
                    };
                    if !worth_sending(&config, kind, r, &history) {
                        continue;
                    }
                    let theirs: Vec<&OutboxEntry> = parked.iter().filter(|p| p.recipient == r.address).collect();
                    let notices: Vec<String> = theirs.iter().map(|p| notice(p, &config)).collect();
                    noticed.extend(theirs.iter().map(|p| p.id));
                    let context = Context {
                        attention: &attention,
                        notices: &notices,
                        history: &history,
                        now,
                    };
                    let d = content(&config, kind, &queue, r, &context);
                    let references = references(&history.follow_ups);
                    let message = mailer.format(&r.recipient, &d.subject, (&d.text, &d.html), &references)?;
                    ids.push(tx.add_message(&NewMessage {
                        kind,
                        channel: Channel::Mail,
                        recipient: r.address.clone(),
                        message_id: message.message_id,
                        subject: d.subject,
                        message: message.bytes,
                        items: r.stories.iter().map(|p| queue[p.story].story.id).collect(),
                        follow_ups: history.follow_ups.iter().map(|f| f.story).collect(),
                    })?);
                }
                for hook in &routing.hooks {
                    for p in &hook.stories {
                        let story = &queue[p.story].story;
                        ids.push(tx.add_message(&NewMessage {
                            kind: MessageKind::Alert,
                            channel: Channel::Webhook,
                            recipient: hook.url.clone(),
                            message_id: format!("newswatch-{}-{:016x}", story.id, fastrand::u64(..)),
                            subject: story.title.clone(),
                            message: webhook::document(story, &p.topic, &p.also),
                            items: vec![story.id],
                            follow_ups: Vec::new(),
                        })?);
                    }
                }
                tx.mark_noticed(&noticed)?;
                tx.mark_done(&routing.done)?;
                if digest_time {
                    tx.set_last_digest_handled(now)?;
                }
                Ok::<_, DeliverError>(DigestTime::Composed(ids))
            })
        })
        .await?;
    if let DigestTime::Composed(ids) = &composed
        && !ids.is_empty()
    {
        tracing::info!(kind = ?kind, messages = ids.len(), "messages composed");
    }
    Ok(composed)
}

/// What a digest composed now would say, to each recipient; nothing is written.
pub async fn preview(app: &App) -> Result<Vec<Preview>, DeliverError> {
    let now = crate::clock::now();
    let queue = app.store(|s| s.queued_stories()).await?;
    let attention = attention(app).await;
    let routing = route::route(&app.config, MessageKind::Digest, &queue);
    let mut out = Vec::new();
    for r in &routing.routes {
        let (address, horizon) = (r.address.clone(), follow_up_horizon(&app.config, now));
        let history = match r.takes_digests {
            true => app.store(move |s| s.history(&address, horizon)).await?,
            false => ReaderHistory::default(),
        };
        if !worth_sending(&app.config, MessageKind::Digest, r, &history) {
            continue;
        }
        let context = Context {
            attention: &attention,
            notices: &[],
            history: &history,
            now,
        };
        let digest = content(&app.config, MessageKind::Digest, &queue, r, &context);
        out.push(Preview {
            recipient: r.recipient.to_string(),
            subject: digest.subject,
            stories: digest.stories,
            text: digest.text,
        });
    }
    Ok(out)
}

/// `newswatch digest`: compose the digest, then send everything pending (an explicit request:
/// retry times are not waited for; parked messages stay parked), waiting a while for another
/// process that is sending.
pub async fn digest_now(app: &App) -> Result<DigestRun, DeliverError> {
    let composed = compose(app, MessageKind::Digest).await?;
    app.store(|s| s.pending_due(crate::clock::now())).await?;
    let pass = send_due(app, lock_wait(app), &|| false).await?;
    let earlier: Vec<i64> = pass.sent.iter().copied().filter(|id| !composed.contains(id)).collect();
    let failed: Vec<i64> = pass
        .failed
        .iter()
        .copied()
        .filter(|id| !composed.contains(id))
        .collect();
    let (composed, earlier, earlier_failed) = app
        .store(move |s| {
            Ok::<_, StoreError>((
                s.outbox_entries(&composed)?,
                s.outbox_entries(&earlier)?,
                s.outbox_entries(&failed)?,
            ))
        })
        .await?;
    Ok(DigestRun {
        composed,
        earlier,
        earlier_failed,
        busy: pass.busy,
    })
}

/// Composes alerts for what the last polls found, and sends what is due. For `newswatch poll`.
pub async fn alerts_now(app: &App) -> Result<Vec<OutboxEntry>, DeliverError> {
    if !has_alerts(&app.config) {
        return Ok(Vec::new());
    }
    let composed = compose(app, MessageKind::Alert).await?;
    send_due(app, lock_wait(app), &|| false).await?;
    Ok(app.store(move |s| s.outbox_entries(&composed)).await?)
}

/// Whether any topic is mailed right away, or posted to a webhook (always right away).
pub fn has_alerts(config: &Config) -> bool {
    config
        .topics
        .iter()
        .any(|t| t.alert == crate::config::AlertMode::Immediate || t.webhook.is_some())
}

/// How long a command waits for another process (the daemon) to finish sending.
fn lock_wait(app: &App) -> Duration {
    (app.config.email.smtp.timeout * 2).max(Duration::from_secs(10))
}

/// Makes parked messages (all, or `id`) due now again.
pub async fn retry(app: &App, id: Option<i64>) -> Result<usize, StoreError> {
    app.store(move |s| s.retry_messages(id, crate::clock::now())).await
}

/// The outbox's pending and parked messages.
pub async fn unsent(app: &App) -> Result<Vec<OutboxEntry>, StoreError> {
    app.store(|s| s.outbox(&[MessageState::Pending, MessageState::Parked]))
        .await
}

/// What a message says besides its stories.
struct Context<'a> {
    attention: &'a [Attention],
    notices: &'a [String],
    history: &'a ReaderHistory,
    now: Timestamp,
}

/// Whether route `r` gets a message: it has stories, or news of earlier ones, or it takes
/// digests and an empty one was asked for.
fn worth_sending(config: &Config, kind: MessageKind, r: &route::Route, history: &ReaderHistory) -> bool {
    let digest = kind == MessageKind::Digest && r.takes_digests;
    !r.stories.is_empty() || !history.follow_ups.is_empty() || (digest && config.digest.send_empty)
}

/// How far back a message's stories may have gained outlets worth telling of: stories join
/// within the clustering window, and a slow source may report a few days late.
fn follow_up_horizon(config: &Config, now: Timestamp) -> Timestamp {
    let horizon = (config.dedup.window * 2).max(Duration::from_secs(7 * 86_400));
    jiff::SignedDuration::try_from(horizon)
        .ok()
        .and_then(|d| now.checked_sub(d).ok())
        .unwrap_or(Timestamp::MIN)
}

/// The messages that first carried the stories followed up, oldest first, each once.
fn references(follow_ups: &[FollowUp]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in follow_ups {
        if !out.contains(&f.first_message) {
            out.push(f.first_message.clone());
        }
    }
    out
}

fn content(
    config: &Config,
    kind: MessageKind,
    queue: &[QueuedStory],
    r: &route::Route,
    context: &Context<'_>,
) -> digest::Digest {
    let order: Vec<String> = config.topics.iter().map(|t| t.name.clone()).collect();
    let subscribed: Vec<String> = config
        .topics
        .iter()
        .filter(|t| {
            t.recipients
                .iter()
                .any(|m| crate::config::same_address(m, &r.recipient))
        })
        .map(|t| t.name.clone())
        .collect();
    let config_path = config.path.display().to_string();
    let placed: Vec<Placed<'_>> = r
        .stories
        .iter()
        .map(|p| Placed {
            story: &queue[p.story].story,
            topic: &p.topic,
            also: &p.also,
        })
        .collect();
    digest::build(
        &placed,
        &Layout {
            alert: kind == MessageKind::Alert,
            topic_order: &order,
            timezone: &config.digest.timezone,
            now: context.now,
            since: context.history.last_digest,
            subscribed: &subscribed,
            config_path: &config_path,
            max_stories: config.digest.max_stories,
            attention: context.attention,
            notices: context.notices,
            follow_ups: &context.history.follow_ups,
        },
    )
}

/// The line a later message carries about a parked one.
fn notice(p: &OutboxEntry, config: &Config) -> String {
    format!(
        "the {} of {} ({} stories, outbox #{}) was refused: {}; run `newswatch outbox retry {}` to send it again",
        p.kind.name(),
        format_time(p.created_at, &config.digest.timezone),
        p.stories,
        p.id,
        p.last_error.as_deref().unwrap_or("no reason given"),
        p.id
    )
}

async fn attention(app: &App) -> Vec<Attention> {
    match health::report(app, crate::clock::now()).await {
        Ok(list) => health::attention(&list, &app.config.digest.timezone),
        Err(e) => {
            tracing::error!(error = %e, "cannot read source health");
            Vec::new()
        }
    }
}

/// Sends a short message to every recipient through the configured transport, to check the
/// mail settings. Not through the outbox: nothing is kept or tried again.
pub async fn mail_test(app: &App) -> Vec<(String, Result<mail::Sent, MailError>)> {
    let text = format!(
        "This is a test message from newswatch {}.\n\nIf you can read it, the mail settings in {} work.\n",
        env!("CARGO_PKG_VERSION"),
        app.config.path.display()
    );
    let html = format!(
        "<p>This is a test message from newswatch {}.</p><p>If you can read it, the mail settings work.</p>",
        env!("CARGO_PKG_VERSION")
    );
    let mut out = Vec::new();
    for to in app.config.recipients() {
        let address = route::address_of(&to);
        let sent = match app.mailer.format(&to, "newswatch: test message", (&text, &html), &[]) {
            Ok(message) => app.mailer.send(&address, &message).await,
            Err(e) => Err(e),
        };
        out.push((to.to_string(), sent));
    }
    out
}

/// The last digest time the daemon handled (composed, found empty, or failed), if any.
pub async fn last_handled(app: &App) -> Result<Option<Timestamp>, StoreError> {
    app.store(|s| s.last_digest_handled()).await
}

/// Remembers `at` as the last digest time handled.
pub async fn set_last_handled(app: &App, at: Timestamp) -> Result<(), StoreError> {
    app.store(move |s| s.set_last_digest_handled(at)).await
}

/// When the next outbox message is due, if one is pending.
pub async fn next_due(app: &App) -> Result<Option<Timestamp>, StoreError> {
    app.store(|s| s.next_message_due()).await
}
