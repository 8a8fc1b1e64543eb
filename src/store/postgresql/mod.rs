//! The PostgreSQL backend: one database that daemons on several machines share (issue 25).
//!
//! Built call by call, each tested against a real server; it joins `Backend` (and
//! `contract.rs`' `backends()`) once it answers every call of `store/interface.rs`. Until then
//! no configuration reaches it. Its schema is `migrations/postgres/`; times are Unix seconds,
//! as in SQLite's.
//!
//! The calls are blocking, like SQLite's: they run on the store's thread and its readers, with
//! the synchronous client of tokio-postgres (the `postgres` crate), which drives its own
//! runtime on that thread.

use std::cell::RefCell;

use jiff::Timestamp;
use postgres::{Client, NoTls};

use super::StoreError;

mod sources;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The `state` key of the last digest time handled (the same as SQLite's).
const LAST_DIGEST_KEY: &str = "last_digest_slot";

pub struct Postgres {
    /// A call that only reads takes `&self`, as SQLite's do; the client needs `&mut` for
    /// every statement.
    client: RefCell<Client>,
}

impl Postgres {
    pub fn open(url: &str) -> Result<Postgres, StoreError> {
        let database = shown(url);
        let mut client = Client::connect(url, NoTls).map_err(|source| StoreError::Connect {
            database: database.clone(),
            source,
        })?;
        let runner = embedded::migrations::runner().set_grouped(true);
        let known = runner
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0);
        let found = schema_version(&mut client)?;
        if found > known {
            return Err(StoreError::TooNew { database, found, known });
        }
        runner.run(&mut client).map_err(|e| StoreError::Migrate {
            database,
            message: e.to_string(),
        })?;
        Ok(Postgres {
            client: RefCell::new(client),
        })
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema_version(&mut self.client.borrow_mut())
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt("SELECT value FROM state WHERE key = $1", &[&key])?;
        Ok(row.map(|r| r.get(0)))
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.client.get_mut().execute(
            "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        // An unreadable value counts as "now": nothing old is sent twice.
        Ok(self
            .get_state(LAST_DIGEST_KEY)?
            .map(|v| v.parse::<Timestamp>().unwrap_or_else(|_| crate::clock::now())))
    }

    pub fn set_last_digest_handled(&mut self, at: Timestamp) -> Result<(), StoreError> {
        self.set_state(LAST_DIGEST_KEY, &at.to_string())
    }
}

/// `url` as errors and screens show it: without its password.
fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        // Not a URL (a key=value connection string): only its host and database are safe to say.
        Err(_) => url
            .split_whitespace()
            .filter(|kv| !kv.starts_with("password"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A stored time (Unix seconds) as a timestamp; one out of range reads as 1970, as on SQLite.
fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn schema_version(client: &mut Client) -> Result<i64, StoreError> {
    let has_history: bool = client
        .query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[])?
        .get(0);
    if !has_history {
        return Ok(0);
    }
    let version: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history", &[])?
        .get(0);
    Ok(i64::from(version))
}

#[cfg(test)]
pub(crate) mod tests;
