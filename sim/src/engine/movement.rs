//! Vehicles decide and move (`docs/cityflow-model.md` §4 and §7): every running vehicle picks
//! its speed from the start-of-step state into the action buffers, then all are relocated at
//! once (an effectively simultaneous update), then leaders and gaps are recomputed.

use super::{kinematics, Simulation, Status};
use crate::config::HALTING_SPEED_M_S;
use crate::observe::Observer;
use crate::topo::NONE;

impl Simulation {
    pub(super) fn actions(&mut self) {
        let dt = self.cfg.dt_s;
        for i in 0..self.running.len() {
            let v = self.running[i] as usize;
            let (mut s, blocker) = self.desired_speed(v);
            let sp = self.speed[v];
            // Never brake harder than max_decel, even to avoid a collision: CityFlow clamps
            // here, after every limit, and the Jinan figures depend on it.
            s = s.max(sp - self.max_dec[v] * dt);
            let delta = if s < 0.0 {
                // A negative speed means "stop now": CityFlow moves the vehicle its braking
                // distance v²/(2·max_decel) and sets the speed to 0 (not the trapezoid).
                let d = kinematics::min_brake_distance_m(sp, self.max_dec[v]);
                s = 0.0;
                d
            } else {
                (sp + s) * dt / 2.0
            };
            self.b_speed[v] = s;
            self.b_blocker[v] = blocker;
            self.advance(v, delta);
        }
    }

    /// Walk `delta` metres along the plan: may pass lane → link → lane in one step.
    pub(super) fn advance(&mut self, v: usize, delta: f64) {
        let mut x = self.dis[v] + delta;
        let mut d = self.drv[v];
        let mut k = self.rpos[v];
        let mut end = false;
        let mut ff_passed = 0.0;
        while x > self.topo.length_m[d as usize] {
            // Only a drivable driven to its end adds its free-flow time here (the stranded
            // case below holds the vehicle on `d`).
            let ff_d = self.free_flow_time_s(v, d);
            let (nd, nk) = self.next_of(v, d, k);
            if nd == NONE {
                if k + 1 >= self.route_len[v] {
                    x -= self.topo.length_m[d as usize];
                    ff_passed += ff_d;
                    end = true;
                } else {
                    // Stranded on a lane with no way on (only after a lane change): hold at its end.
                    x = self.topo.length_m[d as usize];
                }
                break;
            }
            x -= self.topo.length_m[d as usize];
            ff_passed += ff_d;
            d = nd;
            k = nk;
        }
        self.b_ff_passed_s[v] = ff_passed;
        self.b_delta[v] = delta;
        self.b_dis[v] = x;
        self.b_drv[v] = d;
        self.b_rpos[v] = k;
        self.b_end[v] = end;
    }

    /// The speed vehicle `v` wants for this step (before the braking cap), and who blocks it.
    pub(super) fn desired_speed(&self, v: usize) -> (f64, u32) {
        let dt = self.cfg.dt_s;
        let d = self.drv[v];
        let sp = self.speed[v];
        let mut s = self.max_speed[v]
            .min(sp + self.max_acc[v] * dt)
            .min(self.topo.max_speed_m_s[d as usize]);
        s = s.min(self.car_follow_speed(v));
        let mut blocker = NONE;
        let related = !self.topo.is_lane(d)
            || (self.next_link[v] != NONE
                && self.topo.length_m[d as usize] - self.dis[v] <= self.approach_m[v]);
        if related {
            let (x, b) = self.intersection_speed(v);
            s = s.min(x);
            blocker = b;
        }
        // On a lane with no way on, stop at its end as behind a standing obstacle (CityFlow's
        // treatment of an invalid lane, which there only a lane change leads to). Here also a
        // vehicle whose route needs a lane change (`lanechange.rs`) stops there until it can
        // change, with or without lane changing on; on Jinan no vehicle is ever on such a lane.
        if !self.on_valid_lane(v) {
            let rem = self.topo.length_m[d as usize] - self.dis[v];
            s = s.min(kinematics::no_collision_speed(
                0.0,
                1.0,
                sp,
                self.max_dec[v],
                rem,
                dt,
                self.min_gap_m[v],
            ));
        }
        (s, blocker)
    }

    pub(super) fn car_follow_speed(&self, v: usize) -> f64 {
        let l = self.leader[v];
        if l == NONE {
            return self.max_speed[v];
        }
        self.follow_speed(v, l as usize, self.gap_m[v])
    }

    /// Car following behind `l` at `gap` (notes §4.3).
    pub(super) fn follow_speed(&self, v: usize, l: usize, gap: f64) -> f64 {
        let dt = self.cfg.dt_s;
        let sp = self.speed[v];
        let vl = self.speed[l];
        let mut s =
            kinematics::no_collision_speed(vl, self.max_dec[l], sp, self.max_dec[v], gap, dt, 0.0);
        s = s.min(kinematics::no_collision_speed(
            vl,
            self.usual_dec[l],
            sp,
            self.usual_dec[v],
            gap,
            dt,
            self.min_gap_m[v],
        ));
        let assume_decel = (sp - vl).max(0.0);
        s.min(
            (gap + (vl + assume_decel / 2.0) * dt - sp * dt / 2.0) / (self.headway_s[v] + dt / 2.0),
        )
    }

    /// Speed that stops the vehicle within `distance` (CityFlow's stepwise uniform braking).
    pub(super) fn stop_before_speed(&self, v: usize, distance: f64) -> f64 {
        kinematics::stop_before_speed(
            self.speed[v],
            self.usual_acc[v],
            self.usual_dec[v],
            distance,
            self.cfg.dt_s,
        )
    }

    /// Time to drive drivable `d` end to end at min(vehicle max speed, speed limit), s.
    #[inline]
    pub(super) fn free_flow_time_s(&self, v: usize, d: u32) -> f64 {
        self.topo.length_m[d as usize] / self.max_speed[v].min(self.topo.max_speed_m_s[d as usize])
    }

    #[inline]
    pub(super) fn min_brake_m(&self, v: usize) -> f64 {
        kinematics::min_brake_distance_m(self.speed[v], self.max_dec[v])
    }

    pub(super) fn relocate(&mut self, t: f64, observer: &mut dyn Observer) {
        self.changed.clear();
        self.touched.clear();
        for &v in &self.running {
            let vi = v as usize;
            if self.b_end[vi] || self.b_drv[vi] != self.drv[vi] {
                self.changed.push(v);
                self.moved_flag[vi] = true;
                self.touched.push(self.drv[vi]);
            }
        }
        self.touched.sort_unstable();
        self.touched.dedup();
        for &d in &self.touched {
            let flags = &self.moved_flag;
            self.lists[d as usize].retain(|x| !flags[*x as usize]);
        }
        // Departures from lanes (cameras, intersection service counts) and finished vehicles.
        self.finished_now.clear();
        for &v in &self.changed {
            let vi = v as usize;
            let old = self.drv[vi];
            if self.topo.is_lane(old) {
                self.lane_departed[old as usize] += 1;
                if self.topo.lane_entering[old as usize] {
                    self.inter_served[self.topo.lane_end_inter[old as usize] as usize] += 1;
                }
            }
            if self.b_end[vi] {
                self.finished_now.push(v);
            }
        }
        for k in 0..self.finished_now.len() {
            let vi = self.finished_now[k] as usize;
            self.status[vi] = Status::Done;
            self.completed += 1;
            // CityFlow counts a finished trip up to the start of the step it ended in.
            self.finished_tt_s += t - self.enter_s[vi];
            self.ff_driven_s[vi] += self.b_ff_passed_s[vi];
            self.total_distance_m += self.b_delta[vi];
            observer.on_vehicle_finished(vi as u32, t);
        }
        // New arrivals join the back of their drivable, farthest first: lists are never
        // reordered, so this order is what CityFlow's leaders and cross notifications see.
        let b_dis = &self.b_dis;
        let b_end = &self.b_end;
        self.changed.retain(|v| !b_end[*v as usize]);
        self.changed.sort_by(|a, b| {
            b_dis[*b as usize]
                .total_cmp(&b_dis[*a as usize])
                .then(a.cmp(b))
        });
        for &v in &self.changed {
            self.lists[self.b_drv[v as usize] as usize].push(v);
        }
        // Commit.
        let step = self.step as i64;
        for i in 0..self.running.len() {
            let v = self.running[i] as usize;
            self.moved_flag[v] = false;
            if self.status[v] != Status::Running {
                continue;
            }
            if self.b_drv[v] != self.drv[v] {
                self.prev_drv[v] = self.drv[v];
                self.drv[v] = self.b_drv[v];
                self.rpos[v] = self.b_rpos[v];
                let d = self.drv[v];
                if self.topo.is_lane(d) {
                    self.enter_link_step[v] = i64::MAX;
                    self.next_link[v] = self.choose_link(v, d, self.rpos[v]);
                } else {
                    self.enter_link_step[v] = step;
                    self.next_link[v] = NONE;
                }
            }
            self.dis[v] = self.b_dis[v];
            let s = self.b_speed[v];
            self.speed[v] = s;
            self.blocker[v] = self.b_blocker[v];
            self.total_distance_m += self.b_delta[v];
            self.ff_driven_s[v] += self.b_ff_passed_s[v];
            if s >= HALTING_SPEED_M_S {
                self.moving[v] = true;
            } else if self.moving[v] {
                self.moving[v] = false;
                self.stops[v] += 1;
            }
        }
        let status = &self.status;
        self.running
            .retain(|v| status[*v as usize] == Status::Running);
        // A blocker that finished this step is forgotten.
        for &v in &self.running {
            let b = self.blocker[v as usize];
            if b != NONE && self.status[b as usize] != Status::Running {
                self.blocker[v as usize] = NONE;
            }
        }
    }

    /// Leader and gap of the first vehicle of a drivable: the last vehicle on the drivables
    /// ahead along the plan, within the look-ahead distance (notes §4.2).
    pub(super) fn find_leader_ahead(&mut self, v: usize) {
        let t = &self.topo;
        let mut d = self.drv[v];
        let mut k = self.rpos[v];
        let mut dis = t.length_m[d as usize] - self.dis[v];
        let limit = self.approach_m[v];
        self.leader[v] = NONE;
        loop {
            let (nd, nk) = self.next_of(v, d, k);
            if nd == NONE {
                return;
            }
            if !t.is_lane(nd) {
                let from = t.link_from[t.link(nd)];
                let mut best = NONE;
                let mut best_gap = 0.0;
                for &l in &t.lane_out[from as usize] {
                    if let Some(&c) = self.lists[l as usize].last() {
                        let ci = c as usize;
                        let g = dis + self.dis[ci] - self.len_m[ci];
                        if best == NONE || g < best_gap {
                            best = c;
                            best_gap = g;
                        }
                    }
                }
                if best != NONE {
                    self.leader[v] = best;
                    self.gap_m[v] = best_gap;
                    return;
                }
            } else if let Some(&c) = self.lists[nd as usize].last() {
                let ci = c as usize;
                self.leader[v] = c;
                self.gap_m[v] = dis + self.dis[ci] - self.len_m[ci];
                return;
            }
            dis += t.length_m[nd as usize];
            if dis > limit {
                return;
            }
            d = nd;
            k = nk;
        }
    }

    pub(super) fn update_leaders(&mut self) {
        for d in 0..self.lists.len() {
            let n = self.lists[d].len();
            if n == 0 {
                continue;
            }
            let first = self.lists[d][0] as usize;
            self.find_leader_ahead(first);
            for i in 1..n {
                let l = self.lists[d][i - 1] as usize;
                let v = self.lists[d][i] as usize;
                self.leader[v] = l as u32;
                self.gap_m[v] = self.dis[l] - self.len_m[l] - self.dis[v];
            }
        }
    }
}
