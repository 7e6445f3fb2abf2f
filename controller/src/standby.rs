//! Plans that reach the field: the coordinated plan for the present demand, kept current as
//! each field controller's standby (fallback) plan, and `adaptive-plans`, the plan-only mode
//! for field controllers that take no stage requests.
//!
//! - [`Standby`] — a component any adaptive controller composes: at most once per cycle (and
//!   every [`StandbyParams::check_interval_s`]) it
//!   builds the coordinated plans for the estimator's state with the one plan builder
//!   ([`crate::planned::plans_for_state`]: Webster cycle and splits, MAXBAND offsets along
//!   the corridors — the builder the `tod` plan set uses) and emits a
//!   [`Command::StandbyPlan`] for every intersection whose plan changed materially since the
//!   last one sent (cycle by [`StandbyParams::min_cycle_change_s`] or more, or a split by
//!   [`StandbyParams::min_split_change`] of itself or more). A field controller that loses the
//!   central then falls back to today's plan, not to the configured one.
//! - [`AdaptivePlans`] — `adaptive-plans` (SCATS-style): the same plans for the present
//!   demand, rebuilt every cycle, sent as [`Command::ApplyPlan`] when they changed materially
//!   and reached by the bounded steps of [`crate::optimize::transition`]; no stage requests.

use crate::estimate::{Estimator, EstimatorParams, TrafficState};
use crate::optimize::transition::{self, TransitionLimits};
use crate::planned::plans_for_state;
use roadnet::{Command, Controller, RoadNet, SignalPlan, StepInput};

/// When a standby plan is worth sending again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StandbyParams {
    /// A cycle change at least this large is material, seconds.
    pub min_cycle_change_s: f64,
    /// A split change of at least this share of the split is material.
    pub min_split_change: f64,
    /// No plan before the estimator has watched this long (it starts from nothing), seconds.
    pub warmup_s: f64,
    /// The demand is looked at again after this long (and never more than once a cycle): the
    /// plan builder solves a band program per candidate cycle, and a fallback plan need not
    /// follow the demand faster than a third of the 15-minute design window, seconds.
    pub check_interval_s: f64,
}

impl Default for StandbyParams {
    fn default() -> Self {
        StandbyParams {
            min_cycle_change_s: 5.0,
            min_split_change: 0.10,
            warmup_s: 300.0,
            check_interval_s: 300.0,
        }
    }
}

/// Whether `new` differs materially from `old`: another stage sequence, the cycle by
/// `min_cycle_change_s` or more, or any split by `min_split_change` of the old split or more.
/// Offsets alone do not count (they follow the cycle).
pub fn materially_different(old: &SignalPlan, new: &SignalPlan, p: &StandbyParams) -> bool {
    if !old
        .stages
        .iter()
        .map(|s| s.stage)
        .eq(new.stages.iter().map(|s| s.stage))
    {
        return true;
    }
    if (new.cycle_s - old.cycle_s).abs() + 1e-9 >= p.min_cycle_change_s {
        return true;
    }
    old.stages
        .iter()
        .zip(&new.stages)
        .any(|(a, b)| (b.split_s - a.split_s).abs() + 1e-9 >= p.min_split_change * a.split_s)
}

/// `plan` in whole deciseconds, the field's register unit (a plan off that grid cannot be
/// encoded for the field): cycle and splits rounded, the rounding absorbed by the largest
/// split, the offset rounded within the cycle. `None` when the rounded plan breaks a rule.
pub fn in_deciseconds(net: &RoadNet, plan: &SignalPlan) -> Option<SignalPlan> {
    let ds = |s: f64| (s * 10.0).round();
    let cycle_ds = ds(plan.cycle_s);
    let mut splits_ds: Vec<f64> = plan.stages.iter().map(|s| ds(s.split_s)).collect();
    let big = (0..splits_ds.len()).max_by(|a, b| splits_ds[*a].total_cmp(&splits_ds[*b]))?;
    splits_ds[big] += cycle_ds - splits_ds.iter().sum::<f64>();
    let mut out = plan.clone();
    out.cycle_s = cycle_ds / 10.0;
    for (s, d) in out.stages.iter_mut().zip(&splits_ds) {
        s.split_s = d / 10.0;
    }
    out.offset_s = (ds(plan.offset_s).rem_euclid(cycle_ds.max(1.0))) / 10.0;
    out.validate(net).is_ok().then_some(out)
}

/// Keeps every signalized intersection's standby plan current (see the module docs).
#[derive(Clone, Debug)]
pub struct Standby {
    params: StandbyParams,
    /// The last plan sent, by position among the signalized intersections.
    sent: Vec<Option<SignalPlan>>,
    next_check_s: f64,
    /// Standby plans emitted so far.
    emitted: u64,
    /// Each signalized intersection's own Webster plan at the last full build: the screen
    /// that decides whether the demand moved enough to build again.
    screened: Vec<SignalPlan>,
    /// Full builds (corridor band programs solved) so far.
    builds: u64,
}

/// The screen is finer than the material-change rule it guards (half its thresholds): an
/// intersection's own Webster plan moving less than this cannot move the corridor's plan by
/// a material step, so the band programs are not solved again for it.
const SCREEN_FRACTION: f64 = 0.5;

impl Standby {
    pub fn new(net: &RoadNet, params: StandbyParams) -> Standby {
        Standby {
            params,
            sent: vec![None; net.signalized().count()],
            next_check_s: params.warmup_s,
            emitted: 0,
            screened: Vec::new(),
            builds: 0,
        }
    }

    /// Full plan builds so far (each solves the corridors' band programs); the other checks
    /// were screened out because no intersection's demand had moved enough.
    pub fn builds(&self) -> u64 {
        self.builds
    }

    /// Standby plans emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// The last standby plan sent for each signalized intersection (in network order).
    pub fn sent(&self) -> &[Option<SignalPlan>] {
        &self.sent
    }

    /// At most once per cycle: plans for `state`, a [`Command::StandbyPlan`] for each one that
    /// changed materially. Every plan sent has passed [`SignalPlan::validate`].
    pub fn step(
        &mut self,
        net: &RoadNet,
        state: &TrafficState,
        time_s: f64,
        out: &mut Vec<Command>,
    ) {
        if time_s + 1e-9 < self.next_check_s {
            return;
        }
        // The full build solves a band program per candidate cycle of every corridor (tens of
        // milliseconds); each intersection's own Webster plan costs microseconds. Build again
        // only when one of those moved by half a material step since the last build.
        let timing = crate::optimize::corridor::CorridorParams::default().timing;
        let own: Vec<SignalPlan> = net
            .signalized()
            .map(|i| crate::optimize::intersection::plan_intersection(net, i.id, state, &timing))
            .collect();
        let screen = StandbyParams {
            min_cycle_change_s: self.params.min_cycle_change_s * SCREEN_FRACTION,
            min_split_change: self.params.min_split_change * SCREEN_FRACTION,
            ..self.params
        };
        let moved = self.screened.len() != own.len()
            || self
                .screened
                .iter()
                .zip(&own)
                .any(|(old, new)| materially_different(old, new, &screen));
        if !moved {
            let shortest_cycle_s = self
                .sent
                .iter()
                .flatten()
                .map(|p| p.cycle_s)
                .fold(f64::INFINITY, f64::min);
            self.check_again_after(time_s, shortest_cycle_s);
            return;
        }
        self.screened = own;
        self.builds += 1;
        let plans = plans_for_state(net, state);
        let mut shortest_cycle_s = f64::INFINITY;
        for (k, inter) in net.signalized().enumerate() {
            let Some(plan) = plans.iter().find(|p| p.intersection == inter.id) else {
                continue;
            };
            shortest_cycle_s = shortest_cycle_s.min(plan.cycle_s);
            // never send a plan that breaks a rule (the old one stays)
            let Some(plan) = in_deciseconds(net, plan) else {
                continue;
            };
            let plan = &plan;
            let send = self.sent[k]
                .as_ref()
                .is_none_or(|old| materially_different(old, plan, &self.params));
            if send {
                out.push(Command::StandbyPlan(plan.clone()));
                self.sent[k] = Some(plan.clone());
                self.emitted += 1;
            }
        }
        self.check_again_after(time_s, shortest_cycle_s);
    }

    /// The next look: after the check interval, and never within a cycle of the plans.
    fn check_again_after(&mut self, time_s: f64, shortest_cycle_s: f64) {
        let cycle_s = if shortest_cycle_s.is_finite() {
            shortest_cycle_s
        } else {
            self.params.warmup_s
        };
        self.next_check_s = time_s + cycle_s.max(self.params.check_interval_s).max(1.0);
    }
}

/// `adaptive-plans`: plan-only adaptive control for field controllers that take no stage
/// requests — every cycle the plans for the present demand, reached by bounded steps, sent as
/// [`Command::ApplyPlan`] when they differ materially from the running one (cycle ±5 s, a split
/// ±10 %, the offset by more than 5 s; each change costs the field a transition).
pub struct AdaptivePlans {
    net: RoadNet,
    estimator: Estimator,
    transition: TransitionLimits,
    warmup_s: f64,
    /// Changes smaller than these are not sent: every plan change costs the field a
    /// transition (green time spent walking to the new offset).
    material: StandbyParams,
    min_offset_change_s: f64,
    /// The plan running, and when its next cycle starts, by signalized position.
    running: Vec<Option<(SignalPlan, f64)>>,
    /// The plans for the demand, rebuilt at most once per cycle.
    targets: Vec<SignalPlan>,
    next_target_s: f64,
}

// A summary: the estimator would drown a log line.
impl std::fmt::Debug for AdaptivePlans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptivePlans")
            .field("network", &self.net.name)
            .field("transition", &self.transition)
            .finish_non_exhaustive()
    }
}

impl AdaptivePlans {
    pub fn new(net: &RoadNet) -> AdaptivePlans {
        AdaptivePlans {
            estimator: Estimator::new(net, EstimatorParams::default()),
            net: net.clone(),
            transition: TransitionLimits::default(),
            warmup_s: StandbyParams::default().warmup_s,
            material: StandbyParams::default(),
            min_offset_change_s: 5.0,
            running: vec![None; net.signalized().count()],
            targets: Vec::new(),
            next_target_s: 0.0,
        }
    }
}

impl Controller for AdaptivePlans {
    fn name(&self) -> &str {
        "adaptive-plans"
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.estimator.update(&self.net, input);
        let t = input.time_s;
        if self.targets.is_empty() || t + 1e-9 >= self.next_target_s {
            // before the estimator has seen anything, plan for no demand (the shortest plans)
            let state = if t + 1e-9 < self.warmup_s {
                TrafficState::from_movement_flows(
                    &self.net,
                    &vec![0.0; self.net.movements.len()],
                    EstimatorParams::default().default_saturation_veh_s,
                )
            } else {
                self.estimator.state().clone()
            };
            self.targets = plans_for_state(&self.net, &state)
                .iter()
                .filter_map(|p| in_deciseconds(&self.net, p))
                .collect();
            let shortest = self
                .targets
                .iter()
                .map(|p| p.cycle_s)
                .fold(f64::INFINITY, f64::min);
            self.next_target_s = t + if shortest.is_finite() { shortest } else { 60.0 };
        }
        for (k, inter) in self.net.signalized().enumerate() {
            let Some(target) = self.targets.iter().find(|p| p.intersection == inter.id) else {
                continue;
            };
            if target.validate(&self.net).is_err() {
                continue;
            }
            let next = match &self.running[k] {
                None => target.clone(),
                Some((cur, boundary_s)) if t + 1e-9 >= *boundary_s => {
                    let offset_moved =
                        transition::circular_diff_s(cur.offset_s, target.offset_s, target.cycle_s)
                            .abs()
                            > self.min_offset_change_s;
                    if !offset_moved && !materially_different(cur, target, &self.material) {
                        self.running[k] = Some((cur.clone(), t + cur.cycle_s));
                        continue;
                    }
                    let same = cur
                        .stages
                        .iter()
                        .map(|s| s.stage)
                        .eq(target.stages.iter().map(|s| s.stage));
                    if same {
                        transition::step_towards(&self.net, cur, target, &self.transition)
                    } else {
                        target.clone()
                    }
                }
                Some(_) => continue,
            };
            let Some(next) = in_deciseconds(&self.net, &next) else {
                continue;
            };
            // once per cycle of the plan sent
            self.running[k] = Some((next.clone(), t + next.cycle_s));
            out.push(Command::ApplyPlan(next));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roadnet::StageSplit;
    use std::path::Path;

    fn small() -> RoadNet {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/small.toml");
        roadnet::load_network(&path).expect("fixture loads")
    }

    /// Material change by hand: a 60 s plan of splits 30/30 against 64 s (cycle +4 s: not
    /// material) with splits 33/31 (+3 s = 10 % of 30: material); 32/32 (+2, +2: under 10 %)
    /// is not; a 65 s cycle is.
    #[test]
    fn material_change_thresholds() {
        let net = small();
        let a = net.intersection_by_name("a").unwrap();
        let st = &net.intersection(a).stages;
        let plan = |c: f64, s0: f64, s1: f64| SignalPlan {
            intersection: a,
            cycle_s: c,
            offset_s: 0.0,
            stages: vec![
                StageSplit {
                    stage: st[0],
                    split_s: s0,
                },
                StageSplit {
                    stage: st[1],
                    split_s: s1,
                },
            ],
        };
        let p = StandbyParams::default();
        let old = plan(60.0, 30.0, 30.0);
        assert!(materially_different(&old, &plan(64.0, 33.0, 31.0), &p));
        assert!(!materially_different(&old, &plan(64.0, 32.0, 32.0), &p));
        assert!(materially_different(&old, &plan(65.0, 32.5, 32.5), &p));
        let mut shifted = old.clone();
        shifted.offset_s = 20.0;
        assert!(!materially_different(&old, &shifted, &p));
    }

    /// Deciseconds by hand: cycle 60.04 s → 60.0; splits 30.03 + 30.01 → 30.0 + 30.0 (the sum
    /// 600 ds already matches); offset 12.36 s → 12.4 s. A rounded plan that breaks a rule is
    /// not returned: splits 16.04 + 43.96 of a 60 s cycle round to 16.0 + 44.0, and 16 s is
    /// the shortest `ew` split (10 s min green + 6 s change), so it is kept; 15.96 would round
    /// to the same 16.0, also kept.
    #[test]
    fn plans_are_rounded_to_whole_deciseconds() {
        let net = small();
        let a = net.intersection_by_name("a").unwrap();
        let st = &net.intersection(a).stages;
        let plan = |c: f64, s0: f64, s1: f64, o: f64| SignalPlan {
            intersection: a,
            cycle_s: c,
            offset_s: o,
            stages: vec![
                StageSplit {
                    stage: st[0],
                    split_s: s0,
                },
                StageSplit {
                    stage: st[1],
                    split_s: s1,
                },
            ],
        };
        let r = in_deciseconds(&net, &plan(60.04, 30.03, 30.01, 12.36)).unwrap();
        assert_eq!(r, plan(60.0, 30.0, 30.0, 12.4));
        let r = in_deciseconds(&net, &plan(60.0, 16.04, 43.96, 0.0)).unwrap();
        assert_eq!(r, plan(60.0, 16.0, 44.0, 0.0));
        // an offset that rounds up to the cycle wraps to 0
        let r = in_deciseconds(&net, &plan(60.0, 30.0, 30.0, 59.97)).unwrap();
        assert_eq!(r.offset_s, 0.0);
        // too short to be valid at all
        assert_eq!(in_deciseconds(&net, &plan(30.0, 15.0, 15.0, 0.0)), None);
    }

    /// The standby component sends every intersection's plan once after the warm-up, looks
    /// again only after the 300 s check interval, sends nothing for the same demand, and sends
    /// again when the demand grows enough to change the plan; every plan it sends is valid and is the builder's plan for the state.
    #[test]
    fn standby_plans_follow_material_demand_changes() {
        let net = small();
        let mut sb = Standby::new(&net, StandbyParams::default());
        let light = TrafficState::from_movement_flows(&net, &vec![0.02; net.movements.len()], 0.5);
        let heavy = TrafficState::from_movement_flows(&net, &vec![0.12; net.movements.len()], 0.5);
        let mut out = Vec::new();
        sb.step(&net, &light, 0.0, &mut out);
        assert!(out.is_empty(), "nothing during the warm-up");
        sb.step(&net, &light, 300.0, &mut out);
        let plans: Vec<SignalPlan> = plans_for_state(&net, &light)
            .iter()
            .filter_map(|p| in_deciseconds(&net, p))
            .collect();
        let sent: Vec<SignalPlan> = out
            .drain(..)
            .map(|c| match c {
                Command::StandbyPlan(p) => p,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(sent, plans);
        for p in &sent {
            p.validate(&net).unwrap();
        }
        // within the check interval nothing is looked at; after it, the same demand sends nothing
        sb.step(&net, &heavy, 301.0, &mut out);
        assert!(out.is_empty(), "checked again only after 300 s");
        assert_eq!(sb.builds(), 1);
        sb.step(&net, &light, 600.0, &mut out);
        assert!(out.is_empty(), "same demand: nothing new");
        assert_eq!(
            sb.builds(),
            1,
            "same demand: screened out, no band program solved"
        );
        // 1 % more on every movement moves no intersection's own plan by half a material step
        let nudged =
            TrafficState::from_movement_flows(&net, &vec![0.0202; net.movements.len()], 0.5);
        sb.step(&net, &nudged, 900.0, &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(sb.builds(), 1, "a 1 % change is screened out");
        sb.step(&net, &heavy, 1200.0, &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(sb.emitted(), 4);
        assert_eq!(sb.builds(), 2);
    }
}
