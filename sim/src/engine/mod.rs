//! The simulation engine: vehicle state as structure-of-arrays indexed by trip, drivable lists
//! ordered front → back, and a step that follows CityFlow's order (see
//! `docs/cityflow-model.md` §7): spawn → enter from the spawn queue → (lane changes) → conflict
//! point notification → every vehicle decides from the start-of-step state → relocation → leaders.
//!
//! This file holds the state, its construction and the step loop; each phase lives in its own
//! room, all of them `impl Simulation` blocks over the same fields:
//! - [`kinematics`] — CityFlow's speed formulas as pure functions (unit-tested);
//! - [`routing`] — which lane link a vehicle takes, what lies ahead on its plan;
//! - [`crossing`] — red, blocked exits, turn speed, yielding at conflict points;
//! - [`movement`] — deciding speeds, moving, relocating between drivables, leaders and gaps;
//! - [`lanechange`] — lane changing (config `lane_change`);
//! - [`sensors`] — loop detectors and cameras;
//! - [`accounting`] — what the metrics sample each step, and [`Metrics`] from it.

mod accounting;
mod closures;

pub use closures::LaneClosure;

use accounting::EnteringPair;
mod crossing;
mod kinematics;
mod lanechange;
mod movement;
mod routing;
mod sensors;

use crate::config::SimConfig;
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
    /// Per route entry (parallel to `routes`): offset into `route_via` of that road's lanes.
    route_via_at: Vec<u32>,
    /// Per route entry and lane index of its road: the fewest lane changes the rest of the
    /// route needs when the vehicle leaves the road from that lane (0: none, the rest can be
    /// driven through lane links alone). See `routing.rs`.
    route_via: Vec<u8>,
    /// Per route entry: the least `route_via` over its road's lanes.
    route_best: Vec<u8>,
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
    /// Time of each vehicle's last lane change, s (empty when no vehicle can change lanes).
    last_change_s: Vec<f64>,
    /// Some route cannot be driven from any lane of its first road without changing lanes
    /// (possible on SUMO imports, never on Jinan): such vehicles change lanes where they must
    /// even with lane changing off (`lanechange.rs`).
    must_change: bool,
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
    /// Vehicles that have been on the intersection's entering lanes (served or not).
    inter_arrived: Vec<u64>,
    inter_queue_sum: Vec<f64>,
    inter_queue_max: Vec<u32>,
    inter_queue_now: Vec<u32>,
    vehicle_updates: u64,
    wall_s: f64,
    // --- lane closures (`closures.rs`) ---
    closures: Vec<LaneClosure>,
    /// Per lane: closed at this step (empty while no closure is set).
    lane_closed: Vec<bool>,
    // --- scratch ---
    changed: Vec<u32>,
    touched: Vec<u32>,
    commands: Vec<Command>,
    finished_now: Vec<u32>,
}

// A summary, not the ~80 flat arrays: what a log line or a failed assertion needs to place it.
impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("network", &self.net.name)
            .field("time_s", &self.time_s())
            .field("step", &self.step)
            .field("steps", &self.n_steps)
            .field("trips", &self.depart_s.len())
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
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
            route_via_at: Vec::new(),
            route_via: Vec::new(),
            route_best: Vec::new(),
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
            last_change_s: Vec::new(),
            must_change: false,
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
            inter_arrived: vec![0; net.intersections.len()],
            inter_queue_sum: vec![0.0; net.intersections.len()],
            inter_queue_max: vec![0; net.intersections.len()],
            inter_queue_now: vec![0; net.intersections.len()],
            vehicle_updates: 0,
            wall_s: 0.0,
            closures: Vec::new(),
            lane_closed: Vec::new(),
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
        if s.cfg.lane_change || s.must_change {
            s.last_change_s = vec![f64::NEG_INFINITY; n];
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
        self.plan_route_lanes(&trip.route);
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
    /// Standby plans the controller sent so far ([`roadnet::Command::StandbyPlan`]), each valid.
    pub fn standby_plans(&self) -> u64 {
        self.signals.standby_plans
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
        self.update_closures(t);
        self.spawn(t);
        self.enter_waiting();
        if self.cfg.lane_change || self.must_change {
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
            // Candidates: lanes from which the whole route can be driven, or where it cannot
            // be driven without changing lanes, those that need the fewest changes
            // (`routing.rs`). CityFlow only asks for a link onto the second road, which
            // strands a vehicle whose lane does not lead on past it; where no lane leads on at
            // all, fall back to CityFlow's rule, then to the first lane. Where CityFlow's
            // candidates all reach the end (Jinan) the two rules pick alike and draw alike.
            let mut ok: Vec<u32> = lanes
                .iter()
                .copied()
                .filter(|l| self.lane_via(v, 0, *l) != routing::NO_WAY && self.lane_best(v, 0, *l))
                .collect();
            // Avoid a closed lane where an open one serves the route (`closures.rs`).
            if ok.iter().any(|l| self.is_closed(*l)) && ok.iter().any(|l| !self.is_closed(*l)) {
                ok.retain(|l| !self.is_closed(*l));
            }
            let lane = if !ok.is_empty() {
                ok[self.rng.below(ok.len())]
            } else {
                match self.route_road(v, 1) {
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
                }
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
            // A closed lane takes no one: its spawn queue waits for the window to end.
            if self.is_closed(lane as u32) {
                continue;
            }
            let vi = v as usize;
            // Strictly greater, as in CityFlow: a tail exactly at length + min gap blocks.
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
}
