//! Simulator speed: one hour of Jinan 1 under `native` (skipped, saying so, without the Jinan
//! data set: see the `testdata` crate) and
//! the synthetic 20 × 20 grid (400 signals, 15,000 vehicles over 30 min) for 30 min.

use controller::baseline::make_controller;
use criterion::{criterion_group, criterion_main, Criterion};
use sim::synthetic::{grid, GridSpec};
use sim::{NoObserver, SimConfig, Simulation};

fn run(net: &roadnet::RoadNet, demand: &roadnet::Demand, control: &str, duration_s: f64) -> f64 {
    let mut c = make_controller(control, net).expect("controller");
    let cfg = SimConfig {
        duration_s,
        ..SimConfig::default()
    };
    let mut s = Simulation::new(net.clone(), demand, cfg).expect("sim");
    s.run(c.as_mut(), &mut NoObserver)
        .expect("run")
        .average_travel_time_s
}

fn jinan(c: &mut Criterion) {
    let Some(jinan) = testdata::jinan("sim/jinan1_native_1h bench") else {
        return;
    };
    let dir = jinan.dir;
    let net = roadnet::cityflow::load_roadnet(&dir.join("roadnet_3_4.json")).expect("roadnet");
    let demand =
        roadnet::cityflow::load_flow(&dir.join("anon_3_4_jinan_real.json"), &net).expect("flow");
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("jinan1_native_1h", |b| {
        b.iter(|| run(&net, &demand, "native", 3600.0))
    });
    g.finish();
}

fn grid20(c: &mut Criterion) {
    let (net, demand) = grid(&GridSpec::benchmark()).expect("grid");
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("grid20x20_native_30min", |b| {
        b.iter(|| run(&net, &demand, "native", 1800.0))
    });
    g.finish();
}

criterion_group!(benches, jinan, grid20);
criterion_main!(benches);
