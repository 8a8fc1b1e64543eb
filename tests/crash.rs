//! Crashes at random moments: `poll`, `digest` and `run` killed with SIGKILL after 0-300 ms,
//! again and again, while feeds grow and the SMTP server answers slowly; then a clean drain.
//! The promise, per recipient: every matched story arrives, each in one message only; a story
//! seen twice is the very same message (same Message-ID) twice; the database is intact.
//!
//! `CRASH_ITERS` sets the number of rounds (50 by default), `CRASH_SEED` replays a run: the
//! seed is printed when the test fails.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use common::http::*;
use common::*;

fn title(k: usize) -> String {
    if k.is_multiple_of(3) {
        format!("Story {k:04} NATO urgent")
    } else {
        format!("Story {k:04} NATO")
    }
}

/// A feed of the first `n` stories, `n` read from `count` at each request.
async fn growing_feed(count: Arc<AtomicUsize>) -> Server {
    let date = rfc2822_hours_ago(1);
    serve(
        Router::new()
            .route(
                "/feed",
                get(move |State(count): State<Arc<AtomicUsize>>| {
                    let date = date.clone();
                    async move {
                        let n = count.load(Ordering::SeqCst);
                        let items: String = (0..n)
                            .map(|k| {
                                format!(
                                    "<item><guid>s{k}</guid><title>{}</title><link>http://news.test/s/{k}</link>\
                                     <description>About NATO.</description><pubDate>{date}</pubDate></item>",
                                    title(k)
                                )
                            })
                            .collect();
                        feed(rss_doc(&items))
                    }
                }),
            )
            .with_state(count),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_and_nothing_sent_twice_across_random_kills() {
    let iterations: usize = std::env::var("CRASH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let replay = format!("replay with CRASH_SEED={seed} CRASH_ITERS={iterations}");

    let count = Arc::new(AtomicUsize::new(0));
    let feed_server = growing_feed(Arc::clone(&count)).await;
    let smtp = SmtpServer::start().await;
    let sandbox = Sandbox::new(&format!(
        "{}retry = \"1s\"\nretry_max = \"1s\"\n\
         [digest]\nat = [\"00:00\"]\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\ninterval = \"1s\"\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\
         [[topic]]\nname = \"Urgent\"\nkeywords = [\"urgent\"]\nalert = \"immediate\"\nto = [\"analyst@test.invalid\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        smtp_email(smtp.port),
        feed_server.url("/feed")
    ));

    let mut kills = 0;
    for round in 0..iterations {
        count.store(2 * (round + 1), Ordering::SeqCst);
        let delay = Duration::from_millis(rng.u64(0..=300));
        let reply_delay = Duration::from_millis(rng.u64(0..=150));
        smtp.script(|s| s.reply_delay = reply_delay);
        let cmd: &[&str] = match rng.u8(0..3) {
            0 => &["poll"],
            1 => &["digest"],
            _ => &["run"],
        };
        let mut child = sandbox
            .command(cmd)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(delay).await;
        if child.try_wait().unwrap().is_none() {
            child.start_kill().unwrap();
            kills += 1;
        }
        child.wait().await.unwrap();
    }

    // A clean drain: everything found is queued and everything queued goes out.
    smtp.script(|s| s.reply_delay = Duration::ZERO);
    let stories = count.load(Ordering::SeqCst);
    sandbox.run(&["poll", "--force"]).await.ok();
    let drain = sandbox.run(&["digest"]).await;
    assert_eq!(drain.code, Some(0), "{replay}: {drain:?}");
    let again = sandbox.run(&["digest"]).await;
    assert!(
        again.ok().stdout.contains("nothing to send"),
        "{replay}: {}",
        again.stdout
    );
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("the outbox is empty"),
        "{replay}: {}",
        outbox.stdout
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Per recipient and story: the Message-IDs of the messages that carried it.
    let received = smtp.received();
    let mut carried: BTreeMap<(String, usize), BTreeSet<String>> = BTreeMap::new();
    let mut arrivals: BTreeMap<String, usize> = BTreeMap::new();
    for m in &received {
        *arrivals.entry(m.message_id.clone()).or_default() += 1;
        for k in 0..stories {
            // A title is a line of its own: "* title", or "- title <link> (source)" past
            // digest.max_stories.
            let t = title(k);
            let listed = |l: &str| {
                let rest = l.trim_start_matches(['*', '-', ' ']);
                rest == t || rest.starts_with(&format!("{t} <"))
            };
            if m.text.lines().any(listed) {
                for to in &m.recipients {
                    carried.entry((to.clone(), k)).or_default().insert(m.message_id.clone());
                }
            }
        }
    }
    for k in 0..stories {
        for to in ["analyst@test.invalid", "desk@test.invalid"] {
            let ids = carried.get(&(to.to_string(), k)).cloned().unwrap_or_default();
            assert_eq!(
                ids.len(),
                1,
                "{replay}: {:?} reached {to} in {} messages",
                title(k),
                ids.len()
            );
        }
    }
    let repeats: usize = arrivals.values().map(|n| n - 1).sum();
    let db = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "{replay}");
    eprintln!(
        "crash test: {iterations} rounds, {kills} kills, {stories} stories, {} messages received, \
         {repeats} repeats of a message already received (same Message-ID), seed {seed}",
        received.len()
    );
}
