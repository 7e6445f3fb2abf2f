//! The demo's camera road end to end: the adaptive controller on the bundled corridor
//! (07:00–07:30 of its day of counts), once reading the simulator's cameras directly and once
//! reading them through the embedded broker → subscriber → ingest. Every frame comes back
//! unchanged at its own step, nothing is dropped, and the two runs agree.

mod perception_support;

use controller::adaptive::Adaptive;
use field::central::{CameraSource, CameraStats};
use field::perception::{CameraBridge, Subscriber};
use perception_support::bundled_net;
use roadnet::{CameraFrame, Command, Controller, Demand, StepInput};
use sim::{Metrics, NoObserver, SimConfig, Simulation};
use std::path::Path;

const FROM_S: f64 = 7.0 * 3600.0;
const MINUTES: f64 = 30.0;

/// The adaptive controller fed the frames that came back through the broker.
struct OverMqtt {
    inner: Adaptive,
    rt: tokio::runtime::Runtime,
    bridge: CameraBridge,
    sub: Subscriber,
    frames_checked: u64,
}

impl Controller for OverMqtt {
    fn name(&self) -> &str {
        "adaptive over MQTT"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.rt
            .block_on(self.bridge.send(input.time_s, input.cameras))
            .expect("frames come back");
        let mut got: Vec<CameraFrame> = Vec::new();
        self.sub.drain(&mut got);
        // the same frames, in the same order, at the same step (times to the millisecond)
        assert_eq!(got.len(), input.cameras.len(), "t = {}", input.time_s);
        for (g, f) in got.iter().zip(input.cameras) {
            assert_eq!((g.camera, g.lanes.len()), (f.camera, f.lanes.len()));
            for (a, b) in g.lanes.iter().zip(&f.lanes) {
                let counts = |v: &roadnet::LaneView| (v.lane, v.vehicles, v.halting, v.departed);
                assert_eq!(counts(a), counts(b));
                assert!((a.queue_length_m - b.queue_length_m).abs() <= 1e-9);
            }
            assert_eq!(g.vehicles.len(), f.vehicles.len());
            for (a, b) in g.vehicles.iter().zip(&f.vehicles) {
                assert_eq!(a.lane, b.lane);
                // JSON carries the shortest round-trip text; parsing may differ by an ulp
                assert!((a.distance_to_stop_m - b.distance_to_stop_m).abs() <= 1e-9);
                assert!((a.speed_m_s - b.speed_m_s).abs() <= 1e-9);
            }
            assert!((g.time_s - f.time_s).abs() < 5e-4);
        }
        self.frames_checked += got.len() as u64;
        let input = StepInput {
            cameras: &got,
            ..*input
        };
        self.inner.step(&input, out);
    }
}

fn demand(net: &roadnet::RoadNet) -> Demand {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let counts = roadnet::counts::load_counts(&root.join("data/main_street_counts.csv"), net)
        .expect("counts");
    let all = counts.to_demand(net, 0, roadnet::VehicleParams::default());
    Demand::new(
        all.trips
            .iter()
            .filter(|t| t.departure_s >= FROM_S && t.departure_s < FROM_S + MINUTES * 60.0)
            .map(|t| {
                let mut t = t.clone();
                t.departure_s -= FROM_S;
                t
            })
            .collect(),
    )
}

fn run(net: &std::sync::Arc<roadnet::RoadNet>, c: &mut dyn Controller) -> Metrics {
    let cfg = SimConfig {
        track_vehicles: true,
        duration_s: MINUTES * 60.0 + 600.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), &demand(net), cfg).expect("sim builds");
    let m = sim.run(c, &mut NoObserver).expect("run completes safely");
    assert_eq!(m.safety_violations, 0);
    m
}

#[test]
fn the_adaptive_run_over_mqtt_matches_the_direct_run() {
    let net = bundled_net();
    let t0 = std::time::Instant::now();
    let direct = run(&net, &mut Adaptive::new(&net));
    let direct_wall = t0.elapsed();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (bridge, sub) = rt
        .block_on(CameraBridge::start(&net))
        .expect("bridge starts");
    let mut over = OverMqtt {
        inner: Adaptive::new(&net),
        rt,
        bridge,
        sub,
        frames_checked: 0,
    };
    let t0 = std::time::Instant::now();
    let mqtt = run(&net, &mut over);
    let mqtt_wall = t0.elapsed();
    let s: CameraStats = over.sub.stats();
    // wall times are information, not a pass/fail criterion
    eprintln!(
        "wall: direct {:.2} s, over MQTT {:.2} s ({} steps)",
        direct_wall.as_secs_f64(),
        mqtt_wall.as_secs_f64(),
        (MINUTES * 60.0 + 600.0) as u64
    );
    eprintln!(
        "frames {} published, {} received, {} accepted, {} dropped; travel time direct {:.2} s, over MQTT {:.2} s",
        over.bridge.published(),
        s.received,
        s.accepted,
        s.dropped_total(),
        direct.average_travel_time_s,
        mqtt.average_travel_time_s
    );
    assert!(over.frames_checked > 10_000, "{}", over.frames_checked);
    assert_eq!(s.received, over.bridge.published());
    assert_eq!((s.accepted, s.delivered), (s.received, s.received));
    assert_eq!(s.dropped_total(), 0, "{:?}", s.dropped);
    assert!(direct.vehicles_entered > 1000);
    for (name, a, b) in [
        (
            "average_travel_time_s",
            direct.average_travel_time_s,
            mqtt.average_travel_time_s,
        ),
        ("mean_delay_s", direct.mean_delay_s, mqtt.mean_delay_s),
        (
            "stops_per_vehicle",
            direct.stops_per_vehicle,
            mqtt.stops_per_vehicle,
        ),
    ] {
        assert!(
            (a - b).abs() <= 0.01 * a.abs(),
            "{name}: direct {a}, over MQTT {b}"
        );
    }
    assert_eq!(direct.vehicles_entered, mqtt.vehicles_entered);
}
