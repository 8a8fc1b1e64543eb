//! The snippet a digest shows: about [`SNIPPET_CHARS`] characters of an entry's text around its
//! first match, with every matched keyword marked. Pure.

use super::{Occurrence, Place};
use crate::model::Snippet;

/// Characters of text shown around a match.
pub(super) const SNIPPET_CHARS: usize = 200;
/// How much of the snippet comes before the first match.
const SNIPPET_LEAD: usize = 60;

/// About [`SNIPPET_CHARS`] characters of `body` around the earliest occurrence in it of the
/// `shown` terms (or its start, when they matched only the title), with every one marked.
pub(super) fn snippet(body: &str, occurrences: &[Occurrence], shown: &[usize]) -> Snippet {
    if body.is_empty() {
        return Snippet::default();
    }
    let in_body = ranges(occurrences, shown, Place::Body);
    let first = in_body.first().map_or(0, |o| o.0);

    // Start a little before the match, at a word boundary when one is near.
    let mut start = body[..first]
        .char_indices()
        .rev()
        .nth(SNIPPET_LEAD - 1)
        .map_or(0, |(i, _)| i);
    if start > 0
        && let Some(ws) = body[start..first].find(char::is_whitespace)
    {
        start += ws;
    }
    let mut end = body[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(body.len(), |(i, _)| start + i);
    if end < body.len()
        && let Some(ws) = body[first.max(start)..end].rfind(char::is_whitespace)
    {
        end = first.max(start) + ws;
    }
    let inner = &body[start..end];
    let lead = inner.len() - inner.trim_start().len();
    let kept = inner.trim();
    let (from, to) = (start + lead, start + lead + kept.len());

    let mut text = String::with_capacity(kept.len() + 8);
    if start > 0 {
        text.push('…');
    }
    let shift = text.len();
    text.push_str(kept);
    if end < body.len() {
        text.push('…');
    }

    let marks = merged(
        in_body
            .into_iter()
            .filter(|&(s, e)| s >= from && e <= to)
            .map(|(s, e)| (s - from + shift, e - from + shift)),
    );
    Snippet { text, marks }
}

/// Where the `shown` terms are in the title.
pub(super) fn title_marks(occurrences: &[Occurrence], shown: &[usize]) -> Vec<(usize, usize)> {
    merged(ranges(occurrences, shown, Place::Title).into_iter())
}

/// Where the `shown` terms are in `place` (byte ranges of the original text), in order.
fn ranges(occurrences: &[Occurrence], shown: &[usize], place: Place) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = occurrences
        .iter()
        .filter(|o| o.place == place && shown.contains(&o.term))
        .map(|o| (o.orig_start, o.orig_end))
        .collect();
    out.sort_unstable();
    out
}

/// Sorted ranges with the overlapping ones joined.
fn merged(sorted: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut marks: Vec<(usize, usize)> = Vec::new();
    for (s, e) in sorted {
        match marks.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => marks.push((s, e)),
        }
    }
    marks
}
