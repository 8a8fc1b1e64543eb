//! `newswatch explain`: how a topic reads and whether a text matches it, term by term. The text
//! is a file (plain text, first line as title, or HTML, extracted) or an article fetched from a
//! URL the way a full-text poll fetches it, so what explain shows is what a poll would see.
//!
//! Uses the config, fetch, extract, the matcher and poll's article fetcher; never the store.

use std::path::PathBuf;

use crate::config::Config;
use crate::fetch::{self, Fetcher};
use crate::matcher::{Explanation, Matcher};
use crate::model::Entry;
use crate::{extract, poll, text};

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("no topic named {name:?}; the topics are: {known}")]
    UnknownTopic { name: String, known: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid URL {0}")]
    Url(String),
    #[error("{url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error(transparent)]
    Setup(#[from] crate::app::SetupError),
    #[error("reading the input failed: {0}")]
    Task(String),
}

/// What explain found.
#[derive(Debug)]
pub struct Explained {
    /// The input as matched: its title and text.
    pub entry: Entry,
    /// How the input was read: "fetched and extracted", "HTML file, extracted", ...
    pub read_as: &'static str,
    pub explanation: Explanation,
}

pub async fn explain(config: &Config, topic: &str, input: &str) -> Result<Explained, ExplainError> {
    if !config.topics.iter().any(|t| t.name == topic) {
        let known: Vec<&str> = config.topics.iter().map(|t| t.name.as_str()).collect();
        return Err(ExplainError::UnknownTopic {
            name: topic.to_string(),
            known: known.join(", "),
        });
    }
    let (entry, read_as) = if input.starts_with("http://") || input.starts_with("https://") {
        (fetched(config, input).await?, "fetched and extracted")
    } else {
        let path = PathBuf::from(input);
        // Reading and parsing a file of any size is blocking work.
        tokio::task::spawn_blocking(move || from_file(path))
            .await
            .map_err(|e| ExplainError::Task(e.to_string()))??
    };
    let matcher = Matcher::new(&config.topics).map_err(crate::app::SetupError::from)?;
    let explanation = matcher
        .explain(topic, &config.topics, &entry)
        .expect("the topic exists: checked above");
    Ok(Explained {
        entry,
        read_as,
        explanation,
    })
}

async fn fetched(config: &Config, input: &str) -> Result<Entry, ExplainError> {
    let url = url::Url::parse(input).map_err(|e| ExplainError::Url(format!("{input}: {e}")))?;
    let fetcher = Fetcher::new(&config.fetch).map_err(crate::app::SetupError::from)?;
    let scope = fetch::Scope::for_url(&url, config.fetch.allow_private);
    let article = poll::fetch_article(&fetcher, &url, &scope)
        .await
        .map_err(|reason| ExplainError::Fetch {
            url: url.to_string(),
            reason,
        })?;
    Ok(entry(article.title, article.text, Some(url.to_string())))
}

fn from_file(path: PathBuf) -> Result<(Entry, &'static str), ExplainError> {
    let bytes = std::fs::read(&path).map_err(|source| ExplainError::Read {
        path: path.clone(),
        source,
    })?;
    let content = text::decode(&bytes, None, text::Markup::Html).text;
    let name = path.to_string_lossy();
    let html = name.ends_with(".html") || name.ends_with(".htm") || content.trim_start().starts_with('<');
    if html {
        let article = extract::extract(&content);
        return Ok((entry(article.title, article.text, None), "HTML file, extracted"));
    }
    // A text file: its first line is the title.
    let (title, body) = content.split_once('\n').unwrap_or((&content, ""));
    Ok((
        entry(title.trim().to_string(), text::one_line(body), None),
        "text file, first line as title",
    ))
}

fn entry(title: String, body: String, link: Option<String>) -> Entry {
    Entry {
        guid: String::new(),
        link,
        title,
        body,
        published: None,
    }
}
