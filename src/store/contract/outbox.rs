//! The contract, part two: the queue and the outbox, parked messages, follow-ups, a topic added later, and what the pages and `stories` read.

/// Expands, inside a module `contract!` made, to its tests of this part (the helpers there).
macro_rules! outbox_tests {
    ($store:ty) => {
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
    };
}
