//! How values are spelled in the database's columns, the same in every backend (a database
//! copied from one backend to another reads the same): story states, join rules, highlight
//! marks, a story's text, why an entry joined, an outbox message's kind, state and recipient,
//! the last digest time handled.

use jiff::Timestamp;

use crate::model::{Channel, ItemState, JoinRule, Joined, MessageKind, MessageState};

/// The `state` key of the last digest time handled.
pub(super) const LAST_DIGEST_KEY: &str = "last_digest_slot";

/// The last digest time handled, from its stored text. An unreadable value counts as "now":
/// nothing old is sent twice.
pub(super) fn digest_handled(value: &str) -> Timestamp {
    value.parse::<Timestamp>().unwrap_or_else(|_| crate::clock::now())
}

pub(super) fn item_state(state: &str) -> ItemState {
    match state {
        "queued" => ItemState::Queued,
        "sent" => ItemState::Sent,
        _ => ItemState::Stored,
    }
}

/// How `joins.rule` spells each rule (the migrations' CHECK lists the same names).
pub(super) fn rule_name(rule: JoinRule) -> &'static str {
    match rule {
        JoinRule::Link => "link",
        JoinRule::Copy => "copy",
        JoinRule::Rewrite => "rewrite",
        JoinRule::Clear => "clear",
        JoinRule::Event => "event",
    }
}

const RULES: [JoinRule; 5] = [
    JoinRule::Link,
    JoinRule::Copy,
    JoinRule::Rewrite,
    JoinRule::Clear,
    JoinRule::Event,
];

/// The rule stored as `name`; `None` for one this version does not know.
pub(super) fn rule_named(name: &str) -> Option<JoinRule> {
    RULES.into_iter().find(|r| rule_name(*r) == name)
}

/// How screens, logs and `--json` show a message's recipient: an address; a webhook's scheme,
/// host and port (its path may hold a secret); for a channel this version does not know, not
/// the recipient at all (it may hold one too).
pub(super) fn shown(channel: &Channel, recipient: &str) -> String {
    match channel {
        Channel::Webhook => crate::text::url_origin(recipient),
        Channel::Mail => recipient.to_string(),
        Channel::Unknown(name) => format!("a {name} recipient"),
    }
}

pub(super) fn message_kind(name: &str) -> MessageKind {
    match name {
        "alert" => MessageKind::Alert,
        _ => MessageKind::Digest,
    }
}

pub(super) fn message_state(name: &str) -> MessageState {
    match name {
        "sent" => MessageState::Sent,
        "parked" => MessageState::Parked,
        _ => MessageState::Pending,
    }
}

/// How `outbox.state` spells each state (the migrations' CHECK lists the same names).
pub(super) fn state_name(state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => "pending",
        MessageState::Sent => "sent",
        MessageState::Parked => "parked",
    }
}

/// A story's text as the matcher reads it: its lead's summary, the article appended when one
/// was fetched.
pub(super) fn story_text(body: String, article: Option<String>) -> String {
    match article {
        Some(article) => format!("{body}\n\n{article}"),
        None => body,
    }
}

/// Byte ranges of highlights as `3-7,12-15`.
pub(super) fn encode_marks(marks: &[(usize, usize)]) -> String {
    marks
        .iter()
        .map(|(s, e)| format!("{s}-{e}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn decode_marks(s: &str) -> Vec<(usize, usize)> {
    s.split(',')
        .filter_map(|pair| {
            let (a, b) = pair.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

/// A `joins` row read back; `None` without one (or with a rule this version does not know).
/// `scores` are the row's score, next and pair.
pub(super) fn joined(
    rule: Option<&str>,
    with: Option<i64>,
    [score, next, pair]: [Option<f64>; 3],
    weighed: Option<u32>,
    shared: Option<String>,
) -> Option<Joined> {
    let rule = rule_named(rule?)?;
    Some(Joined {
        rule,
        with,
        score: score.map(|s| s as f32),
        next: next.map(|s| s as f32),
        pair: pair.map(|s| s as f32),
        weighed,
        shared: shared
            .unwrap_or_default()
            .split('\n')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_join_rule_reads_back_as_written() {
        for rule in RULES {
            assert_eq!(rule_named(rule_name(rule)), Some(rule));
        }
        assert_eq!(rule_named("telepathy"), None, "a rule of a newer version");
    }

    #[test]
    fn message_states_read_back_as_written() {
        for state in [MessageState::Pending, MessageState::Sent, MessageState::Parked] {
            assert_eq!(message_state(state_name(state)), state);
        }
    }

    #[test]
    fn marks_read_back_as_written() {
        let marks = [(0, 3), (10, 42)];
        assert_eq!(decode_marks(&encode_marks(&marks)), marks);
        assert_eq!(decode_marks(""), []);
    }
}
