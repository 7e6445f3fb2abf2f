//! The central daemon: polls every field controller's detectors and status, feeds them to a
//! [`Controller`] as a [`StepInput`], and pushes every [`Command::ApplyPlan`] it emits over the
//! verified plan push. Any `Box<dyn Controller>` can drive it.

use super::client::ClientPool;
use crate::protocol::codec::{field_detectors, indications_from_masks, FieldStatus};
use crate::protocol::regmap;
use crate::protocol::LinkError;
use roadnet::{
    Command, Controller, DetectorId, DetectorReading, IntersectionId, Interval, RoadNet,
    SignalPlan, SignalState, StepInput,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counters of what the daemon did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DaemonStats {
    pub steps: u64,
    pub polls_ok: u64,
    pub poll_errors: u64,
    pub heartbeat_errors: u64,
    pub plans_pushed: u64,
    /// Refused by the field (reason code) or by the central validator.
    pub plans_rejected: u64,
    pub push_errors: u64,
    pub commands_unsupported: u64,
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
}

/// The central loop over a [`ClientPool`].
pub struct Daemon {
    net: Arc<RoadNet>,
    pool: ClientPool,
    controller: Box<dyn Controller>,
    sites: Vec<Site>,
    stats: DaemonStats,
    started: Instant,
    last_step_s: f64,
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
    pub fn new(net: Arc<RoadNet>, pool: ClientPool, controller: Box<dyn Controller>) -> Daemon {
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
            })
            .collect();
        Daemon {
            net,
            pool,
            controller,
            sites,
            stats: DaemonStats::default(),
            started: Instant::now(),
            last_step_s: 0.0,
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

    /// One step at `time_s`: heartbeat, status and detectors from every field controller,
    /// one controller step, then every plan it asked for is pushed (verified).
    pub async fn step(&mut self, time_s: f64) {
        let dt_s = (time_s - self.last_step_s).max(0.0);
        self.last_step_s = time_s;
        self.stats.steps += 1;
        let mut readings = Vec::new();
        let mut signals = Vec::new();
        let net = self.net.clone();
        for site in &mut self.sites {
            let Some(link) = self.pool.link(site.id) else {
                continue;
            };
            if link.heartbeat().await.is_err() {
                self.stats.heartbeat_errors += 1;
            }
            let name = &net.intersection(site.id).name;
            match link.status().await {
                Ok(st) => {
                    if site.reachable == Some(false) {
                        tracing::info!(intersection = %name, "field controller reachable again");
                    }
                    site.reachable = Some(true);
                    let fallback = st.flags & regmap::flags::FALLBACK != 0;
                    match (site.fallback, fallback) {
                        (Some(false) | None, true) => tracing::warn!(
                            intersection = %name,
                            "field controller in fallback: running its local plan"
                        ),
                        (Some(true), false) => {
                            tracing::info!(intersection = %name, "field controller left fallback")
                        }
                        _ => {}
                    }
                    site.fallback = Some(fallback);
                    // a field controller that restarted (or lost our plan) gets it again
                    if let (Some(seq), Some(plan)) = (site.last_seq, &site.last_plan) {
                        if st.committed_seq != seq {
                            tracing::warn!(
                                "{}: field holds plan {} but {} was pushed; pushing again",
                                net.intersection(site.id).name,
                                st.committed_seq,
                                seq
                            );
                            let plan = plan.clone();
                            push(&net, link, &plan, site, &mut self.stats).await;
                        }
                    }
                    signals.push(signal_state(&net, site, &st));
                    site.status = Some(st);
                }
                Err(e) => {
                    self.stats.poll_errors += 1;
                    if site.reachable != Some(false) {
                        tracing::warn!(intersection = %name, "field controller unreachable: {e}");
                    }
                    site.reachable = Some(false);
                    tracing::debug!("{name}: status: {e}");
                    continue;
                }
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
                            interval_s: dt_s,
                            count: d.count,
                            occupancy: if dt_s > 0.0 {
                                (d.occupied_ds as f64 / 10.0 / dt_s).clamp(0.0, 1.0)
                            } else {
                                d.occupancy_permille as f64 / 1000.0
                            },
                            mean_speed_m_s: None,
                        });
                    }
                }
                Err(e) => {
                    self.stats.poll_errors += 1;
                    tracing::debug!("{}: detectors: {e}", net.intersection(site.id).name);
                }
            }
        }
        let mut frames = Vec::new();
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
            signals: &signals,
        };
        self.controller.step(&input, &mut commands);
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
                    push(&net, link, &plan, site, &mut self.stats).await;
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
                    if let Err(e) = link.request_stage(number as u16 + 1).await {
                        tracing::warn!(
                            "stage request to {}: {e}",
                            net.intersection(intersection).name
                        );
                        self.stats.commands_unsupported += 1;
                    }
                }
            }
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
        next_stage: None,
        indications: indications_from_masks(st.green_mask, st.yellow_mask, &site.permissive),
    }
}
