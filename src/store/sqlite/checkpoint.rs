//! WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs inside the
//! commit that crosses the limit, so the writer (a poll's store, which every poll waits for)
//! stopped to copy ~40 MB into the database file and sync it: 4 % of a first poll's CPU on an
//! empty database, 12 % with a large archive, where the pages are scattered over the file.
//! Here the commit only notes the WAL's size; a second connection copies the pages while the
//! writer goes on, as WAL mode allows (a passive checkpoint never blocks a writer).

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Pages in the WAL (4 KB each) that start a checkpoint: ~40 MB. Each checkpoint rewrites the
/// pages a poll touched, scattered over the file as it grows; measured with
/// benches/cluster_insert.rs, per-entry cost at 400,000 stored 134 µs → 73 µs against SQLite's
/// default of 1,000. The WAL file is cut back to 64 MB after a checkpoint that left it larger.
const CHECKPOINT_PAGES: i32 = 10_000;

enum Ask {
    Checkpoint,
    Stop,
}

/// Pages in the WAL at which the writer checkpoints itself. A passive checkpoint copies what
/// was committed when it began; the WAL is only started again from its beginning when a
/// commit finds it all copied, which a writer committing every few milliseconds may never
/// let happen: measured on a first poll into an archive of 1,000,000 entries, the WAL then grew
/// past 64 MB again and again, and extending the file cost more than the checkpoints saved.
const WRITER_CHECKPOINTS: i32 = 2 * CHECKPOINT_PAGES;

pub(super) struct Checkpointer {
    ask: mpsc::SyncSender<Ask>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database at `path` and has `writer`'s commits ask
    /// it for a checkpoint once the WAL holds `CHECKPOINT_PAGES`.
    pub fn start(path: &Path, writer: &mut Connection) -> Result<Checkpointer, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(15)).map_err(open_err)?;
        // One request waiting is enough: a checkpoint copies everything there is.
        let (ask, asked) = mpsc::sync_channel::<Ask>(1);
        let thread = std::thread::Builder::new()
            .name("newswatch-checkpoint".into())
            .spawn(move || {
                while let Ok(Ask::Checkpoint) = asked.recv() {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!("database checkpoint failed (the next one will try again): {e}");
                    }
                }
            })
            .map_err(|e| StoreError::Task(format!("cannot start the checkpoint thread: {e}")))?;
        let hook = ask.clone();
        // Replaces SQLite's automatic checkpoint.
        writer
            .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
                if pages >= WRITER_CHECKPOINTS {
                    // The thread never caught up between two commits, so the WAL was never
                    // started again from its beginning and grew: the writer copies it all
                    // itself, as SQLite would, so that the next commit starts it again.
                    //
                    // An error here would fail the statement whose commit already happened;
                    // SQLite's own checkpoint ignores it too (busy: the thread is copying).
                    let _ = wal.checkpoint();
                    return Ok(());
                }
                if pages >= CHECKPOINT_PAGES {
                    let _ = hook.try_send(Ask::Checkpoint);
                }
                Ok(())
            }))
            .map_err(open_err)?;
        Ok(Checkpointer {
            ask,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Waits for a checkpoint under way; the last connection to close checkpoints the rest.
        let _ = self.ask.send(Ask::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Sqlite;

    #[test]
    fn the_wal_is_copied_into_the_database_by_the_thread_not_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let mut store = Sqlite::open(&path).unwrap();
        let size = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
        // 48 MB in commits of 4 MB: past the thread's limit (40), short of the writer's (80).
        // Each value new: SQLite does not write again what it already holds.
        let value = |i: usize| format!("{i:02}").repeat(2 << 20);
        for i in 0..12 {
            store.set_state(&format!("k{}", i % 3), &value(i)).unwrap();
        }
        // The writer copies nothing below 80 MB: the thread does, at once or while it waits
        // (the database then holds the three values, 12 MB).
        let copied = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            size("n.db") > 8 << 20
        });
        assert!(copied, "database file {} MB", size("n.db") >> 20);
        drop(store);
        let again = Sqlite::open(&path).unwrap();
        assert_eq!(again.get_state("k0").unwrap(), Some(value(9)));
    }

    #[test]
    fn a_checkpoint_the_writer_cannot_make_never_fails_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let mut store = Sqlite::open(&path).unwrap();
        store.set_state("k", "v").unwrap();
        // A reader holding an old snapshot keeps the WAL from starting again, so that it grows
        // past the writer's limit; another process checkpointing all the while makes the
        // writer's own checkpoint busy.
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: String = reader.query_row("SELECT value FROM state", [], |r| r.get(0)).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let (path, stop) = (path.clone(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                let conn = rusqlite::Connection::open(&path).unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
        };
        let value = |i: usize| format!("{i:02}").repeat(2 << 20);
        let result: Result<(), _> = (0..30).try_for_each(|i| store.set_state(&format!("k{}", i % 3), &value(i)));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        other.join().unwrap();
        result.expect("every commit succeeds");
    }
}
