//! A database of its own on the PostgreSQL server `NEWSWATCH_TEST_POSTGRES` names (`.ci/run`
//! starts one with `.ci/postgres.sh`), for the tests that run newswatch on PostgreSQL.

use tokio_postgres::NoTls;

/// A new, empty database on the test server, dropped with the value.
pub struct Database {
    pub url: String,
    server: String,
    name: String,
}

impl Database {
    /// `None`, with a note, when no server is named (a failure in CI).
    pub async fn new() -> Option<Database> {
        let Ok(server) = std::env::var("NEWSWATCH_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the PostgreSQL tests: set NEWSWATCH_TEST_POSTGRES (.ci/run starts a server with .ci/postgres.sh)"
            );
            eprintln!("NEWSWATCH_TEST_POSTGRES is not set: PostgreSQL not tested (.ci/postgres.sh starts a server)");
            return None;
        };
        let name = format!("newswatch_e2e_{:016x}", fastrand::u64(..));
        sql(&server, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&name);
        Some(Database {
            url: url.to_string(),
            server,
            name,
        })
    }
}

impl Database {
    /// The database's name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL (its `postgres` database), for statements about this one.
    pub fn server(&self) -> &str {
        &self.server
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Its own thread and runtime: a test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(sql(&server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        })
        .join();
    }
}

/// Runs `statement` on the database at `url`.
pub async fn sql(url: &str, statement: &str) {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    client.batch_execute(statement).await.unwrap();
    drop(client);
    let _ = task.await;
}

/// The one number `query` (e.g. a `count(*)`) answers on the database at `url`.
pub async fn number(url: &str, query: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    let task = tokio::spawn(connection);
    let n: i64 = client.query_one(query, &[]).await.unwrap().get(0);
    drop(client);
    let _ = task.await;
    n
}
