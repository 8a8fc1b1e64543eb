//! `[storage] database`: a SQLite file (a path, the default `newswatch.db` beside the config)
//! or a PostgreSQL server (`postgres://user@host/db`), whose password comes from a file or the
//! environment, never from the config file (which `check` prints, and people share).

use std::path::PathBuf;

use crate::model::Database;

pub(super) fn database(
    database: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Database, String> {
    let database = database.unwrap_or_else(|| "newswatch.db".into());
    let password = super::source::secret(
        "storage.password_file or storage.password_env",
        password_file,
        password_env,
        resolve,
        env,
    )?;
    if !(database.starts_with("postgres://") || database.starts_with("postgresql://")) {
        if password.is_some() {
            return Err(
                "storage.password_file and storage.password_env are for a PostgreSQL database \
                        (database = \"postgres://user@host/db\"); a SQLite file has no password"
                    .into(),
            );
        }
        return Ok(Database::File(resolve(PathBuf::from(database))));
    }
    let url = url::Url::parse(&database).map_err(|e| format!("storage.database = {database:?}: {e}"))?;
    if url.password().is_some() {
        return Err(
            "storage.database holds a password: put it in a file named by storage.password_file \
                    (or an environment variable named by storage.password_env), and the URL without it"
                .into(),
        );
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("storage.database = {database:?} names no server"));
    }
    Ok(Database::Server {
        url: url.to_string(),
        password,
    })
}
