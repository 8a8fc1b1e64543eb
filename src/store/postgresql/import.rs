//! The PostgreSQL side of `store/migrate.rs`: rows written in one transaction into a database
//! that holds no archive yet, each value in the type of its column here.

use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::{Driver, Postgres, StoreError};
use crate::store::migrate::Cell;

/// A column of a table here: its name and PostgreSQL type.
pub struct Column {
    pub name: String,
    pub kind: String,
}

/// The import's transaction.
pub struct Import<'a> {
    tx: Transaction<'a>,
    rt: &'a Driver,
    /// Each story's lead entry, set once the entries are in (stories come first).
    leads: std::cell::RefCell<(Vec<i64>, Vec<i64>)>,
}

impl Postgres {
    /// Runs `copy` in one transaction on an empty database, then fixes what rows written with
    /// their ids leave behind: the stories' leads, the id counters, the search index's mark.
    pub fn import<T>(&mut self, copy: impl FnOnce(&Import<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let rt = &self.rt;
        let tx = rt.block_on(self.client.transaction())?;
        let held: bool = rt
            .block_on(tx.query_one(
                "SELECT EXISTS (SELECT 1 FROM sources) OR EXISTS (SELECT 1 FROM items)
                     OR EXISTS (SELECT 1 FROM outbox) OR EXISTS (SELECT 1 FROM state)",
                &[],
            ))?
            .get(0);
        if held {
            return Err(StoreError::Task(
                "the PostgreSQL database already holds an archive: migrate-to copies into an empty one only".into(),
            ));
        }
        let import = Import {
            tx,
            rt,
            leads: Default::default(),
        };
        let value = copy(&import)?;
        let Import { tx, leads, .. } = import;
        let (stories, leads) = leads.into_inner();
        rt.block_on(async {
            tx.execute(
                "UPDATE items SET lead = v.lead FROM unnest($1::BIGINT[], $2::BIGINT[]) AS v(id, lead)
                 WHERE items.id = v.id",
                &[&stories, &leads],
            )
            .await?;
            for table in ["sources", "items", "entries", "outbox"] {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(COALESCE(MAX(id), 0), 1),
                                       MAX(id) IS NOT NULL) FROM {table}"
                    ),
                    &[],
                )
                .await?;
            }
            // Indexed for search from the first story on, by the server's own catch-up.
            tx.execute(
                "INSERT INTO state (key, value) VALUES ('search_upto', '0')
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[],
            )
            .await?;
            tx.commit().await
        })?;
        Ok(value)
    }
}

impl Import<'_> {
    /// The columns of `table` here, each with its type (those the archive has too are copied;
    /// a column only this backend has, such as `matches.seq`, fills itself).
    pub fn columns(&self, table: &str) -> Result<Vec<Column>, StoreError> {
        let rows = self.rt.block_on(self.tx.query(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        ))?;
        Ok(rows
            .iter()
            .map(|r| Column {
                name: r.get(0),
                kind: r.get(1),
            })
            .collect())
    }

    /// Writes `rows` of `columns` into `table`: a story's lead once its entries are there.
    pub fn insert(&self, table: &str, columns: &[Column], rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let lead = columns.iter().position(|c| table == "items" && c.name == "lead");
        let id = columns.iter().position(|c| c.name == "id");
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(rows.len() * columns.len());
        let mut tuples = Vec::with_capacity(rows.len());
        for row in rows {
            let mut places = Vec::with_capacity(columns.len());
            for (i, cell) in row.iter().enumerate() {
                // Written after the entries it names (`leads`).
                let cell = if Some(i) == lead { &Cell::Null } else { cell };
                params.push(value(cell, &columns[i].kind)?);
                places.push(format!("${}", params.len()));
            }
            tuples.push(format!("({})", places.join(", ")));
        }
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            quoted.join(", "),
            tuples.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        self.rt.block_on(self.tx.execute(&sql, &refs))?;
        if let (Some(lead), Some(id)) = (lead, id) {
            let mut leads = self.leads.borrow_mut();
            for row in rows {
                if let (Cell::Int(story), Cell::Int(entry)) = (&row[id], &row[lead]) {
                    leads.0.push(*story);
                    leads.1.push(*entry);
                }
            }
        }
        Ok(())
    }
}

/// `cell` as a value of a column of PostgreSQL type `kind`.
fn value(cell: &Cell, kind: &str) -> Result<Box<dyn ToSql + Sync>, StoreError> {
    let wrong = || StoreError::Task(format!("cannot copy {cell:?} into a column of type {kind}"));
    Ok(match (kind, cell) {
        ("bigint", Cell::Int(n)) => Box::new(Some(*n)),
        ("bigint", Cell::Null) => Box::new(None::<i64>),
        ("integer", Cell::Int(n)) => Box::new(Some(i32::try_from(*n).map_err(|_| wrong())?)),
        ("integer", Cell::Null) => Box::new(None::<i32>),
        ("boolean", Cell::Int(n)) => Box::new(Some(*n != 0)),
        ("boolean", Cell::Null) => Box::new(None::<bool>),
        ("double precision", Cell::Real(f)) => Box::new(Some(*f)),
        ("double precision", Cell::Int(n)) => Box::new(Some(*n as f64)),
        ("double precision", Cell::Null) => Box::new(None::<f64>),
        ("text", Cell::Text(s)) => Box::new(Some(s.clone())),
        ("text", Cell::Null) => Box::new(None::<String>),
        ("bytea", Cell::Blob(b)) => Box::new(Some(b.clone())),
        ("bytea", Cell::Null) => Box::new(None::<Vec<u8>>),
        _ => return Err(wrong()),
    })
}
