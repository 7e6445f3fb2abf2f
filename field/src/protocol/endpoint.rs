//! The one runtime address of a field controller. The network file configures it as a
//! [`roadnet::FieldEndpoint`] (host, port and unit id); the field link keeps only where to
//! connect or listen, since one endpoint serves several unit ids.

use roadnet::FieldEndpoint;
use std::fmt;
use std::net::SocketAddr;

/// Where a field controller listens: a host (name or address) and a TCP port. The emulator
/// binds one server per `Endpoint`; the central shares one connection pool per resolved
/// address. A [`SocketAddr`] appears only as the answer of [`Endpoint::resolve`] (or a test's
/// override of it), never as a second way to name the device.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl From<&FieldEndpoint> for Endpoint {
    fn from(ep: &FieldEndpoint) -> Endpoint {
        Endpoint {
            host: ep.host.clone(),
            port: ep.port,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl Endpoint {
    /// Resolve the host to a socket address (the first the resolver gives).
    pub async fn resolve(&self) -> std::io::Result<SocketAddr> {
        tokio::net::lookup_host((self.host.as_str(), self.port))
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{self} does not resolve"),
                )
            })
    }
}
