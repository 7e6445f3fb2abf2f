//! CityFlow's router (`docs/cityflow-model.md` §3): which lane link a vehicle takes out of its
//! lane, and what lies ahead of it along its plan.

use super::Simulation;
use crate::topo::NONE;

impl Simulation {
    #[inline]
    pub(super) fn route_road(&self, v: usize, k: u32) -> Option<u32> {
        (k < self.route_len[v]).then(|| self.routes[(self.route_start[v] + k) as usize])
    }

    /// Marks, for every road of a newly added route and every lane of it, whether the rest
    /// of the route can be driven from that lane through lane links alone: on the last road
    /// every lane; before it, a lane with a link into a marked lane of the next road.
    pub(super) fn plan_route_lanes(&mut self, route: &[roadnet::RoadId]) {
        let t = &self.topo;
        let base = self.route_ok.len();
        let mut at = Vec::with_capacity(route.len());
        let mut off = base;
        for r in route {
            at.push(off as u32);
            off += t.road_lanes[r.index()].len();
        }
        self.route_ok.resize(off, false);
        for k in (0..route.len()).rev() {
            let lanes = &t.road_lanes[route[k].index()];
            for (i, &l) in lanes.iter().enumerate() {
                let ok = k + 1 == route.len()
                    || t.lane_out[l as usize].iter().any(|&d| {
                        let to = t.link_to[t.link(d)];
                        t.lane_road[to as usize] == route[k + 1].0
                            && self.route_ok
                                [at[k + 1] as usize + t.lane_index[to as usize] as usize]
                    });
                self.route_ok[at[k] as usize + i] = ok;
            }
        }
        self.must_change |= !self.route_ok[base..base + t.road_lanes[route[0].index()].len()]
            .iter()
            .any(|ok| *ok);
        self.route_ok_at.extend(at);
    }

    /// Whether vehicle `v`'s route from its `k`-th road on can be driven from `lane` (a lane of
    /// that road) without changing lanes.
    #[inline]
    pub(super) fn lane_ok(&self, v: usize, k: u32, lane: u32) -> bool {
        let at = self.route_ok_at[(self.route_start[v] + k) as usize] as usize;
        self.route_ok[at + self.topo.lane_index[lane as usize] as usize]
    }

    /// The lane link vehicle `v` takes out of `lane` (on its `k`-th road): among the lane's
    /// links onto the next road of the route, the one whose end lane index is closest to the
    /// current lane's (ties → first in order), taken from the first non-empty tier of
    /// 1. links into a lane from which the rest of the route can be driven;
    /// 2. CityFlow's candidates: links into a lane with a link onto the road after (any link
    ///    when the next road is the last);
    /// 3. any link onto the next road.
    ///
    /// CityFlow has only tier 2. It looks two roads ahead, so on a network where only some
    /// lanes continue (a SUMO import: only the kerb lane turns right) it can send a vehicle
    /// into a lane with a link to the road after but none onto the road after that, and the
    /// vehicle then waits at that stop line forever. Where every tier-2 end lane reaches the
    /// end of the route (Jinan: each movement links to every lane of its exit road), tier 1
    /// equals tier 2 and the choice is CityFlow's. Tiers 2 and 3 serve only a vehicle on a
    /// lane from which the route cannot be completed without changing lanes: it drives on as
    /// far as it can (with lane changing on, `lanechange.rs` then moves it to a lane that does
    /// go on), where CityFlow would hold it at this stop line.
    pub(super) fn choose_link(&self, v: usize, lane: u32, k: u32) -> u32 {
        let Some(target) = self.route_road(v, k + 1) else {
            return NONE;
        };
        let after = self.route_road(v, k + 2);
        let t = &self.topo;
        let cur_idx = t.lane_index[lane as usize] as i32;
        let mut best = [NONE; 6];
        let mut best_diff = [i32::MAX; 6];
        for &d in &t.lane_out[lane as usize] {
            let to = t.link_to[t.link(d)];
            if t.lane_road[to as usize] != target {
                continue;
            }
            let mut tier = if self.lane_ok(v, k + 1, to) {
                0
            } else if after.is_none_or(|a| t.lane_reach[to as usize].binary_search(&a).is_ok()) {
                1
            } else {
                2
            };
            // A closed end lane only when no open one serves (`closures.rs`).
            if self.is_closed(to) {
                tier += 3;
            }
            let diff = (t.lane_index[to as usize] as i32 - cur_idx).abs();
            if diff < best_diff[tier] {
                best[tier] = d;
                best_diff[tier] = diff;
            }
        }
        best.into_iter().find(|d| *d != NONE).unwrap_or(NONE)
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
