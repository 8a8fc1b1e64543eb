//! What every stage shares, built once from the config: the config itself, the store, the HTTP
//! fetcher, the compiled topics and the mail transport.
//!
//! It knows no stage: `poll`, `deliver` and `health` take an `&App`; it never calls them. Only
//! those stages touch the store; commands and the daemon go through them.

use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::fetch::{self, Fetcher};
use crate::mail::{self, Mailer};
use crate::matcher::{self, Matcher};
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

pub struct App {
    pub config: Config,
    store: Arc<Mutex<Store>>,
    pub(crate) fetcher: Fetcher,
    pub(crate) matcher: Arc<Matcher>,
    pub(crate) mailer: Mailer,
}

impl App {
    /// Opens the database (migrating it, on the blocking pool) and builds the rest.
    pub async fn open(config: Config) -> Result<App, SetupError> {
        let path = config.storage.database.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        let matcher = Matcher::new(&config.topics)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let mailer = Mailer::new(&config.email)?;
        Ok(App {
            config,
            store: Arc::new(Mutex::new(store)),
            matcher: Arc::new(matcher),
            fetcher,
            mailer,
        })
    }

    /// Runs `f` on the store on a blocking thread: SQLite calls must not stall the async workers.
    /// For the stages only (see the module comment).
    pub(crate) async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock left no transaction open (rusqlite rolls back on
            // drop), so the store is still usable.
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string())))
    }
}
