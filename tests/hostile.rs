//! Hostile and broken servers, all on 127.0.0.1: each case is a source that misbehaves in its own
//! way, polled in one run beside a healthy source. For every case newswatch must survive, name
//! the source with a clear reason, store nothing wrong, and still serve the healthy source; and
//! the daemon keeps running beside the worst of them. (Addresses, proxies and robots.txt:
//! `network.rs`.)

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::http::*;
use common::*;

const MAX_BODY: usize = 8 << 20;

/// 32 MiB of whitespace inside a feed, compressed to a few dozen KiB; made once.
static BOMB: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let mut doc = b"<rss version=\"2.0\"><channel><title>t</title>".to_vec();
    doc.extend(std::iter::repeat_n(b' ', 32 << 20));
    gzip(&doc)
});

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[derive(Default)]
struct Counters {
    conditional: AtomicUsize,
    etag_requests: AtomicUsize,
}

/// The zoo: one path per misbehaviour.
async fn zoo(Path(case): Path<String>, State(counters): State<Arc<Counters>>, headers: HeaderMap) -> Response {
    let base = "http://news.test";
    match case.as_str() {
        "healthy" => feed(rss_doc(&(item("h1", "NATO summit opens", &format!("{base}/h1")) + &item("h2", "Weather", &format!("{base}/h2"))))),
        "moved-target" => feed(rss_doc(&item("m1", "Moved feed about the weather", &format!("{base}/m1")))),
        "big" => feed(vec![b' '; MAX_BODY + 1024 * 1024]),
        "bomb" => ([(header::CONTENT_TYPE, "application/rss+xml"), (header::CONTENT_ENCODING, "gzip")], BOMB.clone()).into_response(),
        "truncated-gzip" => {
            let mut z = gzip(rss_doc(&item("tg", "NATO gzip", "http://news.test/tg")).as_bytes());
            z.truncate(z.len() / 2);
            ([(header::CONTENT_TYPE, "application/rss+xml"), (header::CONTENT_ENCODING, "gzip")], z).into_response()
        }
        "drip" => ([(header::CONTENT_TYPE, "application/rss+xml")], drip(60)).into_response(),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            feed("")
        }
        "loop-a" => redirect(StatusCode::FOUND, "/zoo/loop-b"),
        "loop-b" => redirect(StatusCode::FOUND, "/zoo/loop-a"),
        "to-file" => redirect(StatusCode::FOUND, "file:///etc/passwd"),
        "to-ftp" => redirect(StatusCode::MOVED_PERMANENTLY, "ftp://news.test/feed"),
        "no-location" => StatusCode::FOUND.into_response(),
        "moved" => redirect(StatusCode::MOVED_PERMANENTLY, "/zoo/moved-target"),
        "404" => StatusCode::NOT_FOUND.into_response(),
        "410" => StatusCode::GONE.into_response(),
        "500" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "login" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form><input name=user></form></body></html>",
        )
            .into_response(),
        "malformed" => feed("<rss version=\"2.0\"><channel><title>t</title><item><title>NATO cut off"),
        // Ill-formed in its second item: the first and the third are still read.
        "malformed-partly" => feed(
            "<rss version=\"2.0\"><channel><title>t</title>\
             <item><guid>p1</guid><title>NATO before</title><link>http://news.test/p1</link></item>\
             <item><guid>p2</guid><title>NATO <b>bold</title></item>\
             <item><guid>p3</guid><title>NATO after</title><link>http://news.test/p3</link></item></channel></rss>",
        ),
        "empty" => feed(""),
        "bad-json" => ([(header::CONTENT_TYPE, "application/feed+json")], "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [").into_response(),
        "laughs" => feed(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]><rss version="2.0"><channel><title>t</title><item><guid>bl</guid><title>Laughs &lol9;</title><link>http://news.test/bl</link></item></channel></rss>"#,
        ),
        "xxe" => feed(
            r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>t</title><item><guid>x</guid><title>XXE &xxe;</title><link>http://news.test/xxe</link></item></channel></rss>"#,
        ),
        "huge-feed" => {
            let mut doc = String::from(r#"<rss version="2.0"><channel><title>t</title>"#);
            for i in 0..100_000 {
                doc.push_str(&format!("<item><guid>g{i}</guid><title>t{i}</title></item>"));
            }
            doc.push_str("</channel></rss>");
            feed(doc)
        }
        "bad-utf8" => {
            let mut doc = br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item><guid>u</guid><title>NATO "#.to_vec();
            doc.extend_from_slice(b"\xff\xfe\xc3 broken</title><link>http://news.test/utf8</link></item></channel></rss>");
            feed(doc)
        }
        "cp1251" => {
            let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Украина: новости");
            let mut doc = br#"<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>t</title><item><guid>c</guid><title>"#.to_vec();
            doc.extend_from_slice(&bytes);
            doc.extend_from_slice(b"</title><link>http://news.test/cp1251</link></item></channel></rss>");
            feed(doc)
        }
        "sjis" => {
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("陸上自衛隊が訓練");
            let mut doc = br#"<?xml version="1.0" encoding="Shift_JIS"?><rss version="2.0"><channel><title>t</title><item><guid>s</guid><title>"#.to_vec();
            doc.extend_from_slice(&bytes);
            doc.extend_from_slice(b"</title><link>http://news.test/sjis</link></item></channel></rss>");
            feed(doc)
        }
        "dup-guids" => feed(rss_doc(&(item("same", "NATO first version", "http://news.test/d1") + &item("same", "NATO second version", "http://news.test/d2")))),
        "no-links" => feed(rss_doc("<item><title>NATO without link or date</title><description>Body</description></item><item><guid>nl2</guid><description>NATO without a title</description></item>")),
        "script-title" => feed(rss_doc(&item("st", "&lt;script&gt;alert(1)&lt;/script&gt;NATO&#13;&#10;Bcc: victim@example.org", "http://news.test/st"))),
        "long-title" => feed(rss_doc(&item("lt", &format!("NATO {}", "x".repeat(1 << 20)), "http://news.test/lt"))),
        "deep" => {
            let deep = format!("{}NATO deep{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
            feed(rss_doc(&format!("<item><guid>dp</guid><title>Deep</title><link>http://news.test/deep</link><description><![CDATA[{deep}]]></description></item>")))
        }
        "controls" => feed(rss_doc(&item("ct", "NATO\u{1}\u{7} control \u{1b}[31m chars", "http://news.test/ctl"))),
        "text-plain" => ([(header::CONTENT_TYPE, "text/plain")], rss_doc(&item("tp", "NATO served as text/plain", "http://news.test/tp"))).into_response(),
        "javascript-link" => feed(rss_doc(&item("js", "NATO link trick", "javascript:alert(document.cookie)"))),
        "etag" => {
            counters.etag_requests.fetch_add(1, Ordering::SeqCst);
            if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                counters.conditional.fetch_add(1, Ordering::SeqCst);
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v1\"")]).into_response();
            }
            let mut r = feed(rss_doc(&item("e1", "Etag story", "http://news.test/e1")));
            r.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"v1\""));
            r
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A body of one byte a second, `n` times.
fn drip(n: usize) -> Body {
    let bytes = futures_util::stream::unfold(0usize, move |i| async move {
        if i >= n {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), i + 1))
    });
    Body::from_stream(bytes)
}

struct Zoo {
    main: Server,
    rate_limited: Server,
    unavailable: Server,
    lying_length: Server,
    slammer: Server,
    huge_length: Server,
    counters: Arc<Counters>,
}

async fn start_zoo() -> Zoo {
    tokio::task::spawn_blocking(|| std::sync::LazyLock::force(&BOMB))
        .await
        .unwrap();
    let counters = Arc::new(Counters::default());
    let main = serve(
        Router::new()
            .route("/zoo/{case}", get(zoo))
            .with_state(Arc::clone(&counters)),
    )
    .await;
    // Rate limits hold for a whole host, so these live on hosts of their own.
    let rate_limited = serve(Router::new().route(
        "/feed",
        get(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "120")]).into_response() }),
    ))
    .await;
    let unavailable = serve(Router::new().route(
        "/feed",
        get(|| async {
            let at = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30))
                .strftime("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, at)]).into_response()
        }),
    ))
    .await;
    let lying_length = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<rss version=\"2.0\"><channel>",
        false,
    )
    .await;
    let slammer = raw_server(b"", false).await;
    let huge_length = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000000000\r\n\r\n<rss>",
        true,
    )
    .await;
    Zoo {
        main,
        rate_limited,
        unavailable,
        lying_length,
        slammer,
        huge_length,
        counters,
    }
}

/// Every case: source name, URL, and what its line in `poll` output must contain.
fn cases(z: &Zoo) -> Vec<(&'static str, String, &'static str)> {
    let m = |c: &str| z.main.url(&format!("/zoo/{c}"));
    vec![
        ("Healthy", m("healthy"), "2 new entries, 1 new story matched"),
        (
            "Over the cap",
            m("big"),
            "error: response larger than the 8388608-byte limit",
        ),
        (
            "Gzip bomb",
            m("bomb"),
            "error: response larger than the 8388608-byte limit",
        ),
        ("Truncated gzip", m("truncated-gzip"), "error: unexpected end of file"),
        ("Drip", m("drip"), "error: timed out after 2s"),
        ("Hang", m("hang"), "error: timed out after 2s"),
        ("Redirect loop", m("loop-a"), "error: redirect loop at"),
        ("Redirect to file", m("to-file"), "error: bad redirect: to a file: URL"),
        ("Redirect to ftp", m("to-ftp"), "error: bad redirect: to a ftp: URL"),
        (
            "Redirect without location",
            m("no-location"),
            "error: bad redirect: HTTP 302 without a Location",
        ),
        (
            "Moved",
            m("moved"),
            "1 new entry, 0 new stories matched (moved permanently to ",
        ),
        ("Not found", m("404"), "error: HTTP 404 Not Found"),
        ("Gone", m("410"), "error: HTTP 410 Gone"),
        ("Server error", m("500"), "error: HTTP 500 Internal Server Error"),
        (
            "Rate limited",
            z.rate_limited.url("/feed"),
            "error: HTTP 429 Too Many Requests (Retry-After 2m)",
        ),
        (
            "Unavailable",
            z.unavailable.url("/feed"),
            "error: HTTP 503 Service Unavailable (Retry-After ",
        ),
        ("Login page", m("login"), "error: not a feed (got text/html)"),
        ("Malformed XML", m("malformed"), "error: malformed feed"),
        (
            "Malformed, partly",
            m("malformed-partly"),
            "3 new entries, 3 new stories matched; warning: malformed feed (expected `</b>`, but `</title>` was found at line 1): 3 entries recovered",
        ),
        ("Empty body", m("empty"), "error: malformed feed"),
        ("Broken JSON", m("bad-json"), "error: malformed feed"),
        ("Billion laughs", m("laughs"), "1 new entry, 0 new stories matched"),
        ("XXE", m("xxe"), "1 new entry, 0 new stories matched"),
        (
            "Hundred thousand",
            m("huge-feed"),
            "1000 new entries, 0 new stories matched, 99000 older entries over fetch.max_entries skipped",
        ),
        ("Invalid UTF-8", m("bad-utf8"), "1 new entry, 1 new story matched"),
        ("Windows-1251", m("cp1251"), "1 new entry, 1 new story matched"),
        ("Shift_JIS", m("sjis"), "1 new entry, 1 new story matched"),
        ("Duplicate GUIDs", m("dup-guids"), "1 new entry, 1 new story matched"),
        (
            "No links or dates",
            m("no-links"),
            "2 new entries, 2 new stories matched",
        ),
        ("Script title", m("script-title"), "1 new entry, 1 new story matched"),
        ("Megabyte title", m("long-title"), "1 new entry, 1 new story matched"),
        ("Deep markup", m("deep"), "1 new entry, 1 new story matched"),
        ("Control characters", m("controls"), "1 new entry, 1 new story matched"),
        ("Text plain", m("text-plain"), "1 new entry, 1 new story matched"),
        (
            "Javascript link",
            m("javascript-link"),
            "1 new entry, 1 new story matched",
        ),
        ("Conditional", m("etag"), "1 new entry, 0 new stories matched"),
        (
            "Lying length",
            z.lying_length.url("/feed"),
            "error: end of file before message length reached",
        ),
        (
            "Slammed door",
            z.slammer.url("/feed"),
            "error: connection closed before message completed",
        ),
        (
            "Five gigabytes",
            z.huge_length.url("/feed"),
            "error: response larger than",
        ),
    ]
}

fn zoo_config(cases: &[(&str, String, &str)]) -> String {
    let mut cfg = String::from(
        r#"
[fetch]
timeout = "2s"
max_body = "8MiB"
host_delay = "0s"
per_host = 64
concurrency = 64

[[topic]]
name = "Watch"
keywords = ["NATO", "Украина", "自衛隊"]
"#,
    );
    for (name, url, _) in cases {
        cfg.push_str(&format!("\n[[source]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    cfg
}

fn db(sandbox: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap()
}

fn stored_titles(conn: &rusqlite::Connection, source: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT i.title FROM entries s JOIN sources src ON src.id = s.source_id JOIN items i ON i.id = s.item_id
             WHERE src.name = ?1 ORDER BY s.id",
        )
        .unwrap();
    stmt.query_map([source], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_servers_are_survived_reported_and_contained() {
    let zoo = start_zoo().await;
    let cases = cases(&zoo);
    let sandbox = Sandbox::new(&zoo_config(&cases));

    let poll = sandbox.run(&["poll"]).await;
    assert_eq!(poll.code, Some(0), "{poll:?}");
    for (name, _, expected) in &cases {
        let l = line(&poll.stdout, name);
        assert!(l.contains(expected), "{name}: expected {expected:?} in {l:?}");
    }
    // One line per source and a total, whatever the servers sent: no carriage return or
    // line feed from a hostile source starts a line of its own.
    assert!(!poll.stdout.contains('\r'), "{:?}", poll.stdout);
    let lines: Vec<&str> = poll.stdout.lines().collect();
    assert_eq!(lines.len(), cases.len() + 1, "{}", poll.stdout);
    for l in &lines[..cases.len()] {
        assert!(
            cases.iter().any(|(name, _, _)| l.starts_with(&format!("{name}: "))),
            "a line that is no source's: {l:?}"
        );
    }
    assert!(
        lines[cases.len()].starts_with(&format!("total: {} sources, ", cases.len())),
        "{}",
        lines[cases.len()]
    );

    // Nothing is stored from a failed source.
    let conn = db(&sandbox);
    for (name, _, expected) in &cases {
        if expected.starts_with("error") {
            assert!(stored_titles(&conn, name).is_empty(), "{name} stored items");
        }
    }
    // And what is stored is right.
    assert_eq!(stored_titles(&conn, "Windows-1251"), ["Украина: новости"]);
    assert_eq!(stored_titles(&conn, "Shift_JIS"), ["陸上自衛隊が訓練"]);
    // Bytes that are not UTF-8, whatever the declaration says, are read as windows-1252.
    assert_eq!(stored_titles(&conn, "Invalid UTF-8"), ["NATO ÿþÃ broken"]);
    let mut recovered = stored_titles(&conn, "Malformed, partly");
    recovered.sort();
    assert_eq!(recovered, ["NATO after", "NATO before", "NATO bold"]);
    assert_eq!(
        stored_titles(&conn, "Duplicate GUIDs"),
        ["NATO first version"],
        "the first of two same GUIDs wins"
    );
    assert_eq!(stored_titles(&conn, "No links or dates").len(), 2);
    let script = &stored_titles(&conn, "Script title")[0];
    assert!(
        !script.contains('\r') && !script.contains('\n') && !script.contains("<script"),
        "{script:?}"
    );
    assert!(stored_titles(&conn, "Megabyte title")[0].len() <= 1_000);
    assert!(!stored_titles(&conn, "XXE")[0].contains("root:"), "no file was read");
    assert!(
        stored_titles(&conn, "Billion laughs")[0].len() < 100,
        "no entity expansion"
    );
    let control = &stored_titles(&conn, "Control characters")[0];
    assert!(!control.contains('\u{1b}') && !control.contains('\u{7}'), "{control:?}");
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM entries s JOIN sources src ON src.id = s.source_id WHERE src.name = 'Hundred thousand'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 1000);
    let js_link: Option<String> = conn
        .query_row("SELECT link FROM items WHERE title = 'NATO link trick'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(js_link, None, "a javascript: link is never stored");

    // The digest carries the good stories, escaped and with headers kept clean.
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    dry.ok();
    assert!(dry.stdout.contains("NATO summit opens"));
    assert!(dry.stdout.contains("Украина: новости") && dry.stdout.contains("陸上自衛隊が訓練"));
    assert!(!dry.stdout.contains("javascript:"));

    // Second poll: unchanged feeds cost a 304 or nothing; failures back off; 410 is paused; the
    // rate-limited hosts are left alone.
    assert_eq!(zoo.counters.conditional.load(Ordering::SeqCst), 0);
    let second = sandbox.run(&["poll"]).await;
    second.ok();
    assert_eq!(line(&second.stdout, "Conditional"), "Conditional: unchanged");
    assert_eq!(
        zoo.counters.conditional.load(Ordering::SeqCst),
        1,
        "If-None-Match sent and answered 304"
    );
    assert_eq!(
        line(&second.stdout, "Healthy"),
        "Healthy: unchanged",
        "same body: not parsed again"
    );
    assert!(
        line(&second.stdout, "Gone").contains("skipped: paused after HTTP 410 Gone"),
        "{}",
        second.stdout
    );
    assert!(line(&second.stdout, "Not found").contains("skipped: backing off after 1 failure until"));
    assert!(line(&second.stdout, "Rate limited").contains("asked to wait (HTTP 429) until"));
    assert!(line(&second.stdout, "Unavailable").contains("asked to wait (HTTP 503) until"));

    // --force polls what backs off, but not what is paused.
    let forced = sandbox.run(&["poll", "--force"]).await;
    forced.ok();
    assert!(line(&forced.stdout, "Not found").contains("error: HTTP 404"));
    assert!(line(&forced.stdout, "Gone").contains("skipped: paused"));

    // The health table names the troubled sources.
    let table = sandbox.run(&["sources"]).await;
    table.ok();
    assert!(
        table.stdout.contains("SOURCE") && table.stdout.contains("LAST ERROR"),
        "{}",
        table.stdout
    );
    let gone_row = table.stdout.lines().find(|l| l.contains(" Gone ")).unwrap();
    assert!(
        gone_row.starts_with('!') && gone_row.contains("paused (410 Gone)"),
        "{gone_row}"
    );
    let json = sandbox.run(&["sources", "--json"]).await;
    let health: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    let by_name: HashMap<&str, &serde_json::Value> = health
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h))
        .collect();
    assert_eq!(by_name["Not found"]["consecutive_failures"], 2);
    assert_eq!(by_name["Not found"]["last_status"], 404);
    assert_eq!(by_name["Healthy"]["status"], "ok");
    assert_eq!(by_name["Healthy"]["items_seen"], 2);
    assert_eq!(by_name["Healthy"]["items_matched"], 1);
    assert!(
        by_name["Moved"]["moved_to"]
            .as_str()
            .unwrap()
            .ends_with("/zoo/moved-target")
    );

    // The digest ends with the sources that need the user.
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    dry.ok();
    assert!(dry.stdout.contains("\nSources needing attention:\n"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("\n- Gone: paused after HTTP 410 Gone"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("\n- Moved: moved permanently to "),
        "{}",
        dry.stdout
    );
    assert!(!dry.stdout.contains("\n- Healthy:"));

    // Resuming a paused source polls it again.
    let resumed = sandbox.run(&["sources", "--resume", "Gone"]).await;
    resumed.ok();
    let after = sandbox.run(&["poll"]).await;
    assert!(
        line(&after.stdout, "Gone").contains("error: HTTP 410 Gone"),
        "{}",
        after.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn daemon_keeps_serving_beside_hostile_sources_and_stops_in_time() {
    let zoo = start_zoo().await;
    let m = |c: &str| zoo.main.url(&format!("/zoo/{c}"));
    let picked = vec![
        ("Drip", m("drip"), ""),
        ("Hang", m("hang"), ""),
        ("Gzip bomb", m("bomb"), ""),
        ("Malformed XML", m("malformed"), ""),
        ("Slammed door", zoo.slammer.url("/feed"), ""),
        ("Healthy", m("healthy"), ""),
    ];
    let sandbox = Sandbox::new(&zoo_config(&picked));
    let mut daemon = sandbox
        .command(&["run"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Wait (bounded) until the healthy source is stored.
    let mut healthy = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if sandbox.path("newswatch.db").exists() {
            let conn = db(&sandbox);
            if conn
                .query_row("SELECT last_success FROM sources WHERE name = 'Healthy'", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .ok()
                .flatten()
                .is_some()
            {
                healthy = true;
                break;
            }
        }
    }
    assert!(healthy, "the healthy source was never stored");
    assert!(daemon.try_wait().unwrap().is_none(), "daemon still running");

    // Stop while the drip and hang sources may still be in flight.
    let pid = daemon.id().unwrap().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(12), daemon.wait())
        .await
        .expect("daemon must stop within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let conn = db(&sandbox);
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}
