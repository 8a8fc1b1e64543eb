//! The plain data types that flow through the pipeline:
//! a configured source is fetched into a document, parsed into [`Entry`]s,
//! matched into [`TopicHit`]s with a [`Snippet`], stored, and read back as [`Story`]s for a digest;
//! and the state the store keeps between polls ([`SourceState`], [`ItemState`]).
//!
//! Types only, no behaviour beyond lookups; uses no other room of ours.

use std::collections::HashMap;

use jiff::Timestamp;

/// One item of a feed, as parsed, with all text already plain (no HTML).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The feed's GUID/id, or a stable id derived from link and title when the feed gives none.
    pub guid: String,
    /// Absolute http(s) link to the article, if the feed gives one.
    pub link: Option<String>,
    pub title: String,
    /// Summary and content as plain text.
    pub body: String,
    /// Publication time as the feed states it; `None` when missing, unparseable or in the future.
    pub published: Option<Timestamp>,
}

/// A topic an entry matched, and which of its keywords did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicHit {
    pub topic: String,
    pub keywords: Vec<String>,
}

/// About 200 characters of an entry's text around its first match.
/// `marks` are byte ranges of `text` to emphasise, sorted and not overlapping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snippet {
    pub text: String,
    pub marks: Vec<(usize, usize)>,
}

/// The verdict of the matcher on one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub hits: Vec<TopicHit>,
    pub snippet: Snippet,
    /// Byte ranges of the entry's title where a keyword matched, as in [`Snippet::marks`].
    pub title_marks: Vec<(usize, usize)>,
}

/// A stored story, queued for a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    /// Publication time, or the time newswatch first saw it when the feed gave none.
    pub published: Timestamp,
    pub first_seen: Timestamp,
    /// Names of the sources that carried it, the lead's first.
    pub sources: Vec<String>,
    /// The other sources that reported it, each with the link of its report.
    pub also: Vec<Outlet>,
    pub hits: Vec<TopicHit>,
    pub snippet: Snippet,
    /// Where keywords are in `title` (byte ranges, sorted, not overlapping).
    pub title_marks: Vec<(usize, usize)>,
}

/// A story mailed to a recipient before that other outlets have reported since: what the
/// next digest's "More coverage of earlier stories" says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    pub story: i64,
    pub title: String,
    pub link: Option<String>,
    /// The outlets the recipient has not been told of, in the order they reported it.
    pub outlets: Vec<Outlet>,
    /// The Message-ID of the message that first carried the story to this recipient.
    pub first_message: String,
}

/// What a recipient was mailed before, as their next digest needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReaderHistory {
    /// Stories mailed to them that more outlets have reported since.
    pub follow_ups: Vec<FollowUp>,
    /// When their last digest was composed.
    pub last_digest: Option<Timestamp>,
}

/// Another outlet's report of a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    pub source: String,
    pub link: Option<String>,
}

/// What one poll of one source added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Entries seen for the first time from this source.
    pub new: usize,
    /// New stories queued for the digest: matched by one of those entries.
    pub matched: usize,
    /// Of the new entries, those that matched a topic and joined a story already matched
    /// (another outlet's report of it): news to the story, not a new story.
    pub joined: usize,
    /// The stories (ids) in which each keyword matched a new entry, reported or not (too old,
    /// say): what `poll --json` counts.
    pub keywords: std::collections::BTreeMap<String, std::collections::BTreeSet<i64>>,
}

/// Everything stored about one source: its health (for `newswatch sources`) and its fetch state.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub name: String,
    pub url: String,
    pub last_attempt: Option<Timestamp>,
    pub last_success: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
    pub items_seen: i64,
    pub items_matched: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_hash: Option<String>,
    pub next_poll: Option<Timestamp>,
    pub failing_since: Option<Timestamp>,
    pub paused: bool,
    pub moved_to: Option<String>,
    /// What `kind = "auto"` decided: "feed" or "page".
    pub kind: Option<String>,
    /// The feed a page advertised, polled instead of the page.
    pub feed_url: Option<String>,
    /// What was wrong with the last document, though it was read.
    pub last_warning: Option<String>,
}

/// The stored state of every source, by name.
#[derive(Debug, Clone, Default)]
pub struct SourceStates(pub HashMap<String, SourceState>);

impl SourceStates {
    /// The state of the source called `name`, if it was recorded for this `url`: state
    /// recorded for another URL is stale (the source was moved in the config).
    pub fn current(&self, name: &str, url: &str) -> Option<&SourceState> {
        self.0.get(name).filter(|s| s.url == url)
    }
}

/// Where a stored story is on its way to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// Stored; no topic matched it (yet).
    Stored,
    /// Matched, waiting for a digest.
    Queued,
    /// In a digest the mail transport accepted.
    Sent,
}

/// A stored story as a new report of it finds it: where it stands, and what its lead (the
/// report it is shown by) has. `dedup::leads` decides whether the new report leads instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryHead {
    pub state: ItemState,
    /// The lead has a title alone: no text, or a text that is its title.
    pub headline_only: bool,
    pub published: Option<jiff::Timestamp>,
}

/// A stored story that a new entry may be another copy of (they share a link key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryCandidate {
    pub id: i64,
    /// Its first entry under the link looked up.
    pub entry: i64,
    pub title: String,
    pub state: ItemState,
    /// Another source than the new entry's carried it already.
    pub carried_elsewhere: bool,
}

/// A source that needs the user's attention, and why (the digest lists them at its end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub source: String,
    pub reason: String,
}

/// How a host is known wherever it is bounded, spaced or held: by name and port.
pub fn host_key(url: &url::Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

/// A host that asked to be left alone (429 or 503 with Retry-After) until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostHold {
    pub until: Timestamp,
    /// `HTTP 429`, `HTTP 503`.
    pub reason: String,
}

/// What an outbox message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Digest,
    Alert,
}

impl MessageKind {
    /// Its name, as the outbox stores it and messages and screens say it.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Digest => "digest",
            MessageKind::Alert => "alert",
        }
    }
}

/// How an outbox message travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// SMTP or an `.eml` file; the recipient is an address.
    Mail,
    /// An HTTP POST of one story as JSON; the recipient is the URL.
    Webhook,
    /// A channel this newswatch does not send by (a message written by another version, or
    /// an edited database), by its name: never sent another way, parked with an error naming it.
    Unknown(String),
}

impl Channel {
    /// How the outbox stores it.
    pub fn name(&self) -> &str {
        match self {
            Channel::Mail => "mail",
            Channel::Webhook => "webhook",
            Channel::Unknown(name) => name,
        }
    }

    /// The channel the outbox calls `name`.
    pub fn from_name(name: &str) -> Channel {
        match name {
            "mail" => Channel::Mail,
            "webhook" => Channel::Webhook,
            other => Channel::Unknown(other.to_string()),
        }
    }
}

impl serde::Serialize for Channel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Where an outbox message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// To be sent at its next attempt.
    Pending,
    Sent,
    /// Refused three times; waits for `newswatch outbox retry`.
    Parked,
}

/// A queued story, with the recipients it is already on its way to.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedStory {
    pub story: Story,
    /// Addresses (lower case) with an outbox message holding this story.
    pub delivered_to: Vec<String>,
}

/// An outbox message as `status` and `digest` report it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: MessageKind,
    pub channel: Channel,
    /// The address, or the webhook's URL: the secret path included, for sending only.
    #[serde(skip)]
    pub recipient: String,
    /// The recipient as screens, logs and `--json` show it: an address, or a webhook's scheme,
    /// host and port.
    #[serde(rename = "recipient")]
    pub shown: String,
    pub message_id: String,
    pub subject: String,
    pub stories: usize,
    pub created_at: Timestamp,
    pub state: MessageState,
    pub attempts: u32,
    /// Permanent (5xx) answers so far.
    pub refusals: u32,
    pub next_attempt: Timestamp,
    pub last_attempt: Option<Timestamp>,
    pub last_error: Option<String>,
    pub sent_at: Option<Timestamp>,
    /// The server, or the `.eml` file written.
    pub destination: Option<String>,
}

/// A stored story as `newswatch stories` shows it: what it is, what it matched, whether it
/// went out, and every entry it is made of (the lead first).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoryRecord {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    /// "stored" (matched nothing, or too old), "queued" (waiting for a digest), "pending" (in
    /// a message of the outbox not sent yet) or "sent" (a message carrying it was accepted).
    pub state: String,
    pub topics: Vec<String>,
    pub published: Option<Timestamp>,
    pub first_seen: Timestamp,
    /// When the first message carrying it was accepted by the mail transport.
    pub sent_at: Option<Timestamp>,
    pub entries: Vec<EntryRecord>,
}

impl StoryRecord {
    /// Each outlet's first report, the lead's outlet first (entries are read lead first).
    pub fn outlets(&self) -> Vec<&EntryRecord> {
        let mut out: Vec<&EntryRecord> = Vec::new();
        for e in &self.entries {
            if !out.iter().any(|o| o.source == e.source) {
                out.push(e);
            }
        }
        out
    }
}

/// One source's report of a story.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EntryRecord {
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub guid: String,
    pub published: Option<Timestamp>,
    pub first_seen: Timestamp,
    /// The story is shown by this entry.
    pub lead: bool,
    /// Its id among all entries.
    pub id: i64,
    /// Why it joined the story; `None` for the entry that began it (and entries stored before
    /// newswatch recorded why).
    pub joined: Option<Joined>,
}

/// The rule by which an entry joined a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinRule {
    /// The same link after canonicalisation.
    Link,
    /// Another outlet's copy: the bodies are nearly the same.
    Copy,
    /// A rewrite over the bar of an earlier version (`[dedup] similarity`).
    Rewrite,
    /// A rewrite of an earlier version, a little under the bar, whose story led every other.
    Clear,
    /// The same event, weighed against the story's entries (`[dedup] certainty`).
    Event,
}

/// Why an entry joined a story.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Joined {
    pub rule: JoinRule,
    /// The entry (id) it was found alike, or sharing its link.
    pub with: Option<i64>,
    /// How alike they were (cosine, 0 to 1); for the same event, how sure newswatch was over
    /// the story (0 to 1); none for a link.
    pub score: Option<f32>,
    /// For the same event (and an earlier version's clear lead), the next story's score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<f32>,
    /// For the same event, the chance it tells the same event as `with` alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<f32>,
    /// For the same event, how many of the story's entries it was weighed against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighed: Option<u32>,
    /// Words they share, heaviest first (stems for a rewrite).
    pub shared: Vec<String>,
}

/// Where the archive is kept: a SQLite file (the embedded default), or a PostgreSQL server that
/// daemons on several machines share.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    File(std::path::PathBuf),
    /// `url` has no password (the config refuses one there); `password` is read from a file
    /// or the environment, and never shown.
    Server {
        url: String,
        password: Option<String>,
    },
}

/// The path, or the server's URL (which holds no password).
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(path) => write!(f, "{}", path.display()),
            Database::Server { url, .. } => f.write_str(url),
        }
    }
}

// Hand-written so that the password never reaches a log line.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::File(path) => f.debug_tuple("File").field(path).finish(),
            Database::Server { url, password } => f
                .debug_struct("Server")
                .field("url", url)
                .field("password", &password.as_ref().map(|_| "***"))
                .finish(),
        }
    }
}
