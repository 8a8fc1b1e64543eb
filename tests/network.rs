//! What crosses the network, and what must not: with the real binary and servers on 127.0.0.1,
//! our own network down counts against no source, robots.txt is obeyed for pages, redirects
//! from public sources never reach this machine or the metadata service, and loopback never
//! goes through a proxy while everything else does.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::*;
use common::*;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_network_down_penalises_no_source() {
    let dead: Vec<DeadPort> = (0..3).map(|_| DeadPort::new()).collect();
    let mut cfg = String::from(
        "[fetch]\ntimeout = \"2s\"\nhost_delay = \"0s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n",
    );
    for (i, dead) in dead.iter().enumerate() {
        cfg.push_str(&format!(
            "[[source]]\nname = \"Dead {i}\"\nurl = \"http://127.0.0.1:{}/feed\"\n",
            dead.port
        ));
    }
    let sandbox = Sandbox::new(&cfg);
    let poll = sandbox.run(&["poll"]).await;
    assert_eq!(poll.code, Some(1), "all failed: {poll:?}");
    assert!(line(&poll.stdout, "Dead 0").contains("the network looks down: not counted against the source"));
    let json = sandbox.run(&["sources", "--json"]).await;
    let health: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    for h in health.as_array().unwrap() {
        assert_eq!(h["consecutive_failures"], 0, "{h}");
    }

    // With one source reachable, the same failures are the sources' own.
    let healthy = healthy_feed().await;
    cfg.push_str(&format!(
        "[[source]]\nname = \"Healthy\"\nurl = \"{}\"\n",
        healthy.url("/feed")
    ));
    let sandbox = Sandbox::new(&cfg);
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(
        !line(&poll.stdout, "Dead 0").contains("network looks down"),
        "{}",
        poll.stdout
    );
    let json = sandbox.run(&["sources", "--json"]).await;
    let health: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    assert_eq!(health[0]["consecutive_failures"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_honoured_for_pages() {
    use newswatch::fetch::{FetchError, Fetched, Fetcher, Scope};
    let site = serve(
        Router::new()
            .route("/robots.txt", get(|| async { "User-agent: *\nDisallow: /private/\n" }))
            .route("/private/article", get(|| async { "<html><body>secret</body></html>" }))
            .route("/public/article", get(|| async { "<html><body>hello</body></html>" })),
    )
    .await;
    let no_robots = serve(Router::new().route("/a", get(|| async { "<html>ok</html>" }))).await;
    let broken_robots = serve(
        Router::new()
            .route("/robots.txt", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route("/a", get(|| async { "<html>ok</html>" })),
    )
    .await;
    let config = newswatch::config::Config::parse(
        "[fetch]\ntimeout = \"2s\"\nhost_delay = \"0s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"x\"]\n[[source]]\nname = \"S\"\nurl = \"http://127.0.0.1/\"\n",
        std::path::Path::new("t.toml"),
        |_| None,
    )
    .unwrap();
    let fetcher = Fetcher::new(&config.fetch).unwrap();
    let url = |s: &Server, p: &str| url::Url::parse(&s.url(p)).unwrap();
    let any = Scope::for_url(&url(&site, "/"), true);

    let denied = fetcher.get_page(&url(&site, "/private/article"), &any).await;
    assert!(matches!(denied, Err(FetchError::RobotsDisallowed(_))), "{denied:?}");
    assert!(denied.unwrap_err().to_string().contains("robots.txt"));
    assert!(matches!(
        fetcher.get_page(&url(&site, "/public/article"), &any).await,
        Ok(Fetched::Document(_))
    ));
    // No robots.txt (404): everything allowed.
    assert!(matches!(
        fetcher.get_page(&url(&no_robots, "/a"), &any).await,
        Ok(Fetched::Document(_))
    ));
    // robots.txt failing with a 5xx: not now.
    let later = fetcher.get_page(&url(&broken_robots, "/a"), &any).await;
    assert!(matches!(later, Err(FetchError::RobotsUnavailable { .. })), "{later:?}");
}

/// A public address the tests never connect to: requests for it go to the proxy below.
const PUBLIC_HOST: &str = "93.184.216.34";

/// Requests an HTTP server answered: through it as a proxy (absolute URI in the request line),
/// and directly.
#[derive(Default)]
struct Hits {
    proxied: AtomicUsize,
    direct: AtomicUsize,
}

impl Hits {
    fn take(&self) -> (usize, usize) {
        (
            self.proxied.swap(0, Ordering::SeqCst),
            self.direct.swap(0, Ordering::SeqCst),
        )
    }
}

/// An HTTP proxy on 127.0.0.1 that answers for every host itself: `/feed` is a feed, and
/// `/to-...` redirect to loopback, localhost, IPv6 loopback or the cloud metadata address.
async fn redirecting_proxy(hits: Arc<Hits>) -> Server {
    async fn answer(
        Path(case): Path<String>,
        State((port, hits)): State<(u16, Arc<Hits>)>,
        uri: axum::http::Uri,
    ) -> Response {
        let counter = if uri.authority().is_some() {
            &hits.proxied
        } else {
            &hits.direct
        };
        counter.fetch_add(1, Ordering::SeqCst);
        let to = |url: String| redirect(StatusCode::FOUND, &url);
        match case.as_str() {
            "feed" => feed(rss_doc(&item("p1", "NATO behind a redirect", "http://news.test/p1"))),
            "to-loopback" => to(format!("http://127.0.0.1:{port}/feed")),
            "to-localhost" => to(format!("http://localhost:{port}/feed")),
            "to-ipv6-loopback" => to(format!("http://[::1]:{port}/feed")),
            "to-metadata" => to("http://169.254.169.254/latest/meta-data/".to_string()),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/{case}", get(answer))
        .with_state((addr.port(), hits));
    serve_on(listener, router)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_from_public_sources_to_private_addresses_are_refused() {
    let hits = Arc::new(Hits::default());
    let proxy = redirecting_proxy(Arc::clone(&hits)).await;
    let cases = [
        ("Direct", "feed"),
        ("To loopback", "to-loopback"),
        ("To localhost", "to-localhost"),
        ("To IPv6 loopback", "to-ipv6-loopback"),
        ("To metadata", "to-metadata"),
    ];
    let config = |extra: &str| {
        let mut cfg = format!(
            "[fetch]\ntimeout = \"3s\"\nhost_delay = \"0s\"\nproxy = \"{}\"\n{extra}\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n",
            proxy.url("")
        );
        for (name, path) in cases {
            cfg.push_str(&format!(
                "[[source]]\nname = \"{name}\"\nurl = \"http://{PUBLIC_HOST}/{path}\"\nkind = \"feed\"\n"
            ));
        }
        cfg
    };

    // A source on a public address is fetched through the proxy; every redirect it makes to
    // this machine or the metadata service is refused before a connection is made.
    let sandbox = Sandbox::new(&config(""));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    assert!(
        line(&poll.stdout, "Direct").contains("1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
    for (name, expected) in [
        (
            "To loopback",
            "error: refused to connect to 127.0.0.1: not a public address",
        ),
        (
            "To localhost",
            "error: refused to connect to localhost: not a public address",
        ),
        (
            "To IPv6 loopback",
            "error: refused to connect to [::1]: not a public address",
        ),
        (
            "To metadata",
            "error: refused to connect to 169.254.169.254: not a public address",
        ),
    ] {
        assert!(line(&poll.stdout, name).contains(expected), "{name}: {}", poll.stdout);
    }
    assert_eq!(
        hits.take(),
        (5, 0),
        "one request per source, none after a refused redirect"
    );

    // With fetch.allow_private, the same redirects to this machine are followed, directly:
    // never through the proxy.
    let sandbox = Sandbox::new(&config("allow_private = true").replace(
        "[[source]]\nname = \"To metadata\"\nurl = \"http://93.184.216.34/to-metadata\"\nkind = \"feed\"\n",
        "",
    ));
    let poll = sandbox.run(&["poll"]).await;
    poll.ok();
    for name in ["To loopback", "To localhost"] {
        assert!(line(&poll.stdout, name).contains("1 new"), "{name}: {}", poll.stdout);
    }
    assert_eq!(
        hits.take(),
        (4, 2),
        "four through the proxy, two redirects followed directly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_never_goes_through_a_proxy_and_the_rest_does() {
    let healthy = healthy_feed().await;
    let dead = DeadPort::new();
    let dead_proxy = format!("http://127.0.0.1:{}", dead.port);
    let source = format!(
        "[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n[[source]]\nname = \"Healthy\"\nurl = \"{}\"\n",
        healthy.url("/feed")
    );
    // A configured proxy, and the environment's, are both bypassed for loopback.
    let sandbox = Sandbox::new(&format!(
        "[fetch]\nproxy = \"{dead_proxy}\"\ntimeout = \"3s\"\n{source}"
    ));
    let poll = sandbox.run(&["poll"]).await;
    assert!(line(&poll.ok().stdout, "Healthy").contains("2 new"), "{}", poll.stdout);

    let sandbox = Sandbox::new(&format!("[fetch]\ntimeout = \"3s\"\n{source}"));
    let out = sandbox
        .command(&["poll"])
        .env("HTTP_PROXY", &dead_proxy)
        .env("ALL_PROXY", &dead_proxy)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(line(&stdout, "Healthy").contains("2 new"), "{stdout}");

    // Anything else goes through the environment's proxy.
    let hits = Arc::new(Hits::default());
    let proxy = redirecting_proxy(Arc::clone(&hits)).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"3s\"\n[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"Public\"\nurl = \"http://{PUBLIC_HOST}/feed\"\n"
    ));
    let out = sandbox
        .command(&["poll"])
        .env("http_proxy", proxy.url(""))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        line(&stdout, "Public").contains("1 new entry, 1 new story matched"),
        "{stdout}"
    );
    assert_eq!(hits.take(), (1, 0));
}
