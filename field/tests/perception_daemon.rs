//! `Daemon::with_cameras`: frames that came over MQTT since the last step reach the controller
//! at the next `Daemon::step`, next to the Modbus readings, and the daemon's stats count them
//! (received, accepted, dropped by reason) — the path of `greenwave run --mqtt`.

mod field_support;

use field::central::Daemon;
use field::perception::{
    EmbeddedBroker, IngestConfig, Publisher, SensorDirectory, SensorKind, Subscriber,
    SubscriberConfig,
};
use field_support::{fixture_net, Harness};
use roadnet::{CameraFrame, Command, Controller, LaneView, StepInput};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Per step: signal states seen, camera frames seen.
type Seen = Arc<Mutex<Vec<(usize, Vec<CameraFrame>)>>>;

/// Records the camera frames and signal states of every step.
struct Recorder {
    seen: Seen,
}

impl Controller for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn step(&mut self, input: &StepInput<'_>, _out: &mut Vec<Command>) {
        self.seen
            .lock()
            .unwrap()
            .push((input.signals.len(), input.cameras.to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_received_between_steps_reach_the_controller_at_the_next_step() {
    let net = fixture_net();
    let h = Harness::start(net.clone()).await;
    let broker = EmbeddedBroker::start().expect("broker");
    let dir = Arc::new(SensorDirectory::new(&net));
    let now_ms = 50_000u64;
    let mut sc = SubscriberConfig::new(broker.addr(), "daemon-cams");
    sc.clean_session = true;
    sc.regions = vec!["b".into()];
    sc.ingest = IngestConfig {
        origin_ms: 0,
        ..IngestConfig::default()
    };
    let sub = Subscriber::spawn(sc, dir.clone(), Arc::new(move || now_ms)).expect("subscriber");
    let mut progress = sub.progress();
    let mut sub = sub;
    assert!(sub.wait_subscribed(Duration::from_secs(10)).await);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut daemon = Daemon::new(
        net.clone(),
        h.pool().await,
        Box::new(Recorder { seen: seen.clone() }),
    )
    .with_cameras(Box::new(sub));
    daemon.step(1.0).await;
    let cam = &net.cameras[0];
    let frame = |k: u32| CameraFrame {
        camera: cam.id,
        time_s: 0.0,
        lanes: cam
            .lanes
            .iter()
            .map(|l| LaneView {
                lane: *l,
                vehicles: k,
                halting: 0,
                queue_length_m: 0.0,
                departed: 1,
            })
            .collect(),
        vehicles: Vec::new(),
    };
    let mut publ = Publisher::spawn(&broker.addr(), "daemon-cams-pub", dir, 10);
    publ.publish("b", SensorKind::Camera, &frame(1), now_ms - 1000)
        .await
        .unwrap();
    publ.publish("b", SensorKind::Camera, &frame(2), now_ms - 500)
        .await
        .unwrap();
    // a frame from another region is not this daemon's: never received
    publ.publish("a", SensorKind::Camera, &frame(3), now_ms)
        .await
        .unwrap();
    // one this daemon receives but drops: too old
    publ.publish("b", SensorKind::Camera, &frame(4), now_ms - 9_000)
        .await
        .unwrap();
    assert_eq!(publ.wait_acked(4, Duration::from_secs(10)).await, 4);
    assert_eq!(
        progress
            .wait_handled(3, Duration::from_secs(10))
            .await
            .handled,
        3
    );
    daemon.step(2.0).await;
    daemon.step(3.0).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    // two intersections polled over Modbus each step, cameras only at step 2
    assert!(seen.iter().all(|(signals, _)| *signals == 2));
    assert!(seen[0].1.is_empty() && seen[2].1.is_empty());
    let got = &seen[1].1;
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].time_s, got[1].time_s), (49.0, 49.5));
    assert_eq!(got[0].lanes[0].vehicles, 1);
    assert_eq!(got[1].lanes[0].vehicles, 2);
    let stats = daemon.stats().cameras.clone().expect("camera stats");
    assert_eq!((stats.received, stats.accepted, stats.delivered), (3, 2, 2));
    assert_eq!(stats.dropped["late"], 1);
    assert_eq!(stats.dropped_total(), 1);
    // the JSON of `greenwave run --json` carries them
    let json = serde_json::to_value(daemon.stats()).unwrap();
    assert_eq!(json["cameras"]["dropped"]["late"], 1);
    assert_eq!(json["cameras"]["received"], 3);
    publ.disconnect().await;
}
