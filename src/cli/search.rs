//! `newswatch search`: the archive, searched with the topics' query language; `newswatch
//! prune`: retention now.

use std::time::Duration;

use super::Outcome;
use crate::app::App;
use crate::search::{self, Search, SearchError};
use crate::timefmt::{ago, format_duration, format_time};

pub(super) async fn search(
    app: &App,
    query: String,
    since: Option<Duration>,
    source: Option<String>,
    limit: usize,
    json: bool,
) -> anyhow::Result<Outcome> {
    let since = since.map(ago);
    let request = Search {
        query: query.clone(),
        since,
        source,
        limit,
        catch_up: true,
    };
    let found = match search::search(app, request).await {
        Ok(found) => found,
        Err(e @ (SearchError::Query(_) | SearchError::UnknownSource { .. } | SearchError::Matcher(_))) => {
            return Ok(Outcome::Invalid(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "query": query,
                "narrowed_by": found.narrowed_by,
                "window_start": found.window,
                "checked": found.checked,
                "results": found.hits,
            }))?
        );
        return Ok(Outcome::Success);
    }
    if found.window.is_some() {
        eprintln!(
            "note: the index cannot narrow {query:?} (every term it must hold is shorter than three characters \
             of a script without spaces): checked the {} stories of the last {} (--since looks further back)",
            found.checked,
            format_duration(search::UNNARROWED_WINDOW),
        );
    }
    if found.hits.is_empty() {
        out!("no stored story matches {query:?}");
        return Ok(Outcome::Success);
    }
    let tz = &app.config.digest.timezone;
    for hit in &found.hits {
        out!("#{} {}", hit.id, hit.title);
        out!(
            "   {} · {}",
            format_time(hit.published.unwrap_or(hit.first_seen), tz),
            hit.sources.join(", ")
        );
        if let Some(link) = &hit.link {
            out!("   {link}");
        }
        if !hit.snippet.is_empty() {
            out!("   {}", marked(&hit.snippet, &hit.marks));
        }
    }
    Ok(Outcome::Success)
}

/// The snippet with its marked ranges in `[` `]`.
fn marked(text: &str, marks: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(text.len() + 4 * marks.len());
    let mut at = 0;
    for &(start, end) in marks {
        if start < at || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push('[');
        out.push_str(&text[start..end]);
        out.push(']');
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

pub(super) async fn prune(app: &App, vacuum: bool, json: bool) -> anyhow::Result<Outcome> {
    let keep = app.config.storage.keep;
    if keep.is_none() && !vacuum {
        out!("storage.keep = \"forever\": nothing to prune (--vacuum still compacts the file)");
        return Ok(Outcome::Success);
    }
    // "forever" with --vacuum: only the rewrite.
    let done = crate::retention::prune(app, keep.unwrap_or(Duration::MAX), vacuum).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&done)?);
        return Ok(Outcome::Success);
    }
    if let Some(keep) = keep {
        out!(
            "pruned the texts of {} stories older than {}",
            done.pruned,
            format_duration(keep)
        );
    }
    if done.kept > 0 {
        out!(
            "kept {} old stories: queued, in a message not sent yet, or reported again since",
            done.kept
        );
    }
    out!(
        "database: {:.1} MB before, {:.1} MB after",
        done.bytes_before as f64 / 1e6,
        done.bytes_after as f64 / 1e6
    );
    if done.needs_vacuum {
        out!(
            "note: this database file cannot give freed space back a little at a time (an older newswatch made it); \
             `newswatch prune --vacuum` rewrites it once (stop the daemon first; it needs as much free disk as the file takes)"
        );
    }
    Ok(Outcome::Success)
}
