//! The simulation engine: vehicle state as structure-of-arrays indexed by trip, drivable lists
//! ordered front → back, and a step that follows CityFlow's order (see
//! `docs/cityflow-model.md` §7): spawn → enter from the spawn queue → (lane changes) → conflict
//! point notification → every vehicle decides from the start-of-step state → relocation → leaders.

use crate::config::{SimConfig, HALTING_SPEED_M_S, TURN_SPEED_M_S, YIELD_DISTANCE_M};
use crate::error::SimError;
use crate::metrics::{IntersectionMetrics, Metrics};
use crate::observe::{NoObserver, Observer, Place, StepView, VehicleSnapshot};
use crate::signals::Signals;
use crate::topo::{Topology, NONE};
use roadnet::rng::SplitMix64;
use roadnet::{
    CameraFrame, Command, Controller, Demand, DetectorReading, IntersectionKind, LaneId, LaneView,
    MovementId, RoadNet, SignalState, StepInput, TrackedVehicle,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Departure time not reached.
    Future,
    /// In the spawn queue of its first lane.
    Waiting,
    Running,
    Done,
}

/// Per loop detector: where it is and what it has counted in the open interval.
struct DetectorState {
    lane: u32,
    /// Loop edges as distances from the lane start, m.
    from_m: f64,
    to_m: f64,
    count: u32,
    speed_sum: f64,
    occupied_s: f64,
}

struct CameraCfg {
    lanes: Vec<u32>,
    near_m: f64,
    far_m: f64,
}

/// A running simulation. Build with [`Simulation::new`], drive with [`Simulation::step`] or
/// [`Simulation::run`].
pub struct Simulation {
    net: Arc<RoadNet>,
    cfg: SimConfig,
    topo: Topology,
    signals: Signals,
    rng: SplitMix64,
    step: u64,
    n_steps: u64,
    // --- trips (static) ---
    depart_s: Vec<f64>,
    route_start: Vec<u32>,
    route_len: Vec<u32>,
    routes: Vec<u32>,
    len_m: Vec<f64>,
    max_acc: Vec<f64>,
    max_dec: Vec<f64>,
    usual_acc: Vec<f64>,
    usual_dec: Vec<f64>,
    min_gap_m: Vec<f64>,
    max_speed: Vec<f64>,
    headway_s: Vec<f64>,
    /// CityFlow's approachingIntersectionDistance, m.
    approach_m: Vec<f64>,
    // --- vehicle state ---
    pub(crate) status: Vec<Status>,
    enter_s: Vec<f64>,
    priority: Vec<u32>,
    drv: Vec<u32>,
    prev_drv: Vec<u32>,
    dis: Vec<f64>,
    speed: Vec<f64>,
    /// Index in the route of the road the vehicle is on (for a link: the road it leaves).
    rpos: Vec<u32>,
    /// Planned lane link out of the current lane (NONE on the last road or a link).
    next_link: Vec<u32>,
    leader: Vec<u32>,
    gap_m: Vec<f64>,
    enter_link_step: Vec<i64>,
    blocker: Vec<u32>,
    // --- action buffers ---
    b_speed: Vec<f64>,
    b_dis: Vec<f64>,
    b_delta: Vec<f64>,
    b_drv: Vec<u32>,
    b_rpos: Vec<u32>,
    b_end: Vec<bool>,
    b_blocker: Vec<u32>,
    /// Free-flow time of the drivables passed to their end in this step, s.
    b_ff_passed_s: Vec<f64>,
    moved_flag: Vec<bool>,
    // --- lane change state ---
    pub(crate) lc: crate::lanechange::LaneChangeState,
    // --- per-vehicle metrics ---
    /// Signalized intersection whose entering lane the vehicle was on at the last sample
    /// (NONE: on no entering lane).
    ent_inter: Vec<u32>,
    /// The vehicle's (intersection, enter, leave) pairs of the entering-lane metric.
    ent_pairs: Vec<Vec<EnteringPair>>,
    /// Vehicles with at least one entering-lane pair (the metric's divisor).
    ent_vehicles: u64,
    /// Free-flow time of the drivables the vehicle has driven to their end, s.
    ff_driven_s: Vec<f64>,
    stops: Vec<u32>,
    moving: Vec<bool>,
    // --- containers ---
    lists: Vec<Vec<u32>>,
    waiting: Vec<VecDeque<u32>>,
    running: Vec<u32>,
    notified_veh: Vec<[u32; 2]>,
    notified_dist: Vec<[f64; 2]>,
    next_trip: usize,
    // --- sensors ---
    detectors: Vec<DetectorState>,
    lane_detectors: Vec<Vec<u32>>,
    det_interval_start_s: f64,
    readings: Vec<DetectorReading>,
    cameras: Vec<CameraCfg>,
    frames: Vec<CameraFrame>,
    lane_departed: Vec<u32>,
    // --- metrics accumulators ---
    generated: u64,
    entered: u64,
    completed: u64,
    finished_tt_s: f64,
    total_distance_m: f64,
    inter_delay_s: Vec<f64>,
    inter_served: Vec<u64>,
    inter_queue_sum: Vec<f64>,
    inter_queue_max: Vec<u32>,
    inter_queue_now: Vec<u32>,
    vehicle_updates: u64,
    wall_s: f64,
    // --- scratch ---
    changed: Vec<u32>,
    touched: Vec<u32>,
    commands: Vec<Command>,
    finished_now: Vec<u32>,
}

/// One (intersection, vehicle) pair of the entering-lane metric: the first time the vehicle
/// was seen on one of the intersection's entering lanes and the latest time it was seen to
/// leave them (`None` while it is still on them).
#[derive(Clone, Copy, Debug)]
struct EnteringPair {
    inter: u32,
    enter_s: f64,
    leave_s: Option<f64>,
}

/// CityFlow's no-collision speed: the highest speed this step after which the follower can
/// still stop behind a leader braking at `d_l`, keeping `target_gap` (notes §4.1).
#[inline]
fn no_collision_speed(
    v_l: f64,
    d_l: f64,
    v_f: f64,
    d_f: f64,
    gap: f64,
    dt: f64,
    target_gap: f64,
) -> f64 {
    let c = v_f * dt / 2.0 + target_gap - 0.5 * v_l * v_l / d_l - gap;
    let a = 0.5 / d_f;
    let b = 0.5 * dt;
    if b * b < 4.0 * a * c {
        return -100.0;
    }
    let v1 = 0.5 / a * ((b * b - 4.0 * a * c).sqrt() - b);
    let v2 = 2.0 * v_l - d_l * dt + 2.0 * (gap - target_gap) / dt;
    v1.min(v2)
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

impl Simulation {
    /// Prepare a run. Every trip is checked: known roads, consecutive roads joined by a
    /// movement, a finite departure ≥ 0, positive dynamics. Errors name the vehicle index.
    pub fn new(
        net: impl Into<Arc<RoadNet>>,
        demand: &Demand,
        cfg: SimConfig,
    ) -> Result<Simulation, SimError> {
        let net: Arc<RoadNet> = net.into();
        if !(cfg.dt_s.is_finite() && cfg.dt_s > 0.0 && cfg.dt_s <= 10.0) {
            return Err(SimError::Config(format!(
                "dt_s must be in (0, 10], got {}",
                cfg.dt_s
            )));
        }
        if !(cfg.duration_s.is_finite() && cfg.duration_s >= 0.0) {
            return Err(SimError::Config(format!(
                "duration_s must be ≥ 0, got {}",
                cfg.duration_s
            )));
        }
        if !(cfg.detector_interval_s.is_finite() && cfg.detector_interval_s >= cfg.dt_s) {
            return Err(SimError::Config(format!(
                "detector_interval_s must be ≥ dt_s, got {}",
                cfg.detector_interval_s
            )));
        }
        let topo = Topology::new(&net);
        let n = demand.trips.len();
        let mut s = Simulation {
            signals: Signals::new(&net, cfg.raw_signal_commands),
            rng: SplitMix64::new(cfg.seed),
            step: 0,
            n_steps: (cfg.duration_s / cfg.dt_s + 1e-9).floor() as u64,
            depart_s: Vec::with_capacity(n),
            route_start: Vec::with_capacity(n),
            route_len: Vec::with_capacity(n),
            routes: Vec::new(),
            len_m: Vec::with_capacity(n),
            max_acc: Vec::with_capacity(n),
            max_dec: Vec::with_capacity(n),
            usual_acc: Vec::with_capacity(n),
            usual_dec: Vec::with_capacity(n),
            min_gap_m: Vec::with_capacity(n),
            max_speed: Vec::with_capacity(n),
            headway_s: Vec::with_capacity(n),
            approach_m: Vec::with_capacity(n),
            status: vec![Status::Future; n],
            enter_s: vec![0.0; n],
            priority: vec![0; n],
            drv: vec![NONE; n],
            prev_drv: vec![NONE; n],
            dis: vec![0.0; n],
            speed: vec![0.0; n],
            rpos: vec![0; n],
            next_link: vec![NONE; n],
            leader: vec![NONE; n],
            gap_m: vec![0.0; n],
            enter_link_step: vec![i64::MAX; n],
            blocker: vec![NONE; n],
            b_speed: vec![0.0; n],
            b_dis: vec![0.0; n],
            b_delta: vec![0.0; n],
            b_drv: vec![NONE; n],
            b_rpos: vec![0; n],
            b_end: vec![false; n],
            b_blocker: vec![NONE; n],
            b_ff_passed_s: vec![0.0; n],
            moved_flag: vec![false; n],
            lc: crate::lanechange::LaneChangeState::new(n, cfg.lane_change),
            ent_inter: vec![NONE; n],
            ent_pairs: vec![Vec::new(); n],
            ent_vehicles: 0,
            ff_driven_s: vec![0.0; n],
            stops: vec![0; n],
            moving: vec![false; n],
            lists: vec![Vec::new(); topo.length_m.len()],
            waiting: vec![VecDeque::new(); topo.n_lanes],
            running: Vec::new(),
            notified_veh: vec![[NONE; 2]; topo.crosses.len()],
            notified_dist: vec![[0.0; 2]; topo.crosses.len()],
            next_trip: 0,
            detectors: Vec::new(),
            lane_detectors: vec![Vec::new(); topo.n_lanes],
            det_interval_start_s: 0.0,
            readings: Vec::new(),
            cameras: Vec::new(),
            frames: Vec::new(),
            lane_departed: vec![0; topo.n_lanes],
            generated: 0,
            entered: 0,
            completed: 0,
            finished_tt_s: 0.0,
            total_distance_m: 0.0,
            inter_delay_s: vec![0.0; net.intersections.len()],
            inter_served: vec![0; net.intersections.len()],
            inter_queue_sum: vec![0.0; net.intersections.len()],
            inter_queue_max: vec![0; net.intersections.len()],
            inter_queue_now: vec![0; net.intersections.len()],
            vehicle_updates: 0,
            wall_s: 0.0,
            changed: Vec::new(),
            touched: Vec::new(),
            commands: Vec::new(),
            finished_now: Vec::new(),
            topo,
            cfg,
            net,
        };
        for (index, trip) in demand.trips.iter().enumerate() {
            s.add_trip(index, trip)?;
        }
        for d in &s.net.detectors {
            let len = s.topo.length_m[d.lane.index()];
            let to_m = (len - d.setback_m).max(0.0);
            s.lane_detectors[d.lane.index()].push(s.detectors.len() as u32);
            s.detectors.push(DetectorState {
                lane: d.lane.0,
                from_m: (to_m - d.length_m).max(0.0),
                to_m,
                count: 0,
                speed_sum: 0.0,
                occupied_s: 0.0,
            });
        }
        for c in &s.net.cameras {
            s.cameras.push(CameraCfg {
                lanes: c.lanes.iter().map(|l| l.0).collect(),
                near_m: c.zone_near_m,
                far_m: c.zone_far_m,
            });
            s.frames.push(CameraFrame {
                camera: c.id,
                time_s: 0.0,
                lanes: Vec::with_capacity(c.lanes.len()),
                vehicles: Vec::new(),
            });
        }
        s.sense_cameras();
        Ok(s)
    }

    fn add_trip(&mut self, index: usize, trip: &roadnet::Trip) -> Result<(), SimError> {
        let err = |message: String| Err(SimError::Trip { index, message });
        if !(trip.departure_s.is_finite() && trip.departure_s >= 0.0) {
            return err(format!(
                "departure time must be ≥ 0 s, got {}",
                trip.departure_s
            ));
        }
        if trip.route.is_empty() {
            return err("route is empty".into());
        }
        for (k, r) in trip.route.iter().enumerate() {
            if r.index() >= self.net.roads.len() {
                return err(format!("route[{k}]: unknown road {r}"));
            }
        }
        for (k, w) in trip.route.windows(2).enumerate() {
            if self.net.movement_between(w[0], w[1]).is_none() {
                return err(format!(
                    "route[{}]: no movement from road '{}' to road '{}' (roads not connected)",
                    k + 1,
                    self.net.road(w[0]).name,
                    self.net.road(w[1]).name
                ));
            }
        }
        let p = &trip.params;
        for (name, v) in [
            ("length_m", p.length_m),
            ("max_accel_m_s2", p.max_accel_m_s2),
            ("max_decel_m_s2", p.max_decel_m_s2),
            ("usual_accel_m_s2", p.usual_accel_m_s2),
            ("usual_decel_m_s2", p.usual_decel_m_s2),
            ("max_speed_m_s", p.max_speed_m_s),
        ] {
            if !positive(v) {
                return err(format!("{name} must be positive, got {v}"));
            }
        }
        if !(p.min_gap_m.is_finite()
            && p.min_gap_m >= 0.0
            && p.headway_s.is_finite()
            && p.headway_s >= 0.0)
        {
            return err("min_gap_m and headway_s must be ≥ 0".into());
        }
        self.depart_s.push(trip.departure_s);
        self.route_start.push(self.routes.len() as u32);
        self.route_len.push(trip.route.len() as u32);
        self.routes.extend(trip.route.iter().map(|r| r.0));
        self.len_m.push(p.length_m);
        self.max_acc.push(p.max_accel_m_s2);
        self.max_dec.push(p.max_decel_m_s2);
        self.usual_acc.push(p.usual_accel_m_s2);
        self.usual_dec.push(p.usual_decel_m_s2);
        self.min_gap_m.push(p.min_gap_m);
        self.max_speed.push(p.max_speed_m_s);
        self.headway_s.push(p.headway_s);
        self.approach_m.push(
            p.max_speed_m_s * p.max_speed_m_s / p.usual_decel_m_s2 / 2.0
                + p.max_speed_m_s * self.cfg.dt_s * 2.0,
        );
        Ok(())
    }

    // ------------------------------------------------------------------ accessors

    pub fn net(&self) -> &RoadNet {
        &self.net
    }
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    /// Simulated time, s (steps taken × dt).
    pub fn time_s(&self) -> f64 {
        self.step as f64 * self.cfg.dt_s
    }
    pub fn steps_taken(&self) -> u64 {
        self.step
    }
    /// Steps in the configured duration.
    pub fn total_steps(&self) -> u64 {
        self.n_steps
    }
    pub fn is_done(&self) -> bool {
        self.step >= self.n_steps
    }
    pub fn signal_states(&self) -> &[SignalState] {
        &self.signals.states
    }
    /// Latest camera frames (taken at the end of the last step).
    pub fn camera_frames(&self) -> &[CameraFrame] {
        &self.frames
    }
    /// Running vehicles in order of entry.
    pub fn vehicle_snapshots(&self) -> impl Iterator<Item = VehicleSnapshot> + '_ {
        self.running.iter().map(move |&v| {
            let d = self.drv[v as usize];
            let place = if self.topo.is_lane(d) {
                Place::Lane(LaneId(d))
            } else {
                let l = self.topo.link(d);
                Place::Link {
                    movement: MovementId(self.topo.link_movement[l]),
                    from_lane: LaneId(self.topo.link_from[l]),
                    to_lane: LaneId(self.topo.link_to[l]),
                }
            };
            VehicleSnapshot {
                vehicle: v,
                place,
                distance_m: self.dis[v as usize],
                speed_m_s: self.speed[v as usize],
            }
        })
    }

    // ------------------------------------------------------------------ routing

    #[inline]
    fn route_road(&self, v: usize, k: u32) -> Option<u32> {
        (k < self.route_len[v]).then(|| self.routes[(self.route_start[v] + k) as usize])
    }

    /// CityFlow's router: among the lane's links onto the next road of the route (and, unless
    /// that is the last road, whose end lane can continue to the road after), the one whose end
    /// lane index is closest to the current lane's; ties → first in order.
    pub(crate) fn choose_link(&self, v: usize, lane: u32, k: u32) -> u32 {
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
    fn next_of(&self, v: usize, d: u32, k: u32) -> (u32, u32) {
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
    pub(crate) fn on_valid_lane(&self, v: usize) -> bool {
        let d = self.drv[v];
        !self.topo.is_lane(d) || self.next_link[v] != NONE || self.rpos[v] + 1 >= self.route_len[v]
    }

    // ------------------------------------------------------------------ stepping

    /// Advance one step without an observer.
    pub fn step(&mut self, controller: &mut dyn Controller) -> Result<(), SimError> {
        self.step_observed(controller, &mut NoObserver)
    }

    /// Advance one step: the controller sees the sensors and signals at the current time and
    /// may command; the signals then show this step's indications (checked by the conflict
    /// monitor); vehicles move; time advances; sensors and the observer see the result.
    pub fn step_observed(
        &mut self,
        controller: &mut dyn Controller,
        observer: &mut dyn Observer,
    ) -> Result<(), SimError> {
        let started = Instant::now();
        let dt = self.cfg.dt_s;
        let t = self.time_s();
        {
            let input = StepInput {
                time_s: t,
                dt_s: dt,
                detectors: &self.readings,
                cameras: &self.frames,
                signals: &self.signals.states,
            };
            controller.step(&input, &mut self.commands);
        }
        let mut commands = std::mem::take(&mut self.commands);
        let applied = self
            .signals
            .apply(&self.net, controller.name(), &mut commands);
        self.commands = commands;
        applied?;
        if let Err(v) = self.signals.begin_step(&self.net, t) {
            return Err(SimError::Safety(v));
        }
        self.spawn(t);
        self.enter_waiting();
        if self.cfg.lane_change {
            self.lane_change_step();
        }
        self.notify_crosses();
        self.actions();
        self.relocate(t, observer);
        self.update_leaders();
        self.signals.end_step(dt);
        self.step += 1;
        self.sense();
        self.vehicle_updates += self.running.len() as u64;
        self.wall_s += started.elapsed().as_secs_f64();
        observer.on_step(&StepView { sim: self });
        Ok(())
    }

    /// Run to the configured duration and return the metrics. Stops at the first error
    /// (a conflict-monitor violation, a refused plan, a bad command).
    pub fn run(
        &mut self,
        controller: &mut dyn Controller,
        observer: &mut dyn Observer,
    ) -> Result<Metrics, SimError> {
        while !self.is_done() {
            self.step_observed(controller, observer)?;
        }
        Ok(self.metrics())
    }

    fn spawn(&mut self, t: f64) {
        while self.next_trip < self.depart_s.len() && self.depart_s[self.next_trip] <= t + 1e-9 {
            let v = self.next_trip;
            self.next_trip += 1;
            self.generated += 1;
            self.status[v] = Status::Waiting;
            self.enter_s[v] = t;
            self.priority[v] = self.rng.next_u32();
            let first = self.routes[self.route_start[v] as usize];
            let lanes = &self.topo.road_lanes[first as usize];
            // Candidates: lanes with a link onto the second road (all lanes for a one-road route).
            let lane = match self.route_road(v, 1) {
                Some(second) => {
                    let cands: Vec<u32> = lanes
                        .iter()
                        .copied()
                        .filter(|l| {
                            self.topo.lane_reach[*l as usize]
                                .binary_search(&second)
                                .is_ok()
                        })
                        .collect();
                    if cands.is_empty() {
                        lanes[0]
                    } else {
                        cands[self.rng.below(cands.len())]
                    }
                }
                None => lanes[self.rng.below(lanes.len())],
            };
            self.waiting[lane as usize].push_back(v as u32);
        }
    }

    /// At most one vehicle per lane enters per step, when the lane's last vehicle has cleared
    /// its own length plus the newcomer's min gap.
    fn enter_waiting(&mut self) {
        for lane in 0..self.topo.n_lanes {
            let Some(&v) = self.waiting[lane].front() else {
                continue;
            };
            let vi = v as usize;
            let ok = match self.lists[lane].last() {
                None => true,
                Some(&tail) => {
                    let ti = tail as usize;
                    self.dis[ti] > self.len_m[ti] + self.min_gap_m[vi]
                }
            };
            if !ok {
                continue;
            }
            self.waiting[lane].pop_front();
            // Held in the spawn queue past its departure step: that wait is a stop.
            if self.time_s() > self.enter_s[vi] + 1e-9 {
                self.stops[vi] += 1;
            }
            self.status[vi] = Status::Running;
            self.entered += 1;
            self.drv[vi] = lane as u32;
            self.prev_drv[vi] = NONE;
            self.dis[vi] = 0.0;
            self.speed[vi] = 0.0;
            self.rpos[vi] = 0;
            self.enter_link_step[vi] = i64::MAX;
            self.next_link[vi] = self.choose_link(vi, lane as u32, 0);
            self.lists[lane].push(v);
            let n = self.lists[lane].len();
            if n >= 2 {
                let l = self.lists[lane][n - 2] as usize;
                self.leader[vi] = l as u32;
                self.gap_m[vi] = self.dis[l] - self.len_m[l] - self.dis[vi];
            } else {
                self.find_leader_ahead(vi);
            }
            self.running.push(v);
        }
    }

    fn notify_crosses(&mut self) {
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

    fn actions(&mut self) {
        let dt = self.cfg.dt_s;
        for i in 0..self.running.len() {
            let v = self.running[i] as usize;
            let (mut s, blocker) = self.desired_speed(v);
            let sp = self.speed[v];
            s = s.max(sp - self.max_dec[v] * dt);
            let delta = if s < 0.0 {
                let d = sp * sp / self.max_dec[v] / 2.0;
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
    fn advance(&mut self, v: usize, delta: f64) {
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
    fn desired_speed(&self, v: usize) -> (f64, u32) {
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
        if self.cfg.lane_change {
            s = s.min(self.lane_change_yield_speed(v));
            if !self.on_valid_lane(v) {
                let rem = self.topo.length_m[d as usize] - self.dis[v];
                s = s.min(no_collision_speed(
                    0.0,
                    1.0,
                    sp,
                    self.max_dec[v],
                    rem,
                    dt,
                    self.min_gap_m[v],
                ));
            }
        }
        (s, blocker)
    }

    pub(crate) fn car_follow_speed(&self, v: usize) -> f64 {
        let l = self.leader[v];
        if l == NONE {
            return self.max_speed[v];
        }
        self.follow_speed(v, l as usize, self.gap_m[v])
    }

    /// Car following behind `l` at `gap` (notes §4.3).
    pub(crate) fn follow_speed(&self, v: usize, l: usize, gap: f64) -> f64 {
        let dt = self.cfg.dt_s;
        let sp = self.speed[v];
        let vl = self.speed[l];
        let mut s = no_collision_speed(vl, self.max_dec[l], sp, self.max_dec[v], gap, dt, 0.0);
        s = s.min(no_collision_speed(
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
    fn stop_before_speed(&self, v: usize, distance: f64) -> f64 {
        let dt = self.cfg.dt_s;
        let sp = self.speed[v];
        let next = sp + self.usual_acc[v] * dt;
        let brake_after = (sp + next) * dt / 2.0 + next * next / self.usual_dec[v] / 2.0;
        if brake_after < distance {
            return next;
        }
        let k = 2.0 * distance / (sp + 1e-8) / dt;
        if k >= 1.0 {
            sp - sp / k.floor()
        } else {
            sp - sp / k
        }
    }

    /// Time to drive drivable `d` end to end at min(vehicle max speed, speed limit), s.
    #[inline]
    fn free_flow_time_s(&self, v: usize, d: u32) -> f64 {
        self.topo.length_m[d as usize] / self.max_speed[v].min(self.topo.max_speed_m_s[d as usize])
    }

    #[inline]
    fn min_brake_m(&self, v: usize) -> f64 {
        self.speed[v] * self.speed[v] / self.max_dec[v] / 2.0
    }

    fn can_enter(&self, lane: u32, v: usize) -> bool {
        match self.lists[lane as usize].last() {
            None => true,
            Some(&tail) => {
                let ti = tail as usize;
                self.dis[ti] > self.len_m[ti] + self.len_m[v] || self.speed[ti] >= 2.0
            }
        }
    }

    /// Red/yellow, blocked exit, turn speed and yielding at conflict points (notes §5.2, §6.3).
    fn intersection_speed(&self, v: usize) -> (f64, u32) {
        let t = &self.topo;
        let d = self.drv[v];
        let mut s = self.max_speed[v];
        let (link, x0) = if t.is_lane(d) {
            let l = self.next_link[v];
            let li = t.link(l);
            let rem = t.length_m[d as usize] - self.dis[v];
            if !self.signals.movement_go[t.link_movement[li] as usize]
                || !self.can_enter(t.link_to[li], v)
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

    fn can_yield(&self, v: usize, d: f64) -> bool {
        (d > 0.0 && self.min_brake_m(v) < d - YIELD_DISTANCE_M)
            || (d < 0.0 && d + self.len_m[v] < 0.0)
    }

    /// CityFlow's reachSteps: steps to cover `dist` accelerating toward the link's speed.
    fn reach_steps(&self, v: usize, dist: f64, link: usize) -> i64 {
        if dist <= 0.0 {
            return 0;
        }
        let dt = self.cfg.dt_s;
        let sp = self.speed[v];
        let target = if self.topo.link_turn[link] {
            TURN_SPEED_M_S
        } else {
            self.max_speed[v]
        };
        let acc = self.usual_acc[v];
        if sp > target {
            return (dist / sp).ceil() as i64;
        }
        let until = if target <= sp {
            0.0
        } else {
            let n = ((target - sp) / acc / dt).floor();
            let s1 = sp + n * acc / dt;
            let d1 = (sp + s1) * (n * dt) / 2.0;
            d1 + if s1 < target {
                (s1 + target) * dt / 2.0
            } else {
                0.0
            }
        };
        if until > dist {
            (((sp * sp + 2.0 * acc * dist).sqrt() - sp) / acc / dt).ceil() as i64
        } else {
            ((target - sp) / acc / dt).ceil() as i64 + ((dist - until) / target / dt).ceil() as i64
        }
    }

    /// At cross `c`, must `v` (on or approaching link `li`, `d1` m before the cross) yield?
    /// Returns the foe it yields to.
    fn blocks(&self, v: usize, li: usize, c: u32, side: u8, d1: f64) -> Option<u32> {
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

    fn relocate(&mut self, t: f64, observer: &mut dyn Observer) {
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
            self.lc.on_finish(vi);
            observer.on_vehicle_finished(vi as u32, t);
        }
        // New arrivals join the back of their drivable, farthest first.
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
    fn find_leader_ahead(&mut self, v: usize) {
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

    fn update_leaders(&mut self) {
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

    // ------------------------------------------------------------------ sensors & metrics

    fn sense(&mut self) {
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
    fn sample_entering(&mut self, v: usize, inter: u32, now: f64) {
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

    fn sense_detectors(&mut self) {
        if self.detectors.is_empty() {
            return;
        }
        let dt = self.cfg.dt_s;
        self.readings.clear();
        for det in &mut self.detectors {
            let lane = det.lane as usize;
            let mut occupied = false;
            for &v in &self.lists[lane] {
                let vi = v as usize;
                let front = self.dis[vi];
                let rear = front - self.len_m[vi];
                if front >= det.from_m && rear <= det.to_m {
                    occupied = true;
                }
                // The front crossed the loop's upstream edge during this step.
                let before = front - self.b_delta[vi];
                if front >= det.from_m && before < det.from_m {
                    det.count += 1;
                    det.speed_sum += self.speed[vi];
                }
            }
            if occupied {
                det.occupied_s += dt;
            }
        }
        let now = self.time_s();
        if now - self.det_interval_start_s + 1e-9 >= self.cfg.detector_interval_s {
            let interval = now - self.det_interval_start_s;
            for (k, det) in self.detectors.iter_mut().enumerate() {
                self.readings.push(DetectorReading {
                    detector: roadnet::DetectorId::from_index(k),
                    time_s: now,
                    interval_s: interval,
                    count: det.count,
                    occupancy: (det.occupied_s / interval).min(1.0),
                    mean_speed_m_s: (det.count > 0).then(|| det.speed_sum / det.count as f64),
                });
                det.count = 0;
                det.speed_sum = 0.0;
                det.occupied_s = 0.0;
            }
            self.det_interval_start_s = now;
        }
    }

    fn sense_cameras(&mut self) {
        let now = self.time_s();
        let track = self.cfg.track_vehicles;
        for (cam, frame) in self.cameras.iter().zip(self.frames.iter_mut()) {
            frame.time_s = now;
            frame.lanes.clear();
            frame.vehicles.clear();
            for &lane in &cam.lanes {
                let li = lane as usize;
                let len = self.topo.length_m[li];
                let mut view = LaneView {
                    lane: LaneId(lane),
                    departed: self.lane_departed[li],
                    ..LaneView::default()
                };
                let mut in_queue = true;
                for &v in &self.lists[li] {
                    let vi = v as usize;
                    let to_stop = len - self.dis[vi];
                    let sp = self.speed[vi];
                    let halting = sp < HALTING_SPEED_M_S;
                    if in_queue {
                        if halting {
                            view.queue_length_m = (to_stop + self.len_m[vi]).min(len);
                        } else {
                            in_queue = false;
                        }
                    }
                    if to_stop < cam.near_m || to_stop > cam.far_m {
                        continue;
                    }
                    view.vehicles += 1;
                    if halting {
                        view.halting += 1;
                    }
                    if track {
                        frame.vehicles.push(TrackedVehicle {
                            lane: LaneId(lane),
                            distance_to_stop_m: to_stop,
                            speed_m_s: sp,
                        });
                    }
                }
                frame.lanes.push(view);
            }
        }
        for d in self.lane_departed.iter_mut() {
            *d = 0;
        }
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
                    mean_delay_s: div(self.inter_delay_s[i], self.inter_served[i] as f64),
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

    // ------------------------------------------------------------------ lane changing

    /// No follower-yield signals in the simplified model (see `lanechange.rs`).
    fn lane_change_yield_speed(&self, _v: usize) -> f64 {
        100.0
    }

    /// The vehicle nearest ahead of position `x` on `lane` (front at or beyond `x`), if any.
    fn vehicle_at_or_after(&self, lane: u32, x: f64) -> Option<u32> {
        // Lists run front → back: the last one with dis ≥ x is the nearest ahead.
        let list = &self.lists[lane as usize];
        let k = list.partition_point(|v| self.dis[*v as usize] >= x);
        (k > 0).then(|| list[k - 1])
    }

    fn lane_change_step(&mut self) {
        use crate::lanechange::{COOLING_TIME_S, NO_CHANGE_BEFORE_END_M};
        let now = self.time_s();
        let dt = self.cfg.dt_s;
        let mut any = false;
        for i in 0..self.running.len() {
            let v = self.running[i] as usize;
            let d = self.drv[v];
            if !self.topo.is_lane(d) || now - self.lc.last_change_s[v] < COOLING_TIME_S {
                continue;
            }
            let len = self.topo.length_m[d as usize];
            if len - self.dis[v] < NO_CHANGE_BEFORE_END_M {
                continue;
            }
            // Gap to the leader: only a moderately constrained vehicle looks for a better lane.
            let cur_gap = if self.leader[v] == NONE {
                f64::MAX
            } else {
                self.gap_m[v]
            };
            let expected = 2.0 * self.len_m[v] + 4.0 * dt * self.max_speed[v];
            if cur_gap > expected || cur_gap < 1.5 * self.len_m[v] {
                continue;
            }
            let road = self.topo.lane_road[d as usize] as usize;
            let idx = self.topo.lane_index[d as usize] as usize;
            let lanes = &self.topo.road_lanes[road];
            let last_road = self.rpos[v] + 1 >= self.route_len[v];
            let estimate = |lane: u32| match self.vehicle_at_or_after(lane, self.dis[v]) {
                None => self.topo.length_m[lane as usize] - self.dis[v],
                Some(l) => self.dis[l as usize] - self.dis[v] - self.len_m[l as usize],
            };
            let can_continue =
                |lane: u32| last_road || self.choose_link(v, lane, self.rpos[v]) != NONE;
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
                continue;
            }
            // Move: out of the current lane, into the target at its place by position.
            self.lists[d as usize].retain(|w| *w as usize != v);
            self.lists[target as usize].insert(pos, v as u32);
            self.drv[v] = target;
            self.next_link[v] = self.choose_link(v, target, self.rpos[v]);
            self.lc.last_change_s[v] = now;
            self.lc.changes += 1;
            any = true;
        }
        if any {
            self.update_leaders();
        }
    }
}
