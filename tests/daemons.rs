//! Several daemons on one PostgreSQL database: two `newswatch run`s share the sources by
//! leasing them, and either may be killed at any moment without a story being lost or mailed in
//! two different messages. Real parts only: the binary, a PostgreSQL server
//! (`NEWSWATCH_TEST_POSTGRES`, see `common/postgres.rs`), feeds and an SMTP server on 127.0.0.1.
//!
//! Each round is a day later (`NEWSWATCH_CLOCK_OFFSET`): a new story on every feed, every
//! source due, a digest time passed. Both daemons start; one is killed with SIGKILL, in some
//! rounds once it has begun fetching (it dies holding leases), in the others after a random
//! delay (while starting, polling, composing or sending); the other must poll every source,
//! the dead one's after its leases run out. `NEWSWATCH_KILL_ROUNDS` sets how many (30).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use common::http::{feed, serve};
use common::postgres::{Database, number};
use common::*;

/// Sources, each a feed of its own.
const SOURCES: usize = 8;
/// How long each feed takes to answer: long enough for a kill to land inside a poll.
const ANSWER_DELAY: Duration = Duration::from_millis(150);

/// One request for a feed, as the server saw it.
#[derive(Debug, Clone)]
struct Fetch {
    round: usize,
    feed: usize,
    agent: String,
}

#[derive(Default)]
struct Feeds {
    round: Mutex<usize>,
    /// Each feed's items (RSS `<item>`s), newest last.
    items: Mutex<Vec<Vec<String>>>,
    fetches: Mutex<Vec<Fetch>>,
    /// Requests being answered now, by feed.
    answering: Mutex<HashMap<usize, usize>>,
    /// Times a feed was asked for while a request for it was being answered.
    overlaps: Mutex<Vec<usize>>,
}

/// Counts a request as answered when dropped, also when its client is killed mid-answer.
struct Answering(Arc<Feeds>, usize);

impl Drop for Answering {
    fn drop(&mut self) {
        *self.0.answering.lock().unwrap().entry(self.1).or_default() -= 1;
    }
}

async fn answer(State(feeds): State<Arc<Feeds>>, Path(n): Path<usize>, headers: HeaderMap) -> Response {
    let agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let round = *feeds.round.lock().unwrap();
    feeds.fetches.lock().unwrap().push(Fetch { round, feed: n, agent });
    {
        let mut answering = feeds.answering.lock().unwrap();
        let now = answering.entry(n).or_default();
        if *now > 0 {
            feeds.overlaps.lock().unwrap().push(n);
        }
        *now += 1;
    }
    let _answering = Answering(Arc::clone(&feeds), n);
    tokio::time::sleep(ANSWER_DELAY).await;
    let items = feeds.items.lock().unwrap()[n].concat();
    feed(http::rss_doc(&items))
}

const WORDS: [&str; 48] = [
    "harbour",
    "convoy",
    "summit",
    "pipeline",
    "radar",
    "frigate",
    "treaty",
    "airlift",
    "drill",
    "garrison",
    "satellite",
    "budget",
    "cable",
    "drone",
    "reactor",
    "border",
    "corridor",
    "depot",
    "escort",
    "ferry",
    "glacier",
    "hangar",
    "island",
    "junction",
    "kiln",
    "lagoon",
    "mill",
    "orchard",
    "plateau",
    "quarry",
    "ridge",
    "shipyard",
    "tunnel",
    "uplink",
    "valley",
    "warehouse",
    "yard",
    "zenith",
    "beacon",
    "canal",
    "delta",
    "estuary",
    "fortress",
    "granary",
    "highway",
    "inlet",
    "jetty",
    "keel",
];

/// A name of its own for story `i` (letters only: shared numbers or names would make two
/// stories look like one event).
fn name(mut i: usize) -> String {
    let mut name = String::from("V");
    for _ in 0..4 {
        name.push(char::from(b'a' + (i % 26) as u8));
        i /= 26;
    }
    name
}

/// A new story on every feed for round `r`, dated an hour before that round's clock.
fn add_round(feeds: &Feeds, r: usize) {
    *feeds.round.lock().unwrap() = r;
    let date = rfc2822_hours_ago(1 - 24 * r as i64);
    let mut items = feeds.items.lock().unwrap();
    for (n, feed) in items.iter_mut().enumerate() {
        let words: Vec<&str> = (0..3).map(|_| WORDS[fastrand::usize(..WORDS.len())]).collect();
        let title = format!("NATO {} {}", name(r * SOURCES + n), words.join(" "));
        feed.push(format!(
            "<item><guid>o{n}-r{r}</guid><title>{title}</title><link>http://outlet{n}.test/{r}</link>\
             <description>{title}, as one outlet reports it.</description><pubDate>{date}</pubDate></item>"
        ));
        // The last two rounds' stories: older ones are stored already.
        if feed.len() > 2 {
            feed.remove(0);
        }
    }
}

fn config(db: &Database, feeds: &http::Server, smtp: u16, agent: &str) -> String {
    let mut config = format!(
        r#"
[storage]
database = "{url}"

[fetch]
timeout = "1s"
host_delay = "0s"
interval = "1h"
concurrency = 2
per_host = 4
user_agent = "{agent}"

[digest]
at = ["06:00"]

{email}
[[topic]]
name = "Alliance"
keywords = ["NATO"]
"#,
        url = db.url,
        email = smtp_email(smtp),
    );
    for n in 0..SOURCES {
        config.push_str(&format!(
            "\n[[source]]\nname = \"Outlet {n}\"\nurl = \"{}\"\n",
            feeds.url(&format!("/feed/{n}"))
        ));
    }
    config
}

/// A daemon whose log goes to a file (a pipe nobody reads would fill and stop it).
struct Running {
    child: tokio::process::Child,
    log: std::path::PathBuf,
}

impl Running {
    fn start(sandbox: &Sandbox, offset: &str, log: &str) -> Running {
        let log = sandbox.path(log);
        let mut command = sandbox.command(&["run"]);
        command
            .env("NEWSWATCH_CLOCK_OFFSET", offset)
            .env("NEWSWATCH_LOG", "newswatch=info")
            .stderr(std::fs::File::create(&log).unwrap());
        Running {
            child: command.spawn().unwrap(),
            log,
        }
    }

    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM, and a clean exit within 15 s.
    async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("the daemon did not stop within 15 s")
            .unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

/// Waits (at most `limit`) until `done` holds, looking every 20 ms; panics with the daemons'
/// logs of the round if it does not.
async fn until(limit: Duration, what: &str, logs: &[&Sandbox], log: &str, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        if start.elapsed() > limit {
            let logs: Vec<String> = logs
                .iter()
                .map(|s| std::fs::read_to_string(s.path(log)).unwrap_or_default())
                .collect();
            panic!("not within {limit:?}: {what}\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_the_sources_and_either_may_die_at_any_moment() {
    let Some(db) = Database::new().await else { return };
    let rounds: usize = std::env::var("NEWSWATCH_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let feeds = Arc::new(Feeds::default());
    *feeds.items.lock().unwrap() = vec![Vec::new(); SOURCES];
    let server = serve(
        Router::new()
            .route("/feed/{n}", get(answer))
            .with_state(Arc::clone(&feeds)),
    )
    .await;
    // Sends take a while too, so that some kills land in one.
    let smtp = SmtpServer::with_script(Script {
        reply_delay: Duration::from_millis(50),
        ..Script::default()
    })
    .await;
    let names = ["daemon-a", "daemon-b"];
    let sandboxes = names.map(|agent| Sandbox::new(&config(&db, &server, smtp.port, agent)));
    let started = Instant::now();
    let mut takeovers = 0;
    for r in 0..rounds {
        add_round(&feeds, r);
        let offset = format!("{}h", 24 * r);
        let log = format!("round-{r}.log");
        let all: Vec<&Sandbox> = sandboxes.iter().collect();
        let mut daemons: Vec<Option<Running>> = sandboxes
            .iter()
            .map(|s| Some(Running::start(s, &offset, &log)))
            .collect();
        let victim = fastrand::usize(..2);
        if r % 3 == 0 {
            // Killed once it has begun a poll: it dies holding that source's lease.
            until(Duration::from_secs(20), "the victim fetching", &all, &log, async || {
                let fetches = feeds.fetches.lock().unwrap();
                fetches.iter().any(|f| f.round == r && f.agent == names[victim])
            })
            .await;
        } else {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1500))).await;
        }
        daemons[victim].take().unwrap().kill().await;
        // The survivor polls every source, the dead one's included: every story is stored.
        let expected = (SOURCES * (r + 1)) as i64;
        until(
            Duration::from_secs(30),
            "every source polled by the survivor",
            &all,
            &log,
            async || number(&db.url, "SELECT count(*) FROM entries").await == expected,
        )
        .await;
        daemons[1 - victim].take().unwrap().stop().await;
        let fetches = feeds.fetches.lock().unwrap();
        let by = |agent: &str| -> HashSet<usize> {
            fetches
                .iter()
                .filter(|f| f.round == r && f.agent == agent)
                .map(|f| f.feed)
                .collect()
        };
        takeovers += by(names[victim]).intersection(&by(names[1 - victim])).count();
    }
    // What is still queued or pending goes now, as at the next digest time.
    sandboxes[0]
        .run_later(&format!("{}h", 24 * rounds), &["digest"])
        .await
        .ok();

    let overlaps = feeds.overlaps.lock().unwrap().clone();
    assert!(overlaps.is_empty(), "feeds polled by both at once: {overlaps:?}");
    let fetches = feeds.fetches.lock().unwrap().clone();
    let per_daemon = names.map(|n| fetches.iter().filter(|f| f.agent == n).count());
    assert!(
        per_daemon.iter().all(|&n| n > 0),
        "the sources were not split: {per_daemon:?}"
    );
    assert!(takeovers > 0, "no source a killed daemon held was polled by the other");

    // Every story, once per recipient: in a message, and never in two with different ids.
    let stories = sandboxes[0]
        .run_later(&format!("{}h", 24 * rounds), &["stories", "--json", "--since", "400d"])
        .await;
    stories.ok();
    let stories: serde_json::Value = serde_json::from_str(&stories.stdout).unwrap();
    let stories = stories["stories"].as_array().unwrap();
    let entries: usize = stories.iter().map(|s| s["entries"].as_array().unwrap().len()).sum();
    assert_eq!(entries, SOURCES * rounds, "every item stored once");
    let mails = smtp.received();
    for to in ["analyst@test.invalid", "desk@test.invalid"] {
        let theirs: Vec<&Received> = mails.iter().filter(|m| m.recipients.iter().any(|r| r == to)).collect();
        for story in stories {
            let title = story["title"].as_str().unwrap();
            assert_eq!(story["state"], "sent", "{title}");
            // As a new story (a later digest may tell of more coverage of it: not a new story).
            let ids: HashSet<&str> = theirs
                .iter()
                .filter(|m| {
                    m.text
                        .split("== More coverage of earlier stories")
                        .next()
                        .unwrap()
                        .contains(title)
                })
                .map(|m| m.message_id.as_str())
                .collect();
            assert_eq!(ids.len(), 1, "{title:?} reached {to} in {ids:?}");
        }
        // One digest per digest time, whichever daemon composed it (rounds 1.. each passed
        // one), and the last one by hand.
        let digests: HashSet<&str> = theirs.iter().map(|m| m.message_id.as_str()).collect();
        assert!(
            digests.len() <= rounds,
            "{} digests for {to} in {rounds} rounds",
            digests.len()
        );
    }
    eprintln!(
        "{rounds} rounds in {:.1} s: {} fetches (a {}, b {}), {takeovers} sources taken over from a killed daemon, \
         {} stories, {} messages accepted",
        started.elapsed().as_secs_f64(),
        fetches.len(),
        per_daemon[0],
        per_daemon[1],
        stories.len(),
        mails.len()
    );
}
