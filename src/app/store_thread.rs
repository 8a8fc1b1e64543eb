//! The store's own thread: every stage's store job runs here, one at a time, and the jobs
//! that are waiting when one batch begins are committed together (see `store/sqlite/batch.rs`).
//!
//! Why a thread rather than a lock and the blocking pool: the jobs waiting are known (the
//! channel's queue), so a batch is exactly those, and the transaction is never left open with
//! nobody to commit it; and a job costs one hand-over instead of a lock's wake-up plus a
//! blocking thread's.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::store::{Store, StoreError};

/// A job, run on the store; what it returns is told its batch's outcome (`Err`: the commit
/// failed, with why) and hands its result to the caller.
type Job = Box<dyn FnOnce(&mut Store) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Jobs committed together at most: a batch holds the database's write lock (other processes
/// wait) and its callers wait for its commit. 64 polls' writes take ~50 ms.
const MAX_BATCH: usize = 64;

pub(super) struct StoreThread {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl StoreThread {
    pub fn start(mut store: Store) -> Result<StoreThread, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("newswatch-store".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    store.begin_batch();
                    let mut replies = vec![first(&mut store)];
                    while replies.len() < MAX_BATCH
                        && let Ok(job) = queue.try_recv()
                    {
                        replies.push(job(&mut store));
                    }
                    let committed = store.end_batch().map_err(|e| e.to_string());
                    if let Err(e) = &committed {
                        tracing::error!("{e}");
                    }
                    for reply in replies {
                        reply(committed.clone());
                    }
                }
                // Every sender is gone: the store closes here (writing out what it holds).
            })
            .map_err(|e| StoreError::Task(format!("cannot start the store thread: {e}")))?;
        Ok(StoreThread {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the store and returns what it returned once its writes are committed. A
    /// panic in `f` is its caller's error; the store stays usable (its savepoint is rolled back
    /// as the panic unwinds).
    pub async fn run<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let (tell, told) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |store| {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(store)));
            Box::new(move |committed| {
                let result = match (result, committed) {
                    (Err(panic), _) => {
                        Err(StoreError::Task(format!("panicked: {}", crate::text::panic_text(&*panic))).into())
                    }
                    (Ok(Ok(_)), Err(e)) => Err(StoreError::Commit(e).into()),
                    (Ok(result), _) => result,
                };
                // The caller may have stopped waiting (a round cancelled); its writes stand.
                let _ = tell.send(result);
            })
        });
        let stopped = || StoreError::Task("the store thread has stopped".into()).into();
        let Some(jobs) = &self.jobs else {
            return Err(stopped());
        };
        if jobs.send(job).is_err() {
            return Err(stopped());
        }
        told.await.unwrap_or_else(|_| Err(stopped()))
    }
}

impl Drop for StoreThread {
    /// Waits for the jobs sent and for the store to close, so its last writes are made.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_sent_together_are_all_kept_and_a_panicking_one_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let thread =
            Arc::new(StoreThread::start(Store::open(&crate::model::Database::File(path.clone())).unwrap()).unwrap());
        let jobs = (0..40).map(|i| {
            let thread = Arc::clone(&thread);
            tokio::spawn(async move {
                thread
                    .run(move |s| {
                        assert!(i != 17, "job 17 breaks");
                        s.set_kind(&format!("S{i}"), "u", "feed", None)
                    })
                    .await
            })
        });
        let results: Vec<Result<(), StoreError>> = futures_util::future::join_all(jobs)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        for (i, result) in results.iter().enumerate() {
            match i {
                17 => assert!(
                    result.as_ref().is_err_and(|e| e.to_string().contains("job 17 breaks")),
                    "{result:?}"
                ),
                _ => assert!(result.is_ok(), "job {i}: {result:?}"),
            }
        }
        // Committed when the callers heard so: another connection sees them.
        let other = Store::open(&crate::model::Database::File(path.clone())).unwrap();
        let kinds = other.source_states().unwrap();
        assert_eq!(kinds.0.len(), 39, "every source but the panicking job's");
    }
}
