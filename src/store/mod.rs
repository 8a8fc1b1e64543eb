//! The store: what the stages record and read back, whatever database holds it.
//!
//! The stages decide (which entries are one story, what is too old to report, what matched);
//! the store records what they decided and reads it back, SQL only.
//!
//! - `interface.rs`: every call the stages may make of a [`Store`], each documented there;
//!   `transactions.rs`: those within one poll's writes for a source ([`Ingest`]) or one
//!   composition of the outbox ([`Compose`]), and the send lock ([`SendLock`]).
//! - `sqlite/`: the SQLite backend, the embedded default (its own map in `sqlite/mod.rs`).
//! - `postgresql/`: the PostgreSQL backend, for an archive several machines share (its map in
//!   `postgresql/mod.rs`).
//! - `window.rs`: the clustering window in memory, read from whichever backend holds the
//!   entries; `columns.rs`: how values are spelled in either; `narrowing.rs`: what a search
//!   asks the index for.
//! - `contract/` (tests): what every backend must do, asked through `Store` as the stages
//!   ask it; each of its tests runs on every backend.
//!
//! A call goes to the backend the store was opened on (`on_backend!`); another backend is a new
//! variant of `Backend` that answers the same calls and passes `contract/`. The schema of each
//! lives in `migrations/` only (`sqlite/`, `postgres/`).

mod columns;
#[cfg(test)]
mod contract;
mod interface;
pub mod migrate;
mod narrowing;
mod postgresql;
mod sqlite;
mod transactions;
mod window;

use std::path::PathBuf;

pub use narrowing::Narrowing;
pub use sqlite::{
    Attempt, Card, FailureRecord, FetchRecord, Found, NewMessage, PageQuery, PendingArticle, Pruned, StoryFilter,
    Unsent,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `database`: a file's path, or a server's address without its password.
    #[error("cannot migrate database {database}: {message}")]
    Migrate { database: String, message: String },
    #[error(
        "database {database} was written by a newer newswatch (schema version {found}; this one knows up to {known}): \
         run the newer newswatch, or a backup made with this one"
    )]
    TooNew { database: String, found: i64, known: i64 },
    /// The server's words are in the message, so they are not a source too (a report of the
    /// causes would say them twice).
    #[error("cannot connect to database {database}: {}", postgres_message(.cause))]
    Connect {
        database: String,
        cause: tokio_postgres::Error,
    },
    /// The URL's `sslmode` or `sslrootcert` cannot be followed.
    #[error("cannot connect to database {database}: {reason}")]
    Tls { database: String, reason: String },
    #[error("cannot back up the database to {path}: {reason}")]
    Backup { path: PathBuf, reason: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_message(.0))]
    Postgres(tokio_postgres::Error),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("the database could not commit (nothing of this poll or change was kept): {0}")]
    Commit(String),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres(e)
    }
}

/// What the server said, not only that it said something: tokio-postgres's own message for a
/// server's error is "db error", with the server's words in its source.
fn postgres_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            message
        }
    }
}

/// A database opened by newswatch: the writer's (through the store's thread) or a reader's.
pub struct Store {
    backend: Backend,
}

/// The databases a store can be kept in.
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgresql::Postgres),
}

/// Runs `$call` with `$s` bound to the backend of `$backend` (a `&Backend` or `&mut Backend`).
macro_rules! on_backend {
    ($backend:expr, $s:ident => $call:expr) => {
        match $backend {
            Backend::Sqlite($s) => $call,
            Backend::Postgres($s) => $call,
        }
    };
}
use on_backend;

/// One poll's writes for one source, in one transaction (see [`Store::ingest`]).
pub struct Ingest<'a> {
    on: IngestOn<'a>,
}

#[derive(Clone, Copy)]
enum IngestOn<'a> {
    Sqlite(&'a sqlite::Ingest<'a>),
    Postgres(&'a postgresql::Ingest<'a>),
}

/// The reads and writes of one composition, in one durable transaction (see
/// [`Store::compose`]).
pub struct Compose<'a> {
    on: ComposeOn<'a>,
}

#[derive(Clone, Copy)]
enum ComposeOn<'a> {
    Sqlite(&'a sqlite::Compose<'a>),
    Postgres(&'a postgresql::Compose<'a>),
}

/// The right to send the outbox, for as long as it lives: one process sends at a time, and a
/// process that dies, however it dies, lets go of it.
pub struct SendLock {
    _on: SendLockOn,
}

/// Held, never read: what a backend holds the right by.
enum SendLockOn {
    Sqlite { _file: sqlite::SendLock },
    Postgres { _lock: postgresql::Hold },
}

/// A daemon sharing the database, as it last said it was running ([`Store::daemons`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DaemonSeen {
    /// Its machine, process and a random part (`poll::lease`).
    pub holder: String,
    /// How long it has been running, in seconds.
    pub up_secs: u64,
    /// How long ago it last said so, in seconds.
    pub seen_secs_ago: u64,
}

/// What [`Store::lease`] gave: the sources this daemon may poll now, and when the first of the
/// others' leases among those asked runs out (from now), if any is held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Leased {
    pub granted: Vec<String>,
    pub others_until: Option<std::time::Duration>,
}
