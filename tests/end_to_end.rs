//! The whole path with real parts: feeds served over HTTP on 127.0.0.1, the real binary polling
//! them into a real SQLite file, and digests received by a real SMTP server on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;

const TOPICS: &str = r#"
[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "Self-Defense Forces", "NATO"]

[[topic]]
name = "Ukraine"
keywords = ["Ukraine", "Kyiv"]
"#;

fn config(feeds: &FeedServer, email: &str, extra: &str) -> String {
    format!(
        r#"
[storage]
database = "state/newswatch.db"

[fetch]
timeout = "5s"
# Every test feed is on one loopback host: no politeness delay needed.
host_delay = "0s"
per_host = 8

{email}
{extra}
{TOPICS}

[[source]]
name = "Tokyo Wire"
url = "{rss}"

[[source]]
name = "Atlantic Atom"
url = "{atom}"

[[source]]
name = "Kyiv JSON"
url = "{json}"
"#,
        rss = feeds.url("/rss.xml"),
        atom = feeds.url("/atom.xml"),
        json = feeds.url("/feed.json"),
    )
}

async fn serve_first_round(feeds: &FeedServer) {
    serve_feeds(feeds, &[]).await;
}

/// The first round again, with one new matching story on top of the JSON feed: "Ukraine grain
/// corridor reopens".
async fn serve_second_round(feeds: &FeedServer) {
    feeds.reset().await;
    let base = feeds.url("");
    let new_item = Item {
        guid: "kj-2",
        title: "Ukraine grain corridor reopens",
        link: &format!("{base}/kyiv/grain"),
        text: "Ships left Odesa.",
        date: &rfc3339_hours_ago(0),
    };
    serve_feeds(feeds, &[new_item]).await;
}

/// The first round of feeds, with `later` items added on top of the JSON feed.
async fn serve_feeds(feeds: &FeedServer, later: &[Item<'_>]) {
    let base = feeds.url("");
    let rss_items = [
        Item {
            guid: "tw-1",
            title: "SDF joins NATO exercise in the Baltic",
            link: &format!("{base}/news/sdf-baltic?utm_source=rss&utm_medium=feed"),
            text: "<p>Japan's Self-Defense Forces took part in a NATO drill.</p>",
            date: &rfc2822_hours_ago(3),
        },
        Item {
            guid: "tw-2",
            title: "Rice harvest up 3%",
            link: &format!("{base}/news/rice"),
            text: "Nothing about alliances here; Donato and SDFormat are not keywords.",
            date: &rfc2822_hours_ago(2),
        },
        Item {
            guid: "tw-3",
            title: "<script>alert('x')</script> NATO & \"friends\"",
            link: &format!("{base}/news/hostile"),
            text: "<img src=x onerror=alert(1)> NATO <b>bold</b>",
            date: &rfc2822_hours_ago(1),
        },
        Item {
            guid: "tw-old",
            title: "NATO archive piece from last month",
            link: &format!("{base}/news/archive"),
            text: "Old NATO story.",
            date: &rfc2822_hours_ago(24 * 30),
        },
    ];
    feeds.serve("/rss.xml", "application/rss+xml", rss(&rss_items)).await;
    let atom_items = [Item {
        // The same story as tw-1, from another outlet, with other tracking parameters.
        guid: "urn:atlantic:1",
        title: "Japanese troops in NATO drill",
        link: &format!("{base}/news/sdf-baltic/?fbclid=abc"),
        text: "Japan sent troops.",
        date: &rfc3339_hours_ago(3),
    }];
    feeds
        .serve("/atom.xml", "application/atom+xml", atom(&atom_items))
        .await;
    let first = Item {
        guid: "kj-1",
        title: "Kyiv talks resume",
        link: &format!("{base}/kyiv/talks"),
        text: "<p>Delegations met in Kyiv on Monday.</p>",
        date: &rfc3339_hours_ago(4),
    };
    let mut json_items: Vec<Item> = later.to_vec();
    json_items.push(first);
    feeds
        .serve("/feed.json", "application/feed+json", json_feed(&json_items))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_sends_each_matching_story_once_across_runs() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp_email(smtp.port), ""));
    serve_first_round(&feeds).await;

    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    // Sources are polled concurrently: which outlet's copy of the shared story is stored first
    // (and so counts as matched) varies, the totals do not.
    assert!(poll.stdout.contains("Tokyo Wire: 4 new entries, "), "{}", poll.stdout);
    assert!(poll.stdout.contains("Atlantic Atom: 1 new entry, "), "{}", poll.stdout);
    assert!(
        poll.stdout.contains("Kyiv JSON: 1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
    assert!(
        poll.stdout.contains(
            "total: 3 sources, 6 new entries, 3 new stories matched, 1 more report of a matched story, 0 failed"
        ),
        "{}",
        poll.stdout
    );
    assert!(
        sandbox.path("state/newswatch.db").is_file(),
        "relative database path resolves beside the config"
    );

    let digest = sandbox.run(&["digest"]).await;
    digest.ok();
    for to in ["analyst@test.invalid", "desk@test.invalid"] {
        assert!(
            digest.stdout.contains(&format!("digest sent: 3 stories to {to} ")),
            "{}",
            digest.stdout
        );
    }

    // One message per recipient, each in an SMTP transaction of its own, with a Message-ID of
    // its own and the same stories.
    let mut mails = [smtp.next().await, smtp.next().await];
    mails.sort_by(|a, b| a.recipients.cmp(&b.recipients));
    assert_eq!(mails[0].recipients, ["analyst@test.invalid"]);
    assert_eq!(mails[1].recipients, ["desk@test.invalid"]);
    assert!(mails[0].raw.contains("To: analyst@test.invalid"), "{}", mails[0].raw);
    assert_ne!(mails[0].message_id, mails[1].message_id);
    assert_eq!(mails[0].text, mails[1].text);
    let mail = &mails[0];
    assert_eq!(
        mail.subject,
        format!("newswatch: 3 new stories (Japan and NATO: 2, Ukraine: 1), {}", today())
    );

    // The right stories, each once, nothing else (keywords in titles are marked in HTML).
    let unmarked = mail
        .html
        .replace(
            "<mark style=\"background-color: #fff1a8; color: #000000; padding: 0 1px;\">",
            "",
        )
        .replace("</mark>", "");
    assert!(
        mail.html.contains(">SDF</mark> joins <mark") || mail.html.contains(">NATO</mark> drill"),
        "keywords in titles are highlighted: {}",
        mail.html
    );
    for part in [&mail.text, &unmarked] {
        let shared = part.matches("SDF joins NATO exercise in the Baltic").count()
            + part.matches("Japanese troops in NATO drill").count();
        assert_eq!(shared, 1, "the story two outlets carried is listed once: {part}");
        assert_eq!(part.matches("Kyiv talks resume").count(), 1, "{part}");
        assert!(!part.contains("Rice harvest"), "non-matching story leaked");
        assert!(!part.contains("archive piece"), "story older than max_age leaked");
    }
    let also =
        mail.text.contains("Also reported by: Atlantic Atom") || mail.text.contains("Also reported by: Tokyo Wire");
    assert!(also, "the other outlet is named: {}", mail.text);
    assert!(
        mail.html.contains("Also reported by: <a href=\"http"),
        "with a link: {}",
        mail.html
    );

    // Hostile text is escaped, never live HTML; keywords are emphasised.
    assert!(
        !mail.html.contains("<script") && !mail.html.contains("<img"),
        "{}",
        mail.html
    );
    assert!(
        mail.html
            .contains("<mark style=\"background-color: #fff1a8; color: #000000; padding: 0 1px;\">NATO</mark>"),
        "inline styles: not every client colours a bare <mark>: {}",
        mail.html
    );
    assert!(
        mail.html
            .contains("<mark style=\"background-color: #fff1a8; color: #000000; padding: 0 1px;\">Kyiv</mark>")
    );
    assert!(mail.text.contains("*Kyiv*"), "{}", mail.text);

    // Headers and encodings that keep feed text out of the SMTP stream.
    assert!(mail.raw.contains("Message-ID: <"), "{}", mail.raw);
    assert!(mail.raw.contains("\r\nDate: "));
    assert!(mail.raw.contains("multipart/alternative"));
    assert_eq!(
        mail.raw.matches("Content-Transfer-Encoding: quoted-printable").count(),
        2
    );

    // A second digest has nothing to send.
    let again = sandbox.run(&["digest"]).await;
    again.ok();
    assert!(again.stdout.contains("nothing to send"), "{}", again.stdout);
    smtp.expect_nothing().await;

    // A new item later arrives in a second digest alone; polling again (a restart, since every
    // command is a new process) sends nothing twice.
    serve_second_round(&feeds).await;
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(
        poll.stdout.contains("Kyiv JSON: 1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
    // The same items again: "unchanged" when served within the same second as the first round
    // (byte for byte the same feed), else "0 new" (its dates, relative to now, moved on).
    assert!(
        poll.stdout.contains("Tokyo Wire: 0 new entries, 0 new stories matched")
            || poll.stdout.contains("Tokyo Wire: unchanged"),
        "{}",
        poll.stdout
    );
    sandbox.run(&["digest"]).await.ok();
    let second = smtp.next().await;
    assert_eq!(smtp.next().await.subject, second.subject, "the other recipient's");
    assert_eq!(
        second.subject,
        format!("newswatch: 1 new story (Ukraine: 1), {}", today())
    );
    assert!(second.text.contains("Ukraine grain corridor reopens"));
    assert!(
        !second.text.contains("Kyiv talks resume"),
        "sent story sent again:\n{}",
        second.text
    );

    sandbox.run(&["poll"]).await.ok();
    let third = sandbox.run(&["digest"]).await;
    assert!(third.ok().stdout.contains("nothing to send"));
    smtp.expect_nothing().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_digest_and_marks_nothing() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp_email(smtp.port), ""));
    serve_first_round(&feeds).await;
    sandbox.run(&["poll"]).await.ok();

    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    dry.ok();
    assert!(
        dry.stdout
            .starts_with("To: analyst@test.invalid\nSubject: newswatch: 3 new stories"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("\nTo: desk@test.invalid\nSubject: newswatch: 3 new stories"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("Kyiv talks resume"), "{}", dry.stdout);
    smtp.expect_nothing().await;

    // Nothing was marked: the real digest still carries all three.
    sandbox.run(&["digest"]).await.ok();
    let subject = smtp.next().await.subject;
    assert!(subject.starts_with("newswatch: 3 new stories"), "{subject}");
    // The subject the dry run showed is the one sent.
    assert!(
        dry.stdout.contains(&format!("Subject: {subject}\n")),
        "{subject:?} in {}",
        dry.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_sources_are_reported_and_the_others_served() {
    let feeds = FeedServer::start().await;
    serve_first_round(&feeds).await;
    feeds
        .serve(
            "/broken.xml",
            "application/rss+xml",
            "<rss><channel><item><title>cut off",
        )
        .await;
    feeds
        .serve(
            "/login",
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><body><form>Sign in</form></body></html>",
        )
        .await;
    feeds.serve_status("/gone.xml", 404).await;
    let dead = DeadPort::new();
    let extra_sources = format!(
        r#"
[[source]]
name = "Broken XML"
url = "{}"

[[source]]
name = "Login Wall"
url = "{}"

[[source]]
name = "Not Found"
url = "{}"

[[source]]
name = "Nobody Home"
url = "http://127.0.0.1:{}/feed.xml"
"#,
        feeds.url("/broken.xml"),
        feeds.url("/login"),
        feeds.url("/gone.xml"),
        dead.port
    );
    let sandbox = Sandbox::new(&(config(&feeds, "", "") + &extra_sources));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    let line = |name: &str| {
        poll.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no line for {name} in:\n{}", poll.stdout))
            .to_string()
    };
    assert!(
        line("Broken XML").contains("error: malformed feed"),
        "{}",
        line("Broken XML")
    );
    assert!(
        line("Login Wall").starts_with("Login Wall: error: not a feed (got text/html)"),
        "{}",
        line("Login Wall")
    );
    assert_eq!(line("Not Found"), "Not Found: error: HTTP 404 Not Found");
    assert!(
        line("Nobody Home").contains("error: cannot connect"),
        "{}",
        line("Nobody Home")
    );
    assert!(line("Tokyo Wire").contains("4 new entries, "), "{}", line("Tokyo Wire"));
    assert!(
        poll.stdout.contains(
            "total: 7 sources, 6 new entries, 3 new stories matched, 1 more report of a matched story, 4 failed"
        ),
        "{}",
        poll.stdout
    );

    // The good stories went into the queue despite the failures (file transport by default).
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    assert!(dry.ok().stdout.contains("newswatch: 3 new stories"), "{}", dry.stdout);

    // All sources failing is a failed poll.
    let all_dead = format!(
        "{TOPICS}\n[[source]]\nname = \"Nobody Home\"\nurl = \"http://127.0.0.1:{}/feed.xml\"\n[fetch]\ntimeout = \"3s\"\nhost_delay = \"0s\"\n",
        dead.port
    );
    let sandbox = Sandbox::new(&all_dead);
    let poll = sandbox.run(&["poll"]).await;
    assert_eq!(poll.code, Some(1), "{poll:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_transport_writes_one_eml_per_digest() {
    let feeds = FeedServer::start().await;
    serve_first_round(&feeds).await;
    let email = "[email]\ntransport = \"file\"\ndir = \"out/digests\"\nto = [\"me@test.invalid\"]\n";
    let sandbox = Sandbox::new(&config(&feeds, email, ""));
    sandbox.run(&["poll"]).await.ok();
    let digest = sandbox.run(&["digest"]).await;
    digest.ok();
    let files = eml_files(&sandbox.path("out/digests"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        digest.stdout.contains(&files[0].display().to_string()),
        "{}",
        digest.stdout
    );
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        eml.contains("Subject: newswatch: 3 new stories (Japan and NATO: 2, Ukraine: 1)"),
        "{eml}"
    );
    assert!(eml.contains("To: me@test.invalid"));
    assert!(eml.contains("Message-ID: <") && eml.contains("Date: "));
    assert!(eml.contains("Content-Transfer-Encoding: quoted-printable"));

    sandbox.run(&["digest"]).await.ok();
    assert_eq!(
        eml_files(&sandbox.path("out/digests")).len(),
        1,
        "nothing new, no second file"
    );

    // send_empty = true: an empty digest is still sent.
    let sandbox_cfg = config(&feeds, email, "[digest]\nsend_empty = true\n");
    sandbox.write_config(&sandbox_cfg);
    sandbox.run(&["digest"]).await.ok();
    let second: Vec<_> = eml_files(&sandbox.path("out/digests"))
        .into_iter()
        .filter(|f| !files.contains(f))
        .collect();
    assert_eq!(second.len(), 1);
    let empty = std::fs::read_to_string(&second[0]).unwrap();
    assert!(empty.contains("Subject: newswatch: no new stories"), "{empty}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_send_a_story_twice() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_first_round(&feeds).await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp_email(smtp.port), ""));
    sandbox.run(&["poll"]).await.ok();

    let (a, b) = tokio::join!(sandbox.run(&["digest"]), sandbox.run(&["digest"]));
    a.ok();
    b.ok();
    let mails = smtp.drain(Duration::from_secs(2)).await;
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.recipients.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["analyst@test.invalid", "desk@test.invalid"],
        "exactly one digest to each: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(mails.iter().all(|m| m.subject.starts_with("newswatch: 3 new stories")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_test_reaches_the_smtp_server() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    let sandbox = Sandbox::new(&config(&feeds, &smtp_email(smtp.port), ""));
    let run = sandbox.run(&["mail-test"]).await;
    assert!(run.ok().stdout.contains("test message sent"), "{}", run.stdout);
    assert_eq!(smtp.next().await.subject, "newswatch: test message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_level_shows_the_smtp_password() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    let email = format!(
        "{}username = \"newswatch\"\npassword_env = \"NW_TEST_SMTP_PASSWORD\"\n",
        smtp_email(smtp.port)
    );
    let sandbox = Sandbox::new(&config(&feeds, &email, ""));
    let password = "s3cret-Pa55word";
    let out = sandbox
        .command(&["mail-test"])
        .env("NEWSWATCH_LOG", "trace")
        .env("NW_TEST_SMTP_PASSWORD", password)
        .output()
        .await
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert_eq!(smtp.next().await.subject, "newswatch: test message");
    // The server saw the credentials (so they were there to leak); the log has neither the
    // password nor the encoded form it travelled in.
    let auth = smtp.auth();
    assert!(!auth.is_empty(), "no AUTH reached the server");
    let encoded = auth[0].rsplit(' ').next().unwrap();
    assert!(encoded.len() > 8, "{auth:?}");
    // The log was as verbose as it gets (it once padded this with one line per migration).
    assert!(
        log.contains("DEBUG newswatch::mail") && log.contains("handing a message to the SMTP server"),
        "a trace-level log: {log}"
    );
    assert!(!log.contains(password), "the password in the log:\n{log}");
    assert!(!log.contains(encoded), "the encoded credentials in the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_polls_sends_at_the_digest_time_and_stops_on_sigterm() {
    let feeds = FeedServer::start().await;
    let mut smtp = SmtpServer::start().await;
    serve_first_round(&feeds).await;
    let email = smtp_email(smtp.port);
    let digest_at = |at: jiff::Timestamp| {
        let at = at.strftime("%H:%M:%S");
        config(
            &feeds,
            &email,
            &format!("[digest]\nat = [\"{at}\"]\ntimezone = \"UTC\"\n"),
        )
    };
    // A first start polls everything and mails nothing: its digest time is an hour ago, so
    // the next one is tomorrow, and a new installation has no missed digest to send.
    let sandbox = Sandbox::new(&digest_at(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)));
    let mut daemon = Daemon::start(&sandbox);
    // Each of the three sources is polled by a task of its own.
    daemon.wait_for_count(" polled ", 3).await;
    daemon.stop("-TERM").await;
    assert!(
        smtp.drain(Duration::from_millis(200)).await.is_empty(),
        "nothing mailed"
    );

    // A digest time half an hour from now, and from here on every run an hour on (the clock
    // set, not waited for): the digest is due as the daemon starts. It counts from the time
    // the first start handled, so it is sent at once, never tomorrow.
    sandbox.write_config(&digest_at(jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)));
    let later = [("NEWSWATCH_CLOCK_OFFSET", "1h")];
    let daemon = Daemon::start_with(&sandbox, &later);
    for _ in 0..2 {
        let mail = smtp.next().await;
        assert!(mail.subject.starts_with("newswatch: 3 new stories"), "{}", mail.subject);
    }
    daemon.stop("-TERM").await;

    // A new story is queued; restarting the daemon must not take the digest time it handled
    // for a missed one and mail the story now.
    serve_second_round(&feeds).await;
    let poll = sandbox.run_later("1h", &["poll"]).await;
    assert!(
        poll.ok().stdout.contains("Kyiv JSON: 1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
    let mut daemon = Daemon::start_with(&sandbox, &later);
    // "idle" comes after the digest check of the first wake-up.
    let log = daemon.wait_for("idle").await.to_string();
    assert!(log.contains("next digest"), "{log}");
    assert!(!log.contains("passed while newswatch was not running"), "{log}");
    daemon.stop("-INT").await;
    assert!(
        smtp.drain(Duration::from_millis(200)).await.is_empty(),
        "nothing mailed on restart"
    );
    let dry = sandbox.run_later("1h", &["digest", "--dry-run"]).await;
    assert!(
        dry.ok().stdout.contains("Ukraine grain corridor reopens"),
        "the new story is still queued for the next digest time:\n{}",
        dry.stdout
    );
}
