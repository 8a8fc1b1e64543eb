//! The contract every backend keeps: what the stages rely on, asked by the names the stages
//! use (never a backend's own calls). `contract!` makes the suite for one backend: through
//! [`Store`] on SQLite, and on the PostgreSQL backend directly while it is being built (it
//! joins `Store` once it answers every call); a new backend is added the same way and passes
//! these before it is offered.
//!
//! What a backend stores its rows as is its own affair; these hold it to what a reader would
//! notice: an entry seen once, nothing of a failed poll kept, a story in one message per
//! recipient, a message due again only at its time, a story waiting to be sent never pruned.

/// The suite, in a module `$name`, for a backend of type `$store`: `open()` gives a new empty
/// one with what keeps it (a folder, a database) or `None` where it cannot be tested here;
/// `reopen(&keep)` opens it again, as a process that starts later.
macro_rules! contract {
    ($name:ident, $store:ty, $keep:ty, $open:expr, $reopen:expr) => {
        mod $name {
            use jiff::Timestamp;

            use super::super::*;
            use crate::model::{
                Channel, Entry, HostHold, IngestCounts, MatchResult, MessageKind, MessageState, OutboxEntry, Snippet,
                TopicHit,
            };

            fn open() -> Option<($keep, $store)> {
                let open: fn() -> Option<($keep, $store)> = $open;
                open()
            }

            fn reopen(keep: &$keep) -> $store {
                let reopen: fn(&$keep) -> $store = $reopen;
                reopen(keep)
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
            fn poll(s: &mut $store, source: &str, guids: &[&str], now: Timestamp, queue: bool) -> Vec<i64> {
                let mut ids = Vec::new();
                let record = FetchRecord {
                    status: 200,
                    next_poll: now,
                    ..FetchRecord::default()
                };
                s.ingest(
                    source,
                    &format!("https://{source}.example/feed"),
                    &record,
                    now,
                    |tx| {
                        for guid in guids {
                            let e = entry(guid);
                            // Its article's first attempt failed (for a full-text source).
                            let id = tx.add_story(&e, Some(&Err("HTTP 500".into())))?;
                            let entry_id = tx.add_entry(id, &e, e.link.as_deref(), now, &Default::default())?;
                            tx.set_lead(id, entry_id)?;
                            if queue {
                                tx.queue(id, &matched())?;
                            }
                            ids.push(id);
                        }
                        Ok(IngestCounts {
                            new: guids.len(),
                            ..IngestCounts::default()
                        })
                    },
                )
                .unwrap();
                ids
            }

            /// Composes one message to `to` carrying every queued story, as a digest does; its id and the
            /// stories it carries.
            fn compose(s: &mut $store, to: &str, now: Timestamp) -> (i64, Vec<i64>) {
                s.compose(now, |tx| {
                    let stories: Vec<i64> = tx.queued()?.iter().map(|q| q.story.id).collect();
                    let id = tx.add_message(&NewMessage {
                        kind: MessageKind::Digest,
                        channel: Channel::Mail,
                        recipient: to.into(),
                        message_id: format!("<{to}-{}@contract>", stories.len()),
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

            fn due(s: &$store, now: Timestamp) -> Option<OutboxEntry> {
                s.due_message(now).unwrap().map(|(entry, _)| entry)
            }

            #[test]
            fn an_entry_stored_is_seen_by_its_source_and_no_other() {
                let Some((_keep, mut s)) = open() else { return };
                {
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
                let Some((_keep, mut s)) = open() else { return };
                {
                    let failed = s.ingest(
                        "A",
                        "https://A.example/feed",
                        &FetchRecord::default(),
                        at(0),
                        |tx| {
                            let id = tx.add_story(&entry("1"), None)?;
                            tx.add_entry(id, &entry("1"), None, at(0), &Default::default())?;
                            tx.queue(id, &matched())?;
                            Err(StoreError::Task("the poll broke off".into()))
                        },
                    );
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
                let Some((_keep, mut s)) = open() else { return };
                {
                    let ids = poll(&mut s, "A", &["1"], at(0), false);
                    s.ingest(
                        "B",
                        "https://B.example/feed",
                        &FetchRecord::default(),
                        at(1),
                        |tx| {
                            let found = tx.candidates("https://a.example/1")?;
                            assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
                            assert!(tx.candidates("https://a.example/2")?.is_empty());
                            assert!(
                                found.iter().all(|c| c.carried_elsewhere),
                                "by another source than B"
                            );
                            let head = tx.story_head(ids[0])?;
                            assert_eq!(
                                (head.state, head.headline_only),
                                (crate::model::ItemState::Stored, false)
                            );
                            Ok(IngestCounts::default())
                        },
                    )
                    .unwrap();
                }
            }

            #[test]
            fn a_source_s_failures_count_until_it_is_resumed() {
                let Some((_keep, mut s)) = open() else { return };
                let url = "https://A.example/feed";
                let record = FetchRecord {
                    status: 200,
                    etag: Some("\"v1\"".into()),
                    body_hash: Some("h1".into()),
                    next_poll: at(10),
                    ..FetchRecord::default()
                };
                s.record_unchanged(&[("A".into(), url.into(), record)], at(0))
                    .unwrap();
                let not_now = FailureRecord {
                    error: "HTTP 503".into(),
                    status: Some(503),
                    next_poll: at(20),
                    penalise: false,
                    pause: false,
                };
                s.record_failure("A", url, &not_now, at(1)).unwrap();
                let gone = FailureRecord {
                    error: "HTTP 410".into(),
                    status: Some(410),
                    next_poll: at(30),
                    penalise: true,
                    pause: true,
                };
                s.record_failure("A", url, &gone, at(2)).unwrap();
                let states = s.source_states().unwrap();
                let a = states.current("A", url).unwrap();
                assert_eq!(
                    (a.consecutive_failures, a.paused, a.last_status),
                    (1, true, Some(410))
                );
                assert_eq!(a.last_error.as_deref(), Some("HTTP 410"));
                assert_eq!(
                    (a.failing_since, a.last_success, a.next_poll),
                    (Some(at(2)), Some(at(0)), Some(at(30)))
                );
                assert_eq!(
                    (a.etag.as_deref(), a.body_hash.as_deref()),
                    (Some("\"v1\""), Some("h1"))
                );
                assert!(s.resume("A").unwrap());
                assert!(!s.resume("B").unwrap(), "no such source");
                let a = &s.source_states().unwrap().0["A"];
                assert_eq!(
                    (a.consecutive_failures, a.paused, a.next_poll, a.failing_since),
                    (0, false, None, None)
                );
                // A new URL is a new document: its validators start afresh.
                s.set_kind(
                    "A",
                    "https://A.example/other",
                    "page",
                    Some("https://A.example/feed.xml"),
                )
                .unwrap();
                let a = &s.source_states().unwrap().0["A"];
                assert_eq!((a.etag.as_deref(), a.kind.as_deref()), (None, Some("page")));
                assert_eq!(a.feed_url.as_deref(), Some("https://A.example/feed.xml"));
            }

            #[test]
            fn a_queued_story_goes_out_in_one_message_sent_once() {
                let Some((_keep, mut s)) = open() else { return };
                {
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
                let Some((_keep, mut s)) = open() else { return };
                {
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
                let Some((keep, mut s)) = open() else { return };
                {
                    assert_eq!(s.last_digest_handled().unwrap(), None);
                    s.set_last_digest_handled(at(5)).unwrap();
                    s.set_state("k", "v").unwrap();
                    drop(s);
                    let s = reopen(&keep);
                    assert_eq!(s.last_digest_handled().unwrap(), Some(at(5)));
                    assert_eq!(s.get_state("k").unwrap().as_deref(), Some("v"));
                    assert_eq!(s.get_state("other").unwrap(), None);
                }
            }

            #[test]
            fn retention_prunes_old_stories_but_never_one_waiting_to_be_sent() {
                let Some((_keep, mut s)) = open() else { return };
                {
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
                    assert_eq!(
                        text(waiting[0]),
                        Some(("Story waiting", "What story waiting says."))
                    );
                    assert_eq!(text(new[0]), Some(("Story new", "What story new says.")));
                    assert_eq!(s.queued_stories().unwrap()[0].story.id, waiting[0]);
                }
            }

            #[test]
            fn a_host_s_hold_lasts_until_its_time() {
                let Some((_keep, mut s)) = open() else { return };
                let hold = |until, reason: &str| HostHold {
                    until,
                    reason: reason.into(),
                };
                s.set_host_hold("a.example", &hold(at(30), "HTTP 429")).unwrap();
                s.set_host_hold("a.example", &hold(at(60), "HTTP 503")).unwrap();
                let held = s.host_holds(at(40)).unwrap();
                assert_eq!(held.len(), 1);
                assert_eq!(
                    (held[0].0.as_str(), held[0].1.until, held[0].1.reason.as_str()),
                    ("a.example", at(60), "HTTP 503")
                );
                assert!(s.host_holds(at(60)).unwrap().is_empty());
            }

            #[test]
            fn articles_are_tried_three_times_and_one_that_loads_late_queues_its_story() {
                let Some((_keep, mut s)) = open() else { return };
                // Each story's first attempt failed as it was stored.
                let ids = poll(&mut s, "A", &["1", "2"], at(0), false);
                let pending = |s: &$store| {
                    s.pending_articles("A")
                        .unwrap()
                        .iter()
                        .map(|p| p.item_id)
                        .collect::<Vec<_>>()
                };
                assert_eq!(pending(&s), ids);
                s.record_article(ids[0], &Err("HTTP 500".into()), None).unwrap();
                s.record_article(ids[0], &Err("HTTP 500".into()), None).unwrap();
                assert_eq!(pending(&s), [ids[1]], "three attempts: given up");
                assert!(
                    s.queued_stories().unwrap().is_empty(),
                    "never queued without a match"
                );
                assert!(
                    s.record_article(ids[1], &Ok("text".into()), Some(&matched()))
                        .unwrap()
                );
                assert!(pending(&s).is_empty());
                assert!(
                    !s.record_article(ids[1], &Ok("text".into()), Some(&matched()))
                        .unwrap(),
                    "queued once"
                );
                assert_eq!(
                    s.queued_stories()
                        .unwrap()
                        .iter()
                        .map(|q| q.story.id)
                        .collect::<Vec<_>>(),
                    [ids[1]]
                );
            }

            #[test]
            fn a_parked_message_is_told_to_its_recipient_once() {
                let Some((_keep, mut s)) = open() else { return };
                poll(&mut s, "A", &["1"], at(0), true);
                let (id, _) = compose(&mut s, "reader@example.org", at(1));
                let never = Attempt {
                    error: "550 no such user".into(),
                    refused: true,
                    next_attempt: None,
                };
                s.message_failed(id, &never, at(2)).unwrap();
                let told = |s: &mut $store| {
                    s.compose(at(3), |tx| {
                        let parked: Vec<i64> = tx.parked_unnoticed()?.iter().map(|m| m.id).collect();
                        tx.mark_noticed(&parked)?;
                        Ok::<_, StoreError>(parked)
                    })
                    .unwrap()
                };
                assert_eq!(told(&mut s), [id]);
                assert!(told(&mut s).is_empty(), "once");
                s.retry_messages(None, at(4)).unwrap();
                s.message_failed(id, &never, at(5)).unwrap();
                assert_eq!(told(&mut s), [id], "parked again after a retry: told again");
            }

            #[test]
            fn a_story_mailed_comes_back_with_the_outlets_that_reported_it_since() {
                let Some((_keep, mut s)) = open() else { return };
                let story = poll(&mut s, "A", &["1"], at(0), true)[0];
                let (id, _) = compose(&mut s, "reader@example.org", at(1));
                assert!(
                    s.history("reader@example.org", at(0))
                        .unwrap()
                        .follow_ups
                        .is_empty(),
                    "not sent yet"
                );
                s.message_sent(id, "smtp", at(2)).unwrap();
                s.ingest(
                    "B",
                    "https://B.example/feed",
                    &FetchRecord::default(),
                    at(3),
                    |tx| {
                        let b = Entry {
                            guid: "b1".into(),
                            link: Some("https://b.example/1".into()),
                            ..entry("1")
                        };
                        tx.add_entry(story, &b, None, at(3), &Default::default())?;
                        Ok(IngestCounts::default())
                    },
                )
                .unwrap();
                let history = s.history("reader@example.org", at(0)).unwrap();
                assert_eq!(history.last_digest, Some(at(1)));
                assert_eq!(history.follow_ups.len(), 1);
                let f = &history.follow_ups[0];
                assert_eq!(
                    (f.story, f.first_message.as_str()),
                    (story, "<reader@example.org-1@contract>")
                );
                assert_eq!(
                    f.outlets
                        .iter()
                        .map(|o| (o.source.as_str(), o.link.as_deref()))
                        .collect::<Vec<_>>(),
                    [("B", Some("https://b.example/1"))]
                );
                assert!(
                    s.history("reader@example.org", at(2))
                        .unwrap()
                        .follow_ups
                        .is_empty(),
                    "only messages since"
                );
                assert!(
                    s.history("other@example.org", at(0))
                        .unwrap()
                        .follow_ups
                        .is_empty()
                );
                // Told of B by a later message: no longer news to them.
                s.compose(at(4), |tx| {
                    assert_eq!(tx.history("reader@example.org", at(0))?.follow_ups.len(), 1);
                    tx.add_message(&NewMessage {
                        kind: MessageKind::Digest,
                        channel: Channel::Mail,
                        recipient: "reader@example.org".into(),
                        message_id: "<follow-up@contract>".into(),
                        subject: "Digest".into(),
                        message: b"more coverage".to_vec(),
                        items: Vec::new(),
                        follow_ups: vec![story],
                    })
                })
                .unwrap();
                assert!(
                    s.history("reader@example.org", at(0))
                        .unwrap()
                        .follow_ups
                        .is_empty()
                );
            }

            #[test]
            fn waiting_messages_are_brought_forward_and_read_back_as_asked() {
                let Some((_keep, mut s)) = open() else { return };
                poll(&mut s, "A", &["1"], at(0), true);
                let (first, _) = compose(&mut s, "a@example.org", at(1));
                poll(&mut s, "A", &["2"], at(2), true);
                let (second, _) = compose(&mut s, "b@example.org", at(3));
                let later = Attempt {
                    error: "421 later".into(),
                    refused: false,
                    next_attempt: Some(at(60)),
                };
                s.message_failed(first, &later, at(4)).unwrap();
                s.message_failed(second, &later, at(4)).unwrap();
                assert!(due(&s, at(5)).is_none());
                assert_eq!(s.pending_due(at(5)).unwrap(), 2);
                assert_eq!(due(&s, at(5)).map(|m| m.id), Some(first));
                let asked: Vec<i64> = s
                    .outbox_entries(&[second, first, 999])
                    .unwrap()
                    .iter()
                    .map(|m| m.id)
                    .collect();
                assert_eq!(asked, [second, first], "in the order asked, the unknown left out");
                s.message_sent(first, "smtp", at(6)).unwrap();
                assert_eq!(
                    s.activity_since(at(0)).unwrap(),
                    (1, 2),
                    "one message sent, two stories matched"
                );
                assert_eq!(s.activity_since(at(7)).unwrap(), (0, 0));
            }

            #[test]
            fn a_topic_added_later_finds_the_stories_no_one_was_sent() {
                let Some((_keep, mut s)) = open() else { return };
                let ids = poll(&mut s, "A", &["1", "2", "3"], at(0), false);
                s.ingest(
                    "A",
                    "https://A.example/feed",
                    &FetchRecord::default(),
                    at(1),
                    |tx| tx.queue(ids[0], &matched()).map(|_| IngestCounts::default()),
                )
                .unwrap();
                compose(&mut s, "reader@example.org", at(2));
                poll(&mut s, "A", &["4"], at(100), false);
                let unsent = s.unsent_since(at(0), "U").unwrap();
                assert_eq!(
                    unsent.iter().map(|u| u.item_id).collect::<Vec<_>>(),
                    [ids[1], ids[2], ids[2] + 1],
                    "not the one mailed"
                );
                assert_eq!(unsent[0].entry.title, "Story 2");
                assert_eq!(s.unsent_since(at(50), "U").unwrap().len(), 1, "since then");
                let mut u = matched();
                u.hits[0].topic = "U".into();
                let verdicts = [(ids[1], u.clone()), (ids[0], u.clone())];
                assert_eq!(s.backfill(&verdicts).unwrap(), 1, "the one mailed is only marked");
                assert_eq!(
                    s.matched_per_topic().unwrap(),
                    [("T".to_string(), 1), ("U".to_string(), 2)]
                );
                assert!(
                    s.unsent_since(at(0), "U")
                        .unwrap()
                        .iter()
                        .all(|u| u.item_id != ids[1])
                );
            }

            #[test]
            fn the_pages_read_matched_stories_newest_first_with_their_cards() {
                let Some((_keep, mut s)) = open() else { return };
                let ids = poll(&mut s, "A", &["1", "2"], at(0), true);
                let later = poll(&mut s, "B", &["3"], at(100), false);
                let (message, _) = compose(&mut s, "reader@example.org", at(101));
                let mut u = matched();
                u.hits[0].topic = "U".into();
                s.backfill(&[(later[0], u)]).unwrap();
                let page = |q: PageQuery| s.page_ids(&q).unwrap();
                let all = PageQuery {
                    limit: 10,
                    ..PageQuery::default()
                };
                assert_eq!(page(all.clone()), [later[0], ids[1], ids[0]]);
                assert_eq!(
                    page(PageQuery {
                        offset: 1,
                        limit: 1,
                        ..all.clone()
                    }),
                    [ids[1]]
                );
                assert_eq!(
                    page(PageQuery {
                        topic: Some("T".into()),
                        ..all.clone()
                    }),
                    [ids[1], ids[0]]
                );
                assert_eq!(
                    page(PageQuery {
                        since: Some(at(50)),
                        ..all.clone()
                    }),
                    [later[0]]
                );
                assert_eq!(s.first_story_since(at(50)).unwrap(), later[0]);
                assert_eq!(
                    s.first_story_since(at(500)).unwrap(),
                    later[0] + 1,
                    "one past the last"
                );
                let card = s.card(ids[0]).unwrap();
                assert_eq!(
                    (card.snippet.text.as_str(), card.snippet.marks.as_slice()),
                    ("What the story says.", &[(0, 4)][..])
                );
                assert_eq!(card.title_marks, [(0, 5)]);
                assert_eq!(card.matched, [("T".to_string(), vec!["Story".to_string()])]);
                assert_eq!(card.messages, [message]);
                assert!(
                    s.card(later[0] + 1).unwrap().matched.is_empty(),
                    "no such story: an empty card"
                );
            }

            #[test]
            fn a_story_s_sources_are_read_the_lead_s_first() {
                let Some((_keep, mut s)) = open() else { return };
                let story = poll(&mut s, "A", &["1"], at(0), false)[0];
                // B reports it twice, and its second report leads the story.
                s.ingest(
                    "B",
                    "https://B.example/feed",
                    &FetchRecord::default(),
                    at(1),
                    |tx| {
                        tx.add_entry(story, &entry("b1"), None, at(1), &Default::default())?;
                        let lead = tx.add_entry(story, &entry("b2"), None, at(1), &Default::default())?;
                        tx.make_lead(story, (lead, &entry("b2")), None)?;
                        Ok(IngestCounts::default())
                    },
                )
                .unwrap();
                assert_eq!(s.story_sources(story).unwrap(), ["B", "A"]);
                let one = StoryFilter {
                    id: Some(story),
                    ..StoryFilter::default()
                };
                let read = s.stories(&one).unwrap();
                assert_eq!(read[0].title, "Story b2", "shown by its lead");
                let entries: Vec<(&str, &str, bool)> = read[0]
                    .entries
                    .iter()
                    .map(|e| (e.source.as_str(), e.guid.as_str(), e.lead))
                    .collect();
                assert_eq!(
                    entries,
                    [("B", "b2", true), ("A", "1", false), ("B", "b1", false)]
                );
            }

            #[test]
            fn housekeeping_leaves_what_is_stored_as_it_was() {
                let Some((_keep, mut s)) = open() else { return };
                s.begin_batch();
                poll(&mut s, "A", &["1"], at(0), true);
                s.end_batch().unwrap();
                s.checkpoint().unwrap();
                assert!(s.bytes().unwrap() > 0);
                if s.shrinks_incrementally().unwrap() {
                    while s.shrink(100).unwrap() > 0 {}
                }
                s.vacuum().unwrap();
                assert!(s.prune_cluster_index(at(24 * 60)));
                assert!(
                    !s.prune_cluster_index(at(24 * 60 + 5)),
                    "the window moves a day at a time"
                );
                assert_eq!(s.queued_stories().unwrap().len(), 1);
            }

            /// `word`'s trigrams as the index holds text, all of them (as `search` narrows).
            fn word(word: &str) -> Narrowing {
                let text: Vec<char> = format!(" {word} ").chars().collect();
                Narrowing::All(
                    text.windows(3)
                        .map(|w| Narrowing::Gram(w.iter().collect()))
                        .collect(),
                )
            }

            #[test]
            fn the_index_finds_stories_by_their_trigrams_and_keeps_up_with_their_text() {
                let Some((_keep, mut s)) = open() else { return };
                let ids = poll(&mut s, "A", &["nato", "ukraine", "abc"], at(0), false);
                let found = |s: &$store, n: &Narrowing| -> Vec<i64> {
                    s.search_candidates(Some(n), 0, i64::MAX, None, 10)
                        .unwrap()
                        .iter()
                        .map(|f| f.id)
                        .collect()
                };
                assert!(found(&s, &word("nato")).is_empty(), "nothing indexed yet");
                assert_eq!(s.index_for_search(100).unwrap(), 3);
                assert_eq!(s.index_for_search(100).unwrap(), 0, "caught up");
                assert_eq!(found(&s, &word("nato")), [ids[0]]);
                assert_eq!(
                    found(&s, &Narrowing::Any(vec![word("nato"), word("ukraine")])),
                    [ids[1], ids[0]],
                    "newest first"
                );
                assert!(found(&s, &Narrowing::All(vec![word("nato"), word("ukraine")])).is_empty());
                assert!(
                    found(&s, &word("natos")).is_empty(),
                    "every trigram, the word's edges too"
                );
                // A trigram is text, not a pattern.
                assert!(found(&s, &Narrowing::Gram("a_c".into())).is_empty());
                assert!(found(&s, &Narrowing::Gram("%".into())).is_empty());
                assert_eq!(found(&s, &Narrowing::Gram("abc".into())), [ids[2]]);
                let from_b = s
                    .search_candidates(Some(&word("nato")), 0, i64::MAX, Some("B"), 10)
                    .unwrap();
                assert!(from_b.is_empty(), "another source's stories only");
                let (counts, sampled) = s.sample_counts(&[word("nato"), word("story")], 10).unwrap();
                assert_eq!((counts, sampled), (vec![1, 3], 3));
                // A new lead's text: found by it once the index has caught up.
                s.ingest(
                    "B",
                    "https://B.example/feed",
                    &FetchRecord::default(),
                    at(1),
                    |tx| {
                        let kyiv = entry("kyiv");
                        let lead = tx.add_entry(ids[0], &kyiv, None, at(1), &Default::default())?;
                        tx.make_lead(ids[0], (lead, &kyiv), None)?;
                        Ok(IngestCounts::default())
                    },
                )
                .unwrap();
                assert_eq!(s.index_for_search(100).unwrap(), 1);
                assert_eq!(found(&s, &word("kyiv")), [ids[0]]);
                assert!(found(&s, &word("nato")).is_empty());
                while s.compact_index(100).unwrap() {}
            }
        }
    };
}

contract!(
    sqlite,
    Store,
    tempfile::TempDir,
    || {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::model::Database::File(dir.path().join("newswatch.db"))).unwrap();
        Some((dir, store))
    },
    |dir| Store::open(&crate::model::Database::File(dir.path().join("newswatch.db"))).unwrap()
);

contract!(
    postgresql,
    crate::store::postgresql::Postgres,
    crate::store::postgresql::tests::Database,
    || {
        let db = crate::store::postgresql::tests::Database::new()?;
        let store = crate::store::postgresql::Postgres::open(&db.url, None).unwrap();
        Some((db, store))
    },
    |db| crate::store::postgresql::Postgres::open(&db.url, None).unwrap()
);
