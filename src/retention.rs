//! Keeping the archive in bounds: the texts of stories older than `[storage] keep` are pruned,
//! once a day, a few hundred stories per transaction so that polls and sends go on between
//! them; then the freed pages are given back, so the file shrinks. What makes an old item
//! known (its entries' source and GUID, its link keys, its title) stays forever, so it never
//! returns as new; a story still queued, or in a message not sent yet, is never pruned.
//!
//! Also the daemon's upkeep between polls: the search index catches up (`search::catch_up`).
//!
//! Uses the store and `search`; never fetches or mails.

use std::time::Duration;

use jiff::Timestamp;

use crate::app::App;
use crate::store::{Pruned, StoreError};

/// Stories pruned per transaction.
const BATCH: usize = 500;
/// Free pages given back per transaction (8 MB of 4 KB pages).
const SHRINK_PAGES: u32 = 2_048;
/// Pages of the search index merged per transaction after a prune.
const MERGE_PAGES: u32 = 1_000;
/// How often the daemon prunes.
pub const EVERY: Duration = Duration::from_secs(86_400);
/// The `state` key of the last prune's time.
const LAST_PRUNE: &str = "last_prune";

/// What a prune did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Retention {
    /// Stories whose texts were pruned.
    pub pruned: usize,
    /// Old stories kept: queued, in a message not sent yet, or reported again since the cutoff.
    pub kept: usize,
    /// The database file's size before and after (with its WAL), in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The file cannot give pages back a few at a time (an older newswatch made it):
    /// `newswatch prune --vacuum` once.
    pub needs_vacuum: bool,
}

/// Prunes what is older than `keep` now, then shrinks the file (with `vacuum`, rewriting it
/// whole: for a file that cannot shrink incrementally).
pub async fn prune(app: &App, keep: Duration, vacuum: bool) -> Result<Retention, StoreError> {
    let mut out = Retention {
        bytes_before: app.store(|s| s.bytes()).await?,
        ..Retention::default()
    };
    let cutoff = crate::timefmt::ago(keep);
    loop {
        let batch: Pruned = app.store(move |s| s.prune(cutoff, BATCH)).await?;
        out.pruned += batch.stories;
        out.kept += batch.kept;
        if !batch.more {
            break;
        }
    }
    // The index holds the pruned stories' titles only from now on; their old rows go as its
    // segments are merged, a few pages per transaction.
    if out.pruned > 0 {
        crate::search::catch_up(app).await?;
        while app.store(|s| s.compact_index(MERGE_PAGES)).await? {}
    }
    if vacuum {
        app.store(|s| s.vacuum()).await?;
    } else if app.store(|s| s.shrinks_incrementally()).await? {
        while app.store(|s| s.shrink(SHRINK_PAGES)).await? > 0 {}
    } else {
        out.needs_vacuum = true;
    }
    let now = crate::clock::now().to_string();
    app.store(move |s| s.set_state(LAST_PRUNE, &now)).await?;
    app.store(|s| s.checkpoint()).await?;
    out.bytes_after = app.store(|s| s.bytes()).await?;
    Ok(out)
}

/// The daemon's upkeep, between polls: the search index catches up; once a day, the prune.
pub async fn upkeep(app: &App) -> Result<(), StoreError> {
    let indexed = crate::search::catch_up(app).await?;
    if indexed > 0 {
        tracing::debug!(stories = indexed, "search index updated");
    }
    let Some(keep) = app.config.storage.keep else {
        return Ok(());
    };
    let last = app.store(|s| s.get_state(LAST_PRUNE)).await?;
    let due = last.and_then(|l| l.parse::<Timestamp>().ok()).is_none_or(|at| {
        crate::clock::now().duration_since(at) >= jiff::SignedDuration::try_from(EVERY).unwrap_or_default()
    });
    if !due {
        return Ok(());
    }
    let done = prune(app, keep, false).await?;
    tracing::info!(
        pruned = done.pruned,
        kept = done.kept,
        mb_before = done.bytes_before / 1_000_000,
        mb_after = done.bytes_after / 1_000_000,
        "old stories' texts pruned"
    );
    if done.needs_vacuum && done.pruned > 0 {
        tracing::warn!(
            "the database file cannot shrink a little at a time (it was made by an older newswatch): \
             run `newswatch prune --vacuum` once, while the daemon is stopped"
        );
    }
    Ok(())
}
