//! newswatch: poll news feeds, match keywords, deduplicate in SQLite, mail digests and alerts.
//!
//! Data flows one way, one module per stage; `docs/architecture.md` is the map, with what each
//! module may and may never touch:
//!
//! ```text
//! Source ─fetch─▶ Document ─parse/extract─▶ Entry ─matcher─▶ MatchResult ─dedup, store─▶ Story ─digest, mail─▶ message
//! ```
//!
//! - Stages: [`fetch`] (HTTP), [`parse`] (feeds) and [`extract`] (web pages), [`matcher`] (with
//!   [`query`], the topics' language), [`dedup`] (when two entries are one story), [`digest`]
//!   (rendering) and [`mail`] (transports). Pure but for `fetch` and `mail`.
//! - Work on them: [`poll`] (one source, start to end), [`deliver`] (who gets which story;
//!   the outbox: compose, send, retry), [`health`] (how each source and the outbox are doing),
//!   [`explain`] (how a topic reads a text), [`backfill`] (a new topic looks back).
//! - [`schedule`]: when a source is due, when a message is retried, the next digest time;
//!   [`daemon`]: the service loop, with [`serve`] (its HTTP listener); [`cli`]: the commands.
//! - Shared: [`app`] (config, store, fetcher, matcher, mailer), [`store`] (SQLite, SQL only),
//!   [`config`], and the neutral [`model`], [`text`] and [`timefmt`]; [`opml`] reads and writes
//!   other readers' subscription lists.

pub mod app;
pub mod backfill;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod deliver;
pub mod digest;
pub mod explain;
pub mod extract;
pub mod fetch;
pub mod health;
pub mod mail;
pub mod matcher;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod opml;
pub mod parse;
pub mod poll;
pub mod query;
pub mod retention;
pub mod schedule;
pub mod search;
pub mod serve;
pub mod store;
pub mod stories;
pub mod text;
pub mod timefmt;
pub mod web;
pub mod webhook;
