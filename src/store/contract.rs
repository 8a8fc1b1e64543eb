//! The contract every backend keeps: what the stages rely on, asked through [`Store`] as they
//! ask it (never a backend's own calls). Each test runs on every backend [`backends`] opens; a
//! new backend is added there and passes these before it is offered.
//!
//! What a backend stores its rows as is its own affair; these hold it to what a reader would
//! notice: an entry seen once, nothing of a failed poll kept, a story in one message per
//! recipient, a message due again only at its time, a story waiting to be sent never pruned.

use jiff::Timestamp;

use super::*;
use crate::model::{
    Channel, Entry, HostHold, IngestCounts, MatchResult, MessageKind, MessageState, OutboxEntry, Snippet, TopicHit,
};

/// A new, empty store of each backend, with the folder that holds it (gone with the test).
fn backends() -> Vec<(tempfile::TempDir, Store)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&dir.path().join("newswatch.db")).unwrap();
    vec![(dir, sqlite)]
}

/// `minutes` after a fixed moment: the store keeps the times it is given, whatever the clock.
fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
}

fn entry(guid: &str) -> Entry {
    Entry {
        guid: guid.into(),
        link: Some(format!("https://a.example/{guid}")),
        title: format!("Story {guid}"),
        body: format!("What story {guid} says."),
        published: None,
    }
}

fn matched() -> MatchResult {
    MatchResult {
        hits: vec![TopicHit {
            topic: "T".into(),
            keywords: vec!["Story".into()],
        }],
        snippet: Snippet {
            text: "What the story says.".into(),
            marks: vec![(0, 4)],
        },
        title_marks: vec![(0, 5)],
    }
}

/// Stores each of `guids` from `source` at `now` as a story of its own (queued for topic "T"
/// when `queue`), as one poll does; their story ids.
fn poll(s: &mut Store, source: &str, guids: &[&str], now: Timestamp, queue: bool) -> Vec<i64> {
    let mut ids = Vec::new();
    let record = FetchRecord {
        status: 200,
        next_poll: now,
        ..FetchRecord::default()
    };
    s.ingest(source, &format!("https://{source}.example/feed"), &record, now, |tx| {
        for guid in guids {
            let e = entry(guid);
            let id = tx.add_story(&e, None)?;
            tx.add_entry(id, &e, e.link.as_deref(), now, &Default::default())?;
            if queue {
                tx.queue(id, &matched())?;
            }
            ids.push(id);
        }
        Ok(IngestCounts::default())
    })
    .unwrap();
    ids
}

/// Composes one message to `to` carrying every queued story, as a digest does; its id and the
/// stories it carries.
fn compose(s: &mut Store, to: &str, now: Timestamp) -> (i64, Vec<i64>) {
    s.compose(now, |tx| {
        let stories: Vec<i64> = tx.queued()?.iter().map(|q| q.story.id).collect();
        let id = tx.add_message(&NewMessage {
            kind: MessageKind::Digest,
            channel: Channel::Mail,
            recipient: to.into(),
            message_id: format!("<{}@contract>", stories.len()),
            subject: "Digest".into(),
            message: b"the whole message".to_vec(),
            items: stories.clone(),
            follow_ups: Vec::new(),
        })?;
        tx.mark_done(&stories)?;
        Ok::<_, StoreError>((id, stories))
    })
    .unwrap()
}

fn due(s: &Store, now: Timestamp) -> Option<OutboxEntry> {
    s.due_message(now).unwrap().map(|(entry, _)| entry)
}

#[test]
fn an_entry_stored_is_seen_by_its_source_and_no_other() {
    for (_dir, mut s) in backends() {
        poll(&mut s, "A", &["1"], at(0), false);
        let guids = ["1".to_string(), "2".to_string()];
        assert_eq!(s.unseen("A", &guids).unwrap(), ["2"]);
        assert_eq!(s.unseen("B", &guids).unwrap(), guids);
        let record = FetchRecord::default();
        s.ingest("A", "https://A.example/feed", &record, at(1), |tx| {
            assert!(tx.seen("1")?);
            assert!(!tx.seen("2")?);
            Ok(IngestCounts::default())
        })
        .unwrap();
    }
}

#[test]
fn nothing_of_a_failed_poll_is_kept() {
    for (_dir, mut s) in backends() {
        let failed = s.ingest("A", "https://A.example/feed", &FetchRecord::default(), at(0), |tx| {
            let id = tx.add_story(&entry("1"), None)?;
            tx.add_entry(id, &entry("1"), None, at(0), &Default::default())?;
            tx.queue(id, &matched())?;
            Err(StoreError::Task("the poll broke off".into()))
        });
        assert!(failed.is_err());
        assert_eq!(
            s.unseen("A", &["1".to_string()]).unwrap(),
            ["1"],
            "the entry is not seen"
        );
        assert!(s.queued_stories().unwrap().is_empty(), "nor its story queued");
        let all = StoryFilter {
            all: true,
            ..StoryFilter::default()
        };
        assert!(s.stories(&all).unwrap().is_empty());
    }
}

#[test]
fn another_source_s_report_of_a_link_finds_its_story() {
    for (_dir, mut s) in backends() {
        let ids = poll(&mut s, "A", &["1"], at(0), false);
        s.ingest("B", "https://B.example/feed", &FetchRecord::default(), at(1), |tx| {
            let found = tx.candidates("https://a.example/1")?;
            assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
            assert!(tx.candidates("https://a.example/2")?.is_empty());
            Ok(IngestCounts::default())
        })
        .unwrap();
    }
}

#[test]
fn a_source_s_failures_count_until_it_is_resumed() {
    for (_dir, mut s) in backends() {
        poll(&mut s, "A", &["1"], at(0), false);
        let gone = FailureRecord {
            error: "HTTP 410".into(),
            status: Some(410),
            next_poll: at(30),
            penalise: true,
            pause: true,
        };
        s.record_failure("A", "https://A.example/feed", &gone, at(1)).unwrap();
        let states = s.source_states().unwrap();
        let a = states.current("A", "https://A.example/feed").unwrap();
        assert_eq!((a.consecutive_failures, a.paused), (1, true));
        assert_eq!(a.last_error.as_deref(), Some("HTTP 410"));
        assert_eq!(a.last_success, Some(at(0)));
        assert!(s.resume("A").unwrap());
        assert!(!s.source_states().unwrap().0["A"].paused);
    }
}

#[test]
fn a_queued_story_goes_out_in_one_message_sent_once() {
    for (_dir, mut s) in backends() {
        let ids = poll(&mut s, "A", &["1", "2"], at(0), true);
        assert_eq!(s.queued_stories().unwrap().len(), 2);
        let (id, carried) = compose(&mut s, "reader@example.org", at(1));
        assert_eq!(carried, ids);
        assert!(
            s.queued_stories().unwrap().is_empty(),
            "composed stories are queued no more"
        );
        let (message, bytes) = s.due_message(at(1)).unwrap().unwrap();
        assert_eq!((message.id, message.stories), (id, 2));
        assert_eq!(bytes, b"the whole message", "every attempt sends the same bytes");
        s.message_sent(id, "smtp 127.0.0.1", at(2)).unwrap();
        assert!(due(&s, at(100)).is_none(), "a message sent is not due again");
        let sent = s.outbox(&[MessageState::Sent]).unwrap();
        assert_eq!(
            sent.iter().map(|m| (m.id, m.sent_at)).collect::<Vec<_>>(),
            [(id, Some(at(2)))]
        );
    }
}

#[test]
fn a_failed_message_is_due_at_its_retry_time_and_a_parked_one_when_retried() {
    for (_dir, mut s) in backends() {
        poll(&mut s, "A", &["1"], at(0), true);
        let (id, _) = compose(&mut s, "reader@example.org", at(1));
        let later = Attempt {
            error: "421 try later".into(),
            refused: false,
            next_attempt: Some(at(11)),
        };
        s.message_failed(id, &later, at(1)).unwrap();
        assert!(due(&s, at(10)).is_none(), "not before its time");
        assert_eq!(due(&s, at(11)).map(|m| (m.id, m.attempts)), Some((id, 1)));
        assert_eq!(s.next_message_due().unwrap(), Some(at(11)));
        let never = Attempt {
            error: "550 no such user".into(),
            refused: true,
            next_attempt: None,
        };
        s.message_failed(id, &never, at(11)).unwrap();
        assert!(due(&s, at(1000)).is_none(), "a parked message waits");
        let parked = s.outbox(&[MessageState::Parked]).unwrap();
        assert_eq!(parked.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
        assert_eq!(parked[0].last_error.as_deref(), Some("550 no such user"));
        assert_eq!(s.retry_messages(Some(id), at(12)).unwrap(), 1);
        assert_eq!(due(&s, at(12)).map(|m| m.id), Some(id));
    }
}

#[test]
fn state_and_the_last_digest_time_are_kept_across_opening() {
    for (dir, mut s) in backends() {
        assert_eq!(s.last_digest_handled().unwrap(), None);
        s.set_last_digest_handled(at(5)).unwrap();
        s.set_state("k", "v").unwrap();
        drop(s);
        let s = Store::open(&dir.path().join("newswatch.db")).unwrap();
        assert_eq!(s.last_digest_handled().unwrap(), Some(at(5)));
        assert_eq!(s.get_state("k").unwrap().as_deref(), Some("v"));
        assert_eq!(s.get_state("other").unwrap(), None);
    }
}

#[test]
fn retention_prunes_old_stories_but_never_one_waiting_to_be_sent() {
    for (_dir, mut s) in backends() {
        let old = poll(&mut s, "A", &["old"], at(0), false);
        let waiting = poll(&mut s, "B", &["waiting"], at(0), true);
        let new = poll(&mut s, "A", &["new"], at(600), false);
        let pruned = s.prune(at(300), 100).unwrap();
        assert_eq!((pruned.stories, pruned.kept), (1, 1));
        let every = s.search_candidates(None, 0, i64::MAX, None, 10).unwrap();
        let text = |id: i64| {
            every
                .iter()
                .find(|f| f.id == id)
                .map(|f| (f.title.as_str(), f.text.trim()))
        };
        assert_eq!(
            text(old[0]),
            Some(("Story old", "")),
            "a pruned story keeps its title only"
        );
        assert_eq!(text(waiting[0]), Some(("Story waiting", "What story waiting says.")));
        assert_eq!(text(new[0]), Some(("Story new", "What story new says.")));
        assert_eq!(s.queued_stories().unwrap()[0].story.id, waiting[0]);
    }
}

#[test]
fn a_host_s_hold_lasts_until_its_time() {
    for (_dir, mut s) in backends() {
        let hold = HostHold {
            until: at(30),
            reason: "HTTP 429".into(),
        };
        s.set_host_hold("a.example", &hold).unwrap();
        let held = s.host_holds(at(10)).unwrap();
        assert_eq!(
            held.iter()
                .map(|(h, hold)| (h.as_str(), hold.until))
                .collect::<Vec<_>>(),
            [("a.example", at(30))]
        );
        assert!(s.host_holds(at(31)).unwrap().is_empty());
    }
}
