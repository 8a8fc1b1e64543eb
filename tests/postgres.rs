//! The whole path on PostgreSQL: the real binary polls feeds served on 127.0.0.1 into a real
//! PostgreSQL database (the server `NEWSWATCH_TEST_POSTGRES` names; `.ci/run` starts one), mails
//! digests to a real SMTP server on 127.0.0.1, and is searched and asked for its status. Each
//! test has a database of its own, dropped at its end. Without a server the tests say so and
//! pass, except in CI, where a missing server is a failure.

mod common;

use std::time::Duration;

use common::postgres::{Database, number};
use common::*;

fn config(db: &Database, feeds: &FeedServer, email: &str) -> String {
    format!(
        r#"
[storage]
database = "{url}"

[fetch]
timeout = "5s"
host_delay = "0s"

{email}

[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "NATO"]

[[source]]
name = "Tokyo Wire"
url = "{rss}"

[[source]]
name = "Atlantic Atom"
url = "{atom}"
"#,
        url = db.url,
        rss = feeds.url("/rss.xml"),
        atom = feeds.url("/atom.xml"),
    )
}

async fn serve(feeds: &FeedServer) {
    let base = feeds.url("");
    let rss_items = [
        Item {
            guid: "tw-1",
            title: "SDF joins NATO exercise in the Baltic",
            link: &format!("{base}/news/sdf-baltic"),
            text: "Japan's Self-Defense Forces took part in a NATO drill.",
            date: &rfc2822_hours_ago(3),
        },
        Item {
            guid: "tw-2",
            title: "Rice harvest up 3%",
            link: &format!("{base}/news/rice"),
            text: "Nothing about alliances here.",
            date: &rfc2822_hours_ago(2),
        },
        Item {
            guid: "tw-3",
            title: "NATO ministers meet in Brussels",
            link: &format!("{base}/news/brussels"),
            text: "Defence ministers met on Thursday.",
            date: &rfc2822_hours_ago(1),
        },
    ];
    feeds.serve("/rss.xml", "application/rss+xml", rss(&rss_items)).await;
    // The first story again, from another outlet, by its link.
    let atom_items = [Item {
        guid: "urn:atlantic:1",
        title: "Japanese troops in NATO drill",
        link: &format!("{base}/news/sdf-baltic?utm_source=atom"),
        text: "Japan sent troops.",
        date: &rfc3339_hours_ago(3),
    }];
    feeds
        .serve("/atom.xml", "application/atom+xml", atom(&atom_items))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_digest_search_and_status_on_postgresql() {
    let Some(db) = Database::new().await else { return };
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve(&feeds).await;
    let sandbox = Sandbox::new(&config(&db, &feeds, &smtp_email(smtp.port)));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(line(&poll.stdout, "Tokyo Wire").contains("3 new"), "{}", poll.stdout);
    // Two digests at once: each story reaches each recipient once (the send lock is the
    // server's, and the outbox's promise is kept in its tables).
    let (a, b) = tokio::join!(sandbox.run(&["digest"]), sandbox.run(&["digest"]));
    a.ok();
    b.ok();
    let mails = smtp.drain(Duration::from_secs(2)).await;
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.recipients.clone()).collect();
    to.sort();
    assert_eq!(to, ["analyst@test.invalid", "desk@test.invalid"]);
    let mail = &mails[0];
    assert!(mail.subject.starts_with("newswatch: 2 new stories"), "{}", mail.subject);
    // The drill, reported by both outlets, is one story.
    assert_eq!(mail.text.matches("Also reported by: ").count(), 1, "{}", mail.text);
    sandbox.run(&["digest"]).await.ok();
    assert!(
        smtp.drain(Duration::from_millis(300)).await.is_empty(),
        "nothing sent twice"
    );

    let search = sandbox.run(&["search", "Brussels"]).await;
    search.ok();
    assert!(
        search.stdout.contains("NATO ministers meet in Brussels"),
        "{}",
        search.stdout
    );
    assert!(!search.stdout.contains("Baltic"), "{}", search.stdout);
    let stories = sandbox.run(&["stories", "--json"]).await;
    stories.ok();
    assert!(stories.stdout.contains("Atlantic Atom"), "{}", stories.stdout);
    let status = sandbox.run(&["status"]).await;
    status.ok();
    assert!(status.stdout.contains(&db.url), "{}", status.stdout);

    // A file copy of a server's database is not newswatch's to make: it says what is.
    let backup = sandbox.run(&["backup", "copy.db"]).await;
    assert_ne!(backup.code, Some(0));
    assert!(backup.stderr.contains("pg_dump"), "{}", backup.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_kept_out_of_the_config() {
    let Some(db) = Database::new().await else { return };
    let feeds = FeedServer::start().await;
    serve(&feeds).await;
    let email = "[email]\ntransport = \"file\"\ndir = \"out\"\nto = [\"me@test.invalid\"]\n";
    let sandbox = Sandbox::new(&config(&db, &feeds, email));
    // A password in the URL is refused, and one read from a file is never shown.
    let with_password = db
        .url
        .replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
    sandbox.write_config(&config(&db, &feeds, email).replace(&db.url, &with_password));
    let refused = sandbox.run(&["check"]).await;
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("storage.password_file"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("hunter2"), "{}", refused.stderr);
    std::fs::write(sandbox.path("db-password"), "hunter2\n").unwrap();
    let from_file = config(&db, &feeds, email).replace("[storage]\n", "[storage]\npassword_file = \"db-password\"\n");
    sandbox.write_config(&from_file);
    let check = sandbox.run(&["check"]).await;
    check.ok();
    let status = sandbox.run(&["status"]).await;
    status.ok();
    for out in [&check.stdout, &check.stderr, &status.stdout, &status.stderr] {
        assert!(!out.contains("hunter2"), "{out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_archive_moves_to_postgresql_and_nothing_is_mailed_again() {
    let Some(db) = Database::new().await else { return };
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve(&feeds).await;
    let email = smtp_email(smtp.port);
    let on_file = config(&db, &feeds, &email).replace(&db.url, "state/newswatch.db");
    let sandbox = Sandbox::new(&on_file);
    sandbox.run(&["poll"]).await.ok();
    sandbox.run(&["digest"]).await.ok();
    assert_eq!(
        smtp.drain(Duration::from_secs(2)).await.len(),
        2,
        "one digest to each recipient"
    );
    let before = sandbox.run(&["stories", "--json", "--all"]).await;
    before.ok();

    let moved = sandbox.run(&["migrate-to", &db.url]).await;
    moved.ok();
    assert!(moved.stdout.contains("items: 3 rows"), "{}", moved.stdout);
    assert!(moved.stdout.contains("entries: 4 rows"), "{}", moved.stdout);
    let again = sandbox.run(&["migrate-to", &db.url]).await;
    assert_ne!(again.code, Some(0), "a database that holds an archive is refused");
    assert!(again.stderr.contains("already holds an archive"), "{}", again.stderr);

    sandbox.write_config(&config(&db, &feeds, &email));
    let after = sandbox.run(&["stories", "--json", "--all"]).await;
    after.ok();
    assert_eq!(
        after.stdout, before.stdout,
        "the same stories, entries, states and joins"
    );
    // Polled again on the server: the feeds' state came along (unchanged), nothing mailed twice.
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(
        line(&poll.stdout, "Tokyo Wire").contains("unchanged"),
        "{}",
        poll.stdout
    );
    sandbox.run(&["digest"]).await.ok();
    assert!(
        smtp.drain(Duration::from_millis(300)).await.is_empty(),
        "nothing sent twice"
    );
    let search = sandbox.run(&["search", "Brussels"]).await;
    search.ok();
    assert!(
        search.stdout.contains("NATO ministers meet in Brussels"),
        "{}",
        search.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_server_as_the_url_asks() {
    let Some(db) = Database::new().await else { return };
    let Ok(ca) = std::env::var("NEWSWATCH_TEST_POSTGRES_CA") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI's server has TLS: .ci/postgres.sh sets NEWSWATCH_TEST_POSTGRES_CA"
        );
        return;
    };
    let feeds = FeedServer::start().await;
    serve(&feeds).await;
    let email = "[email]\ntransport = \"file\"\ndir = \"out\"\nto = [\"me@test.invalid\"]\n";
    let with = |query: &str| config(&db, &feeds, email).replace(&db.url, &format!("{}?{query}", db.url));
    let encrypted = format!(
        "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND datname = '{}'",
        db.name()
    );

    // Verified against the CA that signed the server's certificate: the daemon's sessions are
    // encrypted, as the server sees them.
    let sandbox = Sandbox::new(&with(&format!("sslmode=verify-full&sslrootcert={ca}")));
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for_count(" polled ", 2).await;
    assert!(number(db.server(), &encrypted).await > 0, "no encrypted session");
    daemon.stop("-TERM").await;

    // Plain, when the URL says so: the check above can tell.
    sandbox.write_config(&with("sslmode=disable"));
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("newswatch started").await;
    assert_eq!(number(db.server(), &encrypted).await, 0);
    daemon.stop("-TERM").await;

    // A certificate nobody vouched for is refused when the URL asks for it to be verified.
    sandbox.write_config(&with("sslmode=verify-full"));
    let refused = sandbox.run(&["status"]).await;
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("certificate"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("(sslrootcert="),
        "says the way out: {}",
        refused.stderr
    );
    assert_eq!(refused.stderr.lines().count(), 1, "said once: {}", refused.stderr);
    sandbox.write_config(&with("sslmode=verify-full&sslrootcert=missing-ca.crt"));
    let missing = sandbox.run(&["status"]).await;
    assert_ne!(missing.code, Some(0));
    assert!(
        missing.stderr.contains("sslrootcert missing-ca.crt"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_names_the_daemons_running_on_the_database() {
    let Some(db) = Database::new().await else { return };
    let feeds = FeedServer::start().await;
    serve(&feeds).await;
    let email = "[email]\ntransport = \"file\"\ndir = \"out\"\nto = [\"me@test.invalid\"]\n";
    let sandbox = Sandbox::new(&config(&db, &feeds, email));
    let (mut first, mut second) = (Daemon::start(&sandbox), Daemon::start(&sandbox));
    first.wait_for("the database is shared").await;
    second.wait_for("the database is shared").await;
    let status = sandbox.run(&["status"]).await;
    status.ok();
    let line = status
        .stdout
        .lines()
        .find(|l| l.starts_with("daemons: "))
        .unwrap_or_else(|| panic!("{}", status.stdout));
    for daemon in [&first, &second] {
        let pid = format!(":{}:", daemon.child.id().unwrap());
        assert!(line.contains(&pid), "{pid} in {line}");
    }
    first.stop("-TERM").await;
    second.stop("-TERM").await;
    let status = sandbox.run(&["status"]).await;
    assert!(
        status.stdout.contains("daemons: none running on this database"),
        "{}",
        status.stdout
    );
}
