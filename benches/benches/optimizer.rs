//! Optimizer speed: replanning 1,000 intersections (target < 50 ms) and the two-way band
//! offsets of a 20-intersection corridor (target < 20 ms).

use controller::estimate::TrafficState;
use controller::optimize::corridor::{optimize_offsets, BandProblem, Window};
use controller::optimize::intersection::{plan_intersection, TimingParams};
use criterion::{criterion_group, criterion_main, Criterion};
use sim::SplitMix64;
use std::hint::black_box;

fn replan(c: &mut Criterion) {
    // 40 × 25 = 1,000 signalized intersections, four stages each
    let text = sim::synthetic::grid_toml(40, 25, 300.0);
    let net = roadnet::config::parse_toml(&text, "grid.toml").expect("grid");
    let mut rng = SplitMix64::new(7);
    let flows: Vec<f64> = (0..net.movements.len())
        .map(|_| 0.02 + 0.2 * (rng.next_u32() as f64 / u32::MAX as f64))
        .collect();
    let state = TrafficState::from_movement_flows(&net, &flows, 0.5);
    let ids: Vec<_> = net.signalized().map(|i| i.id).collect();
    assert_eq!(ids.len(), 1000);
    let p = TimingParams::default();
    c.bench_function("replan_1000_intersections", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for i in &ids {
                total += plan_intersection(&net, *i, black_box(&state), &p).cycle_s;
            }
            total
        })
    });
}

fn offsets(c: &mut Criterion) {
    let n = 20;
    let mut rng = SplitMix64::new(11);
    let mut r = || rng.next_u32() as f64 / u32::MAX as f64;
    let cycle = 100.0;
    let mut xs = vec![0.0];
    for _ in 1..n {
        let last = *xs.last().expect("non-empty");
        xs.push(last + 250.0 + 400.0 * r());
    }
    let windows: Vec<Vec<Window>> = (0..n)
        .map(|_| {
            vec![Window {
                start_s: 0.0,
                green_s: 35.0 + 20.0 * r(),
                yellow_s: 4.0,
            }]
        })
        .collect();
    let total = xs[n - 1];
    let p = BandProblem {
        cycle_s: cycle,
        out_windows: windows.clone(),
        in_windows: windows,
        t_out_s: xs.iter().map(|x| x / 13.9).collect(),
        t_in_s: xs.iter().map(|x| (total - x) / 13.9).collect(),
        inbound_weight: 1.0,
        platoon_weight: 0.01,
        offset_step_s: 1.0,
    };
    c.bench_function("offsets_20_intersection_corridor", |b| {
        b.iter(|| optimize_offsets(black_box(&p), None))
    });
}

criterion_group!(benches, replan, offsets);
criterion_main!(benches);
