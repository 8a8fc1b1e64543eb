//! The plain data types that flow through the pipeline:
//! a configured [`Source`](crate::config::Source) is fetched into a document, parsed into [`Entry`]s,
//! matched into [`TopicHit`]s with a [`Snippet`], stored, and read back as [`Story`]s for a digest.

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
    /// Names of the sources that carried it, the first one first.
    pub sources: Vec<String>,
    pub hits: Vec<TopicHit>,
    pub snippet: Snippet,
}

/// What one poll of one source added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Entries seen for the first time from this source.
    pub new: usize,
    /// Of those, how many were queued for the digest.
    pub matched: usize,
}
