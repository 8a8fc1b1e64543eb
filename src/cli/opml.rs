//! `newswatch import-opml FILE` (the feeds of another reader's export added to the config, the
//! file otherwise as it was) and `newswatch export-opml` (the sources as OPML 2.0).

use std::path::Path;

use url::Url;

use super::Outcome;
use crate::config::edit::{self, NewSource};
use crate::config::{Config, SourceKind};
use crate::opml::{self, Outline};

/// OPML exports of even thousands of feeds are a few MB.
const MAX_OPML_BYTES: u64 = 16 * 1024 * 1024;

/// What an import decided for one outline.
enum Verdict {
    Add(NewSource),
    Present { url: String, as_name: String },
    Refused { url: String, why: &'static str },
}

pub(super) fn import(config: &Config, file: &Path, dry_run: bool) -> anyhow::Result<Outcome> {
    let invalid = |message: String| Ok(Outcome::Invalid(format!("{}: {message}", file.display())));
    let text = match read_opml(file) {
        Ok(text) => text,
        Err(message) => return invalid(message),
    };
    let outlines = match opml::read(&text) {
        Ok(outlines) => outlines,
        Err(e) => return invalid(e.to_string()),
    };
    let verdicts = decide(config, outlines);
    let new: Vec<NewSource> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Add(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    if !new.is_empty()
        && !dry_run
        && let Err(message) = write_config(config, &new)
    {
        return Ok(Outcome::Invalid(message));
    }
    report(config, file, &verdicts, new.len(), dry_run);
    Ok(Outcome::Success)
}

fn read_opml(file: &Path) -> Result<String, String> {
    use std::io::Read;
    // Counted as read, not as the file says: a device or a pipe reports no size.
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_OPML_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_OPML_BYTES {
        return Err(format!(
            "more than {MAX_OPML_BYTES} bytes, more than an OPML file holds"
        ));
    }
    // OPML is XML; every reader writes it in UTF-8 (a byte-order mark included, at times).
    let text =
        String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))?;
    Ok(text.trim_start_matches('\u{feff}').to_string())
}

/// Which outlines become sources: http(s) URLs not in the config yet, each under a name no
/// other source has.
fn decide(config: &Config, outlines: Vec<Outline>) -> Vec<Verdict> {
    let mut urls: Vec<(Url, String)> = config.sources.iter().map(|s| (s.url.clone(), s.name.clone())).collect();
    let mut names: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
    let mut verdicts = Vec::new();
    for outline in outlines {
        let url = match Url::parse(&outline.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
            _ => {
                verdicts.push(Verdict::Refused {
                    url: outline.url,
                    why: "not an http(s) URL",
                });
                continue;
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            verdicts.push(Verdict::Refused {
                url: url.to_string(),
                why: "a user name or password in the URL (add it by hand, with username and password_env)",
            });
            continue;
        }
        if let Some((_, name)) = urls.iter().find(|(u, _)| same_feed(u, &url)) {
            verdicts.push(Verdict::Present {
                url: url.to_string(),
                as_name: name.clone(),
            });
            continue;
        }
        let name = unique_name(&names, &outline.title, &url);
        names.push(name.clone());
        urls.push((url.clone(), name.clone()));
        verdicts.push(Verdict::Add(NewSource {
            name,
            url: url.to_string(),
            kind: outline.page.then_some("page"),
            category: outline.category.map(|c| crate::text::one_line(&c)),
        }));
    }
    verdicts
}

/// The same feed: equal URLs but for a trailing slash (readers differ in writing it).
fn same_feed(a: &Url, b: &Url) -> bool {
    a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
}

/// `title` on one line (or the URL's host when there is none), made unique with " (2)", " (3)"...
fn unique_name(taken: &[String], title: &str, url: &Url) -> String {
    let title = crate::text::one_line(title);
    let base = match title.is_empty() {
        true => url.host_str().unwrap_or("feed").to_string(),
        false => crate::text::cut(&title, 200).to_string(),
    };
    let mut name = base.clone();
    let mut n = 1;
    while taken.iter().any(|t| t == &name) {
        n += 1;
        name = format!("{base} ({n})");
    }
    name
}

/// Appends `new` to the config file, after checking that the result still loads. The file a
/// symlink points to is the one changed (the link stays); the new text is written beside it
/// in a file of our own (created exclusively, never wider than the config's mode, which may
/// guard header secrets), given the config's owner and mode, synced, renamed over it, and the
/// folder synced: never half written, never readable by more people than before.
fn write_config(config: &Config, new: &[NewSource]) -> Result<(), String> {
    let shown = config.path.display();
    let path = std::fs::canonicalize(&config.path).map_err(|e| format!("cannot read the config {shown}: {e}"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read the config {shown}: {e}"))?;
    let edited = edit::add_sources(&text, new).map_err(|e| format!("cannot add sources to the config {shown}: {e}"))?;
    Config::parse(&edited, &config.path, |key| std::env::var(key).ok())
        .map_err(|e| format!("the config would not load with these sources, so it was left as it was: {e}"))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".newswatch-import-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let meta = std::fs::metadata(&path)?;
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
            create.mode(meta.mode() & 0o777);
        }
        let mut file = create.open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))?;
        }
        file.set_permissions(meta.permissions())?;
        file.write_all(edited.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write the config {shown}: {e} (it was left as it was)")
    })
}

fn report(config: &Config, file: &Path, verdicts: &[Verdict], added: usize, dry_run: bool) {
    let (verb, config_path) = (if dry_run { "would add" } else { "added" }, config.path.display());
    match added {
        0 => out!("nothing to add from {}: no feed in it is new", file.display()),
        n => out!("{verb} {n} source{} to {config_path}:", if n == 1 { "" } else { "s" }),
    }
    for verdict in verdicts {
        if let Verdict::Add(s) = verdict {
            let category = s.category.as_deref().map(|c| format!("  [{c}]")).unwrap_or_default();
            out!("  + {}  {}{category}", s.name, s.url);
        }
    }
    let present = verdicts.iter().filter(|v| matches!(v, Verdict::Present { .. })).count();
    if present > 0 {
        out!("already in the config ({present}):");
        for verdict in verdicts {
            if let Verdict::Present { url, as_name } = verdict {
                out!("  = {url}  (as {as_name:?})");
            }
        }
    }
    let refused = verdicts.iter().filter(|v| matches!(v, Verdict::Refused { .. })).count();
    if refused > 0 {
        out!("skipped ({refused}):");
        for verdict in verdicts {
            if let Verdict::Refused { url, why } = verdict {
                out!("  ! {}: {why}", crate::text::one_line(url));
            }
        }
    }
    if added > 0 && !dry_run {
        out!("a running daemon polls them after a reload (systemctl reload newswatch, or SIGHUP)");
    }
}

pub(super) fn export(config: &Config, output: Option<&Path>) -> anyhow::Result<Outcome> {
    let outlines: Vec<Outline> = config
        .sources
        .iter()
        .map(|s| Outline {
            title: s.name.clone(),
            url: s.url.to_string(),
            page: s.kind == SourceKind::Page,
            // newswatch keeps no feed's home page: its host's is the best guess, and what
            // readers show beside a feed.
            site: s.url.join("/").ok().map(|u| u.to_string()),
            category: s.category.clone(),
        })
        .collect();
    let created =
        jiff::fmt::rfc2822::to_string(&crate::clock::now().to_zoned(jiff::tz::TimeZone::UTC)).unwrap_or_default();
    let document = opml::write("newswatch sources", &created, &outlines);
    match output {
        None => {
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(document.as_bytes());
        }
        Some(path) => {
            if let Err(e) = std::fs::write(path, &document) {
                return Ok(Outcome::Failure(format!("cannot write {}: {e}", path.display())));
            }
            eprintln!("wrote {} sources to {}", outlines.len(), path.display());
        }
    }
    Ok(Outcome::Success)
}
