//! The synthetic grid builds and runs.

use sim::synthetic::{grid, GridSpec};
use sim::{NoObserver, SimConfig, Simulation};

struct Idle;
impl roadnet::Controller for Idle {
    fn name(&self) -> &str {
        "idle"
    }
    fn step(&mut self, _: &roadnet::StepInput<'_>, _: &mut Vec<roadnet::Command>) {}
}

#[test]
fn small_grid_runs_and_vehicles_finish() {
    let spec = GridSpec {
        nx: 3,
        ny: 3,
        spacing_m: 200.0,
        vehicles: 200,
        departure_window_s: 300.0,
        seed: 3,
    };
    let (net, demand) = grid(&spec).expect("grid builds");
    assert_eq!(net.signalized().count(), 9);
    let cfg = SimConfig {
        duration_s: 900.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net, &demand, cfg).unwrap();
    let m = sim.run(&mut Idle, &mut NoObserver).unwrap();
    assert_eq!(m.vehicles_generated, 200);
    assert!(m.vehicles_completed > 0, "{m:?}");
    assert_eq!(m.safety_violations, 0);
}
