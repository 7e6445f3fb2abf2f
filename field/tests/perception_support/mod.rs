//! Shared by the perception tests: the bundled network, valid frames, a seeded generator of
//! hostile messages (each tagged with the drop reason it must be counted under), and a
//! Mosquitto started on a free loopback port with a temporary config.
#![allow(
    dead_code,
    reason = "shared by several test binaries, each using a different part"
)]

use field::perception::{
    frame_topic, DropReason, SensorDirectory, SensorKind, WireFrame, MAX_PAYLOAD_BYTES,
    SCHEMA_VERSION,
};
use roadnet::{CameraFrame, CameraId, LaneView, RoadNet, TrackedVehicle};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The receiver's fixed clock in the tests, ms.
pub(crate) const NOW_MS: u64 = 1_000_000_000;

/// The bundled corridor (`intersections.toml`): 5 signals, cameras on the arterial approaches.
pub(crate) fn bundled_net() -> Arc<RoadNet> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../intersections.toml");
    Arc::new(roadnet::load_network(std::path::Path::new(path)).expect("bundled network loads"))
}

/// A plausible frame of camera `cam`: 2 vehicles per lane, 1 halting, one tracked vehicle.
pub(crate) fn frame(net: &RoadNet, cam: usize, time_s: f64) -> CameraFrame {
    let c = &net.cameras[cam];
    CameraFrame {
        camera: c.id,
        time_s,
        lanes: c
            .lanes
            .iter()
            .map(|l| LaneView {
                lane: *l,
                vehicles: 2,
                halting: 1,
                queue_length_m: 7.5,
                departed: 1,
            })
            .collect(),
        vehicles: vec![TrackedVehicle {
            lane: c.lanes[0],
            distance_to_stop_m: 12.25,
            speed_m_s: 3.5,
        }],
    }
}

/// splitmix64: a small seeded generator, so the hostile stream is the same on every run.
#[derive(Debug)]
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated message and what the ingest must make of it (`None`: accepted).
#[derive(Debug)]
pub(crate) struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub expect: Option<DropReason>,
}

/// Hostile and valid messages for every camera of `net`, in order, from one seed: the ingest
/// (max_age 5 s, max_skew 2 s, clock [`NOW_MS`]) must accept the valid ones and count every
/// other under its tag. `regions[k]` is camera k's region.
#[derive(Debug)]
pub(crate) struct Hostile {
    dir: Arc<SensorDirectory>,
    net: Arc<RoadNet>,
    regions: Vec<String>,
    rng: Rng,
    /// Per camera: last accepted (seq, sensor time).
    last: Vec<Option<(u64, u64)>>,
    next_seq: Vec<u64>,
}

impl Hostile {
    pub(crate) fn new(net: Arc<RoadNet>, regions: Vec<String>, seed: u64) -> Hostile {
        let n = net.cameras.len();
        Hostile {
            dir: Arc::new(SensorDirectory::new(&net)),
            net,
            regions,
            rng: Rng(seed),
            last: vec![None; n],
            next_seq: vec![1; n],
        }
    }

    fn wire(&self, cam: usize, seq: u64, time_ms: u64) -> WireFrame {
        let f = frame(&self.net, cam, 0.0);
        self.dir
            .encode(&f, SensorKind::Camera, seq, time_ms)
            .expect("camera of the network")
    }

    fn topic(&self, cam: usize) -> String {
        frame_topic(
            &self.regions[cam],
            SensorKind::Camera,
            &self.net.cameras[cam].name,
        )
    }

    fn valid(&mut self, cam: usize) -> Message {
        let seq = self.next_seq[cam];
        self.next_seq[cam] += 1;
        let t = NOW_MS - 100 + self.rng.below(100);
        // the sensor clock never runs backwards
        let t = t.max(self.last[cam].map_or(0, |l| l.1));
        self.last[cam] = Some((seq, t));
        let w = self.wire(cam, seq, t);
        Message {
            topic: self.topic(cam),
            payload: serde_json::to_vec(&w).expect("encodes"),
            expect: None,
        }
    }

    /// The next message: valid about one time in four, else a random kind of damage.
    pub(crate) fn next(&mut self) -> Message {
        let cam = self.rng.below(self.net.cameras.len() as u64) as usize;
        let kind = self.rng.below(15);
        let topic = self.topic(cam);
        let msg = |payload: Vec<u8>, r: DropReason| Message {
            topic: topic.clone(),
            payload,
            expect: Some(r),
        };
        match kind {
            0..=3 => self.valid(cam),
            4 => {
                // oversized: a valid frame padded past the limit with whitespace
                let mut p = serde_json::to_vec(&self.wire(cam, 1, NOW_MS)).expect("encodes");
                p.extend(std::iter::repeat_n(b' ', MAX_PAYLOAD_BYTES + 1));
                msg(p, DropReason::Oversized)
            }
            5 => {
                // a topic of the scheme's shape with an unknown kind
                let kinds = ["lidar", "cam", "CAMERA", "radar2", "x"];
                let k = kinds[self.rng.below(kinds.len() as u64) as usize];
                let p = serde_json::to_vec(&self.wire(cam, 1, NOW_MS)).expect("encodes");
                Message {
                    topic: format!(
                        "greenwave/v1/{}/{k}/{}",
                        self.regions[cam], self.net.cameras[cam].name
                    ),
                    payload: p,
                    expect: Some(DropReason::BadTopic),
                }
            }
            6 => {
                // malformed: random bytes, truncated JSON, wrong types, unknown fields
                let good = serde_json::to_vec(&self.wire(cam, 1, NOW_MS)).expect("encodes");
                let p = match self.rng.below(5) {
                    0 => (0..self.rng.below(200))
                        .map(|_| self.rng.next() as u8)
                        .collect(),
                    1 => good[..self.rng.below(good.len() as u64) as usize].to_vec(),
                    2 => String::from_utf8_lossy(&good)
                        .replacen("\"seq\":1", "\"seq\":\"one\"", 1)
                        .into_bytes(),
                    3 => String::from_utf8_lossy(&good)
                        .replacen("{", "{\"extra\":1,", 1)
                        .into_bytes(),
                    _ => String::from_utf8_lossy(&good)
                        .replacen("\"vehicles\":2", "\"vehicles\":-2", 1)
                        .into_bytes(),
                };
                msg(p, DropReason::Malformed)
            }
            7 => {
                let mut w = self.wire(cam, 1, NOW_MS);
                w.schema = SCHEMA_VERSION + 1 + self.rng.below(5) as u32;
                msg(serde_json::to_vec(&w).expect("encodes"), DropReason::Schema)
            }
            8 => {
                // the payload names another camera than the topic
                let other = (cam + 1) % self.net.cameras.len();
                let w = self.wire(other, 1, NOW_MS);
                msg(
                    serde_json::to_vec(&w).expect("encodes"),
                    DropReason::TopicMismatch,
                )
            }
            9 => {
                let name = format!("cam_nope_{}", self.rng.below(1000));
                let mut w = self.wire(cam, 1, NOW_MS);
                w.sensor = name.clone();
                Message {
                    topic: frame_topic(&self.regions[cam], SensorKind::Camera, &name),
                    payload: serde_json::to_vec(&w).expect("encodes"),
                    expect: Some(DropReason::UnknownCamera),
                }
            }
            10 => {
                let mut w = self.wire(cam, 1, NOW_MS);
                match self.rng.below(7) {
                    0 => w.lanes[0].halting = w.lanes[0].vehicles + 1,
                    1 => w.lanes[0].vehicles = 10_000,
                    2 => w.lanes[0].queue_length_m = -1.0,
                    3 => w.vehicles[0].speed_m_s = 120.0,
                    4 => w.lanes[0].lane = "no_such_road:0".into(),
                    5 => {
                        let l = w.lanes[0].clone();
                        w.lanes[1] = l;
                    }
                    _ => w.vehicles[0].distance_to_stop_m = 1e6,
                }
                msg(
                    serde_json::to_vec(&w).expect("encodes"),
                    DropReason::Invalid,
                )
            }
            11 => {
                let seq = self.next_seq[cam];
                self.next_seq[cam] += 1;
                let t = NOW_MS - 5_001 - self.rng.below(100_000);
                let w = self.wire(cam, seq, t);
                msg(serde_json::to_vec(&w).expect("encodes"), DropReason::Late)
            }
            12 => {
                let seq = self.next_seq[cam];
                self.next_seq[cam] += 1;
                let t = NOW_MS + 2_001 + self.rng.below(100_000);
                let w = self.wire(cam, seq, t);
                msg(serde_json::to_vec(&w).expect("encodes"), DropReason::Future)
            }
            13 => match self.last[cam] {
                Some((seq, t)) => {
                    let w = self.wire(cam, seq, t);
                    msg(
                        serde_json::to_vec(&w).expect("encodes"),
                        DropReason::Duplicate,
                    )
                }
                None => self.valid(cam),
            },
            _ => match self.last[cam] {
                Some((seq, t)) if seq >= 2 => {
                    let back = self.rng.below(seq - 1);
                    let w = self.wire(cam, seq - 1 - back, t);
                    msg(
                        serde_json::to_vec(&w).expect("encodes"),
                        DropReason::OutOfOrder,
                    )
                }
                _ => self.valid(cam),
            },
        }
    }
}

/// Whether the Mosquitto tests must run (CI) rather than skip.
pub(crate) fn mosquitto_required() -> bool {
    std::env::var("GREENWAVE_REQUIRE_MOSQUITTO").is_ok_and(|v| v == "1")
}

/// The `mosquitto` binary, or `None` after printing the skip line (a panic when
/// `GREENWAVE_REQUIRE_MOSQUITTO=1`).
pub(crate) fn mosquitto_bin(test: &str) -> Option<PathBuf> {
    let found = [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    if found.is_none() {
        assert!(
            !mosquitto_required(),
            "{test}: GREENWAVE_REQUIRE_MOSQUITTO=1 but no mosquitto binary (apt-get install -y mosquitto)"
        );
        eprintln!("skipped: {test}: needs mosquitto (apt-get install -y mosquitto)");
    }
    found
}

/// A Mosquitto on a free loopback port with a temporary config and persistence directory;
/// killed on drop.
#[derive(Debug)]
pub(crate) struct Mosquitto {
    bin: PathBuf,
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Mosquitto {
    pub(crate) fn start(bin: PathBuf, name: &str) -> Mosquitto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "greenwave-mosq-{name}-{}-{port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        // started as root, Mosquitto drops to user `mosquitto`: it must be able to write here
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        }
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             max_packet_size {}\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n\
             log_dest file {}/mosquitto.log\n",
            dir.display(),
            1024 * 1024,
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).expect("write config");
        let mut m = Mosquitto {
            bin,
            dir,
            port,
            child: None,
        };
        m.spawn();
        m
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not open port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop with SIGTERM (Mosquitto saves its sessions and queued messages) and wait.
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }

    /// Stop, then start again on the same port and persistence directory.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub(crate) fn addr(&self) -> field::perception::BrokerAddr {
        field::perception::BrokerAddr {
            host: "127.0.0.1".into(),
            port: self.port,
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // a failed test leaves the broker's config, log and database for a look
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("mosquitto files kept in {}", self.dir.display());
        }
    }
}

/// The camera ids of `net` split into two regions, by intersection name order: what each of
/// two daemons owns.
pub(crate) fn two_regions(net: &RoadNet) -> Vec<String> {
    let mut names: Vec<&str> = net
        .cameras
        .iter()
        .filter_map(|c| c.intersection.map(|i| net.intersection(i).name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let half = names.len() / 2;
    net.cameras
        .iter()
        .map(|c| {
            let n = c
                .intersection
                .map_or("", |i| net.intersection(i).name.as_str());
            let k = names.iter().position(|x| *x == n).unwrap_or(0);
            if k < half { "west" } else { "east" }.to_string()
        })
        .collect()
}

pub(crate) fn camera_index(id: CameraId) -> usize {
    id.index()
}
