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

/// `wa_lanes` lanes on W→A with the given lane links into A→B (2 lanes); at B, both lanes of
/// A→B go straight on to B→E lane by lane, and only lane 1 (CityFlow's outer lane, on the
/// right) turns right into B→S (1 lane).
fn net(wa_lanes: usize, a_links: &[(usize, usize)]) -> RoadNet {
    let lane = r#"{"width": 3.2, "maxSpeed": 11.111}"#;
    let lanes = |n: usize| format!("[{}]", vec![lane; n].join(","));
    let links = |l: &[(usize, usize)]| {
        l.iter()
            .map(|(s, e)| {
                format!(r#"{{"startLaneIndex": {s}, "endLaneIndex": {e}, "points": []}}"#)
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let road = |id: &str, from: &str, to: &str, p: [(f64, f64); 2], n: usize| {
        format!(
            r#"{{"id": "{id}", "startIntersection": "{from}", "endIntersection": "{to}",
               "points": [{{"x": {}, "y": {}}}, {{"x": {}, "y": {}}}], "lanes": {}}}"#,
            p[0].0,
            p[0].1,
            p[1].0,
            p[1].1,
            lanes(n)
        )
    };
    let boundary = |id: &str, x: f64, y: f64| {
        format!(
            r#"{{"id": "{id}", "point": {{"x": {x}, "y": {y}}}, "virtual": true, "roadLinks": []}}"#
        )
    };
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
