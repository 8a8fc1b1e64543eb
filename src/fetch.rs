//! HTTP fetching: one shared client (rustls, gzip/brotli/deflate), a total time limit per request,
//! and a cap on the body enforced while it streams in, after decompression.

use std::time::Duration;

use url::Url;

use crate::config::Fetch as FetchConfig;

/// A document as the server sent it.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it was finally fetched from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {}", crate::config::format_duration(*.0))]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("HTTP {status}{}", reason.map(|r| format!(" {r}")).unwrap_or_default())]
    Status { status: u16, reason: Option<&'static str> },
    #[error("response larger than the {0}-byte limit (fetch.max_body)")]
    TooLarge(u64),
    #[error("too many redirects")]
    Redirects,
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
}

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, ClientError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            // Covers connecting, headers and the whole body, so a server that drips bytes is cut off.
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Fetcher {
            client,
            timeout: config.timeout,
            max_body: config.max_body,
        })
    }

    pub async fn get(&self, url: &Url) -> Result<Document, FetchError> {
        let mut response = self
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            )
            .send()
            .await
            .map_err(|e| self.classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                reason: status.canonical_reason(),
            });
        }
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge(self.max_body));
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(&e))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Document {
            url: final_url,
            content_type,
            body,
        })
    }

    /// reqwest's messages nest the cause several errors deep; say the cause in one line.
    fn classify(&self, e: &reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout);
        }
        if e.is_redirect() {
            return FetchError::Redirects;
        }
        let cause = root_cause(e);
        if e.is_connect() {
            FetchError::Connect(cause)
        } else {
            FetchError::Other(cause)
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
