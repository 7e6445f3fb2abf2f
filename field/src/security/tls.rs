//! The rustls configurations of a field port (server: its certificate, and client certificates
//! required and verified against the CA) and of the central (client: its certificate, and the
//! field's verified against the CA), read from PEM files; and what a verified client
//! certificate says: its subject and its Modbus role.

use super::ROLE_OID;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Why a TLS configuration cannot be built: one line naming the file (or the part) at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("{what}: {reason}")]
    Config { what: &'static str, reason: String },
}

/// A PEM file of certificates or one key is a few kB; anything past this is not one.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// The Modbus/TCP Security profile's floor is TLS 1.2.
static VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn file_error(path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A regular file of at most [`MAX_PEM_BYTES`].
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let meta = std::fs::metadata(path).map_err(|e| file_error(path, e.to_string()))?;
    if !meta.is_file() {
        return Err(file_error(path, "not a regular file"));
    }
    if meta.len() > MAX_PEM_BYTES {
        return Err(file_error(
            path,
            format!(
                "{} bytes, more than a PEM file of {MAX_PEM_BYTES} bytes",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| file_error(path, e.to_string()))
}

/// Every certificate (`BEGIN CERTIFICATE` block) of a PEM file; at least one.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(path, "no 'BEGIN CERTIFICATE' block"));
    }
    Ok(certs)
}

/// The private key (PKCS#8, PKCS#1 or SEC1 PEM block) of a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| file_error(path, format!("no usable private key PEM block: {e}")))
}

fn roots(ca: Vec<CertificateDer<'static>>) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for c in ca {
        roots
            .add(c)
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
    }
    Ok(Arc::new(roots))
}

/// Read the CA certificate(s), a certificate chain and its key from PEM files and build one
/// end's TLS with `new`; a configuration error names the file it comes from.
fn from_pem_files<T>(
    ca: &Path,
    cert: &Path,
    key: &Path,
    new: impl FnOnce(
        Vec<CertificateDer<'static>>,
        Vec<CertificateDer<'static>>,
        PrivateKeyDer<'static>,
    ) -> Result<T, TlsError>,
) -> Result<T, TlsError> {
    let ca_certs = load_certs(ca)?;
    let chain = load_certs(cert)?;
    let key_der = load_key(key)?;
    new(ca_certs, chain, key_der).map_err(|e| match e {
        TlsError::Config { what: "ca", reason } => file_error(ca, reason),
        TlsError::Config { reason, .. } => {
            file_error(cert, format!("{reason} (with the key {})", key.display()))
        }
        other => other,
    })
}

/// A field port's TLS: its certificate chain and key, and the CA that client certificates
/// must chain to. A client without a certificate, or with one from another CA, an expired one
/// or one not for client authentication, fails the handshake.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// From PEM files: the CA certificate(s), the server's certificate chain and its key.
    pub fn from_pem_files(ca: &Path, cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        from_pem_files(ca, cert, key, ServerTls::new)
    }

    pub fn new(
        ca: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ServerTls, TlsError> {
        let roots = roots(ca).map_err(|reason| TlsError::Config { what: "ca", reason })?;
        // client certificates are required (no `allow_unauthenticated`)
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| TlsError::Config {
                what: "ca",
                reason: e.to_string(),
            })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| TlsError::Config {
                what: "tls",
                reason: e.to_string(),
            })?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config {
                what: "cert",
                reason: e.to_string(),
            })?;
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}

/// The central's TLS: its client certificate chain and key, and the CA the field's server
/// certificates must chain to (the server name checked is the configured host).
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// From PEM files: the CA certificate(s), the client's certificate chain and its key.
    pub fn from_pem_files(ca: &Path, cert: &Path, key: &Path) -> Result<ClientTls, TlsError> {
        from_pem_files(ca, cert, key, ClientTls::new)
    }

    pub fn new(
        ca: Vec<CertificateDer<'static>>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ClientTls, TlsError> {
        let roots = roots(ca).map_err(|reason| TlsError::Config { what: "ca", reason })?;
        let config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)
            .map_err(|e| TlsError::Config {
                what: "tls",
                reason: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| TlsError::Config {
                what: "cert",
                reason: e.to_string(),
            })?;
        Ok(ClientTls {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    pub fn connector(&self) -> &TlsConnector {
        &self.connector
    }
}

/// The name a field's certificate must carry: the configured host (a DNS name or an IP
/// address, matched against the certificate's subject alternative names).
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_string()).map_err(|e| TlsError::Config {
        what: "host",
        reason: format!(
            "'{}' is not a DNS name or an IP address: {e}",
            truncate(host)
        ),
    })
}

/// Longest subject or role echoed into a log line.
const MAX_ECHO_CHARS: usize = 128;

fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// What a (verified) client certificate says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertIdentity {
    /// The subject distinguished name, e.g. `CN=central-1, O=City traffic centre`.
    pub subject: String,
    /// The role extension's string; `None` when the extension is absent or not a UTF8String.
    pub role: Option<String>,
}

/// Subject and role of a DER certificate (one that the TLS handshake has verified; a
/// certificate that does not parse gives the subject `<unparsable certificate>` and no role).
pub fn identity_of(cert: &CertificateDer<'_>) -> CertIdentity {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let Ok((_, x)) = X509Certificate::from_der(cert.as_ref()) else {
        return CertIdentity {
            subject: "<unparsable certificate>".to_string(),
            role: None,
        };
    };
    let role = x
        .extensions()
        .iter()
        .find(|e| {
            e.oid
                .iter()
                .is_some_and(|arcs| arcs.eq(ROLE_OID.iter().copied()))
        })
        .and_then(|e| der_utf8_string(e.value))
        .map(truncate);
    CertIdentity {
        subject: truncate(&x.subject().to_string()),
        role,
    }
}

/// The text of a DER UTF8String (tag 12) that fills `der` exactly.
fn der_utf8_string(der: &[u8]) -> Option<&str> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x0c {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, body) = match first {
        n @ 0..=0x7f => (usize::from(n), rest),
        0x81 => (usize::from(*rest.first()?), &rest[1..]),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            &rest[2..],
        ),
        _ => return None,
    };
    if body.len() != len {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// The DER UTF8String of `s` (the role extension's content); roles are short, a string over
/// 65535 bytes is cut there (on a character boundary).
pub(crate) fn der_utf8_string_of(s: &str) -> Vec<u8> {
    let mut end = s.len().min(0xffff);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let body = &s.as_bytes()[..end];
    let mut out = vec![0x0c];
    match body.len() {
        n @ 0..=0x7f => out.push(n as u8),
        n @ 0x80..=0xff => out.extend_from_slice(&[0x81, n as u8]),
        n => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_string_round_trips_in_every_length_form() {
        for s in ["", "operator", &"x".repeat(200), &"é".repeat(300)] {
            let der = der_utf8_string_of(s);
            assert_eq!(der_utf8_string(&der), Some(s), "{} bytes", s.len());
        }
        // hand-checked: UTF8String "monitor"
        assert_eq!(
            der_utf8_string_of("monitor"),
            [0x0c, 7, b'm', b'o', b'n', b'i', b't', b'o', b'r']
        );
    }

    #[test]
    fn utf8_string_refuses_other_tags_and_bad_lengths() {
        // PrintableString "operator", a length past the end, trailing bytes, bad UTF-8
        assert_eq!(der_utf8_string(b"\x13\x08operator"), None);
        assert_eq!(der_utf8_string(b"\x0c\x09operator"), None);
        assert_eq!(der_utf8_string(b"\x0c\x07operator"), None);
        assert_eq!(der_utf8_string(&[0x0c, 1, 0xff]), None);
        assert_eq!(der_utf8_string(&[]), None);
        assert_eq!(der_utf8_string(&[0x0c, 0x83, 0, 0, 1]), None);
    }

    #[test]
    fn pem_files_are_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("greenwave-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "hello").unwrap();
        let e = load_certs(&junk).unwrap_err().to_string();
        assert!(e.starts_with(&junk.display().to_string()), "{e}");
        assert!(e.contains("no 'BEGIN CERTIFICATE' block"), "{e}");
        let e = load_key(&junk).unwrap_err().to_string();
        assert!(e.contains("no usable private key"), "{e}");
        let e = load_certs(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let missing = dir.join("missing.pem");
        assert!(load_certs(&missing)
            .unwrap_err()
            .to_string()
            .starts_with(&missing.display().to_string()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
