//! What story clustering costs per new entry as the archive grows: entries spread over a year
//! (so the 72-hour window holds a steady population, about 8,000 entries at 1,000,000 a year),
//! stored through the real ingest path into a real SQLite file, 50 per poll (one source's
//! feed); three rounds of 20,000 entries are timed at 1,000 and at 1,000,000 stored, and the
//! median round counts, in wall and in CPU time. Twenty thousand, so that each round holds a WAL
//! checkpoint or two (one per ~40 MB written), as a day of polling does.
//!
//!     cargo bench --bench cluster_insert                 # the defaults (rewrites grouped)
//!     cargo bench --bench cluster_insert -- copies       # copies only
//!     cargo bench --bench cluster_insert -- 100000       # a smaller archive
//!     cargo bench --bench cluster_insert -- keep=FILE    # then copy the archive to FILE
//!                                                        # (benches/archive.sh polls into it)
//!     cargo bench --bench cluster_insert -- words=TSV    # words drawn from the headlines of
//!                                                        # TSV's TITLE column, as often as
//!                                                        # they occur there (for text a search
//!                                                        # meets: benches/search.sh)

use std::time::{Duration, Instant};

use jiff::Timestamp;
use newswatch::config::Dedup;
use newswatch::model::Entry;
use newswatch::poll::record::{NewEntry, Rules, store_entries};
use newswatch::store::{FetchRecord, Store};

const YEAR: i64 = 365 * 86_400;
const BATCH: usize = 50;
const TIMED: usize = 20_000;
/// Timed rounds at each size, of which the median counts: one round on a shared machine can
/// be 1.5x another (a checkpoint, a neighbour's disk).
const ROUNDS: usize = 3;

/// A deterministic entry: words drawn from a vocabulary of 5,000 (or from `words`, each as
/// often as it occurs there), a few copies among them.
fn entry(i: u64, start: i64, total: u64, words: &[String]) -> Entry {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let word = |n: u64| match words.is_empty() {
        true => format!("w{}", n % 5_000),
        false => words[(n % words.len() as u64) as usize].clone(),
    };
    let title: Vec<String> = (0..8).map(|_| word(next())).collect();
    let body: Vec<String> = (0..60).map(|_| word(next())).collect();
    Entry {
        guid: format!("g{i}"),
        link: Some(format!("https://site{}.example/{i}", i % 50)),
        title: title.join(" "),
        body: body.join(" "),
        published: Timestamp::from_second(start + (i as i64 * YEAR) / total as i64).ok(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rewrites = !args.iter().any(|a| a == "copies");
    let big: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let keep = args.iter().find_map(|a| a.strip_prefix("keep="));
    let words = args
        .iter()
        .find_map(|a| a.strip_prefix("words="))
        .map(headline_words)
        .unwrap_or_default();
    let rules = Rules {
        // The defaults: the index keeps max_age + window.
        max_age: Duration::from_secs(7 * 86_400),
        dedup: Dedup {
            window: Duration::from_secs(72 * 3600),
            rewrites,
            certainty: newswatch::config::DEFAULT_CERTAINTY,
        },
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut store = Store::open(&newswatch::model::Database::File(dir.path().join("bench.db"))).expect("a database");
    // Entries arrive in time order over a year; "now" is each batch's newest entry.
    let start = Timestamp::now().as_second() - YEAR;
    let total = big + (2 * ROUNDS * TIMED) as u64;
    let mut stored = 0u64;
    let poll = |store: &mut Store, n: usize, stored: &mut u64| -> Cost {
        let began = Cost::now();
        let mut left = n;
        while left > 0 {
            let take = left.min(BATCH);
            let entries: Vec<NewEntry> = (*stored..*stored + take as u64)
                .map(|i| NewEntry::new(entry(i, start, total, &words), None, None, &rules.dedup))
                .collect();
            let now = entries.last().and_then(|e| e.entry.published).expect("a time");
            let record = FetchRecord {
                status: 200,
                next_poll: now,
                ..FetchRecord::default()
            };
            let source = format!("source {}", (*stored / BATCH as u64) % 50);
            store_entries(store, (&source, "bench:"), entries, &record, now, &rules).expect("stored");
            *stored += take as u64;
            left -= take;
        }
        Cost::now().since(&began)
    };
    println!(
        "mode: {}",
        if rewrites {
            "rewrites (the default)"
        } else {
            "copies only"
        }
    );
    poll(&mut store, 1_000, &mut stored);
    let small = rounds(&mut || poll(&mut store, TIMED, &mut stored));
    println!("at {:>9} stored: {}", 1_000, small.show());
    let fill = Instant::now();
    let target = big;
    while stored < target {
        let n = ((target - stored) as usize).min(50_000);
        poll(&mut store, n, &mut stored);
        eprint!("\r  {stored} stored ({:.0} s)", fill.elapsed().as_secs_f64());
    }
    eprintln!();
    let large = rounds(&mut || poll(&mut store, TIMED, &mut stored));
    println!(
        "at {target:>9} stored: {} ({:.2}x the CPU, {:.2}x the wall time)",
        large.show(),
        large.cpu / small.cpu,
        large.wall / small.wall
    );
    let size = std::fs::metadata(dir.path().join("bench.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("database: {:.0} MB", size as f64 / 1e6);
    if let Some(keep) = keep {
        // Through SQLite's backup, so that the copy is whole.
        store.backup(std::path::Path::new(keep)).expect("a copy of the archive");
        println!("archive kept in {keep}");
    }
}

/// Every word of the TITLE column of a tab-separated file with a header (the shared
/// clusterdata's `uci_week.tsv`: 33,000 real headlines), repeats kept.
fn headline_words(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = header
        .iter()
        .position(|h| *h == "TITLE")
        .unwrap_or_else(|| panic!("{path} has no TITLE column"));
    lines
        .filter_map(|l| l.split('\t').nth(column))
        .flat_map(|t| t.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Per entry, in µs: wall time, and CPU time of the process (user and system; SQLite's fsyncs
/// wait without it).
#[derive(Debug, Clone, Copy)]
struct PerEntry {
    wall: f64,
    cpu: f64,
}

impl PerEntry {
    fn show(&self) -> String {
        format!("{:7.1} µs per entry, {:7.1} µs of CPU", self.wall, self.cpu)
    }
}

/// The median of `ROUNDS` rounds of `TIMED` entries each.
fn rounds(round: &mut dyn FnMut() -> Cost) -> PerEntry {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..ROUNDS {
        let c = round();
        walls.push(c.wall.as_secs_f64() * 1e6 / TIMED as f64);
        cpus.push(c.cpu.as_secs_f64() * 1e6 / TIMED as f64);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    PerEntry {
        wall: median(walls),
        cpu: median(cpus),
    }
}

/// Wall and CPU time (since some start, or between two readings).
struct Cost {
    wall: Duration,
    cpu: Duration,
    at: Instant,
}

impl Cost {
    fn now() -> Cost {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes the struct passed.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
        Cost {
            wall: Duration::ZERO,
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            at: Instant::now(),
        }
    }

    fn since(&self, start: &Cost) -> Cost {
        Cost {
            wall: self.at - start.at,
            cpu: self.cpu.saturating_sub(start.cpu),
            at: self.at,
        }
    }
}
