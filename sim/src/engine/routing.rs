//! CityFlow's router (`docs/cityflow-model.md` §3): which lane link a vehicle takes out of its
//! lane, and what lies ahead of it along its plan.

use super::Simulation;
use crate::topo::NONE;

impl Simulation {
    #[inline]
    pub(super) fn route_road(&self, v: usize, k: u32) -> Option<u32> {
        (k < self.route_len[v]).then(|| self.routes[(self.route_start[v] + k) as usize])
    }

    /// CityFlow's router: among the lane's links onto the next road of the route (and, unless
    /// that is the last road, whose end lane can continue to the road after), the one whose end
    /// lane index is closest to the current lane's; ties → first in order.
    pub(super) fn choose_link(&self, v: usize, lane: u32, k: u32) -> u32 {
        let Some(target) = self.route_road(v, k + 1) else {
            return NONE;
        };
        let after = self.route_road(v, k + 2);
        let t = &self.topo;
        let cur_idx = t.lane_index[lane as usize] as i32;
        let mut best = NONE;
        let mut best_diff = i32::MAX;
        for &d in &t.lane_out[lane as usize] {
            let to = t.link_to[t.link(d)];
            if t.lane_road[to as usize] != target {
                continue;
            }
            if let Some(a) = after {
                if t.lane_reach[to as usize].binary_search(&a).is_err() {
                    continue;
                }
            }
            let diff = (t.lane_index[to as usize] as i32 - cur_idx).abs();
            if diff < best_diff {
                best = d;
                best_diff = diff;
            }
        }
        best
    }

    /// The drivable after `d` along vehicle `v`'s plan, with the route position there.
    #[inline]
    pub(super) fn next_of(&self, v: usize, d: u32, k: u32) -> (u32, u32) {
        if self.topo.is_lane(d) {
            if d == self.drv[v] {
                (self.next_link[v], k)
            } else {
                (self.choose_link(v, d, k), k)
            }
        } else {
            (self.topo.link_to[self.topo.link(d)], k + 1)
        }
    }

    /// On the last road of its route, or with a way on from its lane.
    pub(super) fn on_valid_lane(&self, v: usize) -> bool {
        let d = self.drv[v];
        !self.topo.is_lane(d) || self.next_link[v] != NONE || self.rpos[v] + 1 >= self.route_len[v]
    }
}
