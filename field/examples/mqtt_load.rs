//! Load run (a measurement, not a test): N cameras at 1 Hz for S seconds through a real
//! Mosquitto into one subscriber + ingest, as `greenwave run --mqtt` runs it.
//!
//! ```text
//! cargo run --release -p field --features mqtt --example mqtt_load -- [CAMERAS] [SECONDS]
//! ```
//! (defaults 5000 cameras, 60 s). It starts Mosquitto on a free loopback port, re-runs itself
//! as a separate publisher process (4 MQTT connections, frames spread evenly over each second,
//! stamped with the Unix clock at publication), and reports: frames published / acknowledged /
//! accepted / dropped by reason / lost, the ingest latency (sensor stamp → frame in the
//! daemon's queue, drained every millisecond; the stamp has 1 ms resolution and is truncated,
//! so latencies read up to 1 ms high), and the CPU share of subscriber, publisher and broker
//! (user + system time over wall time; 100 % = one core).

use field::central::CameraSource;
use field::perception::{
    system_clock_ms, BrokerAddr, Publisher, SensorDirectory, SensorKind, Subscriber,
    SubscriberConfig,
};
use roadnet::{CameraFrame, LaneView, RoadNet, TrackedVehicle};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PUBLISHERS: usize = 4;

/// The bundled corridor with `n` extra cameras on its arterial lanes (`load_cam_<k>`).
fn load_net(n: usize) -> RoadNet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../intersections.toml");
    let mut text = std::fs::read_to_string(path).expect("intersections.toml");
    let lanes = ["main_eb_oak", "main_wb_oak", "main_eb_elm", "main_wb_elm"];
    for k in 0..n {
        let road = lanes[k % lanes.len()];
        text.push_str(&format!(
            "\n[[camera]]\nid = \"load_cam_{k}\"\nlanes = [\"{road}:0\", \"{road}:1\", \"{road}:2\"]\nzone_near_m = 0.0\nzone_far_m = 150.0\n"
        ));
    }
    roadnet::config::parse_toml(&text, "load.toml").expect("load network")
}

fn frame(net: &RoadNet, cam: usize, tick: u64) -> CameraFrame {
    let c = &net.cameras[cam];
    CameraFrame {
        camera: c.id,
        time_s: 0.0,
        lanes: c
            .lanes
            .iter()
            .map(|l| LaneView {
                lane: *l,
                vehicles: (tick % 7) as u32 + 2,
                halting: (tick % 3) as u32,
                queue_length_m: 7.5 * (tick % 3) as f64,
                departed: (tick % 2) as u32,
            })
            .collect(),
        vehicles: (0..3)
            .map(|k| TrackedVehicle {
                lane: c.lanes[k % c.lanes.len()],
                distance_to_stop_m: 10.0 + 20.0 * k as f64,
                speed_m_s: 5.0,
            })
            .collect(),
    }
}

/// utime + stime of a process, seconds (Linux `/proc/<pid>/stat`, clock ticks of 1/100 s).
fn cpu_s(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // fields after the ")" of the command name: state is field 3; utime 14, stime 15
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| {
        f.get(i - 3)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (t(14) + t(15)) / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[k] as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--publish") {
        let port: u16 = args[2].parse().expect("port");
        let n: usize = args[3].parse().expect("cameras");
        let secs: u64 = args[4].parse().expect("seconds");
        publish(port, n, secs);
        return;
    }
    let n: usize = args.get(1).map_or(5000, |a| a.parse().expect("CAMERAS"));
    let secs: u64 = args.get(2).map_or(60, |a| a.parse().expect("SECONDS"));
    let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("needs mosquitto (apt-get install -y mosquitto)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = std::env::temp_dir().join(format!("greenwave-mqtt-load-{port}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_packet_size 1048576\n\
             max_queued_messages 1000000\nmax_inflight_messages 1000\n"
        ),
    )
    .expect("config");
    let mut mosq = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let t = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "mosquitto did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let net = load_net(n);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = Arc::new(SensorDirectory::new(&net));
        let broker = BrokerAddr {
            host: "127.0.0.1".into(),
            port,
        };
        let mut cfg = SubscriberConfig::new(broker, "load-sub");
        cfg.clean_session = true;
        let clock = system_clock_ms();
        let mut sub = Subscriber::spawn(cfg, dir, clock).expect("subscriber");
        assert!(sub.wait_connected(1, Duration::from_secs(10)).await);
        assert!(sub.wait_subscribed(Duration::from_secs(10)).await, "subscribed");
        let exe = std::env::current_exe().expect("exe");
        let child = Command::new(exe)
            .args(["--publish", &port.to_string(), &n.to_string(), &secs.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("publisher process");
        let me = std::process::id();
        let (c0_sub, c0_mosq) = (cpu_s(me), cpu_s(mosq.id()));
        let wall0 = Instant::now();
        let mut lat_us: Vec<u64> = Vec::with_capacity(n * secs as usize);
        let mut frames = Vec::new();
        let now_us = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64)
        };
        // drain like a daemon that steps every millisecond, until the publisher is done and
        // nothing more arrives for 2 s
        let mut quiet_since = Instant::now();
        let mut child = Some(child);
        let mut pub_report = String::new();
        loop {
            frames.clear();
            sub.drain(&mut frames);
            let now = now_us();
            for f in &frames {
                let stamp_us = (f.time_s * 1e6).round() as u64;
                lat_us.push(now.saturating_sub(stamp_us));
            }
            if !frames.is_empty() {
                quiet_since = Instant::now();
            }
            if let Some(c) = child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    let out = child.take().expect("child").wait_with_output().expect("out");
                    pub_report = String::from_utf8_lossy(&out.stdout).into_owned();
                }
            }
            if child.is_none() && quiet_since.elapsed() > Duration::from_secs(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let wall = wall0.elapsed().as_secs_f64() - 2.0;
        let (c1_sub, c1_mosq) = (cpu_s(me), cpu_s(mosq.id()));
        let s = sub.stats();
        lat_us.sort_unstable();
        let published: u64 = pub_report
            .split_whitespace()
            .find_map(|w| w.strip_prefix("published=").and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        let acked: u64 = pub_report
            .split_whitespace()
            .find_map(|w| w.strip_prefix("acked=").and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        let pub_cpu: f64 = pub_report
            .split_whitespace()
            .find_map(|w| w.strip_prefix("cpu_s=").and_then(|v| v.parse().ok()))
            .unwrap_or(f64::NAN);
        println!("cameras {n} at 1 Hz for {secs} s through Mosquitto (loopback), one subscriber");
        println!(
            "published {published}  acknowledged {acked}  received {}  accepted {}  delivered {}  dropped {} {:?}",
            s.received, s.accepted, s.delivered, s.dropped_total(), s.dropped
        );
        println!("lost (published − received) {}", published as i64 - s.received as i64);
        println!(
            "ingest latency ms: p50 {:.2}  p99 {:.2}  max {:.2}  (n = {})",
            percentile(&lat_us, 0.5),
            percentile(&lat_us, 0.99),
            percentile(&lat_us, 1.0),
            lat_us.len()
        );
        println!(
            "CPU over {wall:.1} s wall (100 % = one core): subscriber {:.1} %  publisher {:.1} %  mosquitto {:.1} %",
            100.0 * (c1_sub - c0_sub) / wall,
            100.0 * pub_cpu / wall,
            100.0 * (c1_mosq - c0_mosq) / wall
        );
    });
    let _ = mosq.kill();
    let _ = mosq.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The publisher process: `PUBLISHERS` connections, each sending its share of the cameras
/// evenly over every second.
fn publish(port: u16, n: usize, secs: u64) {
    let net = Arc::new(load_net(n));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (published, acked) = rt.block_on(async {
        let dir = Arc::new(SensorDirectory::new(&net));
        let broker = BrokerAddr {
            host: "127.0.0.1".into(),
            port,
        };
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for p in 0..PUBLISHERS {
            let net = net.clone();
            let dir = dir.clone();
            let broker = broker.clone();
            tasks.push(tokio::spawn(async move {
                let mut publ = Publisher::spawn(&broker, &format!("load-pub-{p}"), dir, 1000);
                let mine: Vec<usize> = (0..net.cameras.len())
                    .filter(|k| {
                        net.cameras[*k].name.starts_with("load_cam_") && k % PUBLISHERS == p
                    })
                    .collect();
                // 100 slots per second, each publishing its slice of the cameras
                let slots = 100u64;
                let mut iv = tokio::time::interval_at(start, Duration::from_millis(1000 / slots));
                let clock = system_clock_ms();
                for tick in 0..secs * slots {
                    iv.tick().await;
                    let slot = (tick % slots) as usize;
                    let lo = slot * mine.len() / slots as usize;
                    let hi = (slot + 1) * mine.len() / slots as usize;
                    for &cam in &mine[lo..hi] {
                        let f = frame(&net, cam, tick / slots);
                        let _ = publ.publish("load", SensorKind::Camera, &f, clock()).await;
                    }
                }
                let sent = publ.sent();
                let acked = publ.wait_acked(sent, Duration::from_secs(30)).await;
                publ.disconnect().await;
                (sent, acked)
            }));
        }
        let mut total = (0, 0);
        for t in tasks {
            let (s, a) = t.await.expect("publisher task");
            total.0 += s;
            total.1 += a;
        }
        total
    });
    println!(
        "published={published} acked={acked} cpu_s={:.2}",
        cpu_s(std::process::id())
    );
}
