//! Metrics accumulation: what is sampled after every step (entering-lane pairs, per-intersection
//! delay and queues) and the figures of [`crate::Metrics`] computed from it.

use super::{Simulation, Status};
use crate::config::HALTING_SPEED_M_S;
use crate::metrics::{IntersectionMetrics, Metrics};
use crate::topo::NONE;
use roadnet::IntersectionKind;
use std::collections::BTreeMap;

/// One (intersection, vehicle) pair of the entering-lane metric: the first time the vehicle
/// was seen on one of the intersection's entering lanes and the latest time it was seen to
/// leave them (`None` while it is still on them).
#[derive(Clone, Copy, Debug)]
pub(super) struct EnteringPair {
    inter: u32,
    enter_s: f64,
    leave_s: Option<f64>,
}

impl Simulation {
    /// After a step, at the new time: the metric samples (entering-lane pairs, per-intersection
    /// delay and queues), then the detectors and cameras.
    pub(super) fn sense(&mut self) {
        let dt = self.cfg.dt_s;
        // Per-vehicle and per-intersection lane figures.
        for q in self.inter_queue_now.iter_mut() {
            *q = 0;
        }
        let now = self.time_s();
        for k in 0..self.running.len() {
            let vi = self.running[k] as usize;
            let d = self.drv[vi] as usize;
            let mut inter = NONE;
            if d < self.topo.n_lanes && self.topo.lane_entering[d] {
                let i = self.topo.lane_end_inter[d];
                inter = i;
                let i = i as usize;
                let sp = self.speed[vi];
                let limit = self.topo.max_speed_m_s[d];
                self.inter_delay_s[i] += dt * (1.0 - sp / limit).max(0.0);
                if sp < HALTING_SPEED_M_S {
                    self.inter_queue_now[i] += 1;
                }
            }
            self.sample_entering(vi, inter, now);
        }
        // A vehicle that finished in this step is on no lane now.
        for k in 0..self.finished_now.len() {
            let vi = self.finished_now[k] as usize;
            self.sample_entering(vi, NONE, now);
        }
        for i in 0..self.inter_queue_now.len() {
            let q = self.inter_queue_now[i];
            self.inter_queue_sum[i] += q as f64;
            self.inter_queue_max[i] = self.inter_queue_max[i].max(q);
        }
        self.sense_detectors();
        self.sense_cameras();
    }

    /// One sample of the entering-lane metric: vehicle `v` is on an entering lane of `inter`
    /// (NONE: of no signalized intersection) at time `now` (see `docs/metrics.md`).
    pub(super) fn sample_entering(&mut self, v: usize, inter: u32, now: f64) {
        let was = self.ent_inter[v];
        if was == inter {
            return;
        }
        let pairs = &mut self.ent_pairs[v];
        if was != NONE {
            if let Some(p) = pairs.iter_mut().find(|p| p.inter == was) {
                p.leave_s = Some(now);
            }
        }
        if inter != NONE {
            // Back on the same intersection's lanes (a looping route): the pair keeps its
            // first enter time and is open again.
            match pairs.iter_mut().find(|p| p.inter == inter) {
                Some(p) => p.leave_s = None,
                None => {
                    if pairs.is_empty() {
                        self.ent_vehicles += 1;
                    }
                    self.inter_arrived[inter as usize] += 1;
                    pairs.push(EnteringPair {
                        inter,
                        enter_s: now,
                        leave_s: None,
                    });
                }
            }
        }
        self.ent_inter[v] = inter;
    }

    /// Metrics so far (at the current simulated time). Every vehicle whose departure time has
    /// come counts, finished or not (see [`Metrics`]).
    pub fn metrics(&self) -> Metrics {
        let now = self.time_s();
        let mut tt = self.finished_tt_s;
        let mut n = self.completed;
        let mut entering = 0.0;
        let mut ff = 0.0;
        let mut stops = 0u64;
        let (mut running, mut waiting) = (0u64, 0u64);
        for v in 0..self.status.len() {
            match self.status[v] {
                Status::Future => continue,
                Status::Waiting => {
                    tt += now - self.enter_s[v];
                    n += 1;
                    waiting += 1;
                    // Still held in the spawn queue after its departure step: one stop.
                    if now > self.enter_s[v] + 1e-9 {
                        stops += 1;
                    }
                }
                Status::Running => {
                    tt += now - self.enter_s[v];
                    n += 1;
                    running += 1;
                    let d = self.drv[v];
                    let partial =
                        self.dis[v] / self.max_speed[v].min(self.topo.max_speed_m_s[d as usize]);
                    ff += self.ff_driven_s[v] + partial;
                    stops += self.stops[v] as u64;
                }
                Status::Done => {
                    ff += self.ff_driven_s[v];
                    stops += self.stops[v] as u64;
                }
            }
            for p in &self.ent_pairs[v] {
                entering += p.leave_s.unwrap_or(now) - p.enter_s;
            }
        }
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let mut intersections = BTreeMap::new();
        for inter in self.net.intersections.iter() {
            if inter.kind != IntersectionKind::Signalized {
                continue;
            }
            let i = inter.id.index();
            intersections.insert(
                inter.name.clone(),
                IntersectionMetrics {
                    mean_delay_s: div(self.inter_delay_s[i], self.inter_arrived[i] as f64),
                    vehicles_arrived: self.inter_arrived[i],
                    mean_queue_veh: div(self.inter_queue_sum[i], self.step as f64),
                    max_queue_veh: self.inter_queue_max[i],
                    vehicles_served: self.inter_served[i],
                },
            );
        }
        Metrics {
            average_travel_time_s: div(tt, n as f64),
            entering_lane_travel_time_s: div(entering, self.ent_vehicles as f64),
            mean_delay_s: div(tt - ff, n as f64),
            stops_per_vehicle: div(stops as f64, n as f64),
            mean_speed_m_s: div(self.total_distance_m, tt),
            vehicles_generated: self.generated,
            vehicles_entered: self.entered,
            vehicles_completed: self.completed,
            vehicles_running: running,
            vehicles_waiting: waiting,
            simulated_s: now,
            steps: self.step,
            wall_s: self.wall_s,
            steps_per_s: div(self.step as f64, self.wall_s),
            vehicle_updates_per_s: div(self.vehicle_updates as f64, self.wall_s),
            safety_violations: self.signals.monitor.violations,
            intersections,
        }
    }
}
