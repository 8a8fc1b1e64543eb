//! What the archive holds, read for people: the stories behind `newswatch stories` and the
//! pages, and why each entry is part of its story.
//!
//! Reads only; the store writes nothing here.

use crate::app::App;
use crate::model::{EntryRecord, JoinRule, OutboxEntry, StoryRecord};
use crate::store::StoreError;
pub use crate::store::{Card, PageQuery, StoryFilter};

/// The stored stories `filter` selects, newest first, each with its entries (the lead first).
pub async fn list(app: &App, filter: StoryFilter) -> Result<Vec<StoryRecord>, StoreError> {
    app.read(move |s| s.stories(&filter)).await
}

/// One page of matched stories for the pages (`web`), newest first.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub stories: Vec<(StoryRecord, Card)>,
    /// The messages that carried them (in any card's `messages`).
    pub messages: Vec<OutboxEntry>,
    /// Whether stories are left past this page.
    pub more: bool,
}

pub async fn page(app: &App, mut query: PageQuery) -> Result<Page, StoreError> {
    app.read(move |s| {
        let wanted = query.limit;
        // One more than shown tells whether there is a next page.
        query.limit += 1;
        let mut ids = s.page_ids(&query)?;
        let more = ids.len() > wanted;
        ids.truncate(wanted);
        let mut stories = Vec::with_capacity(ids.len());
        let mut messages: Vec<i64> = Vec::new();
        for id in ids {
            let Some(story) = one_story(s, id)? else { continue };
            let card = s.card(id)?;
            messages.extend(&card.messages);
            stories.push((story, card));
        }
        messages.sort_unstable();
        messages.dedup();
        Ok(Page {
            stories,
            messages: s.outbox_entries(&messages)?,
            more,
        })
    })
    .await
}

/// Story `id` with its card and the messages that carried it; `None` if it is not stored.
pub async fn story(app: &App, id: i64) -> Result<Option<(StoryRecord, Card, Vec<OutboxEntry>)>, StoreError> {
    app.read(move |s| {
        let Some(story) = one_story(s, id)? else {
            return Ok(None);
        };
        let card = s.card(id)?;
        let messages = s.outbox_entries(&card.messages)?;
        Ok(Some((story, card, messages)))
    })
    .await
}

fn one_story(s: &crate::store::Store, id: i64) -> Result<Option<StoryRecord>, StoreError> {
    let filter = StoryFilter {
        id: Some(id),
        ..StoryFilter::default()
    };
    Ok(s.stories(&filter)?.into_iter().next())
}

/// The cards of stories `ids`, in that order.
pub async fn cards(app: &App, ids: Vec<i64>) -> Result<Vec<Card>, StoreError> {
    app.read(move |s| ids.iter().map(|id| s.card(*id)).collect()).await
}

/// Why entry `e` is part of `story`, in a line.
pub fn reason(story: &StoryRecord, e: &EntryRecord) -> String {
    let Some(j) = &e.joined else {
        return match story.entries.iter().map(|x| x.id).min() == Some(e.id) {
            true => "began the story".to_string(),
            false => "joined before newswatch recorded why".to_string(),
        };
    };
    let with = match j.with.and_then(|id| story.entries.iter().find(|x| x.id == id)) {
        Some(x) => format!("[{}] ({})", x.id, x.source),
        None => "an entry no longer stored".to_string(),
    };
    let score = j.score.map_or(String::new(), |s| format!("{s:.2}"));
    let shared = match j.shared.is_empty() {
        true => String::new(),
        false => format!("; shared words: {}", j.shared.join(", ")),
    };
    let next = match j.next {
        Some(n) if n > 0.0 => format!("; the next story {n:.2}"),
        _ => "; no other story near".to_string(),
    };
    match j.rule {
        JoinRule::Link => format!("the same link as {with} after canonicalisation"),
        JoinRule::Copy => format!("a copy of {with}: bodies {score} alike{shared}"),
        JoinRule::Rewrite => format!("a rewrite of {with}: {score} alike{shared}"),
        JoinRule::Clear => {
            format!(
                "a rewrite of {with}: {score} alike, under the bar but far more alike than any other \
                 story{next}{shared}"
            )
        }
        JoinRule::Event => {
            let weighed = match j.weighed {
                Some(n) if n > 1 => format!(" over the {n} entries of the story weighed"),
                _ => String::new(),
            };
            let pair = j.pair.map_or(String::new(), |p| format!(" ({p:.2} with {with} alone)"));
            format!("the same event as {with}: {score} sure{weighed}{pair}{next}{shared}")
        }
    }
}
