//! robots.txt (RFC 9309) for pages and articles: fetched once per host a day, obeyed for our
//! product token. Feeds are meant to be polled and are not checked.

use std::time::{Duration, Instant};

use url::Url;

use super::{FetchError, Fetched, Fetcher, Scope, Validators, host_key};

const ROBOTS_TTL: Duration = Duration::from_secs(24 * 3600);
/// Google reads the first 500 KiB; so do we.
const ROBOTS_MAX_BYTES: usize = 512 * 1024;

pub(super) struct RobotsEntry {
    fetched: Instant,
    /// `None`: everything allowed (no robots.txt, or a 4xx).
    rules: Option<texting_robots::Robot>,
}

impl Fetcher {
    pub(super) async fn check_robots(&self, url: &Url, scope: &Scope) -> Result<(), FetchError> {
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
                let rules = self.fetch_robots(url, scope).await?;
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
    async fn fetch_robots(&self, url: &Url, scope: &Scope) -> Result<Option<texting_robots::Robot>, FetchError> {
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let unavailable = |reason: String| FetchError::RobotsUnavailable {
            host: host_key(url),
            reason,
        };
        match Box::pin(self.fetch(&robots_url, &Validators::default(), scope)).await {
            Ok(Fetched::Document(mut doc)) => {
                doc.body.truncate(ROBOTS_MAX_BYTES);
                Ok(texting_robots::Robot::new(robot_name(&self.user_agent), &doc.body).ok())
            }
            Ok(Fetched::NotModified) => Ok(None),
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => Ok(None),
            Err(FetchError::Gone) => Ok(None),
            Err(FetchError::RateLimited { status: 429, .. }) => Ok(None),
            Err(e) => Err(unavailable(e.to_string())),
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

#[cfg(test)]
mod tests {
    #[test]
    fn robots_product_token() {
        assert_eq!(super::robot_name("newswatch/0.1.0 (+https://x)"), "newswatch");
        assert_eq!(super::robot_name("MyBot"), "MyBot");
    }
}
