//! The schedule-driven default end to end: on seeded synthetic grids (with a camera on every
//! approach, so the controller sees the traffic) the simulator's conflict
//! monitor sees no violation (every green follows its change interval, min greens are
//! served), and `adaptive` asks for a stage only during a green and only when it differs from
//! the one showing or from the one it asked for last (holding the first green, or taking back
//! a request not yet served); the scheduler replans only at decision points.

use controller::adaptive::{Adaptive, AdaptiveParams};
use controller::estimate::Estimator;
use controller::schedule::Scheduler;
use proptest::prelude::*;
use roadnet::{Command, Controller, Interval, RoadNet, StepInput};
use sim::synthetic::{grid, grid_toml, GridSpec};
use sim::{NoObserver, SimConfig, Simulation};

/// Checks every command against the signal state it answered.
struct Checked {
    inner: Adaptive,
    requests: usize,
    bad: Vec<String>,
    last: std::collections::BTreeMap<roadnet::IntersectionId, roadnet::StageId>,
}

impl Controller for Checked {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let from = out.len();
        self.inner.step(input, out);
        for c in &out[from..] {
            match c {
                Command::SwitchTo {
                    intersection,
                    stage,
                } => {
                    self.requests += 1;
                    let sig = input
                        .signals
                        .iter()
                        .find(|s| s.intersection == *intersection);
                    let news = self.last.insert(*intersection, *stage) != Some(*stage);
                    match sig {
                        Some(s) if s.interval == Interval::Green && (s.stage != *stage || news) => {
                        }
                        other => self.bad.push(format!(
                            "t={} request {stage} against {other:?}",
                            input.time_s
                        )),
                    }
                }
                Command::ApplyPlan(_) => self
                    .bad
                    .push(format!("t={} plan in free mode", input.time_s)),
                // the fallback plan kept current for the field: never on the lamps here
                Command::StandbyPlan(_) => {}
            }
        }
    }
}

/// The scheduler alone behind the estimator, counting when it replans: never during a change
/// interval or before the green's min green, and not at every green step past it either (the
/// last schedule holds until new information arrives or its extension ends).
struct Replans {
    net: RoadNet,
    estimator: Estimator,
    sched: Scheduler,
    min_green_s: f64,
    /// Replans at steps that are no decision point (must stay 0).
    misplaced: usize,
    /// Green steps past min green (where a replan may happen).
    eligible: usize,
}

impl Controller for Replans {
    fn name(&self) -> &str {
        "scheduler"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.estimator.update(&self.net, input);
        for sig in input.signals {
            let before = self.sched.replans();
            let want = self
                .sched
                .decide(&self.net, self.estimator.state(), sig, input.time_s);
            let replanned = self.sched.replans() > before;
            // a clearance stage showing is a decision point at once (the scheduler picks the
            // stage to serve next)
            let eligible = sig.interval == Interval::Green
                && (self.net.stage(sig.stage).clearance
                    || sig.green_elapsed_s + 1e-9 >= self.min_green_s);
            if eligible {
                self.eligible += 1;
            } else if replanned {
                self.misplaced += 1;
            }
            if let Some(stage) = want {
                out.push(Command::SwitchTo {
                    intersection: sig.intersection,
                    stage,
                });
            }
        }
    }
}

/// The grid of `vehicles` trips with a camera over the whole of every road into a signal.
fn camera_grid(seed: u64, vehicles: usize) -> (RoadNet, roadnet::Demand) {
    let (net, demand) = grid(&GridSpec {
        nx: 2,
        ny: 2,
        spacing_m: 300.0,
        vehicles,
        departure_window_s: 600.0,
        seed,
    })
    .expect("grid builds");
    let mut text = grid_toml(2, 2, 300.0);
    for r in &net.roads {
        if !net.intersection(r.to).is_signalized() {
            continue;
        }
        let lanes: Vec<String> = (0..r.lanes.len())
            .map(|k| format!("\"{}:{k}\"", r.name))
            .collect();
        text += &format!(
            "[[camera]]\nid = \"cam_{}\"\nlanes = [{}]\nzone_near_m = 0.0\nzone_far_m = 400.0\n\n",
            r.name,
            lanes.join(", ")
        );
    }
    let net = roadnet::config::parse_toml(&text, "grid.toml").expect("grid with cameras");
    (net, demand)
}

#[test]
fn the_scheduler_replans_only_at_decision_points() {
    let (net, demand) = camera_grid(7, 400);
    let params = AdaptiveParams::default();
    let cfg = SimConfig {
        track_vehicles: true,
        duration_s: 900.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), &demand, cfg).expect("sim builds");
    // every stage's min green is at least the adaptive min green (the grid's own may be longer:
    // those steps only count as eligible here, which makes the check stricter, not looser)
    let mut c = Replans {
        estimator: Estimator::new(&net, params.estimator),
        sched: Scheduler::new(&net, &params),
        net: net.clone(),
        min_green_s: params.min_green_s,
        misplaced: 0,
        eligible: 0,
    };
    let m = sim.run(&mut c, &mut NoObserver).expect("run completes");
    assert_eq!(m.safety_violations, 0);
    assert!(m.vehicles_completed > 0);
    assert_eq!(
        c.misplaced, 0,
        "replans during change intervals or before min green"
    );
    let replans = c.sched.replans() as usize;
    assert!(replans > 0, "the scheduler never planned");
    assert!(
        replans < c.eligible,
        "{replans} replans at {} eligible green steps: it replans every step",
        c.eligible
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]
    #[test]
    fn any_demand_gives_a_safe_lamp_sequence(seed in 0u64..1_000, vehicles in 100usize..600) {
        // the grid with a camera over the whole of every road into a signal
        let (net, demand) = camera_grid(seed, vehicles);
        let cfg = SimConfig {
            track_vehicles: true,
            duration_s: 900.0,
            ..SimConfig::default()
        };
        let mut sim = Simulation::new(net.clone(), &demand, cfg).expect("sim builds");
        let mut c = Checked {
            inner: Adaptive::new(&net),
            requests: 0,
            bad: Vec::new(),
            last: Default::default(),
        };
        let m = sim.run(&mut c, &mut NoObserver).expect("run completes");
        prop_assert_eq!(m.safety_violations, 0);
        prop_assert!(c.bad.is_empty(), "{:?}", &c.bad[..c.bad.len().min(5)]);
        prop_assert!(c.requests > 0, "the scheduler never changed a stage");
        prop_assert!(m.vehicles_completed > 0);
    }
}
