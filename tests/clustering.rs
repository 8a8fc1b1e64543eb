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
use newswatch::config::{DEFAULT_CERTAINTY, Dedup};
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

/// The default settings, or with `copies_only`, those that fold copies only.
fn dedup(copies_only: bool) -> Dedup {
    Dedup {
        window: Duration::from_secs(72 * 3600),
        rewrites: !copies_only,
        certainty: DEFAULT_CERTAINTY,
    }
}

/// Whether `pair` ends up as one story.
fn one_story(pair: &Pair, dedup: Dedup) -> bool {
    stories(&[&pair.a, &pair.b], dedup) == 1
}

/// How many stories `events` become, each carried by another outlet, an hour apart, in order,
/// in a new database.
fn stories(events: &[&Event], dedup: Dedup) -> i64 {
    stories_among(events, &[], dedup)
}

/// Stores `e` as the one new entry of `outlet`'s poll at `at` (published then), under `guid`
/// and `link`, through the real ingest path.
fn store_one(store: &mut Store, rules: &Rules, outlet: &str, (guid, link): (String, String), e: &Event, at: Timestamp) {
    let entry = Entry {
        guid,
        link: Some(link),
        title: e.title.clone(),
        body: e.body.clone(),
        published: Some(at),
    };
    let record = FetchRecord {
        status: 200,
        next_poll: at,
        ..FetchRecord::default()
    };
    let new = vec![NewEntry::new(entry, None, None, &rules.dedup)];
    store_entries(store, (outlet, "fixture:"), new, &record, at, rules).unwrap();
}

/// How many stories `events` become (as [`stories`]) in a database whose window already holds
/// `news` of other subjects, stored four days before (counted among the window's words, too far
/// back to be compared): a database in use, where common words are known to be common.
fn stories_among(events: &[&Event], news: &[&Event], dedup: Dedup) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let mut store = Store::open(&newswatch::model::Database::File(path.clone())).unwrap();
    let rules = Rules {
        max_age: Duration::from_secs(7 * 86_400),
        dedup,
    };
    let now = Timestamp::now();
    let before = now - SignedDuration::from_hours(96);
    for (i, e) in news.iter().enumerate() {
        let id = (format!("news-{i}"), format!("https://news.example/{i}"));
        store_one(&mut store, &rules, "News", id, e, before);
    }
    let outlets = ["Outlet A", "Outlet B", "Outlet C", "Outlet D"];
    for (n, (outlet, e)) in outlets.into_iter().zip(events).enumerate() {
        let link = format!("https://{}.example/news/{n}", outlet.replace(' ', "-").to_lowercase());
        let at = now - SignedDuration::from_hours(5 - n as i64);
        store_one(&mut store, &rules, outlet, (format!("{outlet}-1"), link), e, at);
    }
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row(
        "SELECT COUNT(DISTINCT e.item_id) FROM entries e JOIN sources s ON s.id = e.source_id WHERE s.name != 'News'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// The pairs of `pairs` that `dedup` gets wrong, as lines.
fn wrong(pairs: &[Pair], dedup: Dedup) -> Vec<String> {
    pairs
        .iter()
        .filter(|p| one_story(p, dedup.clone()) != p.same)
        .map(|p| format!("{} ({})", p.about, if p.same { "kept apart" } else { "merged" }))
        .collect()
}

#[test]
fn copies_are_one_story_and_other_events_on_the_subject_are_not() {
    let pairs = pairs();
    assert!(pairs.len() >= 60, "{} pairs", pairs.len());
    let wrong = wrong(&pairs, dedup(false));
    assert!(
        wrong.is_empty(),
        "{} of {} pairs wrong:\n{}",
        wrong.len(),
        pairs.len(),
        wrong.join("\n")
    );
}

#[test]
fn folding_copies_only_still_finds_every_copy() {
    let wrong = wrong(&pairs(), dedup(true));
    assert!(wrong.is_empty(), "{} pairs wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[derive(Deserialize)]
struct Rewrites {
    story: Vec<Told>,
}

/// One event told by two outlets in their own words, and another event on its subject.
#[derive(Deserialize)]
struct Told {
    subject: String,
    report: Event,
    rewrite: Event,
    other: Event,
}

fn rewrites() -> Vec<Told> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clustering/rewrites.toml")).unwrap();
    toml::from_str::<Rewrites>(&text).unwrap().story
}

/// Every text of the stories of `told` but the `i`th: the other news in the window.
fn news_but(told: &[Told], i: usize) -> Vec<&Event> {
    told.iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .flat_map(|(_, t)| [&t.report, &t.rewrite, &t.other])
        .collect()
}

/// Rewrites that joined and other events that stayed apart are counted, not each required: the
/// bag-of-words judgement has a measured error (docs/clustering.md), and this fixture, written
/// for it and never fitted on, measures it too. The floors are its figures when it was
/// written; the pairs it gets wrong are listed, and a change that gets more wrong fails.
#[test]
fn rewrites_of_an_event_join_and_other_events_on_its_subject_stay_apart() {
    let told = rewrites();
    assert!(told.len() >= 20, "{} stories", told.len());
    let (mut joined, mut apart, mut wrong) = (0, 0, Vec::new());
    for (i, t) in told.iter().enumerate() {
        let news = news_but(&told, i);
        if stories_among(&[&t.report, &t.rewrite], &news, dedup(false)) == 1 {
            joined += 1;
        } else {
            wrong.push(format!("{}: \"{}\" not joined", t.subject, t.rewrite.title));
        }
        for (which, e) in [("report", &t.report), ("rewrite", &t.rewrite)] {
            if stories_among(&[e, &t.other], &news, dedup(false)) == 2 {
                apart += 1;
            } else {
                wrong.push(format!("{}: \"{}\" merged with the {which}", t.subject, t.other.title));
            }
        }
        // Folding copies only: no rewrite joins.
        assert_eq!(
            stories_among(&[&t.report, &t.rewrite], &news, dedup(true)),
            2,
            "{}",
            t.subject
        );
    }
    let pairs = told.len();
    eprintln!(
        "rewrites joined {joined} of {pairs}; other events apart {apart} of {}",
        2 * pairs
    );
    eprintln!("{}", wrong.join("\n"));
    assert!(
        joined >= 22 && apart >= 38,
        "rewrites joined {joined} of {pairs}, other events apart {apart} of {}:\n{}",
        2 * pairs,
        wrong.join("\n")
    );
}

#[test]
fn a_story_told_three_ways_is_one_story_beside_another_event_of_its_subject() {
    // Each event's report, its rewrite and the other event, in that order: the other event
    // comes last, weighed against a story of two entries.
    let told = rewrites();
    let wrong: Vec<String> = told
        .iter()
        .enumerate()
        .filter(|(i, t)| stories_among(&[&t.report, &t.rewrite, &t.other], &news_but(&told, *i), dedup(false)) != 2)
        .map(|(_, t)| t.subject.clone())
        .collect();
    assert!(wrong.len() <= 2, "not two stories: {wrong:?}");
}

/// Stores every text of the rewrites fixture in one database, an outlet each and ten minutes
/// apart, closing the store after every `restart_every` entries (0: never); returns each entry's
/// story (as the first GUID of its story) and why it joined, in order.
fn verdicts(restart_every: usize, kill: bool) -> Vec<(String, Option<(String, i64)>)> {
    let told = rewrites();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let rules = Rules {
        max_age: Duration::from_secs(7 * 86_400),
        dedup: dedup(false),
    };
    let start = Timestamp::now() - SignedDuration::from_hours(30);
    let events: Vec<&Event> = told.iter().flat_map(|t| [&t.report, &t.rewrite, &t.other]).collect();
    let mut store = Store::open(&newswatch::model::Database::File(path.clone())).unwrap();
    for (n, e) in events.iter().enumerate() {
        if restart_every > 0 && n > 0 && n % restart_every == 0 {
            match kill {
                true => std::mem::forget(store),
                false => drop(store),
            }
            store = Store::open(&newswatch::model::Database::File(path.clone())).unwrap();
        }
        let at = start + SignedDuration::from_mins(10 * n as i64);
        let id = (format!("g{n}"), format!("https://outlet{}.example/{n}", n % 3));
        store_one(&mut store, &rules, &format!("Outlet {}", n % 3), id, e, at);
    }
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT e.guid, (SELECT MIN(f.id) FROM entries f WHERE f.item_id = e.item_id), j.rule,
                    CAST(ROUND(j.score * 1000000) AS INTEGER)
             FROM entries e LEFT JOIN joins j ON j.entry = e.id ORDER BY e.id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let (guid, first): (String, i64) = (r.get(0)?, r.get(1)?);
        let rule: Option<String> = r.get(2)?;
        let score: Option<i64> = r.get(3)?;
        Ok((
            format!("{guid}: story of entry {first}"),
            rule.map(|rule| (rule, score.unwrap_or(0))),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn a_restart_or_a_kill_changes_no_verdict() {
    // The window read back from the database after a restart is the one held before it: the
    // same stories, joined by the same rules with the same scores.
    let straight = verdicts(0, false);
    assert!(straight.iter().filter(|v| v.1.is_some()).count() >= 20, "{straight:?}");
    assert_eq!(
        verdicts(5, false),
        straight,
        "closed and opened again every five entries"
    );
    assert_eq!(verdicts(7, true), straight, "killed every seven entries");
}
