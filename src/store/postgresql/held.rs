//! The writes a poll's transaction holds back (`pipeline.rs`), and how they go to the server:
//! each kind as one statement over arrays (`unnest`), however many rows, so that a feed of
//! fifty new entries is a handful of statements, not a hundred and fifty.
//!
//! The kinds go in a fixed order that keeps every reference whole: stories and entries first
//! (in one statement, as a story and its first entry name each other), then leads and their
//! highlights, joins, queueings and topics. Within a flush that order is also the order the
//! poll wrote them in: a read flushes, and the poll reads a story (`story_head`) before it
//! changes its lead or joins an entry to it. Where one flush changes one row twice, the later
//! change is the one kept, as it would have been one statement at a time.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

use super::Driver;
use crate::store::StoreError;

/// A new story's own columns (its first entry is an [`EntryRow`] of the same flush).
pub(super) struct StoryRow {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    pub body: String,
    pub published: Option<i64>,
    pub first_seen: i64,
    pub article: Option<String>,
    pub attempts: i32,
    pub article_error: Option<String>,
    pub lead: i64,
}

pub(super) struct EntryRow {
    pub id: i64,
    pub guid: String,
    pub item: i64,
    pub link: Option<String>,
    pub link_key: Option<String>,
    pub title: String,
    pub published: Option<i64>,
    pub first_seen: i64,
    pub at: i64,
    pub vector: Vec<u8>,
    pub keys: Vec<u8>,
}

pub(super) struct Lead {
    pub item: i64,
    pub title: String,
    pub link: Option<String>,
    pub body: String,
    pub published: Option<i64>,
    pub entry: i64,
}

/// A snippet and its marks, as a queued story shows them.
pub(super) struct Shown {
    pub snippet: String,
    pub snippet_marks: String,
    pub title_marks: String,
}

pub(super) struct Join {
    pub entry: i64,
    pub with: Option<i64>,
    pub rule: &'static str,
    pub score: Option<f64>,
    pub next: Option<f64>,
    pub shared: String,
    pub pair: Option<f64>,
    pub weighed: Option<i32>,
}

/// Everything held back, by kind.
#[derive(Default)]
pub(super) struct Held {
    pub stories: Vec<StoryRow>,
    pub entries: Vec<EntryRow>,
    pub leads: Vec<Lead>,
    /// A queued story's new lead's highlights; `None`: its title unmarked, the snippet kept.
    pub highlights: Vec<(i64, Option<Shown>)>,
    pub joins: Vec<Join>,
    /// Stories queued (from 'stored'), with what they show.
    pub queued: Vec<(i64, Shown)>,
    /// (story, topic, keywords): a queued story's topics, their keywords replaced.
    pub topics_set: Vec<(i64, String, String)>,
    /// (story, topic, keywords): topics added to a story that has some; those it has stay.
    pub topics_added: Vec<(i64, String, String)>,
}

impl Held {
    pub(super) fn is_empty(&self) -> bool {
        self.stories.is_empty()
            && self.entries.is_empty()
            && self.leads.is_empty()
            && self.highlights.is_empty()
            && self.joins.is_empty()
            && self.queued.is_empty()
            && self.topics_set.is_empty()
            && self.topics_added.is_empty()
    }

    /// Sends it all, pipelined; `source` is every entry's source; `prepared` gives each
    /// statement prepared once on the connection.
    pub(super) fn send(
        self,
        (tx, rt): (&Transaction<'_>, &Driver),
        source: i64,
        prepared: impl Fn(&'static str) -> Result<Statement, StoreError>,
    ) -> Result<(), StoreError> {
        let Held {
            stories,
            entries,
            leads,
            highlights,
            joins,
            queued,
            topics_set,
            topics_added,
        } = self;
        let mut statements: Vec<(&'static str, Vec<Box<dyn ToSql + Sync + Send>>)> = Vec::new();
        let mut add = |sql: &'static str, values: Vec<Box<dyn ToSql + Sync + Send>>| statements.push((sql, values));

        if !stories.is_empty() || !entries.is_empty() {
            add(
                "WITH story AS (
                     INSERT INTO items (id, title, link, body, published, first_seen, article, article_attempts,
                                        article_error, lead)
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                          $6::bigint[], $7::text[], $8::int[], $9::text[], $10::bigint[]))
                 INSERT INTO entries (id, source_id, guid, item_id, link, link_key, title, published, first_seen,
                                      at, vector, keys)
                 SELECT e.id, $11, e.guid, e.item, e.link, e.link_key, e.title, e.published, e.first_seen, e.at,
                        e.vector, e.keys
                 FROM unnest($12::bigint[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[],
                             $18::bigint[], $19::bigint[], $20::bigint[], $21::bytea[], $22::bytea[])
                      AS e(id, guid, item, link, link_key, title, published, first_seen, at, vector, keys)",
                vec![
                    column(&stories, |s| s.id),
                    column(&stories, |s| s.title.clone()),
                    column(&stories, |s| s.link.clone()),
                    column(&stories, |s| s.body.clone()),
                    column(&stories, |s| s.published),
                    column(&stories, |s| s.first_seen),
                    column(&stories, |s| s.article.clone()),
                    column(&stories, |s| s.attempts),
                    column(&stories, |s| s.article_error.clone()),
                    column(&stories, |s| s.lead),
                    Box::new(source),
                    column(&entries, |e| e.id),
                    column(&entries, |e| e.guid.clone()),
                    column(&entries, |e| e.item),
                    column(&entries, |e| e.link.clone()),
                    column(&entries, |e| e.link_key.clone()),
                    column(&entries, |e| e.title.clone()),
                    column(&entries, |e| e.published),
                    column(&entries, |e| e.first_seen),
                    column(&entries, |e| e.at),
                    column(&entries, |e| e.vector.clone()),
                    column(&entries, |e| e.keys.clone()),
                ],
            );
        }
        let leads = last_each(leads, |l| l.item);
        if !leads.is_empty() {
            add(
                "UPDATE items i SET title = u.title, link = u.link, body = u.body, published = u.published,
                                    lead = u.lead
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                      AS u(id, title, link, body, published, lead)
                 WHERE i.id = u.id",
                vec![
                    column(&leads, |l| l.item),
                    column(&leads, |l| l.title.clone()),
                    column(&leads, |l| l.link.clone()),
                    column(&leads, |l| l.body.clone()),
                    column(&leads, |l| l.published),
                    column(&leads, |l| l.entry),
                ],
            );
        }
        let highlights = last_each(highlights, |(item, _)| *item);
        let (shown, unmarked): (Vec<_>, Vec<_>) = highlights.into_iter().partition(|(_, s)| s.is_some());
        let shown: Vec<(i64, Shown)> = shown.into_iter().filter_map(|(i, s)| s.map(|s| (i, s))).collect();
        if !shown.is_empty() {
            add(
                "UPDATE items i SET snippet = u.snippet, snippet_marks = u.marks, title_marks = u.title_marks
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(id, snippet, marks, title_marks)
                 WHERE i.id = u.id AND i.state = 'queued'",
                shown_columns(&shown),
            );
        }
        if !unmarked.is_empty() {
            let ids: Vec<i64> = unmarked.iter().map(|(i, _)| *i).collect();
            add(
                "UPDATE items SET title_marks = NULL WHERE id = ANY($1) AND state = 'queued'",
                vec![Box::new(ids)],
            );
        }
        let joins = last_each(joins, |j| j.entry);
        if !joins.is_empty() {
            add(
                "INSERT INTO joins (entry, to_entry, rule, score, next, shared, pair, weighed)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[], $5::float8[],
                                      $6::text[], $7::float8[], $8::int[])
                 ON CONFLICT (entry) DO UPDATE SET to_entry = excluded.to_entry, rule = excluded.rule,
                     score = excluded.score, next = excluded.next, shared = excluded.shared, pair = excluded.pair,
                     weighed = excluded.weighed",
                vec![
                    column(&joins, |j| j.entry),
                    column(&joins, |j| j.with),
                    column(&joins, |j| j.rule.to_string()),
                    column(&joins, |j| j.score),
                    column(&joins, |j| j.next),
                    column(&joins, |j| j.shared.clone()),
                    column(&joins, |j| j.pair),
                    column(&joins, |j| j.weighed),
                ],
            );
        }
        let queued = last_each(queued, |(item, _)| *item);
        if !queued.is_empty() {
            add(
                "UPDATE items i SET state = 'queued', snippet = u.snippet, snippet_marks = u.marks,
                                    title_marks = u.title_marks
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(id, snippet, marks, title_marks)
                 WHERE i.id = u.id AND i.state = 'stored'",
                shown_columns(&queued),
            );
        }
        let topics_set = last_each(topics_set, |(item, topic, _)| (*item, topic.clone()));
        if !topics_set.is_empty() {
            add(
                "INSERT INTO matches (item_id, topic, keywords)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
                 ON CONFLICT (item_id, topic) DO UPDATE SET keywords = excluded.keywords, seq = excluded.seq",
                topic_columns(&topics_set),
            );
        }
        if !topics_added.is_empty() {
            add(
                "INSERT INTO matches (item_id, topic, keywords)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
                 ON CONFLICT DO NOTHING",
                topic_columns(&topics_added),
            );
        }

        let prepared = statements
            .iter()
            .map(|(sql, _)| prepared(sql))
            .collect::<Result<Vec<_>, _>>()?;
        let values: Vec<Vec<&(dyn ToSql + Sync)>> = statements
            .iter()
            .map(|(_, v)| v.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect())
            .collect();
        let sent = prepared
            .iter()
            .zip(&values)
            .map(|(statement, values)| tx.execute(statement, values));
        rt.block_on(futures_util::future::try_join_all(sent))?;
        Ok(())
    }
}

/// One array parameter: `f` of every row.
fn column<R, T: ToSql + Sync + Send + 'static>(rows: &[R], f: impl Fn(&R) -> T) -> Box<dyn ToSql + Sync + Send> {
    Box::new(rows.iter().map(f).collect::<Vec<T>>())
}

fn shown_columns(rows: &[(i64, Shown)]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    vec![
        column(rows, |(i, _)| *i),
        column(rows, |(_, s)| s.snippet.clone()),
        column(rows, |(_, s)| s.snippet_marks.clone()),
        column(rows, |(_, s)| s.title_marks.clone()),
    ]
}

fn topic_columns(rows: &[(i64, String, String)]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    vec![
        column(rows, |(i, _, _)| *i),
        column(rows, |(_, t, _)| t.clone()),
        column(rows, |(_, _, k)| k.clone()),
    ]
}

/// `rows` with only the last of those that share a key, in the order they came.
fn last_each<R, K: std::hash::Hash + Eq>(rows: Vec<R>, key: impl Fn(&R) -> K) -> Vec<R> {
    let mut last: HashMap<K, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        last.insert(key(r), i);
    }
    rows.into_iter()
        .enumerate()
        .filter(|(i, r)| last.get(&key(r)) == Some(i))
        .map(|(_, r)| r)
        .collect()
}
