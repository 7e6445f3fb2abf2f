//! Each edit kind takes effect in the simulator: demand scaling gives round(factor × n) trips,
//! a banned turn carries no vehicle (its trips rerouted, or dropped without a route), closures reach the simulator with open windows cut out,
//! a stage's min green shows in the greens run, a corridor cycle range in the adaptive
//! controller's plans, and a fixed plan is what its intersection runs.

use super::*;
use roadnet::{Interval, VehicleParams};
use sim::{Observer, Place, SimConfig, Simulation, StepView};
use std::collections::BTreeMap;

fn bundled() -> RoadNet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("intersections.toml");
    roadnet::load_network(&path).expect("bundled network")
}

fn scenario(net: &RoadNet, text: &str) -> Scenario {
    parse(text, "test.toml", "test", net).unwrap_or_else(|e| panic!("{e}"))
}

/// The bundled day of counts, seed 0.
fn day(net: &RoadNet) -> Demand {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/main_street_counts.csv");
    roadnet::counts::load_counts(&path, net).unwrap().to_demand(
        net,
        0,
        VehicleParams {
            max_speed_m_s: 16.67,
            ..VehicleParams::default()
        },
    )
}

/// The 07:00–08:00 trips of the bundled day, moved to start at 0.
fn morning(net: &RoadNet) -> Demand {
    Demand::new(
        day(net)
            .trips
            .into_iter()
            .filter(|t| (25_200.0..28_800.0).contains(&t.departure_s))
            .map(|mut t| {
                t.departure_s -= 25_200.0;
                t
            })
            .collect(),
    )
}

/// Records every indication change at the intersections it watches.
#[derive(Default)]
struct Greens {
    /// (intersection, stage) → lengths of every completed green, s.
    lengths: BTreeMap<(IntersectionId, StageId), Vec<f64>>,
    last: BTreeMap<IntersectionId, (StageId, Interval, f64)>,
    /// vehicles seen on a lane link of `movement`
    movement: Option<MovementId>,
    on_movement: usize,
}

impl Observer for Greens {
    fn on_step(&mut self, view: &StepView<'_>) {
        for s in view.signals() {
            let prev = self
                .last
                .insert(s.intersection, (s.stage, s.interval, s.green_elapsed_s));
            if let Some((stage, Interval::Green, green)) = prev {
                if s.interval != Interval::Green {
                    // the stage just ended: it showed green for `green` s
                    self.lengths
                        .entry((s.intersection, stage))
                        .or_default()
                        .push(green);
                }
            }
        }
        if let Some(m) = self.movement {
            self.on_movement += view
                .vehicles()
                .filter(|v| matches!(v.place, Place::Link { movement, .. } if movement == m))
                .count();
        }
    }
}

/// A controller that records the plans it sends.
struct Spy {
    inner: Box<dyn Controller>,
    plans: Vec<SignalPlan>,
    commands_for: BTreeMap<IntersectionId, usize>,
}

impl Controller for Spy {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let from = out.len();
        self.inner.step(input, out);
        for c in &out[from..] {
            let at = match c {
                Command::ApplyPlan(p) => {
                    self.plans.push(p.clone());
                    p.intersection
                }
                Command::StandbyPlan(p) => p.intersection,
                Command::SwitchTo { intersection, .. } => *intersection,
            };
            *self.commands_for.entry(at).or_default() += 1;
        }
    }
}

fn run(s: &Scenario, demand: &Demand, control: &str, duration_s: f64, obs: &mut Greens) -> Spy {
    let cfg = SimConfig {
        duration_s,
        track_vehicles: controller::needs_vehicle_tracking(control),
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(s.net.clone(), demand, cfg).unwrap();
    sim.set_lane_closures(s.closures.clone()).unwrap();
    let mut spy = Spy {
        inner: s.controller(control, None).unwrap(),
        plans: Vec::new(),
        commands_for: BTreeMap::new(),
    };
    let m = sim.run(&mut spy, obs).unwrap();
    assert_eq!(m.safety_violations, 0);
    spy
}

#[test]
fn demand_scaling_gives_round_factor_times_n_trips() {
    let net = bundled();
    let base = day(&net);
    let n = base.trips.len();
    let s = scenario(&net, "[[demand]]\nfactor = 1.15\n");
    let (d, ch) = s.apply_demand(&base, 0);
    assert_eq!(d.trips.len(), (1.15 * n as f64).round() as usize);
    assert_eq!((ch.trips_before, ch.trips_after), (n, d.trips.len()));
    // sorted by departure, every copy a trip of the base demand within 30 s
    assert!(d
        .trips
        .windows(2)
        .all(|w| w[0].departure_s <= w[1].departure_s));
    // seeded: same seed same trips, another seed other copies
    assert_eq!(s.apply_demand(&base, 0).0, d);
    assert_ne!(s.apply_demand(&base, 1).0, d);
    // by origin and window: only the trips entering from west_end 07:00–09:00 change
    let s = scenario(
        &net,
        "[[demand]]\nfactor = 0.5\norigin = \"west_end\"\nfrom = \"07:00\"\nto = \"09:00\"\n",
    );
    let west = net.intersection_by_name("west_end").unwrap();
    let hit = |t: &roadnet::Trip| {
        net.road(t.route[0]).from == west && (25_200.0..32_400.0).contains(&t.departure_s)
    };
    let before = base.trips.iter().filter(|t| hit(t)).count();
    let (d, _) = s.apply_demand(&base, 3);
    assert!(before > 100);
    assert_eq!(
        d.trips.iter().filter(|t| hit(t)).count(),
        (0.5 * before as f64).round() as usize
    );
    assert_eq!(
        d.trips.iter().filter(|t| !hit(t)).count(),
        base.trips.iter().filter(|t| !hit(t)).count()
    );
    // and the simulator releases them: ×1.15 on the morning hour gives 15 % more vehicles
    let m = morning(&net);
    let s = scenario(&net, "[[demand]]\nfactor = 1.15\n");
    let (m15, _) = s.apply_demand(&m, 0);
    let count = |d: &Demand| {
        let cfg = SimConfig {
            duration_s: 3600.0,
            ..SimConfig::default()
        };
        let mut sim = Simulation::new(net.clone(), d, cfg).unwrap();
        let mut c = s.controller("fixed-time", None).unwrap();
        sim.run(c.as_mut(), &mut sim::NoObserver)
            .unwrap()
            .vehicles_generated
    };
    let (a, b) = (count(&m), count(&m15));
    // copies of trips leaving just before the hour's end may be jittered past it
    assert!((b as f64 - 1.15 * a as f64).abs() <= 3.0, "{a} → {b}");
}

/// Trips of `d` whose route takes movement `mv` and that leave in `[from_s, to_s)`.
fn using(net: &RoadNet, d: &Demand, mv: MovementId, from_s: f64, to_s: f64) -> usize {
    d.trips
        .iter()
        .filter(|t| {
            (from_s..to_s).contains(&t.departure_s)
                && t.route
                    .windows(2)
                    .any(|w| net.movement_between(w[0], w[1]) == Some(mv))
        })
        .count()
}

/// The simulator's figures of a run, printed without the wall-clock ones: equal strings are
/// byte-identical runs.
fn run_text(s: &Scenario, d: &Demand, duration_s: f64) -> String {
    let cfg = SimConfig {
        duration_s,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(s.net.clone(), d, cfg).unwrap();
    sim.set_lane_closures(s.closures.clone()).unwrap();
    let mut c = s.controller("fixed-time", None).unwrap();
    let mut m = sim.run(c.as_mut(), &mut sim::NoObserver).unwrap();
    (m.wall_s, m.steps_per_s, m.vehicle_updates_per_s) = (0.0, 0.0, 0.0);
    format!("{m:?}")
}

#[test]
fn a_banned_turn_on_the_corridor_carries_no_vehicle_and_its_trips_have_no_other_way() {
    // The bundled corridor is a tree: a side street is reached from Main Street only at its
    // own junction, and no junction has a U-turn. So a banned Main Street left has no
    // alternative and every trip that took it in the window is dropped as having no route.
    let net = bundled();
    let m = morning(&net);
    let s = scenario(
        &net,
        "[[turn]]\nmovement = \"main_eb_pine:L\"\naction = \"ban\"\nto = \"00:30\"\n",
    );
    let mv = s.turns[0].movement;
    let in_window = using(&net, &m, mv, 0.0, 1800.0);
    assert!(in_window > 5, "{in_window}");
    let (d, ch) = s.apply_demand(&m, 0);
    assert_eq!(ch.rerouted_banned, 0);
    assert_eq!(ch.rerouted_closed, 0);
    assert_eq!(ch.dropped_no_route, in_window);
    assert_eq!(d.trips.len(), m.trips.len() - in_window);
    assert_eq!(
        (ch.trips_before, ch.trips_after),
        (m.trips.len(), d.trips.len())
    );
    // after the window the turn is taken again, by the same trips as without the ban
    assert_eq!(
        using(&net, &d, mv, 1800.0, 3600.0),
        using(&net, &m, mv, 1800.0, 3600.0)
    );
    // in the simulator: used without the ban, not at all in the window with it
    let count = |s: &Scenario, d: &Demand| {
        let mut g = Greens {
            movement: Some(mv),
            ..Greens::default()
        };
        run(s, d, "fixed-time", 1800.0, &mut g);
        g.on_movement
    };
    assert!(count(&scenario(&net, "name = \"baseline\""), &m) > 0);
    assert_eq!(count(&s, &d), 0);
    // an allow edit later in the file lifts the ban for its window
    let s = scenario(
        &net,
        "[[turn]]\nmovement = \"main_eb_pine:L\"\naction = \"ban\"\n\
         [[turn]]\nmovement = \"main_eb_pine:L\"\naction = \"allow\"\nto = \"00:30\"\n",
    );
    let (_, ch) = s.apply_demand(&m, 0);
    assert_eq!(ch.dropped_no_route, using(&net, &m, mv, 1800.0, 1e9));
}

/// The 2×2 grid of `tests/fixtures/grid2x2.toml` (the one `roadnet::routing`'s tests build).
fn grid() -> RoadNet {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grid2x2.toml");
    roadnet::load_network(&path).expect("the grid fixture")
}

/// `n` trips along `route` (road names), one every `every_s` seconds from `first_s`.
fn trips(
    net: &RoadNet,
    route: &[&str],
    n: usize,
    first_s: f64,
    every_s: f64,
) -> Vec<roadnet::Trip> {
    let route: Vec<RoadId> = route.iter().map(|r| net.road_by_name(r).unwrap()).collect();
    (0..n)
        .map(|k| roadnet::Trip {
            departure_s: first_s + k as f64 * every_s,
            route: route.clone(),
            params: VehicleParams::default(),
        })
        .collect()
}

#[test]
fn banned_turns_on_a_grid_are_rerouted_round_the_block_or_dropped_without_a_route() {
    let net = grid();
    // A: west into the top street, left at j_0_1 out north — banned 00:00–00:10, then the
    //    way round the block is through, right, right, right, through (hand-checked in
    //    roadnet::routing's tests)
    let a = ["b_-1_1__j_0_1", "j_0_1__b_0_2"];
    let round = [
        "b_-1_1__j_0_1",
        "j_0_1__j_1_1",
        "j_1_1__j_1_0",
        "j_1_0__j_0_0",
        "j_0_0__j_0_1",
        "j_0_1__b_0_2",
    ];
    // B: west into the bottom street, left at j_0_0 up the left street: with that left and
    //    the next one at j_1_0 banned all day, eastbound traffic can only leave the grid
    let b = ["b_-1_0__j_0_0", "j_0_0__j_0_1", "j_0_1__b_0_2"];
    // C: north up the left street, through and through: no ban on its way
    let c = ["b_0_-1__j_0_0", "j_0_0__j_0_1", "j_0_1__b_0_2"];
    let mut all = trips(&net, &a, 20, 0.0, 60.0); // 10 in the window, 10 after
    all.extend(trips(&net, &b, 7, 5.0, 90.0));
    all.extend(trips(&net, &c, 9, 10.0, 70.0));
    let base = Demand::new(all);
    let s = scenario(
        &net,
        "[[turn]]\nmovement = \"b_-1_1__j_0_1:L\"\naction = \"ban\"\nto = \"00:10\"\n\
         [[turn]]\nmovement = \"b_-1_0__j_0_0:L\"\naction = \"ban\"\n\
         [[turn]]\nmovement = \"j_0_0__j_1_0:L\"\naction = \"ban\"\n",
    );
    let mv_a = s.turns[0].movement;
    let used =
        using(&net, &base, mv_a, 0.0, 600.0) + using(&net, &base, s.turns[1].movement, 0.0, 1e9);
    assert_eq!(used, 10 + 7);
    let (d, ch) = s.apply_demand(&base, 0);
    assert_eq!(ch.rerouted_banned, 10);
    assert_eq!(ch.dropped_no_route, 7);
    assert_eq!(ch.rerouted_banned, used - ch.dropped_no_route);
    assert_eq!(ch.rerouted_closed, 0);
    assert_eq!(d.trips.len(), base.trips.len() - 7);
    let names = |t: &roadnet::Trip| -> Vec<String> {
        t.route.iter().map(|r| net.road(*r).name.clone()).collect()
    };
    for t in &d.trips {
        let n = names(t);
        if t.departure_s < 600.0 && n[0] == a[0] {
            assert_eq!(n, round);
        } else if n[0] == a[0] {
            assert_eq!(n, a, "after the window the left is allowed again");
        } else {
            assert_eq!(n, c, "B is dropped, C unchanged");
        }
    }
    // deterministic: the same seed gives the same demand and a byte-identical run
    assert_eq!(s.apply_demand(&base, 0), (d.clone(), ch));
    assert_eq!(
        s.apply_demand(&base, 1).0,
        d,
        "no seed enters the rerouting"
    );
    assert_eq!(run_text(&s, &d, 1800.0), run_text(&s, &d, 1800.0));
    // in the simulator: the banned left carries no vehicle in its window, every vehicle comes
    // through, and the rerouted ones take the right turns round the block
    let mut g = Greens {
        movement: Some(mv_a),
        ..Greens::default()
    };
    run(&s, &d, "fixed-time", 600.0, &mut g);
    assert_eq!(g.on_movement, 0);
    let right_at_00 = net
        .movement_between(
            net.road_by_name("j_1_0__j_0_0").unwrap(),
            net.road_by_name("j_0_0__j_0_1").unwrap(),
        )
        .unwrap();
    let mut g = Greens {
        movement: Some(right_at_00),
        ..Greens::default()
    };
    run(&s, &d, "fixed-time", 1800.0, &mut g);
    assert!(g.on_movement > 0, "the detour is driven");
    let text = run_text(&s, &d, 3600.0);
    assert!(
        text.contains(&format!("vehicles_completed: {}", d.trips.len())),
        "{text}"
    );
}

#[test]
fn a_closed_road_on_a_grid_is_driven_round() {
    let net = grid();
    let c = ["b_0_-1__j_0_0", "j_0_0__j_0_1", "j_0_1__b_0_2"];
    let base = Demand::new(trips(&net, &c, 12, 0.0, 100.0));
    // the left street northbound closed 00:00–00:10 (its only lane); the trips' first road
    // closed 00:00–00:05 too: that is their own origin, which they cannot avoid (they wait)
    let s = scenario(
        &net,
        "[[lanes]]\nroad = \"j_0_0__j_0_1\"\naction = \"close\"\nto = \"00:10\"\n\
         [[lanes]]\nroad = \"b_0_-1__j_0_0\"\naction = \"close\"\nto = \"00:05\"\n",
    );
    assert_eq!(s.road_closures.len(), 2);
    let (d, ch) = s.apply_demand(&base, 0);
    assert_eq!(ch.rerouted_closed, 6, "the trips leaving in the window");
    assert_eq!((ch.rerouted_banned, ch.dropped_no_route), (0, 0));
    let via = [
        "b_0_-1__j_0_0",
        "j_0_0__j_1_0",
        "j_1_0__j_1_1",
        "j_1_1__j_0_1",
        "j_0_1__b_0_2",
    ];
    for t in &d.trips {
        let n: Vec<&str> = t.route.iter().map(|r| net.road(*r).name.as_str()).collect();
        if t.departure_s < 600.0 {
            assert_eq!(n, via);
        } else {
            assert_eq!(n, c);
        }
    }
}

#[test]
fn lane_edits_become_closures_with_open_windows_cut_out() {
    let net = bundled();
    let s = scenario(
        &net,
        "[[lanes]]\nroad = \"main_eb_elm\"\naction = \"close\"\nfrom = \"09:00\"\nto = \"15:00\"\n\
         [[lanes]]\nroad = \"main_eb_elm\"\nlanes = [0, 2]\naction = \"open\"\nfrom = \"11:00\"\nto = \"12:00\"\n",
    );
    let road = net.road(net.road_by_name("main_eb_elm").unwrap());
    let h = 3600.0;
    let want: Vec<(LaneId, f64, f64)> = vec![
        (road.lanes[0], 9.0 * h, 11.0 * h),
        (road.lanes[0], 12.0 * h, 15.0 * h),
        (road.lanes[1], 9.0 * h, 15.0 * h),
        (road.lanes[2], 9.0 * h, 11.0 * h),
        (road.lanes[2], 12.0 * h, 15.0 * h),
    ];
    let got: Vec<(LaneId, f64, f64)> = s
        .closures
        .iter()
        .map(|c| (c.lane, c.from_s, c.to_s))
        .collect();
    assert_eq!(got, want);
    // and they reach the simulator: closing the whole road for the first half hour of the
    // morning holds its vehicles, which then all come through
    let m = morning(&net);
    let s = scenario(
        &net,
        "[[lanes]]\nroad = \"main_eb_elm\"\naction = \"close\"\nto = \"00:30\"\n",
    );
    let through = MovementId(
        net.movement_between(road.id, net.road_by_name("main_eb_pine").unwrap())
            .unwrap()
            .0,
    );
    let count = |s: &Scenario, dur: f64| {
        let mut g = Greens {
            movement: Some(through),
            ..Greens::default()
        };
        run(s, &m, "fixed-time", dur, &mut g);
        g.on_movement
    };
    assert_eq!(count(&s, 1790.0), 0, "no one through elm while closed");
    assert!(count(&s, 3600.0) > 0);
    assert!(count(&scenario(&net, "name = \"baseline\""), 1790.0) > 0);
}

#[test]
fn a_min_green_change_shows_in_the_greens_run() {
    let net = bundled();
    let m = morning(&net);
    let pine = net.intersection_by_name("pine").unwrap();
    let side = *net
        .intersection(pine)
        .stages
        .iter()
        .find(|s| net.stage(**s).name == "side")
        .unwrap();
    let greens = |s: &Scenario| {
        let mut g = Greens::default();
        run(s, &m, "adaptive", 3600.0, &mut g);
        g.lengths.get(&(pine, side)).cloned().unwrap_or_default()
    };
    let before = greens(&scenario(&net, "name = \"baseline\""));
    assert!(
        before.iter().any(|g| *g < 34.0),
        "the adaptive controller ends some side greens early: {before:?}"
    );
    let s = scenario(
        &net,
        "[[stage]]\nintersection = \"pine\"\nstage = \"side\"\nmin_green_s = 35.0\n",
    );
    assert_eq!(s.net.stage(side).limits.min_green_s, 35.0);
    let after = greens(&s);
    assert!(!after.is_empty());
    assert!(after.iter().all(|g| *g >= 35.0 - 1e-6), "{after:?}");
    // the fixed strategies run it too: the base plan's side green rises to 35 s
    let plan = controller::baseline::base_plan(&s.net, pine);
    let split = plan.stages.iter().find(|x| x.stage == side).unwrap();
    assert!((split.green_s(&s.net) - 35.0).abs() < 1e-9);
}

#[test]
fn a_corridor_cycle_range_bounds_the_adaptive_plans() {
    let net = bundled();
    let m = morning(&net);
    assert!(scenario(&net, "name = \"baseline\"")
        .adaptive_params()
        .is_none());
    // the corridor cycle the adaptive controller plans, coordinated, after the morning hour
    let cycle = |s: &Scenario, p: controller::adaptive::AdaptiveParams| -> (f64, Vec<f64>) {
        let cfg = SimConfig {
            duration_s: 3600.0,
            track_vehicles: true,
            ..SimConfig::default()
        };
        let mut sim = Simulation::new(s.net.clone(), &m, cfg).unwrap();
        let mut a = controller::adaptive::Adaptive::with_params(&s.net, p);
        let metrics = sim.run(&mut a, &mut sim::NoObserver).unwrap();
        assert_eq!(metrics.safety_violations, 0);
        let plan = a.corridor_plan(0).expect("a corridor plan");
        let running = a.plans().iter().map(|p| p.cycle_s).collect();
        (plan.cycle_s, running)
    };
    let s = scenario(
        &net,
        "[[corridor]]\ncorridor = \"main\"\ncycle_min_s = 75.0\ncycle_max_s = 90.0\n",
    );
    let held = s.adaptive_params().unwrap();
    assert!(held.coordinate);
    let free = controller::adaptive::AdaptiveParams {
        coordinate: true,
        ..controller::adaptive::AdaptiveParams::default()
    };
    let (c_free, _) = cycle(&s, free);
    let (c_held, running) = cycle(&s, held);
    assert!(
        c_free > 90.0,
        "the morning cycle without the range: {c_free}"
    );
    assert!((75.0..=90.0).contains(&c_held), "{c_held}");
    // the plans the intersections run have reached it (bounded steps of the transition)
    assert!(!running.is_empty());
    assert!(
        running
            .iter()
            .all(|c| (75.0 - 1e-6..=90.0 + 1e-6).contains(c)),
        "{running:?}"
    );
}

#[test]
fn a_fixed_plan_is_what_its_intersection_runs() {
    let net = bundled();
    let m = morning(&net);
    let s = scenario(
        &net,
        "[[plan]]\nintersection = \"walnut\"\ncycle_s = 100.0\nstages = [\
         { stage = \"main_through\", green_s = 48.5 }, { stage = \"main_left\", green_s = 6.0 },\
         { stage = \"side\", green_s = 28.0 }]\n",
    );
    let walnut = net.intersection_by_name("walnut").unwrap();
    let mut g = Greens::default();
    let spy = run(&s, &m, "max-pressure", 1800.0, &mut g);
    // the only command walnut got is the plan; the other intersections are max-pressure's
    assert_eq!(spy.commands_for.get(&walnut), Some(&1));
    assert!(spy.commands_for.len() > 1);
    for (stage, green) in [("main_through", 48.5), ("main_left", 6.0), ("side", 28.0)] {
        let id = *net
            .intersection(walnut)
            .stages
            .iter()
            .find(|x| net.stage(**x).name == stage)
            .unwrap();
        let lengths = &g.lengths[&(walnut, id)];
        assert!(lengths.len() >= 10);
        // whole-second steps: a 48.5 s green shows for 48 or 49 steps
        assert!(
            lengths.iter().skip(1).all(|l| (l - green).abs() <= 1.0),
            "{stage}: {lengths:?}"
        );
    }
}

/// The bundled network and its morning hour, built once for the proptest's cases.
static MORNING: std::sync::LazyLock<(RoadNet, Demand)> = std::sync::LazyLock::new(|| {
    let net = bundled();
    let m = morning(&net);
    (net, m)
});

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Random bans (movements and windows) on the bundled corridor's morning hour and on the
    /// grid with random trips: every trip that comes out has a connected route through
    /// movements not banned at its departure, from its origin road to its destination road,
    /// no faster than the free-flow shortest route; a rerouted trip's route is exactly as fast
    /// as the shortest allowed one; the trips that took a banned turn are the rerouted plus
    /// the dropped ones, and only those are dropped.
    #[test]
    fn rerouted_demand_is_connected_unbanned_and_shortest(
        on_grid in proptest::bool::ANY,
        bans in proptest::collection::vec((0..10_000usize, 0..60u32, 1..60u32), 1..8),
        trip_picks in proptest::collection::vec((0..10_000usize, 0..10_000usize, 0..3600u32), 30),
    ) {
        let grid_net;
        let (net, base): (&RoadNet, Demand) = if on_grid {
            grid_net = grid();
            let r = Router::new(&grid_net);
            let ins: Vec<RoadId> = grid_net.roads.iter()
                .filter(|x| grid_net.intersection(x.from).kind == IntersectionKind::Boundary)
                .map(|x| x.id).collect();
            let outs: Vec<RoadId> = grid_net.roads.iter()
                .filter(|x| grid_net.intersection(x.to).kind == IntersectionKind::Boundary)
                .map(|x| x.id).collect();
            let trips = trip_picks.iter().filter_map(|(a, b, t)| {
                let route = r.shortest_route(ins[a % ins.len()], outs[b % outs.len()], &Avoid::NOTHING)?;
                Some(roadnet::Trip { departure_s: *t as f64, route, params: VehicleParams::default() })
            }).collect();
            (&grid_net, Demand::new(trips))
        } else {
            (&MORNING.0, MORNING.1.clone())
        };
        let mut text = String::from("name = \"bans\"\n");
        for (k, from_min, len_min) in &bans {
            let m = net.movement(net.movements[k % net.movements.len()].id);
            text += &format!(
                "[[turn]]\nmovement = \"{}:{}\"\naction = \"ban\"\nfrom = \"00:{:02}\"\nto = \"{:02}:{:02}\"\n",
                net.road(m.from_road).name, m.turn.letter(), from_min,
                (from_min + len_min) / 60, (from_min + len_min) % 60
            );
        }
        let s = scenario(net, &text);
        let takes_ban = |t: &roadnet::Trip| {
            let banned = s.banned_at(t.departure_s);
            t.route.windows(2).any(|w| net.movement_between(w[0], w[1])
                .is_some_and(|m| banned.contains(&m)))
        };
        let used = base.trips.iter().filter(|t| takes_ban(t)).count();
        let (d, ch) = s.apply_demand(&base, 7);
        proptest::prop_assert_eq!(ch.rerouted_banned + ch.dropped_no_route, used);
        proptest::prop_assert_eq!(d.trips.len(), base.trips.len() - ch.dropped_no_route);
        proptest::prop_assert_eq!(ch.rerouted_closed, 0);
        let r = Router::new(net);
        // the trips that did not take a banned turn come out unchanged, in order
        let kept: Vec<&roadnet::Trip> = base.trips.iter().filter(|t| !takes_ban(t)).collect();
        let unchanged: Vec<&roadnet::Trip> = d.trips.iter().filter(|t| {
            base.trips.iter().any(|b| b == *t && !takes_ban(b))
        }).collect();
        proptest::prop_assert_eq!(unchanged.len(), kept.len());
        let mut rerouted = 0;
        for t in &d.trips {
            proptest::prop_assert!(!takes_ban(t), "a banned turn left in {:?}", t.route);
            let (from, to) = (t.route[0], *t.route.last().unwrap());
            for w in t.route.windows(2) {
                proptest::prop_assert!(net.movement_between(w[0], w[1]).is_some());
            }
            let free = r.shortest_route(from, to, &Avoid::NOTHING).unwrap();
            proptest::prop_assert!(r.route_free_flow_s(&t.route) >= r.route_free_flow_s(&free));
            if !base.trips.iter().any(|b| b == t) {
                rerouted += 1;
                let best = r
                    .shortest_route(from, to, &Avoid::new(s.banned_at(t.departure_s), vec![]))
                    .unwrap();
                proptest::prop_assert_eq!(r.route_free_flow_s(&t.route), r.route_free_flow_s(&best));
            }
        }
        proptest::prop_assert!(rerouted <= ch.rerouted_banned);
    }
}
