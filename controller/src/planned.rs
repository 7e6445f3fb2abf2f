//! Fixed-time plans decided in advance: the "fair baseline" a competent engineer would have
//! configured for a corridor — one plan for the whole day, cycle and splits by Webster from the
//! day's mean counts, and greenwave's own green-wave offsets. The plans run in the one
//! fixed-plan controller, [`crate::baseline::FixedPlans`].

use crate::estimate::TrafficState;
use crate::optimize::{corridor, intersection};
use roadnet::counts::Counts;
use roadnet::{RoadNet, SignalPlan};

/// Mean flow of every movement over the whole count file, veh/s, indexed by movement.
pub fn mean_flows_veh_s(net: &RoadNet, counts: &Counts) -> Vec<f64> {
    let mut total = vec![0.0; net.movements.len()];
    for ((_, m), c) in counts.movement_counts(net) {
        total[m.index()] += c as f64;
    }
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in &counts.rows {
        first = first.min(r.start_s);
        last = last.max(r.start_s + r.interval_s);
    }
    let span_s = (last - first).max(1.0);
    total.into_iter().map(|c| c / span_s).collect()
}

/// Webster plans for steady flows (veh/s per movement): each corridor gets a common cycle and
/// band-maximizing offsets, every other signalized intersection its own Webster plan.
/// Every plan passes [`SignalPlan::validate`].
pub fn webster_plans(
    net: &RoadNet,
    flows_veh_s: &[f64],
    saturation_per_lane_veh_s: f64,
) -> Vec<SignalPlan> {
    let state = TrafficState::from_movement_flows(net, flows_veh_s, saturation_per_lane_veh_s);
    plans_for_state(net, &state)
}

/// The one coordinated plan builder behind [`webster_plans`], the time-of-day plan set
/// ([`crate::baseline::tod`]) and the standby plans kept current in the field
/// ([`crate::standby`]): for a traffic state, each corridor a common cycle, Webster splits and
/// MAXBAND offsets ([`corridor::plan_corridor`]), every other signalized intersection its own
/// Webster plan (offset 0); sorted by intersection. Every plan the layers build has passed
/// [`SignalPlan::validate`].
pub fn plans_for_state(net: &RoadNet, state: &TrafficState) -> Vec<SignalPlan> {
    let mut plans: Vec<SignalPlan> = Vec::new();
    let params = corridor::CorridorParams::default();
    for c in &net.corridors {
        let cp = corridor::plan_corridor(net, c, state, &params, None);
        for p in cp.plans {
            if !plans.iter().any(|q| q.intersection == p.intersection) {
                plans.push(p);
            }
        }
    }
    for i in net.signalized() {
        if !plans.iter().any(|p| p.intersection == i.id) {
            plans.push(intersection::plan_intersection(
                net,
                i.id,
                state,
                &params.timing,
            ));
        }
    }
    plans.sort_by_key(|p| p.intersection);
    plans
}

/// The corridor plans (common cycle, splits, offsets, bands) behind [`webster_plans`], one per
/// corridor of the network — what the time-space diagram draws.
pub fn webster_corridor_plans(
    net: &RoadNet,
    flows_veh_s: &[f64],
    saturation_per_lane_veh_s: f64,
) -> Vec<corridor::CorridorPlan> {
    let state = TrafficState::from_movement_flows(net, flows_veh_s, saturation_per_lane_veh_s);
    let params = corridor::CorridorParams::default();
    net.corridors
        .iter()
        .map(|c| corridor::plan_corridor(net, c, &state, &params, None))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn bundled_day_gives_a_coordinated_valid_plan() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let net = roadnet::load_network(&root.join("intersections.toml")).unwrap();
        let counts =
            roadnet::counts::load_counts(&root.join("data/main_street_counts.csv"), &net).unwrap();
        let flows = mean_flows_veh_s(&net, &counts);
        let plans = webster_plans(&net, &flows, 0.5);
        assert_eq!(plans.len(), 7);
        let cycle = plans[0].cycle_s;
        for p in &plans {
            p.validate(&net).unwrap();
            // one common cycle along the corridor, offsets within it
            assert_eq!(p.cycle_s, cycle);
            assert!(p.offset_s >= 0.0 && p.offset_s < p.cycle_s);
        }
        assert!(
            plans.iter().any(|p| p.offset_s > 0.0),
            "offsets were coordinated"
        );
        let ctl = crate::baseline::FixedPlans::new("fair", &net, plans).unwrap();
        assert_eq!(ctl.plans().len(), 7);
    }
}
