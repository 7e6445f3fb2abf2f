//! Modbus/TCP Security on an emulated field port: only a client whose certificate the field's
//! CA issued with the `operator` role may write; a client without a certificate, with one from
//! another CA, an expired one, or plain Modbus TCP never completes a session, and a `monitor`
//! (or a certificate without a role) reads but every write is answered exception 01. Every
//! refusal is logged with the peer. The port limits hold over TLS too: a flood that ends leaves
//! the port serving, and a half-done handshake is closed at the frame deadline.
//!
//! Certificates are made here with `rcgen` (`field::security::pki`).

mod field_support;

use field::emulator::server::{self, ServerLimits, ServerStats};
use field::protocol::regmap::hr;
use field::security::pki::{CertAuthority, CertSpec, IssuedCert};
use field::security::{ClientTls, ServerTls};
use field::{ClientPool, Clock, FieldEmulator, IdleSource, ManualClock};
use field_support::*;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_modbus::prelude::*;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Lines containing `what` logged for the peer `addr` (exact `peer=` field).
fn lines_for(addr: SocketAddr, what: &str) -> Vec<String> {
    lines_since(0, addr, what)
}

/// [`lines_for`] among the lines after the first `mark` (an ephemeral port may come back in
/// a later attempt, so a count per address holds only within one run).
fn lines_since(mark: usize, addr: SocketAddr, what: &str) -> Vec<String> {
    let tag = format!("peer={addr}");
    log_lines()
        .into_iter()
        .skip(mark)
        .filter(|l| l.contains(what) && l.split_whitespace().any(|w| w == tag))
        .collect()
}

/// Waits (bounded; the bound is only the failure condition) until `cond` holds.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .is_ok()
}

/// The field's CA, its server certificate for 127.0.0.1, and a second, unrelated CA.
struct Pki {
    ca: CertAuthority,
    other_ca: CertAuthority,
    server: IssuedCert,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca = CertAuthority::new("field CA").expect("ca");
        let server = ca
            .issue(&CertSpec::server("field", &["127.0.0.1".to_string()]))
            .expect("server cert");
        Pki {
            ca,
            other_ca: CertAuthority::new("someone else's CA").expect("other ca"),
            server,
        }
    })
}

fn client_cert(ca: &CertAuthority, cn: &str, role: Option<&str>) -> IssuedCert {
    ca.issue(&CertSpec::client(cn, role)).expect("client cert")
}

fn roots_of(ca: &CertAuthority) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert().cert_der.clone()).unwrap();
    Arc::new(roots)
}

/// A rustls client trusting the field's CA, with `cert` as its client certificate (or none),
/// speaking only `versions`.
fn connector(
    cert: Option<&IssuedCert>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> TlsConnector {
    let builder = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots_of(&pki().ca));
    let config = match cert {
        Some(c) => builder.with_client_auth_cert(c.chain(), c.key()).unwrap(),
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

fn default_connector(cert: Option<&IssuedCert>) -> TlsConnector {
    connector(cert, rustls::DEFAULT_VERSIONS)
}

/// One TLS port (both fixture intersections, unit ids 1 and 2) on loopback.
struct Port {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    task: JoinHandle<()>,
    emu: Arc<FieldEmulator>,
}

impl Port {
    async fn start(limits: ServerLimits) -> Port {
        let tls: ServerTls = pki().ca.server_tls(&pki().server).expect("server tls");
        let clock: Arc<dyn Clock> = ManualClock::new(0);
        let emu = Arc::new(
            FieldEmulator::new(fixture_net(), clock, |_| Box::new(IdleSource)).expect("emulator"),
        );
        let mut bound = emu
            .bind_all(|_| Some(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .expect("bind");
        let (_, listener, svc) = bound.remove(0);
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(ServerStats::default());
        let st = stats.clone();
        let task = tokio::spawn(async move {
            let _ = server::serve_tls(listener, svc, limits, st, tls).await;
        });
        Port {
            addr,
            stats,
            task,
            emu,
        }
    }

    /// Holding registers 0..=3 (pattern control, heartbeat, watchdog, stage request) of both
    /// units, read inside the field.
    fn control_registers(&self) -> Vec<Vec<u16>> {
        self.emu
            .units()
            .map(|(_, u)| {
                server::lock(u)
                    .read_holding(0, hr::STAGE_REQUEST + 1)
                    .expect("read")
            })
            .collect()
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Tests of this binary run one at a time (one floods the port).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The write of attempt `i`: FLASH, heartbeat, an hour of watchdog, a stage request, the
/// plan area — every kind of write an attacker would try, in turn.
async fn write_attempt(ctx: &mut client::Context, i: u16) -> tokio_modbus::Result<()> {
    match i % 5 {
        0 => {
            ctx.write_single_register(hr::SYSTEM_PATTERN_CONTROL, 2)
                .await
        }
        1 => ctx.write_single_register(hr::HEARTBEAT, i + 1).await,
        2 => {
            ctx.write_multiple_registers(hr::UNIT_BACKUP_TIME_S, &[3600])
                .await
        }
        3 => ctx.write_single_register(hr::STAGE_REQUEST, 2).await,
        _ => {
            ctx.write_multiple_registers(hr::PLAN_BASE, &[0, i, 700, 0])
                .await
        }
    }
}

/// `n` write attempts, each on a new connection through `connector`; returns the local
/// address of every attempt (none of which may have written anything).
async fn refused_at_handshake(port: &Port, connector: &TlsConnector, n: u16) -> Vec<SocketAddr> {
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut mine = Vec::new();
    for i in 0..n {
        let tcp = TcpStream::connect(port.addr).await.unwrap();
        mine.push(tcp.local_addr().unwrap());
        let attempt = async {
            // the server refuses the handshake (TLS 1.2), or right after it (TLS 1.3: the
            // client learns it from the alert on its first read)
            let Ok(tls) = connector.connect(name.clone(), tcp).await else {
                return None;
            };
            let mut ctx = tokio_modbus::client::tcp::attach_slave(tls, Slave(1));
            Some(write_attempt(&mut ctx, i).await)
        };
        let outcome = tokio::time::timeout(Duration::from_secs(10), attempt)
            .await
            .expect("refused, not left hanging");
        // no session (None), or a session that died before answering (transport error)
        assert!(
            matches!(outcome, None | Some(Err(_))),
            "attempt {i}: {outcome:?}"
        );
    }
    mine
}

async fn assert_refused_at_handshake(port: &Port, connector: &TlsConnector, what: &str) {
    log_buffer();
    let before = port.control_registers();
    let failed_before = ServerStats::get(&port.stats.tls_handshake_failed);
    let mark = log_lines().len();
    let attempts = 100;
    let mine = refused_at_handshake(port, connector, attempts).await;
    assert_eq!(
        port.control_registers(),
        before,
        "{what}: a register changed"
    );
    // each attempt is logged at warn with its peer address
    let all_logged = eventually(|| {
        mine.iter()
            .all(|a| !lines_since(mark, *a, "TLS handshake refused").is_empty())
    })
    .await;
    let missing: Vec<_> = mine
        .iter()
        .filter(|a| lines_since(mark, **a, "TLS handshake refused").is_empty())
        .collect();
    assert!(all_logged, "{what}: not logged for {missing:?}");
    assert!(lines_since(mark, mine[0], "TLS handshake refused")[0].contains(" WARN "));
    assert_eq!(
        ServerStats::get(&port.stats.tls_handshake_failed) - failed_before,
        u64::from(attempts),
        "{what}"
    );
    // and nothing was ever written
    let written = mine
        .iter()
        .filter(|a| !lines_since(mark, **a, "field write").is_empty())
        .count();
    assert_eq!(written, 0, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_cannot_write_a_single_register() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    assert_refused_at_handshake(&port, &default_connector(None), "no certificate").await;
    // over TLS 1.2 the refusal comes within the handshake
    let tls12 = connector(None, &[&rustls::version::TLS12]);
    assert_refused_at_handshake(&port, &tls12, "no certificate, TLS 1.2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_a_certificate_from_another_ca_cannot_write() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    // an operator certificate, issued by the wrong CA
    let stranger = client_cert(&pki().other_ca, "intruder", Some("operator"));
    let c = default_connector(Some(&stranger));
    assert_refused_at_handshake(&port, &c, "another CA").await;
    let line = &log_lines()
        .into_iter()
        .rfind(|l| l.contains("TLS handshake refused"))
        .unwrap();
    assert!(line.contains("UnknownIssuer"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    let mut spec = CertSpec::client("expired operator", Some("operator"));
    spec.valid_from = (2019, 1, 1);
    spec.valid_until = (2020, 1, 1);
    let expired = pki().ca.issue(&spec).unwrap();
    let c = default_connector(Some(&expired));
    let before = port.control_registers();
    let mark = log_lines().len();
    let mine = refused_at_handshake(&port, &c, 10).await;
    assert_eq!(port.control_registers(), before);
    let logged = eventually(|| {
        mine.iter()
            .all(|a| !lines_since(mark, *a, "TLS handshake refused").is_empty())
    })
    .await;
    assert!(logged, "{:#?}", log_lines().split_off(mark));
    let line = &lines_since(mark, mine[0], "TLS handshake refused")[0];
    assert!(line.contains("certificate expired"), "{line}");
}

/// 100 writes of every kind from a read-only peer on one session: each answered exception 01,
/// each logged at warn with the peer's address, subject and role; reads are served.
async fn read_only_peer_cannot_write(cert: &IssuedCert, subject: &str, role: &str) {
    log_buffer();
    let port = Port::start(ServerLimits::default()).await;
    let before = port.control_registers();
    let tcp = TcpStream::connect(port.addr).await.unwrap();
    let me = tcp.local_addr().unwrap();
    let tls = default_connector(Some(cert))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("handshake");
    let mut ctx = tokio_modbus::client::tcp::attach_slave(tls, Slave(1));
    let attempts = 100u16;
    for i in 0..attempts {
        let r = write_attempt(&mut ctx, i).await;
        assert!(
            matches!(r, Ok(Err(ExceptionCode::IllegalFunction))),
            "attempt {i}: {r:?}"
        );
    }
    // reads are served on the same session: holding and input registers
    let status = ctx.read_input_registers(0, 2).await.unwrap().unwrap();
    assert_eq!(status.len(), 2);
    let held = ctx
        .read_holding_registers(0, hr::STAGE_REQUEST + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        held, before[0],
        "unit 1's control registers, as read inside"
    );
    assert_eq!(port.control_registers(), before, "a register changed");
    assert_eq!(
        ServerStats::get(&port.stats.refused_unauthorized),
        u64::from(attempts)
    );
    let refusals = lines_for(me, "refused: the certificate's role may only read");
    assert_eq!(refusals.len(), usize::from(attempts));
    for l in &refusals {
        assert!(l.contains(" WARN "), "{l}");
        assert!(l.contains(&format!("cert_subject=\"{subject}\"")), "{l}");
        assert!(l.contains(&format!("role=\"{role}\"")), "{l}");
    }
    assert!(lines_for(me, "field write").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_role_reads_but_cannot_write() {
    let _serial = SERIAL.lock().await;
    let monitor = client_cert(&pki().ca, "monitor-1", Some("monitor"));
    read_only_peer_cannot_write(&monitor, "O=greenwave, CN=monitor-1", "monitor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_without_a_known_role_only_reads() {
    let _serial = SERIAL.lock().await;
    let none = client_cert(&pki().ca, "no-role", None);
    read_only_peer_cannot_write(&none, "O=greenwave, CN=no-role", "-").await;
    let odd = client_cert(&pki().ca, "odd-role", Some("Operator"));
    read_only_peer_cannot_write(&odd, "O=greenwave, CN=odd-role", "Operator").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_role_writes_and_every_write_names_it() {
    let _serial = SERIAL.lock().await;
    log_buffer();
    let port = Port::start(ServerLimits::default()).await;
    let operator = client_cert(&pki().ca, "central-1", Some("operator"));
    let tls: ClientTls = pki().ca.client_tls(&operator).unwrap();
    let net = fixture_net();
    let addr = port.addr;
    let mut pool = ClientPool::connect_tls(&net, test_link_config(), Some(&tls), |_| Some(addr))
        .await
        .expect("pool");
    let mut seqs = Vec::new();
    for (name, splits) in [("a", [40.0, 30.0]), ("b", [30.0, 30.0])] {
        let link = pool.link(id(&net, name)).unwrap();
        link.heartbeat().await.expect("heartbeat written");
        let report = link
            .push_plan(&net, &plan(&net, name, &splits, 0.0))
            .await
            .expect("plan accepted");
        seqs.push(report.seq);
        link.status().await.unwrap();
        link.poll_detectors().await.unwrap();
    }
    let heartbeats: Vec<u16> = port
        .control_registers()
        .iter()
        .map(|r| r[hr::HEARTBEAT as usize])
        .collect();
    assert!(heartbeats.iter().all(|h| *h != 0), "{heartbeats:?}");
    assert_eq!(ServerStats::get(&port.stats.refused_unauthorized), 0);
    let commits: Vec<String> = log_lines()
        .into_iter()
        .filter(|l| {
            l.contains("field write: commit")
                && l.contains("cert_subject=\"O=greenwave, CN=central-1\"")
        })
        .collect();
    assert_eq!(commits.len(), 2, "{commits:#?}");
    for c in &commits {
        assert!(c.contains("role=\"operator\""), "{c}");
        assert!(c.contains("verdict=plan accepted"), "{c}");
        assert!(c.contains("peer=127.0.0.1:"), "{c}");
    }
    // TLS 1.2 is enough (the profile's floor)
    let tcp = TcpStream::connect(port.addr).await.unwrap();
    let tls12 = connector(Some(&operator), &[&rustls::version::TLS12])
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("TLS 1.2 handshake");
    let mut ctx = tokio_modbus::client::tcp::attach_slave(tls12, Slave(2));
    // (the heartbeat needs its command block: a watchdog setting is a plain operator write)
    ctx.write_single_register(hr::UNIT_BACKUP_TIME_S, 42)
        .await
        .unwrap()
        .expect("written over TLS 1.2");
    let back = ctx
        .read_holding_registers(hr::UNIT_BACKUP_TIME_S, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, vec![42]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_refuses_a_field_from_another_ca() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    // the central trusts only the other CA: the field's certificate is not one of its own
    let central = client_cert(&pki().other_ca, "central-2", Some("operator"));
    let tls = pki().other_ca.client_tls(&central).unwrap();
    let net = fixture_net();
    let addr = port.addr;
    let mut pool = ClientPool::connect_tls(&net, test_link_config(), Some(&tls), |_| Some(addr))
        .await
        .expect("pool");
    let link = pool.link(id(&net, "a")).unwrap();
    let e = link.heartbeat().await.unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert!(e.to_string().contains("TLS handshake"), "{e}");
    assert_eq!(
        port.control_registers()[0][hr::HEARTBEAT as usize],
        0,
        "no heartbeat reached the field"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_modbus_tcp_against_the_tls_port_is_refused() {
    let _serial = SERIAL.lock().await;
    log_buffer();
    let port = Port::start(ServerLimits::default()).await;
    let before = port.control_registers();
    let mark = log_lines().len();
    let mut mine = Vec::new();
    for i in 0..20u16 {
        let tcp = TcpStream::connect(port.addr).await.unwrap();
        mine.push(tcp.local_addr().unwrap());
        let mut ctx = tokio_modbus::client::tcp::attach_slave(tcp, Slave(1));
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            ctx.write_single_register(hr::HEARTBEAT, i + 1),
        )
        .await
        .expect("closed, not left hanging");
        assert!(r.is_err(), "attempt {i}: {r:?}");
    }
    assert_eq!(port.control_registers(), before);
    let logged = eventually(|| {
        mine.iter()
            .all(|a| !lines_since(mark, *a, "TLS handshake refused").is_empty())
    })
    .await;
    assert!(logged);
}

/// A legitimate TLS client: connects with the operator certificate and reads one register.
async fn one_tls_read(addr: SocketAddr) -> bool {
    static OPERATOR: OnceLock<IssuedCert> = OnceLock::new();
    let op = OPERATOR.get_or_init(|| client_cert(&pki().ca, "central-3", Some("operator")));
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return false;
    };
    let Ok(tls) = default_connector(Some(op))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
    else {
        return false;
    };
    let mut ctx = tokio_modbus::client::tcp::attach_slave(tls, Slave(1));
    matches!(ctx.read_input_registers(0, 1).await, Ok(Ok(v)) if v.len() == 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_that_ends_leaves_the_tls_port_serving_every_round() {
    let _serial = SERIAL.lock().await;
    let limits = ServerLimits::default();
    let cap = limits.max_connections;
    let extra = 32;
    let port = Port::start(limits).await;
    let rounds = 20;
    let recovery_ms = flood_over_the_limit(port.addr, &port.stats, cap, extra, rounds, || {
        one_tls_read(port.addr)
    })
    .await;
    eprintln!(
        "TLS port, flood of {} connections (cap {cap}) × {rounds}: served again after release in min {:.2} ms, median {:.2} ms, max {:.2} ms",
        cap + extra,
        recovery_ms[0],
        recovery_ms[rounds / 2],
        recovery_ms[rounds - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_done_handshake_is_closed_at_the_frame_deadline() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        idle_timeout: Duration::from_secs(60),
        frame_timeout: Duration::from_millis(300),
        max_connections: 2,
        ..ServerLimits::default()
    })
    .await;
    // two peers hold both slots: one sent nothing, one the first bytes of a ClientHello
    let mut silent = TcpStream::connect(port.addr).await.unwrap();
    let mut partial = TcpStream::connect(port.addr).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x01]).await.unwrap();
    for s in [&mut silent, &mut partial] {
        let mut b = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match s.read(&mut b).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a half-done handshake kept its slot");
    }
    // (the socket closes as the handshake is abandoned, just before the count)
    let stats = port.stats.clone();
    assert!(eventually(|| ServerStats::get(&stats.tls_handshake_failed) == 2).await);
    // the slots are free again
    assert!(one_tls_read(port.addr).await);
}

/// An operator session over TLS on `addr` (unit 1).
async fn operator_session(addr: SocketAddr) -> client::Context {
    let op = client_cert(&pki().ca, "central-4", Some("operator"));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = default_connector(Some(&op))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("handshake");
    tokio_modbus::client::tcp::attach_slave(tls, Slave(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_over_the_rate_is_refused_while_another_is_served() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        rate_per_s: 5.0,
        rate_burst: 5,
        ..ServerLimits::default()
    })
    .await;
    let mut greedy = operator_session(port.addr).await;
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
    assert!(
        one_tls_read(port.addr).await,
        "another client is still served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tls_session_is_closed_after_the_idle_timeout() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits {
        idle_timeout: Duration::from_millis(300),
        frame_timeout: Duration::from_secs(30),
        ..ServerLimits::in_process()
    })
    .await;
    let mut ctx = operator_session(port.addr).await;
    ctx.read_input_registers(0, 1).await.unwrap().unwrap();
    let stats = port.stats.clone();
    assert!(eventually(|| ServerStats::get(&stats.closed_idle) == 1).await);
    assert!(ctx.read_input_registers(0, 1).await.is_err(), "closed");
    assert_eq!(ServerStats::get(&port.stats.closed_frame_timeout), 0);
    assert_eq!(ServerStats::get(&port.stats.tls_handshake_failed), 0);
}

/// The attack as found, against a TLS port: connections until the process has no descriptor
/// left, then released (bounded as in `field_bounds.rs`: stops at the first failed connect or
/// at 30000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_to_descriptor_exhaustion_leaves_the_tls_port_serving() {
    let _serial = SERIAL.lock().await;
    let port = Port::start(ServerLimits::default()).await;
    let (flood, _) = flood_until_refused(port.addr).await;
    let opened = flood.len();
    drop(flood);
    assert!(
        served_within_1_s(Duration::from_millis(300), || one_tls_read(port.addr)).await,
        "not served within 1 s after a flood of {opened}"
    );
}
