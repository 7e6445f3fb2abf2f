//! Lane-changing state. The model (in `engine.rs`, `lane_change_step`) follows CityFlow's
//! `SimpleLaneChange`: a vehicle on a lane, at least 30 m before its end, not within the 3 s
//! cooling time of its last change, whose gap to its leader is between 1.5 lengths and
//! 2 lengths + 4·dt·max speed, looks at the adjacent lanes from which its route can continue
//! (any lane on the last road); it wants the outer lane if the gap there beats its own by more
//! than a vehicle length, the inner one if that beats both. It changes when the gap to the
//! new leader is at least its own braking distance and the gap to the new follower at least the
//! follower's. Simplification (documented): the change is completed within the step, without
//! CityFlow's "shadow" copy that occupies both lanes for the few steps of the lateral move.

/// Seconds a vehicle waits after a change before it considers another (CityFlow's newest value).
pub const COOLING_TIME_S: f64 = 3.0;
/// No lane change this close to the end of a lane, m.
pub const NO_CHANGE_BEFORE_END_M: f64 = 30.0;

pub(crate) struct LaneChangeState {
    #[allow(dead_code)]
    pub enabled: bool,
    pub last_change_s: Vec<f64>,
    pub changes: u64,
}

impl LaneChangeState {
    pub fn new(n: usize, enabled: bool) -> Self {
        LaneChangeState {
            enabled,
            last_change_s: if enabled {
                vec![f64::NEG_INFINITY; n]
            } else {
                Vec::new()
            },
            changes: 0,
        }
    }
    pub fn on_finish(&mut self, _v: usize) {}
}
