//! Read-only connections beside the store's thread, for the pages (`web`): a page's query
//! never waits in the writer's queue, and a slow one (a search over a large archive) never
//! holds up a poll's commit. WAL gives each read the last committed state.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::store::{Store, StoreError};

/// Reads at once at most; more wait for a connection. Each holds a connection and its cache.
const READERS: usize = 4;

pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
    permits: tokio::sync::Semaphore,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        }
    }

    /// Runs `f` on a reader connection on the blocking pool (opened on first use, then kept).
    pub async fn run<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let this = std::sync::Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = this.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let store = match idle {
                Some(store) => store,
                None => Store::open_reader(&this.path)?,
            };
            // A panic in `f` drops the connection with it: the next read opens a new one.
            let out = f(&store);
            this.idle.lock().unwrap_or_else(|p| p.into_inner()).push(store);
            out
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}
