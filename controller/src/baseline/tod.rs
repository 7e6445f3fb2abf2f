//! The baselines traffic engineers actually run: `tod`, a time-of-day plan set, and `actuated`,
//! the same plans run coordinated-actuated.
//!
//! - **Periods** come from the day's count profile ([`FlowProfile`], 15-minute bins of the
//!   movement flows): the day is cut into at most [`TodParams::max_periods`] periods of at
//!   least [`TodParams::min_period_s`] each by an optimal piecewise-constant segmentation of the
//!   total flow ([`detect_periods`], a dynamic program over the cut points minimising the
//!   squared error), which on a commuter day finds night, AM peak, midday, PM peak and evening.
//! - **Per period a plan set**: the period's design flows are its peak 15 minutes (the bin with
//!   the highest total flow, HCM practice), and the one coordinated plan builder
//!   ([`crate::planned::plans_for_state`]) turns them into Webster cycles and splits with
//!   MAXBAND offsets along every corridor (per-intersection Webster plans, offset 0, elsewhere).
//!   Every plan is validated when the set is built.
//! - **Switching**: at a period boundary each intersection moves to the new period's plan by the
//!   bounded steps of [`crate::optimize::transition`], one step per cycle at its cycle
//!   boundary, as field controllers do (SUMO's WAUT switching is the model).
//! - **`actuated`** runs the same (transitioning) plans with the one in-cycle actuation layer,
//!   [`crate::optimize::actuation::Coordinated`], fed by loop detectors only (no cameras): the
//!   coordinated stage (the plan's first, the arterial through stage) holds to its force-off,
//!   the others gap out when no vehicle crossed their loops for [`TodParams::passage_s`] (the
//!   NEMA passage time) or max out at their force-off, a stage without a call is skipped, and
//!   the unused time returns to the coordinated stage. Calls are locked (NEMA "locking memory"):
//!   an actuation on a red stage's loops calls it until it is served. The loops must report
//!   every second or so ([`ACTUATED_DETECTOR_INTERVAL_S`]): a field controller sees loop
//!   presence directly, a 60-second aggregate cannot time a 3-second gap.

use super::BaselineError;
use crate::estimate::TrafficState;
use crate::optimize::actuation::{Calls, Coordinated};
use crate::optimize::transition::{self, TransitionLimits};
use crate::planned::plans_for_state;
use roadnet::{
    Command, Controller, Demand, Interval, PlanError, RoadNet, SignalPlan, SignalState, StageId,
    StepInput,
};
use std::ops::Range;

/// Loop detector interval the `actuated` strategy needs from the simulator, seconds: loop
/// presence as a field controller sees it (it times 3-second gaps).
pub const ACTUATED_DETECTOR_INTERVAL_S: f64 = 1.0;

/// Defaults of the time-of-day plan set and its actuated operation (the same on every network).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TodParams {
    /// Width of a count bin, and the design-flow window (the peak 15 minutes), seconds.
    pub bin_s: f64,
    /// At most this many periods a day.
    pub max_periods: usize,
    /// No period shorter than this, seconds.
    pub min_period_s: f64,
    /// Fewest periods whose squared error is at most this share of a single period's.
    pub segmentation_tolerance: f64,
    /// Saturation flow per lane the plans are designed for, veh/s (1,800 veh/h).
    pub saturation_per_lane_veh_s: f64,
    /// Bounded steps between plans at period boundaries.
    pub transition: TransitionLimits,
    /// `actuated`: a non-coordinated green gaps out after this long without a loop actuation
    /// on its lanes (NEMA passage time), seconds.
    pub passage_s: f64,
}

impl Default for TodParams {
    fn default() -> Self {
        TodParams {
            bin_s: 900.0,
            max_periods: 5,
            min_period_s: 3600.0,
            segmentation_tolerance: 0.05,
            saturation_per_lane_veh_s: 0.5,
            transition: TransitionLimits::default(),
            passage_s: 3.0,
        }
    }
}

/// Movement flows per time bin, veh/s: what the day's counts say each movement carries.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowProfile {
    pub bin_s: f64,
    /// `flows_veh_s[bin][movement]`, bins from t = 0.
    pub flows_veh_s: Vec<Vec<f64>>,
}

impl FlowProfile {
    /// The profile of a replay's trips: each trip counts on every movement of its route, in the
    /// bin of the time it reaches that intersection at the roads' speed limits (or its own top
    /// speed, if lower) — the counts a loop at each stop line would have made.
    pub fn from_demand(net: &RoadNet, demand: &Demand, bin_s: f64) -> FlowProfile {
        let bin_s = bin_s.max(60.0);
        let mut flows: Vec<Vec<f64>> = Vec::new();
        for trip in &demand.trips {
            let mut t_s = trip.departure_s;
            let top_m_s = trip.params.max_speed_m_s.max(0.1);
            for pair in trip.route.windows(2) {
                let road = net.road(pair[0]);
                let limit_m_s = road
                    .lanes
                    .first()
                    .map_or(top_m_s, |l| net.lane(*l).speed_limit_m_s);
                t_s += net.road_length_m(pair[0]) / limit_m_s.min(top_m_s).max(0.1);
                let Some(m) = net.movement_between(pair[0], pair[1]) else {
                    continue;
                };
                if !t_s.is_finite() || t_s < 0.0 {
                    continue;
                }
                let bin = (t_s / bin_s) as usize;
                if bin >= flows.len() {
                    flows.resize_with(bin + 1, || vec![0.0; net.movements.len()]);
                }
                flows[bin][m.index()] += 1.0 / bin_s;
            }
        }
        FlowProfile {
            bin_s,
            flows_veh_s: flows,
        }
    }

    /// Total flow over all movements per bin, veh/s.
    pub fn totals_veh_s(&self) -> Vec<f64> {
        self.flows_veh_s.iter().map(|b| b.iter().sum()).collect()
    }
}

/// Cut `totals` into consecutive periods (bin ranges covering all of it) of at least
/// `min_bins` bins each: for k = 1, 2, … up to `max_periods` the k periods with the least
/// squared error around their means (exact, by dynamic programming over the cut points), and
/// the smallest k whose error is at most `tolerance` × the one-period error is chosen.
pub fn detect_periods(
    totals: &[f64],
    max_periods: usize,
    min_bins: usize,
    tolerance: f64,
) -> Vec<Range<usize>> {
    let n = totals.len();
    let min_bins = min_bins.max(1);
    if n == 0 {
        return Vec::new();
    }
    let max_k = max_periods.max(1).min((n / min_bins).max(1));
    // prefix sums for O(1) segment errors
    let mut s1 = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for (i, v) in totals.iter().enumerate() {
        s1[i + 1] = s1[i] + v;
        s2[i + 1] = s2[i] + v * v;
    }
    let sse = |a: usize, b: usize| -> f64 {
        let len = (b - a) as f64;
        let sum = s1[b] - s1[a];
        (s2[b] - s2[a] - sum * sum / len).max(0.0)
    };
    // best[k][j]: least error of k periods covering bins 0..j; cut[k][j]: where the last starts
    let inf = f64::INFINITY;
    let mut best = vec![vec![inf; n + 1]; max_k + 1];
    let mut cut = vec![vec![0usize; n + 1]; max_k + 1];
    best[0][0] = 0.0;
    for k in 1..=max_k {
        for j in (k * min_bins)..=n {
            for i in ((k - 1) * min_bins)..=(j - min_bins) {
                let c = best[k - 1][i] + sse(i, j);
                if c < best[k][j] - 1e-12 {
                    best[k][j] = c;
                    cut[k][j] = i;
                }
            }
        }
    }
    let one = best[1][n];
    let k = (1..=max_k)
        .find(|k| best[*k][n] <= tolerance * one + 1e-12)
        .unwrap_or(max_k);
    let mut ranges = Vec::with_capacity(k);
    let mut end = n;
    for kk in (1..=k).rev() {
        let start = cut[kk][end];
        ranges.push(start..end);
        end = start;
    }
    ranges.reverse();
    ranges
}

/// Plans in whole deciseconds (the field's unit, so the set can be loaded into field
/// controllers), each validated; one that breaks a rule is an error naming it.
fn field_ready(net: &RoadNet, plans: Vec<SignalPlan>) -> Result<Vec<SignalPlan>, PlanError> {
    plans
        .into_iter()
        .map(|p| {
            p.validate(net)?;
            Ok(crate::standby::in_deciseconds(net, &p).unwrap_or(p))
        })
        .collect()
}

/// One period of the plan set.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    pub start_s: f64,
    pub end_s: f64,
    /// Start of the period's peak 15 minutes (its design flows), seconds.
    pub design_from_s: f64,
    /// One validated plan per signalized intersection, by intersection.
    pub plans: Vec<SignalPlan>,
}

/// The time-of-day plan set of a profile: periods, and per period the plans for its peak
/// 15 minutes. Every plan is validated; one that fails is an error naming the rule.
pub fn plan_set(
    net: &RoadNet,
    profile: &FlowProfile,
    p: &TodParams,
) -> Result<Vec<Period>, PlanError> {
    let totals = profile.totals_veh_s();
    let min_bins = (p.min_period_s / profile.bin_s).round().max(1.0) as usize;
    let ranges = detect_periods(&totals, p.max_periods, min_bins, p.segmentation_tolerance);
    let mut periods = Vec::with_capacity(ranges.len().max(1));
    for r in &ranges {
        let peak = r
            .clone()
            .max_by(|a, b| totals[*a].total_cmp(&totals[*b]).then(b.cmp(a)))
            .unwrap_or(r.start);
        let state = TrafficState::from_movement_flows(
            net,
            &profile.flows_veh_s[peak],
            p.saturation_per_lane_veh_s,
        );
        let plans = field_ready(net, plans_for_state(net, &state))?;
        periods.push(Period {
            start_s: r.start as f64 * profile.bin_s,
            end_s: r.end as f64 * profile.bin_s,
            design_from_s: peak as f64 * profile.bin_s,
            plans,
        });
    }
    if periods.is_empty() {
        // no demand at all: one all-day period for zero flows (the shortest Webster plans)
        let state = TrafficState::from_movement_flows(
            net,
            &vec![0.0; net.movements.len()],
            p.saturation_per_lane_veh_s,
        );
        let plans = field_ready(net, plans_for_state(net, &state))?;
        periods.push(Period {
            start_s: 0.0,
            end_s: f64::INFINITY,
            design_from_s: 0.0,
            plans,
        });
    }
    // the last period runs on past the end of the profile
    if let Some(last) = periods.last_mut() {
        last.end_s = f64::INFINITY;
    }
    Ok(periods)
}

/// Loop detector state of `actuated`, by stage (indexed by [`StageId::index`]).
#[derive(Clone, Debug)]
struct Loops {
    /// Per detector (by [`roadnet::DetectorId::index`]): the stages its lane's movements use
    /// (movements green in every stage of their intersection call none).
    stages_of_detector: Vec<Vec<StageId>>,
    /// Last time a loop of the stage saw a vehicle, seconds.
    last_actuation_s: Vec<f64>,
    /// Locked call: an actuation while the stage was not green, not yet served.
    call: Vec<bool>,
}

impl Loops {
    fn new(net: &RoadNet) -> Loops {
        let stages_of_detector = net
            .detectors
            .iter()
            .map(|d| {
                let lane = net.lane(d.lane);
                let at = net.intersection(net.road(lane.road).to);
                let stages: Vec<StageId> = at
                    .stages
                    .iter()
                    .copied()
                    .filter(|s| !net.stage(*s).clearance)
                    .collect();
                let mut out: Vec<StageId> = Vec::new();
                for m in &lane.feeds {
                    let serving: Vec<StageId> = stages
                        .iter()
                        .copied()
                        .filter(|s| net.stage_movements(*s).contains(m))
                        .collect();
                    if serving.len() == stages.len() && stages.len() > 1 {
                        continue; // always green: needs no time of its own
                    }
                    out.extend(serving);
                }
                out.sort();
                out.dedup();
                out
            })
            .collect();
        Loops {
            stages_of_detector,
            last_actuation_s: vec![f64::NEG_INFINITY; net.stages.len()],
            call: vec![false; net.stages.len()],
        }
    }

    fn update(&mut self, input: &StepInput<'_>) {
        for r in input.detectors {
            if r.count == 0 && r.occupancy <= 0.0 {
                continue;
            }
            let Some(stages) = self.stages_of_detector.get(r.detector.index()) else {
                continue;
            };
            for s in stages {
                self.last_actuation_s[s.index()] = input.time_s;
                self.call[s.index()] = true;
            }
        }
        // a green stage's call is being served
        for sig in input.signals {
            if sig.interval == Interval::Green {
                if let Some(c) = self.call.get_mut(sig.stage.index()) {
                    *c = false;
                }
            }
        }
    }
}

/// Per intersection: the plan running and the one the period wants.
#[derive(Clone, Debug)]
struct Running {
    plan: SignalPlan,
    /// The next cycle boundary of `plan`, when the next transition step may be taken.
    next_boundary_s: f64,
    exec: Option<Coordinated>,
}

/// `tod` (plans sent as [`Command::ApplyPlan`]) or `actuated` (the same plans executed
/// coordinated-actuated with [`Command::SwitchTo`] requests).
#[derive(Clone, Debug)]
pub struct TimeOfDay {
    name: String,
    net: RoadNet,
    params: TodParams,
    periods: Vec<Period>,
    /// By position among the signalized intersections (the order of `StepInput::signals`).
    running: Vec<Option<Running>>,
    loops: Option<Loops>,
}

/// The next time at or after `t_s` when `plan`'s cycle starts.
fn next_cycle_start_s(plan: &SignalPlan, t_s: f64) -> f64 {
    let into = (t_s - plan.offset_s).rem_euclid(plan.cycle_s);
    if into < 1e-9 {
        t_s
    } else {
        t_s + plan.cycle_s - into
    }
}

impl TimeOfDay {
    /// The plan set of `demand`'s profile; `actuated` chooses the operation.
    pub fn new(
        net: &RoadNet,
        demand: &Demand,
        params: TodParams,
        actuated: bool,
    ) -> Result<TimeOfDay, PlanError> {
        let profile = FlowProfile::from_demand(net, demand, params.bin_s);
        let periods = plan_set(net, &profile, &params)?;
        Ok(Self::from_periods(net, periods, params, actuated))
    }

    /// Run a given plan set (periods in time order, each with validated plans).
    pub fn from_periods(
        net: &RoadNet,
        periods: Vec<Period>,
        params: TodParams,
        actuated: bool,
    ) -> TimeOfDay {
        TimeOfDay {
            name: if actuated { "actuated" } else { "tod" }.into(),
            net: net.clone(),
            params,
            periods,
            running: vec![None; net.signalized().count()],
            loops: actuated.then(|| Loops::new(net)),
        }
    }

    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// The period in force at `t_s` (the day's profile from t = 0).
    fn period_at(&self, t_s: f64) -> &Period {
        self.periods
            .iter()
            .find(|p| t_s < p.end_s)
            .unwrap_or_else(|| self.periods.last().expect("a plan set has a period"))
    }

    /// Move intersection `k`'s running plan towards its period's; true when it changed.
    fn advance_plan(&mut self, k: usize, sig: &SignalState, t_s: f64) -> bool {
        let Some(target) = self
            .period_at(t_s)
            .plans
            .iter()
            .find(|p| p.intersection == sig.intersection)
            .cloned()
        else {
            return false;
        };
        match &mut self.running[k] {
            None => {
                self.running[k] = Some(Running {
                    next_boundary_s: next_cycle_start_s(&target, t_s + 1e-6),
                    plan: target,
                    exec: None,
                });
                true
            }
            Some(run) if run.plan != target && t_s + 1e-9 >= run.next_boundary_s => {
                let same_stages = run
                    .plan
                    .stages
                    .iter()
                    .map(|s| s.stage)
                    .eq(target.stages.iter().map(|s| s.stage));
                let next = if same_stages {
                    transition::step_towards(&self.net, &run.plan, &target, &self.params.transition)
                } else {
                    target
                };
                run.next_boundary_s = t_s + next.cycle_s;
                run.plan = next;
                run.exec = None;
                true
            }
            Some(run) => {
                if t_s + 1e-9 >= run.next_boundary_s {
                    run.next_boundary_s = next_cycle_start_s(&run.plan, t_s + 1e-6);
                }
                false
            }
        }
    }

    /// `actuated`: the stage to request at intersection `k`, if any.
    fn actuated_step(&mut self, k: usize, sig: &SignalState, t_s: f64) -> Option<StageId> {
        let loops = self.loops.as_ref()?;
        let run = self.running[k].as_mut()?;
        if sig.interval != Interval::Green {
            return None;
        }
        let plan = &run.plan;
        let passage_s = self.params.passage_s;
        let active = |s: StageId| t_s - loops.last_actuation_s[s.index()] < passage_s - 1e-9;
        let calls = Calls {
            waiting: plan
                .stages
                .iter()
                .map(|s| loops.call[s.stage.index()] || (s.stage == sig.stage && active(s.stage)))
                .collect(),
            current_active: active(sig.stage),
        };
        let net = &self.net;
        let n = plan.stages.len();
        match (
            plan.stages.iter().position(|s| s.stage == sig.stage),
            &mut run.exec,
        ) {
            (Some(pos), Some(ex)) if ex.current == pos => {
                ex.decide(net, plan, t_s, sig.green_elapsed_s, &calls)
            }
            (Some(pos), _) => {
                let mut ex = Coordinated::start(net, plan, pos, t_s);
                let r = ex.decide(net, plan, t_s, sig.green_elapsed_s, &calls);
                run.exec = Some(ex);
                r
            }
            (None, _) => {
                // showing a stage the plan does not run: go to the plan's stage due now
                let (due, _) = plan.position_at(t_s);
                let due = due.min(n - 1);
                run.exec = Some(Coordinated::start(net, plan, due, t_s));
                Some(plan.stages[due].stage)
            }
        }
    }
}

impl Controller for TimeOfDay {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        if let Some(loops) = self.loops.as_mut() {
            loops.update(input);
        }
        for (k, sig) in input.signals.iter().enumerate() {
            if k >= self.running.len() {
                break;
            }
            let changed = self.advance_plan(k, sig, input.time_s);
            if self.loops.is_none() {
                if changed {
                    if let Some(run) = &self.running[k] {
                        out.push(Command::ApplyPlan(run.plan.clone()));
                    }
                }
                continue;
            }
            if let Some(stage) = self.actuated_step(k, sig, input.time_s) {
                if stage != sig.stage || sig.interval != Interval::Green {
                    out.push(Command::SwitchTo {
                        intersection: sig.intersection,
                        stage,
                    });
                }
            }
        }
    }
}

/// `tod` or `actuated` for a replay's demand.
pub(crate) fn make(
    name: &str,
    net: &RoadNet,
    demand: Option<&Demand>,
    actuated: bool,
) -> Result<TimeOfDay, BaselineError> {
    let unsupported = |message: String| BaselineError::Unsupported {
        controller: name.into(),
        message,
    };
    let demand = demand.ok_or_else(|| {
        unsupported(
            "its periods come from the day's demand; give it a replay (compare, sim)".into(),
        )
    })?;
    TimeOfDay::new(net, demand, TodParams::default(), actuated)
        .map_err(|e| unsupported(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roadnet::{DetectorId, DetectorKind, DetectorReading, StageSplit};
    use std::path::Path;

    /// A commuter day in 15-minute bins: night 0–6 h at 0.1 veh/s, AM peak 6–9 h at 1.0,
    /// midday 9–16 h at 0.5, PM peak 16–19 h at 1.2, evening 19–24 h at 0.2. Five periods
    /// fit it exactly (error 0); by hand the best four cost at least 2.1 (merging the AM peak
    /// into midday: 12·28/40·0.5² = 2.1) against 0.05 × 14.5 (one period's error: mean 0.4875,
    /// Σ n·(v − mean)² = 3.60 + 3.15 + 0.00 + 6.09 + 1.65) = 0.73, so five are chosen, cut
    /// exactly at 6, 9, 16 and 19 h.
    #[test]
    fn periods_of_a_two_peak_day() {
        let mut totals = Vec::new();
        for (bins, v) in [(24, 0.1), (12, 1.0), (28, 0.5), (12, 1.2), (20, 0.2)] {
            totals.extend(std::iter::repeat_n(v, bins));
        }
        let p = detect_periods(&totals, 5, 4, 0.05);
        assert_eq!(p, vec![0..24, 24..36, 36..64, 64..76, 76..96]);
        // allowed only three, the two peaks still stand out: night+AM would cost more
        let p3 = detect_periods(&totals, 3, 4, 0.05);
        assert_eq!(p3.len(), 3);
        assert_eq!(p3.first().map(|r| r.start), Some(0));
        assert_eq!(p3.last().map(|r| r.end), Some(96));
        // a flat day is one period; a 30-minute spike is shorter than the 1 h minimum period
        assert_eq!(detect_periods(&[0.4; 96], 5, 4, 0.05), vec![0..96]);
        let mut spiky = vec![0.4; 96];
        spiky[50] = 3.0;
        spiky[51] = 3.0;
        for r in detect_periods(&spiky, 5, 4, 0.05) {
            assert!(r.len() >= 4, "{r:?}");
        }
        assert!(detect_periods(&[], 5, 4, 0.05).is_empty());
    }

    fn small() -> RoadNet {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/small.toml");
        roadnet::load_network(&path).expect("fixture loads")
    }

    /// Intersection `a` of the fixture with a stop-bar loop on the side street (`a_nb`, stage
    /// `ns`) and one on the arterial (`a_eb`, stage `ew`), running one plan: `ew` split 30 s
    /// (green 24 s + 6 s change), `ns` split 26 s (green 20 s + 6 s), cycle 56 s, offset 0.
    struct Rig {
        net: RoadNet,
        /// Index of the side-street loop; the arterial's is the next.
        first: usize,
        ew: StageId,
        ns: StageId,
        ctl: TimeOfDay,
    }

    fn rig() -> Rig {
        let mut net = small();
        let a = net.intersection_by_name("a").unwrap();
        let (ew, ns) = (net.intersection(a).stages[0], net.intersection(a).stages[1]);
        // the fixture's own loops come first; ours are the last two
        let first = net.detectors.len();
        for (k, road) in ["a_nb", "a_eb"].into_iter().enumerate() {
            let r = net.road_by_name(road).unwrap();
            let lane = net.road(r).lanes[0];
            net.detectors.push(roadnet::Detector {
                id: DetectorId::from_index(first + k),
                name: format!("{road}_sb"),
                lane,
                kind: DetectorKind::StopBar,
                setback_m: 0.0,
                length_m: 6.0,
            });
        }
        let plan = SignalPlan {
            intersection: a,
            cycle_s: 56.0,
            offset_s: 0.0,
            stages: vec![
                StageSplit {
                    stage: ew,
                    split_s: 30.0,
                },
                StageSplit {
                    stage: ns,
                    split_s: 26.0,
                },
            ],
        };
        plan.validate(&net).unwrap();
        let periods = vec![Period {
            start_s: 0.0,
            end_s: f64::INFINITY,
            design_from_s: 0.0,
            plans: vec![plan],
        }];
        let ctl = TimeOfDay::from_periods(&net, periods, TodParams::default(), true);
        Rig {
            net,
            ew,
            ns,
            ctl,
            first,
        }
    }

    /// Step the controller once a second over `from..to`, the signals scripted by `show(t)`
    /// (stage, interval, green elapsed) and loop `k` actuated when `on(t, k)`; the requests
    /// it makes, with their times.
    fn drive(
        rig: &mut Rig,
        from: u32,
        to: u32,
        show: impl Fn(f64) -> (StageId, Interval, f64),
        on: impl Fn(f64, usize) -> bool,
    ) -> Vec<(f64, StageId)> {
        let a = rig.net.intersection_by_name("a").unwrap();
        let mut requests = Vec::new();
        for t in from..to {
            let t = f64::from(t);
            let (stage, interval, green_elapsed_s) = show(t);
            let signals = [SignalState {
                intersection: a,
                stage,
                interval,
                time_in_interval_s: 0.0,
                green_elapsed_s,
                next_stage: None,
                indications: Vec::new(),
            }];
            let detectors: Vec<DetectorReading> = (0..2)
                .filter(|k| on(t, *k))
                .map(|k| DetectorReading {
                    detector: DetectorId::from_index(rig.first + k),
                    time_s: t,
                    interval_s: 1.0,
                    count: 1,
                    occupancy: 0.5,
                    mean_speed_m_s: Some(5.0),
                })
                .collect();
            let input = StepInput {
                time_s: t,
                dt_s: 1.0,
                detectors: &detectors,
                cameras: &[],
                signals: &signals,
            };
            let mut out = Vec::new();
            rig.ctl.step(&input, &mut out);
            for c in out {
                match c {
                    Command::SwitchTo { stage, .. } => requests.push((t, stage)),
                    other => panic!("actuated sends only stage requests, got {other:?}"),
                }
            }
        }
        requests
    }

    /// The signals as the simulator would show them after the requests (a request made at
    /// step t takes effect at t + 1): `ew` green through `to_ns`, its 6 s change, `ns` green
    /// from `to_ns` + 7 through `back`, its change, then `ew` again.
    fn timeline(rig: &Rig, to_ns: f64, back: f64) -> impl Fn(f64) -> (StageId, Interval, f64) {
        let (ew, ns) = (rig.ew, rig.ns);
        move |t| {
            if t <= to_ns {
                (ew, Interval::Green, t)
            } else if t <= to_ns + 6.0 {
                (ew, Interval::Yellow, to_ns)
            } else if t <= back {
                (ns, Interval::Green, t - to_ns - 7.0)
            } else if t <= back + 6.0 {
                (ns, Interval::Yellow, back - to_ns - 7.0)
            } else {
                (ew, Interval::Green, t - back - 7.0)
            }
        }
    }

    /// Force-off, then gap-out. A side-street car at t = 5 calls `ns`; the arterial holds its
    /// green to its force-off at 24 s (green end 0 + 24) although nothing crosses its loop.
    /// `ns` is green from 31 s; its loop sees cars until 40 s, an arterial car at 32 s calls
    /// `ew`; with 3 s passage time the green is still active at 42 s (42 − 40 < 3) and gaps
    /// out at 43 s — 12 s into its green, past its 7 s min green, before its force-off at 50 s
    /// (the request at 24 s + 6 s change = 30 s into the cycle, + 20 s green).
    #[test]
    fn actuated_forces_off_the_arterial_then_gaps_out_the_side_street() {
        let mut r = rig();
        let (ew, ns) = (r.ew, r.ns);
        let show = timeline(&r, 24.0, 43.0);
        let req = drive(&mut r, 0, 46, show, |t, k| {
            (k == 0 && (t == 5.0 || (31.0..=40.0).contains(&t))) || (k == 1 && t == 32.0)
        });
        assert_eq!(req, vec![(24.0, ns), (43.0, ew)]);
    }

    /// Max-out: the side street's loop is busy the whole green, so `ns` runs to its force-off
    /// at 50 s (30 s into the cycle + 20 s green) and no longer.
    #[test]
    fn actuated_maxes_out_at_the_force_off() {
        let mut r = rig();
        let (ew, ns) = (r.ew, r.ns);
        let show = timeline(&r, 24.0, 50.0);
        let req = drive(&mut r, 0, 53, show, |t, k| {
            (k == 0 && (t == 5.0 || t >= 30.0)) || (k == 1 && t == 40.0)
        });
        assert_eq!(req, vec![(24.0, ns), (50.0, ew)]);
    }

    /// Skip: with no side-street call the arterial keeps the green through its force-offs at
    /// 24 s (no request: `ns` is skipped and its time returns to `ew`); a call at 60 s is
    /// served at the next cycle's force-off, 56 + 24 = 80 s.
    #[test]
    fn actuated_skips_an_uncalled_stage_and_serves_a_late_call_at_the_next_force_off() {
        let mut r = rig();
        let (ew, ns) = (r.ew, r.ns);
        // (the script keeps `ew` green after the request: stop at the request)
        let req = drive(
            &mut r,
            0,
            81,
            |t| (ew, Interval::Green, t),
            |t, k| (k == 1 && t < 10.0) || (k == 0 && t == 60.0),
        );
        assert_eq!(req, vec![(80.0, ns)]);
    }

    /// `tod` sends each period's plans once at the start and, at a period boundary, walks to
    /// the next period's plans by bounded steps (cycle ≤ 10 s, offset ≤ 15 s per step), each
    /// sent plan valid, the last one the period's own.
    #[test]
    fn tod_switches_periods_by_bounded_valid_steps() {
        let net = small();
        let mk = |flow: f64| {
            let state =
                TrafficState::from_movement_flows(&net, &vec![flow; net.movements.len()], 0.5);
            plans_for_state(&net, &state)
        };
        let (light, heavy) = (mk(0.01), mk(0.12));
        assert!(
            heavy[0].cycle_s >= light[0].cycle_s + 20.0,
            "{heavy:?} vs {light:?}"
        );
        let periods = vec![
            Period {
                start_s: 0.0,
                end_s: 600.0,
                design_from_s: 0.0,
                plans: light.clone(),
            },
            Period {
                start_s: 600.0,
                end_s: f64::INFINITY,
                design_from_s: 600.0,
                plans: heavy.clone(),
            },
        ];
        let mut ctl = TimeOfDay::from_periods(&net, periods, TodParams::default(), false);
        let signals: Vec<SignalState> = net
            .signalized()
            .map(|i| SignalState {
                intersection: i.id,
                stage: i.stages[0],
                interval: Interval::Green,
                time_in_interval_s: 0.0,
                green_elapsed_s: 0.0,
                next_stage: None,
                indications: Vec::new(),
            })
            .collect();
        let mut sent: Vec<(f64, SignalPlan)> = Vec::new();
        for t in 0..3000 {
            let input = StepInput {
                time_s: f64::from(t),
                dt_s: 1.0,
                detectors: &[],
                cameras: &[],
                signals: &signals,
            };
            let mut out = Vec::new();
            ctl.step(&input, &mut out);
            for c in out {
                let Command::ApplyPlan(p) = c else {
                    panic!("tod sends plans only")
                };
                p.validate(&net).unwrap();
                sent.push((f64::from(t), p));
            }
        }
        let a = light[0].intersection;
        let of_a: Vec<&(f64, SignalPlan)> =
            sent.iter().filter(|(_, p)| p.intersection == a).collect();
        assert_eq!(of_a[0], &(0.0, light[0].clone()));
        assert!(of_a[1].0 >= 600.0, "no change before the period ends");
        for w in of_a.windows(2) {
            assert!((w[1].1.cycle_s - w[0].1.cycle_s).abs() <= 10.0 + 1e-9);
        }
        assert_eq!(of_a.last().unwrap().1, heavy[0]);
        assert!(of_a.len() >= 3, "the cycle grew by at least two steps");
    }
}
