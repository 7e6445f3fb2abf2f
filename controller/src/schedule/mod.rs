//! Schedule-driven intersection control in the line of SURTRAC (Xie, Smith, Lu and
//! Barlow, "Schedule-driven intersection control", Transportation Research C, 2012; Hu, Zhou,
//! Barlow and Smith, "Connection-based scheduling for real-time intersection control", 2022).
//!
//! [`Scheduler`] is the default decision of [`crate::adaptive::Adaptive`]'s free mode
//! ([`crate::adaptive::Decision::Schedule`]); the acyclic pressure logic it replaced remains as
//! the `pressure` strategy. At each *decision point* of a signalized intersection (see the
//! glossary) it:
//! 1. predicts the arrivals at each of its movements over a rolling horizon
//!    ([`ScheduleParams::horizon_s`]): the vehicles the cameras track (halted ones are the
//!    queue; moving ones arrive after their distance at the speed limit), the estimator's
//!    queue where no camera sees the lane, the **planned outflows of the upstream
//!    intersection** for vehicles not yet on the lane, and the estimator's arrival flow
//!    (advance loops, camera counts, profile) where no upstream plan is known;
//! 2. aggregates them into clusters ([`clusters`]);
//! 3. searches stage sequences and durations with a forward-recursion dynamic program over the
//!    clusters ([`dp`]) honouring min/max green, change intervals, pedestrian times (in the
//!    stage's shortest green), saturation-flow discharge and the space left on each exit road;
//! 4. executes the first decision of the best schedule — keep the current stage, or
//!    [`roadnet::Command::SwitchTo`] another (sent only when the stage changes) — and replans
//!    at the next decision point;
//! 5. publishes the schedule's planned outflow to its downstream neighbours, who read it at
//!    their next decision (decentralised coordination).
//!
//! The signals turn each request into a safe sequence (min green, yellow, all-red); nothing
//! here can show a conflicting green.
//!
//! ## Glossary
//! - **Horizon** — how far ahead arrivals are predicted and schedules scored, s.
//! - **Cluster** — vehicles expected to arrive close together, scheduled as one job; the
//!   **queue cluster** holds the standing queue and whoever joins it before it has left.
//! - **Schedule** — a sequence of (stage, green start, green end) segments over the horizon.
//! - **Delay** — per vehicle, the time between its arrival at the stop line and the start of
//!   its cluster's discharge; a schedule's cost is the sum over the horizon, veh·s.
//! - **Decision point** — a step at which a decision can take effect and may differ from the
//!   last one: the current green is past its min green (never during a change interval or
//!   before min green), and either the last schedule's first segment has ended, or new
//!   information has arrived since it was made — a vehicle entered, left or halted on an
//!   approach lane, a standing-queue estimate moved by half a vehicle, the upstream
//!   intersection published a new planned outflow, the exit road's fill changed by a tenth —
//!   or a movement is about to reach the starvation guard. Between decision points the last
//!   schedule still holds (its arrivals are absolute times), so nothing is recomputed.
//! - **Planned outflow** — the departures an intersection's schedule sends into each exit
//!   road, shifted by the road's travel time: the downstream neighbour's predicted arrivals.
//! - **Spillback check** — a movement whose exit road is nearly full is not scheduled, and one
//!   into a road with little space left only for the vehicles that fit.

pub mod clusters;
pub mod dp;

use crate::adaptive::AdaptiveParams;
use crate::estimate::TrafficState;
use clusters::{form_clusters, Arrival, Cluster};
use dp::{Departure, Problem, StageSpec};
use roadnet::{IntersectionId, Interval, LaneId, RoadId, RoadNet, SignalState, StageId};

/// The scheduler's own settings (min/max green, the starvation guard, the spillback share and
/// the jam spacing are [`AdaptiveParams`]' own). The same defaults on every network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleParams {
    /// Rolling horizon, seconds.
    pub horizon_s: f64,
    /// Arrivals closer than this join one cluster, seconds.
    pub merge_gap_s: f64,
    /// Green lost while a newly released queue starts moving, seconds.
    pub startup_lost_s: f64,
    /// Nodes the DP keeps per layer.
    pub beam_width: usize,
    /// Segments a schedule may have at most.
    pub max_segments: usize,
    /// See [`dp::Problem::rank_share`].
    pub rank_share: f64,
    /// Use the upstream intersections' planned outflows as arrivals.
    pub upstream_plans: bool,
}

impl Default for ScheduleParams {
    fn default() -> Self {
        ScheduleParams {
            horizon_s: 60.0,
            merge_gap_s: 2.5,
            startup_lost_s: 2.0,
            beam_width: 16,
            max_segments: 12,
            rank_share: 0.5,
            upstream_plans: true,
        }
    }
}

/// What the scheduler takes from [`AdaptiveParams`].
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shared {
    min_green_s: f64,
    max_green_s: f64,
    max_red_s: f64,
    full_road_share: f64,
    jam_spacing_m: f64,
    halt_speed_m_s: f64,
}

/// One movement an intersection schedules.
#[derive(Clone, Debug)]
struct Move {
    /// Approach lanes feeding it, with the share of each lane's vehicles it takes.
    lanes: Vec<(LaneId, f64)>,
    to_road: RoadId,
}

#[derive(Clone, Debug)]
struct Junction {
    id: IntersectionId,
    stages: Vec<StageId>,
    specs: Vec<StageSpec>,
    moves: Vec<Move>,
    /// Per movement: when it last showed green, seconds.
    last_green_s: Vec<f64>,
    /// The approach lanes of all its movements, each once (inputs of its fingerprint).
    in_lanes: Vec<LaneId>,
    /// The roads its movements feed, each once, and the roads feeding it.
    out_roads: Vec<RoadId>,
    in_roads: Vec<RoadId>,
    /// The last schedule: the stage showing when it was made, when its first segment (an
    /// extension of that stage) ends, and the fingerprint of the information it was made from.
    /// `hold_until_s` is −∞ when the next green step must replan.
    held_stage: Option<StageId>,
    hold_until_s: f64,
    seen: u64,
    /// Scratch: per movement predicted arrivals and clusters.
    arrivals: Vec<Vec<Arrival>>,
    clusters: Vec<Vec<Cluster>>,
}

/// The schedule-driven decision for every signalized intersection of a network.
#[derive(Clone, Debug)]
pub struct Scheduler {
    params: ScheduleParams,
    shared: Shared,
    junctions: Vec<Junction>,
    /// Per road: the arrivals at its stop line its upstream intersection's last schedule
    /// plans, each with the time it leaves the upstream stop line, seconds.
    planned: Vec<Vec<(f64, Arrival)>>,
    /// Per road: whether an intersection we schedule feeds it.
    fed_by_plan: Vec<bool>,
    /// Per road: how many times its planned arrivals were republished (a decision point for
    /// the downstream intersection).
    plan_version: Vec<u64>,
    /// Per intersection index: its junction, if we schedule it.
    junction_of: Vec<Option<usize>>,
    /// Per lane: how far back from the stop line a camera sees, metres (0: none).
    camera_reach_m: Vec<f64>,
    departures: Vec<Departure>,
    /// The DP's buffers, reused from one decision to the next.
    workspace: dp::Workspace,
    /// Schedules computed so far (decision points met), for the cost report and tests.
    replans: u64,
}

impl Scheduler {
    pub fn new(net: &RoadNet, adaptive: &AdaptiveParams) -> Self {
        let params = adaptive.schedule;
        let shared = Shared {
            min_green_s: adaptive.min_green_s,
            max_green_s: adaptive.max_green_s,
            max_red_s: adaptive.max_red_s,
            full_road_share: adaptive.full_road_share,
            jam_spacing_m: adaptive.jam_spacing_m,
            halt_speed_m_s: adaptive.estimator.halt_speed_m_s,
        };
        let mut junctions = Vec::new();
        let mut fed_by_plan = vec![false; net.roads.len()];
        for inter in net.signalized() {
            let stages: Vec<StageId> = inter
                .stages
                .iter()
                .copied()
                .filter(|s| !net.stage(*s).clearance)
                .collect();
            let stage_mvs: Vec<_> = stages.iter().map(|s| net.stage_movements(*s)).collect();
            let mut moves = Vec::new();
            let mut specs: Vec<StageSpec> = stages
                .iter()
                .map(|s| {
                    let lim = net.stage(*s).limits;
                    let (lo, hi) = lim.green_bounds_s();
                    let min_g = lo.max(shared.min_green_s);
                    StageSpec {
                        movements: Vec::new(),
                        min_green_s: min_g,
                        max_green_s: hi.min(shared.max_green_s).max(min_g),
                        change_s: lim.change_s(),
                    }
                })
                .collect();
            for m in &inter.movements {
                let in_stages: Vec<usize> = (0..stages.len())
                    .filter(|k| stage_mvs[*k].contains(m))
                    .collect();
                // green in every stage (CityFlow's right turns): no time of its own to schedule
                if in_stages.is_empty() || (in_stages.len() == stages.len() && stages.len() > 1) {
                    continue;
                }
                let lanes = net
                    .lanes_feeding(*m)
                    .into_iter()
                    .map(|l| (l, 1.0 / net.lane(l).feeds.len().max(1) as f64))
                    .collect();
                for k in in_stages {
                    specs[k].movements.push(moves.len());
                }
                moves.push(Move {
                    lanes,
                    to_road: net.movement(*m).to_road,
                });
            }
            for r in &net.roads {
                if r.from == inter.id {
                    fed_by_plan[r.id.index()] = params.upstream_plans;
                }
            }
            let n = moves.len();
            let mut in_lanes: Vec<LaneId> = moves
                .iter()
                .flat_map(|m: &Move| m.lanes.iter().map(|(l, _)| *l))
                .collect();
            in_lanes.sort_unstable();
            in_lanes.dedup();
            let mut out_roads: Vec<RoadId> = moves.iter().map(|m| m.to_road).collect();
            out_roads.sort_unstable();
            out_roads.dedup();
            let mut in_roads: Vec<RoadId> = in_lanes.iter().map(|l| net.lane(*l).road).collect();
            in_roads.sort_unstable();
            in_roads.dedup();
            junctions.push(Junction {
                id: inter.id,
                stages,
                specs,
                moves,
                last_green_s: vec![0.0; n],
                in_lanes,
                out_roads,
                in_roads,
                held_stage: None,
                hold_until_s: f64::NEG_INFINITY,
                seen: 0,
                arrivals: vec![Vec::new(); n],
                clusters: vec![Vec::new(); n],
            });
        }
        let mut camera_reach_m = vec![0.0_f64; net.lanes.len()];
        for c in &net.cameras {
            for l in &c.lanes {
                camera_reach_m[l.index()] = camera_reach_m[l.index()].max(c.zone_far_m);
            }
        }
        let mut junction_of = vec![None; net.intersections.len()];
        for (ji, j) in junctions.iter().enumerate() {
            junction_of[j.id.index()] = Some(ji);
        }
        Scheduler {
            params,
            shared,
            junctions,
            planned: vec![Vec::new(); net.roads.len()],
            fed_by_plan,
            plan_version: vec![0; net.roads.len()],
            junction_of,
            replans: 0,
            camera_reach_m,
            departures: Vec::new(),
            workspace: dp::Workspace::default(),
        }
    }

    pub fn params(&self) -> &ScheduleParams {
        &self.params
    }

    /// How many times [`Self::decide`] has predicted and searched a schedule (met a decision
    /// point) so far.
    pub fn replans(&self) -> u64 {
        self.replans
    }

    /// Junction `sig.intersection`'s decision at this step: the stage to request when it
    /// should change (`None`: keep what is showing, or not ours to decide).
    pub fn decide(
        &mut self,
        net: &RoadNet,
        state: &TrafficState,
        sig: &SignalState,
        now_s: f64,
    ) -> Option<StageId> {
        let ji = (*self.junction_of.get(sig.intersection.index())?)?;
        if sig.interval != Interval::Green {
            // a change interval: nothing can take effect before the next green
            return None;
        }
        let j = &mut self.junctions[ji];
        let cur = j.stages.iter().position(|s| *s == sig.stage);
        if let Some(k) = cur {
            for &m in &j.specs[k].movements {
                j.last_green_s[m] = now_s;
            }
            if sig.green_elapsed_s + 1e-9 < j.specs[k].min_green_s {
                // the green must run to its min green whatever the schedule says
                j.hold_until_s = f64::NEG_INFINITY;
                return None;
            }
        }
        let seen = self.fingerprint(net, state, ji);
        let j = &mut self.junctions[ji];
        if cur.is_some()
            && j.held_stage == Some(sig.stage)
            && j.seen == seen
            && now_s + 1e-9 < j.hold_until_s
        {
            // not a decision point: the last schedule's extension of this stage still holds
            return None;
        }
        j.seen = seen;
        j.held_stage = Some(sig.stage);
        j.hold_until_s = f64::NEG_INFINITY;
        self.replans += 1;
        self.predict(net, state, ji, now_s);
        self.decide_junction(net, state, ji, now_s, sig)
            .filter(|stage| *stage != sig.stage)
    }

    /// A fingerprint of the information junction `ji`'s schedule is made from that can change
    /// between steps other than by the passing of time: per approach lane its vehicle and
    /// halting counts, camera tracks and standing queue (half vehicles), the version of the
    /// planned arrivals on the roads feeding it, the fill of the roads it feeds (tenths).
    fn fingerprint(&self, net: &RoadNet, st: &TrafficState, ji: usize) -> u64 {
        let j = &self.junctions[ji];
        // FNV-1a over the counts, as the DP's state key
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut mix = |x: u64| {
            h ^= x;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        for &l in &j.in_lanes {
            let ls = st.lane(l);
            mix(u64::from(ls.vehicles));
            mix(u64::from(ls.halting));
            mix((ls.queue_veh * 2.0).round().max(0.0) as u64);
            mix(st.tracks[l.index()].len() as u64);
        }
        for &r in &j.in_roads {
            mix(self.plan_version[r.index()]);
        }
        for &r in &j.out_roads {
            let fill =
                crate::optimize::intersection::road_fill(net, st, r, self.shared.jam_spacing_m);
            mix((fill * 10.0).floor() as u64);
        }
        h
    }

    /// Predict the arrivals of junction `ji`'s movements and cluster them.
    fn predict(&mut self, net: &RoadNet, st: &TrafficState, ji: usize, now_s: f64) {
        let p = self.params;
        let sh = self.shared;
        let horizon_end = now_s + p.horizon_s;
        let j = &mut self.junctions[ji];
        for (mi, mv) in j.moves.iter().enumerate() {
            let arr = &mut j.arrivals[mi];
            arr.clear();
            let mut queue = 0.0;
            let mut sat = 0.0;
            let fill =
                crate::optimize::intersection::road_fill(net, st, mv.to_road, sh.jam_spacing_m);
            for &(l, share) in &mv.lanes {
                let ls = st.lane(l);
                let lane = net.lane(l);
                sat += ls.saturation_veh_s * share;
                let vmax = lane.speed_limit_m_s.max(1.0);
                let tracks = &st.tracks[l.index()];
                let reach = self.camera_reach_m[l.index()].min(lane.length_m);
                let seen_from = if ls.camera && !tracks.is_empty() {
                    for v in tracks {
                        if v.speed_m_s < sh.halt_speed_m_s {
                            queue += share;
                        } else {
                            arr.push(Arrival {
                                time_s: now_s + v.distance_to_stop_m / vmax,
                                veh: share,
                            });
                        }
                    }
                    now_s + reach / vmax
                } else if ls.camera {
                    // per-lane summaries only: moving vehicles spread evenly over the zone
                    queue += ls.halting as f64 * share;
                    let moving = ls.vehicles.saturating_sub(ls.halting) as f64 * share;
                    let span = reach / vmax;
                    spread(arr, now_s, now_s + span, moving);
                    now_s + span
                } else {
                    queue += ls.queue_veh * share;
                    now_s
                };
                // vehicles not yet on the lane (or not yet seen)
                let road = lane.road;
                if self.fed_by_plan[road.index()] {
                    // the stretch no camera sees: vehicles already past the upstream stop line
                    // arrive at the lane's flow until the first planned departure can be here
                    let entry_s = (now_s + lane.length_m / vmax).min(horizon_end);
                    let flow = ls.arrival_flow_veh_s * share;
                    spread(arr, seen_from, entry_s, flow * (entry_s - seen_from));
                    let r = net.road(road);
                    let total: f64 = r.lanes.iter().map(|x| st.lane(*x).arrival_flow_veh_s).sum();
                    let lane_share = if total > 1e-9 {
                        ls.arrival_flow_veh_s / total
                    } else {
                        1.0 / r.lanes.len().max(1) as f64
                    };
                    // only vehicles still to leave upstream: the others are on the lane
                    let planned = &self.planned[road.index()];
                    for (_, a) in planned.iter().filter(|(dep, _)| *dep > now_s) {
                        arr.push(Arrival {
                            time_s: a.time_s,
                            veh: a.veh * lane_share * share,
                        });
                    }
                } else {
                    let flow = ls.arrival_flow_veh_s * share;
                    spread(
                        arr,
                        seen_from,
                        horizon_end,
                        flow * (horizon_end - seen_from),
                    );
                }
            }
            // spillback: nothing into a full road, and no more than fits into the rest
            let cl = &mut j.clusters[mi];
            if fill >= sh.full_road_share {
                cl.clear();
                continue;
            }
            form_clusters(
                now_s,
                queue,
                arr,
                sat.max(0.05),
                p.merge_gap_s,
                horizon_end,
                cl,
            );
            let r = net.road(mv.to_road);
            let cap: f64 = r
                .lanes
                .iter()
                .map(|l| net.lane(*l).length_m / sh.jam_spacing_m)
                .sum::<f64>()
                * (sh.full_road_share - fill);
            let mut room = cap.max(0.0);
            for c in cl.iter_mut() {
                if c.veh > room {
                    c.duration_s *= room / c.veh;
                    c.veh = room;
                }
                room -= c.veh;
            }
            cl.retain(|c| c.veh > 1e-6);
        }
    }

    /// Decide for junction `ji`; returns the stage to request, if it changes.
    fn decide_junction(
        &mut self,
        net: &RoadNet,
        st: &TrafficState,
        ji: usize,
        now_s: f64,
        sig: &SignalState,
    ) -> Option<StageId> {
        let p = self.params;
        let sh = self.shared;
        let j = &self.junctions[ji];
        let cur = j.stages.iter().position(|s| *s == sig.stage);
        let Some(cur) = cur else {
            // a stage we do not run (a clearance stage) is showing: serve the most delayed
            return self.best_start(ji);
        };
        if sig.green_elapsed_s + 1e-9 < j.specs[cur].min_green_s {
            return None;
        }
        // starvation guard
        let starving = (0..j.specs.len())
            .filter(|k| *k != cur)
            .filter_map(|k| {
                j.specs[k]
                    .movements
                    .iter()
                    .filter(|&&m| {
                        !j.clusters[m].is_empty()
                            && j.moves[m].lanes.iter().any(|(l, _)| {
                                let ls = st.lane(*l);
                                ls.halting > 0 || (!ls.camera && ls.queue_veh >= 0.5)
                            })
                    })
                    .map(|&m| now_s - j.last_green_s[m])
                    .filter(|red| *red > sh.max_red_s)
                    .max_by(|a, b| a.total_cmp(b))
                    .map(|red| (k, red))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((k, _)) = starving {
            return Some(j.stages[k]);
        }
        let problem = Problem {
            now_s,
            horizon_end_s: now_s + p.horizon_s,
            stages: &j.specs,
            clusters: &j.clusters,
            current: cur,
            green_elapsed_s: sig.green_elapsed_s,
            startup_lost_s: p.startup_lost_s,
            beam_width: p.beam_width,
            max_segments: p.max_segments,
            rank_share: p.rank_share,
        };
        // the starvation guard must get its say when the first movement with demand on red
        // passes `max_red_s`, schedule or not
        let guard_s = (0..j.moves.len())
            .filter(|m| !j.specs[cur].movements.contains(m) && !j.clusters[*m].is_empty())
            .map(|m| j.last_green_s[m] + sh.max_red_s)
            .fold(f64::INFINITY, f64::min);
        let Some(d) = problem.solve_in(&mut self.workspace) else {
            // nothing to serve: hold until something arrives (or the guard is due)
            self.junctions[ji].hold_until_s = guard_s;
            return None;
        };
        if p.upstream_plans {
            problem.departures(&d.segments, &mut self.departures);
            self.publish(net, ji);
        }
        if d.stage == cur {
            self.junctions[ji].hold_until_s = d.green_end_s.min(guard_s);
        }
        (d.stage != cur).then(|| self.junctions[ji].stages[d.stage])
    }

    /// The stage with the most vehicles waiting (after a clearance stage).
    fn best_start(&self, ji: usize) -> Option<StageId> {
        let j = &self.junctions[ji];
        (0..j.specs.len())
            .map(|k| {
                let v: f64 = j.specs[k]
                    .movements
                    .iter()
                    .flat_map(|m| j.clusters[*m].first())
                    .map(|c| c.veh)
                    .sum();
                (k, v)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(k, _)| j.stages[k])
    }

    /// Turn the departures of the last schedule into arrivals at the downstream stop lines.
    fn publish(&mut self, net: &RoadNet, ji: usize) {
        let j = &self.junctions[ji];
        for mv in &j.moves {
            self.planned[mv.to_road.index()].clear();
        }
        for r in &j.out_roads {
            self.plan_version[r.index()] += 1;
        }
        for d in &self.departures {
            let road = j.moves[d.movement].to_road;
            let r = net.road(road);
            let Some(l) = r.lanes.first() else {
                continue;
            };
            let lane = net.lane(*l);
            let travel_s = lane.length_m / lane.speed_limit_m_s.max(1.0);
            let n = d.veh.ceil().max(1.0);
            let step = (d.end_s - d.start_s) / n;
            let out = &mut self.planned[road.index()];
            for k in 0..n as usize {
                let leave = d.start_s + (k as f64 + 0.5) * step;
                out.push((
                    leave,
                    Arrival {
                        time_s: leave + travel_s,
                        veh: d.veh / n,
                    },
                ));
            }
        }
    }
}

/// `veh` vehicles arriving evenly over [`from_s`, `to_s`], one arrival a second.
fn spread(out: &mut Vec<Arrival>, from_s: f64, to_s: f64, veh: f64) {
    if veh <= 0.0 || to_s <= from_s {
        return;
    }
    let n = (to_s - from_s).ceil().max(1.0);
    let step = (to_s - from_s) / n;
    for k in 0..n as usize {
        out.push(Arrival {
            time_s: from_s + (k as f64 + 0.5) * step,
            veh: veh / n,
        });
    }
}
