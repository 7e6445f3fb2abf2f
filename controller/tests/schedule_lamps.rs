//! The schedule-driven default end to end: on seeded synthetic grids the simulator's conflict
//! monitor sees no violation (every green follows its change interval, min greens are
//! served), and `adaptive` asks for a stage only when it differs from the one showing.

use controller::adaptive::Adaptive;
use proptest::prelude::*;
use roadnet::{Command, Controller, Interval, StepInput};
use sim::synthetic::{grid, GridSpec};
use sim::{NoObserver, SimConfig, Simulation};

/// Checks every command against the signal state it answered.
struct Checked {
    inner: Adaptive,
    requests: usize,
    bad: Vec<String>,
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
                    match sig {
                        Some(s) if s.interval == Interval::Green && s.stage != *stage => {}
                        other => self.bad.push(format!(
                            "t={} request {stage} against {other:?}",
                            input.time_s
                        )),
                    }
                }
                Command::ApplyPlan(_) => self
                    .bad
                    .push(format!("t={} plan in free mode", input.time_s)),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]
    #[test]
    fn any_demand_gives_a_safe_lamp_sequence(seed in 0u64..1_000, vehicles in 100usize..600) {
        let (net, demand) = grid(&GridSpec {
            nx: 2,
            ny: 2,
            spacing_m: 300.0,
            vehicles,
            departure_window_s: 600.0,
            seed,
        })
        .expect("grid builds");
        let cfg = SimConfig {
            track_vehicles: true,
            duration_s: 900.0,
            ..SimConfig::default()
        };
        let mut sim = Simulation::new(net.clone(), &demand, cfg).expect("sim builds");
        let mut c = Checked { inner: Adaptive::new(&net), requests: 0, bad: Vec::new() };
        let m = sim.run(&mut c, &mut NoObserver).expect("run completes");
        prop_assert_eq!(m.safety_violations, 0);
        prop_assert!(c.bad.is_empty(), "{:?}", &c.bad[..c.bad.len().min(5)]);
        prop_assert!(c.requests > 0, "the scheduler never changed a stage");
        prop_assert!(m.vehicles_completed > 0);
    }
}
