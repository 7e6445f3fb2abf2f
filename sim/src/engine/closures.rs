//! Lane closures for a time window (roadworks, a scenario's `[[lanes]]` edit): while a lane is
//! closed no vehicle enters it and none leaves it at its stop line. Vehicles avoid a closed lane
//! where an open one serves their route (spawn lane, lane link choice); where none does they
//! wait — in the spawn queue, or at the stop line before the closed lane as at a red — until
//! the window ends. With no closure set every check below is skipped, so a run without
//! closures is step for step the run it was before this room existed.

use super::Simulation;
use crate::error::SimError;
use crate::topo::NONE;
use roadnet::LaneId;

/// One lane closed from `from_s` (inclusive) to `to_s` (exclusive), simulated seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneClosure {
    pub lane: LaneId,
    pub from_s: f64,
    pub to_s: f64,
}

impl Simulation {
    /// Close lanes for time windows (replacing any closures set before). Refuses an unknown
    /// lane or a window that is not `0 ≤ from_s < to_s` with finite ends.
    pub fn set_lane_closures(&mut self, closures: Vec<LaneClosure>) -> Result<(), SimError> {
        for c in &closures {
            if c.lane.index() >= self.topo.n_lanes {
                return Err(SimError::Config(format!(
                    "lane closure: unknown lane {}",
                    c.lane
                )));
            }
            if !(c.from_s.is_finite() && c.to_s.is_finite() && 0.0 <= c.from_s && c.from_s < c.to_s)
            {
                return Err(SimError::Config(format!(
                    "lane closure of lane {}: window [{}, {}) s is not 0 ≤ from < to",
                    c.lane, c.from_s, c.to_s
                )));
            }
        }
        self.lane_closed = vec![false; self.topo.n_lanes];
        self.closures = closures;
        let t = self.time_s();
        self.update_closures(t);
        Ok(())
    }

    /// Whether a lane is closed at this step.
    #[inline]
    pub(super) fn is_closed(&self, lane: u32) -> bool {
        !self.closures.is_empty() && self.lane_closed[lane as usize]
    }

    /// Open and close lanes for time `t`; when any lane changed, every vehicle on a lane
    /// chooses its lane link again (so it steers away from a newly closed lane, or back).
    pub(super) fn update_closures(&mut self, t: f64) {
        if self.closures.is_empty() {
            return;
        }
        let mut now = vec![false; self.topo.n_lanes];
        for c in &self.closures {
            if c.from_s <= t + 1e-9 && t + 1e-9 < c.to_s {
                now[c.lane.index()] = true;
            }
        }
        if now == self.lane_closed {
            return;
        }
        self.lane_closed = now;
        for k in 0..self.running.len() {
            let v = self.running[k] as usize;
            let d = self.drv[v];
            if d != NONE && self.topo.is_lane(d) && self.next_link[v] != NONE {
                self.next_link[v] = self.choose_link(v, d, self.rpos[v]);
            }
        }
    }

    /// Whether a vehicle on lane `from` may take link `link` now: neither its lane nor the
    /// link's end lane is closed.
    #[inline]
    pub(super) fn link_open(&self, from: u32, link: u32) -> bool {
        self.closures.is_empty()
            || !(self.lane_closed[from as usize]
                || self.lane_closed[self.topo.link_to[self.topo.link(link)] as usize])
    }
}
