//! Signal execution: each signalized intersection serves stages; commands from the controller
//! are turned into safe sequences (min green kept, yellow and all-red shown between stages).
//!
//! During a change interval the lamps show the intersection's clearance stage where it has one
//! (CityFlow's phase 0: right turns keep green), groups that stay green into the next stage keep
//! green, groups losing green show yellow (then red during all-red), everything else is red.
//! At t = 0 every intersection starts with a start-up clearance of its first stage's change
//! interval (CityFlow's nets start in phase 0 too), then shows its first stage unless the
//! controller asks for another before then.

use crate::error::SimError;
use crate::monitor::{ConflictMonitor, SafetyViolation};
use roadnet::{
    Command, Indication, IntersectionId, Interval, RoadNet, SignalGroupId, SignalPlan, SignalState,
    StageId,
};

const EPS_S: f64 = 1e-9;

#[derive(Debug)]
struct Ctl {
    id: IntersectionId,
    groups: Vec<SignalGroupId>,
    /// Per group: in the clearance stage.
    in_clearance: Vec<bool>,
    permissive: Vec<bool>,
    /// Per stage of the intersection (by position in `stage_ids`): its groups as a bitmask over `groups`.
    stage_ids: Vec<StageId>,
    stage_mask: Vec<Vec<bool>>,
    /// First non-clearance stage (shown after start-up).
    cur: StageId,
    startup: bool,
    interval: Interval,
    t_in_s: f64,
    green_elapsed_s: f64,
    next: Option<StageId>,
    pending: Option<StageId>,
    plan: Option<SignalPlan>,
    yellow_len_s: f64,
    all_red_len_s: f64,
    lamps: Vec<Indication>,
    ended: Option<(StageId, f64)>,
}

impl Ctl {
    fn stage_pos(&self, s: StageId) -> Option<usize> {
        self.stage_ids.iter().position(|x| *x == s)
    }
    fn in_stage(&self, s: StageId, g: usize) -> bool {
        self.stage_pos(s).is_some_and(|p| self.stage_mask[p][g])
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
            let gpos = |g: SignalGroupId| groups.iter().position(|x| *x == g);
            let stage_ids = i.stages.clone();
            let stage_mask: Vec<Vec<bool>> = stage_ids
                .iter()
                .map(|s| {
                    let mut m = vec![false; groups.len()];
                    for g in &net.stage(*s).groups {
                        if let Some(p) = gpos(*g) {
                            m[p] = true;
                        }
                    }
                    m
                })
                .collect();
            let in_clearance = match i.clearance_stage {
                Some(c) => {
                    let p = stage_ids.iter().position(|x| *x == c).unwrap_or(0);
                    stage_mask[p].clone()
                }
                None => vec![false; groups.len()],
            };
            let first = i
                .stages
                .iter()
                .copied()
                .find(|s| !net.stage(*s).clearance)
                .unwrap_or(i.stages[0]);
            let change = net.stage(first).limits;
            pos_of[i.id.index()] = Some(ctls.len());
            ctls.push(Ctl {
                id: i.id,
                permissive: groups
                    .iter()
                    .map(|g| net.signal_group(*g).permissive)
                    .collect(),
                in_clearance,
                groups,
                stage_ids,
                stage_mask,
                cur: first,
                startup: true,
                interval: Interval::AllRed,
                t_in_s: 0.0,
                green_elapsed_s: 0.0,
                next: Some(first),
                pending: None,
                plan: None,
                yellow_len_s: 0.0,
                all_red_len_s: change.yellow_s + change.all_red_s,
                lamps: Vec::new(),
                ended: None,
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
                    if ctl.stage_pos(stage).is_none() {
                        return Err(SimError::Command {
                            controller: controller.into(),
                            message: format!(
                                "{stage} is not a stage of intersection '{}'",
                                net.intersection(intersection).name
                            ),
                        });
                    }
                    ctl.plan = None;
                    self.request(net, k, stage);
                }
                Command::ApplyPlan(plan) => {
                    plan.validate(net).map_err(|error| SimError::PlanRefused {
                        controller: controller.into(),
                        error,
                    })?;
                    let k = self.ctl_of(plan.intersection, controller)?;
                    self.ctls[k].plan = Some(plan);
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

    /// Ask intersection `k` to serve `stage` as soon as it safely can.
    fn request(&mut self, net: &RoadNet, k: usize, stage: StageId) {
        let ctl = &mut self.ctls[k];
        if self.raw {
            // Fault injection: switch at once, no change interval, no min green.
            if ctl.cur != stage || ctl.interval != Interval::Green {
                if ctl.interval == Interval::Green {
                    ctl.ended = Some((ctl.cur, ctl.green_elapsed_s));
                }
                ctl.cur = stage;
                ctl.startup = false;
                ctl.interval = Interval::Green;
                ctl.t_in_s = 0.0;
                ctl.green_elapsed_s = 0.0;
                ctl.next = None;
            }
            return;
        }
        match ctl.interval {
            Interval::Green => {
                if stage == ctl.cur {
                    ctl.pending = None;
                } else {
                    ctl.pending = Some(stage);
                }
            }
            Interval::Yellow | Interval::AllRed => {
                // The change interval's target is fixed once it has begun: retargeting it
                // could turn a group that stayed green (it continues into the old target) to
                // yellow mid-interval, cutting its yellow short. A different wish waits until
                // the target stage has served its min green.
                if ctl.next == Some(stage) {
                    ctl.pending = None;
                } else if ctl.startup {
                    // the start-up clearance shows no green but the clearance stage's: any
                    // first stage may follow it
                    ctl.next = Some(stage);
                    ctl.pending = None;
                } else {
                    ctl.pending = Some(stage);
                }
            }
        }
        let _ = net;
    }

    /// Start-of-step: drive plans, start due changes, compute lamps, run the conflict monitor.
    pub fn begin_step(&mut self, net: &RoadNet, time_s: f64) -> Result<(), SafetyViolation> {
        for k in 0..self.ctls.len() {
            if let Some(plan) = &self.ctls[k].plan {
                let (p, into) = plan.position_at(time_s + EPS_S);
                let split = plan.stages[p];
                let green = split.green_s(net);
                let target = if into + EPS_S < green {
                    split.stage
                } else {
                    plan.stages[(p + 1) % plan.stages.len()].stage
                };
                self.request(net, k, target);
            }
            let ctl = &mut self.ctls[k];
            if ctl.interval == Interval::Green && ctl.pending == Some(ctl.cur) {
                ctl.pending = None;
            }
            if ctl.interval == Interval::Green {
                if let Some(target) = ctl.pending {
                    let st = net.stage(ctl.cur);
                    if ctl.green_elapsed_s + EPS_S >= st.limits.shortest_green_s() || st.clearance {
                        ctl.pending = None;
                        ctl.ended = Some((ctl.cur, ctl.green_elapsed_s));
                        ctl.next = Some(target);
                        ctl.yellow_len_s = st.limits.yellow_s;
                        ctl.all_red_len_s = st.limits.all_red_s;
                        ctl.t_in_s = 0.0;
                        ctl.interval = if ctl.yellow_len_s > 0.0 {
                            Interval::Yellow
                        } else {
                            Interval::AllRed
                        };
                    }
                }
            }
            self.compute_lamps(k);
            let ended = self.ctls[k].ended.take();
            let lamps = std::mem::take(&mut self.ctls[k].lamps);
            let r = self.monitor.observe(net, k, time_s, &lamps, ended);
            self.ctls[k].lamps = lamps;
            r?;
        }
        self.refresh_states();
        Ok(())
    }

    fn compute_lamps(&mut self, k: usize) {
        let ctl = &mut self.ctls[k];
        let n = ctl.groups.len();
        let mut lamps = std::mem::take(&mut ctl.lamps);
        lamps.clear();
        for g in 0..n {
            let green_lamp = if ctl.permissive[g] {
                Indication::PermissiveGreen
            } else {
                Indication::Green
            };
            let lamp = if ctl.startup {
                if ctl.in_clearance[g] {
                    green_lamp
                } else {
                    Indication::Red
                }
            } else {
                let in_cur = ctl.in_stage(ctl.cur, g);
                match ctl.interval {
                    Interval::Green => {
                        if in_cur {
                            green_lamp
                        } else {
                            Indication::Red
                        }
                    }
                    Interval::Yellow | Interval::AllRed => {
                        let continues =
                            ctl.in_clearance[g] || ctl.next.is_some_and(|nx| ctl.in_stage(nx, g));
                        if in_cur && continues {
                            green_lamp
                        } else if in_cur && ctl.interval == Interval::Yellow {
                            Indication::Yellow
                        } else {
                            Indication::Red
                        }
                    }
                }
            };
            lamps.push(lamp);
        }
        for (g, lamp) in lamps.iter().enumerate() {
            for &m in &self.group_movements[ctl.groups[g].index()] {
                self.movement_lamp[m] = *lamp;
                self.movement_go[m] = lamp.is_green();
            }
        }
        ctl.lamps = lamps;
    }

    /// End-of-step: advance interval timers by `dt_s`.
    pub fn end_step(&mut self, dt_s: f64) {
        for ctl in &mut self.ctls {
            ctl.t_in_s += dt_s;
            match ctl.interval {
                Interval::Green => ctl.green_elapsed_s += dt_s,
                Interval::Yellow => {
                    if ctl.t_in_s + EPS_S >= ctl.yellow_len_s {
                        ctl.interval = Interval::AllRed;
                        ctl.t_in_s = 0.0;
                    }
                }
                Interval::AllRed => {}
            }
            if ctl.interval == Interval::AllRed && ctl.t_in_s + EPS_S >= ctl.all_red_len_s {
                ctl.cur = ctl.next.take().unwrap_or(ctl.cur);
                ctl.startup = false;
                ctl.interval = Interval::Green;
                ctl.t_in_s = 0.0;
                ctl.green_elapsed_s = 0.0;
                if ctl.pending == Some(ctl.cur) {
                    ctl.pending = None;
                }
            }
        }
        self.refresh_states();
    }

    fn refresh_states(&mut self) {
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
            st.intersection = ctl.id;
            st.stage = ctl.cur;
            st.interval = ctl.interval;
            st.time_in_interval_s = ctl.t_in_s;
            st.green_elapsed_s = ctl.green_elapsed_s;
            st.next_stage = if ctl.interval == Interval::Green {
                ctl.pending
            } else {
                ctl.next
            };
            st.indications.clear();
            st.indications.extend_from_slice(&ctl.lamps);
        }
    }
}
