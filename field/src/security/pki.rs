//! Certificates issued with `rcgen`: a CA, server certificates for field ports and client
//! certificates carrying a Modbus role. For the demo's throw-away CA
//! ([`throwaway_pki`]), the tests and `greenwave field --gen-test-pki`; a deployment uses its
//! own CA (`docs/modbus.md`, "Security").

use super::tls::{der_utf8_string_of, ClientTls, ServerTls, TlsError};
use super::{Role, ROLE_OID};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use std::path::Path;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A calendar date, UTC midnight: (year, month 1..=12, day 1..=31).
pub type Ymd = (i32, u8, u8);

/// Validity of what [`CertAuthority`] issues unless told otherwise. Fixed dates, so that the
/// same request gives the same certificate fields on any day (the keys are random).
pub const DEFAULT_VALID_FROM: Ymd = (2020, 1, 1);
pub const DEFAULT_VALID_UNTIL: Ymd = (2100, 1, 1);

fn pki_error(what: &'static str, e: rcgen::Error) -> TlsError {
    TlsError::Config {
        what,
        reason: e.to_string(),
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "greenwave");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A certificate and its private key, DER and PEM.
#[derive(Clone, Debug)]
pub struct IssuedCert {
    pub cert_der: CertificateDer<'static>,
    pub key_pkcs8_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl IssuedCert {
    fn new(cert: rcgen::Certificate, key: &KeyPair) -> IssuedCert {
        IssuedCert {
            cert_der: cert.der().clone(),
            key_pkcs8_der: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert_der.clone()]
    }
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8_der.clone()))
    }
}

/// What one certificate says (see [`CertAuthority::issue`]).
#[derive(Clone, Debug)]
pub struct CertSpec {
    pub common_name: String,
    /// Subject alternative names (DNS names or IP addresses) of a server certificate; a client
    /// certificate has none.
    pub hosts: Vec<String>,
    /// For a client: its Modbus role extension (`None`: no extension).
    pub role: Option<String>,
    /// Server (`serverAuth`) or client (`clientAuth`) certificate.
    pub server: bool,
    pub valid_from: Ymd,
    pub valid_until: Ymd,
}

impl CertSpec {
    pub fn server(common_name: &str, hosts: &[String]) -> CertSpec {
        CertSpec {
            common_name: common_name.to_string(),
            hosts: hosts.to_vec(),
            role: None,
            server: true,
            valid_from: DEFAULT_VALID_FROM,
            valid_until: DEFAULT_VALID_UNTIL,
        }
    }
    pub fn client(common_name: &str, role: Option<&str>) -> CertSpec {
        CertSpec {
            common_name: common_name.to_string(),
            hosts: Vec::new(),
            role: role.map(str::to_string),
            server: false,
            valid_from: DEFAULT_VALID_FROM,
            valid_until: DEFAULT_VALID_UNTIL,
        }
    }
}

/// A certificate authority whose key lives in memory only.
pub struct CertAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert: IssuedCert,
}

impl std::fmt::Debug for CertAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAuthority").finish_non_exhaustive()
    }
}

impl CertAuthority {
    /// A new self-signed CA named `common_name`.
    pub fn new(common_name: &str) -> Result<CertAuthority, TlsError> {
        let key = KeyPair::generate().map_err(|e| pki_error("ca key", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (y, m, d) = date(DEFAULT_VALID_FROM);
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = date(DEFAULT_VALID_UNTIL);
        params.not_after = rcgen::date_time_ymd(y, m, d);
        let cert = params
            .self_signed(&key)
            .map_err(|e| pki_error("ca certificate", e))?;
        let cert = IssuedCert::new(cert, &key);
        Ok(CertAuthority {
            issuer: Issuer::new(params, key),
            cert,
        })
    }

    /// The CA's own certificate (what both ends trust).
    pub fn cert(&self) -> &IssuedCert {
        &self.cert
    }

    /// Issue one certificate with a fresh key.
    pub fn issue(&self, spec: &CertSpec) -> Result<IssuedCert, TlsError> {
        let key = KeyPair::generate().map_err(|e| pki_error("key", e))?;
        let mut params =
            CertificateParams::new(spec.hosts.clone()).map_err(|e| pki_error("host name", e))?;
        params.distinguished_name = dn(&spec.common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![if spec.server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        if let Some(role) = &spec.role {
            // non-critical, as the profile has it: a TLS stack that does not know it still
            // verifies the certificate
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    ROLE_OID,
                    der_utf8_string_of(role),
                ));
        }
        let (y, m, d) = date(spec.valid_from);
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = date(spec.valid_until);
        params.not_after = rcgen::date_time_ymd(y, m, d);
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| pki_error("certificate", e))?;
        Ok(IssuedCert::new(cert, &key))
    }

    /// A field port's TLS with `server` as its certificate, trusting this CA for clients.
    pub fn server_tls(&self, server: &IssuedCert) -> Result<ServerTls, TlsError> {
        ServerTls::new(
            vec![self.cert.cert_der.clone()],
            server.chain(),
            server.key(),
        )
    }

    /// A central's TLS with `client` as its certificate, trusting this CA for field ports.
    pub fn client_tls(&self, client: &IssuedCert) -> Result<ClientTls, TlsError> {
        ClientTls::new(
            vec![self.cert.cert_der.clone()],
            client.chain(),
            client.key(),
        )
    }
}

/// A date `rcgen::date_time_ymd` takes without panicking: year clamped to 1950..=9999, an
/// impossible month or day falls back to 1 January.
fn date((y, m, d): Ymd) -> Ymd {
    let y = y.clamp(1950, 9999);
    if (1..=12).contains(&m) && (1..=28).contains(&d) {
        (y, m, d)
    } else {
        (y, 1, 1)
    }
}

/// A CA made at start-up, a server certificate for the field ports and an operator client
/// certificate for the central: everything the demo (or a test) needs to run the field link
/// over TLS, gone with the process.
#[derive(Debug)]
pub struct ThrowawayPki {
    pub ca: CertAuthority,
    /// For every field port: its subject alternative names are the given hosts plus
    /// `localhost` and `127.0.0.1`.
    pub server: IssuedCert,
    /// Role `operator`.
    pub operator: IssuedCert,
}

impl ThrowawayPki {
    pub fn server_tls(&self) -> Result<ServerTls, TlsError> {
        self.ca.server_tls(&self.server)
    }
    pub fn client_tls(&self) -> Result<ClientTls, TlsError> {
        self.ca.client_tls(&self.operator)
    }

    /// Write `ca.pem`, `server.pem`, `server.key`, `operator.pem`, `operator.key`, and a
    /// `monitor.pem`/`monitor.key` pair (role `monitor`) into `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<Vec<String>, TlsError> {
        let monitor = self.ca.issue(&CertSpec::client(
            "greenwave monitor",
            Some(Role::Monitor.as_str()),
        ))?;
        std::fs::create_dir_all(dir).map_err(|e| TlsError::File {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let files = [
            ("ca.pem", &self.ca.cert().cert_pem),
            ("server.pem", &self.server.cert_pem),
            ("server.key", &self.server.key_pem),
            ("operator.pem", &self.operator.cert_pem),
            ("operator.key", &self.operator.key_pem),
            ("monitor.pem", &monitor.cert_pem),
            ("monitor.key", &monitor.key_pem),
        ];
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| TlsError::File {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            written.push(name.to_string());
        }
        Ok(written)
    }
}

/// A throw-away CA, one server certificate valid for every host in `hosts` (and `localhost`,
/// `127.0.0.1`), and an operator client certificate.
pub fn throwaway_pki(hosts: &[String]) -> Result<ThrowawayPki, TlsError> {
    let ca = CertAuthority::new("greenwave throw-away CA")?;
    let mut names: Vec<String> = hosts.to_vec();
    names.extend(["localhost".to_string(), "127.0.0.1".to_string()]);
    names.sort();
    names.dedup();
    let server = ca.issue(&CertSpec::server("greenwave field", &names))?;
    let operator = ca.issue(&CertSpec::client(
        "greenwave central",
        Some(Role::Operator.as_str()),
    ))?;
    Ok(ThrowawayPki {
        ca,
        server,
        operator,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tls::identity_of;
    use super::*;

    #[test]
    fn an_issued_client_certificate_carries_its_role_and_subject() {
        let ca = CertAuthority::new("test CA").unwrap();
        let op = ca
            .issue(&CertSpec::client("central-1", Some("operator")))
            .unwrap();
        let id = identity_of(&op.cert_der);
        assert_eq!(id.role.as_deref(), Some("operator"));
        assert_eq!(id.subject, "O=greenwave, CN=central-1");
        let none = ca.issue(&CertSpec::client("nobody", None)).unwrap();
        assert_eq!(identity_of(&none.cert_der).role, None);
    }
}
