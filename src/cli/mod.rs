//! The command line: the arguments, and one function per command, which calls the stages and
//! prints what they did, and the exit code it gives: `check.rs` (check), `poll.rs` (poll),
//! `mail.rs` (digest, outbox, mail-test), `sources.rs` (sources, status), `explain.rs`
//! (explain), `opml.rs` (import-opml, export-opml). No
//! stage's work is done here, and the store is reached only through the stages.

/// `println!` that does not panic when stdout is closed early (`newswatch digest --dry-run | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod check;
mod explain;
mod mail;
mod manual;
mod opml;
mod poll;
mod search;
mod sources;
mod stories;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{self, Config};
use crate::daemon;

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

    /// How log lines (on stderr) are written: "text" for people, "json" (one object a line)
    /// for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config and print a summary (sources, topics, transport, next digest time).
    Check {
        /// Print one JSON object instead; an invalid config is `{"valid": false, "error": ...}`
        /// (exit 2).
        #[arg(long)]
        json: bool,
    },
    /// Poll every source once now, print what each gave, and exit.
    ///
    /// Exits 0 even if some sources failed (they are listed), 1 only if all failed. Sources
    /// backing off after failures, or on a host that asked to wait (Retry-After), are skipped
    /// and listed with the time they are due.
    Poll {
        /// Poll sources even if they are backing off or their host asked to wait.
        #[arg(long)]
        force: bool,
        /// Print one JSON object instead: a row per source, the totals, and `matches` (each
        /// keyword with the number of distinct stories it matched in this poll). See README.
        #[arg(long)]
        json: bool,
    },
    /// Mail the digest of matched stories not yet sent: one message per recipient, through the
    /// outbox, with anything else the outbox holds that is due.
    ///
    /// With nothing to send, no mail is sent (unless digest.send_empty = true). Exits 1 when a
    /// message it tried could not be sent (it stays in the outbox and is tried again).
    Digest {
        /// Print the plain-text digest each recipient would get instead; send and mark nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the messages that are not sent yet (pending or parked), or try them again.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
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
    /// Show how things stand: when each source is polled next, the next digest, the messages
    /// not sent yet, the database, and the last 24 hours.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Copy the database to FILE while newswatch may be running (SQLite's online backup).
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
    /// List stored stories, newest first, with the entries each is made of: which source
    /// carried it, under which title, link and GUID, when; and whether it was sent.
    ///
    /// The lead entry (the one the digest shows) is marked "*". Stories that matched no topic
    /// are left out unless --all is given.
    Stories {
        /// Only stories that matched this topic (its name in the config).
        #[arg(long, value_name = "NAME")]
        topic: Option<String>,
        /// How far back, by when newswatch first saw the story: "7d", "12h", "30m".
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_since)]
        since: std::time::Duration,
        /// Include stories that matched no topic.
        #[arg(long)]
        all: bool,
        /// Show one story (its number, "#12") and why each of its entries joined it: by link,
        /// as a copy or as a rewrite, how alike, and the words they share.
        #[arg(long, value_name = "ID", value_parser = parse_story_id)]
        why: Option<i64>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Add the feeds of an OPML file (another reader's export) to the config as [[source]]
    /// entries.
    ///
    /// Feeds in folders are included, the folder kept as the source's category. URLs already in
    /// the config are skipped, and a name another source has gets " (2)". The new entries are
    /// appended to the config file; its comments and formatting stay as they are. Prints what
    /// it added and what it skipped.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
        /// Print what would be added; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy this SQLite archive into an empty PostgreSQL database, to move to it: every
    /// source, story, entry, message and who was told what, in one transaction.
    ///
    /// Stop the daemon first. The database must exist and hold no archive (one that does is
    /// refused). Then set [storage] database to the URL and start newswatch again; the search
    /// index is rebuilt there by the daemon (or by `search`).
    MigrateTo {
        /// The PostgreSQL database, postgres://user@host:5432/db (no password in it).
        url: String,
        /// A file holding its password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The environment variable holding its password instead.
        #[arg(long, value_name = "NAME")]
        password_env: Option<String>,
    },
    /// Write the sources as an OPML 2.0 file, for a feed reader (categories become folders).
    ExportOpml {
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print a completion script for SHELL (see README: where each shell looks for it).
    ///
    /// Needs no config. For example: `newswatch completions bash >
    /// ~/.local/share/bash-completion/completions/newswatch`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command to DIR.
    ///
    /// Needs no config. For example: `newswatch man > ~/.local/share/man/man1/newswatch.1`, and
    /// `newswatch man --section 5 > ~/.local/share/man/man5/newswatch.toml.5` for the
    /// configuration reference (`man newswatch.toml`).
    Man {
        /// Write newswatch.1, newswatch-COMMAND.1 and newswatch.toml.5 into this folder instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// 1: the commands (newswatch(1)); 5: the config file (newswatch.toml(5)).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
        section: u8,
    },
    /// Let a topic added later look back: queue the stored stories it matches that were never
    /// sent, for the next digest (or alert), and say how many.
    ///
    /// Stories already sent are not sent again. A story queued for other topics carries this
    /// one too.
    Backfill {
        /// The topic, by name.
        #[arg(long, value_name = "NAME")]
        topic: String,
        /// How far back, by when newswatch first saw the story: "7d", "12h", "30d".
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_since)]
        since: std::time::Duration,
    },
    /// Search every stored story with the topics' query language (see README: Queries),
    /// newest first, with a snippet.
    ///
    /// The full-text index narrows the search to the stories holding the query's words; the
    /// matcher decides, as for topics. Terms of one or two characters of a script written
    /// without spaces (`日本`) do not narrow: a query made only of such terms is checked over
    /// the last 30 days unless --since says otherwise.
    Search {
        /// The query, e.g. '"Self-Defense Forces" NATO -football'.
        query: String,
        /// Only stories first seen within this: "7d", "12h", "30d".
        #[arg(long, value_name = "DURATION", value_parser = parse_since)]
        since: Option<std::time::Duration>,
        /// Only stories this source carried (its name in the config).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// At most this many stories.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Prune now what `[storage] keep` says is too old (the daemon does it once a day): the
    /// texts of older stories go, their titles and the keys that make them known stay; the
    /// file shrinks.
    Prune {
        /// Also rewrite the whole database file (SQLite VACUUM): needed once for a database
        /// made by a newswatch without incremental shrinking. Stop the daemon first.
        #[arg(long)]
        vacuum: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
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

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Send parked messages (refused three times) and pending ones now: all, or the one with ID.
    Retry {
        /// The outbox id, as `newswatch outbox` and `newswatch digest` print it.
        id: Option<i64>,
    },
}

fn parse_since(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
}

/// A story's number as `stories` prints it: "12" or "#12".
fn parse_story_id(s: &str) -> Result<i64, String> {
    s.trim_start_matches('#')
        .parse::<i64>()
        .map_err(|_| format!("{s:?} is not a story number (`newswatch stories` shows them, as \"#12\")"))
}

/// Runs the commands that need no config (completions, the manual page): `None` for the others.
pub fn without_config(command: &Command) -> Option<Outcome> {
    use clap::CommandFactory;
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "newswatch", &mut std::io::stdout());
            Some(Outcome::Success)
        }
        Command::Man { dir: None, section: 5 } => {
            use std::io::Write as _;
            Some(
                match std::io::stdout().lock().write_all(manual::config_page().as_bytes()) {
                    Ok(()) => Outcome::Success,
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Success,
                    Err(e) => Outcome::Failure(format!("cannot write the manual page: {e}")),
                },
            )
        }
        Command::Man { dir: None, section: 1 } => Some(
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                // `newswatch man | head` is not a failure.
                Ok(()) => Outcome::Success,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Outcome::Success,
                Err(e) => Outcome::Failure(format!("cannot write the manual page: {e}")),
            },
        ),
        Command::Man { dir: None, section } => Some(Outcome::Invalid(format!(
            "no manual page in section {section}: 1 (the commands) or 5 (the config file)"
        ))),
        Command::Man { dir: Some(dir), .. } => Some(
            match std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
                .and_then(|()| std::fs::write(dir.join("newswatch.toml.5"), manual::config_page()))
            {
                Ok(()) => {
                    out!("wrote the manual pages to {}", dir.display());
                    Outcome::Success
                }
                Err(e) => Outcome::Failure(format!("cannot write the manual pages to {}: {e}", dir.display())),
            },
        ),
        _ => None,
    }
}

/// What `check --json` prints on stdout for a config that cannot be used (the error goes to
/// stderr as for any command).
pub fn invalid_config_json(command: &Command, path: &std::path::Path, error: &str) -> Option<String> {
    matches!(command, Command::Check { json: true })
        .then(|| serde_json::json!({ "config": path, "valid": false, "error": error }).to_string())
}

/// An exit status and, for failures, the message to print.
pub enum Outcome {
    Success,
    /// Exit 1 with this message.
    Failure(String),
    /// Exit 2 with this message: the config cannot work (as for an invalid config).
    Invalid(String),
}

pub async fn execute(command: Command, config: Config) -> anyhow::Result<Outcome> {
    if let Some(outcome) = without_config(&command) {
        return Ok(outcome);
    }
    // Commands that write refuse at once, like an invalid config, when they cannot.
    if matches!(
        command,
        Command::Check { .. } | Command::Poll { .. } | Command::Digest { dry_run: false } | Command::Run
    ) && let Err(e) = crate::app::preflight(&config)
    {
        let message = format!("{e} (config {})", config.path.display());
        if let Some(json) = invalid_config_json(&command, &config.path, &message) {
            out!("{json}");
        }
        return Ok(Outcome::Invalid(message));
    }
    if let Command::Check { json } = command {
        match json {
            true => out!("{}", serde_json::to_string_pretty(&check::summary(&config))?),
            false => check::print_summary(&config),
        }
        return Ok(Outcome::Success);
    }
    match command {
        Command::Explain { topic, input } => return explain::explain(&config, &topic, &input).await,
        Command::ImportOpml { file, dry_run } => return opml::import(&config, &file, dry_run),
        Command::MigrateTo {
            url,
            password_file,
            password_env,
        } => return sources::migrate_to(&config, url, password_file, password_env).await,
        Command::ExportOpml { output } => return opml::export(&config, output.as_deref()),
        _ => {}
    }
    let app = std::sync::Arc::new(App::open(config).await?);
    match command {
        Command::Check { .. }
        | Command::Explain { .. }
        | Command::ImportOpml { .. }
        | Command::MigrateTo { .. }
        | Command::ExportOpml { .. }
        | Command::Completions { .. }
        | Command::Man { .. } => unreachable!("handled above"),
        Command::Poll { force, json } => poll::poll(&app, force, json).await,
        Command::Sources { json, resume } => sources::sources(&app, json, resume).await,
        Command::Status { json } => sources::status(&app, json).await,
        Command::Stories {
            topic,
            since,
            all,
            why,
            json,
        } => {
            let filter = stories::filter(topic, since, all, why);
            stories::stories(&app, filter, json).await
        }
        Command::Backup { file } => sources::backup(&app, &file).await,
        Command::Search {
            query,
            since,
            source,
            limit,
            json,
        } => search::search(&app, query, since, source, limit, json).await,
        Command::Prune { vacuum, json } => search::prune(&app, vacuum, json).await,
        Command::Backfill { topic, since } => stories::backfill(&app, &topic, since).await,
        Command::Digest { dry_run } => mail::digest(&app, dry_run).await,
        Command::Outbox { action } => mail::outbox(&app, action).await,
        Command::MailTest => mail::mail_test(&app).await,
        Command::Run => match daemon::run(app).await {
            Ok(()) => Ok(Outcome::Success),
            // What the user must change before starting again: said once, exit 2.
            Err(e @ (daemon::DaemonError::Listen(_) | daemon::DaemonError::AlreadyRunning { .. })) => {
                Ok(Outcome::Invalid(e.to_string()))
            }
            Err(e) => Err(e.into()),
        },
    }
}
