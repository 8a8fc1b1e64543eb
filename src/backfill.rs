//! A topic added later looks back (`newswatch backfill`): the stored stories it matches that no
//! one has been sent go into the queue, as if the topic had been there when they were polled.
//! The matcher decides, as in a poll; stories already sent are never sent again.

use jiff::Timestamp;

use crate::app::App;
use crate::matcher::{Matcher, MatcherError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("no topic named {name:?} in the config (topics: {known})")]
    UnknownTopic { name: String, known: String },
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("matching failed: {0}")]
    Task(String),
}

/// What a backfill did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Backfilled {
    /// Stories of the window that no one was sent and the topic was not on.
    pub looked_at: usize,
    /// Stories only stored before, queued now.
    pub queued: usize,
    /// Stories queued already for other topics, which now carry this one too.
    pub joined: usize,
}

pub async fn backfill(app: &App, topic: &str, since: Timestamp) -> Result<Backfilled, BackfillError> {
    let Some(found) = app.config.topics.iter().find(|t| t.name == topic) else {
        let known: Vec<&str> = app.config.topics.iter().map(|t| t.name.as_str()).collect();
        return Err(BackfillError::UnknownTopic {
            name: topic.to_string(),
            known: known.join(", "),
        });
    };
    let matcher = Matcher::new(std::slice::from_ref(found))?;
    let name = found.name.clone();
    let unsent = app.store(move |s| s.unsent_since(since, &name)).await?;
    let looked_at = unsent.len();
    let verdicts = app
        .compute(move || {
            unsent
                .into_iter()
                .filter_map(|u| matcher.match_entry(&u.entry).map(|r| (u.item_id, r)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(BackfillError::Task)?;
    let matched = verdicts.len();
    let queued = app.store(move |s| s.backfill(&verdicts)).await?;
    Ok(Backfilled {
        looked_at,
        queued,
        joined: matched - queued,
    })
}
