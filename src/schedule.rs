//! When things happen, in one place: whether a source is due or skipped and why, its next poll
//! time after a success (with jitter) or a failure (exponential backoff), the next digest
//! time, and the daemon's own times (alerts after a poll, the first polls' grace, the upkeep,
//! how long to sleep). The daemon, `newswatch poll` and `newswatch check` all ask here.
//!
//! Pure: the caller brings the stored state and the clock; no I/O, no store, no network.
//!
//! The rule: the daemon polls a source when its next poll time has come, its host is not held
//! by a Retry-After, and it is not paused (410 Gone). `newswatch poll` ignores the interval and
//! skips only sources backing off after failures, held hosts and paused sources; `--force`
//! lifts backoff and holds, never a pause.

use std::time::Duration;

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::model::{HostHold, SourceState};

/// Longest backoff after failures, and longest wait a host may impose.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// Shortest and longest a host that asked us to wait (429/503 with Retry-After) is left alone.
pub const MIN_HOST_HOLD: Duration = Duration::from_secs(60);
pub const MAX_HOST_HOLD: Duration = MAX_BACKOFF;
/// While our own network looks down, sources are tried again this soon at the latest.
pub const NETWORK_RETRY: Duration = Duration::from_secs(5 * 60);

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The daemon: each source on its own schedule.
    Daemon,
    /// `newswatch poll`: now, whatever the interval; `force` also lifts backoff and host holds.
    Manual { force: bool },
}

/// Why a source is not polled now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Paused after 410 Gone, until `newswatch sources --resume`.
    Paused,
    /// Its host asked to be left alone (Retry-After).
    HostHeld { host: String, hold: HostHold },
    /// Backing off after `failures` failures in a row.
    BackingOff { failures: u32, until: Timestamp },
    /// Another newswatch sharing the database is polling it now (its lease, `poll::lease`).
    Leased,
}

/// The verdict on one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Due,
    /// Daemon: not yet; due at this time.
    NotYet(Timestamp),
    Skip(Skip),
}

/// Whether the source with `state` is polled now. `hold` is its host's Retry-After, if any, as
/// stored under `host`.
pub fn decide(
    state: Option<&SourceState>,
    host: &str,
    hold: Option<&HostHold>,
    now: Timestamp,
    mode: Mode,
) -> Decision {
    if state.is_some_and(|s| s.paused) {
        return Decision::Skip(Skip::Paused);
    }
    let hold = hold.filter(|h| h.until > now);
    match mode {
        Mode::Daemon => {
            let mut at = state.and_then(|s| s.next_poll).unwrap_or(now);
            if let Some(h) = hold {
                at = at.max(h.until);
            }
            if at <= now { Decision::Due } else { Decision::NotYet(at) }
        }
        Mode::Manual { force: true } => Decision::Due,
        Mode::Manual { force: false } => {
            if let Some(h) = hold {
                return Decision::Skip(Skip::HostHeld {
                    host: host.to_string(),
                    hold: h.clone(),
                });
            }
            match state {
                Some(s) if s.consecutive_failures > 0 && s.next_poll.is_some_and(|next| next > now) => {
                    Decision::Skip(Skip::BackingOff {
                        failures: s.consecutive_failures,
                        until: s.next_poll.unwrap_or(now),
                    })
                }
                _ => Decision::Due,
            }
        }
    }
}

/// The next poll after a success: one interval on, give or take 10 %, so that sources polled
/// together once drift apart.
pub fn next_poll(interval: Duration, now: Timestamp) -> Timestamp {
    later(now, jittered(interval))
}

/// The next poll after `failures` failures in a row (at least one).
pub fn after_failures(interval: Duration, failures: u32, now: Timestamp) -> Timestamp {
    later(now, backoff(interval, failures.max(1)))
}

/// How long a host that answered 429/503 is left alone: what it asked, between a minute and a
/// day (`Retry-After: 0`, or a date in the past, must not make us ask again at once), else as
/// long as a first backoff.
pub fn host_hold_until(retry_after: Option<Duration>, interval: Duration, now: Timestamp) -> Timestamp {
    let hold = retry_after.map_or_else(|| backoff(interval, 1), |d| d.clamp(MIN_HOST_HOLD, MAX_HOST_HOLD));
    later(now, hold)
}

/// When to try again while our own network looks down.
pub fn network_retry(interval: Duration, now: Timestamp) -> Timestamp {
    later(now, interval.min(NETWORK_RETRY))
}

/// Exponential backoff after `failures` failures in a row: the interval, then twice it, and so
/// on, up to a day; with jitter.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    jittered(interval.saturating_mul(factor).min(MAX_BACKOFF)).min(MAX_BACKOFF)
}

/// How many refusals (5xx) park a message.
pub const REFUSALS_TO_PARK: u32 = 3;

/// When to try a message again after an attempt failed; `None`: park it. `attempts` and
/// `refusals` count the attempts before this one. A temporary failure waits `retry.first`,
/// doubling up to `retry.max`; a refusal waits at least `retry.refused`, and the third parks it.
pub fn message_retry(
    retry: &crate::config::Retry,
    attempts: u32,
    refusals: u32,
    refused: bool,
    now: Timestamp,
) -> Option<Timestamp> {
    let wait = retry_wait(retry, attempts);
    if refused {
        (refusals + 1 < REFUSALS_TO_PARK).then(|| later(now, wait.max(retry.refused)))
    } else {
        Some(later(now, wait))
    }
}

/// When to compose again after composing failed `failures` times in a row (the store could not
/// write: a full disk, say): as a message's retries, from `email.retry` doubling to its max.
pub fn compose_retry(retry: &crate::config::Retry, failures: u32, now: Timestamp) -> Timestamp {
    later(now, retry_wait(retry, failures.saturating_sub(1)))
}

/// `retry.first` doubled `attempts` times, at most `retry.max`.
fn retry_wait(retry: &crate::config::Retry, attempts: u32) -> Duration {
    retry.first.saturating_mul(1u32 << attempts.min(16)).min(retry.max)
}

/// ±10 %.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.9 + fastrand::f64() * 0.2)
}

fn later(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

/// The first digest time of the config strictly after `after`.
pub fn next_digest(after: Timestamp, digest: &crate::config::Digest) -> Timestamp {
    next_digest_time(after, &digest.at, &digest.days, &digest.timezone)
}

/// The first digest time strictly after `after`, at one of the `at` times of one of the `days`,
/// in the digest's time zone.
pub fn next_digest_time(after: Timestamp, at: &[Time], days: &[Weekday], tz: &TimeZone) -> Timestamp {
    let today = after.to_zoned(tz.clone()).date();
    let mut day = today;
    // Eight days always hold a later slot on a chosen weekday; one more covers odd DST days,
    // without ever looping forever.
    for _ in 0..9 {
        if !days.contains(&day.weekday()) {
            day = day.tomorrow().unwrap_or(day);
            continue;
        }
        for t in at {
            if let Ok(zoned) = day.to_datetime(*t).to_zoned(tz.clone())
                && zoned.timestamp() > after
            {
                return zoned.timestamp();
            }
        }
        day = day.tomorrow().unwrap_or(day);
    }
    after + SignedDuration::from_hours(24)
}

/// Alerts wait this long after the poll that found their stories, so that the polls finishing
/// together share one message.
pub const ALERT_DELAY: SignedDuration = SignedDuration::from_secs(5);
/// A digest time missed while newswatch was down, and the first upkeep, wait at most this long
/// for the daemon's first polls.
pub const FIRST_POLLS_GRACE: SignedDuration = SignedDuration::from_secs(60);
/// How often the search index catches up (and the daily prune is looked at).
pub const UPKEEP_EVERY: SignedDuration = SignedDuration::from_secs(60);
/// How soon to try again when the store could not be read or another process held the outbox.
pub const RETRY_SOON: SignedDuration = SignedDuration::from_secs(5);
/// Longest the daemon sleeps between two looks at the clock.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// When alerts are composed after a poll at `now` matched stories for them: `ALERT_DELAY` on,
/// unless they were due sooner already.
pub fn alerts_at(set: Option<Timestamp>, now: Timestamp) -> Timestamp {
    let at = now + ALERT_DELAY;
    set.map_or(at, |t| t.min(at))
}

/// Whether the daemon started at `started` is past its first polls: all done, or waited for
/// long enough. Until then a missed digest and the first upkeep wait, to carry what they find.
pub fn past_first_polls(done: bool, started: Timestamp, now: Timestamp) -> bool {
    done || now >= started + FIRST_POLLS_GRACE
}

/// Whether the upkeep is due: at `next` when one ran, else once past the first polls.
pub fn upkeep_due(next: Option<Timestamp>, past_first_polls: bool, now: Timestamp) -> bool {
    next.map_or(past_first_polls, |at| now >= at)
}

/// When the daemon looks at the upkeep next: at `next` when one ran, else when the first
/// polls' grace ends.
pub fn upkeep_wake(next: Option<Timestamp>, started: Timestamp) -> Timestamp {
    next.unwrap_or(started + FIRST_POLLS_GRACE)
}

/// How long the daemon sleeps: until the first of `times`, at most `MAX_SLEEP` (it looks at
/// the clock again then), not at all if one is past.
pub fn sleep_until(times: impl IntoIterator<Item = Option<Timestamp>>, now: Timestamp) -> Duration {
    let wake = times.into_iter().flatten().min().unwrap_or(now);
    Duration::try_from(wake.duration_since(now))
        .unwrap_or(Duration::ZERO)
        .min(MAX_SLEEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-23T12:00:00Z";

    fn state(failures: u32, next: Option<&str>, paused: bool) -> SourceState {
        SourceState {
            consecutive_failures: failures,
            next_poll: next.map(t),
            paused,
            ..SourceState::default()
        }
    }

    fn hold(until: &str) -> HostHold {
        HostHold {
            until: t(until),
            reason: "HTTP 429".into(),
        }
    }

    #[test]
    fn the_daemon_waits_for_each_source_and_its_host() {
        let now = t(NOW);
        let d = |s: Option<&SourceState>, h: Option<&HostHold>| decide(s, "h", h, now, Mode::Daemon);
        assert_eq!(d(None, None), Decision::Due, "never polled: due");
        let later = state(0, Some("2026-11-23T12:30:00Z"), false);
        assert_eq!(d(Some(&later), None), Decision::NotYet(t("2026-11-23T12:30:00Z")));
        let due = state(0, Some("2026-11-23T11:59:00Z"), false);
        assert_eq!(d(Some(&due), None), Decision::Due);
        let held = hold("2026-11-23T13:00:00Z");
        assert_eq!(d(Some(&due), Some(&held)), Decision::NotYet(t("2026-11-23T13:00:00Z")));
        assert_eq!(d(Some(&state(0, None, true)), None), Decision::Skip(Skip::Paused));
        let expired = hold("2026-11-23T11:00:00Z");
        assert_eq!(d(Some(&due), Some(&expired)), Decision::Due);
    }

    #[test]
    fn a_manual_poll_ignores_the_interval_but_not_backoff_holds_or_pauses() {
        let now = t(NOW);
        let d = |s: Option<&SourceState>, h: Option<&HostHold>, force: bool| {
            decide(s, "h:1", h, now, Mode::Manual { force })
        };
        let not_yet = state(0, Some("2026-11-23T12:30:00Z"), false);
        assert_eq!(d(Some(&not_yet), None, false), Decision::Due);
        let backing_off = state(2, Some("2026-11-23T12:30:00Z"), false);
        assert_eq!(
            d(Some(&backing_off), None, false),
            Decision::Skip(Skip::BackingOff {
                failures: 2,
                until: t("2026-11-23T12:30:00Z")
            })
        );
        assert_eq!(d(Some(&backing_off), None, true), Decision::Due);
        let held = hold("2026-11-23T13:00:00Z");
        assert!(matches!(
            d(None, Some(&held), false),
            Decision::Skip(Skip::HostHeld { ref host, .. }) if host == "h:1"
        ));
        assert_eq!(d(None, Some(&held), true), Decision::Due);
        let paused = state(1, None, true);
        assert_eq!(
            d(Some(&paused), None, true),
            Decision::Skip(Skip::Paused),
            "--force never lifts a pause"
        );
    }

    #[test]
    fn messages_are_retried_doubling_and_parked_after_three_refusals() {
        let retry = crate::config::Retry {
            first: Duration::from_secs(60),
            max: Duration::from_secs(3600),
            refused: Duration::from_secs(600),
        };
        let now = t(NOW);
        let wait = |attempts, refusals, refused| {
            message_retry(&retry, attempts, refusals, refused, now).map(|at| at.duration_since(now).as_secs())
        };
        assert_eq!(wait(0, 0, false), Some(60));
        assert_eq!(wait(1, 0, false), Some(120));
        assert_eq!(wait(5, 0, false), Some(1920));
        assert_eq!(wait(9, 0, false), Some(3600), "capped at retry_max");
        assert_eq!(wait(0, 0, true), Some(600), "a refusal waits at least retry_refused");
        assert_eq!(wait(6, 1, true), Some(3600));
        assert_eq!(wait(2, 2, true), None, "the third refusal parks it");
        // Composing again after the store failed: the same doubling, from the first failure.
        let again = |failures| compose_retry(&retry, failures, now).duration_since(now).as_secs();
        assert_eq!((again(1), again(2), again(9)), (60, 120, 3600));
    }

    #[test]
    fn a_host_hold_lasts_between_a_minute_and_a_day() {
        let now = t("2026-11-23T12:00:00Z");
        let hour = Duration::from_secs(3600);
        let held = |asked: Option<u64>| {
            host_hold_until(asked.map(Duration::from_secs), hour, now)
                .duration_since(now)
                .as_secs()
        };
        // `Retry-After: 0`, or a date already past (parsed as zero).
        assert_eq!(held(Some(0)), 60);
        assert_eq!(held(Some(30)), 60);
        assert_eq!(held(Some(600)), 600);
        assert_eq!(held(Some(9 * 24 * 3600)), 24 * 3600);
        // Nothing asked: as long as a first backoff.
        assert!((3000..=4000).contains(&held(None)), "{}", held(None));
    }

    #[test]
    fn backoff_doubles_up_to_a_day_with_jitter() {
        let m = Duration::from_secs(60);
        for (failures, base) in [(1, 60.0), (2, 120.0), (3, 240.0), (10, 30_720.0)] {
            let b = backoff(m, failures).as_secs_f64();
            assert!(b >= base * 0.9 && b <= base * 1.1, "{failures}: {b}");
        }
        let capped = backoff(m, 40);
        assert!(
            capped <= MAX_BACKOFF && capped >= MAX_BACKOFF.mul_f64(0.9),
            "{capped:?}"
        );
        let now = t(NOW);
        let next = next_poll(Duration::from_secs(1000), now);
        let secs = next.duration_since(now).as_secs();
        assert!((900..=1100).contains(&secs), "{secs}");
    }

    fn next_digest_time_all(after: Timestamp, at: &[Time], tz: &TimeZone) -> Timestamp {
        let every_day: Vec<Weekday> = (0..7).map(|i| Weekday::Monday.wrapping_add(i)).collect();
        next_digest_time(after, at, &every_day, tz)
    }

    #[test]
    fn digests_only_on_the_chosen_days() {
        let utc = TimeZone::UTC;
        let at = [Time::constant(8, 0, 0, 0)];
        let weekdays = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ];
        // 2026-11-27 is a Friday: after its 08:00, the next is Monday's.
        assert_eq!(
            next_digest_time(t("2026-11-27T09:00:00Z"), &at, &weekdays, &utc),
            t("2026-11-30T08:00:00Z")
        );
        assert_eq!(
            next_digest_time(t("2026-11-27T07:00:00Z"), &at, &weekdays, &utc),
            t("2026-11-27T08:00:00Z")
        );
        // Sundays only, from a Sunday after the time: a week on.
        assert_eq!(
            next_digest_time(t("2026-11-29T09:00:00Z"), &at, &[Weekday::Sunday], &utc),
            t("2026-12-06T08:00:00Z")
        );
    }

    #[test]
    fn next_digest_in_the_configured_zone() {
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        let at = [Time::constant(8, 0, 0, 0), Time::constant(18, 30, 0, 0)];
        // 2026-11-23 05:00 JST -> 08:00 JST the same day (23:00 UTC the day before).
        assert_eq!(
            next_digest_time_all(t("2026-11-22T20:00:00Z"), &at, &tokyo),
            t("2026-11-22T23:00:00Z")
        );
        // Exactly at a slot: the next one.
        assert_eq!(
            next_digest_time_all(t("2026-11-22T23:00:00Z"), &at, &tokyo),
            t("2026-11-23T09:30:00Z")
        );
        // After the last slot of the day: tomorrow's first.
        assert_eq!(
            next_digest_time_all(t("2026-11-23T10:00:00Z"), &at, &tokyo),
            t("2026-11-23T23:00:00Z")
        );
    }

    #[test]
    fn dst_change_keeps_local_time() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let at = [Time::constant(8, 0, 0, 0)];
        // Summer time ends 2026-10-25: 08:00 is 06:00 UTC before and 07:00 UTC after.
        assert_eq!(
            next_digest_time_all(t("2026-10-24T07:00:00Z"), &at, &berlin),
            t("2026-10-25T07:00:00Z")
        );
        // 02:30 does not exist on 2026-03-29 in Berlin; the digest still happens that day.
        let gap = [Time::constant(2, 30, 0, 0)];
        let next = next_digest_time_all(t("2026-03-28T12:00:00Z"), &gap, &berlin);
        assert!(
            next > t("2026-03-28T12:00:00Z") && next < t("2026-03-29T12:00:00Z"),
            "{next}"
        );
    }

    #[test]
    fn the_daemons_own_times() {
        let now = t(NOW);
        // Alerts: five seconds after the poll, or sooner if they were due sooner.
        assert_eq!(alerts_at(None, now), t("2026-11-23T12:00:05Z"));
        assert_eq!(
            alerts_at(Some(t("2026-11-23T12:00:02Z")), now),
            t("2026-11-23T12:00:02Z")
        );
        assert_eq!(
            alerts_at(Some(t("2026-11-23T12:00:09Z")), now),
            t("2026-11-23T12:00:05Z")
        );
        // The first polls: done, or a minute after the start at the latest.
        let started = t("2026-11-23T11:59:30Z");
        assert!(!past_first_polls(false, started, now));
        assert!(past_first_polls(true, started, now));
        assert!(past_first_polls(false, started, t("2026-11-23T12:00:30Z")));
        // The upkeep: once past the first polls, then at its time.
        assert!(!upkeep_due(None, false, now));
        assert!(upkeep_due(None, true, now));
        assert!(!upkeep_due(Some(t("2026-11-23T12:01:00Z")), true, now));
        assert!(upkeep_due(Some(now), false, now));
        assert_eq!(upkeep_wake(None, started), t("2026-11-23T12:00:30Z"));
        // Sleep: until the first time, never past a minute, not at all for a past time.
        let soon = Some(t("2026-11-23T12:00:10Z"));
        assert_eq!(
            sleep_until([None, soon, Some(t("2026-11-23T13:00:00Z"))], now),
            Duration::from_secs(10)
        );
        assert_eq!(sleep_until([Some(t("2026-11-23T13:00:00Z"))], now), MAX_SLEEP);
        assert_eq!(sleep_until([Some(started)], now), Duration::ZERO);
        assert_eq!(sleep_until([None], now), Duration::ZERO);
    }
}
