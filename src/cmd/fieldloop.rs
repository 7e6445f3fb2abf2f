//! The simulator behind emulated field controllers, with the central's own daemon in between.
//! This file is only the glue between the simulator and the field units; everything the
//! central does — status reads, heartbeats, detector polls, plan pushes, stage requests — is
//! `field::central::Daemon`, the code `greenwave run` ships, stepped here in simulated time.
//!
//! Per simulation step at time t:
//! 1. the loop detectors' counts of an interval that closed go into the field units' detector
//!    registers (what the cabinet's detector cards count — the field side, written directly);
//! 2. the field clock moves to t (the field units time their lamps themselves);
//! 3. the simulator's camera frames are published through an embedded MQTT broker and the
//!    daemon's subscriber receives them (`field::perception::CameraBridge`, one batch message
//!    per step); meanwhile `Daemon::read_field(t)` reads over Modbus each field controller's
//!    status, heartbeats, polls the detectors when an interval closed;
//! 4. the lamps the simulator is at, at t, before this step's commands, are compared with the
//!    lamps the daemon just read from the field at t: any difference is a mismatch (no
//!    latency: both ran the same timing engine on the same commands up to t);
//! 5. once the batch is in, `Daemon::decide_and_act` runs the controller on what it read and
//!    on the camera frames its subscriber received, pushes its plans, requests its stages and
//!    reads back the field controllers it commanded (the two halves of
//!    `Daemon::step_with_cameras`, which `greenwave run` calls);
//! 6. the simulator's signal heads follow the field's lamps **as the daemon read them** (status
//!    registers: interval, current and next stage, lamp masks): whenever a field controller is
//!    seen heading to another stage, the simulator is told to do the same, and runs the same
//!    yellow and all-red; its conflict monitor checks what it shows.

use super::compare::Strategy;
use anyhow::Context;
use field::central::{Daemon, DaemonConfig, DaemonStats};
use field::emulator::server::{self, FieldEmulator};
use field::perception::CameraBridge;
use field::{ClientPool, Clock, FieldUnit, IdleSource, LinkConfig, ManualClock};
use roadnet::{
    Command, Controller, DetectorId, IntersectionId, Interval, RoadNet, SignalState, StageId,
    StepInput,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// How often the central writes its heartbeat, and the field's backup time, in simulated
/// seconds: the field falls back to its local plan if the central is silent for `BACKUP_TIME_S`.
const HEARTBEAT_EVERY_S: f64 = 20.0;
const BACKUP_TIME_S: u16 = 60;
/// Mismatches described in the report (all are counted).
const MISMATCH_EXAMPLES: usize = 5;

/// What a run through the field link did: the daemon's own counters and the lamp comparison.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct FieldLoopReport {
    /// Field controllers emulated on loopback.
    pub controllers: usize,
    /// The counters of the `field::central::Daemon` that ran the loop.
    pub daemon: DaemonStats,
    /// Simulation steps of the run (the daemon must have stepped once per step).
    pub sim_steps: u64,
    /// Per intersection and step: simulator lamps compared with the field's lamps as read.
    pub lamp_checks: u64,
    /// Comparisons where the simulator's lamps differed from the field's as read at the same
    /// moment (or the field controller was not read).
    pub lamp_mismatches: u64,
    /// The first few mismatches, described.
    pub lamp_mismatch_examples: Vec<String>,
    /// Stage changes the simulator's signal heads followed.
    pub stage_changes_followed: u64,
    /// Simulated seconds after the start at which the field units power on, so that their
    /// start-up all-red ends when the simulator's start-up clearance does.
    pub field_power_on_s: f64,
}

/// The report, filled in when the loop ends (its controller is dropped by the simulation).
pub(crate) type SharedReport = Arc<Mutex<Option<FieldLoopReport>>>;

/// `controller` acting through emulated field controllers on loopback, under the daemon.
pub(crate) fn over_modbus(
    net: &Arc<RoadNet>,
    name: &str,
    controller: Box<dyn Controller>,
    detector_interval_s: f64,
    report: &SharedReport,
) -> anyhow::Result<Strategy> {
    let field = FieldLoop::start(net.clone(), controller, detector_interval_s, report.clone())?;
    Ok(Strategy::new(name, Box::new(field)))
}

/// A controller behind the field link: the daemon, the field units and their clock.
pub(crate) struct FieldLoop {
    net: Arc<RoadNet>,
    name: String,
    rt: tokio::runtime::Runtime,
    emu: Arc<FieldEmulator>,
    clock: Arc<ManualClock>,
    daemon: Daemon,
    /// The cameras' road: the simulator's frames go through an embedded MQTT broker into the
    /// daemon's subscriber (`field::perception::CameraBridge`).
    cameras: CameraBridge,
    power_on_ds: u64,
    /// Which field unit and input number each detector is wired to.
    wiring: BTreeMap<DetectorId, (IntersectionId, usize)>,
    /// The stage each field unit was last seen heading to, so each change is sent once.
    heading: BTreeMap<IntersectionId, StageId>,
    lamps: LampCheck,
    report: FieldLoopReport,
    shared: SharedReport,
}

impl FieldLoop {
    /// Start a field controller per signalized intersection on loopback (OS-chosen ports),
    /// connect the central's client pool to them and put `inner` in a daemon over that pool.
    pub(crate) fn start(
        net: Arc<RoadNet>,
        inner: Box<dyn Controller>,
        detector_interval_s: f64,
        shared: SharedReport,
    ) -> anyhow::Result<FieldLoop> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the field link's runtime")?;
        let power_on_ds = power_on_delay_ds(&net)?;
        let clock = ManualClock::new(power_on_ds);
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let emu = Arc::new(FieldEmulator::new(net.clone(), dyn_clock, |_| {
            Box::new(IdleSource)
        })?);
        // Modbus/TCP Security on loopback too, with a CA made now and gone with the process
        let hosts: Vec<String> = emu.endpoints().keys().map(|e| e.host.clone()).collect();
        let pki = field::security::throwaway_pki(&hosts).context("the throw-away CA")?;
        let (server_tls, client_tls) = (pki.server_tls()?, pki.client_tls()?);
        let pool = rt.block_on(async {
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
            // field configuration, once: heartbeats every 20 s need a longer watchdog than
            // the field's default
            for link in pool.links() {
                link.set_backup_time(BACKUP_TIME_S).await?;
            }
            anyhow::Ok(pool)
        })?;
        let mut wiring = BTreeMap::new();
        for (id, unit) in emu.units() {
            let unit = server::lock(unit);
            for (k, d) in unit.detector_ids().iter().enumerate() {
                wiring.insert(*d, (*id, k));
            }
        }
        let report = FieldLoopReport {
            controllers: pool.len(),
            field_power_on_s: power_on_ds as f64 / 10.0,
            ..FieldLoopReport::default()
        };
        let name = inner.name().to_string();
        let (cameras, subscriber) = rt
            .block_on(CameraBridge::start(&net))
            .map_err(anyhow::Error::msg)?;
        let daemon = Daemon::with_config(
            net.clone(),
            pool,
            inner,
            DaemonConfig {
                heartbeat_every_s: HEARTBEAT_EVERY_S,
                detector_interval_s,
            },
        )
        .with_cameras(Box::new(subscriber));
        Ok(FieldLoop {
            net,
            name,
            rt,
            emu,
            clock,
            daemon,
            cameras,
            power_on_ds,
            wiring,
            heading: BTreeMap::new(),
            lamps: LampCheck::default(),
            report,
            shared,
        })
    }
}

impl Controller for FieldLoop {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.report.sim_steps += 1;
        // 1. loop actuations into the field controllers' detector registers
        for r in input.detectors {
            if let Some((id, k)) = self.wiring.get(&r.detector) {
                if let Some(unit) = self.emu.unit(*id) {
                    let occupied_ds = (r.occupancy * r.interval_s * 10.0).round().max(0.0) as u32;
                    server::lock(unit).add_actuations(*k, r.count, occupied_ds);
                }
            }
        }
        // 2. field time is simulated time (the units power on at `power_on_ds`)
        let now_ds = ((input.time_s * 10.0).round() as u64).max(self.power_on_ds);
        self.clock.set(now_ds);
        self.emu.advance_all();
        // 3. the cameras over MQTT (published, then received by the daemon's subscriber), and
        // the central's daemon over Modbus; a frame that does not come back is counted, not
        // fatal: the estimator falls back to the loops
        let (cameras, daemon, lamps, net) = (
            &mut self.cameras,
            &mut self.daemon,
            &mut self.lamps,
            &self.net,
        );
        // The batch crosses the broker's threads while the daemon reads the field (both wait
        // on sockets of this one thread), and the controller decides once both are in.
        self.rt.block_on(async {
            if let Err(e) = cameras.publish(input.time_s, input.cameras).await {
                tracing::warn!("{e}");
            }
            let (arrived, ()) = tokio::join!(cameras.wait(), daemon.read_field(input.time_s));
            if let Err(e) = arrived {
                tracing::warn!("{e}");
            }
            // 4. the simulator's lamps at t against the field's as just read, both before
            // this step's commands
            lamps.compare(net, input.time_s, input.signals, daemon.signals());
            // 5. the controller decides and acts
            daemon.decide_and_act(&[]).await
        });
        // 6. the simulator's signal heads follow the field's lamps as read
        for s in self.daemon.signals() {
            let target = match s.interval {
                Interval::Green => s.stage,
                Interval::Yellow | Interval::AllRed => s.next_stage.unwrap_or(s.stage),
            };
            if self.heading.get(&s.intersection) != Some(&target) {
                self.heading.insert(s.intersection, target);
                out.push(Command::SwitchTo {
                    intersection: s.intersection,
                    stage: target,
                });
                self.report.stage_changes_followed += 1;
            }
        }
    }
}

impl Drop for FieldLoop {
    fn drop(&mut self) {
        let mut report = std::mem::take(&mut self.report);
        report.daemon = self.daemon.stats().clone();
        report.lamp_checks = self.lamps.checks;
        report.lamp_mismatches = self.lamps.mismatches;
        report.lamp_mismatch_examples = std::mem::take(&mut self.lamps.examples);
        if let Ok(mut shared) = self.shared.lock() {
            *shared = Some(report);
        }
    }
}

/// The simulator's lamps against the field's lamps as the daemon read them, at the same
/// moment: both engines ran the same commands up to it, so they must show the same.
#[derive(Debug, Default)]
struct LampCheck {
    checks: u64,
    mismatches: u64,
    examples: Vec<String>,
}

impl LampCheck {
    /// The simulator's lamps at `time_s` against the field's read at `time_s`. A field
    /// controller that was not read counts as a mismatch: the simulator cannot have followed it.
    fn compare(&mut self, net: &RoadNet, time_s: f64, sim: &[SignalState], field: &[SignalState]) {
        for s in sim {
            self.checks += 1;
            let read = field.iter().find(|f| f.intersection == s.intersection);
            if read.is_some_and(|f| f.indications == s.indications) {
                continue;
            }
            self.mismatches += 1;
            if self.examples.len() < MISMATCH_EXAMPLES {
                let text = format!(
                    "{} at {time_s:.0} s: simulator showed {:?}, field read {:?}",
                    net.intersection(s.intersection).name,
                    s.indications,
                    read.map(|f| &f.indications)
                );
                tracing::warn!("lamp mismatch: {text}");
                self.examples.push(text);
            }
        }
    }
}

/// How long after the simulation starts the field units power on, deciseconds: the simulator
/// opens with a start-up clearance (its first stage's change interval) and a field controller
/// with a start-up all-red, each of its own length. Measured on both engines (not recomputed
/// from their rules), so that both first greens start together; one clock serves every unit,
/// so the intersections must agree.
fn power_on_delay_ds(net: &Arc<RoadNet>) -> anyhow::Result<u64> {
    const LIMIT_S: u64 = 600;
    let mut sim = sim::Signals::new(net, false);
    let mut sim_green_s: BTreeMap<IntersectionId, u64> = BTreeMap::new();
    for t in 0..LIMIT_S {
        sim.begin_step(net, t as f64)
            .map_err(|v| anyhow::anyhow!("start-up clearance: {v}"))?;
        for s in &sim.states {
            if s.interval == Interval::Green {
                sim_green_s.entry(s.intersection).or_insert(t);
            }
        }
        sim.end_step(1.0);
    }
    let mut delays = BTreeMap::new();
    for i in net.signalized().filter(|i| i.controller.is_some()) {
        let mut unit = FieldUnit::new(net.clone(), i.id, 0, Box::new(IdleSource))?;
        let field_green_ds = (0..LIMIT_S * 10)
            .find(|t| {
                unit.advance_to(*t);
                unit.runner().green_starts() > 0
            })
            .with_context(|| format!("{}: the field unit shows no green", i.name))?;
        let sim_green_ds = sim_green_s
            .get(&i.id)
            .with_context(|| format!("{}: the simulator shows no green", i.name))?
            * 10;
        delays.insert(i.id, sim_green_ds.saturating_sub(field_green_ds));
    }
    let first = delays.values().next().copied().unwrap_or(0);
    if let Some((id, d)) = delays.iter().find(|(_, d)| **d != first) {
        tracing::warn!(
            "{}: its start-up differs from the others' ({d} ds against {first} ds): its first seconds will not match",
            net.intersection(*id).name
        );
    }
    Ok(delays.values().copied().min().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use roadnet::Indication::{self, Green as G, Red as R, Yellow as Y};

    fn state(net: &RoadNet, lamps: &[Indication]) -> SignalState {
        let i = net.signalized().next().expect("a signal");
        SignalState {
            intersection: i.id,
            stage: i.stages[0],
            interval: Interval::Green,
            time_in_interval_s: 0.0,
            green_elapsed_s: 0.0,
            next_stage: None,
            indications: lamps.to_vec(),
        }
    }

    #[test]
    fn lamps_must_be_the_fields_as_read_at_the_same_moment() {
        let net = roadnet::config::parse_toml(
            include_str!("../../intersections.toml"),
            "intersections.toml",
        )
        .unwrap();
        let (green, yellow) = (vec![G, R], vec![Y, R]);
        let mut check = LampCheck::default();
        check.compare(&net, 0.0, &[state(&net, &green)], &[state(&net, &green)]);
        check.compare(&net, 1.0, &[state(&net, &yellow)], &[state(&net, &yellow)]);
        assert_eq!((check.checks, check.mismatches), (2, 0));
        // a step behind the field is a mismatch now: both run the same engine
        check.compare(&net, 2.0, &[state(&net, &green)], &[state(&net, &yellow)]);
        assert_eq!((check.checks, check.mismatches), (3, 1));
        // a field controller that was not read cannot have been followed
        check.compare(&net, 3.0, &[state(&net, &yellow)], &[]);
        assert_eq!((check.checks, check.mismatches), (4, 2));
        assert_eq!(check.examples.len(), 2);
        assert!(
            check.examples[0].starts_with(
                "oak at 2 s: simulator showed [Green, Red], field read Some([Yellow, Red])"
            ),
            "{:?}",
            check.examples
        );
    }
}
