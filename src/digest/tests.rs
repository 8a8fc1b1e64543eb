//! The digest's layout, as a reader sees it.

use super::text::wrap;
use super::*;
use crate::model::{FollowUp, Outlet, Snippet, TopicHit};
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
        title_marks: Vec::new(),
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
        since: None,
        follow_ups: &[],
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
        d.text.contains(
            "Also reported by: Daily <b> <https://daily.example/1>, Wire, Local\n  <https://local.example/9> (+2)"
        ) || d.text.contains(
            "Also reported by: Daily <b> <https://daily.example/1>, Wire, Local <https://local.example/9> (+2)"
        ),
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
    assert!(
        !d.html.contains('`'),
        "markdown's backticks shown as they are: {}",
        d.html
    );
}

#[test]
fn links_go_without_campaign_parameters() {
    let order = vec!["T".to_string()];
    let mut s = story(1, "Summit", &["T"], 0);
    s.link = Some("https://wire.example/a?id=7&utm_source=rss&utm_medium=feed&fbclid=x".into());
    s.also = vec![Outlet {
        source: "Daily".into(),
        link: Some("https://daily.example/1?utm_campaign=nw".into()),
    }];
    let d = build_all(&[s], &layout(&order, 100));
    for part in [&d.text, &d.html] {
        assert!(!part.contains("utm_") && !part.contains("fbclid"), "{part}");
    }
    assert!(d.text.contains("https://wire.example/a?id=7"), "{}", d.text);
    assert!(d.text.contains("Daily <https://daily.example/1>"), "{}", d.text);
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

#[test]
fn keywords_are_highlighted_in_titles() {
    let order = vec!["T".to_string()];
    let mut s = story(1, "Japan's <SDF> joins NATO drill", &["T"], 0);
    s.title_marks = vec![(8, 13), (20, 24), (900, 901)];
    let d = build_all(&[s], &layout(&order, 100));
    let mark = r#"<mark style="background-color: #fff1a8; color: #000000; padding: 0 1px;">"#;
    assert!(
        d.html
            .contains(&format!("{mark}&#60;SDF&#62;</mark> joins {mark}NATO</mark> drill"))
            || d.html
                .contains(&format!("{mark}&lt;SDF&gt;</mark> joins {mark}NATO</mark> drill")),
        "{}",
        d.html
    );
    assert!(
        d.text.contains("* Japan's <SDF> joins NATO drill\n"),
        "plain in text: {}",
        d.text
    );
}

#[test]
fn earlier_stories_with_new_outlets_get_a_short_section_of_their_own() {
    let order = vec!["T".to_string()];
    let follow = FollowUp {
        story: 7,
        title: "Japan sends officers to NATO".into(),
        link: Some("https://wire.example/1".into()),
        outlets: ["Daily", "Local", "Radio", "Blog"]
            .iter()
            .map(|n| Outlet {
                source: n.to_string(),
                link: Some(format!("https://{}.example/2", n.to_lowercase())),
            })
            .collect(),
        first_message: "<1@x>".into(),
    };
    let mut l = layout(&order, 100);
    let follow_ups = [follow];
    l.follow_ups = &follow_ups;
    let d = build_all(&[story(1, "Summit", &["T"], 0)], &l);
    assert_eq!(
        d.subject,
        "newswatch: 1 new story (T: 1), more coverage of 1 earlier story, 18 Nov 2026"
    );
    assert_eq!(d.stories, 1, "a follow-up is not a new story");
    let section = &d.text[d
        .text
        .find("== More coverage of earlier stories (1) ==")
        .expect("section")..];
    assert!(
        section.contains("* Japan sends officers to NATO\n  https://wire.example/1"),
        "{section}"
    );
    assert!(
        section.contains("Now also reported by (and 1 more):\n  Daily: https://daily.example/2"),
        "{section}"
    );
    assert!(!section.contains("Blog"), "{section}");
    assert!(d.html.contains("More coverage of earlier stories"), "{}", d.html);
    assert!(
        d.html
            .contains(r#"<a href="https://local.example/2" style="color: #0b57d0;">Local</a>"#)
    );
    assert_eq!(
        d.html.matches("Japan sends officers").count(),
        1,
        "headline only: {}",
        d.html
    );

    let d = build_all(&[], &l);
    assert_eq!(d.subject, "newswatch: more coverage of 1 earlier story, 18 Nov 2026");
    // A story without a title is still something to click, new or followed up.
    let untitled = [FollowUp {
        title: " \r\n".into(),
        ..follow_ups[0].clone()
    }];
    l.follow_ups = &untitled;
    let d = build_all(&[story(2, "", &["T"], 0)], &l);
    assert_eq!(d.text.matches("* (untitled)\n").count(), 2, "{}", d.text);
    assert_eq!(d.html.matches(">(untitled)</a>").count(), 2, "{}", d.html);
    assert!(!d.text.contains("No new stories"), "{}", d.text);
}

#[test]
fn the_footer_says_what_the_digest_covers() {
    let order = vec!["T".to_string()];
    let mut l = layout(&order, 100);
    let d = build_all(&[story(1, "Summit", &["T"], 0)], &l);
    assert!(d.text.contains("This is your first digest"), "{}", d.text);
    l.since = Some(Timestamp::from_second(1_794_900_000).unwrap());
    let d = build_all(&[story(1, "Summit", &["T"], 0)], &l);
    let words = d.html.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("This digest has what newswatch found since the last one, 2026-11-17 07:20 UTC."),
        "{}",
        d.html
    );
    l.alert = true;
    let d = build_all(&[story(1, "Summit", &["T"], 0)], &l);
    assert!(!d.text.contains("digest has"), "an alert covers no window: {}", d.text);
}
