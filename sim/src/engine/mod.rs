//! The simulation engine: vehicle state as structure-of-arrays indexed by trip, drivable lists
//! ordered front → back, and a step that follows CityFlow's order (see
//! `docs/cityflow-model.md` §7): spawn → enter from the spawn queue → (lane changes) → conflict
//! point notification → every vehicle decides from the start-of-step state → relocation → leaders.

mod accounting;
mod crossing;
mod kinematics;
mod lanechange;
mod sensors;

use crate::config::{SimConfig, HALTING_SPEED_M_S};
use crate::error::SimError;
use crate::metrics::Metrics;
use crate::observe::{NoObserver, Observer, Place, StepView, VehicleSnapshot};
use crate::signals::Signals;
use crate::topo::{Topology, NONE};
use roadnet::rng::SplitMix64;
use roadnet::{
    CameraFrame, Command, Controller, Demand, DetectorReading, LaneId, MovementId, RoadNet,
    SignalState, StepInput,
};
use std::collections::VecDeque;
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
    /// Time of each vehicle's last lane change, s (empty when lane changing is off).
    last_change_s: Vec<f64>,
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
            last_change_s: if cfg.lane_change {
                vec![f64::NEG_INFINITY; n]
            } else {
                Vec::new()
            },
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
    fn stop_before_speed(&self, v: usize, distance: f64) -> f64 {
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
    fn free_flow_time_s(&self, v: usize, d: u32) -> f64 {
        self.topo.length_m[d as usize] / self.max_speed[v].min(self.topo.max_speed_m_s[d as usize])
    }

    #[inline]
    fn min_brake_m(&self, v: usize) -> f64 {
        kinematics::min_brake_distance_m(self.speed[v], self.max_dec[v])
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

    // ------------------------------------------------------------------ lane changing
}
