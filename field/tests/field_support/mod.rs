//! Shared helpers for the field-link integration tests: a fixture network, an in-process
//! emulator on loopback ports chosen by the OS, a cuttable TCP proxy and a conflict monitor.
#![allow(
    dead_code,
    reason = "shared by several test or example binaries, each using a different part"
)]

use field::emulator::server;
use field::{ClientPool, Clock, Endpoint, FieldEmulator, IdleSource, LinkConfig, ManualClock};
use roadnet::{IntersectionId, RoadNet, SignalPlan, StageSplit};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// tests/fixtures/small.toml with both intersections behind one port (unit ids 1 and 2) and
/// a pedestrian crossing (walk 7 s + clearance 9 s) on intersection a's "ns" stage.
/// Every log line of this test binary (one global subscriber: the servers log from worker
/// threads). Tests tell their lines apart by peer address or intersection name.
pub(crate) fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUF: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let w = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(w.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines logged so far by this test binary.
pub(crate) fn log_lines() -> Vec<String> {
    let buf = log_buffer();
    let text = String::from_utf8_lossy(&buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    text.lines().map(str::to_string).collect()
}

/// Write the command block to a unit as a central does: a deadline 1 s ahead of the field
/// clock, then the heartbeat and, when given, the stage request (0 ends request mode).
pub(crate) fn command(
    unit: &mut field::FieldUnit,
    heartbeat: u16,
    stage: Option<u16>,
) -> Result<(), tokio_modbus::ExceptionCode> {
    let until = unit.status().field_time_ds + 10;
    let mut regs = vec![(until >> 16) as u16, until as u16, heartbeat];
    regs.extend(stage);
    unit.write_holding(field::protocol::regmap::hr::COMMAND_VALID_UNTIL_HI, &regs)
}

pub(crate) fn fixture_net() -> Arc<RoadNet> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/small.toml");
    let text = std::fs::read_to_string(path).expect("fixture");
    let text = text.replacen(
        "[[intersection.stage]]\nid = \"ns\"\ngroups = [\"NS\", \"NS_L\"]\n",
        "[[intersection.stage]]\nid = \"ns\"\ngroups = [\"NS\", \"NS_L\"]\nped_walk_s = 7.0\nped_clearance_s = 9.0\n",
        1,
    );
    let text = text.replace("port = 5102, unit_id = 1", "port = 5101, unit_id = 2");
    Arc::new(roadnet::config::parse_toml(&text, "small.toml").expect("fixture parses"))
}

pub(crate) fn id(net: &RoadNet, name: &str) -> IntersectionId {
    net.intersection_by_name(name).expect("intersection")
}

/// A valid plan for intersection `name` with the given splits and offset, seconds.
pub(crate) fn plan(net: &RoadNet, name: &str, splits: &[f64], offset_s: f64) -> SignalPlan {
    let i = id(net, name);
    let stages: Vec<StageSplit> = net
        .intersection(i)
        .stages
        .iter()
        .zip(splits)
        .map(|(s, sp)| StageSplit {
            stage: *s,
            split_s: *sp,
        })
        .collect();
    SignalPlan {
        intersection: i,
        cycle_s: splits.iter().sum(),
        offset_s,
        stages,
    }
}

/// An emulator serving on loopback, every endpoint on an OS-chosen port.
pub(crate) struct Harness {
    pub net: Arc<RoadNet>,
    pub clock: Arc<ManualClock>,
    pub emu: Arc<FieldEmulator>,
    /// Where each configured endpoint really listens.
    pub addrs: HashMap<Endpoint, SocketAddr>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Harness {
    pub(crate) async fn start(net: Arc<RoadNet>) -> Harness {
        let clock = ManualClock::new(0);
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let emu = Arc::new(
            FieldEmulator::new(net.clone(), dyn_clock, |_| Box::new(IdleSource)).expect("emulator"),
        );
        let bound = emu
            .bind_all(|_| Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .expect("bind");
        let mut addrs = HashMap::new();
        let mut tasks = Vec::new();
        for (ep, listener, svc) in bound {
            addrs.insert(ep, listener.local_addr().unwrap());
            tasks.push(tokio::spawn(async move {
                let _ = server::serve(listener, svc).await;
            }));
        }
        Harness {
            net,
            clock,
            emu,
            addrs,
            tasks,
        }
    }

    /// A client pool reaching each endpoint at `addr_of(real address)`.
    pub(crate) async fn pool_via(
        &self,
        cfg: LinkConfig,
        addr_of: impl Fn(SocketAddr) -> SocketAddr,
    ) -> ClientPool {
        let addrs = self.addrs.clone();
        ClientPool::connect(&self.net, cfg, |ep| addrs.get(ep).map(|a| addr_of(*a)))
            .await
            .expect("pool")
    }

    pub(crate) async fn pool(&self) -> ClientPool {
        self.pool_via(test_link_config(), |a| a).await
    }

    pub(crate) fn addr_of(&self, port: u16) -> SocketAddr {
        *self
            .addrs
            .iter()
            .find(|(e, _)| e.port == port)
            .map(|(_, a)| a)
            .expect("endpoint")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Generous timeouts: the tests never assert on wall time.
pub(crate) fn test_link_config() -> LinkConfig {
    LinkConfig {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        retries: 2,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        max_connections_per_endpoint: 4,
    }
}

/// Checks every sample of every unit: no two conflicting groups green, and no group going
/// from green to red without a yellow.
#[derive(Default)]
pub(crate) struct Monitor {
    last_green: HashMap<IntersectionId, u32>,
    last_yellow: HashMap<IntersectionId, u32>,
    pub samples: u64,
    pub violations: Vec<String>,
}

impl Monitor {
    pub(crate) fn sample(&mut self, emu: &FieldEmulator, t: u64) {
        for (id, unit) in emu.units() {
            let u = server::lock(unit);
            let g = u.runner().green_mask();
            let y = u.runner().yellow_mask();
            if let Err((a, b)) = u.conflict_matrix().check(g) {
                self.violations
                    .push(format!("t={t} {id}: groups {a} and {b} green together"));
            }
            let before = self.last_green.get(id).copied().unwrap_or(0);
            let lost = before & !g;
            if lost & !y != 0 {
                self.violations.push(format!(
                    "t={t} {id}: green {lost:#b} went to red without yellow"
                ));
            }
            if u.runner().conflict_faults() > 0 {
                self.violations
                    .push(format!("t={t} {id}: field conflict fault"));
            }
            self.last_green.insert(*id, g);
            self.last_yellow.insert(*id, y);
            self.samples += 1;
        }
    }
}

/// Advance the manual clock `ds` deciseconds, one at a time, running every unit and the
/// monitor at each.
pub(crate) fn run_for(h: &Harness, mon: &mut Monitor, ds: u64) {
    for _ in 0..ds {
        let t = h.clock.advance(1);
        h.emu.advance_all();
        mon.sample(&h.emu, t);
    }
}

/// A TCP proxy that can cut the link: `Drop` closes every connection and refuses new ones,
/// `Blackhole` accepts and holds connections but never forwards (the far end stops answering).
pub(crate) struct Proxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

pub(crate) const LINK_UP: u8 = 0;
pub(crate) const LINK_DROP: u8 = 1;
pub(crate) const LINK_BLACKHOLE: u8 = 2;

impl Proxy {
    pub(crate) async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(LINK_UP));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (m, c) = (mode.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                match m.load(Ordering::SeqCst) {
                    LINK_DROP => drop(inbound),
                    LINK_BLACKHOLE => {
                        c.lock().unwrap().push(tokio::spawn(async move {
                            let mut sink = tokio::io::sink();
                            let _ = tokio::io::copy(&mut inbound, &mut sink).await;
                        }));
                    }
                    _ => {
                        c.lock().unwrap().push(tokio::spawn(async move {
                            if let Ok(mut out) = TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        }));
                    }
                }
            }
        });
        Proxy {
            addr,
            mode,
            conns,
            accept,
        }
    }

    /// Change the link state; any change closes the connections open so far.
    pub(crate) fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

/// The connection flood as found: connections to `addr` until one fails (a connect the
/// backlog does not take within 200 ms counts as failed: the process is out of descriptors or
/// the server stopped accepting) or 30,000 are open (bounded: the soft descriptor limit of this
/// machine was 20,000 when written). Returns the open connections, to be dropped by the caller
/// ("the flood ends"), and whether a connect failed.
pub(crate) async fn flood_until_refused(addr: SocketAddr) -> (Vec<TcpStream>, bool) {
    let mut flood = Vec::new();
    for _ in 0..30_000 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => flood.push(s),
            Ok(Err(_)) | Err(_) => return (flood, true),
        }
    }
    (flood, false)
}

/// Whether `probe` (a fresh client's request) succeeds within 1 s, retried every 5 ms with
/// `per_try` for each attempt — the must-show after a flood is released.
pub(crate) async fn served_within_1_s<F, Fut>(per_try: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            if let Ok(true) = tokio::time::timeout(per_try, probe()).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .is_ok()
}

/// The bounded-server must-show, `rounds` times: `cap + extra` connections to a port that
/// takes `cap` (so the server refuses at least the `extra` ones, counted in `stats`), then
/// all released, and a fresh client (`probe`) must be served within 1 s. Returns, per round,
/// how long after the release it was served, ms. The timeouts are the failure conditions,
/// not speed targets: a real client retries.
pub(crate) async fn flood_over_the_limit<F, Fut>(
    addr: SocketAddr,
    stats: &server::ServerStats,
    cap: usize,
    extra: usize,
    rounds: usize,
    mut probe: F,
) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let refused = || server::ServerStats::get(&stats.refused_over_limit);
    let mut recovery_ms = Vec::new();
    for round in 0..rounds {
        let before = refused();
        // TCP connections that never send a byte: the cheapest flood
        let mut flood = Vec::new();
        for _ in 0..cap + extra {
            flood.push(TcpStream::connect(addr).await.expect("loopback connect"));
        }
        let all_refused = tokio::time::timeout(Duration::from_secs(5), async {
            while refused() < before + extra as u64 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert!(
            all_refused.is_ok(),
            "round {round}: the extra connections were not refused"
        );
        drop(flood);
        let released = std::time::Instant::now();
        let served = tokio::time::timeout(Duration::from_secs(1), async {
            while !probe().await {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            served.is_ok(),
            "round {round}: not served within 1 s after the flood"
        );
        recovery_ms.push(released.elapsed().as_secs_f64() * 1e3);
    }
    recovery_ms.sort_by(f64::total_cmp);
    recovery_ms
}
