//! greenwave against SUMO, on SUMO's side of the fence (docs/sumo.md, "Comparing with SUMO's
//! own logics" and "Same plan, two simulators"):
//!
//! - greenwave's `adaptive` controller driving SUMO over TraCI against SUMO running alone with
//!   its own `actuated` and `delay_based` logics, on the same network, one hour of peak demand,
//!   detectors and seed (`traci::baseline`): lower mean trip duration than both, 0 teleports,
//!   every vehicle arrived. These runs take minutes each (4670 and 4925 vehicles), so they are
//!   `--ignored`; the figures measured are in docs/sumo.md and the README (the arterial passes;
//!   on the grid every control teleports, so that one fails today).
//! - the same fixed plan in greenwave's simulator and in SUMO, on the imported `arterial6`
//!   with its 1200 random trips and SUMO's driver imperfection switched off (`sigma="0"`): mean
//!   travel times within 10 %.
//!
//! Needs the `sumo` and `netconvert` binaries (`pip install eclipse-sumo`). Without them each test
//! prints a `skipped: …` line straight to stderr and returns; with `GREENWAVE_REQUIRE_SUMO=1`
//! (CI) a missing SUMO fails the test instead.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::sumo_or_skip;

const FIXTURES: &str = "roadnet/tests/fixtures/sumo";
const SEED: u64 = 42;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURES)
        .join(name)
}

fn work_dir(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "greenwave-sumo-compare-{test}-{}",
        std::process::id()
    ))
}

/// Drive SUMO with greenwave's `control` on `net` + `routes` (+ `add`), until every vehicle
/// has arrived or `duration_s`.
fn drive(
    sumo: &Path,
    control: &str,
    net: &Path,
    routes: &Path,
    add: Option<&Path>,
    duration_s: f64,
    work: &Path,
) -> traci::DriveOutcome {
    let import = match add {
        Some(a) => roadnet::sumo::load_with_additional(net, a),
        None => roadnet::sumo::load(net),
    }
    .expect("fixture imports");
    let mut controller =
        controller::baseline::make_controller(control, &import.net).expect("known strategy");
    let mut inputs = vec![
        "-n".to_string(),
        net.display().to_string(),
        "-r".into(),
        routes.display().to_string(),
    ];
    if let Some(a) = add {
        inputs.extend(["--additional-files".into(), a.display().to_string()]);
    }
    let opts = traci::DriveOptions {
        sumo: sumo.to_path_buf(),
        inputs,
        seed: SEED,
        duration_s,
        dt_s: 1.0,
        detector_interval_s: 60.0,
        work_dir: work.join(control),
    };
    let out = traci::drive(&opts, &import, controller.as_mut())
        .unwrap_or_else(|e| panic!("{control}: {e}"));
    assert_eq!(out.safety_violations, 0, "{out:?}");
    assert_eq!(out.sent_state_violations, 0, "{out:?}");
    out
}

/// greenwave `adaptive` over TraCI against SUMO alone with `actuated` and `delay_based`, all on
/// the same inputs; SUMO's baselines run as processes of their own while greenwave drives.
fn adaptive_against_sumo_logics(test: &str, net: &str, routes: &str, add: &str) {
    let Some(sumo) = sumo_or_skip(test) else {
        return;
    };
    let (net, routes, add) = (fixture(net), fixture(routes), fixture(add));
    let work = work_dir(test);
    // generous: every vehicle departs within the hour; SUMO ends the run once all have arrived
    let duration_s = 3.0 * 3600.0;
    let baselines: Vec<_> = ["actuated", "delay_based"]
        .iter()
        .map(|logic| {
            traci::baseline::start(&traci::baseline::BaselineOptions {
                sumo: sumo.clone(),
                net: net.clone(),
                routes: routes.clone(),
                additional: Some(add.clone()),
                logic: logic.to_string(),
                seed: SEED,
                duration_s,
                dt_s: 1.0,
                work_dir: work.join("baseline"),
            })
            .unwrap_or_else(|e| panic!("{logic}: {e}"))
        })
        .collect();
    let ours = drive(
        &sumo,
        "adaptive",
        &net,
        &routes,
        Some(&add),
        duration_s,
        &work,
    );
    let theirs: Vec<_> = baselines
        .into_iter()
        .map(|b| b.finish(Duration::from_secs(3600)).expect("baseline run"))
        .collect();
    let _ = std::fs::remove_dir_all(&work);
    let _ = writeln!(
        std::io::stderr().lock(),
        "{test}: greenwave adaptive: {} departed, {} arrived, {} teleports, {:?}",
        ours.departed,
        ours.arrived,
        ours.teleports,
        ours.trips
    );
    for b in &theirs {
        let _ = writeln!(std::io::stderr().lock(), "{test}: sumo alone: {b:?}");
    }
    assert_eq!(ours.teleports, 0, "{ours:?}");
    assert_eq!(ours.trips.arrived, ours.departed, "{ours:?}");
    for b in &theirs {
        assert_eq!(b.teleports, 0, "{b:?}");
        assert_eq!(b.running, 0, "{b:?}");
        // the same vehicles, all of them arrived, in every run
        assert_eq!(b.inserted, ours.departed, "{b:?}");
        assert_eq!(b.trips.arrived, b.inserted, "{b:?}");
        assert!(
            ours.trips.mean_duration_s < b.trips.mean_duration_s,
            "greenwave adaptive {:.2} s is not below SUMO {} {:.2} s",
            ours.trips.mean_duration_s,
            b.logic,
            b.trips.mean_duration_s
        );
    }
}

#[test]
#[ignore = "long: 1 h of peak demand (4670 vehicles), three SUMO runs; figures in docs/sumo.md"]
fn adaptive_beats_sumo_actuated_and_delay_based_on_arterial6() {
    adaptive_against_sumo_logics(
        "arterial6",
        "arterial6.net.xml",
        "arterial6_peak.rou.xml",
        "arterial6_full.add.xml",
    );
}

#[test]
#[ignore = "long, and not met yet: this demand jams the grid under every control (teleports in all three runs); partial figures in docs/sumo.md"]
fn adaptive_beats_sumo_actuated_and_delay_based_on_grid4_pockets() {
    adaptive_against_sumo_logics(
        "grid4_pockets",
        "grid4_pockets.net.xml",
        "grid4_pockets_peak.rou.xml",
        "grid4_pockets.add.xml",
    );
}

/// The grid's streams at half their peak rates (2413 vehicles): no spill-back from the
/// pockets, so every control runs without a teleport. Measured 2026-11-30: greenwave adaptive
/// 162.10 s mean trip duration, SUMO actuated 193.60 s, delay_based 197.51 s (47 s of wall
/// time for the three runs). At 0.6 of the peak (not a fixture) adaptive lost to actuated
/// (288.96 s with 1 teleport against 242.69 s) — docs/sumo.md.
#[test]
fn adaptive_beats_sumo_actuated_and_delay_based_on_grid4_pockets_at_half_demand() {
    adaptive_against_sumo_logics(
        "grid4_pockets_half",
        "grid4_pockets.net.xml",
        "grid4_pockets_half.rou.xml",
        "grid4_pockets.add.xml",
    );
}

/// The same fixed plan (the network's own static programmes, run by greenwave's signal engine
/// in both simulators) on `arterial6` with its 1200 random trips. SUMO's Krauss model dawdles
/// (`sigma` 0.5 by default: a random deceleration of up to half its acceleration each step),
/// which CityFlow's model, greenwave's, does not; with `sigma="0"` on the vType (the only
/// change to the route file) the two agree within 10 %.
#[test]
fn same_fixed_plan_greenwave_sim_and_sumo_agree_within_10_percent() {
    let Some(sumo) = sumo_or_skip("same_fixed_plan") else {
        return;
    };
    let work = work_dir("fixed");
    std::fs::create_dir_all(&work).expect("work dir");
    let net = fixture("arterial6.net.xml");
    let text = std::fs::read_to_string(fixture("arterial6.rou.xml")).expect("routes");
    assert_eq!(text.matches("<vType id=\"car\"").count(), 1);
    let routes = work.join("arterial6_sigma0.rou.xml");
    std::fs::write(
        &routes,
        text.replace("<vType id=\"car\"", "<vType id=\"car\" sigma=\"0\""),
    )
    .expect("write routes");
    let out = drive(&sumo, "fixed-time", &net, &routes, None, 3600.0, &work);

    let import = roadnet::sumo::load(&net).expect("fixture imports");
    let demand = roadnet::sumo::demand::load_routes(&routes, &import.net, SEED).expect("routes");
    let mut controller =
        controller::baseline::make_controller("fixed-time", &import.net).expect("fixed-time");
    let cfg = sim::SimConfig {
        seed: SEED,
        duration_s: 3600.0,
        ..sim::SimConfig::default()
    };
    let mut simulation = sim::Simulation::new(import.net, &demand.demand, cfg).expect("sim");
    let m = simulation
        .run(controller.as_mut(), &mut sim::NoObserver)
        .expect("run");
    let _ = std::fs::remove_dir_all(&work);
    let ratio = m.average_travel_time_s / out.trips.mean_duration_s;
    let _ = writeln!(
        std::io::stderr().lock(),
        "same fixed plan: greenwave {:.2} s ({} of {} completed), SUMO sigma=0 {:.2} s ({} arrived, {} teleports): ratio {ratio:.3}",
        m.average_travel_time_s,
        m.vehicles_completed,
        m.vehicles_generated,
        out.trips.mean_duration_s,
        out.trips.arrived,
        out.teleports
    );
    assert_eq!(m.vehicles_completed, 1200);
    assert_eq!(out.trips.arrived, 1200);
    assert_eq!(out.teleports, 0);
    assert!((0.9..=1.1).contains(&ratio), "ratio {ratio:.3}");
}
