//! The TOML configuration: parsed strictly (unknown keys are errors), validated once, and turned
//! into plain types with every default filled in, so that later stages never see an unchecked
//! value (ripgrep's low-level to high-level arguments).
//!
//! `raw.rs` is the file as written, `values.rs` what the rest of newswatch sees; this file turns
//! one into the other, a section at a time. It reads the file, and the SMTP password from the
//! environment or its own file, nothing else: no network, no database.

pub mod edit;
mod raw;
mod source;
mod storage;

/// A database named on the command line (`migrate-to`), as `[storage] database` would name it,
/// its password from `password_file` or the environment variable `password_env`.
pub fn database_at(
    database: String,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
) -> Result<crate::model::Database, String> {
    let here = std::env::current_dir().unwrap_or_default();
    let resolve = |p: PathBuf| if p.is_absolute() { p } else { here.join(p) };
    storage::database(Some(database), password_file, password_env, &resolve, &|name| {
        std::env::var(name).ok()
    })
}
mod values;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;

pub use raw::{parse_duration, parse_size};
pub use values::{
    Access, AlertMode, Dedup, Digest, Email, Fetch, Http, Retry, Smtp, Source, SourceKind, Storage, TlsMode, Topic,
    TransportKind, Webhook,
};

use raw::{RawConfig, RawDedup, RawDigest, RawEmail, RawFetch, RawTopic, ZoneName};

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
    #[error("cannot read config file {path}: {source}{hint}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        /// What to do about it, when there is something to say.
        hint: String,
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
    pub dedup: Dedup,
    pub digest: Digest,
    pub email: Email,
    pub http: Http,
    pub webhook: Webhook,
    pub topics: Vec<Topic>,
    pub sources: Vec<Source>,
}

impl Config {
    /// Everyone some topic mails, each once (by address, in any case), in config order.
    pub fn recipients(&self) -> Vec<Mailbox> {
        let mut out: Vec<Mailbox> = Vec::new();
        for m in self.topics.iter().flat_map(|t| &t.recipients) {
            if !out.iter().any(|o| same_address(o, m)) {
                out.push(m.clone());
            }
        }
        out
    }

    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            hint: match source.kind() {
                std::io::ErrorKind::NotFound => format!(
                    ". Name the config with --config PATH or the NEWSWATCH_CONFIG variable; without either, \
                     newswatch reads {DEFAULT_CONFIG_PATH} in the current folder (the example in newswatch's \
                     source: run it there, or copy it and change it)"
                ),
                _ => String::new(),
            },
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

        let fetch = fetch(raw.fetch).map_err(invalid)?;
        let dedup = dedup(raw.dedup).map_err(invalid)?;
        let digest = digest(raw.digest).map_err(invalid)?;
        let email = email(raw.email, &resolve, &env).map_err(invalid)?;
        let webhook = Webhook {
            timeout: raw.webhook.timeout.map_or(Duration::from_secs(10), |d| d.0),
        };
        let topics = topics(raw.topic, text, path, &email, raw.webhook.url.as_ref().map(|u| &u.0))?;
        let sources = source::sources(raw.source, &fetch, &resolve, &env).map_err(invalid)?;
        let http = Http {
            listen: raw
                .http
                .listen
                .map(|l| {
                    l.parse().map_err(|_| {
                        invalid(format!(
                            "http.listen = {l:?} is not an address and port, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\""
                        ))
                    })
                })
                .transpose()?,
            timeout: raw.http.timeout.map_or(Duration::from_secs(10), |d| d.0),
            token: http_token(raw.http.token, raw.http.token_file, raw.http.token_env, &resolve, &env)
                .map_err(invalid)?,
        };
        if http.timeout.is_zero() {
            return Err(invalid("http.timeout must be longer than 0s".to_string()));
        }
        if let Some(addr) = http.listen.filter(|_| http.exposed() && http.token.is_none()) {
            return Err(invalid(format!(
                "http.listen = \"{addr}\" is reachable from other machines, and anyone who reaches it would read \
                 the matched stories, the sources' health and the outbox: set http.token_file (or http.token, \
                 http.token_env) to a secret of at least {MIN_TOKEN} characters that every page then asks for, \
                 or listen on 127.0.0.1"
            )));
        }
        let keep = keep(raw.storage.keep.as_deref(), &dedup).map_err(invalid)?;
        Ok(Config {
            path: path.to_path_buf(),
            storage: Storage {
                database: storage::database(
                    raw.storage.database,
                    raw.storage.password_file,
                    raw.storage.password_env,
                    &resolve,
                    &env,
                )
                .map_err(invalid)?,
                keep,
            },
            fetch,
            dedup,
            digest,
            email,
            http,
            webhook,
            topics,
            sources,
        })
    }
}

/// `fetch.max_age` when the config does not say.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// `dedup.window` when the config does not say.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(72 * 3600);

fn fetch(raw: RawFetch) -> Result<Fetch, String> {
    let fetch = Fetch {
        interval: raw.interval.map_or(Duration::from_secs(30 * 60), |d| d.0),
        timeout: raw.timeout.map_or(Duration::from_secs(30), |d| d.0),
        max_age: raw.max_age.map_or(DEFAULT_MAX_AGE, |d| d.0),
        // Site operators look at the User-Agent to find who to write to before blocking.
        user_agent: match (raw.user_agent, raw.contact) {
            (Some(ua), _) => ua,
            (None, Some(contact)) => format!("newswatch/{} (+{})", env!("CARGO_PKG_VERSION"), contact.trim()),
            (None, None) => DEFAULT_USER_AGENT.to_string(),
        },
        concurrency: raw.concurrency.unwrap_or(16),
        max_body: raw.max_body.map_or(10 << 20, |b| b.0),
        per_host: raw.per_host.unwrap_or(2),
        host_delay: raw.host_delay.map_or(Duration::from_secs(1), |d| d.0),
        max_entries: raw.max_entries.unwrap_or(1_000),
        proxy: raw.proxy.map(|p| p.0),
        allow_private: raw.allow_private.unwrap_or(false),
    };
    if fetch.per_host == 0 {
        return Err("fetch.per_host must be at least 1".into());
    }
    if fetch.max_entries == 0 {
        return Err("fetch.max_entries must be at least 1".into());
    }
    if fetch.concurrency == 0 {
        return Err("fetch.concurrency must be at least 1".into());
    }
    if fetch.max_body == 0 {
        return Err("fetch.max_body must be larger than zero".into());
    }
    if fetch.user_agent.contains(['\r', '\n']) || fetch.user_agent.trim().is_empty() {
        return Err("fetch.user_agent must be one non-empty line".into());
    }
    Ok(fetch)
}

/// How sure newswatch must be that a report tells a story's event for it to join (see
/// docs/clustering.md for how it was chosen).
pub const DEFAULT_CERTAINTY: f32 = 0.90;

fn dedup(raw: RawDedup) -> Result<Dedup, String> {
    let window = raw.window.map_or(DEFAULT_WINDOW, |d| d.0);
    if window.is_zero() {
        return Err("dedup.window must be longer than 0".into());
    }
    // Before `rewrites`, `similarity = 1` folded copies only and a value below 1 grouped
    // rewrites: both keep their meaning (any value below 1 now means the default certainty).
    let rewrites = match (raw.rewrites, raw.similarity) {
        (Some(_), Some(_)) => {
            return Err("dedup.similarity is the older spelling of dedup.rewrites: set only rewrites".into());
        }
        (Some(r), None) => r,
        (None, Some(s)) if !(s > 0.0 && s <= 1.0) => {
            return Err(format!(
                "dedup.similarity must be above 0 and at most 1 (1: copies only), not {s}; \
                 newer configs say `rewrites = false` for copies only"
            ));
        }
        (None, Some(s)) => s < 1.0,
        (None, None) => true,
    };
    let certainty = raw.certainty.unwrap_or(f64::from(DEFAULT_CERTAINTY));
    if !(certainty > 0.0 && certainty < 1.0) {
        return Err(format!(
            "dedup.certainty must be above 0 and below 1 (e.g. {DEFAULT_CERTAINTY}; higher joins fewer reports), not {certainty}"
        ));
    }
    Ok(Dedup {
        window,
        rewrites,
        certainty: certainty as f32,
    })
}

fn digest(raw: RawDigest) -> Result<Digest, String> {
    let (timezone_name, timezone) = match raw.timezone {
        Some(ZoneName(name, tz)) => (name, tz),
        None => ("UTC".to_string(), TimeZone::UTC),
    };
    let mut at: Vec<Time> = raw.at.map_or_else(
        || vec![Time::constant(8, 0, 0, 0)],
        |v| v.into_iter().map(|t| t.0).collect(),
    );
    if at.is_empty() {
        return Err("digest.at must list at least one time, e.g. [\"08:00\"]".into());
    }
    at.sort();
    at.dedup();
    let mut days: Vec<jiff::civil::Weekday> = match raw.days {
        Some(days) => days.into_iter().map(|d| d.0).collect(),
        None => (0..7).map(|i| jiff::civil::Weekday::Monday.wrapping_add(i)).collect(),
    };
    if days.is_empty() {
        return Err("digest.days must list at least one day, e.g. [\"mon\", \"fri\"]".into());
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    days.dedup();
    Ok(Digest {
        at,
        days,
        timezone,
        timezone_name,
        send_empty: raw.send_empty.unwrap_or(false),
        max_stories: raw.max_stories.unwrap_or(100),
    })
}

fn email(
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
    let username = raw.username.filter(|u| !u.is_empty());
    let password = match username {
        None => None,
        Some(_) => {
            let env_name = match (&raw.password_file, raw.password_env) {
                (None, None) => Some("NEWSWATCH_SMTP_PASSWORD".to_string()),
                (_, name) => name,
            };
            source::secret(
                "the password for email.username",
                raw.password_file,
                env_name,
                resolve,
                env,
            )?
        }
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
    let retry = Retry {
        first: raw.retry.map_or(Duration::from_secs(60), |d| d.0),
        max: raw.retry_max.map_or(Duration::from_secs(3600), |d| d.0),
        refused: raw.retry_refused.map_or(Duration::from_secs(600), |d| d.0),
    };
    if retry.first > retry.max {
        return Err("email.retry must not be longer than email.retry_max".into());
    }
    Ok(Email {
        retry,
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

/// The topics; a query that does not parse is reported at its line and column in `text`.
fn topics(
    raw: Vec<RawTopic>,
    text: &str,
    path: &Path,
    email: &Email,
    webhook: Option<&url::Url>,
) -> Result<Vec<Topic>, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let mut topics = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
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
                if let Some(e) = keywords.iter().find_map(|k| crate::query::check_term(k).err()) {
                    return Err(invalid(format!("topic {name:?}: keywords: {e}")));
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
        let recipients = match t.to {
            Some(to) if to.is_empty() => {
                return Err(invalid(format!(
                    "topic {name:?}: to must list at least one recipient (or be left out for email.to)"
                )));
            }
            Some(to) => to.into_iter().map(|a| a.0).collect(),
            None => email.to.clone(),
        };
        topics.push(Topic {
            name,
            rule,
            case_sensitive: t.case_sensitive.unwrap_or_default(),
            recipients,
            alert: t.alert.unwrap_or(AlertMode::Digest),
            webhook: t.webhook.map(|u| u.0).or_else(|| webhook.cloned()),
        });
    }
    if topics.is_empty() {
        return Err(invalid(
            "no [[topic]] defined: add at least one, e.g. [[topic]] name = \"NATO\" keywords = [\"NATO\"]".into(),
        ));
    }
    Ok(topics)
}

/// How long texts are kept: 180 days unless the config says a duration or "forever".
fn keep(raw: Option<&str>, dedup: &Dedup) -> Result<Option<Duration>, String> {
    let keep = match raw.map(str::trim) {
        None => Duration::from_secs(180 * 86_400),
        Some("forever") => return Ok(None),
        Some(s) => parse_duration(s).map_err(|e| format!("storage.keep: {e}, or \"forever\""))?,
    };
    // Younger stories are still being joined by other outlets' reports, by their texts.
    if keep < dedup.window {
        return Err(format!(
            "storage.keep ({}) must be at least dedup.window ({}): stories younger than that are still compared by their texts",
            crate::timefmt::format_duration(keep),
            crate::timefmt::format_duration(dedup.window)
        ));
    }
    Ok(Some(keep))
}

/// Whether two mailboxes are one address (display names and case aside).
pub fn same_address(a: &Mailbox, b: &Mailbox) -> bool {
    AsRef::<str>::as_ref(&a.email).eq_ignore_ascii_case(b.email.as_ref())
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
mod tests;

/// The shortest `[http]` token taken: a guessable one protects nothing.
const MIN_TOKEN: usize = 16;

/// `[http] token`, or the one read from `token_file` or `token_env` (one of the three).
fn http_token(
    inline: Option<String>,
    file: Option<PathBuf>,
    env_name: Option<String>,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let from_elsewhere = source::secret("http.token_file or http.token_env", file, env_name, resolve, env)?;
    let token = match (inline, from_elsewhere) {
        (Some(_), Some(_)) => return Err("give http.token, http.token_file or http.token_env: one of them".into()),
        (token, None) | (None, token) => token,
    };
    match token {
        Some(t) if t.trim().chars().count() < MIN_TOKEN => Err(format!(
            "the http token is {} characters long: use at least {MIN_TOKEN} (e.g. the output of `openssl rand -hex 24`)",
            t.trim().chars().count()
        )),
        Some(t) if t.chars().any(|c| c.is_control() || c == ' ') => {
            Err("the http token has spaces or control characters: it must fit in an HTTP header".into())
        }
        t => Ok(t),
    }
}
