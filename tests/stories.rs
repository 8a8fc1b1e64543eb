//! One story, many outlets, with the real binary against feeds served on 127.0.0.1: a wire
//! story carried by a second outlet under another headline and link is one story; a third
//! outlet's headline that is word for word the same but reports another event is not.

mod common;

use common::*;

const WIRE: &str = "Three officers of the Ground Self-Defense Force will join the NATO \
    Security Assistance and Training for Ukraine command in Wiesbaden from January, the \
    Defense Ministry said on Monday, the first time Japanese personnel serve there.";

/// The wire's report of the event every test here is about, published at `date`.
fn wire_story(date: &str) -> Item<'_> {
    Item {
        guid: "w-1",
        title: "Japan to send SDF officers to NATO's Ukraine command",
        link: "https://wire.example/asia/japan-sdf-nato-ukraine",
        text: WIRE,
        date,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wire_copy_under_another_headline_is_one_story_a_shared_headline_is_not() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(3);
    let (d1, d2) = (rfc3339_hours_ago(2), rfc2822_hours_ago(1));
    server
        .serve("/wire.xml", "application/rss+xml", rss(&[wire_story(&d)]))
        .await;
    server
        .serve(
            "/daily.atom",
            "application/atom+xml",
            atom(&[Item {
                guid: "urn:daily:77",
                title: "UPDATE: Japan dispatches SDF officers to NATO Ukraine command",
                link: "https://daily.example/world/2026/11/23/77",
                text: WIRE,
                date: &d1,
            }]),
        )
        .await;
    server
        .serve(
            "/local.xml",
            "application/rss+xml",
            rss(&[
                Item {
                    guid: "l-10",
                    title: "Rice harvest up 3% in Niigata",
                    link: "https://local.example/news/10",
                    text: "Farmers in Niigata brought in more rice than last year, the prefecture said.",
                    date: &d2,
                },
                Item {
                    guid: "l-9",
                    title: "Japan to send SDF officers to NATO's Ukraine command",
                    link: "https://local.example/news/9",
                    text: "Lawmakers in the Diet questioned whether posting officers abroad needs a new law.",
                    date: &d2,
                },
            ]),
        )
        .await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\
         [[topic]]\nname = \"SDF and NATO\"\nkeywords = [\"SDF\", \"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Daily\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Local\"\nurl = \"{}\"\n",
        server.url("/wire.xml"),
        server.url("/daily.atom"),
        server.url("/local.xml"),
    ));
    sandbox.run(&["poll"]).await.ok();
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(
        text.contains("Also reported by: Daily"),
        "the copy names its outlet: {text}"
    );
    assert!(
        !text.contains("UPDATE: Japan dispatches"),
        "the copy is not a story of its own: {text}"
    );
    assert!(
        text.contains("Lawmakers in the Diet"),
        "the same headline over another event is its own story: {text}"
    );
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("You get this for the topic SDF and NATO."),
        "the footer says why: {text}"
    );
    assert_eq!(
        text.matches("Japan to send SDF officers").count(),
        2,
        "two stories under one headline: {text}"
    );

    // `stories` shows each story with the entries it is made of, the lead first.
    let json = sandbox.run(&["stories", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    let stories = doc["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 2, "the unmatched story is left out: {doc}");
    let wire = stories
        .iter()
        .find(|s| s["entries"].as_array().unwrap().len() == 2)
        .expect("the wire story with its copy");
    assert_eq!(wire["link"], "https://wire.example/asia/japan-sdf-nato-ukraine");
    assert_eq!(wire["state"], "queued");
    assert_eq!(wire["topics"], serde_json::json!(["SDF and NATO"]));
    let entries = wire["entries"].as_array().unwrap();
    assert_eq!(
        (entries[0]["source"].as_str(), entries[0]["lead"].as_bool()),
        (Some("Wire"), Some(true))
    );
    assert_eq!(entries[1]["source"], "Daily");
    assert_eq!(entries[1]["guid"], "urn:daily:77");
    assert!(entries[1]["published"].is_string() && entries[1]["first_seen"].is_string());
    // Polled at once, either may have come first: one began the story, the other joined it.
    let (joined, began) = match entries[0]["joined"].is_null() {
        true => (&entries[1], &entries[0]),
        false => (&entries[0], &entries[1]),
    };
    assert!(began["joined"].is_null(), "{doc}");
    assert_eq!(joined["joined"]["rule"], "copy", "{doc}");
    assert_eq!(joined["joined"]["with"], began["id"], "{doc}");

    // --why says how each entry joined: the copy, how alike, through which words.
    let id = wire["id"].as_i64().unwrap();
    let why = sandbox.run(&["stories", "--why", &format!("#{id}")]).await;
    let text = &why.ok().stdout;
    let (first, source) = (began["id"].as_i64().unwrap(), began["source"].as_str().unwrap());
    assert!(text.contains(&format!("[{first}] {source}, ")), "{text}");
    assert!(text.contains("began the story"), "{text}");
    assert!(
        text.contains(&format!(
            "a copy of [{first}] ({source}): bodies 1.00 alike; shared words: "
        )),
        "{text}"
    );
    assert!(
        text.contains("wiesbaden") && text.contains("ground"),
        "the shared words as written: {text}"
    );
    let missing = sandbox.run(&["stories", "--why", "9999"]).await;
    assert!(missing.stderr.contains("no story #9999"), "{}", missing.stderr);

    let all = sandbox.run(&["stories", "--all"]).await;
    let text = &all.ok().stdout;
    assert!(
        text.contains("Rice harvest up 3% in Niigata") && text.contains("matched no topic"),
        "{text}"
    );
    assert!(text.contains("* Wire, ") && text.contains("- Daily, "), "{text}");
    let unknown = sandbox.run(&["stories", "--topic", "Weather"]).await;
    assert!(
        unknown.stderr.contains("no topic named \"Weather\""),
        "{}",
        unknown.stderr
    );

    // Once mailed, a story says when.
    sandbox.run(&["digest"]).await.ok();
    let json = sandbox.run(&["stories", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    for story in doc["stories"].as_array().unwrap() {
        assert_eq!(story["state"], "sent", "{doc}");
        assert!(story["sent_at"].is_string(), "{doc}");
    }
}

/// Real SMTP on 127.0.0.1: a story mailed yesterday that two more outlets report today comes
/// back once, as a headline with the new outlets under "More coverage of earlier stories", in a
/// message that names the first (`References`); the next digest does not repeat it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_outlets_for_a_mailed_story_are_told_once_in_a_thread() {
    let mut smtp = SmtpServer::start().await;
    let server = FeedServer::start().await;
    let (d, d1) = (rfc2822_hours_ago(5), rfc2822_hours_ago(2));
    let wire = wire_story(&d);
    server.serve("/wire.xml", "application/rss+xml", rss(&[wire])).await;
    server.serve("/daily.xml", "application/rss+xml", rss(&[])).await;
    server.serve("/radio.xml", "application/rss+xml", rss(&[])).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\
         [email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\n\
         from = \"newswatch <newswatch@test.invalid>\"\nto = [\"analyst@test.invalid\"]\ntimeout = \"10s\"\n\
         [[topic]]\nname = \"SDF and NATO\"\nkeywords = [\"SDF\", \"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Daily\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Radio\"\nurl = \"{}\"\n",
        smtp.port,
        server.url("/wire.xml"),
        server.url("/daily.xml"),
        server.url("/radio.xml"),
    ));
    sandbox.run(&["poll"]).await.ok();
    sandbox.run(&["digest"]).await.ok();
    let first = smtp.next().await;
    assert!(first.text.contains("This is your first digest"), "{}", first.text);

    // Two more outlets carry the story (the wire's text under their own headlines), and a
    // new story comes in.
    server.reset().await;
    server.serve("/wire.xml", "application/rss+xml", rss(&[wire])).await;
    server
        .serve(
            "/daily.xml",
            "application/rss+xml",
            rss(&[
                Item {
                    guid: "d-1",
                    title: "UPDATE: Japan dispatches SDF officers to NATO Ukraine command",
                    link: "https://daily.example/world/77",
                    text: WIRE,
                    date: &d1,
                },
                Item {
                    guid: "d-2",
                    title: "NATO ministers meet in Brussels on air defence",
                    link: "https://daily.example/world/78",
                    text: "Defence ministers of the alliance met to discuss air defence for the eastern flank.",
                    date: &d1,
                },
            ]),
        )
        .await;
    server
        .serve(
            "/radio.xml",
            "application/rss+xml",
            rss(&[Item {
                guid: "r-1",
                title: "Officers to Wiesbaden",
                link: "https://radio.example/r/1",
                text: WIRE,
                date: &d1,
            }]),
        )
        .await;
    sandbox.run(&["poll"]).await.ok();
    sandbox.run(&["digest"]).await.ok();
    let second = smtp.next().await;
    assert!(
        second
            .subject
            .starts_with("newswatch: 1 new story (SDF and NATO: 1), more coverage of 1 earlier story, "),
        "{}",
        second.subject
    );
    let text = &second.text;
    let section = &text[text.find("== More coverage of earlier stories (1) ==").expect(text)..];
    assert!(
        section.contains("* Japan to send SDF officers to NATO's Ukraine command"),
        "{section}"
    );
    assert!(
        section.contains("Daily: https://daily.example/world/77")
            && section.contains("Radio: https://radio.example/r/1")
            && !section.contains("Wire:"),
        "the new outlets only: {section}"
    );
    assert!(
        !text.contains("Wiesbaden from January"),
        "not the full story again: {text}"
    );
    assert!(text.contains("NATO ministers meet in Brussels"), "{text}");
    assert!(
        text.contains("This digest has what newswatch found since the last one"),
        "{text}"
    );
    let headers = &second.raw[..second.raw.find("\r\n\r\n").unwrap()];
    assert!(
        headers.contains(&format!("References: <{}>", first.message_id))
            && headers.contains(&format!("In-Reply-To: <{}>", first.message_id)),
        "threaded under {}: {headers}",
        first.message_id
    );

    // Nothing new: no message, and above all not the same outlets again.
    sandbox.run(&["poll"]).await.ok();
    let run = sandbox.run(&["digest"]).await;
    run.ok();
    smtp.expect_nothing().await;
}

/// Real binary, feeds on 127.0.0.1, the default config: one event told three ways by three
/// outlets (the wire's report, a copy of it under another headline, another outlet's own account
/// with another headline and link, told from another angle) is one story, "Also reported by"
/// the two other outlets, and `stories --why` says why each joined; a different event on the
/// same subject reported the same day stays a story of its own. Each feed carries other news
/// too, as real feeds do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_in_three_wordings_is_one_story_another_event_of_its_subject_is_not() {
    let server = FeedServer::start().await;
    let dates: Vec<String> = (2..=6).rev().map(rfc2822_hours_ago).collect();
    let [d6, d5, d4, d3, d2] = &dates[..] else {
        unreachable!()
    };
    let wire = Item {
        guid: "w-1",
        title: "Japan to send SDF officers to NATO's Ukraine command in Germany",
        link: "https://wire.example/asia/japan-sdf-nato-ukraine",
        text: "Japan will send three Ground Self-Defense Force officers to the NATO command in \
               Wiesbaden that coordinates military aid to Ukraine, Defense Minister Gen Nakatani \
               said on Tuesday. The officers will start in January and work on logistics \
               planning, the first time Japanese personnel have been posted to the headquarters.",
        date: d5,
    };
    let copy = Item {
        guid: "urn:daily:77",
        title: "Japan dispatches Self-Defense Forces officers to NATO hub",
        link: "https://daily.example/world/2026/77",
        text: "TOKYO (Wire) - Japan will send three Ground Self-Defense Force officers to the NATO \
               command in Wiesbaden that coordinates military aid to Ukraine, Defense Minister Gen \
               Nakatani said on Tuesday. The officers will start in January and work on logistics \
               planning, the first time Japanese personnel have been posted to the headquarters.",
        date: d4,
    };
    let angle = Item {
        guid: "r-1",
        title: "Tokyo to post defense officials at NATO's Wiesbaden hub in first for Japan",
        link: "https://radio.example/news/tokyo-wiesbaden",
        text: "For the first time, Japanese military officers will serve at NATO's Wiesbaden \
               headquarters, which organises weapons deliveries and training for Kyiv. Opposition \
               lawmakers asked whether the posting of the three Ground Self-Defense Force \
               officers, due in January, stretches the limits of the constitution; Nakatani said \
               they would not handle lethal equipment.",
        date: d3,
    };
    let other = Item {
        guid: "l-1",
        title: "Japan and NATO agree to share cyber threat data",
        link: "https://local.example/news/cyber",
        text: "Japan and NATO will exchange information on cyberattacks against government \
               networks under an agreement signed in Brussels on Tuesday by Foreign Minister \
               Takeshi Iwaya and the alliance's deputy secretary general. The deal covers \
               ransomware groups and state-backed hackers.",
        date: d2,
    };
    // The rest of each outlet's feed: other news of the day.
    let news = [
        (
            "n0",
            "Rice harvest up 3% in Niigata",
            "https://news.example/0",
            "Farmers in Niigata brought in 3 percent more rice than last year, the prefectural government said, after a cool summer spared the crop.",
        ),
        (
            "n1",
            "Nikkei closes at record high on chip stocks",
            "https://news.example/1",
            "Tokyo's Nikkei average rose 1.8 percent to a record close, led by chipmakers Tokyo Electron and Advantest, as the yen weakened past 155 to the dollar.",
        ),
        (
            "n2",
            "Typhoon Kong-rey heads for Okinawa",
            "https://news.example/2",
            "Typhoon Kong-rey is expected to pass near Okinawa on Thursday with gusts of 200 km an hour, the Japan Meteorological Agency said, and airlines cancelled flights.",
        ),
        (
            "n3",
            "Toyota recalls 280,000 cars over faulty airbags",
            "https://news.example/3",
            "Toyota Motor will recall about 280,000 vehicles in Japan because front passenger airbags may not deploy in a crash, the transport ministry said.",
        ),
        (
            "n4",
            "Shinkansen services resume after power failure",
            "https://news.example/4",
            "Tokaido Shinkansen trains between Tokyo and Osaka ran again on Sunday evening after a power failure near Nagoya stopped services for three hours.",
        ),
        (
            "n5",
            "Osaka Expo draws 25 million visitors",
            "https://news.example/5",
            "The Osaka Expo closed on Monday after drawing 25 million visitors over six months, organisers said, short of the 28 million they had forecast.",
        ),
    ];
    let feed = |main: Option<&Item<'_>>, others: std::ops::Range<usize>| {
        let mut items: Vec<Item> = main.into_iter().map(|m| Item { ..*m }).collect();
        items.extend(news[others].iter().map(|&(guid, title, link, text)| Item {
            guid,
            title,
            link,
            text,
            date: d6,
        }));
        rss(&items)
    };
    let outlets = [
        ("/wire.xml", &wire, 0..2),
        ("/daily.xml", &copy, 2..4),
        ("/radio.xml", &angle, 4..6),
        ("/local.xml", &other, 0..1),
    ];
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\
         [[topic]]\nname = \"SDF and NATO\"\nkeywords = [\"SDF\", \"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Daily\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Radio\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Local\"\nurl = \"{}\"\n",
        server.url("/wire.xml"),
        server.url("/daily.xml"),
        server.url("/radio.xml"),
        server.url("/local.xml"),
    ));
    // Each outlet's report appears in its feed in the order they published, one poll each, as
    // a daemon's polls find them.
    for published in 0..=outlets.len() {
        server.reset().await;
        for (n, (path, item, others)) in outlets.iter().enumerate() {
            let main = (n < published).then_some(*item);
            server
                .serve(path, "application/rss+xml", feed(main, others.clone()))
                .await;
        }
        sandbox.run(&["poll", "--force"]).await.ok();
    }
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(
        text.contains("Also reported by: Daily <https://daily.example/world/2026/77>, Radio\n  <https://radio.example/news/tokyo-wiesbaden>"),
        "one story, three outlets, each with its link: {text}"
    );
    assert!(
        !text.contains("Japan dispatches Self-Defense") && !text.contains("Tokyo to post defense officials"),
        "the copy and the other account are not stories of their own: {text}"
    );
    assert!(
        text.contains("Japan and NATO agree to share cyber threat data"),
        "the other event is a story of its own: {text}"
    );

    let json = sandbox.run(&["stories", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json.ok().stdout).unwrap();
    let stories = doc["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 2, "{doc}");
    let event = stories
        .iter()
        .find(|s| s["entries"].as_array().unwrap().len() == 3)
        .unwrap_or_else(|| panic!("a story of three entries: {doc}"));
    let entries = event["entries"].as_array().unwrap();
    let joined = |source: &str| &entries.iter().find(|e| e["source"] == source).unwrap()["joined"];
    assert_eq!(joined("Daily")["rule"], "copy", "{doc}");
    let why = joined("Radio");
    assert_eq!(why["rule"], "event", "{doc}");
    assert!(
        why["score"].as_f64().unwrap() >= f64::from(newswatch::config::DEFAULT_CERTAINTY),
        "as sure as the default certainty: {doc}"
    );
    assert_eq!(why["weighed"], 2, "weighed against both entries of the story: {doc}");
    assert!(
        why["next"].as_f64().is_some_and(|n| n < 0.5),
        "the next story, far behind: {doc}"
    );
    assert!(
        why["shared"].as_array().unwrap().iter().any(|w| w == "wiesbaden"),
        "{doc}"
    );

    let id = event["id"].as_i64().unwrap().to_string();
    let run = sandbox.run(&["stories", "--why", &id]).await;
    let out = run.ok().stdout.clone();
    let radio = out
        .lines()
        .position(|l| l.contains("] Radio, "))
        .unwrap_or_else(|| panic!("{out}"));
    let line = out.lines().nth(radio + 1).unwrap_or_default();
    assert!(
        line.contains("the same event as [")
            && line.contains("sure over the 2 entries of the story weighed")
            && (line.contains("; the next story ") || line.contains("; no other story near"))
            && line.contains("shared words: ")
            && line.contains("wiesbaden"),
        "{out}"
    );
}

/// Real binary, feeds on 127.0.0.1: `poll --json` is one JSON object on stdout with a row per
/// source in config order, the totals, and each keyword's distinct stories (a copy carried by a
/// second outlet is one story, not two), for scripts and the shared benchmark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_json_counts_distinct_stories_per_keyword() {
    let server = FeedServer::start().await;
    let (d, d1) = (rfc2822_hours_ago(5), rfc2822_hours_ago(2));
    let wire = wire_story(&d);
    let copy = Item {
        guid: "d-1",
        title: "UPDATE: Japan dispatches SDF officers to NATO Ukraine command",
        link: "https://daily.example/world/77",
        text: WIRE,
        date: &d1,
    };
    let summit = Item {
        guid: "l-1",
        title: "NATO leaders meet in Vilnius",
        link: "https://local.example/news/1",
        text: "Alliance leaders gathered in the Lithuanian capital for a two-day summit.",
        date: &d1,
    };
    server.serve("/wire.xml", "application/rss+xml", rss(&[wire])).await;
    server
        .serve("/daily.xml", "application/rss+xml", rss(&[copy, summit]))
        .await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n\
         [[topic]]\nname = \"SDF and NATO\"\nkeywords = [\"SDF\", \"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Gone\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Daily\"\nurl = \"{}\"\n",
        server.url("/wire.xml"),
        server.url("/missing.xml"),
        server.url("/daily.xml"),
    ));
    let run = sandbox.run(&["poll", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON object on stdout");
    assert_eq!(run.code, Some(0), "one source failing is not all: {doc}");
    let rows = doc["sources"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(names, ["Wire", "Gone", "Daily"], "config order: {doc}");
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["new_items"].as_u64()),
        (Some("fetched"), Some(1))
    );
    assert_eq!(rows[1]["status"], "failed", "{doc}");
    assert!(rows[1]["error"].as_str().unwrap().contains("404"), "{doc}");
    assert_eq!(rows[2]["new_items"], 2, "{doc}");
    assert_eq!(
        (doc["new_items"].as_u64(), doc["failed"].as_u64()),
        (Some(3), Some(1)),
        "{doc}"
    );
    assert_eq!(
        doc["matches"],
        serde_json::json!({ "NATO": 2, "SDF": 1 }),
        "the copy is the wire's story: {doc}"
    );

    // Polled again, nothing changed: rows say so, and no keyword matched anything new.
    let again = sandbox.run(&["poll", "--json", "--force"]).await;
    let doc: serde_json::Value = serde_json::from_str(again.stdout.trim()).unwrap();
    assert_eq!(doc["sources"][0]["status"], "unchanged", "{doc}");
    assert_eq!(
        (doc["new_items"].as_u64(), doc["matches"].clone()),
        (Some(0), serde_json::json!({}))
    );
}

/// A topic added after the stories came in looks back with `backfill`: the unsent stories it
/// matches reach the next digest under it; a sent one is not sent again; a second run adds
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_added_later_looks_back_with_backfill() {
    let server = FeedServer::start().await;
    let d = rfc2822_hours_ago(2);
    let item = |guid: &'static str, title: &'static str, text: &'static str| Item {
        guid,
        title,
        link: "",
        text,
        date: "",
    };
    let items = [
        Item {
            link: "https://wire.example/1",
            date: &d,
            ..item(
                "1",
                "Grain ships leave Odesa",
                "Ukraine's grain corridor reopened on Monday.",
            )
        },
        Item {
            link: "https://wire.example/2",
            date: &d,
            ..item(
                "2",
                "NATO ministers meet on Ukraine",
                "NATO defence ministers discussed air defence for Ukraine.",
            )
        },
        Item {
            link: "https://wire.example/3",
            date: &d,
            ..item(
                "3",
                "Rice harvest up in Niigata",
                "Farmers brought in more rice than last year.",
            )
        },
    ];
    server.serve("/wire.xml", "application/rss+xml", rss(&items)).await;
    let config = |topics: &str| {
        format!(
            "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n{topics}\n[[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
            server.url("/wire.xml")
        )
    };
    let nato = "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n";
    let sandbox = Sandbox::new(&config(nato));
    sandbox.run(&["poll"]).await.ok();
    // NATO's story goes out in a digest before the new topic exists.
    sandbox.run(&["digest"]).await.ok();

    sandbox.write_config(&config(&format!(
        "{nato}[[topic]]\nname = \"Ukraine\"\nkeywords = [\"Ukraine\"]\n"
    )));
    let run = sandbox.run(&["backfill", "--topic", "Ukraine", "--since", "7d"]).await;
    run.ok();
    assert!(
        run.stdout
            .contains("Ukraine: 1 of the 2 stories of the last 7d that were never sent match"),
        "the sent NATO story is not looked at; the grain story matches: {}",
        run.stdout
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(text.contains("Grain ships leave Odesa"), "{text}");
    assert!(!text.contains("NATO ministers meet"), "sent once, not twice: {text}");
    assert!(!text.contains("Rice harvest"), "{text}");

    let again = sandbox.run(&["backfill", "--topic", "Ukraine"]).await;
    again.ok();
    assert!(
        again.stdout.contains("Ukraine: none of the 1 stories"),
        "{}",
        again.stdout
    );
    let unknown = sandbox.run(&["backfill", "--topic", "Nope"]).await;
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("no topic named \"Nope\"") && unknown.stderr.contains("NATO, Ukraine"),
        "{}",
        unknown.stderr
    );
}
