//! Lane closures for a time window (`Simulation::set_lane_closures`): closing every lane of a
//! road stops flow through it in the window and only then; closing one lane sends vehicles to
//! the others; a run without closures is unchanged.

use roadnet::{Demand, LaneId, RoadId, RoadNet, Trip, VehicleParams};
use sim::{LaneClosure, Observer, Place, SimConfig, Simulation, StepView};
use std::collections::BTreeSet;

fn bundled() -> RoadNet {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../intersections.toml");
    roadnet::load_network(&path).expect("the bundled network loads")
}

/// One vehicle every 3 s for 30 min, west end → oak → elm → pine, straight along Main Street.
fn eastbound(net: &RoadNet) -> Demand {
    let route: Vec<RoadId> = ["main_eb_oak", "main_eb_elm", "main_eb_pine"]
        .iter()
        .map(|n| net.road_by_name(n).expect("road"))
        .collect();
    Demand::new(
        (0..600)
            .map(|k| Trip {
                departure_s: 3.0 * k as f64,
                route: route.clone(),
                params: VehicleParams::default(),
            })
            .collect(),
    )
}

/// Per step: which vehicles entered a watched lane, and which left one onto a lane link.
#[derive(Default)]
struct Watch {
    lanes: BTreeSet<LaneId>,
    on: BTreeSet<u32>,
    /// (time, vehicle) of each entry onto a watched lane.
    entered: Vec<(f64, u32)>,
    /// (time, vehicle) of each move from a watched lane onto a lane link.
    left: Vec<(f64, u32)>,
    on_link: BTreeSet<u32>,
    /// Vehicles that started a lane link into a watched lane (crossing the intersection
    /// towards it), and when.
    started_in: Vec<(f64, u32)>,
    on_link_in: BTreeSet<u32>,
}

impl Observer for Watch {
    fn on_step(&mut self, view: &StepView<'_>) {
        let t = view.time_s();
        let mut on = BTreeSet::new();
        let mut on_link = BTreeSet::new();
        let mut on_link_in = BTreeSet::new();
        for v in view.vehicles() {
            if let Place::Link { to_lane, .. } = v.place {
                if self.lanes.contains(&to_lane) {
                    on_link_in.insert(v.vehicle);
                }
            }
            match v.place {
                Place::Lane(l) if self.lanes.contains(&l) => {
                    on.insert(v.vehicle);
                }
                Place::Link { from_lane, .. } if self.lanes.contains(&from_lane) => {
                    on_link.insert(v.vehicle);
                }
                _ => {}
            }
        }
        self.entered
            .extend(on.difference(&self.on).map(|v| (t, *v)));
        self.left
            .extend(on_link.difference(&self.on_link).map(|v| (t, *v)));
        self.started_in
            .extend(on_link_in.difference(&self.on_link_in).map(|v| (t, *v)));
        self.on = on;
        self.on_link = on_link;
        self.on_link_in = on_link_in;
    }
}

fn run(net: &RoadNet, demand: &Demand, closures: Vec<LaneClosure>, lanes: &[LaneId]) -> Watch {
    let cfg = SimConfig {
        duration_s: 3600.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), demand, cfg).expect("sim");
    sim.set_lane_closures(closures).expect("closures");
    let mut ctl = controller::baseline::FixedPlans::native(net).expect("native plans");
    let mut watch = Watch {
        lanes: lanes.iter().copied().collect(),
        ..Watch::default()
    };
    sim.run(&mut ctl, &mut watch).expect("run");
    watch
}

fn count_in(events: &[(f64, u32)], from_s: f64, to_s: f64) -> usize {
    events
        .iter()
        .filter(|(t, _)| *t >= from_s && *t < to_s)
        .count()
}

#[test]
fn closing_every_lane_of_a_road_stops_flow_through_it_in_the_window_only() {
    let net = bundled();
    let demand = eastbound(&net);
    let road = net.road(net.road_by_name("main_eb_elm").unwrap());
    let closures: Vec<LaneClosure> = road
        .lanes
        .iter()
        .map(|l| LaneClosure {
            lane: *l,
            from_s: 600.0,
            to_s: 1200.0,
        })
        .collect();
    let open = run(&net, &demand, vec![], &road.lanes);
    let closed = run(&net, &demand, closures, &road.lanes);
    // A vehicle too close to stop when the window opens still goes (as at a red): 5 s grace.
    assert_eq!(
        count_in(&closed.left, 605.0, 1200.0),
        0,
        "left in the window"
    );
    // No vehicle starts across the intersection towards the closed road in the window (after
    // the same grace: one too close to stop when it closes still goes); the only ones that
    // reach the road then were already crossing — which can take more than the grace.
    let late: Vec<_> = closed
        .started_in
        .iter()
        .filter(|(t, _)| (605.0..1200.0).contains(t))
        .collect();
    assert!(
        late.is_empty(),
        "started towards the closed road in the window: {late:?}"
    );
    let crossing_at_600: BTreeSet<u32> = closed
        .started_in
        .iter()
        .filter(|(t, _)| *t < 605.0)
        .map(|(_, v)| *v)
        .collect();
    for (t, v) in closed
        .entered
        .iter()
        .filter(|(t, _)| (600.0..1200.0).contains(t))
    {
        assert!(
            crossing_at_600.contains(v),
            "vehicle {v} entered the closed road at {t} s without having been on its way"
        );
    }
    assert!(
        count_in(&closed.entered, 630.0, 1200.0) == 0,
        "entered in the window"
    );
    // Before the window the runs are the same; after it, the held queue discharges.
    assert_eq!(
        closed.left[..count_in(&closed.left, 0.0, 600.0)],
        open.left[..count_in(&open.left, 0.0, 600.0)]
    );
    assert!(count_in(&closed.left, 0.0, 600.0) > 100);
    assert!(count_in(&closed.left, 1200.0, 1800.0) > 100);
    assert!(
        count_in(&open.left, 605.0, 1200.0) > 100,
        "without closure it flows"
    );
    // Every vehicle gets through in the end: held, not lost.
    assert_eq!(closed.left.len(), open.left.len());
}

#[test]
fn vehicles_avoid_a_closed_lane_where_another_serves_them() {
    let net = bundled();
    let demand = eastbound(&net);
    let road = net.road(net.road_by_name("main_eb_elm").unwrap());
    // lane 1: the inner through lane; lane 2 (through and right) stays open
    let lane = road.lanes[1];
    let closure = LaneClosure {
        lane,
        from_s: 600.0,
        to_s: 1200.0,
    };
    let open = run(&net, &demand, vec![], &[lane]);
    let closed = run(&net, &demand, vec![closure], &[lane]);
    assert!(
        count_in(&open.entered, 605.0, 1200.0) > 50,
        "the lane is used when open"
    );
    assert_eq!(count_in(&closed.entered, 605.0, 1200.0), 0);
    assert!(
        count_in(&closed.entered, 1200.0, 1800.0) > 50,
        "used again after"
    );
    // the road still carries traffic on its other through lane (vehicles whose only lane
    // link leads into the closed lane wait at the upstream stop line: lane-by-lane links)
    let other = run(&net, &demand, vec![closure], &[road.lanes[2]]);
    let o = run(&net, &demand, vec![], &[road.lanes[2]]);
    eprintln!(
        "lane 2 in the window: {} open, {} with lane 1 closed",
        count_in(&o.left, 605.0, 1200.0),
        count_in(&other.left, 605.0, 1200.0)
    );
    assert!(
        count_in(&other.left, 605.0, 1200.0) >= count_in(&o.left, 605.0, 1200.0)
            && count_in(&other.left, 605.0, 1200.0) > 50
    );
}

#[test]
fn bad_closures_are_refused() {
    let net = bundled();
    let demand = eastbound(&net);
    let mut sim = Simulation::new(net.clone(), &demand, SimConfig::default()).unwrap();
    for (lane, from_s, to_s) in [
        (LaneId(u32::MAX), 0.0, 10.0),
        (LaneId(0), 10.0, 10.0),
        (LaneId(0), -1.0, 10.0),
        (LaneId(0), 0.0, f64::INFINITY),
    ] {
        assert!(sim
            .set_lane_closures(vec![LaneClosure { lane, from_s, to_s }])
            .is_err());
    }
}
