//! `newswatch check`: the config as newswatch reads it.

use crate::config::{self, Config, TransportKind};
use crate::schedule;
use crate::timefmt::{format_duration, format_time};

fn recipients(config: &Config) -> String {
    config
        .recipients()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How entries become stories, in a line.
fn stories(config: &Config) -> String {
    let window = format_duration(config.dedup.window);
    match config.dedup.rewrites {
        true => format!(
            "every outlet's report of an event is one story (certainty {:.2}; within {window})",
            config.dedup.certainty
        ),
        false => format!("copies only: other outlets' own accounts stay stories of their own (within {window})"),
    }
}

pub(super) fn print_summary(config: &Config) {
    let fetch = &config.fetch;
    out!("config: {} (valid)", config.path.display());
    out!("database: {}", config.storage.database);
    out!(
        "sources: {} (every {} unless set; timeout {}, entries older than {} are not reported)",
        config.sources.len(),
        format_duration(fetch.interval),
        format_duration(fetch.timeout),
        format_duration(fetch.max_age)
    );
    for s in &config.sources {
        out!("  {}  {}  every {}", s.name, s.url, format_duration(s.interval));
    }
    out!("stories: {}", stories(config));
    out!("topics: {}", config.topics.len());
    for t in &config.topics {
        let mut notes = Vec::new();
        if t.alert == config::AlertMode::Immediate {
            notes.push("alerts right away".to_string());
        }
        let own = t.recipients.len() != config.email.to.len()
            || t.recipients
                .iter()
                .zip(&config.email.to)
                .any(|(a, b)| !config::same_address(a, b));
        if own {
            let to: Vec<String> = t.recipients.iter().map(ToString::to_string).collect();
            notes.push(format!("to {}", to.join(", ")));
        }
        if let Some(url) = &t.webhook {
            notes.push(format!("webhook {}", crate::text::url_origin(url.as_str())));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  [{}]", notes.join("; "))
        };
        out!("  {}: {}{notes}", t.name, t.rule);
    }
    match config.email.transport {
        TransportKind::File => out!(
            "transport: file, one .eml per digest in {} (to {})",
            config.email.dir.display(),
            recipients(config)
        ),
        TransportKind::Smtp => {
            let smtp = &config.email.smtp;
            let tls = match smtp.tls {
                config::TlsMode::Starttls => "STARTTLS required",
                config::TlsMode::Tls => "TLS",
                config::TlsMode::None => "no encryption",
            };
            let auth = smtp
                .username
                .as_deref()
                .map(|u| format!(", as {u}"))
                .unwrap_or_default();
            out!(
                "transport: smtp {}:{} ({tls}{auth}) to {}",
                smtp.host,
                smtp.port,
                recipients(config)
            );
        }
    }
    match config.http.listen {
        Some(addr) => out!(
            "http: listening on {addr} for the pages (http://{addr}/), /feed.atom, /healthz, /metrics{}",
            if config.http.token.is_some() {
                "; each asks for http.token"
            } else {
                ""
            }
        ),
        None => out!("http: off ([http] listen serves the pages, /feed.atom, /healthz, /metrics)"),
    }
    let now = crate::clock::now();
    let next = schedule::next_digest(now, &config.digest);
    let wait = std::time::Duration::try_from(next.duration_since(now)).unwrap_or_default();
    out!(
        "next digest: {} (in {})",
        format_time(next, &config.digest.timezone),
        format_duration(std::time::Duration::from_secs(wait.as_secs().max(1)))
    );
}

/// The config as `check --json` prints it: what `check` says, for scripts. Durations in
/// seconds, times in RFC 3339 with the digest's zone; no secret (passwords, header values).
pub(super) fn summary(config: &Config) -> serde_json::Value {
    use serde_json::json;
    let fetch = &config.fetch;
    let sources: Vec<_> = config
        .sources
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "url": s.url.as_str(),
                "kind": s.kind,
                "interval_seconds": s.interval.as_secs(),
                "full_text": s.full_text,
                "category": s.category,
            })
        })
        .collect();
    let topics: Vec<_> = config
        .topics
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "query": t.rule.to_string(),
                "alert": t.alert,
                "recipients": t.recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "webhook": t.webhook.as_ref().map(|u| crate::text::url_origin(u.as_str())),
            })
        })
        .collect();
    let email = &config.email;
    let transport = match email.transport {
        TransportKind::File => json!({ "kind": email.transport, "dir": email.dir }),
        TransportKind::Smtp => json!({
            "kind": email.transport,
            "host": email.smtp.host,
            "port": email.smtp.port,
            "tls": email.smtp.tls,
            "username": email.smtp.username,
        }),
    };
    let next = schedule::next_digest(crate::clock::now(), &config.digest).to_zoned(config.digest.timezone.clone());
    json!({
        "config": config.path,
        "valid": true,
        "database": config.storage.database.to_string(),
        "fetch": {
            "interval_seconds": fetch.interval.as_secs(),
            "timeout_seconds": fetch.timeout.as_secs(),
            "max_age_seconds": fetch.max_age.as_secs(),
            "concurrency": fetch.concurrency,
            "per_host": fetch.per_host,
        },
        "dedup": {
            "window_seconds": config.dedup.window.as_secs(),
            "rewrites": config.dedup.rewrites,
            "certainty": config.dedup.certainty,
        },
        "sources": sources,
        "topics": topics,
        "transport": transport,
        "http": {
            "listen": config.http.listen.map(|a| a.to_string()),
            "exposed": config.http.exposed(),
            "token": config.http.token.is_some(),
        },
        "recipients": config.recipients().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "next_digest": next.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    })
}
