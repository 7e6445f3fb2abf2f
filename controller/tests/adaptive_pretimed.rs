//! What the adaptive controller commands from the start. An intersection the controller
//! cannot see runs pretimed: a SUMO network read without its detector file has no sensors, and
//! neither the schedule nor pressure would ever serve an approach it cannot see (the SUMO
//! pocket grid gridlocked under `adaptive` so). Such an intersection gets its base plan once,
//! as `ApplyPlan`, and never a stage request; a network whose approaches are all sensed is
//! controlled, its first green held by request from its first step.

use controller::adaptive::Adaptive;
use controller::baseline::base_plan;
use roadnet::{Command, Controller, Interval, RoadNet, StepInput};
use sim::{NoObserver, SimConfig, Simulation};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../roadnet/tests/fixtures/sumo")
        .join(name)
}

/// Adaptive control, with every command it sends kept (with the time sent), and the stage
/// each intersection showed green at each step.
struct Recorded(
    Adaptive,
    Vec<(f64, Command)>,
    Vec<(f64, roadnet::IntersectionId, roadnet::StageId)>,
);

impl Controller for Recorded {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let from = out.len();
        for s in input
            .signals
            .iter()
            .filter(|s| s.interval == Interval::Green)
        {
            self.2.push((input.time_s, s.intersection, s.stage));
        }
        self.0.step(input, out);
        self.1
            .extend(out[from..].iter().map(|c| (input.time_s, c.clone())));
    }
}

type Greens = Vec<(f64, roadnet::IntersectionId, roadnet::StageId)>;

fn run(net: RoadNet, routes: &str) -> (Vec<(f64, Command)>, sim::Metrics, Greens) {
    let demand = roadnet::sumo::demand::load_routes(&fixture(routes), &net, 42)
        .expect("routes load")
        .demand;
    let mut c = Recorded(Adaptive::new(&net), Vec::new(), Vec::new());
    let mut s = Simulation::new(
        net,
        &demand,
        SimConfig {
            duration_s: 900.0,
            ..SimConfig::default()
        },
    )
    .expect("simulation");
    let m = s.run(&mut c, &mut NoObserver).expect("run");
    (c.1, m, c.2)
}

#[test]
fn intersections_without_sensors_run_their_base_plan() {
    let net = roadnet::sumo::load(&fixture("arterial6.net.xml"))
        .expect("network loads")
        .net;
    assert!(net.detectors.is_empty() && net.cameras.is_empty());
    let (commands, m, _) = run(net.clone(), "arterial6.rou.xml");
    let mut applied: Vec<_> = commands
        .iter()
        .filter_map(|(t, c)| match c {
            Command::ApplyPlan(p) => Some((*t, p.clone())),
            _ => None,
        })
        .collect();
    applied.sort_by_key(|(_, p)| p.intersection);
    let want: Vec<_> = net.signalized().map(|i| base_plan(&net, i.id)).collect();
    assert_eq!(applied.len(), want.len(), "{applied:?}");
    for ((t, got), want) in applied.iter().zip(&want) {
        assert_eq!(*t, 0.0, "sent on the first step");
        assert_eq!(got, want);
    }
    assert!(
        !commands
            .iter()
            .any(|(_, c)| matches!(c, Command::SwitchTo { .. })),
        "no stage request to an intersection it cannot see"
    );
    assert_eq!(m.safety_violations, 0);
    assert!(m.vehicles_completed > 0, "{m:?}");
}

#[test]
fn intersections_with_sensors_are_controlled() {
    let net = roadnet::sumo::load_with_additional(
        &fixture("arterial6.net.xml"),
        &fixture("arterial6_full.add.xml"),
    )
    .expect("network loads")
    .net;
    let (commands, m, greens) = run(net.clone(), "arterial6.rou.xml");
    assert!(
        !commands
            .iter()
            .any(|(_, c)| matches!(c, Command::ApplyPlan(_))),
        "no pretimed plan where every approach is sensed"
    );
    assert!(
        commands
            .iter()
            .any(|(_, c)| matches!(c, Command::SwitchTo { .. })),
        "stage requests"
    );
    assert_eq!(m.safety_violations, 0);
    // The first green is held by request at its first step, before the first decision: a
    // field controller left without one would run its local plan meanwhile, the simulator its
    // first stage, and the same controller would drive the two differently.
    for i in net.signalized() {
        let (t0, _, green) = *greens
            .iter()
            .find(|(_, id, _)| *id == i.id)
            .unwrap_or_else(|| panic!("{} shows a green", i.name));
        let first = commands.iter().find(
            |(_, c)| matches!(c, Command::SwitchTo { intersection, .. } if *intersection == i.id),
        );
        assert_eq!(
            first,
            Some(&(
                t0,
                Command::SwitchTo {
                    intersection: i.id,
                    stage: green
                }
            )),
            "{}",
            i.name
        );
    }
}
