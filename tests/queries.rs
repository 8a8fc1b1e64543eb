//! Topics written as queries and keywords, matched by the real binary against a feed served on
//! 127.0.0.1: every operator, the word-boundary traps, phrases, possessives, prefixes, full-width
//! letters, Japanese substrings, case-sensitive terms; and `newswatch explain` on a file and a URL.

mod common;

use std::collections::BTreeMap;

use common::*;

const TOPICS: &str = r#"
[[topic]]
name = "Keywords"
keywords = ["NATO", "SDF", "Self-Defense Forces", "自衛隊"]

[[topic]]
name = "Prefix"
query = 'Ukrain*'

[[topic]]
name = "Exclude"
query = 'NATO -football -"press release"'

[[topic]]
name = "TitleOnly"
query = 'intitle:NATO'

[[topic]]
name = "Site"
query = 'NATO site:a.example'

[[topic]]
name = "Near"
query = 'NATO NEAR/4 Japan'

[[topic]]
name = "Precedence"
query = 'Japan Ukraine OR Russia'

[[topic]]
name = "Case"
keywords = ["SDF"]
case_sensitive = ["SDF"]
"#;

/// (id, title, body, host)
const ITEMS: &[(&str, &str, &str, &str)] = &[
    (
        "A",
        "Chef Donato opens a bistro",
        "Natural produce from the SDFormat farm.",
        "a.example",
    ),
    ("B", "NATO's summit opens", "Leaders met.", "a.example"),
    ("C", "Japan's Self Defense Forces train", "Drills.", "b.example"),
    ("D", "Ukrainian grain exports rise", "Ships left.", "b.example"),
    ("E", "ＮＡＴＯ首脳会議が開幕", "首脳が集まった。", "b.example"),
    ("F", "陸上自衛隊の隊員が訓練", "演習が続く。", "b.example"),
    ("G", "NATO football friendly", "A match.", "a.example"),
    ("H", "Alliance news", "The NATO press release said little.", "a.example"),
    ("I", "NATO said on Monday that Japan would join", "", "b.example"),
    (
        "J",
        "NATO warned, and after a very long list of many other words, finally Japan",
        "",
        "b.example",
    ),
    ("K", "Japan and Russia talk", "", "b.example"),
    ("L", "sdf files leaked", "", "b.example"),
    ("M", "SDF drills", "", "b.example"),
];

fn feed() -> String {
    let items: Vec<Item> = ITEMS
        .iter()
        .map(|(id, title, body, host)| Item {
            guid: id,
            title,
            link: Box::leak(format!("https://{host}/{id}").into_boxed_str()),
            text: body,
            date: Box::leak(rfc2822_hours_ago(1).into_boxed_str()),
        })
        .collect();
    rss(&items)
}

/// Topic name -> item ids that matched it, from a `digest --dry-run`: a story is listed once,
/// under its first topic, and names the others ("also matches: ...").
fn sections(digest: &str) -> BTreeMap<String, Vec<String>> {
    let ids: BTreeMap<&str, &str> = ITEMS.iter().map(|(id, title, _, _)| (*title, *id)).collect();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    let mut story = None;
    for line in digest.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            let name = rest.rsplit_once(" (").map_or(rest, |(n, _)| n).to_string();
            out.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(title), Some(topic)) = (line.strip_prefix("* "), &current) {
            let id = ids.get(title).unwrap_or_else(|| panic!("unknown title {title:?}"));
            out.get_mut(topic).unwrap().push(id.to_string());
            story = Some(id.to_string());
        } else if let (Some((_, also)), Some(id)) = (line.split_once("(also matches: "), &story) {
            for topic in also.trim_end_matches(')').split(", ") {
                out.entry(topic.to_string()).or_default().push(id.clone());
            }
        }
    }
    for list in out.values_mut() {
        list.sort();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operator_and_trap_through_the_binary() {
    let feeds = FeedServer::start().await;
    feeds.serve("/rss.xml", "application/rss+xml", feed()).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n{TOPICS}\n[[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        feeds.url("/rss.xml")
    ));
    sandbox.run(&["poll"]).await.ok();
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let got = sections(&dry.ok().stdout);
    let want = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // Donato, natural and SDFormat are not NATO, nat or SDF; NATO's, full-width ＮＡＴＯ,
    // "Self Defense Forces" and 自衛隊 inside a longer word are.
    assert_eq!(
        got["Keywords"],
        want(&["B", "C", "E", "F", "G", "H", "I", "J", "L", "M"]),
        "{dry:?}"
    );
    assert_eq!(got["Prefix"], want(&["D"]));
    assert_eq!(
        got["Exclude"],
        want(&["B", "E", "I", "J"]),
        "-football and -\"press release\""
    );
    assert_eq!(
        got["TitleOnly"],
        want(&["B", "E", "G", "I", "J"]),
        "H has NATO only in its text"
    );
    assert_eq!(got["Site"], want(&["B", "G", "H"]));
    assert_eq!(got["Near"], want(&["I"]), "four words apart, not fourteen");
    assert_eq!(got["Precedence"], want(&["K"]), "Japan AND (Ukraine OR Russia)");
    assert_eq!(got["Case"], want(&["M"]), "SDF, not sdf");
    assert!(!dry.stdout.contains("Chef Donato"), "the trap item matched something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_a_file_and_a_url() {
    let feeds = FeedServer::start().await;
    let paragraphs: String = (1..=6)
        .map(|i| {
            if i == 6 {
                "<p>In the sixth paragraph, officials confirmed that NATO would hold the drill in Japan.</p>"
                    .to_string()
            } else {
                format!("<p>Paragraph {i} of background about regional weather and markets, long enough to count.</p>")
            }
        })
        .collect();
    let page = format!(
        "<html><head><title>Site | Drill news</title></head><body><nav>NATO menu football</nav><article><h1>Drill news</h1>{paragraphs}</article><footer>football scores</footer></body></html>"
    );
    feeds.serve("/article", "text/html; charset=utf-8", page).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\n{TOPICS}\n[[source]]\nname = \"Wire\"\nurl = \"{}\"\n",
        feeds.url("/rss.xml")
    ));

    let run = sandbox
        .run(&["explain", "--topic", "Exclude", &feeds.url("/article")])
        .await;
    let out = &run.ok().stdout;
    assert!(
        out.contains("read as: (NATO AND NOT football AND NOT \"press release\")"),
        "{out}"
    );
    assert!(out.contains("title:   Drill news"), "{out}");
    assert!(
        out.contains("match:   yes"),
        "the keyword in paragraph six counts; nav and footer do not: {out}"
    );
    assert!(out.contains("snippet: ") && out.contains("*NATO*"), "{out}");

    let story = sandbox.path("story.txt");
    std::fs::write(&story, "NATO football friendly\nThe match ended 2-1.\n").unwrap();
    let run = sandbox
        .run(&["explain", "--topic", "Exclude", story.to_str().unwrap()])
        .await;
    let out = &run.ok().stdout;
    assert!(out.contains("match:   no"), "{out}");
    let football = out
        .lines()
        .find(|l| l.trim_start().starts_with("NOT football"))
        .unwrap();
    assert!(football.contains("title 1"), "{football}");

    let run = sandbox
        .run(&["explain", "--topic", "Nope", story.to_str().unwrap()])
        .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("no topic named \"Nope\"") && run.stderr.contains("Keywords"),
        "{}",
        run.stderr
    );
}

fn article_page(lead: &str, sixth: &str) -> String {
    let paragraphs: String = (1..=6)
        .map(|i| {
            if i == 6 {
                format!("<p>{sixth}</p>")
            } else {
                format!("<p>{lead} Paragraph {i} carries background on markets and the weather, at some length.</p>")
            }
        })
        .collect();
    format!(
        "<html><head><title>Story</title></head><body><nav>Home</nav><article><h1>Story</h1>{paragraphs}</article></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_matches_the_article_and_retries_failed_ones() {
    let feeds = FeedServer::start().await;
    let base = feeds.url("");
    let date = rfc2822_hours_ago(1);
    let x = format!("{base}/art/x");
    let y = format!("{base}/art/y");
    let z = format!("{base}/art/z");
    let items = [
        Item {
            guid: "x",
            title: "Markets close higher",
            link: &x,
            text: "A short note.",
            date: &date,
        },
        Item {
            guid: "y",
            title: "Weekend weather",
            link: &y,
            text: "Sunny.",
            date: &date,
        },
        Item {
            guid: "z",
            title: "NATO ministers meet",
            link: &z,
            text: "Ministers met.",
            date: &date,
        },
    ];
    feeds.serve("/rss.xml", "application/rss+xml", rss(&items)).await;
    feeds
        .serve(
            "/art/x",
            "text/html",
            article_page("Stocks rose.", "In the sixth paragraph, NATO is named at last."),
        )
        .await;
    feeds.serve_status("/art/y", 500).await;
    feeds.serve_status("/art/z", 404).await;
    let sandbox = Sandbox::new(&format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\nper_host = 8\n[[topic]]\nname = \"Alliance\"\nkeywords = [\"NATO\"]\n\
         [[source]]\nname = \"Wire\"\nurl = \"{}\"\nfull_text = true\n",
        feeds.url("/rss.xml")
    ));

    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok().stdout.contains(
            "Wire: 3 new entries, 2 new stories matched, 2 articles did not load (tried again at the next polls)"
        ),
        "{}",
        poll.stdout
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(
        text.contains("Markets close higher"),
        "keyword only in the article's sixth paragraph: {text}"
    );
    assert!(
        text.contains("In the sixth paragraph, *NATO* is named"),
        "snippet from where the match is: {text}"
    );
    assert!(
        text.contains("NATO ministers meet"),
        "a failed article leaves the summary match: {text}"
    );
    assert!(!text.contains("Weekend weather"));

    // The article that failed loads now and matches: the story is queued at the next poll.
    feeds
        .serve(
            "/art/y",
            "text/html",
            article_page("Rain later.", "NATO planes will fly over the city on Sunday."),
        )
        .await;
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok()
            .stdout
            .contains("Wire: unchanged, 1 matched on articles that loaded only now\n"),
        "{}",
        poll.stdout
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    assert!(dry.ok().stdout.contains("Weekend weather"), "{}", dry.stdout);
}

#[tokio::test]
async fn a_query_nested_too_deep_or_a_term_too_long_is_an_error_not_a_crash() {
    let deep = |n: usize| format!("{}NATO{}", "(".repeat(n), ")".repeat(n));
    let sandbox = Sandbox::new(&format!(
        "[[topic]]\nname = \"Deep\"\nquery = '{}'\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n",
        deep(6_000)
    ));
    let check = sandbox.run(&["check"]).await;
    assert_eq!(check.code, Some(2), "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("topic \"Deep\": query: groups and negations nested more than 50 deep"),
        "{}",
        check.stderr
    );

    let long = "x".repeat(100_000);
    sandbox.write_config(&format!(
        "[[topic]]\nname = \"Long\"\nkeywords = [\"{long}\"]\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n"
    ));
    let check = sandbox.run(&["check"]).await;
    assert_eq!(check.code, Some(2), "{}", check.stderr);
    assert!(check.stderr.contains("a term of 100000 characters"), "{}", check.stderr);

    sandbox.write_config(
        "[[topic]]\nname = \"T\"\nkeywords = [\"NATO\"]\n\n[[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n",
    );
    let search = sandbox.run(&["search", &deep(10_000)]).await;
    assert_eq!(search.code, Some(2), "{}", search.stderr);
    assert!(search.stderr.contains("column 51"), "{}", search.stderr);
}
