//! Same inputs and seed → identical metrics JSON (wall-clock fields excluded).

mod common;
use controller::baseline::make_controller;
use sim::synthetic::{grid, GridSpec};
use sim::{NoObserver, SimConfig, Simulation};

fn run_json(
    net: &roadnet::RoadNet,
    demand: &roadnet::Demand,
    control: &str,
    cfg: SimConfig,
) -> String {
    let mut c = make_controller(control, net).unwrap();
    let mut s = Simulation::new(net.clone(), demand, cfg).unwrap();
    let m = s.run(c.as_mut(), &mut NoObserver).unwrap();
    serde_json::to_string(&m.without_timing()).unwrap()
}

#[test]
fn synthetic_grid_runs_are_identical() {
    let spec = GridSpec {
        nx: 3,
        ny: 3,
        spacing_m: 200.0,
        vehicles: 300,
        departure_window_s: 300.0,
        seed: 5,
    };
    let (net, demand) = grid(&spec).unwrap();
    for control in ["native", "max-pressure"] {
        let cfg = SimConfig {
            duration_s: 600.0,
            seed: 9,
            lane_change: true,
            ..SimConfig::default()
        };
        let a = run_json(&net, &demand, control, cfg.clone());
        let b = run_json(&net, &demand, control, cfg);
        assert_eq!(a, b);
    }
}

#[test]
fn jinan_runs_are_identical() {
    let Some(jinan) = testdata::jinan("jinan_runs_are_identical") else {
        return;
    };
    let dir = jinan.dir;
    let net = roadnet::cityflow::load_roadnet(&dir.join("roadnet_3_4.json")).unwrap();
    let demand = roadnet::cityflow::load_flow(&dir.join("anon_3_4_jinan_real.json"), &net).unwrap();
    let cfg = SimConfig {
        duration_s: if cfg!(debug_assertions) {
            300.0
        } else {
            3600.0
        },
        ..SimConfig::default()
    };
    let a = run_json(&net, &demand, "max-pressure", cfg.clone());
    let b = run_json(&net, &demand, "max-pressure", cfg);
    assert_eq!(a, b);
}
