//! `newswatch digest`, `newswatch outbox` and `newswatch mail-test`: what went out, what did
//! not and why, and what is tried again when.

use super::{OutboxAction, Outcome};
use crate::app::App;
use crate::deliver;
use crate::model::{MessageState, OutboxEntry};
use crate::timefmt::format_time;

pub(super) async fn digest(app: &App, dry_run: bool) -> anyhow::Result<Outcome> {
    if dry_run {
        let previews = deliver::preview(app).await?;
        if previews.is_empty() {
            out!("nothing to send: no new matching stories");
        }
        for (i, p) in previews.iter().enumerate() {
            if i > 0 {
                out!();
            }
            out!("To: {}", p.recipient);
            out!("Subject: {}\n", p.subject);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), p.text.as_bytes());
        }
        return Ok(Outcome::Success);
    }
    let run = deliver::digest_now(app).await?;
    for e in &run.earlier {
        out!(
            "sent outbox #{} ({}, {}) to {}, left pending before ({})",
            e.id,
            e.kind.name(),
            stories(e.stories),
            e.shown,
            e.destination.as_deref().unwrap_or("")
        );
    }
    let mut unsent: Vec<String> = run.earlier_failed.iter().map(|e| unsent_line(e, false, app)).collect();
    if run.composed.is_empty() && run.earlier.is_empty() && unsent.is_empty() && !run.busy {
        out!("nothing to send: no new matching stories");
        return Ok(Outcome::Success);
    }
    for e in &run.composed {
        if e.state == MessageState::Sent {
            out!(
                "digest sent: {} to {} ({})",
                stories(e.stories),
                e.shown,
                e.destination.as_deref().unwrap_or("")
            );
        } else {
            unsent.push(unsent_line(e, run.busy, app));
        }
    }
    if unsent.is_empty() {
        return Ok(Outcome::Success);
    }
    Ok(Outcome::Failure(unsent.join("; ")))
}

pub(super) async fn outbox(app: &App, action: Option<OutboxAction>) -> anyhow::Result<Outcome> {
    if let Some(OutboxAction::Retry { id }) = action {
        let n = deliver::retry(app, id).await?;
        if n == 0 {
            let what = id.map_or_else(|| "no message".to_string(), |id| format!("no message #{id}"));
            return Ok(Outcome::Failure(format!("{what} is pending or parked")));
        }
        let pass = deliver::send_due(app, std::time::Duration::from_secs(30), &|| false).await?;
        out!(
            "{} tried again: {} sent, {} not",
            if n == 1 {
                "1 message".to_string()
            } else {
                format!("{n} messages")
            },
            pass.sent.len(),
            pass.failed.len()
        );
        if pass.busy {
            out!("another newswatch is sending: it sends them");
        }
        let left = deliver::unsent(app).await?;
        let failed: Vec<String> = left
            .iter()
            .filter(|e| pass.failed.contains(&e.id))
            .map(|e| unsent_line(e, false, app))
            .collect();
        if failed.is_empty() {
            return Ok(Outcome::Success);
        }
        return Ok(Outcome::Failure(failed.join("; ")));
    }
    let unsent = deliver::unsent(app).await?;
    if unsent.is_empty() {
        out!("the outbox is empty: every message went out");
    }
    for e in &unsent {
        out!("{}", unsent_line(e, false, app));
    }
    Ok(Outcome::Success)
}

pub(super) async fn mail_test(app: &App) -> anyhow::Result<Outcome> {
    let mut failed = Vec::new();
    for (to, sent) in deliver::mail_test(app).await {
        match sent {
            Ok(sent) => out!("test message sent to {to} ({})", sent.destination),
            Err(e) => failed.push(format!("test message to {to}: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(Outcome::Success)
    } else {
        Ok(Outcome::Failure(failed.join("; ")))
    }
}

/// `outbox #3 to a@example.org (digest, 5 stories) not sent: <reason>; next attempt at <time>`.
fn unsent_line(e: &OutboxEntry, busy: bool, app: &App) -> String {
    let tz = &app.config.digest.timezone;
    let why = match (&e.last_error, busy) {
        (Some(error), _) => error.clone(),
        (None, true) => "another newswatch is sending the outbox, and sends it".to_string(),
        (None, false) => "not tried yet".to_string(),
    };
    let next = match e.state {
        MessageState::Parked => format!(
            "parked after {}: `newswatch outbox retry {}`",
            crate::text::plural(e.refusals as usize, "refusal", "refusals"),
            e.id
        ),
        _ => format!("next attempt at {}", format_time(e.next_attempt, tz)),
    };
    format!(
        "outbox #{} to {} ({}, {}) not sent: {why}; {next}",
        e.id,
        e.shown,
        e.kind.name(),
        stories(e.stories)
    )
}

fn stories(n: usize) -> String {
    crate::text::plural(n, "story", "stories")
}
