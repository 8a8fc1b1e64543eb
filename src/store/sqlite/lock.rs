//! The right to send, for SQLite: a lock on a file beside the database, which the operating
//! system releases when the process dies, however it dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::StoreError;

pub struct SendLock {
    _file: File,
}

impl SendLock {
    /// `newswatch.db` → `newswatch.db.send-lock`.
    fn path(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".send-lock");
        PathBuf::from(name)
    }

    pub fn try_take(database: &Path) -> Result<Option<SendLock>, StoreError> {
        let path = SendLock::path(database);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Task(format!("cannot open the send lock {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(SendLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(StoreError::Task(format!("cannot lock {}: {e}", path.display()))),
        }
    }
}
