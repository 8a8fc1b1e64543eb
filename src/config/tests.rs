//! Unit tests of config loading: defaults, located errors, refusals.

use super::*;

const MINIMAL: &str = r#"
[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "NATO"]

[[source]]
name = "Example"
url = "https://example.org/rss.xml"
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/newswatch/newswatch.toml"), |_| None)
}

fn err(text: &str) -> String {
    parse(text).expect_err("config should be rejected").to_string()
}

#[test]
fn minimal_config_gets_working_defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(
        c.storage.database,
        crate::model::Database::File("/etc/newswatch/newswatch.db".into())
    );
    assert_eq!(c.email.dir, Path::new("/etc/newswatch/digests"));
    assert_eq!(c.email.transport, TransportKind::File);
    assert_eq!(c.fetch.interval, Duration::from_secs(1800));
    assert_eq!(c.fetch.max_age, Duration::from_secs(7 * 86_400));
    assert_eq!(c.digest.at, vec![Time::constant(8, 0, 0, 0)]);
    assert_eq!(c.sources[0].interval, Duration::from_secs(1800));
    assert!(c.fetch.user_agent.starts_with("newswatch/"));
}

#[test]
fn contact_goes_into_the_user_agent() {
    let c = parse(&format!("[fetch]\ncontact = \"mailto:desk@example.org\"\n{MINIMAL}")).unwrap();
    assert_eq!(
        c.fetch.user_agent,
        format!("newswatch/{} (+mailto:desk@example.org)", env!("CARGO_PKG_VERSION"))
    );
    let e = err(&format!("[fetch]\ncontact = \"a\\nb\"\n{MINIMAL}"));
    assert!(e.contains("user_agent"), "{e}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
    assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
    assert!(parse_duration("30").is_err());
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("1mo").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("512KiB").unwrap(), 512 * 1024);
    assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
    assert_eq!(parse_size("1000").unwrap(), 1000);
    assert!(parse_size("10 parsecs").is_err());
}

#[test]
fn unknown_key_is_named_with_line_and_column() {
    let e = err(&format!("[fetch]\nintervall = \"5m\"\n{MINIMAL}"));
    assert!(e.contains("/etc/newswatch/newswatch.toml:2:1"), "{e}");
    assert!(e.contains("intervall"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

#[test]
fn bad_values_are_located() {
    let e = err(&format!("[fetch]\ninterval = \"5 minutes please\"\n{MINIMAL}"));
    assert!(e.contains(":2:12") && e.contains("invalid duration"), "{e}");
    let e = err(&format!("[digest]\ntimezone = \"Mars/Olympus\"\n{MINIMAL}"));
    assert!(e.contains(":2:") && e.contains("unknown time zone"), "{e}");
    let e = err(&format!("[digest]\nat = [\"8am\"]\n{MINIMAL}"));
    assert!(e.contains("invalid time"), "{e}");
    let e = err(&format!("[email]\ntransport = \"smpt\"\n{MINIMAL}"));
    assert!(e.contains("smpt") && e.contains(":2:"), "{e}");
    let e = err(&format!(
        "{MINIMAL}\n[[source]]\nname = \"Bad\"\nurl = \"ftp://example.org/x\"\n"
    ));
    assert!(e.contains("only http"), "{e}");
}

#[test]
fn username_needs_its_password_variable() {
    let text = format!(
        "[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\nsmtp_host = \"mail.example.org\"\nusername = \"me\"\n{MINIMAL}"
    );
    let e = err(&text);
    assert!(e.contains("NEWSWATCH_SMTP_PASSWORD"), "{e}");
    let c = Config::parse(&text, Path::new("x.toml"), |v| {
        (v == "NEWSWATCH_SMTP_PASSWORD").then(|| "pw".into())
    })
    .unwrap();
    assert_eq!(c.email.smtp.password.as_deref(), Some("pw"));
    assert!(
        !format!("{:?}", c.email).contains("pw\""),
        "password must not be printed"
    );
}

#[test]
fn clear_text_password_to_remote_host_is_refused() {
    let text = format!(
        "[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\nsmtp_host = \"mail.example.org\"\ntls = \"none\"\nusername = \"me\"\n{MINIMAL}"
    );
    let e = Config::parse(&text, Path::new("x.toml"), |_| Some("pw".into()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("in clear"), "{e}");
    let local = text.replace("mail.example.org", "127.0.0.1");
    assert!(Config::parse(&local, Path::new("x.toml"), |_| Some("pw".into())).is_ok());
}

#[test]
fn duplicates_and_empties_are_refused() {
    let e = err(&format!(
        "{MINIMAL}\n[[source]]\nname = \"Example\"\nurl = \"https://example.com/\"\n"
    ));
    assert!(e.contains("defined twice"), "{e}");
    assert!(err("[[source]]\nname = \"A\"\nurl = \"https://a.example/\"\n").contains("no [[topic]]"));
    let e = err(&MINIMAL.replace("[\"SDF\", \"NATO\"]", "[]"));
    assert!(e.contains("at least one keyword"), "{e}");
    assert!(err("[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\n").contains("smtp_host"));
}

#[test]
fn page_sources() {
    let c = parse(&format!(
        "{MINIMAL}\n[[source]]\nname = \"P\"\nurl = \"https://e.org/press/\"\nkind = \"page\"\nlinks = \"h2 a\"\n"
    ))
    .unwrap();
    let p = &c.sources[1];
    assert_eq!(
        (p.kind, p.full_text, p.links.as_deref()),
        (SourceKind::Page, true, Some("h2 a"))
    );
    assert_eq!(c.sources[0].kind, SourceKind::Auto);
    let e = err(&format!(
        "{MINIMAL}\n[[source]]\nname = \"P\"\nurl = \"https://e.org/\"\nlinks = \"a[[\"\n"
    ));
    assert!(e.contains("not a valid CSS selector"), "{e}");
}

#[test]
fn smtp_port_follows_tls_mode() {
    let c = |tls: &str| {
        parse(&format!(
            "[email]\ntransport = \"smtp\"\nsmtp_host = \"h\"\nto = [\"a@b.c\"]\ntls = \"{tls}\"\n{MINIMAL}"
        ))
        .unwrap()
        .email
        .smtp
        .port
    };
    assert_eq!((c("starttls"), c("tls"), c("none")), (587, 465, 25));
}

#[test]
fn the_smtp_password_may_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smtp-password"), "s3cret\n").unwrap();
    let smtp = "[email]\ntransport = \"smtp\"\nto = [\"a@b.c\"]\nsmtp_host = \"mail.example.org\"\nusername = \"me\"\n";
    let text = format!("{smtp}password_file = \"smtp-password\"\n{MINIMAL}");
    let c = Config::parse(&text, &dir.path().join("n.toml"), |_| None).unwrap();
    assert_eq!(
        c.email.smtp.password.as_deref(),
        Some("s3cret"),
        "read beside the config, newline dropped"
    );
    let both = format!("{smtp}password_file = \"smtp-password\"\npassword_env = \"X\"\n{MINIMAL}");
    let e = Config::parse(&both, &dir.path().join("n.toml"), |_| Some("x".into())).unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");
    let missing = format!("{smtp}password_file = \"nope\"\n{MINIMAL}");
    let e = Config::parse(&missing, &dir.path().join("n.toml"), |_| None).unwrap_err();
    assert!(
        e.to_string().contains("password for email.username: cannot read") && e.to_string().contains("nope"),
        "{e}"
    );
}

const PRIVATE_SOURCE: &str = r#"
[[topic]]
name = "T"
keywords = ["NATO"]

[[source]]
name = "Members"
url = "https://members.example.org/feed"
"#;

#[test]
fn sources_behind_a_login_or_a_token() {
    let text = format!(
        "{PRIVATE_SOURCE}user_agent = \"Reader/2\"\nallow_private = true\nusername = \"ann\"\npassword_env = \"MEMBERS_PASSWORD\"\n\
         headers = {{ \"X-Api-Key\" = {{ env = \"MEMBERS_TOKEN\" }}, \"Accept-Language\" = \"ja\" }}\n"
    );
    let env = |name: &str| match name {
        "MEMBERS_PASSWORD" => Some("hunter2".to_string()),
        "MEMBERS_TOKEN" => Some("t0ken".to_string()),
        _ => None,
    };
    let c = Config::parse(&text, Path::new("/etc/n.toml"), env).unwrap();
    let access = &c.sources[0].access;
    assert!(access.allow_private);
    assert_eq!(access.user_agent.as_deref(), Some("Reader/2"));
    assert_eq!(access.basic_auth, Some(("ann".to_string(), "hunter2".to_string())));
    assert_eq!(
        access.headers,
        [
            ("Accept-Language".to_string(), "ja".to_string()),
            ("X-Api-Key".to_string(), "t0ken".to_string())
        ]
    );
    let shown = format!("{:?}", c.sources[0]);
    assert!(!shown.contains("hunter2") && !shown.contains("t0ken"), "{shown}");

    // A source without them may not reach private addresses unless fetch says so.
    assert!(!parse(PRIVATE_SOURCE).unwrap().sources[0].access.allow_private);
    let all = format!("[fetch]\nallow_private = true\n{PRIVATE_SOURCE}");
    assert!(parse(&all).unwrap().sources[0].access.allow_private);
}

#[test]
fn bad_access_settings_are_named() {
    for (extra, expected) in [
        ("username = \"ann\"\n", "password_env"),
        ("password_env = \"X\"\n", "without a username"),
        ("username = \"a:b\"\npassword_env = \"X\"\n", "without a colon"),
        ("username = \"ann\"\npassword_env = \"UNSET\"\n", "UNSET is not set"),
        ("headers = { \"Bad Name\" = \"x\" }\n", "not a valid header name"),
        ("headers = { \"Host\" = \"x\" }\n", "HTTP sets it"),
        ("headers = { \"X-A\" = \"a\\r\\nInjected: yes\" }\n", "one line"),
        ("headers = { \"X-A\" = { env = \"UNSET\" } }\n", "UNSET is not set"),
        ("headers = { \"X-A\" = { } }\n", "needs env"),
        ("user_agent = \"two\\nlines\"\n", "one non-empty line"),
        (
            "username = \"ann\"\npassword_env = \"X\"\nheaders = { \"Authorization\" = \"Bearer t\" }\n",
            "not both",
        ),
    ] {
        let text = format!("{PRIVATE_SOURCE}{extra}");
        let e = Config::parse(&text, Path::new("/etc/n.toml"), |n| {
            (n == "X").then(|| "pw".to_string())
        })
        .expect_err(extra)
        .to_string();
        assert!(e.contains("source \"Members\"") && e.contains(expected), "{extra}: {e}");
    }
    let e = err(&PRIVATE_SOURCE.replace("https://members", "https://ann:pw@members"));
    assert!(e.contains("not in the URL"), "{e}");
}

#[test]
fn rewrites_group_by_default_and_copies_only_has_two_spellings() {
    let c = parse(MINIMAL).unwrap();
    assert!(c.dedup.rewrites && c.dedup.certainty == DEFAULT_CERTAINTY);
    let with = |dedup: &str| parse(&format!("[dedup]\n{dedup}\n{MINIMAL}"));
    assert!(!with("rewrites = false").unwrap().dedup.rewrites);
    assert_eq!(with("certainty = 0.95").unwrap().dedup.certainty, 0.95);
    // The older key keeps its meaning: 1 copies only, below 1 rewrites too.
    assert!(!with("similarity = 1.0").unwrap().dedup.rewrites);
    assert!(with("similarity = 0.265").unwrap().dedup.rewrites);
    for (bad, says) in [
        ("certainty = 1.0", "dedup.certainty must be above 0 and below 1"),
        ("certainty = 0", "dedup.certainty must be above 0 and below 1"),
        ("similarity = 1.5", "dedup.similarity must be above 0 and at most 1"),
        ("similarity = 1.0\nrewrites = true", "set only rewrites"),
    ] {
        let e = with(bad).expect_err(bad).to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}
