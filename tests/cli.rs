//! The command line as a user meets it: config errors, `check`, `--help`, exit codes.

mod common;

use common::*;

const VALID: &str = r#"
[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "NATO"]

[[source]]
name = "Example"
url = "http://127.0.0.1:9/rss.xml"
"#;

#[tokio::test]
async fn shipped_config_is_valid() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/newswatch.toml");
    let out = tokio::process::Command::new(BIN)
        .arg("--config")
        .arg(&shipped)
        .arg("check")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("transport: file"), "{stdout}");
    // State stays out of config/.
    let db_line = stdout.lines().find(|l| l.starts_with("database:")).unwrap();
    assert!(
        db_line.ends_with("/data/newswatch.db") && !db_line.contains("/config/"),
        "{db_line}"
    );
}

#[tokio::test]
async fn check_summarises_the_config() {
    let sandbox = Sandbox::new(&format!(
        "[digest]\nat = [\"07:30\", \"19:00\"]\ntimezone = \"Asia/Tokyo\"\n{VALID}"
    ));
    let run = sandbox.run(&["check"]).await;
    run.ok();
    for expected in [
        "sources: 1",
        "stories: every outlet's report of an event is one story (certainty 0.90; within 3d)",
        "topics: 1",
        "Japan and NATO: (SDF OR NATO)",
        "transport: file",
        "next digest: ",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing in:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains(" JST (in "),
        "digest time shown in the digest time zone: {}",
        run.stdout
    );
}

#[tokio::test]
async fn config_errors_exit_2_with_file_line_and_key() {
    let cases: &[(&str, &[&str])] = &[
        ("[fetch]\nintervall = \"5m\"\n", &[":2:1:", "intervall"]),
        (
            "[fetch]\ninterval = \"5 parsecs\"\n",
            &[":2:12:", "interval", "invalid duration"],
        ),
        (
            "[digest]\ntimezone = \"Asia/Tokio\"\n",
            &[":2:", "timezone", "unknown time zone"],
        ),
        ("[email]\ntransport = \"carrier-pigeon\"\n", &[":2:", "carrier-pigeon"]),
        ("[email]\nsmtp_port = \"twenty-five\"\n", &[":2:", "smtp_port"]),
        (
            "[email]\ntransport = \"smtp\"\nsmtp_host = \"mail.example.org\"\nto = [\"a@example.org\"]\nusername = \"me\"\npassword_env = \"NW_TEST_UNSET_PASSWORD\"\n",
            &["NW_TEST_UNSET_PASSWORD", "email.username"],
        ),
        ("this is not toml\n", &[":1:"]),
        (
            "[[topic]]\nname = \"Q\"\nquery = 'NATO (Japan'\n",
            &[":3:15:", "topic \"Q\": query", "never closed"],
        ),
        (
            "[[topic]]\nname = \"Q\"\nquery = 'NATO'\nkeywords = [\"x\"]\n",
            &["either keywords or query"],
        ),
        // A number where a duration was meant: the error shows the right form.
        (
            "[fetch]\ninterval = 30\n",
            &[":2:12:", "write \"30s\", \"30m\" or \"30h\""],
        ),
        ("[digest]\nat = 8\n", &[":2:6:", "e.g. [\"08:00\", \"18:00\"]"]),
    ];
    for (prefix, needles) in cases {
        let sandbox = Sandbox::new(&format!("{prefix}{VALID}"));
        let run = sandbox.run(&["check"]).await;
        assert_eq!(run.code, Some(2), "{prefix:?}: {run:?}");
        let stderr = run.stderr.trim_end();
        assert_eq!(stderr.lines().count(), 1, "one line for {prefix:?}: {stderr}");
        assert!(
            stderr.contains(&sandbox.config_path().display().to_string()),
            "names the file: {stderr}"
        );
        for n in *needles {
            assert!(stderr.contains(n), "{n:?} missing for {prefix:?}: {stderr}");
        }
    }
}

#[tokio::test]
async fn every_command_refuses_an_invalid_config() {
    // Valid but for one value: a duration written as a bare number.
    let sandbox = Sandbox::new(&format!("[fetch]\ntimeout = 30\n{VALID}"));
    for cmd in [
        &["check"][..],
        &["poll"],
        &["digest"],
        &["digest", "--dry-run"],
        &["run"],
        &["mail-test"],
        &["sources"],
        &["explain", "--topic", "Japan and NATO", "README.md"],
    ] {
        let run = sandbox.run(cmd).await;
        assert_eq!(run.code, Some(2), "{cmd:?}: {run:?}");
        let stderr = run.stderr.trim_end();
        assert_eq!(stderr.lines().count(), 1, "{cmd:?}: {stderr}");
        let at = format!("{}:2:11:", sandbox.config_path().display());
        assert!(stderr.contains(&at) && stderr.contains("timeout"), "{cmd:?}: {stderr}");
        assert!(
            !sandbox.path("newswatch.db").exists(),
            "{cmd:?} touched the database before the config was valid"
        );
    }
}

#[tokio::test]
async fn missing_config_and_bad_usage() {
    let run = tokio::process::Command::new(BIN)
        .args(["--config", "/nonexistent/newswatch.toml", "check"])
        .output()
        .await
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("/nonexistent/newswatch.toml"), "{stderr}");
    assert!(
        stderr.contains("--config PATH or the NEWSWATCH_CONFIG variable") && stderr.contains("config/newswatch.toml"),
        "no hint: {stderr}"
    );

    // A clock moved by something that is not a duration is refused, naming the variable.
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/newswatch.toml");
    let run = tokio::process::Command::new(BIN)
        .arg("--config")
        .arg(&shipped)
        .arg("check")
        .env("NEWSWATCH_CLOCK_OFFSET", "soon")
        .output()
        .await
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("NEWSWATCH_CLOCK_OFFSET=\"soon\" is not a duration"),
        "{stderr}"
    );

    let run = tokio::process::Command::new(BIN)
        .arg("frobnicate")
        .output()
        .await
        .unwrap();
    assert_eq!(run.status.code(), Some(2));

    let help = tokio::process::Command::new(BIN).arg("--help").output().await.unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for cmd in [
        "check",
        "poll",
        "digest",
        "run",
        "mail-test",
        "--config",
        "NEWSWATCH_CONFIG",
    ] {
        assert!(help.contains(cmd), "--help lacks {cmd}: {help}");
    }
}

#[tokio::test]
async fn config_path_from_environment() {
    let sandbox = Sandbox::new(VALID);
    // From a folder without config/newswatch.toml, so that only the variable can lead to it.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(BIN)
        .arg("check")
        .current_dir(elsewhere.path())
        .env("NEWSWATCH_CONFIG", sandbox.config_path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let read = format!("config: {} (valid)", sandbox.config_path().display());
    assert!(stdout.contains(&read), "{stdout}");
}

#[tokio::test]
async fn readme_example_config_is_valid() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let from = readme.find("### Example").expect("README has an example config");
    let block = &readme[from..];
    let start = block.find("```toml").unwrap() + "```toml".len();
    let end = start + block[start..].find("```").unwrap();
    let sandbox = Sandbox::new(&block[start..end]);
    let out = sandbox
        .command(&["check"])
        .env("NEWSWATCH_SMTP_PASSWORD", "secret")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn check_refuses_folders_it_cannot_write() {
    // A file where a folder must go: nothing can be created under it, whoever runs the test.
    let sandbox = Sandbox::new("");
    std::fs::write(sandbox.path("blocker"), "").unwrap();
    for (extra, what) in [
        (
            "[storage]\ndatabase = \"blocker/newswatch.db\"\n",
            "the database folder",
        ),
        ("[email]\ndir = \"blocker/digests\"\n", "email.dir"),
    ] {
        sandbox.write_config(&format!("{extra}{VALID}"));
        for cmd in [&["check"][..], &["run"], &["poll"], &["digest"]] {
            let run = sandbox.run(cmd).await;
            assert_eq!(run.code, Some(2), "{cmd:?}: {run:?}");
            let path = sandbox.path("blocker").display().to_string();
            assert!(
                run.stderr.contains(what) && run.stderr.contains(&path) && run.stderr.contains("is not a folder"),
                "{cmd:?}: {}",
                run.stderr
            );
        }
    }
    assert!(!sandbox.path("newswatch.db").exists());
}

#[tokio::test]
async fn completions_and_manual_pages_need_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-config.toml");
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("--config")
            .arg(&missing)
            .args(args)
            .env_remove("NEWSWATCH_CONFIG");
        async move { Run::from(cmd.output().await.unwrap()) }
    };
    let bash = run(&["completions", "bash"]).await;
    bash.ok();
    assert!(
        bash.stdout.contains("_newswatch()") && bash.stdout.contains("import-opml"),
        "{}",
        bash.stdout
    );
    let zsh = run(&["completions", "zsh"]).await;
    zsh.ok();
    assert!(zsh.stdout.starts_with("#compdef newswatch"), "{}", zsh.stdout);
    let man = run(&["man"]).await;
    man.ok();
    assert!(
        man.stdout.contains(".TH newswatch 1") && man.stdout.contains("export\\-opml"),
        "{}",
        man.stdout
    );
    let pages = dir.path().join("man");
    run(&["man", "--dir", pages.to_str().unwrap()]).await.ok();
    let config = run(&["man", "--section", "5"]).await;
    config.ok();
    assert!(
        config.stdout.starts_with(".TH NEWSWATCH.TOML 5") && config.stdout.contains("\\fBcertainty\\fR"),
        "{}",
        config.stdout
    );
    for page in [
        "newswatch.1",
        "newswatch-poll.1",
        "newswatch-import-opml.1",
        "newswatch.toml.5",
    ] {
        assert!(
            pages.join(page).is_file(),
            "{page} in {:?}",
            std::fs::read_dir(&pages).unwrap().collect::<Vec<_>>()
        );
    }
}

/// `poll` on a terminal shows how far a long round is; piped, it prints only its report.
#[tokio::test]
async fn a_long_poll_shows_progress_on_a_terminal_only() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let feeds = FeedServer::start().await;
    let body = rss(&[Item {
        guid: "slow-1",
        title: "Slow news",
        link: "https://example.org/slow",
        text: "Slow news of the day.",
        date: "",
    }]);
    Mock::given(method("GET"))
        .and(path("/slow.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/rss+xml")
                .set_delay(std::time::Duration::from_millis(1700)),
        )
        .mount(&feeds.server)
        .await;
    let config = format!(
        "[fetch]\nallow_private = true\n\n[[topic]]\nname = \"T\"\nkeywords = [\"news\"]\n\n[[source]]\nname = \"Slow\"\nurl = \"{}\"\n",
        feeds.url("/slow.xml")
    );
    let piped = Sandbox::new(&config);
    let run = piped.run(&["poll"]).await;
    run.ok();
    assert!(!run.stderr.contains("polling ["), "{}", run.stderr);
    assert!(run.stdout.contains("Slow: 1 new"), "{}", run.stdout);

    // On a terminal (script(1) gives the command one): the progress line, then the report.
    let tty = Sandbox::new(&config);
    let command = format!("{BIN} --config {} poll", tty.config_path().display());
    let out = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("NEWSWATCH_CONFIG")
        .output()
        .await
        .expect("script(1), from util-linux");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(seen.contains("polling [") && seen.contains("0/1 sources"), "{seen}");
    assert!(seen.contains("Slow: 1 new"), "{seen}");
}

#[tokio::test]
async fn check_json_describes_the_config_or_says_why_it_is_invalid() {
    let sandbox = Sandbox::new(VALID);
    let run = sandbox.run(&["check", "--json"]).await;
    run.ok();
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(summary["valid"], true);
    assert_eq!(summary["sources"][0]["name"], "Example");
    assert_eq!(summary["sources"][0]["kind"], "auto");
    assert_eq!(summary["topics"][0]["name"], "Japan and NATO");
    assert_eq!(summary["transport"]["kind"], "file");
    assert_eq!(summary["dedup"]["rewrites"], true, "{summary}");
    assert!(summary["next_digest"].as_str().unwrap().contains('T'), "{summary}");

    sandbox.write_config("[[source]]\nname = \"A\"\nurl = 3\n");
    let run = sandbox.run(&["check", "--json"]).await;
    assert_eq!(run.code, Some(2));
    let invalid: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(invalid["valid"], false);
    assert!(invalid["error"].as_str().unwrap().contains("url"), "{invalid}");
}

#[tokio::test]
async fn one_value_may_stand_for_a_list_of_one() {
    let sandbox = Sandbox::new(
        "[digest]\nat = \"07:30\"\ntimezone = \"UTC\"\ndays = \"mon\"\n\n\
         [[topic]]\nname = \"T\"\nkeywords = \"NATO\"\nto = \"desk@example.org\"\n\n\
         [[source]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n",
    );
    let run = sandbox.run(&["check", "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&run.ok().stdout).unwrap();
    assert!(
        doc["next_digest"].as_str().unwrap().ends_with("T07:30:00+00:00"),
        "{doc}"
    );
    assert_eq!(doc["topics"][0]["query"], "NATO", "{doc}");
    assert_eq!(doc["topics"][0]["recipients"], serde_json::json!(["desk@example.org"]));
}

#[tokio::test]
async fn a_listen_address_in_use_is_said_once_and_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let sandbox = Sandbox::new(&format!("[http]\nlisten = \"{addr}\"\n{VALID}"));
    let run = sandbox.run(&["run"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let said = run.stderr.matches("in use").count();
    assert_eq!(said, 1, "{}", run.stderr);
    assert!(run.stderr.contains("http.listen"), "{}", run.stderr);
}
