//! `newswatch stories`: stored stories with the entries each is made of, as text or JSON; with
//! `--why`, one story and why each entry joined it. `newswatch backfill`: a topic looks back.

use std::time::Duration;

use jiff::Timestamp;

use super::Outcome;
use crate::app::App;
use crate::stories::{self, StoryFilter};
use crate::timefmt::{ago, format_time};

/// The stories the options select: first seen within `since`, or the one story `why`.
pub(super) fn filter(topic: Option<String>, since: Duration, all: bool, why: Option<i64>) -> StoryFilter {
    StoryFilter {
        since: Some(ago(since)),
        topic,
        all,
        id: why,
        limit: None,
    }
}

pub(super) async fn stories(app: &App, filter: StoryFilter, json: bool) -> anyhow::Result<Outcome> {
    if let Some(t) = &filter.topic
        && !app.config.topics.iter().any(|c| &c.name == t)
    {
        return Ok(Outcome::Failure(format!(
            "no topic named {t:?} in the config (topics: {})",
            app.config
                .topics
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let (since_at, why) = (filter.since.unwrap_or(Timestamp::MIN), filter.id);
    let list = stories::list(app, filter).await?;
    if let (Some(id), true) = (why, list.is_empty()) {
        return Ok(Outcome::Failure(format!(
            "no story #{id} (`newswatch stories --all` lists the stories and their numbers)"
        )));
    }
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "stories": list }))?
        );
        return Ok(Outcome::Success);
    }
    if list.is_empty() {
        out!(
            "no stories since {}",
            format_time(since_at, &app.config.digest.timezone)
        );
        return Ok(Outcome::Success);
    }
    let tz = &app.config.digest.timezone;
    for story in &list {
        let status = match (story.state.as_str(), story.sent_at) {
            ("sent", Some(at)) => format!("sent {}", format_time(at, tz)),
            ("sent", None) => "sent".to_string(),
            ("pending", _) => "in the outbox, not sent yet (`newswatch outbox`)".to_string(),
            ("queued", _) => "waiting for the next digest".to_string(),
            _ if story.topics.is_empty() => "matched no topic".to_string(),
            _ => "stored, not reported (too old when first seen)".to_string(),
        };
        out!("#{} {}", story.id, story.title);
        if story.topics.is_empty() {
            out!("   {status}");
        } else {
            out!("   {} · {status}", story.topics.join(", "));
        }
        for e in &story.entries {
            let when = format_time(e.published.unwrap_or(e.first_seen), tz);
            out!(
                "   {} {}{}, {when}: {}{}",
                if e.lead { "*" } else { "-" },
                if why.is_some() {
                    format!("[{}] ", e.id)
                } else {
                    String::new()
                },
                e.source,
                e.link.as_deref().unwrap_or("(no link)"),
                if e.title == story.title {
                    String::new()
                } else {
                    format!(" \"{}\"", e.title)
                }
            );
            if why.is_some() {
                out!("       {}", stories::reason(story, e));
            }
        }
    }
    Ok(Outcome::Success)
}

pub(super) async fn backfill(app: &App, topic: &str, since: Duration) -> anyhow::Result<Outcome> {
    let done = match crate::backfill::backfill(app, topic, ago(since)).await {
        Ok(done) => done,
        Err(e @ crate::backfill::BackfillError::UnknownTopic { .. }) => return Ok(Outcome::Invalid(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let window = crate::timefmt::format_duration(since);
    match done.queued + done.joined {
        0 => out!(
            "{topic}: none of the {} stories of the last {window} that were never sent matches",
            done.looked_at
        ),
        n => {
            out!(
                "{topic}: {n} of the {} stories of the last {window} that were never sent match:",
                done.looked_at
            );
            out!("  {} queued for the next digest (or alert)", done.queued);
            if done.joined > 0 {
                out!(
                    "  {} queued already for other topics, now under this one too",
                    done.joined
                );
            }
        }
    }
    Ok(Outcome::Success)
}
