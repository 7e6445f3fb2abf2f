//! Faults on the field link: the link cut (dropped or silent) for 1 s, 5 s and 60 s on a
//! manual clock; 10,000 requests with replies delayed past the timeout; 100,000 detector polls
//! with wrapping counters.

mod field_support;

use field::central::EndpointPool;
use field::emulator::server;
use field::protocol::regmap::{self, flags};
use field::{Clock, LinkConfig};
use field_support::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

fn outage_config() -> LinkConfig {
    LinkConfig {
        request_timeout: Duration::from_millis(100),
        connect_timeout: Duration::from_millis(500),
        retries: 0,
        ..test_link_config()
    }
}

/// Plan C for intersection a: cycle 70 s, offset 25 s; the local plan's cycle is 52 s.
async fn link_cut(cut_ds: u64, mode: u8) {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let proxy = Proxy::start(h.addr_of(5101)).await;
    let mut pool = h.pool_via(test_link_config(), |_| proxy.addr).await;
    let mut probe_pool = h.pool_via(outage_config(), |_| proxy.addr).await;
    let unit = h.emu.unit(a).unwrap().clone();
    let status = || server::lock(&unit).status();
    let link = pool.link(a).unwrap();
    link.set_backup_time(2).await.unwrap();
    link.heartbeat().await.unwrap();
    let c = plan(&net, "a", &[40.0, 30.0], 25.0);
    let seq = link.push_plan(&net, &c).await.unwrap().seq;
    let cycle_c: u64 = 700;
    let cycle_local = status().local_cycle_ds as u64;
    let max_cycle = cycle_c.max(cycle_local);

    let mut mon = Monitor::default();
    // settle: central plan on the lamps and in step with its offset
    let mut settled = false;
    for _ in 0..(10 * cycle_c / 5) {
        run_for(&h, &mut mon, 5);
        link.heartbeat().await.unwrap();
        let st = status();
        if st.active_seq == seq && st.flags & flags::TRANSITION == 0 {
            settled = true;
            break;
        }
    }
    assert!(settled, "central plan never settled");

    // cut the link
    let last_hb = h.clock.now_ds();
    proxy.set(mode);
    let t_cut = last_hb;
    let mut local_at = None;
    let mut fallback_seen = false;
    for k in 1..=cut_ds {
        run_for(&h, &mut mon, 1);
        if k % 20 == 0 {
            let r = probe_pool.link(a).unwrap().heartbeat().await;
            assert!(r.is_err(), "heartbeat went through a cut link");
        }
        let st = status();
        fallback_seen |= st.is_fallback();
        if st.active_source == regmap::SOURCE_LOCAL && local_at.is_none() {
            local_at = Some(h.clock.now_ds());
        }
    }
    let backup_ds = 20;
    if cut_ds + 5 <= backup_ds {
        // shorter than unitBackupTime (heartbeats every 0.5 s): the central plan just carries on
        assert!(!fallback_seen, "fell back on a {cut_ds} ds cut");
        assert_eq!(local_at, None);
    } else {
        assert!(fallback_seen);
    }
    // restore the link
    proxy.set(LINK_UP);
    let t_up = h.clock.now_ds();
    let link = pool.link(a).unwrap();
    link.heartbeat().await.expect("link back (reconnects)");
    let mut active_at = None;
    let mut in_step_at = None;
    for _ in 0..(6 * cycle_c / 5) {
        run_for(&h, &mut mon, 5);
        link.heartbeat().await.unwrap();
        let st = status();
        if st.is_fallback() {
            // the watchdog state keeps reporting fallback until a heartbeat arrives
            continue;
        }
        if st.active_seq == seq {
            active_at.get_or_insert(h.clock.now_ds());
            if st.flags & flags::TRANSITION == 0 {
                in_step_at.get_or_insert(h.clock.now_ds());
                break;
            }
        }
    }
    // the cut itself, if it was long enough: local plan within one cycle of the watchdog
    if cut_ds > backup_ds {
        // if the cut ended before the local plan got its stage boundary, it never needed to run
        let deadline = last_hb + backup_ds + max_cycle;
        match local_at {
            Some(t) => assert!(t <= deadline, "local plan at {t}, deadline {deadline}"),
            None => assert!(t_up <= deadline, "no local plan by {t_up}"),
        }
        let _ = t_cut;
    }
    let active_at = active_at.expect("central plan resumed");
    let in_step_at = in_step_at.expect("central plan back in step");
    assert!(
        active_at <= t_up + max_cycle,
        "central plan active {} ds after the link returned",
        active_at - t_up
    );
    assert!(
        in_step_at <= t_up + 3 * cycle_c,
        "central plan in step {} ds after the link returned",
        in_step_at - t_up
    );
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
    assert!(mon.samples > 0);
    let st = status();
    assert_eq!(st.conflict_faults, 0);
    eprintln!(
        "cut {cut_ds} ds mode {mode}: local at {:?} (watchdog {}), central active +{} ds, in step +{} ds",
        local_at.map(|t| t - t_cut),
        backup_ds,
        active_at - t_up,
        in_step_at - t_up
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_dropped_for_1s() {
    link_cut(10, LINK_DROP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_silent_for_1s() {
    link_cut(10, LINK_BLACKHOLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_dropped_for_5s() {
    link_cut(50, LINK_DROP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_silent_for_5s() {
    link_cut(50, LINK_BLACKHOLE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_dropped_for_60s() {
    link_cut(600, LINK_DROP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_silent_for_60s() {
    link_cut(600, LINK_BLACKHOLE).await;
}

/// A server whose reply to a read of `a..a+n` is `a ^ 0x5A5A + i` for each i, delayed by
/// 60 ms when `a % 3 == 0`.
#[derive(Clone)]
struct DelayingEcho;

impl tokio_modbus::server::Service for DelayingEcho {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        Box::pin(async move {
            match req.request {
                Request::ReadHoldingRegisters(a, n) => {
                    if a % 3 == 0 {
                        tokio::time::sleep(Duration::from_millis(60)).await;
                    }
                    Ok(Response::ReadHoldingRegisters(expected(a, n)))
                }
                Request::WriteMultipleRegisters(a, v) => {
                    Ok(Response::WriteMultipleRegisters(a, v.len() as u16))
                }
                _ => Err(ExceptionCode::IllegalFunction),
            }
        })
    }
}

fn expected(a: u16, n: u16) -> Vec<u16> {
    (0..n).map(|i| (a ^ 0x5A5A).wrapping_add(i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_late_replies_are_never_taken_for_a_later_answer() {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let srv = tokio::spawn(async move {
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let on_connected = |stream, addr| async move {
            tokio_modbus::server::tcp::accept_tcp_connection(stream, addr, |_| {
                Ok(Some(DelayingEcho))
            })
        };
        let _ = server.serve(&on_connected, |_| {}).await;
    });
    let cfg = LinkConfig {
        request_timeout: Duration::from_millis(20),
        connect_timeout: Duration::from_secs(5),
        retries: 0,
        max_connections_per_endpoint: 32,
        ..test_link_config()
    };
    let pool = EndpointPool::new(addr, cfg);
    let ok = Arc::new(AtomicU64::new(0));
    let timeouts = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    const REQUESTS: u64 = 10_000;
    const WORKERS: u64 = 32;
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (pool, ok, timeouts, wrong, other) = (
            pool.clone(),
            ok.clone(),
            timeouts.clone(),
            wrong.clone(),
            other.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < REQUESTS {
                // every request differs from its neighbours in address and length
                let a = (i % 3000) as u16;
                let n = 1 + (i % 7) as u16;
                match pool.call(1, Request::ReadHoldingRegisters(a, n), 0).await {
                    Ok(Response::ReadHoldingRegisters(v)) => {
                        if v == expected(a, n) {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(field::LinkError::Transport(field::TransportError::Timeout { .. })) => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += WORKERS;
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(600), t)
            .await
            .expect("hung")
            .unwrap();
    }
    srv.abort();
    let (ok, to, wrong, other) = (
        ok.load(Ordering::Relaxed),
        timeouts.load(Ordering::Relaxed),
        wrong.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
    );
    eprintln!("ok {ok}, timed out {to}, wrong {wrong}, other errors {other}");
    assert_eq!(ok + to + wrong + other, REQUESTS);
    assert_eq!(wrong, 0, "a reply was matched to the wrong request");
    // a third of the requests have their reply delayed 3× past the timeout
    assert!(to >= REQUESTS / 3 - 1, "only {to} timeouts");
    assert!(ok > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_detector_count_is_lost_over_100k_polls_with_wrapping_counters() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let mut pool = h.pool().await;
    let unit = h.emu.unit(a).unwrap().clone();
    let link = pool.link(a).unwrap();
    let first = link.poll_detectors().await.unwrap();
    let n = first.len();
    assert_eq!(n, 2, "fixture has two detectors on a");
    let mut truth = vec![0u64; n];
    let mut polled = vec![0u64; n];
    let mut seed = 0x9E37_79B9u32;
    const POLLS: usize = 100_000;
    for k in 0..POLLS {
        for (d, t) in truth.iter_mut().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            // mostly a few vehicles, sometimes a burst that wraps the 16-bit counter
            let add = if k % 97 == 0 {
                40_000 + seed % 25_000
            } else {
                seed % 9
            };
            server::lock(&unit).add_actuations(d, add, add * 3);
            *t += add as u64;
        }
        let deltas = link.poll_detectors().await.unwrap();
        for (d, x) in deltas.iter().enumerate() {
            polled[d] += x.count as u64;
        }
    }
    assert_eq!(polled, truth);
    for (d, t) in truth.iter().enumerate() {
        assert_eq!(link.detector_total(d), *t);
        assert!(*t > 65_536 * 10, "counter wrapped many times");
    }
}
