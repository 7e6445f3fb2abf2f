//! `greenwave run --mqtt`: the daemon subscribes to camera frames and reports them by reason;
//! a bad broker URL or a region without a broker is a one-line error; two `run` processes on
//! one Mosquitto, each owning a region, handle every frame exactly once.

// The Mosquitto launcher, the two-region split and the valid frames of the field crate's
// perception tests: one copy, so both test suites run the broker the same way.
#[path = "../field/tests/perception_support/mod.rs"]
mod perception_support;

use field::perception::{EmbeddedBroker, Publisher, SensorDirectory, SensorKind};
use roadnet::{CameraFrame, LaneView};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn greenwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run greenwave")
}

#[test]
fn a_bad_broker_url_is_one_line_before_anything_connects() {
    for (url, phrase) in [
        ("mqtts://host:8883", "scheme not supported"),
        ("mqtt://host:0", "port '0' is not in 1..=65535"),
        ("mqtt://host:99999", "not in 1..=65535"),
        ("mqtt://", "want mqtt://host[:port]"),
        ("not a url", "want mqtt://host[:port]"),
        ("mqtt://broker\u{7}.local:1883", "want mqtt://host[:port]"),
    ] {
        let out = greenwave(&[
            "run",
            "--insecure-plain",
            "--config",
            "intersections.toml",
            "--mqtt",
            url,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{url}: {stderr}");
        assert!(
            stderr.contains(phrase),
            "{url}: '{phrase}' missing: {stderr}"
        );
    }
    let out = greenwave(&[
        "run",
        "--insecure-plain",
        "--config",
        "intersections.toml",
        "--region",
        "main",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mqtt"));
}

#[test]
fn run_with_mqtt_counts_frames_received_and_dropped_by_reason() {
    let (dir, cfg, net) = cameras_only_config("cli-mqtt");
    let broker = EmbeddedBroker::start().expect("broker");
    let url = broker.addr().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(["run", "--insecure-plain", "--config"])
        .arg(&cfg)
        .args([
            "--mqtt",
            &url,
            "--region",
            "main",
            "--duration",
            "4",
            "--poll-ms",
            "200",
        ])
        .args(["--timeout-ms", "50", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("greenwave run");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = Arc::new(SensorDirectory::new(&net));
        let mut publ = Publisher::spawn(&broker.addr(), "cli-test-cams", dir, 100);
        let cam = &net.cameras[0];
        for round in 0..30u32 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64;
            let f = CameraFrame {
                camera: cam.id,
                time_s: 0.0,
                lanes: vec![LaneView {
                    lane: cam.lanes[0],
                    vehicles: round % 4,
                    ..LaneView::default()
                }],
                vehicles: Vec::new(),
            };
            publ.publish("main", SensorKind::Camera, &f, now)
                .await
                .expect("publish");
            publ.publish_raw(
                &format!("greenwave/v1/main/camera/{}", cam.name),
                b"not json".to_vec(),
            )
            .await
            .expect("publish");
            // another region's frame: not this daemon's
            publ.publish("elsewhere", SensorKind::Camera, &f, now)
                .await
                .expect("publish");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        publ.disconnect().await;
    });
    let out = child.wait_with_output().expect("run ends");
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    let c = &json["cameras"];
    let received = c["received"].as_u64().expect("received");
    let accepted = c["accepted"].as_u64().expect("accepted");
    let malformed = c["dropped"]["malformed"].as_u64().expect("malformed");
    // the daemon subscribed within its first second and heard the rest of the 3 s of frames
    assert!(accepted >= 10, "{c}");
    assert!(malformed >= 10, "{c}");
    // only this region's frames arrive: accepted + malformed, nothing else
    assert_eq!(received, accepted + malformed, "{c}");
    assert_eq!(c["dropped"].as_object().expect("reasons").len(), 12);
    assert!(json["steps"].as_u64().expect("steps") >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bundled deployment with its field controllers behind a port nobody listens on, written
/// to a fresh temporary folder: the daemon steps (its polls fail) and the cameras are what the
/// tests are about. Returns the folder, the config's path and the network.
fn cameras_only_config(name: &str) -> (PathBuf, PathBuf, Arc<roadnet::RoadNet>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let text = std::fs::read_to_string(root.join("intersections.toml")).expect("bundled");
    let dir = std::env::temp_dir().join(format!("greenwave-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cfg = dir.join("intersections.toml");
    std::fs::write(&cfg, behind_port(&text, dead)).expect("write config");
    let net = Arc::new(roadnet::load_network(&cfg).expect("config loads"));
    (dir, cfg, net)
}

/// Every field controller of the bundled config behind `port`, one unit id each.
fn behind_port(text: &str, port: u16) -> String {
    let mut unit = 0;
    text.lines()
        .map(|l| {
            if l.starts_with("controller = {") {
                unit += 1;
                format!("controller = {{ host = \"127.0.0.1\", port = {port}, unit_id = {unit} }}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `greenwave run` on `cfg`, subscribed to `region` only, for at most two minutes (the test
/// ends it with SIGINT); stderr is read line by line and each line sent on `lines`.
fn run_region(
    cfg: &std::path::Path,
    url: &str,
    region: &str,
    lines: std::sync::mpsc::Sender<(String, String)>,
) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(["run", "--insecure-plain", "--no-audit-log", "--config"])
        .arg(cfg)
        .args(["--mqtt", url, "--region", region, "--duration", "120"])
        .args(["--poll-ms", "200", "--timeout-ms", "50", "--json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("greenwave run");
    let stderr = child.stderr.take().expect("stderr");
    let region = region.to_string();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send((region.clone(), line));
        }
    });
    child
}

/// Issue 11's "two `run` instances on one broker with two regions": two processes of the
/// shipped daemon on a real Mosquitto, one owning the west region and one the east; every
/// frame published to a region is accepted by its owner once, by the other never.
#[test]
fn two_run_processes_owning_two_regions_handle_every_frame_exactly_once() {
    let test = "two_run_processes_owning_two_regions_handle_every_frame_exactly_once";
    let Some(bin) = perception_support::mosquitto_bin(test) else {
        return;
    };
    let mosq = perception_support::Mosquitto::start(bin, "two-runs");
    let url = format!("mqtt://127.0.0.1:{}", mosq.port);
    let (dir, cfg, net) = cameras_only_config("two-runs");
    let regions = perception_support::two_regions(&net);

    let (tx, rx) = std::sync::mpsc::channel();
    let mut children: BTreeMap<&str, Child> = BTreeMap::new();
    for region in ["west", "east"] {
        children.insert(region, run_region(&cfg, &url, region, tx.clone()));
    }
    // frames flow once each daemon says its filters are acknowledged
    let mut subscribed = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while subscribed.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let (region, line) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("both daemons subscribed within 60 s: {subscribed:?}"));
        if line.contains("subscribed to") {
            assert!(line.contains(&format!("greenwave/v1/{region}/")), "{line}");
            subscribed.insert(region, line);
        }
    }

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut published: BTreeMap<&str, u64> = BTreeMap::new();
    rt.block_on(async {
        let sensors = Arc::new(SensorDirectory::new(&net));
        let mut publ = Publisher::spawn(&mosq.addr(), "two-runs-cams", sensors, 100);
        let t0 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let rounds = 30u64;
        for round in 0..rounds {
            for (cam, region) in regions.iter().enumerate() {
                // 1 ms apart and already past when they arrive: fresh, in order per camera
                let t = t0 - 1_000 + round * net.cameras.len() as u64 + cam as u64;
                let f = perception_support::frame(&net, cam, 0.0);
                publ.publish(region, SensorKind::Camera, &f, t)
                    .await
                    .expect("queued");
                *published.entry(region.as_str()).or_default() += 1;
            }
        }
        let total = rounds * net.cameras.len() as u64;
        assert_eq!(publ.wait_acked(total, Duration::from_secs(60)).await, total);
        publ.disconnect().await;
    });
    // the broker has every frame; give the daemons a moment to take theirs, then stop them as
    // an operator would (Ctrl-C: the daemon prints its counters and exits 0)
    std::thread::sleep(Duration::from_secs(2));
    let mut accepted_sum = 0;
    for (region, child) in children {
        let pid = child.id().to_string();
        let killed = Command::new("kill").args(["-INT", &pid]).status();
        assert!(killed.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let out = child.wait_with_output().expect("run ends");
        assert!(out.status.success(), "{region}: {:?}", out.status);
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
        let c = &json["cameras"];
        let own = published[region];
        assert!(own > 0, "{region} has cameras");
        assert_eq!(
            c["received"], own,
            "{region}: only its own region's frames: {c}"
        );
        assert_eq!(c["accepted"], own, "{region}: each accepted: {c}");
        assert!(
            c["dropped"]
                .as_object()
                .expect("reasons")
                .values()
                .all(|n| n.as_u64() == Some(0)),
            "{region}: nothing dropped: {c}"
        );
        accepted_sum += c["accepted"].as_u64().expect("accepted");
    }
    assert_eq!(
        accepted_sum,
        published.values().sum::<u64>(),
        "every frame handled once, none twice"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
