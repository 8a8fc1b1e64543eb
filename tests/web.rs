//! The pages (`[http] listen`) against the running daemon, over HTTP, with real stories: a
//! title with markup and `&`, one event carried by three outlets, a failing source, a message
//! the SMTP server refused until it was parked, a search with an error; and the token that a
//! listener other machines reach must have.

mod common;

use common::*;

const TOPICS: &str = "[[topic]]\nname = \"NATO\"\nkeywords = [\"NATO\"]\n\n\
                      [[topic]]\nname = \"Ukraine\"\nkeywords = [\"Ukraine\", \"deminers\"]\n";

/// Three outlets carrying one wire report (under their own links), a second story, and a
/// source that fails; polled once and a digest refused three times (parked) by the CLI.
async fn archive(feeds: &FeedServer, smtp: &SmtpServer, http: &str) -> Sandbox {
    let date = rfc2822_hours_ago(2);
    let later = rfc2822_hours_ago(1);
    let text = "NATO defence ministers met in Brussels on Thursday and agreed to send more air \
                defence systems to Ukraine before the winter, the alliance said in a statement.";
    for (name, guid) in [("wire", "w-1"), ("herald", "h-1"), ("gazette", "g-1")] {
        let link = feeds.url(&format!("/{name}/nato-air-defence?id=1&lang=en"));
        let deminers = feeds.url(&format!("/{name}/deminers"));
        let mut items = vec![Item {
            guid,
            title: "NATO & Ukraine: <b>\"air defence\"</b> talks <script>alert(1)</script>",
            link: &link,
            text,
            date: &date,
        }];
        if name == "wire" {
            items.push(Item {
                guid: "w-2",
                title: "Ukraine's deminers train in Lithuania",
                link: &deminers,
                text: "Deminers from Ukraine trained with instructors in Lithuania this week.",
                date: &later,
            });
        }
        feeds
            .serve(&format!("/{name}.xml"), "application/rss+xml", rss(&items))
            .await;
    }
    feeds.serve_status("/broken.xml", 500).await;
    let sources: String = [
        ("Wire", "wire"),
        ("Herald", "herald"),
        ("Gazette", "gazette"),
        ("Broken", "broken"),
    ]
    .iter()
    .map(|(name, path)| {
        format!(
            "[[source]]\nname = \"{name}\"\nurl = \"{}\"\n\n",
            feeds.url(&format!("/{path}.xml"))
        )
    })
    .collect();
    let sandbox = Sandbox::new(&format!(
        "{}retry = \"1s\"\nretry_max = \"1s\"\nretry_refused = \"1s\"\n\n{http}\n\
         [fetch]\ntimeout = \"5s\"\nhost_delay = \"0s\"\ninterval = \"1h\"\n\n{TOPICS}\n{sources}",
        smtp_email(smtp.port)
    ));
    sandbox.run(&["poll"]).await;
    smtp.script(|s| s.data_reply = Some((554, "5.7.1 content rejected".into())));
    for _ in 0..3 {
        let run = sandbox.run(&["digest"]).await;
        assert_eq!(run.code, Some(1), "{run:?}");
    }
    sandbox
}

async fn get(client: &reqwest::Client, url: String) -> (u16, reqwest::header::HeaderMap, String) {
    let r = client.get(url).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_show_stories_why_they_are_one_search_sources_and_the_outbox() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    let sandbox = archive(&feeds, &smtp, "[http]\nlisten = \"127.0.0.1:0\"\n").await;
    let mut daemon = Daemon::start(&sandbox);
    let base = format!("http://{}", daemon.listening().await);
    let client = reqwest::Client::new();

    // `/`: the event once, with the other two outlets, its snippet marked, and where it stands.
    let (status, headers, home) = get(&client, format!("{base}/")).await;
    assert_eq!(status, 200, "{home}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(!home.contains("<script"), "feed text is escaped: {home}");
    assert!(home.contains("<mark>NATO</mark> &#38; <mark>Ukraine</mark>"), "{home}");
    assert_eq!(
        home.matches("class=\"story\"").count(),
        2,
        "one story per event: {home}"
    );
    assert!(home.contains("Also reported by: "), "{home}");
    // The three outlets' own links, the lead's in the headline (whichever came first).
    for outlet in ["wire", "herald", "gazette"] {
        let href = feeds.url(&format!("/{outlet}/nato-air-defence?id=1&#38;lang=en"));
        assert!(home.contains(&format!("href=\"{href}\"")), "{outlet}'s link in {home}");
    }
    assert!(home.contains("<mark>NATO</mark>"), "{home}");
    assert!(home.contains("not delivered: digest #1 is parked"), "{home}");
    assert!(home.contains("<h2>NATO"), "grouped by topic: {home}");
    let (_, _, one_topic) = get(&client, format!("{base}/?topic=Ukraine&range=30d")).await;
    // Both stories match Ukraine; the other topic is named.
    assert_eq!(one_topic.matches("class=\"story\"").count(), 2, "{one_topic}");
    assert!(one_topic.contains("deminers</mark> train"), "{one_topic}");
    assert!(one_topic.contains("Also matches: NATO"), "{one_topic}");
    let (status, _, _) = get(&client, format!("{base}/?topic=Nope")).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&client, format!("{base}/?page=100000")).await;
    assert_eq!(status, 400, "paging is bounded");

    // `/story/ID`: every report, why it joined, the topic's terms, the message that carried it.
    let id = home
        .split("<article class=\"story\">")
        .find(|card| card.contains("air defence"))
        .and_then(|card| card.split("href=\"/story/").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the story's page")
        .to_string();
    let (status, _, story) = get(&client, format!("{base}/story/{id}")).await;
    assert_eq!(status, 200, "{story}");
    for outlet in ["Wire", "Herald", "Gazette"] {
        assert!(
            story.contains(&format!("<td data-label=\"Outlet\">{outlet}")),
            "{outlet} in {story}"
        );
    }
    assert!(story.contains("a copy of ["), "why each joined: {story}");
    assert!(story.contains("<strong>NATO</strong>: NATO"), "{story}");
    assert!(story.contains("parked after 3 refusals"), "{story}");
    assert!(
        !story.contains(&format!("href=\"/story/{id}\"")),
        "no link to itself: {story}"
    );
    assert!(!story.contains("<script"), "{story}");
    let (status, _, _) = get(&client, format!("{base}/story/999999")).await;
    assert_eq!(status, 404);

    // `/search`: hits, and a query error beside the box with its column.
    let (status, _, found) = get(&client, format!("{base}/search?q=deminers")).await;
    assert_eq!(status, 200, "{found}");
    assert!(found.contains("deminers train in Lithuania"), "{found}");
    let (status, _, error) = get(&client, format!("{base}/search?q=NATO%20AND%20(")).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error.contains("column 11: the query ends where a term was expected"),
        "{error}"
    );

    // `/sources`: the failing one first, with its error.
    let (_, _, sources) = get(&client, format!("{base}/sources")).await;
    let first = sources.split("<tbody>").nth(1).unwrap_or_default();
    assert!(
        first
            .trim_start()
            .starts_with("<tr class=\"attention\"><td data-label=\"Source\">Broken</td>"),
        "{sources}"
    );
    assert!(sources.contains("500"), "{sources}");

    // `/outbox`: both recipients' parked digests, with the reason.
    let (_, _, outbox) = get(&client, format!("{base}/outbox")).await;
    assert_eq!(outbox.matches("parked after 3 refusals").count(), 2, "{outbox}");
    assert!(outbox.contains("5.7.1 content rejected"), "{outbox}");

    // The Atom feed's entries carry the snippet and the outlets, and link to the story's page.
    let (_, _, atom) = get(&client, format!("{base}/feed.atom")).await;
    assert!(atom.contains(&format!("href=\"/story/{id}\"")), "{atom}");
    let outlets = atom.split("also reported by ").nth(1).unwrap_or_default();
    assert_eq!(
        ["Wire", "Herald", "Gazette"]
            .iter()
            .filter(|o| outlets.starts_with(*o) || outlets.contains(&format!(", {o}")))
            .count(),
        2,
        "{atom}"
    );
    assert!(atom.contains("air defence systems"), "the snippet: {atom}");

    // A topic taken out of the config: its stories stay on `/`, under its old name, last.
    let config = std::fs::read_to_string(sandbox.config_path()).unwrap();
    let ukraine = "[[topic]]\nname = \"Ukraine\"\nkeywords = [\"Ukraine\", \"deminers\"]\n";
    assert!(config.contains(ukraine));
    sandbox.write_config(&config.replace(ukraine, ""));
    daemon.signal("-HUP").await;
    daemon.wait_for("config reloaded").await;
    let (_, _, home) = get(&client, format!("{base}/")).await;
    let (nato, ukraine) = (home.find("<h2>NATO"), home.find("<h2>Ukraine"));
    assert!(nato.is_some() && nato < ukraine, "{home}");
    assert!(home.contains("deminers</mark> train"), "{home}");
    daemon.stop("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_page_and_the_feed_ask_for_it() {
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    let token = "correct-horse-battery-staple-42";
    let http = format!("[http]\nlisten = \"127.0.0.1:0\"\ntoken = \"{token}\"\n");
    let sandbox = archive(&feeds, &smtp, &http).await;
    let mut daemon = Daemon::start(&sandbox);
    let base = format!("http://{}", daemon.listening().await);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/",
        "/story/1",
        "/search?q=NATO",
        "/sources",
        "/outbox",
        "/feed.atom",
        "/metrics",
    ] {
        let (status, headers, _) = get(&client, format!("{base}{path}")).await;
        assert_eq!(status, 401, "{path} without the token");
        assert!(headers.contains_key("www-authenticate"), "{path}");
        let r = client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} with it");
        let r = client
            .get(format!("{base}{path}"))
            .bearer_auth("correct-horse-battery-staple-43")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with another");
    }
    let r = client
        .get(format!("{base}/feed.atom"))
        .basic_auth("reader", Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a feed reader's basic auth");

    // A browser logs in once: the cookie is HttpOnly and SameSite=Strict, and is not the token.
    let r = login(&client, &base, "wrong-wrong-wrong-wrong").await;
    assert_eq!(r.status(), 401);
    let r = login(&client, &base, token).await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(token), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let r = client
        .get(format!("{base}/"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Ten wrong tokens in a minute, and the form stops trying (the bearer header still works).
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = login(&client, &base, "guess-guess-guess-guess").await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses,
        [[401; 9].as_slice(), &[429]].concat(),
        "one wrong before, nine now"
    );
    let r = client.get(format!("{base}/")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    daemon.stop("-TERM").await;
}

#[tokio::test]
async fn a_listener_other_machines_reach_needs_a_token_to_start() {
    let config = |http: &str| {
        format!(
            "[http]\n{http}\n\n[[topic]]\nname = \"T\"\nkeywords = [\"x\"]\n\n\
             [[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n"
        )
    };
    // Refused while the config is read: nothing is bound.
    let open = Sandbox::new(&config("listen = \"0.0.0.0:0\""));
    for args in [&["check"][..], &["run"][..]] {
        let run = open.run(args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains("http.listen = \"0.0.0.0:0\""), "{}", run.stderr);
        assert!(run.stderr.contains("http.token_file"), "{}", run.stderr);
    }
    let weak = Sandbox::new(&config("listen = \"0.0.0.0:0\"\ntoken = \"secret\""));
    let run = weak.run(&["check"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("at least 16"), "{}", run.stderr);
    let given = Sandbox::new(&config("listen = \"0.0.0.0:8080\"\ntoken_file = \"token\""));
    std::fs::write(given.path("token"), "0123456789abcdef0123\n").unwrap();
    let run = given.run(&["check"]).await;
    assert!(run.ok().stdout.contains("each asks for http.token"), "{}", run.stdout);
}

/// Chromium, driven headless over WebDriver (Debian's `chromium` and `chromium-driver`),
/// reaching loopback only.
struct Browser {
    driver: tokio::process::Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    /// `None` when Chromium is not installed, outside CI (`.ci/run` installs it).
    async fn start() -> Option<Browser> {
        let installed = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs chromium and chromium-driver (.ci/run installs them)"
            );
            eprintln!("skipped: chromium and chromium-driver are not installed");
            return None;
        }
        let mut driver = tokio::process::Command::new("/usr/bin/chromedriver")
            .arg("--port=0")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(driver.stdout.take().unwrap()));
        let port = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').parse::<u16>().unwrap();
                }
            }
            panic!("chromedriver did not start");
        })
        .await
        .expect("chromedriver within 20 s");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            // Nothing but loopback: no DNS, no updates, no sync, no first-run pings.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
        ];
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        let created = browser.call(reqwest::Method::POST, "/session", caps).await;
        browser.session = created["sessionId"].as_str().expect("a session").to_string();
        Some(browser)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert!(value["value"]["error"].is_null(), "{path}: {value}");
        value["value"].clone()
    }

    /// Opens `url` at `width` px and returns (page width over the viewport's, links that are
    /// not http(s), console errors), with a screenshot left in `target/screenshots/`.
    async fn look(&self, url: &str, width: u32, name: &str) -> (bool, Vec<String>, Vec<String>) {
        use reqwest::Method;
        self.call(
            Method::POST,
            "/window/rect",
            serde_json::json!({"width": width, "height": 900}),
        )
        .await;
        self.call(Method::POST, "/url", serde_json::json!({ "url": url })).await;
        let script = "const d = document.documentElement; \
                      return [d.scrollWidth > window.innerWidth, \
                              Array.from(document.querySelectorAll('a[href], form[action]')) \
                                .map(e => e.href || e.action)];";
        let found = self
            .call(
                Method::POST,
                "/execute/sync",
                serde_json::json!({"script": script, "args": []}),
            )
            .await;
        let overflow = found[0].as_bool().unwrap();
        let odd: Vec<String> = found[1]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|h| !h.starts_with("http://") && !h.starts_with("https://"))
            .map(str::to_string)
            .collect();
        let logs = self
            .call(Method::POST, "/se/log", serde_json::json!({"type": "browser"}))
            .await;
        let errors = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["level"] == "SEVERE")
            .map(|l| l["message"].to_string())
            .collect();
        let shot = self.call(Method::GET, "/screenshot", serde_json::Value::Null).await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
        (overflow, odd, errors)
    }

    async fn stop(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_the_pages_fit_a_phone_and_a_desktop_without_errors() {
    let Some(browser) = Browser::start().await else { return };
    let feeds = FeedServer::start().await;
    let smtp = SmtpServer::start().await;
    let sandbox = archive(&feeds, &smtp, "[http]\nlisten = \"127.0.0.1:0\"\n").await;
    let mut daemon = Daemon::start(&sandbox);
    let base = format!("http://{}", daemon.listening().await);
    let pages = [
        ("index", "/".to_string()),
        ("story", "/story/1".into()),
        ("search", "/search?q=deminers".into()),
        ("search-error", "/search?q=NATO%20AND%20(".into()),
        ("sources", "/sources".into()),
        ("outbox", "/outbox".into()),
    ];
    for width in [1280, 390] {
        for (name, path) in &pages {
            let (overflow, odd, errors) = browser.look(&format!("{base}{path}"), width, name).await;
            assert!(!overflow, "{path} at {width} px is wider than the window");
            assert!(odd.is_empty(), "{path}: links that are not http(s): {odd:?}");
            // A page answering 4xx logs its status as a console error; that one is meant.
            let errors: Vec<&String> = errors
                .iter()
                .filter(|e| !(name.ends_with("error") && e.contains("400")))
                .collect();
            assert!(errors.is_empty(), "{path} at {width} px: console errors {errors:?}");
        }
    }
    browser.stop().await;
    daemon.stop("-TERM").await;
}

/// `/login`'s form sent with `token`.
async fn login(client: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    client
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap()
}
