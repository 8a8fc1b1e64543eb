//! Who may read the pages: anyone on loopback when no token is set; with `[http] token`, only
//! a request that carries it (a bearer header, HTTP basic auth with it as the password, for
//! feed readers, or the cookie `/login` sets). Config refuses a listener other machines reach
//! without a token (`config::Http::exposed`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::{AppSource, views};

/// The session cookie's name.
const COOKIE: &str = "newswatch_session";
/// The login form's body, at most: a token and its field name.
const MAX_FORM: usize = 4096;
/// Wrong tokens the login form takes in a minute, from anyone; then it answers 429 until the
/// minute is over (a bearer header or the cookie still work). Guessing 16 characters or more
/// is hopeless anyway; this keeps a script from trying for ever, and says someone is.
const LOGIN_FAILURES: u32 = 10;
const LOGIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Wrong tokens given to `/login` in the current window.
#[derive(Debug)]
struct Failures {
    since: std::time::Instant,
    count: u32,
}

impl Failures {
    /// Whether a login may be tried at `now`.
    fn allow(&mut self, now: std::time::Instant) -> bool {
        if now.duration_since(self.since) >= LOGIN_WINDOW {
            self.since = now;
            self.count = 0;
        }
        self.count < LOGIN_FAILURES
    }

    fn failed(&mut self) {
        self.count += 1;
    }
}

static FAILURES: std::sync::Mutex<Option<Failures>> = std::sync::Mutex::new(None);

/// What the cookie holds: a digest of the token, so that the token itself is never stored by
/// the browser (and a changed token ends every session).
fn session_value(token: &str) -> String {
    crate::text::sha256_hex(format!("newswatch-session\0{token}").as_bytes())
}

/// Equal, in a time that does not tell how much of `a` matched (both are hashed first, so
/// their lengths do not show either).
fn same(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

/// Whether `headers` carry `token`.
fn carries(headers: &HeaderMap, token: &str) -> bool {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(bearer) = authorization.strip_prefix("Bearer ") {
        return same(bearer.trim(), token);
    }
    if let Some(basic) = authorization.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((_, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            return same(password, token);
        }
        return false;
    }
    let session = session_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same(value, &session))
}

/// Lets a request through if it carries the token (or none is set); else 401: the login page
/// for a browser, a plain answer for anything else.
pub async fn guard(State(app): State<AppSource>, request: Request, next: Next) -> Response {
    let token = app().config.http.token.clone();
    let Some(token) = token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if matches!(path, "/login" | "/style.css" | "/favicon.svg") || carries(request.headers(), &token) {
        return next.run(request).await;
    }
    let browser = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let mut response = if browser {
        (StatusCode::UNAUTHORIZED, views::login(None)).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            "this listener asks for http.token: send it as \"Authorization: Bearer TOKEN\" (or as the password of HTTP basic auth)\n",
        )
            .into_response()
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"newswatch\""),
    );
    response
}

/// `GET /login`: the form; `POST /login`: the token checked, a session cookie set.
pub async fn login(State(app): State<AppSource>, method: Method, body: Body) -> Response {
    let token = app().config.http.token.clone();
    let Some(token) = token else {
        // Nothing to log in to: the pages are open on loopback.
        return redirect_home(None);
    };
    if method != Method::POST {
        return views::login(None).into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large\n").into_response();
    };
    let given = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let now = std::time::Instant::now();
    let mut failures = FAILURES.lock().unwrap_or_else(|p| p.into_inner());
    let failures = failures.get_or_insert(Failures { since: now, count: 0 });
    if !failures.allow(now) {
        tracing::warn!("{LOGIN_FAILURES} wrong tokens at /login within a minute: it waits out the minute");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            views::login(Some("Too many wrong tokens: try again in a minute.")),
        )
            .into_response();
    }
    if !same(given.trim(), &token) {
        failures.failed();
        return (StatusCode::UNAUTHORIZED, views::login(Some("That is not the token."))).into_response();
    }
    // HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it.
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
        session_value(&token)
    );
    redirect_home(HeaderValue::from_str(&cookie).ok())
}

fn redirect_home(cookie: Option<HeaderValue>) -> Response {
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/"))],
    )
        .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_takes_ten_wrong_tokens_a_minute() {
        let start = std::time::Instant::now();
        let mut f = Failures { since: start, count: 0 };
        for _ in 0..LOGIN_FAILURES {
            assert!(f.allow(start));
            f.failed();
        }
        assert!(!f.allow(start + std::time::Duration::from_secs(59)));
        assert!(f.allow(start + LOGIN_WINDOW), "a new minute, a new count");
    }

    #[test]
    fn the_token_is_taken_from_a_bearer_header_basic_auth_or_the_session_cookie() {
        let token = "0123456789abcdef-secret";
        let with = |name: header::HeaderName, value: String| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_str(&value).unwrap());
            h
        };
        assert!(carries(&with(header::AUTHORIZATION, format!("Bearer {token}")), token));
        assert!(!carries(
            &with(header::AUTHORIZATION, "Bearer 0123456789abcdef".into()),
            token
        ));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("reader:{token}"));
        assert!(carries(&with(header::AUTHORIZATION, format!("Basic {basic}")), token));
        let wrong = base64::engine::general_purpose::STANDARD.encode("reader:guess");
        assert!(!carries(&with(header::AUTHORIZATION, format!("Basic {wrong}")), token));
        let cookie = format!("theme=dark; {COOKIE}={}", session_value(token));
        assert!(carries(&with(header::COOKIE, cookie), token));
        assert!(
            !carries(&with(header::COOKIE, format!("{COOKIE}={token}")), token),
            "the token is not the cookie"
        );
        assert!(!carries(&HeaderMap::new(), token));
    }
}
