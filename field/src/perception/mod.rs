//! Cameras and radar over MQTT (feature `mqtt`; the scheme is `docs/perception.md`).
//!
//! - [`topic`] — `greenwave/v1/<region>/<camera|radar>/<sensor-id>` and the region filters;
//! - [`codec`] — the JSON frame ([`WireFrame`]) ↔ [`roadnet::CameraFrame`], checked strictly
//!   against the network's sensors and lanes ([`SensorDirectory`]);
//! - [`ingest`] — every message once: decode, check, sequence and clock; drops counted per
//!   [`DropReason`];
//! - [`mqtt`] — the [`Subscriber`] (a [`crate::central::CameraSource`] for the daemon) and the
//!   [`Publisher`] on `rumqttc`;
//! - [`broker`] (feature `broker`) — an in-process `rumqttd` broker on a loopback port for the
//!   one-command demo;
//! - [`bridge`] (feature `broker`) — the demo's road: simulator frames → embedded broker →
//!   subscriber → daemon, step by step in simulated time.

pub mod codec;
pub mod ingest;
pub mod mqtt;
pub mod topic;

#[cfg(feature = "broker")]
pub mod bridge;
#[cfg(feature = "broker")]
pub mod broker;

pub use codec::{
    DropReason, Rejected, SensorDirectory, SensorKind, WireBatch, WireFrame, MAX_BATCH_FRAMES,
    MAX_BATCH_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, SCHEMA_VERSION,
};
pub use ingest::{Ingest, IngestConfig};
pub use mqtt::{
    system_clock_ms, BrokerAddr, ClockMs, Progress, ProgressWatch, Publisher, Subscriber,
    SubscriberConfig,
};
pub use topic::{batch_topic, frame_topic, parse_batch_topic, region_filter};

#[cfg(feature = "broker")]
pub use bridge::CameraBridge;
#[cfg(feature = "broker")]
pub use broker::EmbeddedBroker;
