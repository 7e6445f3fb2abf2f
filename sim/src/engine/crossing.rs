//! Intersections: red and yellow, blocked exits, turn speed, and yielding at conflict points
//! ("crosses") between lane links, as in `docs/cityflow-model.md` §5–6.

use super::{kinematics, Simulation};
use crate::config::{TURN_SPEED_M_S, YIELD_DISTANCE_M};
use crate::topo::NONE;

impl Simulation {
    pub(super) fn notify_crosses(&mut self) {
        for n in self.notified_veh.iter_mut() {
            *n = [NONE; 2];
        }
        let t = &self.topo;
        let notified_veh = &mut self.notified_veh;
        let notified_dist = &mut self.notified_dist;
        let mut notify = |c: u32, side: u8, v: u32, d: f64| {
            notified_veh[c as usize][side as usize] = v;
            notified_dist[c as usize][side as usize] = d;
        };
        for links in &t.inter_links {
            for &l in links {
                let li = t.link(l);
                let lc = &t.link_crosses[li];
                if lc.is_empty() {
                    continue;
                }
                let dist_of = |k: usize| {
                    let (c, side) = lc[k];
                    t.crosses[c as usize].dist_m[side as usize]
                };
                let link_len = t.length_m[l as usize];
                let mut cur = lc.len();
                // 1. The vehicle that has just left the link and whose rear may still be on it.
                if let Some(&u) = self.lists[t.link_to[li] as usize].last() {
                    let ui = u as usize;
                    if self.prev_drv[ui] == l {
                        let rear = self.dis[ui] - self.len_m[ui];
                        while cur > 0 {
                            let c2end = link_len - dist_of(cur - 1);
                            if c2end + rear < 0.0 {
                                let (c, side) = lc[cur - 1];
                                notify(c, side, u, -(self.dis[ui] + c2end));
                                cur -= 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                // 2. Vehicles on the link, front to back.
                for &w in &self.lists[l as usize] {
                    if cur == 0 {
                        break;
                    }
                    let wi = w as usize;
                    while cur > 0 {
                        let dl = dist_of(cur - 1);
                        let (c, side) = lc[cur - 1];
                        if self.dis[wi] > dl {
                            if self.dis[wi] - dl - self.len_m[wi] <= 0.0 {
                                notify(c, side, w, dl - self.dis[wi]);
                                cur -= 1;
                            } else {
                                break;
                            }
                        } else {
                            notify(c, side, w, dl - self.dis[wi]);
                            cur -= 1;
                        }
                    }
                }
                // 3. The first vehicle of the start lane, if it will take this link and may.
                if cur > 0 {
                    let start = t.link_from[li];
                    if let Some(&f) = self.lists[start as usize].first() {
                        let fi = f as usize;
                        if self.next_link[fi] == l
                            && self.signals.movement_go[t.link_movement[li] as usize]
                            && (self.closures.is_empty()
                                || !(self.lane_closed[start as usize]
                                    || self.lane_closed[t.link_to[li] as usize]))
                        {
                            let to_end = t.length_m[start as usize] - self.dis[fi];
                            while cur > 0 {
                                let (c, side) = lc[cur - 1];
                                notify(c, side, f, to_end + dist_of(cur - 1));
                                cur -= 1;
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn can_enter(&self, lane: u32, v: usize) -> bool {
        match self.lists[lane as usize].last() {
            None => true,
            Some(&tail) => {
                let ti = tail as usize;
                self.dis[ti] > self.len_m[ti] + self.len_m[v] || self.speed[ti] >= 2.0
            }
        }
    }

    /// Red/yellow, blocked exit, turn speed and yielding at conflict points (notes §5.2, §6.3).
    pub(super) fn intersection_speed(&self, v: usize) -> (f64, u32) {
        let t = &self.topo;
        let d = self.drv[v];
        let mut s = self.max_speed[v];
        let (link, x0) = if t.is_lane(d) {
            let l = self.next_link[v];
            let li = t.link(l);
            let rem = t.length_m[d as usize] - self.dis[v];
            if !self.signals.movement_go[t.link_movement[li] as usize]
                || !self.can_enter(t.link_to[li], v)
                || !self.link_open(d, l)
            {
                // A vehicle that can no longer stop goes on (CityFlow runs the red).
                if self.min_brake_m(v) <= rem {
                    return (s.min(self.stop_before_speed(v, rem)), NONE);
                }
            }
            if t.link_turn[li] {
                s = s.min(TURN_SPEED_M_S);
            }
            (l, -rem)
        } else {
            (d, self.dis[v])
        };
        let li = t.link(link);
        for &(c, side) in &t.link_crosses[li] {
            let dl = t.crosses[c as usize].dist_m[side as usize];
            if dl < x0 {
                continue;
            }
            if let Some(foe) = self.blocks(v, li, c, side, dl - x0) {
                s = s.min(self.stop_before_speed(v, dl - x0 - YIELD_DISTANCE_M));
                return (s, foe);
            }
        }
        (s, NONE)
    }

    pub(super) fn can_yield(&self, v: usize, d: f64) -> bool {
        (d > 0.0 && self.min_brake_m(v) < d - YIELD_DISTANCE_M)
            || (d < 0.0 && d + self.len_m[v] < 0.0)
    }

    /// CityFlow's reachSteps: steps to cover `dist` accelerating toward the link's speed.
    pub(super) fn reach_steps(&self, v: usize, dist: f64, link: usize) -> i64 {
        let target = if self.topo.link_turn[link] {
            TURN_SPEED_M_S
        } else {
            self.max_speed[v]
        };
        kinematics::reach_steps(
            self.speed[v],
            dist,
            target,
            self.usual_acc[v],
            self.cfg.dt_s,
        )
    }

    /// At cross `c`, must `v` (on or approaching link `li`, `d1` m before the cross) yield?
    /// Returns the foe it yields to.
    pub(super) fn blocks(&self, v: usize, li: usize, c: u32, side: u8, d1: f64) -> Option<u32> {
        let other = 1 - side as usize;
        let foe = self.notified_veh[c as usize][other];
        if foe == NONE || foe as usize == v {
            return None;
        }
        let f = foe as usize;
        let d2 = self.notified_dist[c as usize][other];
        if !self.can_yield(v, d1) {
            return None;
        }
        let cross = &self.topo.crosses[c as usize];
        let foe_link = self.topo.link(cross.link[other]);
        let t1 = self.topo.link_prio[li];
        let t2 = self.topo.link_prio[foe_link];
        let mut yield_: i32 = 0;
        if !self.can_yield(f, d2) {
            yield_ = 1;
        }
        if yield_ == 0 {
            if t1 > t2 {
                yield_ = -1;
            } else if t1 < t2 {
                if d2 > 0.0 {
                    if self.reach_steps(f, d2, foe_link) > self.reach_steps(v, d1, li) {
                        yield_ = -1;
                    }
                } else if d2 + self.len_m[f] < 0.0 {
                    yield_ = -1;
                }
                if yield_ == 0 {
                    yield_ = 1;
                }
            } else if d2 > 0.0 {
                let a = self.reach_steps(f, d2, foe_link);
                let b = self.reach_steps(v, d1, li);
                yield_ = if a > b {
                    -1
                } else if a < b {
                    1
                } else if self.enter_link_step[v] == self.enter_link_step[f] {
                    if d1 == d2 {
                        if self.priority[v] > self.priority[f] {
                            -1
                        } else {
                            1
                        }
                    } else if d1 < d2 {
                        -1
                    } else {
                        1
                    }
                } else if self.enter_link_step[v] < self.enter_link_step[f] {
                    -1
                } else {
                    1
                };
            } else {
                yield_ = if d2 + self.len_m[f] < 0.0 { -1 } else { 1 };
            }
        }
        if yield_ == 1 {
            // Deadlock check along the chain of last step's blockers (Floyd's cycle finding).
            let mut slow = foe;
            let mut fast = foe;
            while fast != NONE && self.blocker[fast as usize] != NONE {
                slow = self.blocker[slow as usize];
                fast = self.blocker[self.blocker[fast as usize] as usize];
                if slow == fast {
                    yield_ = -1;
                    break;
                }
            }
        }
        (yield_ == 1).then_some(foe)
    }
}
