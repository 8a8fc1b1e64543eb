//! The PostgreSQL backend against a real server: the one `NEWSWATCH_TEST_POSTGRES` names (a
//! URL whose user may create databases; `.ci/run` starts one with `.ci/postgres.sh`). Each test
//! has a database of its own, dropped when it ends. Without the variable the tests say so and
//! pass, except in CI, where a missing server is a failure.

use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::*;
use crate::model::HostHold;
use crate::store::{FailureRecord, FetchRecord};

/// Runs `sql` on the server at `url` (what the backend never does itself: making and dropping
/// databases, looking at its tables); the first column of each row returned.
fn run_sql(url: &str, sql: &str) -> Result<Vec<String>, tokio_postgres::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        let rows = client.simple_query(sql).await?;
        Ok(rows
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect())
    })
}

/// A new, empty database on the test server, dropped with the value.
pub(crate) struct Database {
    pub url: String,
    server: String,
    name: String,
}

impl Database {
    /// `None` (and a note) where no server was given, outside CI.
    pub fn new() -> Option<Database> {
        let Ok(server) = std::env::var("NEWSWATCH_TEST_POSTGRES") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the PostgreSQL tests: set NEWSWATCH_TEST_POSTGRES (.ci/run starts a server with .ci/postgres.sh)"
            );
            eprintln!("NEWSWATCH_TEST_POSTGRES is not set: PostgreSQL not tested (.ci/postgres.sh starts a server)");
            return None;
        };
        let name = format!("newswatch_test_{:016x}", fastrand::u64(..));
        run_sql(&server, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create a database on {}: {e}", shown(&server)));
        let mut url = url::Url::parse(&server).expect("NEWSWATCH_TEST_POSTGRES is a postgres:// URL");
        url.set_path(&name);
        Some(Database {
            url: url.to_string(),
            server,
            name,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = run_sql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

#[test]
fn an_empty_database_is_given_the_schema_once() {
    let Some(db) = Database::new() else { return };
    let store = Postgres::open(&db.url).unwrap();
    assert_eq!(store.schema_version().unwrap(), 1);
    drop(store);
    let again = Postgres::open(&db.url).unwrap();
    assert_eq!(again.schema_version().unwrap(), 1, "a second open migrates nothing");
    let tables = run_sql(
        &db.url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('sources', 'items', 'entries', 'outbox', 'deliveries', 'told', 'state')",
    )
    .unwrap();
    assert_eq!(tables, ["7"]);
}

#[test]
fn a_database_of_a_newer_newswatch_is_refused() {
    let Some(db) = Database::new() else { return };
    drop(Postgres::open(&db.url).unwrap());
    run_sql(
        &db.url,
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'later', '', '0')",
    )
    .unwrap();
    let err = Postgres::open(&db.url).err().expect("refused");
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn state_and_the_last_digest_time_are_kept() {
    let Some(db) = Database::new() else { return };
    let mut store = Postgres::open(&db.url).unwrap();
    assert_eq!(store.last_digest_handled().unwrap(), None);
    let at = Timestamp::from_second(1_800_000_000).unwrap();
    store.set_last_digest_handled(at).unwrap();
    store.set_state("k", "v").unwrap();
    store.set_state("k", "w").unwrap();
    drop(store);
    let store = Postgres::open(&db.url).unwrap();
    assert_eq!(store.last_digest_handled().unwrap(), Some(at));
    assert_eq!(store.get_state("k").unwrap().as_deref(), Some("w"));
}

#[test]
fn a_password_is_never_shown() {
    assert_eq!(
        shown("postgres://nw:secret@db.example:5432/news"),
        "postgres://nw:***@db.example:5432/news"
    );
    assert_eq!(shown("postgres://nw@db.example/news"), "postgres://nw@db.example/news");
    assert_eq!(
        shown("host=db.example password=secret dbname=news"),
        "host=db.example dbname=news"
    );
}

#[test]
fn a_server_that_does_not_answer_is_named_without_its_password() {
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://nw:secret@127.0.0.1:{port}/news?connect_timeout=2");
    let err = Postgres::open(&url).err().expect("no server").to_string();
    assert!(
        err.starts_with("cannot connect to database postgres://nw:***@127.0.0.1:"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

fn feed() -> FetchRecord {
    FetchRecord {
        status: 200,
        etag: Some("\"v1\"".into()),
        body_hash: Some("h1".into()),
        next_poll: Timestamp::from_second(1_800_000_600).unwrap(),
        ..FetchRecord::default()
    }
}

#[test]
fn a_source_s_failures_count_until_it_is_resumed() {
    let Some(db) = Database::new() else { return };
    let mut store = Postgres::open(&db.url).unwrap();
    let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let url = "https://a.example/feed";
    store
        .record_unchanged(&[("A".into(), url.into(), feed())], at(0))
        .unwrap();
    let not_now = FailureRecord {
        error: "HTTP 503".into(),
        status: Some(503),
        next_poll: at(600),
        penalise: false,
        pause: false,
    };
    store.record_failure("A", url, &not_now, at(10)).unwrap();
    let gone = FailureRecord {
        error: "HTTP 410".into(),
        status: Some(410),
        next_poll: at(1200),
        penalise: true,
        pause: true,
    };
    store.record_failure("A", url, &gone, at(20)).unwrap();
    let states = store.source_states().unwrap();
    let a = states.current("A", url).unwrap();
    assert_eq!((a.consecutive_failures, a.paused, a.last_status), (1, true, Some(410)));
    assert_eq!(
        (a.failing_since, a.last_success, a.next_poll),
        (Some(at(20)), Some(at(0)), Some(at(1200)))
    );
    assert_eq!(
        (a.etag.as_deref(), a.body_hash.as_deref()),
        (Some("\"v1\""), Some("h1"))
    );
    assert!(store.resume("A").unwrap());
    assert!(!store.resume("B").unwrap(), "no such source");
    let a = &store.source_states().unwrap().0["A"];
    assert_eq!(
        (a.consecutive_failures, a.paused, a.next_poll, a.failing_since),
        (0, false, None, None)
    );
    // A new URL is a new document: its validators start afresh.
    store
        .set_kind(
            "A",
            "https://a.example/other",
            "page",
            Some("https://a.example/feed.xml"),
        )
        .unwrap();
    let a = &store.source_states().unwrap().0["A"];
    assert_eq!((a.etag.as_deref(), a.kind.as_deref()), (None, Some("page")));
    assert_eq!(a.feed_url.as_deref(), Some("https://a.example/feed.xml"));
}

#[test]
fn a_host_s_hold_lasts_until_its_time() {
    let Some(db) = Database::new() else { return };
    let mut store = Postgres::open(&db.url).unwrap();
    let at = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
    let hold = |until, reason: &str| HostHold {
        until,
        reason: reason.into(),
    };
    store.set_host_hold("a.example", &hold(at(30), "HTTP 429")).unwrap();
    store.set_host_hold("a.example", &hold(at(60), "HTTP 503")).unwrap();
    let held = store.host_holds(at(40)).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].0.as_str(), held[0].1.until, held[0].1.reason.as_str()),
        ("a.example", at(60), "HTTP 503")
    );
    assert!(store.host_holds(at(60)).unwrap().is_empty());
}
