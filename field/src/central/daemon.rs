//! The central daemon: polls every field controller's detectors and status, feeds them to a
//! [`Controller`] as a [`StepInput`], and pushes every [`Command::ApplyPlan`] it emits over the
//! verified plan push and every [`Command::SwitchTo`] as a stage request. Any
//! `Box<dyn Controller>` can drive it. `greenwave run` steps it in real time
//! ([`Daemon::run`]); the demo steps it in simulated time against emulated field controllers
//! ([`Daemon::step_with_cameras`]) — the same code either way.

use super::client::ClientPool;
use crate::protocol::codec::{field_detectors, indications_from_masks, FieldStatus};
use crate::protocol::regmap;
use crate::protocol::LinkError;
use roadnet::{
    CameraFrame, Command, Controller, DetectorId, DetectorReading, IntersectionId, Interval,
    RoadNet, SignalPlan, SignalState, StepInput,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the daemon does what, in the time of [`Daemon::step`]'s `time_s`.
#[derive(Clone, Debug, Default)]
pub struct DaemonConfig {
    /// Seconds between heartbeats to each field controller; 0 = every step. Must stay well
    /// below the field's `unitBackupTime`, or the field falls back to its local plan.
    pub heartbeat_every_s: f64,
    /// Seconds between detector polls (the detector interval the controller sees); 0 = every
    /// step. The status (lamps, stage, fallback) is read every step regardless.
    pub detector_interval_s: f64,
}

/// Counters of what the daemon did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DaemonStats {
    pub steps: u64,
    /// Status reads answered (one per field controller per step).
    pub status_reads: u64,
    /// Detector polls answered.
    pub polls_ok: u64,
    /// Status reads and detector polls that failed.
    pub poll_errors: u64,
    pub heartbeats: u64,
    pub heartbeat_errors: u64,
    pub plans_pushed: u64,
    /// Refused by the field (reason code) or by the central validator.
    pub plans_rejected: u64,
    pub push_errors: u64,
    /// Stage requests the field accepted.
    pub stage_requests: u64,
    /// Stage requests the field refused (Modbus exception, e.g. a stage it does not run).
    pub stage_requests_rejected: u64,
    /// Stage requests lost on the link (timeouts, refused connections).
    pub stage_request_errors: u64,
    /// Commands naming an intersection or stage the daemon has no field controller for.
    pub commands_unsupported: u64,
    /// Times a field controller was seen entering fallback (its local plan, central silent).
    pub fallbacks_entered: u64,
    /// Exact actuations per detector since the daemon started.
    pub detector_counts: BTreeMap<String, u64>,
    /// Camera and radar frames received, handed on and dropped by reason (`with_cameras`).
    pub cameras: Option<super::CameraStats>,
}

struct Site {
    id: IntersectionId,
    detectors: Vec<DetectorId>,
    permissive: Vec<bool>,
    last_plan: Option<SignalPlan>,
    last_seq: Option<u32>,
    status: Option<FieldStatus>,
    /// Whether the last status poll was answered (`None` before the first poll): the operator
    /// is told of each change once, not of every failed poll.
    reachable: Option<bool>,
    /// Whether the last status read showed the field on its local plan (fallback).
    fallback: Option<bool>,
    /// When this field controller's next heartbeat is due.
    next_heartbeat_s: f64,
}

/// The central loop over a [`ClientPool`].
pub struct Daemon {
    net: Arc<RoadNet>,
    pool: ClientPool,
    controller: Box<dyn Controller>,
    sites: Vec<Site>,
    cfg: DaemonConfig,
    stats: DaemonStats,
    started: Instant,
    last_step_s: f64,
    /// When the detectors were last polled, and when they are next due.
    last_poll_s: f64,
    next_poll_s: f64,
    /// The signal state of every field controller whose status was read this step, as read.
    signals: Vec<SignalState>,
    cameras: Option<Box<dyn super::CameraSource>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("network", &self.net.name)
            .field("controller", &self.controller.name())
            .field("pool", &self.pool)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// A daemon that heartbeats, reads the status and polls the detectors every step.
    pub fn new(net: Arc<RoadNet>, pool: ClientPool, controller: Box<dyn Controller>) -> Daemon {
        Daemon::with_config(net, pool, controller, DaemonConfig::default())
    }

    pub fn with_config(
        net: Arc<RoadNet>,
        pool: ClientPool,
        controller: Box<dyn Controller>,
        cfg: DaemonConfig,
    ) -> Daemon {
        let sites = net
            .signalized()
            .filter(|i| i.controller.is_some())
            .map(|i| Site {
                id: i.id,
                detectors: field_detectors(&net, i.id),
                permissive: i
                    .signal_groups
                    .iter()
                    .map(|g| net.signal_group(*g).permissive)
                    .collect(),
                last_plan: None,
                last_seq: None,
                status: None,
                reachable: None,
                fallback: None,
                next_heartbeat_s: f64::NEG_INFINITY,
            })
            .collect();
        Daemon {
            net,
            pool,
            controller,
            sites,
            next_poll_s: cfg.detector_interval_s.max(0.0),
            cfg,
            stats: DaemonStats::default(),
            started: Instant::now(),
            last_step_s: 0.0,
            last_poll_s: 0.0,
            signals: Vec::new(),
            cameras: None,
        }
    }

    /// Feed the controller the frames of `source`, drained at every step.
    pub fn with_cameras(mut self, source: Box<dyn super::CameraSource>) -> Daemon {
        self.cameras = Some(source);
        self
    }

    pub fn stats(&self) -> &DaemonStats {
        &self.stats
    }
    pub fn pool(&mut self) -> &mut ClientPool {
        &mut self.pool
    }
    /// What the field controllers showed at the last step, as read over Modbus (status
    /// registers: lamp masks, current and next stage, interval): one entry per field controller
    /// whose status read succeeded, in intersection order. The controller saw exactly these.
    pub fn signals(&self) -> &[SignalState] {
        &self.signals
    }

    /// One step at `time_s` with the frames of the camera source only (`with_cameras`; none
    /// without one): see [`Daemon::step_with_cameras`].
    pub async fn step(&mut self, time_s: f64) {
        self.step_with_cameras(time_s, &[]).await
    }

    /// One step at `time_s`: from every field controller its status (read first, so that a
    /// fallback the field entered is seen before our heartbeat ends it), then the heartbeat when
    /// due and the detectors when due; one controller step with those readings, the field's
    /// signal states and `cameras`; then every plan it asked for is pushed (verified) and every
    /// stage it asked for is requested, and the status of each field controller so commanded is
    /// read back (into [`Daemon::signals`]).
    pub async fn step_with_cameras(&mut self, time_s: f64, cameras: &[CameraFrame]) {
        let dt_s = (time_s - self.last_step_s).max(0.0);
        self.last_step_s = time_s;
        self.stats.steps += 1;
        let poll_detectors = time_s + 1e-9 >= self.next_poll_s;
        let interval_s = (time_s - self.last_poll_s).max(0.0);
        if poll_detectors {
            self.last_poll_s = time_s;
            let every = self.cfg.detector_interval_s;
            if every > 0.0 {
                while self.next_poll_s <= time_s + 1e-9 {
                    self.next_poll_s += every;
                }
            }
        }
        let mut readings = Vec::new();
        self.signals.clear();
        let net = self.net.clone();
        // every field controller's status at once: one round trip of waiting, not one per site
        let mut statuses = read_statuses(&mut self.pool, None).await;
        for site in &mut self.sites {
            let Some(read) = statuses.remove(&site.id) else {
                continue;
            };
            let Some(link) = self.pool.link(site.id) else {
                continue;
            };
            let name = &net.intersection(site.id).name;
            let st = match read {
                Ok(st) => st,
                Err(e) => {
                    self.stats.poll_errors += 1;
                    if site.reachable != Some(false) {
                        tracing::warn!(intersection = %name, "field controller unreachable: {e}");
                    }
                    site.reachable = Some(false);
                    continue;
                }
            };
            self.stats.status_reads += 1;
            if site.reachable == Some(false) {
                tracing::info!(intersection = %name, "field controller reachable again");
            }
            site.reachable = Some(true);
            let fallback = st.is_fallback();
            // what the next read is compared with
            let seen = match (site.fallback, fallback) {
                (None, true) => {
                    tracing::info!(
                        intersection = %name,
                        "field controller on its local plan until the central's first heartbeat"
                    );
                    // not a fallback to report: the first heartbeat follows (one that fails
                    // leaves the field on its local plan, and the next read reports it)
                    false
                }
                (Some(false), true) => {
                    self.stats.fallbacks_entered += 1;
                    tracing::warn!(
                        intersection = %name,
                        "field controller entered fallback: running its local plan"
                    );
                    true
                }
                (Some(true), false) => {
                    tracing::info!(intersection = %name, "field controller left fallback");
                    false
                }
                (_, f) => f,
            };
            site.fallback = Some(seen);
            if time_s >= site.next_heartbeat_s {
                match link.heartbeat().await {
                    Ok(()) => {
                        self.stats.heartbeats += 1;
                        site.next_heartbeat_s = time_s + self.cfg.heartbeat_every_s.max(0.0);
                    }
                    Err(e) => {
                        self.stats.heartbeat_errors += 1;
                        tracing::debug!("{name}: heartbeat: {e}");
                    }
                }
            }
            // a field controller that restarted (or lost our plan) gets it again
            if let (Some(seq), Some(plan)) = (site.last_seq, &site.last_plan) {
                if st.committed_seq != seq {
                    tracing::warn!(
                        intersection = %name,
                        "field holds plan {} but {} was pushed; pushing again",
                        st.committed_seq,
                        seq
                    );
                    let plan = plan.clone();
                    push(&net, link, &plan, site, &mut self.stats).await;
                }
            }
            self.signals.push(signal_state(&net, site, &st));
            site.status = Some(st);
            if !poll_detectors {
                continue;
            }
            match link.poll_detectors().await {
                Ok(deltas) => {
                    self.stats.polls_ok += 1;
                    for (i, d) in deltas.iter().enumerate() {
                        let Some(det) = site.detectors.get(i) else {
                            continue;
                        };
                        *self
                            .stats
                            .detector_counts
                            .entry(net.detectors[det.index()].name.clone())
                            .or_default() += d.count as u64;
                        readings.push(DetectorReading {
                            detector: *det,
                            time_s,
                            interval_s,
                            count: d.count,
                            occupancy: if interval_s > 0.0 {
                                (d.occupied_ds as f64 / 10.0 / interval_s).clamp(0.0, 1.0)
                            } else {
                                d.occupancy_permille as f64 / 1000.0
                            },
                            mean_speed_m_s: None,
                        });
                    }
                }
                Err(e) => {
                    self.stats.poll_errors += 1;
                    tracing::debug!("{name}: detectors: {e}");
                }
            }
        }
        readings.sort_by_key(|r| r.detector);
        // frames from the camera source (MQTT) since the last step, after any passed in
        let mut frames = cameras.to_vec();
        if let Some(src) = &mut self.cameras {
            src.drain(&mut frames);
            self.stats.cameras = Some(src.stats());
        }
        let mut commands = Vec::new();
        let input = StepInput {
            time_s,
            dt_s,
            detectors: &readings,
            cameras: &frames,
            signals: &self.signals,
        };
        self.controller.step(&input, &mut commands);
        let mut commanded = BTreeSet::new();
        for c in commands {
            match c {
                Command::ApplyPlan(plan) => {
                    let Some(site) = self.sites.iter_mut().find(|s| s.id == plan.intersection)
                    else {
                        self.stats.commands_unsupported += 1;
                        continue;
                    };
                    let Some(link) = self.pool.link(site.id) else {
                        continue;
                    };
                    commanded.insert(site.id);
                    push(&net, link, &plan, site, &mut self.stats).await;
                }
                Command::StandbyPlan(plan) => {
                    // the field's fallback plan, kept current; counted with the pushed plans
                    let Some(link) = self.pool.link(plan.intersection) else {
                        self.stats.commands_unsupported += 1;
                        continue;
                    };
                    let name = &net.intersection(plan.intersection).name;
                    match link.push_standby(&net, &plan).await {
                        Ok(_) => self.stats.plans_pushed += 1,
                        Err(e)
                            if e.reject_code().is_some() || matches!(e, LinkError::Invalid(_)) =>
                        {
                            self.stats.plans_rejected += 1;
                            tracing::warn!(intersection = %name, "standby plan refused: {e}");
                        }
                        Err(e) => {
                            self.stats.push_errors += 1;
                            tracing::warn!("{name}: standby plan push failed: {e}");
                        }
                    }
                }
                Command::SwitchTo {
                    intersection,
                    stage,
                } => {
                    // a stage request: the field switches once its own minimums allow
                    let number = net
                        .intersection(intersection)
                        .stages
                        .iter()
                        .position(|s| *s == stage);
                    let (Some(number), Some(link)) = (number, self.pool.link(intersection)) else {
                        self.stats.commands_unsupported += 1;
                        continue;
                    };
                    let name = &net.intersection(intersection).name;
                    commanded.insert(intersection);
                    match link.request_stage(number as u16 + 1).await {
                        Ok(()) => self.stats.stage_requests += 1,
                        Err(e) if e.is_transport() => {
                            self.stats.stage_request_errors += 1;
                            tracing::debug!("{name}: stage request: {e}");
                        }
                        Err(e) => {
                            self.stats.stage_requests_rejected += 1;
                            tracing::warn!(
                                intersection = %name,
                                stage = number + 1,
                                "stage request refused by the field: {e}"
                            );
                        }
                    }
                }
            }
        }
        // Read back the status of every field controller just commanded: what the field does
        // with a stage request or a plan shows at once (a green it ends starts its yellow now),
        // so `signals()` is the field's state at the end of the step, as read.
        if !commanded.is_empty() {
            for (id, read) in read_statuses(&mut self.pool, Some(&commanded)).await {
                let Ok(st) = read else {
                    self.stats.poll_errors += 1;
                    continue;
                };
                self.stats.status_reads += 1;
                let Some(site) = self.sites.iter_mut().find(|s| s.id == id) else {
                    continue;
                };
                let state = signal_state(&net, site, &st);
                match self.signals.iter_mut().find(|s| s.intersection == id) {
                    Some(s) => *s = state,
                    None => self.signals.push(state),
                }
                site.status = Some(st);
            }
            self.signals.sort_by_key(|s| s.intersection);
        }
    }

    /// Step every `period` of real time until `duration` has passed (forever when `None`).
    pub async fn run(&mut self, period: Duration, duration: Option<Duration>) {
        self.started = Instant::now();
        let mut iv = tokio::time::interval(period);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            iv.tick().await;
            let t = self.started.elapsed();
            if duration.is_some_and(|d| t >= d) {
                break;
            }
            self.step(t.as_secs_f64()).await;
        }
    }
}

/// The status of every field controller of the pool (or of those in `only`), read
/// concurrently.
async fn read_statuses(
    pool: &mut ClientPool,
    only: Option<&BTreeSet<IntersectionId>>,
) -> BTreeMap<IntersectionId, Result<FieldStatus, LinkError>> {
    let reads = pool
        .links()
        .filter(|l| only.is_none_or(|o| o.contains(&l.intersection())))
        .map(|link| {
            let link = &*link;
            async move { (link.intersection(), link.status().await) }
        });
    futures::future::join_all(reads).await.into_iter().collect()
}

async fn push(
    net: &RoadNet,
    link: &mut super::client::FieldLink,
    plan: &SignalPlan,
    site: &mut Site,
    stats: &mut DaemonStats,
) {
    let name = &net.intersection(plan.intersection).name;
    match link.push_plan(net, plan).await {
        Ok(rep) => {
            stats.plans_pushed += 1;
            tracing::info!("{name}: plan {} accepted: {plan}", rep.seq);
            site.last_plan = Some(plan.clone());
            site.last_seq = Some(rep.seq);
        }
        Err(e) if e.reject_code().is_some() => {
            stats.plans_rejected += 1;
            let code = e.reject_code().map_or(0, |c| c.code());
            tracing::warn!(intersection = %name, reason_code = code, "plan refused by the field: {e}");
        }
        Err(e @ LinkError::Invalid(_)) => {
            stats.plans_rejected += 1;
            tracing::warn!(intersection = %name, "plan refused by the central validator: {e}");
        }
        Err(e) => {
            stats.push_errors += 1;
            tracing::warn!("{name}: plan push failed: {e}");
        }
    }
}

/// A field status in the road model's vocabulary.
fn signal_state(net: &RoadNet, site: &Site, st: &FieldStatus) -> SignalState {
    let inter = net.intersection(site.id);
    let stage = (st.current_stage as usize)
        .checked_sub(1)
        .and_then(|i| inter.stages.get(i))
        .copied()
        .unwrap_or(inter.stages[0]);
    let interval = match st.interval {
        regmap::INTERVAL_GREEN => Interval::Green,
        regmap::INTERVAL_YELLOW => Interval::Yellow,
        _ => Interval::AllRed,
    };
    SignalState {
        intersection: site.id,
        stage,
        interval,
        time_in_interval_s: st.time_in_interval_ds as f64 / 10.0,
        green_elapsed_s: st.time_in_stage_ds as f64 / 10.0,
        next_stage: (st.next_stage as usize)
            .checked_sub(1)
            .and_then(|i| inter.stages.get(i))
            .copied(),
        indications: indications_from_masks(st.green_mask, st.yellow_mask, &site.permissive),
    }
}
