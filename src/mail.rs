//! Sending mail: SMTP (STARTTLS required, implicit TLS, or plain to a local relay) and a file
//! transport that writes one `.eml` per message.
//!
//! Bodies are always quoted-printable, never 7bit/8bit, so feed text never reaches the SMTP stream
//! raw (a line holding a lone "." or overlong lines cannot break the protocol).
//!
//! Knows messages, not stories: never reads feeds or the store.

use std::path::PathBuf;

use jiff::Timestamp;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Email, TlsMode, TransportKind};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot read email.ca_file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot set up TLS for {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP server {server} did not take the message: {reason}")]
    Smtp { server: String, reason: String },
    #[error("cannot write the message to {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A message to send: one subject, the same content as plain text and HTML.
pub struct Outgoing<'a> {
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// Where a sent message went.
#[derive(Debug, Clone)]
pub struct Sent {
    pub message_id: String,
    /// `smtp.example.org:587`, or the path of the `.eml` file written.
    pub destination: String,
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        server: String,
    },
    File(PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: Transport,
}

impl Mailer {
    pub fn new(config: &Email) -> Result<Mailer, MailError> {
        let transport = match config.transport {
            TransportKind::File => Transport::File(config.dir.clone()),
            TransportKind::Smtp => {
                let smtp = &config.smtp;
                let tls = match smtp.tls {
                    TlsMode::None => Tls::None,
                    TlsMode::Starttls => Tls::Required(tls_parameters(&smtp.host, smtp.ca_file.as_ref())?),
                    TlsMode::Tls => Tls::Wrapper(tls_parameters(&smtp.host, smtp.ca_file.as_ref())?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                    .port(smtp.port)
                    .tls(tls)
                    .timeout(Some(smtp.timeout));
                if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp {
                    transport: builder.build(),
                    server: format!("{}:{}", smtp.host, smtp.port),
                }
            }
        };
        Ok(Mailer {
            from: config.from.clone(),
            to: config.to.clone(),
            transport,
        })
    }

    /// Sends `message` to every recipient. Returns only once the transport has accepted it.
    pub async fn send(&self, message: &Outgoing<'_>) -> Result<Sent, MailError> {
        let email = self.build(message)?;
        let message_id = email
            .headers()
            .get_raw("Message-ID")
            .map(str::to_string)
            .unwrap_or_default();
        match &self.transport {
            Transport::Smtp { transport, server } => {
                transport.send(email).await.map_err(|e| MailError::Smtp {
                    server: server.clone(),
                    reason: smtp_reason(&e),
                })?;
                Ok(Sent {
                    message_id,
                    destination: server.clone(),
                })
            }
            Transport::File(dir) => {
                let path = write_eml(dir, &email.formatted(), &message_id).await?;
                Ok(Sent {
                    message_id,
                    destination: path.display().to_string(),
                })
            }
        }
    }

    fn build(&self, message: &Outgoing<'_>) -> Result<Message, MailError> {
        let part = |content_type: ContentType, body: &str| {
            SinglePart::builder()
                .header(content_type)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(body.to_string())
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            // A header must be one line whatever a feed put in a title.
            .subject(crate::text::one_line(message.subject))
            .message_id(None)
            .date_now()
            .user_agent(concat!("newswatch/", env!("CARGO_PKG_VERSION")).to_string());
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, message.text))
                    .singlepart(part(ContentType::TEXT_HTML, message.html)),
            )
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

fn tls_parameters(host: &str, ca_file: Option<&PathBuf>) -> Result<TlsParameters, MailError> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_file {
        let ca_err = |reason: String| MailError::CaFile {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| ca_err(e.to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| MailError::Tls {
        host: host.to_string(),
        reason: e.to_string(),
    })
}

/// lettre's error and its cause, on one line ("permanent error (554): no thanks").
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    let mut reason = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !reason.contains(&text) {
            reason = format!("{reason}: {text}");
        }
        cause = c.source();
    }
    crate::text::one_line(&reason)
}

/// Writes the message atomically (temporary file, fsync, rename), so a crash never leaves half
/// a digest behind. Names sort by time: `20261123T080000.123Z-<id>.eml`.
async fn write_eml(dir: &PathBuf, bytes: &[u8], message_id: &str) -> Result<PathBuf, MailError> {
    let file_err = |path: &PathBuf| {
        let path = path.clone();
        move |source| MailError::File { path, source }
    };
    tokio::fs::create_dir_all(dir).await.map_err(file_err(dir))?;
    let id: String = message_id
        .trim_matches(['<', '>'])
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let now = Timestamp::now();
    let stamp = format!("{}.{:03}Z", now.strftime("%Y%m%dT%H%M%S"), now.subsec_millisecond());
    let path = dir.join(format!("{stamp}-{id}.eml"));
    let tmp = dir.join(format!(".{stamp}-{id}.eml.tmp"));
    let bytes = bytes.to_vec();
    let (tmp2, path2) = (tmp.clone(), path.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp2)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp2, &path2)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))
    .and_then(|r| r)
    .map_err(file_err(&tmp))?;
    Ok(path)
}
