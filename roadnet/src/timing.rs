//! The one signal-timing engine of greenwave, on integer deciseconds. The simulator
//! (`sim::Signals`, and through it the SUMO driver) and the field controller emulator
//! (`field::emulator`) both run their lamps with [`Runner`], so the plan-transition behaviour is
//! decided here once:
//!
//! - A cyclic plan ([`EffPlan`]) runs stage by stage. A green never ends before its shortest green
//!   (max(min green, ped walk + ped clearance)); every group losing green shows the full yellow
//!   and then the all-red of the stage being left; groups green in both stages stay green.
//! - A new plan goes on the lamps only at a stage boundary: the stage after the one just served
//!   (in the new plan's order) follows. Its offset is then reached in bounded steps: each green
//!   is shortened (never below its shortest green) or lengthened (never beyond its max green) by
//!   at most 1/[`TRANSITION_STEP_DIVISOR`] of its nominal green.
//! - Coming out of the start-up interval (or out of flash) the lamps enter the plan where it
//!   stands at that moment (the stage whose green the plan is in, or the next one if the plan is
//!   in the stage's change interval), with the first green cut or stretched to end in step.
//! - A stage request is a one-stage plan ([`EffPlan::request`], sequence [`REQUEST_SEQ`]) that
//!   runs without offset. While it is the target, the stage it names is held (up to its max
//!   green, then it simply continues: no change interval between a stage and itself) or, if
//!   another stage is green, that green is forced off as soon as its shortest green has been
//!   shown. A request that is on the lamps is likewise forced off as soon as the target is
//!   anything else.
//! - The start-up interval shows the intersection's clearance stage (CityFlow's phase 0: right
//!   turns keep green; none for other networks) for the first stage's change interval.
//!
//! What to run (plan, request, flash) is the caller's state: the engine asks for it through a
//! `target_at(t)` callback at each stage boundary.

use crate::{Indication, IntersectionId, RoadNet, SignalPlan, StageId};
use std::sync::Arc;

/// Time in deciseconds (0.1 s) since the engine's time reference.
pub type Ds = u64;

/// Seconds to deciseconds, rounded to the nearest (negative and non-finite values give 0).
pub fn ds_of_s(s: f64) -> u32 {
    if s.is_finite() && s > 0.0 {
        (s * 10.0).round().min(u32::MAX as f64) as u32
    } else {
        0
    }
}

/// Sequence number of the one-stage plans built for stage requests: they run without offset
/// correction (there is no cycle to keep).
pub const REQUEST_SEQ: u32 = u32::MAX;

/// Largest share of a stage's green that one offset-correction step may add or remove (1/3).
pub const TRANSITION_STEP_DIVISOR: u32 = 3;

/// The signal groups of `stage` as a bit mask over its intersection's group list (bit i = group
/// i; groups past the 32nd are left out: only the field link uses masks).
pub fn stage_groups_mask(net: &RoadNet, stage: StageId) -> u32 {
    let inter = net.intersection(net.stage(stage).intersection);
    let mut mask = 0u32;
    for g in &net.stage(stage).groups {
        if let Some(i) = inter.signal_groups.iter().position(|x| x == g) {
            if i < 32 {
                mask |= 1 << i;
            }
        }
    }
    mask
}

/// One stage of a plan as the lamps run it, all times in ds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffStage {
    /// 1-based position in the intersection's stage list.
    pub number: u16,
    pub groups_mask: u32,
    pub split_ds: u32,
    /// Nominal green: split − yellow − all-red.
    pub green_ds: u32,
    /// Never end the green earlier: max(min green, ped walk + ped clearance).
    pub shortest_green_ds: u32,
    pub max_green_ds: u32,
    pub yellow_ds: u32,
    pub all_red_ds: u32,
}

impl EffStage {
    /// Stage `stage` of `net` with the network's own limits and a split of `split_ds`.
    pub fn of(net: &RoadNet, stage: StageId, split_ds: u32) -> EffStage {
        let st = net.stage(stage);
        let inter = net.intersection(st.intersection);
        let number = inter.stages.iter().position(|s| *s == stage).unwrap_or(0) as u16 + 1;
        let lim = st.limits;
        let yellow = ds_of_s(lim.yellow_s);
        let all_red = ds_of_s(lim.all_red_s);
        let shortest = ds_of_s(lim.shortest_green_s());
        EffStage {
            number,
            groups_mask: stage_groups_mask(net, stage),
            split_ds,
            green_ds: split_ds.saturating_sub(yellow + all_red),
            shortest_green_ds: shortest,
            max_green_ds: ds_of_s(lim.max_green_s).max(shortest),
            yellow_ds: yellow,
            all_red_ds: all_red,
        }
    }
}

/// A plan ready to run: a cyclic plan, or a stage request ([`EffPlan::request`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffPlan {
    /// The field's plan sequence number (0: the local plan; [`REQUEST_SEQ`]: a stage request).
    pub seq: u32,
    pub cycle_ds: u32,
    pub offset_ds: u32,
    pub stages: Vec<EffStage>,
}

impl EffPlan {
    /// Where stage `k` starts in the cycle when the plan runs to its nominal splits.
    pub fn nominal_start_ds(&self, k: usize) -> u32 {
        self.stages[..k].iter().map(|s| s.split_ds).sum()
    }

    /// A validated plan of the road model in deciseconds (splits rounded to 0.1 s, the cycle their
    /// sum, the offset rounded into it).
    pub fn from_plan(net: &RoadNet, seq: u32, plan: &SignalPlan) -> EffPlan {
        let stages: Vec<EffStage> = plan
            .stages
            .iter()
            .map(|s| EffStage::of(net, s.stage, ds_of_s(s.split_s)))
            .collect();
        let cycle_ds: u32 = stages.iter().map(|s| s.split_ds).sum();
        EffPlan {
            seq,
            cycle_ds,
            offset_ds: ds_of_s(plan.offset_s) % cycle_ds.max(1),
            stages,
        }
    }

    /// The one-stage plan of a stage request: the stage's green runs up to its max green (and
    /// then continues while the request stands), with the stage's own timing minimums.
    pub fn request(stage: &EffStage) -> EffPlan {
        let stage = EffStage {
            green_ds: stage.max_green_ds.max(stage.shortest_green_ds),
            ..stage.clone()
        };
        let split = stage.green_ds + stage.yellow_ds + stage.all_red_ds;
        EffPlan {
            seq: REQUEST_SEQ,
            cycle_ds: split,
            offset_ds: 0,
            stages: vec![EffStage {
                split_ds: split,
                ..stage
            }],
        }
    }

    pub fn is_request(&self) -> bool {
        self.seq == REQUEST_SEQ
    }

    /// The stage to enter at `t` coming out of an all-red: the one whose green the plan is in,
    /// or the next one when the plan is in that stage's change interval.
    pub fn entry_at(&self, t: Ds) -> usize {
        if self.is_request() || self.stages.len() <= 1 {
            return 0;
        }
        let cycle = self.cycle_ds.max(1) as i64;
        let mut into = (t as i64 - self.offset_ds as i64).rem_euclid(cycle);
        for (k, s) in self.stages.iter().enumerate() {
            if into < s.split_ds as i64 {
                return if into < s.green_ds as i64 {
                    k
                } else {
                    (k + 1) % self.stages.len()
                };
            }
            into -= s.split_ds as i64;
        }
        0
    }
}

/// Which signal groups may never be green together: `rows[i]` has bit j set when groups i and
/// j are both protected and have conflicting movements (the validator's rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictMatrix {
    rows: Vec<u32>,
}

impl ConflictMatrix {
    pub fn new(net: &RoadNet, id: IntersectionId) -> ConflictMatrix {
        let groups = &net.intersection(id).signal_groups;
        let n = groups.len().min(32);
        let mut rows = vec![0u32; n];
        for i in 0..n {
            for j in 0..n {
                let (gi, gj) = (net.signal_group(groups[i]), net.signal_group(groups[j]));
                if gi.permissive || gj.permissive {
                    continue;
                }
                let clash = gi.movements.iter().any(|a| {
                    gj.movements
                        .iter()
                        .any(|b| a != b && net.conflict(*a, *b).is_some())
                });
                if clash {
                    rows[i] |= 1 << j;
                }
            }
        }
        ConflictMatrix { rows }
    }

    /// A matrix from its rows (`rows[i]`: the groups group i conflicts with), for tests and
    /// hand-built intersections.
    pub fn from_rows(rows: Vec<u32>) -> ConflictMatrix {
        ConflictMatrix { rows }
    }

    /// The first pair of conflicting groups green together, as group positions.
    pub fn check(&self, green_mask: u32) -> Result<(), (usize, usize)> {
        for (i, row) in self.rows.iter().enumerate() {
            if green_mask & (1 << i) != 0 && row & green_mask != 0 {
                return Err((i, row.trailing_zeros() as usize));
            }
        }
        Ok(())
    }
}

/// What the caller wants the lamps to run next, evaluated at a stage boundary.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Plan(Arc<EffPlan>),
    Flash,
}

/// The interval the lamps are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Green,
    /// Groups leaving green show yellow; groups also green in the next stage stay green.
    Yellow,
    /// Also the start-up interval and the way out of flash.
    AllRed,
    Flash,
}

/// A lamp colour before the permissive distinction (see [`Lamp::indication`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lamp {
    Green,
    Yellow,
    Red,
}

impl Lamp {
    /// The indication of a group showing this lamp (`permissive` groups show `g`, not `G`).
    pub fn indication(self, permissive: bool) -> Indication {
        match self {
            Lamp::Green if permissive => Indication::PermissiveGreen,
            Lamp::Green => Indication::Green,
            Lamp::Yellow => Indication::Yellow,
            Lamp::Red => Indication::Red,
        }
    }
}

/// How an intersection starts: the clearance stage (if it has one) for the change interval of
/// its first serving stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Startup {
    pub len_ds: u32,
    /// The stage shown (number, 1-based), if any; all red otherwise.
    pub stage: Option<u16>,
    pub groups_mask: u32,
}

impl Startup {
    /// The start-up of intersection `id` of `net` (the simulator's and the field's alike).
    pub fn of(net: &RoadNet, id: IntersectionId) -> Startup {
        let inter = net.intersection(id);
        let first = inter
            .stages
            .iter()
            .copied()
            .find(|s| !net.stage(*s).clearance)
            .unwrap_or(inter.stages[0]);
        let change = net.stage(first).limits;
        let clearance = inter.clearance_stage;
        Startup {
            len_ds: ds_of_s(change.yellow_s) + ds_of_s(change.all_red_s),
            stage: clearance
                .and_then(|c| inter.stages.iter().position(|s| *s == c))
                .map(|p| p as u16 + 1),
            groups_mask: clearance.map(|c| stage_groups_mask(net, c)).unwrap_or(0),
        }
    }
}

#[derive(Clone, Debug)]
struct Next {
    plan: Option<Arc<EffPlan>>,
    k: usize,
}

/// The timing engine of one intersection.
#[derive(Clone, Debug)]
pub struct Runner {
    plan: Arc<EffPlan>,
    k: usize,
    phase: Phase,
    phase_start: Ds,
    stage_start: Ds,
    /// When the current interval ends (green end, yellow end, all-red end).
    phase_end: Ds,
    /// When the last green ended (for the green shown, read during its change interval).
    green_end: Ds,
    /// During Yellow/AllRed after a green: what follows. `None` in the start-up interval and on
    /// the way out of flash: the target at the interval's end decides.
    next: Option<Next>,
    /// The start-up (or flash-exit) interval is on, showing this stage (none: all red).
    startup: Option<(Option<u16>, u32)>,
    transition: bool,
    conflicts: Option<ConflictMatrix>,
    conflict_faults: u32,
    /// A plan that tried to show a conflict: flash stays on while it is the target.
    faulted: Option<Arc<EffPlan>>,
    green_starts: u64,
    /// The last green that ended: stage number and its length, until taken.
    ended: Option<(u16, Ds)>,
}

impl Runner {
    /// Start at `t` with the start-up interval, then enter `plan` (or whatever the target is
    /// when the start-up ends). `conflicts`: a last check of every green (the field's); `None`
    /// leaves checking to the caller.
    pub fn new(
        plan: Arc<EffPlan>,
        startup: Startup,
        conflicts: Option<ConflictMatrix>,
        t: Ds,
    ) -> Runner {
        let mut r = Runner {
            plan,
            k: 0,
            phase: Phase::AllRed,
            phase_start: t,
            stage_start: t,
            phase_end: t + startup.len_ds as Ds,
            green_end: t,
            next: None,
            startup: Some((startup.stage, startup.groups_mask)),
            transition: false,
            conflicts,
            conflict_faults: 0,
            faulted: None,
            green_starts: 0,
            ended: None,
        };
        if r.conflicts
            .as_ref()
            .is_some_and(|c| c.check(startup.groups_mask).is_err())
        {
            r.conflict_faults += 1;
            r.startup = Some((None, 0));
        }
        r
    }

    fn next_event(&self) -> Option<Ds> {
        match self.phase {
            Phase::Flash => None,
            _ => Some(self.phase_end),
        }
    }

    /// Run the lamps up to time `now`. `target_at(t)` says what should run after a stage that
    /// ends at `t` (and, evaluated at `now`, whether a stage request holds or forces off the
    /// green being shown).
    pub fn advance_to(&mut self, now: Ds, target_at: &mut dyn FnMut(Ds) -> Target) {
        loop {
            while let Some(t) = self.next_event() {
                if t > now {
                    break;
                }
                self.fire(t, target_at);
            }
            if self.phase == Phase::Green && self.apply_request(now, target_at(now)) {
                continue;
            }
            break;
        }
        if self.phase == Phase::Flash {
            if let Target::Plan(p) = target_at(now) {
                if self.faulted.as_ref().is_some_and(|f| **f == *p) {
                    return;
                }
                // leave flash through an all-red interval as long as the longest all-red
                let all_red = p.stages.iter().map(|s| s.all_red_ds).max().unwrap_or(20);
                self.plan = p;
                self.k = 0;
                self.phase = Phase::AllRed;
                self.phase_start = now;
                self.stage_start = now;
                self.phase_end = now + all_red as Ds;
                self.next = None;
                self.startup = Some((None, 0));
                self.advance_to(now, target_at);
            }
        }
    }

    /// Stage-request rules during a green: hold the requested stage, force off any other green
    /// once its shortest green is shown, and end a request's green the same way once it is no
    /// longer the target. True when the green now ends at or before `now`.
    fn apply_request(&mut self, now: Ds, target: Target) -> bool {
        let st = &self.plan.stages[self.k];
        let earliest = self.stage_start + st.shortest_green_ds as Ds;
        let force_off = match &target {
            Target::Plan(p) if p.is_request() => {
                if p.stages[0].number == st.number {
                    let latest = self.stage_start + st.max_green_ds.max(st.shortest_green_ds) as Ds;
                    self.phase_end = self.phase_end.max(latest);
                    false
                } else {
                    true
                }
            }
            _ => self.plan.is_request(),
        };
        if force_off {
            self.phase_end = self.phase_end.min(now.max(earliest));
        }
        self.phase_end <= now
    }

    fn fire(&mut self, t: Ds, target_at: &mut dyn FnMut(Ds) -> Target) {
        match self.phase {
            Phase::Green => {
                let cur = &self.plan.stages[self.k];
                let next = match target_at(t) {
                    Target::Flash => Next { plan: None, k: 0 },
                    Target::Plan(p) => {
                        let k = if *p == *self.plan {
                            (self.k + 1) % p.stages.len()
                        } else {
                            p.stages
                                .iter()
                                .position(|s| s.number == cur.number)
                                .map(|i| (i + 1) % p.stages.len())
                                .unwrap_or(0)
                        };
                        Next { plan: Some(p), k }
                    }
                };
                if let Some(p) = next.plan.as_ref().filter(|p| p.is_request()) {
                    if p.stages[next.k].number == cur.number {
                        // a stage request for the stage being shown: no change interval
                        // between a stage and itself, the green continues
                        let green = p.stages[next.k].green_ds as Ds;
                        self.plan = p.clone();
                        self.k = next.k;
                        self.phase_end = t + green.max(1);
                        return;
                    }
                }
                self.ended = Some((cur.number, t - self.stage_start));
                self.green_end = t;
                self.phase = Phase::Yellow;
                self.phase_start = t;
                self.phase_end = t + cur.yellow_ds as Ds;
                self.next = Some(next);
            }
            Phase::Yellow => {
                self.phase = Phase::AllRed;
                self.phase_start = t;
                self.phase_end = t + self.plan.stages[self.k].all_red_ds as Ds;
            }
            Phase::AllRed => {
                let entering = self.next.is_none();
                let next = match self.next.take() {
                    Some(n) => n,
                    None => match target_at(t) {
                        Target::Flash => Next { plan: None, k: 0 },
                        Target::Plan(p) => Next {
                            k: p.entry_at(t),
                            plan: Some(p),
                        },
                    },
                };
                self.startup = None;
                match next.plan {
                    None => {
                        self.phase = Phase::Flash;
                        self.phase_start = t;
                        self.stage_start = t;
                    }
                    Some(p) => self.start_green(p, next.k, t, entering),
                }
            }
            Phase::Flash => {}
        }
    }

    /// Start stage `k` of `plan` at `t`, its green cut or stretched toward the plan's offset (in
    /// one bounded step, or at once when `entering` from an all-red start).
    fn start_green(&mut self, plan: Arc<EffPlan>, k: usize, t: Ds, entering: bool) {
        let st = &plan.stages[k];
        let cycle = plan.cycle_ds.max(1) as i64;
        let desired = (t as i64 - plan.offset_ds as i64).rem_euclid(cycle);
        let nominal = plan.nominal_start_ds(k) as i64;
        let mut diff = (desired - nominal).rem_euclid(cycle);
        if diff > cycle / 2 {
            diff -= cycle;
        }
        if plan.is_request() {
            diff = 0;
        }
        let cap = if entering {
            i64::MAX
        } else {
            (st.green_ds / TRANSITION_STEP_DIVISOR) as i64
        };
        let green = st.green_ds as i64;
        let green = if diff > 0 {
            // behind: shorten, never below the shortest green
            green
                - diff
                    .min(cap)
                    .min((green - st.shortest_green_ds as i64).max(0))
        } else if diff < 0 {
            // ahead: dwell, never beyond max green
            green
                + (-diff)
                    .min(cap)
                    .min((st.max_green_ds as i64 - green).max(0))
        } else {
            green
        };
        let green = (green.max(st.shortest_green_ds as i64)) as Ds;
        self.transition = diff != 0 && !entering;
        if self
            .conflicts
            .as_ref()
            .is_some_and(|c| c.check(st.groups_mask).is_err())
        {
            // Defence in depth: an accepted plan never gets here. Go dark-safe: flash.
            self.conflict_faults += 1;
            self.faulted = Some(plan.clone());
            self.phase = Phase::Flash;
            self.phase_start = t;
            self.stage_start = t;
            self.plan = plan;
            self.k = 0;
            return;
        }
        self.plan = plan;
        self.k = k;
        self.phase = Phase::Green;
        self.phase_start = t;
        self.stage_start = t;
        self.phase_end = t + green;
        self.green_starts += 1;
    }

    /// Fault injection only (the simulator's raw mode): show stage `k` of `plan` at once, with
    /// no change interval and no min green, and hold it.
    pub fn switch_now(&mut self, plan: Arc<EffPlan>, k: usize, t: Ds) {
        if self.phase == Phase::Green {
            self.ended = Some((self.plan.stages[self.k].number, t - self.stage_start));
            self.green_end = t;
        }
        self.plan = plan;
        self.k = k;
        self.phase = Phase::Green;
        self.phase_start = t;
        self.stage_start = t;
        self.phase_end = Ds::MAX;
        self.next = None;
        self.startup = None;
        self.transition = false;
        self.green_starts += 1;
    }

    /// The lamp of a signal group, given which stages (by number) it belongs to. The one rule
    /// for every lamp: green while its stage is green; through a change interval green if it
    /// is also in the next stage, else yellow then red; in the start-up interval green if it
    /// is in the clearance stage; red in flash (the field's flash is shown as dark-safe red).
    pub fn lamp(&self, in_stage: impl Fn(u16) -> bool) -> Lamp {
        if let Some((stage, _)) = self.startup {
            return if stage.is_some_and(&in_stage) {
                Lamp::Green
            } else {
                Lamp::Red
            };
        }
        let in_cur = in_stage(self.plan.stages[self.k].number);
        match self.phase {
            Phase::Flash => Lamp::Red,
            Phase::Green if in_cur => Lamp::Green,
            Phase::Green => Lamp::Red,
            Phase::Yellow | Phase::AllRed => {
                if in_cur && self.next_stage_number().is_some_and(&in_stage) {
                    Lamp::Green
                } else if in_cur && self.phase == Phase::Yellow {
                    Lamp::Yellow
                } else {
                    Lamp::Red
                }
            }
        }
    }

    /// The groups mask of stage `number` as this runner knows it (current, next or start-up).
    fn mask_of(&self, number: u16) -> u32 {
        if let Some((Some(s), m)) = self.startup {
            if s == number {
                return m;
            }
        }
        let cur = &self.plan.stages[self.k];
        if cur.number == number {
            return cur.groups_mask;
        }
        self.next
            .as_ref()
            .and_then(|n| n.plan.as_ref().map(|p| &p.stages[n.k]))
            .filter(|s| s.number == number)
            .map(|s| s.groups_mask)
            .unwrap_or(0)
    }

    fn mask_where(&self, want: Lamp) -> u32 {
        (0..32)
            .filter(|i| self.lamp(|n| self.mask_of(n) & (1 << i) != 0) == want)
            .fold(0, |m, i| m | 1 << i)
    }

    pub fn green_mask(&self) -> u32 {
        self.mask_where(Lamp::Green)
    }
    pub fn yellow_mask(&self) -> u32 {
        self.mask_where(Lamp::Yellow)
    }

    pub fn plan(&self) -> &Arc<EffPlan> {
        &self.plan
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// Whether the start-up (or flash-exit) interval is on.
    pub fn in_startup(&self) -> bool {
        self.startup.is_some()
    }
    /// The stage being served (or being left during a change interval).
    pub fn stage(&self) -> &EffStage {
        &self.plan.stages[self.k]
    }
    pub fn stage_index(&self) -> usize {
        self.k
    }
    /// The next stage's number during a change interval.
    pub fn next_stage_number(&self) -> Option<u16> {
        let n = self.next.as_ref()?;
        n.plan.as_ref().map(|p| p.stages[n.k].number)
    }
    pub fn phase_start(&self) -> Ds {
        self.phase_start
    }
    pub fn stage_start(&self) -> Ds {
        self.stage_start
    }
    /// How long the stage has been green at `now` (during its change interval: how long it was).
    pub fn green_elapsed(&self, now: Ds) -> Ds {
        match self.phase {
            Phase::Green => now.saturating_sub(self.stage_start),
            _ if self.startup.is_some() => 0,
            Phase::Flash => 0,
            _ => self.green_end.saturating_sub(self.stage_start),
        }
    }
    pub fn in_transition(&self) -> bool {
        self.transition
    }
    pub fn conflict_faults(&self) -> u32 {
        self.conflict_faults
    }
    /// Number of greens started so far (stage boundaries passed).
    pub fn green_starts(&self) -> u64 {
        self.green_starts
    }
    /// The last green that ended (stage number, length) since the last call.
    pub fn take_ended(&mut self) -> Option<(u16, Ds)> {
        self.ended.take()
    }
    /// Whether a plan other than the running one waits for the next boundary.
    pub fn pending_plan(&self) -> Option<&Arc<EffPlan>> {
        self.next
            .as_ref()
            .and_then(|n| n.plan.as_ref())
            .filter(|p| ***p != *self.plan)
    }

    /// One indication per signal group (in the intersection's order, at most 32); `permissive[i]`
    /// says whether group i shows `g` rather than `G`.
    pub fn indications(&self, permissive: &[bool]) -> Vec<Indication> {
        permissive
            .iter()
            .enumerate()
            .map(|(i, perm)| {
                let bit = 1u32 << i.min(31);
                self.lamp(|n| self.mask_of(n) & bit != 0).indication(*perm)
            })
            .collect()
    }

    /// The running stage's id in `net`.
    pub fn stage_id(&self, net: &RoadNet, id: IntersectionId) -> Option<StageId> {
        net.intersection(id)
            .stages
            .get(self.stage().number as usize - 1)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stage(number: u16, mask: u32, green: u32) -> EffStage {
        EffStage {
            number,
            groups_mask: mask,
            split_ds: green + 60,
            green_ds: green,
            shortest_green_ds: 70,
            max_green_ds: 600,
            yellow_ds: 40,
            all_red_ds: 20,
        }
    }

    fn plan(seq: u32, offset: u32) -> Arc<EffPlan> {
        let stages = vec![stage(1, 0b01, 240), stage(2, 0b10, 240)];
        Arc::new(EffPlan {
            seq,
            cycle_ds: stages.iter().map(|s| s.split_ds).sum(),
            offset_ds: offset,
            stages,
        })
    }

    fn matrix() -> ConflictMatrix {
        ConflictMatrix::from_rows(vec![0b10, 0b01])
    }

    const ALL_RED_START: Startup = Startup {
        len_ds: 60,
        stage: None,
        groups_mask: 0,
    };

    fn runner(p: &Arc<EffPlan>) -> Runner {
        Runner::new(p.clone(), ALL_RED_START, Some(matrix()), 0)
    }

    #[test]
    fn runs_the_cycle_with_full_change_intervals() {
        let p = plan(0, 0);
        let mut r = runner(&p);
        let mut last_green = 0u32;
        let mut yellow_seen = 0;
        for t in 0..2000 {
            r.advance_to(t, &mut |_| Target::Plan(p.clone()));
            assert!(matrix().check(r.green_mask()).is_ok());
            // a group never goes from green straight to red
            let lost = last_green & !r.green_mask();
            assert_eq!(lost & !r.yellow_mask(), 0, "t={t}");
            if r.yellow_mask() != 0 {
                yellow_seen += 1;
            }
            last_green = r.green_mask();
        }
        // 2000 ds of a 600 ds cycle: 6 or 7 yellows of 40 ds
        assert!(yellow_seen >= 6 * 40, "{yellow_seen}");
    }

    #[test]
    fn the_start_up_enters_the_plan_where_it_stands() {
        // offset 400: at t = 60 the plan is 260 ds into its cycle, i.e. in stage 1's change
        // interval (stage 0: 0..300, green 0..240): the lamps enter stage 2 (index 1), whose
        // green ends with the plan's at 400 + 300 + 240 − 600 = 340
        let p = plan(0, 400);
        let mut r = runner(&p);
        r.advance_to(59, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.green_mask()), (Phase::AllRed, 0));
        r.advance_to(60, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.stage_index()), (Phase::Green, 1));
        assert!(!r.in_transition());
        r.advance_to(339, &mut |_| Target::Plan(p.clone()));
        assert_eq!(r.phase(), Phase::Green);
        r.advance_to(340, &mut |_| Target::Plan(p.clone()));
        assert_eq!(r.phase(), Phase::Yellow);
    }

    #[test]
    fn walks_to_a_new_offset_in_bounded_steps_and_never_cuts_the_shortest_green() {
        let a = plan(0, 0);
        let b = plan(7, 250);
        let mut r = runner(&a);
        r.advance_to(1000, &mut |_| Target::Plan(a.clone()));
        let mut green_since: Option<Ds> = None;
        let mut in_step_at = None;
        let mut greens = vec![];
        for t in 1000..6000 {
            r.advance_to(t, &mut |_| Target::Plan(b.clone()));
            if r.phase() == Phase::Green {
                green_since.get_or_insert(t);
            } else if let Some(s) = green_since.take() {
                greens.push(t - s);
            }
            if r.plan().seq == 7 && !r.in_transition() && in_step_at.is_none() {
                in_step_at = Some(t);
            }
        }
        // every green within 240 ± 240/3 (and never below the shortest green, 70)
        // (the first green was already running at t = 1000)
        assert!(
            greens[1..].iter().all(|g| (160..=320).contains(g)),
            "{greens:?}"
        );
        assert!(greens.iter().any(|g| *g != 240), "the walk changes greens");
        let cycle = b.cycle_ds as Ds;
        let reached = in_step_at.expect("reaches the offset");
        assert!(reached <= 1000 + 4 * cycle, "in step at {reached}");
        // in step: stage 1 greens start at offset + k·cycle
        let mut r2 = r.clone();
        let mut starts = vec![];
        for t in 6000..8000 {
            let before = r2.green_starts();
            r2.advance_to(t, &mut |_| Target::Plan(b.clone()));
            if r2.green_starts() != before && r2.stage_index() == 0 {
                starts.push(t);
            }
        }
        assert!(!starts.is_empty());
        for s in starts {
            assert_eq!((s + cycle - 250) % cycle, 0);
        }
    }

    #[test]
    fn a_request_forces_off_after_the_shortest_green_and_holds_without_change_intervals() {
        let p = plan(0, 0);
        let req2 = Arc::new(EffPlan::request(&p.stages[1]));
        let mut r = runner(&p);
        r.advance_to(80, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.stage().number), (Phase::Green, 1));
        // stage 1 green since 60: the request ends it at 60 + 70 = 130, not before
        r.advance_to(129, &mut |_| Target::Plan(req2.clone()));
        assert_eq!(r.phase(), Phase::Green);
        r.advance_to(130, &mut |_| Target::Plan(req2.clone()));
        assert_eq!(r.phase(), Phase::Yellow);
        assert_eq!(r.next_stage_number(), Some(2));
        assert_eq!(r.take_ended(), Some((1, 70)));
        r.advance_to(190, &mut |_| Target::Plan(req2.clone()));
        assert_eq!((r.phase(), r.stage().number), (Phase::Green, 2));
        // held far past its max green (600), with no change interval
        for t in 190..3000 {
            r.advance_to(t, &mut |_| Target::Plan(req2.clone()));
            assert_eq!((r.phase(), r.green_mask()), (Phase::Green, 0b10), "t={t}");
        }
        assert_eq!(r.green_elapsed(3000), 2810);
        // back to the plan: forced off at once (its shortest green has long run)
        r.advance_to(3000, &mut |_| Target::Plan(p.clone()));
        assert_eq!(r.phase(), Phase::Yellow);
    }

    #[test]
    fn a_request_made_during_a_change_interval_is_served_after_the_next_shortest_green() {
        let stages = vec![
            stage(1, 0b001, 240),
            stage(2, 0b010, 240),
            stage(3, 0b100, 240),
        ];
        let p = Arc::new(EffPlan {
            seq: 0,
            cycle_ds: stages.iter().map(|s| s.split_ds).sum(),
            offset_ds: 60,
            stages,
        });
        let req3 = Arc::new(EffPlan::request(&p.stages[2]));
        let mut r = Runner::new(p.clone(), ALL_RED_START, None, 0);
        // stage 1 green 60..300, yellow from 300: stage 2 is next
        r.advance_to(310, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.next_stage_number()), (Phase::Yellow, Some(2)));
        // stage 2 starts at 360 and is forced off at 360 + 70 for stage 3
        r.advance_to(429, &mut |_| Target::Plan(req3.clone()));
        assert_eq!((r.phase(), r.stage().number), (Phase::Green, 2));
        r.advance_to(430, &mut |_| Target::Plan(req3.clone()));
        assert_eq!((r.phase(), r.next_stage_number()), (Phase::Yellow, Some(3)));
    }

    #[test]
    fn flash_and_back() {
        let p = plan(0, 0);
        let mut r = runner(&p);
        r.advance_to(100, &mut |_| Target::Plan(p.clone()));
        r.advance_to(1000, &mut |_| Target::Flash);
        assert_eq!(r.phase(), Phase::Flash);
        assert_eq!(r.green_mask(), 0);
        r.advance_to(1001, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.green_mask()), (Phase::AllRed, 0));
        r.advance_to(1100, &mut |_| Target::Plan(p.clone()));
        assert_ne!(r.phase(), Phase::Flash);
    }

    #[test]
    fn a_conflicting_stage_never_shows_green() {
        let mut p = (*plan(0, 0)).clone();
        p.stages[1].groups_mask = 0b11;
        let p = Arc::new(p);
        let mut r = runner(&p);
        for t in 0..1000 {
            r.advance_to(t, &mut |_| Target::Plan(p.clone()));
            assert!(matrix().check(r.green_mask()).is_ok());
        }
        assert_eq!(r.conflict_faults(), 1);
        assert_eq!(r.phase(), Phase::Flash);
    }

    #[test]
    fn the_start_up_shows_the_clearance_stage() {
        let p = plan(0, 0);
        let start = Startup {
            len_ds: 50,
            stage: Some(3),
            groups_mask: 0b100,
        };
        let mut r = Runner::new(p.clone(), start, None, 0);
        assert_eq!(r.green_mask(), 0b100);
        assert_eq!(r.lamp(|n| n == 3), Lamp::Green);
        r.advance_to(50, &mut |_| Target::Plan(p.clone()));
        assert_eq!((r.phase(), r.green_mask()), (Phase::Green, 0b01));
    }

    /// A random plan of 2 to 4 stages over one group each (groups of different stages
    /// conflict), with room to walk: shortest green ≤ green / 2, max green ≥ 2 × green.
    fn arb_plan() -> impl Strategy<Value = EffPlan> {
        (
            prop::collection::vec((100u32..400, 30u32..60, 0u32..30), 2..=4),
            0u32..10_000,
        )
            .prop_map(|(st, off)| {
                let stages: Vec<EffStage> = st
                    .iter()
                    .enumerate()
                    .map(|(i, &(green, yellow, all_red))| EffStage {
                        number: i as u16 + 1,
                        groups_mask: 1 << i,
                        split_ds: green + yellow + all_red,
                        green_ds: green,
                        shortest_green_ds: green / 2,
                        max_green_ds: 2 * green,
                        yellow_ds: yellow,
                        all_red_ds: all_red,
                    })
                    .collect();
                let cycle_ds = stages.iter().map(|s| s.split_ds).sum::<u32>();
                EffPlan {
                    seq: 1,
                    cycle_ds,
                    offset_ds: off % cycle_ds,
                    stages,
                }
            })
    }

    /// What the central does at a moment: commit a plan, request a stage, or leave request
    /// mode (back to the last plan).
    #[derive(Clone, Debug)]
    enum Act {
        Commit(u32),
        Request(usize),
        Release,
    }

    fn arb_acts() -> impl Strategy<Value = Vec<(Ds, Act)>> {
        prop::collection::vec(
            (
                50u64..3000,
                prop_oneof![
                    (0u32..10_000).prop_map(Act::Commit),
                    (0usize..4).prop_map(Act::Request),
                    Just(Act::Release),
                ],
            ),
            1..40,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random plans, commits (new offsets and splits) and stage requests over long runs:
        /// never two stages' groups green together, every green at least its shortest green,
        /// every group that loses green shows the full yellow of the stage it leaves and then
        /// red through its all-red, a cyclic green never beyond its max green, and once the
        /// central leaves a plan alone the lamps reach its offset within 8 cycles.
        #[test]
        fn lamps_stay_safe_and_reach_the_offset(base in arb_plan(), acts in arb_acts()) {
            let n = base.stages.len();
            let rows: Vec<u32> = (0..n).map(|i| ((1u32 << n) - 1) & !(1 << i)).collect();
            let m = ConflictMatrix::from_rows(rows);
            let mut cur_plan = Arc::new(base.clone());
            let mut target: Arc<EffPlan>;
            let mut r = Runner::new(cur_plan.clone(), ALL_RED_START, Some(m.clone()), 0);
            let mut t: Ds = 0;
            let mut prev_green = 0u32;
            let mut green_since: Vec<Ds> = vec![0; n];
            let mut yellow_since = vec![None::<Ds>; n];
            let mut red_since_yellow = vec![None::<(Ds, u32)>; n];
            let mut schedule = acts.clone();
            schedule.push((0, Act::Release));
            let last = schedule.len() - 1;
            for (j, (gap, act)) in schedule.into_iter().enumerate() {
                // the act, then `gap` ds of lamps under it
                match act {
                    Act::Commit(x) => {
                        // same stages, new offset and split shares
                        let mut p = base.clone();
                        // keeps the green within its max green (2 × the base green)
                        let shift = x % (p.stages[0].green_ds / 2);
                        p.stages[0].green_ds += shift;
                        p.stages[0].split_ds += shift;
                        p.cycle_ds += shift;
                        p.offset_ds = x % p.cycle_ds;
                        p.seq = x + 2;
                        cur_plan = Arc::new(p);
                        target = cur_plan.clone();
                    }
                    Act::Request(k) => {
                        target = Arc::new(EffPlan::request(&base.stages[k % n]));
                    }
                    Act::Release => target = cur_plan.clone(),
                }
                let until = if j == last {
                    // the last act: run long enough to reach the offset and check it
                    t + 10 * cur_plan.cycle_ds as Ds
                } else {
                    t + gap
                };
                while t < until {
                    t += 1;
                    r.advance_to(t, &mut |_| Target::Plan(target.clone()));
                    let g = r.green_mask();
                    let y = r.yellow_mask();
                    prop_assert!(m.check(g).is_ok(), "t={t}: {g:b}");
                    prop_assert_eq!(g & y, 0);
                    for i in 0..n {
                        let bit = 1u32 << i;
                        if g & bit != 0 && prev_green & bit == 0 {
                            green_since[i] = t;
                        }
                        if g & bit == 0 && prev_green & bit != 0 {
                            let len = t - green_since[i];
                            let st = &base.stages[i];
                            prop_assert!(len >= st.shortest_green_ds as Ds, "t={t} green of {len}");
                            if !r.plan().is_request() {
                                prop_assert!(len <= st.max_green_ds as Ds, "t={t} green of {len}");
                            }
                            prop_assert!(y & bit != 0, "t={t}: group {i} green to red");
                            yellow_since[i] = Some(t);
                        }
                        if let Some(ys) = yellow_since[i] {
                            if y & bit == 0 {
                                let st = &base.stages[i];
                                prop_assert_eq!(t - ys, st.yellow_ds as Ds, "t={} yellow", t);
                                prop_assert_eq!(g & bit, 0);
                                yellow_since[i] = None;
                                red_since_yellow[i] = Some((t, st.all_red_ds));
                            }
                        }
                        if let Some((rs, all_red)) = red_since_yellow[i] {
                            if t - rs < all_red as Ds {
                                prop_assert_eq!(g, 0, "t={} all-red", t);
                            } else {
                                red_since_yellow[i] = None;
                            }
                        }
                    }
                    prev_green = g;
                }
            }
            // in step with the last plan: its first stage's greens start at offset + k·cycle
            let cycle = cur_plan.cycle_ds as Ds;
            let mut starts = vec![];
            for _ in 0..3 * cycle {
                t += 1;
                let before = r.green_starts();
                r.advance_to(t, &mut |_| Target::Plan(cur_plan.clone()));
                if r.green_starts() != before && r.stage_index() == 0 {
                    starts.push(t);
                }
            }
            prop_assert!(starts.len() >= 2);
            for s in &starts {
                prop_assert_eq!(
                    (s + cycle - cur_plan.offset_ds as Ds) % cycle, 0,
                    "starts {:?}, plan {:?}, running {:?}", starts, cur_plan, r.plan()
                );
            }
        }
    }
}
