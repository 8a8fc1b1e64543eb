//! OPML in and out with real files: exports of other readers (tests/opml/) imported into a
//! config with comments, the config still loading and still saying what its author wrote, and
//! our own export read back.

mod common;

use common::*;

/// A config as a user writes one: comments, blank lines, an inline comment after a value.
const CONFIG: &str = r#"# Japan's SDF, NATO and Ukraine.
[fetch]
interval = "30m"   # not more often: be polite

[[topic]]
name = "Japan and NATO"
keywords = ["SDF", "NATO"]

# The one source I had before.
[[source]]
name = "The Japan Times"
url = "https://www.japantimes.co.jp/feed"
"#;

fn opml(name: &str) -> String {
    format!("{}/tests/opml/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn source_urls(config: &str) -> Vec<String> {
    let table: toml::Table = toml::from_str(config).unwrap();
    table["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn exports_of_four_readers_are_added_once_each_and_the_config_keeps_its_words() {
    let sandbox = Sandbox::new(CONFIG);
    let run = sandbox.run(&["import-opml", &opml("miniflux.opml")]).await;
    run.ok();
    assert!(run.stdout.contains("added 3 sources"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("+ Breaking Defense  https://breakingdefense.com/feed/  [Defense]"),
        "{}",
        run.stdout
    );
    // FreshRSS: the Japan Times is there already (without the trailing slash); an escaped
    // query string and quotes in a title come through as they were meant.
    let run = sandbox.run(&["import-opml", &opml("freshrss.opml")]).await;
    run.ok();
    assert!(run.stdout.contains("added 2 sources"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("= https://www.japantimes.co.jp/feed/  (as \"The Japan Times\")"),
        "{}",
        run.stdout
    );
    // NetNewsWire: folders two deep; Breaking Defense again; a feed:// URL refused.
    let run = sandbox.run(&["import-opml", &opml("netnewswire.opml")]).await;
    run.ok();
    assert!(run.stdout.contains("added 2 sources"), "{}", run.stdout);
    assert!(run.stdout.contains("[Europe / NATO]"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("! feed://example.org/podcast.xml: not an http(s) URL"),
        "{}",
        run.stdout
    );
    // newsboat: no folders; a feed without a title is named after its host.
    let run = sandbox.run(&["import-opml", &opml("newsboat.opml")]).await;
    run.ok();
    assert!(run.stdout.contains("added 2 sources"), "{}", run.stdout);
    assert!(run.stdout.contains("+ www.ukrinform.net  "), "{}", run.stdout);

    let config = std::fs::read_to_string(sandbox.config_path()).unwrap();
    assert!(
        config.starts_with(CONFIG.trim_end()),
        "the author's text is kept:\n{config}"
    );
    let urls = source_urls(&config);
    assert_eq!(urls.len(), 10, "{urls:#?}");
    assert!(urls.contains(
        &"https://news.google.com/rss/search?q=%22Self-Defense+Forces%22&hl=en-US&gl=US&ceid=US:en".to_string()
    ));
    let table: toml::Table = toml::from_str(&config).unwrap();
    let names: Vec<&str> = table["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Google News: \"Self-Defense Forces\""), "{names:?}");
    let check = sandbox.run(&["check"]).await;
    check.ok();
    assert!(check.stdout.contains("sources: 10 "), "{}", check.stdout);

    // Again: nothing new, and the file not touched.
    let again = sandbox.run(&["import-opml", &opml("miniflux.opml")]).await;
    again.ok();
    assert!(again.stdout.contains("nothing to add"), "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(sandbox.config_path()).unwrap(), config);
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_a_broken_file_is_named() {
    let sandbox = Sandbox::new(CONFIG);
    let run = sandbox.run(&["import-opml", "--dry-run", &opml("miniflux.opml")]).await;
    run.ok();
    assert!(run.stdout.contains("would add 3 sources"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(sandbox.config_path()).unwrap(), CONFIG);

    let broken = sandbox.path("broken.opml");
    std::fs::write(
        &broken,
        "<opml version=\"2.0\"><body><outline text=\"a\" xmlUrl=\"https://a.org/\"></body>",
    )
    .unwrap();
    let run = sandbox.run(&["import-opml", broken.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("broken.opml") && run.stderr.contains("not well-formed XML"),
        "{}",
        run.stderr
    );
    let html = sandbox.path("page.html");
    std::fs::write(
        &html,
        "<html><body><a href=\"https://a.org/feed\">feed</a></body></html>",
    )
    .unwrap();
    let run = sandbox.run(&["import-opml", html.to_str().unwrap()]).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("not an OPML file"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(sandbox.config_path()).unwrap(), CONFIG);
}

#[tokio::test]
async fn our_export_read_back_gives_the_same_sources_and_folders() {
    let from = Sandbox::new(CONFIG);
    from.run(&["import-opml", &opml("netnewswire.opml")]).await.ok();
    from.run(&["import-opml", &opml("freshrss.opml")]).await.ok();
    let exported = from.path("out.opml");
    from.run(&["export-opml", "--output", exported.to_str().unwrap()])
        .await
        .ok();
    let document = std::fs::read_to_string(&exported).unwrap();
    assert!(document.contains("<opml version=\"2.0\">"), "{document}");
    assert!(document.contains("&amp;hl=en-US"), "escaped in XML: {document}");
    assert!(
        document.contains("xmlUrl=\"https://www.japantimes.co.jp/feed\" htmlUrl=\"https://www.japantimes.co.jp/\""),
        "each feed with its site: {document}"
    );

    // Into a config that has one source of its own: everything else comes back, in its folder.
    let to = Sandbox::new(CONFIG);
    let run = to.run(&["import-opml", exported.to_str().unwrap()]).await;
    run.ok();
    let original = std::fs::read_to_string(from.config_path()).unwrap();
    let copy = std::fs::read_to_string(to.config_path()).unwrap();
    let (mut a, mut b) = (source_urls(&original), source_urls(&copy));
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let categories = |config: &str| {
        let table: toml::Table = toml::from_str(config).unwrap();
        let mut c: Vec<(String, String)> = table["source"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| Some((s["url"].as_str()?.to_string(), s.get("category")?.as_str()?.to_string())))
            .collect();
        c.sort();
        c
    };
    assert_eq!(categories(&original), categories(&copy));
    assert!(categories(&copy).contains(&(
        "https://www.nato.int/cps/rss/en/natohq/rssFeed.xsl/rssFeed.xml".into(),
        "Europe / NATO".into()
    )));
}

#[cfg(unix)]
#[tokio::test]
async fn an_import_changes_the_file_a_symlink_points_to_keeping_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new(CONFIG);
    // The config lives elsewhere, owner-only (it may hold header secrets); a link points to it.
    let real = sandbox.path("etc-newswatch.toml");
    std::fs::write(&real, CONFIG).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Run as root (a sudo by hand, a container), the config of a service user keeps its owner.
    // SAFETY: geteuid reads a number.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&real, Some(65534), Some(65534)).unwrap();
    }
    std::fs::remove_file(sandbox.config_path()).unwrap();
    std::os::unix::fs::symlink(&real, sandbox.config_path()).unwrap();

    let run = sandbox.run(&["import-opml", &opml("miniflux.opml")]).await;
    run.ok();
    let link = std::fs::symlink_metadata(sandbox.config_path()).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced by a file");
    let written = std::fs::read_to_string(&real).unwrap();
    assert!(
        source_urls(&written).len() > 1,
        "the target holds the new sources:\n{written}"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    if root {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&real).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534), "the owner changed");
    }
    let left: Vec<_> = std::fs::read_dir(sandbox.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("newswatch-import"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn an_endless_file_is_refused_at_the_cap_not_read_whole() {
    let sandbox = Sandbox::new(CONFIG);
    let run = sandbox.run(&["import-opml", "/dev/zero"]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("more than 16777216 bytes"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(sandbox.config_path()).unwrap(), CONFIG);
}
