//! Rights that one process holds at a time across machines (to send the outbox, to run the
//! daemon): a PostgreSQL session advisory lock, held on a connection of its own for as long as
//! the value lives. The server lets go of it when that connection ends, however the process
//! dies.

use tokio_postgres::Client;

use super::{Driver, connect, off_runtime};
use crate::store::StoreError;

/// Boxed: a lock is held, not looked at, and is kept beside a file lock's few bytes.
pub struct Hold {
    _session: Box<(Client, Driver)>,
}

impl Hold {
    /// Takes the lock named `name` on the database at `url`; `None` if another session holds
    /// it.
    pub fn try_take(url: &str, password: Option<&str>, name: &str) -> Result<Option<Hold>, StoreError> {
        off_runtime(|| Hold::try_take_here(url, password, name))
    }

    fn try_take_here(url: &str, password: Option<&str>, name: &str) -> Result<Option<Hold>, StoreError> {
        let (client, rt) = connect(url, password)?;
        let taken: bool = rt
            .block_on(client.query_one("SELECT pg_try_advisory_lock($1)", &[&key(name)]))?
            .get(0);
        Ok(taken.then(|| Hold {
            _session: Box::new((client, rt)),
        }))
    }
}

/// The lock's number: newswatch's own range, so that other applications' advisory locks on a
/// shared server never meet it.
pub(super) fn key(name: &str) -> i64 {
    let digest = crate::text::sha256_hex(format!("newswatch {name}").as_bytes());
    i64::from_str_radix(&digest[..15], 16).unwrap_or(0)
}
