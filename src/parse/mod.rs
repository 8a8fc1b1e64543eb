//! Feed documents (RSS 0.90 to 2.0, Atom 0.3 and 1.0, JSON Feed 1.0 and 1.1) into [`Entry`]s
//! with plain text, reading as much of a broken document as a liberal reader would.
//!
//! In order, one file each:
//! 1. bytes to text ([`text::decode`]): BOM, UTF-16/32 patterns, UTF-8, HTTP charset, XML
//!    declaration, windows-1252;
//! 2. [`normalize`]: every dialect rewritten into one feed-rs reads; also the well-formedness
//!    check;
//! 3. feed-rs reads the document;
//! 4. when it cannot, [`lenient`] mends the document, or reads it entry by entry ([`json`] for
//!    JSON Feed); what this costs is the poll's warning, not its failure;
//! 5. [`convert`]: feed-rs's entries into ours.

mod convert;
mod json;
mod lenient;
mod normalize;

use feed_rs::model::Entry as FeedEntry;
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use jiff::Timestamp;
use url::Url;

use crate::model::Entry;
use crate::text::{self, Markup, plural};
use lenient::Recovered;
use normalize::{Dialect, normalize};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed (got {0})")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
}

/// A parsed feed: at most `max_entries` entries, newest first.
#[derive(Debug)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    /// Entries past `max_entries`, dropped.
    pub over_cap: usize,
    /// What was wrong with a document that was read all the same: entries skipped, or a
    /// malformed document from which entries were recovered.
    pub warning: Option<String>,
}

/// Parses a feed document. `base` resolves relative links (the document's URL, or its
/// `Content-Location`); `content_type` gives the charset when the bytes do not, and explains a
/// failure.
pub fn parse_feed(
    bytes: &[u8],
    base: &Url,
    content_type: Option<&str>,
    now: Timestamp,
    max_entries: usize,
) -> Result<Parsed, ParseError> {
    let text = text::decode(bytes, content_type, Markup::Xml).text;
    let doc = text.trim_start_matches('\u{feff}').trim_start();
    if doc.is_empty() {
        return Err(ParseError::Malformed("the document is empty".to_string()));
    }
    let read = |doc: &str| read_with_feed_rs(doc, base);
    let not_html = |root: &str| {
        if text::looks_like_html(bytes, content_type) {
            ParseError::NotAFeed(
                content_type.map_or_else(|| "an HTML page".to_string(), |ct| text::mime_essence(ct).to_string()),
            )
        } else {
            ParseError::NotAFeed(format!("an XML document whose root is <{root}>"))
        }
    };
    let got = if doc.starts_with('{') {
        read_json(doc, max_entries, &read)?
    } else {
        read_xml(doc, max_entries, &read, &not_html)?
    };

    let found = got.entries.len();
    let mut entries: Vec<Entry> = got
        .entries
        .into_iter()
        .filter_map(|e| convert::entry(e, base, now))
        .collect();
    let mut warnings = got.warnings;
    if entries.len() < found {
        warnings.push(skipped(found - entries.len(), "no title, link or text"));
    }
    // Newest first (undated ones keep their place at the end), so a cap drops the oldest.
    entries.sort_by_key(|e| std::cmp::Reverse(e.published));
    let over_cap = entries.len().saturating_sub(max_entries) + got.over_cap;
    entries.truncate(max_entries);
    Ok(Parsed {
        entries,
        over_cap,
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
    })
}

/// feed-rs's reading of `doc`. A parser is made for each document: one that failed part-way
/// is left in a state that makes the next parse panic. A panic in feed-rs costs this document
/// (in the lenient reader, one entry), not the source's poll.
fn read_with_feed_rs(doc: &str, base: &Url) -> Result<Vec<FeedEntry>, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| convert::NO_ID.to_string())
        .build();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(doc.as_bytes())))
        .map_err(|_| "feed-rs failed on it".to_string())?
        .map(|feed| feed.entries)
        .map_err(|e| fault(&e))
}

type Read<'a> = dyn Fn(&str) -> Result<Vec<FeedEntry>, String> + 'a;

/// feed-rs's entries, and what it cost to get them.
#[derive(Default)]
struct Got {
    entries: Vec<FeedEntry>,
    over_cap: usize,
    warnings: Vec<String>,
}

fn read_xml(
    doc: &str,
    max_entries: usize,
    read: &Read<'_>,
    not_a_feed: &dyn Fn(&str) -> ParseError,
) -> Result<Got, ParseError> {
    let read_any = |d: &str| normalize(d).map_err(|e| e.to_string()).and_then(|n| read(&n.text));
    let fault = match normalize(doc) {
        Ok(n) => {
            if let Dialect::Other(root) = &n.dialect {
                return Err(not_a_feed(root));
            }
            match read(&n.text) {
                Ok(entries) => {
                    let mut got = Got::default();
                    // feed-rs leaves out items it finds nothing in (RSS 1.0 items without a link).
                    if n.entries > entries.len() {
                        got.warnings.push(skipped(n.entries - entries.len(), "no link"));
                    }
                    got.entries = entries;
                    return Ok(got);
                }
                // Well-formed, but feed-rs refuses something in it: entry by entry.
                Err(fault) => {
                    let r = lenient::by_entry(doc, max_entries, &read_any).unwrap_or_default();
                    if r.entries.is_empty() {
                        return Err(ParseError::Malformed(fault));
                    }
                    return Ok(recovered(r, None));
                }
            }
        }
        Err(ill) => ill,
    };
    if let Some(mended) = lenient::repair(doc)
        && let Ok(n) = normalize(&mended)
        && !matches!(n.dialect, Dialect::Other(_))
        && let Ok(entries) = read(&n.text)
        && !entries.is_empty()
    {
        let warning = format!("malformed feed ({fault}): {}", entries_read(entries.len()));
        return Ok(Got {
            entries,
            over_cap: 0,
            warnings: vec![warning],
        });
    }
    let r = match lenient::by_entry(doc, max_entries, &read_any) {
        Some(r) if !r.entries.is_empty() => r,
        _ if text::looks_like_html(doc.as_bytes(), None) => return Err(not_a_feed("html")),
        _ => return Err(ParseError::Malformed(fault.to_string())),
    };
    Ok(recovered(r, Some(fault.to_string())))
}

fn read_json(doc: &str, max_entries: usize, read: &Read<'_>) -> Result<Got, ParseError> {
    if let Ok(entries) = read(doc) {
        return Ok(Got {
            entries,
            ..Got::default()
        });
    }
    let r = json::by_item(doc, max_entries, read).map_err(|why| {
        if why.starts_with("invalid JSON") {
            ParseError::Malformed(why)
        } else {
            ParseError::NotAFeed(why)
        }
    })?;
    if r.entries.is_empty() && r.found > 0 {
        return Err(ParseError::Malformed(
            r.first_fault.unwrap_or_else(|| "no readable item".to_string()),
        ));
    }
    Ok(recovered(r, None))
}

/// Entries read one by one, with the warning that says what was lost; `malformed` is why the
/// document as a whole could not be read, when it is not well-formed.
fn recovered(r: Recovered, malformed: Option<String>) -> Got {
    let mut warnings = Vec::new();
    let fault = r.first_fault.as_deref().unwrap_or("unreadable");
    if let Some(why) = malformed {
        warnings.push(format!("malformed feed ({why}): {}", entries_read(r.entries.len())));
        if r.lost > 0 {
            warnings.push(format!("{} unreadable", plural(r.lost, "entry", "entries")));
        }
    } else {
        if r.lost > 0 {
            warnings.push(skipped(r.lost, fault));
        }
        if r.picked > 0 {
            warnings.push(format!(
                "{} read in part ({fault})",
                plural(r.picked, "entry", "entries")
            ));
        }
    }
    Got {
        entries: r.entries,
        over_cap: r.over_cap,
        warnings,
    }
}

fn entries_read(n: usize) -> String {
    format!("{} recovered", plural(n, "entry", "entries"))
}

fn skipped(n: usize, why: &str) -> String {
    format!("{} skipped ({why})", plural(n, "entry", "entries"))
}

/// feed-rs's error in a user's words: its positions are in our rewritten text, so they go.
fn fault(e: &ParseFeedError) -> String {
    match e {
        ParseFeedError::ParseError(ParseErrorKind::UnknownMimeType { mime, .. }) => {
            format!("unknown content type {mime:?}")
        }
        ParseFeedError::ParseError(ParseErrorKind::MissingContent { reference, .. }) => format!("{reference} missing"),
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => "no feed element".to_string(),
        ParseFeedError::JsonSerde(e) => format!("not a JSON Feed: {e}"),
        ParseFeedError::JsonUnsupportedVersion(v) => format!("unknown JSON Feed version {v:?}"),
        other => text::one_line(&other.to_string())
            .trim_start_matches("unable to parse XML: ")
            .trim_start_matches("Parser error: ")
            .to_string(),
    }
}

#[cfg(test)]
mod tests;
