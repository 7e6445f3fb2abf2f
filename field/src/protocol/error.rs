//! What a field-link operation can fail with, kept apart by who is to blame: the transport
//! ([`TransportError`]: nothing reliable was heard), the device ([`DeviceError`]: it answered,
//! with a Modbus exception or a refusal), or the plan itself ([`LinkError::Codec`],
//! [`LinkError::Invalid`]). The central retries only the first kind.

use super::codec::CodecError;
use super::regmap::RejectCode;
use roadnet::PlanError;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_modbus::ExceptionCode;

/// The link itself failed: nothing (reliable) was heard from the device.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no connection to {addr} within {after:?}")]
    ConnectTimeout { addr: SocketAddr, after: Duration },
    #[error("no reply from {addr} unit {unit} within {after:?}")]
    Timeout {
        addr: SocketAddr,
        unit: u8,
        after: Duration,
    },
    #[error("i/o error with {addr}: {source}")]
    Io {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("protocol error from {addr}: {detail}")]
    Protocol { addr: SocketAddr, detail: String },
}

/// The device answered, and the answer is a refusal or does not check out.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unit {unit} answered with Modbus exception {code:?}")]
    Exception { unit: u8, code: ExceptionCode },
    #[error("plan {seq} refused by the field controller: {code}")]
    Rejected { seq: u32, code: RejectCode },
    #[error("read-back of register {address} gave {read}, {wrote} was written")]
    VerifyMismatch { address: u16, wrote: u16, read: u16 },
    #[error("commit of plan {seq} left no trace in the status (committed {committed}, last commit {last})")]
    CommitUnconfirmed { seq: u32, committed: u32, last: u32 },
    #[error("not a greenwave field controller (magic {magic:#06x}, map version {version})")]
    WrongDevice { magic: u16, version: u16 },
    #[error("reply with {got} registers to a request for {asked}")]
    BadReply { asked: usize, got: usize },
}

/// Anything a field-link operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error("plan cannot be encoded: {0}")]
    Codec(#[from] CodecError),
    #[error("plan refused by the central validator: {0}")]
    Invalid(#[from] PlanError),
    /// The central could not record the push in its audit log, so it did not send it.
    #[error("not sent: {0}")]
    Journal(String),
}

impl LinkError {
    pub fn is_transport(&self) -> bool {
        matches!(self, LinkError::Transport(_))
    }
    /// The field's reason code when it refused a plan.
    pub fn reject_code(&self) -> Option<RejectCode> {
        match self {
            LinkError::Device(DeviceError::Rejected { code, .. }) => Some(*code),
            _ => None,
        }
    }
}
