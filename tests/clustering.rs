//! The labelled fixture for story clustering: pairs of entries from two outlets, built from the
//! events in `tests/clustering/events.toml`, each known to be one story or two. Every pair goes
//! through the real ingest path (`poll::record::store_entries`) into a real SQLite file; the
//! test reports every pair it gets wrong at once.
//!
//! - a copy of an event carried by another outlet (retitled, with a dateline or a credit line,
//!   or the text alone): one story;
//! - the two events of one subject ("Japan sends officers to NATO's Ukraine command" and "Japan
//!   trains Ukrainian deminers"): two stories;
//! - one event's headline over another event's text (headlines are shared: "Live updates"):
//!   two stories;
//! - events of different subjects: two stories.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use newswatch::config::{DEFAULT_SIMILARITY, Dedup};
use newswatch::model::Entry;
use newswatch::poll::record::{NewEntry, Rules, store_entries};
use newswatch::store::{FetchRecord, Store};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    subject: Vec<Subject>,
}

#[derive(Deserialize)]
struct Subject {
    name: String,
    event: Vec<Event>,
}

#[derive(Deserialize, Clone)]
struct Event {
    title: String,
    body: String,
}

struct Pair {
    about: String,
    a: Event,
    b: Event,
    same: bool,
}

/// How another outlet carries a copy of `e`: retitled, with a dateline, a credit line, or not.
fn copy(e: &Event, i: usize) -> Event {
    let body = match i % 3 {
        0 => format!("TOKYO (Wire) - {}", e.body),
        1 => format!("{} (Reporting by newsroom staff)", e.body),
        _ => e.body.clone(),
    };
    Event {
        title: format!("UPDATE: {}", e.title.to_lowercase()),
        body,
    }
}

fn pairs() -> Vec<Pair> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clustering/events.toml")).unwrap();
    let fixture: Fixture = toml::from_str(&text).unwrap();
    let subjects = &fixture.subject;
    let mut out = Vec::new();
    for (s, subject) in subjects.iter().enumerate() {
        let [one, two] = &subject.event[..] else {
            panic!("{}: two events per subject", subject.name)
        };
        for (k, e) in [one, two].into_iter().enumerate() {
            out.push(Pair {
                about: format!("copy of \"{}\"", e.title),
                a: e.clone(),
                b: copy(e, 2 * s + k),
                same: true,
            });
        }
        out.push(Pair {
            about: format!("two events of {}", subject.name),
            a: one.clone(),
            b: two.clone(),
            same: false,
        });
        out.push(Pair {
            about: format!("\"{}\" over another event's text", one.title),
            a: one.clone(),
            b: Event {
                title: one.title.clone(),
                body: two.body.clone(),
            },
            same: false,
        });
        let next = &subjects[(s + 1) % subjects.len()];
        out.push(Pair {
            about: format!("{} and {}", subject.name, next.name),
            a: two.clone(),
            b: next.event[0].clone(),
            same: false,
        });
    }
    out
}

/// Whether `pair` ends up as one story, with rewrites grouped from `similarity`.
fn one_story(pair: &Pair, similarity: f32) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let mut store = Store::open(&path).unwrap();
    let rules = Rules {
        max_age: Duration::from_secs(7 * 86_400),
        dedup: Dedup {
            window: Duration::from_secs(72 * 3600),
            similarity,
        },
    };
    let now = Timestamp::now();
    for (n, (outlet, e)) in [("Outlet A", &pair.a), ("Outlet B", &pair.b)].into_iter().enumerate() {
        let entry = Entry {
            guid: format!("{outlet}-1"),
            link: Some(format!(
                "https://{}.example/news/{n}",
                outlet.replace(' ', "-").to_lowercase()
            )),
            title: e.title.clone(),
            body: e.body.clone(),
            published: Some(now - SignedDuration::from_hours(3 - n as i64)),
        };
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let new = vec![NewEntry::new(entry, None, None, &rules.dedup)];
        store_entries(&mut store, (outlet, "fixture:"), new, &record, now, &rules).unwrap();
    }
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("SELECT COUNT(DISTINCT item_id) FROM entries", [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap()
        == 1
}

#[test]
fn copies_are_one_story_and_other_events_on_the_subject_are_not() {
    let pairs = pairs();
    assert!(pairs.len() >= 60, "{} pairs", pairs.len());
    let wrong: Vec<String> = pairs
        .iter()
        .filter(|p| one_story(p, DEFAULT_SIMILARITY) != p.same)
        .map(|p| format!("{} ({})", p.about, if p.same { "kept apart" } else { "merged" }))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} pairs wrong:\n{}",
        wrong.len(),
        pairs.len(),
        wrong.join("\n")
    );
}

#[test]
fn grouping_rewrites_keeps_other_events_apart() {
    // With rewrites on, at the threshold docs/clustering.md measures: no pair of different
    // stories may merge (precision first); copies still join.
    let wrong: Vec<String> = pairs()
        .iter()
        .filter(|p| one_story(p, 0.265) != p.same)
        .map(|p| format!("{} ({})", p.about, if p.same { "kept apart" } else { "merged" }))
        .collect();
    assert!(wrong.is_empty(), "{} pairs wrong:\n{}", wrong.len(), wrong.join("\n"));
}
