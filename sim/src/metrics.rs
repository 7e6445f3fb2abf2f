//! Run metrics. `average_travel_time_s` and `entering_lane_travel_time_s` follow
//! `../shared/REFERENCE.md` exactly; the rest are defined on their fields.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per signalized intersection, over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntersectionMetrics {
    /// Delay accumulated on the intersection's entering lanes (time × (1 − speed / lane speed
    /// limit)), divided by the vehicles that left those lanes through the intersection, s.
    pub mean_delay_s: f64,
    /// Halting vehicles (< 0.1 m/s) on the entering lanes, mean over steps.
    pub mean_queue_veh: f64,
    /// … and the largest value seen in a step.
    pub max_queue_veh: u32,
    /// Vehicles that crossed a stop line of the intersection.
    pub vehicles_served: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Over every vehicle whose departure time has come (including those still waiting to
    /// enter): mean of (arrival, or end of run) − departure, s. CityFlow's
    /// `get_average_travel_time()`.
    pub average_travel_time_s: f64,
    /// Per vehicle, the sum over signalized intersections of the time from entering one of
    /// its entering lanes until leaving the intersection (on the exit road), or the end of the
    /// run; averaged over vehicles that entered the network, s. The crossing (lane link) is
    /// counted: with it our Jinan figures come within 2 % of the published "paper metric",
    /// without it ([`Metrics::entering_lane_strict_s`]) they are 3–6 % low.
    pub entering_lane_travel_time_s: f64,
    /// As above, counting only the time on the entering lanes themselves (lane membership).
    pub entering_lane_strict_s: f64,
    /// Over completed vehicles: travel time − free-flow time of their route (lane and lane-link
    /// lengths at min(vehicle max speed, lane speed limit)), s.
    pub mean_delay_s: f64,
    /// Stops (speed falls below 0.1 m/s after having moved) per vehicle that entered.
    pub stops_per_vehicle: f64,
    /// Total distance driven / total vehicle time in the network (entered, not waiting), m/s.
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
