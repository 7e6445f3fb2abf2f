//! Lane changing (config `lane_change`), after CityFlow's `SimpleLaneChange`: a vehicle on a
//! lane, at least [`NO_CHANGE_BEFORE_END_M`] before its end, not within [`COOLING_TIME_S`] of
//! its last change, whose gap to its leader is between 1.5 lengths and 2 lengths + 4·dt·max
//! speed, looks at the adjacent lanes from which its route can continue (any lane on the last
//! road); it wants the outer lane if the gap there beats its own by more than a vehicle length,
//! the inner one if that beats both. It changes when the gap to the new leader is at least its
//! own braking distance and the gap to the new follower at least the follower's.
//!
//! Not CityFlow: a vehicle on a lane that needs more lane changes later than the best lanes of
//! its road (a lane from which the rest of its route cannot be driven through links alone,
//! where another can; SUMO routes may need changes on several roads) moves one lane at a time
//! towards the nearest best lane, whatever its gap and wherever it is on the lane, with or
//! without lane changing on (`routing.rs`, `docs/sumo.md`).
//!
//! Simplification: the change completes within the step, without CityFlow's "shadow" copy
//! that occupies both lanes during the lateral move, so no follower is ever signalled to
//! slow down for a changer. The Jinan figures with lane changing stay within 1 % of
//! CityFlow's (lane changes there happen only on the last road of a route).

use super::Simulation;
use crate::config::HALTING_SPEED_M_S;
use crate::topo::NONE;

/// Seconds a vehicle waits after a change before it considers another (CityFlow's newest value).
pub(super) const COOLING_TIME_S: f64 = 3.0;
/// No lane change this close to the end of a lane, m.
pub(super) const NO_CHANGE_BEFORE_END_M: f64 = 30.0;

impl Simulation {
    /// The vehicle nearest ahead of position `x` on `lane` (front at or beyond `x`), if any.
    pub(super) fn vehicle_at_or_after(&self, lane: u32, x: f64) -> Option<u32> {
        // Lists run front → back: the last one with dis ≥ x is the nearest ahead.
        let list = &self.lists[lane as usize];
        let k = list.partition_point(|v| self.dis[*v as usize] >= x);
        (k > 0).then(|| list[k - 1])
    }

    pub(super) fn lane_change_step(&mut self) {
        let now = self.time_s();
        let mut any = false;
        for i in 0..self.running.len() {
            let v = self.running[i] as usize;
            let d = self.drv[v];
            if !self.topo.is_lane(d) || now - self.last_change_s[v] < COOLING_TIME_S {
                continue;
            }
            let road = self.topo.lane_road[d as usize] as usize;
            let idx = self.topo.lane_index[d as usize] as usize;
            let lanes = &self.topo.road_lanes[road];
            let last_road = self.rpos[v] + 1 >= self.route_len[v];
            let mandatory = !(last_road || self.lane_best(v, self.rpos[v], d));
            let target = if !mandatory {
                if !self.cfg.lane_change {
                    continue;
                }
                self.discretionary_target(v, d, idx, lanes, last_road)
            } else {
                // Not CityFlow: a vehicle on a lane that needs more lane changes later than
                // another lane of its road (on a route drivable through links alone: a lane
                // from which it is not; SUMO routes assume vehicles change lanes as they need)
                // moves one lane towards the nearest of those that need the fewest, wherever
                // it is on the lane and whatever its gap, even with lane changing off; CityFlow
                // would leave it at the stop line for good.
                let best = |i: usize| self.lane_best(v, self.rpos[v], lanes[i]);
                let near = (0..lanes.len())
                    .filter(|&i| best(i))
                    .min_by_key(|&i| (i as i64 - idx as i64).abs());
                match near {
                    Some(i) if i > idx => lanes[idx + 1],
                    Some(i) if i < idx => lanes[idx - 1],
                    _ => NONE,
                }
            };
            if target == NONE {
                continue;
            }
            // Safety gaps in the target lane.
            let x = self.dis[v];
            let leader_gap = match self.vehicle_at_or_after(target, x) {
                Some(l) => self.dis[l as usize] - x - self.len_m[l as usize],
                None => f64::MAX,
            };
            let list = &self.lists[target as usize];
            let pos = list.partition_point(|w| self.dis[*w as usize] >= x);
            let follower_ok = match list.get(pos) {
                Some(&f) => {
                    x - self.dis[f as usize] - self.len_m[v] >= self.min_brake_m(f as usize)
                }
                None => true,
            };
            if leader_gap < self.min_brake_m(v) || !follower_ok {
                if mandatory && self.try_swap(v, d, target, now) {
                    any = true;
                }
                continue;
            }
            // Move: out of the current lane, into the target at its place by position.
            self.lists[d as usize].retain(|w| *w as usize != v);
            self.lists[target as usize].insert(pos, v as u32);
            self.drv[v] = target;
            self.next_link[v] = self.choose_link(v, target, self.rpos[v]);
            self.last_change_s[v] = now;
            any = true;
        }
        if any {
            self.update_leaders();
        }
    }

    /// Two vehicles halted side by side, each on the other's way: `v` cannot go on from lane
    /// `d` (no link onto its next road) and waits for a gap in `target` that the vehicle
    /// beside it, `w`, halted there, will never open — typically both at the stop line of a
    /// short pocket edge, one needing the other's lane for its turn. SUMO's drivers cooperate
    /// (its lane-change model swaps such blocked pairs); here they swap lanes when `w` is no
    /// worse off in `d` than in `target` (fewer or as many lane changes left). Without this
    /// the pair stands for good and the grid locks up behind them. Returns whether they swapped.
    fn try_swap(&mut self, v: usize, d: u32, target: u32, now: f64) -> bool {
        if self.next_link[v] != NONE || self.speed[v] >= HALTING_SPEED_M_S {
            return false;
        }
        let x = self.dis[v];
        // the vehicle in `target` whose front is nearest to `v`'s, within a metre
        let Some(w) = self
            .vehicle_at_or_after(target, x - 1.0)
            .map(|w| w as usize)
            .filter(|&w| self.dis[w] <= x + 1.0)
        else {
            return false;
        };
        if self.speed[w] >= HALTING_SPEED_M_S
            || now - self.last_change_s[w] < COOLING_TIME_S
            || self.rpos[w] + 1 < self.route_len[w]
                && self.lane_via(w, self.rpos[w], d) > self.lane_via(w, self.rpos[w], target)
        {
            return false;
        }
        // each must fit where the other stood (vehicle lengths may differ)
        if !self.fits(target, w, x, self.len_m[v]) || !self.fits(d, v, self.dis[w], self.len_m[w]) {
            return false;
        }
        // each takes the other's place in the lane lists: their fronts are within a metre of
        // each other and neither overlaps a neighbour, so both lists stay in order
        for (lane, from, to) in [(d, v, w), (target, w, v)] {
            if let Some(p) = self.lists[lane as usize]
                .iter()
                .position(|u| *u as usize == from)
            {
                self.lists[lane as usize][p] = to as u32;
            }
        }
        self.drv[v] = target;
        self.drv[w] = d;
        self.next_link[v] = self.choose_link(v, target, self.rpos[v]);
        self.next_link[w] = self.choose_link(w, d, self.rpos[w]);
        self.last_change_s[v] = now;
        self.last_change_s[w] = now;
        true
    }

    /// Whether a vehicle `len_m` long with its front at `front_m` on `lane` overlaps none of
    /// the lane's vehicles but `skip`.
    fn fits(&self, lane: u32, skip: usize, front_m: f64, len_m: f64) -> bool {
        self.lists[lane as usize]
            .iter()
            .map(|u| *u as usize)
            .filter(|&u| u != skip)
            .all(|u| {
                let (f, l) = (self.dis[u], self.len_m[u]);
                f - l >= front_m || f <= front_m - len_m
            })
    }

    /// CityFlow's discretionary choice: the adjacent lane (from which the route can go on) with
    /// a clearly longer free gap ahead, for a vehicle not near the lane end and neither free
    /// nor jammed behind its leader; NONE when none.
    fn discretionary_target(
        &self,
        v: usize,
        d: u32,
        idx: usize,
        lanes: &[u32],
        last_road: bool,
    ) -> u32 {
        let dt = self.cfg.dt_s;
        let len = self.topo.length_m[d as usize];
        if len - self.dis[v] < NO_CHANGE_BEFORE_END_M {
            return NONE;
        }
        // Gap to the leader: only a moderately constrained vehicle looks for a better lane.
        let cur_gap = if self.leader[v] == NONE {
            f64::MAX
        } else {
            self.gap_m[v]
        };
        let expected = 2.0 * self.len_m[v] + 4.0 * dt * self.max_speed[v];
        if cur_gap > expected || cur_gap < 1.5 * self.len_m[v] {
            return NONE;
        }
        let estimate = |lane: u32| match self.vehicle_at_or_after(lane, self.dis[v]) {
            None => self.topo.length_m[lane as usize] - self.dis[v],
            Some(l) => self.dis[l as usize] - self.dis[v] - self.len_m[l as usize],
        };
        // CityFlow asks whether its router finds a next drivable from the lane; greenwave asks
        // whether the lane needs no more lane changes later than the best of its road (on
        // Jinan: whether the rest of the route can be driven from it; see `routing.rs`), so a
        // change never strands a vehicle.
        let can_continue = |lane: u32| last_road || self.lane_best(v, self.rpos[v], lane);
        let mut target = NONE;
        let mut outer_est = 0.0;
        if idx + 1 < lanes.len() && can_continue(lanes[idx + 1]) {
            outer_est = estimate(lanes[idx + 1]);
            if outer_est > cur_gap + self.len_m[v] {
                target = lanes[idx + 1];
            }
        }
        if idx > 0 && can_continue(lanes[idx - 1]) {
            let inner_est = estimate(lanes[idx - 1]);
            if inner_est > cur_gap + self.len_m[v] && inner_est > outer_est {
                target = lanes[idx - 1];
            }
        }
        target
    }
}
