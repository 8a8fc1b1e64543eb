//! `newswatch stories`: stored stories with the entries each is made of, as text or JSON.

use std::time::Duration;

use jiff::Timestamp;

use super::Outcome;
use crate::app::App;
use crate::stories::{self, StoryFilter};
use crate::timefmt::format_time;

pub(super) async fn stories(
    app: &App,
    topic: Option<String>,
    since: Duration,
    all: bool,
    json: bool,
) -> anyhow::Result<Outcome> {
    if let Some(t) = &topic
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
    let since_at = Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(since).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(Timestamp::MIN);
    let filter = StoryFilter {
        since: Some(since_at),
        topic,
        all,
    };
    let list = stories::list(app, filter).await?;
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
                "   {} {}, {when}: {}{}",
                if e.lead { "*" } else { "-" },
                e.source,
                e.link.as_deref().unwrap_or("(no link)"),
                if e.title == story.title {
                    String::new()
                } else {
                    format!(" \"{}\"", e.title)
                }
            );
        }
    }
    Ok(Outcome::Success)
}
