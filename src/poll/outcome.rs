//! How a poll of one source went, as data: reports and health read the kind of a failure, never
//! its text (lychee's `Status`).

use crate::fetch::FetchError;
use crate::model::IngestCounts;
use crate::schedule::Skip;

/// How one source's poll went.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub source: String,
    pub outcome: PollOutcome,
}

#[derive(Debug, Clone)]
pub enum PollOutcome {
    /// A new document was parsed and stored.
    Fetched {
        counts: IngestCounts,
        /// Entries past `fetch.max_entries`, not stored.
        over_cap: usize,
        /// The source answered with a permanent redirect: the config should use this URL.
        moved_to: Option<String>,
        articles: ArticleStats,
        /// Something the user should fix, e.g. a links selector that matched nothing.
        warning: Option<String>,
    },
    /// 304 Not Modified, or the same body as last time: nothing parsed.
    Unchanged {
        moved_to: Option<String>,
        articles: ArticleStats,
    },
    Failed(Failure),
    /// Not polled now, and why.
    Skipped(Skip),
}

impl PollOutcome {
    pub fn is_failure(&self) -> bool {
        matches!(self, PollOutcome::Failed(_))
    }

    pub fn is_skipped(&self) -> bool {
        matches!(self, PollOutcome::Skipped(_))
    }
}

/// Articles of full-text sources in one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArticleStats {
    /// Articles that did not load (tried again at the next polls, three attempts in all).
    pub failed: usize,
    /// Stories queued only now, once their article loaded.
    pub matched_late: usize,
}

impl ArticleStats {
    pub(super) fn add(&mut self, other: ArticleStats) {
        self.failed += other.failed;
        self.matched_late += other.matched_late;
    }
}

/// A poll that failed: what kind of failure, and the message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Timeout,
    /// No connection: refused, reset, DNS.
    Connect,
    /// Connection failures to several hosts and none reached: our network, not the source.
    NetworkDown,
    /// The transfer broke off or was garbled (truncated body, bad compression).
    Transfer,
    /// An HTTP status that is not a success.
    Status(u16),
    /// 429 or 503: the host asked to be left alone.
    RateLimited(u16),
    /// 410: the publisher removed the source.
    Gone,
    TooLarge,
    /// Too many, looping or invalid redirects.
    Redirect,
    /// A non-public address a public source may not lead to.
    Blocked,
    /// robots.txt disallows it or cannot be read.
    Robots,
    /// An HTML page or other document where a feed should be.
    NotAFeed,
    Malformed,
    /// The database could not record the poll.
    Store,
    /// A bug of ours (a panic while handling the source).
    Internal,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// A bug of ours while doing `what` (a panic, caught): the source's failure, not the round's.
    pub(super) fn internal(what: &'static str) -> impl FnOnce(String) -> Failure {
        move |panic| Failure::new(FailureKind::Internal, format!("internal error while {what}: {panic}"))
    }

    /// The HTTP status behind the failure, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            FailureKind::Status(s) | FailureKind::RateLimited(s) => Some(s),
            FailureKind::Gone => Some(410),
            _ => None,
        }
    }
}

impl FailureKind {
    /// Whether the failure may well go away by itself if the source is tried again later; the
    /// others need the publisher or the user to change something.
    pub fn is_transient(self) -> bool {
        match self {
            FailureKind::Timeout
            | FailureKind::Connect
            | FailureKind::NetworkDown
            | FailureKind::Transfer
            | FailureKind::RateLimited(_)
            | FailureKind::Robots
            | FailureKind::Store
            | FailureKind::Internal => true,
            FailureKind::Status(s) => s >= 500 || s == 408,
            FailureKind::Gone
            | FailureKind::TooLarge
            | FailureKind::Redirect
            | FailureKind::Blocked
            | FailureKind::NotAFeed
            | FailureKind::Malformed => false,
        }
    }

    /// Whether it counts toward the source's backoff: not when our network was down, nor when
    /// the host only asked us to wait (the wait is kept per host instead).
    pub fn counts_against_source(self) -> bool {
        !matches!(self, FailureKind::NetworkDown | FailureKind::RateLimited(_))
    }
}

impl From<&FetchError> for FailureKind {
    fn from(e: &FetchError) -> FailureKind {
        match e {
            FetchError::Timeout(_) => FailureKind::Timeout,
            FetchError::Connect(_) => FailureKind::Connect,
            FetchError::Status { status, .. } => FailureKind::Status(*status),
            FetchError::RateLimited { status, .. } => FailureKind::RateLimited(*status),
            FetchError::Gone => FailureKind::Gone,
            FetchError::TooLarge(_) => FailureKind::TooLarge,
            FetchError::TooManyRedirects | FetchError::RedirectLoop(_) | FetchError::BadRedirect(_) => {
                FailureKind::Redirect
            }
            FetchError::Blocked(_) => FailureKind::Blocked,
            FetchError::RobotsDisallowed(_) | FetchError::RobotsUnavailable { .. } => FailureKind::Robots,
            FetchError::Other(_) => FailureKind::Transfer,
            // Ours, not the source's: not counted against it, tried again soon.
            FetchError::Descriptors { .. } => FailureKind::NetworkDown,
        }
    }
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Failure {
        Failure::new(FailureKind::from(&e), e.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_say_what_to_expect() {
        assert!(FailureKind::Timeout.is_transient());
        assert!(FailureKind::Status(503).is_transient());
        assert!(!FailureKind::Status(404).is_transient());
        assert!(!FailureKind::Gone.is_transient());
        assert!(!FailureKind::NetworkDown.counts_against_source());
        assert!(!FailureKind::RateLimited(429).counts_against_source());
        assert!(FailureKind::Status(500).counts_against_source());
        let f: Failure = FetchError::Gone.into();
        assert_eq!((f.kind, f.status()), (FailureKind::Gone, Some(410)));
    }
}
