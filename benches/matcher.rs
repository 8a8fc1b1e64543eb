//! Matcher throughput in MB/s of entry text, with 10, 100 and 1,000 terms spread over topics.
//!
//!     cargo bench --bench matcher
//!
//! All topics' terms live in one automaton, so the cost per entry should barely grow with the
//! number of terms. The text is a deterministic mix of English news prose, a little Japanese and
//! Cyrillic, with some terms occurring.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use newswatch::config::Topic;
use newswatch::matcher::Matcher;
use newswatch::model::Entry;
use newswatch::query;

const WORDS: &[&str] = &[
    "the",
    "minister",
    "said",
    "on",
    "Monday",
    "that",
    "talks",
    "with",
    "allies",
    "would",
    "continue",
    "after",
    "a",
    "summit",
    "in",
    "Brussels",
    "where",
    "leaders",
    "discussed",
    "defence",
    "spending",
    "and",
    "energy",
    "prices",
    "officials",
    "reported",
    "progress",
    "toward",
    "an",
    "agreement",
    "on",
    "grain",
    "exports",
];

/// A deterministic pseudo-random article of about `bytes` bytes.
fn article(bytes: usize, seed: u64) -> String {
    let mut x = seed;
    let mut out = String::with_capacity(bytes + 64);
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = WORDS[(x % WORDS.len() as u64) as usize];
        out.push_str(w);
        out.push(if x.is_multiple_of(17) { '.' } else { ' ' });
        if x.is_multiple_of(211) {
            out.push_str("NATO's Self-Defense Forces 自衛隊の訓練 Україна ");
        }
    }
    out
}

/// `n` terms: the real ones first, then made-up words that do not occur, spread over topics of
/// ten terms each, as keywords and as queries.
fn topics(n: usize) -> Vec<Topic> {
    let mut terms: Vec<String> = ["NATO", "Self-Defense Forces", "自衛隊", "Україна", "Ukrain*"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut i = 0;
    while terms.len() < n {
        terms.push(format!("term{i}x"));
        i += 1;
    }
    terms.truncate(n);
    terms
        .chunks(10)
        .enumerate()
        .map(|(t, chunk)| {
            let rule = if t % 2 == 0 {
                query::any_of(
                    &chunk
                        .iter()
                        .map(|s| s.trim_end_matches('*').to_string())
                        .collect::<Vec<_>>(),
                )
            } else {
                query::parse(&format!("({}) -football", chunk.join(" OR "))).expect("valid query")
            };
            Topic {
                name: format!("topic {t}"),
                rule,
                case_sensitive: Vec::new(),
                recipients: Vec::new(),
                alert: newswatch::config::AlertMode::Digest,
                webhook: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let entries: Vec<Entry> = (0..50)
        .map(|i| Entry {
            guid: format!("g{i}"),
            link: Some(format!("https://news.example.org/{i}")),
            title: article(80, i + 1),
            body: article(4_000, i + 1000),
            published: None,
        })
        .collect();
    let bytes: usize = entries.iter().map(|e| e.title.len() + e.body.len()).sum();
    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Bytes(bytes as u64));
    for n in [10, 100, 1_000] {
        let matcher = Matcher::new(&topics(n)).expect("valid topics");
        group.bench_function(format!("{n} terms"), |b| {
            b.iter(|| {
                let mut matched = 0;
                for e in &entries {
                    matched += usize::from(matcher.match_entry(black_box(e)).is_some());
                }
                matched
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
