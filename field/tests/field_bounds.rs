//! The emulated field ports stay serviceable under abuse: a connection flood that ends leaves
//! the port serving, idle and half-sent connections are closed, a client over the request rate
//! is refused while others are served, every write is logged with its peer, and the central
//! daemon tells the operator once when a field controller goes away and once when it is back.

mod field_support;

use field::central::Daemon;
use field::emulator::server::{self, ServerLimits, ServerStats};
use field::protocol::regmap::hr;
use field::{ClientPool, Clock, FieldEmulator, IdleSource, ManualClock};
use field_support::*;
use roadnet::{Command, Controller, StepInput};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_modbus::prelude::*;

/// One emulated port (both fixture intersections, unit ids 1 and 2) on loopback with `limits`.
struct Port {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    task: JoinHandle<()>,
    _emu: Arc<FieldEmulator>,
}

impl Port {
    async fn start(limits: ServerLimits) -> Port {
        let clock: Arc<dyn Clock> = ManualClock::new(0);
        let emu = Arc::new(
            FieldEmulator::new(fixture_net(), clock, |_| Box::new(IdleSource)).expect("emulator"),
        );
        let mut bound = emu
            .bind_all(|_| Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .expect("bind");
        assert_eq!(bound.len(), 1, "fixture: one port");
        let (_, listener, svc) = bound.remove(0);
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(ServerStats::default());
        let st = stats.clone();
        let task = tokio::spawn(async move {
            let _ = server::serve_with(listener, svc, limits, st).await;
        });
        Port {
            addr,
            stats,
            task,
            _emu: emu,
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Tests of this binary run one at a time: one of them exhausts the process's descriptors.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// FC 04, unit 1, one input register from 0.
const READ_ONE: [u8; 12] = [0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 1];

/// A legitimate client: connects and reads one register; `true` once answered.
async fn one_read(addr: SocketAddr) -> bool {
    let Ok(mut ctx) = tcp::connect_slave(addr, Slave(1)).await else {
        return false;
    };
    matches!(ctx.read_input_registers(0, 1).await, Ok(Ok(v)) if v.len() == 1)
}

/// Whether the server closed `s` (EOF or reset) before `within` ran out.
async fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let mut b = [0u8; 64];
    loop {
        match tokio::time::timeout(within, s.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // a response to something sent earlier: keep waiting for the close
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_that_ends_leaves_the_port_serving_every_round() {
    let _serial = SERIAL.lock().await;
    let limits = ServerLimits::default();
    let cap = limits.max_connections;
    let extra = 32;
    let port = Port::start(limits).await;
    let rounds = 20;
    let recovery_ms = flood_over_the_limit(port.addr, &port.stats, cap, extra, rounds, || {
        one_read(port.addr)
    })
    .await;
    let refused = ServerStats::get(&port.stats.refused_over_limit);
    eprintln!(
        "flood of {} connections (cap {cap}) × {rounds}: served again after release in min {:.2} ms, median {:.2} ms, max {:.2} ms; {refused} refused over the limit",
        cap + extra,
        recovery_ms[0],
        recovery_ms[rounds / 2],
        recovery_ms[rounds - 1]
    );
}

/// The attack as found: connections until the process has no descriptor left (the server's
/// accept then fails too), then released. Bounded: the soft descriptor limit of this machine
/// was 20000 when written; the flood stops at the first failed connect or at 30000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_to_descriptor_exhaustion_leaves_the_port_serving() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    for round in 0..3 {
        let (flood, exhausted) = flood_until_refused(port.addr).await;
        let opened = flood.len();
        drop(flood);
        let released = Instant::now();
        assert!(
            served_within_1_s(Duration::from_millis(100), || one_read(port.addr)).await,
            "round {round}: not served within 1 s after a flood of {opened}"
        );
        eprintln!(
            "round {round}: flood of {opened} connections (stopped by a failed connect: {exhausted}); accept errors so far {}, refused over the limit so far {}; served again {:.1} ms after release",
            ServerStats::get(&port.stats.accept_errors),
            ServerStats::get(&port.stats.refused_over_limit),
            released.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_an_exception_or_a_close_never_a_dead_port() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    let mut s = TcpStream::connect(port.addr).await.unwrap();
    // FC 0x2B (not served): exception 0x01, and the connection stays usable
    s.write_all(&[0, 9, 0, 0, 0, 2, 1, 0x2b]).await.unwrap();
    let mut exc = [0u8; 9];
    s.read_exact(&mut exc).await.unwrap();
    assert_eq!((exc[0], exc[1], exc[7], exc[8]), (0, 9, 0xab, 0x01));
    // FC 04 with a cut PDU: exception 0x03
    s.write_all(&[0, 10, 0, 0, 0, 3, 1, 4, 0]).await.unwrap();
    s.read_exact(&mut exc).await.unwrap();
    assert_eq!((exc[7], exc[8]), (0x84, 0x03));
    s.write_all(&READ_ONE).await.unwrap();
    let mut reply = [0u8; 11];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[7], 4);
    // protocol id 1: the frames cannot be found any more, so the connection is closed
    s.write_all(&[0, 11, 0, 1, 0, 6, 1, 4, 0, 0, 0, 1])
        .await
        .unwrap();
    assert!(closed_by_server(&mut s, Duration::from_secs(10)).await);
    // a length over 254: closed too
    let mut s = TcpStream::connect(port.addr).await.unwrap();
    s.write_all(&[0, 12, 0, 0, 0x01, 0x00, 1, 4]).await.unwrap();
    assert!(closed_by_server(&mut s, Duration::from_secs(10)).await);
    assert_eq!(ServerStats::get(&port.stats.closed_malformed), 2);
    assert!(one_read(port.addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        idle_timeout: Duration::from_millis(300),
        frame_timeout: Duration::from_secs(30),
        ..ServerLimits::in_process()
    })
    .await;
    let mut s = TcpStream::connect(port.addr).await.unwrap();
    s.write_all(&READ_ONE).await.unwrap();
    let mut reply = [0u8; 11];
    s.read_exact(&mut reply).await.expect("answered first");
    assert_eq!(reply[7], 4, "a read input registers response");
    assert!(closed_by_server(&mut s, Duration::from_secs(10)).await);
    assert_eq!(ServerStats::get(&port.stats.closed_idle), 1);
    assert_eq!(ServerStats::get(&port.stats.closed_frame_timeout), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_frame_is_closed_after_the_frame_deadline() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        idle_timeout: Duration::from_secs(60),
        frame_timeout: Duration::from_millis(300),
        ..ServerLimits::in_process()
    })
    .await;
    let mut s = TcpStream::connect(port.addr).await.unwrap();
    // the header is cut after the protocol id: the rest never comes
    s.write_all(&READ_ONE[..4]).await.unwrap();
    assert!(closed_by_server(&mut s, Duration::from_secs(10)).await);
    assert_eq!(ServerStats::get(&port.stats.closed_frame_timeout), 1);
    assert_eq!(ServerStats::get(&port.stats.closed_idle), 0);
    // and the port still serves
    assert!(one_read(port.addr).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_the_rate_is_refused_while_another_is_served() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        rate_per_s: 5.0,
        rate_burst: 5,
        ..ServerLimits::default()
    })
    .await;
    let mut greedy = tcp::connect_slave(port.addr, Slave(1)).await.unwrap();
    let (mut ok, mut busy) = (0u64, 0u64);
    for _ in 0..100 {
        match greedy.read_input_registers(0, 1).await {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(ExceptionCode::ServerDeviceBusy)) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(ok >= 5, "the burst is served ({ok})");
    assert!(busy > 0, "requests over the rate refused");
    assert_eq!(ServerStats::get(&port.stats.rate_limited), busy);
    assert!(one_read(port.addr).await, "another client is still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_is_logged_with_its_peer() {
    let _serial = SERIAL.lock().await;
    log_buffer();
    let port = Port::start(ServerLimits::default()).await;
    let mut s = TcpStream::connect(port.addr).await.unwrap();
    let me = s.local_addr().unwrap();
    let [hi, lo] = hr::SYSTEM_PATTERN_CONTROL.to_be_bytes();
    // FC 06 systemPatternControl := PLAN (1), then an unwritable register (refused, logged too)
    s.write_all(&[0, 2, 0, 0, 0, 6, 1, 6, hi, lo, 0, 1])
        .await
        .unwrap();
    let mut reply = [0u8; 12];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[7], 6, "write accepted");
    s.write_all(&[0, 3, 0, 0, 0, 6, 1, 6, 0x7f, 0xff, 0, 1])
        .await
        .unwrap();
    let mut refused = [0u8; 9];
    s.read_exact(&mut refused).await.unwrap();
    assert_eq!(refused[7], 0x86, "write refused");
    let peer = format!("peer={me}");
    let mine: Vec<String> = log_lines()
        .into_iter()
        .filter(|l| l.contains(&peer) && l.contains("field write"))
        .collect();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    assert!(mine[0].contains(&format!("registers={0}..={0}", hr::SYSTEM_PATTERN_CONTROL)));
    assert!(mine[0].contains("outcome=\"written\""), "{}", mine[0]);
    assert!(mine[1].contains("refused"), "{}", mine[1]);

    // a plan push: its commit is logged with the plan's sequence number and the verdict
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let mut pool = h.pool().await;
    let a = id(&net, "a");
    let link = pool.link(a).unwrap();
    link.heartbeat().await.unwrap();
    let seq = link
        .push_plan(&net, &plan(&net, "a", &[40.0, 30.0], 25.0))
        .await
        .unwrap()
        .seq;
    let commits: Vec<String> = log_lines()
        .into_iter()
        .filter(|l| l.contains("field write: commit") && l.contains(&format!("plan_seq={seq} ")))
        .collect();
    assert_eq!(commits.len(), 1, "{commits:#?}");
    assert!(
        commits[0].contains("verdict=plan accepted"),
        "{}",
        commits[0]
    );
    assert!(commits[0].contains("peer=127.0.0.1:"), "{}", commits[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_central_plan_push_passes_the_default_limits() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    let net = fixture_net();
    let addr = port.addr;
    let mut pool = ClientPool::connect(&net, test_link_config(), |_| Some(addr))
        .await
        .expect("pool");
    for (name, splits) in [("a", [40.0, 30.0]), ("b", [30.0, 30.0])] {
        let link = pool.link(id(&net, name)).unwrap();
        link.heartbeat().await.unwrap();
        link.push_plan(&net, &plan(&net, name, &splits, 0.0))
            .await
            .expect("accepted");
        link.status().await.unwrap();
        link.poll_detectors().await.unwrap();
    }
    assert_eq!(ServerStats::get(&port.stats.rate_limited), 0);
    assert_eq!(ServerStats::get(&port.stats.refused_over_limit), 0);
}

/// Asks for nothing: the daemon only polls.
struct Quiet;

impl Controller for Quiet {
    fn name(&self) -> &str {
        "quiet"
    }
    fn step(&mut self, _: &StepInput<'_>, _: &mut Vec<Command>) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_unreachable_and_back_once_each() {
    let _serial = SERIAL.lock().await;
    log_buffer();
    let h = Harness::start(fixture_net()).await;
    let proxy = Proxy::start(h.addr_of(5101)).await;
    let pool = h.pool_via(test_link_config(), |_| proxy.addr).await;
    let mut daemon = Daemon::new(h.net.clone(), pool, Box::new(Quiet));
    let count = |what: &str, name: &str| {
        let tag = format!("intersection={name}");
        log_lines()
            .iter()
            .filter(|l| l.contains(what) && l.split_whitespace().any(|w| w == tag))
            .count()
    };
    let mut t = 0.0;
    for _ in 0..3 {
        t += 1.0;
        daemon.step(t).await;
    }
    assert_eq!(count("field controller unreachable", "a"), 0);
    proxy.set(LINK_DROP);
    for _ in 0..5 {
        t += 1.0;
        daemon.step(t).await;
    }
    assert_eq!(count("field controller unreachable", "a"), 1);
    assert_eq!(count("field controller unreachable", "b"), 1);
    assert_eq!(count("reachable again", "a"), 0);
    proxy.set(LINK_UP);
    // the pool reconnects with its backoff; bounded in steps, not timed
    for _ in 0..100 {
        t += 1.0;
        daemon.step(t).await;
        if count("reachable again", "a") > 0 && count("reachable again", "b") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        t += 1.0;
        daemon.step(t).await;
    }
    for name in ["a", "b"] {
        assert_eq!(count("field controller unreachable", name), 1, "{name}");
        assert_eq!(count("reachable again", name), 1, "{name}");
    }
}
