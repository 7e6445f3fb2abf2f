//! The plan validator's coverage rule and the one green-bounds rule, on hand-checked figures.

use roadnet::{PlanRule, RoadNet, SignalPlan, StageLimits, StageSplit};
use std::path::Path;

fn small() -> RoadNet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/small.toml");
    roadnet::load_network(&path).expect("fixture loads")
}

/// Intersection `a` with the given splits for its stages in order (`ew`, `ns`), offset 0.
fn plan(net: &RoadNet, splits: &[f64]) -> SignalPlan {
    let a = net.intersection_by_name("a").unwrap();
    SignalPlan {
        intersection: a,
        cycle_s: splits.iter().sum(),
        offset_s: 0.0,
        stages: net
            .intersection(a)
            .stages
            .iter()
            .zip(splits)
            .map(|(s, split_s)| StageSplit {
                stage: *s,
                split_s: *split_s,
            })
            .collect(),
    }
}

#[test]
fn a_plan_serving_every_movement_validates() {
    let net = small();
    plan(&net, &[30.0, 30.0]).validate(&net).unwrap();
}

/// Dropping stage `ns` leaves the north-south movements of `a` without green: refused, and
/// the reason names one of them. Stage `ew` alone (split 40 s = green 34 s ≤ max 50 s) breaks
/// no other rule.
#[test]
fn a_plan_that_drops_a_stage_is_refused_naming_the_unserved_movement() {
    let net = small();
    let mut p = plan(&net, &[40.0, 30.0]);
    p.stages.truncate(1);
    p.cycle_s = 40.0;
    let e = p.validate(&net).unwrap_err();
    assert_eq!(e.rule, PlanRule::UnservedMovement);
    assert_eq!(e.rule.code(), 10);
    assert!(
        e.detail.contains("a_nb->") || e.detail.contains("a_sb->"),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("green in no stage"), "{}", e.detail);
    // the same plan with `ns` alone names an east-west movement
    let mut p = plan(&net, &[30.0, 40.0]);
    p.stages.remove(0);
    p.cycle_s = 40.0;
    let e = p.validate(&net).unwrap_err();
    assert_eq!(e.rule, PlanRule::UnservedMovement);
    assert!(
        e.detail.contains("a_eb->") || e.detail.contains("a_wb->"),
        "{}",
        e.detail
    );
}

#[test]
fn unserved_movement_code_round_trips() {
    assert_eq!(
        PlanRule::from_code(PlanRule::UnservedMovement.code()),
        Some(PlanRule::UnservedMovement)
    );
}

/// The green range: from the shortest green (min green, or walk + ped clearance when longer)
/// to the max green; collapsed to the shortest green when the pedestrian times exceed max green.
#[test]
fn green_bounds_rule() {
    let lim = StageLimits {
        min_green_s: 7.0,
        max_green_s: 60.0,
        yellow_s: 4.0,
        all_red_s: 2.0,
        ped_walk_s: 0.0,
        ped_clearance_s: 0.0,
    };
    assert_eq!(lim.green_bounds_s(), (7.0, 60.0));
    let ped = StageLimits {
        ped_walk_s: 7.0,
        ped_clearance_s: 9.0,
        ..lim
    };
    assert_eq!(ped.green_bounds_s(), (16.0, 60.0));
    let long_crossing = StageLimits {
        ped_walk_s: 30.0,
        ped_clearance_s: 40.0,
        ..lim
    };
    assert_eq!(long_crossing.green_bounds_s(), (70.0, 70.0));
}
