//! Sources without feeds, with the real binary against pages served on 127.0.0.1: a page with a
//! links selector, one without, one that advertises its feed, an article that fails to load, and
//! a selector that matches nothing.

mod common;

use common::*;

fn article(title: &str, date: Option<&str>, text: &str) -> String {
    let meta = date
        .map(|d| format!("<meta property=\"article:published_time\" content=\"{d}\">"))
        .unwrap_or_default();
    format!(
        "<html><head><title>Ministry | {title}</title><meta property=\"og:title\" content=\"{title}\">{meta}</head>\
         <body><nav>Home NATO menu</nav><article><h1>{title}</h1><p>{text}</p>\
         <p>Further details will be published by the press office in due course, officials said.</p></article></body></html>"
    )
}

fn index(links: &[(&str, &str)]) -> String {
    let items: String = links
        .iter()
        .map(|(href, text)| format!("<li><h2><a class=\"headline\" href=\"{href}\">{text}</a></h2></li>"))
        .collect();
    format!(
        "<html><head><title>Press releases</title></head><body><nav><a href=\"/about/the-ministry-and-its-work\">About</a>\
         <a href=\"/press/tag/defence\">Defence</a></nav><main><ul>{items}</ul><a href=\"/press/page/2\">Next</a></main></body></html>"
    )
}

fn config(sources: &str) -> String {
    format!(
        "[fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\nper_host = 8\n\
         [[topic]]\nname = \"Alliance\"\nkeywords = [\"NATO\", \"自衛隊\"]\n{sources}"
    )
}

fn recent() -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_with_a_selector_new_links_only_and_failed_articles_retried() {
    let site = FeedServer::start().await;
    let d = recent();
    site.serve(
        "/press/",
        "text/html",
        index(&[
            ("/press/2026/nato-talks-held", "NATO talks held"),
            ("/press/2026/budget-approved", "Budget approved"),
            ("/press/2026/undated-notice", "Notice"),
        ]),
    )
    .await;
    site.serve(
        "/press/2026/nato-talks-held",
        "text/html",
        article("NATO talks held", Some(&d), "The minister met NATO officials."),
    )
    .await;
    site.serve(
        "/press/2026/budget-approved",
        "text/html",
        article("Budget approved", Some(&d), "The cabinet approved the budget."),
    )
    .await;
    site.serve(
        "/press/2026/undated-notice",
        "text/html",
        article("Notice about NATO", None, "An undated NATO notice."),
    )
    .await;
    let sandbox = Sandbox::new(&config(&format!(
        "[[source]]\nname = \"Ministry\"\nurl = \"{}\"\nkind = \"page\"\nlinks = \"a.headline\"\n",
        site.url("/press/")
    )));

    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok()
            .stdout
            .contains("Ministry: 3 new entries, 1 new story matched"),
        "{}",
        poll.stdout
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(text.contains("* NATO talks held"), "{text}");
    assert!(
        !text.contains("Notice about NATO"),
        "undated on the first poll: seen, not reported"
    );
    assert!(!text.contains("Budget approved"));

    // Later: one new link, and one whose article fails; stored links are not fetched again.
    site.reset().await;
    site.serve(
        "/press/",
        "text/html",
        index(&[
            ("/press/2026/sdf-exercise", "SDF"),
            ("/press/2026/broken-release", "Broken"),
            ("/press/2026/nato-talks-held", "NATO talks held"),
            ("/press/2026/budget-approved", "Budget approved"),
        ]),
    )
    .await;
    site.serve(
        "/press/2026/sdf-exercise",
        "text/html",
        article("陸上自衛隊が訓練", Some(&d), "演習が続く。"),
    )
    .await;
    site.serve_status("/press/2026/broken-release", 500).await;
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok().stdout.contains(
            "Ministry: 1 new entry, 1 new story matched, 1 article did not load (tried again at the next polls)"
        ),
        "{}",
        poll.stdout
    );
    let requests = site.server.received_requests().await.unwrap();
    assert!(
        !requests.iter().any(|r| r.url.path() == "/press/2026/nato-talks-held"),
        "a stored link was fetched again"
    );

    // The broken article loads now: it is picked up although the page did not change.
    site.serve(
        "/press/2026/broken-release",
        "text/html",
        article("NATO statement", Some(&d), "NATO said so."),
    )
    .await;
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok().stdout.contains("Ministry: 1 new entry, 1 new story matched"),
        "{}",
        poll.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_pages_without_selector_and_pages_that_advertise_a_feed() {
    let site = FeedServer::start().await;
    let d = recent();
    site.serve(
        "/news/",
        "text/html",
        index(&[("/news/2026/11/nato-summit-opens", "NATO summit opens")]),
    )
    .await;
    site.serve(
        "/news/2026/11/nato-summit-opens",
        "text/html",
        article("NATO summit opens", Some(&d), "Leaders met."),
    )
    .await;
    let feed = rss(&[Item {
        guid: "f1",
        title: "NATO feed story",
        link: &site.url("/blog/nato-feed-story"),
        text: "From the feed.",
        date: &rfc2822_hours_ago(1),
    }]);
    site.serve("/blog/", "text/html", "<html><head><link rel=\"alternate\" type=\"application/rss+xml\" href=\"/blog/feed.xml\"></head><body><p>Blog</p></body></html>").await;
    site.serve("/blog/feed.xml", "application/rss+xml", feed).await;
    site.serve("/empty/", "text/html", index(&[])).await;
    let sandbox = Sandbox::new(&config(&format!(
        "[[source]]\nname = \"News\"\nurl = \"{}\"\n[[source]]\nname = \"Blog\"\nurl = \"{}\"\n\
         [[source]]\nname = \"Wrong selector\"\nurl = \"{}\"\nlinks = \"a.no-such-class\"\n",
        site.url("/news/"),
        site.url("/blog/"),
        site.url("/news/")
    )));
    let poll = sandbox.run(&["poll"]).await;
    let out = &poll.ok().stdout;
    assert!(
        out.contains("News: 1 new entry, 1 new story matched"),
        "auto: a page, links found without a selector: {out}"
    );
    assert!(
        out.contains("Blog: 1 new entry, 1 new story matched"),
        "auto: the advertised feed is polled: {out}"
    );
    assert!(
        out.contains(
            "Wrong selector: 0 new entries, 0 new stories matched; warning: links = \"a.no-such-class\" matched nothing on the page"
        ),
        "{out}"
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    assert!(dry.ok().stdout.contains("NATO feed story") && dry.stdout.contains("NATO summit opens"));

    // Decided once: the blog is a feed now, and a login page in its place is an error.
    site.reset().await;
    site.serve("/blog/", "text/html", "<html><body>Blog</body></html>")
        .await;
    site.serve(
        "/blog/feed.xml",
        "text/html",
        "<!DOCTYPE html><html><body><form>Sign in</form></body></html>",
    )
    .await;
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.stdout.contains("Blog: error: not a feed (got text/html)"),
        "{}",
        poll.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_articles_in_legacy_charsets_are_read_in_them() {
    let site = FeedServer::start().await;
    let d = recent();
    let encode = |encoding: &'static encoding_rs::Encoding, html: &str| encoding.encode(html).0.into_owned();
    // The index and one article name Shift_JIS only in a <meta>; the other article is EUC-JP,
    // said only by the server.
    let sjis_meta = |html: String| html.replacen("<head>", "<head><meta charset=\"Shift_JIS\">", 1);
    site.serve(
        "/ja/",
        "text/html",
        encode(
            encoding_rs::SHIFT_JIS,
            &sjis_meta(index(&[
                ("/ja/2026/rikuji", "陸上自衛隊"),
                ("/ja/2026/kuuji", "航空自衛隊"),
            ])),
        ),
    )
    .await;
    site.serve(
        "/ja/2026/rikuji",
        "text/html",
        encode(
            encoding_rs::SHIFT_JIS,
            &sjis_meta(article(
                "陸上自衛隊が北海道で訓練",
                Some(&d),
                "陸上自衛隊は演習を行った。",
            )),
        ),
    )
    .await;
    site.serve(
        "/ja/2026/kuuji",
        "text/html; charset=EUC-JP",
        encode(
            encoding_rs::EUC_JP,
            &article("航空自衛隊とNATOの共同訓練", Some(&d), "航空自衛隊が参加した。"),
        ),
    )
    .await;
    let sandbox = Sandbox::new(&config(&format!(
        "[[source]]\nname = \"Japanese ministry\"\nurl = \"{}\"\nkind = \"page\"\nlinks = \"a.headline\"\n",
        site.url("/ja/")
    )));
    let poll = sandbox.run(&["poll"]).await;
    assert!(
        poll.ok()
            .stdout
            .contains("Japanese ministry: 2 new entries, 2 new stories matched"),
        "{}",
        poll.stdout
    );
    let dry = sandbox.run(&["digest", "--dry-run"]).await;
    let text = &dry.ok().stdout;
    assert!(text.contains("陸上自衛隊が北海道で訓練"), "{text}");
    assert!(text.contains("航空自衛隊とNATOの共同訓練"), "{text}");
}
