//! `newswatch sources` (each source's health, as a table or JSON; resuming a paused source) and
//! `newswatch status` (how everything stands).

use std::path::PathBuf;

use jiff::Timestamp;

use super::Outcome;
use crate::app::App;
use crate::config::Config;
use crate::health;
use crate::timefmt::format_time;

pub(super) async fn sources(app: &App, json: bool, resume: Option<String>) -> anyhow::Result<Outcome> {
    if let Some(name) = resume {
        if !health::resume(app, &name).await? {
            return Ok(Outcome::Failure(format!(
                "no source named {name:?} has been polled yet"
            )));
        }
        out!("{name}: resumed; it is polled at the next poll");
        return Ok(Outcome::Success);
    }
    let now = crate::clock::now();
    let health = health::report(app, now).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&health)?);
        return Ok(Outcome::Success);
    }
    let tz = &app.config.digest.timezone;
    let when = |t: Option<Timestamp>| t.map_or_else(|| "never".to_string(), |t| format_time(t, tz));
    let mut rows = vec![[
        "SOURCE".to_string(),
        "STATUS".into(),
        "LAST SUCCESS".into(),
        "FAILS".into(),
        "HTTP".into(),
        "SEEN".into(),
        "MATCHED".into(),
        "LAST ERROR OR WARNING".into(),
    ]];
    for h in &health {
        let name = if h.needs_attention {
            format!("! {}", h.name)
        } else {
            format!("  {}", h.name)
        };
        rows.push([
            name,
            h.status.to_string(),
            when(h.last_success),
            h.consecutive_failures.to_string(),
            h.last_status.map_or_else(|| "-".into(), |s| s.to_string()),
            h.items_seen.to_string(),
            h.items_matched.to_string(),
            match (&h.last_error, &h.last_warning) {
                (Some(e), _) => e.clone(),
                (None, Some(w)) => format!("warning: {w}"),
                (None, None) => String::new(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i < 7 {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out!("{}", line.trim_end());
    }
    if health.iter().any(|h| h.needs_attention) {
        out!("\n! failing for more than a day, paused or moved: see LAST ERROR");
    }
    Ok(Outcome::Success)
}

pub(super) async fn status(app: &App, json: bool) -> anyhow::Result<Outcome> {
    let now = crate::clock::now();
    let o = health::overview(app, now).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(Outcome::Success);
    }
    let tz = &app.config.digest.timezone;
    let until = |t: Timestamp| {
        let d = std::time::Duration::try_from(t.duration_since(now)).unwrap_or_default();
        if d.as_secs() == 0 {
            "now".to_string()
        } else {
            format!(
                "in {}",
                crate::timefmt::format_duration(std::time::Duration::from_secs(d.as_secs()))
            )
        }
    };
    out!("database: {} ({:.1} MB)", o.database, o.database_bytes as f64 / 1e6);
    if let Some(daemons) = &o.daemons {
        let each: Vec<String> = daemons
            .iter()
            .map(|d| {
                // Whole seconds, at least one: "0ms" would claim a precision it does not have.
                let took = |s: u64| crate::timefmt::format_duration(std::time::Duration::from_secs(s.max(1)));
                format!(
                    "{} (up {}, last heard {} ago)",
                    d.holder,
                    took(d.up_secs),
                    took(d.seen_secs_ago)
                )
            })
            .collect();
        match each.is_empty() {
            true => out!("daemons: none running on this database"),
            false => out!("daemons: {}", each.join("; ")),
        }
    }
    out!(
        "next digest: {} ({})",
        format_time(o.next_digest, tz),
        until(o.next_digest)
    );
    out!(
        "last 24 h: {} matched, {} sent",
        crate::text::plural(o.stories_matched_24h, "story", "stories"),
        crate::text::plural(o.messages_sent_24h, "message", "messages")
    );
    let parked = o
        .outbox
        .iter()
        .filter(|e| e.state == crate::model::MessageState::Parked)
        .count();
    out!("outbox: {} pending, {parked} parked", o.outbox.len() - parked);
    for e in &o.outbox {
        let state = match e.state {
            crate::model::MessageState::Parked => format!("parked: `newswatch outbox retry {}`", e.id),
            _ => format!("next attempt {}", format_time(e.next_attempt, tz)),
        };
        out!(
            "  #{} to {}: {}, {}, {state}{}",
            e.id,
            e.shown,
            crate::text::plural(e.stories, "story", "stories"),
            crate::text::plural(e.attempts as usize, "attempt", "attempts"),
            e.last_error
                .as_deref()
                .map(|r| format!("; last error: {r}"))
                .unwrap_or_default()
        );
    }
    out!("sources:");
    let width = o.sources.iter().map(|s| s.name.chars().count()).max().unwrap_or(0);
    for s in &o.sources {
        let next = s.next_poll.map_or_else(
            || "not polled".to_string(),
            |t| format!("next poll {} ({})", format_time(t, tz), until(t)),
        );
        let why = s.waiting.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
        out!("  {:<width$}  {:<13} {next}{why}", s.name, s.status.to_string());
    }
    Ok(Outcome::Success)
}

pub(super) async fn backup(app: &App, file: &std::path::Path) -> anyhow::Result<Outcome> {
    if file.exists() {
        return Ok(Outcome::Failure(format!(
            "{} exists already; give a new file name",
            file.display()
        )));
    }
    let (bytes, version) = health::backup(app, file).await?;
    out!(
        "backed up {} to {} ({:.1} MB, schema version {version})",
        app.config.storage.database,
        file.display(),
        bytes as f64 / 1e6
    );
    Ok(Outcome::Success)
}

/// `newswatch migrate-to URL`.
pub async fn migrate_to(
    config: &Config,
    url: String,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
) -> anyhow::Result<Outcome> {
    let to = match crate::config::database_at(url, password_file, password_env) {
        Ok(to @ crate::model::Database::Server { .. }) => to,
        Ok(_) => {
            return Ok(Outcome::Invalid(
                "migrate-to takes a PostgreSQL URL: postgres://user@host/db".into(),
            ));
        }
        Err(e) => return Ok(Outcome::Invalid(e)),
    };
    let copied = crate::health::migrate_to(config, &to).await?;
    for (table, rows) in &copied {
        out!("{table}: {rows} rows");
    }
    out!(
        "copied {} into {to}: set [storage] database = \"{to}\" in {} and start newswatch again",
        config.storage.database,
        config.path.display()
    );
    Ok(Outcome::Success)
}
