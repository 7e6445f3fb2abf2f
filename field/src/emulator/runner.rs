//! The field controller's signal timing engine: runs a cyclic plan stage by stage on integer
//! deciseconds, changes plans only at stage boundaries (after the full yellow and all-red of the
//! stage being left), never cuts a green below its shortest green, and walks toward a new
//! plan's offset in bounded steps. Pure: time comes in through [`Runner::advance_to`].

use super::clock::Ds;
use crate::protocol::codec::{indications_from_masks, CodecError, PlanRegisters};
use roadnet::{Indication, IntersectionId, RoadNet, StageId};
use std::sync::Arc;

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

/// A plan ready to run: either the local plan (`seq` 0) or an accepted central plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffPlan {
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

    /// The local (fallback) plan: [`controller::baseline::base_plan`], the same plan the simulator
    /// runs as `native`, so a field controller on its own plan runs in step with it.
    pub fn local(net: &RoadNet, id: IntersectionId) -> Result<EffPlan, CodecError> {
        let plan = controller::baseline::base_plan(net, id);
        let regs = PlanRegisters::from_plan(net, 0, &plan)?;
        // the declared limits are the network's own, so there is no tighter max green to apply
        Ok(EffPlan::from_accepted(&regs, &[]))
    }

    /// The plan to run from accepted registers: declared timings (already checked to be no
    /// weaker than the field's own), max green the tighter of declared and own.
    pub fn from_accepted(regs: &PlanRegisters, own_max_green_ds: &[u32]) -> EffPlan {
        let stages = regs
            .stages
            .iter()
            .map(|b| {
                let yellow = b.yellow_ds as u32;
                let all_red = b.all_red_ds as u32;
                let shortest =
                    (b.min_green_ds as u32).max(b.ped_walk_ds as u32 + b.ped_clearance_ds as u32);
                let own_max = own_max_green_ds
                    .get(b.number as usize - 1)
                    .copied()
                    .unwrap_or(u32::MAX);
                EffStage {
                    number: b.number,
                    groups_mask: b.groups_mask,
                    split_ds: b.split_ds as u32,
                    green_ds: (b.split_ds as u32).saturating_sub(yellow + all_red),
                    shortest_green_ds: shortest,
                    max_green_ds: (b.max_green_ds as u32).min(own_max).max(shortest),
                    yellow_ds: yellow,
                    all_red_ds: all_red,
                }
            })
            .collect();
        EffPlan {
            seq: regs.seq,
            cycle_ds: regs.cycle_ds as u32,
            offset_ds: regs.offset_ds as u32,
            stages,
        }
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

/// What the emulator wants the lamps to run next, evaluated at a stage boundary.
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
    AllRed,
    Flash,
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
    next: Option<Next>,
    transition: bool,
    green_mask: u32,
    yellow_mask: u32,
    conflicts: ConflictMatrix,
    conflict_faults: u32,
    /// A plan that tried to show a conflict: flash stays on while it is the target.
    faulted: Option<Arc<EffPlan>>,
    green_starts: u64,
}

/// Sequence number of the one-stage plans the field builds for central stage requests: they run
/// without offset correction (there is no cycle to keep).
pub const REQUEST_SEQ: u32 = u32::MAX;

/// Largest share of a stage's green that one offset-correction step may add or remove (1/3).
pub const TRANSITION_STEP_DIVISOR: u32 = 3;

impl Runner {
    /// Start at `t` with an all-red start-up interval, then stage 1 of `plan`.
    pub fn new(plan: Arc<EffPlan>, conflicts: ConflictMatrix, t: Ds) -> Runner {
        let all_red = plan.stages.iter().map(|s| s.all_red_ds).max().unwrap_or(20);
        let mut r = Runner {
            plan: plan.clone(),
            k: 0,
            phase: Phase::AllRed,
            phase_start: t,
            stage_start: t,
            phase_end: t,
            next: Some(Next {
                plan: Some(plan),
                k: 0,
            }),
            transition: false,
            green_mask: 0,
            yellow_mask: 0,
            conflicts,
            conflict_faults: 0,
            faulted: None,
            green_starts: 0,
        };
        r.phase_end = t + all_red as Ds;
        r
    }

    fn next_event(&self) -> Option<Ds> {
        match self.phase {
            Phase::Flash => None,
            _ => Some(self.phase_end),
        }
    }

    /// Run the lamps up to time `now`. `target_at(t)` says what should run after a stage that
    /// ends at `t`.
    pub fn advance_to(&mut self, now: Ds, target_at: &mut dyn FnMut(Ds) -> Target) {
        while let Some(t) = self.next_event() {
            if t > now {
                break;
            }
            self.fire(t, target_at);
        }
        if self.phase == Phase::Flash {
            if let Target::Plan(p) = target_at(now) {
                if self.faulted.as_ref().is_some_and(|f| **f == *p) {
                    return;
                }
                // leave flash through an all-red start-up interval
                let all_red = p.stages.iter().map(|s| s.all_red_ds).max().unwrap_or(20);
                self.plan = p.clone();
                self.k = 0;
                self.phase = Phase::AllRed;
                self.phase_start = now;
                self.stage_start = now;
                self.phase_end = now + all_red as Ds;
                self.green_mask = 0;
                self.yellow_mask = 0;
                self.next = Some(Next {
                    plan: Some(p),
                    k: 0,
                });
                self.advance_to(now, target_at);
            }
        }
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
                let next_mask = next
                    .plan
                    .as_ref()
                    .map(|p| p.stages[next.k].groups_mask)
                    .unwrap_or(0);
                let retained = cur.groups_mask & next_mask;
                self.yellow_mask = cur.groups_mask & !retained;
                self.green_mask = retained;
                self.phase = Phase::Yellow;
                self.phase_start = t;
                self.phase_end = t + cur.yellow_ds as Ds;
                self.next = Some(next);
            }
            Phase::Yellow => {
                self.yellow_mask = 0;
                self.phase = Phase::AllRed;
                self.phase_start = t;
                self.phase_end = t + self.plan.stages[self.k].all_red_ds as Ds;
            }
            Phase::AllRed => {
                let next = self.next.take().unwrap_or(Next {
                    plan: Some(self.plan.clone()),
                    k: 0,
                });
                match next.plan {
                    None => {
                        self.phase = Phase::Flash;
                        self.phase_start = t;
                        self.stage_start = t;
                        self.green_mask = 0;
                        self.yellow_mask = 0;
                    }
                    Some(p) => self.start_green(p, next.k, t),
                }
            }
            Phase::Flash => {}
        }
    }

    fn start_green(&mut self, plan: Arc<EffPlan>, k: usize, t: Ds) {
        let st = &plan.stages[k];
        let cycle = plan.cycle_ds.max(1) as i64;
        let desired = (t as i64 - plan.offset_ds as i64).rem_euclid(cycle);
        let nominal = plan.nominal_start_ds(k) as i64;
        let mut diff = (desired - nominal).rem_euclid(cycle);
        if diff > cycle / 2 {
            diff -= cycle;
        }
        if plan.seq == REQUEST_SEQ {
            diff = 0;
        }
        let cap = (st.green_ds / TRANSITION_STEP_DIVISOR) as i64;
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
        self.transition = diff != 0;
        self.green_mask = st.groups_mask;
        self.yellow_mask = 0;
        if self.conflicts.check(self.green_mask).is_err() {
            // Defence in depth: an accepted plan never gets here. Go dark-safe: flash.
            self.conflict_faults += 1;
            self.faulted = Some(plan.clone());
            self.green_mask = 0;
            self.phase = Phase::Flash;
            self.phase_start = t;
            self.stage_start = t;
            self.plan = plan;
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

    pub fn plan(&self) -> &Arc<EffPlan> {
        &self.plan
    }

    /// A central force-off: end the current green as soon as its shortest green has been
    /// shown (never earlier), so the next target starts after the change interval.
    pub fn force_off(&mut self, now: Ds) {
        if self.phase == Phase::Green {
            let earliest = self.stage_start + self.plan.stages[self.k].shortest_green_ds as Ds;
            self.phase_end = self.phase_end.min(now.max(earliest));
        }
    }

    /// A central hold: keep the current green up to its max green.
    pub fn hold(&mut self) {
        if self.phase == Phase::Green {
            let st = &self.plan.stages[self.k];
            let latest = self.stage_start + st.max_green_ds.max(st.shortest_green_ds) as Ds;
            self.phase_end = self.phase_end.max(latest);
        }
    }
    pub fn phase(&self) -> Phase {
        self.phase
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
    pub fn in_transition(&self) -> bool {
        self.transition
    }
    pub fn green_mask(&self) -> u32 {
        self.green_mask
    }
    pub fn yellow_mask(&self) -> u32 {
        self.yellow_mask
    }
    pub fn conflict_faults(&self) -> u32 {
        self.conflict_faults
    }
    /// Number of greens started so far (stage boundaries passed).
    pub fn green_starts(&self) -> u64 {
        self.green_starts
    }
    /// Whether a plan other than the running one waits for the next boundary.
    pub fn pending_plan(&self) -> Option<&Arc<EffPlan>> {
        self.next
            .as_ref()
            .and_then(|n| n.plan.as_ref())
            .filter(|p| ***p != *self.plan)
    }

    /// One indication per signal group (in the intersection's order); `permissive[i]` says
    /// whether group i shows `g` rather than `G`.
    pub fn indications(&self, permissive: &[bool]) -> Vec<Indication> {
        indications_from_masks(self.green_mask, self.yellow_mask, permissive)
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
        ConflictMatrix {
            rows: vec![0b10, 0b01],
        }
    }

    #[test]
    fn runs_the_cycle_with_full_change_intervals() {
        let p = plan(0, 0);
        let mut r = Runner::new(p.clone(), matrix(), 0);
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
        assert!(yellow_seen > 0);
    }

    #[test]
    fn walks_to_a_new_offset_in_bounded_steps_and_never_cuts_the_shortest_green() {
        let a = plan(0, 0);
        let b = plan(7, 250);
        let mut r = Runner::new(a.clone(), matrix(), 0);
        r.advance_to(1000, &mut |_| Target::Plan(a.clone()));
        let mut green_since: Option<Ds> = None;
        let mut in_step_at = None;
        for t in 1000..6000 {
            r.advance_to(t, &mut |_| Target::Plan(b.clone()));
            if r.phase() == Phase::Green {
                green_since.get_or_insert(t);
            } else if let Some(s) = green_since.take() {
                assert!(t - s >= 70, "green of {} ds", t - s);
            }
            if r.plan().seq == 7 && !r.in_transition() && in_step_at.is_none() {
                in_step_at = Some(t);
            }
        }
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
        for s in starts {
            assert_eq!((s + cycle - 250) % cycle, 0);
        }
    }

    #[test]
    fn flash_and_back() {
        let p = plan(0, 0);
        let mut r = Runner::new(p.clone(), matrix(), 0);
        r.advance_to(100, &mut |_| Target::Plan(p.clone()));
        r.advance_to(1000, &mut |_| Target::Flash);
        assert_eq!(r.phase(), Phase::Flash);
        assert_eq!(r.green_mask(), 0);
        r.advance_to(1001, &mut |_| Target::Plan(p.clone()));
        assert_eq!(r.phase(), Phase::AllRed);
        r.advance_to(1100, &mut |_| Target::Plan(p.clone()));
        assert_ne!(r.phase(), Phase::Flash);
    }

    #[test]
    fn a_conflicting_stage_never_shows_green() {
        let mut p = (*plan(0, 0)).clone();
        p.stages[1].groups_mask = 0b11;
        let p = Arc::new(p);
        let mut r = Runner::new(p.clone(), matrix(), 0);
        for t in 0..1000 {
            r.advance_to(t, &mut |_| Target::Plan(p.clone()));
            assert!(matrix().check(r.green_mask()).is_ok());
        }
        assert_eq!(r.conflict_faults(), 1);
        assert_eq!(r.phase(), Phase::Flash);
    }
}
