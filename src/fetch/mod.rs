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
//! - robots.txt ([`Fetcher::get_page`]) for pages and articles, cached per host for a day
//!   (`robots.rs`).
//! - Proxies: `fetch.proxy`, else the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//!   `NO_PROXY`, read by reqwest). Requests to this machine never go through one.
//!
//! Knows nothing of sources, feeds or the store: URL in, bytes or a typed error out.

mod address;
mod descriptors;
mod robots;
mod scope;
mod special;

pub use address::{Reach, is_public, reach_for};
pub use descriptors::raise_limit as raise_descriptor_limit;
pub use scope::Scope;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::Fetch as FetchConfig;

pub const MAX_REDIRECTS: usize = 10;
/// Longest Retry-After honoured: a server asking for a week gets a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

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
    /// The `Content-Location` header: where the document says it lives.
    pub content_location: Option<String>,
}

impl Document {
    /// What relative links in the document resolve against: its `Content-Location` (itself
    /// resolved against the URL it came from), else that URL.
    pub fn base(&self) -> Url {
        self.content_location
            .as_deref()
            .and_then(|location| self.url.join(location.trim()).ok())
            .filter(|base| matches!(base.scheme(), "http" | "https"))
            .unwrap_or_else(|| self.url.clone())
    }
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
    /// Our process, not the source: every descriptor it may open is in use.
    #[error(
        "too many open files: {open} of the {limit} descriptors newswatch may open are in use ({detail}); \
         raise the limit (LimitNOFILE in the systemd unit) or find what holds them"
    )]
    Descriptors { open: u64, limit: u64, detail: String },
}

impl FetchError {
    /// Whether the failure happened before any HTTP exchange: a sign that our own network may be
    /// down rather than the source broken.
    pub fn is_connection_level(&self) -> bool {
        matches!(self, FetchError::Connect(_))
    }

    /// `self`, or what it really is when the process is out of descriptors.
    fn or_out_of_descriptors(self) -> FetchError {
        match (&self, descriptors::exhausted()) {
            (FetchError::Connect(_) | FetchError::Other(_), Some((open, limit))) => FetchError::Descriptors {
                open,
                limit,
                detail: self.to_string(),
            },
            _ => self,
        }
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

pub struct Fetcher {
    /// Connects to public addresses only, through the proxy if there is one. Built on first
    /// use, like the others: each client loads the system's root certificates (3 ms), and most
    /// setups need one of the three, a config of local sources none of this one.
    public: OnceLock<reqwest::Client>,
    /// Connects anywhere, through the proxy if there is one.
    open: OnceLock<reqwest::Client>,
    /// Connects anywhere, never through a proxy: for this machine's own addresses.
    direct: OnceLock<reqwest::Client>,
    clients: ClientSettings,
    timeout: Duration,
    max_body: u64,
    per_host: usize,
    host_delay: Duration,
    user_agent: String,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: tokio::sync::Mutex<HashMap<String, robots::RobotsEntry>>,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, ClientError> {
        let clients = ClientSettings {
            user_agent: config.user_agent.clone(),
            timeout: config.timeout,
            proxy: config.proxy.clone(),
        };
        // Checked now, so that a proxy reqwest refuses is an error at start, not at first use.
        if let Some(url) = &clients.proxy {
            proxy(url)?;
        }
        Ok(Fetcher {
            public: OnceLock::new(),
            open: OnceLock::new(),
            direct: OnceLock::new(),
            clients,
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
    pub async fn get(&self, url: &Url, validators: &Validators, scope: &Scope) -> Result<Fetched, FetchError> {
        self.fetch(url, validators, scope).await
    }

    /// Fetches a page or an article, if its site's robots.txt allows.
    pub async fn get_page(&self, url: &Url, scope: &Scope) -> Result<Fetched, FetchError> {
        self.check_robots(url, scope).await?;
        self.fetch(url, &Validators::default(), scope).await
    }

    async fn fetch(&self, url: &Url, validators: &Validators, scope: &Scope) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut seen: HashSet<Url> = HashSet::from([current.clone()]);
        let mut all_permanent = true;
        for hop in 0..=MAX_REDIRECTS {
            address::check_target(&current, scope.reach())?;
            // The slots are held until the body is read: bounds count transfers, not headers.
            let (response, _slots) = self.send(&current, validators, scope).await?;
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
        scope: &Scope,
    ) -> Result<(reqwest::Response, Slots<'_>), FetchError> {
        // The host's slot first: a request waiting for a slow host must not hold a global slot
        // that a request to another host could use.
        let host = self.enter_host(url).await;
        let global = self
            .global
            .acquire()
            .await
            .map_err(|e| FetchError::Other(e.to_string()))?;
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
        let client = match scope.reach() {
            Reach::PublicOnly => self.lazy(&self.public, true, true)?,
            Reach::Any if address::is_loopback(url) => self.lazy(&self.direct, false, false)?,
            Reach::Any => self.lazy(&self.open, false, true)?,
        };
        let response = scope
            .apply(url, client.get(url.clone()).headers(headers))
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
                        .and_then(|v| parse_retry_after(v, crate::clock::now())),
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
        let content_location = text_header(header::CONTENT_LOCATION);
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
            content_location,
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

    fn lazy<'s>(
        &'s self,
        cell: &'s OnceLock<reqwest::Client>,
        public_only: bool,
        proxied: bool,
    ) -> Result<&'s reqwest::Client, FetchError> {
        if let Some(client) = cell.get() {
            return Ok(client);
        }
        let client = self
            .clients
            .build(public_only, proxied)
            .map_err(|e| FetchError::Other(e.0).or_out_of_descriptors())?;
        Ok(cell.get_or_init(|| client))
    }

    fn classify(&self, e: &reqwest::Error) -> FetchError {
        if let Some(blocked) = address::find_blocked(e) {
            return FetchError::Blocked(blocked);
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        let cause = root_cause(e);
        let error = match e.is_connect() {
            true => FetchError::Connect(cause),
            false => FetchError::Other(cause),
        };
        error.or_out_of_descriptors()
    }
}

/// What every HTTP client is built with.
struct ClientSettings {
    user_agent: String,
    timeout: Duration,
    proxy: Option<Url>,
}

impl ClientSettings {
    fn build(&self, public_only: bool, proxied: bool) -> Result<reqwest::Client, ClientError> {
        let mut b = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            // Covers connecting, headers and the whole body.
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none());
        if public_only {
            b = b.dns_resolver(address::PublicResolver);
        }
        // Without a configured proxy, reqwest applies the environment's (system-proxy). It has
        // no exemption for loopback, hence a client without proxies for it.
        match (&self.proxy, proxied) {
            (_, false) => b = b.no_proxy(),
            (Some(url), true) => b = b.proxy(proxy(url)?),
            (None, true) => {}
        }
        b.build().map_err(|e| ClientError(root_cause(&e)))
    }
}

fn proxy(url: &Url) -> Result<reqwest::Proxy, ClientError> {
    reqwest::Proxy::all(url.as_str()).map_err(|e| ClientError(format!("invalid proxy {url}: {}", root_cause(&e))))
}

pub use crate::model::host_key;

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
}

#[cfg(test)]
mod slot_tests {
    //! The order in which a request takes its places, with real servers on 127.0.0.1.

    use std::sync::Arc;

    use axum::Router;
    use axum::routing::get;
    use tokio::sync::Notify;

    use super::*;

    async fn serve(router: Router) -> (Url, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        (
            url,
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() }),
        )
    }

    /// Two requests wait on a slow host (one slot per host) while a request to another host
    /// comes: it must not find every global slot taken by the one waiting for the slow host.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_waiting_for_its_host_holds_no_global_slot() {
        // Opened (for good) when the fast host is reached.
        let fast_reached = Arc::new(Semaphore::new(0));
        let slow_arrived = Arc::new(Notify::new());
        let (gate, arrived) = (Arc::clone(&fast_reached), Arc::clone(&slow_arrived));
        // The slow host answers only once the fast host has been reached.
        let (slow, slow_task) = serve(Router::new().route(
            "/",
            get(move || {
                let (gate, arrived) = (Arc::clone(&gate), Arc::clone(&arrived));
                async move {
                    arrived.notify_one();
                    let _ = gate.acquire().await;
                    "slow"
                }
            }),
        ))
        .await;
        let opener = Arc::clone(&fast_reached);
        let (fast, fast_task) = serve(Router::new().route(
            "/",
            get(move || {
                opener.add_permits(Semaphore::MAX_PERMITS / 2);
                async { "fast" }
            }),
        ))
        .await;
        let config = FetchConfig {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            max_age: Duration::from_secs(60),
            user_agent: "test".into(),
            concurrency: 2,
            max_body: 1 << 20,
            per_host: 1,
            host_delay: Duration::ZERO,
            max_entries: 10,
            proxy: None,
            allow_private: true,
        };
        let fetcher = Arc::new(Fetcher::new(&config).unwrap());
        let scope = Scope::for_url(&slow, true);
        let get = |url: Url| {
            let (fetcher, scope) = (Arc::clone(&fetcher), scope.clone());
            tokio::spawn(async move { fetcher.get(&url, &Validators::default(), &scope).await })
        };
        let first = get(slow.clone());
        slow_arrived.notified().await;
        let second = get(slow.clone());
        // Let the second request queue for the slow host's slot.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let third = get(fast);
        for (name, task) in [("fast", third), ("slow", first), ("slow again", second)] {
            let result = task.await.unwrap();
            assert!(matches!(result, Ok(Fetched::Document(_))), "{name}: {result:?}");
        }
        slow_task.abort();
        fast_task.abort();
    }
}
