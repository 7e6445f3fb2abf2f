//! The central side of the field link: a pool of Modbus TCP connections per field endpoint,
//! per-request timeouts, bounded retries with backoff, reconnects, verified plan pushes with
//! sequence numbers under the field's wrap rule ([`regmap::sequence_follows`]), heartbeats and
//! stage requests that carry their own deadline on the field clock (so none outlives the
//! central's wait for it), and exact detector counts across counter wraps and field restarts
//! (the boot epoch).
//!
//! A request that times out drops its connection: a reply that arrives late can only land on
//! a closed socket, never be read as the answer to a later request. (tokio-modbus also checks
//! each reply's transaction id and function code; a mismatch is a protocol error, which drops
//! the connection too.)

use crate::protocol::codec::{
    join_u32, split_u32, DetectorBlock, FieldStatus, PlanRegisters, WrapCounter,
};
use crate::protocol::regmap::{self, hr, ir, RejectCode};
use crate::protocol::{DeviceError, Endpoint, LinkError, TransportError};
use crate::security::tls::server_name;
use crate::security::ClientTls;
use roadnet::{IntersectionId, RoadNet, SignalPlan};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};
use tokio_rustls::rustls::pki_types::ServerName;

/// Timeouts, retries and pool size of the field link.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Longest wait for one reply.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Extra attempts after a transport failure (device exceptions are never retried).
    pub retries: u32,
    /// Backoff before retry k is `backoff_base · 2^k`, capped at `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Most simultaneous connections to one endpoint (host:port).
    pub max_connections_per_endpoint: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            request_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            retries: 2,
            backoff_base: Duration::from_millis(50),
            backoff_max: Duration::from_secs(1),
            max_connections_per_endpoint: 8,
        }
    }
}

/// Connections to one `host:port`, shared by every unit behind it.
pub struct EndpointPool {
    addr: SocketAddr,
    idle: Mutex<Vec<Context>>,
    permits: Semaphore,
    cfg: LinkConfig,
    /// Modbus/TCP Security: the central's TLS and the name the field's certificate must carry
    /// (the configured host); `None` for plain Modbus TCP.
    tls: Option<(ClientTls, ServerName<'static>)>,
    /// Whether a connection was ever opened (every later one counts as a reconnect).
    connected_once: AtomicBool,
}

impl std::fmt::Debug for EndpointPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointPool")
            .field("addr", &self.addr)
            .field("free_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl EndpointPool {
    /// A plain Modbus TCP pool.
    pub fn new(addr: SocketAddr, cfg: LinkConfig) -> Arc<EndpointPool> {
        EndpointPool::with_tls(addr, cfg, None)
    }

    /// A pool whose connections run TLS (`Some`: the client config and the server name the
    /// field's certificate must match) or plain Modbus TCP (`None`).
    pub fn with_tls(
        addr: SocketAddr,
        cfg: LinkConfig,
        tls: Option<(ClientTls, ServerName<'static>)>,
    ) -> Arc<EndpointPool> {
        Arc::new(EndpointPool {
            addr,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(cfg.max_connections_per_endpoint.max(1)),
            cfg,
            tls,
            connected_once: AtomicBool::new(false),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drop every idle connection (the next request reconnects).
    pub fn reset(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// A new connection: TCP, and the TLS handshake on a TLS pool, both within
    /// `connect_timeout`.
    async fn connect(&self) -> Result<Context, TransportError> {
        let deadline = tokio::time::Instant::now() + self.cfg.connect_timeout;
        let timed_out = || TransportError::ConnectTimeout {
            addr: self.addr,
            after: self.cfg.connect_timeout,
        };
        let fut = tokio::net::TcpStream::connect(self.addr);
        let stream = tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| timed_out())?
            .map_err(|source| TransportError::Connect {
                addr: self.addr,
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let Some((tls, name)) = &self.tls else {
            return Ok(tokio_modbus::client::tcp::attach(stream));
        };
        let handshake = tls.connector().connect(name.clone(), stream);
        let stream = tokio::time::timeout_at(deadline, handshake)
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| TransportError::Connect {
                addr: self.addr,
                source: std::io::Error::new(e.kind(), format!("TLS handshake: {e}")),
            })?;
        Ok(tokio_modbus::client::tcp::attach(stream))
    }

    /// One attempt: a connection from the pool (or a new one), one request, one reply. A
    /// connection that timed out or saw a transport/protocol error is dropped, never reused.
    async fn call_once(&self, unit: u8, req: Request<'static>) -> Result<Response, LinkError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut ctx = match pooled {
            Some(c) => c,
            None => {
                let ctx = self.connect().await?;
                self.note_connected();
                ctx
            }
        };
        ctx.set_slave(Slave(unit));
        let sent_at = Instant::now();
        let result = tokio::time::timeout(self.cfg.request_timeout, ctx.call(req)).await;
        if matches!(result, Ok(Ok(_))) {
            super::metrics::round_trip(self.addr, sent_at.elapsed());
        }
        let give_back = |ctx| {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ctx)
        };
        match result {
            Err(_) => Err(TransportError::Timeout {
                addr: self.addr,
                unit,
                after: self.cfg.request_timeout,
            }
            .into()),
            Ok(Err(tokio_modbus::Error::Transport(source))) => Err(TransportError::Io {
                addr: self.addr,
                source,
            }
            .into()),
            Ok(Err(tokio_modbus::Error::Protocol(p))) => Err(TransportError::Protocol {
                addr: self.addr,
                detail: p.to_string(),
            }
            .into()),
            Ok(Ok(Err(code))) => {
                give_back(ctx);
                Err(DeviceError::Exception { unit, code }.into())
            }
            Ok(Ok(Ok(resp))) => {
                give_back(ctx);
                Ok(resp)
            }
        }
    }

    /// Metrics: every connection after the first is a reconnect.
    fn note_connected(&self) {
        if self.connected_once.swap(true, Ordering::Relaxed) {
            super::metrics::reconnect(self.addr);
        }
    }

    /// The wait before retry `attempt` (0-based): `backoff_base · 2^attempt`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        self.cfg
            .backoff_base
            .saturating_mul(1 << attempt.min(16))
            .min(self.cfg.backoff_max)
    }

    /// Longest the central waits for one command to be answered, connection included: a
    /// command's deadline on the field clock is never later than this after it was sent.
    fn command_window(&self) -> Duration {
        self.cfg.connect_timeout + self.cfg.request_timeout
    }

    /// A request with bounded retries (transport failures only) and exponential backoff.
    pub async fn call(
        &self,
        unit: u8,
        req: Request<'static>,
        retries: u32,
    ) -> Result<Response, LinkError> {
        let mut attempt = 0;
        loop {
            match self.call_once(unit, req.clone()).await {
                Err(e) if e.is_transport() && attempt < retries => {
                    tracing::debug!(addr = %self.addr, unit, attempt, "retrying after {e}");
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// What a detector did between two polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DetectorDelta {
    /// Actuations since the previous poll (exact across counter wraps).
    pub count: u32,
    /// Occupied time since the previous poll, ds.
    pub occupied_ds: u32,
    pub occupancy_permille: u16,
    pub health: u16,
}

/// The central's link to one field controller (one intersection).
pub struct FieldLink {
    pool: Arc<EndpointPool>,
    unit: u8,
    intersection: IntersectionId,
    retries: u32,
    next_seq: u32,
    seq_synced: bool,
    /// The newest sequence number an earlier central run wrote here (its audit log): the next
    /// push goes past it when the field's rule allows, so no number is used for two plans.
    seq_floor: Option<u32>,
    heartbeat: u16,
    /// The field clock as last read, for command deadlines.
    clock: Mutex<Option<ClockFix>>,
    /// The field's boot epoch as last read (`None` before the first read).
    boot_epoch: Option<u32>,
    counts: Vec<WrapCounter>,
    occupied: Vec<WrapCounter>,
    detector_count: Option<usize>,
}

impl std::fmt::Debug for FieldLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldLink")
            .field("endpoint", &self.pool.addr)
            .field("unit", &self.unit)
            .field("intersection", &self.intersection)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// The field clock read at a moment of the central's clock.
#[derive(Clone, Copy, Debug)]
struct ClockFix {
    field_time_ds: u32,
    /// When the reply carrying it arrived: the field read its clock before that, so the
    /// estimate of "field now" errs early and a deadline from it errs short — never long.
    at: Instant,
}

/// The outcome of a verified push.
#[derive(Clone, Debug)]
pub struct PushReport {
    pub seq: u32,
    pub status: FieldStatus,
}

impl FieldLink {
    pub fn new(pool: Arc<EndpointPool>, unit: u8, intersection: IntersectionId) -> FieldLink {
        let retries = pool.cfg.retries;
        FieldLink {
            pool,
            unit,
            intersection,
            retries,
            next_seq: 1,
            seq_synced: false,
            seq_floor: None,
            heartbeat: 0,
            clock: Mutex::new(None),
            boot_epoch: None,
            counts: Vec::new(),
            occupied: Vec::new(),
            detector_count: None,
        }
    }

    pub fn intersection(&self) -> IntersectionId {
        self.intersection
    }
    pub fn unit(&self) -> u8 {
        self.unit
    }
    pub fn pool(&self) -> &Arc<EndpointPool> {
        &self.pool
    }
    /// The sequence number the next plan will carry.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    async fn call(&self, req: Request<'static>) -> Result<Response, LinkError> {
        self.pool.call(self.unit, req, self.retries).await
    }

    pub async fn read_holding(&self, addr: u16, cnt: u16) -> Result<Vec<u16>, LinkError> {
        match self.call(Request::ReadHoldingRegisters(addr, cnt)).await? {
            Response::ReadHoldingRegisters(v) => check_len(v, cnt),
            other => Err(bad_reply(other)),
        }
    }

    pub async fn read_input(&self, addr: u16, cnt: u16) -> Result<Vec<u16>, LinkError> {
        match self.call(Request::ReadInputRegisters(addr, cnt)).await? {
            Response::ReadInputRegisters(v) => check_len(v, cnt),
            other => Err(bad_reply(other)),
        }
    }

    /// Write holding registers starting at `addr` (split into ≤ 123-register requests).
    pub async fn write(&self, addr: u16, values: &[u16]) -> Result<(), LinkError> {
        for (i, chunk) in values.chunks(regmap::MAX_WRITE_REGS as usize).enumerate() {
            let a = addr + (i * regmap::MAX_WRITE_REGS as usize) as u16;
            let req = if chunk.len() == 1 {
                Request::WriteSingleRegister(a, chunk[0])
            } else {
                Request::WriteMultipleRegisters(a, Cow::Owned(chunk.to_vec()))
            };
            self.call(req).await?;
        }
        Ok(())
    }

    /// Read holding registers back and compare with what was written.
    pub async fn verify(&self, addr: u16, values: &[u16]) -> Result<(), LinkError> {
        for (i, chunk) in values.chunks(regmap::MAX_READ_REGS as usize).enumerate() {
            let a = addr + (i * regmap::MAX_READ_REGS as usize) as u16;
            let got = self.read_holding(a, chunk.len() as u16).await?;
            if let Some(k) = (0..chunk.len()).find(|k| got[*k] != chunk[*k]) {
                return Err(DeviceError::VerifyMismatch {
                    address: a + k as u16,
                    wrote: chunk[k],
                    read: got[k],
                }
                .into());
            }
        }
        Ok(())
    }

    pub async fn status(&self) -> Result<FieldStatus, LinkError> {
        let regs = self.read_input(0, ir::STATUS_END).await?;
        let at = Instant::now();
        let st = FieldStatus::from_registers(&regs)?;
        if st.device_magic != regmap::DEVICE_MAGIC || st.map_version != regmap::MAP_VERSION {
            return Err(DeviceError::WrongDevice {
                magic: st.device_magic,
                version: st.map_version,
            }
            .into());
        }
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = Some(ClockFix {
            field_time_ds: st.field_time_ds,
            at,
        });
        Ok(st)
    }

    /// The field's boot epoch as of the last detector poll (`None` before one).
    pub fn boot_epoch(&self) -> Option<u32> {
        self.boot_epoch
    }

    /// Feed the field's watchdog.
    pub async fn heartbeat(&mut self) -> Result<(), LinkError> {
        self.heartbeat = self.heartbeat.wrapping_add(1);
        self.command(&[self.heartbeat]).await
    }

    /// Ask the field to serve stage `number` (1-based) next — or keep serving it — as soon as
    /// its own timing minimums allow (register map: stage request). Feeds the watchdog too.
    pub async fn request_stage(&mut self, number: u16) -> Result<(), LinkError> {
        self.heartbeat = self.heartbeat.wrapping_add(1);
        self.command(&[self.heartbeat, number]).await
    }

    /// The deadline, on the field clock, of a command sent now: the field time estimated from
    /// the last status read plus the longest the central will wait for the answer (capped at
    /// what the field accepts). Once the central stops waiting, the field refuses it.
    fn valid_until(&self, fix: ClockFix) -> u32 {
        let elapsed_ds = (fix.at.elapsed().as_millis() / 100).min(u32::MAX as u128) as u32;
        let window_ds = (self.pool.command_window().as_millis().div_ceil(100))
            .min(regmap::MAX_COMMAND_VALIDITY_DS as u128) as u32;
        fix.field_time_ds
            .wrapping_add(elapsed_ds)
            .wrapping_add(window_ds)
    }

    fn clock_fix(&self) -> Option<ClockFix> {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write the command block (deadline, heartbeat[, stage request]) in one request. Each
    /// attempt carries a fresh deadline, so an attempt the central has abandoned cannot take
    /// effect after the next one is sent. A refusal for an out-of-date deadline (the clock
    /// estimate was off: a field restart or a clock step) re-reads the clock and tries once more.
    async fn command(&mut self, tail: &[u16]) -> Result<(), LinkError> {
        let mut attempt = 0;
        let mut resynced = false;
        loop {
            let fix = match self.clock_fix() {
                Some(f) => f,
                None => {
                    self.status().await?;
                    self.clock_fix().expect("a status read sets the clock")
                }
            };
            let mut regs = split_u32(self.valid_until(fix)).to_vec();
            regs.extend_from_slice(tail);
            let req = Request::WriteMultipleRegisters(hr::COMMAND_VALID_UNTIL_HI, Cow::Owned(regs));
            match self.pool.call(self.unit, req, 0).await {
                Ok(_) => return Ok(()),
                Err(LinkError::Device(DeviceError::Exception {
                    code: ExceptionCode::IllegalDataValue,
                    ..
                })) if !resynced => {
                    resynced = true;
                    self.status().await?;
                }
                Err(e) if e.is_transport() && attempt < self.retries => {
                    tracing::debug!(unit = self.unit, attempt, "command: retrying after {e}");
                    tokio::time::sleep(self.pool.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Set `unitBackupTime`, seconds (1..=3600).
    pub async fn set_backup_time(&self, seconds: u16) -> Result<(), LinkError> {
        self.write(hr::UNIT_BACKUP_TIME_S, &[seconds]).await?;
        self.verify(hr::UNIT_BACKUP_TIME_S, &[seconds]).await
    }

    /// Set `systemPatternControl` ([`regmap::PATTERN_PLAN`], `_FREE`, `_FLASH`).
    pub async fn set_pattern(&self, pattern: u16) -> Result<(), LinkError> {
        self.write(hr::SYSTEM_PATTERN_CONTROL, &[pattern]).await?;
        self.verify(hr::SYSTEM_PATTERN_CONTROL, &[pattern]).await
    }

    async fn sync_seq(&mut self) -> Result<(), LinkError> {
        let st = self.status().await?;
        // the field's rule takes 1..=MAX_SEQUENCE_STEP past its last accepted number, wrapping
        self.next_seq = regmap::next_sequence(st.committed_seq);
        if let Some(floor) = self.seq_floor {
            // past the numbers an earlier run wrote (maybe never committed), if the rule allows
            let past = regmap::next_sequence(floor);
            if regmap::sequence_follows(past, st.committed_seq)
                && past.wrapping_sub(st.committed_seq)
                    > self.next_seq.wrapping_sub(st.committed_seq)
            {
                self.next_seq = past;
            }
        }
        self.seq_synced = true;
        Ok(())
    }

    /// Resume after an earlier central run whose newest sequence number here was `seq` (from
    /// the audit log): pushes continue past it rather than reuse it.
    pub fn resume_after(&mut self, seq: u32) {
        self.seq_floor = Some(seq);
        self.seq_synced = false;
    }

    /// Validate a plan centrally, then push it: write the plan area, read it back, commit, and
    /// confirm from the status that the field accepted it.
    pub async fn push_plan(
        &mut self,
        net: &RoadNet,
        plan: &SignalPlan,
    ) -> Result<PushReport, LinkError> {
        self.push_validated(net, plan, hr::COMMIT).await
    }

    /// Validate a plan centrally, then push it as the field's standby (fallback) plan: the same
    /// write, read-back and confirmed commit as [`FieldLink::push_plan`], committed with
    /// [`hr::COMMIT_STANDBY`], so the lamps and any stage-request mode go on unchanged.
    pub async fn push_standby(
        &mut self,
        net: &RoadNet,
        plan: &SignalPlan,
    ) -> Result<PushReport, LinkError> {
        self.push_validated(net, plan, hr::COMMIT_STANDBY).await
    }

    /// The one push path of both: central validation, the next sequence number, and one retry
    /// from the field's own number when it refuses ours as stale.
    async fn push_validated(
        &mut self,
        net: &RoadNet,
        plan: &SignalPlan,
        commit_register: u16,
    ) -> Result<PushReport, LinkError> {
        self.push_journaled(net, plan, commit_register == hr::COMMIT_STANDBY, &mut ())
            .await
    }

    /// [`FieldLink::push_plan`] (`standby` false) or [`FieldLink::push_standby`] (true), telling
    /// `journal` of each plan area (sequence number, checksum) before it is written.
    pub async fn push_journaled(
        &mut self,
        net: &RoadNet,
        plan: &SignalPlan,
        standby: bool,
        journal: &mut dyn PushJournal,
    ) -> Result<PushReport, LinkError> {
        let commit_register = if standby {
            hr::COMMIT_STANDBY
        } else {
            hr::COMMIT
        };
        plan.validate(net)?;
        if !self.seq_synced {
            self.sync_seq().await?;
        }
        let regs = PlanRegisters::from_plan(net, self.next_seq, plan)?;
        journal_area(journal, &regs.to_registers())?;
        match self
            .push_registers_to(&regs.to_registers(), commit_register)
            .await
        {
            Err(e) if e.reject_code() == Some(RejectCode::StaleSequence) => {
                // someone else pushed meanwhile, the field restarted, or a sender moved its
                // number ahead: continue from the field's last accepted number, once
                self.sync_seq().await?;
                let regs = PlanRegisters::from_plan(net, self.next_seq, plan)?;
                journal_area(journal, &regs.to_registers())?;
                self.push_registers_to(&regs.to_registers(), commit_register)
                    .await
            }
            other => other,
        }
    }

    /// Push raw plan-area registers (from [`hr::PLAN_BASE`]) with verification and commit —
    /// no central validation. The field must still refuse anything unsafe.
    pub async fn push_registers(&mut self, area: &[u16]) -> Result<PushReport, LinkError> {
        self.push_registers_to(area, hr::COMMIT).await
    }

    /// [`FieldLink::push_registers`], committed through `commit_register` ([`hr::COMMIT`] or
    /// [`hr::COMMIT_STANDBY`]).
    async fn push_registers_to(
        &mut self,
        area: &[u16],
        commit_register: u16,
    ) -> Result<PushReport, LinkError> {
        let seq = join_u32(area[0], area[1]);
        self.next_seq = regmap::next_sequence(seq);
        self.write(hr::PLAN_BASE, area).await?;
        self.verify(hr::PLAN_BASE, area).await?;
        self.commit_to(seq, area[1], commit_register).await
    }

    /// Write the commit register (once: a repeated commit would be refused as incomplete) and
    /// read the verdict from the status.
    pub async fn commit_and_confirm(
        &mut self,
        seq: u32,
        value: u16,
    ) -> Result<PushReport, LinkError> {
        self.commit_to(seq, value, hr::COMMIT).await
    }

    async fn commit_to(
        &mut self,
        seq: u32,
        value: u16,
        commit_register: u16,
    ) -> Result<PushReport, LinkError> {
        let sent = self
            .pool
            .call(
                self.unit,
                Request::WriteSingleRegister(commit_register, value),
                0,
            )
            .await;
        let sent = match sent {
            Ok(_) => None,
            Err(e) if e.is_transport() => {
                tracing::debug!("commit of plan {seq}: {e}; asking the status");
                Some(e)
            }
            Err(e) => return Err(e),
        };
        let status = self.status().await?;
        if status.last_commit_seq == seq {
            match status.last_commit_rejection() {
                None if status.committed_seq == seq => return Ok(PushReport { seq, status }),
                Some(code) => return Err(DeviceError::Rejected { seq, code }.into()),
                None => {}
            }
        }
        if let Some(e) = sent {
            return Err(e);
        }
        Err(DeviceError::CommitUnconfirmed {
            seq,
            committed: status.committed_seq,
            last: status.last_commit_seq,
        }
        .into())
    }

    /// Read every detector block and turn the wrapping counters into exact increases. The
    /// first read starts at the boot-epoch mirror ([`ir::DET_BOOT_EPOCH_HI`]), so the counters
    /// and the start they count from arrive together: a field that restarted (new epoch) has
    /// counters that began again from 0, which are counted as what they are — new actuations
    /// since the start — and never as a wrap of the old count.
    pub async fn poll_detectors(&mut self) -> Result<Vec<DetectorDelta>, LinkError> {
        let n = match self.detector_count {
            Some(n) => n,
            None => {
                let n = self.status().await?.detector_count as usize;
                self.detector_count = Some(n);
                self.counts = vec![WrapCounter::default(); n];
                self.occupied = vec![WrapCounter::default(); n];
                n
            }
        };
        let head = ir::DET_BASE - ir::DET_BOOT_EPOCH_HI;
        let first_blocks = ((regmap::MAX_READ_REGS - head) / ir::DET_BLOCK) as usize;
        let per_read = (regmap::MAX_READ_REGS / ir::DET_BLOCK) as usize;
        let mut blocks = Vec::with_capacity(n);
        let k = first_blocks.min(n);
        let regs = self
            .read_input(ir::DET_BOOT_EPOCH_HI, head + k as u16 * ir::DET_BLOCK)
            .await?;
        let epoch = join_u32(regs[0], regs[1]);
        blocks.extend(
            regs[head as usize..]
                .chunks(ir::DET_BLOCK as usize)
                .map(DetectorBlock::from_words),
        );
        let mut start = k;
        while start < n {
            let k = per_read.min(n - start);
            let regs = self
                .read_input(
                    ir::DET_BASE + (start as u16) * ir::DET_BLOCK,
                    k as u16 * ir::DET_BLOCK,
                )
                .await?;
            blocks.extend(
                regs.chunks(ir::DET_BLOCK as usize)
                    .map(DetectorBlock::from_words),
            );
            start += k;
        }
        if n > first_blocks {
            // the blocks took several reads: make sure no start fell between them
            let again = self.read_input(ir::DET_BOOT_EPOCH_HI, 2).await?;
            if join_u32(again[0], again[1]) != epoch {
                tracing::warn!(
                    unit = self.unit,
                    "field controller restarted during a detector poll; counts of this poll dropped"
                );
                self.note_restart(join_u32(again[0], again[1]));
                for c in self.counts.iter_mut().chain(self.occupied.iter_mut()) {
                    *c = WrapCounter::default();
                }
                return Ok(vec![DetectorDelta::default(); n]);
            }
        }
        if self.boot_epoch.is_some_and(|e| e != epoch) {
            tracing::warn!(
                unit = self.unit,
                "field controller restarted (boot epoch {:#010x} → {epoch:#010x}); its counters began again from 0",
                self.boot_epoch.unwrap_or(0)
            );
            for c in self.counts.iter_mut().chain(self.occupied.iter_mut()) {
                c.restart();
            }
        }
        self.note_restart(epoch);
        Ok(blocks
            .iter()
            .enumerate()
            .map(|(i, b)| DetectorDelta {
                count: self.counts[i].update(b.count) as u32,
                occupied_ds: self.occupied[i].update(b.occupied_ds) as u32,
                occupancy_permille: b.occupancy_permille,
                health: b.health,
            })
            .collect())
    }

    /// Remember the field's boot epoch; a new one also means the field forgot our plan's
    /// sequence number (the next push re-reads it).
    fn note_restart(&mut self, epoch: u32) {
        if self.boot_epoch != Some(epoch) {
            self.seq_synced = false;
        }
        self.boot_epoch = Some(epoch);
    }

    /// Exact total actuations of detector `i` since the first poll.
    pub fn detector_total(&self, i: usize) -> u64 {
        self.counts.get(i).map(|c| c.total()).unwrap_or(0)
    }
}

/// Told of every plan area just before it is written (the audit log's intent record): its
/// sequence number and checksum. An error stops the push before anything is written.
pub trait PushJournal {
    fn before_write(&mut self, seq: u32, checksum: u16) -> Result<(), String>;
}

/// No journal.
impl PushJournal for () {
    fn before_write(&mut self, _: u32, _: u16) -> Result<(), String> {
        Ok(())
    }
}

fn journal_area(journal: &mut dyn PushJournal, area: &[u16]) -> Result<(), LinkError> {
    let seq = join_u32(area[0], area[1]);
    let checksum = area[(hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize];
    journal
        .before_write(seq, checksum)
        .map_err(LinkError::Journal)
}

fn check_len(v: Vec<u16>, cnt: u16) -> Result<Vec<u16>, LinkError> {
    if v.len() < cnt as usize {
        return Err(DeviceError::BadReply {
            asked: cnt as usize,
            got: v.len(),
        }
        .into());
    }
    Ok(v)
}

fn bad_reply(r: Response) -> LinkError {
    TransportError::Protocol {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        detail: format!("unexpected reply {r:?}"),
    }
    .into()
}

/// Links to every field controller of a network, sharing connection pools per endpoint.
pub struct ClientPool {
    links: BTreeMap<IntersectionId, FieldLink>,
}

impl std::fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.links.values()).finish()
    }
}

impl ClientPool {
    /// One link per signalized intersection with a controller. `addr_override` may redirect an
    /// endpoint (tests bind port 0); otherwise the host is resolved.
    pub async fn connect(
        net: &RoadNet,
        cfg: LinkConfig,
        addr_override: impl FnMut(&Endpoint) -> Option<SocketAddr>,
    ) -> std::io::Result<ClientPool> {
        ClientPool::connect_tls(net, cfg, None, addr_override).await
    }

    /// [`Self::connect`] over TLS when `tls` is given (Modbus/TCP Security: the central
    /// presents its client certificate and checks each field's against the configured host),
    /// plain Modbus TCP when it is `None`.
    pub async fn connect_tls(
        net: &RoadNet,
        cfg: LinkConfig,
        tls: Option<&ClientTls>,
        mut addr_override: impl FnMut(&Endpoint) -> Option<SocketAddr>,
    ) -> std::io::Result<ClientPool> {
        let mut pools: HashMap<SocketAddr, Arc<EndpointPool>> = HashMap::new();
        let mut links = BTreeMap::new();
        for inter in net.signalized() {
            let Some(conf) = &inter.controller else {
                continue;
            };
            let ep = Endpoint::from(conf);
            let addr = match addr_override(&ep) {
                Some(a) => a,
                None => ep.resolve().await?,
            };
            let tls = match tls {
                Some(t) => {
                    let name = server_name(&ep.host).map_err(|e| {
                        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{ep}: {e}"))
                    })?;
                    Some((t.clone(), name))
                }
                None => None,
            };
            let pool = pools
                .entry(addr)
                .or_insert_with(|| EndpointPool::with_tls(addr, cfg.clone(), tls))
                .clone();
            links.insert(inter.id, FieldLink::new(pool, conf.unit_id, inter.id));
        }
        Ok(ClientPool { links })
    }

    pub fn link(&mut self, id: IntersectionId) -> Option<&mut FieldLink> {
        self.links.get_mut(&id)
    }
    pub fn links(&mut self) -> impl Iterator<Item = &mut FieldLink> {
        self.links.values_mut()
    }
    pub fn len(&self) -> usize {
        self.links.len()
    }
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Push one plan per intersection concurrently; returns each outcome and its duration.
    pub async fn push_all(
        &mut self,
        net: &RoadNet,
        plans: &[SignalPlan],
    ) -> Vec<(IntersectionId, Result<PushReport, LinkError>, Duration)> {
        let by_id: HashMap<IntersectionId, &SignalPlan> =
            plans.iter().map(|p| (p.intersection, p)).collect();
        let futs = self.links.values_mut().filter_map(|link| {
            let plan = *by_id.get(&link.intersection)?;
            Some(async move {
                let t0 = Instant::now();
                let r = link.push_plan(net, plan).await;
                (link.intersection, r, t0.elapsed())
            })
        });
        futures::future::join_all(futs).await
    }
}
