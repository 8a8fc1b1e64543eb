//! How well stories are grouped, on two public sets of news labelled by people (or by Google
//! News) with which articles report the same story: `../shared/clusterdata` (see its README).
//!
//!     cargo bench --bench cluster_eval                      # the default config
//!     cargo bench --bench cluster_eval -- copies 0.7 0.8    # copies only, and other certainties
//!     cargo bench --bench cluster_eval -- --pairs /tmp/p    # pairs to train on (train_pairs.py)
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
use newswatch::config::{DEFAULT_CERTAINTY, DEFAULT_MAX_AGE, DEFAULT_WINDOW, Dedup};
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
    // Certainties to try; "copies" for copies only.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut thresholds: Vec<Option<f32>> = args.iter().filter_map(|a| a.parse().ok().map(Some)).collect();
    if args.iter().any(|a| a == "copies") {
        thresholds.insert(0, None);
    }
    if thresholds.is_empty() {
        thresholds.push(Some(DEFAULT_CERTAINTY));
    }
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
    if let Some(path) = std::env::args().skip_while(|a| a != "--pairs").nth(1) {
        // AllSides' headlines alone: what a pair of headline-only entries is judged on.
        let titles: Vec<Article> = allsides(&dir)
            .into_iter()
            .map(|mut a| {
                a.entry.body.clear();
                a
            })
            .collect();
        dump_fixture(&format!("{path}.fixture"), &[]);
        dump_fixture(&format!("{path}.fixture-background"), &sets[0].1);
        dump_fixture(&format!("{path}.fixture-own"), &[]);
        eprintln!("pairs of the test fixture in {path}.fixture");
        for (name, articles) in sets.iter().chain([&("titles", titles)]) {
            let file = format!("{path}.{}", name.split(' ').next().unwrap_or(name).to_lowercase());
            dump_pairs(articles, &file);
            eprintln!("pairs of {name} in {file}");
        }
        return;
    }
    println!(
        "{:<16} {:>9} {:>7} | {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} | {:>8} {:>9}",
        "set", "certainty", "stories", "B3 P", "B3 R", "B3 F1", "pair P", "pair R", "pair F1", "labels", "µs/entry"
    );
    for t in &thresholds {
        for (name, articles) in &sets {
            let (found, elapsed) = cluster(articles, *t);
            let gold: Vec<&str> = articles.iter().map(|a| a.label.as_str()).collect();
            if std::env::var_os("EVAL_SHOW").is_some() {
                show_mixed(articles, &found);
            }
            if std::env::var_os("EVAL_SPLIT").is_some() {
                show_split(articles, &found);
            }
            let micros = elapsed.as_secs_f64() * 1e6 / articles.len() as f64;
            let all = vec![true; articles.len()];
            let mut rows = vec![(name.to_string(), all)];
            // AllSides' halves by story number: tuning looks only at the even stories; the odd
            // ones are held out, and scored inside the full run (alone, half as dense, easier).
            if let Some(parity) = articles
                .iter()
                .map(|a| story_number(&a.label))
                .collect::<Option<Vec<u64>>>()
            {
                rows.push(("  even".into(), parity.iter().map(|n| n % 2 == 0).collect()));
                rows.push(("  odd (held out)".into(), parity.iter().map(|n| n % 2 == 1).collect()));
            }
            for (row, keep) in rows {
                let m = Scores::of(&gold, &found, &keep);
                println!(
                    "{row:<16} {:>9} {:>7} | {:>6.4} {:>6.4} {:>6.4} | {:>6.3} {:>6.3} {:>6.3} | {:>8} {micros:>9.0}",
                    t.map_or("copies".into(), |t| format!("{t:.3}")),
                    m.stories,
                    m.b3.0,
                    m.b3.1,
                    f1(m.b3),
                    m.pairs.0,
                    m.pairs.1,
                    f1(m.pairs),
                    m.labels,
                );
            }
        }
    }
}

/// Runs every article through the ingest path; returns each one's story and the time taken.
fn cluster(articles: &[Article], certainty: Option<f32>) -> (Vec<i64>, Duration) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut store = Store::open(&newswatch::model::Database::File(dir.path().join("eval.db"))).expect("a database");
    let rules = Rules {
        // The defaults, as a new user has them.
        max_age: DEFAULT_MAX_AGE,
        dedup: Dedup {
            window: DEFAULT_WINDOW,
            rewrites: certainty.is_some(),
            certainty: certainty.unwrap_or(DEFAULT_CERTAINTY),
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

/// Writes every pair the clustering window's index finds (each article against the earlier
/// articles of other outlets, in time order) with the figures a verdict is made from and the
/// label: the data a pair scorer is trained on (`benches/train_pairs.py`). The same window
/// and weights as the ingest path; every article is its own story here.
fn dump_pairs(articles: &[Article], path: &str) {
    use newswatch::cluster::{Draft, Index, Member, Pair, Weighing};
    use std::io::Write;
    let window = DEFAULT_WINDOW.as_secs() as i64;
    // The window's start moves as the store's does: a day at a time, max_age + window back.
    let reach = (DEFAULT_MAX_AGE + DEFAULT_WINDOW).as_secs() as i64;
    let mut horizon = i64::MIN;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("a pairs file"));
    writeln!(
        out,
        "new\told\tnew_story\tsame\tall\ttitle\tnames\tbody\tshared\trare\tapart\twords\tbodies\tfound\tn\tyoung\tstrangers"
    )
    .expect("written");
    let mut young = std::io::BufWriter::new(std::fs::File::create(format!("{path}.young")).expect("a file"));
    writeln!(
        young,
        "new\told\tnew_story\tsame\tall\ttitle\tnames\tbody\tshared\trare\tapart\twords\tbodies\tfound\tn\tyoung\tstrangers"
    )
    .expect("written");
    let mut labels = std::io::BufWriter::new(std::fs::File::create(format!("{path}.labels")).expect("a labels file"));
    for a in articles {
        writeln!(labels, "{}", a.label).expect("written");
    }
    let mut index = Index::default();
    let mut outlets: HashMap<&str, i64> = HashMap::new();
    for (i, a) in articles.iter().enumerate() {
        let next = outlets.len() as i64;
        let source = *outlets.entry(a.outlet.as_str()).or_insert(next);
        let at = a.entry.published.expect("a time").as_second();
        let start = (at - reach).div_euclid(86_400) * 86_400;
        if start > horizon {
            horizon = start;
            index.prune(horizon);
        }
        let features = index.weigh(Draft::of(&a.entry.title, &a.entry.body));
        // Every earlier article of another outlet in the window, and whether the index found it:
        // a verdict weighs a candidate story by all of its entries.
        let weighing = Weighing::of(&features, |t| index.df(t), index.counted());
        let found: std::collections::HashSet<i64> = index
            .neighbours(&features, source, at - window, at + window)
            .iter()
            .map(|n| n.entry)
            .collect();
        for (j, old) in articles[..i].iter().enumerate() {
            let old_at = old.entry.published.expect("a time").as_second();
            if outlets[old.outlet.as_str()] == source || at.abs_diff(old_at) > window as u64 {
                continue;
            }
            let Some(member) = index.member(j as i64) else { continue };
            let apart = at.abs_diff(old_at) as f32 / window as f32;
            let p = Pair::of(&features, &member.features, apart, &weighing);
            let found = found.contains(&(j as i64));
            // The same pair as a young database sees it (the older entry alone in the window):
            // what the models must also judge on the first polls.
            if found {
                let mut alone = Index::default();
                let f_old = alone.weigh(Draft::of(&old.entry.title, &old.entry.body));
                alone.insert(
                    0,
                    Member {
                        story: 0,
                        source: -1,
                        at: old_at,
                        features: f_old,
                    },
                );
                let f_new = alone.weigh(Draft::of(&a.entry.title, &a.entry.body));
                let old_f = &alone.member(0).expect("filed").features;
                let y = Pair::of(
                    &f_new,
                    old_f,
                    apart,
                    &Weighing::of(&f_new, |t| alone.df(t), alone.counted()),
                );
                let row = Row {
                    story: story_number(&a.label).unwrap_or(0),
                    same: old.label == a.label,
                    found: true,
                    entries: alone.counted(),
                    young: true,
                };
                write_pair(&mut young, (i, j), &y, &row);
                writeln!(young).expect("written");
            }
            let row = Row {
                story: story_number(&a.label).unwrap_or(0),
                same: old.label == a.label,
                found,
                entries: index.counted(),
                young: false,
            };
            write_pair(&mut out, (i, j), &p, &row);
            writeln!(out).expect("written");
        }
        index.insert(
            i as i64,
            Member {
                story: i as i64,
                source,
                at,
                features,
            },
        );
    }
}

/// What a pair's row says besides its figures.
struct Row {
    /// The new article's AllSides story number (0 elsewhere).
    story: u64,
    same: bool,
    /// Found through the index (else another entry of a story found).
    found: bool,
    /// Entries counted in the window.
    entries: u64,
    /// Judged in a window holding the older entry alone.
    young: bool,
}

/// One pair as a row of the pairs file, without its line end (its columns: see the header
/// `dump_pairs` writes; the fixture's rows go on with a kind).
fn write_pair(out: &mut impl std::io::Write, (new, old): (usize, usize), p: &newswatch::cluster::Pair, r: &Row) {
    write!(
        out,
        "{new}\t{old}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        r.story,
        u8::from(r.same),
        p.all,
        p.title,
        p.names,
        p.body,
        p.shared,
        p.rare,
        p.apart,
        p.words,
        u8::from(p.bodies),
        u8::from(r.found),
        r.entries,
        u8::from(r.young),
        p.strangers
    )
    .expect("written");
}

/// Writes the pairs of the test fixture (tests/clustering/*.toml) as tests/clustering.rs makes
/// them, each alone in a window (one entry, then the other an hour later), with its label: what
/// a young database sees. Only to check a model against (never fitted on).
fn dump_fixture(path: &str, background: &[Article]) {
    use newswatch::cluster::{Draft, Index, Member, Pair, Weighing};
    use std::io::Write;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clustering");
    let read = |name: &str| -> toml::Value {
        toml::from_str(&std::fs::read_to_string(dir.join(name)).expect("a fixture")).expect("TOML")
    };
    let text = |v: &toml::Value| {
        (
            v["title"].as_str().unwrap_or_default().to_string(),
            v["body"].as_str().unwrap_or_default().to_string(),
        )
    };
    // (first text, second text, one story, what kind of pair), each text (title, body).
    type Text = (String, String);
    let mut pairs: Vec<(Text, Text, bool, String)> = Vec::new();
    let events = read("events.toml");
    let subjects = events["subject"].as_array().expect("subjects");
    for (i, s) in subjects.iter().enumerate() {
        let e = s["event"].as_array().expect("events");
        let (one, two) = (text(&e[0]), text(&e[1]));
        pairs.push((one.clone(), two.clone(), false, "two events".into()));
        pairs.push((
            one.clone(),
            (one.0.clone(), two.1.clone()),
            false,
            "title over other text".into(),
        ));
        let next = text(&subjects[(i + 1) % subjects.len()]["event"][0]);
        pairs.push((two.clone(), next, false, "other subject".into()));
    }
    for t in read("rewrites.toml")["story"].as_array().expect("stories") {
        let (report, rewrite, other) = (text(&t["report"]), text(&t["rewrite"]), text(&t["other"]));
        pairs.push((report.clone(), rewrite.clone(), true, "rewrite".into()));
        pairs.push((report, other.clone(), false, "other event".into()));
        pairs.push((rewrite, other, false, "other event".into()));
    }
    // With "-own": the fixture's other subjects' texts as the window's other news.
    let own = path.ends_with("-own");
    let mut all_texts: Vec<(usize, (String, String))> = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        for e in s["event"].as_array().expect("events") {
            all_texts.push((i, text(e)));
        }
    }
    for (i, t) in read("rewrites.toml")["story"]
        .as_array()
        .expect("stories")
        .iter()
        .enumerate()
    {
        for k in ["report", "rewrite", "other"] {
            all_texts.push((1000 + i, text(&t[k])));
        }
    }
    let subject_of = |k: usize| -> usize {
        let n_events = subjects.len() * 3;
        if k < n_events { k / 3 } else { 1000 + (k - n_events) / 3 }
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("a fixture file"));
    writeln!(
        out,
        "new\told\tnew_story\tsame\tall\ttitle\tnames\tbody\tshared\trare\tapart\twords\tbodies\tfound\tn\tyoung\tstrangers\tkind"
    )
    .expect("written");
    for (k, (a, b, same, kind)) in pairs.into_iter().enumerate() {
        let mut index = Index::default();
        // Other news in the window (far from the pair's time, so never a candidate): a
        // database in use, whose word counts say which words are common.
        for (i, b) in background.iter().enumerate() {
            let features = index.weigh(Draft::of(&b.entry.title, &b.entry.body));
            index.insert(
                1_000_000 + i as i64,
                Member {
                    story: -1,
                    source: -1,
                    at: -1_000_000_000,
                    features,
                },
            );
        }
        if own {
            for (i, (subject, t)) in all_texts.iter().enumerate() {
                if *subject != subject_of(k) {
                    let features = index.weigh(Draft::of(&t.0, &t.1));
                    index.insert(
                        2_000_000 + i as i64,
                        Member {
                            story: -1,
                            source: -1,
                            at: -1_000_000_000,
                            features,
                        },
                    );
                }
            }
        }
        let fa = index.weigh(Draft::of(&a.0, &a.1));
        index.insert(
            0,
            Member {
                story: 0,
                source: 0,
                at: 0,
                features: fa,
            },
        );
        let fb = index.weigh(Draft::of(&b.0, &b.1));
        let member = index.member(0).expect("filed");
        let p = Pair::of(
            &fb,
            &member.features,
            3600.0 / (72.0 * 3600.0),
            &Weighing::of(&fb, |t| index.df(t), index.counted()),
        );
        let row = Row {
            story: 0,
            same,
            found: true,
            entries: index.counted(),
            young: false,
        };
        write_pair(&mut out, (2 * k + 1, 2 * k), &p, &row);
        writeln!(out, "\t{kind}").expect("written");
    }
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

/// Precision and recall, B-cubed (per article, averaged) and over pairs of articles, of the
/// articles `keep` selects; their stories as found in the whole run (another half's articles in
/// one of them count against its precision).
struct Scores {
    b3: (f64, f64),
    pairs: (f64, f64),
    /// Stories found and labelled among the kept articles.
    stories: usize,
    labels: usize,
}

impl Scores {
    fn of<G: std::hash::Hash + Eq, F: std::hash::Hash + Eq>(gold: &[G], found: &[F], keep: &[bool]) -> Scores {
        let mut both: HashMap<(&G, &F), f64> = HashMap::new();
        let mut g_size: HashMap<&G, f64> = HashMap::new();
        let mut f_size: HashMap<&F, f64> = HashMap::new();
        for (g, f) in gold.iter().zip(found) {
            *both.entry((g, f)).or_default() += 1.0;
            *g_size.entry(g).or_default() += 1.0;
            *f_size.entry(f).or_default() += 1.0;
        }
        let (mut p, mut r, mut n) = (0.0, 0.0, 0.0);
        // Pairs with at least one kept article: found together, labelled together, both.
        let (mut found_pairs, mut gold_pairs, mut true_pairs) = (0.0, 0.0, 0.0);
        let mut stories = std::collections::HashSet::new();
        let mut labels = std::collections::HashSet::new();
        for (i, (g, f)) in gold.iter().zip(found).enumerate() {
            if !keep[i] {
                continue;
            }
            stories.insert(f);
            labels.insert(g);
            let c = both[&(g, f)];
            p += c / f_size[f];
            r += c / g_size[g];
            n += 1.0;
            for j in 0..i {
                let (same_f, same_g) = (found[j] == *f, gold[j] == *g);
                found_pairs += f64::from(u8::from(same_f));
                gold_pairs += f64::from(u8::from(same_g));
                true_pairs += f64::from(u8::from(same_f && same_g));
            }
            for j in i + 1..gold.len() {
                if keep[j] {
                    continue; // counted from j's side
                }
                let (same_f, same_g) = (found[j] == *f, gold[j] == *g);
                found_pairs += f64::from(u8::from(same_f));
                gold_pairs += f64::from(u8::from(same_g));
                true_pairs += f64::from(u8::from(same_f && same_g));
            }
        }
        Scores {
            b3: (p / n, r / n),
            pairs: (ratio(true_pairs, found_pairs), ratio(true_pairs, gold_pairs)),
            stories: stories.len(),
            labels: labels.len(),
        }
    }
}

/// AllSides' story number ("as5607" → 5607); none for labels of other sets.
fn story_number(label: &str) -> Option<u64> {
    label.strip_prefix("as")?.parse().ok()
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
            let published = Timestamp::from_second(date.as_second() + spread(&s("item_id"))).expect("a time");
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

/// An article's offset from its story's date, in seconds: h × 72 h − 36 h, where h is the first 8
/// hex digits of the SHA-256 of its item id over 0xFFFFFFFF. Deterministic and free of the label,
/// and the same rule the issue gives for every labelled set, so figures agree between tools.
fn spread(item_id: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(item_id.as_bytes());
    let h = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) as f64 / f64::from(u32::MAX);
    (h * 72.0 * 3600.0 - 36.0 * 3600.0).round() as i64
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
