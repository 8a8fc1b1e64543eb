//! The pipeline, run once: poll sources (fetch → parse → match → store) and send a digest
//! (claim → build → mail → mark sent). `newswatch poll`/`digest` call these directly; the daemon
//! calls them on its schedule.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use jiff::Timestamp;

use crate::config::{Config, Source};
use crate::digest::{self, Layout};
use crate::fetch::{self, Fetcher};
use crate::mail::{self, Mailer, Outgoing};
use crate::matcher::{self, Matcher};
use crate::model::IngestCounts;
use crate::parse;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Matcher(#[from] matcher::MatcherError),
    #[error(transparent)]
    Client(#[from] fetch::ClientError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{error} ({stories} stories stay queued for the next digest)")]
    Send { error: mail::MailError, stories: usize },
}

/// Everything a poll or a digest needs, built once from the config.
pub struct App {
    pub config: Config,
    store: Arc<Mutex<Store>>,
    matcher: Arc<Matcher>,
    fetcher: Fetcher,
    mailer: Mailer,
}

/// How one source's poll went.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub source: String,
    pub outcome: Result<IngestCounts, String>,
}

/// What `digest` did.
#[derive(Debug, Clone)]
pub enum DigestOutcome {
    /// Nothing queued (and `send_empty` is off).
    NothingToSend,
    Sent {
        stories: usize,
        destination: String,
        message_id: String,
    },
    /// `--dry-run`: the plain-text digest, nothing sent or marked.
    DryRun { stories: usize, text: String },
}

impl App {
    pub fn open(config: Config) -> Result<App, SetupError> {
        let store = Store::open(&config.storage.database)?;
        let matcher = Matcher::new(&config.topics)?;
        let fetcher = Fetcher::new(&config.fetch)?;
        let mailer = Mailer::new(&config.email)?;
        Ok(App {
            config,
            store: Arc::new(Mutex::new(store)),
            matcher: Arc::new(matcher),
            fetcher,
            mailer,
        })
    }

    /// Runs `f` on the store on a blocking thread: SQLite calls must not stall the async workers.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock left no transaction open (rusqlite rolls back on
            // drop), so the store is still usable.
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Task(e.to_string())))
    }

    /// Polls `sources` concurrently (at most `fetch.concurrency` at once). A failing source is
    /// reported and recorded; it never stops the others.
    pub async fn poll(&self, sources: &[Source]) -> Vec<SourceReport> {
        futures_util::stream::iter(sources)
            .map(|source| self.poll_one(source))
            .buffer_unordered(self.config.fetch.concurrency)
            .collect()
            .await
    }

    async fn poll_one(&self, source: &Source) -> SourceReport {
        let name = source.name.clone();
        let url = source.url.to_string();
        let outcome = match self.fetcher.get(&source.url).await {
            Err(e) => Err(e.to_string()),
            Ok(doc) => {
                let matcher = Arc::clone(&self.matcher);
                let max_age = self.config.fetch.max_age;
                let (name, url) = (name.clone(), url.clone());
                self.with_store(move |store| {
                    let now = Timestamp::now();
                    match parse::parse_feed(&doc.body, &doc.url, doc.content_type.as_deref(), now) {
                        Ok(entries) => Ok(store
                            .ingest(&name, &url, &entries, now, max_age, |e| {
                                matcher.match_entry(&e.title, &e.body)
                            })
                            .map_err(|e| e.to_string())),
                        Err(e) => Ok(Err(e.to_string())),
                    }
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            }
        };
        if let Err(error) = &outcome {
            tracing::warn!(source = %name, %error, "poll failed");
            let (n, u, err) = (name.clone(), url.clone(), error.clone());
            if let Err(e) = self
                .with_store(move |s| s.record_failure(&n, &u, Timestamp::now(), &err))
                .await
            {
                tracing::error!(source = %name, error = %e, "cannot record the failure");
            }
        } else if let Ok(c) = &outcome {
            tracing::info!(source = %name, new = c.new, matched = c.matched, "polled");
        }
        SourceReport { source: name, outcome }
    }

    /// Builds and sends the digest of every queued story not yet sent. Stories are claimed first
    /// (so a second newswatch process cannot send them too) and marked sent only once the
    /// transport has accepted the message; on failure they go back to the queue.
    pub async fn send_digest(&self, dry_run: bool) -> Result<DigestOutcome, DigestError> {
        let now = Timestamp::now();
        if dry_run {
            let stories = self.with_store(|s| s.pending_stories()).await?;
            let digest = self.build_digest(&stories);
            return Ok(DigestOutcome::DryRun {
                stories: digest.stories,
                text: digest.text,
            });
        }
        let token = format!("{}-{}", std::process::id(), now.as_nanosecond());
        let claim = token.clone();
        let stories = self.with_store(move |s| s.claim_stories(&claim, now)).await?;
        if stories.is_empty() && !self.config.digest.send_empty {
            return Ok(DigestOutcome::NothingToSend);
        }
        let digest = self.build_digest(&stories);
        let sent = self
            .mailer
            .send(&Outgoing {
                subject: &digest.subject,
                text: &digest.text,
                html: &digest.html,
            })
            .await;
        match sent {
            Ok(sent) => {
                let (t, id, n) = (token.clone(), sent.message_id.clone(), digest.stories);
                self.with_store(move |s| {
                    s.mark_sent(&t, Timestamp::now())?;
                    s.record_digest(now, n, Some(&id), None)
                })
                .await?;
                tracing::info!(stories = digest.stories, destination = %sent.destination, "digest sent");
                Ok(DigestOutcome::Sent {
                    stories: digest.stories,
                    destination: sent.destination,
                    message_id: sent.message_id,
                })
            }
            Err(error) => {
                let (t, msg, n) = (token.clone(), error.to_string(), digest.stories);
                self.with_store(move |s| {
                    s.release(&t)?;
                    s.record_digest(now, n, None, Some(&msg))
                })
                .await?;
                tracing::error!(%error, "digest not sent");
                Err(DigestError::Send {
                    error,
                    stories: digest.stories,
                })
            }
        }
    }

    fn build_digest(&self, stories: &[crate::model::Story]) -> digest::Digest {
        let order: Vec<String> = self.config.topics.iter().map(|t| t.name.clone()).collect();
        digest::build(
            stories,
            &Layout {
                topic_order: &order,
                timezone: &self.config.digest.timezone,
                max_stories: self.config.digest.max_stories,
            },
        )
    }

    /// Sends a short message through the configured transport, to check the mail settings.
    pub async fn mail_test(&self) -> Result<mail::Sent, mail::MailError> {
        let text = format!(
            "This is a test message from newswatch {}.\n\nIf you can read it, the mail settings in {} work.\n",
            env!("CARGO_PKG_VERSION"),
            self.config.path.display()
        );
        let html = format!(
            "<p>This is a test message from newswatch {}.</p><p>If you can read it, the mail settings work.</p>",
            env!("CARGO_PKG_VERSION")
        );
        self.mailer
            .send(&Outgoing {
                subject: "newswatch: test message",
                text: &text,
                html: &html,
            })
            .await
    }
}
