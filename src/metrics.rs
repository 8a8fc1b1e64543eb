//! What the daemon counts for `/metrics` (Prometheus): polls by outcome, feed responses by
//! status class, bytes, entries stored, messages sent and failed, poll durations. Counters live
//! in memory from the start of the process, as Prometheus expects of `_total`; what the
//! database knows (matches per topic, the outbox, each source's last success) is read at each
//! scrape by `serve.rs`. Neutral: uses nothing of ours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the poll-duration histogram's buckets, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

pub const OUTCOMES: [&str; 4] = ["fetched", "unchanged", "failed", "skipped"];
/// How messages travel: by mail (SMTP or an `.eml` file) or as a webhook's POST.
pub const CHANNELS: [&str; 2] = ["mail", "webhook"];

#[derive(Debug, Default)]
pub struct Metrics {
    polls: [AtomicU64; 4],
    /// Feed responses by status class, 1xx to 5xx.
    responses: [AtomicU64; 5],
    not_modified: AtomicU64,
    bytes: AtomicU64,
    entries: AtomicU64,
    /// Messages sent and failed attempts, by channel ([`CHANNELS`]).
    sent: [AtomicU64; 2],
    failed: [AtomicU64; 2],
    durations: [AtomicU64; BUCKETS.len()],
    duration_count: AtomicU64,
    duration_micros: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// A poll ended with `outcome` (one of [`OUTCOMES`]) after `took`, storing `entries`.
    pub fn poll(&self, outcome: &str, entries: u64, took: Duration) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            add(&self.polls[i], 1);
        }
        add(&self.entries, entries);
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.durations.iter().zip(BUCKETS) {
            if seconds <= bound {
                add(bucket, 1);
            }
        }
        add(&self.duration_count, 1);
        add(&self.duration_micros, took.as_micros() as u64);
    }

    /// A feed request was answered with `status`, `bytes` of body read.
    pub fn response(&self, status: u16, bytes: u64) {
        if let Some(class) = (status / 100).checked_sub(1).filter(|c| *c < 5) {
            add(&self.responses[class as usize], 1);
        }
        if status == 304 {
            add(&self.not_modified, 1);
        }
        add(&self.bytes, bytes);
    }

    /// Messages of `channel` (one of [`CHANNELS`]) sent, and attempts that failed.
    pub fn messages(&self, channel: &str, sent: u64, failed: u64) {
        if let Some(i) = CHANNELS.iter().position(|c| *c == channel) {
            add(&self.sent[i], sent);
            add(&self.failed[i], failed);
        }
    }

    /// The counters in Prometheus' text format (0.0.4).
    pub fn render(&self, out: &mut String) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        head(
            out,
            "newswatch_polls_total",
            "counter",
            "Polls of a source, by outcome.",
        );
        for (outcome, n) in OUTCOMES.iter().zip(&self.polls) {
            *out += &format!("newswatch_polls_total{{outcome=\"{outcome}\"}} {}\n", get(n));
        }
        head(
            out,
            "newswatch_http_responses_total",
            "counter",
            "Feed responses, by status class.",
        );
        for (i, n) in self.responses.iter().enumerate() {
            *out += &format!("newswatch_http_responses_total{{class=\"{}xx\"}} {}\n", i + 1, get(n));
        }
        let single = [
            (
                "newswatch_http_not_modified_total",
                "Feed responses 304 Not Modified.",
                &self.not_modified,
            ),
            (
                "newswatch_fetched_bytes_total",
                "Bytes of feed bodies read.",
                &self.bytes,
            ),
            ("newswatch_entries_stored_total", "New entries stored.", &self.entries),
        ];
        for (name, help, n) in single {
            head(out, name, "counter", help);
            *out += &format!("{name} {}\n", get(n));
        }
        let by_channel = [
            (
                "newswatch_messages_sent_total",
                "Messages accepted, by channel: mail (by the SMTP server, or an .eml file written) or webhook (a 2xx answer).",
                &self.sent,
            ),
            (
                "newswatch_messages_failed_total",
                "Attempts to send a message that failed, by channel.",
                &self.failed,
            ),
        ];
        for (name, help, counters) in by_channel {
            head(out, name, "counter", help);
            for (channel, n) in CHANNELS.iter().zip(counters) {
                *out += &format!("{name}{{channel=\"{channel}\"}} {}\n", get(n));
            }
        }
        let name = "newswatch_poll_duration_seconds";
        head(out, name, "histogram", "How long one source's poll took.");
        for (bound, n) in BUCKETS.iter().zip(&self.durations) {
            *out += &format!("{name}_bucket{{le=\"{bound}\"}} {}\n", get(n));
        }
        let count = get(&self.duration_count);
        *out += &format!("{name}_bucket{{le=\"+Inf\"}} {count}\n");
        *out += &format!("{name}_sum {}\n", get(&self.duration_micros) as f64 / 1e6);
        *out += &format!("{name}_count {count}\n");
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
pub fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    *out += &format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
pub fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_the_histogram_read_as_prometheus_text() {
        let m = Metrics::default();
        m.poll("fetched", 20, Duration::from_millis(300));
        m.poll("unchanged", 0, Duration::from_millis(40));
        m.response(200, 1000);
        m.response(304, 0);
        m.response(503, 0);
        m.messages("mail", 2, 1);
        m.messages("webhook", 1, 0);
        let mut out = String::new();
        m.render(&mut out);
        for line in [
            "newswatch_polls_total{outcome=\"fetched\"} 1",
            "newswatch_http_responses_total{class=\"3xx\"} 1",
            "newswatch_http_responses_total{class=\"5xx\"} 1",
            "newswatch_http_not_modified_total 1",
            "newswatch_fetched_bytes_total 1000",
            "newswatch_entries_stored_total 20",
            "newswatch_poll_duration_seconds_bucket{le=\"0.05\"} 1",
            "newswatch_poll_duration_seconds_bucket{le=\"0.5\"} 2",
            "newswatch_poll_duration_seconds_bucket{le=\"+Inf\"} 2",
            "newswatch_poll_duration_seconds_sum 0.34",
            "newswatch_poll_duration_seconds_count 2",
            "newswatch_messages_sent_total{channel=\"mail\"} 2",
            "newswatch_messages_sent_total{channel=\"webhook\"} 1",
            "newswatch_messages_failed_total{channel=\"mail\"} 1",
            "newswatch_messages_failed_total{channel=\"webhook\"} 0",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
        }
        assert_eq!(label("a \"b\"\\\n"), "a \\\"b\\\"\\\\\\n");
    }
}
