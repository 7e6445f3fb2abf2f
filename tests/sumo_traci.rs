//! greenwave controllers drive a real SUMO process over TraCI on the `arterial6` fixture.
//!
//! Needs the `sumo` binary (`pip install eclipse-sumo`). Without it each test prints a
//! `skipped: …` line straight to stderr and returns; with `GREENWAVE_REQUIRE_SUMO=1` (CI) a
//! missing SUMO fails the test instead.

mod support;

use std::path::Path;
use support::sumo_or_skip;

const FIXTURES: &str = "roadnet/tests/fixtures/sumo";
/// Simulated seconds per run: long enough for trips to cross the arterial (1.75 km) and for
/// every strategy to switch stages many times.
const DURATION_S: f64 = 300.0;

fn run(strategy: &str) -> Option<traci::DriveOutcome> {
    let sumo = sumo_or_skip(&format!("sumo_traci::{strategy}"))?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let net = root.join("arterial6.net.xml");
    let routes = root.join("arterial6.rou.xml");
    let add = root.join("arterial6.add.xml");
    let import = roadnet::sumo::load_with_additional(&net, &add).expect("fixture imports");
    let mut controller =
        controller::baseline::make_controller(strategy, &import.net).expect("known strategy");
    let work = std::env::temp_dir().join(format!(
        "greenwave-traci-test-{strategy}-{}",
        std::process::id()
    ));
    let opts = traci::DriveOptions {
        sumo,
        inputs: vec![
            "-n".into(),
            net.display().to_string(),
            "-r".into(),
            routes.display().to_string(),
            "--additional-files".into(),
            add.display().to_string(),
        ],
        seed: 42,
        duration_s: DURATION_S,
        dt_s: 1.0,
        detector_interval_s: 60.0,
        work_dir: work.clone(),
    };
    let out = traci::drive(&opts, &import, controller.as_mut())
        .unwrap_or_else(|e| panic!("{strategy}: {e}"));
    let _ = std::fs::remove_dir_all(&work);
    Some(out)
}

fn check(out: &traci::DriveOutcome) {
    assert_eq!(out.safety_violations, 0, "{out:?}");
    assert_eq!(out.sent_state_violations, 0, "{out:?}");
    assert!(out.end_time_s >= DURATION_S - 1.0, "{out:?}");
    assert!(out.arrived > 0, "{out:?}");
    assert_eq!(out.trips.arrived, out.arrived, "{out:?}");
    assert_eq!(out.teleports, 0, "{out:?}");
    // the lights were really driven: at least one change per junction beyond the first state
    assert!(out.states_sent > 6, "{out:?}");
    assert!(out.trips.mean_duration_s > 0.0, "{out:?}");
}

#[test]
fn fixed_time_drives_sumo() {
    if let Some(out) = run("fixed-time") {
        check(&out);
    }
}

#[test]
fn adaptive_drives_sumo() {
    if let Some(out) = run("adaptive") {
        check(&out);
    }
}
