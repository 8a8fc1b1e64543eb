//! Hand-made HTTP servers on 127.0.0.1 for the tests that need more than wiremock: streaming,
//! dripping, hanging, raw bytes, proxies. Each stops when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::rfc2822_hours_ago;

/// A test server; stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

pub async fn serve(router: Router) -> Server {
    serve_on(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap(), router)
}

/// Serves `router` on `listener` (bound already, e.g. because the router needs its port).
pub fn serve_on(listener: TcpListener, router: Router) -> Server {
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Server { addr, task }
}

/// A server that answers every connection with `response` as raw bytes, then closes it (or,
/// with `hang`, keeps it open without another byte).
pub async fn raw_server(response: &'static [u8], hang: bool) -> Server {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        for _ in 0..50 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    tokio::io::AsyncReadExt::read(&mut stream, &mut buf),
                )
                .await;
                let _ = stream.write_all(response).await;
                if hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    Server { addr, task }
}

pub fn rss_doc(items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#
    )
}

/// One date for the whole run, so that a feed served twice is the same bytes twice.
pub static AN_HOUR_AGO: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| rfc2822_hours_ago(1));

pub fn item(guid: &str, title: &str, link: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{title}</title><link>{link}</link><description>About {title}.</description><pubDate>{}</pubDate></item>",
        *AN_HOUR_AGO
    )
}

pub fn feed(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, "application/rss+xml")], body.into()).into_response()
}

pub fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(header::LOCATION, to.to_string())]).into_response()
}

/// A feed of two stories on 127.0.0.1 at `/feed`, one of them about NATO.
pub async fn healthy_feed() -> Server {
    let body = rss_doc(
        &(item("h1", "NATO summit opens", "http://news.test/h1") + &item("h2", "Weather", "http://news.test/h2")),
    );
    serve(Router::new().route("/feed", get(move || async move { feed(body) }))).await
}
