//! TLS for the listener: rustls with the ring provider, the certificate and
//! key from PEM files, and optionally mutual TLS, where a client must show a
//! certificate signed by a given CA whose subject common name names its
//! tenant.

use crate::server::ServerError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;

/// Where the server's TLS material is.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Require client certificates signed by this CA (PEM).
    pub client_ca: Option<PathBuf>,
}

/// A byte stream the server serves: plain TCP or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Build the acceptor for `config`.
///
/// # Errors
/// [`ServerError::Config`] naming the file that cannot be read or used.
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = certificates(&config.cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(&config.key).map_err(|e| {
        ServerError::Config(format!(
            "--tls-key {}: no usable private key: {e}",
            config.key.display()
        ))
    })?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Config(format!("TLS: {e}")))?;
    let builder = match &config.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(path, "--tls-client-ca")? {
                roots.add(cert).map_err(|e| {
                    ServerError::Config(format!("--tls-client-ca {}: {e}", path.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| {
                    ServerError::Config(format!("--tls-client-ca {}: {e}", path.display()))
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let server = builder.with_single_cert(certs, key).map_err(|e| {
        ServerError::Config(format!(
            "--tls-cert {} with --tls-key {}: {e}",
            config.cert.display(),
            config.key.display()
        ))
    })?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn certificates(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let bad = |e: String| ServerError::Config(format!("{flag} {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    Ok(certs)
}

/// The subject common name of a DER certificate, read with a minimal DER
/// walk (certificate → tbsCertificate → subject → the CN attribute).
pub fn common_name(cert: &[u8]) -> Option<String> {
    let (_, cert, _) = tlv(cert)?; // Certificate SEQUENCE
    let (_, tbs, _) = tlv(cert)?; // tbsCertificate SEQUENCE
    let mut rest = tbs;
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] version
    }
    // serialNumber, signature, issuer, validity, then subject.
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (_, mut subject, _) = tlv(rest)?;
    while !subject.is_empty() {
        let (_, set, after) = tlv(subject)?;
        subject = after;
        let (_, attribute, _) = tlv(set)?;
        let (oid_tag, oid, value) = tlv(attribute)?;
        // 2.5.4.3, id-at-commonName.
        if oid_tag == 0x06 && oid == [0x55, 0x04, 0x03] {
            let (_, name, _) = tlv(value)?;
            return String::from_utf8(name.to_vec()).ok();
        }
    }
    None
}

/// One DER tag-length-value: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (bytes, after) = input.split_at(count);
        input = after;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    if input.len() < len {
        return None;
    }
    let (contents, rest) = input.split_at(len);
    Some((tag, contents, rest))
}
