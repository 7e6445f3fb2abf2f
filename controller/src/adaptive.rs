//! `adaptive` — greenwave's own controller, implementing [`roadnet::Controller`].
//!
//! Every step it fuses the sensors into a [`TrafficState`] ([`crate::estimate`]), then drives
//! each signalized intersection in one of two modes:
//!
//! - **coordinated** (intersections of a configured corridor, when
//!   [`AdaptiveParams::coordinate`] is set — off by default: on the bundled Main Street day the
//!   acyclic mode beats the Webster + green-wave plan where the coordinated mode only matches
//!   it, see `cargo run --release -p controller --example tune_corridor`): a cyclic plan per intersection
//!   from the corridor optimizer (common cycle, Webster splits, two-way band offsets), replanned
//!   every cycle and reached by bounded steps ([`crate::optimize::transition`]), executed with
//!   coordinated-actuated logic ([`crate::optimize::actuation`]: gap-out, stage skipping, force
//!   offs that keep the band);
//! - **free** (every other intersection, and all of them by default): acyclic control with
//!   one of two decisions ([`AdaptiveParams::decision`]):
//!   - [`Decision::Schedule`] (the default, strategy `adaptive`): schedule-driven control in
//!     the line of SURTRAC — predicted arrivals in clusters, a dynamic program over stage
//!     sequences and durations, planned outflows shared with the downstream neighbours
//!     ([`crate::schedule`]);
//!   - [`Decision::Pressure`] (strategy `pressure`): queue-aware pressure control with
//!     actuation. A stage's *pressure* is, over its movements, the vehicles that can use the
//!     green (halted, plus those close enough to reach the stop line soon, weighted by the
//!     lane's saturation flow) minus the queue already standing on the exit road; movements
//!     into a nearly full exit road count nothing (no green into a full link). The green
//!     stage is held while its queue still discharges (actuated extension) up to a max green,
//!     ends early once its lanes are empty and another stage waits (gap-out), and otherwise
//!     yields only to a stage whose pressure beats it by more than the cost of the change
//!     interval.
//!
//! An intersection with an approach road that no detector or camera sees runs its base plan
//! ([`crate::baseline::base_plan`], sent once as [`Command::ApplyPlan`]) instead: the
//! controller cannot see that approach, so neither decision would ever serve it — the
//! pretimed fallback a field controller runs when its detection fails (a SUMO network read
//! without its detector file has no sensors at all).
//!
//! All plans emitted or executed have passed [`roadnet::SignalPlan::validate`]; commands are
//! `SwitchTo` requests, which the signals turn into safe sequences (min green, yellow, all-red),
//! and the standby plans of [`crate::standby::Standby`]: the coordinated plan for the present
//! demand, kept current in every field controller as the plan it falls back to.

use crate::estimate::{Estimator, EstimatorParams, TrafficState};
use crate::optimize::actuation::{Calls, Coordinated};
use crate::optimize::corridor::{self, CorridorParams};
use crate::optimize::transition::{self, TransitionLimits};
use crate::schedule::{ScheduleParams, Scheduler};
use crate::standby::{Standby, StandbyParams};
use roadnet::{
    Command, Controller, IntersectionId, Interval, LaneId, MovementId, RoadId, RoadNet, SignalPlan,
    SignalState, StageId, StepInput,
};

/// How free mode picks the next stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Schedule-driven control over a rolling horizon ([`crate::schedule`]).
    Schedule,
    /// Acyclic queue-aware pressure control with actuation.
    Pressure,
}

/// Defaults shared by every network (nothing here is tuned to one data set).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveParams {
    pub estimator: EstimatorParams,
    /// Free mode's decision.
    pub decision: Decision,
    /// The scheduler's settings (used by [`Decision::Schedule`]).
    pub schedule: ScheduleParams,
    pub corridor: CorridorParams,
    pub transition: TransitionLimits,
    /// The shortest green free mode shows (on top of the stage's own min green), seconds.
    pub min_green_s: f64,
    /// The longest green free mode shows while others wait, seconds.
    pub max_green_s: f64,
    /// Moving vehicles within this time of the stop line (at their speed, or the limit) count
    /// as demand for the stage that serves them, seconds.
    pub approach_horizon_s: f64,
    /// Weight of an approaching (moving) vehicle against a halted one.
    pub approach_weight: f64,
    /// Weight of the exit road's standing queue (per lane) in the pressure.
    pub downstream_weight: f64,
    /// Exit-road fill share above which a movement gets no pressure.
    pub full_road_share: f64,
    /// A green keeps running while a vehicle is within this distance of its stop line, metres.
    pub gap_zone_m: f64,
    /// Pressure a rival stage needs above the current one to take over (the change interval
    /// costs every approach that much green), vehicles (per approach lane when
    /// `per_lane_pressure` is set).
    pub switch_margin_veh: f64,
    /// No movement with waiting vehicles stays red longer than this in free mode (starvation
    /// guard: a light side street still gets its turn against a busy arterial), seconds.
    pub max_red_s: f64,
    /// … and the share of the current stage's pressure it needs on top of that.
    pub switch_ratio: f64,
    /// Road length one stopped vehicle takes, metres.
    pub jam_spacing_m: f64,
    /// Capacity-aware pressure: a lane counts at most the vehicles it can discharge at
    /// saturation flow in this much green (0 = uncapped), seconds.
    pub cap_green_s: f64,
    /// Age-weighted pressure: a movement with vehicles halted gains this much pressure per
    /// second it has been red (fairness without a hard cutoff), vehicles per second.
    pub age_weight: f64,
    /// Stage pressure per approach lane it serves (a two-lane left-turn stage competes on
    /// equal terms with a four-lane through stage); `switch_margin_veh` is then per lane.
    pub per_lane_pressure: bool,
    /// Run corridor intersections with coordinated cyclic plans (green waves); otherwise every
    /// intersection runs the acyclic free mode.
    pub coordinate: bool,
}

impl Default for AdaptiveParams {
    fn default() -> Self {
        AdaptiveParams {
            estimator: EstimatorParams::default(),
            decision: Decision::Schedule,
            schedule: ScheduleParams::default(),
            corridor: CorridorParams::default(),
            transition: TransitionLimits::default(),
            min_green_s: 5.0,
            max_green_s: 60.0,
            approach_horizon_s: 10.0,
            approach_weight: 1.0,
            downstream_weight: 0.5,
            full_road_share: 0.85,
            gap_zone_m: 35.0,
            switch_margin_veh: 4.0,
            switch_ratio: 0.0,
            max_red_s: 180.0,
            jam_spacing_m: 7.5,
            cap_green_s: 0.0,
            age_weight: 0.0,
            per_lane_pressure: true,
            coordinate: false,
        }
    }
}

/// Why a tuning parameter could not be set.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("'{0}' is not key=value")]
    NotKeyValue(String),
    #[error("unknown parameter '{key}'; known: {known}", known = AdaptiveParams::KEYS.join(", "))]
    Unknown { key: String },
    #[error("{key} = '{value}': {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}

impl AdaptiveParams {
    /// The parameters [`AdaptiveParams::set`] knows, by field name.
    pub const KEYS: &'static [&'static str] = &[
        "min_green_s",
        "max_green_s",
        "approach_horizon_s",
        "approach_weight",
        "downstream_weight",
        "full_road_share",
        "gap_zone_m",
        "switch_margin_veh",
        "switch_ratio",
        "max_red_s",
        "jam_spacing_m",
        "cap_green_s",
        "age_weight",
        "per_lane_pressure",
        "coordinate",
        "decision",
        "horizon_s",
        "merge_gap_s",
        "startup_lost_s",
        "beam_width",
        "max_segments",
        "rank_share",
        "upstream_plans",
    ];

    /// Set one parameter from text, as tuning tools take them: a number for the `_s`, `_m`,
    /// `_veh`, weight and ratio fields (finite, not negative), `true`/`false` for the switches.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ParamError> {
        let bad = |expected| ParamError::BadValue {
            key: key.into(),
            value: value.into(),
            expected,
        };
        let flag = || match value {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad("expected true or false")),
        };
        let number = || match value.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(bad("expected a finite number ≥ 0")),
        };
        let count = || match value.parse::<usize>() {
            Ok(v) if (1..=1024).contains(&v) => Ok(v),
            _ => Err(bad("expected a whole number in [1, 1024]")),
        };
        match key {
            "decision" => {
                self.decision = match value {
                    "schedule" => Decision::Schedule,
                    "pressure" => Decision::Pressure,
                    _ => return Err(bad("expected schedule or pressure")),
                }
            }
            "horizon_s" => self.schedule.horizon_s = number()?,
            "merge_gap_s" => self.schedule.merge_gap_s = number()?,
            "startup_lost_s" => self.schedule.startup_lost_s = number()?,
            "beam_width" => self.schedule.beam_width = count()?,
            "max_segments" => self.schedule.max_segments = count()?,
            "rank_share" => self.schedule.rank_share = number()?.min(1.0),
            "upstream_plans" => self.schedule.upstream_plans = flag()?,
            "per_lane_pressure" => self.per_lane_pressure = flag()?,
            "coordinate" => self.coordinate = flag()?,
            "min_green_s" => self.min_green_s = number()?,
            "max_green_s" => self.max_green_s = number()?,
            "approach_horizon_s" => self.approach_horizon_s = number()?,
            "approach_weight" => self.approach_weight = number()?,
            "downstream_weight" => self.downstream_weight = number()?,
            "full_road_share" => self.full_road_share = number()?,
            "gap_zone_m" => self.gap_zone_m = number()?,
            "switch_margin_veh" => self.switch_margin_veh = number()?,
            "switch_ratio" => self.switch_ratio = number()?,
            "max_red_s" => self.max_red_s = number()?,
            "jam_spacing_m" => self.jam_spacing_m = number()?,
            "cap_green_s" => self.cap_green_s = number()?,
            "age_weight" => self.age_weight = number()?,
            _ => return Err(ParamError::Unknown { key: key.into() }),
        }
        Ok(())
    }

    /// Defaults overridden by `key=value` arguments, in order.
    pub fn from_args<S: AsRef<str>>(
        args: impl IntoIterator<Item = S>,
    ) -> Result<AdaptiveParams, ParamError> {
        let mut p = AdaptiveParams::default();
        for arg in args {
            let arg = arg.as_ref();
            let (k, v) = arg
                .split_once('=')
                .ok_or_else(|| ParamError::NotKeyValue(arg.into()))?;
            p.set(k.trim(), v.trim())?;
        }
        Ok(p)
    }
}

/// Per-movement wiring, precomputed.
#[derive(Clone, Debug)]
struct MoveInfo {
    lanes: Vec<LaneId>,
    to_road: RoadId,
    /// Green in every non-clearance stage (CityFlow's right turns): no time of its own needed.
    always: bool,
}

#[derive(Clone, Debug)]
struct Junction {
    id: IntersectionId,
    stages: Vec<StageId>,
    /// Per stage: its movements (indices into `Adaptive::moves`).
    stage_moves: Vec<Vec<usize>>,
    /// Per stage: distinct approach lanes its own (not always-green) movements use.
    stage_lanes: Vec<usize>,
    /// Coordinated mode: corridor index and position in it.
    corridor: Option<(usize, usize)>,
    plan: Option<SignalPlan>,
    exec: Option<Coordinated>,
    /// The stage last requested (`None` before the first request).
    last_request: Option<StageId>,
    /// Its base plan, when an approach road has no detector or camera: the controller cannot
    /// see that approach, so the intersection runs pretimed, as a field controller does when
    /// its detection fails (a schedule or a pressure would never serve an approach it cannot
    /// see). `None`: it is controlled.
    pretimed: Option<SignalPlan>,
}

/// The adaptive controller.
pub struct Adaptive {
    net: RoadNet,
    params: AdaptiveParams,
    /// Free mode's scheduler ([`Decision::Schedule`] only).
    scheduler: Option<Scheduler>,
    estimator: Estimator,
    moves: Vec<(MovementId, MoveInfo)>,
    junctions: Vec<Junction>,
    /// Next replanning time per corridor, seconds.
    corridor_replan_s: Vec<f64>,
    /// Last corridor plans (for reports).
    corridor_plans: Vec<Option<corridor::CorridorPlan>>,
    scratch_pressure: Vec<f64>,
    /// Per movement (indexed like `moves`): when it last showed green, seconds.
    last_green_s: Vec<f64>,
    time_s: f64,
    /// Keeps the field controllers' fallback plans current.
    standby: Standby,
    /// Whether the pretimed junctions' base plans have been sent.
    pretimed_sent: bool,
}

// A summary: the estimator and per-movement scratch would drown a log line.
impl std::fmt::Debug for Adaptive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adaptive")
            .field("name", &self.name())
            .field("network", &self.net.name)
            .field("params", &self.params)
            .field("movements", &self.moves.len())
            .field("intersections", &self.junctions.len())
            .finish_non_exhaustive()
    }
}

impl Adaptive {
    pub fn new(net: &RoadNet) -> Self {
        Self::with_params(net, AdaptiveParams::default())
    }

    /// The pressure strategy: free mode decides by pressure instead of by schedule.
    pub fn pressure(net: &RoadNet) -> Self {
        Self::with_params(
            net,
            AdaptiveParams {
                decision: Decision::Pressure,
                ..AdaptiveParams::default()
            },
        )
    }

    pub fn with_params(net: &RoadNet, params: AdaptiveParams) -> Self {
        let mut moves = Vec::new();
        let mut junctions = Vec::new();
        let mut sensed = vec![false; net.lanes.len()];
        for d in &net.detectors {
            sensed[d.lane.index()] = true;
        }
        for c in &net.cameras {
            for l in &c.lanes {
                sensed[l.index()] = true;
            }
        }
        for inter in net.signalized() {
            // an approach road no sensor sees on any lane: the estimator has nothing to infer
            // its queue from (a lane without a sensor borrows from the road's other lanes)
            let mut approach_seen: std::collections::BTreeMap<RoadId, bool> = Default::default();
            for m in &inter.movements {
                for l in net.lanes_feeding(*m) {
                    *approach_seen.entry(net.lane(l).road).or_default() |= sensed[l.index()];
                }
            }
            let pretimed = approach_seen
                .values()
                .any(|seen| !seen)
                .then(|| crate::baseline::base_plan(net, inter.id))
                .filter(|plan| plan.validate(net).is_ok());
            let stages: Vec<StageId> = inter
                .stages
                .iter()
                .copied()
                .filter(|s| !net.stage(*s).clearance)
                .collect();
            let stage_mvs: Vec<Vec<MovementId>> =
                stages.iter().map(|s| net.stage_movements(*s)).collect();
            let mut stage_moves = vec![Vec::new(); stages.len()];
            for m in &inter.movements {
                let in_stages: Vec<usize> = (0..stages.len())
                    .filter(|k| stage_mvs[*k].contains(m))
                    .collect();
                if in_stages.is_empty() {
                    continue;
                }
                let idx = moves.len();
                moves.push((
                    *m,
                    MoveInfo {
                        lanes: net.lanes_feeding(*m),
                        to_road: net.movement(*m).to_road,
                        always: in_stages.len() == stages.len() && stages.len() > 1,
                    },
                ));
                for k in in_stages {
                    stage_moves[k].push(idx);
                }
            }
            let corridor = net
                .corridors
                .iter()
                .enumerate()
                .filter(|_| params.coordinate)
                .find_map(|(ci, c)| {
                    c.intersections
                        .iter()
                        .position(|i| *i == inter.id)
                        .map(|pos| (ci, pos))
                });
            junctions.push(Junction {
                id: inter.id,
                stages,
                stage_lanes: stage_moves
                    .iter()
                    .map(|ms| {
                        let mut ls: Vec<LaneId> = ms
                            .iter()
                            .filter(|mi| !moves[**mi].1.always)
                            .flat_map(|mi| moves[*mi].1.lanes.iter().copied())
                            .collect();
                        ls.sort();
                        ls.dedup();
                        ls.len()
                    })
                    .collect(),
                stage_moves,
                corridor,
                plan: None,
                exec: None,
                last_request: None,
                pretimed,
            });
        }
        Adaptive {
            estimator: Estimator::new(net, params.estimator),
            scheduler: (params.decision == Decision::Schedule)
                .then(|| Scheduler::new(net, &params)),
            net: net.clone(),
            params,
            junctions,
            corridor_replan_s: vec![0.0; net.corridors.len()],
            corridor_plans: vec![None; net.corridors.len()],
            scratch_pressure: Vec::new(),
            last_green_s: vec![0.0; moves.len()],
            time_s: 0.0,
            standby: Standby::new(net, StandbyParams::default()),
            moves,
            pretimed_sent: false,
        }
    }

    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }
    pub fn state(&self) -> &TrafficState {
        self.estimator.state()
    }
    /// The plans running in coordinated mode, by intersection.
    pub fn plans(&self) -> Vec<&SignalPlan> {
        self.junctions
            .iter()
            .filter_map(|j| j.plan.as_ref())
            .collect()
    }
    /// The standby plans kept current in the field.
    pub fn standby(&self) -> &Standby {
        &self.standby
    }
    /// The last plan of corridor `k` (coordinated mode only: without it none is made).
    pub fn corridor_plan(&self, k: usize) -> Option<&corridor::CorridorPlan> {
        self.corridor_plans.get(k).and_then(|p| p.as_ref())
    }

    /// Vehicles halted on a lane, and vehicles moving towards the stop line close enough to
    /// reach it within the horizon.
    fn lane_demand(&self, l: LaneId) -> (f64, f64) {
        let st = self.estimator.state();
        let tracks = &st.tracks[l.index()];
        let ls = st.lane(l);
        if !ls.camera {
            // loops only: the filtered queue, and the arrival flow over the horizon
            return (
                ls.queue_veh,
                ls.arrival_flow_veh_s * self.params.approach_horizon_s,
            );
        }
        let vmax = self.net.lane(l).speed_limit_m_s.max(1.0);
        let reach_m = vmax * self.params.approach_horizon_s;
        if tracks.is_empty() {
            // per-lane summaries only: moving vehicles spread evenly over the zone
            let moving = ls.vehicles.saturating_sub(ls.halting) as f64;
            let len = self.net.lane(l).length_m.max(1.0);
            return (ls.halting as f64, moving * (reach_m / len).min(1.0));
        }
        let halt = self.params.estimator.halt_speed_m_s;
        let mut q = 0.0;
        let mut e = 0.0;
        for v in tracks {
            if v.speed_m_s < halt {
                q += 1.0;
            } else if v.distance_to_stop_m <= reach_m {
                e += 1.0;
            }
        }
        (q, e)
    }

    fn road_fill(&self, r: RoadId) -> f64 {
        crate::optimize::intersection::road_fill(
            &self.net,
            self.estimator.state(),
            r,
            self.params.jam_spacing_m,
        )
    }

    /// Halted vehicles per lane on a road.
    fn road_queue_per_lane(&self, r: RoadId) -> f64 {
        let road = self.net.road(r);
        if road.lanes.is_empty() {
            return 0.0;
        }
        let total: f64 = road.lanes.iter().map(|l| self.lane_demand(*l).0).sum();
        total / road.lanes.len() as f64
    }

    /// Pressure of every movement (indexed like `self.moves`).
    fn movement_pressures(&mut self) {
        let mut out = std::mem::take(&mut self.scratch_pressure);
        out.clear();
        let p = self.params;
        for (_, info) in &self.moves {
            if info.always {
                out.push(0.0);
                continue;
            }
            if self.road_fill(info.to_road) >= p.full_road_share {
                out.push(0.0);
                continue;
            }
            let down = self.road_queue_per_lane(info.to_road);
            let mut v = 0.0;
            let mut halted = false;
            for l in &info.lanes {
                let (q, e) = self.lane_demand(*l);
                halted |= q > 0.0;
                let share = self.net.lane(*l).feeds.len().max(1) as f64;
                let sat_veh_s = self.estimator.state().lane(*l).saturation_veh_s;
                let sat = sat_veh_s / p.estimator.default_saturation_veh_s;
                let mut d = q + p.approach_weight * e;
                if p.cap_green_s > 0.0 {
                    d = d.min(sat_veh_s * p.cap_green_s);
                }
                v += sat * d / share - p.downstream_weight * down;
            }
            if halted && p.age_weight > 0.0 {
                v += p.age_weight * (self.time_s - self.last_green_s[out.len()]).max(0.0);
            }
            out.push(v);
        }
        self.scratch_pressure = out;
    }

    /// Whether the current stage's lanes still have a vehicle near the stop line (discharging
    /// queue or arriving platoon) that can go.
    fn stage_active(&self, j: &Junction, k: usize) -> bool {
        j.stage_moves[k].iter().any(|&mi| {
            let (_, info) = &self.moves[mi];
            !info.always
                && self.road_fill(info.to_road) < self.params.full_road_share
                && info.lanes.iter().any(|l| {
                    let st = self.estimator.state();
                    if st.lane(*l).camera && !st.tracks[l.index()].is_empty() {
                        st.tracks[l.index()]
                            .first()
                            .is_some_and(|v| v.distance_to_stop_m <= self.params.gap_zone_m)
                    } else if st.lane(*l).camera {
                        st.lane(*l).halting > 0
                    } else {
                        st.lane(*l).queue_veh >= 0.5
                    }
                })
        })
    }

    fn stage_pressure(&self, j: &Junction, k: usize) -> f64 {
        let sum: f64 = j.stage_moves[k]
            .iter()
            .map(|&mi| self.scratch_pressure[mi])
            .sum();
        if self.params.per_lane_pressure {
            sum / j.stage_lanes[k].max(1) as f64
        } else {
            sum
        }
    }

    fn free_step(&self, j: &Junction, sig: &SignalState) -> Option<StageId> {
        if sig.interval != Interval::Green {
            return None;
        }
        let n = j.stages.len();
        let Some(cur) = j.stages.iter().position(|s| *s == sig.stage) else {
            // showing something we do not run (a clearance stage): pick the best stage
            return (0..n)
                .max_by(|a, b| {
                    self.stage_pressure(j, *a)
                        .total_cmp(&self.stage_pressure(j, *b))
                        .then(b.cmp(a))
                })
                .map(|k| j.stages[k]);
        };
        let min_g = self
            .net
            .stage(sig.stage)
            .limits
            .shortest_green_s()
            .max(self.params.min_green_s);
        if sig.green_elapsed_s + 1e-9 < min_g {
            return None;
        }
        // starvation guard: the stage of the longest-waiting movement that has vehicles waiting
        // and has been red too long goes next
        let starving = (0..n)
            .filter(|k| *k != cur)
            .filter_map(|k| {
                j.stage_moves[k]
                    .iter()
                    .filter(|&&mi| {
                        !self.moves[mi].1.always
                            && self.road_fill(self.moves[mi].1.to_road)
                                < self.params.full_road_share
                            && self.moves[mi]
                                .1
                                .lanes
                                .iter()
                                .any(|l| self.lane_demand(*l).0 > 0.0)
                    })
                    .map(|&mi| self.time_s - self.last_green_s[mi])
                    .filter(|red| *red > self.params.max_red_s)
                    .max_by(|a, b| a.total_cmp(b))
                    .map(|red| (k, red))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((k, _)) = starving {
            return Some(j.stages[k]);
        }
        let p_cur = self.stage_pressure(j, cur);
        let mut best: Option<(usize, f64)> = None;
        for k in (0..n).filter(|k| *k != cur) {
            let pk = self.stage_pressure(j, k);
            if best.is_none_or(|(_, pb)| pk > pb + 1e-9) {
                best = Some((k, pk));
            }
        }
        let active = self.stage_active(j, cur);
        let (b, p_best) = best?;
        if p_best <= 0.0 {
            return None;
        }
        let max_g = self
            .params
            .max_green_s
            .min(self.net.stage(sig.stage).limits.max_green_s.max(min_g));
        if sig.green_elapsed_s + 1e-9 >= max_g {
            return Some(j.stages[b]);
        }
        if !active {
            return Some(j.stages[b]);
        }
        // Pressure-driven change: the change interval costs green only to the movements that
        // lose it, so a rival that keeps some of the current movements green (an overlapping
        // stage) needs a proportionally smaller lead.
        let own: Vec<usize> = j.stage_moves[cur]
            .iter()
            .copied()
            .filter(|&mi| !self.moves[mi].1.always)
            .collect();
        let mut pick: Option<(usize, f64)> = None;
        for k in (0..n).filter(|k| *k != cur) {
            let lost = if own.is_empty() {
                1.0
            } else {
                own.iter()
                    .filter(|mi| !j.stage_moves[k].contains(mi))
                    .count() as f64
                    / own.len() as f64
            };
            let gain = self.stage_pressure(j, k)
                - p_cur * (1.0 + self.params.switch_ratio)
                - self.params.switch_margin_veh * lost;
            if gain > 0.0 && pick.is_none_or(|(_, g)| gain > g + 1e-9) {
                pick = Some((k, gain));
            }
        }
        pick.map(|(k, _)| j.stages[k])
    }

    fn replan_corridor(&mut self, ci: usize, time_s: f64) {
        let c = &self.net.corridors[ci];
        let running: Option<Vec<f64>> = c
            .intersections
            .iter()
            .map(|i| {
                self.junctions
                    .iter()
                    .find(|j| j.id == *i)
                    .and_then(|j| j.plan.as_ref().map(|p| p.offset_s))
            })
            .collect();
        let cp = corridor::plan_corridor(
            &self.net,
            c,
            self.estimator.state(),
            &self.params.corridor,
            running.as_deref(),
        );
        let mut next_replan = time_s + cp.cycle_s;
        for (pos, target) in cp.plans.iter().enumerate() {
            let Some(j) = self
                .junctions
                .iter_mut()
                .find(|j| j.corridor == Some((ci, pos)))
            else {
                continue;
            };
            if target.validate(&self.net).is_err() {
                continue; // never run a plan that breaks a rule; keep the old one
            }
            let plan = match &j.plan {
                Some(cur)
                    if cur
                        .stages
                        .iter()
                        .map(|s| s.stage)
                        .eq(target.stages.iter().map(|s| s.stage)) =>
                {
                    transition::step_towards(&self.net, cur, target, &self.params.transition)
                }
                _ => target.clone(),
            };
            next_replan = next_replan.min(time_s + plan.cycle_s);
            j.plan = Some(plan);
            j.exec = None;
        }
        self.corridor_replan_s[ci] = next_replan;
        self.corridor_plans[ci] = Some(cp);
    }

    fn coordinated_step(&mut self, ji: usize, sig: &SignalState, time_s: f64) -> Option<StageId> {
        let j = &self.junctions[ji];
        let plan = j.plan.clone()?;
        if sig.interval != Interval::Green {
            return None;
        }
        let n = plan.stages.len();
        let waiting: Vec<bool> = plan
            .stages
            .iter()
            .map(|s| {
                let k = j.stages.iter().position(|x| *x == s.stage).unwrap_or(0);
                self.stage_pressure(j, k) > 0.0 || self.stage_active(j, k)
            })
            .collect();
        let cur_pos = plan.stages.iter().position(|s| s.stage == sig.stage);
        let current_active = j
            .stages
            .iter()
            .position(|s| *s == sig.stage)
            .is_some_and(|k| self.stage_active(j, k));
        let calls = Calls {
            waiting,
            current_active,
        };
        let net = &self.net;
        let j = &mut self.junctions[ji];
        match (cur_pos, j.exec.as_mut()) {
            (Some(pos), Some(ex)) if ex.current == pos => {
                ex.decide(net, &plan, time_s, sig.green_elapsed_s, &calls)
            }
            (Some(pos), _) => {
                let mut ex = Coordinated::start(net, &plan, pos, time_s);
                let r = ex.decide(net, &plan, time_s, sig.green_elapsed_s, &calls);
                j.exec = Some(ex);
                r
            }
            (None, _) => {
                // a stage the plan skips is showing: go to the plan's stage due now
                let (k, _) = plan.position_at(time_s);
                j.exec = Some(Coordinated::start(net, &plan, k.min(n - 1), time_s));
                Some(plan.stages[k.min(n - 1)].stage)
            }
        }
    }
}

impl Controller for Adaptive {
    fn name(&self) -> &str {
        match self.params.decision {
            Decision::Schedule => "adaptive",
            Decision::Pressure => "pressure",
        }
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.estimator.update(&self.net, input);
        self.time_s = input.time_s;
        self.standby
            .step(&self.net, self.estimator.state(), input.time_s, out);
        // pressures drive the pressure decision and the coordinated mode's calls
        if self.scheduler.is_none() || self.params.coordinate {
            self.movement_pressures();
        }
        for sig in input.signals {
            if sig.interval != Interval::Green {
                continue;
            }
            if let Some(j) = self.junctions.iter().find(|j| j.id == sig.intersection) {
                if let Some(k) = j.stages.iter().position(|s| *s == sig.stage) {
                    for &mi in &j.stage_moves[k] {
                        self.last_green_s[mi] = input.time_s;
                    }
                }
            }
        }
        // Corridor plans steer only coordinated junctions; without coordination an exact band
        // optimization every cycle would cost time and change nothing on the street.
        if self.params.coordinate {
            for ci in 0..self.corridor_replan_s.len() {
                if input.time_s + 1e-9 >= self.corridor_replan_s[ci] {
                    self.replan_corridor(ci, input.time_s);
                }
            }
        }
        if !self.pretimed_sent {
            self.pretimed_sent = true;
            out.extend(
                self.junctions
                    .iter()
                    .filter_map(|j| j.pretimed.clone())
                    .map(Command::ApplyPlan),
            );
        }
        for sig in input.signals {
            let Some(ji) = self.junctions.iter().position(|j| j.id == sig.intersection) else {
                continue;
            };
            if self.junctions[ji].pretimed.is_some() {
                continue;
            }
            let want = if self.junctions[ji].corridor.is_some() && self.junctions[ji].plan.is_some()
            {
                self.coordinated_step(ji, sig, input.time_s)
            } else if let Some(sched) = self.scheduler.as_mut() {
                sched.decide(&self.net, self.estimator.state(), sig, input.time_s)
            } else {
                self.free_step(&self.junctions[ji], sig)
            };
            let j = &mut self.junctions[ji];
            // The first green is held by request until the first decision: without one a
            // field controller would run its local plan meanwhile, the simulator its first
            // stage — the same controller would drive the two differently.
            let want = want.or_else(|| {
                (j.last_request.is_none() && sig.interval == Interval::Green).then_some(sig.stage)
            });
            if let Some(stage) = want {
                // Holding the green stage is a request too when it is not the one last asked
                // for: a signal left without one runs what it would run alone (a field
                // controller its local plan, the simulator its first stage), and one still
                // heading to an earlier request would carry it out.
                if stage != sig.stage
                    || sig.interval != Interval::Green
                    || j.last_request != Some(stage)
                {
                    out.push(Command::SwitchTo {
                        intersection: j.id,
                        stage,
                    });
                    j.last_request = Some(stage);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_arguments_override_defaults_and_bad_ones_are_named() {
        let p = AdaptiveParams::from_args(["max_green_s=40", "coordinate=true", "age_weight=0.5"])
            .unwrap();
        assert_eq!(p.max_green_s, 40.0);
        assert!(p.coordinate);
        assert_eq!(p.age_weight, 0.5);
        assert_eq!(p.min_green_s, AdaptiveParams::default().min_green_s);
        assert_eq!(
            AdaptiveParams::from_args(["max_green"]),
            Err(ParamError::NotKeyValue("max_green".into()))
        );
        assert_eq!(
            AdaptiveParams::from_args(["green=4"]),
            Err(ParamError::Unknown {
                key: "green".into()
            })
        );
        for bad in [
            "max_green_s=abc",
            "max_green_s=-1",
            "max_green_s=NaN",
            "coordinate=yes",
        ] {
            assert!(
                matches!(
                    AdaptiveParams::from_args([bad]),
                    Err(ParamError::BadValue { .. })
                ),
                "{bad}"
            );
        }
        // every advertised key is settable
        let mut p = AdaptiveParams::default();
        for k in AdaptiveParams::KEYS {
            let v = match *k {
                "coordinate" | "per_lane_pressure" | "upstream_plans" => "false",
                "decision" => "pressure",
                _ => "1",
            };
            p.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
    }
}
