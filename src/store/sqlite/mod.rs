//! The SQLite backend, the embedded default: a file beside the daemon, one writer (the store's
//! thread) and readers beside it. Each call is documented where the stages make it
//! (`store/interface.rs`); the comments here say how SQLite answers it.
//!
//! - `sources.rs`: sources, their fetch state and health; hosts that sent Retry-After.
//! - `items.rs`: stories (items), the entries each is made of, articles of full-text sources.
//! - `clusters.rs`: what the poll stage asks of the clustering window.
//! - `batch.rs`: group commit: the writes of several jobs of the store's thread in one
//!   transaction, each job's in a savepoint of its own.
//! - `checkpoint.rs`: WAL checkpoints on a thread of their own, not in the writer's commits.
//! - `queue.rs`: matched stories waiting for the outbox.
//! - `stories.rs`: stories and their entries read back, for `newswatch stories`.
//! - `outbox.rs`: messages, each to one recipient, written before they are sent, and the
//!   stories each carries.
//! - `archive.rs`: the full-text index behind `newswatch search`; retention.
//! - `followups.rs`: which outlets of a story each recipient was told of; stories mailed before
//!   that other outlets have reported since.
//!
//! The schema lives in `migrations/sqlite/` only and is applied at open. Every change that belongs
//! together is one transaction, so a crash (or SIGKILL) at any point leaves the database
//! consistent.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous = NORMAL`: a commit survives the process
//! being killed, and a power cut may lose the last commits before it. That is right for
//! everything a later poll redoes (items, entries, source health): an entry not stored is
//! simply stored again. It is wrong for the outbox: forgetting a message composed and sent, or
//! that a message went out, means mailing the same stories again, in another message. Those
//! writes go through `Sqlite::durably`, which commits with `synchronous = FULL` (and, the WAL
//! being one file, makes every earlier commit durable with it). This is the only place that
//! chooses.

mod archive;
mod batch;
mod checkpoint;
mod clusters;
mod export;
mod followups;
mod items;
mod lock;
mod outbox;
mod pages;
mod queue;
mod sources;
mod stories;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::columns::{LAST_DIGEST_KEY, digest_handled};
use super::{StoreError, window};
pub use archive::{Found, Pruned};
pub use export::Export;
pub use items::{Ingest, PendingArticle};
pub use lock::SendLock;
pub use outbox::{Attempt, Compose, NewMessage};
pub use pages::{Card, PageQuery};
pub use queue::Unsent;
pub use sources::{FailureRecord, FetchRecord};
pub use stories::StoryFilter;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

pub struct Sqlite {
    conn: Connection,
    /// The database file (its size is the file's, with its WAL).
    path: PathBuf,
    /// The clustering window, in memory (`store/window.rs`).
    window: window::Window,
    /// Copies the WAL into the database file away from the writer (none on a reader).
    _checkpointer: Option<checkpoint::Checkpointer>,
    /// Whether writes join one transaction (see `batch.rs`).
    batch: batch::Batch,
}

/// Statements kept compiled: more than the store has (`prepare_cached` calls), so none is
/// evicted.
const STATEMENT_CACHE: usize = 64;

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // WAL lets a `digest` run by hand read while the daemon writes. NORMAL: see "Durability".
        // A new file gives pages freed by retention back a few at a time (`archive.rs`); an
        // older one needs `newswatch prune --vacuum` once. Set before any table exists.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(open_err)?;
        // Checkpoints are made by `checkpoint.rs`, on a thread of their own. The WAL file is cut
        // back to 64 MB after a checkpoint that left it larger.
        // A savepoint (every write in a batch, see `batch.rs`) copies each page it first changes
        // to a sub-journal, a temporary file by default: 100,000 small writes in a first poll
        // of 500 feeds. In memory they are a few MB at most, held for one job.
        conn.execute_batch("PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY;")
            .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(15)).map_err(open_err)?;
        // rusqlite keeps 16 statements by default; a poll cycles through more than that, and a
        // statement pushed out is compiled again at its next use (5 % of a first poll's CPU).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans that do not depend on the values bound: without this SQLite marks statements
        // whose plan a bound value might change (the clustering look-up's time range) to be
        // compiled again after every use, as rusqlite clears bindings when caching them — 5 %
        // of a first poll's CPU. Our queries are planned by their indexes, never by values.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(open_err)?;
        // Every pending migration and its line in the history in one transaction: one by one,
        // refinery commits a migration and then, apart, its line, and a process killed between
        // the two left a database that every later start tried to migrate again and refused
        // (found by tests/crash.rs: "duplicate column name").
        let runner = embedded::migrations::runner().set_grouped(true);
        // A schema from a newer newswatch is neither migrated down nor half read.
        let known = runner
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0);
        let found = schema_version(&conn).map_err(open_err)?;
        if found > known {
            return Err(StoreError::TooNew {
                database: path.display().to_string(),
                found,
                known,
            });
        }
        runner.run(&mut conn).map_err(|e| StoreError::Migrate {
            database: path.display().to_string(),
            message: e.to_string(),
        })?;
        let checkpointer = checkpoint::Checkpointer::start(path, &mut conn)?;
        Ok(Sqlite {
            conn,
            path: path.to_path_buf(),
            window: window::Window::default(),
            _checkpointer: Some(checkpointer),
            batch: batch::Batch::default(),
        })
    }

    pub fn open_reader(path: &Path) -> Result<Sqlite, StoreError> {
        use rusqlite::OpenFlags;
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(open_err)?;
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")
            .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Sqlite {
            conn,
            path: path.to_path_buf(),
            window: window::Window::default(),
            _checkpointer: None,
            batch: batch::Batch::default(),
        })
    }

    pub fn bytes(&self) -> Result<u64, StoreError> {
        Ok(file_bytes(&self.path))
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(schema_version(&self.conn)?)
    }

    pub fn backup(&mut self, to: &Path) -> Result<(), StoreError> {
        let failed = |reason: String| StoreError::Backup {
            path: to.to_path_buf(),
            reason,
        };
        self.flush()?;
        let mut tmp = to.as_os_str().to_owned();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        // Created empty and owner-only first: SQLite writes into it and keeps its mode.
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        create.open(&tmp).map_err(|e| failed(e.to_string()))?;
        let copied = self
            .conn
            .backup(rusqlite::MAIN_DB, &tmp, None::<fn(rusqlite::backup::Progress)>)
            .map_err(|e| failed(e.to_string()))
            .and_then(|()| check_copy(&tmp).map_err(failed));
        if let Err(e) = copied {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, to).map_err(|e| failed(e.to_string()))?;
        if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(state_value(&self.conn, key)?)
    }

    pub fn set_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        Ok(put_state(&self.conn, key, value)?)
    }

    pub fn last_digest_handled(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get_state(LAST_DIGEST_KEY)?.as_deref().map(digest_handled))
    }

    pub fn set_last_digest_handled(&mut self, at: Timestamp) -> Result<(), StoreError> {
        self.set_state(LAST_DIGEST_KEY, &at.to_string())
    }

    /// Runs `write` as one transaction synced to disk before it returns (`synchronous = FULL`),
    /// which also makes every earlier commit durable. See "Durability" above.
    fn durably<T, E: From<StoreError>>(&mut self, write: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let sql = |e: rusqlite::Error| E::from(StoreError::Sql(e));
        // The batch's writes first: a pragma cannot change inside a transaction, and this
        // commit is to make them durable too.
        self.flush()?;
        // Changing this pragma makes SQLite recompile cached statements, so it is done only
        // around the rare writes that need it, never per poll.
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            let value = write(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(value)
        })();
        self.conn.pragma_update(None, "synchronous", "NORMAL").map_err(sql)?;
        result
    }
}

impl Drop for Sqlite {
    /// A batch still open is committed.
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!("{e}");
        }
    }
}

/// The `state` value of `key`, on any connection or transaction of the store.
fn state_value(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT value FROM state WHERE key = ?1")?
        .query_row(params![key], |r| r.get(0))
        .optional()
}

/// Sets the `state` value of `key`, on any connection or transaction of the store.
fn put_state(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// The size of the database at `path` with its WAL, in bytes.
fn file_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum()
}

fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    let has_history: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |r| r.get(0),
    )?;
    if !has_history {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM refinery_schema_history",
        [],
        |r| r.get(0),
    )
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A backup's copy is whole (`PRAGMA quick_check`) and on disk; the first problem otherwise.
fn check_copy(path: &Path) -> Result<(), String> {
    let conn = Connection::open(path).map_err(|e| e.to_string())?;
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| format!("the copy cannot be read back ({e}): the database may be damaged"))?;
    if verdict != "ok" {
        return Err(format!(
            "the database is damaged ({}); nothing was written. `sqlite3 DB .recover` may save what is left",
            crate::text::one_line(&verdict)
        ));
    }
    drop(conn);
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file migrated up to `version` only, as an older newswatch left it.
    fn database_at(version: i32) -> (tempfile::TempDir, PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("v{version}.db"));
        let mut conn = Connection::open(&path).unwrap();
        embedded::migrations::runner()
            .set_target(refinery::Target::Version(version))
            .run(&mut conn)
            .unwrap();
        (dir, path, conn)
    }

    #[test]
    fn migrations_apply_and_version_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("sub/newswatch.db")).unwrap();
        assert_eq!(store.schema_version().unwrap(), 14);
        drop(store);
        // Reopening applies nothing twice.
        let again = Sqlite::open(&dir.path().join("sub/newswatch.db")).unwrap();
        assert_eq!(again.schema_version().unwrap(), 14);
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        drop(Sqlite::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '', '0')",
            [],
        )
        .unwrap();
        drop(conn);
        let e = Sqlite::open(&path).err().expect("refused").to_string();
        assert!(
            e.contains("newer newswatch") && e.contains("99") && e.contains("up to 14"),
            "{e}"
        );
    }

    #[test]
    fn a_migration_is_kept_only_with_its_line_in_the_history() {
        let (_dir, path, conn) = database_at(13);
        // The history's line of the last migration cannot be written, as if the process died
        // after the migration and before its line.
        conn.execute_batch(
            "CREATE TRIGGER dies BEFORE INSERT ON refinery_schema_history WHEN NEW.version = 14
             BEGIN SELECT RAISE(ABORT, 'killed'); END;",
        )
        .unwrap();
        drop(conn);
        assert!(Sqlite::open(&path).is_err());
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("DROP TRIGGER dies").unwrap();
        drop(conn);
        // The migration went with its line: the next start applies it whole.
        let store = Sqlite::open(&path).expect("migrated at the next start");
        assert_eq!(store.schema_version().unwrap(), 14);
    }

    #[test]
    fn backups_are_whole_databases() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Sqlite::open(&dir.path().join("n.db")).unwrap();
        store.set_state("k", "v").unwrap();
        let copy = dir.path().join("copy.db");
        store.backup(&copy).unwrap();
        let copy = Sqlite::open(&copy).unwrap();
        assert_eq!(copy.get_state("k").unwrap().as_deref(), Some("v"));
        assert_eq!(copy.schema_version().unwrap(), 14);
    }

    #[test]
    fn ingest_commits_normal_and_sent_marks_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Sqlite::open(&dir.path().join("n.db")).unwrap();
        let sync = |s: &Sqlite| -> i64 { s.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap() };
        assert_eq!(sync(&store), 1, "NORMAL after open");
        let seen = store
            .durably(|conn| Ok::<_, StoreError>(conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?))
            .unwrap();
        assert_eq!(seen, 2, "FULL inside a durable write");
        assert_eq!(sync(&store), 1, "NORMAL again after it");
    }

    #[test]
    fn stories_of_a_version_6_database_keep_their_entries() {
        let (_dir, path, conn) = database_at(6);
        conn.execute_batch(
            "INSERT INTO sources (id, name, url) VALUES (1, 'A', 'u'), (2, 'B', 'v');
             INSERT INTO items (id, title, link, dedup_key, body, first_seen, state)
                 VALUES (7, 'One', 'https://a.org/1', 'a.org/1', 'text', 100, 'sent');
             INSERT INTO sightings (source_id, guid, item_id, link, title, first_seen)
                 VALUES (1, 'g1', 7, 'https://a.org/1', 'One', 100), (2, 'g2', 7, 'https://www.a.org/1', 'One!', 160);
             INSERT INTO outbox (id, kind, recipient, message_id, subject, message, stories, created_at, state, next_attempt)
                 VALUES (3, 'digest', 'r@x.org', '<m1@x.org>', 's', x'00', 1, 130, 'sent', 130);
             INSERT INTO deliveries (recipient, item_id, outbox_id) VALUES ('r@x.org', 7, 3);",
        )
        .unwrap();
        drop(conn);
        let store = Sqlite::open(&path).unwrap();
        let rows: Vec<(i64, String, i64, Option<String>, i64)> = store
            .conn
            .prepare("SELECT source_id, guid, item_id, link_key, at FROM entries ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (1, "g1".to_string(), 7, Some("a.org/1".to_string()), 100),
                (2, "g2".to_string(), 7, Some("a.org/1".to_string()), 160)
            ]
        );
        let state: String = store
            .conn
            .query_row("SELECT state FROM items WHERE id = 7", [], |r| r.get(0))
            .unwrap();
        assert_eq!(state, "sent", "a sent story stays sent");
        // The digest mailed at 130 told of A; B reported it later and is news to its reader.
        let history = store.history("r@x.org", ts(0)).unwrap();
        assert_eq!(history.last_digest, Some(ts(130)));
        let follow = history.follow_ups;
        assert_eq!(follow.len(), 1);
        let outlets: Vec<&str> = follow[0].outlets.iter().map(|o| o.source.as_str()).collect();
        assert_eq!((outlets, follow[0].first_message.as_str()), (vec!["B"], "<m1@x.org>"));
    }

    #[test]
    fn why_entries_joined_survives_the_upgrade_that_adds_clear_leads() {
        let (_dir, path, conn) = database_at(8);
        conn.execute_batch(
            "INSERT INTO sources (id, name, url) VALUES (1, 'A', 'u'), (2, 'B', 'v');
             INSERT INTO items (id, title, body, first_seen, state) VALUES (7, 'One', '', 100, 'stored');
             INSERT INTO entries (id, source_id, guid, item_id, title, first_seen, at)
                 VALUES (1, 1, 'g1', 7, 'One', 100, 100), (2, 2, 'g2', 7, 'One!', 160, 160);
             INSERT INTO joins (entry, to_entry, rule, score, shared) VALUES (2, 1, 'rewrite', 0.5, 'one');",
        )
        .unwrap();
        drop(conn);
        let store = Sqlite::open(&path).unwrap();
        let kept: (i64, String, f64, Option<f64>, String) = store
            .conn
            .query_row(
                "SELECT to_entry, rule, score, next, shared FROM joins WHERE entry = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(kept, (1, "rewrite".into(), 0.5, None, "one".into()));
        store
            .conn
            .execute("UPDATE joins SET rule = 'clear', next = 0.1 WHERE entry = 2", [])
            .expect("the new rule is allowed");
    }
}
