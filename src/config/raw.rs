//! The config file as written: serde types that mirror the TOML, with values that can be
//! checked on their own (durations, sizes, times, zones, addresses, URLs) checked while
//! deserialising, so that a bad one is reported with its line and column.
//!
//! Nothing outside `config/` sees these types.

use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::Time;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use serde::{Deserialize, Deserializer};
use url::Url;

use super::values::{AlertMode, SourceKind, TlsMode, TransportKind};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) storage: RawStorage,
    #[serde(default)]
    pub(super) fetch: RawFetch,
    #[serde(default)]
    pub(super) dedup: RawDedup,
    #[serde(default)]
    pub(super) digest: RawDigest,
    #[serde(default)]
    pub(super) email: RawEmail,
    #[serde(default)]
    pub(super) http: RawHttp,
    #[serde(default)]
    pub(super) webhook: RawWebhook,
    #[serde(default)]
    pub(super) topic: Vec<RawTopic>,
    #[serde(default)]
    pub(super) source: Vec<RawSource>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) database: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) password_env: Option<String>,
    /// A duration, or "forever".
    pub(super) keep: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub(super) interval: Option<ConfigDuration>,
    pub(super) timeout: Option<ConfigDuration>,
    pub(super) max_age: Option<ConfigDuration>,
    pub(super) user_agent: Option<String>,
    pub(super) contact: Option<String>,
    pub(super) concurrency: Option<usize>,
    pub(super) max_body: Option<ByteSize>,
    pub(super) per_host: Option<usize>,
    pub(super) host_delay: Option<ConfigDelay>,
    pub(super) max_entries: Option<usize>,
    pub(super) proxy: Option<ProxyUrl>,
    pub(super) allow_private: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    pub(super) window: Option<ConfigDuration>,
    pub(super) rewrites: Option<bool>,
    pub(super) certainty: Option<f64>,
    /// The key of versions before `rewrites` and `certainty`: 1 folded copies only.
    pub(super) similarity: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) at: Option<Vec<ClockTime>>,
    pub(super) timezone: Option<ZoneName>,
    pub(super) send_empty: Option<bool>,
    pub(super) max_stories: Option<usize>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) days: Option<Vec<DayName>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmail {
    pub(super) transport: Option<TransportKind>,
    pub(super) from: Option<Address>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) to: Option<Vec<Address>>,
    pub(super) dir: Option<PathBuf>,
    pub(super) smtp_host: Option<String>,
    pub(super) smtp_port: Option<u16>,
    pub(super) tls: Option<TlsMode>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) username: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    pub(super) timeout: Option<ConfigDuration>,
    pub(super) retry: Option<ConfigDuration>,
    pub(super) retry_max: Option<ConfigDuration>,
    pub(super) retry_refused: Option<ConfigDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    pub(super) name: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) keywords: Option<Vec<String>>,
    pub(super) query: Option<toml::Spanned<String>>,
    pub(super) case_sensitive: Option<Vec<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) to: Option<Vec<Address>>,
    pub(super) alert: Option<AlertMode>,
    pub(super) webhook: Option<HttpUrl>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) url: Option<HttpUrl>,
    pub(super) timeout: Option<ConfigDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub(super) listen: Option<String>,
    pub(super) timeout: Option<ConfigDuration>,
    pub(super) token: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) token_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: String,
    pub(super) url: HttpUrl,
    pub(super) interval: Option<ConfigDuration>,
    pub(super) full_text: Option<bool>,
    pub(super) kind: Option<SourceKind>,
    pub(super) links: Option<String>,
    pub(super) category: Option<String>,
    pub(super) allow_private: Option<bool>,
    pub(super) user_agent: Option<String>,
    #[serde(default)]
    pub(super) headers: std::collections::BTreeMap<String, HeaderSpec>,
    pub(super) username: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
}

/// A header's value: written out, or kept out of the config (a token) in the environment or a
/// file.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum HeaderSpec {
    Value(String),
    Secret { env: Option<String>, file: Option<PathBuf> },
}

// Values checked while deserialising, so that a bad one is reported with its line and column.

/// A list, or one value written without the brackets (`at = "08:00"` for `at = ["08:00"]`):
/// what the writer meant is plain, and an error about "a sequence" would not say it.
fn one_or_many<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    use serde::de::{IntoDeserializer, SeqAccess, Visitor};
    struct OneOrMany<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a quoted value or a list of them, e.g. [\"08:00\", \"18:00\"]")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<T>, E> {
            T::deserialize(s.into_deserializer()).map(|one| vec![one])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut all = Vec::new();
            while let Some(one) = seq.next_element()? {
                all.push(one);
            }
            Ok(all)
        }
    }
    d.deserialize_any(OneOrMany(std::marker::PhantomData)).map(Some)
}

/// Text, or a number where text with a unit was meant (`interval = 30`).
#[derive(Deserialize)]
#[serde(untagged)]
enum DurationText {
    Text(String),
    Number(i64),
    Fraction(f64),
}

impl DurationText {
    fn text<E: serde::de::Error>(self) -> Result<String, E> {
        let number = match self {
            DurationText::Text(s) => return Ok(s),
            DurationText::Number(n) => n.to_string(),
            DurationText::Fraction(f) => f.to_string(),
        };
        Err(E::custom(format!(
            "a duration is quoted text with a unit: write \"{number}s\", \"{number}m\" or \"{number}h\", not {number}"
        )))
    }
}

/// `30s`, `15m`, `2h`, `7d` (a day is 24 hours), or combinations such as `1h30m`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfigDuration(pub(super) Duration);

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = DurationText::deserialize(d)?.text()?;
        parse_duration(&s).map(ConfigDuration).map_err(serde::de::Error::custom)
    }
}

/// Parses a duration as the config writes it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: write a number and a unit, e.g. \"30s\", \"15m\", \"2h\" or \"7d\"");
    let trimmed = s.trim();
    // jiff would read a bare number as an error anyway; a unit-less "30" is a common slip worth naming.
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let span: jiff::Span = trimmed.parse().map_err(|_| bad())?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("invalid duration {s:?}: use s, m, h or d (weeks, months and years vary in length)"))?;
    let d = Duration::try_from(signed).map_err(|_| format!("invalid duration {s:?}: must not be negative"))?;
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be longer than zero"));
    }
    Ok(d)
}

/// Like [`ConfigDuration`], but zero is allowed (`host_delay = "0s"` turns spacing off).
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfigDelay(pub(super) Duration);

impl<'de> Deserialize<'de> for ConfigDelay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = DurationText::deserialize(d)?.text()?;
        let t = s.trim();
        if t == "0" || t.parse::<jiff::Span>().is_ok_and(|span| span.is_zero()) {
            return Ok(ConfigDelay(Duration::ZERO));
        }
        parse_duration(&s).map(ConfigDelay).map_err(serde::de::Error::custom)
    }
}

/// A proxy URL: `http://`, `https://`, `socks5://` or `socks5h://`.
#[derive(Debug, Clone)]
pub(super) struct ProxyUrl(pub(super) Url);

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let url =
            Url::parse(s.trim()).map_err(|e| serde::de::Error::custom(format!("invalid proxy URL {s:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(serde::de::Error::custom(format!(
                "invalid proxy URL {s:?}: use http:// or https://"
            )));
        }
        Ok(ProxyUrl(url))
    }
}

/// `512KiB`, `10MiB`, `1GiB`, or a number of bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct ByteSize(pub(super) u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(s) => parse_size(&s).map(ByteSize).map_err(serde::de::Error::custom),
        }
    }
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: write e.g. \"512KiB\", \"10MiB\" or a number of bytes"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "kB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        other => {
            return Err(format!(
                "invalid size {s:?}: unknown unit {other:?} (use B, KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// `HH:MM` or `HH:MM:SS`, 24-hour clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClockTime(pub(super) Time);

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "invalid time {s:?}: write HH:MM or HH:MM:SS (24 h), e.g. \"08:00\""
            ))
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        if !(2..=3).contains(&parts.len())
            || parts
                .iter()
                .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad());
        }
        let num = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<i8>()).map_err(|_| bad());
        Time::new(num(0)?, num(1)?, num(2)?, 0)
            .map(ClockTime)
            .map_err(|_| bad())
    }
}

/// A day of the week: `mon` ... `sun`, or the full English name, in any case.
#[derive(Debug, Clone, Copy)]
pub(super) struct DayName(pub(super) jiff::civil::Weekday);

impl<'de> Deserialize<'de> for DayName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use jiff::civil::Weekday::*;
        let s = String::deserialize(d)?;
        let day = match s.trim().to_ascii_lowercase().as_str() {
            "mon" | "monday" => Monday,
            "tue" | "tuesday" => Tuesday,
            "wed" | "wednesday" => Wednesday,
            "thu" | "thursday" => Thursday,
            "fri" | "friday" => Friday,
            "sat" | "saturday" => Saturday,
            "sun" | "sunday" => Sunday,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "invalid day {s:?}: write mon, tue, wed, thu, fri, sat or sun"
                )));
            }
        };
        Ok(DayName(day))
    }
}

/// An IANA time zone name such as `Europe/Berlin` or `Asia/Tokyo`.
#[derive(Debug, Clone)]
pub(super) struct ZoneName(pub(super) String, pub(super) TimeZone);

impl<'de> Deserialize<'de> for ZoneName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let tz = TimeZone::get(&s).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {s:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\""
            ))
        })?;
        Ok(ZoneName(s, tz))
    }
}

/// A mail address, `name <user@host>` or `user@host`.
#[derive(Debug, Clone)]
pub(super) struct Address(pub(super) Mailbox);

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Mailbox>()
            .map(Address)
            .map_err(|e| serde::de::Error::custom(format!("invalid mail address {s:?}: {e}")))
    }
}

/// An absolute `http://` or `https://` URL.
#[derive(Debug, Clone)]
pub(super) struct HttpUrl(pub(super) Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let url = Url::parse(s.trim()).map_err(|e| serde::de::Error::custom(format!("invalid URL {s:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(serde::de::Error::custom(format!(
                "invalid URL {s:?}: only http:// and https:// URLs work here"
            )));
        }
        Ok(HttpUrl(url))
    }
}
