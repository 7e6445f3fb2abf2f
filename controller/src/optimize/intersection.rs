//! Intersection timing from the live state: which stages to run (stage skipping), the cycle
//! (Webster within bounds) and the splits (flow-ratio proportional = equal degrees of
//! saturation, bounded by each stage's min/max green), with queue-aware gating.

use super::webster;
use crate::estimate::TrafficState;
use roadnet::{IntersectionId, MovementId, RoadId, RoadNet, SignalPlan, StageId, StageSplit};

/// Bounds and constants of intersection timing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimingParams {
    pub min_cycle_s: f64,
    pub max_cycle_s: f64,
    /// Start-up lost time per stage minus the use of the yellow ("end gain"), seconds, added to
    /// each stage's yellow + all-red to give Webster's lost time.
    pub extra_lost_per_stage_s: f64,
    /// Flow-ratio sum above which the junction is treated as saturated (Webster's formula blows
    /// up near 1; the cycle goes to its maximum).
    pub max_flow_ratio_sum: f64,
    /// A standing queue is added to the demand as if it arrived over this horizon, seconds, so a
    /// residual queue earns green in proportion to its size.
    pub queue_clear_horizon_s: f64,
    /// Fill share of an exit road above which its movement gets no demand (gating).
    pub full_road_share: f64,
    /// Road length one stopped vehicle takes, metres.
    pub jam_spacing_m: f64,
}

impl Default for TimingParams {
    fn default() -> Self {
        TimingParams {
            min_cycle_s: 40.0,
            max_cycle_s: 150.0,
            extra_lost_per_stage_s: 0.0,
            max_flow_ratio_sum: 0.92,
            queue_clear_horizon_s: 120.0,
            full_road_share: 0.9,
            jam_spacing_m: 7.5,
        }
    }
}

/// The demand one stage serves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageDemand {
    pub stage: StageId,
    /// Critical flow ratio (flow ÷ saturation flow of its busiest movement).
    pub flow_ratio: f64,
    /// Vehicles waiting for the stage's movements.
    pub queue_veh: f64,
}

/// Share of a road's length taken by vehicles (0 empty, 1 full).
pub fn road_fill(net: &RoadNet, state: &TrafficState, road: RoadId, jam_spacing_m: f64) -> f64 {
    let r = net.road(road);
    let mut fill = 0.0;
    let mut len = 0.0;
    for l in &r.lanes {
        let ls = state.lane(*l);
        fill += (ls.vehicles as f64).max(ls.queue_veh) * jam_spacing_m;
        len += net.lane(*l).length_m;
    }
    if len <= 0.0 {
        0.0
    } else {
        (fill / len).min(1.0)
    }
}

/// Movements green in every non-clearance stage (e.g. CityFlow's always-on right turns): they
/// need no time of their own.
fn always_served(net: &RoadNet, at: IntersectionId) -> Vec<MovementId> {
    let inter = net.intersection(at);
    let stages: Vec<_> = inter
        .stages
        .iter()
        .filter(|s| !net.stage(**s).clearance)
        .map(|s| net.stage_movements(*s))
        .collect();
    let Some(first) = stages.first() else {
        return Vec::new();
    };
    first
        .iter()
        .copied()
        .filter(|m| stages.iter().all(|s| s.contains(m)))
        .collect()
}

/// Per-movement flow ratio including the residual queue; zero when its exit is full.
fn movement_ratio(
    net: &RoadNet,
    state: &TrafficState,
    m: MovementId,
    p: &TimingParams,
) -> (f64, f64) {
    let ms = state.movement(m);
    let mv = net.movement(m);
    if road_fill(net, state, mv.to_road, p.jam_spacing_m) >= p.full_road_share {
        return (0.0, ms.queue_veh);
    }
    let sat = ms.saturation_veh_s.max(1e-3);
    let y = (ms.arrival_flow_veh_s + ms.queue_veh / p.queue_clear_horizon_s) / sat;
    (y, ms.queue_veh)
}

/// Demand of every non-clearance stage of an intersection, in base order. A movement served by
/// several stages counts in each (the stage selection below keeps just enough of them).
pub fn stage_demands(
    net: &RoadNet,
    at: IntersectionId,
    state: &TrafficState,
    p: &TimingParams,
) -> Vec<StageDemand> {
    let free = always_served(net, at);
    net.intersection(at)
        .stages
        .iter()
        .filter(|s| !net.stage(**s).clearance)
        .map(|s| {
            let mut y: f64 = 0.0;
            let mut q = 0.0;
            for m in net.stage_movements(*s) {
                if free.contains(&m) {
                    continue;
                }
                let (ym, qm) = movement_ratio(net, state, m, p);
                y = y.max(ym);
                q += qm;
            }
            StageDemand {
                stage: *s,
                flow_ratio: y,
                queue_veh: q,
            }
        })
        .collect()
}

/// Stage skipping: keep, in base order (base-plan stages only), each stage that serves a movement with demand not yet
/// served by a kept stage; then, since a plan may starve no movement (the validator refuses
/// it), each stage still needed to serve a movement without demand (it gets only its shortest
/// green, having no flow ratio). With no demand anywhere this is a plain cover of every
/// movement in base order.
pub fn select_stages(
    net: &RoadNet,
    at: IntersectionId,
    demands: &[StageDemand],
) -> Vec<StageDemand> {
    let demanded = |d: &StageDemand| d.flow_ratio > 1e-6 || d.queue_veh > 0.5;
    let mut covered: Vec<MovementId> = always_served(net, at);
    let mut keep = vec![false; demands.len()];
    for pass_demanded in [true, false] {
        for (k, d) in demands.iter().enumerate() {
            // stages outside the base plan belong to alternative sequences (lead-lag), which
            // the corridor planner builds itself
            if keep[k] || (pass_demanded && !demanded(d)) || !net.stage(d.stage).in_base_plan {
                continue;
            }
            let mvs = net.stage_movements(d.stage);
            if mvs.iter().any(|m| !covered.contains(m)) {
                covered.extend(mvs);
                keep[k] = true;
            }
        }
    }
    if !keep.iter().any(|k| *k) {
        if let Some(k) = demands
            .iter()
            .position(|d| net.stage(d.stage).in_base_plan)
            .and_then(|k| keep.get_mut(k))
        {
            *k = true;
        }
    }
    demands
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(d, _)| *d)
        .collect()
}

/// Fit greens to `total_green_s` in proportion to `weights`, each within `[lo, hi]`
/// (water-filling: clamp the violators, share the rest among the free stages, repeat).
/// The caller guarantees `Σlo ≤ total ≤ Σhi`; the result then lies within the bounds and sums
/// to the total.
pub fn fit_greens(weights: &[f64], lo: &[f64], hi: &[f64], total_green_s: f64) -> Vec<f64> {
    let n = weights.len();
    let mut g = vec![0.0; n];
    let mut fixed = vec![false; n];
    for _ in 0..=n {
        let rest: f64 = total_green_s - (0..n).filter(|&i| fixed[i]).map(|i| g[i]).sum::<f64>();
        let free: Vec<usize> = (0..n).filter(|&i| !fixed[i]).collect();
        if free.is_empty() {
            break;
        }
        let wsum: f64 = free.iter().map(|&i| weights[i].max(0.0)).sum();
        for &i in &free {
            g[i] = if wsum > 0.0 {
                rest * weights[i].max(0.0) / wsum
            } else {
                rest / free.len() as f64
            };
        }
        // Fix the side with the larger total violation first (the classic bounded
        // proportional allocation): fixing lows while the total sits near Σhi would push the
        // rest above their highs.
        let low: Vec<usize> = free.iter().copied().filter(|&i| g[i] < lo[i]).collect();
        let high: Vec<usize> = free.iter().copied().filter(|&i| g[i] > hi[i]).collect();
        let low_gap: f64 = low.iter().map(|&i| lo[i] - g[i]).sum();
        let high_gap: f64 = high.iter().map(|&i| g[i] - hi[i]).sum();
        let changed = !low.is_empty() || !high.is_empty();
        if low_gap >= high_gap {
            for &i in &low {
                g[i] = lo[i];
                fixed[i] = true;
            }
        } else {
            for &i in &high {
                g[i] = hi[i];
                fixed[i] = true;
            }
        }
        if !changed {
            break;
        }
    }
    g
}

/// Each stage's green range, the one rule [`roadnet::StageLimits::green_bounds_s`]: (lower
/// bounds, upper bounds), seconds, in the order of `stages`.
pub fn green_bounds(net: &RoadNet, stages: &[StageId]) -> (Vec<f64>, Vec<f64>) {
    stages
        .iter()
        .map(|s| net.stage(*s).limits.green_bounds_s())
        .unzip()
}

/// Yellow + all-red of every stage of a set, seconds.
fn change_sum_s(net: &RoadNet, stages: &[StageId]) -> f64 {
    stages.iter().map(|s| net.stage(*s).limits.change_s()).sum()
}

/// The feasible cycle range of a stage set: from all minimum splits to all maximum greens.
pub fn cycle_range_s(net: &RoadNet, stages: &[StageId], p: &TimingParams) -> (f64, f64) {
    let (lo, hi) = green_bounds(net, stages);
    let change = change_sum_s(net, stages);
    let min_sum = lo.iter().sum::<f64>() + change;
    let max_sum = hi.iter().sum::<f64>() + change;
    let lo = p.min_cycle_s.max(min_sum).min(max_sum);
    let hi = p.max_cycle_s.min(max_sum).max(lo);
    (lo, hi)
}

/// Webster's cycle for the selected stages, clamped to the feasible range and rounded up to a
/// whole second (field controllers and engineers think in whole seconds).
pub fn webster_cycle_s(net: &RoadNet, selected: &[StageDemand], p: &TimingParams) -> f64 {
    let stages: Vec<StageId> = selected.iter().map(|d| d.stage).collect();
    let (lo, hi) = cycle_range_s(net, &stages, p);
    let lost: f64 = stages
        .iter()
        .map(|s| net.stage(*s).limits.change_s() + p.extra_lost_per_stage_s)
        .sum();
    let y: f64 = selected.iter().map(|d| d.flow_ratio).sum();
    let c = if y >= p.max_flow_ratio_sum {
        hi
    } else {
        webster::optimum_cycle_s(lost, y).unwrap_or(hi)
    };
    let c = c.ceil().clamp(lo, hi);
    if c > hi {
        hi
    } else {
        c
    }
}

/// Splits of the selected stages for a cycle (clamped to the feasible range) in proportion to
/// the stages' flow ratios.
pub fn plan_for_cycle(
    net: &RoadNet,
    at: IntersectionId,
    selected: &[StageDemand],
    cycle_s: f64,
    offset_s: f64,
    p: &TimingParams,
) -> SignalPlan {
    let stages: Vec<StageId> = selected.iter().map(|d| d.stage).collect();
    let (lo_c, hi_c) = cycle_range_s(net, &stages, p);
    // a cycle outside the range of this stage set is pulled in (uncoordinated fallback)
    let cycle_s = cycle_s.clamp(lo_c, hi_c.max(lo_c));
    let change = change_sum_s(net, &stages);
    let (lo, hi) = green_bounds(net, &stages);
    let w: Vec<f64> = selected.iter().map(|d| d.flow_ratio).collect();
    let greens = fit_greens(&w, &lo, &hi, cycle_s - change);
    let splits = splits_for(net, &stages, &greens, cycle_s);
    SignalPlan {
        intersection: at,
        cycle_s,
        offset_s: offset_s.rem_euclid(cycle_s),
        stages: splits,
    }
}

/// Splits from greens (each plus its stage's yellow and all-red), with rounding absorbed into the
/// largest split so they add up to the cycle exactly.
pub fn splits_for(
    net: &RoadNet,
    stages: &[StageId],
    greens: &[f64],
    cycle_s: f64,
) -> Vec<StageSplit> {
    let mut splits: Vec<StageSplit> = stages
        .iter()
        .zip(greens)
        .map(|(s, g)| StageSplit {
            stage: *s,
            split_s: g + net.stage(*s).limits.change_s(),
        })
        .collect();
    let sum: f64 = splits.iter().map(|s| s.split_s).sum();
    if let Some(big) = splits
        .iter_mut()
        .max_by(|a, b| a.split_s.total_cmp(&b.split_s))
    {
        big.split_s += cycle_s - sum;
    }
    splits
}

/// The whole intersection layer: demands → stage selection → Webster cycle → balanced splits.
pub fn plan_intersection(
    net: &RoadNet,
    at: IntersectionId,
    state: &TrafficState,
    p: &TimingParams,
) -> SignalPlan {
    let demands = stage_demands(net, at, state, p);
    let selected = select_stages(net, at, &demands);
    let c = webster_cycle_s(net, &selected, p);
    plan_for_cycle(net, at, &selected, c, 0.0, p)
}

/// A lead-lag stage sequence (NEMA dual ring on the arterial): `through` serves both arterial
/// throughs; `lag` runs right after it (one through running on with its own protected left),
/// then the `rest` of the plan (the side street), then `lead` (the other through with its
/// left), which runs on into `through` at the next cycle. Each through is green over two
/// stages — its own left's and the shared one — where a lefts-together stage would cut it.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadLag {
    pub through: StageId,
    pub lag: StageId,
    pub rest: Vec<StageDemand>,
    pub lead: StageId,
}

impl LeadLag {
    /// The plan's stage order: `through` first (the coordinated stage, as in every plan the
    /// planners build), `lag`, the rest, `lead`.
    pub fn stages(&self) -> Vec<StageId> {
        let mut v = vec![self.through, self.lag];
        v.extend(self.rest.iter().map(|d| d.stage));
        v.push(self.lead);
        v
    }
}

/// Greens of a [`LeadLag`] sequence at `cycle_s`, in [`LeadLag::stages`] order: the arterial
/// barrier (lead + through + lag) shares the cycle with the rest in proportion to its
/// critical flow ratio, the larger ring sum
/// `max(y_lead left + y_lag through, y_lead through + y_lag left)`; within it each left gets its ring's share (equal degrees of saturation on
/// each ring: ring A runs the lead left then the lag through, ring B the lead through then
/// the lag left), the through stage the rest; everything within the stages' green bounds.
/// The cycle is pulled into the sequence's feasible range.
pub fn lead_lag_plan(
    net: &RoadNet,
    at: IntersectionId,
    state: &TrafficState,
    ll: &LeadLag,
    cycle_s: f64,
    offset_s: f64,
    p: &TimingParams,
) -> SignalPlan {
    let free = always_served(net, at);
    let through_mvs = net.stage_movements(ll.through);
    let ratio = |stage: StageId, shared: bool| -> f64 {
        net.stage_movements(stage)
            .into_iter()
            .filter(|m| !free.contains(m) && through_mvs.contains(m) == shared)
            .map(|m| movement_ratio(net, state, m, p).0)
            .fold(0.0, f64::max)
    };
    let (lead_left, lead_thr) = (ratio(ll.lead, false), ratio(ll.lead, true));
    let (lag_left, lag_thr) = (ratio(ll.lag, false), ratio(ll.lag, true));
    let stages = ll.stages();
    let (lo_c, hi_c) = cycle_range_s(net, &stages, p);
    let cycle_s = cycle_s.clamp(lo_c, hi_c.max(lo_c));
    let change = change_sum_s(net, &stages);
    let (lo, hi) = green_bounds(net, &stages);
    let n = stages.len();
    // the arterial barrier as one unit against the rest
    let main = [0, 1, n - 1];
    let sum_at = |v: &[f64]| main.iter().map(|&i| v[i]).sum::<f64>();
    let mut w = vec![(lead_left + lag_thr).max(lead_thr + lag_left)];
    let mut unit_lo = vec![sum_at(&lo)];
    let mut unit_hi = vec![sum_at(&hi)];
    for (k, d) in ll.rest.iter().enumerate() {
        w.push(d.flow_ratio);
        unit_lo.push(lo[2 + k]);
        unit_hi.push(hi[2 + k]);
    }
    let units = fit_greens(&w, &unit_lo, &unit_hi, cycle_s - change);
    let main_g = units[0];
    let (c_through, c_lead) = (
        net.stage(ll.through).limits.change_s(),
        net.stage(ll.lead).limits.change_s(),
    );
    let share = |y: f64, other: f64| {
        if y + other > 0.0 {
            y / (y + other)
        } else {
            0.0
        }
    };
    let g_lead = (main_g + c_through) * share(lead_left, lag_thr);
    let g_lag = (main_g + c_lead) * share(lag_left, lead_thr);
    let target = [(main_g - g_lead - g_lag).max(0.0), g_lag, g_lead];
    let fitted = fit_greens(&target, &main.map(|i| lo[i]), &main.map(|i| hi[i]), main_g);
    let mut greens = vec![0.0; n];
    for (j, &i) in main.iter().enumerate() {
        greens[i] = fitted[j];
    }
    let r = ll.rest.len();
    greens[2..2 + r].copy_from_slice(&units[1..1 + r]);
    SignalPlan {
        intersection: at,
        cycle_s,
        offset_s: offset_s.rem_euclid(cycle_s),
        stages: splits_for(net, &stages, &greens, cycle_s),
    }
}
