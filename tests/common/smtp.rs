//! A small recording SMTP server on 127.0.0.1 for the tests: it accepts what lettre sends,
//! records each accepted message with its envelope, and can be scripted at any time to answer
//! slowly, refuse a message (451, 554, ...), refuse one recipient, or play "down" (421).
//! Bound to port 0, listener kept; stopped when dropped.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub raw: String,
    /// The envelope's recipients (RCPT TO), as given.
    pub recipients: Vec<String>,
}

/// How the server behaves; change it while tests run.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Answer every connection with 421 and close it.
    pub down: bool,
    /// Wait this long before answering DATA with 354.
    pub data_delay: Duration,
    /// Wait this long before answering the end of a message.
    pub reply_delay: Duration,
    /// The answer to the end of a message instead of 250, e.g. `(554, "5.7.1 refused")`.
    pub data_reply: Option<(u16, String)>,
    /// Recipients refused at RCPT TO, with the answer.
    pub refuse_rcpt: HashMap<String, (u16, String)>,
    /// Messages holding this text are answered with this instead of 250.
    pub refuse_containing: Option<(String, (u16, String))>,
}

#[derive(Default)]
struct Shared {
    script: Mutex<Script>,
    received: Mutex<Vec<Received>>,
    /// Every message that reached the end of DATA, accepted or not.
    attempted: Mutex<Vec<Received>>,
    /// Messages ended with a final answer (accepted or not), and connections accepted.
    attempts: Mutex<(usize, usize)>,
    arrived: Notify,
    /// The AUTH commands received, as sent.
    auth: Mutex<Vec<String>>,
}

pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Shared>,
    /// How many of the received messages `next` has handed out.
    taken: usize,
    task: JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::with_script(Script::default()).await
    }

    pub async fn with_script(script: Script) -> SmtpServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        *shared.script.lock().unwrap() = script;
        let for_task = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                for_task.attempts.lock().unwrap().1 += 1;
                tokio::spawn(session(stream, Arc::clone(&for_task)));
            }
        });
        SmtpServer {
            port,
            shared,
            taken: 0,
            task,
        }
    }

    /// Changes how the server behaves from now on.
    pub fn script(&self, change: impl FnOnce(&mut Script)) {
        change(&mut self.shared.script.lock().unwrap());
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Every message that reached the end of DATA, accepted or refused.
    pub fn attempted(&self) -> Vec<Received> {
        self.shared.attempted.lock().unwrap().clone()
    }

    /// The AUTH commands received, credentials and all.
    pub fn auth(&self) -> Vec<String> {
        self.shared.auth.lock().unwrap().clone()
    }

    /// Messages that reached the end of DATA (accepted or refused), and connections made.
    pub fn attempts(&self) -> (usize, usize) {
        *self.shared.attempts.lock().unwrap()
    }

    /// The next message accepted, failing the test if none arrives within 15 s.
    pub async fn next(&mut self) -> Received {
        self.next_within(Duration::from_secs(15))
            .await
            .expect("no message reached the SMTP server within 15 s")
    }

    async fn next_within(&mut self, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.shared.arrived.notified();
            if let Some(m) = self.shared.received.lock().unwrap().get(self.taken).cloned() {
                self.taken += 1;
                return Some(m);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    /// Asserts that no message arrives within a short while.
    pub async fn expect_nothing(&mut self) {
        if let Some(m) = self.next_within(Duration::from_millis(700)).await {
            panic!("unexpected message: {:?}", m.subject);
        }
    }

    /// Every message that arrives with no more than `wait` between two.
    pub async fn drain(&mut self, wait: Duration) -> Vec<Received> {
        let mut out = Vec::new();
        while let Some(m) = self.next_within(wait).await {
            out.push(m);
        }
        out
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r);
    let script = || shared.script.lock().unwrap().clone();
    if script().down {
        let _ = w.write_all(b"421 4.3.2 recorder is down, try later\r\n").await;
        return;
    }
    if w.write_all(b"220 recorder ESMTP\r\n").await.is_err() {
        return;
    }
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut lines).take(64 * 1024).read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-recorder\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n".into()
        } else if upper.starts_with("AUTH ") {
            shared.auth.lock().unwrap().push(cmd.clone());
            "235 2.7.0 authenticated\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 recorder\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            rcpts.clear();
            "250 2.1.0 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            let addr = cmd[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            match script().refuse_rcpt.get(&addr) {
                Some((code, text)) => format!("{code} {text}\r\n"),
                None => {
                    rcpts.push(addr);
                    "250 2.1.5 OK\r\n".into()
                }
            }
        } else if upper == "DATA" {
            if rcpts.is_empty() {
                "503 5.5.1 no valid recipients\r\n".into()
            } else {
                tokio::time::sleep(script().data_delay).await;
                if w.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                    return;
                }
                let Some(raw) = read_data(&mut lines).await else { return };
                let s = script();
                tokio::time::sleep(s.reply_delay).await;
                shared.attempts.lock().unwrap().0 += 1;
                let message = parse(&raw, &rcpts);
                shared.attempted.lock().unwrap().push(message.clone());
                let refused = s
                    .refuse_containing
                    .filter(|(text, _)| message.text.contains(text.as_str()) || message.raw.contains(text.as_str()))
                    .map(|(_, reply)| reply);
                match s.data_reply.or(refused) {
                    Some((code, text)) => format!("{code} {text}\r\n"),
                    None => {
                        // Recorded before the 250 goes out: what a crash after it loses is
                        // only our record of the answer, as with a real server.
                        shared.received.lock().unwrap().push(message);
                        shared.arrived.notify_waiters();
                        "250 2.0.0 queued\r\n".into()
                    }
                }
            }
        } else if upper.starts_with("RSET") {
            rcpts.clear();
            "250 OK\r\n".into()
        } else if upper.starts_with("NOOP") {
            "250 OK\r\n".into()
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            "502 5.5.2 not implemented\r\n".into()
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The message after DATA, up to the line holding a single dot, dot-stuffing undone.
async fn read_data(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        if line == b".\r\n" || line == b".\n" {
            return Some(raw);
        }
        let start = usize::from(line.starts_with(b".."));
        raw.extend_from_slice(&line[start..]);
        if raw.len() > 64 << 20 {
            return None;
        }
    }
}

fn parse(raw: &[u8], rcpts: &[String]) -> Received {
    let message = mail_parser::MessageParser::default().parse(raw);
    let field = |f: &dyn Fn(&mail_parser::Message) -> Option<String>| message.as_ref().and_then(f).unwrap_or_default();
    Received {
        subject: field(&|m| m.subject().map(str::to_string)),
        text: field(&|m| m.body_text(0).map(|t| t.into_owned())),
        html: field(&|m| m.body_html(0).map(|t| t.into_owned())),
        message_id: field(&|m| m.message_id().map(str::to_string)),
        raw: String::from_utf8_lossy(raw).into_owned(),
        recipients: rcpts.to_vec(),
    }
}
