//! Each stage of the pipeline on its own, with criterion: parse a 50-item feed, count an
//! entry's clustering words, store a poll of 50 entries, match entries (see also
//! `benches/matcher.rs`), and build a digest of 5,000 stories.
//!
//!     cargo bench --bench stages
//!     cargo bench --bench stages -- parse      # one of them
//!
//! The inputs are generated here, deterministically: news-like prose with the bench keywords,
//! as the shared corpus has (`../shared/bench/gen_corpus.py`), without needing it.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use newswatch::cluster::Prepared;
use newswatch::config::{Dedup, Topic};
use newswatch::digest::{Layout, Placed, build};
use newswatch::matcher::Matcher;
use newswatch::model::{Entry, Outlet, Snippet, Story, TopicHit};
use newswatch::poll::record::{NewEntry, Rules, store_entries};
use newswatch::query;
use newswatch::store::{FetchRecord, Store};

const PROSE: &[&str] = &[
    "Japan's Self-Defense Forces joined a NATO exercise in the Baltic on Monday, officials said.",
    "The ministry said three officers would serve at the command that coordinates aid to Ukraine.",
    "Lawmakers in Tokyo questioned whether the posting needs a new law before it can begin.",
    "Analysts expect the alliance to announce more training missions before the winter.",
    "Markets were calm as investors waited for the central bank's decision on rates.",
    "The SDF has sent observers to similar exercises since 2019, the report noted.",
];

/// Entry `i`: a title and a body of a few sentences, different for each `i`.
fn entry(i: usize) -> Entry {
    let body: Vec<&str> = (0..4).map(|k| PROSE[(i * 7 + k * 3) % PROSE.len()]).collect();
    Entry {
        guid: format!("urn:bench:{i}"),
        link: Some(format!("https://news{}.example/story/{i}", i % 13)),
        title: format!("Report {i}: {}", &PROSE[i % PROSE.len()][..40]),
        body: format!("{} Item {i} of the bench.", body.join(" ")),
        published: Some(Timestamp::from_second(1_795_000_000 + i as i64 * 60).unwrap()),
    }
}

fn rss(n: usize) -> String {
    let items: String = (0..n)
        .map(|i| {
            let e = entry(i);
            format!(
                "<item><title>{}</title><link>{}</link><guid>{}</guid><pubDate>Mon, 23 Nov 2026 08:{:02}:00 GMT</pubDate>\
                 <description>&lt;p&gt;{}&lt;/p&gt;</description></item>",
                e.title.replace('&', "&amp;").replace('<', "&lt;"),
                e.link.unwrap(),
                e.guid,
                i % 60,
                e.body.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"),
            )
        })
        .collect();
    format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Bench</title>{items}</channel></rss>")
}

fn stages(c: &mut Criterion) {
    let feed = rss(50);
    let base = url::Url::parse("https://bench.example/feed.xml").unwrap();
    let now = Timestamp::from_second(1_795_100_000).unwrap();
    let mut g = c.benchmark_group("stages");
    g.measurement_time(Duration::from_secs(5));

    g.throughput(Throughput::Elements(50));
    g.bench_function("parse a 50-item RSS feed", |b| {
        b.iter(|| newswatch::parse::parse_feed(black_box(feed.as_bytes()), &base, None, now, 1000).unwrap())
    });

    let entries: Vec<Entry> = (0..50).map(entry).collect();
    g.bench_function("clustering words of 50 entries (copies only)", |b| {
        b.iter(|| {
            for e in &entries {
                black_box(Prepared::of(&e.title, &e.body, false));
            }
        })
    });

    let topics = vec![Topic {
        name: "bench".into(),
        rule: query::parse("SDF OR NATO OR Ukraine OR \"Self-Defense Forces\"").unwrap(),
        case_sensitive: Vec::new(),
        recipients: Vec::new(),
        alert: newswatch::config::AlertMode::Digest,
        webhook: None,
    }];
    let matcher = Matcher::new(&topics).unwrap();
    g.bench_function("match 50 entries", |b| {
        b.iter(|| {
            for e in &entries {
                black_box(matcher.match_entry(e));
            }
        })
    });
    // Most news matches nothing (12 % of the shared corpus's items match its keywords): such
    // texts are not normalised at all when no word of any term is in them.
    let unmatched: Vec<Entry> = entries
        .iter()
        .map(|e| Entry {
            title: "Markets were calm as investors waited".into(),
            body: format!("{} {} São Paulo — “quoted”.", PROSE[2], PROSE[4]).repeat(2),
            ..e.clone()
        })
        .collect();
    g.bench_function("match 50 entries that match nothing", |b| {
        b.iter(|| {
            for e in &unmatched {
                black_box(matcher.match_entry(e));
            }
        })
    });

    // A poll of 50 new entries into a database that already holds 5,000.
    let rules = Rules {
        max_age: Duration::from_secs(3650 * 86_400),
        dedup: Dedup {
            window: Duration::from_secs(72 * 3600),
            rewrites: false,
            certainty: newswatch::config::DEFAULT_CERTAINTY,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&newswatch::model::Database::File(dir.path().join("bench.db"))).unwrap();
    let record = FetchRecord {
        status: 200,
        next_poll: now,
        ..FetchRecord::default()
    };
    let new = |from: usize| -> Vec<NewEntry> {
        (from..from + 50)
            .map(|i| NewEntry::new(entry(i), matcher.match_entry(&entry(i)), None, &rules.dedup))
            .collect()
    };
    for k in 0..100 {
        store_entries(
            &mut store,
            (&format!("s{}", k % 10), "u"),
            new(k * 50),
            &record,
            now,
            &rules,
        )
        .unwrap();
    }
    let mut next = 5_000;
    g.bench_function("store a poll of 50 new entries", |b| {
        b.iter_batched(
            || {
                next += 50;
                new(next)
            },
            |batch| store_entries(&mut store, ("s0", "u"), batch, &record, now, &rules).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let stories: Vec<Story> = (0..5_000).map(|i| story(i, &entry(i as usize))).collect();
    let placed: Vec<Placed<'_>> = stories
        .iter()
        .map(|s| Placed {
            story: s,
            topic: "bench",
            also: &[],
        })
        .collect();
    let order = vec!["bench".to_string()];
    let layout = Layout {
        alert: false,
        topic_order: &order,
        timezone: &TimeZone::UTC,
        now,
        since: None,
        subscribed: &order,
        config_path: "/etc/newswatch/newswatch.toml",
        max_stories: 200,
        attention: &[],
        notices: &[],
        follow_ups: &[],
    };
    g.throughput(Throughput::Elements(5_000));
    g.sample_size(10);
    g.bench_function("build a digest of 5,000 stories", |b| {
        b.iter(|| build(black_box(&placed), &layout))
    });
    g.finish();
}

fn story(id: i64, e: &Entry) -> Story {
    Story {
        id,
        title: e.title.clone(),
        link: e.link.clone(),
        published: e.published.unwrap(),
        first_seen: e.published.unwrap(),
        sources: vec![format!("Outlet {}", id % 40)],
        also: (0..(id % 4))
            .map(|k| Outlet {
                source: format!("Outlet {k}"),
                link: Some(format!("https://o{k}.example/{id}")),
            })
            .collect(),
        hits: vec![TopicHit {
            topic: "bench".into(),
            keywords: vec!["NATO".into()],
        }],
        snippet: Snippet {
            text: e.body.chars().take(200).collect(),
            marks: Vec::new(),
        },
        title_marks: Vec::new(),
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
