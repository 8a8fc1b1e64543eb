//! The SQLite side of `store/migrate.rs`: an archive read table by table, a chunk of rows at a
//! time (an archive of a million entries does not fit in memory at once).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use crate::store::migrate::Cell;

/// Takes a chunk of rows, each its values in the order of the columns asked for.
pub type Chunks<'a> = dyn FnMut(&[Vec<Cell>]) -> Result<(), StoreError> + 'a;

/// Rows handed on at a time.
const CHUNK: usize = 500;

pub struct Export {
    conn: Connection,
}

impl Export {
    pub fn open(path: &Path) -> Result<Export, StoreError> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Export { conn })
    }

    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.conn
            .prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))
            .and_then(|mut s| s.exists([column]))
            .unwrap_or(false)
    }

    /// Hands `columns` of every row of `table`, in `order`, to `each`, a chunk at a time.
    pub fn each_chunk(
        &self,
        table: &str,
        columns: &[String],
        order: &str,
        each: &mut Chunks<'_>,
    ) -> Result<(), StoreError> {
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM \"{table}\" ORDER BY {order}",
            quoted.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        let mut chunk: Vec<Vec<Cell>> = Vec::with_capacity(CHUNK);
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Int(n),
                    ValueRef::Real(f) => Cell::Real(f),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
                });
            }
            chunk.push(cells);
            if chunk.len() == CHUNK {
                each(&chunk)?;
                chunk.clear();
            }
        }
        if !chunk.is_empty() {
            each(&chunk)?;
        }
        Ok(())
    }
}
