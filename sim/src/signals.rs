//! Signal execution: each signalized intersection's lamps run on greenwave's one timing engine,
//! [`roadnet::timing::Runner`] (integer deciseconds), the same engine the field controller
//! emulator runs. This module turns the controller's commands into the engine's targets (an
//! applied plan, or a stage request for [`Command::SwitchTo`]), shows the lamps per movement and
//! runs the conflict monitor.
//!
//! The engine decides the timing (see [`roadnet::timing`]): min green kept, full yellow and
//! all-red between stages, groups green in both stages stay green, a new plan goes on at a stage
//! boundary and walks to its offset in bounded steps, a stage request forces off the green
//! being shown once its shortest green has run. At t = 0 every intersection starts with a
//! start-up interval showing its clearance stage (CityFlow's phase 0: right turns keep green)
//! for its first stage's change interval, then enters the plan where it stands (or the
//! requested stage).

use crate::error::SimError;
use crate::monitor::{ConflictMonitor, SafetyViolation};
use roadnet::timing::{Ds, EffPlan, EffStage, Phase, Runner, Startup, Target};
use roadnet::{
    Command, Indication, IntersectionId, Interval, RoadNet, SignalGroupId, SignalState, StageId,
};
use std::sync::Arc;

/// Sequence number given to the simulator's plans (any value but the request sequence: plans
/// compare by content).
const SIM_PLAN_SEQ: u32 = 1;

/// Seconds of simulated time to the engine's deciseconds.
fn ds_at(t_s: f64) -> Ds {
    if t_s.is_finite() && t_s > 0.0 {
        (t_s * 10.0).round() as Ds
    } else {
        0
    }
}

#[derive(Debug)]
struct Ctl {
    id: IntersectionId,
    groups: Vec<SignalGroupId>,
    permissive: Vec<bool>,
    /// The intersection's stages in order (stage number − 1).
    stage_ids: Vec<StageId>,
    /// Per stage (number − 1): per group, whether the group is in the stage.
    stage_mask: Vec<Vec<bool>>,
    /// Per stage (number − 1): the stage as a stage request.
    requests: Vec<Arc<EffPlan>>,
    runner: Runner,
    /// What the controller asked for last: an applied plan or a stage request.
    target: Arc<EffPlan>,
    /// The controller has commanded this intersection (raw mode switches only then).
    commanded: bool,
    lamps: Vec<Indication>,
}

impl Ctl {
    fn stage_id(&self, number: u16) -> StageId {
        self.stage_ids
            .get((number as usize).wrapping_sub(1))
            .copied()
            .unwrap_or(self.stage_ids[0])
    }
}

/// All signalized intersections' signal logic. Public so that other executors of greenwave's
/// timing (the SUMO/TraCI driver) run exactly this engine instead of a copy: per step call
/// [`Signals::apply`] with the controller's commands, then [`Signals::begin_step`] (which shows
/// this step's lamps in [`Signals::states`] and runs the conflict monitor), then
/// [`Signals::end_step`] once the step's time has passed.
#[derive(Debug)]
pub struct Signals {
    ctls: Vec<Ctl>,
    /// Position of each intersection in `ctls` (signalized only).
    pos_of: Vec<Option<usize>>,
    /// Per movement of the network: may vehicles go (green or permissive green)?
    pub movement_go: Vec<bool>,
    /// Per movement: the indication (Green for unsignalized movements).
    pub movement_lamp: Vec<Indication>,
    group_movements: Vec<Vec<usize>>,
    pub states: Vec<SignalState>,
    pub monitor: ConflictMonitor,
    raw: bool,
    /// The time of the step being run (set by `begin_step`), s.
    now_s: f64,
    /// Standby plans received (validated, kept by no one: the simulator has no field
    /// controller to fall back), for reports.
    pub standby_plans: u64,
}

impl Signals {
    /// `raw`: fault injection only (commands switch at once, no change interval).
    pub fn new(net: &RoadNet, raw: bool) -> Signals {
        let mut ctls = Vec::new();
        let mut pos_of = vec![None; net.intersections.len()];
        for i in net.signalized() {
            let groups = i.signal_groups.clone();
            let stage_ids = i.stages.clone();
            let stage_mask: Vec<Vec<bool>> = stage_ids
                .iter()
                .map(|s| {
                    let st = &net.stage(*s).groups;
                    groups.iter().map(|g| st.contains(g)).collect()
                })
                .collect();
            let requests: Vec<Arc<EffPlan>> = stage_ids
                .iter()
                .map(|s| Arc::new(EffPlan::request(&EffStage::of(net, *s, 0))))
                .collect();
            let first = i
                .stages
                .iter()
                .position(|s| !net.stage(*s).clearance)
                .unwrap_or(0);
            let target = requests[first].clone();
            pos_of[i.id.index()] = Some(ctls.len());
            ctls.push(Ctl {
                id: i.id,
                permissive: groups
                    .iter()
                    .map(|g| net.signal_group(*g).permissive)
                    .collect(),
                groups,
                stage_ids,
                stage_mask,
                runner: Runner::new(target.clone(), Startup::of(net, i.id), None, 0),
                requests,
                target,
                commanded: false,
                lamps: Vec::new(),
            });
        }
        let group_movements = net
            .signal_groups
            .iter()
            .map(|g| g.movements.iter().map(|m| m.index()).collect())
            .collect();
        let mut s = Signals {
            ctls,
            pos_of,
            movement_go: vec![true; net.movements.len()],
            movement_lamp: vec![Indication::Green; net.movements.len()],
            group_movements,
            states: Vec::new(),
            monitor: ConflictMonitor::new(net),
            raw,
            now_s: 0.0,
            standby_plans: 0,
        };
        for k in 0..s.ctls.len() {
            s.compute_lamps(k);
        }
        s.refresh_states();
        s
    }

    /// Apply the controller's commands (issued at the start of a step).
    pub fn apply(
        &mut self,
        net: &RoadNet,
        controller: &str,
        commands: &mut Vec<Command>,
    ) -> Result<(), SimError> {
        for c in commands.drain(..) {
            match c {
                Command::SwitchTo {
                    intersection,
                    stage,
                } => {
                    let k = self.ctl_of(intersection, controller)?;
                    let ctl = &mut self.ctls[k];
                    let Some(p) = ctl.stage_ids.iter().position(|s| *s == stage) else {
                        return Err(SimError::Command {
                            controller: controller.into(),
                            message: format!(
                                "{stage} is not a stage of intersection '{}'",
                                net.intersection(intersection).name
                            ),
                        });
                    };
                    ctl.target = ctl.requests[p].clone();
                    ctl.commanded = true;
                }
                Command::ApplyPlan(plan) => {
                    plan.validate(net).map_err(|error| SimError::PlanRefused {
                        controller: controller.into(),
                        error,
                    })?;
                    let k = self.ctl_of(plan.intersection, controller)?;
                    let eff = EffPlan::from_plan(net, SIM_PLAN_SEQ, &plan);
                    let ctl = &mut self.ctls[k];
                    ctl.commanded = true;
                    // an unchanged plan keeps its identity (and the engine its place in it)
                    if *ctl.target != eff {
                        ctl.target = Arc::new(eff);
                    }
                }
                Command::StandbyPlan(plan) => {
                    plan.validate(net).map_err(|error| SimError::PlanRefused {
                        controller: controller.into(),
                        error,
                    })?;
                    self.ctl_of(plan.intersection, controller)?;
                    self.standby_plans += 1;
                }
            }
        }
        Ok(())
    }

    fn ctl_of(&self, i: IntersectionId, controller: &str) -> Result<usize, SimError> {
        self.pos_of
            .get(i.index())
            .copied()
            .flatten()
            .ok_or_else(|| SimError::Command {
                controller: controller.into(),
                message: format!("{i} is not a signalized intersection"),
            })
    }

    /// Run every intersection's engine up to `now`.
    fn advance(&mut self, now: Ds) {
        let raw = self.raw;
        for ctl in &mut self.ctls {
            if raw && ctl.commanded {
                // Fault injection: switch at once to the stage the target wants now, no change
                // interval, no min green.
                let k = ctl.target.entry_at(now);
                let number = ctl.target.stages[k].number;
                let r = &ctl.runner;
                if r.phase() != Phase::Green || r.stage().number != number {
                    ctl.runner.switch_now(ctl.target.clone(), k, now);
                }
                continue;
            }
            let target = &ctl.target;
            ctl.runner
                .advance_to(now, &mut |_| Target::Plan(target.clone()));
        }
    }

    /// Start-of-step: run the engines to `time_s` with this step's targets, compute lamps, run
    /// the conflict monitor.
    pub fn begin_step(&mut self, net: &RoadNet, time_s: f64) -> Result<(), SafetyViolation> {
        self.now_s = time_s;
        self.advance(ds_at(time_s));
        for k in 0..self.ctls.len() {
            self.compute_lamps(k);
            let ctl = &mut self.ctls[k];
            let ended = ctl
                .runner
                .take_ended()
                .map(|(n, len)| (ctl.stage_id(n), len as f64 / 10.0));
            let r = self.monitor.observe(net, k, time_s, &ctl.lamps, ended);
            r?;
        }
        self.refresh_states();
        Ok(())
    }

    fn compute_lamps(&mut self, k: usize) {
        let ctl = &mut self.ctls[k];
        ctl.lamps.clear();
        for g in 0..ctl.groups.len() {
            let masks = &ctl.stage_mask;
            let lamp = ctl.runner.lamp(|n| {
                masks
                    .get((n as usize).wrapping_sub(1))
                    .is_some_and(|m| m[g])
            });
            ctl.lamps.push(lamp.indication(ctl.permissive[g]));
        }
        for (g, lamp) in ctl.lamps.iter().enumerate() {
            for &m in &self.group_movements[ctl.groups[g].index()] {
                self.movement_lamp[m] = *lamp;
                self.movement_go[m] = lamp.is_green();
            }
        }
    }

    /// End-of-step: the step's `dt_s` has passed; intervals that end by then end.
    pub fn end_step(&mut self, dt_s: f64) {
        self.now_s += dt_s;
        self.advance(ds_at(self.now_s));
        // the lamps of the state the controller sees next, as a field controller read at
        // that moment shows them (the next `begin_step` computes them again after commands)
        for k in 0..self.ctls.len() {
            self.compute_lamps(k);
        }
        self.refresh_states();
    }

    fn refresh_states(&mut self) {
        let now = ds_at(self.now_s);
        self.states.resize_with(self.ctls.len(), || SignalState {
            intersection: IntersectionId(0),
            stage: StageId(0),
            interval: Interval::Green,
            time_in_interval_s: 0.0,
            green_elapsed_s: 0.0,
            next_stage: None,
            indications: Vec::new(),
        });
        for (st, ctl) in self.states.iter_mut().zip(&self.ctls) {
            let r = &ctl.runner;
            st.intersection = ctl.id;
            st.stage = ctl.stage_id(r.stage().number);
            st.interval = match r.phase() {
                Phase::Green => Interval::Green,
                Phase::Yellow => Interval::Yellow,
                Phase::AllRed | Phase::Flash => Interval::AllRed,
            };
            st.time_in_interval_s = now.saturating_sub(r.phase_start()) as f64 / 10.0;
            st.green_elapsed_s = r.green_elapsed(now) as f64 / 10.0;
            st.next_stage = if r.phase() == Phase::Green {
                // a stage request waiting for the green's shortest green to run out
                Some(ctl.target.stages[0].number)
                    .filter(|n| ctl.target.is_request() && *n != r.stage().number)
                    .map(|n| ctl.stage_id(n))
            } else if r.in_startup() {
                Some(ctl.stage_id(ctl.target.stages[ctl.target.entry_at(now)].number))
            } else {
                r.next_stage_number().map(|n| ctl.stage_id(n))
            };
            st.indications.clear();
            st.indications.extend_from_slice(&ctl.lamps);
        }
    }
}
