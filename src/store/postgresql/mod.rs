//! The PostgreSQL backend: one database that daemons on several machines share (issue 25).
//!
//! Every call of `store/interface.rs` is answered, each held to `contract/` against a real
//! server: opening (with its migrations, `migrations/postgres/`), state, sources and
//! hosts, a poll's writes and the clustering window, articles, the queue and the outbox,
//! follow-ups, stories and the pages' reads, backfill, retention, search (a trigram index that
//! `LIKE` reads), and SQLite's housekeeping (answered for what it means on a server); and what
//! only a shared database needs: the sources' leases (`leases.rs`) and the rights one process
//! holds at a time (`lock.rs`); TLS as libpq reads the URL (`tls.rs`). Times are Unix seconds,
//! as in SQLite's schema.
//!
//! The calls are blocking, like SQLite's: they run on the store's thread and its readers (never
//! on the async workers), each backend driving tokio-postgres on a runtime of its own on that
//! thread. tokio-postgres's statements take `&self`, so a read takes `&self` as on SQLite, and
//! a poll's transaction can be shared by the calls of its `Ingest`.

use jiff::Timestamp;
use tokio_postgres::Client;

use super::StoreError;
use super::columns::{LAST_DIGEST_KEY, digest_handled};
use super::window::Window;

pub use import::Column;
pub use items::Ingest;
pub use lock::Hold;
pub use outbox::Compose;

mod archive;
mod held;
mod import;
mod items;
mod leases;
mod lock;
mod outbox;
mod pipeline;
mod reads;
mod sources;
mod stories;
mod tls;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

pub struct Postgres {
    client: Client,
    /// Where it connects again when the server has dropped the connection (a restart, a
    /// failover): a daemon runs for months, and a server does not stay up that long.
    url: String,
    password: Option<String>,
    /// A reader's: its connection is set to read only, again after a new connection.
    read_only: bool,
    /// The clustering window, in memory (`store/window.rs`), read from this database.
    window: Window,
    /// Runs the connection and the client's statements (`block_on`), on the calling thread.
    rt: Driver,
    /// The statements a poll runs for every entry, prepared once (`Ingest::prepared`).
    statements: Statements,
}

/// Statements prepared on a backend's connection, by their SQL.
type Statements = std::cell::RefCell<std::collections::HashMap<&'static str, tokio_postgres::Statement>>;

impl Postgres {
    pub fn open(url: &str, password: Option<&str>) -> Result<Postgres, StoreError> {
        off_runtime(|| Postgres::open_here(url, password))
    }

    fn open_here(url: &str, password: Option<&str>) -> Result<Postgres, StoreError> {
        let database = shown(url);
        let (mut client, rt) = connect(url, password)?;
        let runner = embedded::migrations::runner().set_grouped(true);
        let known = runner
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0);
        // Several daemons may start at once on a new database (or after an upgrade): one
        // migrates while the others wait, then find nothing left to do.
        let key = lock::key("migrate");
        rt.block_on(client.execute("SELECT pg_advisory_lock($1)", &[&key]))?;
        let migrated = (|| {
            let found = rt.block_on(schema_version(&client))?;
            if found > known {
                return Err(StoreError::TooNew {
                    database: database.clone(),
                    found,
                    known,
                });
            }
            rt.block_on(runner.run_async(&mut client))
                .map_err(|e| StoreError::Migrate {
                    database: database.clone(),
                    message: e.to_string(),
                })
        })();
        rt.block_on(client.execute("SELECT pg_advisory_unlock($1)", &[&key]))?;
        migrated?;
        Ok(Postgres::new(client, rt, (url, password), false))
    }

    /// A connection that can only read (the pages' queries), to a database the writer has
    /// opened and migrated.
    pub fn open_reader(url: &str, password: Option<&str>) -> Result<Postgres, StoreError> {
        let (client, rt) = off_runtime(|| connect(url, password))?;
        rt.block_on(client.batch_execute("SET default_transaction_read_only = on"))?;
        Ok(Postgres::new(client, rt, (url, password), true))
    }

    fn new(client: Client, rt: Driver, (url, password): (&str, Option<&str>), read_only: bool) -> Postgres {
        Postgres {
            client,
            url: url.to_string(),
            password: password.map(str::to_string),
            read_only,
            window: Window::default(),
            rt,
            statements: Statements::default(),
        }
    }

    /// Whether the server has dropped the connection (a restart, a failover, an idle timeout):
    /// one empty statement tells.
    pub fn is_broken(&self) -> bool {
        self.client.is_closed() || self.rt.block_on(self.client.simple_query("")).is_err()
    }

    /// Connects again if the server has dropped the connection; the window stays as it is
    /// (its next catch-up reads what was stored meanwhile).
    pub fn reconnect_if_lost(&mut self) -> Result<(), StoreError> {
        if !self.is_broken() {
            return Ok(());
        }
        tracing::warn!(database = %shown(&self.url), "the database connection was lost: connecting again");
        let (client, rt) = connect(&self.url, self.password.as_deref())?;
        if self.read_only {
            rt.block_on(client.batch_execute("SET default_transaction_read_only = on"))?;
        }
        (self.client, self.rt) = (client, rt);
        self.statements.borrow_mut().clear();
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.rt.block_on(schema_version(&self.client))
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .rt
            .block_on(self.client.query_opt("SELECT value FROM state WHERE key = $1", &[&key]))?;
        Ok(row.map(|r| r.get(0)))
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.rt.block_on(self.client.execute(
            "INSERT INTO state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        ))?;
        Ok(())
    }

    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get_state(LAST_DIGEST_KEY)?.as_deref().map(digest_handled))
    }

    pub fn set_last_digest_handled(&mut self, at: Timestamp) -> Result<(), StoreError> {
        self.set_state(LAST_DIGEST_KEY, &at.to_string())
    }
}

/// A client of the database at `url`, with the runtime that drives it on this thread.
fn connect(url: &str, password: Option<&str>) -> Result<(Client, Driver), StoreError> {
    let rt = Driver(Some(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Task(format!("cannot start the database client: {e}")))?,
    ));
    let failed = |cause| StoreError::Connect {
        database: shown(url),
        cause,
    };
    let tls = tls::tls(url).map_err(|e| StoreError::Tls {
        database: shown(url),
        reason: e.to_string(),
    })?;
    let mut config: tokio_postgres::Config = tls.url.parse().map_err(failed)?;
    if let Some(password) = password {
        config.password(password);
    }
    let (client, connection) = rt.block_on(config.connect(tls.connector)).map_err(|cause| {
        let said = super::postgres_message(&cause);
        match said.contains("invalid peer certificate") {
            true => StoreError::Tls {
                database: shown(url),
                reason: format!(
                    "{said}: the server's certificate is not signed by a CA this machine trusts; name the CA \
                     that signed it in the URL (sslrootcert=/path/to/ca.crt)"
                ),
            },
            false => failed(cause),
        }
    })?;
    // The connection makes progress whenever a statement is awaited on this runtime; it ends
    // when the client is dropped.
    rt.spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!("database connection lost: {e}");
        }
    });
    // Every statement planned for its values: a prepared statement's generic plan is made
    // once, from the table as it was then (a few rows at a first poll: a scan of the whole
    // table), and kept as the table grew to thousands (a poll's queueing took 3.7 ms instead
    // of 0.4, measured). Planning each time costs less than that trap.
    rt.block_on(client.batch_execute("SET plan_cache_mode = force_custom_plan"))
        .map_err(failed)?;
    Ok((client, rt))
}

/// The runtime a backend drives tokio-postgres on, on the thread that makes the call (the
/// store's thread, a reader's). Dropped without waiting: a lock's is dropped on an async worker,
/// where waiting for a runtime to end is not allowed.
pub(super) struct Driver(Option<tokio::runtime::Runtime>);

impl Driver {
    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("the runtime lives until the value is dropped")
    }

    pub(super) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime().block_on(future)
    }

    fn spawn<F>(&self, future: F)
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime().spawn(future);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `f` where a runtime of its own may block: on this thread, or, when this thread is
/// tokio's (opening the store on the blocking pool, a lock taken by an async task), on a thread
/// of its own.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
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

async fn schema_version(client: &Client) -> Result<i64, StoreError> {
    let has_history: bool = client
        .query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[])
        .await?
        .get(0);
    if !has_history {
        return Ok(0);
    }
    let version: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history", &[])
        .await?
        .get(0);
    Ok(i64::from(version))
}

#[cfg(test)]
pub(crate) mod tests;
