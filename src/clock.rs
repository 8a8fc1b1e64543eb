//! The time every stage reads: the system's clock, moved on by a fixed offset when one is set.
//!
//! Why a seam: retention, retries, schedules, the clustering window and the health checks all
//! turn on "now", and a test that must see a story pruned, a retry come due or a digest time
//! pass should set the clock, not sleep until the moment comes. An offset (rather than a fixed
//! time) keeps the daemon's timers true: every difference between two readings is real time.
//!
//! `NEWSWATCH_CLOCK_OFFSET` (a duration such as `2h` or `-30m`) sets it for a whole process;
//! the binary reads it once at start (`main.rs`). Durations measured with `Instant` (timeouts,
//! how long a poll took) never go through here: they are real time by nature.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};

/// The environment variable that moves the clock.
pub const OFFSET_VAR: &str = "NEWSWATCH_CLOCK_OFFSET";

static OFFSET: OnceLock<SignedDuration> = OnceLock::new();

/// Why an offset could not be set.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("{OFFSET_VAR}={value:?} is not a duration (write e.g. \"2h\", \"90s\" or \"-1 day\"): {reason}")]
    Offset { value: String, reason: String },
    #[error("the clock's offset is already set")]
    AlreadySet,
}

/// Sets the offset from `value` (the variable's text). Once per process, before the first
/// reading; readings before it see no offset.
pub fn set_offset(value: &str) -> Result<SignedDuration, ClockError> {
    let offset = parse(value)?;
    OFFSET.set(offset).map_err(|_| ClockError::AlreadySet)?;
    Ok(offset)
}

fn parse(value: &str) -> Result<SignedDuration, ClockError> {
    let failed = |reason: String| ClockError::Offset {
        value: value.to_string(),
        reason,
    };
    let trimmed = value.trim();
    let (negative, text) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let span: jiff::Span = text.parse().map_err(|e: jiff::Error| failed(e.to_string()))?;
    // Days as 24 hours: an offset is moved along the timeline, not the calendar.
    let duration = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| failed(e.to_string()))?;
    Ok(if negative { -duration } else { duration })
}

/// The offset in force (zero unless set).
fn offset() -> SignedDuration {
    OFFSET.get().copied().unwrap_or(SignedDuration::ZERO)
}

/// Now, as the daemon and the commands see it.
pub fn now() -> Timestamp {
    let offset = offset();
    if offset.is_zero() {
        return Timestamp::now();
    }
    // Past the end of jiff's range (some 10,000 years on), the system's time.
    Timestamp::now()
        .checked_add(offset)
        .unwrap_or_else(|_| Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_durations_either_way() {
        assert_eq!(parse("2h").unwrap(), SignedDuration::from_hours(2));
        assert_eq!(parse("-30m").unwrap(), -SignedDuration::from_mins(30));
        assert_eq!(parse("+1 day").unwrap(), SignedDuration::from_hours(24));
        assert_eq!(parse("90s").unwrap(), SignedDuration::from_secs(90));
        let error = parse("soon").unwrap_err().to_string();
        assert!(error.contains("NEWSWATCH_CLOCK_OFFSET=\"soon\""), "{error}");
    }
}
