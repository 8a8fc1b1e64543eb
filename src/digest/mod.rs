//! A message's content, digest or alert: stories grouped by topic, newest first, each story once
//! (under the topic it was placed in, the others named), as a subject line, a plain-text part
//! and an HTML part. Everything that came from a feed is escaped in HTML (askama does it) and kept on
//! one line where it lands in a header.
//!
//! Pure: plain stories in, text out; never reads the store, fetches or sends.

use askama::Template;
use jiff::tz::TimeZone;

use crate::model::{Attention, FollowUp, Outlet, Story};
use crate::text::one_line;
use crate::timefmt::format_time;

mod text;
use text::plain_text;

/// A digest ready to be mailed.
#[derive(Debug, Clone)]
pub struct Digest {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Distinct stories in it (a story under two topics counts once).
    pub stories: usize,
}

/// A story as a message shows it: under `topic`, also matching `also`.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub story: &'a Story,
    pub topic: &'a str,
    pub also: &'a [String],
}

/// How to lay the message out.
pub struct Layout<'a> {
    /// An alert (a few new stories, right away) rather than a digest.
    pub alert: bool,
    /// Topics in the order the config lists them; stored topics no longer configured follow.
    pub topic_order: &'a [String],
    pub timezone: &'a TimeZone,
    /// When the message is composed: its date (in `timezone`) is in the subject and heading.
    pub now: jiff::Timestamp,
    /// When the reader's last digest was composed (the footer says what this one covers).
    pub since: Option<jiff::Timestamp>,
    /// Why the reader gets this: the topics that mail them, in config order.
    pub subscribed: &'a [String],
    /// Where their topics, sources and times are set.
    pub config_path: &'a str,
    /// Stories past this many are listed as title and link only.
    pub max_stories: usize,
    /// Sources the user should look at, listed at the end.
    pub attention: &'a [Attention],
    /// Earlier messages to this recipient that could not be delivered.
    pub notices: &'a [String],
    /// Stories mailed before that more outlets have reported since.
    pub follow_ups: &'a [FollowUp],
}

/// A piece of text, marked (a keyword) or not.
pub struct Part {
    pub text: String,
    pub mark: bool,
}

struct StoryView {
    title: String,
    /// The title with its keywords marked.
    title_parts: Vec<Part>,
    /// Only http(s) links become links; anything else in a feed could be `javascript:`.
    href: Option<String>,
    source: String,
    /// Other outlets that reported it (at most `ALSO_SHOWN`), and how many more.
    also: Vec<OutletView>,
    also_more: usize,
    published: String,
    also_matches: String,
    snippet: Vec<Part>,
    full: bool,
}

struct OutletView {
    source: String,
    href: Option<String>,
}

/// How many other outlets a story names; the rest are counted ("+4").
const ALSO_SHOWN: usize = 3;

struct Section {
    topic: String,
    stories: Vec<StoryView>,
}

/// A story mailed before, with the outlets that reported it since.
struct FollowUpView {
    title: String,
    href: Option<String>,
    outlets: Vec<OutletView>,
    more: usize,
}

#[derive(Template)]
#[template(path = "digest.html")]
struct HtmlDigest<'a> {
    heading: &'a str,
    sections: &'a [Section],
    follow_ups: &'a [FollowUpView],
    overflow: usize,
    max_stories: usize,
    attention: &'a [Attention],
    notices: &'a [String],
    why: &'a str,
    version: &'a str,
}

/// Builds the message of `stories`.
pub fn build(stories: &[Placed<'_>], layout: &Layout<'_>) -> Digest {
    let sections = sections(stories, layout);
    let total = stories.len();
    let name = if layout.alert { "newswatch alert" } else { "newswatch" };
    let date = layout
        .now
        .to_zoned(layout.timezone.clone())
        .strftime("%-d %b %Y")
        .to_string();
    let count = match (total, layout.follow_ups.len()) {
        (0, 0) => format!("{name}: no new stories"),
        (0, _) => format!("{name}:"),
        (1, _) => format!("{name}: 1 new story"),
        (n, _) => format!("{name}: {n} new stories"),
    };
    let earlier = match layout.follow_ups.len() {
        0 => String::new(),
        1 => "more coverage of 1 earlier story".to_string(),
        n => format!("more coverage of {n} earlier stories"),
    };
    let counts: Vec<String> = sections
        .iter()
        .map(|s| format!("{}: {}", s.topic, s.stories.len()))
        .collect();
    let topics = match counts.is_empty() {
        true => String::new(),
        false => format!(" ({})", counts.join(", ")),
    };
    let (heading, subject) = match (total, earlier.is_empty()) {
        (_, true) => (format!("{count}, {date}"), format!("{count}{topics}, {date}")),
        (0, false) => (
            format!("{count} {earlier}, {date}"),
            format!("{count} {earlier}, {date}"),
        ),
        (_, false) => (
            format!("{count}, {earlier}, {date}"),
            format!("{count}{topics}, {earlier}, {date}"),
        ),
    };
    let overflow = sections.iter().flat_map(|s| &s.stories).filter(|s| !s.full).count();
    let why = why(layout);
    let follow_ups: Vec<FollowUpView> = layout.follow_ups.iter().map(follow_up_view).collect();

    let html = HtmlDigest {
        heading: &heading,
        sections: &sections,
        follow_ups: &follow_ups,
        overflow,
        max_stories: layout.max_stories,
        attention: layout.attention,
        notices: layout.notices,
        why: &why,
        version: env!("CARGO_PKG_VERSION"),
    }
    .render()
    .expect("rendering into a String cannot fail");

    Digest {
        subject: one_line(&subject),
        text: plain_text(&heading, (&sections, &follow_ups), overflow, layout),
        html,
        stories: total,
    }
}

fn sections(stories: &[Placed<'_>], layout: &Layout<'_>) -> Vec<Section> {
    let mut topics: Vec<String> = layout.topic_order.to_vec();
    let mut extra: Vec<String> = stories
        .iter()
        .map(|p| p.topic.to_string())
        .filter(|t| !topics.contains(t))
        .collect();
    extra.sort();
    extra.dedup();
    topics.extend(extra);

    let mut sorted: Vec<&Placed<'_>> = stories.iter().collect();
    sorted.sort_by(|a, b| {
        b.story
            .published
            .cmp(&a.story.published)
            .then(b.story.id.cmp(&a.story.id))
    });

    let mut shown_in_full = 0usize;
    let mut out = Vec::new();
    for topic in topics {
        let mut views = Vec::new();
        for placed in sorted.iter().filter(|p| p.topic == topic) {
            let full = shown_in_full < layout.max_stories;
            shown_in_full += usize::from(full);
            views.push(view(placed, layout.timezone, full));
        }
        if !views.is_empty() {
            out.push(Section { topic, stories: views });
        }
    }
    out
}

fn view(placed: &Placed<'_>, tz: &TimeZone, full: bool) -> StoryView {
    let story = placed.story;
    let title = headline(&story.title);
    let href = web_link(story.link.as_deref());
    let mut title_parts: Vec<Part> = marked(&story.title, &story.title_marks)
        .into_iter()
        .map(|p| Part {
            text: p.text.replace(|c: char| c.is_whitespace() || c.is_control(), " "),
            mark: p.mark,
        })
        .collect();
    if title_parts.iter().all(|p| p.text.trim().is_empty()) {
        title_parts = vec![Part {
            text: title.clone(),
            mark: false,
        }];
    }
    let snippet = marked(&story.snippet.text, &story.snippet.marks);
    StoryView {
        title,
        title_parts,
        href,
        source: story.sources.first().cloned().unwrap_or_default(),
        also: outlets(&story.also),
        also_more: story.also.len().saturating_sub(ALSO_SHOWN),
        published: format_time(story.published, tz),
        also_matches: placed.also.iter().map(|t| one_line(t)).collect::<Vec<_>>().join(", "),
        snippet,
        full,
    }
}

/// `text` cut into plain and marked parts at `marks`.
pub fn marked(text: &str, marks: &[(usize, usize)]) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut at = 0;
    for &(s, e) in marks {
        // Marks come from the database: never trust them to be in range or on char boundaries.
        if s < at || e > text.len() || s >= e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        parts.push(Part {
            text: text[at..s].to_string(),
            mark: false,
        });
        parts.push(Part {
            text: text[s..e].to_string(),
            mark: true,
        });
        at = e;
    }
    parts.push(Part {
        text: text[at..].to_string(),
        mark: false,
    });
    parts.retain(|p| !p.text.is_empty());
    parts
}

/// The first `ALSO_SHOWN` outlets, as links where they are web links.
fn outlets(list: &[Outlet]) -> Vec<OutletView> {
    list.iter()
        .take(ALSO_SHOWN)
        .map(|o| OutletView {
            source: one_line(&o.source),
            href: web_link(o.link.as_deref()),
        })
        .collect()
}

/// A title on one line, "(untitled)" when there is none.
fn headline(title: &str) -> String {
    match one_line(title) {
        t if t.is_empty() => "(untitled)".to_string(),
        t => t,
    }
}

fn follow_up_view(f: &FollowUp) -> FollowUpView {
    FollowUpView {
        title: headline(&f.title),
        href: web_link(f.link.as_deref()),
        outlets: outlets(&f.outlets),
        more: f.outlets.len().saturating_sub(ALSO_SHOWN),
    }
}

/// Only http(s) links become links; anything else in a feed could be `javascript:`. Campaign
/// parameters (`utm_*`, `fbclid`, ...) are left out: they track the reader, and say nothing.
pub fn web_link(link: Option<&str>) -> Option<String> {
    let link = link.filter(|l| l.starts_with("https://") || l.starts_with("http://"))?;
    Some(without_tracking(link))
}

/// Query parameters that only tell a publisher where a click came from.
fn is_tracking(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_")
        || matches!(
            key.as_str(),
            "fbclid" | "gclid" | "dclid" | "msclkid" | "mc_cid" | "mc_eid" | "igshid" | "yclid" | "_hsenc" | "_hsmi"
        )
}

fn without_tracking(link: &str) -> String {
    let Ok(mut url) = url::Url::parse(link) else {
        return link.to_string();
    };
    if !url.query_pairs().any(|(k, _)| is_tracking(&k)) {
        return link.to_string();
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match kept.is_empty() {
        true => url.set_query(None),
        false => {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

/// The footer's line on what the message covers, why the reader gets it and where to change it.
pub(super) fn why(layout: &Layout<'_>) -> String {
    let covers = match (layout.alert, layout.since) {
        (true, _) => String::new(),
        (false, Some(since)) => format!(
            "This digest has what newswatch found since the last one, {}. ",
            format_time(since, layout.timezone)
        ),
        (false, None) => "This is your first digest: it has everything newswatch found so far. ".to_string(),
    };
    let topics = layout
        .subscribed
        .iter()
        .map(|t| one_line(t))
        .collect::<Vec<_>>()
        .join(", ");
    let why = match layout.subscribed.len() {
        0 => String::new(),
        1 => format!("You get this for the topic {topics}. "),
        _ => format!("You get this for the topics {topics}. "),
    };
    format!(
        "{covers}{why}Topics, sources and times are set in {}; the command newswatch check shows them.",
        one_line(layout.config_path)
    )
}

#[cfg(test)]
mod tests;
