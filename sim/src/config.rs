//! Run configuration.

use serde::{Deserialize, Serialize};

/// How a simulation runs. All times in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Step length, s. CityFlow's benchmark uses 1 s.
    pub dt_s: f64,
    /// Seed of the simulator's PRNG (first-lane choice, tie-break priorities).
    pub seed: u64,
    /// Let vehicles change lanes (CityFlow's `laneChange`).
    pub lane_change: bool,
    /// Simulated time, s.
    pub duration_s: f64,
    /// Loop detector aggregation interval, s. 60 s: short enough for actuated logic that
    /// reacts within a cycle, long enough that counts are not all 0/1.
    pub detector_interval_s: f64,
    /// Cameras also report every vehicle in their zone (position, speed). Off by default:
    /// the per-lane summaries are all the baselines need and tracking costs time.
    pub track_vehicles: bool,
    /// Fault injection for tests: execute `SwitchTo` at once, with no change interval and no
    /// min-green protection, as a faulty cabinet might. The conflict monitor still runs and
    /// stops the run on the first violation. Never set this in real use.
    pub raw_signal_commands: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            dt_s: 1.0,
            seed: 0,
            lane_change: false,
            duration_s: 3600.0,
            detector_interval_s: 60.0,
            track_vehicles: false,
            raw_signal_commands: false,
        }
    }
}

/// CityFlow's fixed vehicle defaults that flow files cannot set: speed on the approach to a
/// turn, m/s, and the distance a yielding vehicle stops before a conflict point, m.
pub const TURN_SPEED_M_S: f64 = 8.3333;
pub const YIELD_DISTANCE_M: f64 = 5.0;
/// A vehicle slower than this is halting (waiting), m/s: CityFlow's threshold in its waiting
/// counts, and the one threshold of greenwave (queues, stops, the halting counts of cameras, recordings).
pub const HALTING_SPEED_M_S: f64 = 0.1;
