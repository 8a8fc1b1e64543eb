//! The `newswatch` binary: parses the arguments, loads the config, starts logging and the
//! runtime, runs the command, and turns its outcome into an exit code and a message on stderr.
//! Everything else is the library's (`cli` first).

use std::process::ExitCode;

use clap::Parser;
use newswatch::cli::{self, Cli, Command, LogFormat, Outcome};
use newswatch::config::Config;

fn main() -> ExitCode {
    newswatch::memory::limit_arenas();
    newswatch::fetch::raise_descriptor_limit();
    let cli = Cli::parse();
    init_logging(&cli.command, cli.log_format);
    log_panics();
    if let Err(e) = set_clock() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }

    if let Some(outcome) = cli::without_config(&cli.command) {
        return exit(outcome);
    }
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            if let Some(json) = cli::invalid_config_json(&cli.command, &cli.config, &e.to_string()) {
                println!("{json}");
            }
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(cli::execute(cli.command, config));
    // Do not wait for stray blocking tasks (a slow SQLite write is already in its transaction).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(outcome) => exit(outcome),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `NEWSWATCH_CLOCK_OFFSET` moves the clock every stage reads (tests set time this way instead
/// of waiting for it); said in the log, so that a moved clock is never a mystery.
fn set_clock() -> Result<(), newswatch::clock::ClockError> {
    let Some(value) = std::env::var_os(newswatch::clock::OFFSET_VAR) else {
        return Ok(());
    };
    let offset = newswatch::clock::set_offset(&value.to_string_lossy())?;
    if offset.is_zero() {
        return Ok(());
    }
    tracing::warn!(offset = %format!("{offset:#}"), "the clock is moved by {}", newswatch::clock::OFFSET_VAR);
    Ok(())
}

/// The exit status of `outcome`, its message (if any) on stderr.
fn exit(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failure(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
        Outcome::Invalid(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// A panic is contained where it happens (it becomes the failure of the source being polled,
/// or of the one entry being read): it is logged like any error, in the log's format, instead
/// of printed bare on stderr. `RUST_BACKTRACE=1` adds the backtrace.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = newswatch::text::panic_text(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(%location, %backtrace, "panic: {message}");
        } else {
            tracing::error!(%location, "panic: {message}");
        }
    }));
}

/// Logs go to stderr. The daemon logs what it does; one-shot commands only warnings, because
/// their output on stdout already says what happened.
fn init_logging(command: &Command, format: LogFormat) {
    use std::io::IsTerminal;
    let default = match command {
        Command::Run => "info",
        // `poll` prints each source's failure on stdout already.
        Command::Poll { .. } => "warn,newswatch::poll=error",
        _ => "warn",
    };
    // rustls-platform-verifier logs a certificate it refuses as an error of its own; the
    // database error that follows says the same, with the way out.
    let filter = tracing_subscriber::EnvFilter::try_from_env("NEWSWATCH_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},refinery_core=warn,rustls_platform_verifier=off"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        // Colour codes only on a terminal: a journal or a file gets plain text.
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
