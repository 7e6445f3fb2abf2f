//! The central side: what runs in the traffic management centre.
//!
//! - [`client`] — one connection pool per endpoint, timeouts, retries with backoff, the
//!   verified plan push, heartbeats and detector polling;
//! - [`daemon`] — the loop driving any [`roadnet::Controller`] over the link;
//! - [`audit`] — the durable, append-only audit log of every plan and stage request sent;
//! - [`metrics`] — the Prometheus metric names and the hooks that record them;
//! - [`cameras`] — the daemon's input of camera and radar frames ([`CameraSource`]).

pub mod audit;
pub mod cameras;
pub mod client;
pub mod daemon;
pub mod metrics;

pub use audit::AuditLog;
pub use cameras::{CameraSource, CameraStats};
pub use client::{ClientPool, EndpointPool, FieldLink, LinkConfig, PushJournal, PushReport};
pub use daemon::{Daemon, DaemonConfig, DaemonStats};
