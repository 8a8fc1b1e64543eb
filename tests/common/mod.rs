//! Real parts for the integration tests: an HTTP server serving feeds (wiremock; hand-made ones in
//! `http.rs`), a recording SMTP server that can be scripted (`smtp.rs`), a temporary folder with a
//! config and a SQLite file, and the built `newswatch` binary. Everything listens on 127.0.0.1
//! only.

#![allow(dead_code)] // each test file uses its own subset

pub mod http;
pub mod postgres;
pub mod smtp;

#[allow(unused_imports)] // each test file uses its own subset
pub use smtp::{Received, Script, SmtpServer};

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const BIN: &str = env!("CARGO_BIN_EXE_newswatch");

/// A port on 127.0.0.1 that refuses connections for as long as this lives: a socket bound to
/// it and never listening, so that no other test can take the port meanwhile.
pub struct DeadPort {
    pub port: u16,
    _socket: tokio::net::TcpSocket,
}

impl DeadPort {
    pub fn new() -> DeadPort {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
        DeadPort {
            port: socket.local_addr().unwrap().port(),
            _socket: socket,
        }
    }
}

// ---- feeds ---------------------------------------------------------------------------------------

pub struct FeedServer {
    pub server: MockServer,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        FeedServer {
            server: MockServer::start().await,
        }
    }

    pub fn url(&self, p: &str) -> String {
        format!("{}{}", self.server.uri(), p)
    }

    /// Serves `body` at `p` with `content_type`, replacing whatever was served there.
    pub async fn serve(&self, p: &str, content_type: &str, body: impl Into<Vec<u8>>) {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body.into(), content_type))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    pub async fn serve_status(&self, p: &str, status: u16) {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status))
            .mount(&self.server)
            .await;
    }

    pub async fn reset(&self) {
        self.server.reset().await;
    }
}

#[derive(Clone, Copy)]
pub struct Item<'a> {
    pub guid: &'a str,
    pub title: &'a str,
    pub link: &'a str,
    pub text: &'a str,
    /// RFC 2822 date, or "" for none.
    pub date: &'a str,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn rss(items: &[Item]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test RSS</title><link>http://127.0.0.1/</link><description>t</description>"#,
    );
    for i in items {
        out.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link><description>{}</description>{}</item>",
            xml_escape(i.guid),
            xml_escape(i.title),
            xml_escape(i.link),
            xml_escape(i.text),
            if i.date.is_empty() { String::new() } else { format!("<pubDate>{}</pubDate>", i.date) }
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// An Atom feed; `date` is RFC 3339 here.
pub fn atom(items: &[Item]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Test Atom</title><id>urn:test</id><updated>2026-11-01T00:00:00Z</updated>"#,
    );
    for i in items {
        out.push_str(&format!(
            "<entry><id>{}</id><title type=\"html\">{}</title><link rel=\"alternate\" href=\"{}\"/><summary type=\"html\">{}</summary><updated>{}</updated></entry>",
            xml_escape(i.guid),
            xml_escape(i.title),
            xml_escape(i.link),
            xml_escape(i.text),
            i.date
        ));
    }
    out.push_str("</feed>");
    out
}

/// A JSON Feed 1.1; `date` is RFC 3339 here.
pub fn json_feed(items: &[Item]) -> String {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|i| {
            serde_json::json!({
                "id": i.guid, "title": i.title, "url": i.link, "content_html": i.text, "date_published": i.date,
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Test JSON",
        "items": items,
    })
    .to_string()
}

/// Dates relative to now, so that tests never age past `fetch.max_age`.
/// Today's date as a digest's subject and heading give it, in UTC ("23 Nov 2026").
pub fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%-d %b %Y")
        .to_string()
}

pub fn rfc2822_hours_ago(h: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(h);
    t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

pub fn rfc3339_hours_ago(h: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(h);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

// ---- SMTP: see smtp.rs ----------------------------------------------------------------------------

// ---- the binary ----------------------------------------------------------------------------------

/// A temporary folder holding a config file (and, once used, the SQLite database and digests).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(config: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("newswatch.toml"), config).unwrap();
        Sandbox { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("newswatch.toml")
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd.env_remove("NEWSWATCH_CONFIG")
            .env_remove("NEWSWATCH_LOG")
            .env_remove("RUST_LOG");
        // Never let a developer's proxy settings send loopback traffic elsewhere.
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.kill_on_drop(true);
        cmd
    }

    /// Runs newswatch with `args` to completion (at most 60 s).
    pub async fn run(&self, args: &[&str]) -> Run {
        Sandbox::finish(self.command(args)).await
    }

    /// Runs newswatch with `args` as if it were `offset` later (`NEWSWATCH_CLOCK_OFFSET`, e.g.
    /// "3h"): a test sets the time it needs instead of sleeping until it comes.
    pub async fn run_later(&self, offset: &str, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.env("NEWSWATCH_CLOCK_OFFSET", offset);
        Sandbox::finish(command).await
    }

    async fn finish(mut command: tokio::process::Command) -> Run {
        let out = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .expect("newswatch did not finish within 60 s")
            .expect("cannot start newswatch");
        Run::from(out)
    }
}

#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(
            self.code,
            Some(0),
            "newswatch failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The `[email]` section for the SMTP test server.
pub fn smtp_email(port: u16) -> String {
    format!(
        "[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
         from = \"newswatch <newswatch@test.invalid>\"\nto = [\"analyst@test.invalid\", \"desk@test.invalid\"]\ntimeout = \"10s\"\n"
    )
}

pub fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The line `newswatch poll` printed for source `name`.
pub fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{stdout}"))
}

// ---- the daemon -------------------------------------------------------------------------------

/// A running `newswatch run` whose log (at debug level) is read line by line.
pub struct Daemon {
    pub child: tokio::process::Child,
    log: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    pub seen: String,
}

impl Daemon {
    pub fn start(sandbox: &Sandbox) -> Daemon {
        Daemon::start_with(sandbox, &[])
    }

    /// Starts it with extra environment variables.
    pub fn start_with(sandbox: &Sandbox, env: &[(&str, &str)]) -> Daemon {
        let mut command = sandbox.command(&["run"]);
        command
            .env("NEWSWATCH_LOG", "newswatch=debug")
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        Daemon::spawn(command)
    }

    /// Starts `command` (a `sandbox.command(&["run"])` the test changed) with its log read.
    pub fn spawn(mut command: tokio::process::Command) -> Daemon {
        command
            .env("NEWSWATCH_LOG", "newswatch=debug")
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        Daemon {
            child,
            log: tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr)),
            seen: String::new(),
        }
    }

    /// Waits (at most 15 s) until the log holds `n` lines containing `needle`; returns the log.
    pub async fn wait_for_count(&mut self, needle: &str, n: usize) -> &str {
        while self.seen.lines().filter(|l| l.contains(needle)).count() < n {
            self.wait_for(needle).await;
        }
        &self.seen
    }

    /// Waits (at most 15 s) for a log line containing `needle`; returns the log so far.
    /// The address the daemon's HTTP listener is bound to, from its log.
    pub async fn listening(&mut self) -> String {
        let log = self.wait_for("listening for HTTP").await.to_string();
        log.lines()
            .find(|l| l.contains("listening for HTTP"))
            .and_then(|l| l.split("address=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {log}"))
            .to_string()
    }

    pub async fn wait_for(&mut self, needle: &str) -> &str {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let line = tokio::time::timeout_at(deadline, self.log.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in the daemon's log within 15 s:\n{}", self.seen))
                .unwrap()
                .unwrap_or_else(|| panic!("the daemon ended before logging {needle:?}:\n{}", self.seen));
            self.seen.push_str(&line);
            self.seen.push('\n');
            if line.contains(needle) {
                return &self.seen;
            }
        }
    }

    /// Sends `signal` (e.g. "-HUP") and returns at once.
    pub async fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let sent = tokio::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
    }

    /// Sends `signal` and waits (at most 15 s) for a clean exit.
    pub async fn stop(mut self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let killed = tokio::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        // Keep reading the log, or a full pipe could block the daemon.
        let drain = tokio::spawn(async move { while let Ok(Some(_)) = self.log.next_line().await {} });
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the daemon did not stop within 15 s of {signal}"))
            .unwrap();
        assert_eq!(status.code(), Some(0), "a clean stop exits 0");
        drain.abort();
    }
}
