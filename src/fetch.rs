//! HTTP fetching that survives the real web and stays polite to it.
//!
//! - One shared client (rustls, gzip/brotli/deflate); a total time limit per request, so a server
//!   that drips one byte a second is cut off; a body cap enforced while streaming, after
//!   decompression, so a gzip bomb stops at the cap.
//! - Conditional GET (`If-None-Match`, `If-Modified-Since`): an unchanged feed costs a 304.
//! - A global bound on requests in flight, a per-host bound, and a minimum delay between two
//!   requests to one host, shared by every fetch.
//! - Redirects are followed by hand (at most [`MAX_REDIRECTS`], loops detected, http(s) only), so
//!   that every hop passes the address check and a permanent move can be reported.
//! - Addresses: unless allowed, a fetch never connects to a loopback, private, link-local or
//!   metadata address. The check runs on the addresses DNS returned, i.e. those actually
//!   connected to, so DNS rebinding cannot slip past it.
//! - robots.txt ([`Fetcher::get_page`]) for pages and articles, cached per host for a day.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::Fetch as FetchConfig;

pub const MAX_REDIRECTS: usize = 10;
/// Longest Retry-After honoured: a server asking for a week gets a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
const ROBOTS_MAX_BYTES: u64 = 512 * 1024;

/// Which addresses a fetch may connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anything: the source itself lives on a private address, or `fetch.allow_private` is set.
    Any,
    /// Public addresses only.
    PublicOnly,
}

/// Validators from the last fetch, for a conditional GET.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A document as the server sent it.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it was finally fetched from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub validators: Validators,
    /// Set when every redirect on the way was permanent (301/308): the URL to use from now on.
    pub moved_to: Option<Url>,
}

#[derive(Debug, Clone)]
pub enum Fetched {
    /// 304: nothing changed since the validators were issued.
    NotModified,
    Document(Box<Document>),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {}", crate::timefmt::format_duration(*.0))]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP {status}{}", reason.map(|r| format!(" {r}")).unwrap_or_default())]
    Status { status: u16, reason: Option<&'static str> },
    #[error("HTTP {status} {}{}", if *.status == 429 { "Too Many Requests" } else { "Service Unavailable" },
        retry_after.map(|d| format!(" (Retry-After {})", crate::timefmt::format_duration(d))).unwrap_or_default())]
    RateLimited { status: u16, retry_after: Option<Duration> },
    #[error("HTTP 410 Gone: the source was removed by its publisher")]
    Gone,
    #[error("response larger than the {0}-byte limit (fetch.max_body)")]
    TooLarge(u64),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("bad redirect: {0}")]
    BadRedirect(String),
    #[error("refused to connect to {0}: not a public address (set fetch.allow_private = true to allow)")]
    Blocked(String),
    #[error("robots.txt of {0} disallows it")]
    RobotsDisallowed(String),
    #[error("robots.txt of {host} unavailable ({reason}); will try later")]
    RobotsUnavailable { host: String, reason: String },
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// Whether the failure happened before any HTTP exchange: a sign that our own network may be
    /// down rather than the source broken.
    pub fn is_connection_level(&self) -> bool {
        matches!(self, FetchError::Connect(_))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

/// A request's places under the global and the per-host bound.
type Slots<'a> = (tokio::sync::SemaphorePermit<'a>, tokio::sync::OwnedSemaphorePermit);

/// Spacing and bounding of requests to one host.
struct HostGate {
    permits: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<Instant>,
}

struct RobotsEntry {
    fetched: Instant,
    /// `None`: everything allowed (no robots.txt, or a 4xx).
    rules: Option<texting_robots::Robot>,
}

pub struct Fetcher {
    /// Connects anywhere.
    open: reqwest::Client,
    /// Connects to public addresses only.
    public: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    per_host: usize,
    host_delay: Duration,
    user_agent: String,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: tokio::sync::Mutex<HashMap<String, RobotsEntry>>,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, ClientError> {
        let build = |public_only: bool| {
            let mut b = reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                // Covers connecting, headers and the whole body.
                .timeout(config.timeout)
                .connect_timeout(config.timeout.min(Duration::from_secs(10)))
                .redirect(reqwest::redirect::Policy::none())
                // System proxy settings are applied below, with loopback always excluded.
                .no_proxy();
            if public_only {
                b = b.dns_resolver(PublicResolver);
            }
            for proxy in proxies(config.proxy.as_ref())? {
                b = b.proxy(proxy);
            }
            b.build().map_err(|e| ClientError(root_cause(&e)))
        };
        Ok(Fetcher {
            open: build(false)?,
            public: build(true)?,
            timeout: config.timeout,
            max_body: config.max_body,
            per_host: config.per_host,
            host_delay: config.host_delay,
            user_agent: config.user_agent.clone(),
            global: Arc::new(Semaphore::new(config.concurrency)),
            hosts: Mutex::new(HashMap::new()),
            robots: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Fetches a feed. `validators` make it a conditional GET.
    pub async fn get(&self, url: &Url, validators: &Validators, reach: Reach) -> Result<Fetched, FetchError> {
        self.fetch(url, validators, reach).await
    }

    /// Fetches a page or an article, if its site's robots.txt allows.
    pub async fn get_page(&self, url: &Url, reach: Reach) -> Result<Fetched, FetchError> {
        self.check_robots(url, reach).await?;
        self.fetch(url, &Validators::default(), reach).await
    }

    async fn fetch(&self, url: &Url, validators: &Validators, reach: Reach) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut seen: HashSet<Url> = HashSet::from([current.clone()]);
        let mut all_permanent = true;
        for hop in 0..=MAX_REDIRECTS {
            check_target(&current, reach)?;
            // The slots are held until the body is read: bounds count transfers, not headers.
            let (response, _slots) = self.send(&current, validators, reach).await?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::BadRedirect(format!("HTTP {} without a Location", status.as_u16())))?;
                let next = current
                    .join(location.trim())
                    .map_err(|e| FetchError::BadRedirect(format!("invalid Location {location:?}: {e}")))?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::BadRedirect(format!("to a {}: URL", next.scheme())));
                }
                if !seen.insert(next.clone()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                if hop == MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects);
                }
                all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
                current = next;
                continue;
            }
            let moved_to = (all_permanent && current != *url).then(|| current.clone());
            return self.finish(response, current, moved_to).await;
        }
        Err(FetchError::TooManyRedirects)
    }

    async fn send(
        &self,
        url: &Url,
        validators: &Validators,
        reach: Reach,
    ) -> Result<(reqwest::Response, Slots<'_>), FetchError> {
        let global = self
            .global
            .acquire()
            .await
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let host = self.enter_host(url).await;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            ),
        );
        if let Some(v) = validators.etag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let client = match reach {
            Reach::Any => &self.open,
            Reach::PublicOnly => &self.public,
        };
        let response = client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.classify(&e))?;
        Ok((response, (global, host)))
    }

    async fn finish(
        &self,
        mut response: reqwest::Response,
        url: Url,
        moved_to: Option<Url>,
    ) -> Result<Fetched, FetchError> {
        let status = response.status();
        match status.as_u16() {
            304 => return Ok(Fetched::NotModified),
            410 => return Err(FetchError::Gone),
            429 | 503 => {
                return Err(FetchError::RateLimited {
                    status: status.as_u16(),
                    retry_after: response
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now())),
                });
            }
            s if !(200..300).contains(&s) => {
                return Err(FetchError::Status {
                    status: s,
                    reason: status.canonical_reason(),
                });
            }
            _ => {}
        }
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge(self.max_body));
        }
        let text_header = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text_header(header::CONTENT_TYPE);
        let validators = Validators {
            etag: text_header(header::ETAG),
            last_modified: text_header(header::LAST_MODIFIED),
        };
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Document(Box::new(Document {
            url,
            content_type,
            body,
            validators,
            moved_to,
        })))
    }

    /// Waits for a slot at `url`'s host: at most `per_host` requests at once, and at least
    /// `host_delay` between the starts of two.
    async fn enter_host(&self, url: &Url) -> tokio::sync::OwnedSemaphorePermit {
        let host = host_key(url);
        let gate = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(hosts.entry(host).or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Arc::new(Semaphore::new(self.per_host)),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                })
            }))
        };
        let permit = Arc::clone(&gate.permits)
            .acquire_owned()
            .await
            .expect("host semaphore is never closed");
        let mut next = gate.next_start.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until((*next).into()).await;
        }
        *next = Instant::now() + self.host_delay;
        permit
    }

    async fn check_robots(&self, url: &Url, reach: Reach) -> Result<(), FetchError> {
        let host = host_key(url);
        let cached = {
            let cache = self.robots.lock().await;
            cache
                .get(&host)
                .filter(|e| e.fetched.elapsed() < ROBOTS_TTL)
                .map(|e| e.rules.as_ref().is_none_or(|r| r.allowed(url.as_str())))
        };
        let allowed = match cached {
            Some(allowed) => allowed,
            None => {
                // Fetched without holding the cache, so one slow site cannot stall the others.
                let rules = self.fetch_robots(url, reach).await?;
                let allowed = rules.as_ref().is_none_or(|r| r.allowed(url.as_str()));
                self.robots.lock().await.insert(
                    host.clone(),
                    RobotsEntry {
                        fetched: Instant::now(),
                        rules,
                    },
                );
                allowed
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(FetchError::RobotsDisallowed(host))
        }
    }

    /// RFC 9309: a 4xx means no rules; a 5xx or no answer means "not now".
    async fn fetch_robots(&self, url: &Url, reach: Reach) -> Result<Option<texting_robots::Robot>, FetchError> {
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let unavailable = |reason: String| FetchError::RobotsUnavailable {
            host: host_key(url),
            reason,
        };
        match Box::pin(self.fetch(&robots_url, &Validators::default(), reach)).await {
            Ok(Fetched::Document(mut doc)) => {
                // Google reads the first 500 KiB; so do we.
                doc.body.truncate(ROBOTS_MAX_BYTES as usize);
                Ok(texting_robots::Robot::new(robot_name(&self.user_agent), &doc.body).ok())
            }
            Ok(Fetched::NotModified) => Ok(None),
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => Ok(None),
            Err(FetchError::Gone) => Ok(None),
            Err(FetchError::RateLimited { status: 429, .. }) => Ok(None),
            Err(e) => Err(unavailable(e.to_string())),
        }
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        if let Some(blocked) = find_blocked(e) {
            return FetchError::Blocked(blocked);
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        let cause = root_cause(e);
        if e.is_connect() {
            FetchError::Connect(cause)
        } else {
            FetchError::Other(cause)
        }
    }
}

/// The product token robots.txt groups are matched against: `newswatch` from `newswatch/0.1 (+...)`.
fn robot_name(user_agent: &str) -> &str {
    user_agent
        .split(['/', ' '])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("newswatch")
}

/// Hosts are rate-limited and spaced by name and port.
pub fn host_key(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

/// Only http(s), and with [`Reach::PublicOnly`] no literal non-public IP address.
fn check_target(url: &Url, reach: Reach) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadRedirect(format!("to a {}: URL", url.scheme())));
    }
    if reach == Reach::PublicOnly {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = ip.filter(|ip| !is_public(*ip)) {
            return Err(FetchError::Blocked(ip.to_string()));
        }
    }
    Ok(())
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, ULA),
/// link-local (which holds cloud metadata services), shared (CGNAT), multicast, documentation or
/// unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // 100.64.0.0/10 shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 protocol assignments
                || (o[0] == 198 && (18..20).contains(&o[1])) // 198.18.0.0/15 benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local, fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

/// Whether a source at `url` lives on a non-public address (then its fetches may go there).
pub async fn is_private_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((name, port)).await {
                Ok(addrs) => addrs.into_iter().any(|a| !is_public(a.ip())),
                Err(_) => false,
            }
        }
        None => false,
    }
}

/// Resolves names with the system resolver and drops every non-public address, so that a
/// public-only fetch cannot connect to one, whatever DNS says (also on redirects).
struct PublicResolver;

#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to non-public addresses ({addrs})")]
struct BlockedAddress {
    name: String,
    addrs: String,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !all.is_empty() {
                let addrs = all.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Box::new(BlockedAddress { name, addrs }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn find_blocked(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(b) = err.downcast_ref::<BlockedAddress>() {
            return Some(format!("{} ({})", b.name, b.addrs));
        }
        cur = err.source();
    }
    None
}

/// `fetch.proxy` if set, else the usual environment variables; loopback never goes through a proxy.
fn proxies(configured: Option<&Url>) -> Result<Vec<reqwest::Proxy>, ClientError> {
    let env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let no_proxy = |extra: Option<String>| {
        let mut list = String::from("localhost,127.0.0.1,::1,127.0.0.0/8");
        if let Some(extra) = extra {
            list.push(',');
            list.push_str(&extra);
        }
        reqwest::NoProxy::from_string(&list)
    };
    let err = |e: reqwest::Error| ClientError(format!("invalid proxy: {e}"));
    if let Some(url) = configured {
        return Ok(vec![
            reqwest::Proxy::all(url.as_str()).map_err(err)?.no_proxy(no_proxy(None)),
        ]);
    }
    let skip = env(&["NO_PROXY", "no_proxy"]);
    let mut out = Vec::new();
    if let Some(p) = env(&["HTTPS_PROXY", "https_proxy"]) {
        out.push(reqwest::Proxy::https(p).map_err(err)?.no_proxy(no_proxy(skip.clone())));
    }
    if let Some(p) = env(&["HTTP_PROXY", "http_proxy"]) {
        out.push(reqwest::Proxy::http(p).map_err(err)?.no_proxy(no_proxy(skip.clone())));
    }
    if let Some(p) = env(&["ALL_PROXY", "all_proxy"]) {
        out.push(reqwest::Proxy::all(p).map_err(err)?.no_proxy(no_proxy(skip)));
    }
    Ok(out)
}

/// `Retry-After`: seconds, or an HTTP date; capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
        Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// reqwest's messages nest the cause several errors deep; say the cause in one line.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    crate::text::one_line(&last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is not public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
    }

    #[test]
    fn literal_private_targets_are_refused_when_public_only() {
        let meta = Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
        assert!(matches!(
            check_target(&meta, Reach::PublicOnly),
            Err(FetchError::Blocked(_))
        ));
        assert!(check_target(&meta, Reach::Any).is_ok());
        let v6 = Url::parse("http://[::1]:8080/").unwrap();
        assert!(matches!(
            check_target(&v6, Reach::PublicOnly),
            Err(FetchError::Blocked(_))
        ));
        let file = Url::parse("file:///etc/passwd").unwrap();
        assert!(check_target(&file, Reach::Any).is_err());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_capped_at_a_day() {
        let now: jiff::Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 12:10:00 GMT", now),
            Some(Duration::from_secs(600))
        );
        assert_eq!(parse_retry_after("9999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn robots_product_token() {
        assert_eq!(robot_name("newswatch/0.1.0 (+https://x)"), "newswatch");
        assert_eq!(robot_name("MyBot"), "MyBot");
    }
}
