//! The feed corpus: every file under `tests/corpus/<category>/` is a small feed with a TOML
//! sidecar saying what a liberal reader takes out of it (each entry's title, link and
//! publication time; the poll's warning or error). All of them are served over HTTP on
//! 127.0.0.1, with the sidecar's content type and headers, polled once by the real binary, and
//! what the SQLite file then holds is compared with every sidecar. Every mismatch is reported
//! at once.
//!
//! Sidecar keys: `file`; `content_type` (else by extension); `headers` (a table); `poll` (a
//! text the poll line must contain; without it, the line must carry no warning); `error` (the
//! poll must fail with this text, and store nothing); `[[entry]]` with `title`, `link` and
//! `published` (RFC 3339; a missing key means none). `{origin}` in a link is the server's.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use common::http::serve;
use common::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    file: String,
    content_type: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    poll: Option<String>,
    error: Option<String>,
    #[serde(default)]
    entry: Vec<Expected>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Expected {
    title: String,
    link: Option<String>,
    published: Option<String>,
}

struct Case {
    /// `<category>/<name>`: the source's name.
    name: String,
    path: String,
    sidecar: Sidecar,
}

/// A document as the server sends it: body, content type, extra headers.
type Served = (Vec<u8>, String, BTreeMap<String, String>);

fn load_corpus(root: &Path) -> (Vec<Case>, HashMap<String, Served>) {
    let mut cases = Vec::new();
    let mut served = HashMap::new();
    let mut categories: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).collect();
    categories.sort();
    for dir in categories.into_iter().filter(|p| p.is_dir()) {
        let category = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut sidecars: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        sidecars.sort();
        for sidecar_path in sidecars {
            let stem = sidecar_path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&sidecar_path).unwrap();
            let sidecar: Sidecar = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", sidecar_path.display()));
            let body = std::fs::read(dir.join(&sidecar.file)).unwrap();
            let content_type = sidecar.content_type.clone().unwrap_or_else(|| {
                match Path::new(&sidecar.file).extension().and_then(|e| e.to_str()) {
                    Some("json") => "application/feed+json",
                    Some("html") => "text/html",
                    _ => "application/xml",
                }
                .to_string()
            });
            let path = format!("/corpus/{category}/{}", sidecar.file);
            served.insert(path.clone(), (body, content_type, sidecar.headers.clone()));
            cases.push(Case {
                name: format!("{category}/{stem}"),
                path,
                sidecar,
            });
        }
    }
    (cases, served)
}

async fn answer(State(served): State<Arc<HashMap<String, Served>>>, uri: Uri) -> Response {
    let Some((body, content_type, headers)) = served.get(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = Response::new(Body::from(body.clone()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    for (k, v) in headers {
        response
            .headers_mut()
            .insert(header::HeaderName::try_from(k.as_str()).unwrap(), v.parse().unwrap());
    }
    response
}

/// (title, link, published) of every entry stored for `source`, sorted.
fn stored(conn: &rusqlite::Connection, source: &str) -> Vec<(String, Option<String>, Option<i64>)> {
    let mut stmt = conn
        .prepare(
            "SELECT s.title, s.link, s.published FROM entries s
             JOIN sources src ON src.id = s.source_id JOIN items i ON i.id = s.item_id
             WHERE src.name = ?1",
        )
        .unwrap();
    let mut rows: Vec<_> = stmt
        .query_map([source], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_feed_reads_as_its_sidecar_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (cases, served) = load_corpus(&root);
    assert!(cases.len() >= 150, "the corpus has {} cases", cases.len());
    let server = serve(Router::new().fallback(answer).with_state(Arc::new(served))).await;
    let origin = server.url("");

    let mut config = String::from(
        "[fetch]\ntimeout = \"10s\"\nhost_delay = \"0s\"\nper_host = 32\nconcurrency = 32\n\
         [[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n",
    );
    for case in &cases {
        config.push_str(&format!(
            "[[source]]\nname = \"{}\"\nurl = \"{origin}{}\"\nkind = \"feed\"\n",
            case.name, case.path
        ));
    }
    let sandbox = Sandbox::new(&config);
    let poll = sandbox.run(&["poll"]).await;
    let conn = rusqlite::Connection::open(sandbox.path("newswatch.db")).unwrap();

    let mut mismatches = Vec::new();
    let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        *per_category.entry(case.name.split('/').next().unwrap()).or_default() += 1;
        let line = poll
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{}: ", case.name)))
            .unwrap_or("(no poll line)");
        let mut wrong = |what: String| mismatches.push(format!("{}: {what}\n    poll: {line}", case.name));
        let got = stored(&conn, &case.name);
        if let Some(error) = &case.sidecar.error {
            if !line.contains(&format!("error: {error}")) {
                wrong(format!("expected the error {error:?}"));
            }
            if !got.is_empty() {
                wrong(format!("an error, yet {} entries stored", got.len()));
            }
            continue;
        }
        if line.contains(": error: ") {
            wrong("failed".into());
            continue;
        }
        match &case.sidecar.poll {
            Some(text) if !line.contains(text.as_str()) => wrong(format!("expected {text:?} in the poll line")),
            None if line.contains("warning") => wrong("an unexpected warning".into()),
            _ => {}
        }
        let mut expected: Vec<(String, Option<String>, Option<i64>)> = case
            .sidecar
            .entry
            .iter()
            .map(|e| {
                (
                    e.title.clone(),
                    e.link
                        .as_ref()
                        .map(|l| l.replace("{origin}", origin.trim_end_matches('/'))),
                    e.published
                        .as_ref()
                        .map(|p| p.parse::<jiff::Timestamp>().unwrap().as_second()),
                )
            })
            .collect();
        expected.sort();
        if got != expected {
            let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
            let extra: Vec<_> = got.iter().filter(|g| !expected.contains(g)).collect();
            wrong(format!(
                "entries differ\n    missing: {missing:?}\n    unexpected: {extra:?}"
            ));
        }
    }
    eprintln!("corpus: {} cases: {per_category:?}", cases.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} corpus cases read wrong:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
