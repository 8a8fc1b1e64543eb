//! newswatch: poll news feeds, match keywords, deduplicate in SQLite, mail a digest.
//!
//! # Architecture
//! Data flows one way, one module per stage:
//!
//! - [`config`]: the TOML file, validated into plain types.
//! - [`fetch`]: a configured source's URL into a document (bytes).
//! - [`parse`]: a document into [`model::Entry`]s with plain text; [`extract`]: a web page into
//!   an article (title, time, main text).
//! - [`matcher`]: an entry against the topics ([`query`] is their language): which matched,
//!   which terms, a snippet.
//! - [`dedup`]: canonical links and titles, to tell when two entries are one story.
//! - [`store`]: SQLite: stories, where each was seen, the digest queue, source health.
//! - [`digest`]: queued [`model::Story`]s into a subject, a text and an HTML part.
//! - [`mail`]: a digest onto SMTP or into an `.eml` file.
//! - [`pipeline`]: the stages run once (a poll, a digest); [`daemon`]: run on a schedule.
//! - [`cli`]: the commands and what they print.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod digest;
pub mod extract;
pub mod fetch;
pub mod mail;
pub mod matcher;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod query;
pub mod store;
pub mod text;
pub mod timefmt;
