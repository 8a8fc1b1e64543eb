//! Whom a request is made for: where it may connect ([`Reach`]), and what it says. A source's
//! user agent goes with all its requests; its headers and basic auth only to its own origin
//! (scheme, host and port of its URL), so that a redirect or an article link to another host
//! never carries its token or password.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use url::{Origin, Url};

use super::address::{Reach, reach_for};
use crate::config::Access;

#[derive(Clone)]
pub struct Scope {
    reach: Reach,
    origin: Origin,
    user_agent: Option<HeaderValue>,
    /// The source's own headers, for its origin only; marked sensitive.
    headers: HeaderMap,
    basic_auth: Option<(String, String)>,
}

impl Scope {
    /// For the requests made for a source at `url`.
    pub fn for_source(url: &Url, access: &Access) -> Scope {
        let mut headers = HeaderMap::new();
        for (name, value) in &access.headers {
            // Both were checked when the config was loaded.
            if let (Ok(name), Ok(mut value)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
                value.set_sensitive(true);
                headers.append(name, value);
            }
        }
        Scope {
            reach: reach_for(url, access.allow_private),
            origin: url.origin(),
            user_agent: access
                .user_agent
                .as_deref()
                .and_then(|ua| HeaderValue::from_str(ua).ok()),
            headers,
            basic_auth: access.basic_auth.clone(),
        }
    }

    /// For a URL given on the command line: no headers, no credentials.
    pub fn for_url(url: &Url, allow_private: bool) -> Scope {
        Scope::for_source(
            url,
            &Access {
                allow_private,
                ..Access::default()
            },
        )
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// `request` to `url` with what this scope says there.
    pub(super) fn apply(&self, url: &Url, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(ua) = &self.user_agent {
            request = request.header(USER_AGENT, ua.clone());
        }
        if url.origin() == self.origin {
            request = request.headers(self.headers.clone());
            if let Some((user, password)) = &self.basic_auth {
                request = request.basic_auth(user, Some(password));
            }
        }
        request
    }
}

// Hand-written so that no token or password reaches a log line.
impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("reach", &self.reach)
            .field("origin", &self.origin.ascii_serialization())
            .field("user_agent", &self.user_agent)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(user, _)| (user, "<redacted>")),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope::for_source(
            &Url::parse("https://feeds.example.org/private.xml").unwrap(),
            &Access {
                allow_private: false,
                user_agent: Some("reader/1".into()),
                headers: vec![("X-Api-Key".into(), "s3cret-token".into())],
                basic_auth: Some(("ann".into(), "hunter2".into())),
            },
        )
    }

    fn sent(scope: &Scope, to: &str) -> reqwest::Request {
        let client = reqwest::Client::new();
        scope.apply(&Url::parse(to).unwrap(), client.get(to)).build().unwrap()
    }

    #[test]
    fn credentials_go_to_the_sources_origin_only() {
        let s = scope();
        let home = sent(&s, "https://feeds.example.org/other/path");
        assert_eq!(home.headers()["x-api-key"], "s3cret-token");
        assert!(home.headers()["authorization"].to_str().unwrap().starts_with("Basic "));
        assert_eq!(home.headers()["user-agent"], "reader/1");
        for elsewhere in [
            "https://cdn.example.org/private.xml",
            "http://feeds.example.org/private.xml",
            "https://feeds.example.org:8443/private.xml",
        ] {
            let r = sent(&s, elsewhere);
            assert!(r.headers().get("x-api-key").is_none(), "{elsewhere}");
            assert!(r.headers().get("authorization").is_none(), "{elsewhere}");
            assert_eq!(r.headers()["user-agent"], "reader/1", "{elsewhere}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let shown = format!("{:?}", scope());
        assert!(!shown.contains("s3cret") && !shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("x-api-key") && shown.contains("ann"), "{shown}");
    }
}
