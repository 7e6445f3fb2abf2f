//! In-cycle actuation that keeps coordination (NTCIP-style coordinated-actuated operation).
//!
//! The plan fixes, for every stage, a *force-off*: the end of its green in the cycle. Inside
//! that frame the executor
//! - **terminates early** (gaps out) a stage once its min green is served, nothing is queued or
//!   approaching on its lanes, and another stage has a call — the unused time rolls forward to
//!   the next stages and finally to the coordinated stage (early return to green);
//! - **skips** a stage that has no call when its turn comes (never the coordinated stage);
//! - **never extends** a stage beyond its force-off, except to finish its min green, so the
//!   coordinated stage starts no later than planned and the band survives.

use roadnet::{RoadNet, SignalPlan, StageId};

/// The executor's memory for one intersection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinated {
    /// Index into the plan's stages of the stage showing (or being changed to).
    pub current: usize,
    /// Absolute time the current stage must end its green, seconds.
    pub force_off_s: f64,
}

/// What the stages are asking for right now.
#[derive(Clone, Debug, PartialEq)]
pub struct Calls {
    /// Per plan stage: whether vehicles wait for it (a call).
    pub waiting: Vec<bool>,
    /// Whether the current stage still discharges a queue or has vehicles about to arrive.
    pub current_active: bool,
}

/// The absolute time the green of plan stage `k` ends in the cycle that `t_s` is nearest to
/// being inside of: if `t_s` is before the stage's green end of this cycle (or at most half the
/// rest of the cycle past it), that end; later than that, the next cycle's.
pub fn force_off_after_s(net: &RoadNet, plan: &SignalPlan, k: usize, t_s: f64) -> f64 {
    let start_in_cycle: f64 = plan.stages[..k].iter().map(|s| s.split_s).sum();
    let green_end_in_cycle = start_in_cycle + plan.stages[k].green_s(net);
    let cycle_start = t_s - (t_s - plan.offset_s).rem_euclid(plan.cycle_s);
    let mut end = cycle_start + green_end_in_cycle;
    // late for this cycle's window by more than the rest of the cycle's slack → next cycle
    while end < t_s - (plan.cycle_s - plan.stages[k].split_s) / 2.0 {
        end += plan.cycle_s;
    }
    while end - plan.cycle_s >= t_s {
        end -= plan.cycle_s;
    }
    end
}

impl Coordinated {
    /// Start executing `plan` at `t_s` while plan stage `current` is green.
    pub fn start(net: &RoadNet, plan: &SignalPlan, current: usize, t_s: f64) -> Self {
        Coordinated {
            current,
            force_off_s: force_off_after_s(net, plan, current, t_s),
        }
    }

    /// Decide at `t_s`, with the current stage green for `green_elapsed_s`. Returns the stage to
    /// switch to, or `None` to hold.
    pub fn decide(
        &mut self,
        net: &RoadNet,
        plan: &SignalPlan,
        t_s: f64,
        green_elapsed_s: f64,
        calls: &Calls,
    ) -> Option<StageId> {
        let n = plan.stages.len();
        if self.current >= n {
            self.current = 0;
        }
        let min_green = net
            .stage(plan.stages[self.current].stage)
            .limits
            .shortest_green_s();
        if green_elapsed_s + 1e-9 < min_green {
            return None;
        }
        let others_call = (0..n).any(|k| k != self.current && calls.waiting.get(k) == Some(&true));
        let forced = t_s + 1e-9 >= self.force_off_s;
        // the coordinated stage (index 0) holds to its force-off: the band runs through it
        let gap_out = self.current != 0 && !calls.current_active && others_call;
        if !(forced || gap_out) {
            return None;
        }
        // next stage in sequence with a call; the coordinated stage is always called
        let mut next = (self.current + 1) % n;
        while next != 0 && calls.waiting.get(next) != Some(&true) {
            next = (next + 1) % n;
        }
        if next == self.current {
            // alone in the plan: keep it and move its force-off to the next cycle
            self.force_off_s += plan.cycle_s;
            return None;
        }
        let change = net.stage(plan.stages[self.current].stage).limits.change_s();
        self.current = next;
        self.force_off_s = force_off_after_s(net, plan, next, t_s + change);
        Some(plan.stages[next].stage)
    }
}
