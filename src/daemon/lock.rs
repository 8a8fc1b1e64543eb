//! One daemon per SQLite file: a lock on a file beside it, held for the daemon's life, that
//! names the process holding it. On a PostgreSQL server several daemons share the database:
//! they lease sources to one another (`poll::lease`), so none is held here.

use super::DaemonError;
use crate::model::Database;

/// Held for the daemon's life: one daemon per file. Two would poll every publisher twice,
/// each with its own per-host limits and Retry-After. A lock the system lets go of when the
/// process ends, however it ends (no stale pid file to remove by hand).
pub(super) enum RunLock {
    // Held, never read.
    File {
        _file: std::fs::File,
    },
    /// A server's database: daemons on it lease sources instead.
    Shared,
}

impl RunLock {
    pub(super) fn take(database: &Database) -> Result<RunLock, DaemonError> {
        match database {
            Database::File(path) => RunLock::take_file(path),
            Database::Server { .. } => Ok(RunLock::Shared),
        }
    }

    /// `newswatch.db` → `newswatch.db.run-lock`, which names the holder (pid, start time).
    fn take_file(database: &std::path::Path) -> Result<RunLock, DaemonError> {
        use std::io::{Read, Seek, Write};
        let mut name = database.as_os_str().to_owned();
        name.push(".run-lock");
        let path = std::path::PathBuf::from(name);
        let failed = |source| DaemonError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(failed)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.take(200).read_to_string(&mut holder);
                let holder = holder.lines().next().unwrap_or_default().trim().to_string();
                return Err(DaemonError::AlreadyRunning {
                    database: database.display().to_string(),
                    holder: if holder.is_empty() {
                        "pid unknown".into()
                    } else {
                        holder
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(failed(e)),
        }
        let holder = format!(
            "pid {}, started {}",
            std::process::id(),
            crate::clock::now()
                .round(jiff::Unit::Second)
                .unwrap_or(crate::clock::now())
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.as_bytes()));
        Ok(RunLock::File { _file: file })
    }
}
