//! Group commit: the writes of several store jobs in one transaction.
//!
//! Why: every commit writes the pages it changed to the WAL, and the pages a poll touches are
//! mostly the same few (the tables' and indexes' newest pages, the sources' rows). A first poll
//! of 10,000 small feeds committed 20,000 times, and a third of its CPU was the kernel writing
//! those frames. The thread that runs store jobs (`app.rs`) now starts a batch, runs every job
//! already waiting, and commits once; a job's caller hears of its result only after that
//! commit, so nothing is reported stored that a failed commit took back.
//!
//! What holds inside a batch:
//! - each write that belongs together is a savepoint of the batch's transaction, so a job that
//!   fails (or panics) takes back its own writes and no other job's;
//! - the transaction is begun (`BEGIN IMMEDIATE`) by the first write, so a batch of reads
//!   never takes the write lock, and a batch holds it only while jobs are waiting;
//! - whatever must be on disk before it returns (`durably`), or writes in a transaction of its
//!   own (the clustering index's write-out), commits the batch first;
//! - if a commit fails, the batch is rolled back, what this process held in memory of it is
//!   forgotten (the next transaction reads it back from the database), and every job of the
//!   batch is told.
//!
//! Outside a batch (tests, one-off commands using `Sqlite` directly) each write is its own
//! transaction, as before.

use std::ops::Deref;

use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

use super::{Sqlite, StoreError};

/// One write that belongs together: a transaction of its own, or a savepoint of the batch's.
pub enum Tx<'a> {
    Own(Transaction<'a>),
    InBatch(Savepoint<'a>),
}

impl Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Tx::Own(tx) => tx,
            Tx::InBatch(sp) => sp,
        }
    }
}

impl Tx<'_> {
    /// Keeps the writes: commits them, or (in a batch) leaves them to the batch's commit.
    pub fn commit(self) -> rusqlite::Result<()> {
        match self {
            Tx::Own(tx) => tx.commit(),
            Tx::InBatch(sp) => sp.commit(),
        }
    }
}

/// Where a batch stands.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// Whether writes join a batch (true while the store thread runs jobs).
    open: bool,
    /// A commit made inside the batch (see `flush`) failed: the batch's earlier writes are lost.
    failed: Option<String>,
}

/// Begins a write on `conn`: a savepoint of the batch's transaction (begun now if need be) while
/// `batch` is open, a transaction of its own otherwise. A free function so a caller can hold
/// the window beside it.
pub(super) fn write<'a>(conn: &'a mut Connection, batch: &Batch) -> rusqlite::Result<Tx<'a>> {
    if !batch.open {
        return Ok(Tx::Own(conn.transaction_with_behavior(TransactionBehavior::Immediate)?));
    }
    if conn.is_autocommit() {
        // IMMEDIATE, not a savepoint's deferred begin: a deferred transaction that reads
        // first can find another process's commit in the way of its write, and fail at once
        // instead of waiting (`SQLITE_BUSY_SNAPSHOT`).
        conn.execute_batch("BEGIN IMMEDIATE")?;
    }
    Ok(Tx::InBatch(conn.savepoint()?))
}

impl Sqlite {
    pub fn begin_batch(&mut self) {
        self.batch.open = true;
    }

    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        let result = self.flush();
        self.batch.open = false;
        match (result, self.batch.failed.take()) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(failed)) => Err(StoreError::Commit(failed)),
            (Ok(()), None) => Ok(()),
        }
    }

    /// Commits what the batch has written so far (nothing to do outside a transaction). On
    /// failure the batch is rolled back and marked failed; `Err` says why.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        let Err(e) = self.conn.execute_batch("COMMIT") else {
            return Ok(());
        };
        // A failed COMMIT may leave the transaction open; what it held is gone either way.
        let _ = self.conn.execute_batch("ROLLBACK");
        self.forget_uncommitted();
        let message = e.to_string();
        self.batch.failed = Some(message.clone());
        Err(StoreError::Commit(message))
    }

    /// What this process holds in memory of writes that were rolled back: the clustering
    /// window is read again from the database.
    fn forget_uncommitted(&mut self) {
        self.window.forget();
    }
}

#[cfg(test)]
impl Sqlite {
    /// Makes the batch's commit fail: a reference checked only at commit, to nothing.
    pub fn break_next_commit(&mut self) {
        super::batch::write(&mut self.conn, &self.batch)
            .and_then(|tx| {
                tx.execute_batch("PRAGMA defer_foreign_keys = ON; UPDATE items SET lead = -1")?;
                tx.commit()
            })
            .unwrap();
    }
}
