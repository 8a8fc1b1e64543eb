//! The PostgreSQL backend against a real server: the one `NEWSWATCH_TEST_POSTGRES` names (a
//! URL whose user may create databases; `.ci/run` starts one with `.ci/postgres.sh`). Each test
//! has a database of its own, dropped when it ends. Without the variable the tests say so and
//! pass, except in CI, where a missing server is a failure.

use tokio_postgres::{NoTls, SimpleQueryMessage};

use super::*;
use crate::cluster::Features;
use crate::model::{Entry, IngestCounts, Joined};
use crate::store::FetchRecord;
use crate::store::contract::{entry, matched};

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
    let store = Postgres::open(&db.url, None).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    drop(store);
    let again = Postgres::open(&db.url, None).unwrap();
    assert_eq!(again.schema_version().unwrap(), 4, "a second open migrates nothing");
    let tables = run_sql(
        &db.url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('sources', 'items', 'entries', 'outbox', 'deliveries', 'told', 'state')",
    )
    .unwrap();
    assert_eq!(tables, ["7"]);
}

#[test]
fn daemons_starting_at_once_on_a_new_database_migrate_it_once() {
    let Some(db) = Database::new() else { return };
    // Four at once: without the migration lock, all but one fail on the tables the first made.
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || Postgres::open(&url, None).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for open in opened {
        assert_eq!(open.join().unwrap().unwrap(), 4);
    }
}

#[test]
fn a_database_of_a_newer_newswatch_is_refused() {
    let Some(db) = Database::new() else { return };
    drop(Postgres::open(&db.url, None).unwrap());
    run_sql(
        &db.url,
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'later', '', '0')",
    )
    .unwrap();
    let err = Postgres::open(&db.url, None).err().expect("refused");
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: 4,
                ..
            }
        ),
        "{err}"
    );
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
    let err = Postgres::open(&url, None).err().expect("no server").to_string();
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

/// Stores each of `guids` from `source` as a story of its own, as one poll does, with `features`
/// for each entry; their story ids.
fn poll(s: &mut Postgres, source: &str, guids: &[&str], now: Timestamp, features: &Features) -> Vec<i64> {
    let mut ids = Vec::new();
    s.ingest(source, &format!("https://{source}.example/feed"), &feed(), now, |tx| {
        for guid in guids {
            let e = entry(guid);
            let article = Err("HTTP 500".to_string());
            let (id, _) = tx.new_story(&e, Some(&article), (e.link.as_deref(), now), features)?;
            ids.push(id);
        }
        Ok(IngestCounts {
            new: guids.len(),
            ..IngestCounts::default()
        })
    })
    .unwrap();
    ids
}

#[test]
fn a_new_process_reads_the_window_back_as_the_one_that_stored_it() {
    let Some(db) = Database::new() else { return };
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let features = crate::cluster::Draft::of(
        "Japan sends officers to NATO",
        "Japan will post two officers at the NATO command in Wiesbaden that coordinates aid to Ukraine.",
    )
    .weigh(1, |_| 1);
    let mut first = Postgres::open(&db.url, None).unwrap();
    poll(&mut first, "A", &["1", "2"], now, &features);
    let held = first.window.index.len();
    assert_eq!(held, 2, "held as stored");
    let mut second = Postgres::open(&db.url, None).unwrap();
    second
        .ingest("B", "https://B.example/feed", &feed(), now, |tx| {
            let found = tx.neighbours(
                &features,
                now - jiff::SignedDuration::from_hours(1),
                now + jiff::SignedDuration::from_hours(1),
            );
            assert_eq!(found.len(), 2, "read back from the database, and found");
            assert_eq!(found[0].member.features.slots, features.slots);
            Ok(IngestCounts::default())
        })
        .unwrap();
    assert_eq!(second.window.index.len(), 2);
}

#[test]
fn a_later_report_can_lead_its_story_and_says_why_it_joined() {
    let Some(db) = Database::new() else { return };
    let mut s = Postgres::open(&db.url, None).unwrap();
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let (title, body) = (
        "Japan sends officers to NATO",
        "Two officers will serve at the Wiesbaden command.",
    );
    let first = crate::cluster::Draft::of(title, body).weigh(1, |_| 1);
    let ids = poll(&mut s, "A", &["1"], now, &first);
    let story = ids[0];
    s.ingest("A", "https://A.example/feed", &feed(), now, |tx| {
        tx.queue(story, &matched()).map(|_| IngestCounts::default())
    })
    .unwrap();
    s.ingest("B", "https://B.example/feed", &feed(), now, |tx| {
        assert_eq!(tx.counted(), 1, "the window counts the entry stored");
        assert_eq!(tx.df(crate::cluster::term_id("wiesbaden")), 1);
        let features = tx.features(crate::cluster::Prepared::of(title, body, true))?;
        assert!(!features.slots.is_empty());
        let later = Entry {
            guid: "b1".into(),
            title: "Tokyo posts officers at NATO hub".into(),
            ..entry("b1")
        };
        let entry_id = tx.add_entry(story, &later, None, now, &features)?;
        tx.make_lead(story, (entry_id, &later), Some(&matched()))?;
        let why = Joined {
            rule: crate::model::JoinRule::Event,
            with: Some(1),
            score: Some(0.95),
            next: Some(0.1),
            pair: Some(0.9),
            weighed: Some(1),
            shared: vec!["nato".into(), "offic".into()],
        };
        tx.record_join(entry_id, &why)?;
        tx.record_join(entry_id, &why)?;
        let mut other = matched();
        other.hits[0].topic = "U".into();
        tx.add_topics(story, &other)?;
        tx.add_topics(story, &matched())?;
        Ok(IngestCounts::default())
    })
    .unwrap();
    let one = |sql: &str| run_sql(&db.url, sql).unwrap().join(",");
    assert_eq!(
        one("SELECT title FROM items"),
        "Tokyo posts officers at NATO hub",
        "the new lead shows the story"
    );
    assert_eq!(one("SELECT rule || ' ' || shared FROM joins"), "event nato\noffic");
    assert_eq!(one("SELECT topic FROM matches ORDER BY topic"), "T,U");
    assert_eq!(one("SELECT title_marks FROM items"), "0-5");
}

#[test]
fn a_reader_reads_and_never_writes_and_a_backup_names_pg_dump() {
    let Some(db) = Database::new() else { return };
    let mut writer = Postgres::open(&db.url, None).unwrap();
    writer.set_state("k", "v").unwrap();
    let mut reader = Postgres::open_reader(&db.url, None).unwrap();
    assert_eq!(reader.get_state("k").unwrap().as_deref(), Some("v"));
    let refused = reader.set_state("k", "w").expect_err("read-only").to_string();
    assert!(refused.contains("read-only"), "{refused}");
    let err = writer
        .backup(std::path::Path::new("/tmp/newswatch.db"))
        .expect_err("no file copy")
        .to_string();
    assert!(err.contains("pg_dump"), "{err}");
}

#[test]
fn a_connection_the_server_drops_is_made_again() {
    let Some(db) = Database::new() else { return };
    let mut store = Postgres::open(&db.url, None).unwrap();
    let mut reader = Postgres::open_reader(&db.url, None).unwrap();
    store.set_state("k", "v").unwrap();
    assert!(!store.is_broken() && !reader.is_broken());
    // As a server restart would: every session of this database ended.
    let name = db.url.rsplit('/').next().unwrap().to_string();
    run_sql(
        &db.server,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )
    .unwrap();
    assert!(store.is_broken() && reader.is_broken());
    store.begin_batch();
    reader.reconnect_if_lost().unwrap();
    assert_eq!(store.get_state("k").unwrap().as_deref(), Some("v"));
    store.set_state("k", "w").unwrap();
    assert_eq!(reader.get_state("k").unwrap().as_deref(), Some("w"));
    assert!(reader.set_state("k", "x").is_err(), "a reader stays read only");
}

#[test]
fn a_source_is_leased_to_one_daemon_until_given_back_or_run_out() {
    let Some(db) = Database::new() else { return };
    let mut a = Postgres::open(&db.url, None).unwrap();
    let mut b = Postgres::open(&db.url, None).unwrap();
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = names(&["one", "two", "three"]);
    let minute = std::time::Duration::from_secs(60);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let got = a.lease("a", &all, 2, minute).unwrap();
    assert_eq!(
        sorted(got.granted),
        names(&["one", "two"]),
        "at most as many as asked, in order"
    );
    let got = b.lease("b", &all, 5, minute).unwrap();
    assert_eq!(got.granted, names(&["three"]), "what the other holds is its");
    let left = got.others_until.expect("when the others' leases end");
    assert!(left > minute / 2 && left <= minute, "{left:?}");
    a.release_leases("a", &names(&["one"])).unwrap();
    assert_eq!(
        sorted(b.lease("b", &all, 5, minute).unwrap().granted),
        names(&["one", "three"])
    );
    // A lease that was not renewed runs out, and another daemon takes the source.
    assert_eq!(
        a.renew_leases("a", &names(&["two"]), std::time::Duration::ZERO)
            .unwrap(),
        1
    );
    assert_eq!(sorted(b.lease("b", &all, 5, minute).unwrap().granted), sorted(all));
    assert_eq!(
        a.renew_leases("a", &names(&["two"]), minute).unwrap(),
        0,
        "no longer a's"
    );
}
