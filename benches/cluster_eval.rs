//! How well stories are grouped, on two public sets of news labelled by people (or by Google
//! News) with which articles report the same story: `../shared/clusterdata` (see its README).
//!
//!     cargo bench --bench cluster_eval                      # the configured default threshold
//!     cargo bench --bench cluster_eval -- 0.3 0.4 0.5 0.6   # a sweep
//!     EVAL_SHOW=1 ... / EVAL_SPLIT=1 ...                    # stories merged wrongly / split
//!
//! Each set is fed to the real ingest path (`poll::record::store_entries`, a real SQLite file),
//! one entry at a time in time order from an empty database, every entry clustered; then the
//! stories stored are compared with the labels by B-cubed and pairwise precision, recall and F1.
//!
//! Only what a feed would give is fed: AllSides' title, summary, outlet and URL, with a time
//! spread over ±36 h around the story's date by a hash of the item id (the date itself is the
//! same for every article of a story, and unique to it); the UCI sample's headline, URL and
//! publisher, at `BLIND_TS` (`TIMESTAMP` gives the clusters away). Never the ids, topics or labels.
//!
//! The sets are not in the repository (AllSides has no licence to be copied): set CLUSTERDATA
//! to their folder if it is not `../shared/clusterdata`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use newswatch::cluster::term_hash;
use newswatch::config::{DEFAULT_SIMILARITY, Dedup};
use newswatch::model::Entry;
use newswatch::poll::record::{NewEntry, Rules, store_entries};
use newswatch::store::{FetchRecord, Store};

/// One labelled article, as a feed would give it.
struct Article {
    outlet: String,
    entry: Entry,
    label: String,
}

fn main() {
    let thresholds: Vec<f32> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let thresholds = if thresholds.is_empty() {
        vec![DEFAULT_SIMILARITY]
    } else {
        thresholds
    };
    let dir = std::env::var_os("CLUSTERDATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/clusterdata"),
        PathBuf::from,
    );
    if !dir.join("allsides_articles.jsonl").exists() {
        eprintln!(
            "cluster_eval: no labelled sets in {} (set CLUSTERDATA); nothing measured",
            dir.display()
        );
        return;
    }
    let sets = [("AllSides", allsides(&dir)), ("UCI sample", uci(&dir))];
    println!(
        "{:<11} {:>9} {:>7} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>8} {:>9}",
        "set", "threshold", "stories", "B3 P", "B3 R", "B3 F1", "pair P", "pair R", "pair F1", "labels", "µs/entry"
    );
    for t in &thresholds {
        for (name, articles) in &sets {
            let (found, elapsed) = cluster(articles, *t);
            let gold: Vec<&str> = articles.iter().map(|a| a.label.as_str()).collect();
            let m = Scores::of(&gold, &found);
            if std::env::var_os("EVAL_SHOW").is_some() {
                show_mixed(articles, &found);
            }
            if std::env::var_os("EVAL_SPLIT").is_some() {
                show_split(articles, &found);
            }
            let n_found = found.iter().collect::<std::collections::HashSet<_>>().len();
            let n_gold = gold.iter().collect::<std::collections::HashSet<_>>().len();
            println!(
                "{name:<11} {t:>9.3} {n_found:>7} | {:>6.3} {:>6.3} {:>6.3} | {:>6.3} {:>6.3} {:>6.3} | {n_gold:>8} {:>9.0}",
                m.b3.0,
                m.b3.1,
                f1(m.b3),
                m.pairs.0,
                m.pairs.1,
                f1(m.pairs),
                elapsed.as_secs_f64() * 1e6 / articles.len() as f64
            );
        }
    }
}

/// Runs every article through the ingest path; returns each one's story and the time taken.
fn cluster(articles: &[Article], similarity: f32) -> (Vec<i64>, Duration) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut store = Store::open(&dir.path().join("eval.db")).expect("a database");
    let rules = Rules {
        max_age: Duration::from_secs(3650 * 86_400),
        dedup: Dedup {
            window: Duration::from_secs(72 * 3600),
            similarity,
        },
    };
    let start = Instant::now();
    for a in articles {
        let now = a.entry.published.expect("every article has a time");
        let record = FetchRecord {
            status: 200,
            next_poll: now,
            ..FetchRecord::default()
        };
        let new = vec![NewEntry::new(a.entry.clone(), None, None, &rules.dedup)];
        store_entries(&mut store, (&a.outlet, "eval:"), new, &record, now, &rules).expect("stored");
    }
    let elapsed = start.elapsed();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("eval.db")).expect("reopened");
    let mut stmt = conn
        .prepare("SELECT src.name, e.guid, e.item_id FROM entries e JOIN sources src ON src.id = e.source_id")
        .expect("query");
    let stories: HashMap<(String, String), i64> = stmt
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    let found = articles
        .iter()
        .map(|a| stories[&(a.outlet.clone(), a.entry.guid.clone())])
        .collect();
    (found, elapsed)
}

/// Prints the stories that hold articles of more than one labelled story (EVAL_SHOW=1).
fn show_mixed(articles: &[Article], found: &[i64]) {
    let mut by_story: HashMap<i64, Vec<&Article>> = HashMap::new();
    for (a, f) in articles.iter().zip(found) {
        by_story.entry(*f).or_default().push(a);
    }
    let mut shown = 0;
    for members in by_story.values() {
        let labels: std::collections::HashSet<&str> = members.iter().map(|a| a.label.as_str()).collect();
        if labels.len() > 1 && shown < 25 {
            shown += 1;
            eprintln!("--");
            for a in members {
                eprintln!(
                    "  [{}] {} | {}",
                    &a.label[a.label.len().saturating_sub(6)..],
                    a.entry.title,
                    a.outlet
                );
            }
        }
    }
}

/// Labelled stories the clustering split, with the story each article went to and the start
/// of its text: where recall is lost.
fn show_split(articles: &[Article], found: &[i64]) {
    let mut by_label: HashMap<&str, Vec<(i64, &Article)>> = HashMap::new();
    for (a, f) in articles.iter().zip(found) {
        by_label.entry(a.label.as_str()).or_default().push((*f, a));
    }
    for members in by_label.values().filter(|m| m.iter().any(|x| x.0 != m[0].0)).take(25) {
        eprintln!("--");
        for (f, a) in members {
            let start: String = a.entry.body.chars().take(120).collect();
            eprintln!("  ({f}) {} | {} | {start}", a.entry.title, a.outlet);
        }
    }
}

/// Precision and recall, B-cubed (per article, averaged) and over pairs of articles.
struct Scores {
    b3: (f64, f64),
    pairs: (f64, f64),
}

impl Scores {
    fn of<G: std::hash::Hash + Eq, F: std::hash::Hash + Eq>(gold: &[G], found: &[F]) -> Scores {
        let mut both: HashMap<(&G, &F), f64> = HashMap::new();
        let mut g_size: HashMap<&G, f64> = HashMap::new();
        let mut f_size: HashMap<&F, f64> = HashMap::new();
        for (g, f) in gold.iter().zip(found) {
            *both.entry((g, f)).or_default() += 1.0;
            *g_size.entry(g).or_default() += 1.0;
            *f_size.entry(f).or_default() += 1.0;
        }
        let n = gold.len() as f64;
        let (mut p, mut r) = (0.0, 0.0);
        for ((g, f), c) in &both {
            // Each of the c articles in this cell: c of its found cluster share its label.
            p += c * c / f_size[f];
            r += c * c / g_size[g];
        }
        let pairs = |x: f64| x * (x - 1.0) / 2.0;
        let true_pairs: f64 = both.values().map(|&c| pairs(c)).sum();
        let found_pairs: f64 = f_size.values().map(|&c| pairs(c)).sum();
        let gold_pairs: f64 = g_size.values().map(|&c| pairs(c)).sum();
        Scores {
            b3: (p / n, r / n),
            pairs: (ratio(true_pairs, found_pairs), ratio(true_pairs, gold_pairs)),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 1.0 } else { a / b }
}

fn f1((p, r): (f64, f64)) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

fn allsides(dir: &Path) -> Vec<Article> {
    let text = std::fs::read_to_string(dir.join("allsides_articles.jsonl")).expect("allsides_articles.jsonl");
    let mut out: Vec<Article> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let date: Timestamp = s("story_date").parse().expect("story_date");
            // ±36 h around the story's date, from the item id: deterministic, and no label.
            let spread = (term_hash(&s("item_id")) % (72 * 3600)) as i64 - 36 * 3600;
            let published = Timestamp::from_second(date.as_second() + spread).expect("a time");
            Article {
                outlet: s("outlet"),
                label: s("story_id"),
                entry: Entry {
                    // The line number keeps two articles with one URL apart (no label in it).
                    guid: format!("{}#{i}", s("url")),
                    link: Some(s("url")),
                    title: s("title"),
                    body: s("summary"),
                    published: Some(published),
                },
            }
        })
        .collect();
    out.sort_by_key(|a| a.entry.published);
    out
}

fn uci(dir: &Path) -> Vec<Article> {
    let text = std::fs::read_to_string(dir.join("uci_sample.tsv")).expect("uci_sample.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (title, url, publisher, story, blind) = (
        col("TITLE"),
        col("URL"),
        col("PUBLISHER"),
        col("STORY"),
        col("BLIND_TS"),
    );
    let mut out: Vec<Article> = lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            let ms: i64 = f[blind].parse().expect("BLIND_TS");
            Article {
                outlet: f[publisher].to_string(),
                label: f[story].to_string(),
                entry: Entry {
                    guid: format!("{}#{i}", f[url]),
                    link: Some(f[url].to_string()),
                    title: f[title].to_string(),
                    body: String::new(),
                    published: Some(Timestamp::from_millisecond(ms).expect("a time")),
                },
            }
        })
        .collect();
    out.sort_by_key(|a| a.entry.published);
    out
}
