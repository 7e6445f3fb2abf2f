//! Optimizer speed: replanning 1,000 intersections (target < 50 ms) and the exact two-way band
//! offsets (MAXBAND MILP, microlp) of a 7- and a 20-intersection corridor.

use controller::estimate::TrafficState;
use controller::optimize::corridor::{maxband_offsets, BandProblem, Window};
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

/// A corridor of `n` signals 250–650 m apart at a 100 s cycle, 35–55 s arterial greens.
fn corridor(n: usize, seed: u64) -> BandProblem {
    let mut rng = SplitMix64::new(seed);
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
    BandProblem {
        cycle_s: cycle,
        out_windows: windows.clone(),
        in_windows: windows,
        t_out_s: xs.iter().map(|x| x / 13.9).collect(),
        t_in_s: xs.iter().map(|x| (total - x) / 13.9).collect(),
        inbound_weight: 1.0,
    }
}

fn offsets(c: &mut Criterion) {
    for n in [7, 20] {
        let p = corridor(n, 11);
        c.bench_function(&format!("maxband_{n}_intersection_corridor"), |b| {
            b.iter(|| maxband_offsets(black_box(&p)).map(|(o, _)| o))
        });
    }
}

criterion_group!(benches, replan, offsets);
criterion_main!(benches);
