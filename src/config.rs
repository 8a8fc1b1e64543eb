//! The TOML configuration: parsed strictly (unknown keys are errors), validated once, and turned into
//! plain types with every default filled in, so that later stages never see an unchecked value.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use serde::{Deserialize, Deserializer};
use url::Url;

/// Where the config is looked for when neither `--config` nor `NEWSWATCH_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/newswatch.toml";

pub const DEFAULT_USER_AGENT: &str = concat!(
    "newswatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/newswatch/newswatch)"
);

/// A configuration that could not be loaded. Its message names the file and, where the TOML parser
/// knows it, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("invalid config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    pub storage: Storage,
    pub fetch: Fetch,
    pub digest: Digest,
    pub email: Email,
    pub topics: Vec<Topic>,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub database: PathBuf,
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

#[derive(Debug, Clone)]
pub struct Digest {
    pub at: Vec<Time>,
    pub timezone: TimeZone,
    pub timezone_name: String,
    pub send_empty: bool,
    pub max_stories: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
    pub to: Vec<Mailbox>,
    pub dir: PathBuf,
    pub smtp: Smtp,
}

#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    /// Read from the environment variable named by `password_env`, never from the file.
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
}

/// What a source's URL serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Feed,
    /// A web page listing articles, for sites without a feed.
    Page,
    /// Decided on the first successful fetch, then kept.
    Auto,
}

// ---- the file as written -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    digest: RawDigest,
    #[serde(default)]
    email: RawEmail,
    #[serde(default)]
    topic: Vec<RawTopic>,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    database: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    interval: Option<ConfigDuration>,
    timeout: Option<ConfigDuration>,
    max_age: Option<ConfigDuration>,
    user_agent: Option<String>,
    contact: Option<String>,
    concurrency: Option<usize>,
    max_body: Option<ByteSize>,
    per_host: Option<usize>,
    host_delay: Option<ConfigDelay>,
    max_entries: Option<usize>,
    proxy: Option<ProxyUrl>,
    allow_private: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    at: Option<Vec<ClockTime>>,
    timezone: Option<ZoneName>,
    send_empty: Option<bool>,
    max_stories: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    transport: Option<TransportKind>,
    from: Option<Address>,
    to: Option<Vec<Address>>,
    dir: Option<PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    tls: Option<TlsMode>,
    ca_file: Option<PathBuf>,
    username: Option<String>,
    password_env: Option<String>,
    timeout: Option<ConfigDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: String,
    keywords: Option<Vec<String>>,
    query: Option<toml::Spanned<String>>,
    case_sensitive: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    url: HttpUrl,
    interval: Option<ConfigDuration>,
    full_text: Option<bool>,
    kind: Option<SourceKind>,
    links: Option<String>,
}

// Values checked while deserialising, so that a bad one is reported with its line and column.

/// `30s`, `15m`, `2h`, `7d` (a day is 24 hours), or combinations such as `1h30m`.
#[derive(Debug, Clone, Copy)]
struct ConfigDuration(Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(ConfigDuration).map_err(serde::de::Error::custom)
    }
}

/// Parses a duration as the config writes it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: write a number and a unit, e.g. \"30s\", \"15m\", \"2h\" or \"7d\"");
    let trimmed = s.trim();
    // jiff would read a bare number as an error anyway; a unit-less "30" is a common slip worth naming.
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let span: jiff::Span = trimmed.parse().map_err(|_| bad())?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("invalid duration {s:?}: use s, m, h or d (weeks, months and years vary in length)"))?;
    let d = Duration::try_from(signed).map_err(|_| format!("invalid duration {s:?}: must not be negative"))?;
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be longer than zero"));
    }
    Ok(d)
}

/// Like [`ConfigDuration`], but zero is allowed (`host_delay = "0s"` turns spacing off).
#[derive(Debug, Clone, Copy)]
struct ConfigDelay(Duration);

impl<'de> Deserialize<'de> for ConfigDelay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        if t == "0" || t.parse::<jiff::Span>().is_ok_and(|span| span.is_zero()) {
            return Ok(ConfigDelay(Duration::ZERO));
        }
        parse_duration(&s).map(ConfigDelay).map_err(serde::de::Error::custom)
    }
}

/// A proxy URL: `http://`, `https://`, `socks5://` or `socks5h://`.
#[derive(Debug, Clone)]
struct ProxyUrl(Url);

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let url =
            Url::parse(s.trim()).map_err(|e| serde::de::Error::custom(format!("invalid proxy URL {s:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(serde::de::Error::custom(format!(
                "invalid proxy URL {s:?}: use http:// or https://"
            )));
        }
        Ok(ProxyUrl(url))
    }
}

/// `512KiB`, `10MiB`, `1GiB`, or a number of bytes.
#[derive(Debug, Clone, Copy)]
struct ByteSize(u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(s) => parse_size(&s).map(ByteSize).map_err(serde::de::Error::custom),
        }
    }
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: write e.g. \"512KiB\", \"10MiB\" or a number of bytes"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "kB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use B, KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// `HH:MM` or `HH:MM:SS`, 24-hour clock.
#[derive(Debug, Clone, Copy)]
struct ClockTime(Time);

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "invalid time {s:?}: write HH:MM or HH:MM:SS (24 h), e.g. \"08:00\""
            ))
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let num = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<i8>()).map_err(|_| bad());
        Time::new(num(0)?, num(1)?, num(2)?, 0)
            .map(ClockTime)
            .map_err(|_| bad())
    }
}

/// An IANA time zone name such as `Europe/Berlin` or `Asia/Tokyo`.
#[derive(Debug, Clone)]
struct ZoneName(String, TimeZone);

impl<'de> Deserialize<'de> for ZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let tz = TimeZone::get(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {s:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\""
            ))
        })?;
        Ok(ZoneName(s, tz))
    }
}

/// A mail address, `name <user@host>` or `user@host`.
#[derive(Debug, Clone)]
struct Address(Mailbox);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Mailbox>()
            .map(Address)
            .map_err(|e| serde::de::Error::custom(format!("invalid mail address {s:?}: {e}")))
    }
}

/// An absolute `http://` or `https://` URL.
#[derive(Debug, Clone)]
struct HttpUrl(Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let url = Url::parse(s.trim()).map_err(|e| serde::de::Error::custom(format!("invalid URL {s:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(serde::de::Error::custom(format!(
                "invalid URL {s:?}: only http:// and https:// URLs can be polled"
            )));
        }
        Ok(HttpUrl(url))
    }
}

// ---- loading -------------------------------------------------------------------------------------

impl Config {
    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path, |name| std::env::var(name).ok())
    }

    /// Parses config text; `path` names the file in errors and anchors relative paths, `env` looks up
    /// environment variables (the SMTP password).
    pub fn parse(text: &str, path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(path, text, &e))?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: PathBuf| normalize(&if p.is_absolute() { p } else { base.join(p) });

        let fetch = Fetch {
            interval: raw.fetch.interval.map_or(Duration::from_secs(30 * 60), |d| d.0),
            timeout: raw.fetch.timeout.map_or(Duration::from_secs(30), |d| d.0),
            max_age: raw.fetch.max_age.map_or(Duration::from_secs(7 * 24 * 3600), |d| d.0),
            // Site operators look at the User-Agent to find who to write to before blocking.
            user_agent: match (raw.fetch.user_agent, raw.fetch.contact) {
                (Some(ua), _) => ua,
                (None, Some(contact)) => format!("newswatch/{} (+{})", env!("CARGO_PKG_VERSION"), contact.trim()),
                (None, None) => DEFAULT_USER_AGENT.to_string(),
            },
            concurrency: raw.fetch.concurrency.unwrap_or(16),
            max_body: raw.fetch.max_body.map_or(10 << 20, |b| b.0),
            per_host: raw.fetch.per_host.unwrap_or(2),
            host_delay: raw.fetch.host_delay.map_or(Duration::from_secs(1), |d| d.0),
            max_entries: raw.fetch.max_entries.unwrap_or(1_000),
            proxy: raw.fetch.proxy.map(|p| p.0),
            allow_private: raw.fetch.allow_private.unwrap_or(false),
        };
        if fetch.per_host == 0 {
            return Err(invalid("fetch.per_host must be at least 1".into()));
        }
        if fetch.max_entries == 0 {
            return Err(invalid("fetch.max_entries must be at least 1".into()));
        }
        if fetch.concurrency == 0 {
            return Err(invalid("fetch.concurrency must be at least 1".into()));
        }
        if fetch.max_body == 0 {
            return Err(invalid("fetch.max_body must be larger than zero".into()));
        }
        if fetch.user_agent.contains(['\r', '\n']) || fetch.user_agent.trim().is_empty() {
            return Err(invalid("fetch.user_agent must be one non-empty line".into()));
        }

        let (timezone_name, timezone) = match raw.digest.timezone {
            Some(ZoneName(name, tz)) => (name, tz),
            None => ("UTC".to_string(), TimeZone::UTC),
        };
        let mut at: Vec<Time> = raw.digest.at.map_or_else(
            || vec![Time::constant(8, 0, 0, 0)],
            |v| v.into_iter().map(|t| t.0).collect(),
        );
        if at.is_empty() {
            return Err(invalid(
                "digest.at must list at least one time, e.g. [\"08:00\"]".into(),
            ));
        }
        at.sort();
        at.dedup();
        let digest = Digest {
            at,
            timezone,
            timezone_name,
            send_empty: raw.digest.send_empty.unwrap_or(false),
            max_stories: raw.digest.max_stories.unwrap_or(100),
        };

        let email = build_email(raw.email, &resolve, &env).map_err(invalid)?;

        let mut topics = Vec::new();
        for (i, t) in raw.topic.into_iter().enumerate() {
            let name = t.name.trim().to_string();
            if name.is_empty() {
                return Err(invalid(format!("topic #{}: name must not be empty", i + 1)));
            }
            if topics.iter().any(|x: &Topic| x.name == name) {
                return Err(invalid(format!("topic {name:?} is defined twice")));
            }
            let rule = match (t.keywords, t.query) {
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "topic {name:?}: give either keywords or query, not both"
                    )));
                }
                (None, None) => {
                    return Err(invalid(format!(
                        "topic {name:?}: needs keywords = [...] or query = '...'"
                    )));
                }
                (Some(keywords), None) => {
                    let keywords: Vec<String> = keywords.iter().map(|k| k.trim().to_string()).collect();
                    if keywords.is_empty() {
                        return Err(invalid(format!(
                            "topic {name:?}: keywords must list at least one keyword"
                        )));
                    }
                    if keywords.iter().any(|k| !k.chars().any(char::is_alphanumeric)) {
                        return Err(invalid(format!(
                            "topic {name:?}: every keyword needs a letter or digit to match"
                        )));
                    }
                    crate::query::any_of(&keywords)
                }
                (None, Some(query)) => crate::query::parse(query.get_ref()).map_err(|e| {
                    // Point at the character in the file: the value starts with its quote.
                    let (line, column) = line_column(text, query.span().start);
                    ConfigError::Syntax {
                        path: path.to_path_buf(),
                        line,
                        column: column + e.column,
                        message: format!("topic {name:?}: query: {}", e.message),
                    }
                })?,
            };
            topics.push(Topic {
                name,
                rule,
                case_sensitive: t.case_sensitive.unwrap_or_default(),
            });
        }
        if topics.is_empty() {
            return Err(invalid(
                "no [[topic]] defined: add at least one, e.g. [[topic]] name = \"NATO\" keywords = [\"NATO\"]".into(),
            ));
        }

        let mut sources = Vec::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            let name = s.name.trim().to_string();
            if name.is_empty() {
                return Err(invalid(format!("source #{}: name must not be empty", i + 1)));
            }
            if sources.iter().any(|x: &Source| x.name == name) {
                return Err(invalid(format!(
                    "source {name:?} is defined twice (source names must be unique)"
                )));
            }
            // A links selector only makes sense on a page.
            let kind = s.kind.unwrap_or(if s.links.is_some() {
                SourceKind::Page
            } else {
                SourceKind::Auto
            });
            if let Some(css) = &s.links {
                crate::extract::check_selector(css).map_err(|e| {
                    invalid(format!(
                        "source {name:?}: links = {css:?} is not a valid CSS selector: {e}"
                    ))
                })?;
                if kind == SourceKind::Feed {
                    return Err(invalid(format!(
                        "source {name:?}: links applies to page sources, not kind = \"feed\""
                    )));
                }
            }
            sources.push(Source {
                name,
                url: s.url.0,
                interval: s.interval.map_or(fetch.interval, |d| d.0),
                full_text: s.full_text.unwrap_or(kind == SourceKind::Page),
                kind,
                links: s.links,
            });
        }
        if sources.is_empty() {
            return Err(invalid(
                "no [[source]] defined: add at least one, e.g. [[source]] name = \"Example\" url = \"https://example.org/rss.xml\"".into(),
            ));
        }

        Ok(Config {
            path: path.to_path_buf(),
            storage: Storage {
                database: resolve(raw.storage.database.unwrap_or_else(|| PathBuf::from("newswatch.db"))),
            },
            fetch,
            digest,
            email,
            topics,
            sources,
        })
    }
}

fn build_email(
    raw: RawEmail,
    resolve: &impl Fn(PathBuf) -> PathBuf,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Email, String> {
    let transport = raw.transport.unwrap_or(TransportKind::File);
    let from = raw.from.map_or_else(
        || {
            "newswatch <newswatch@localhost>"
                .parse()
                .expect("valid default address")
        },
        |a| a.0,
    );
    let to: Vec<Mailbox> = match raw.to {
        Some(list) => list.into_iter().map(|a| a.0).collect(),
        None if transport == TransportKind::File => vec!["newswatch@localhost".parse().expect("valid default address")],
        None => Vec::new(),
    };
    if to.is_empty() {
        return Err("email.to must list at least one recipient".into());
    }
    let tls = raw.tls.unwrap_or(TlsMode::Starttls);
    let port = raw.smtp_port.unwrap_or(match tls {
        TlsMode::Starttls => 587,
        TlsMode::Tls => 465,
        TlsMode::None => 25,
    });
    let host = raw.smtp_host.unwrap_or_default().trim().to_string();
    if transport == TransportKind::Smtp && host.is_empty() {
        return Err("email.smtp_host is required when email.transport = \"smtp\"".into());
    }
    let password_env = raw
        .password_env
        .unwrap_or_else(|| "NEWSWATCH_SMTP_PASSWORD".to_string());
    let username = raw.username.filter(|u| !u.is_empty());
    let password = match &username {
        Some(_) => Some(env(&password_env).ok_or_else(|| {
            format!("email.username is set but the environment variable {password_env} (email.password_env) holding the password is not")
        })?),
        None => None,
    };
    if transport == TransportKind::Smtp && username.is_some() && tls == TlsMode::None && !is_loopback_host(&host) {
        return Err(format!(
            "email.username with tls = \"none\" to {host} would send the password in clear: use tls = \"starttls\" or \"tls\""
        ));
    }
    let ca_file = raw.ca_file.map(resolve);
    if let Some(ca) = &ca_file
        && !ca.is_file()
    {
        return Err(format!(
            "email.ca_file {} does not exist or is not a file",
            ca.display()
        ));
    }
    Ok(Email {
        transport,
        from,
        to,
        dir: resolve(raw.dir.unwrap_or_else(|| PathBuf::from("digests"))),
        smtp: Smtp {
            host,
            port,
            tls,
            ca_file,
            username,
            password,
            timeout: raw.timeout.map_or(Duration::from_secs(60), |d| d.0),
        },
    })
}

/// `config/../data/x.db` as `data/x.db`, made absolute: paths printed and logged stay readable,
/// and nothing depends on the working directory staying the same.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Turns toml's multi-line report into one line: file, line, column, and what is wrong.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = e.span().map_or((0, 0), |span| line_column(text, span.start));
    let mut message = e.message().trim().replace('\n', " ");
    // toml names the offending key only for some errors; quoting the line always shows it.
    if line > 0
        && let Some(src) = text.lines().nth(line - 1)
    {
        let src = src.trim();
        if !src.is_empty() && src.len() <= 120 {
            message = format!("{message} (in `{src}`)");
        }
    }
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "NATO"]

[[source]]
name = "Example"
url = "https://example.org/rss.xml"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/newswatch/newswatch.toml"), |_| None)
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("config should be rejected").to_string()
    }

    #[test]
    fn minimal_config_gets_working_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.storage.database, Path::new("/etc/newswatch/newswatch.db"));
        assert_eq!(c.email.dir, Path::new("/etc/newswatch/digests"));
        assert_eq!(c.email.transport, TransportKind::File);
        assert_eq!(c.fetch.interval, Duration::from_secs(1800));
        assert_eq!(c.fetch.max_age, Duration::from_secs(7 * 86_400));
        assert_eq!(c.digest.at, vec![Time::constant(8, 0, 0, 0)]);
        assert_eq!(c.sources[0].interval, Duration::from_secs(1800));
        assert!(c.fetch.user_agent.starts_with("newswatch/"));
    }

    #[test]
    fn contact_goes_into_the_user_agent() {
        let c = parse(&format!("[fetch]\ncontact = \"mailto:desk@example.org\"\n{MINIMAL}")).unwrap();
        assert_eq!(
            c.fetch.user_agent,
            format!("newswatch/{} (+mailto:desk@example.org)", env!("CARGO_PKG_VERSION"))
        );
        let e = err(&format!("[fetch]\ncontact = \"a\\nb\"\n{MINIMAL}"));
        assert!(e.contains("user_agent"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1mo").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512KiB").unwrap(), 512 * 1024);
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("10 parsecs").is_err());
    }

    #[test]
    fn unknown_key_is_named_with_line_and_column() {
        let e = err(&format!("[fetch]\nintervall = \"5m\"\n{MINIMAL}"));
        assert!(e.contains("/etc/newswatch/newswatch.toml:2:1"), "{e}");
        assert!(e.contains("intervall"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn bad_values_are_located() {
        let e = err(&format!("[fetch]\ninterval = \"5 minutes please\"\n{MINIMAL}"));
        assert!(e.contains(":2:12") && e.contains("invalid duration"), "{e}");
        let e = err(&format!("[digest]\ntimezone = \"Mars/Olympus\"\n{MINIMAL}"));
        assert!(e.contains(":2:") && e.contains("unknown time zone"), "{e}");
        let e = err(&format!("[digest]\nat = [\"8am\"]\n{MINIMAL}"));
        assert!(e.contains("invalid time"), "{e}");
        let e = err(&format!("[email]\ntransport = \"smpt\"\n{MINIMAL}"));
        assert!(e.contains("smpt") && e.contains(":2:"), "{e}");
        let e = err(&format!(
            "{MINIMAL}\n[[source]]\nname = \"Bad\"\nurl = \"ftp://example.org/x\"\n"
        ));
        assert!(e.contains("only http"), "{e}");
    }

    #[test]
    fn username_needs_its_password_variable() {
        let text = format!(
            "[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\nsmtp_host = \"mail.example.org\"\nusername = \"me\"\n{MINIMAL}"
        );
        let e = err(&text);
        assert!(e.contains("NEWSWATCH_SMTP_PASSWORD"), "{e}");
        let c = Config::parse(&text, Path::new("x.toml"), |v| {
            (v == "NEWSWATCH_SMTP_PASSWORD").then(|| "pw".into())
        })
        .unwrap();
        assert_eq!(c.email.smtp.password.as_deref(), Some("pw"));
        assert!(
            !format!("{:?}", c.email).contains("pw\""),
            "password must not be printed"
        );
    }

    #[test]
    fn clear_text_password_to_remote_host_is_refused() {
        let text = format!(
            "[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\nsmtp_host = \"mail.example.org\"\ntls = \"none\"\nusername = \"me\"\n{MINIMAL}"
        );
        let e = Config::parse(&text, Path::new("x.toml"), |_| Some("pw".into()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("in clear"), "{e}");
        let local = text.replace("mail.example.org", "127.0.0.1");
        assert!(Config::parse(&local, Path::new("x.toml"), |_| Some("pw".into())).is_ok());
    }

    #[test]
    fn duplicates_and_empties_are_refused() {
        let e = err(&format!(
            "{MINIMAL}\n[[source]]\nname = \"Example\"\nurl = \"https://example.com/\"\n"
        ));
        assert!(e.contains("defined twice"), "{e}");
        assert!(err("[[source]]\nname = \"A\"\nurl = \"https://a.example/\"\n").contains("no [[topic]]"));
        let e = err(&MINIMAL.replace("[\"SDF\", \"NATO\"]", "[]"));
        assert!(e.contains("at least one keyword"), "{e}");
        assert!(err("[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\n").contains("smtp_host"));
    }

    #[test]
    fn page_sources() {
        let c = parse(&format!(
            "{MINIMAL}\n[[source]]\nname = \"P\"\nurl = \"https://e.org/press/\"\nkind = \"page\"\nlinks = \"h2 a\"\n"
        ))
        .unwrap();
        let p = &c.sources[1];
        assert_eq!(
            (p.kind, p.full_text, p.links.as_deref()),
            (SourceKind::Page, true, Some("h2 a"))
        );
        assert_eq!(c.sources[0].kind, SourceKind::Auto);
        let e = err(&format!(
            "{MINIMAL}\n[[source]]\nname = \"P\"\nurl = \"https://e.org/\"\nlinks = \"a[[\"\n"
        ));
        assert!(e.contains("not a valid CSS selector"), "{e}");
    }

    #[test]
    fn smtp_port_follows_tls_mode() {
        let c = |tls: &str| {
            parse(&format!(
                "[email]\ntransport = \"smtp\"\nsmtp_host = \"h\"\nto = [\"a@b.c\"]\ntls = \"{tls}\"\n{MINIMAL}"
            ))
            .unwrap()
            .email
            .smtp
            .port
        };
        assert_eq!((c("starttls"), c("tls"), c("none")), (587, 465, 25));
    }
}
