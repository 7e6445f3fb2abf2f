//! Cameras and radar into the daemon: a [`CameraSource`] hands [`Daemon::step`] the frames
//! that arrived since the previous step (over MQTT: [`crate::perception::Subscriber`]).
//!
//! [`Daemon::step`]: super::Daemon::step

use roadnet::CameraFrame;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where camera frames come from; drained once per daemon step.
pub trait CameraSource: Send + std::fmt::Debug {
    /// Move every frame received since the previous call into `out`, oldest first.
    fn drain(&mut self, out: &mut Vec<CameraFrame>);
    /// The source's counters so far.
    fn stats(&self) -> CameraStats;
}

/// What a camera source saw: messages received, frames handed on, and every drop by reason.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CameraStats {
    /// Messages that reached the ingest (accepted or not).
    pub received: u64,
    /// Frames that passed every check.
    pub accepted: u64,
    /// Frames handed to the controller by [`CameraSource::drain`].
    pub delivered: u64,
    /// Sensors that restarted their sequence numbers (accepted: their clock moved on).
    pub sensor_restarts: u64,
    /// Dropped messages per reason (`oversized`, `malformed`, `late`, … — see
    /// [`crate::perception::DropReason`]); every reason is listed, zeros included.
    pub dropped: BTreeMap<String, u64>,
    /// Sensors of the network with no accepted frame in the last `silent_after_ms` (the
    /// estimator falls back to loops and history on their lanes).
    pub silent_sensors: u64,
}

impl CameraStats {
    /// All drops, every reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}
