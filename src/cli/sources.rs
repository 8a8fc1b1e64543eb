//! `newswatch sources`: each source's health, as a table or JSON; resuming a paused source.

use jiff::Timestamp;

use super::Outcome;
use crate::app::App;
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
    let now = Timestamp::now();
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
        "LAST ERROR".into(),
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
            h.last_error.clone().unwrap_or_default(),
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
