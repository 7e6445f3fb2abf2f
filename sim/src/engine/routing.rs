//! CityFlow's router (`docs/cityflow-model.md` §3): which lane link a vehicle takes out of its
//! lane, and what lies ahead of it along its plan.

use super::Simulation;
use crate::topo::NONE;

impl Simulation {
    #[inline]
    pub(super) fn route_road(&self, v: usize, k: u32) -> Option<u32> {
        (k < self.route_len[v]).then(|| self.routes[(self.route_start[v] + k) as usize])
    }

    /// Plans, for every road of a newly added route and every lane of it, how many lane
    /// changes the rest of the route needs at least when the vehicle leaves that road from
    /// that lane (`route_via`): on the last road 0; before it, over the lane's links onto the
    /// next road, the least of what each end lane needs — its own `via`, or another lane's
    /// plus the changes to reach it on that road. 0 is a lane from which the rest of the route
    /// can be driven through lane links alone (CityFlow's networks: every route); a SUMO route
    /// may need changes (a left turn into the inner lane, then a right turn two blocks on),
    /// and its vehicles then keep to the lanes that need the fewest (SUMO's "best lanes").
    /// [`NO_WAY`]: no link onto the next road.
    pub(super) fn plan_route_lanes(&mut self, route: &[roadnet::RoadId]) {
        let t = &self.topo;
        let base = self.route_via.len();
        let mut at = Vec::with_capacity(route.len());
        let mut off = base;
        for r in route {
            at.push(off as u32);
            off += t.road_lanes[r.index()].len();
        }
        self.route_via.resize(off, NO_WAY);
        let first_entry = self.route_best.len();
        self.route_best.resize(first_entry + route.len(), NO_WAY);
        for k in (0..route.len()).rev() {
            let lanes = &t.road_lanes[route[k].index()];
            for (i, &l) in lanes.iter().enumerate() {
                let via = if k + 1 == route.len() {
                    0
                } else {
                    let next = &self.route_via[at[k + 1] as usize..];
                    let n_next = t.road_lanes[route[k + 1].index()].len();
                    t.lane_out[l as usize]
                        .iter()
                        .map(|&d| t.link_to[t.link(d)])
                        .filter(|&to| t.lane_road[to as usize] == route[k + 1].0)
                        .map(|to| need(&next[..n_next], t.lane_index[to as usize] as usize))
                        .min()
                        .unwrap_or(NO_WAY)
                };
                self.route_via[at[k] as usize + i] = via;
            }
            let here = &self.route_via[at[k] as usize..at[k] as usize + lanes.len()];
            self.route_best[first_entry + k] = here.iter().copied().min().unwrap_or(NO_WAY);
        }
        self.must_change |= self.route_best[first_entry] > 0;
        self.route_via_at.extend(at);
    }

    /// How many lane changes the rest of vehicle `v`'s route needs at least when it leaves its
    /// `k`-th road from `lane` (a lane of that road); 0: none, [`NO_WAY`]: no way on.
    #[inline]
    pub(super) fn lane_via(&self, v: usize, k: u32, lane: u32) -> u8 {
        let at = self.route_via_at[(self.route_start[v] + k) as usize] as usize;
        self.route_via[at + self.topo.lane_index[lane as usize] as usize]
    }

    /// Whether `lane` is one of the lanes of vehicle `v`'s `k`-th road that need the fewest
    /// lane changes later (on a route drivable through links alone: those from which it is).
    #[inline]
    pub(super) fn lane_best(&self, v: usize, k: u32, lane: u32) -> bool {
        self.lane_via(v, k, lane) == self.route_best[(self.route_start[v] + k) as usize]
    }

    /// The fewest lane changes vehicle `v` needs to finish its route from `lane` of its
    /// `k`-th road, changing lanes on that road if it helps.
    #[inline]
    fn lane_need(&self, v: usize, k: u32, lane: u32) -> u8 {
        let at = self.route_via_at[(self.route_start[v] + k) as usize] as usize;
        let n = self.topo.road_lanes[self.topo.lane_road[lane as usize] as usize].len();
        need(
            &self.route_via[at..at + n],
            self.topo.lane_index[lane as usize] as usize,
        )
    }

    /// The lane link vehicle `v` takes out of `lane` (on its `k`-th road): among the lane's
    /// links onto the next road of the route, the first by
    /// 1. an end lane that is open (`closures.rs`) where one serves;
    /// 2. the fewest lane changes the rest of the route needs from the end lane (0: it can be
    ///    driven through links alone);
    /// 3. CityFlow's candidates first: a link into a lane with a link onto the road after (any
    ///    link when the next road is the last);
    /// 4. the end lane index closest to the current lane's (ties → first in order).
    ///
    /// CityFlow has only 3 and 4. It looks two roads ahead, so on a network where only some
    /// lanes continue (a SUMO import: only the kerb lane turns right) it can send a vehicle
    /// into a lane with a link to the road after but none onto the road after that, and the
    /// vehicle then waits at that stop line forever. Where every candidate end lane reaches
    /// the end of the route (Jinan: each movement links to every lane of its exit road), 2
    /// ties and the choice is CityFlow's.
    pub(super) fn choose_link(&self, v: usize, lane: u32, k: u32) -> u32 {
        let Some(target) = self.route_road(v, k + 1) else {
            return NONE;
        };
        let after = self.route_road(v, k + 2);
        let t = &self.topo;
        let cur_idx = t.lane_index[lane as usize] as i32;
        let mut best = NONE;
        let mut best_key = (true, NO_WAY, true, i32::MAX);
        for &d in &t.lane_out[lane as usize] {
            let to = t.link_to[t.link(d)];
            if t.lane_road[to as usize] != target {
                continue;
            }
            let need = self.lane_need(v, k + 1, to);
            let cityflow =
                after.is_none_or(|a| t.lane_reach[to as usize].binary_search(&a).is_ok());
            let diff = (t.lane_index[to as usize] as i32 - cur_idx).abs();
            let key = (self.is_closed(to), need, !cityflow, diff);
            if key < best_key {
                best = d;
                best_key = key;
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

/// `route_via` of a road with no way on.
pub(super) const NO_WAY: u8 = u8::MAX;

/// The fewest lane changes from lane index `i` of a road whose lanes need `via` each: change
/// to a lane (one change per lane crossed), then go on from it.
fn need(via: &[u8], i: usize) -> u8 {
    via.iter()
        .enumerate()
        .filter(|(_, v)| **v != NO_WAY)
        .map(|(j, v)| {
            let cross = u8::try_from(j.abs_diff(i)).unwrap_or(NO_WAY);
            v.saturating_add(cross).min(NO_WAY - 1)
        })
        .min()
        .unwrap_or(NO_WAY)
}
