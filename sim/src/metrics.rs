//! Run metrics, each defined on its field and in `docs/metrics.md`. Every figure counts every
//! vehicle whose departure time has come, finished or not, so a gridlocked run cannot look
//! better by finishing fewer trips.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per signalized intersection, over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntersectionMetrics {
    /// Delay accumulated on the intersection's entering lanes (per step: dt × (1 − speed /
    /// lane speed limit)) ÷ the vehicles that have been on those lanes, served or still
    /// queued, s. A vehicle still queued at the end counts its delay so far.
    pub mean_delay_s: f64,
    /// Halting vehicles (slower than [`crate::HALTING_SPEED_M_S`]) on the entering lanes, mean over steps.
    pub mean_queue_veh: f64,
    /// … and the largest value seen in a step.
    pub max_queue_veh: u32,
    /// Vehicles that crossed a stop line of the intersection.
    pub vehicles_served: u64,
    /// Vehicles that have been on the intersection's entering lanes (the delay's divisor).
    pub vehicles_arrived: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Over every vehicle whose departure time has come (including those still waiting to
    /// enter): mean of (arrival, or end of run) − departure, s. CityFlow's
    /// `get_average_travel_time()`.
    pub average_travel_time_s: f64,
    /// The "paper metric" of the published Jinan tables, sampled after every step at the new
    /// time t: for each signalized intersection k and vehicle v, enter(k, v) = the first t at
    /// which v's current drivable is one of k's entering lanes (a vehicle on a lane link or in
    /// the spawn queue is on no lane), leave(k, v) = the latest t at which it was on them at
    /// t − dt and is not at t, or the time of the metrics if it has not left. Σ over pairs of
    /// leave − enter ÷ the number of distinct vehicles in at least one pair, s.
    pub entering_lane_travel_time_s: f64,
    /// Over every vehicle whose departure time has come (the same vehicles as
    /// `average_travel_time_s`): travel time so far (as there) − the free-flow time of the
    /// distance it has driven so far (each lane and lane link at min(vehicle max speed, speed
    /// limit)), s. A vehicle still in the spawn queue has driven nothing: its whole wait is
    /// delay; a vehicle stuck at the end of the run counts its delay so far.
    pub mean_delay_s: f64,
    /// Stops per vehicle over the same vehicles: a stop is the speed falling below
    /// [`crate::HALTING_SPEED_M_S`] after having reached it, or being held in the spawn queue
    /// past the departure step (one stop, whether it has entered since or not). Stops of
    /// vehicles still running count.
    pub stops_per_vehicle: f64,
    /// Total distance driven ÷ the total travel time of the same vehicles (spawn-queue time
    /// included, as in `average_travel_time_s`), m/s.
    pub mean_speed_m_s: f64,
    /// Vehicles whose departure time has come.
    pub vehicles_generated: u64,
    /// … that entered the network.
    pub vehicles_entered: u64,
    /// … that reached the end of their route.
    pub vehicles_completed: u64,
    /// … still in the network at the end.
    pub vehicles_running: u64,
    /// … still waiting to enter at the end (spawn queue).
    pub vehicles_waiting: u64,
    pub simulated_s: f64,
    pub steps: u64,
    /// Wall-clock time spent stepping, s (excludes loading). Varies run to run.
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Vehicle updates (running vehicles × steps) per wall-clock second.
    pub vehicle_updates_per_s: f64,
    /// Conflict-monitor violations (a run stops at the first one; 0 on a good run).
    pub safety_violations: u64,
    /// By intersection name, signalized intersections only.
    pub intersections: BTreeMap<String, IntersectionMetrics>,
}

impl Metrics {
    /// The metrics with the wall-clock fields zeroed: what must be identical between two runs
    /// of the same inputs.
    pub fn without_timing(&self) -> Metrics {
        Metrics {
            wall_s: 0.0,
            steps_per_s: 0.0,
            vehicle_updates_per_s: 0.0,
            ..self.clone()
        }
    }
}
