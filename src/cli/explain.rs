//! `newswatch explain`: how a topic reads a text, term by term.

use super::Outcome;
use crate::config::Config;

pub(super) async fn explain(config: &Config, topic: &str, input: &str) -> anyhow::Result<Outcome> {
    let found = match crate::explain::explain(config, topic, input).await {
        Ok(found) => found,
        Err(e @ crate::explain::ExplainError::Setup(_)) => return Err(e.into()),
        Err(e) => return Ok(Outcome::Failure(e.to_string())),
    };
    let x = &found.explanation;
    out!("topic:   {}", x.topic);
    out!("read as: {}", x.reading);
    out!("input:   {input} ({})", found.read_as);
    out!("title:   {}", found.entry.title);
    out!("match:   {}", if x.matched { "yes" } else { "no" });
    let width = x.terms.iter().map(|t| t.term.chars().count() + 9).max().unwrap_or(0);
    for t in &x.terms {
        let label = format!(
            "{}{}{}",
            if t.negated { "NOT " } else { "" },
            if t.title_only { "intitle:" } else { "" },
            t.term
        );
        let place = if t.title_only {
            format!("title {}", t.in_title)
        } else {
            format!("title {}, text {}", t.in_title, t.in_text)
        };
        out!("  {label:<width$}  {place}");
    }
    if x.matched && !x.snippet.text.is_empty() {
        let mut shown = String::new();
        let mut at = 0;
        for &(s, e) in &x.snippet.marks {
            shown.push_str(&x.snippet.text[at..s]);
            shown.push('*');
            shown.push_str(&x.snippet.text[s..e]);
            shown.push('*');
            at = e;
        }
        shown.push_str(&x.snippet.text[at..]);
        out!("snippet: {shown}");
    }
    Ok(Outcome::Success)
}
