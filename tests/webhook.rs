//! Webhooks, with the real binary and a recording HTTP server on 127.0.0.1: one JSON POST per
//! new story, through the outbox (a failed POST is tried again with the same body and
//! Idempotency-Key, a story is posted once), a topic's own webhook or the global one.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
struct Posted {
    path: String,
    key: String,
    content_type: String,
    body: serde_json::Value,
}

/// A receiver that records every POST and answers with the next status of `answers` (the
/// last one again once they run out).
async fn receiver(answers: Vec<u16>) -> (http::Server, Arc<Mutex<Vec<Posted>>>) {
    let seen: Arc<Mutex<Vec<Posted>>> = Arc::default();
    let answers = Arc::new(Mutex::new(answers));
    let handler = {
        let seen = Arc::clone(&seen);
        move |uri: axum::http::Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let (seen, answers) = (Arc::clone(&seen), Arc::clone(&answers));
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                seen.lock().unwrap().push(Posted {
                    path: uri.path().to_string(),
                    key: header("idempotency-key"),
                    content_type: header("content-type"),
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                });
                let mut answers = answers.lock().unwrap();
                let status = if answers.len() > 1 {
                    answers.remove(0)
                } else {
                    answers[0]
                };
                StatusCode::from_u16(status).unwrap()
            }
        }
    };
    let router = Router::new()
        .route("/hook", post(handler.clone()))
        .route("/all", post(handler));
    (http::serve(router).await, seen)
}

async fn news(feeds: &FeedServer) {
    let d = rfc2822_hours_ago(1);
    let items = [
        Item {
            guid: "1",
            title: "NATO & EU ministers \"meet\" in Brussels",
            link: "https://wire.example/nato?a=1&b=2",
            text: "NATO defence ministers met in Brussels.",
            date: &d,
        },
        Item {
            guid: "2",
            title: "Rice harvest up in Niigata",
            link: "https://wire.example/rice",
            text: "Farmers in Niigata brought in more rice.",
            date: &d,
        },
        Item {
            guid: "3",
            title: "Typhoon nears Okinawa",
            link: "https://wire.example/typhoon",
            text: "A typhoon is expected to reach Okinawa on Friday.",
            date: &d,
        },
    ];
    feeds.serve("/rss.xml", "application/rss+xml", rss(&items)).await;
}

fn config(feeds: &FeedServer, webhooks: &str, topics: &str) -> String {
    format!(
        "[email]\nto = [\"desk@example.org\"]\n\n\
         {webhooks}\n[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\n{topics}\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        feeds.url("/rss.xml")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_new_story_is_posted_once_as_json_and_a_failed_post_is_tried_again() {
    let feeds = FeedServer::start().await;
    news(&feeds).await;
    // The first POST fails (503), every later one is taken.
    let (hook, seen) = receiver(vec![503, 200]).await;
    let topics = format!(
        "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\nwebhook = \"{}\"\n\n\
         [[topic]]\nname = \"Weather\"\nkeywords = [\"typhoon\"]\n",
        hook.url("/hook")
    );
    let sandbox = Sandbox::new(&config(&feeds, "", &topics));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    // The URL's path is a chat's secret: every screen shows the host only.
    let mut screens = vec![poll.stdout.clone(), poll.stderr.clone()];
    for args in [&["status"][..], &["status", "--json"], &["outbox"]] {
        let run = sandbox.run(args).await;
        run.ok();
        assert!(run.stdout.contains(&hook.addr.to_string()), "{args:?}: {}", run.stdout);
        screens.push(run.stdout.clone());
    }
    for screen in screens {
        assert!(!screen.contains("/hook"), "the secret path on screen: {screen}");
    }

    // One story matched the topic with a webhook: one POST, refused for now.
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let first = &posts[0];
    assert_eq!(first.path, "/hook");
    assert_eq!(first.content_type, "application/json");
    assert!(first.key.starts_with("newswatch-"), "{first:?}");
    assert_eq!(first.body["topic"], "NATO");
    assert_eq!(first.body["title"], "NATO & EU ministers \"meet\" in Brussels");
    assert_eq!(first.body["link"], "https://wire.example/nato?a=1&b=2");
    assert_eq!(first.body["sources"], serde_json::json!(["Wire"]));
    assert_eq!(first.body["keywords"], serde_json::json!(["NATO"]));
    assert!(first.body["snippet"].as_str().unwrap().contains("defence ministers"));
    assert_eq!(
        first.body["text"],
        "NATO: NATO &amp; EU ministers \"meet\" in Brussels https://wire.example/nato?a=1&amp;b=2"
    );
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("503"),
        "the error is shown: {}",
        outbox.stdout
    );

    // Tried again: the same document under the same key, taken this time.
    sandbox.run(&["outbox", "retry"]).await.ok();
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].key, posts[0].key);
    assert_eq!(posts[1].body, posts[0].body);

    // Nothing new, nothing posted again, even when the digest goes out.
    sandbox.run(&["poll"]).await.ok();
    sandbox.run(&["digest"]).await.ok();
    assert_eq!(seen.lock().unwrap().len(), 2);
    // The story went out by mail too (the topic's recipients are email.to), in the digest.
    let eml = eml_files(&sandbox.path("digests"));
    assert_eq!(eml.len(), 1, "{eml:?}");
    let text = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(text.contains("ministers \"meet\" in Brussels"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_webhook_serves_topics_without_their_own_and_a_refusal_is_not_repeated_at_once() {
    let feeds = FeedServer::start().await;
    news(&feeds).await;
    let (hook, seen) = receiver(vec![200]).await;
    let (refusing, refused) = receiver(vec![400]).await;
    let topics = format!(
        "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n\
         [[topic]]\nname = \"Weather\"\nkeywords = [\"typhoon\"]\nwebhook = \"{}\"\n",
        refusing.url("/hook")
    );
    let webhooks = format!("[webhook]\nurl = \"{}\"\ntimeout = \"5s\"\n", hook.url("/all"));
    let sandbox = Sandbox::new(&config(&feeds, &webhooks, &topics));
    let check = sandbox.run(&["check"]).await;
    assert!(
        check
            .ok()
            .stdout
            .contains(&format!("webhook http://{}/…", refusing.addr)),
        "{}",
        check.stdout
    );
    let first = sandbox.run(&["poll"]).await;
    first.ok();

    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/all");
    assert_eq!(posts[0].body["topic"], "NATO");
    let refusals = refused.lock().unwrap().clone();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].body["topic"], "Weather");
    // The log and `check` name the host, not the URL's path (a chat's secret).
    let warning = first
        .stderr
        .lines()
        .find(|l| l.contains("message not sent"))
        .unwrap_or_default();
    assert!(
        warning.contains(&refusing.addr.to_string()) && warning.contains("400"),
        "{}",
        first.stderr
    );
    assert!(!first.stderr.contains("/hook"), "{}", first.stderr);
    // A refusal waits for its retry time (`email.retry_refused`, ten minutes by default: a
    // retry time of a second made this depend on how fast the first poll ran).
    sandbox.run(&["poll"]).await.ok();
    assert_eq!(refused.lock().unwrap().len(), 1);
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(outbox.ok().stdout.contains("400"), "{}", outbox.stdout);
    // Eleven minutes on (the clock set, not waited for), it is due: tried again, the same body.
    sandbox.run_later("11m", &["poll"]).await.ok();
    let refusals = refused.lock().unwrap().clone();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert_eq!(refusals[1].body, refusals[0].body);
    assert_eq!(seen.lock().unwrap().len(), 1, "the accepted post is not sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_written_to_ping_a_channel_or_disguise_a_link_reaches_chat_as_plain_text() {
    let feeds = FeedServer::start().await;
    let d = rfc2822_hours_ago(1);
    let title = "NATO @everyone @here <!channel> <@U024BE7LH> <https://evil.example|https://bank.example>";
    let escaped = title.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let items = [Item {
        guid: "1",
        title: &escaped,
        link: "https://wire.example/nato",
        text: "NATO ministers met.",
        date: &d,
    }];
    feeds.serve("/rss.xml", "application/rss+xml", rss(&items)).await;
    let (hook, seen) = receiver(vec![200]).await;
    let webhooks = format!("[webhook]\nurl = \"{}\"\n", hook.url("/all"));
    let topics = "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n";
    let sandbox = Sandbox::new(&config(&feeds, &webhooks, topics));
    sandbox.run(&["poll"]).await.ok();
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body = &posts[0].body;
    assert_eq!(body["title"], title, "the raw title, for scripts");
    for field in ["text", "content"] {
        let chat = body[field].as_str().unwrap();
        for ping in [
            "@everyone",
            "@here",
            "<!channel>",
            "<@U024BE7LH>",
            "<https://evil.example|",
        ] {
            assert!(!chat.contains(ping), "{field} carries {ping}: {chat}");
        }
        assert!(chat.contains("everyone") && chat.contains("bank.example"), "{chat}");
    }
    assert_eq!(body["allowed_mentions"], serde_json::json!({"parse": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_error_answer_is_read_only_as_far_as_its_start() {
    use axum::body::Body;
    let feeds = FeedServer::start().await;
    news(&feeds).await;
    // 500 with a body that never ends: the error is the start of it, read at once.
    let endless = || async {
        let chunks = futures_util::stream::unfold(0usize, |i| async move {
            let chunk = match i {
                0 => "database on fire; ".repeat(8),
                _ => "x".repeat(64 * 1024),
            };
            Some((Ok::<_, std::io::Error>(chunk), i + 1))
        });
        (StatusCode::INTERNAL_SERVER_ERROR, Body::from_stream(chunks))
    };
    let hook = http::serve(Router::new().route("/hook", post(endless))).await;
    let webhooks = format!("[webhook]\nurl = \"{}\"\ntimeout = \"30s\"\n", hook.url("/hook"));
    let topics = "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n";
    let sandbox = Sandbox::new(&config(&feeds, &webhooks, topics));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("500: database on fire;"),
        "{}",
        outbox.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_a_channel_this_newswatch_does_not_know_is_parked_never_mailed() {
    let feeds = FeedServer::start().await;
    news(&feeds).await;
    let (hook, seen) = receiver(vec![503, 200]).await;
    let topics = format!(
        "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\nwebhook = \"{}\"\n",
        hook.url("/hook")
    );
    let sandbox = Sandbox::new(&config(&feeds, "", &topics));
    sandbox.run(&["poll"]).await.ok();
    assert_eq!(seen.lock().unwrap().len(), 1, "the first post, refused for now");

    // As another version (or a hand in the database) would leave it: a channel the outbox's
    // check does not allow, so it is forced past the check.
    let db = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();
    db.execute_batch(
        "PRAGMA ignore_check_constraints = ON; UPDATE outbox SET channel = 'ntfy' WHERE channel = 'webhook';",
    )
    .unwrap();
    drop(db);

    let retry = sandbox.run(&["outbox", "retry"]).await;
    let outbox = sandbox.run(&["outbox"]).await;
    outbox.ok();
    assert!(
        outbox.stdout.contains("unknown channel \"ntfy\"") && outbox.stdout.contains("parked after 1 refusal:"),
        "{}\n{}",
        outbox.stdout,
        retry.stderr
    );
    let json = sandbox.run(&["status", "--json"]).await;
    assert!(
        json.ok().stdout.replace(' ', "").contains("\"channel\":\"ntfy\""),
        "{}",
        json.stdout
    );
    for screen in [&outbox.stdout, &json.stdout, &retry.stdout, &retry.stderr] {
        assert!(!screen.contains("/hook"), "the recipient's secret on screen: {screen}");
    }
    // Neither posted nor mailed as anything else; the digest still goes out by mail.
    assert_eq!(seen.lock().unwrap().len(), 1);
    sandbox.run(&["digest"]).await.ok();
    let eml = eml_files(&sandbox.path("digests"));
    assert_eq!(eml.len(), 1, "{eml:?}");
    let text = std::fs::read_to_string(&eml[0]).unwrap();
    assert!(text.contains("ministers \"meet\" in Brussels"), "{text}");
    assert!(
        !text.contains("/hook") && !text.contains("\"topic\""),
        "the post mailed: {text}"
    );
}
