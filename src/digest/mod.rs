//! A message's content, digest or alert: stories grouped by topic, newest first, each story once
//! (under the topic it was placed in, the others named), as a subject line, a plain-text part
//! and an HTML part. Everything that came from a feed is escaped in HTML (askama does it) and kept on
//! one line where it lands in a header.
//!
//! Pure: plain stories in, text out; never reads the store, fetches or sends.

use askama::Template;
use jiff::tz::TimeZone;

use crate::model::{Attention, Story};
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
}

struct Part {
    text: String,
    mark: bool,
}

struct StoryView {
    title: String,
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

#[derive(Template)]
#[template(path = "digest.html")]
struct HtmlDigest<'a> {
    heading: &'a str,
    sections: &'a [Section],
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
    let count = match total {
        0 => format!("{name}: no new stories"),
        1 => format!("{name}: 1 new story"),
        n => format!("{name}: {n} new stories"),
    };
    let heading = format!("{count}, {date}");
    let counts: Vec<String> = sections
        .iter()
        .map(|s| format!("{}: {}", s.topic, s.stories.len()))
        .collect();
    let subject = if counts.is_empty() {
        heading.clone()
    } else {
        format!("{count} ({}), {date}", counts.join(", "))
    };
    let overflow = sections.iter().flat_map(|s| &s.stories).filter(|s| !s.full).count();
    let why = why(layout);

    let html = HtmlDigest {
        heading: &heading,
        sections: &sections,
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
        text: plain_text(&heading, &sections, overflow, layout),
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
    let title = if story.title.trim().is_empty() {
        "(untitled)".to_string()
    } else {
        one_line(&story.title)
    };
    let href = web_link(story.link.as_deref());
    let mut snippet = Vec::new();
    let text = &story.snippet.text;
    let mut at = 0;
    for &(s, e) in &story.snippet.marks {
        // Marks come from the database: never trust them to be in range or on char boundaries.
        if s < at || e > text.len() || s >= e || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        snippet.push(Part {
            text: text[at..s].to_string(),
            mark: false,
        });
        snippet.push(Part {
            text: text[s..e].to_string(),
            mark: true,
        });
        at = e;
    }
    snippet.push(Part {
        text: text[at..].to_string(),
        mark: false,
    });
    snippet.retain(|p| !p.text.is_empty());
    StoryView {
        title,
        href,
        source: story.sources.first().cloned().unwrap_or_default(),
        also: story
            .also
            .iter()
            .take(ALSO_SHOWN)
            .map(|o| OutletView {
                source: one_line(&o.source),
                href: web_link(o.link.as_deref()),
            })
            .collect(),
        also_more: story.also.len().saturating_sub(ALSO_SHOWN),
        published: format_time(story.published, tz),
        also_matches: placed.also.iter().map(|t| one_line(t)).collect::<Vec<_>>().join(", "),
        snippet,
        full,
    }
}

/// Only http(s) links become links; anything else in a feed could be `javascript:`.
fn web_link(link: Option<&str>) -> Option<String> {
    link.filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(str::to_string)
}

/// The footer's line on why the reader gets this and where to change it.
pub(super) fn why(layout: &Layout<'_>) -> String {
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
        "{why}Topics, sources and times are set in {} (`newswatch check` shows them).",
        one_line(layout.config_path)
    )
}

#[cfg(test)]
mod tests {
    use super::text::wrap;
    use super::*;
    use crate::model::{Outlet, Snippet, TopicHit};
    use jiff::Timestamp;

    fn story(id: i64, title: &str, topics: &[&str], hour: i64) -> Story {
        Story {
            id,
            title: title.into(),
            link: Some(format!("https://example.org/{id}")),
            published: Timestamp::from_second(1_795_000_000 + hour * 3600).unwrap(),
            first_seen: Timestamp::from_second(1_795_000_000).unwrap(),
            sources: vec!["Example Times".into()],
            also: Vec::new(),
            hits: topics
                .iter()
                .map(|t| TopicHit {
                    topic: t.to_string(),
                    keywords: vec!["NATO".into()],
                })
                .collect(),
            snippet: Snippet {
                text: "The NATO summit".into(),
                marks: vec![(4, 8)],
            },
        }
    }

    fn layout<'a>(order: &'a [String], max: usize) -> Layout<'a> {
        static UTC: TimeZone = TimeZone::UTC;
        Layout {
            alert: false,
            topic_order: order,
            timezone: &UTC,
            now: jiff::Timestamp::from_second(1_795_000_000).unwrap(),
            subscribed: &[],
            config_path: "/etc/newswatch/newswatch.toml",
            max_stories: max,
            attention: &[],
            notices: &[],
        }
    }

    /// Each story under its first topic, the others as "also".
    fn placed(stories: &[Story]) -> Vec<(Story, String, Vec<String>)> {
        stories
            .iter()
            .map(|s| {
                let topics: Vec<String> = s.hits.iter().map(|h| h.topic.clone()).collect();
                (s.clone(), topics[0].clone(), topics[1..].to_vec())
            })
            .collect()
    }

    fn build_all(stories: &[Story], layout: &Layout<'_>) -> Digest {
        let placed = placed(stories);
        let refs: Vec<Placed<'_>> = placed
            .iter()
            .map(|(story, topic, also)| Placed { story, topic, also })
            .collect();
        build(&refs, layout)
    }

    #[test]
    fn subject_counts_each_story_once_and_topics_separately() {
        let order = vec!["Japan".to_string(), "Alliance".to_string()];
        let d = build_all(
            &[
                story(1, "a", &["Japan", "Alliance"], 0),
                story(2, "b", &["Alliance"], 1),
            ],
            &layout(&order, 100),
        );
        assert_eq!(
            d.subject,
            "newswatch: 2 new stories (Japan: 1, Alliance: 1), 18 Nov 2026"
        );
        assert_eq!(d.stories, 2);
        assert_eq!(d.text.matches("\n* a\n").count(), 1, "listed once: {}", d.text);
        assert!(d.text.contains("(also matches: Alliance)"), "{}", d.text);
        assert!(d.html.contains("also matches: Alliance"), "{}", d.html);
    }

    #[test]
    fn newest_first_and_marked() {
        let order = vec!["T".to_string()];
        let d = build_all(
            &[story(1, "older", &["T"], 1), story(2, "newer", &["T"], 5)],
            &layout(&order, 100),
        );
        assert!(d.text.find("newer").unwrap() < d.text.find("older").unwrap());
        assert!(d.html.find("newer").unwrap() < d.html.find("older").unwrap());
        assert!(
            d.html.contains(
                "The <mark style=\"background-color: #fff1a8; color: #000000; padding: 0 1px;\">NATO</mark> summit"
            ),
            "{}",
            d.html
        );
        assert!(d.text.contains("The *NATO* summit"));
    }

    #[test]
    fn hostile_text_is_escaped_and_kept_off_headers() {
        let order = vec!["T\r\nBcc: x@evil".to_string()];
        let mut s = story(
            1,
            "<script>alert(1)</script>\r\nBcc: victim@example.org",
            &["T\r\nBcc: x@evil"],
            0,
        );
        s.link = Some("javascript:alert(1)".into());
        s.snippet.text = "<img src=x onerror=alert(1)>".into();
        s.snippet.marks = vec![(0, 500)];
        let d = build_all(&[s], &layout(&order, 100));
        assert!(!d.html.contains("<script>") && !d.html.contains("<img"), "{}", d.html);
        assert!(d.html.contains("&#60;script&#62;") || d.html.contains("&lt;script&gt;"));
        assert!(!d.html.contains("javascript:"));
        assert!(!d.subject.contains('\r') && !d.subject.contains('\n'));
    }

    #[test]
    fn other_outlets_are_named_with_links_and_counted_past_three() {
        let order = vec!["T".to_string()];
        let mut s = story(1, "Summit", &["T"], 0);
        let outlet = |name: &str, link: &str| Outlet {
            source: name.into(),
            link: Some(link.into()),
        };
        s.also = vec![
            outlet("Daily <b>", "https://daily.example/1"),
            outlet("Wire", "javascript:alert(1)"),
            outlet("Local", "https://local.example/9"),
            outlet("Radio", "https://radio.example/2"),
            outlet("Blog", "https://blog.example/3"),
        ];
        let d = build_all(&[s], &layout(&order, 100));
        assert!(
            d.text.contains("Also reported by: Daily <b>, Wire, Local (+2)"),
            "{}",
            d.text
        );
        assert!(
            d.html
                .contains(r#"<a href="https://daily.example/1" style="color: #0b57d0;">Daily &#60;b&#62;</a>"#)
                || d.html
                    .contains(r#"<a href="https://daily.example/1" style="color: #0b57d0;">Daily &lt;b&gt;</a>"#),
            "{}",
            d.html
        );
        assert!(
            d.html.contains(", Wire, ") && !d.html.contains("javascript:"),
            "{}",
            d.html
        );
        assert!(d.html.contains("(+2)") && !d.html.contains("Radio"), "{}", d.html);
    }

    #[test]
    fn plain_text_wraps_at_78_columns_and_keeps_links_whole() {
        let wrapped = wrap(
            &format!(
                "* {}\n  https://example.org/{}\nshort",
                "word ".repeat(40),
                "x".repeat(90)
            ),
            78,
        );
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(
            lines
                .iter()
                .filter(|l| !l.contains("https://"))
                .all(|l| l.chars().count() <= 78),
            "{wrapped}"
        );
        assert!(lines[1].starts_with("  word"), "continued under the title: {wrapped}");
        assert!(
            lines
                .iter()
                .any(|l| l.trim() == format!("https://example.org/{}", "x".repeat(90))),
            "{wrapped}"
        );
        assert_eq!(lines.last(), Some(&"short"));
        assert_eq!(wrapped.split_whitespace().count(), 43, "no word lost: {wrapped}");
        let mut s = story(1, &"Japan sends officers to NATO command ".repeat(4), &["T"], 0);
        s.snippet.text = "The NATO summit ".repeat(20);
        let d = build_all(&[s], &layout(&["T".to_string()], 100));
        assert!(d.text.lines().all(|l| l.chars().count() <= 78), "{}", d.text);
    }

    #[test]
    fn the_footer_says_why_and_where_to_change_it() {
        let order = vec!["SDF and NATO".to_string(), "Ukraine".to_string()];
        let subscribed = vec!["SDF and NATO".to_string(), "<b>Ukraine</b>".to_string()];
        let mut l = layout(&order, 100);
        l.subscribed = &subscribed;
        let d = build_all(&[story(1, "Summit", &["Ukraine"], 0)], &l);
        let words = d.text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("You get this for the topics SDF and NATO, <b>Ukraine</b>. Topics, sources and times are set in /etc/newswatch/newswatch.toml"),
            "{}",
            d.text
        );
        assert!(
            d.html
                .contains("You get this for the topics SDF and NATO, &#60;b&#62;Ukraine")
                || d.html.contains("&lt;b&gt;Ukraine"),
            "{}",
            d.html
        );
        assert!(!d.html.contains("<b>Ukraine"), "escaped: {}", d.html);
    }

    #[test]
    fn past_max_stories_only_titles() {
        let order = vec!["T".to_string()];
        let stories: Vec<Story> = (0..5).map(|i| story(i, &format!("story {i}"), &["T"], i)).collect();
        let d = build_all(&stories, &layout(&order, 2));
        assert_eq!(d.html.matches("<mark style=").count(), 2);
        assert!(d.text.contains("3 stories past the first 2"));
        assert!(d.html.contains("story 0"));
    }
}
