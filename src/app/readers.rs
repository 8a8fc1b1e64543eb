//! Read-only connections beside the store's thread, for what people read while the daemon
//! works (the pages, `status`, `search`): a read never waits in the writer's queue, and a slow
//! one (a search over a large archive) never holds up a poll's commit. WAL gives each read the
//! last committed state.
//!
//! The readers are threads of their own, each with its connection, at a lower CPU priority
//! than the rest of the process (Linux `nice` 10): on a busy machine, a page waits for the
//! poll, not the poll for the page.

use crate::model::Database;
use std::sync::{Arc, Mutex, mpsc};

use crate::store::{Store, StoreError};

/// Reader threads (and connections): reads at once at most; more wait in the queue.
const READERS: usize = 4;
/// How much lower than the process the readers run (`nice` steps).
const NICENESS: i32 = 10;

/// A read, given the reader's connection or why it could not be opened.
type Job = Box<dyn FnOnce(Result<&Store, &StoreError>) + Send>;

pub(super) struct Readers {
    database: Database,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Readers {
    pub fn new(database: Database) -> Readers {
        Readers {
            database,
            jobs: Mutex::new(None),
        }
    }

    /// The job queue, with the reader threads started on first use.
    fn queue(&self) -> Result<mpsc::Sender<Job>, StoreError> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(jobs) = jobs.as_ref() {
            return Ok(jobs.clone());
        }
        let (send, receive) = mpsc::channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        for n in 0..READERS {
            let (database, receive) = (self.database.clone(), Arc::clone(&receive));
            std::thread::Builder::new()
                .name(format!("newswatch-read-{n}"))
                .spawn(move || reader(&database, &receive))
                .map_err(|e| StoreError::Task(format!("cannot start a reader thread: {e}")))?;
        }
        *jobs = Some(send.clone());
        Ok(send)
    }

    /// Runs `f` on a reader's connection and returns what it returned.
    pub async fn run<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = reply.send(match store {
                Ok(store) => f(store),
                Err(e) => Err(StoreError::Task(e.to_string()).into()),
            });
        });
        self.queue()?
            .send(job)
            .map_err(|_| StoreError::Task("the reader threads are gone".into()))?;
        // Dropped without an answer: `f` panicked (the reader opens a new connection).
        answer
            .await
            .map_err(|_| StoreError::Task("a read failed (a panic on a reader thread)".into()))?
    }
}

/// One reader thread: takes jobs until every sender is gone. Its connection is opened at the
/// first job (which is told why, if it cannot be), and again after a job panicked.
fn reader(database: &Database, jobs: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut store: Option<Store> = None;
    loop {
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A connection the server dropped (a restart) is opened again.
        if store.as_ref().is_some_and(Store::is_broken) {
            store = None;
        }
        if store.is_none() {
            match Store::open_reader(database) {
                Ok(s) => store = Some(s),
                Err(e) => {
                    job(Err(&e));
                    continue;
                }
            }
        }
        let Some(s) = store.as_ref() else { continue };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(s)))).is_err() {
            store = None;
        }
    }
}

/// This thread at `NICENESS` (Linux: priority is per thread); elsewhere, as it is.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on this thread's id changes nothing but its scheduling priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICENESS);
    }
}
