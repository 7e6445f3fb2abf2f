//! The central side: what runs in the traffic management centre.
//!
//! - [`client`] — one connection pool per endpoint, timeouts, retries with backoff, the
//!   verified plan push, heartbeats and detector polling;
//! - [`daemon`] — the loop driving any [`roadnet::Controller`] over the link;
//! - [`cameras`] — the daemon's input of camera and radar frames ([`CameraSource`]).

pub mod cameras;
pub mod client;
pub mod daemon;

pub use cameras::{CameraSource, CameraStats};
pub use client::{ClientPool, EndpointPool, FieldLink, LinkConfig, PushReport};
pub use daemon::{Daemon, DaemonConfig, DaemonStats};
