//! Mail: a message formatted once (with a Message-ID that every later attempt keeps), and sent
//! to one recipient at a time, over SMTP (STARTTLS required, implicit TLS, or plain to a local
//! relay) or into an `.eml` file. One SMTP transaction per recipient: a refused recipient
//! neither holds up nor duplicates the others.
//!
//! Bodies are always quoted-printable, never 7bit/8bit, so feed text never reaches the SMTP stream
//! raw (a line holding a lone "." or overlong lines cannot break the protocol).
//!
//! Knows messages, not stories: never reads feeds or the store.

use std::path::{Path, PathBuf};

use lettre::address::Envelope;
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
    #[error("SMTP server {server} {}: {reason}", if *.refused { "refused the message" } else { "did not take the message" })]
    Smtp {
        server: String,
        reason: String,
        /// A permanent (5xx) answer: the same message will be refused again.
        refused: bool,
    },
    #[error("cannot write the message to {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl MailError {
    /// Whether the server refused the message for good (5xx), rather than "not now".
    pub fn is_refusal(&self) -> bool {
        matches!(self, MailError::Smtp { refused: true, .. } | MailError::Build(_))
    }
}

/// Earlier messages a message names in `References` at most.
const MAX_REFERENCES: usize = 20;

/// `<local@domain>` with nothing in it that could end a header.
fn is_message_id(id: &str) -> bool {
    id.len() <= 250
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && id.chars().all(|c| c.is_ascii_graphic())
}

/// A formatted message.
#[derive(Debug, Clone)]
pub struct Formatted {
    pub message_id: String,
    pub bytes: Vec<u8>,
}

/// Where a sent message went: `smtp.example.org:587`, or the path of the `.eml` file written.
#[derive(Debug, Clone)]
pub struct Sent {
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
            transport,
        })
    }

    /// The message to `to`, with a Message-ID of its own and today's date, as it will be sent
    /// on every attempt. `references` are earlier messages it continues (oldest first): mail
    /// clients thread it under them.
    pub fn format(
        &self,
        to: &Mailbox,
        subject: &str,
        (text, html): (&str, &str),
        references: &[String],
    ) -> Result<Formatted, MailError> {
        let part = |content_type: ContentType, body: &str| {
            SinglePart::builder()
                .header(content_type)
                .header(ContentTransferEncoding::QuotedPrintable)
                .body(body.to_string())
        };
        // Time first, so that `.eml` files sort by it; the From domain names who made it.
        let now = crate::clock::now();
        let message_id = format!(
            "<{}.{:016x}@{}>",
            now.strftime("%Y%m%dT%H%M%S"),
            fastrand::u64(..),
            self.from.email.domain()
        );
        let mut builder = Message::builder();
        // Our own Message-IDs, but read back from the database: only well-formed ones go in.
        let references: Vec<&str> = references
            .iter()
            .map(String::as_str)
            .filter(|id| is_message_id(id))
            .take(MAX_REFERENCES)
            .collect();
        if let Some(first) = references.first() {
            builder = builder.in_reply_to(first.to_string()).references(references.join(" "));
        }
        let message = builder
            .from(self.from.clone())
            .to(to.clone())
            // A header must be one line whatever a feed put in a title.
            .subject(crate::text::one_line(subject))
            .message_id(Some(message_id.clone()))
            .date_now()
            .user_agent(concat!("newswatch/", env!("CARGO_PKG_VERSION")).to_string())
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, text))
                    .singlepart(part(ContentType::TEXT_HTML, html)),
            )
            .map_err(|e| MailError::Build(e.to_string()))?;
        Ok(Formatted {
            message_id,
            bytes: message.formatted(),
        })
    }

    /// Sends `message` (formatted by [`Mailer::format`]) to the address `to`. Returns once the
    /// transport has accepted it.
    pub async fn send(&self, to: &str, message: &Formatted) -> Result<Sent, MailError> {
        let build = |e: String| MailError::Build(e);
        let envelope = Envelope::new(
            Some(self.from.email.clone()),
            vec![
                to.parse()
                    .map_err(|e| build(format!("invalid recipient {to:?}: {e}")))?,
            ],
        )
        .map_err(|e| build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp { transport, server } => {
                tracing::debug!(%server, to, bytes = message.bytes.len(), message_id = %message.message_id, "handing a message to the SMTP server");
                transport
                    .send_raw(&envelope, &message.bytes)
                    .await
                    .map_err(|e| MailError::Smtp {
                        server: server.clone(),
                        reason: crate::text::error_chain(&e),
                        refused: e.is_permanent(),
                    })?;
                Ok(Sent {
                    destination: server.clone(),
                })
            }
            Transport::File(dir) => {
                let path = write_eml(dir, to, message).await?;
                Ok(Sent {
                    destination: path.display().to_string(),
                })
            }
        }
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

/// Writes the message atomically (temporary file, fsync, rename), so a crash never leaves half a
/// message behind. The name comes from the recipient and the Message-ID, so sending the same
/// message again rewrites the same file: `<id>-<recipient>.eml`, and the id begins with the time.
async fn write_eml(dir: &Path, to: &str, message: &Formatted) -> Result<PathBuf, MailError> {
    let safe = |s: &str, max: usize| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(max)
            .collect()
    };
    let id = message.message_id.trim_matches(['<', '>']);
    let id = id.split('@').next().unwrap_or(id);
    let path = dir.join(format!("{}-{}.eml", safe(id, 60), safe(to, 60)));
    let tmp = dir.join(format!(".{}-{}.eml.tmp", safe(id, 60), safe(to, 60)));
    let (dir, bytes) = (dir.to_path_buf(), message.bytes.clone());
    let (tmp2, path2) = (tmp.clone(), path.clone());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::File::create(&tmp2)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp2, &path2)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))
    .and_then(|r| r)
    .map_err(|source| MailError::File { path: tmp, source })?;
    Ok(path)
}
