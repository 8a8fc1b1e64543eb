//! Who a fetch may reach and what it tells whom, with the real binary and servers on 127.0.0.1:
//! permission to reach private addresses comes from the config, never from what a name
//! resolves to; a source's headers and password go to its own origin only; a host that says
//! `Retry-After: 0` is still left alone for a while.

mod common;

use std::net::ToSocketAddrs;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::*;
use common::*;
use tokio::net::TcpListener;

/// A name of this machine, other than `localhost`, that resolves to loopback only (on Debian
/// and most Linux hosts, the host name does, through /etc/hosts).
fn loopback_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()?
        .trim()
        .to_string();
    let addrs: Vec<_> = (name.as_str(), 0).to_socket_addrs().ok()?.collect();
    let usable = !name.is_empty()
        && !name.eq_ignore_ascii_case("localhost")
        && !addrs.is_empty()
        && addrs.iter().all(|a| a.ip().is_loopback());
    usable.then_some(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_resolves_to_a_private_address_grants_nothing() {
    let Some(name) = loopback_name() else {
        eprintln!("skipped: this machine's host name does not resolve to loopback only");
        return;
    };
    let hits = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&hits);
    let server = serve(Router::new().route(
        "/feed",
        get(move || {
            *counted.lock().unwrap() += 1;
            async { feed(rss_doc(&item("n1", "NATO by name", "http://news.test/n1"))) }
        }),
    ))
    .await;
    let url = format!("http://{name}:{}/feed", server.addr.port());
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"3s\"\nhost_delay = \"0s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"By name\"\nurl = \"{url}\"\n\
         [[source]]\nname = \"Allowed\"\nurl = \"{url}?allowed\"\nallow_private = true\n"
    ));
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        line(&poll.stdout, "By name").contains(&format!("error: refused to connect to {name} (127.")),
        "{}",
        poll.stdout
    );
    assert!(
        line(&poll.stdout, "Allowed").contains("1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
    assert_eq!(
        *hits.lock().unwrap(),
        1,
        "only the source allowed in the config was fetched"
    );
}

/// What a server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    api_key: Option<String>,
    user_agent: Option<String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn record(State((log, other)): State<(Log, String)>, uri: Uri, headers: HeaderMap) -> Response {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    let seen = Seen {
        path: uri.path().to_string(),
        authorization: get("authorization"),
        api_key: get("x-api-key"),
        user_agent: get("user-agent"),
    };
    log.lock().unwrap().push(seen.clone());
    let authorised = seen.authorization.as_deref() == Some("Basic YW5uOmh1bnRlcjI=") // ann:hunter2
        && seen.api_key.as_deref() == Some("t0ken");
    let page = |title: &str| {
        (
            [(header::CONTENT_TYPE, "text/html")],
            format!("<html><head><title>{title}</title></head><body><article><p>{title}: NATO members met in Brussels.</p></article></body></html>"),
        )
            .into_response()
    };
    match uri.path() {
        "/members/feed" if authorised => feed(rss_doc(
            &(item(
                "m1",
                "NATO members only",
                &format!("http://{}/members/a1", get("host").unwrap_or_default()),
            ) + &item("m2", "NATO elsewhere", &format!("{other}/a2"))),
        ))
        .into_response(),
        "/members/old" if authorised => redirect(StatusCode::FOUND, &format!("{other}/moved-feed")),
        "/members/a1" if authorised => page("Members article"),
        "/moved-feed" => feed(rss_doc(&item("m3", "NATO moved", "http://news.test/m3"))),
        "/a2" => page("Other article"),
        "/robots.txt" => StatusCode::NOT_FOUND.into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn recording_server(other: String) -> (Server, Log) {
    let log = Log::default();
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let router = Router::new()
        .fallback(get(record))
        .with_state((Arc::clone(&log), other));
    (serve_on(listener, router), log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_passwords_go_to_the_sources_own_origin_only() {
    // Another origin (same host, another port): where a redirect and an article link lead.
    let (elsewhere, elsewhere_log) = recording_server(String::new()).await;
    let (members, members_log) = recording_server(elsewhere.url("")).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"Members\"\nurl = \"{}\"\nfull_text = true\nuser_agent = \"MembersReader/1\"\n\
         username = \"ann\"\npassword_env = \"NW_TEST_MEMBERS_PASSWORD\"\nheaders = {{ \"X-Api-Key\" = {{ env = \"NW_TEST_MEMBERS_TOKEN\" }} }}\n\
         [[source]]\nname = \"Members moved\"\nurl = \"{}\"\nusername = \"ann\"\npassword_env = \"NW_TEST_MEMBERS_PASSWORD\"\n\
         headers = {{ \"X-Api-Key\" = \"t0ken\" }}\n",
        members.url("/members/feed"),
        members.url("/members/old"),
    ));
    let out = sandbox
        .command(&["poll"])
        .env("NW_TEST_MEMBERS_PASSWORD", "hunter2")
        .env("NW_TEST_MEMBERS_TOKEN", "t0ken")
        .env("NEWSWATCH_LOG", "debug")
        .output()
        .await
        .unwrap();
    let poll = Run::from(out);
    poll.ok();
    assert!(
        line(&poll.stdout, "Members").contains("2 new entries, 2 new stories matched"),
        "{}",
        poll.stdout
    );
    assert!(line(&poll.stdout, "Members moved").contains("1 new"), "{}", poll.stdout);
    assert!(
        !poll.stdout.contains("hunter2") && !poll.stderr.contains("hunter2") && !poll.stderr.contains("t0ken"),
        "a secret was printed: {}",
        poll.stderr
    );

    let members_seen = members_log.lock().unwrap().clone();
    for path in ["/members/feed", "/members/a1", "/members/old"] {
        let seen = members_seen
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("{path} not fetched"));
        assert!(seen.authorization.is_some() && seen.api_key.is_some(), "{seen:?}");
    }
    let elsewhere_seen = elsewhere_log.lock().unwrap().clone();
    for path in ["/moved-feed", "/a2"] {
        assert!(
            elsewhere_seen.iter().any(|s| s.path == path),
            "{path} not fetched: {elsewhere_seen:?}"
        );
    }
    for seen in &elsewhere_seen {
        assert_eq!(seen.authorization, None, "password sent to another origin: {seen:?}");
        assert_eq!(seen.api_key, None, "token sent to another origin: {seen:?}");
    }
    // The user agent is no secret: the source's own goes everywhere its requests go.
    let a2 = elsewhere_seen.iter().find(|s| s.path == "/a2").unwrap();
    assert_eq!(a2.user_agent.as_deref(), Some("MembersReader/1"));

    // Without the password in the environment, the config is refused before anything is sent.
    let before = members_log.lock().unwrap().len();
    let out = sandbox
        .command(&["poll"])
        .env("NW_TEST_MEMBERS_TOKEN", "t0ken")
        .output()
        .await
        .unwrap();
    let refused = Run::from(out);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused.stderr.contains("NW_TEST_MEMBERS_PASSWORD is not set"),
        "{}",
        refused.stderr
    );
    assert_eq!(members_log.lock().unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_zero_still_holds_the_host_for_a_minute() {
    let hits = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&hits);
    let server = serve(Router::new().route(
        "/feed",
        get(move || {
            *counted.lock().unwrap() += 1;
            async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "0")], "slow down") }
        }),
    ))
    .await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ninterval = \"1h\"\ntimeout = \"3s\"\nhost_delay = \"0s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"Eager\"\nurl = \"{}\"\n",
        server.url("/feed")
    ));
    let first = sandbox.run(&["poll"]).await;
    assert!(line(&first.stdout, "Eager").contains("HTTP 429"), "{}", first.stdout);
    let again = sandbox.run(&["poll"]).await;
    assert!(line(&again.stdout, "Eager").contains("skipped"), "{}", again.stdout);
    assert_eq!(*hits.lock().unwrap(), 1, "asked again at once");

    // The daemon's view: not before the source's own next poll (an hour, give or take 10 %).
    let status = sandbox.run(&["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_str(&status.ok().stdout).unwrap();
    let next: jiff::Timestamp = status["sources"][0]["next_poll"].as_str().unwrap().parse().unwrap();
    let wait = next.duration_since(jiff::Timestamp::now());
    assert!(wait > jiff::SignedDuration::from_mins(50), "next poll in {wait:?}");
}
