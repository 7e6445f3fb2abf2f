//! `greenwave run --mqtt`: the daemon subscribes to camera frames and reports them by reason;
//! a bad broker URL or a region without a broker is a one-line error.

use field::perception::{EmbeddedBroker, Publisher, SensorDirectory, SensorKind};
use roadnet::{CameraFrame, LaneView};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // the bundled deployment with its field controllers behind a port nobody listens on: the
    // daemon steps (its polls fail) and the cameras are what this test is about
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let text = std::fs::read_to_string(root.join("intersections.toml")).expect("bundled");
    let text = behind_port(&text, dead);
    let dir = std::env::temp_dir().join(format!("greenwave-cli-mqtt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cfg = dir.join("intersections.toml");
    std::fs::write(&cfg, &text).expect("write config");
    let net = Arc::new(roadnet::load_network(&cfg).expect("config loads"));
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
