//! What the pages (`web`) read that `newswatch stories` does not: one page of matched
//! stories, each story's snippet with its marks, the topics' terms that matched it, and the
//! messages that carried it. Reads only.

use jiff::Timestamp;
use rusqlite::params;

use super::{Sqlite, StoreError};
use crate::model::Snippet;

/// One page of matched stories.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// First seen at or after this.
    pub since: Option<Timestamp>,
    /// Only stories that matched this topic.
    pub topic: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

/// What a story's card shows beyond its record.
#[derive(Debug, Clone, Default)]
pub struct Card {
    pub snippet: Snippet,
    pub title_marks: Vec<(usize, usize)>,
    /// Each topic it matched, with the terms that matched (as the topic wrote them).
    pub matched: Vec<(String, Vec<String>)>,
    /// The outbox messages that carried it, oldest first.
    pub messages: Vec<i64>,
}

impl Sqlite {
    pub fn page_ids(&self, q: &PageQuery) -> Result<Vec<i64>, StoreError> {
        let from = match q.since {
            Some(t) => self.first_story_since(t)?,
            None => 0,
        };
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let rows = match &q.topic {
            Some(topic) => self
                .conn
                .prepare_cached(
                    "SELECT item_id FROM matches WHERE topic = ?1 AND item_id >= ?2
                     ORDER BY item_id DESC LIMIT ?3 OFFSET ?4",
                )?
                .query_map(params![topic, from, limit, offset], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            None => self
                .conn
                .prepare_cached(
                    "SELECT DISTINCT item_id FROM matches WHERE item_id >= ?1
                     ORDER BY item_id DESC LIMIT ?2 OFFSET ?3",
                )?
                .query_map(params![from, limit, offset], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
        };
        Ok(rows)
    }

    pub fn card(&self, id: i64) -> Result<Card, StoreError> {
        let mut item = self
            .conn
            .prepare_cached("SELECT snippet, snippet_marks, title_marks FROM items WHERE id = ?1")?;
        let (text, marks, title_marks) = item
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?
            .next()
            .transpose()?
            .unwrap_or_default();
        let mut matches = self
            .conn
            .prepare_cached("SELECT topic, keywords FROM matches WHERE item_id = ?1 ORDER BY rowid")?;
        let matched = matches
            .query_map(params![id], |r| {
                let keywords: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    keywords
                        .split('\n')
                        .filter(|k| !k.is_empty())
                        .map(str::to_string)
                        .collect(),
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut messages = self
            .conn
            .prepare_cached("SELECT DISTINCT outbox_id FROM deliveries WHERE item_id = ?1 ORDER BY outbox_id")?;
        let messages = messages
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Card {
            snippet: Snippet {
                text: text.unwrap_or_default(),
                marks: crate::store::columns::decode_marks(&marks.unwrap_or_default()),
            },
            title_marks: crate::store::columns::decode_marks(&title_marks.unwrap_or_default()),
            matched,
            messages,
        })
    }
}
