//! Lane choice where only some lanes of a road lead on (as on SUMO imports, where only the kerb
//! lane turns right): a vehicle must pick, at every lane-link choice, a lane from which the rest
//! of its route can be driven, or (with lane changing on) move to one.
//!
//! The networks are CityFlow JSON so that every lane link is explicit: W → A → B → E along the
//! x axis (300 m apart) and B → S (300 m south). A and B are unsignalized, so nothing but the
//! lane choice can hold a vehicle up.

mod common;
use common::*;
use roadnet::{Demand, RoadNet};
use sim::{Observer, SimConfig, Simulation};

/// CityFlow JSON pieces: `n` lanes of 11.111 m/s.
fn lanes(n: usize) -> String {
    let lane = r#"{"width": 3.2, "maxSpeed": 11.111}"#;
    format!("[{}]", vec![lane; n].join(","))
}

/// Lane links (start lane index, end lane index).
fn links(l: &[(usize, usize)]) -> String {
    l.iter()
        .map(|(s, e)| format!(r#"{{"startLaneIndex": {s}, "endLaneIndex": {e}, "points": []}}"#))
        .collect::<Vec<_>>()
        .join(",")
}

/// A straight road of `n` lanes from intersection `from` to `to`.
fn road(id: &str, from: &str, to: &str, p: [(f64, f64); 2], n: usize) -> String {
    format!(
        r#"{{"id": "{id}", "startIntersection": "{from}", "endIntersection": "{to}",
           "points": [{{"x": {}, "y": {}}}, {{"x": {}, "y": {}}}], "lanes": {}}}"#,
        p[0].0,
        p[0].1,
        p[1].0,
        p[1].1,
        lanes(n)
    )
}

/// A boundary node (where vehicles enter and leave).
fn boundary(id: &str, x: f64, y: f64) -> String {
    format!(
        r#"{{"id": "{id}", "point": {{"x": {x}, "y": {y}}}, "virtual": true, "roadLinks": []}}"#
    )
}

/// `wa_lanes` lanes on W→A with the given lane links into A→B (2 lanes); at B, both lanes of
/// A→B go straight on to B→E lane by lane, and only lane 1 (CityFlow's outer lane, on the
/// right) turns right into B→S (1 lane).
fn net(wa_lanes: usize, a_links: &[(usize, usize)]) -> RoadNet {
    let json = format!(
        r#"{{"intersections": [
            {},
            {{"id": "A", "point": {{"x": 300, "y": 0}}, "width": 10, "roadLinks": [
                {{"type": "go_straight", "startRoad": "WA", "endRoad": "AB", "laneLinks": [{}]}}]}},
            {{"id": "B", "point": {{"x": 600, "y": 0}}, "width": 10, "roadLinks": [
                {{"type": "go_straight", "startRoad": "AB", "endRoad": "BE", "laneLinks": [{}]}},
                {{"type": "turn_right", "startRoad": "AB", "endRoad": "BS", "laneLinks": [{}]}}]}},
            {}, {}],
          "roads": [{}, {}, {}, {}]}}"#,
        boundary("W", 0.0, 0.0),
        links(a_links),
        links(&[(0, 0), (1, 1)]),
        links(&[(1, 0)]),
        boundary("E", 900.0, 0.0),
        boundary("S", 600.0, -300.0),
        road("WA", "W", "A", [(0.0, 0.0), (300.0, 0.0)], wa_lanes),
        road("AB", "A", "B", [(300.0, 0.0), (600.0, 0.0)], 2),
        road("BE", "B", "E", [(600.0, 0.0), (900.0, 0.0)], 2),
        road("BS", "B", "S", [(600.0, 0.0), (600.0, -300.0)], 1),
    );
    roadnet::cityflow::parse_roadnet(&json, "lane_choice.json").expect("network builds")
}

/// Arrival time of each vehicle, by vehicle index.
#[derive(Default)]
struct Arrivals(Vec<(u32, f64)>);
impl Observer for Arrivals {
    fn on_vehicle_finished(&mut self, vehicle: u32, time_s: f64) {
        self.0.push((vehicle, time_s));
    }
}

/// Runs `departures` trips W→A→B→S for 600 s; returns (vehicle, trip time) of those finished.
fn run(net: RoadNet, departures: &[f64], lane_change: bool, seed: u64) -> Vec<(u32, f64)> {
    let trips = departures
        .iter()
        .map(|&t| trip(&net, t, &["WA", "AB", "BS"]))
        .collect();
    let mut sim = Simulation::new(
        net,
        &Demand::new(trips),
        SimConfig {
            duration_s: 600.0,
            lane_change,
            seed,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let mut arr = Arrivals::default();
    sim.run(&mut Script { at: vec![] }, &mut arr).unwrap();
    arr.0
        .into_iter()
        .map(|(v, t)| (v, t - departures[v as usize]))
        .collect()
}

/// Hand bound on one unhindered trip: the path is at most 900 m (centre to centre, the right
/// turn cutting the corner), driven no slower than the 8.333 m/s turn speed (108 s) after
/// starting from standstill at 2 m/s² (at most 11.111 / 2 = 5.6 s lost to acceleration, and as
/// much again for slowing to the turn speed): 108 + 11.2 < 120 s. (Measured: 84 s each.)
const ONE_TRIP_BOUND_S: f64 = 120.0;

/// Ten vehicles 30 s apart (never in each other's way) on W→A→B→S. Both lanes of W→A lead
/// into A→B, but only from lane 1 of W→A (into lane 1 of A→B) can the vehicle turn right at B.
/// CityFlow's rules (first lane: any with a link to the second road; at A: a link into a lane
/// with a link onto the road after) pick lane 0 of W→A for about half the vehicles, which then
/// find no link at A into a lane that turns right and wait at A's stop line for good.
#[test]
fn every_vehicle_takes_a_lane_that_reaches_the_end_of_its_route() {
    let departures: Vec<f64> = (0..10).map(|k| 30.0 * k as f64).collect();
    for lane_change in [false, true] {
        for seed in [0, 1, 2] {
            let done = run(net(2, &[(0, 0), (1, 1)]), &departures, lane_change, seed);
            assert_eq!(
                done.len(),
                10,
                "lane change {lane_change}, seed {seed}: {done:?}"
            );
            for &(v, tt) in &done {
                assert!(
                    tt > 800.0 / 11.111 && tt < ONE_TRIP_BOUND_S,
                    "vehicle {v}: {tt} s"
                );
            }
        }
    }
}

/// W→A has one lane, which leads only into lane 0 of A→B, from which B→S cannot be reached:
/// the route can be completed only by changing lanes on A→B (as SUMO's routes assume vehicles
/// do). CityFlow would leave the vehicle at B's stop line for good; greenwave moves it to lane 1
/// at once (no other traffic), with or without lane changing on, and it finishes within the
/// one-trip bound.
#[test]
fn a_route_that_needs_a_lane_change_is_completed() {
    for lane_change in [false, true] {
        let done = run(net(1, &[(0, 0)]), &[0.0], lane_change, 0);
        assert_eq!(done.len(), 1, "lane change {lane_change}");
        assert!(done[0].1 < ONE_TRIP_BOUND_S, "{done:?}");
    }
}

/// W → A → B → C → S, where no lane of A→B leads (through links) into the only lane of B→C
/// that turns right at C: the route needs lane changes, and they can be made on A→B or on
/// B→C. W→A (1 lane) leads into lane 0 of A→B (3 lanes); at B lanes 0 and 1 of A→B lead into
/// lane 0 of B→C (3 lanes) and lane 2 into lane 1; at C only lane 2 of B→C turns right into
/// C→S. From A→B's lanes the rest needs 2, 2 and 1 changes: the vehicle moves to lane 2 on
/// A→B (as SUMO's drivers keep to their "best lanes"), enters B→C on lane 1 and needs one more
/// change there — instead of reaching B→C on lane 0 with two changes left for its last road,
/// which in a queue is where vehicles got stuck for good (the SUMO pocket grid jammed so).
#[test]
fn lane_changes_a_route_needs_later_are_made_as_early_as_they_help() {
    let json = format!(
        r#"{{"intersections": [
            {},
            {{"id": "A", "point": {{"x": 300, "y": 0}}, "width": 10, "roadLinks": [
                {{"type": "go_straight", "startRoad": "WA", "endRoad": "AB", "laneLinks": [{}]}}]}},
            {{"id": "B", "point": {{"x": 600, "y": 0}}, "width": 10, "roadLinks": [
                {{"type": "go_straight", "startRoad": "AB", "endRoad": "BC", "laneLinks": [{}]}}]}},
            {{"id": "C", "point": {{"x": 900, "y": 0}}, "width": 10, "roadLinks": [
                {{"type": "go_straight", "startRoad": "BC", "endRoad": "CE", "laneLinks": [{}]}},
                {{"type": "turn_right", "startRoad": "BC", "endRoad": "CS", "laneLinks": [{}]}}]}},
            {}, {}],
          "roads": [{}, {}, {}, {}, {}]}}"#,
        boundary("W", 0.0, 0.0),
        links(&[(0, 0)]),
        links(&[(0, 0), (1, 0), (2, 1)]),
        links(&[(0, 0), (1, 1), (2, 2)]),
        links(&[(2, 0)]),
        boundary("E", 1200.0, 0.0),
        boundary("S", 900.0, -300.0),
        road("WA", "W", "A", [(0.0, 0.0), (300.0, 0.0)], 1),
        road("AB", "A", "B", [(300.0, 0.0), (600.0, 0.0)], 3),
        road("BC", "B", "C", [(600.0, 0.0), (900.0, 0.0)], 3),
        road("CE", "C", "E", [(900.0, 0.0), (1200.0, 0.0)], 3),
        road("CS", "C", "S", [(900.0, 0.0), (900.0, -300.0)], 1),
    );
    let net = roadnet::cityflow::parse_roadnet(&json, "early_change.json").expect("network builds");
    let bc = net.roads.iter().find(|r| r.name == "BC").expect("BC").id;

    /// The lane index each vehicle is first seen on, on road `road`.
    struct FirstLane(roadnet::RoadId, Vec<Option<u8>>);
    impl Observer for FirstLane {
        fn on_step(&mut self, view: &sim::observe::StepView<'_>) {
            for v in view.vehicles() {
                if let sim::observe::Place::Lane(l) = v.place {
                    let lane = view.net().lane(l);
                    let seen = &mut self.1[v.vehicle as usize];
                    if lane.road == self.0 && seen.is_none() {
                        *seen = Some(lane.index);
                    }
                }
            }
        }
    }
    for lane_change in [false, true] {
        let trips = vec![trip(&net, 0.0, &["WA", "AB", "BC", "CS"])];
        let mut sim = Simulation::new(
            net.clone(),
            &Demand::new(trips),
            SimConfig {
                duration_s: 600.0,
                lane_change,
                ..SimConfig::default()
            },
        )
        .unwrap();
        let mut first = FirstLane(bc, vec![None]);
        let m = sim.run(&mut Script { at: vec![] }, &mut first).unwrap();
        assert_eq!(
            first.1[0],
            Some(1),
            "lane change {lane_change}: entered B→C on {:?}",
            first.1[0]
        );
        assert_eq!(m.vehicles_completed, 1, "lane change {lane_change}");
    }
}
