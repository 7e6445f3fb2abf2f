//! The field-controller emulator: tokio-modbus TCP servers in front of [`FieldUnit`]s. One
//! server per configured `host:port`; it serves every intersection configured on that port,
//! addressed by Modbus unit id.

use super::clock::{Clock, Ds};
use super::limits::TokenBucket;
pub use super::limits::{ServerLimits, ServerStats};
use super::unit::{DetectorSource, FieldUnit, UnitError};
use crate::protocol::regmap::{hr, RejectCode};
use crate::protocol::Endpoint;
use crate::security::tls::{identity_of, CertIdentity};
use crate::security::{access_of, Access, ServerTls};
use roadnet::{IntersectionId, RoadNet};
use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_modbus::bytes::Bytes;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// A shared, lockable field unit.
pub type SharedUnit = Arc<Mutex<FieldUnit>>;

/// Lock a unit, recovering from a poisoned lock (a panic elsewhere must not stop the lamps).
pub fn lock(unit: &SharedUnit) -> MutexGuard<'_, FieldUnit> {
    unit.lock().unwrap_or_else(|e| e.into_inner())
}

/// All emulated field controllers of a network, sharing one clock.
pub struct FieldEmulator {
    clock: Arc<dyn Clock>,
    units: BTreeMap<IntersectionId, SharedUnit>,
    endpoints: BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>>,
}

impl std::fmt::Debug for FieldEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldEmulator")
            .field("units", &self.units.keys().collect::<Vec<_>>())
            .field("endpoints", &self.endpoints.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why the emulator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error("{endpoint}: unit id {unit_id} is configured for both '{a}' and '{b}'")]
    DuplicateUnit {
        endpoint: Endpoint,
        unit_id: u8,
        a: String,
        b: String,
    },
    #[error("the network has no signalized intersection with a field controller")]
    Empty,
}

impl FieldEmulator {
    /// One field unit per signalized intersection with a controller; `source(id)` gives each
    /// its detector source.
    pub fn new(
        net: Arc<RoadNet>,
        clock: Arc<dyn Clock>,
        mut source: impl FnMut(IntersectionId) -> Box<dyn DetectorSource>,
    ) -> Result<FieldEmulator, EmulatorError> {
        let now = clock.now_ds();
        let mut units = BTreeMap::new();
        let mut endpoints: BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>> = BTreeMap::new();
        for inter in net.signalized() {
            let Some(ep) = &inter.controller else {
                continue;
            };
            let key = Endpoint::from(ep);
            let on_port = endpoints.entry(key.clone()).or_default();
            if let Some(other) = on_port.get(&ep.unit_id) {
                return Err(EmulatorError::DuplicateUnit {
                    endpoint: key,
                    unit_id: ep.unit_id,
                    a: net.intersection(*other).name.clone(),
                    b: inter.name.clone(),
                });
            }
            on_port.insert(ep.unit_id, inter.id);
            let unit = FieldUnit::new(net.clone(), inter.id, now, source(inter.id))?;
            units.insert(inter.id, Arc::new(Mutex::new(unit)));
        }
        if units.is_empty() {
            return Err(EmulatorError::Empty);
        }
        Ok(FieldEmulator {
            clock,
            units,
            endpoints,
        })
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    pub fn unit(&self, id: IntersectionId) -> Option<&SharedUnit> {
        self.units.get(&id)
    }
    pub fn units(&self) -> impl Iterator<Item = (&IntersectionId, &SharedUnit)> {
        self.units.iter()
    }
    /// The configured endpoints and the intersections each serves, by unit id.
    pub fn endpoints(&self) -> &BTreeMap<Endpoint, BTreeMap<u8, IntersectionId>> {
        &self.endpoints
    }

    /// Run every unit up to the clock's time.
    pub fn advance_all(&self) -> Ds {
        let now = self.clock.now_ds();
        for u in self.units.values() {
            lock(u).advance_to(now);
        }
        now
    }

    /// The Modbus service for one endpoint.
    pub fn service(&self, endpoint: &Endpoint) -> Option<UnitService> {
        let on_port = self.endpoints.get(endpoint)?;
        let units: HashMap<u8, SharedUnit> = on_port
            .iter()
            .map(|(uid, id)| (*uid, self.units[id].clone()))
            .collect();
        Some(UnitService {
            single: (units.len() == 1)
                .then(|| units.values().next().cloned())
                .flatten(),
            units: Arc::new(units),
            clock: self.clock.clone(),
        })
    }

    /// Bind every configured endpoint (`bind_override` may redirect one, e.g. to port 0 in
    /// tests) and return the bound listeners with their services.
    pub async fn bind_all(
        &self,
        mut bind_override: impl FnMut(&Endpoint) -> Option<SocketAddr>,
    ) -> std::io::Result<Vec<(Endpoint, TcpListener, UnitService)>> {
        let mut out = Vec::new();
        for ep in self.endpoints.keys() {
            let addr = match bind_override(ep) {
                Some(a) => a,
                None => ep.resolve().await?,
            };
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({ep}): {e}"))
            })?;
            out.push((
                ep.clone(),
                listener,
                self.service(ep).expect("known endpoint"),
            ));
        }
        Ok(out)
    }

    /// Advance every unit with the clock, every `period` of real time, forever.
    pub async fn run_ticker(self: Arc<Self>, period: Duration) {
        let mut iv = tokio::time::interval(period);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            iv.tick().await;
            self.advance_all();
        }
    }
}

/// Serve Modbus TCP on `listener` with `service` and [`ServerLimits::in_process`] (the
/// defaults without a rate limit) until the task is dropped. For a port other hosts reach,
/// use [`serve_with`] and [`ServerLimits::default`].
pub async fn serve(listener: TcpListener, service: UnitService) -> std::io::Result<()> {
    serve_with(
        listener,
        service,
        ServerLimits::in_process(),
        Arc::new(ServerStats::default()),
    )
    .await
}

/// Who sent a request: the address, and over TLS the verified client certificate's subject
/// and role, which decide what it may do.
#[derive(Clone, Debug)]
pub struct PeerIdentity {
    pub addr: SocketAddr,
    pub cert_subject: Option<String>,
    pub role: Option<String>,
    pub access: Access,
}

impl PeerIdentity {
    /// A peer on a plain Modbus TCP port. Plain ports exist only where the configuration
    /// asks for them explicitly (`--insecure-plain`), and then serve every client as before
    /// TLS: reads and writes.
    pub fn from_addr(addr: SocketAddr) -> PeerIdentity {
        PeerIdentity {
            addr,
            cert_subject: None,
            role: None,
            access: Access::ReadWrite,
        }
    }

    /// A peer whose client certificate the TLS handshake verified: its access is its role's
    /// ([`access_of`]: unknown or missing roles read only).
    pub fn from_cert(addr: SocketAddr, id: CertIdentity) -> PeerIdentity {
        PeerIdentity {
            addr,
            access: access_of(id.role.as_deref()),
            cert_subject: Some(id.subject),
            role: id.role,
        }
    }
}

/// At most one log line per second for an event that a flood repeats; the lines in between
/// are counted and reported with the next one.
#[derive(Debug, Default)]
struct LogThrottle {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    /// `Some(number suppressed since the last line)` when a line may be written now.
    fn ready(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Serve Modbus TCP on `listener` with `service` within `limits`, counting in `stats`, until
/// the task is dropped. It never returns: every accept error (out of descriptors, aborted
/// handshake) is logged and followed by a short pause, then accepting goes on, so that a flood
/// that ends leaves the port serving. (tokio-modbus's own `Server::serve` returns on the first
/// accept error, which is what left a flooded port dead for good; its per-connection loop has
/// no timeouts and is private, so the framing is done here with tokio-modbus's request
/// decoder.)
pub async fn serve_with(
    listener: TcpListener,
    service: UnitService,
    limits: ServerLimits,
    stats: Arc<ServerStats>,
) -> std::io::Result<()> {
    accept_loop(listener, service, limits, stats, None).await
}

/// [`serve_with`] over TLS (Modbus/TCP Security): every connection first completes a TLS
/// handshake with a client certificate that `tls` verifies, within `limits.frame_timeout`
/// (a half-done handshake holds its slot no longer than a half-sent frame); then the
/// certificate's role decides what it may do (`security::Role`). Failed handshakes are logged
/// at warn with the peer's address and counted in `ServerStats::tls_handshake_failed`.
pub async fn serve_tls(
    listener: TcpListener,
    service: UnitService,
    limits: ServerLimits,
    stats: Arc<ServerStats>,
    tls: ServerTls,
) -> std::io::Result<()> {
    accept_loop(listener, service, limits, stats, Some(tls)).await
}

async fn accept_loop(
    listener: TcpListener,
    service: UnitService,
    limits: ServerLimits,
    stats: Arc<ServerStats>,
    tls: Option<ServerTls>,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let local = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut refused_log = LogThrottle::default();
    let mut error_log = LogThrottle::default();
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    ServerStats::bump(&stats.refused_over_limit);
                    // closed at once, before any byte is read: the accept loop never waits
                    drop(stream);
                    if let Some(more) = refused_log.ready(Instant::now()) {
                        tracing::warn!(
                            port = %local,
                            peer = %addr,
                            max_connections = limits.max_connections,
                            also_refused_since_last_line = more,
                            total_refused = ServerStats::get(&stats.refused_over_limit),
                            "connection refused: port at its connection limit"
                        );
                    }
                    continue;
                };
                ServerStats::bump(&stats.accepted);
                tracing::debug!(port = %local, peer = %addr, "connection accepted");
                let _ = stream.set_nodelay(true);
                let (svc, limits, stats) = (service.clone(), limits.clone(), stats.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            let peer = PeerIdentity::from_addr(addr);
                            connection(stream, &peer, &svc, &limits, &stats).await;
                        }
                        Some(tls) => {
                            tls_connection(stream, addr, &tls, &svc, &limits, &stats).await
                        }
                    }
                    // the slot frees only when the connection is gone
                    drop(permit);
                });
            }
            Err(e) => {
                ServerStats::bump(&stats.accept_errors);
                if let Some(more) = error_log.ready(Instant::now()) {
                    tracing::warn!(
                        port = %local,
                        also_failed_since_last_line = more,
                        "accept failed: {e}; pausing {} ms, then accepting again",
                        limits.accept_backoff.as_millis()
                    );
                }
                // An aborted handshake concerns one peer only; anything else (no descriptor
                // left, no memory) lasts a while, and retrying at once would spin the CPU.
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::Interrupted
                ) {
                    tokio::time::sleep(limits.accept_backoff).await;
                }
            }
        }
    }
}

/// MBAP header: transaction id, protocol id, length, unit id.
const MBAP_HEADER: usize = 7;
/// Largest MBAP length field: unit id plus the largest PDU (253 bytes).
const MBAP_MAX_LENGTH: usize = 254;

enum Frame {
    Incomplete,
    /// Protocol id not 0 or a length out of range: no way to find the next frame.
    Malformed,
    Complete(usize),
}

fn frame_in(buf: &[u8]) -> Frame {
    if buf.len() < MBAP_HEADER {
        return Frame::Incomplete;
    }
    let protocol = u16::from_be_bytes([buf[2], buf[3]]);
    let length = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    // at least the unit id and a function code
    if protocol != 0 || !(2..=MBAP_MAX_LENGTH).contains(&length) {
        return Frame::Malformed;
    }
    let total = 6 + length;
    if buf.len() < total {
        Frame::Incomplete
    } else {
        Frame::Complete(total)
    }
}

/// The TLS handshake of one connection (bounded by the frame deadline), then its requests.
async fn tls_connection(
    stream: TcpStream,
    addr: SocketAddr,
    tls: &ServerTls,
    svc: &UnitService,
    limits: &ServerLimits,
    stats: &ServerStats,
) {
    let stream =
        match tokio::time::timeout(limits.frame_timeout, tls.acceptor().accept(stream)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                ServerStats::bump(&stats.tls_handshake_failed);
                tracing::warn!(peer = %addr, "TLS handshake refused: {e}");
                return;
            }
            Err(_) => {
                ServerStats::bump(&stats.tls_handshake_failed);
                tracing::warn!(
                    peer = %addr,
                    frame_timeout_ms = limits.frame_timeout.as_millis() as u64,
                    "TLS handshake not completed in time: connection closed"
                );
                return;
            }
        };
    // the server's verifier requires a client certificate, so there is one
    let Some(cert) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    else {
        ServerStats::bump(&stats.tls_handshake_failed);
        tracing::warn!(peer = %addr, "TLS session without a client certificate: closed");
        return;
    };
    let peer = PeerIdentity::from_cert(addr, identity_of(cert));
    let subject = peer.cert_subject.as_deref().unwrap_or("-");
    let role = peer.role.as_deref().unwrap_or("-");
    match peer.access {
        Access::ReadWrite => {
            tracing::info!(peer = %addr, cert_subject = subject, role, "TLS client connected")
        }
        Access::ReadOnly => tracing::info!(
            peer = %addr,
            cert_subject = subject,
            role,
            "TLS client connected, read only (role not 'operator')"
        ),
    }
    connection(stream, &peer, svc, limits, stats).await;
}

/// Serve one connection until the peer closes it or a limit closes it.
async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: &PeerIdentity,
    svc: &UnitService,
    limits: &ServerLimits,
    stats: &ServerStats,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(2 * (6 + MBAP_MAX_LENGTH));
    let mut chunk = [0u8; 512];
    let mut bucket = TokenBucket::new(limits.rate_per_s, limits.rate_burst, Instant::now());
    let mut busy_logged = false;
    let mut idle_since = tokio::time::Instant::now();
    let mut frame_since: Option<tokio::time::Instant> = None;
    loop {
        // every complete frame in the buffer, in order (a client may pipeline)
        loop {
            let len = match frame_in(&buf) {
                Frame::Incomplete => break,
                Frame::Malformed => {
                    ServerStats::bump(&stats.closed_malformed);
                    tracing::info!(peer = %peer.addr, "connection closed: malformed MBAP header");
                    return;
                }
                Frame::Complete(len) => len,
            };
            let frame: Vec<u8> = buf.drain(..len).collect();
            let allowed = bucket.take(Instant::now());
            if !allowed {
                ServerStats::bump(&stats.rate_limited);
                if !busy_logged {
                    busy_logged = true;
                    tracing::warn!(
                        peer = %peer.addr,
                        rate_per_s = limits.rate_per_s,
                        rate_burst = limits.rate_burst,
                        "request rate over the limit: answering 'server device busy'"
                    );
                }
            }
            let reply = answer_frame(&frame, allowed, svc, peer, stats);
            // a TLS stream sends its record only when flushed
            let send = async {
                stream.write_all(&reply).await?;
                stream.flush().await
            };
            match tokio::time::timeout(limits.frame_timeout, send).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(peer = %peer.addr, "connection ended while answering: {e}");
                    return;
                }
                Err(_) => {
                    ServerStats::bump(&stats.closed_frame_timeout);
                    tracing::info!(peer = %peer.addr, "connection closed: response not taken in time");
                    return;
                }
            }
            let now = tokio::time::Instant::now();
            idle_since = now;
            frame_since = (!buf.is_empty()).then_some(now);
        }
        let deadline = match frame_since {
            Some(t) => t + limits.frame_timeout,
            None => idle_since + limits.idle_timeout,
        };
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) if frame_since.is_some() => {
                ServerStats::bump(&stats.closed_frame_timeout);
                tracing::info!(
                    peer = %peer.addr,
                    frame_timeout_ms = limits.frame_timeout.as_millis() as u64,
                    "connection closed: frame not completed in time"
                );
                return;
            }
            Err(_) => {
                ServerStats::bump(&stats.closed_idle);
                tracing::info!(
                    peer = %peer.addr,
                    idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
                    "connection closed: idle"
                );
                return;
            }
            Ok(Ok(0)) => return,
            Ok(Err(e)) => {
                tracing::debug!(peer = %peer.addr, "connection ended: {e}");
                return;
            }
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if frame_since.is_none() {
                    frame_since = Some(tokio::time::Instant::now());
                }
            }
        }
    }
}

/// Decode a request PDU: only the function codes the field serves (03, 04, 06, 16) reach
/// tokio-modbus's decoder, and FC 16 only with a register count the map allows. Two inputs that
/// panic that decoder — FC 15 with more coils than its bytes hold (an index out of bounds) and
/// FC 16/23 counts over 32,767 (a 16-bit overflow, in builds with overflow checks) — were found
/// by the `modbus_request` fuzz target; both are refused here first. A PDU that does not decode
/// is exception 03; any other function code is 01.
pub fn decode_request(pdu: &[u8]) -> Result<Request<'static>, ExceptionCode> {
    let function = pdu.first().copied().unwrap_or(0);
    if ![0x03, 0x04, 0x06, 0x10].contains(&function) {
        return Err(ExceptionCode::IllegalFunction);
    }
    if function == 0x10 {
        if let Some(q) = pdu.get(3..5) {
            if u16::from_be_bytes([q[0], q[1]]) > crate::protocol::regmap::MAX_WRITE_REGS {
                return Err(ExceptionCode::IllegalDataValue);
            }
        }
    }
    Request::try_from(Bytes::copy_from_slice(pdu)).map_err(|_| ExceptionCode::IllegalDataValue)
}

/// The response frame to one complete request frame (`allowed`: within the rate limit).
fn answer_frame(
    frame: &[u8],
    allowed: bool,
    svc: &UnitService,
    peer: &PeerIdentity,
    stats: &ServerStats,
) -> Vec<u8> {
    let unit_id = frame[6];
    let pdu = &frame[MBAP_HEADER..];
    let function = pdu[0];
    let result = if !allowed {
        Err(ExceptionCode::ServerDeviceBusy)
    } else if peer.access == Access::ReadOnly && !READ_FUNCTIONS.contains(&function) {
        // Modbus/TCP Security: a request the role does not authorize is answered exception
        // 01 (illegal function), and never reaches the unit
        ServerStats::bump(&stats.refused_unauthorized);
        log_unauthorized(peer, unit_id, pdu);
        Err(ExceptionCode::IllegalFunction)
    } else {
        decode_request(pdu).and_then(|request| {
            svc.answer(
                SlaveRequest {
                    slave: unit_id,
                    request,
                },
                Some(peer),
            )
            .and_then(|r| encode_response(&r))
        })
    };
    let body = result.unwrap_or_else(|code| vec![function | 0x80, u8::from(code)]);
    let mut out = Vec::with_capacity(MBAP_HEADER + body.len());
    out.extend_from_slice(&frame[0..2]);
    out.extend_from_slice(&[0, 0]);
    // body is at most 2 + 250 bytes, so the length always fits
    out.extend_from_slice(&(body.len() as u16 + 1).to_be_bytes());
    out.push(unit_id);
    out.extend_from_slice(&body);
    out
}

/// What a read-only peer may send: read holding registers (03) and input registers (04).
const READ_FUNCTIONS: [u8; 2] = [3, 4];

/// A request refused for the peer's role, at warn level: who (address, certificate subject,
/// role) tried what.
fn log_unauthorized(peer: &PeerIdentity, unit: u8, pdu: &[u8]) {
    let function = pdu[0];
    // FC 05/06/15/16/22/23 name their first register right after the function code
    let first = (pdu.len() >= 3).then(|| u16::from_be_bytes([pdu[1], pdu[2]]));
    tracing::warn!(
        peer = %peer.addr,
        cert_subject = peer.cert_subject.as_deref().unwrap_or("-"),
        role = peer.role.as_deref().unwrap_or("-"),
        unit,
        function,
        register = first.map_or_else(|| "-".to_string(), |r| r.to_string()),
        "refused: the certificate's role may only read (exception 01)"
    );
}

/// A response PDU; only the function codes the units answer.
fn encode_response(r: &Response) -> Result<Vec<u8>, ExceptionCode> {
    let words = |fc: u8, ws: &[u16]| {
        let n = u8::try_from(ws.len() * 2)
            .ok()
            .filter(|n| *n <= 250)
            .ok_or(ExceptionCode::IllegalDataValue)?;
        let mut out = vec![fc, n];
        ws.iter()
            .for_each(|w| out.extend_from_slice(&w.to_be_bytes()));
        Ok(out)
    };
    let pair = |fc: u8, a: u16, b: u16| {
        let mut out = vec![fc];
        out.extend_from_slice(&a.to_be_bytes());
        out.extend_from_slice(&b.to_be_bytes());
        Ok(out)
    };
    match r {
        Response::ReadHoldingRegisters(ws) => words(3, ws),
        Response::ReadInputRegisters(ws) => words(4, ws),
        Response::WriteSingleRegister(a, v) => pair(6, *a, *v),
        Response::WriteMultipleRegisters(a, n) => pair(16, *a, *n),
        _ => Err(ExceptionCode::ServerDeviceFailure),
    }
}

/// The Modbus service of one endpoint: routes by unit id to its field units.
#[derive(Clone)]
pub struct UnitService {
    units: Arc<HashMap<u8, SharedUnit>>,
    /// When the endpoint serves exactly one unit, unit ids 0 and 255 also reach it.
    single: Option<SharedUnit>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for UnitService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<_> = self.units.keys().collect();
        ids.sort();
        f.debug_struct("UnitService")
            .field("unit_ids", &ids)
            .finish_non_exhaustive()
    }
}

impl UnitService {
    fn unit(&self, slave: u8) -> Option<&SharedUnit> {
        self.units.get(&slave).or(match slave {
            0 | 255 => self.single.as_ref(),
            _ => None,
        })
    }

    /// Answer one request (synchronously; the unit is first brought up to the clock's time).
    /// Never panics on any frame: bad addresses, lengths or values are Modbus exceptions.
    pub fn handle(&self, req: SlaveRequest<'_>) -> Result<Response, ExceptionCode> {
        self.answer(req, None)
    }

    /// [`Self::handle`], and every write (accepted or not) logged at info level with who sent
    /// it and what it wrote; a commit also with the plan's sequence number and the verdict.
    pub fn answer(
        &self,
        req: SlaveRequest<'_>,
        peer: Option<&PeerIdentity>,
    ) -> Result<Response, ExceptionCode> {
        let slave = req.slave;
        let written = match &req.request {
            Request::WriteSingleRegister(a, _) => Some((*a, 1usize)),
            Request::WriteMultipleRegisters(a, vs) => Some((*a, vs.len())),
            _ => None,
        };
        let unit = match self.unit(slave) {
            Some(u) => u,
            None => {
                if let Some((first, count)) = written {
                    log_write(peer, slave, first, count, "refused: no such unit id", None);
                }
                return Err(ExceptionCode::GatewayTargetDevice);
            }
        };
        let mut u = lock(unit);
        let result = self.answer_unit(&mut u, req);
        if let Some((first, count)) = written {
            let commits = (first as usize..first as usize + count).contains(&(hr::COMMIT as usize));
            let verdict = match &result {
                Err(e) => format!("refused: {e}"),
                Ok(_) => "written".to_string(),
            };
            let commit = (commits && result.is_ok()).then(|| {
                let st = u.status();
                let v = match RejectCode::from_code(st.last_commit_result) {
                    _ if st.last_commit_result == 0 => "plan accepted".to_string(),
                    Some(code) => format!("plan refused: {code}"),
                    None => format!("plan refused: code {}", st.last_commit_result),
                };
                (st.last_commit_seq, v)
            });
            log_write(peer, slave, first, count, &verdict, commit);
        }
        result
    }

    fn answer_unit(
        &self,
        u: &mut FieldUnit,
        req: SlaveRequest<'_>,
    ) -> Result<Response, ExceptionCode> {
        u.advance_to(self.clock.now_ds());
        match req.request {
            Request::ReadHoldingRegisters(a, n) => {
                u.read_holding(a, n).map(Response::ReadHoldingRegisters)
            }
            Request::ReadInputRegisters(a, n) => {
                u.read_input(a, n).map(Response::ReadInputRegisters)
            }
            Request::WriteSingleRegister(a, v) => u
                .write_holding(a, &[v])
                .map(|()| Response::WriteSingleRegister(a, v)),
            Request::WriteMultipleRegisters(a, vs) => u
                .write_holding(a, &vs)
                .map(|()| Response::WriteMultipleRegisters(a, vs.len() as u16)),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

/// One write, at info level: the operator's record of who changed what on the field.
fn log_write(
    peer: Option<&PeerIdentity>,
    unit: u8,
    first: u16,
    count: usize,
    outcome: &str,
    commit: Option<(u32, String)>,
) {
    let addr = peer.map_or_else(|| "-".to_string(), |p| p.addr.to_string());
    let subject = peer.and_then(|p| p.cert_subject.as_deref()).unwrap_or("-");
    let role = peer.and_then(|p| p.role.as_deref()).unwrap_or("-");
    let last = first as usize + count.saturating_sub(1);
    match commit {
        Some((seq, verdict)) => tracing::info!(
            peer = %addr,
            cert_subject = subject,
            role,
            unit,
            registers = %format_args!("{first}..={last}"),
            plan_seq = seq,
            verdict = %verdict,
            "field write: commit"
        ),
        None => tracing::info!(
            peer = %addr,
            cert_subject = subject,
            role,
            unit,
            registers = %format_args!("{first}..={last}"),
            outcome,
            "field write"
        ),
    }
}

impl tokio_modbus::server::Service for UnitService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        ready(self.handle(req))
    }
}
