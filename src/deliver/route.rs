//! Who gets which story, and under which topic. Pure: the queue and the config in, one route per
//! recipient out.
//!
//! The rule: a story goes to everyone one of its topics names (a topic's own `to`, else
//! `email.to`; topics no longer configured go to `email.to`); to each of them once, in the
//! first message that goes to them, under the first of their matching topics in config order,
//! with the others named. An alert carries only stories one of whose immediate topics names
//! the recipient; a digest carries every story still due to them.
//!
//! Webhooks are recipients too, known by their URL: a story goes to each webhook of its
//! topics once, at the first composition after it was queued, whatever the topics' `alert`.

use lettre::message::Mailbox;

use crate::config::{AlertMode, Config, Topic, same_address};
use crate::model::{MessageKind, QueuedStory};

/// A story of the queue as one recipient's message shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Its index in the queue.
    pub story: usize,
    pub topic: String,
    pub also: Vec<String>,
}

/// What one recipient gets now.
#[derive(Debug, Clone)]
pub struct Route {
    pub recipient: Mailbox,
    /// The recipient's address in lower case: how the outbox knows them.
    pub address: String,
    pub stories: Vec<Placement>,
    /// One of their topics goes out in the digest (else they get alerts only, and no empty
    /// digest even with `send_empty`).
    pub takes_digests: bool,
}

/// What one webhook gets now: one post per story.
#[derive(Debug, Clone)]
pub struct Hook {
    pub url: String,
    pub stories: Vec<Placement>,
}

#[derive(Debug, Clone)]
pub struct Routing {
    /// One per recipient, in config order, empty ones included.
    pub routes: Vec<Route>,
    /// One per webhook with stories due, in config order.
    pub hooks: Vec<Hook>,
    /// Item ids every recipient they are due to now has (or will have once these go out).
    pub done: Vec<i64>,
}

/// The key the outbox knows a recipient by.
pub fn address_of(m: &Mailbox) -> String {
    AsRef::<str>::as_ref(&m.email).to_ascii_lowercase()
}

pub fn route(config: &Config, kind: MessageKind, queue: &[QueuedStory]) -> Routing {
    let topic = |name: &str| config.topics.iter().find(|t| t.name == name);
    let names = |t: &Topic, m: &Mailbox| t.recipients.iter().any(|r| same_address(r, m));
    let mut routes: Vec<Route> = config
        .recipients()
        .into_iter()
        .map(|recipient| Route {
            address: address_of(&recipient),
            takes_digests: config.email.to.iter().any(|m| same_address(m, &recipient))
                || config
                    .topics
                    .iter()
                    .any(|t| t.alert == AlertMode::Digest && names(t, &recipient)),
            recipient,
            stories: Vec::new(),
        })
        .collect();
    let mut done = Vec::new();
    let mut hooks: Vec<Hook> = Vec::new();
    for (index, queued) in queue.iter().enumerate() {
        let hits: Vec<&str> = queued.story.hits.iter().map(|h| h.topic.as_str()).collect();
        // In config order; stored topics the config no longer has come last, for `email.to`.
        let mut matched: Vec<&Topic> = config
            .topics
            .iter()
            .filter(|t| hits.contains(&t.name.as_str()))
            .collect();
        matched.sort_by_key(|t| config.topics.iter().position(|c| c.name == t.name));
        let orphans: Vec<&str> = hits.iter().copied().filter(|h| topic(h).is_none()).collect();
        let mut complete = true;
        for route in &mut routes {
            let mut theirs: Vec<String> = matched
                .iter()
                .filter(|t| names(t, &route.recipient))
                .map(|t| t.name.clone())
                .collect();
            if config.email.to.iter().any(|m| same_address(m, &route.recipient)) {
                theirs.extend(orphans.iter().map(|o| o.to_string()));
            }
            if theirs.is_empty() || queued.delivered_to.contains(&route.address) {
                continue;
            }
            let wanted_now = match kind {
                MessageKind::Digest => true,
                MessageKind::Alert => matched
                    .iter()
                    .any(|t| t.alert == AlertMode::Immediate && names(t, &route.recipient)),
            };
            if !wanted_now {
                complete = false;
                continue;
            }
            route.stories.push(Placement {
                story: index,
                topic: theirs[0].clone(),
                also: theirs[1..].to_vec(),
            });
        }
        let mut urls: Vec<&str> = Vec::new();
        for url in matched.iter().filter_map(|t| t.webhook.as_ref()).map(url::Url::as_str) {
            if !urls.contains(&url) && !queued.delivered_to.iter().any(|d| d == url) {
                urls.push(url);
            }
        }
        for url in urls {
            let theirs: Vec<String> = matched
                .iter()
                .filter(|t| t.webhook.as_ref().is_some_and(|u| u.as_str() == url))
                .map(|t| t.name.clone())
                .collect();
            let placement = Placement {
                story: index,
                topic: theirs[0].clone(),
                also: theirs[1..].to_vec(),
            };
            match hooks.iter_mut().find(|h| h.url == url) {
                Some(h) => h.stories.push(placement),
                None => hooks.push(Hook {
                    url: url.to_string(),
                    stories: vec![placement],
                }),
            }
        }
        if complete {
            done.push(queued.story.id);
        }
    }
    Routing { routes, hooks, done }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snippet, Story, TopicHit};

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("[email]\nto = [\"all@x.org\"]\n{extra}\n[[source]]\nname = \"S\"\nurl = \"https://e.org/f\"\n"),
            std::path::Path::new("/tmp/n.toml"),
            |_| None,
        )
        .unwrap()
    }

    fn queued(id: i64, topics: &[&str], delivered: &[&str]) -> QueuedStory {
        QueuedStory {
            story: Story {
                id,
                title: format!("story {id}"),
                link: None,
                published: jiff::Timestamp::UNIX_EPOCH,
                first_seen: jiff::Timestamp::UNIX_EPOCH,
                sources: vec!["S".into()],
                also: Vec::new(),
                hits: topics
                    .iter()
                    .map(|t| TopicHit {
                        topic: t.to_string(),
                        keywords: vec![],
                    })
                    .collect(),
                snippet: Snippet::default(),
                title_marks: Vec::new(),
            },
            delivered_to: delivered.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn of<'r>(r: &'r Routing, address: &str) -> &'r Route {
        r.routes.iter().find(|r| r.address == address).unwrap()
    }

    const TOPICS: &str = r#"
[[topic]]
name = "SDF"
keywords = ["SDF"]
alert = "immediate"
to = ["Desk <DESK@x.org>", "all@x.org"]

[[topic]]
name = "NATO"
keywords = ["NATO"]

[[topic]]
name = "Ukraine"
keywords = ["Ukraine"]
to = ["kyiv@x.org"]
"#;

    #[test]
    fn each_recipient_once_under_their_first_topic() {
        let c = config(TOPICS);
        let q = [queued(1, &["NATO", "SDF", "Ukraine"], &[])];
        let r = route(&c, MessageKind::Digest, &q);
        let all = of(&r, "all@x.org");
        assert_eq!(all.stories.len(), 1);
        assert_eq!(
            (all.stories[0].topic.as_str(), all.stories[0].also.clone()),
            ("SDF", vec!["NATO".to_string()])
        );
        assert_eq!(of(&r, "desk@x.org").stories[0].topic, "SDF");
        assert_eq!(of(&r, "kyiv@x.org").stories[0].topic, "Ukraine");
        assert_eq!(r.done, [1]);
    }

    #[test]
    fn alerts_carry_immediate_topics_and_leave_the_rest_for_the_digest() {
        let c = config(TOPICS);
        let q = [queued(1, &["SDF", "Ukraine"], &[]), queued(2, &["NATO"], &[])];
        let r = route(&c, MessageKind::Alert, &q);
        assert_eq!(of(&r, "desk@x.org").stories.len(), 1);
        assert_eq!(of(&r, "all@x.org").stories.len(), 1, "story 1 through SDF");
        assert!(of(&r, "kyiv@x.org").stories.is_empty(), "Ukraine is a digest topic");
        assert!(r.done.is_empty(), "kyiv still waits for story 1, everyone for story 2");
        // After the alert, the digest gives kyiv story 1 and all story 2, nobody anything twice.
        let q = [
            queued(1, &["SDF", "Ukraine"], &["desk@x.org", "all@x.org"]),
            queued(2, &["NATO"], &[]),
        ];
        let r = route(&c, MessageKind::Digest, &q);
        assert!(of(&r, "desk@x.org").stories.is_empty());
        assert_eq!(of(&r, "kyiv@x.org").stories[0].story, 0);
        assert_eq!(
            of(&r, "all@x.org").stories.iter().map(|p| p.story).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(r.done, [1, 2]);
    }

    #[test]
    fn only_recipients_with_a_digest_topic_take_digests() {
        let c = config(TOPICS);
        let r = route(&c, MessageKind::Digest, &[]);
        assert!(of(&r, "all@x.org").takes_digests && of(&r, "kyiv@x.org").takes_digests);
        assert!(
            !of(&r, "desk@x.org").takes_digests,
            "desk only has the immediate SDF topic"
        );
    }

    #[test]
    fn topics_no_longer_configured_go_to_email_to() {
        let c = config(TOPICS);
        let r = route(&c, MessageKind::Digest, &[queued(7, &["Old topic"], &[])]);
        assert_eq!(of(&r, "all@x.org").stories[0].topic, "Old topic");
        assert!(of(&r, "desk@x.org").stories.is_empty());
        assert_eq!(r.done, [7]);
    }
}
