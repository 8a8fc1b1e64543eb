//! What every stage shares, built once from the config: the config itself, the store, the HTTP
//! fetcher, the compiled topics and the mail transport.
//!
//! It knows no stage: `poll`, `deliver` and `health` take an `&App`; it never calls them. Only
//! those stages touch the store; commands and the daemon go through them.

mod readers;
mod store_thread;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, TransportKind};
use crate::fetch::{self, Fetcher};
use crate::mail::{self, Mailer};
use crate::matcher::{self, Matcher};
use crate::model::Database;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Matcher(#[from] matcher::MatcherError),
    #[error(transparent)]
    Client(#[from] fetch::ClientError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
}

/// A folder newswatch must write to, and cannot.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path} cannot be written by this user: {reason}")]
pub struct NotWritable {
    pub what: &'static str,
    pub path: PathBuf,
    pub reason: String,
}

/// Checks, before anything runs, that the database's folder (and the database, if it exists)
/// and the file transport's folder can be written: a service whose digests land on a read-only
/// folder must not start as if all were well. Leaves nothing behind.
pub fn preflight(config: &Config) -> Result<(), NotWritable> {
    // A server's database is the server's to keep.
    if let Database::File(db) = &config.storage.database {
        preflight_file(db)?;
    }
    if config.email.transport == TransportKind::File {
        writable_folder("email.dir", &config.email.dir)?;
    }
    Ok(())
}

/// The database file's folder can be written, and the file too if it exists.
fn preflight_file(db: &Path) -> Result<(), NotWritable> {
    writable_folder("the database folder", db.parent().unwrap_or(Path::new(".")))?;
    if db.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(db)
            .map_err(|e| NotWritable {
                what: "the database",
                path: db.to_path_buf(),
                reason: e.to_string(),
            })?;
    }
    Ok(())
}

/// Whether files can be made in `dir`, or, if it does not exist yet, in the nearest folder
/// above it (newswatch creates the rest).
fn writable_folder(what: &'static str, dir: &Path) -> Result<(), NotWritable> {
    let fail = |path: &Path, reason: String| NotWritable {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let mut existing = dir;
    while !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    if !existing.is_dir() {
        return Err(fail(dir, format!("{} is not a folder", existing.display())));
    }
    let probe = existing.join(format!(".newswatch-write-test-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| fail(dir, e.to_string()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

pub struct App {
    pub config: Config,
    /// The store, on a thread of its own: a source waiting for it holds no thread.
    store: Arc<store_thread::StoreThread>,
    /// Read-only connections beside it, for the pages.
    readers: Arc<readers::Readers>,
    /// One permit per core for CPU-bound work (parsing, matching, hashing): more at once only
    /// holds more documents in memory, it does not finish sooner.
    cpu: Arc<tokio::sync::Semaphore>,
    pub(crate) fetcher: Fetcher,
    pub(crate) matcher: Arc<Matcher>,
    pub(crate) mailer: Arc<Mailer>,
    /// What the daemon counts for `/metrics`; kept across reloads.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl App {
    /// Opens the database (migrating it, on the blocking pool) and builds the rest.
    pub async fn open(config: Config) -> Result<App, SetupError> {
        let database = config.storage.database.clone();
        let readers = Arc::new(readers::Readers::new(database.clone()));
        let store = tokio::task::spawn_blocking(move || Store::open(&database))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let matcher = Matcher::new(&config.topics)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let mailer = Mailer::new(&config.email)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(App {
            config,
            store: Arc::new(store_thread::StoreThread::start(store)?),
            readers,
            cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
            matcher: Arc::new(matcher),
            fetcher,
            mailer: Arc::new(mailer),
            metrics: Arc::default(),
        })
    }

    /// The same store (and CPU bound) with a new config: new topics, fetch and mail settings.
    /// `storage.database` is not changed; the caller keeps the old one.
    pub fn reconfigure(&self, config: Config) -> Result<App, SetupError> {
        Ok(App {
            matcher: Arc::new(Matcher::new(&config.topics)?),
            fetcher: Fetcher::new(&config.fetch)?,
            mailer: Arc::new(Mailer::new(&config.email)?),
            store: Arc::clone(&self.store),
            readers: Arc::clone(&self.readers),
            cpu: Arc::clone(&self.cpu),
            metrics: Arc::clone(&self.metrics),
            config,
        })
    }

    /// Runs `f` on the store's thread (SQLite calls must not stall the async workers), and
    /// returns once what it wrote is committed: with the other jobs waiting at the time, in one
    /// transaction (see `store_thread.rs`). For the stages only (see the module comment).
    pub(crate) async fn store<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.store.run(f).await
    }

    /// Runs `f` on a read-only connection, beside the store's thread, never in its queue: for
    /// what people read while the daemon writes (the pages). It sees the last commit.
    pub(crate) async fn read<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.readers.run(f).await
    }

    /// Runs CPU-bound `work` on the blocking pool, at most one job per core at a time. `Err`
    /// carries the message of a panic in `work`.
    pub(crate) async fn compute<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let _permit = self.cpu.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(work).await.map_err(|e| e.to_string())
    }
}
