//! Webhooks: one story as a JSON document, and the POST that delivers it. Like `mail`, a
//! transport: what goes where, and when it is tried again, is `deliver`'s.
//!
//! The document carries the story's fields for scripts as the feed wrote them, and `text`
//! (Slack, Mattermost) and `content` (Discord) with a one-line summary, so that a chat's
//! incoming-webhook URL shows something readable as it is. Those two are written for a chat
//! that reads markup: a feed's title must not ping a channel (`@here`, `<!channel>`), mention
//! someone, or show one link's text over another's target, so each is escaped for its chat and
//! Discord is told to parse no mentions at all. A webhook's URL is shown by its origin only
//! (`text::url_origin`): the path of a chat's URL is its secret.
//!
//! Every attempt at one message sends the same bytes with the same `Idempotency-Key`, so a
//! receiver can drop a repeat after a lost answer.

use std::time::Duration;

use crate::model::Story;
use crate::text::url_origin;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("cannot build the HTTP client for webhooks: {0}")]
    Client(String),
    /// Connection refused, timed out, reset: try again later.
    #[error("POST {}: {reason}", url_origin(.url))]
    Unreachable { url: String, reason: String },
    /// An answer that is not 2xx; `refused` when asking again will not help (4xx but 408/429).
    #[error("POST {}: the server answered {status}{}", url_origin(.url), detail(.body))]
    Status {
        url: String,
        status: u16,
        refused: bool,
        body: String,
    },
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
/// The most of an error answer read at all: a receiver may answer with gigabytes.
const READ_ERROR_BODY: usize = 4 * 1024;

/// A zero-width space after every `@`: `@here`, `@everyone`, `@channel` and `@name` read the
/// same and ping no one, in any chat.
fn unmentioned(s: &str) -> String {
    s.replace('@', "@\u{200B}")
}

/// `s` for Slack's and Mattermost's `text`: `& < >` escaped as Slack asks, so `<!channel>`,
/// `<@U123>` and `<https://evil|https://bank>` are shown, not followed; mentions neutralised.
fn for_slack(s: &str) -> String {
    unmentioned(&s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
}

/// `s` for Discord's `content`: its markdown and mention characters escaped with a backslash
/// (shown as the character itself); mentions neutralised besides `allowed_mentions`.
fn for_discord(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '<' | '>' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    unmentioned(&out)
}

/// The JSON document posted for `story`, matched under `topic` (and the other topics named).
pub fn document(story: &Story, topic: &str, also_topics: &[String]) -> Vec<u8> {
    let title = crate::text::one_line(&story.title);
    let topic_line = crate::text::one_line(topic);
    // The link goes as it is (a chat links it); only http(s) reaches a story, without spaces.
    let (text, content) = match &story.link {
        Some(link) => (
            format!("{}: {} {}", for_slack(&topic_line), for_slack(&title), for_slack(link)),
            format!("{}: {} {link}", for_discord(&topic_line), for_discord(&title)),
        ),
        None => (
            format!("{}: {}", for_slack(&topic_line), for_slack(&title)),
            format!("{}: {}", for_discord(&topic_line), for_discord(&title)),
        ),
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
        "text": text,
        "content": content,
        "allowed_mentions": {"parse": []},
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The start of an error answer, read no further than [`READ_ERROR_BODY`].
async fn error_body(mut answer: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < READ_ERROR_BODY {
        match answer.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(READ_ERROR_BODY);
    String::from_utf8_lossy(&bytes).into_owned()
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
        let text = error_body(answer).await;
        Err(WebhookError::Status {
            url: url.to_string(),
            status: code,
            refused: status.is_client_error() && code != 408 && code != 429 || status.is_redirection(),
            body: crate::text::one_line(crate::text::cut(&text, MAX_ERROR_BODY)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_pings_no_one_and_shows_links_as_written() {
        let hostile = "@everyone <!channel> <@U123> <https://evil|https://bank> & [x](https://evil)";
        let slack = for_slack(hostile);
        assert_eq!(
            slack,
            "@\u{200B}everyone &lt;!channel&gt; &lt;@\u{200B}U123&gt; &lt;https://evil|https://bank&gt; &amp; [x](https://evil)"
        );
        let discord = for_discord(hostile);
        assert!(!discord.contains("@everyone") && !discord.contains("<@U"), "{discord}");
        assert!(discord.contains("\\[x\\]\\(https://evil\\)"), "{discord}");
    }
}
