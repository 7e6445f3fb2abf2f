//! The central daemon: polls every field controller's detectors and status, feeds them to a
//! [`Controller`] as a [`StepInput`], and pushes every [`Command::ApplyPlan`] it emits over the
//! verified plan push and every [`Command::SwitchTo`] as a stage request. Any
//! `Box<dyn Controller>` can drive it. `greenwave run` steps it in real time
//! ([`Daemon::run`]); the demo steps it in simulated time against emulated field controllers
//! ([`Daemon::step_with_cameras`]) — the same code either way.

use super::audit::{self, AuditKind, AuditLog, Target, Verdict};
use super::client::{ClientPool, FieldLink, PushJournal};
use super::metrics;
use crate::protocol::codec::{field_detectors, indications_from_masks, FieldStatus};
use crate::protocol::regmap;
use crate::protocol::{DeviceError, LinkError};
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
    /// Plans not pushed because the field already runs them (resumed from the audit log).
    pub plans_unchanged: u64,
    /// Milliseconds from the daemon's start ([`Daemon::started_at`]) to the first status read
    /// answered and to the first plan the field accepted (or found already running after a
    /// restart): how long a restarted central takes to resume.
    pub first_status_ms: Option<u64>,
    pub first_plan_ms: Option<u64>,
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
    /// From the audit log, until the first status read settles it.
    resume: Option<audit::Resume>,
    /// `last_plan` came from the audit log and the field runs it: the same plan asked for
    /// again is not pushed (no flap after a restart). Cleared by the next push.
    resumed: bool,
    /// The detector counters were read once, so that the next poll counts from then: the
    /// field's counters run from its power-on, and the first interval must count only itself.
    detectors_baselined: bool,
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
    audit: Option<AuditLog>,
    /// What the resume figures count from (`started_at`; default: the daemon's creation).
    born: Instant,
    /// What [`Daemon::read_field`] read, until [`Daemon::decide_and_act`] uses it.
    pending: Option<FieldRead>,
}

/// One step's field readings between the two halves of a step.
#[derive(Debug)]
struct FieldRead {
    time_s: f64,
    dt_s: f64,
    readings: Vec<DetectorReading>,
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
                resume: None,
                resumed: false,
                detectors_baselined: false,
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
            audit: None,
            born: Instant::now(),
            pending: None,
        }
    }

    /// Record every plan, standby plan and stage request in `log` (intent before the write,
    /// then the verdict), after resuming from what it holds: the sequence numbers continue
    /// past the newest written to each field controller, and a plan the field already runs is
    /// not pushed again. Returns how many field controllers the log knew.
    pub fn with_audit(mut self, log: AuditLog) -> Result<(Daemon, usize), audit::AuditError> {
        let mut resume = log.resume()?;
        let mut known = 0;
        for site in &mut self.sites {
            let name = &self.net.intersection(site.id).name;
            let Some(r) = resume.remove(name) else {
                continue;
            };
            known += 1;
            if let (Some(seq), Some(link)) = (r.last_seq, self.pool.link(site.id)) {
                link.resume_after(seq);
            }
            site.resume = Some(r);
        }
        self.audit = Some(log);
        Ok((self, known))
    }

    /// Count the resume figures ([`DaemonStats::first_status_ms`]) from `t` (the process start).
    pub fn started_at(mut self, t: Instant) -> Daemon {
        self.born = t;
        self
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
        self.read_field(time_s).await;
        self.decide_and_act(cameras).await;
    }

    /// The first half of [`Daemon::step_with_cameras`]: everything read from the field at
    /// `time_s` (status, heartbeat when due, detectors when due), held for
    /// [`Daemon::decide_and_act`]. Split so that a caller can wait for something else at the
    /// same time — the demo waits for the step's camera batch to cross the broker while the
    /// field is read — instead of one after the other.
    pub async fn read_field(&mut self, time_s: f64) {
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
                    metrics::link_up(name, false);
                    if site.reachable != Some(false) {
                        tracing::warn!(intersection = %name, "field controller unreachable: {e}");
                    }
                    site.reachable = Some(false);
                    continue;
                }
            };
            self.stats.status_reads += 1;
            metrics::link_up(name, true);
            self.stats
                .first_status_ms
                .get_or_insert(self.born.elapsed().as_millis() as u64);
            if let Some(r) = site.resume.take() {
                settle_resume(
                    name,
                    site,
                    r,
                    &st,
                    self.audit.as_ref(),
                    &mut self.stats,
                    self.born,
                );
            }
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
                    metrics::fallback(name);
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
                    push(
                        &net,
                        link,
                        &plan,
                        site,
                        &mut self.stats,
                        self.audit.as_ref(),
                        self.born,
                    )
                    .await;
                }
            }
            self.signals.push(signal_state(&net, site, &st));
            site.status = Some(st);
            if !site.detectors_baselined {
                // the counters at first contact are where the first interval starts from
                match link.poll_detectors().await {
                    Ok(_) => {
                        self.stats.polls_ok += 1;
                        site.detectors_baselined = true;
                    }
                    Err(e) => {
                        self.stats.poll_errors += 1;
                        tracing::debug!("{name}: detectors: {e}");
                    }
                }
                // an interval that closes now was not seen from its start: no reading
                continue;
            }
            if !poll_detectors {
                continue;
            }
            match link.poll_detectors().await {
                Ok(deltas) => {
                    self.stats.polls_ok += 1;
                    note_detector_health(name, &deltas);
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
        self.pending = Some(FieldRead {
            time_s,
            dt_s,
            readings,
        });
    }

    /// The second half of [`Daemon::step_with_cameras`]: one controller step on what
    /// [`Daemon::read_field`] read, the camera source's frames and `cameras`; its plans pushed,
    /// its stages requested, the commanded field controllers read back. Without a
    /// `read_field` since the last call, nothing happens.
    pub async fn decide_and_act(&mut self, cameras: &[CameraFrame]) {
        let Some(FieldRead {
            time_s,
            dt_s,
            readings,
        }) = self.pending.take()
        else {
            return;
        };
        let net = self.net.clone();
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
                    if site.resumed
                        && site.last_plan.as_ref() == Some(&plan)
                        && site.status.as_ref().map(|s| s.committed_seq) == site.last_seq
                    {
                        // the field runs exactly this plan since before the restart
                        self.stats.plans_unchanged += 1;
                        tracing::info!(
                            intersection = %net.intersection(site.id).name,
                            "plan {} unchanged since the restart: not pushed again",
                            site.last_seq.unwrap_or(0)
                        );
                        continue;
                    }
                    commanded.insert(site.id);
                    push(
                        &net,
                        link,
                        &plan,
                        site,
                        &mut self.stats,
                        self.audit.as_ref(),
                        self.born,
                    )
                    .await;
                }
                Command::StandbyPlan(plan) => {
                    // the field's fallback plan, kept current; counted with the pushed plans
                    let Some(link) = self.pool.link(plan.intersection) else {
                        self.stats.commands_unsupported += 1;
                        continue;
                    };
                    let name = &net.intersection(plan.intersection).name;
                    match push_audited(&net, link, &plan, true, self.audit.as_ref()).await {
                        Ok(_) => {
                            self.stats.plans_pushed += 1;
                            metrics::pushed(name, "standby");
                        }
                        Err(e)
                            if e.reject_code().is_some() || matches!(e, LinkError::Invalid(_)) =>
                        {
                            self.stats.plans_rejected += 1;
                            metrics::refused(name, "standby", metrics::reason(&e));
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
                    match request_stage_audited(name, link, number as u16 + 1, self.audit.as_ref())
                        .await
                    {
                        Ok(()) => {
                            self.stats.stage_requests += 1;
                            metrics::stage_request(name);
                        }
                        Err(e) if e.is_transport() => {
                            self.stats.stage_request_errors += 1;
                            tracing::debug!("{name}: stage request: {e}");
                        }
                        Err(e) => {
                            self.stats.stage_requests_rejected += 1;
                            metrics::refused(name, "stage", metrics::reason(&e));
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
    audit: Option<&AuditLog>,
    born: Instant,
) {
    let name = &net.intersection(plan.intersection).name;
    site.resumed = false;
    match push_audited(net, link, plan, false, audit).await {
        Ok(rep) => {
            stats.plans_pushed += 1;
            metrics::pushed(name, "plan");
            stats
                .first_plan_ms
                .get_or_insert(born.elapsed().as_millis() as u64);
            tracing::info!("{name}: plan {} accepted: {plan}", rep.seq);
            site.last_plan = Some(plan.clone());
            site.last_seq = Some(rep.seq);
        }
        Err(e) if e.reject_code().is_some() => {
            stats.plans_rejected += 1;
            metrics::refused(name, "plan", metrics::reason(&e));
            let code = e.reject_code().map_or(0, |c| c.code());
            tracing::warn!(intersection = %name, reason_code = code, "plan refused by the field: {e}");
        }
        Err(e @ LinkError::Invalid(_)) => {
            stats.plans_rejected += 1;
            metrics::refused(name, "plan", metrics::reason(&e));
            tracing::warn!(intersection = %name, "plan refused by the central validator: {e}");
        }
        Err(e) => {
            stats.push_errors += 1;
            tracing::warn!("{name}: plan push failed: {e}");
        }
    }
}

/// The audit log's side of one plan push: an intent record before each plan area is written
/// (a push refused as stale is written again under a new number: the first record is then
/// completed as refused `stale_sequence`).
struct Journal<'a> {
    log: &'a AuditLog,
    kind: AuditKind,
    target: Target<'a>,
    body: serde_json::Value,
    ids: Vec<i64>,
}

impl PushJournal for Journal<'_> {
    fn before_write(&mut self, seq: u32, checksum: u16) -> Result<(), String> {
        if let Some(prev) = self.ids.last() {
            self.log
                .verdict(*prev, Verdict::Refused, Some("stale_sequence"))
                .map_err(|e| e.to_string())?;
        }
        let id = self
            .log
            .intent(
                self.kind,
                &self.target,
                Some(seq),
                Some(checksum),
                &self.body,
            )
            .map_err(|e| e.to_string())?;
        self.ids.push(id);
        Ok(())
    }
}

fn target<'a>(name: &'a str, link: &FieldLink) -> Target<'a> {
    Target {
        intersection: name,
        endpoint: link.pool().addr().to_string(),
        unit: link.unit(),
    }
}

/// The audit verdict of a finished request.
fn verdict_of<T>(r: &Result<T, LinkError>) -> (Verdict, Option<String>) {
    match r {
        Ok(_) => (Verdict::Accepted, None),
        Err(e) if e.is_transport() => (Verdict::Unreachable, Some(e.to_string())),
        Err(
            e @ (LinkError::Invalid(_)
            | LinkError::Device(DeviceError::Rejected { .. } | DeviceError::Exception { .. })),
        ) => (Verdict::Refused, Some(metrics::reason(e))),
        Err(e) => (Verdict::Failed, Some(e.to_string())),
    }
}

/// Complete record `id` with the outcome `r`; a log that cannot be written is an error line
/// (the write already went out).
fn complete<T>(log: &AuditLog, id: i64, r: &Result<T, LinkError>) {
    let (verdict, reason) = verdict_of(r);
    if let Err(e) = log.verdict(id, verdict, reason.as_deref()) {
        tracing::error!("{e}");
    }
}

/// A plan (or standby plan) push, recorded in the audit log when there is one.
async fn push_audited(
    net: &RoadNet,
    link: &mut FieldLink,
    plan: &SignalPlan,
    standby: bool,
    audit: Option<&AuditLog>,
) -> Result<super::PushReport, LinkError> {
    let Some(log) = audit else {
        return link.push_journaled(net, plan, standby, &mut ()).await;
    };
    let name = &net.intersection(plan.intersection).name;
    let mut journal = Journal {
        log,
        kind: if standby {
            AuditKind::Standby
        } else {
            AuditKind::Plan
        },
        target: target(name, link),
        body: serde_json::to_value(plan).unwrap_or_default(),
        ids: Vec::new(),
    };
    let r = link.push_journaled(net, plan, standby, &mut journal).await;
    if let Some(id) = journal.ids.last() {
        complete(log, *id, &r);
    }
    r
}

/// A stage request, recorded in the audit log when there is one (not sent if the intent
/// cannot be written).
async fn request_stage_audited(
    name: &str,
    link: &mut FieldLink,
    number: u16,
    audit: Option<&AuditLog>,
) -> Result<(), LinkError> {
    let Some(log) = audit else {
        return link.request_stage(number).await;
    };
    let body = serde_json::json!({ "stage": number });
    let id = log
        .intent(AuditKind::Stage, &target(name, link), None, None, &body)
        .map_err(|e| LinkError::Journal(e.to_string()))?;
    let r = link.request_stage(number).await;
    complete(log, id, &r);
    r
}

/// At the first status read after a restart: which logged plan the field runs (its committed
/// sequence number says), and the verdict of every intent the previous run left open.
fn settle_resume(
    name: &str,
    site: &mut Site,
    r: audit::Resume,
    st: &FieldStatus,
    log: Option<&AuditLog>,
    stats: &mut DaemonStats,
    born: Instant,
) {
    if let Some((seq, plan)) = r
        .candidates
        .into_iter()
        .find(|(s, _)| *s == st.committed_seq)
    {
        tracing::info!(intersection = %name, "resumed: the field runs plan {seq} of the audit log");
        site.last_plan = Some(plan);
        site.last_seq = Some(seq);
        site.resumed = true;
        stats
            .first_plan_ms
            .get_or_insert(born.elapsed().as_millis() as u64);
    }
    let Some(log) = log else {
        return;
    };
    for (id, seq) in r.pending {
        let res = if seq == st.committed_seq {
            log.verdict(
                id,
                Verdict::Accepted,
                Some("confirmed after a restart: the field's committed sequence number"),
            )
        } else {
            log.verdict(
                id,
                Verdict::Failed,
                Some("no verdict before the central stopped; the field does not run it"),
            )
        };
        if let Err(e) = res {
            tracing::error!("{e}");
        }
    }
}

/// Metrics: how many of the field controller's detectors do not report OK.
fn note_detector_health(name: &str, deltas: &[super::client::DetectorDelta]) {
    let bad = regmap::health::STUCK_ON
        | regmap::health::STUCK_OFF
        | regmap::health::CHATTERING
        | regmap::health::FAULT;
    let faulty = deltas
        .iter()
        .filter(|d| d.health & regmap::health::OK == 0 || d.health & bad != 0)
        .count();
    metrics::detector_faults(name, faulty);
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
        green_elapsed_s: st.green_shown_ds as f64 / 10.0,
        next_stage: (st.next_stage as usize)
            .checked_sub(1)
            .and_then(|i| inter.stages.get(i))
            .copied(),
        indications: indications_from_masks(st.green_mask, st.yellow_mask, &site.permissive),
    }
}
