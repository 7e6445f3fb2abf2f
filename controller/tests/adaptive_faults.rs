//! Detector faults injected into a replay: on the bundled corridor, the
//! morning peak 07:00–10:00 of `data/main_street_counts.csv`, a stuck-on, a stuck-off and a
//! chattering loop (from 07:00 on). Each must be flagged by the estimator, no movement starved
//! (no vehicle stands still for longer than a bound), and the average travel time within 10 %
//! of the fault-free run. Release profile only.

use controller::adaptive::Adaptive;
use controller::estimate::faults::DetectorHealth;
use controller::faults::{Fault, FaultInjector};
use roadnet::{Demand, RoadNet};
use sim::{Metrics, Observer, Place, SimConfig, Simulation, StepView};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FROM_S: f64 = 7.0 * 3600.0;
const TO_S: f64 = 10.0 * 3600.0;
/// No vehicle may stand still longer than this (the free mode's 180 s starvation guard plus
/// the change intervals and the queue ahead).
const MAX_STANDING_S: f64 = 300.0;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Longest continuous standstill of any vehicle on a lane.
#[derive(Default)]
struct Standstill {
    since: BTreeMap<u32, f64>,
    longest_s: f64,
}

impl Observer for Standstill {
    fn on_step(&mut self, view: &StepView<'_>) {
        let t = view.time_s();
        let mut still = Vec::new();
        for v in view.vehicles() {
            if matches!(v.place, Place::Lane(_)) && v.speed_m_s < sim::HALTING_SPEED_M_S {
                still.push(v.vehicle);
            }
        }
        let since = std::mem::take(&mut self.since);
        for id in still {
            let s = since.get(&id).copied().unwrap_or(t);
            self.longest_s = self.longest_s.max(t - s);
            self.since.insert(id, s);
        }
    }
}

fn run(
    net: &RoadNet,
    demand: &Demand,
    faults: Vec<(roadnet::DetectorId, Fault)>,
) -> (Metrics, f64, Vec<(roadnet::DetectorId, DetectorHealth)>) {
    let cfg = SimConfig {
        track_vehicles: true,
        duration_s: TO_S,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), demand, cfg).expect("sim builds");
    let mut c = FaultInjector::new(Adaptive::new(net), faults, FROM_S);
    let mut obs = Standstill::default();
    let m = sim.run(&mut c, &mut obs).expect("run completes safely");
    assert_eq!(m.safety_violations, 0);
    (m, obs.longest_s, c.inner().estimator().faulty_detectors())
}

/// The bundled corridor and the trips of its bundled counts that depart from one hour before
/// `FROM_S` (so the estimator has warmed up) to `TO_S`.
fn morning() -> (RoadNet, Demand) {
    let net = roadnet::config::load_toml(&root().join("intersections.toml")).expect("network");
    let counts = roadnet::counts::load_counts(&root().join("data/main_street_counts.csv"), &net)
        .expect("counts");
    let all = counts.to_demand(
        &net,
        0,
        roadnet::VehicleParams {
            max_speed_m_s: 16.67,
            ..Default::default()
        },
    );
    let demand = Demand::new(
        all.trips
            .iter()
            .filter(|t| t.departure_s >= FROM_S - 3600.0 && t.departure_s < TO_S)
            .cloned()
            .collect(),
    );
    (net, demand)
}

#[test]
#[cfg_attr(debug_assertions, ignore)]
fn detector_faults_are_flagged_and_do_not_hurt() {
    let (net, demand) = morning();
    let det = |name: &str| {
        net.detectors
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("detector {name}"))
            .id
    };
    let faults = vec![
        (det("oak_nb_ad1"), Fault::StuckOn),
        (det("main_eb_elm_ad1"), Fault::StuckOff),
        (det("pine_sb_ad1"), Fault::Chattering { count: 150 }),
    ];
    let (clean, clean_still, clean_flags) = run(&net, &demand, Vec::new());
    let (faulty, faulty_still, flags) = run(&net, &demand, faults.clone());
    println!(
        "fault-free: travel {:.2} s, speed {:.2} m/s, longest standstill {:.0} s, flagged {:?}",
        clean.average_travel_time_s, clean.mean_speed_m_s, clean_still, clean_flags
    );
    println!(
        "faulty:     travel {:.2} s ({:+.1} %), speed {:.2} m/s, longest standstill {:.0} s, flagged {:?}",
        faulty.average_travel_time_s,
        100.0 * (faulty.average_travel_time_s / clean.average_travel_time_s - 1.0),
        faulty.mean_speed_m_s,
        faulty_still,
        flags
    );
    for (d, f) in &faults {
        let want = match f {
            Fault::StuckOn => DetectorHealth::StuckOn,
            Fault::StuckOff => DetectorHealth::StuckOff,
            Fault::Chattering { .. } => DetectorHealth::Chattering,
        };
        assert!(
            flags.contains(&(*d, want)),
            "{} not flagged {want:?}: {flags:?}",
            net.detectors[d.index()].name
        );
    }
    assert!(
        faulty_still <= MAX_STANDING_S,
        "a vehicle stood still {faulty_still:.0} s"
    );
    assert!(
        faulty.average_travel_time_s <= 1.10 * clean.average_travel_time_s,
        "travel time {:.2} s > 1.10 × fault-free {:.2} s",
        faulty.average_travel_time_s,
        clean.average_travel_time_s
    );
}

/// The adaptive controller with every camera silent from `from_s` on (an MQTT broker gone, a
/// video-analytics server down): its input carries no frame after that.
struct CamerasSilent {
    inner: Adaptive,
    from_s: f64,
}

impl roadnet::Controller for CamerasSilent {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn step(&mut self, input: &roadnet::StepInput<'_>, out: &mut Vec<roadnet::Command>) {
        if input.time_s < self.from_s {
            return self.inner.step(input, out);
        }
        let silent = roadnet::StepInput {
            cameras: &[],
            ..*input
        };
        self.inner.step(&silent, out);
    }
}

/// Every camera falls silent at 07:00 (measured 2026-11-30: before the estimator noticed a
/// silent camera it kept those lanes' last counts with no departures, the schedule served the
/// phantom queues, and the corridor locked up — a vehicle stood still for 10,741 s and the mean
/// travel time went from 172.68 s to 2,816 s). The estimator must notice and go on with the
/// loops and the learned profile on those lanes: no vehicle stands still past the bound, and
/// the run completes what the run with cameras completes.
#[test]
#[cfg_attr(debug_assertions, ignore)]
fn silent_cameras_leave_the_estimator_on_loops_and_history() {
    let (net, demand) = morning();
    assert!(!net.cameras.is_empty());
    let cfg = SimConfig {
        track_vehicles: true,
        duration_s: TO_S,
        ..SimConfig::default()
    };
    let (clean, _, _) = run(&net, &demand, Vec::new());
    let mut sim = Simulation::new(net.clone(), &demand, cfg).expect("sim builds");
    let mut c = CamerasSilent {
        inner: Adaptive::new(&net),
        from_s: FROM_S,
    };
    let mut obs = Standstill::default();
    let silent = sim.run(&mut c, &mut obs).expect("run completes safely");
    println!(
        "cameras on: travel {:.2} s, {} completed; silent from 07:00: travel {:.2} s ({:+.1} %), {} completed, longest standstill {:.0} s",
        clean.average_travel_time_s,
        clean.vehicles_completed,
        silent.average_travel_time_s,
        (silent.average_travel_time_s / clean.average_travel_time_s - 1.0) * 100.0,
        silent.vehicles_completed,
        obs.longest_s
    );
    assert_eq!(silent.safety_violations, 0);
    // the silence is noticed: no lane counts as watched by a camera any more
    let st = c.inner.estimator().state();
    let watched: Vec<_> = net
        .cameras
        .iter()
        .flat_map(|cam| cam.lanes.iter())
        .filter(|l| st.lane(**l).camera)
        .collect();
    assert!(watched.is_empty(), "still counted as watched: {watched:?}");
    assert!(obs.longest_s <= MAX_STANDING_S, "{} s", obs.longest_s);
    assert!(
        silent.vehicles_completed as f64 >= 0.99 * clean.vehicles_completed as f64,
        "{} of the {} completed with cameras",
        silent.vehicles_completed,
        clean.vehicles_completed
    );
}
