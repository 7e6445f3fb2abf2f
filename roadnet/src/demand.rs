//! Traffic demand: vehicles with their parameters, routes and departure times, as the simulator
//! replays them.

use crate::ids::RoadId;
use serde::{Deserialize, Serialize};

/// A vehicle type's dynamics (CityFlow's names in brackets).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleParams {
    pub length_m: f64,
    pub width_m: f64,
    /// (maxPosAcc) m/s²
    pub max_accel_m_s2: f64,
    /// (maxNegAcc) emergency braking, m/s², positive
    pub max_decel_m_s2: f64,
    /// (usualPosAcc) m/s²
    pub usual_accel_m_s2: f64,
    /// (usualNegAcc) comfortable braking, m/s², positive
    pub usual_decel_m_s2: f64,
    /// (minGap) bumper-to-bumper gap at standstill, m
    pub min_gap_m: f64,
    /// (maxSpeed) m/s
    pub max_speed_m_s: f64,
    /// (headwayTime) desired time gap, s
    pub headway_s: f64,
}

impl Default for VehicleParams {
    /// A passenger car, as in the Jinan data.
    fn default() -> Self {
        VehicleParams {
            length_m: 5.0,
            width_m: 2.0,
            max_accel_m_s2: 2.0,
            max_decel_m_s2: 4.5,
            usual_accel_m_s2: 2.0,
            usual_decel_m_s2: 4.5,
            min_gap_m: 2.5,
            max_speed_m_s: 11.111,
            headway_s: 2.0,
        }
    }
}

/// The most vehicles one demand file may ask for (a day of a large city district). A file asking
/// for more is refused with an error at the entry that crosses it, before the trips are built,
/// so a few bytes of input cannot make the process allocate gigabytes.
pub const MAX_VEHICLES: u64 = 1_000_000;

/// One vehicle to release into the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    /// Seconds since the start of the run.
    pub departure_s: f64,
    /// Roads in order, first to last; consecutive roads are joined by a movement.
    pub route: Vec<RoadId>,
    pub params: VehicleParams,
}

/// All trips of a replay, sorted by departure time (stable: ties keep input order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    pub trips: Vec<Trip>,
}

impl Demand {
    pub fn new(mut trips: Vec<Trip>) -> Demand {
        trips.sort_by(|a, b| a.departure_s.total_cmp(&b.departure_s));
        Demand { trips }
    }
    /// Time of the last departure, seconds (0 when empty).
    pub fn last_departure_s(&self) -> f64 {
        self.trips.last().map_or(0.0, |t| t.departure_s)
    }
}
