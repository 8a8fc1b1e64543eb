//! The archive, with the real binary, a real SQLite file and feeds served on 127.0.0.1:
//! `newswatch search` over every stored story (the index narrows, the matcher decides), and
//! retention (`newswatch prune`): old texts go, the file shrinks, an old item never returns as
//! new, a story not sent yet is kept.

mod common;

use common::*;

const CONFIG_TAIL: &str = "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\n\
    [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n";

fn sources(server: &FeedServer) -> String {
    format!(
        "[[source]]\nname = \"Wire\"\nurl = \"{}\"\n\n[[source]]\nname = \"Daily\"\nurl = \"{}\"\n",
        server.url("/wire.xml"),
        server.url("/daily.xml")
    )
}

/// `items` on Wire (Daily empty), polled once into a database that keeps texts for a second.
async fn polled_keeping_an_hour(server: &FeedServer, items: &[Item<'_>]) -> Sandbox {
    server.serve("/wire.xml", "application/rss+xml", rss(items)).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[])).await;
    let config = format!(
        "[storage]\nkeep = \"1h\"\n\n[dedup]\nwindow = \"1h\"\n\n{CONFIG_TAIL}{}",
        sources(server)
    );
    let sandbox = Sandbox::new(&config);
    sandbox.run(&["poll"]).await.ok();
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_stored_stories_by_the_query_language_newest_first() {
    let server = FeedServer::start().await;
    let (old, new) = (rfc2822_hours_ago(5), rfc2822_hours_ago(1));
    let wire = [
        Item {
            guid: "w1",
            title: "Senator visits Tokyo",
            link: "https://wire.example/senator",
            // Every trigram of "nato" is here, the word is not: the index lets it through,
            // the matcher does not.
            text: "The senator toured a natural history museum in Tokyo.",
            date: &old,
        },
        Item {
            guid: "w2",
            title: "NATO ministers meet on air defence",
            link: "https://wire.example/nato-air",
            text: "Defence ministers of NATO discussed air defence for Ukraine.",
            date: &old,
        },
        Item {
            guid: "w3",
            title: "陸上自衛隊が演習",
            link: "https://wire.example/jgsdf",
            text: "陸上自衛隊は北海道で大規模な演習を行った。日本の防衛省が発表した。",
            date: &new,
        },
    ];
    let daily = [Item {
        guid: "d1",
        title: "US and NATO sign a new logistics pact",
        link: "https://daily.example/us-nato",
        text: "The US and NATO agreed on shared fuel depots in Poland.",
        date: &new,
    }];
    server.serve("/wire.xml", "application/rss+xml", rss(&wire)).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&daily)).await;
    let sandbox = Sandbox::new(&format!("{CONFIG_TAIL}{}", sources(&server)));
    sandbox.run(&["poll"]).await.ok();

    // Newest first; the senator's story holds n-a-t-o only across words, and is not a match.
    let run = sandbox.run(&["search", "NATO"]).await;
    run.ok();
    let titles: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(titles.len(), 2, "{}", run.stdout);
    assert!(
        titles[0].ends_with("US and NATO sign a new logistics pact"),
        "{}",
        run.stdout
    );
    assert!(
        titles[1].ends_with("NATO ministers meet on air defence"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[NATO]"),
        "the snippet marks the term: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("Senator"), "{}", run.stdout);

    // The query language: phrases, exclusions, one source.
    let run = sandbox.run(&["search", "NATO -logistics", "--source", "Wire"]).await;
    run.ok();
    assert!(run.stdout.contains("air defence"), "{}", run.stdout);
    assert!(!run.stdout.contains("logistics"), "{}", run.stdout);
    let run = sandbox.run(&["search", "\"air defence\" Ukraine"]).await;
    assert!(run.ok().stdout.contains("NATO ministers meet"), "{}", run.stdout);

    // A script without spaces, inside a longer word.
    let run = sandbox.run(&["search", "自衛隊"]).await;
    assert!(run.ok().stdout.contains("陸上自衛隊が演習"), "{}", run.stdout);

    // Terms the index cannot narrow are checked by the matcher over the window.
    let run = sandbox.run(&["search", "日本"]).await;
    assert!(run.ok().stdout.contains("陸上自衛隊が演習"), "{}", run.stdout);
    assert!(run.stderr.contains("cannot narrow"), "{}", run.stderr);
    let run = sandbox.run(&["search", "日本", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(doc["narrowed_by"], serde_json::Value::Null);
    assert!(doc["window_start"].is_string(), "{doc}");
    // A short word narrows by its edges: "us" inside "museum" is not a candidate.
    let run = sandbox.run(&["search", "US", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{doc}");
    assert_eq!(results[0]["title"], "US and NATO sign a new logistics pact");
    assert_eq!(results[0]["sources"], serde_json::json!(["Daily"]));
    assert_eq!(doc["narrowed_by"], r#"(" us" AND "us ")"#);
    assert_eq!(doc["checked"], 1, "{doc}");

    // --json with the index narrowing; --limit.
    let run = sandbox.run(&["search", "NATO", "--json", "--limit", "1"]).await;
    let doc: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 1, "{doc}");
    assert!(doc["narrowed_by"].as_str().unwrap().contains("\"nat\""), "{doc}");
    assert!(doc["results"][0]["snippet"].as_str().unwrap().contains("NATO"), "{doc}");

    // Usage errors are named, with exit 2.
    let run = sandbox.run(&["search", "NATO", "--source", "Nope"]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("no source named \"Nope\""), "{}", run.stderr);
    let run = sandbox.run(&["search", "(NATO"]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("does not parse"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_whose_text_changes_after_indexing_is_found_by_its_new_text() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(2);
    let short = || Item {
        guid: "w1",
        title: "Ministers meet in Brussels",
        link: "https://wire.example/brussels",
        // A headline only: the first report with a text becomes the story's lead.
        text: "",
        date: &d,
    };
    server.serve("/wire.xml", "application/rss+xml", rss(&[short()])).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[])).await;
    let sandbox = Sandbox::new(&format!("{CONFIG_TAIL}{}", sources(&server)));
    sandbox.run(&["poll"]).await.ok();
    let run = sandbox.run(&["search", "Brussels"]).await;
    assert!(run.ok().stdout.contains("Ministers meet in Brussels"), "{}", run.stdout);
    assert!(
        sandbox
            .run(&["search", "Stoltenberg"])
            .await
            .ok()
            .stdout
            .contains("no stored story")
    );

    // Another outlet's report of the same event, with a text, becomes the story's lead.
    let d2 = rfc2822_hours_ago(1);
    let full = Item {
        guid: "d1",
        title: "Ministers meet in Brussels",
        link: "https://wire.example/brussels",
        text: "Ministers met in Brussels on Tuesday; Jens Stoltenberg spoke about air defence and the \
               long-term support for Ukraine, and about the next summit.",
        date: &d2,
    };
    server.reset().await;
    server.serve("/wire.xml", "application/rss+xml", rss(&[short()])).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[full])).await;
    sandbox.run(&["poll"]).await.ok();
    let run = sandbox.run(&["search", "Stoltenberg"]).await;
    assert!(run.ok().stdout.contains("Ministers meet in Brussels"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_drops_old_texts_shrinks_the_file_and_keeps_what_makes_items_known() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(1);
    // 300 stories of 16 KB each: some 5 MB of text to prune.
    let texts: Vec<(String, String, String, String)> = (0..300)
        .map(|i| {
            let words: String = (0..2_000).map(|w| format!("w{}x{} ", i, w % 97)).collect();
            (
                format!("g{i}"),
                format!("Report number {i} on harbour works"),
                format!("https://wire.example/r/{i}"),
                words,
            )
        })
        .collect();
    let mut items: Vec<Item> = texts
        .iter()
        .map(|(g, t, l, x)| Item {
            guid: g,
            title: t,
            link: l,
            text: x,
            date: &d,
        })
        .collect();
    // One story matches a topic mailed only in the digest: queued, never sent, never pruned.
    items.push(Item {
        guid: "nato",
        title: "NATO opens a new office",
        link: "https://wire.example/nato-office",
        text: "NATO opened a liaison office in Tokyo, the alliance said.",
        date: &d,
    });
    let sandbox = polled_keeping_an_hour(&server, &items).await;
    let run = sandbox.run(&["search", "w7x3"]).await;
    assert!(run.ok().stdout.contains("Report number 7 on"), "{}", run.stdout);

    // Three hours on, as the clock every stage reads says: past `keep` and the window.
    let run = sandbox.run_later("3h", &["prune", "--json"]).await;
    let done: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(done["pruned"], 300, "{done}");
    assert_eq!(done["kept"], 1, "the queued story stays: {done}");
    assert_eq!(done["needs_vacuum"], false, "{done}");
    let (before, after) = (
        done["bytes_before"].as_u64().unwrap(),
        done["bytes_after"].as_u64().unwrap(),
    );
    eprintln!("database before {before} bytes, after {after}");
    assert!(before > 4_000_000, "{done}");
    assert!(after < before / 3, "the file shrank: {done}");

    // The texts are gone from the index, the titles stay; the queued story is whole.
    let run = sandbox.run(&["search", "w7x3"]).await;
    assert!(run.ok().stdout.contains("no stored story"), "{}", run.stdout);
    let run = sandbox
        .run(&["search", "intitle:harbour", "--limit", "500", "--json"])
        .await;
    let found: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(found["results"].as_array().unwrap().len(), 300, "{found}");
    let run = sandbox.run(&["search", "liaison"]).await;
    assert!(run.ok().stdout.contains("NATO opens a new office"), "{}", run.stdout);
    // The feed still carries them, and one more: not one of them comes back as new.
    let d2 = rfc2822_hours_ago(0);
    items.push(Item {
        guid: "later",
        title: "A later report on the harbour",
        link: "https://wire.example/later",
        text: "Work on the harbour goes on.",
        date: &d2,
    });
    server.reset().await;
    server.serve("/wire.xml", "application/rss+xml", rss(&items)).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[])).await;
    let run = sandbox.run(&["poll", "--json"]).await;
    let polled: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(polled["new_items"], 1, "{polled}");
    // The titles stay for `stories`.
    let run = sandbox.run(&["stories", "--all", "--since", "1d"]).await;
    assert!(
        run.ok().stdout.contains("Report number 299 on harbour works"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_shorter_than_the_dedup_window_is_refused() {
    let sandbox = Sandbox::new(
        "[storage]\nkeep = \"1h\"\n\n[[topic]]\nname = \"N\"\nkeywords = [\"NATO\"]\n\n\
         [[source]]\nname = \"S\"\nurl = \"http://127.0.0.1:9/f\"\n",
    );
    let run = sandbox.run(&["check"]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("storage.keep (1h) must be at least dedup.window (3d)"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_indexes_new_stories_and_prunes_old_ones_on_its_own() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(1);
    let old = Item {
        guid: "old",
        title: "Harbour works begin",
        link: "https://wire.example/harbour",
        text: "Work on the new harbour wall began on Monday.",
        date: &d,
    };
    let sandbox = polled_keeping_an_hour(&server, &[old]).await;

    // The daemon's first upkeep, once its first polls are done, three hours on (the clock
    // set, not waited for): the index catches up, the story older than `keep` loses its text.
    let mut daemon = Daemon::start_with(&sandbox, &[("NEWSWATCH_CLOCK_OFFSET", "3h")]);
    let log = daemon.wait_for("old stories' texts pruned").await.to_string();
    assert!(log.contains("pruned=1"), "{log}");
    daemon.stop("-TERM").await;
    let run = sandbox.run(&["search", "harbour wall"]).await;
    assert!(run.ok().stdout.contains("no stored story"), "{}", run.stdout);
    let run = sandbox.run(&["search", "intitle:harbour"]).await;
    assert!(
        run.ok().stdout.contains("Harbour works begin"),
        "the title stays: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_story_in_a_message_not_sent_yet_is_not_pruned() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(1);
    let items = [Item {
        guid: "nato",
        title: "NATO opens a new office",
        link: "https://wire.example/nato-office",
        text: "NATO opened a liaison office in Tokyo, the alliance said.",
        date: &d,
    }];
    server.serve("/wire.xml", "application/rss+xml", rss(&items)).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[])).await;
    // The mail server is down: the alert stays in the outbox, the story is no longer queued.
    let smtp = DeadPort::new();
    let sandbox = Sandbox::new(&format!(
        "{}\n[storage]\nkeep = \"1h\"\n\n[dedup]\nwindow = \"1h\"\n\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\n\
         [[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\nalert = \"immediate\"\n\n{}",
        smtp_email(smtp.port),
        sources(&server)
    ));
    sandbox.run(&["poll"]).await;
    let outbox = sandbox.run(&["outbox"]).await;
    assert!(
        outbox.ok().stdout.contains("(alert, 1 story) not sent"),
        "{}",
        outbox.stdout
    );

    // Three hours on, as the clock every stage reads says: past `keep` and the window.
    let run = sandbox.run_later("3h", &["prune", "--json"]).await;
    let done: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert_eq!(
        (done["pruned"].as_u64(), done["kept"].as_u64()),
        (Some(0), Some(1)),
        "{done}"
    );
    let run = sandbox.run(&["search", "liaison"]).await;
    assert!(run.ok().stdout.contains("NATO opens a new office"), "{}", run.stdout);
}
