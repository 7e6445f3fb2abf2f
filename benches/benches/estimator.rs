//! Estimator speed: one update (Kalman filters, fault rules, movement states) for 1,000
//! intersections with a camera frame on every lane and a loop reading per lane (target < 5 ms).

use controller::estimate::{Estimator, EstimatorParams};
use criterion::{criterion_group, criterion_main, Criterion};
use roadnet::{
    CameraFrame, CameraId, DetectorReading, Indication, Interval, LaneView, SignalState, StepInput,
};
use sim::SplitMix64;

fn estimator(c: &mut Criterion) {
    let text = sim::synthetic::grid_toml(40, 25, 300.0);
    let net = roadnet::config::parse_toml(&text, "grid.toml").expect("grid");
    let mut rng = SplitMix64::new(3);
    let mut r = |n: u32| rng.next_u32() % n;
    let frames: Vec<CameraFrame> = net
        .roads
        .iter()
        .map(|road| CameraFrame {
            camera: CameraId(road.id.0),
            time_s: 10.0,
            lanes: road
                .lanes
                .iter()
                .map(|l| LaneView {
                    lane: *l,
                    vehicles: r(20),
                    halting: r(10),
                    queue_length_m: 0.0,
                    departed: r(2),
                })
                .collect(),
            vehicles: Vec::new(),
        })
        .collect();
    let detectors: Vec<DetectorReading> = net
        .detectors
        .iter()
        .map(|d| DetectorReading {
            detector: d.id,
            time_s: 10.0,
            interval_s: 60.0,
            count: r(20),
            occupancy: 0.2,
            mean_speed_m_s: Some(10.0),
        })
        .collect();
    let signals: Vec<SignalState> = net
        .signalized()
        .map(|i| SignalState {
            intersection: i.id,
            stage: i.stages[0],
            interval: Interval::Green,
            time_in_interval_s: 5.0,
            green_elapsed_s: 5.0,
            next_stage: None,
            indications: (0..i.signal_groups.len())
                .map(|k| {
                    if k == 0 {
                        Indication::Green
                    } else {
                        Indication::Red
                    }
                })
                .collect(),
        })
        .collect();
    assert_eq!(signals.len(), 1000);
    let mut est = Estimator::new(&net, EstimatorParams::default());
    let mut t = 0.0;
    c.bench_function("estimator_update_1000_intersections", |b| {
        b.iter(|| {
            t += 1.0;
            let input = StepInput {
                time_s: t,
                dt_s: 1.0,
                detectors: &detectors,
                cameras: &frames,
                signals: &signals,
            };
            est.update(&net, &input);
            est.state().lanes[0].queue_veh
        })
    });
}

criterion_group!(benches, estimator);
criterion_main!(benches);
