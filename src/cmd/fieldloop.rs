//! The closed loop: the simulator behind emulated field controllers. Sensor data flows
//! simulator → field controller registers → Modbus → controller; commands flow controller →
//! Modbus → field controller → the simulator's signal heads. The controller is the same
//! `roadnet::Controller` that `greenwave sim` runs directly; only its inputs and outputs travel
//! through the field link.
//!
//! Per simulation step:
//! 1. the loop detectors' counts of the step's closed interval are added to the field units'
//!    detector registers (what the cabinet's detector cards count);
//! 2. when an interval closed, the central polls every field controller over Modbus and hands the
//!    counts it read to the controller (cameras reach the controller over their own video link,
//!    not over Modbus, and pass straight through);
//! 3. the controller decides on the *field's* signal state; `ApplyPlan` becomes a verified plan
//!    push, `SwitchTo` a stage request — each checked again by the field before it is applied;
//! 4. the field clock advances by the step and the field units run their timing;
//! 5. whenever a field unit starts the change interval towards a new stage, the simulator's
//!    signal heads are told to do the same (same yellow, same all-red), so the simulator shows
//!    what the field controller shows, one step later; the simulator's conflict monitor checks it.

use super::compare::Strategy;
use anyhow::Context;
use field::emulator::server::{self, FieldEmulator};
use field::{ClientPool, Clock, IdleSource, LinkConfig, ManualClock};
use roadnet::{
    Command, Controller, DetectorId, DetectorReading, IntersectionId, Interval, RoadNet,
    SignalState, StageId, StepInput,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What crossed the field link during a run.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct LoopStatsSnapshot {
    /// Field controllers emulated on loopback.
    pub controllers: usize,
    /// Plans pushed, verified by read-back and accepted by the field.
    pub plans_pushed: u64,
    /// Plans the field refused (with a reason code) or that failed central validation.
    pub plans_rejected: u64,
    /// Stage requests accepted by the field.
    pub stage_requests: u64,
    /// Stage requests the field refused.
    pub stage_requests_rejected: u64,
    /// Detector polls (one per field controller per detector interval).
    pub detector_polls: u64,
    /// Vehicles counted by the loops, as read back over Modbus.
    pub detector_counts: u64,
    /// Heartbeats written.
    pub heartbeats: u64,
    /// Link failures (timeouts, refused connections).
    pub link_errors: u64,
    /// Stage changes the field controllers made the simulator's signal heads follow.
    pub stage_changes: u64,
}

/// Shared counters: the loop runs inside the simulation thread, the caller reads them after.
#[derive(Clone, Default)]
pub(crate) struct LoopStats(Arc<Mutex<LoopStatsSnapshot>>);

impl LoopStats {
    pub(crate) fn snapshot(&self) -> LoopStatsSnapshot {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn update(&self, f: impl FnOnce(&mut LoopStatsSnapshot)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

/// How often the central writes its heartbeat, and the field's backup time, in simulated
/// seconds: the field falls back to its local plan if the central is silent for `BACKUP_TIME_S`.
const HEARTBEAT_EVERY_S: f64 = 20.0;
const BACKUP_TIME_S: u16 = 60;

/// The adaptive controller acting through emulated field controllers on loopback.
pub(crate) fn adaptive_over_modbus(
    net: &Arc<RoadNet>,
    stats: &LoopStats,
) -> anyhow::Result<Strategy> {
    let inner = controller::baseline::make_controller("adaptive", net)?;
    let field = FieldLoop::start(net.clone(), inner, stats.clone())?;
    Ok(Strategy::new("adaptive (over Modbus)", Box::new(field)))
}

/// A controller wrapped in the field link, with the field controllers emulated in-process.
pub(crate) struct FieldLoop {
    net: Arc<RoadNet>,
    inner: Box<dyn Controller>,
    rt: tokio::runtime::Runtime,
    emu: Arc<FieldEmulator>,
    clock: Arc<ManualClock>,
    pool: ClientPool,
    /// Which field unit and input number each detector is wired to.
    wiring: BTreeMap<DetectorId, (IntersectionId, usize)>,
    /// The stage each field unit was last seen heading to, so each change is sent once.
    heading: BTreeMap<IntersectionId, StageId>,
    readings: Vec<DetectorReading>,
    signals: Vec<SignalState>,
    commands: Vec<Command>,
    next_heartbeat_s: f64,
    stats: LoopStats,
}

impl FieldLoop {
    /// Start a field controller per signalized intersection on loopback (OS-chosen ports) and
    /// connect the central's client pool to them.
    pub(crate) fn start(
        net: Arc<RoadNet>,
        inner: Box<dyn Controller>,
        stats: LoopStats,
    ) -> anyhow::Result<FieldLoop> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the field link's runtime")?;
        let clock = ManualClock::new(0);
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let emu = Arc::new(FieldEmulator::new(net.clone(), dyn_clock, |_| {
            Box::new(IdleSource)
        })?);
        // Modbus/TCP Security on loopback too, with a CA made now and gone with the process
        let hosts: Vec<String> = emu.endpoints().keys().map(|e| e.host.clone()).collect();
        let pki = field::security::throwaway_pki(&hosts).context("the throw-away CA")?;
        let (server_tls, client_tls) = (pki.server_tls()?, pki.client_tls()?);
        let (pool, wiring) = rt.block_on(async {
            let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
            let bound = emu.bind_all(|_| Some(loopback)).await?;
            let mut addrs = BTreeMap::new();
            for (ep, listener, service) in bound {
                addrs.insert(ep, listener.local_addr()?);
                let limits = server::ServerLimits::in_process();
                let stats = Arc::new(server::ServerStats::default());
                let tls = server_tls.clone();
                tokio::spawn(server::serve_tls(listener, service, limits, stats, tls));
            }
            let cfg = LinkConfig::default();
            let mut pool =
                ClientPool::connect_tls(&net, cfg, Some(&client_tls), |ep| addrs.get(ep).copied())
                    .await?;
            for link in pool.links() {
                link.set_backup_time(BACKUP_TIME_S).await?;
                link.heartbeat().await?;
            }
            let mut wiring = BTreeMap::new();
            for (id, unit) in emu.units() {
                let unit = server::lock(unit);
                for (k, d) in unit.detector_ids().iter().enumerate() {
                    wiring.insert(*d, (*id, k));
                }
            }
            anyhow::Ok((pool, wiring))
        })?;
        stats.update(|s| s.controllers = pool.len());
        Ok(FieldLoop {
            net,
            inner,
            rt,
            emu,
            clock,
            pool,
            wiring,
            heading: BTreeMap::new(),
            readings: Vec::new(),
            signals: Vec::new(),
            commands: Vec::new(),
            next_heartbeat_s: HEARTBEAT_EVERY_S,
            stats,
        })
    }

    /// Poll every field controller's detectors over Modbus and turn the counts read into the
    /// readings the controller sees.
    fn poll_detectors(&mut self, time_s: f64, interval_s: f64) {
        self.readings.clear();
        let mut polls = 0;
        let mut errors = 0;
        let mut counted = 0u64;
        let ids: Vec<IntersectionId> = self.net.signalized().map(|i| i.id).collect();
        for id in ids {
            let Some(link) = self.pool.link(id) else {
                continue;
            };
            let Some(unit) = self.emu.unit(id) else {
                continue;
            };
            let detector_ids = server::lock(unit).detector_ids().to_vec();
            match self.rt.block_on(link.poll_detectors()) {
                Ok(deltas) => {
                    polls += 1;
                    for (k, d) in deltas.iter().enumerate() {
                        let Some(det) = detector_ids.get(k) else {
                            continue;
                        };
                        counted += d.count as u64;
                        self.readings.push(DetectorReading {
                            detector: *det,
                            time_s,
                            interval_s,
                            count: d.count,
                            occupancy: (d.occupied_ds as f64 / (interval_s * 10.0)).clamp(0.0, 1.0),
                            mean_speed_m_s: None,
                        });
                    }
                }
                Err(e) => {
                    errors += 1;
                    tracing::warn!("detector poll of {}: {e}", self.net.intersection(id).name);
                }
            }
        }
        self.readings.sort_by_key(|r| r.detector);
        self.stats.update(|s| {
            s.detector_polls += polls;
            s.link_errors += errors;
            s.detector_counts += counted;
        });
    }

    fn send(&mut self, cmd: Command) {
        match cmd {
            Command::ApplyPlan(plan) => {
                let Some(link) = self.pool.link(plan.intersection) else {
                    return;
                };
                let result = self.rt.block_on(link.push_plan(&self.net, &plan));
                self.stats.update(|s| match &result {
                    Ok(_) => s.plans_pushed += 1,
                    Err(e) if e.is_transport() => s.link_errors += 1,
                    Err(_) => s.plans_rejected += 1,
                });
                if let Err(e) = result {
                    tracing::warn!(
                        "plan for {}: {e}",
                        self.net.intersection(plan.intersection).name
                    );
                }
            }
            Command::SwitchTo {
                intersection,
                stage,
            } => {
                let Some(number) = self
                    .net
                    .intersection(intersection)
                    .stages
                    .iter()
                    .position(|s| *s == stage)
                else {
                    self.stats.update(|s| s.stage_requests_rejected += 1);
                    return;
                };
                let Some(link) = self.pool.link(intersection) else {
                    return;
                };
                let result = self.rt.block_on(link.request_stage(number as u16 + 1));
                self.stats.update(|s| match &result {
                    Ok(()) => s.stage_requests += 1,
                    Err(e) if e.is_transport() => s.link_errors += 1,
                    Err(_) => s.stage_requests_rejected += 1,
                });
            }
        }
    }
}

impl Controller for FieldLoop {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        // 1. loop actuations into the field controllers' detector registers
        for r in input.detectors {
            if let Some((id, k)) = self.wiring.get(&r.detector) {
                if let Some(unit) = self.emu.unit(*id) {
                    let occupied_ds = (r.occupancy * r.interval_s * 10.0).round().max(0.0) as u32;
                    server::lock(unit).add_actuations(*k, r.count, occupied_ds);
                }
            }
        }
        // 2. the central polls them over Modbus when an interval closed
        if let Some(first) = input.detectors.first() {
            self.poll_detectors(input.time_s, first.interval_s);
        } else {
            self.readings.clear();
        }
        if input.time_s >= self.next_heartbeat_s {
            self.next_heartbeat_s = input.time_s + HEARTBEAT_EVERY_S;
            let mut beats = 0;
            let mut errors = 0;
            for link in self.pool.links() {
                match self.rt.block_on(link.heartbeat()) {
                    Ok(()) => beats += 1,
                    Err(_) => errors += 1,
                }
            }
            self.stats.update(|s| {
                s.heartbeats += beats;
                s.link_errors += errors;
            });
        }
        // 3. the controller decides on what the field shows
        self.signals.clear();
        for i in self.net.signalized() {
            if let Some(unit) = self.emu.unit(i.id) {
                self.signals.push(server::lock(unit).signal_state());
            }
        }
        let field_input = StepInput {
            time_s: input.time_s,
            dt_s: input.dt_s,
            detectors: &self.readings,
            cameras: input.cameras,
            signals: &self.signals,
        };
        let mut cmds = std::mem::take(&mut self.commands);
        cmds.clear();
        self.inner.step(&field_input, &mut cmds);
        for c in cmds.drain(..) {
            self.send(c);
        }
        self.commands = cmds;
        // 4. field time moves with the simulation
        self.clock
            .set(((input.time_s + input.dt_s) * 10.0).round() as u64);
        self.emu.advance_all();
        // 5. the simulator's signal heads follow the field controllers
        let mut changes = 0;
        for i in self.net.signalized() {
            let Some(unit) = self.emu.unit(i.id) else {
                continue;
            };
            let st = server::lock(unit).signal_state();
            let target = match st.interval {
                Interval::Green => st.stage,
                Interval::Yellow | Interval::AllRed => st.next_stage.unwrap_or(st.stage),
            };
            if self.heading.get(&i.id) != Some(&target) {
                self.heading.insert(i.id, target);
                out.push(Command::SwitchTo {
                    intersection: i.id,
                    stage: target,
                });
                changes += 1;
            }
        }
        if changes > 0 {
            self.stats.update(|s| s.stage_changes += changes);
        }
    }
}
