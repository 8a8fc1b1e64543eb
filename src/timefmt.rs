//! Times and durations written for people: `2026-11-23 09:15 JST`, `1h 30m`.
//!
//! Neutral: every room may use it; it uses no other room of ours.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `d` before now; the earliest time there is, if that is further back.
pub fn ago(d: Duration) -> Timestamp {
    crate::clock::now()
        .checked_sub(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(Timestamp::MIN)
}

/// `2026-11-23 09:15 JST`
pub fn format_time(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// A duration the way the config writes it (`90m` as `1h 30m`); under a second in milliseconds.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let mut parts = Vec::new();
    for (n, unit) in [
        (secs / 86_400, "d"),
        ((secs % 86_400) / 3_600, "h"),
        ((secs % 3_600) / 60, "m"),
        (secs % 60, "s"),
    ] {
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(format_duration(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let t: Timestamp = "2026-11-23T00:15:00Z".parse().unwrap();
        assert_eq!(format_time(t, &tokyo), "2026-11-23 09:15 JST");
    }
}
