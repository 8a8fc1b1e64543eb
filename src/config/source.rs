//! `[[source]]` tables: what to poll and how often, and how to get in (private addresses, a user
//! agent, headers, basic auth). Secrets come from the environment or a file, never from the
//! config text when the user does not want them there.

use std::path::PathBuf;

use super::raw::{HeaderSpec, RawSource};
use super::values::{Access, Fetch, Source, SourceKind};

/// Headers a source may not set: they belong to HTTP itself, and a wrong one breaks the request.
const RESERVED_HEADERS: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
];

pub(super) fn sources(
    raw: Vec<RawSource>,
    fetch: &Fetch,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let name = s.name.trim().to_string();
        if name.is_empty() {
            return Err(format!("source #{}: name must not be empty", i + 1));
        }
        if sources.iter().any(|x: &Source| x.name == name) {
            return Err(format!(
                "source {name:?} is defined twice (source names must be unique)"
            ));
        }
        // A links selector only makes sense on a page.
        let kind = s.kind.unwrap_or(if s.links.is_some() {
            SourceKind::Page
        } else {
            SourceKind::Auto
        });
        if let Some(css) = &s.links {
            crate::extract::check_selector(css)
                .map_err(|e| format!("source {name:?}: links = {css:?} is not a valid CSS selector: {e}"))?;
            if kind == SourceKind::Feed {
                return Err(format!(
                    "source {name:?}: links applies to page sources, not kind = \"feed\""
                ));
            }
        }
        if !s.url.0.username().is_empty() || s.url.0.password().is_some() {
            return Err(format!(
                "source {name:?}: put the user name and password in username and password_env (or password_file), not in the URL, where they would be logged and stored"
            ));
        }
        let access = access(&s, fetch, resolve, env).map_err(|e| format!("source {name:?}: {e}"))?;
        sources.push(Source {
            name,
            url: s.url.0,
            interval: s.interval.map_or(fetch.interval, |d| d.0),
            full_text: s.full_text.unwrap_or(kind == SourceKind::Page),
            kind,
            links: s.links,
            category: s.category.map(|c| crate::text::one_line(&c)).filter(|c| !c.is_empty()),
            access,
        });
    }
    if sources.is_empty() {
        return Err(
            "no [[source]] defined: add at least one, e.g. [[source]] name = \"Example\" url = \"https://example.org/rss.xml\"".into(),
        );
    }
    Ok(sources)
}

fn access(
    s: &RawSource,
    fetch: &Fetch,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Access, String> {
    let user_agent = match &s.user_agent {
        Some(ua) if ua.contains(['\r', '\n']) || ua.trim().is_empty() => {
            return Err("user_agent must be one non-empty line".into());
        }
        ua => ua.as_ref().map(|ua| ua.trim().to_string()),
    };
    let mut headers = Vec::new();
    for (key, spec) in &s.headers {
        let what = format!("headers.{key:?}");
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            return Err(format!("{what} is not a valid header name"));
        }
        if RESERVED_HEADERS.iter().any(|r| key.eq_ignore_ascii_case(r)) {
            return Err(format!("{what} cannot be set: HTTP sets it"));
        }
        let value = match spec {
            HeaderSpec::Value(v) => v.clone(),
            HeaderSpec::Secret { env: name, file } => secret(&what, file.clone(), name.clone(), resolve, env)?
                .ok_or_else(|| format!("{what} needs env = \"NAME\" or file = \"path\""))?,
        };
        if !value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) {
            return Err(format!(
                "{what} must be one line of printable ASCII (no line breaks or control characters)"
            ));
        }
        headers.push((key.clone(), value.trim().to_string()));
    }
    let basic_auth = match &s.username {
        None if s.password_env.is_some() || s.password_file.is_some() => {
            return Err("password_env or password_file without a username".into());
        }
        None => None,
        Some(user) if user.is_empty() || user.contains([':', '\r', '\n']) => {
            return Err("username must be one line, without a colon".into());
        }
        Some(user) => {
            if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
                return Err("give a username or an Authorization header, not both".into());
            }
            let password = secret(
                "the password for username",
                s.password_file.clone(),
                s.password_env.clone(),
                resolve,
                env,
            )?
            .ok_or("username needs password_env = \"NAME\" or password_file = \"path\"")?;
            Some((user.clone(), password))
        }
    };
    Ok(Access {
        allow_private: fetch.allow_private || s.allow_private.unwrap_or(false),
        user_agent,
        headers,
        basic_auth,
    })
}

/// A secret kept out of the config: the contents of `file` (without the editor's trailing
/// newline) or of the environment variable `env_name`; `None` when neither is given.
pub(super) fn secret(
    what: &str,
    file: Option<PathBuf>,
    env_name: Option<String>,
    resolve: &dyn Fn(PathBuf) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    match (file, env_name) {
        (Some(_), Some(_)) => Err(format!("{what}: give a file or an environment variable, not both")),
        (Some(file), None) => {
            let file = resolve(file);
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{what}: cannot read {}: {e}", file.display()))?;
            Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
        }
        (None, Some(name)) => env(&name)
            .map(Some)
            .ok_or_else(|| format!("{what}: the environment variable {name} is not set")),
        (None, None) => Ok(None),
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
