//! TLS to the server, as libpq reads it from the URL: `sslmode` (`disable`, `prefer` (the
//! default), `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of the CA
//! that signed the server's certificate). rustls, never OpenSSL.
//!
//! As in libpq, `prefer` and `require` encrypt without checking whose certificate it is (they
//! keep a passive listener out, not a machine in the middle); `verify-ca` and `verify-full`
//! check it against `sslrootcert`, or the system's trusted roots without one, and the host
//! name too (rustls always does: `verify-ca` is as strict as `verify-full` here).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What a URL asks for: the URL tokio-postgres reads (our options taken out), and the TLS
/// connector to give it.
pub(super) struct Tls {
    pub url: String,
    pub connector: MakeRustlsConnect,
}

/// Why the URL's TLS options cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("sslrootcert {}: {reason}", path.display())]
    RootCert { path: PathBuf, reason: String },
    #[error("the system's trusted certificates: {0}")]
    Platform(String),
    #[error("{0}")]
    Config(String),
}

/// Reads `sslmode` and `sslrootcert` from `url`.
pub(super) fn tls(url: &str) -> Result<Tls, TlsError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let (url, verify, root) = match url::Url::parse(url) {
        Ok(parsed) => take_options(parsed),
        // Key-value strings ("host=... sslmode=...") are left to tokio-postgres as they are.
        Err(_) => (url.to_string(), false, None),
    };
    let config = match (verify, root) {
        (true, Some(path)) => builder.with_root_certificates(roots(&path)?).with_no_client_auth(),
        (true, None) => rustls_platform_verifier::BuilderVerifierExt::with_platform_verifier(builder)
            .map_err(|e| TlsError::Platform(e.to_string()))?
            .with_no_client_auth(),
        (false, _) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
    };
    Ok(Tls {
        url,
        connector: MakeRustlsConnect::new(config),
    })
}

/// The URL tokio-postgres reads (a verified `sslmode` is `require` to it, `sslrootcert` is
/// ours), whether the certificate is to be verified, and against which CA file.
fn take_options(mut parsed: url::Url) -> (String, bool, Option<PathBuf>) {
    let mut mode = None;
    let mut root = None;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" => {
                mode = Some(v.into_owned());
                None
            }
            "sslrootcert" => {
                root = Some(PathBuf::from(v.as_ref()));
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    let verify = matches!(mode.as_deref(), Some("verify-ca" | "verify-full"));
    parsed.set_query(None);
    {
        let mut query = parsed.query_pairs_mut();
        query.extend_pairs(kept);
        if let Some(mode) = mode {
            query.append_pair("sslmode", if verify { "require" } else { &mode });
        }
    }
    let mut url = parsed.to_string();
    if url.ends_with('?') {
        url.pop();
    }
    (url, verify, root)
}

fn roots(path: &std::path::Path) -> Result<RootCertStore, TlsError> {
    let failed = |reason: String| TlsError::RootCert {
        path: path.to_path_buf(),
        reason,
    };
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| failed(e.to_string()))? {
        store
            .add(cert.map_err(|e| failed(e.to_string()))?)
            .map_err(|e| failed(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(failed("no certificate in it".into()));
    }
    Ok(store)
}

/// libpq's `prefer` and `require`: any certificate, the handshake's signatures still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_options_are_taken_out_and_the_rest_passed_on() {
        let t = tls("postgres://nw@db.example.org/news?application_name=desk&sslmode=verify-full").unwrap();
        assert_eq!(
            t.url,
            "postgres://nw@db.example.org/news?application_name=desk&sslmode=require"
        );
        let t = tls("postgres://nw@db.example.org/news?sslmode=prefer").unwrap();
        assert_eq!(t.url, "postgres://nw@db.example.org/news?sslmode=prefer");
        let t = tls("postgres://nw@db.example.org/news").unwrap();
        assert_eq!(t.url, "postgres://nw@db.example.org/news");
    }

    #[test]
    fn a_root_certificate_file_that_holds_none_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.crt");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let url = format!(
            "postgres://nw@db.example.org/news?sslmode=verify-full&sslrootcert={}",
            path.display()
        );
        let err = tls(&url).err().expect("refused").to_string();
        assert!(err.contains("ca.crt") && err.contains("no certificate"), "{err}");
    }
}
