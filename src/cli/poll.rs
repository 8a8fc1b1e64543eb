//! `newswatch poll`: one line per source, a total, and the alerts it sent.

use std::collections::HashMap;

use jiff::tz::TimeZone;

use super::Outcome;
use crate::app::App;
use crate::poll::{ArticleStats, PollOutcome, Poller};
use crate::schedule::{Mode, Skip};
use crate::timefmt::format_time;

pub(super) async fn poll(app: &std::sync::Arc<App>, force: bool) -> anyhow::Result<Outcome> {
    let mut reports = Poller::new(std::sync::Arc::clone(app))
        .round(&app.config.sources, Mode::Manual { force })
        .await;
    // Report in config order, whatever order the polls finished in.
    let order: HashMap<&str, usize> = app
        .config
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    reports.sort_by_key(|r| order.get(r.source.as_str()).copied());
    let tz = &app.config.digest.timezone;
    let (mut new, mut matched, mut failed, mut skipped) = (0, 0, 0, 0);
    let moved = |to: &Option<String>| {
        to.as_ref()
            .map(|u| format!(" (moved permanently to {u}: update the config)"))
            .unwrap_or_default()
    };
    for r in &reports {
        match &r.outcome {
            PollOutcome::Fetched {
                counts,
                over_cap,
                moved_to,
                articles,
                warning,
            } => {
                new += counts.new;
                matched += counts.matched;
                let cap = if *over_cap > 0 {
                    format!(", {over_cap} older entries over fetch.max_entries skipped")
                } else {
                    String::new()
                };
                matched += articles.matched_late;
                let warning = warning.as_ref().map(|w| format!("; warning: {w}")).unwrap_or_default();
                out!(
                    "{}: {} new, {} matched{cap}{}{}{warning}",
                    r.source,
                    counts.new,
                    counts.matched + articles.matched_late,
                    article_note(articles, true),
                    moved(moved_to)
                );
            }
            PollOutcome::Unchanged { moved_to, articles } => {
                matched += articles.matched_late;
                let late = if articles.matched_late > 0 {
                    format!(", {} matched on articles that loaded only now", articles.matched_late)
                } else {
                    String::new()
                };
                out!(
                    "{}: unchanged{late}{}{}",
                    r.source,
                    article_note(articles, false),
                    moved(moved_to)
                );
            }
            PollOutcome::Failed(e) => {
                failed += 1;
                out!("{}: error: {}", r.source, e);
            }
            PollOutcome::Skipped(why) => {
                skipped += 1;
                out!("{}: skipped: {}", r.source, skip_reason(why, &r.source, tz));
            }
        }
    }
    out!(
        "total: {} sources, {} new, {} matched, {} failed, {} skipped",
        reports.len(),
        new,
        matched,
        failed,
        skipped
    );
    // Stories of topics mailed right away go out before the command ends.
    match crate::deliver::alerts_now(app).await {
        Ok(alerts) => {
            for e in alerts {
                match e.state {
                    crate::model::MessageState::Sent => out!(
                        "alert sent: {} {} to {} ({})",
                        e.stories,
                        if e.stories == 1 { "story" } else { "stories" },
                        e.recipient,
                        e.destination.as_deref().unwrap_or("")
                    ),
                    _ => out!(
                        "alert to {} not sent yet (outbox #{}): {}",
                        e.recipient,
                        e.id,
                        e.last_error.as_deref().unwrap_or("another newswatch is sending")
                    ),
                }
            }
        }
        Err(e) => out!("alerts: error: {e}"),
    }
    if failed > 0 && failed + skipped == reports.len() {
        return Ok(Outcome::Failure(format!("all {failed} sources polled failed")));
    }
    Ok(Outcome::Success)
}

fn skip_reason(skip: &Skip, source: &str, tz: &TimeZone) -> String {
    match skip {
        Skip::Paused => format!(
            "paused after HTTP 410 Gone; remove it from the config, or run `newswatch sources --resume \"{source}\"` if it is back"
        ),
        Skip::HostHeld { host, hold } => format!(
            "{host} asked to wait ({}) until {}",
            hold.reason,
            format_time(hold.until, tz)
        ),
        Skip::BackingOff { failures, until } => format!(
            "backing off after {failures} failure{} until {} (poll --force to try now)",
            if *failures == 1 { "" } else { "s" },
            format_time(*until, tz)
        ),
    }
}

fn article_note(a: &ArticleStats, with_late: bool) -> String {
    let mut note = String::new();
    if with_late && a.matched_late > 0 {
        note.push_str(&format!(" ({} on articles that loaded only now)", a.matched_late));
    }
    if a.failed > 0 {
        note.push_str(&format!(
            ", {} article{} did not load (tried again at the next polls)",
            a.failed,
            if a.failed == 1 { "" } else { "s" }
        ));
    }
    note
}
