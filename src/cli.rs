//! The command line: one function per command, which calls the stages and prints what they
//! did, and the exit code it gives. No stage's work is done here, and the store is reached only
//! through the stages.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::app::App;
use crate::config::{self, Config, TransportKind};
use crate::deliver::{self, DigestError, DigestOutcome};
use crate::poll::{ArticleStats, PollOutcome, Poller};
use crate::schedule::{self, Mode, Skip};
use crate::timefmt::{format_duration, format_time};
use crate::{daemon, explain, health};

/// `println!` that does not panic when stdout is closed early (`newswatch digest --dry-run | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Debug, Parser)]
#[command(
    name = "newswatch",
    version,
    about = "Watch news feeds for your keywords and mail a digest of new coverage",
    long_about = "newswatch polls RSS, Atom and JSON feeds, finds the stories that match your topics' keywords, \
deduplicates them in SQLite (one story carried by five outlets is one story with five sources) and mails a \
digest of new coverage at the times you choose. Keywords, sources, schedule and mail settings live in one \
TOML file.\n\nStart with `newswatch check`, then `newswatch poll` and `newswatch digest --dry-run`; \
`newswatch run` is the daemon.",
    after_help = "Exit status: 0 success, 1 runtime failure (e.g. the digest could not be sent), 2 invalid config or usage.\n\
Logging: set NEWSWATCH_LOG (e.g. NEWSWATCH_LOG=debug) to change the log level."
)]
pub struct Cli {
    /// Configuration file. Relative paths inside it resolve against its folder.
    #[arg(long, global = true, env = "NEWSWATCH_CONFIG", default_value = config::DEFAULT_CONFIG_PATH, value_name = "PATH")]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and print a summary (sources, topics, transport, next digest time).
    Check,
    /// Poll every source once now, print what each gave, and exit.
    ///
    /// Exits 0 even if some sources failed (they are listed), 1 only if all failed. Sources
    /// backing off after failures, or on a host that asked to wait (Retry-After), are skipped
    /// and listed with the time they are due.
    Poll {
        /// Poll sources even if they are backing off or their host asked to wait.
        #[arg(long)]
        force: bool,
    },
    /// Mail the digest of matched stories not yet sent, then mark them sent.
    ///
    /// With nothing to send, no mail is sent (unless digest.send_empty = true).
    Digest {
        /// Print the plain-text digest instead; send and mark nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run the daemon: poll each source every interval, mail the digest at each digest.at time.
    ///
    /// Stops cleanly on SIGINT or SIGTERM.
    Run,
    /// Send a short test message through the configured transport.
    MailTest,
    /// Show how a topic reads and whether a text matches it, term by term, with the snippet the
    /// digest would show: for tuning queries.
    Explain {
        /// The topic, by name.
        #[arg(long)]
        topic: String,
        /// A text or HTML file, or the http(s) URL of an article (fetched and extracted).
        input: String,
    },
    /// Show each source's health: last success, failures, last error, items seen and matched.
    ///
    /// Sources failing for more than a day are marked with "!".
    Sources {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Poll this source again after it was paused by a 410 Gone.
        #[arg(long, value_name = "NAME")]
        resume: Option<String>,
    },
}

/// An exit status and, for failures, the message to print.
pub enum Outcome {
    Success,
    /// Exit 1 with this message.
    Failure(String),
}

pub async fn execute(command: Command, config: Config) -> anyhow::Result<Outcome> {
    if let Command::Check = command {
        print_summary(&config);
        return Ok(Outcome::Success);
    }
    if let Command::Explain { topic, input } = command {
        return explain(&config, &topic, &input).await;
    }
    let app = App::open(config).await?;
    match command {
        Command::Check | Command::Explain { .. } => unreachable!("handled above"),
        Command::Poll { force } => poll(&app, force).await,
        Command::Sources { json, resume } => sources(&app, json, resume).await,
        Command::Digest { dry_run } => digest(&app, dry_run).await,
        Command::Run => {
            daemon::run(app).await?;
            Ok(Outcome::Success)
        }
        Command::MailTest => match deliver::mail_test(&app).await {
            Ok(sent) => {
                out!(
                    "test message sent to {} ({})",
                    recipients(&app.config),
                    sent.destination
                );
                Ok(Outcome::Success)
            }
            Err(e) => Ok(Outcome::Failure(e.to_string())),
        },
    }
}

fn recipients(config: &Config) -> String {
    config
        .email
        .to
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(config: &Config) {
    let fetch = &config.fetch;
    out!("config: {} (valid)", config.path.display());
    out!("database: {}", config.storage.database.display());
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
    out!("topics: {}", config.topics.len());
    for t in &config.topics {
        out!("  {}: {}", t.name, t.rule);
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
    let now = Timestamp::now();
    let next = schedule::next_digest_time(now, &config.digest.at, &config.digest.timezone);
    let wait = std::time::Duration::try_from(next.duration_since(now)).unwrap_or_default();
    out!(
        "next digest: {} (in {})",
        format_time(next, &config.digest.timezone),
        format_duration(std::time::Duration::from_secs(wait.as_secs().max(1)))
    );
}

async fn poll(app: &App, force: bool) -> anyhow::Result<Outcome> {
    let mut reports = Poller::new(app)
        .round(&app.config.sources, Mode::Manual { force })
        .await;
    // Report in config order, whatever order the polls finished in.
    let order: HashMap<&str, usize> = app
        .config
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    reports.sort_by_key(|r| order.get(r.source.as_str()).copied());
    let tz = &app.config.digest.timezone;
    let (mut new, mut matched, mut failed, mut skipped) = (0, 0, 0, 0);
    let moved = |to: &Option<String>| {
        to.as_ref()
            .map(|u| format!(" (moved permanently to {u}: update the config)"))
            .unwrap_or_default()
    };
    for r in &reports {
        match &r.outcome {
            PollOutcome::Fetched {
                counts,
                over_cap,
                moved_to,
                articles,
                warning,
            } => {
                new += counts.new;
                matched += counts.matched;
                let cap = if *over_cap > 0 {
                    format!(", {over_cap} older entries over fetch.max_entries skipped")
                } else {
                    String::new()
                };
                matched += articles.matched_late;
                let warning = warning.as_ref().map(|w| format!("; warning: {w}")).unwrap_or_default();
                out!(
                    "{}: {} new, {} matched{cap}{}{}{warning}",
                    r.source,
                    counts.new,
                    counts.matched + articles.matched_late,
                    article_note(articles, true),
                    moved(moved_to)
                );
            }
            PollOutcome::Unchanged { moved_to, articles } => {
                matched += articles.matched_late;
                let late = if articles.matched_late > 0 {
                    format!(", {} matched on articles that loaded only now", articles.matched_late)
                } else {
                    String::new()
                };
                out!(
                    "{}: unchanged{late}{}{}",
                    r.source,
                    article_note(articles, false),
                    moved(moved_to)
                );
            }
            PollOutcome::Failed(e) => {
                failed += 1;
                out!("{}: error: {}", r.source, e);
            }
            PollOutcome::Skipped(why) => {
                skipped += 1;
                out!("{}: skipped: {}", r.source, skip_reason(why, &r.source, tz));
            }
        }
    }
    out!(
        "total: {} sources, {} new, {} matched, {} failed, {} skipped",
        reports.len(),
        new,
        matched,
        failed,
        skipped
    );
    if failed > 0 && failed + skipped == reports.len() {
        return Ok(Outcome::Failure(format!("all {failed} sources polled failed")));
    }
    Ok(Outcome::Success)
}

fn skip_reason(skip: &Skip, source: &str, tz: &TimeZone) -> String {
    match skip {
        Skip::Paused => format!(
            "paused after HTTP 410 Gone; remove it from the config, or run `newswatch sources --resume \"{source}\"` if it is back"
        ),
        Skip::HostHeld { host, hold } => format!(
            "{host} asked to wait ({}) until {}",
            hold.reason,
            format_time(hold.until, tz)
        ),
        Skip::BackingOff { failures, until } => format!(
            "backing off after {failures} failure{} until {} (poll --force to try now)",
            if *failures == 1 { "" } else { "s" },
            format_time(*until, tz)
        ),
    }
}

async fn explain(config: &Config, topic: &str, input: &str) -> anyhow::Result<Outcome> {
    let found = match explain::explain(config, topic, input).await {
        Ok(found) => found,
        Err(e @ explain::ExplainError::Setup(_)) => return Err(e.into()),
        Err(e) => return Ok(Outcome::Failure(e.to_string())),
    };
    let x = &found.explanation;
    out!("topic:   {}", x.topic);
    out!("read as: {}", x.reading);
    out!("input:   {input} ({})", found.read_as);
    out!("title:   {}", found.entry.title);
    out!("match:   {}", if x.matched { "yes" } else { "no" });
    let width = x.terms.iter().map(|t| t.term.chars().count() + 9).max().unwrap_or(0);
    for t in &x.terms {
        let label = format!(
            "{}{}{}",
            if t.negated { "NOT " } else { "" },
            if t.title_only { "intitle:" } else { "" },
            t.term
        );
        let place = if t.title_only {
            format!("title {}", t.in_title)
        } else {
            format!("title {}, text {}", t.in_title, t.in_text)
        };
        out!("  {label:<width$}  {place}");
    }
    if x.matched && !x.snippet.text.is_empty() {
        let mut shown = String::new();
        let mut at = 0;
        for &(s, e) in &x.snippet.marks {
            shown.push_str(&x.snippet.text[at..s]);
            shown.push('*');
            shown.push_str(&x.snippet.text[s..e]);
            shown.push('*');
            at = e;
        }
        shown.push_str(&x.snippet.text[at..]);
        out!("snippet: {shown}");
    }
    Ok(Outcome::Success)
}

fn article_note(a: &ArticleStats, with_late: bool) -> String {
    let mut note = String::new();
    if with_late && a.matched_late > 0 {
        note.push_str(&format!(" ({} on articles that loaded only now)", a.matched_late));
    }
    if a.failed > 0 {
        note.push_str(&format!(
            ", {} article{} did not load (tried again at the next polls)",
            a.failed,
            if a.failed == 1 { "" } else { "s" }
        ));
    }
    note
}

async fn sources(app: &App, json: bool, resume: Option<String>) -> anyhow::Result<Outcome> {
    if let Some(name) = resume {
        if !health::resume(app, &name).await? {
            return Ok(Outcome::Failure(format!(
                "no source named {name:?} has been polled yet"
            )));
        }
        out!("{name}: resumed; it is polled at the next poll");
        return Ok(Outcome::Success);
    }
    let now = Timestamp::now();
    let health = health::report(app, now).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&health)?);
        return Ok(Outcome::Success);
    }
    let tz = &app.config.digest.timezone;
    let when = |t: Option<Timestamp>| t.map_or_else(|| "never".to_string(), |t| format_time(t, tz));
    let mut rows = vec![[
        "SOURCE".to_string(),
        "STATUS".into(),
        "LAST SUCCESS".into(),
        "FAILS".into(),
        "HTTP".into(),
        "SEEN".into(),
        "MATCHED".into(),
        "LAST ERROR".into(),
    ]];
    for h in &health {
        let name = if h.needs_attention {
            format!("! {}", h.name)
        } else {
            format!("  {}", h.name)
        };
        rows.push([
            name,
            h.status.to_string(),
            when(h.last_success),
            h.consecutive_failures.to_string(),
            h.last_status.map_or_else(|| "-".into(), |s| s.to_string()),
            h.items_seen.to_string(),
            h.items_matched.to_string(),
            h.last_error.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i < 7 {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                line.push_str(cell);
            }
        }
        out!("{}", line.trim_end());
    }
    if health.iter().any(|h| h.needs_attention) {
        out!("\n! failing for more than a day, paused or moved: see LAST ERROR");
    }
    Ok(Outcome::Success)
}

async fn digest(app: &App, dry_run: bool) -> anyhow::Result<Outcome> {
    match deliver::send_digest(app, dry_run).await {
        Ok(DigestOutcome::NothingToSend) => {
            out!("nothing to send: no new matching stories");
            Ok(Outcome::Success)
        }
        Ok(DigestOutcome::DryRun { text, .. }) => {
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
            Ok(Outcome::Success)
        }
        Ok(DigestOutcome::Sent {
            stories, destination, ..
        }) => {
            out!(
                "digest sent: {stories} {} to {} ({destination})",
                if stories == 1 { "story" } else { "stories" },
                recipients(&app.config)
            );
            Ok(Outcome::Success)
        }
        Err(DigestError::Store(e)) => Err(e.into()),
        Err(e) => Ok(Outcome::Failure(e.to_string())),
    }
}
