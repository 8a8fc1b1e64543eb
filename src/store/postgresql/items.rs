//! Stories and their entries on PostgreSQL (as `sqlite/items.rs`): one poll's writes in one
//! transaction, unseen GUIDs, the articles of full-text sources. The window is read at the
//! start of every poll's transaction, as on SQLite.

use std::cell::RefCell;

use jiff::Timestamp;
use tokio_postgres::{GenericClient, Statement, Transaction};

use super::held::{EntryRow, Join, Lead, Shown, StoryRow};
use super::pipeline::Pipeline;
use super::sources::{record_success, upsert_source};
use super::{Driver, Postgres, Statements, StoreError, ts};
use crate::cluster::{Features, Member, Neighbour, Prepared, TermId};
use crate::model::{Entry, IngestCounts, Joined, MatchResult, StoryCandidate, StoryHead};
use crate::store::columns::{encode_marks, item_state, rule_name};
use crate::store::window::{ReadMember, Stored, Window, encode};
use crate::store::{FetchRecord, PendingArticle};

/// One poll's writes for one source, in one transaction (see [`Postgres::ingest`]).
pub struct Ingest<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) rt: &'a Driver,
    statements: &'a Statements,
    pub(super) source_id: i64,
    window: &'a Window,
    now: i64,
    /// The entries stored, for the clustering window once the writes are kept.
    added: RefCell<Vec<(i64, Member)>>,
    /// Writes held back and answers read ahead (`pipeline.rs`).
    pub(super) pipe: Pipeline,
}

impl Postgres {
    pub fn ingest(
        &mut self,
        source: &str,
        url: &str,
        record: &FetchRecord,
        now: Timestamp,
        write: impl FnOnce(&Ingest<'_>) -> Result<IngestCounts, StoreError>,
    ) -> Result<IngestCounts, StoreError> {
        let (counts, added) = {
            let rt = &self.rt;
            let tx = rt.block_on(self.client.transaction())?;
            // What was stored since this process last looked, by it or another process, before
            // anything is looked up.
            self.window.catch_up(&mut Rows { tx: &tx, rt })?;
            let source_id = rt.block_on(upsert_source(&tx, source, url))?;
            let ingest = Ingest {
                tx,
                rt,
                statements: &self.statements,
                source_id,
                window: &self.window,
                now: now.as_second(),
                added: RefCell::default(),
                pipe: Pipeline::default(),
            };
            let counts = write(&ingest)?;
            ingest.flush()?;
            let Ingest { tx, added, .. } = ingest;
            rt.block_on(async {
                futures_util::future::try_join(
                    tx.execute(
                        "UPDATE sources SET items_seen = items_seen + $2, items_matched = items_matched + $3 WHERE id = $1",
                        &[&source_id, &(counts.new as i64), &(counts.matched as i64)],
                    ),
                    record_success(&tx, source_id, record, now),
                )
                .await?;
                tx.commit().await
            })?;
            (counts, added.into_inner())
        };
        // Kept: the window holds them as a catch-up would read them back.
        for (entry, member) in added {
            self.window.hold(entry, member);
        }
        Ok(counts)
    }

    pub fn unseen(&self, source: &str, guids: &[String]) -> Result<Vec<String>, StoreError> {
        let seen = self.rt.block_on(self.client.query(
            "SELECT e.guid FROM entries e JOIN sources s ON s.id = e.source_id
             WHERE s.name = $1 AND e.guid = ANY($2)",
            &[&source, &guids],
        ))?;
        let seen: std::collections::HashSet<String> = seen.iter().map(|r| r.get(0)).collect();
        Ok(guids.iter().filter(|g| !seen.contains(*g)).cloned().collect())
    }

    pub fn pending_articles(&self, source: &str) -> Result<Vec<PendingArticle>, StoreError> {
        let rows = self.rt.block_on(self.client.query(
            "SELECT DISTINCT i.id, i.link, i.title, i.body, i.published, i.first_seen
             FROM items i JOIN entries s ON s.item_id = i.id JOIN sources src ON src.id = s.source_id
             WHERE src.name = $1 AND i.article IS NULL AND i.article_attempts BETWEEN 1 AND 2
               AND i.state = 'stored' AND i.link IS NOT NULL
             ORDER BY i.id",
            &[&source],
        ))?;
        Ok(rows
            .iter()
            .map(|r| PendingArticle {
                item_id: r.get(0),
                link: r.get(1),
                title: r.get(2),
                body: r.get(3),
                published: r.get::<_, Option<i64>>(4).map(ts),
                first_seen: ts(r.get(5)),
            })
            .collect())
    }

    pub fn record_article(
        &mut self,
        item_id: i64,
        article: &Result<String, String>,
        queue_as: Option<&MatchResult>,
    ) -> Result<bool, StoreError> {
        self.rt.block_on(async {
            let tx = self.client.transaction().await?;
            tx.execute(
                "UPDATE items SET article = $2, article_error = $3, article_attempts = article_attempts + 1 WHERE id = $1",
                &[&item_id, &article.as_ref().ok(), &article.as_ref().err()],
            )
            .await?;
            let queued = match queue_as {
                Some(result) => queue(&tx, item_id, result).await?,
                None => false,
            };
            tx.commit().await?;
            Ok(queued)
        })
    }
}

impl Ingest<'_> {
    /// `sql` prepared once on this connection (a poll runs the same few statements for every
    /// entry; prepared each time, each cost a round trip of its own).
    pub(super) fn prepared(&self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.rt.block_on(self.tx.prepare(sql))?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    pub fn features(&self, prepared: Prepared) -> Result<Features, StoreError> {
        Ok(match prepared {
            Prepared::Ready(features) => features,
            Prepared::Weigh(draft) => self.window.index.weigh(draft),
        })
    }

    pub fn neighbours(&self, features: &Features, from: Timestamp, to: Timestamp) -> Vec<Neighbour<'_>> {
        self.window
            .index
            .neighbours(features, self.source_id, from.as_second(), to.as_second())
    }

    pub fn df(&self, term: TermId) -> u32 {
        self.window.index.df(term)
    }

    pub fn counted(&self) -> u64 {
        self.window.index.counted()
    }

    pub fn seen(&self, guid: &str) -> Result<bool, StoreError> {
        if let Some(seen) = self.known_seen(guid) {
            return Ok(seen);
        }
        self.flush()?;
        let row = self.rt.block_on(self.tx.query_opt(
            &self.prepared("SELECT 1 FROM entries WHERE source_id = $1 AND guid = $2")?,
            &[&self.source_id, &guid],
        ))?;
        Ok(row.is_some())
    }

    pub fn candidates(&self, key: &str) -> Result<Vec<StoryCandidate>, StoreError> {
        if self.known_unlinked(key) {
            return Ok(Vec::new());
        }
        self.flush()?;
        // Each story once, by its first entry under the link; oldest story first.
        let rows = self.rt.block_on(self.tx.query(
            &self.prepared(
                "SELECT DISTINCT ON (e.item_id) e.item_id, e.id, i.title, i.state,
                    EXISTS (SELECT 1 FROM entries o WHERE o.item_id = e.item_id AND o.source_id != $2)
             FROM entries e JOIN items i ON i.id = e.item_id
             WHERE e.link_key = $1
             ORDER BY e.item_id, e.id",
            )?,
            &[&key, &self.source_id],
        ))?;
        Ok(rows
            .iter()
            .map(|r| StoryCandidate {
                id: r.get(0),
                entry: r.get(1),
                title: r.get(2),
                state: item_state(r.get(3)),
                carried_elsewhere: r.get(4),
            })
            .collect())
    }

    pub fn story_head(&self, item_id: i64) -> Result<StoryHead, StoreError> {
        self.flush()?;
        // Spaces only, as SQLite's trim (texts are stored trimmed of the rest).
        let r = self.rt.block_on(self.tx.query_one(
            &self.prepared("SELECT state, trim(body, ' ') = '' OR body = title, published FROM items WHERE id = $1")?,
            &[&item_id],
        ))?;
        Ok(StoryHead {
            state: item_state(r.get(0)),
            headline_only: r.get(1),
            published: r.get::<_, Option<i64>>(2).and_then(|t| Timestamp::from_second(t).ok()),
        })
    }

    /// No round trip of its own: the ids are drawn ahead (`pipeline.rs`), the rows written
    /// with the next flush (the story and its first entry name each other).
    pub fn new_story(
        &self,
        entry: &Entry,
        article: Option<&Result<String, String>>,
        (link_key, at): (Option<&str>, Timestamp),
        features: &Features,
    ) -> Result<(i64, i64), StoreError> {
        let (item_id, entry_id) = self.draw_ids()?;
        self.later().stories.push(StoryRow {
            id: item_id,
            title: entry.title.clone(),
            link: entry.link.clone(),
            body: entry.body.clone(),
            published: entry.published.map(|t| t.as_second()),
            first_seen: self.now,
            article: article.and_then(|a| a.as_ref().ok()).cloned(),
            attempts: i32::from(article.is_some()),
            article_error: article.and_then(|a| a.as_ref().err()).cloned(),
            lead: entry_id,
        });
        self.write_entry((entry_id, item_id), entry, link_key, at, features);
        self.made_story(item_id);
        Ok((item_id, entry_id))
    }

    /// An entry's row, held back; the window and the answers from memory count it now.
    fn write_entry(
        &self,
        (entry_id, item_id): (i64, i64),
        entry: &Entry,
        link_key: Option<&str>,
        at: Timestamp,
        features: &Features,
    ) {
        self.later().entries.push(EntryRow {
            id: entry_id,
            guid: entry.guid.clone(),
            item: item_id,
            link: entry.link.clone(),
            link_key: link_key.map(str::to_string),
            title: entry.title.clone(),
            published: entry.published.map(|t| t.as_second()),
            first_seen: self.now,
            at: at.as_second(),
            vector: crate::cluster::stored(features),
            keys: encode(features.keys()),
        });
        self.note_written(&entry.guid, link_key);
        self.added.borrow_mut().push((
            entry_id,
            Member {
                story: item_id,
                source: self.source_id,
                at: at.as_second(),
                features: features.clone(),
            },
        ));
    }

    pub fn make_lead(
        &self,
        item_id: i64,
        (entry_id, entry): (i64, &Entry),
        verdict: Option<&MatchResult>,
    ) -> Result<(), StoreError> {
        let mut later = self.later();
        later.leads.push(Lead {
            item: item_id,
            title: entry.title.clone(),
            link: entry.link.clone(),
            body: entry.body.clone(),
            published: entry.published.map(|t| t.as_second()),
            entry: entry_id,
        });
        // A queued story shows its new lead's snippet and title marks; with no verdict on the
        // new lead, its title unmarked and the snippet as it was (as on SQLite).
        later.highlights.push((item_id, verdict.map(shown)));
        Ok(())
    }

    pub fn record_join(&self, entry_id: i64, join: &Joined) -> Result<(), StoreError> {
        self.later().joins.push(Join {
            entry: entry_id,
            with: join.with,
            rule: rule_name(join.rule),
            score: join.score.map(f64::from),
            next: join.next.map(f64::from),
            shared: join.shared.join("\n"),
            pair: join.pair.map(f64::from),
            weighed: join.weighed.map(|w| i32::try_from(w).unwrap_or(i32::MAX)),
        });
        Ok(())
    }

    pub fn add_entry(
        &self,
        item_id: i64,
        entry: &Entry,
        link_key: Option<&str>,
        at: Timestamp,
        features: &Features,
    ) -> Result<i64, StoreError> {
        let (_, entry_id) = self.draw_ids()?;
        self.write_entry((entry_id, item_id), entry, link_key, at, features);
        Ok(entry_id)
    }

    pub fn add_topics(&self, item_id: i64, result: &MatchResult) -> Result<(), StoreError> {
        let mut later = self.later();
        for hit in &result.hits {
            later
                .topics_added
                .push((item_id, hit.topic.clone(), hit.keywords.join("\n")));
        }
        Ok(())
    }

    pub fn queue(&self, item_id: i64, result: &MatchResult) -> Result<bool, StoreError> {
        if !self.take_fresh(item_id) {
            self.flush()?;
            return Ok(self.rt.block_on(queue(&self.tx, item_id, result))?);
        }
        // A story this transaction made is 'stored' until now: it is queued for sure.
        let mut later = self.later();
        later.queued.push((item_id, shown(result)));
        for hit in &result.hits {
            later
                .topics_set
                .push((item_id, hit.topic.clone(), hit.keywords.join("\n")));
        }
        Ok(true)
    }
}

/// What a queued story shows of a verdict.
fn shown(result: &MatchResult) -> Shown {
    Shown {
        snippet: result.snippet.text.clone(),
        snippet_marks: encode_marks(&result.snippet.marks),
        title_marks: encode_marks(&result.title_marks),
    }
}

/// The window's entries as PostgreSQL reads them, inside a poll's transaction.
struct Rows<'a> {
    tx: &'a Transaction<'a>,
    rt: &'a Driver,
}

impl Stored for Rows<'_> {
    fn entries_after(&mut self, after: i64, each: &mut dyn FnMut(i64, i64, i64) -> bool) -> Result<(), StoreError> {
        let rows = self.rt.block_on(self.tx.query(
            "SELECT id, at, first_seen FROM entries WHERE id > $1 ORDER BY id DESC",
            &[&after],
        ))?;
        for r in rows {
            if !each(r.get(0), r.get(1), r.get(2)) {
                break;
            }
        }
        Ok(())
    }

    fn member(&mut self, entry: i64, read: &mut ReadMember<'_>) -> Result<(), StoreError> {
        let r = self.rt.block_on(self.tx.query_one(
            "SELECT item_id, source_id, vector, keys FROM entries WHERE id = $1",
            &[&entry],
        ))?;
        read(r.get(0), r.get(1), r.get(2), r.get(3));
        Ok(())
    }
}

/// Queues a stored story for the digest with the topics it matched; `false` if it was not in
/// the 'stored' state (already queued or sent).
pub(super) async fn queue(
    c: &impl GenericClient,
    item_id: i64,
    result: &MatchResult,
) -> Result<bool, tokio_postgres::Error> {
    let changed = c
        .execute(
            "UPDATE items SET state = 'queued', snippet = $2, snippet_marks = $3, title_marks = $4
             WHERE id = $1 AND state = 'stored'",
            &[
                &item_id,
                &result.snippet.text,
                &encode_marks(&result.snippet.marks),
                &encode_marks(&result.title_marks),
            ],
        )
        .await?;
    if changed == 0 {
        return Ok(false);
    }
    for hit in &result.hits {
        c.execute(
            "INSERT INTO matches (item_id, topic, keywords) VALUES ($1, $2, $3)
             ON CONFLICT (item_id, topic) DO UPDATE SET keywords = excluded.keywords, seq = excluded.seq",
            &[&item_id, &hit.topic, &hit.keywords.join("\n")],
        )
        .await?;
    }
    Ok(true)
}

/// Adds topics to a story whatever its state; a topic it has keeps its keywords.
pub(super) async fn add_topics(
    c: &impl GenericClient,
    item_id: i64,
    result: &MatchResult,
) -> Result<(), tokio_postgres::Error> {
    for hit in &result.hits {
        c.execute(
            "INSERT INTO matches (item_id, topic, keywords) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&item_id, &hit.topic, &hit.keywords.join("\n")],
        )
        .await?;
    }
    Ok(())
}
