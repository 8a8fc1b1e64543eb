//! The pages as askama templates, and what each shows made from the stages' plain types:
//! times in the digest's time zone, links only where they are http(s), keywords marked.
//! Everything from a feed reaches HTML through askama's escaping.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::digest::{Part, marked, web_link};
use crate::model::{MessageState, OutboxEntry, StoryRecord};
use crate::stories::Card;
use crate::text::plural;
use crate::timefmt::format_time;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A rendered page (or, should a template fail, a plain error).
pub fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the page: {e}\n"),
        )
            .into_response(),
    }
}

pub fn login(error: Option<&'static str>) -> Response {
    page(&Login {
        title: "Log in".into(),
        version: VERSION,
        error,
    })
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct Login {
    title: String,
    version: &'static str,
    error: Option<&'static str>,
}

/// A link to another page of ours, with the text it shows.
pub struct Nav {
    pub href: String,
    pub text: String,
    pub current: bool,
}

/// An outlet, linked to its report when the report has an http(s) link.
pub struct Outlet {
    pub name: String,
    pub href: Option<String>,
}

/// A story as the list and the search show it.
pub struct CardView {
    pub id: i64,
    pub href: Option<String>,
    pub title: Vec<Part>,
    pub lead: String,
    pub when: String,
    pub also: Vec<Outlet>,
    pub snippet: Vec<Part>,
    /// Sent, waiting, pending: in which message.
    pub state: String,
    pub also_matches: String,
    /// Whether it links to its own page (not on that page).
    pub page_link: bool,
}

pub struct Section {
    pub topic: String,
    pub stories: Vec<CardView>,
}

#[derive(Template)]
#[template(path = "web/index.html")]
pub struct Index {
    pub title: String,
    pub version: &'static str,
    pub topics: Vec<Nav>,
    pub ranges: Vec<Nav>,
    pub sections: Vec<Section>,
    pub newer: Option<String>,
    pub older: Option<String>,
    pub empty: String,
}

/// Where the story stands: sent (in which message, when), waiting for a digest, or pending.
fn state(story: &StoryRecord, card: &Card, messages: &[OutboxEntry], tz: &TimeZone) -> String {
    let carried: Vec<&OutboxEntry> = messages.iter().filter(|m| card.messages.contains(&m.id)).collect();
    let name = |m: &OutboxEntry| format!("{} #{}", m.kind.name(), m.id);
    if let Some(m) = carried.iter().find(|m| m.state == MessageState::Sent) {
        return format!("sent in {} {}", name(m), time(m.sent_at, tz, ""));
    }
    if let Some(m) = carried.iter().find(|m| m.state == MessageState::Parked) {
        return format!("not delivered: {} is parked", name(m));
    }
    if let Some(m) = carried.first() {
        return format!("pending in {}", name(m));
    }
    match story.state.as_str() {
        "queued" => "waiting for the next digest".into(),
        "stored" => "stored (not for a digest)".into(),
        other => other.to_string(),
    }
}

pub fn card(story: &StoryRecord, card: &Card, messages: &[OutboxEntry], tz: &TimeZone, shown_under: &str) -> CardView {
    let mut also: Vec<Outlet> = story
        .outlets()
        .into_iter()
        .map(|e| Outlet {
            name: e.source.clone(),
            href: web_link(e.link.as_deref()),
        })
        .collect();
    let lead = match also.is_empty() {
        true => String::new(),
        false => also.remove(0).name,
    };
    CardView {
        id: story.id,
        href: web_link(story.link.as_deref()),
        title: marked(&story.title, &card.title_marks),
        lead,
        when: format_time(story.published.unwrap_or(story.first_seen), tz),
        also,
        snippet: marked(&card.snippet.text, &card.snippet.marks),
        state: state(story, card, messages, tz),
        also_matches: story
            .topics
            .iter()
            .filter(|t| t.as_str() != shown_under)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        page_link: true,
    }
}

/// One entry of a story, on the story's page.
pub struct EntryView {
    pub source: String,
    pub title: String,
    pub href: Option<String>,
    pub published: String,
    pub first_seen: String,
    pub why: String,
    pub lead: bool,
    /// Reported after the story was first mailed.
    pub follow_up: bool,
}

pub struct TopicView {
    pub name: String,
    pub terms: String,
}

pub struct MessageView {
    pub id: i64,
    pub what: String,
    pub to: String,
    pub subject: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "web/story.html")]
pub struct StoryPage {
    pub title: String,
    pub version: &'static str,
    pub card: CardView,
    pub entries: Vec<EntryView>,
    pub topics: Vec<TopicView>,
    pub messages: Vec<MessageView>,
    pub follow_ups: usize,
}

pub fn story_page(story: &StoryRecord, c: &Card, messages: &[OutboxEntry], tz: &TimeZone) -> StoryPage {
    let entries: Vec<EntryView> = story
        .entries
        .iter()
        .map(|e| EntryView {
            source: e.source.clone(),
            title: crate::text::one_line(&e.title),
            href: web_link(e.link.as_deref()),
            published: time(e.published, tz, "–"),
            first_seen: format_time(e.first_seen, tz),
            why: crate::stories::reason(story, e),
            lead: e.lead,
            follow_up: story.sent_at.is_some_and(|sent| e.first_seen > sent),
        })
        .collect();
    StoryPage {
        title: crate::text::one_line(&story.title),
        version: VERSION,
        // The page lists the topics it matched below (nothing is "also" here), and is the
        // story's page.
        card: without_topics(card(story, c, messages, tz, "")),
        follow_ups: entries.iter().filter(|e| e.follow_up).count(),
        entries,
        topics: c
            .matched
            .iter()
            .map(|(name, terms)| TopicView {
                name: name.clone(),
                terms: terms.join(", "),
            })
            .collect(),
        messages: messages.iter().map(|m| message(m, tz)).collect(),
    }
}

fn without_topics(mut c: CardView) -> CardView {
    c.also_matches.clear();
    c.page_link = false;
    c
}

pub fn message(m: &OutboxEntry, tz: &TimeZone) -> MessageView {
    let state = match m.state {
        MessageState::Sent => format!("sent {}", time(m.sent_at, tz, "")),
        MessageState::Pending => {
            let last = m
                .last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default();
            format!(
                "pending: {} so far, next {}{last}",
                plural(m.attempts as usize, "attempt", "attempts"),
                format_time(m.next_attempt, tz)
            )
        }
        MessageState::Parked => format!(
            "parked after {}: {} (newswatch outbox retry {})",
            plural(m.refusals as usize, "refusal", "refusals"),
            m.last_error.as_deref().unwrap_or("refused"),
            m.id
        ),
    };
    MessageView {
        id: m.id,
        what: format!("{}, {}", m.kind.name(), plural(m.stories, "story", "stories")),
        to: m.shown.clone(),
        subject: crate::text::one_line(&m.subject),
        state,
    }
}

pub struct Hit {
    pub id: i64,
    pub title: String,
    pub href: Option<String>,
    pub sources: String,
    pub when: String,
    pub snippet: Vec<Part>,
}

#[derive(Template)]
#[template(path = "web/search.html")]
pub struct SearchPage {
    pub title: String,
    pub version: &'static str,
    pub query: String,
    /// The query's error: where (a caret under the column) and what.
    pub error: Option<(String, String)>,
    pub hits: Vec<Hit>,
    pub searched: bool,
    pub note: String,
}

pub fn search_page(query: &str) -> SearchPage {
    SearchPage {
        title: if query.is_empty() {
            "Search".into()
        } else {
            format!("Search: {}", crate::text::one_line(query))
        },
        version: VERSION,
        query: query.to_string(),
        error: None,
        hits: Vec::new(),
        searched: false,
        note: String::new(),
    }
}

pub fn hit(h: &crate::search::Hit, tz: &TimeZone) -> Hit {
    Hit {
        id: h.id,
        title: crate::text::one_line(&h.title),
        href: web_link(h.link.as_deref()),
        sources: h.sources.join(", "),
        when: format_time(h.published.unwrap_or(h.first_seen), tz),
        snippet: marked(&h.snippet, &h.marks),
    }
}

pub struct SourceView {
    pub name: String,
    pub status: String,
    pub attention: bool,
    pub last_success: String,
    pub failures: u32,
    pub problem: String,
    pub next: String,
}

#[derive(Template)]
#[template(path = "web/sources.html")]
pub struct SourcesPage {
    pub title: String,
    pub version: &'static str,
    pub sources: Vec<SourceView>,
}

#[derive(Template)]
#[template(path = "web/outbox.html")]
pub struct OutboxPage {
    pub title: String,
    pub version: &'static str,
    pub messages: Vec<MessageView>,
}

pub fn version() -> &'static str {
    VERSION
}

pub fn time(t: Option<Timestamp>, tz: &TimeZone, none: &str) -> String {
    t.map(|t| format_time(t, tz)).unwrap_or_else(|| none.to_string())
}

#[derive(Template)]
#[template(path = "web/message.html")]
pub struct Message {
    pub title: String,
    pub version: &'static str,
    pub text: String,
}

/// A page that says one thing: not found, a bad request, the database unavailable.
pub fn message_page(status: axum::http::StatusCode, title: &str, text: String) -> Response {
    let mut r = page(&Message {
        title: title.to_string(),
        version: VERSION,
        text,
    });
    *r.status_mut() = status;
    r
}
