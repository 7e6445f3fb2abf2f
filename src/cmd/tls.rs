//! The Modbus/TCP Security flags `greenwave field` and `greenwave run` share: TLS with the
//! given PEM files, or plain Modbus TCP only when `--insecure-plain` says so.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub(crate) struct TlsArgs {
    /// The CA certificate(s) (PEM) the other end's certificate must chain to.
    #[arg(long, value_name = "PEM", requires_all = ["cert", "key"], conflicts_with = "insecure_plain")]
    pub ca: Option<PathBuf>,
    /// This end's certificate chain (PEM): the field ports' server certificate for `field`,
    /// the central's client certificate (role extension `operator`) for `run`.
    #[arg(long, value_name = "PEM", requires_all = ["ca", "key"], conflicts_with = "insecure_plain")]
    pub cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "PEM", requires_all = ["ca", "cert"], conflicts_with = "insecure_plain")]
    pub key: Option<PathBuf>,
    /// Plain Modbus TCP: no TLS, no authentication, no roles (every client may write). Only
    /// for loopback or devices without TLS; logged as a warning at start.
    #[arg(long)]
    pub insecure_plain: bool,
}

/// What the flags ask for.
pub(crate) enum TlsChoice<'a> {
    Tls {
        ca: &'a PathBuf,
        cert: &'a PathBuf,
        key: &'a PathBuf,
    },
    Plain,
}

impl TlsArgs {
    /// TLS with the three files, or plain when `--insecure-plain` is given; neither is an
    /// error (clap already refuses a partial set and a mix).
    pub(crate) fn choice(&self) -> anyhow::Result<TlsChoice<'_>> {
        match (&self.ca, &self.cert, &self.key, self.insecure_plain) {
            (Some(ca), Some(cert), Some(key), false) => Ok(TlsChoice::Tls { ca, cert, key }),
            (None, None, None, true) => Ok(TlsChoice::Plain),
            _ => anyhow::bail!(
                "the field link runs Modbus/TCP Security (TLS): give --ca, --cert and --key (PEM files; `greenwave field --gen-test-pki DIR` makes a test set), or --insecure-plain for plain Modbus TCP"
            ),
        }
    }
}
