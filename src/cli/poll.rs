//! `newswatch poll`: one line per source, a total, and the alerts it sent; or all of it as one
//! JSON object (`--json`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::IsTerminal as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::Outcome;
use crate::app::App;
use crate::poll::{ArticleStats, PollOutcome, Poller, Progress, SourceReport};
use crate::schedule::{Mode, Skip};
use crate::timefmt::format_time;

pub(super) async fn poll(app: &std::sync::Arc<App>, force: bool, json: bool) -> anyhow::Result<Outcome> {
    let poller = Poller::new(std::sync::Arc::clone(app));
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(poller.progress())));
    let mut reports = poller.round(&app.config.sources, Mode::Manual { force }).await;
    if let Some(progress) = progress {
        progress.abort();
        let _ = progress.await;
        // The progress line, if one was shown, is cleared: the report takes its place.
        eprint!("\r\x1b[2K");
    }
    // Report in config order, whatever order the polls finished in.
    let order: HashMap<&str, usize> = app
        .config
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    reports.sort_by_key(|r| order.get(r.source.as_str()).copied());
    let totals = Totals::of(&reports);
    let outcome = match totals.failed > 0 && totals.failed + totals.skipped == reports.len() {
        true => Outcome::Failure(format!("all {} sources polled failed", totals.failed)),
        false => Outcome::Success,
    };
    if json {
        let alerts = crate::deliver::alerts_now(app).await;
        out!("{}", as_json(app, &reports, &totals, alerts));
        return Ok(outcome);
    }
    let tz = &app.config.digest.timezone;
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
                let cap = if *over_cap > 0 {
                    format!(", {over_cap} older entries over fetch.max_entries skipped")
                } else {
                    String::new()
                };
                let warning = warning.as_ref().map(|w| format!("; warning: {w}")).unwrap_or_default();
                out!(
                    "{}: {}{cap}{}{}{warning}",
                    r.source,
                    found(counts.new, new_and_matched(&r.outcome).1, counts.joined),
                    article_note(articles, true),
                    moved(moved_to)
                );
            }
            PollOutcome::Unchanged { moved_to, articles } => {
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
            PollOutcome::Failed(e) => out!("{}: error: {}", r.source, e),
            PollOutcome::Skipped(why) => {
                out!("{}: skipped: {}", r.source, skip_reason(why, &r.source, tz));
            }
        }
    }
    out!(
        "total: {} sources, {}, {} failed, {} skipped",
        reports.len(),
        found(totals.new, totals.matched, totals.joined),
        totals.failed,
        totals.skipped
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
                        e.shown,
                        e.destination.as_deref().unwrap_or("")
                    ),
                    _ => out!(
                        "alert to {} not sent yet (outbox #{}): {}",
                        e.shown,
                        e.id,
                        e.last_error.as_deref().unwrap_or("another newswatch is sending")
                    ),
                }
            }
        }
        Err(e) => out!("alerts: error: {e}"),
    }
    Ok(outcome)
}

/// A poll's totals over its sources.
struct Totals {
    new: usize,
    matched: usize,
    joined: usize,
    failed: usize,
    skipped: usize,
}

impl Totals {
    fn of(reports: &[SourceReport]) -> Totals {
        let count = |f: fn(&PollOutcome) -> bool| reports.iter().filter(|r| f(&r.outcome)).count();
        Totals {
            new: reports.iter().map(|r| new_and_matched(&r.outcome).0).sum(),
            matched: reports.iter().map(|r| new_and_matched(&r.outcome).1).sum(),
            joined: reports
                .iter()
                .map(|r| match &r.outcome {
                    PollOutcome::Fetched { counts, .. } => counts.joined,
                    _ => 0,
                })
                .sum(),
            failed: count(|o| matches!(o, PollOutcome::Failed(_))),
            skipped: count(|o| matches!(o, PollOutcome::Skipped(_))),
        }
    }
}

/// "3 new entries, 1 new story matched, 1 more report of a matched story": entries and
/// stories apart, so that an entry joining another outlet's story is not missed in the count.
fn found(entries: usize, stories: usize, joined: usize) -> String {
    let mut line = format!(
        "{}, {} matched",
        crate::text::plural(entries, "new entry", "new entries"),
        crate::text::plural(stories, "new story", "new stories")
    );
    match joined {
        0 => {}
        1 => line += ", 1 more report of a matched story",
        n => line += &format!(", {n} more reports of matched stories"),
    }
    line
}

/// A source's new entries, and its stories matched (on articles that loaded late too).
fn new_and_matched(outcome: &PollOutcome) -> (usize, usize) {
    match outcome {
        PollOutcome::Fetched { counts, articles, .. } => (counts.new, counts.matched + articles.matched_late),
        PollOutcome::Unchanged { articles, .. } => (0, articles.matched_late),
        PollOutcome::Failed(_) | PollOutcome::Skipped(_) => (0, 0),
    }
}

/// The poll as one JSON object (the shape README documents).
fn as_json(
    app: &App,
    reports: &[SourceReport],
    totals: &Totals,
    alerts: Result<Vec<crate::model::OutboxEntry>, crate::deliver::DeliverError>,
) -> serde_json::Value {
    let tz = &app.config.digest.timezone;
    let mut stories: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    let rows: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let (new, matched) = new_and_matched(&r.outcome);
            let mut row = serde_json::json!({ "source": r.source });
            match &r.outcome {
                PollOutcome::Fetched {
                    counts,
                    over_cap,
                    moved_to,
                    articles,
                    warning,
                } => {
                    for (keyword, ids) in &counts.keywords {
                        stories.entry(keyword).or_default().extend(ids);
                    }
                    row["status"] = "fetched".into();
                    (row["new_items"], row["matched"]) = (new.into(), matched.into());
                    row["joined"] = counts.joined.into();
                    row["over_cap"] = (*over_cap).into();
                    row["articles_failed"] = articles.failed.into();
                    row["moved_to"] = moved_to.clone().into();
                    row["warning"] = warning.clone().into();
                }
                PollOutcome::Unchanged { moved_to, articles } => {
                    row["status"] = "unchanged".into();
                    (row["new_items"], row["matched"]) = (new.into(), matched.into());
                    row["articles_failed"] = articles.failed.into();
                    row["moved_to"] = moved_to.clone().into();
                }
                PollOutcome::Failed(e) => {
                    row["status"] = "failed".into();
                    row["error"] = e.to_string().into();
                }
                PollOutcome::Skipped(why) => {
                    row["status"] = "skipped".into();
                    row["reason"] = skip_reason(why, &r.source, tz).into();
                }
            }
            row
        })
        .collect();
    let alerts = match alerts {
        Ok(alerts) => alerts
            .iter()
            .map(|e| {
                serde_json::json!({
                    "recipient": e.shown,
                    "stories": e.stories,
                    "sent": e.state == crate::model::MessageState::Sent,
                    "error": e.last_error,
                })
            })
            .collect(),
        Err(e) => vec![serde_json::json!({ "error": e.to_string() })],
    };
    serde_json::json!({
        "sources": rows,
        "new_items": totals.new,
        "matched": totals.matched,
        "joined": totals.joined,
        "failed": totals.failed,
        "skipped": totals.skipped,
        "matches": stories.iter().map(|(k, ids)| (k.to_string(), ids.len())).collect::<BTreeMap<_, _>>(),
        "alerts": alerts,
    })
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
        Skip::Leased => "another newswatch sharing the database is polling it now".to_string(),
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

/// On a terminal, a line on stderr saying how far a round is, once it has taken a second;
/// rewritten in place four times a second until the task is stopped. Never when piped.
async fn show_progress(progress: std::sync::Arc<Progress>) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        let (done, total) = (
            progress.done.load(Ordering::Relaxed),
            progress.total.load(Ordering::Relaxed),
        );
        eprint!("\r{}", progress_line(done, total));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn progress_line(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    format!(
        "polling [{}{}] {done}/{total} sources",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_fills_with_the_sources_done() {
        assert_eq!(progress_line(0, 0), format!("polling [{}] 0/0 sources", " ".repeat(30)));
        assert_eq!(
            progress_line(5, 10),
            format!("polling [{}{}] 5/10 sources", "#".repeat(15), " ".repeat(15))
        );
        assert_eq!(
            progress_line(10, 10),
            format!("polling [{}] 10/10 sources", "#".repeat(30))
        );
    }
}
