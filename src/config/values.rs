//! The configuration as the rest of newswatch sees it: validated, every default filled in.
//!
//! Plain types only; how they are read from TOML is `raw.rs`'s business, how they are checked
//! and defaulted `mod.rs`'s.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone)]
pub struct Storage {
    pub database: crate::model::Database,
    /// How long stories keep their texts (`None`: forever); see `retention`.
    pub keep: Option<Duration>,
}

/// The daemon's HTTP listener (`[http]`): off unless `listen` is set.
#[derive(Clone, Default)]
pub struct Http {
    pub listen: Option<std::net::SocketAddr>,
    /// How long a client may take to send a request's headers, and how long a connection
    /// stays open without one: idle connections must not hold the process's descriptors.
    pub timeout: std::time::Duration,
    /// What every page and feed asks for (`token`, `token_file` or `token_env`); required
    /// when `listen` is not a loopback address.
    pub token: Option<String>,
}

// Hand-written so that the token never reaches a log line.
impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("listen", &self.listen)
            .field("timeout", &self.timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Http {
    /// Whether the listener is reachable from other machines (it then asks for the token).
    pub fn exposed(&self) -> bool {
        self.listen.is_some_and(|a| !a.ip().is_loopback())
    }
}

#[derive(Debug, Clone)]
pub struct Fetch {
    pub interval: Duration,
    pub timeout: Duration,
    pub max_age: Duration,
    pub user_agent: String,
    pub concurrency: usize,
    pub max_body: u64,
    pub per_host: usize,
    pub host_delay: Duration,
    pub max_entries: usize,
    pub proxy: Option<Url>,
    pub allow_private: bool,
}

/// When entries from different outlets are one story.
#[derive(Debug, Clone)]
pub struct Dedup {
    /// How far apart in time two entries of one story may be.
    pub window: Duration,
    /// Whether reports of one event in other words join its story too, not only copies.
    pub rewrites: bool,
    /// How sure (0 to 1) newswatch must be that a report tells a story's event, over the
    /// story's entries, for it to join.
    pub certainty: f32,
}

#[derive(Debug, Clone)]
pub struct Digest {
    pub at: Vec<Time>,
    /// The days digests go out (all seven unless `days` says otherwise).
    pub days: Vec<jiff::civil::Weekday>,
    pub timezone: TimeZone,
    pub timezone_name: String,
    pub send_empty: bool,
    pub max_stories: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (never opportunistic).
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption; only sensible to a relay on the same machine.
    None,
}

#[derive(Clone)]
pub struct Email {
    pub transport: TransportKind,
    pub from: Mailbox,
    /// The recipients of every topic that names none of its own.
    pub to: Vec<Mailbox>,
    pub dir: PathBuf,
    pub smtp: Smtp,
    pub retry: Retry,
}

/// When a message that did not go out is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// After a temporary failure (no connection, timeout, 4xx): this long, doubling each time...
    pub first: Duration,
    /// ... up to this long.
    pub max: Duration,
    /// After a refusal (5xx): at least this long; the third refusal parks the message.
    pub refused: Duration,
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    /// Read from `password_file` or from the environment variable named by `password_env`,
    /// never from the config itself.
    pub password: Option<String>,
    pub timeout: Duration,
}

// Hand-written so that the password never reaches a log line.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("transport", &self.transport)
            .field("from", &self.from.to_string())
            .field("to", &self.to.iter().map(ToString::to_string).collect::<Vec<_>>())
            .field("dir", &self.dir)
            .field("smtp_host", &self.smtp.host)
            .field("smtp_port", &self.smtp.port)
            .field("tls", &self.smtp.tls)
            .field("username", &self.smtp.username)
            .field("password", &self.smtp.password.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    /// `keywords = [...]` (any of them) or `query = '...'`, as one expression.
    pub rule: crate::query::Expr,
    /// Terms that match only with exactly this case (acronyms that are also ordinary words).
    pub case_sensitive: Vec<String>,
    /// Who gets this topic's stories: its own `to`, else `email.to`.
    pub recipients: Vec<Mailbox>,
    pub alert: AlertMode,
    /// Where each new story is POSTed as JSON: the topic's `webhook`, else `[webhook] url`.
    pub webhook: Option<Url>,
}

/// Webhooks (`[webhook]`): how long a POST may take.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub timeout: Duration,
}

/// When a topic's new stories are mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertMode {
    /// In the digest, at the `digest.at` times.
    Digest,
    /// Within a minute of the poll that found them.
    Immediate,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub url: Url,
    /// This source's poll interval (its own, or `fetch.interval`).
    pub interval: Duration,
    /// Fetch each new entry's article and match its main text too.
    pub full_text: bool,
    pub kind: SourceKind,
    /// CSS selector of article links on a page source.
    pub links: Option<String>,
    /// The folder it is filed under (from an OPML import; kept on export), "A / B" nested.
    pub category: Option<String>,
    pub access: Access,
}

/// How a source's requests get in: where they may connect, and what they say. Headers and
/// credentials go to the source's own origin only (scheme, host and port of its URL), never to
/// another host a redirect or an article link leads to.
#[derive(Clone, Default)]
pub struct Access {
    /// May connect to private addresses: its own `allow_private`, or `fetch.allow_private`.
    pub allow_private: bool,
    /// Replaces `fetch.user_agent` for this source's requests.
    pub user_agent: Option<String>,
    pub headers: Vec<(String, String)>,
    /// HTTP basic auth: user name and password.
    pub basic_auth: Option<(String, String)>,
}

// Hand-written so that no token or password reaches a log line.
impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("allow_private", &self.allow_private)
            .field("user_agent", &self.user_agent)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| (k, "<redacted>")).collect::<Vec<_>>(),
            )
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .finish()
    }
}

/// What a source's URL serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Feed,
    /// A web page listing articles, for sites without a feed.
    Page,
    /// Decided on the first successful fetch, then kept.
    Auto,
}
