//! Detectors and cameras as configured, and the observations they produce — the same types
//! whether they come from the simulator's virtual sensors or from a field controller's registers.

use crate::ids::*;
use serde::{Deserialize, Serialize};

/// Where a loop detector sits on its approach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// At the stop line: counts discharge and sees the standing queue.
    StopBar,
    /// Upstream of the stop line: counts arrivals before they join the queue.
    Advance,
}

/// An inductive loop on one lane.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Detector {
    pub id: DetectorId,
    pub name: String,
    pub lane: LaneId,
    pub kind: DetectorKind,
    /// Distance from the stop line back to the loop's downstream edge, metres.
    pub setback_m: f64,
    /// Loop length along the lane, metres.
    pub length_m: f64,
}

/// A camera watching a zone of some lanes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Camera {
    pub id: CameraId,
    pub name: String,
    pub intersection: Option<IntersectionId>,
    pub lanes: Vec<LaneId>,
    /// The zone covered on each lane, as distances back from the stop line, metres
    /// (`zone_near_m` < `zone_far_m`).
    pub zone_near_m: f64,
    pub zone_far_m: f64,
}

/// One detector's aggregate over an interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorReading {
    pub detector: DetectorId,
    /// End of the interval, seconds since the start of the run/day.
    pub time_s: f64,
    pub interval_s: f64,
    /// Vehicles whose front crossed the loop in the interval.
    pub count: u32,
    /// Share of the interval the loop was occupied, 0..=1.
    pub occupancy: f64,
    /// Mean speed of the counted vehicles, m/s (`None` when none was counted).
    pub mean_speed_m_s: Option<f64>,
}

/// What a camera sees on one lane.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct LaneView {
    pub lane: LaneId,
    /// Vehicles in the zone.
    pub vehicles: u32,
    /// Vehicles in the zone moving slower than 0.1 m/s.
    pub halting: u32,
    /// From the stop line to the back of the last halting vehicle of the standing queue, metres.
    pub queue_length_m: f64,
    /// Vehicles that left the lane (crossed the stop line) since the previous frame.
    pub departed: u32,
}

/// One vehicle a camera tracks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackedVehicle {
    pub lane: LaneId,
    /// Distance from the stop line, metres.
    pub distance_to_stop_m: f64,
    pub speed_m_s: f64,
}

/// A camera's report at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraFrame {
    pub camera: CameraId,
    pub time_s: f64,
    pub lanes: Vec<LaneView>,
    pub vehicles: Vec<TrackedVehicle>,
}
