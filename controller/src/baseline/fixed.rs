//! The one fixed-plan controller, [`FixedPlans`], and the plan sets it runs: [`native_plans`]
//! (the network's own stages with their base greens — the same plans a field controller falls
//! back to, built by the one [`base_plan`]) and [`ft30_plans`] (FT30). The Webster-planned set
//! of [`crate::planned`] runs in it too.

use super::BaselineError;
use roadnet::{Command, Controller, IntersectionId, PlanError, RoadNet, SignalPlan, StageId};
use roadnet::{StageSplit, StepInput};

/// Slot length of FT30, s: the clearance (phase 0) followed by the phase's green.
pub const FT30_SLOT_S: f64 = 30.0;
/// Phases per FT30 cycle (CityFlow phases 1 → 2 → 3 → 4).
pub const FT30_PHASES: usize = 4;

/// Runs one fixed plan per intersection: sends them all once, on the first step, and leaves
/// the signals to run them. Every plan is validated at construction, so a bad plan fails
/// before the run starts rather than mid-run.
#[derive(Clone, Debug)]
pub struct FixedPlans {
    name: String,
    plans: Vec<SignalPlan>,
    sent: bool,
}

impl FixedPlans {
    pub fn new(
        name: impl Into<String>,
        net: &RoadNet,
        plans: Vec<SignalPlan>,
    ) -> Result<FixedPlans, PlanError> {
        for p in &plans {
            p.validate(net)?;
        }
        Ok(FixedPlans {
            name: name.into(),
            plans,
            sent: false,
        })
    }

    /// `native`: every signalized intersection's [`base_plan`].
    pub fn native(net: &RoadNet) -> Result<FixedPlans, BaselineError> {
        Self::named("native", net, native_plans(net))
    }

    /// `fixed-time`: [`ft30_plans`].
    pub fn fixed_time(net: &RoadNet) -> Result<FixedPlans, BaselineError> {
        Self::named("fixed-time", net, ft30_plans(net))
    }

    fn named(
        name: &str,
        net: &RoadNet,
        plans: Vec<SignalPlan>,
    ) -> Result<FixedPlans, BaselineError> {
        FixedPlans::new(name, net, plans).map_err(|e| BaselineError::Unsupported {
            controller: name.into(),
            message: e.to_string(),
        })
    }

    pub fn plans(&self) -> &[SignalPlan] {
        &self.plans
    }
}

impl Controller for FixedPlans {
    fn name(&self) -> &str {
        &self.name
    }
    fn step(&mut self, _input: &StepInput<'_>, out: &mut Vec<Command>) {
        if !self.sent {
            self.sent = true;
            out.extend(self.plans.iter().cloned().map(Command::ApplyPlan));
        }
    }
}

/// The base plan's stages of an intersection in native order: non-clearance, `in_base_plan`.
pub fn plan_stages(net: &RoadNet, i: IntersectionId) -> Vec<StageId> {
    net.intersection(i)
        .stages
        .iter()
        .copied()
        .filter(|s| {
            let st = net.stage(*s);
            !st.clearance && st.in_base_plan
        })
        .collect()
}

/// A cyclic plan of `stages` with the given greens, each followed by its change interval.
/// Greens and the offset are rounded to whole deciseconds, the field's register unit, so the
/// plan reaches a field controller unchanged. The offset puts the first stage's green where
/// the simulator's start-up clearance (the first stage's change interval) ends, so a plan
/// sent at t = 0 starts in step; a field controller walks to the same offset.
fn plan_from_greens(net: &RoadNet, i: IntersectionId, greens: &[(StageId, f64)]) -> SignalPlan {
    let ds = |s: f64| (s * 10.0).round() / 10.0;
    let stages: Vec<StageSplit> = greens
        .iter()
        .map(|(s, g)| StageSplit {
            stage: *s,
            split_s: ds(*g) + net.stage(*s).limits.change_s(),
        })
        .collect();
    let cycle_s: f64 = stages.iter().map(|s| s.split_s).sum();
    let startup_s = greens
        .first()
        .map_or(0.0, |(s, _)| net.stage(*s).limits.change_s());
    SignalPlan {
        intersection: i,
        cycle_s,
        offset_s: ds(startup_s).rem_euclid(cycle_s.max(1e-9)),
        stages,
    }
}

/// The base plan of an intersection — the simulator's `native` plan and a field controller's
/// local (fallback) plan alike: its non-clearance stages in native order, each with its base
/// green kept within [`roadnet::StageLimits::green_bounds_s`], plus yellow and all-red, in
/// whole deciseconds; offset: the first stage's change interval, so its green starts when the
/// simulator's start-up clearance ends. Not validated here (the callers do, and refuse it).
pub fn base_plan(net: &RoadNet, i: IntersectionId) -> SignalPlan {
    let greens: Vec<(StageId, f64)> = plan_stages(net, i)
        .into_iter()
        .map(|s| {
            let st = net.stage(s);
            let (lo, hi) = st.limits.green_bounds_s();
            (s, st.base_green_s.clamp(lo, hi))
        })
        .collect();
    plan_from_greens(net, i, &greens)
}

/// Every signalized intersection's [`base_plan`].
pub fn native_plans(net: &RoadNet) -> Vec<SignalPlan> {
    net.signalized().map(|i| base_plan(net, i.id)).collect()
}

/// FT30 on networks with a clearance stage (CityFlow's): phases 1 → 2 → 3 → 4 in 30 s slots of
/// the clearance interval (phase 0) + the phase's green, every intersection starting the first
/// slot at t = 0. Elsewhere there is no FT30 to reproduce, so the base plan runs.
pub fn ft30_plans(net: &RoadNet) -> Vec<SignalPlan> {
    net.signalized()
        .map(|i| {
            let stages = plan_stages(net, i.id);
            if i.clearance_stage.is_some() && stages.len() >= FT30_PHASES {
                let greens: Vec<_> = stages[..FT30_PHASES]
                    .iter()
                    .map(|s| (*s, FT30_SLOT_S - net.stage(*s).limits.change_s()))
                    .collect();
                plan_from_greens(net, i.id, &greens)
            } else {
                base_plan(net, i.id)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn small() -> RoadNet {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/small.toml");
        roadnet::load_network(&path).expect("fixture loads")
    }

    fn splits(p: &SignalPlan) -> Vec<f64> {
        p.stages.iter().map(|s| s.split_s).collect()
    }

    /// The base-plan rule on hand-checked figures. Intersection `a` of the fixture: stage `ew`
    /// green 20 s (the default) + yellow 4 + all-red 2 = 26 s, stage `ns` the same; cycle 52 s;
    /// the offset is the first stage's change interval, 6 s (its green starts when the
    /// simulator's 6 s start-up clearance ends).
    #[test]
    fn base_plan_is_base_greens_plus_change_offset_by_the_first_change_interval() {
        let net = small();
        let a = net.intersection_by_name("a").unwrap();
        let p = base_plan(&net, a);
        assert_eq!(splits(&p), vec![26.0, 26.0]);
        assert_eq!(p.cycle_s, 52.0);
        assert_eq!(p.offset_s, 6.0);
        p.validate(&net).unwrap();
    }

    /// A base green outside the stage's green range is pulled into it: 3 s below the 10 s min
    /// green of `ew` becomes 10 s (split 16 s), 90 s above its 50 s max green becomes 50 s.
    #[test]
    fn base_plan_keeps_base_greens_within_the_green_bounds() {
        let mut net = small();
        let a = net.intersection_by_name("a").unwrap();
        let ew = net.intersection(a).stages[0];
        net.stages[ew.index()].base_green_s = 3.0;
        assert_eq!(splits(&base_plan(&net, a)), vec![16.0, 26.0]);
        net.stages[ew.index()].base_green_s = 90.0;
        assert_eq!(splits(&base_plan(&net, a)), vec![56.0, 26.0]);
    }

    /// `native` sends exactly the base plans, once, on the first step.
    #[test]
    fn native_sends_every_base_plan_once() {
        let net = small();
        let mut c = FixedPlans::native(&net).unwrap();
        let input = StepInput {
            time_s: 0.0,
            dt_s: 1.0,
            detectors: &[],
            cameras: &[],
            signals: &[],
        };
        let mut out = Vec::new();
        c.step(&input, &mut out);
        let sent: Vec<SignalPlan> = out
            .into_iter()
            .map(|cmd| match cmd {
                Command::ApplyPlan(p) => p,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(sent, native_plans(&net));
        assert_eq!(sent.len(), 2);
        let mut again = Vec::new();
        c.step(&input, &mut again);
        assert!(again.is_empty());
        assert_eq!(c.name(), "native");
    }

    /// A plan that breaks a rule is refused when the controller is built.
    #[test]
    fn fixed_plans_refuse_an_invalid_plan_at_construction() {
        let net = small();
        let mut plans = native_plans(&net);
        plans[0].offset_s = plans[0].cycle_s;
        let e = FixedPlans::new("bad", &net, plans).unwrap_err();
        assert_eq!(e.rule, roadnet::PlanRule::OffsetOutOfRange);
    }

    /// FT30 and native on a one-intersection CityFlow net (phase 0 of 5 s, phases 1–4 of 30 s):
    /// FT30 slots are 5 s of phase 0 + 25 s of the phase, so splits 30 s, cycle 120 s; native
    /// runs each phase's own 30 s + 5 s, so splits 35 s, cycle 140 s. Both start the first
    /// green when the 5 s start-up clearance ends: offset 5 s.
    #[test]
    fn ft30_and_native_on_a_cityflow_intersection() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cityflow_one.json");
        let net = roadnet::cityflow::load_roadnet(&path).expect("fixture loads");
        let ft = ft30_plans(&net);
        assert_eq!(ft.len(), 1);
        assert_eq!(splits(&ft[0]), vec![30.0; 4]);
        assert_eq!((ft[0].cycle_s, ft[0].offset_s), (120.0, 5.0));
        let native = native_plans(&net);
        assert_eq!(splits(&native[0]), vec![35.0; 4]);
        assert_eq!((native[0].cycle_s, native[0].offset_s), (140.0, 5.0));
        FixedPlans::fixed_time(&net).unwrap();
        FixedPlans::native(&net).unwrap();
    }

    /// On a network without a clearance stage there is no FT30 to reproduce: the base plan runs.
    #[test]
    fn ft30_without_a_clearance_stage_is_the_base_plan() {
        let net = small();
        assert_eq!(ft30_plans(&net), native_plans(&net));
    }
}
