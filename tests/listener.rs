//! The daemon's HTTP listener, with a real HTTP client: the matched stories as an Atom feed
//! (read back by a feed parser), an ETag that turns an unchanged feed into a 304, one topic's
//! feed, and the health check.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_its_matches_as_atom_and_says_it_is_healthy() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(1);
    let items = [
        Item {
            guid: "1",
            title: "NATO & Ukraine: \"air defence\" talks",
            link: "https://wire.example/nato?id=1&lang=en",
            text: "NATO defence ministers discussed air defence.",
            date: &d,
        },
        Item {
            guid: "2",
            title: "Rice harvest up in Niigata",
            link: "https://wire.example/rice",
            text: "Farmers brought in more rice than last year.",
            date: &d,
        },
    ];
    server.serve("/wire.xml", "application/rss+xml", rss(&items)).await;
    let sandbox = Sandbox::new(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n\n[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        server.url("/wire.xml")
    ));
    let mut daemon = Daemon::start(&sandbox);
    let address = daemon.listening().await;
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    daemon.wait_for("polled").await;
    let base = format!("http://{address}");
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.text().await.unwrap().starts_with("ok"));

    let feed = client.get(format!("{base}/feed.atom")).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let etag = feed.headers()["etag"].to_str().unwrap().to_string();
    let body = feed.bytes().await.unwrap();
    let parsed = feed_rs::parser::parse(&body[..]).expect("a feed parser reads it");
    assert_eq!(parsed.entries.len(), 1, "the matched story only");
    let entry = &parsed.entries[0];
    assert_eq!(
        entry.title.as_ref().unwrap().content,
        "NATO & Ukraine: \"air defence\" talks"
    );
    assert_eq!(entry.links[0].href, "https://wire.example/nato?id=1&lang=en");
    assert!(
        entry.summary.as_ref().unwrap().content.contains("Reported by Wire"),
        "{:?}",
        entry.summary
    );

    let again = client
        .get(format!("{base}/feed.atom"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "unchanged: no body again");
    let one = client.get(format!("{base}/feed.atom?topic=NATO")).send().await.unwrap();
    assert_eq!(one.status(), 200);
    let none = client.get(format!("{base}/feed.atom?topic=Nope")).send().await.unwrap();
    assert_eq!(none.status(), 404);

    // Prometheus: this process's counters and what the database says, once the poll is counted.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("newswatch_polls_total{outcome=\"fetched\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for line in [
        "# TYPE newswatch_polls_total counter",
        "newswatch_polls_total{outcome=\"fetched\"} 1",
        "newswatch_http_responses_total{class=\"2xx\"} 1",
        "newswatch_entries_stored_total 2",
        "newswatch_stories_matched_total{topic=\"NATO\"} 1",
        "newswatch_outbox_pending 0",
        "newswatch_poll_duration_seconds_count 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(
        metrics.contains("newswatch_source_last_success_timestamp_seconds{source=\"Wire\"} "),
        "{metrics}"
    );

    // A source the scheduler left behind (as if the loop had skipped it for an hour) makes
    // the daemon unhealthy, with the reason; once it is polled, healthy again.
    let db = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute(
        "UPDATE sources SET next_poll = strftime('%s', 'now') - 3600 WHERE name = 'Wire'",
        [],
    )
    .unwrap();
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let reason = health.text().await.unwrap();
    assert!(reason.starts_with("source \"Wire\" is 36"), "{reason}");
    assert!(reason.contains("s overdue"), "{reason}");
    // The sources' page says so too.
    let page = client.get(format!("{base}/sources")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("(overdue)"), "{page}");

    daemon.stop("-TERM").await;
}

/// Whether XML 1.0 allows `c` anywhere in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn characters_xml_forbids_in_a_title_or_a_name_do_not_break_the_feed() {
    let server = FeedServer::start().await;
    let d = rfc3339_hours_ago(1);
    let items = [Item {
        guid: "1",
        title: "NATO\u{FFFF} talks\u{1} in Brussels",
        link: "https://wire.example/nato",
        text: "NATO defence ministers met.",
        date: &d,
    }];
    server
        .serve("/wire.json", "application/feed+json", json_feed(&items))
        .await;
    let sandbox = Sandbox::new(&format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n\n[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n\
         [[source]]\nname = \"Wire\\u0007 Daily\"\nurl = \"{}\"\n",
        server.url("/wire.json")
    ));
    let mut daemon = Daemon::start(&sandbox);
    let address = daemon.listening().await;
    daemon.wait_for("polled").await;
    let body = reqwest::get(format!("http://{address}/feed.atom"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bad: Vec<char> = body.chars().filter(|&c| !xml_char(c)).collect();
    assert!(bad.is_empty(), "characters XML forbids: {bad:?} in\n{body}");
    let parsed = feed_rs::parser::parse(body.as_bytes()).expect("a feed parser reads it");
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(
        parsed.entries[0].title.as_ref().unwrap().content,
        "NATO talks in Brussels"
    );
    assert!(body.contains("term=\"Wire Daily\""), "{body}");
    daemon.stop("-TERM").await;
}

#[tokio::test]
async fn a_listen_address_that_is_not_one_is_a_config_error() {
    let sandbox = Sandbox::new(
        "[http]\nlisten = \"localhost\"\n\n[[topic]]\nname = \"T\"\nkeywords = [\"x\"]\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n",
    );
    let run = sandbox.run(&["check"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("http.listen = \"localhost\""), "{}", run.stderr);
}

#[tokio::test]
async fn check_shows_the_listener() {
    let local = Sandbox::new(
        "[http]\nlisten = \"127.0.0.1:8080\"\n\n[[topic]]\nname = \"T\"\nkeywords = [\"x\"]\n\n\
         [[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n",
    );
    let run = local.run(&["check"]).await;
    assert!(
        run.ok()
            .stdout
            .contains("http: listening on 127.0.0.1:8080 for the pages"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
    let json = local.run(&["check", "--json"]).await;
    let json: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(json["http"]["exposed"], false);
    assert_eq!(json["http"]["token"], false);
}

/// The daemon's command with its descriptors limited to `n` (soft and hard: it cannot raise it).
#[cfg(target_os = "linux")]
fn limited(sandbox: &Sandbox, n: u64) -> tokio::process::Command {
    let mut command = sandbox.command(&["run"]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    command
}

/// `n` connections to `address` that never send a byte.
async fn idle_connections(address: &str, n: usize) -> Vec<tokio::net::TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        match tokio::net::TcpStream::connect(address).await {
            Ok(s) => held.push(s),
            Err(e) => panic!("connection {} refused: {e}", held.len()),
        }
    }
    held
}

/// The next poll of `source` the log reports after what was seen so far: its line.
async fn next_poll(daemon: &mut Daemon, source: &str) -> String {
    let needle = format!("source={source}");
    let outcome =
        |l: &&str| l.contains(&needle) && ["polled", "unchanged", "poll failed"].iter().any(|o| l.contains(o));
    let before = daemon.seen.lines().filter(outcome).count();
    loop {
        let log = daemon.wait_for(&needle).await;
        if let Some(line) = log.lines().filter(outcome).nth(before) {
            return line.to_string();
        }
    }
}

/// An empty feed on a connection closed after each answer: every poll opens a new one, as
/// polls of many hosts do.
async fn closing_feed() -> http::Server {
    let feed = rss(&[]);
    let router = axum::Router::new().route(
        "/wire.xml",
        axum::routing::get(move || {
            let feed = feed.clone();
            async move { ([("connection", "close"), ("content-type", "application/rss+xml")], feed) }
        }),
    );
    http::serve(router).await
}

fn listener_config(server: &http::Server, timeout: &str) -> String {
    format!(
        "[http]\nlisten = \"127.0.0.1:0\"\ntimeout = \"{timeout}\"\n\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\ninterval = \"1s\"\n\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        server.url("/wire.xml")
    )
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_to_the_listener_leave_the_polls_their_descriptors() {
    let server = closing_feed().await;
    let sandbox = Sandbox::new(&listener_config(&server, "60s"));
    let mut daemon = Daemon::spawn(limited(&sandbox, 200));
    let address = daemon.listening().await;
    next_poll(&mut daemon, "Wire").await;
    // More idle readers than the process has descriptors: the listener keeps a few.
    let held = idle_connections(&address, 300).await;
    for _ in 0..2 {
        let line = next_poll(&mut daemon, "Wire").await;
        assert!(!line.contains("failed"), "{line}");
    }
    drop(held);
    daemon.stop("-TERM").await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_timeout() {
    use tokio::io::AsyncReadExt;
    let server = closing_feed().await;
    let sandbox = Sandbox::new(&listener_config(&server, "1s"));
    let mut daemon = Daemon::start(&sandbox);
    let address = daemon.listening().await;
    let mut held = idle_connections(&address, 3).await;
    let mut byte = [0u8; 1];
    for stream in &mut held {
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "still open after 10 s: {read:?}"
        );
    }
    // The listener still answers.
    let health = reqwest::get(format!("http://{address}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    daemon.stop("-TERM").await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_a_poll_says_so() {
    let server = closing_feed().await;
    let sandbox = Sandbox::new(&listener_config(&server, "60s"));
    // So few that the listener's share takes the rest.
    let mut daemon = Daemon::spawn(limited(&sandbox, 48));
    let address = daemon.listening().await;
    next_poll(&mut daemon, "Wire").await;
    let held = idle_connections(&address, 80).await;
    // The listener takes the connections as it gets to them: a poll may still slip in first.
    let mut line = String::new();
    for _ in 0..5 {
        line = next_poll(&mut daemon, "Wire").await;
        if line.contains("poll failed") {
            break;
        }
    }
    assert!(line.contains("poll failed"), "{line}");
    assert!(
        line.contains("too many open files") && line.contains("descriptors newswatch may open"),
        "{line}"
    );
    drop(held);
    daemon.stop("-TERM").await;
}
