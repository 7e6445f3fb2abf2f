//! Every plan the optimizer emits passes the one validator; the validator rejects every
//! single-rule mutation of a valid plan and names the rule.

mod adaptive_common;

use adaptive_common::{corridor_net, Limits};
use controller::estimate::{LaneState, MovementState, TrafficState};
use controller::optimize::corridor::{plan_corridor, CorridorParams};
use controller::optimize::intersection::{plan_intersection, TimingParams};
use controller::optimize::transition::{step_towards, TransitionLimits};
use proptest::prelude::*;
use roadnet::{PlanRule, RoadNet, SignalPlan};

/// A traffic state with given per-lane flows and queues (movements share their lanes' figures).
fn state_with(net: &RoadNet, flows: &[f64], queues: &[f64], fill: &[u32]) -> TrafficState {
    let lanes: Vec<LaneState> = (0..net.lanes.len())
        .map(|k| LaneState {
            queue_veh: queues[k % queues.len()],
            arrival_flow_veh_s: flows[k % flows.len()],
            saturation_veh_s: 0.5,
            vehicles: fill[k % fill.len()],
            ..LaneState::default()
        })
        .collect();
    let movements = net
        .movements
        .iter()
        .map(|m| {
            let l = net.lanes_feeding(m.id);
            let mut ms = MovementState::default();
            for x in l {
                let ls = lanes[x.index()];
                let k = net.lane(x).feeds.len().max(1) as f64;
                ms.queue_veh += ls.queue_veh / k;
                ms.arrival_flow_veh_s += ls.arrival_flow_veh_s / k;
                ms.saturation_veh_s += ls.saturation_veh_s / k;
            }
            ms
        })
        .collect();
    TrafficState {
        time_s: 0.0,
        lanes,
        movements,
        tracks: vec![Vec::new(); net.lanes.len()],
    }
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        3.0..15.0f64,
        0.0..80.0f64,
        3.0..6.0f64,
        0.0..3.0f64,
        prop_oneof![Just(0.0), 4.0..10.0f64],
        prop_oneof![Just(0.0), 5.0..18.0f64],
    )
        .prop_map(|(min, extra, y, ar, walk, clr)| {
            let r = |v: f64| (v * 10.0).round() / 10.0;
            let (min, walk, clr) = (r(min), r(walk), r(clr));
            Limits {
                min_green_s: min,
                // a stage whose ped walk + clearance exceeds its max green has no valid plan
                // at all (the loader refuses it); the generator keeps networks consistent
                max_green_s: r(min + extra).max(walk + clr),
                yellow_s: r(y),
                all_red_s: r(ar),
                ped_walk_s: walk,
                ped_clearance_s: clr,
            }
        })
}

fn check(net: &RoadNet, p: &SignalPlan) -> Result<(), TestCaseError> {
    p.validate(net)
        .map_err(|e| TestCaseError::fail(format!("{e}: {p:?}")))
}

/// Drop each stage of a valid plan in turn (cycle shortened by its split, offset kept within
/// it): refused as `UnservedMovement` exactly when a movement of the dropped stage is green in
/// no remaining stage, else still valid.
fn check_drops(net: &RoadNet, p: &SignalPlan) -> Result<(), TestCaseError> {
    for k in 0..p.stages.len() {
        let mut m = p.clone();
        let dropped = m.stages.remove(k);
        if m.stages.is_empty() {
            continue;
        }
        m.cycle_s -= dropped.split_s;
        m.offset_s = m.offset_s.rem_euclid(m.cycle_s);
        let starved = net.stage_movements(dropped.stage).into_iter().any(|mv| {
            !m.stages
                .iter()
                .any(|s| net.stage_movements(s.stage).contains(&mv))
        });
        match m.validate(net) {
            Err(e) if starved => prop_assert_eq!(e.rule, PlanRule::UnservedMovement, "{}", e),
            Ok(()) if !starved => {}
            other => {
                return Err(TestCaseError::fail(format!(
                    "dropping stage {k} (starves a movement: {starved}): {other:?}"
                )))
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_emitted_plan_validates(
        n in 1usize..5,
        spacing in 150.0..800.0f64,
        four in any::<bool>(),
        lim in limits(),
        flows in prop::collection::vec(0.0..0.6f64, 1..12),
        queues in prop::collection::vec(0.0..40.0f64, 1..12),
        fill in prop::collection::vec(0u32..120, 1..6),
        flows2 in prop::collection::vec(0.0..0.6f64, 1..12),
        min_cycle in 20.0..80.0f64,
        max_cycle in 60.0..200.0f64,
    ) {
        let n = n.max(2);
        let net = corridor_net(n, spacing, four, &lim);
        let timing = TimingParams { min_cycle_s: min_cycle, max_cycle_s: max_cycle, ..TimingParams::default() };
        let st = state_with(&net, &flows, &queues, &fill);
        for i in net.signalized() {
            let p = plan_intersection(&net, i.id, &st, &timing);
            check(&net, &p)?;
            check_drops(&net, &p)?;
        }
        let params = CorridorParams { timing, ..CorridorParams::default() };
        let c = &net.corridors[0];
        let a = plan_corridor(&net, c, &st, &params, None);
        for p in &a.plans {
            check(&net, p)?;
        }
        prop_assert!(a.band_out_s >= 0.0 && a.band_out_s <= a.cycle_s);
        // demand shifts: the next corridor plan, and every bounded step towards it, validate
        let st2 = state_with(&net, &flows2, &queues, &fill);
        let offsets: Vec<f64> = a.plans.iter().map(|p| p.offset_s).collect();
        let b = plan_corridor(&net, c, &st2, &params, Some(&offsets));
        for (cur, target) in a.plans.iter().zip(&b.plans) {
            check(&net, target)?;
            let mut p = cur.clone();
            for _ in 0..20 {
                if p.stages.iter().map(|s| s.stage).ne(target.stages.iter().map(|s| s.stage)) {
                    break;
                }
                p = step_towards(&net, &p, target, &TransitionLimits::default());
                check(&net, &p)?;
            }
        }
    }
}

/// The plan for the mutation tests: 2 four-stage intersections, ped crossings, default limits.
fn base() -> (RoadNet, SignalPlan) {
    let net = corridor_net(2, 300.0, true, &Limits::default());
    let st = state_with(&net, &[0.2, 0.1], &[3.0], &[2]);
    let p = plan_intersection(
        &net,
        net.corridors[0].intersections[0],
        &st,
        &TimingParams::default(),
    );
    p.validate(&net).expect("base plan is valid");
    (net, p)
}

fn rule(net: &RoadNet, p: &SignalPlan) -> PlanRule {
    p.validate(net).expect_err("mutation must be refused").rule
}

#[test]
fn validator_rejects_each_single_rule_mutation() {
    let (net, p) = base();
    assert!(p.stages.len() >= 2);
    let first = p.stages[0].stage;

    // conflicting greens: the first stage also shows the cross street's protected through
    let mut bad_net = net.clone();
    let other = p.stages[1..]
        .iter()
        .map(|s| s.stage)
        .find(|s| {
            roadnet::stage_conflict(
                &{
                    let mut n2 = net.clone();
                    let g = n2.stages[s.index()].groups.clone();
                    n2.stages[first.index()].groups.extend(g);
                    n2
                },
                first,
            )
            .is_some()
        })
        .expect("some stage conflicts with the first");
    let g = bad_net.stages[other.index()].groups.clone();
    bad_net.stages[first.index()].groups.extend(g);
    assert_eq!(rule(&bad_net, &p), PlanRule::ConflictingGreens);

    // split below min green + change: move time from stage 0 to stage 1
    let mut m = p.clone();
    let lim = net.stage(first).limits;
    let cut = m.stages[0].split_s - (lim.min_split_s() - 0.5);
    m.stages[0].split_s -= cut;
    m.stages[1].split_s += cut;
    assert_eq!(rule(&net, &m), PlanRule::SplitTooShort);

    // pedestrian walk + clearance longer than the green the split leaves
    let mut ped_net = net.clone();
    ped_net.stages[first.index()].limits.ped_clearance_s = p.stages[0].split_s;
    assert_eq!(rule(&ped_net, &p), PlanRule::SplitTooShort);

    // yellow under 3 s (through the stage's limits)
    let mut y_net = net.clone();
    y_net.stages[first.index()].limits.yellow_s = 2.5;
    assert_eq!(rule(&y_net, &p), PlanRule::YellowTooShort);

    // negative all-red
    let mut ar_net = net.clone();
    ar_net.stages[first.index()].limits.all_red_s = -1.0;
    assert_eq!(rule(&ar_net, &p), PlanRule::BadClearance);

    // green above max green
    let mut mx_net = net.clone();
    mx_net.stages[first.index()].limits.max_green_s =
        lim.min_green_s.max(lim.ped_walk_s + lim.ped_clearance_s);
    mx_net.stages[first.index()].limits.min_green_s = lim
        .min_green_s
        .min(mx_net.stages[first.index()].limits.max_green_s);
    let mut m = p.clone();
    m.stages[0].split_s += 5.0;
    m.stages[1].split_s -= 5.0;
    m.cycle_s = m.stages.iter().map(|s| s.split_s).sum();
    assert!(matches!(
        rule(&mx_net, &m),
        PlanRule::GreenTooLong | PlanRule::SplitTooShort
    ));
    let mut m = p.clone();
    m.stages[0].split_s += 1000.0;
    m.cycle_s += 1000.0;
    assert_eq!(rule(&net, &m), PlanRule::GreenTooLong);

    // splits not summing to the cycle
    let mut m = p.clone();
    m.cycle_s += 1.0;
    assert_eq!(rule(&net, &m), PlanRule::SplitsDoNotSumToCycle);

    // offset at / above the cycle, negative, NaN
    for off in [p.cycle_s, p.cycle_s + 3.0, -1.0, f64::NAN] {
        let mut m = p.clone();
        m.offset_s = off;
        assert_eq!(rule(&net, &m), PlanRule::OffsetOutOfRange, "offset {off}");
    }

    // negative / NaN / infinite numbers
    for bad in [-5.0, f64::NAN, f64::INFINITY] {
        let mut m = p.clone();
        m.stages[1].split_s = bad;
        assert_eq!(rule(&net, &m), PlanRule::BadNumber, "split {bad}");
    }
    for bad in [f64::NAN, -90.0, 0.0] {
        let mut m = p.clone();
        m.cycle_s = bad;
        assert_eq!(rule(&net, &m), PlanRule::BadNumber, "cycle {bad}");
    }
    let mut nan_net = net.clone();
    nan_net.stages[first.index()].limits.min_green_s = f64::NAN;
    assert_eq!(rule(&nan_net, &p), PlanRule::BadNumber);

    // a stage dropped, the cycle shortened to match: its movements are green in no stage
    let mut m = p.clone();
    let dropped = m.stages.remove(0);
    m.cycle_s -= dropped.split_s;
    m.offset_s = m.offset_s.rem_euclid(m.cycle_s);
    assert_eq!(rule(&net, &m), PlanRule::UnservedMovement);

    // a stage twice, a stage of another intersection, no stage
    let mut m = p.clone();
    m.stages[1].stage = first;
    assert_eq!(rule(&net, &m), PlanRule::BadStage);
    let foreign = net.intersection(net.corridors[0].intersections[1]).stages[0];
    let mut m = p.clone();
    m.stages[1].stage = foreign;
    assert_eq!(rule(&net, &m), PlanRule::BadStage);
    let mut m = p.clone();
    m.stages.clear();
    assert_eq!(rule(&net, &m), PlanRule::BadStage);
}
