//! Smooth plan changes. A new plan is not jumped to: each cycle the running plan moves towards
//! it by bounded steps — the cycle by at most `max_cycle_step_s`, the offset by at most
//! `max_offset_step_s` along the shorter way round — so a coordinated corridor never loses its
//! band for more than a cycle and drivers see no abrupt long reds. The stage being shown keeps
//! its min green: that is enforced where plans are executed (see [`super::actuation`]).

use super::intersection::{fit_greens, green_bounds};
use roadnet::{RoadNet, SignalPlan};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransitionLimits {
    pub max_cycle_step_s: f64,
    pub max_offset_step_s: f64,
}

impl Default for TransitionLimits {
    fn default() -> Self {
        TransitionLimits {
            max_cycle_step_s: 10.0,
            max_offset_step_s: 15.0,
        }
    }
}

/// Signed shortest way round from `from` to `to` on a circle of `cycle_s`.
pub fn circular_diff_s(from_s: f64, to_s: f64, cycle_s: f64) -> f64 {
    let d = (to_s - from_s).rem_euclid(cycle_s);
    if d > cycle_s / 2.0 {
        d - cycle_s
    } else {
        d
    }
}

/// One bounded step from `current` towards `target` (same intersection). The result is
/// validated; if the intermediate plan cannot be made valid, `target` (already valid) is used.
pub fn step_towards(
    net: &RoadNet,
    current: &SignalPlan,
    target: &SignalPlan,
    lim: &TransitionLimits,
) -> SignalPlan {
    let dc = (target.cycle_s - current.cycle_s).clamp(-lim.max_cycle_step_s, lim.max_cycle_step_s);
    let cycle_s = current.cycle_s + dc;
    let stages: Vec<_> = target.stages.iter().map(|s| s.stage).collect();
    let change: f64 = stages.iter().map(|s| net.stage(*s).limits.change_s()).sum();
    let (lo, hi) = green_bounds(net, &stages);
    let total = cycle_s - change;
    let greens = if total >= lo.iter().sum::<f64>() - 1e-9 && total <= hi.iter().sum::<f64>() + 1e-9
    {
        let w: Vec<f64> = target.stages.iter().map(|s| s.green_s(net)).collect();
        fit_greens(&w, &lo, &hi, total)
    } else {
        return target.clone();
    };
    let splits = super::intersection::splits_for(net, &stages, &greens, cycle_s);
    let d = circular_diff_s(current.offset_s, target.offset_s, target.cycle_s)
        .clamp(-lim.max_offset_step_s, lim.max_offset_step_s);
    let mut offset_s = (current.offset_s + d).rem_euclid(cycle_s);
    if offset_s >= cycle_s {
        offset_s = 0.0;
    }
    let plan = SignalPlan {
        intersection: target.intersection,
        cycle_s,
        offset_s,
        stages: splits,
    };
    if plan.validate(net).is_ok() {
        plan
    } else {
        target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circular_difference_takes_the_short_way() {
        assert_eq!(circular_diff_s(10.0, 20.0, 100.0), 10.0);
        assert_eq!(circular_diff_s(10.0, 95.0, 100.0), -15.0);
        assert_eq!(circular_diff_s(90.0, 5.0, 100.0), 15.0);
    }
}
