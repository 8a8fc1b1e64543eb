//! `newswatch migrate-to`: a SQLite archive copied into an empty PostgreSQL database, every row
//! with its id, in one transaction (all of it, or nothing). What a later poll or digest needs
//! comes along: sources and their health, stories and entries with their clustering features,
//! why entries joined, topics, the outbox and who was told what. The search index is built
//! again on the server by its catch-up (the daemon's upkeep, or `search`).

use std::path::Path;

use super::{StoreError, postgresql, sqlite};

/// One value of a row, as SQLite holds it.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The tables copied, in an order every reference can follow, each with the order its rows
/// are read in (their ids, or the order SQLite stored them in: a story's topics keep theirs).
const TABLES: [(&str, &str); 10] = [
    ("sources", "id"),
    ("items", "id"),
    ("entries", "id"),
    ("joins", "entry"),
    ("matches", "rowid"),
    ("state", "key"),
    ("hosts", "host"),
    ("outbox", "id"),
    ("deliveries", "rowid"),
    ("told", "recipient, item_id, source_id"),
];

/// How many rows each table brought.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies the SQLite archive `file` into the PostgreSQL database at `url`, which must hold no
/// archive yet (its tables are created if need be).
pub fn migrate_to(file: &Path, url: &str, password: Option<&str>) -> Result<Copied, StoreError> {
    if !file.exists() {
        return Err(StoreError::Task(format!("there is no database at {}", file.display())));
    }
    // Its schema brought up to date first (a newer one is refused, as at every open).
    drop(sqlite::Sqlite::open(file)?);
    let from = sqlite::Export::open(file)?;
    let mut to = postgresql::Postgres::open(url, password)?;
    to.import(|import| {
        let mut copied = Copied::new();
        for (table, order) in TABLES {
            let columns: Vec<postgresql::Column> = import
                .columns(table)?
                .into_iter()
                .filter(|c| from.has_column(table, &c.name))
                .collect();
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            let mut rows = 0;
            from.each_chunk(table, &names, order, &mut |chunk| {
                rows += chunk.len() as u64;
                import.insert(table, &columns, chunk)
            })?;
            copied.push((table, rows));
        }
        Ok(copied)
    })
}
