//! Delivering the digest: claim the queued stories (so that no other process sends them too),
//! render them, send, and mark them sent once the transport accepted the message, or release
//! them when it did not. Also the test message, and which digest time was handled last.
//!
//! Uses the store, `digest` (rendering), `mail` (transports) and `health` (the footer); never
//! fetches or polls.

use jiff::Timestamp;

use crate::app::App;
use crate::digest::{self, Layout};
use crate::health;
use crate::mail::{self, Outgoing};
use crate::model::Story;
use crate::store::StoreError;

/// The state key under which the daemon remembers the last digest time it handled.
const LAST_DIGEST_KEY: &str = "last_digest_slot";

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{error} ({stories} stories stay queued for the next digest)")]
    Send { error: mail::MailError, stories: usize },
}

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

/// Builds and sends the digest of every queued story not yet sent. Stories are claimed first
/// (so a second newswatch process cannot send them too) and marked sent only once the
/// transport has accepted the message; on failure they go back to the queue.
pub async fn send_digest(app: &App, dry_run: bool) -> Result<DigestOutcome, DigestError> {
    let now = Timestamp::now();
    if dry_run {
        let stories = app.store(|s| s.pending_stories()).await?;
        let digest = build(app, &stories).await;
        return Ok(DigestOutcome::DryRun {
            stories: digest.stories,
            text: digest.text,
        });
    }
    let token = format!("{}-{}", std::process::id(), now.as_nanosecond());
    let claim = token.clone();
    let stories = app.store(move |s| s.claim_stories(&claim, now)).await?;
    if stories.is_empty() && !app.config.digest.send_empty {
        return Ok(DigestOutcome::NothingToSend);
    }
    let digest = build(app, &stories).await;
    let sent = app
        .mailer
        .send(&Outgoing {
            subject: &digest.subject,
            text: &digest.text,
            html: &digest.html,
        })
        .await;
    match sent {
        Ok(sent) => {
            let (t, id, n) = (token, sent.message_id.clone(), digest.stories);
            app.store(move |s| {
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
            let (t, msg, n) = (token, error.to_string(), digest.stories);
            app.store(move |s| {
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

async fn build(app: &App, stories: &[Story]) -> digest::Digest {
    let config = &app.config;
    let order: Vec<String> = config.topics.iter().map(|t| t.name.clone()).collect();
    let attention = match health::report(app, Timestamp::now()).await {
        Ok(list) => health::attention(&list, &config.digest.timezone),
        Err(e) => {
            tracing::error!(error = %e, "cannot read source health");
            Vec::new()
        }
    };
    digest::build(
        stories,
        &Layout {
            topic_order: &order,
            timezone: &config.digest.timezone,
            max_stories: config.digest.max_stories,
            attention: &attention,
        },
    )
}

/// Sends a short message through the configured transport, to check the mail settings.
pub async fn mail_test(app: &App) -> Result<mail::Sent, mail::MailError> {
    let text = format!(
        "This is a test message from newswatch {}.\n\nIf you can read it, the mail settings in {} work.\n",
        env!("CARGO_PKG_VERSION"),
        app.config.path.display()
    );
    let html = format!(
        "<p>This is a test message from newswatch {}.</p><p>If you can read it, the mail settings work.</p>",
        env!("CARGO_PKG_VERSION")
    );
    app.mailer
        .send(&Outgoing {
            subject: "newswatch: test message",
            text: &text,
            html: &html,
        })
        .await
}

/// The last digest time the daemon handled (sent, found empty, or failed), if any.
pub async fn last_handled(app: &App) -> Result<Option<Timestamp>, StoreError> {
    let value = app.store(|s| s.get_state(LAST_DIGEST_KEY)).await?;
    // An unreadable value counts as "now": nothing old is sent twice.
    Ok(value.map(|v| v.parse::<Timestamp>().unwrap_or_else(|_| Timestamp::now())))
}

/// Remembers `at` as the last digest time handled.
pub async fn set_last_handled(app: &App, at: Timestamp) -> Result<(), StoreError> {
    let v = at.to_string();
    app.store(move |s| s.set_state(LAST_DIGEST_KEY, &v)).await
}
