//! The contract, part one: a poll's writes, sources and hosts, articles, state across opening, retention, housekeeping and search.

/// Expands, inside a module `contract!` made, to its tests of this part (the helpers there).
macro_rules! poll_tests {
    ($store:ty) => {
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
        fn answers_read_ahead_are_the_answers_asked() {
            let Some((_keep, mut s)) = open() else { return };
            {
                let ids = poll(&mut s, "A", &["1"], at(0), false);
                let record = FetchRecord::default();
                s.ingest("A", "https://A.example/feed", &record, at(1), |tx| {
                    let keys = [
                        "https://a.example/1",
                        "https://a.example/2",
                        "https://a.example/3",
                    ];
                    tx.expect(&["1", "2", "3"], &keys)?;
                    assert!(tx.seen("1")?, "stored before");
                    assert!(!tx.seen("2")?);
                    assert!(!tx.seen("9")?, "not said ahead: asked");
                    let found = tx.candidates(keys[0])?;
                    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
                    assert!(tx.candidates(keys[1])?.is_empty());
                    // What this poll writes is seen and found by the questions after it.
                    let e = entry("2");
                    let (story, first) = tx.new_story(&e, None, (Some(keys[1]), at(1)), &Default::default())?;
                    assert!(tx.seen("2")?);
                    let found = tx.candidates(keys[1])?;
                    assert_eq!(
                        found.iter().map(|c| (c.id, c.entry)).collect::<Vec<_>>(),
                        [(story, first)]
                    );
                    assert!(tx.queue(story, &matched())?, "a new story is queued");
                    assert!(!tx.queue(story, &matched())?, "once");
                    assert!(tx.candidates(keys[2])?.is_empty());
                    Ok(IngestCounts::default())
                })
                .unwrap();
                assert_eq!(s.queued_stories().unwrap().len(), 1);
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
                        let (id, _) = tx.new_story(&entry("1"), None, (None, at(0)), &Default::default())?;
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

        #[test]
        fn a_new_story_is_led_by_its_first_entry() {
            let Some((_keep, mut s)) = open() else { return };
            let mut ids = (0, 0);
            s.ingest(
                "A",
                "https://A.example/feed",
                &FetchRecord::default(),
                at(0),
                |tx| {
                    let article = Err("HTTP 500".to_string());
                    ids = tx.new_story(
                        &entry("1"),
                        Some(&article),
                        (Some("a.example/1"), at(0)),
                        &Default::default(),
                    )?;
                    let found = tx.candidates("a.example/1")?;
                    assert_eq!(found.iter().map(|c| (c.id, c.entry)).collect::<Vec<_>>(), [ids]);
                    Ok(IngestCounts::default())
                },
            )
            .unwrap();
            let one = StoryFilter {
                id: Some(ids.0),
                all: true,
                ..StoryFilter::default()
            };
            let story = &s.stories(&one).unwrap()[0];
            assert_eq!(story.title, "Story 1");
            let entries: Vec<(i64, &str, bool)> = story
                .entries
                .iter()
                .map(|e| (e.id, e.guid.as_str(), e.lead))
                .collect();
            assert_eq!(entries, [(ids.1, "1", true)]);
            assert_eq!(
                s.pending_articles("A").unwrap().len(),
                1,
                "its article's first attempt counted"
            );
            assert_eq!(s.unseen("A", &["1".to_string()]).unwrap(), Vec::<String>::new());
        }
    };
}
