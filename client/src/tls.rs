//! The client's TLS: rustls with the ring provider, trusting a given CA (or
//! the public web roots of `webpki-roots` when none is given), with an
//! optional client certificate for mutual TLS.

use crate::error::ClientError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A byte stream to a server: plain TCP or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Files for TLS: the CA to trust, and a client certificate and key.
#[derive(Clone, Debug, Default)]
pub struct TlsFiles<'a> {
    pub ca: Option<&'a Path>,
    pub cert: Option<&'a Path>,
    pub key: Option<&'a Path>,
}

/// Run the TLS handshake on `socket` for `host`.
///
/// # Errors
/// [`ClientError::Tls`] for unusable files or a failed handshake, saying
/// what the likely cause is.
pub async fn connect(
    socket: TcpStream,
    host: &str,
    authority: &str,
    files: TlsFiles<'_>,
) -> Result<Box<dyn Stream>, ClientError> {
    let config = config(&files)?;
    let name = ServerName::try_from(host.to_string()).map_err(|e| ClientError::Tls {
        addr: authority.to_string(),
        message: format!("{host:?} is not a valid server name: {e}"),
    })?;
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, socket)
        .await
        .map_err(|e| ClientError::Tls {
            addr: authority.to_string(),
            message: explain(&e),
        })?;
    Ok(Box::new(stream))
}

fn config(files: &TlsFiles<'_>) -> Result<rustls::ClientConfig, ClientError> {
    let bad = |what: &str, path: &Path, e: String| ClientError::Tls {
        addr: String::new(),
        message: format!("{what} {}: {e}", path.display()),
    };
    let mut roots = rustls::RootCertStore::empty();
    match files.ca {
        Some(path) => {
            let certs =
                CertificateDer::pem_file_iter(path).map_err(|e| bad("CA", path, e.to_string()))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad("CA", path, e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| bad("CA", path, e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("CA", path, "no certificate in the file".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls {
            addr: String::new(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots);
    match (files.cert, files.key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| bad("client certificate", cert, e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad("client certificate", cert, e.to_string()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| bad("client key", key, e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ClientError::Tls {
                    addr: String::new(),
                    message: format!("client certificate: {e}"),
                })
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(ClientError::Tls {
            addr: String::new(),
            message: "a client certificate needs both cert and key".into(),
        }),
    }
}

/// A handshake error in words that point at the fix.
pub(crate) fn explain(e: &std::io::Error) -> String {
    let text = e.to_string();
    let hint = if text.contains("InvalidContentType")
        || text.contains("corrupt message")
        || text.contains("close_notify")
        || e.kind() == std::io::ErrorKind::UnexpectedEof
        || e.kind() == std::io::ErrorKind::ConnectionReset
    {
        "; the server does not seem to speak TLS (for a plaintext server use sandcall://HOST:PORT)"
    } else if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        "; the server's certificate is not trusted (give the CA that signed it with --ca)"
    } else if text.contains("CertificateRequired") || text.contains("certificate required") {
        "; the server requires a client certificate (--cert and --key)"
    } else {
        ""
    };
    format!("TLS handshake failed: {text}{hint}")
}
