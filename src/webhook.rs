//! Webhooks: one story as a JSON document, and the POST that delivers it. Like `mail`, a
//! transport: what goes where, and when it is tried again, is `deliver`'s.
//!
//! The document carries the story's fields for scripts, and `text` (Slack, Mattermost) and
//! `content` (Discord) with a one-line summary, so that a chat's incoming-webhook URL shows
//! something readable as it is. Every attempt at one message sends the same bytes with the same
//! `Idempotency-Key`, so a receiver can drop a repeat after a lost answer.

use std::time::Duration;

use crate::model::Story;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("cannot build the HTTP client for webhooks: {0}")]
    Client(String),
    /// Connection refused, timed out, reset: try again later.
    #[error("POST {}: {reason}", redacted(.url))]
    Unreachable { url: String, reason: String },
    /// An answer that is not 2xx; `refused` when asking again will not help (4xx but 408/429).
    #[error("POST {}: the server answered {status}{}", redacted(.url), detail(.body))]
    Status {
        url: String,
        status: u16,
        refused: bool,
        body: String,
    },
}

/// A webhook's URL as logs and errors show it: scheme, host and port; the path and query of a
/// chat's incoming-webhook URL are its secret.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map_or(String::new(), |p| format!(":{p}"))
        ),
        Err(_) => "(a webhook)".to_string(),
    }
}

fn detail(body: &str) -> String {
    match body.is_empty() {
        true => String::new(),
        false => format!(": {body}"),
    }
}

impl WebhookError {
    /// Whether the receiver refused the message for good, rather than "not now".
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            WebhookError::Status { refused: true, .. } | WebhookError::Client(_)
        )
    }
}

/// The longest part of an error answer kept for the outbox's `last_error`.
const MAX_ERROR_BODY: usize = 200;

/// The JSON document posted for `story`, matched under `topic` (and the other topics named).
pub fn document(story: &Story, topic: &str, also_topics: &[String]) -> Vec<u8> {
    let line = match &story.link {
        Some(link) => format!("{topic}: {} {link}", story.title),
        None => format!("{topic}: {}", story.title),
    };
    let keywords: Vec<&String> = story.hits.iter().flat_map(|h| &h.keywords).collect();
    let doc = serde_json::json!({
        "id": story.id,
        "topic": topic,
        "also_topics": also_topics,
        "title": story.title,
        "link": story.link,
        "published": story.published,
        "first_seen": story.first_seen,
        "sources": story.sources,
        "also_reported_by": story.also.iter().map(|o| serde_json::json!({"source": o.source, "link": o.link})).collect::<Vec<_>>(),
        "keywords": keywords,
        "snippet": story.snippet.text,
        "text": line,
        "content": line,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// Posts documents; one client for all the webhooks of a send pass.
pub struct Poster {
    client: reqwest::Client,
}

impl Poster {
    pub fn new(timeout: Duration, user_agent: &str) -> Result<Poster, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would turn the POST into a GET: the URL is to be fixed instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Poster { client })
    }

    /// POSTs `body` to `url`; `Ok` with the answer's status once the receiver took it (2xx).
    pub async fn post(&self, url: &str, body: Vec<u8>, key: &str) -> Result<u16, WebhookError> {
        let unreachable = |e: reqwest::Error| WebhookError::Unreachable {
            url: url.to_string(),
            // reqwest names the URL, secret and all.
            reason: crate::text::error_chain(&e.without_url()),
        };
        let answer = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = answer.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let code = status.as_u16();
        let text = answer.text().await.unwrap_or_default();
        Err(WebhookError::Status {
            url: url.to_string(),
            status: code,
            refused: status.is_client_error() && code != 408 && code != 429 || status.is_redirection(),
            body: crate::text::one_line(crate::text::cut(&text, MAX_ERROR_BODY)),
        })
    }
}
