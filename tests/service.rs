//! The daemon as a service, with the real binary, real servers on 127.0.0.1 and a real SQLite
//! file: a mail server down at the digest time, a stop during a slow send, an immediate alert,
//! a hanging source beside a healthy one, SIGHUP with a valid and an invalid config, what
//! systemd hears, and a backup while it runs.

mod common;

use std::time::Duration;

use common::http::*;
use common::*;

fn config(feeds: &FeedServer, smtp: &SmtpServer, extra: &str) -> String {
    format!(
        "{}retry = \"1s\"\nretry_max = \"1s\"\nretry_refused = \"1s\"\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n{extra}\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        smtp_email(smtp.port),
        feeds.url("/rss.xml")
    )
}

async fn serve_story(feeds: &FeedServer, guid: &str, title: &str) {
    feeds.reset().await;
    let link = feeds.url(&format!("/n/{guid}"));
    let date = rfc2822_hours_ago(1);
    let item = Item {
        guid,
        title,
        link: &link,
        text: "About NATO.",
        date: &date,
    };
    feeds.serve("/rss.xml", "application/rss+xml", rss(&[item])).await;
}

/// The clock of the daemons started after [`digest_soon`]: an hour on.
const AN_HOUR_ON: (&str, &str) = ("NEWSWATCH_CLOCK_OFFSET", "1h");

/// A digest time half an hour ahead, counted from a first start that handled nothing; the
/// daemons started after it run an hour on ([`AN_HOUR_ON`]), so the digest is due as they
/// start: the time is set, not waited for, and a slow machine cannot miss it.
async fn digest_soon(sandbox: &Sandbox, feeds: &FeedServer, smtp: &SmtpServer) {
    let at = |t: jiff::Timestamp| format!("[digest]\nat = [\"{}\"]\ntimezone = \"UTC\"\n", t.strftime("%H:%M:%S"));
    sandbox.write_config(&config(
        feeds,
        smtp,
        &at(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)),
    ));
    let mut first = Daemon::start(sandbox);
    first.wait_for(" polled ").await;
    first.stop("-TERM").await;
    sandbox.write_config(&config(
        feeds,
        smtp,
        &at(jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)),
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_down_at_the_digest_time_gets_it_once_when_back() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_story(&feeds, "d-1", "NATO outage story").await;
    let sandbox = Sandbox::new("");
    digest_soon(&sandbox, &feeds, &smtp).await;
    smtp.script(|s| s.down = true);
    let mut daemon = Daemon::start_with(&sandbox, &[AN_HOUR_ON]);
    daemon.wait_for_count("message not sent", 2).await;
    let (_, tries_while_down) = smtp.attempts();
    assert!(tries_while_down >= 2, "both recipients tried");
    smtp.script(|s| s.down = false);
    // Tried again within the retry backoff (1 s here), without a new digest time.
    let mails = [smtp.next().await, smtp.next().await];
    for mail in &mails {
        assert!(mail.text.contains("NATO outage story"));
    }
    assert_ne!(mails[0].recipients, mails[1].recipients);
    smtp.expect_nothing().await;
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_slow_send_leaves_it_pending_for_the_next_start() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_story(&feeds, "s-1", "NATO slow send story").await;
    let sandbox = Sandbox::new("");
    digest_soon(&sandbox, &feeds, &smtp).await;
    smtp.script(|s| s.data_delay = Duration::from_secs(60));
    let mut daemon = Daemon::start_with(&sandbox, &[AN_HOUR_ON]);
    daemon.wait_for("messages composed").await;
    // Wait until the first message is in DATA, then stop: within 10 s, exit 0.
    for _ in 0..100 {
        if smtp.attempts().1 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = std::time::Instant::now();
    daemon.stop("-TERM").await;
    assert!(started.elapsed() < Duration::from_secs(11), "{:?}", started.elapsed());
    let outbox = sandbox.run_later("1h", &["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("outbox #1 to analyst@test.invalid"),
        "{}",
        outbox.stdout
    );

    // The next start sends what the stopped one left pending.
    smtp.script(|s| s.data_delay = Duration::ZERO);
    let daemon = Daemon::start_with(&sandbox, &[AN_HOUR_ON]);
    let mails = [smtp.next().await, smtp.next().await];
    assert!(mails.iter().all(|m| m.text.contains("NATO slow send story")));
    smtp.expect_nothing().await;
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_topic_is_mailed_within_seconds_of_the_poll() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_story(&feeds, "a-1", "NATO alert story").await;
    let topics = "[[topic]]\nname = \"Urgent\"\nkeywords = [\"alert story\"]\nalert = \"immediate\"\nto = [\"urgent@test.invalid\"]\n";
    let sandbox = Sandbox::new(&(config(&feeds, &smtp, "") + topics));
    let started = std::time::Instant::now();
    let daemon = Daemon::start(&sandbox);
    let alert = smtp.next().await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(alert.recipients, ["urgent@test.invalid"]);
    assert!(
        alert.subject.starts_with("newswatch alert: 1 new story (Urgent: 1)"),
        "{}",
        alert.subject
    );
    smtp.expect_nothing().await;
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_could_not_be_composed_is_composed_again() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_story(&feeds, "a-1", "NATO alert story").await;
    let topics = "[[topic]]\nname = \"Urgent\"\nkeywords = [\"alert story\"]\nalert = \"immediate\"\nto = [\"urgent@test.invalid\"]\n";
    let sandbox = Sandbox::new(&(config(&feeds, &smtp, "") + topics));
    // The outbox cannot be written to (as on a full disk) until the test says so.
    sandbox.run(&["status"]).await.ok();
    let db = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.execute_batch(
        "CREATE TRIGGER full_disk BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for("cannot compose messages").await;
    db.execute_batch("DROP TRIGGER full_disk").unwrap();
    // Space is back: the alert goes out on a retry, without another poll finding anything.
    let alert = smtp.next().await;
    assert_eq!(alert.recipients, ["urgent@test.invalid"]);
    assert!(
        alert.subject.starts_with("newswatch alert: 1 new story"),
        "{}",
        alert.subject
    );
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_source_delays_no_other() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_story(&feeds, "h-1", "NATO healthy story").await;
    let hang = raw_server(b"", true).await;
    let sandbox = Sandbox::new(&format!(
        "{}\n[[source]]\nname = \"Hang\"\nurl = \"{}\"\n",
        config(&feeds, &smtp, "interval = \"1s\"").replace("timeout = \"5s\"", "timeout = \"20s\""),
        hang.url("/feed")
    ));
    let daemon = Daemon::start(&sandbox);
    // Every second or so, while the other source hangs for 20 s: four polls well before the
    // hang could end (waited for, bounded; not a fixed sleep that a busy machine outruns).
    let started = std::time::Instant::now();
    let mut polls = 0;
    while polls < 4 && started.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        polls = feeds
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/rss.xml")
            .count();
    }
    assert!(
        polls >= 4,
        "the healthy source was polled {polls} times in {:?} beside a hanging one",
        started.elapsed()
    );
    // Stopping beside a hanging source is hostile.rs's business: killed on drop.
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_valid_config_and_keeps_the_running_one_otherwise() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_story(&feeds, "r-1", "NATO reload story").await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ""));
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for(" polled ").await;

    // A second source, and a moved database (which needs a restart).
    let added = format!(
        "{}\n[[source]]\nname = \"Second\"\nurl = \"{}\"\n[storage]\ndatabase = \"elsewhere.db\"\n",
        config(&feeds, &smtp, ""),
        feeds.url("/second.xml")
    );
    sandbox.write_config(&added);
    daemon.signal("-HUP").await;
    let log = daemon.wait_for("config reloaded").await.to_string();
    assert!(log.contains("sources=2"), "{log}");
    assert!(log.contains("storage.database changed: restart newswatch"), "{log}");
    daemon.wait_for("source=Second").await;
    assert!(!sandbox.path("elsewhere.db").exists(), "the running database stays");

    // An invalid file is logged; the running config stays and the daemon goes on.
    sandbox.write_config("[fetch]\ninterval = \"soon\"\n");
    daemon.signal("-HUP").await;
    let log = daemon.wait_for("config not reloaded").await.to_string();
    assert!(log.contains("invalid duration"), "{log}");
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");
    // So is one whose topic nests too deep to read (it used to overflow the stack).
    let deep = format!("{}NATO{}", "(".repeat(6_000), ")".repeat(6_000));
    sandbox.write_config(&config(&feeds, &smtp, "").replace("keywords = [\"NATO\"]", &format!("query = '{deep}'")));
    daemon.signal("-HUP").await;
    let log = daemon.wait_for_count("config not reloaded", 2).await.to_string();
    assert!(log.contains("nested more than 50 deep"), "{log}");
    assert!(daemon.child.try_wait().unwrap().is_none(), "still running");
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_reload_the_watchdog_and_stopping() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_story(&feeds, "n-1", "NATO notify story").await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ""));
    let socket_path = sandbox.path("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let mut daemon = Daemon::start_with(
        &sandbox,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    // Everything heard so far, and a way to wait (at most 10 s) until `needle` was heard `n` times.
    let mut heard = String::new();
    let listen = async |needle: &str, n: usize, heard: &mut String| {
        let mut buf = [0u8; 512];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while heard.matches(needle).count() < n {
            let got = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("systemd never heard {needle:?} {n} times; it heard {heard:?}"))
                .unwrap();
            heard.push_str(&String::from_utf8_lossy(&buf[..got]));
        }
    };
    listen("READY=1", 1, &mut heard).await;
    // Pings at half the watchdog period (400 ms): three come within a couple of seconds.
    let pings = heard.matches("WATCHDOG=1").count();
    listen("WATCHDOG=1", pings + 3, &mut heard).await;
    daemon.signal("-HUP").await;
    listen("RELOADING=1", 1, &mut heard).await;
    listen("READY=1", 2, &mut heard).await;
    daemon.signal("-TERM").await;
    listen("STOPPING=1", 1, &mut heard).await;
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_a_backup_while_the_daemon_runs_and_a_newer_database_refused() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_story(&feeds, "b-1", "NATO backup story").await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ""));
    let mut daemon = Daemon::start(&sandbox);
    daemon.wait_for(" polled ").await;
    // It says when it polls next (sources every 30 min by default).
    let log = daemon.wait_for("polls done; next poll").await;
    assert!(log.lines().last().unwrap().contains(" at="), "{log}");

    // A second daemon on the same database would poll every source twice: refused, naming
    // the first; commands by hand work beside it.
    let second = sandbox.run(&["run"]).await;
    assert_eq!(second.code, Some(2), "{}", second.stderr);
    let pid = daemon.child.id().unwrap();
    assert!(
        second.stderr.contains("another newswatch is already running") && second.stderr.contains(&format!("pid {pid}")),
        "{}",
        second.stderr
    );
    assert_eq!(second.stderr.matches("error:").count(), 1, "{}", second.stderr);

    let status = sandbox.run(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&status.ok().stdout).unwrap();
    assert_eq!(status["sources"][0]["name"], "Wire");
    assert!(status["sources"][0]["next_poll"].is_string(), "{status}");
    assert_eq!(status["stories_matched_24h"], 1);
    let text = sandbox.run(&["status"]).await;
    assert!(
        text.ok().stdout.contains("last 24 h: 1 story matched, 0 messages sent"),
        "{}",
        text.stdout
    );
    assert!(status["database_bytes"].as_u64().unwrap() > 0);

    let backup = sandbox.path("backup.db");
    let run = sandbox.run(&["backup", backup.to_str().unwrap()]).await;
    assert!(run.ok().stdout.contains("schema version 14"), "{}", run.stdout);
    let copy = rusqlite::Connection::open(&backup).unwrap();
    let titles: i64 = copy
        .query_row(
            "SELECT COUNT(*) FROM items WHERE title = 'NATO backup story'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(titles, 1);
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy holds webhook URLs: owner only, not {mode:o}");
    }
    daemon.stop("-TERM").await;

    // A database from a newer newswatch is refused, and left as it was.
    let db = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();
    db.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '', '0')",
        [],
    )
    .unwrap();
    drop(db);
    let run = sandbox.run(&["status"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("written by a newer newswatch (schema version 99"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_not_backed_up_in_silence() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    serve_story(&feeds, "b-1", "NATO backup story").await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp, ""));
    sandbox.run(&["poll"]).await.ok();
    // Scribble over one b-tree page that no command reads: only a check of the file finds it.
    let path = sandbox.path("newswatch.db");
    let (root, page_size) = {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        let root: i64 = db
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'deliveries_by_message'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        (root, size)
    };
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(((root - 1) * page_size) as u64)).unwrap();
        file.write_all(&[0xff; 16]).unwrap();
    }
    sandbox.run(&["status"]).await.ok();

    let backup = sandbox.path("backup.db");
    let run = sandbox.run(&["backup", backup.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the database is damaged"), "{}", run.stderr);
    assert!(!backup.exists(), "a damaged copy was written");
    assert!(!sandbox.path("backup.db.partial").exists());
}
