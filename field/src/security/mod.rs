//! Modbus/TCP Security (the Modbus Organization's TLS profile): TLS 1.2+ with mutual X.509
//! authentication, and authorization by the role the client certificate carries.
//!
//! - [`tls`] — the rustls configurations of both ends, read from PEM files, and what a verified
//!   client certificate says (subject, role);
//! - [`pki`] — certificate issuing with `rcgen`: the demo's throw-away CA
//!   ([`pki::throwaway_pki`]), the tests' certificates and `greenwave field --gen-test-pki`.
//!
//! `docs/modbus.md` ("Security") tells how to deploy with a real CA.

pub mod pki;
pub mod tls;

pub use pki::{throwaway_pki, CertAuthority, IssuedCert, ThrowawayPki};
pub use tls::{ClientTls, ServerTls, TlsError};

/// The role extension of the Modbus/TCP Security profile: an ASN.1 UTF8String in the client
/// certificate naming the role the field grants.
pub const ROLE_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 50316, 802, 1];

/// The Modbus port of the TLS profile (IANA "mbap-s"); plain Modbus TCP is 502.
pub const MODBUS_TLS_PORT: u16 = 802;

/// What a peer may do on a field port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only (FC 03, FC 04); every other function code is answered exception 01.
    ReadOnly,
    /// Reads and writes: plans, commits, heartbeat, stage requests, pattern control.
    ReadWrite,
}

/// The roles a field port knows. Any other role string, or none, gets [`Access::ReadOnly`]:
/// the certificate was issued by the trusted CA, so the peer may look, but nothing it carries
/// says it may act.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read-only: status and detector counts (FC 03/04).
    Monitor,
    /// The central: may also write plans, stage requests, heartbeat and pattern control.
    Operator,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Monitor => "monitor",
            Role::Operator => "operator",
        }
    }

    /// The role named by a certificate's role extension (exact, case-sensitive match).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "monitor" => Some(Role::Monitor),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    pub const fn access(self) -> Access {
        match self {
            Role::Monitor => Access::ReadOnly,
            Role::Operator => Access::ReadWrite,
        }
    }
}

/// The access a certificate's role string grants: unknown or missing roles read only.
pub fn access_of(role: Option<&str>) -> Access {
    role.and_then(Role::parse)
        .map_or(Access::ReadOnly, Role::access)
}
