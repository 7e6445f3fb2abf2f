//! Corridor coordination: one common cycle for the corridor's intersections and offsets that
//! maximise the two-way green band `b_out + k·b_in` exactly, by the MAXBAND mixed-integer
//! program of [`super::maxband`] (the cycle is one of its variables). Plans come from the
//! Webster/HCM splits of the demand; the program sees each intersection's longest through
//! green per direction, and the offsets it returns are re-evaluated here with [`bands`] on
//! the real green windows (every window, merged), which is what the plan reports.

use super::intersection::{self, LeadLag, StageDemand, TimingParams};
use super::maxband::{self, MaxbandProblem, MaxbandSequence, MaxbandSignal};
use crate::estimate::TrafficState;
use roadnet::geometry::polyline_length;
use roadnet::{Corridor, IntersectionId, MovementId, RoadNet, SignalPlan, TurnKind};

/// Corridor tuning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorridorParams {
    pub timing: TimingParams,
    /// Weight of the inbound band against the outbound one; `None` = ratio of the directions'
    /// through flows (MAXBAND's `k`), 1 when unknown.
    pub inbound_weight: Option<f64>,
    /// How far above the Webster cycle the common cycle may go to buy band, seconds.
    pub cycle_search_s: f64,
    /// Progression speed range per link as factors of the corridor's design speed (MAXBAND's
    /// per-link speed variables), the top capped at the lowest speed limit along the
    /// corridor. The default keeps the design speed: with [`CorridorParams::speed_range`]'s
    /// ±10 % the band optimizer prefers a cycle near Webster's (74 s on the Main Street PM
    /// peak instead of 100 s), and the `tod` day with it as the default ended in gridlock
    /// (13,856 of 60,870 trips completed; 60,841 at the design speed, see docs/corridor.md),
    /// so the wider range is opt-in until the cycle choice weighs capacity.
    pub speed_factor_min: f64,
    pub speed_factor_max: f64,
    /// Largest change of inverse progression speed between consecutive links, s/m (MAXBAND's
    /// speed-change limit).
    pub max_inverse_speed_change_s_m: Option<f64>,
}

impl Default for CorridorParams {
    fn default() -> Self {
        CorridorParams {
            timing: TimingParams::default(),
            inbound_weight: None,
            cycle_search_s: 30.0,
            speed_factor_min: 1.0,
            speed_factor_max: 1.0,
            max_inverse_speed_change_s_m: None,
        }
    }
}

impl CorridorParams {
    /// The defaults with a per-link progression speed range of 0.9–1.1 × the design speed (what
    /// an arterial's platoons actually run) and a speed-change limit of 0.008 s/m between
    /// consecutive links (about 10 % at 12.5 m/s, so no link asks a platoon to change speed
    /// abruptly).
    pub fn speed_range() -> Self {
        CorridorParams {
            speed_factor_min: 0.9,
            speed_factor_max: 1.1,
            max_inverse_speed_change_s_m: Some(0.008),
            ..CorridorParams::default()
        }
    }
}

/// A green interval within the cycle, relative to the plan's cycle start (offset not applied).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Window {
    pub start_s: f64,
    pub green_s: f64,
    /// Yellow shown right after the window's green.
    pub yellow_s: f64,
}

/// The result of corridor planning.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CorridorPlan {
    pub corridor: String,
    pub intersections: Vec<IntersectionId>,
    pub names: Vec<String>,
    pub cycle_s: f64,
    pub plans: Vec<SignalPlan>,
    /// Distance of each intersection from the first along the corridor, metres.
    pub positions_m: Vec<f64>,
    pub design_speed_m_s: f64,
    /// Green windows of the corridor's through movements, per intersection.
    pub outbound_windows: Vec<Vec<Window>>,
    pub inbound_windows: Vec<Vec<Window>>,
    /// Band widths, seconds.
    pub band_out_s: f64,
    pub band_in_s: f64,
    /// Band efficiency: band ÷ cycle, per direction.
    pub band_out_efficiency: f64,
    pub band_in_efficiency: f64,
    /// Where the bands start: time (mod cycle) the outbound band passes the first intersection
    /// and the inbound band passes the last.
    pub band_out_start_s: f64,
    pub band_in_start_s: f64,
    pub inbound_weight: f64,
    /// Total wait of the leading vehicles of platoons released at each green start, seconds.
    pub platoon_delay_s: f64,
}

/// The progression speed range of a corridor, m/s: the design speed times the parameters'
/// factors, the top capped at the lowest speed limit of the corridor's roads (both ways), the
/// bottom never above the top.
pub fn speed_range_m_s(net: &RoadNet, c: &Corridor, p: &CorridorParams) -> (f64, f64) {
    let v = c.design_speed_m_s.max(0.1);
    let limit_m_s = c
        .intersections
        .windows(2)
        .flat_map(|w| [net.road_between(w[0], w[1]), net.road_between(w[1], w[0])])
        .flatten()
        .flat_map(|r| {
            net.road(r)
                .lanes
                .iter()
                .map(|l| net.lane(*l).speed_limit_m_s)
        })
        .fold(f64::INFINITY, f64::min);
    let hi = (v * p.speed_factor_max.max(p.speed_factor_min)).min(limit_m_s);
    let lo = (v * p.speed_factor_min.min(p.speed_factor_max)).min(hi);
    (lo, hi)
}

/// Positions along the corridor from the roads' centre lines.
pub fn positions_m(net: &RoadNet, c: &Corridor) -> Vec<f64> {
    let mut x = vec![0.0];
    for w in c.intersections.windows(2) {
        let d = net
            .road_between(w[0], w[1])
            .map(|r| polyline_length(&net.road(r).points))
            .unwrap_or_else(|| {
                net.intersection(w[0])
                    .point
                    .distance(net.intersection(w[1]).point)
            });
        x.push(x.last().copied().unwrap_or(0.0) + d);
    }
    x
}

/// The through movements that carry the corridor's traffic at intersection `k` in one direction
/// (outbound = along the corridor's order).
pub fn direction_movements(
    net: &RoadNet,
    c: &Corridor,
    k: usize,
    outbound: bool,
) -> Vec<MovementId> {
    let ids = &c.intersections;
    let at = ids[k];
    let (prev, next) = if outbound {
        (k.checked_sub(1).map(|j| ids[j]), ids.get(k + 1).copied())
    } else {
        (ids.get(k + 1).copied(), k.checked_sub(1).map(|j| ids[j]))
    };
    let from = prev.and_then(|p| net.road_between(p, at));
    let to = next.and_then(|n| net.road_between(at, n));
    let mut v: Vec<MovementId> = net
        .intersection(at)
        .movements
        .iter()
        .copied()
        .filter(|m| {
            let mv = net.movement(*m);
            match (from, to) {
                (Some(f), Some(t)) => mv.from_road == f && mv.to_road == t,
                (Some(f), None) => mv.from_road == f && mv.turn == TurnKind::Through,
                (None, Some(t)) => mv.to_road == t && mv.turn == TurnKind::Through,
                (None, None) => false,
            }
        })
        .collect();
    v.sort();
    v
}

/// Green windows (relative to the cycle start) in which a plan serves any of `movements`;
/// consecutive serving stages merge into one window (the change between them keeps the
/// movement green only when both serve it, which is what stage_movements says).
pub fn green_windows(net: &RoadNet, plan: &SignalPlan, movements: &[MovementId]) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    let mut t = 0.0;
    let mut prev_served = false;
    for s in &plan.stages {
        let served = net
            .stage_movements(s.stage)
            .iter()
            .any(|m| movements.contains(m));
        let green = s.green_s(net);
        let yellow_s = net.stage(s.stage).limits.yellow_s;
        if served {
            match out.last_mut() {
                // the movement stays green through the change into the next serving stage
                Some(w) if prev_served => {
                    w.green_s = t + green - w.start_s;
                    w.yellow_s = yellow_s;
                }
                _ => out.push(Window {
                    start_s: t,
                    green_s: green,
                    yellow_s,
                }),
            }
        }
        prev_served = served;
        t += s.split_s;
    }
    // a window at the end that continues into the first stage of the next cycle
    if out.len() > 1 && prev_served && out[0].start_s == 0.0 {
        let first = out.remove(0);
        if let Some(last) = out.last_mut() {
            last.green_s = plan.cycle_s - last.start_s + first.green_s;
        }
    }
    out
}

/// Sorted, disjoint arcs `[a, b)` within `[0, cycle)`.
type Arcs = Vec<(f64, f64)>;

fn arcs_of(windows: &[Window], shift_s: f64, cycle_s: f64) -> Arcs {
    let mut v = Vec::with_capacity(windows.len() + 1);
    for w in windows {
        if w.green_s >= cycle_s {
            return vec![(0.0, cycle_s)];
        }
        let a = (w.start_s + shift_s).rem_euclid(cycle_s);
        let b = a + w.green_s;
        if b <= cycle_s {
            v.push((a, b));
        } else {
            v.push((a, cycle_s));
            v.push((0.0, b - cycle_s));
        }
    }
    v.sort_by(|x, y| x.0.total_cmp(&y.0));
    v
}

fn intersect(a: &Arcs, b: &Arcs) -> Arcs {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if hi > lo + 1e-9 {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Longest arc (joining across the cycle boundary) and where it starts.
fn longest(arcs: &Arcs, cycle_s: f64) -> (f64, f64) {
    if arcs.is_empty() {
        return (0.0, 0.0);
    }
    let mut best = (0.0, 0.0);
    for &(a, b) in arcs {
        if b - a > best.0 {
            best = (b - a, a);
        }
    }
    let (first, last) = (arcs[0], arcs[arcs.len() - 1]);
    if arcs.len() > 1 && first.0 <= 1e-9 && last.1 >= cycle_s - 1e-9 {
        let joined = (last.1 - last.0) + (first.1 - first.0);
        if joined > best.0 {
            best = (joined, last.0);
        }
    }
    (best.0.min(cycle_s), best.1)
}

/// Green windows and travel times: what [`bands`] evaluates offsets against.
#[derive(Clone, Debug)]
pub struct BandProblem {
    pub cycle_s: f64,
    pub out_windows: Vec<Vec<Window>>,
    pub in_windows: Vec<Vec<Window>>,
    /// Travel time from the first intersection to each one (outbound), seconds.
    pub t_out_s: Vec<f64>,
    /// Travel time from the last intersection to each one (inbound), seconds.
    pub t_in_s: Vec<f64>,
    pub inbound_weight: f64,
}

/// Band widths and starts for given offsets: (out, out start, in, in start).
pub fn bands(p: &BandProblem, offsets_s: &[f64]) -> (f64, f64, f64, f64) {
    let mut out: Arcs = vec![(0.0, p.cycle_s)];
    let mut inn: Arcs = vec![(0.0, p.cycle_s)];
    for (i, o) in offsets_s.iter().enumerate() {
        out = intersect(
            &out,
            &arcs_of(&p.out_windows[i], o - p.t_out_s[i], p.cycle_s),
        );
        inn = intersect(&inn, &arcs_of(&p.in_windows[i], o - p.t_in_s[i], p.cycle_s));
    }
    let (bo, so) = longest(&out, p.cycle_s);
    let (bi, si) = longest(&inn, p.cycle_s);
    (bo, so, bi, si)
}

/// Seconds from `t` until the next green of `windows` (offset applied), 0 when green.
fn wait_s(windows: &[Window], offset_s: f64, t_s: f64, cycle_s: f64) -> f64 {
    let mut best = f64::INFINITY;
    for w in windows {
        let into = (t_s - offset_s - w.start_s).rem_euclid(cycle_s);
        if into < w.green_s {
            return 0.0;
        }
        best = best.min(cycle_s - into);
    }
    if best.is_finite() {
        best
    } else {
        0.0
    }
}

/// Wait of the leading vehicle of each platoon released at the start of an upstream green,
/// both directions, inbound weighted.
pub fn platoon_delay_s(p: &BandProblem, offsets_s: &[f64]) -> f64 {
    let n = offsets_s.len();
    let mut d = 0.0;
    for i in 0..n.saturating_sub(1) {
        if let Some(w) = p.out_windows[i].first() {
            let t = offsets_s[i] + w.start_s + (p.t_out_s[i + 1] - p.t_out_s[i]);
            d += wait_s(&p.out_windows[i + 1], offsets_s[i + 1], t, p.cycle_s);
        }
        if let Some(w) = p.in_windows[i + 1].first() {
            let t = offsets_s[i + 1] + w.start_s + (p.t_in_s[i] - p.t_in_s[i + 1]);
            d += p.inbound_weight * wait_s(&p.in_windows[i], offsets_s[i], t, p.cycle_s);
        }
    }
    d
}

/// The longest window of a direction (the one MAXBAND coordinates), as (start, green), s.
fn main_window(windows: &[Window]) -> (f64, f64) {
    windows
        .iter()
        .max_by(|a, b| a.green_s.total_cmp(&b.green_s))
        .map_or((0.0, 0.0), |w| (w.start_s, w.green_s))
}

/// Centre of the red around a (start, green) window, seconds after the plan's cycle start.
fn red_centre_s((start_s, green_s): (f64, f64), cycle_s: f64) -> f64 {
    start_s + green_s + (cycle_s - green_s).max(0.0) / 2.0
}

/// One stage sequence of a signal as MAXBAND sees it at cycle `cycle_s`: the reds around the
/// longest through green of each direction and where they sit relative to each other.
fn maxband_sequence(out_w: &[Window], in_w: &[Window], cycle_s: f64) -> MaxbandSequence {
    let (o, i) = (main_window(out_w), main_window(in_w));
    let red = |g: f64| (1.0 - g / cycle_s).clamp(0.0, 1.0);
    MaxbandSequence {
        red_out: red(o.1),
        red_in: red(i.1),
        inbound_red_shift: (red_centre_s(i, cycle_s) - red_centre_s(o, cycle_s)) / cycle_s,
    }
}

/// Plan offsets (seconds after the cycle start, not yet wrapped) that put each outbound red
/// centre where the program wants it.
fn offsets_from(s: &maxband::MaxbandSolution, out_w: &[Vec<Window>]) -> Vec<f64> {
    s.red_centre_out_s
        .iter()
        .zip(out_w)
        .map(|(phi, w)| phi - red_centre_s(main_window(w), s.cycle_s))
        .collect()
}

/// MAXBAND offsets for a [`BandProblem`] at its fixed cycle and travel times (one-way times
/// from `t_out_s`; the inbound ones must be the same links' times), in `[0, cycle)` with the
/// first at 0, and the program's solution. What the tests and the bench compare.
pub fn maxband_offsets(
    p: &BandProblem,
) -> Result<(Vec<f64>, maxband::MaxbandSolution), maxband::MaxbandError> {
    let (o, _, s) = maxband_offsets_choosing(p, &[], (1.0, 1.0))?;
    Ok((o, s))
}

/// Outbound and inbound through green windows of one stage sequence of a signal.
pub type SequenceWindows = (Vec<Window>, Vec<Window>);

/// [`maxband_offsets`] with MAXBAND's other degrees of freedom: per signal, alternative stage
/// sequences (`options[i]`: each the outbound and inbound through windows the sequence
/// gives — a left turn moved from lead to lag shifts a through window, a lead-lag sequence
/// also lengthens both; an empty list or a missing entry keeps `p`'s windows), and per link
/// a progression speed between `speed_factor.0` and `speed_factor.1` times the one `p`'s
/// travel times imply. Returns the offsets, the problem as chosen (the chosen windows, the
/// program's travel times: what [`bands`] evaluates the offsets on) and the solution.
pub fn maxband_offsets_choosing(
    p: &BandProblem,
    options: &[Vec<SequenceWindows>],
    speed_factor: (f64, f64),
) -> Result<(Vec<f64>, BandProblem, maxband::MaxbandSolution), maxband::MaxbandError> {
    let options =
        |i: usize| -> Option<&Vec<SequenceWindows>> { options.get(i).filter(|o| !o.is_empty()) };
    // positions in "metres" at 1 m/s are the travel times themselves
    let signals: Vec<MaxbandSignal> = (0..p.out_windows.len())
        .map(|i| MaxbandSignal {
            position_m: p.t_out_s[i] - p.t_out_s[0],
            sequences: match options(i) {
                Some(opts) => opts
                    .iter()
                    .map(|(o, w)| maxband_sequence(o, w, p.cycle_s))
                    .collect(),
                None => vec![maxband_sequence(
                    &p.out_windows[i],
                    &p.in_windows[i],
                    p.cycle_s,
                )],
            },
        })
        .collect();
    let mp = MaxbandProblem {
        signals,
        cycle_min_s: p.cycle_s,
        cycle_max_s: p.cycle_s,
        speed_min_m_s: speed_factor.0.min(speed_factor.1),
        speed_max_m_s: speed_factor.1.max(speed_factor.0),
        max_inverse_speed_change_s_m: None,
        inbound_weight: p.inbound_weight,
    };
    let s = maxband::solve(&mp)?;
    let pick = |i: usize| -> SequenceWindows {
        match options(i) {
            Some(opts) => opts[s.sequence[i].min(opts.len() - 1)].clone(),
            None => (p.out_windows[i].clone(), p.in_windows[i].clone()),
        }
    };
    let (out_windows, in_windows): (Vec<Vec<Window>>, Vec<Vec<Window>>) =
        (0..p.out_windows.len()).map(pick).unzip();
    let raw = offsets_from(&s, &out_windows);
    let first = raw.first().copied().unwrap_or(0.0);
    let o = raw
        .iter()
        .map(|x| {
            let v = (x - first).rem_euclid(p.cycle_s);
            if v >= p.cycle_s {
                0.0
            } else {
                v
            }
        })
        .collect();
    let mut t_out_s = vec![0.0];
    for t in &s.travel_out_s {
        t_out_s.push(t_out_s.last().copied().unwrap_or(0.0) + t);
    }
    let mut t_in_s = vec![0.0];
    for t in s.travel_in_s.iter().rev() {
        t_in_s.push(t_in_s.last().copied().unwrap_or(0.0) + t);
    }
    t_in_s.reverse();
    let chosen = BandProblem {
        cycle_s: p.cycle_s,
        out_windows,
        in_windows,
        t_out_s,
        t_in_s,
        inbound_weight: p.inbound_weight,
    };
    Ok((o, chosen, s))
}

/// A stage sequence an intersection of the corridor may run.
#[derive(Clone, Debug)]
enum Sequence {
    /// The selected base-plan stages in base order (stage skipping of
    /// [`intersection::select_stages`]).
    Base(Vec<StageDemand>),
    LeadLag(LeadLag),
}

/// The lead-lag sequences intersection `k` offers: where a base stage serves both corridor
/// throughs and two stages outside the base plan each serve one of them (with its own left)
/// but not the other, the base stages those three cover (the lefts-together stage) give way
/// to them — outbound left leading, then inbound left leading. None elsewhere.
fn lead_lag_sequences(
    net: &RoadNet,
    c: &Corridor,
    k: usize,
    selected: &[StageDemand],
) -> Vec<LeadLag> {
    let (o, i) = (
        direction_movements(net, c, k, true),
        direction_movements(net, c, k, false),
    );
    if o.is_empty() || i.is_empty() {
        return Vec::new();
    }
    let serves = |s: roadnet::StageId, ms: &[MovementId]| {
        let sm = net.stage_movements(s);
        ms.iter().all(|m| sm.contains(m))
    };
    let serves_none = |s: roadnet::StageId, ms: &[MovementId]| {
        let sm = net.stage_movements(s);
        !ms.iter().any(|m| sm.contains(m))
    };
    let Some(through) = selected
        .iter()
        .map(|d| d.stage)
        .find(|s| serves(*s, &o) && serves(*s, &i))
    else {
        return Vec::new();
    };
    let extra = |mine: &[MovementId], other: &[MovementId]| {
        net.intersection(net.stage(through).intersection)
            .stages
            .iter()
            .copied()
            .find(|s| {
                let st = net.stage(*s);
                !st.clearance && !st.in_base_plan && serves(*s, mine) && serves_none(*s, other)
            })
    };
    let (Some(out_left), Some(in_left)) = (extra(&o, &i), extra(&i, &o)) else {
        return Vec::new();
    };
    let mut covered = net.stage_movements(through);
    covered.extend(net.stage_movements(out_left));
    covered.extend(net.stage_movements(in_left));
    let rest: Vec<StageDemand> = selected
        .iter()
        .filter(|d| {
            d.stage != through
                && !net
                    .stage_movements(d.stage)
                    .iter()
                    .all(|m| covered.contains(m))
        })
        .copied()
        .collect();
    vec![
        LeadLag {
            through,
            lag: in_left,
            rest: rest.clone(),
            lead: out_left,
        },
        LeadLag {
            through,
            lag: out_left,
            rest,
            lead: in_left,
        },
    ]
}

/// One sequence of one intersection at one cycle: its plan and its through windows.
#[derive(Clone, Debug)]
struct Candidate {
    plan: SignalPlan,
    out_w: Vec<Window>,
    in_w: Vec<Window>,
}

/// Per intersection of the corridor, its candidate sequences at one cycle (the base one
/// first; a lead-lag one only where the cycle lies in its feasible range).
struct Candidates(Vec<Vec<Candidate>>);

fn plans_at(
    net: &RoadNet,
    c: &Corridor,
    p: &CorridorParams,
    state: &TrafficState,
    sequences: &[Vec<Sequence>],
    cycle_s: f64,
) -> Candidates {
    let ids = &c.intersections;
    let per = (0..ids.len())
        .map(|k| {
            let at = ids[k];
            let (out_mvs, in_mvs) = (
                direction_movements(net, c, k, true),
                direction_movements(net, c, k, false),
            );
            sequences[k]
                .iter()
                .filter_map(|seq| {
                    let plan = match seq {
                        Sequence::Base(sel) => {
                            intersection::plan_for_cycle(net, at, sel, cycle_s, 0.0, &p.timing)
                        }
                        Sequence::LeadLag(ll) => {
                            let (lo, hi) =
                                intersection::cycle_range_s(net, &ll.stages(), &p.timing);
                            if cycle_s < lo - 1e-9 || cycle_s > hi + 1e-9 {
                                return None;
                            }
                            intersection::lead_lag_plan(net, at, state, ll, cycle_s, 0.0, &p.timing)
                        }
                    };
                    Some(Candidate {
                        out_w: green_windows(net, &plan, &out_mvs),
                        in_w: green_windows(net, &plan, &in_mvs),
                        plan,
                    })
                })
                .collect()
        })
        .collect();
    Candidates(per)
}

/// Plan a corridor: demand per intersection, Webster splits, then MAXBAND chooses the common
/// cycle (from the critical intersection's Webster cycle up to `cycle_search_s` more, within
/// every member's range) and the offsets. The program runs twice: once with the cycle free
/// (red fractions of the Webster-cycle splits), then at the chosen whole-second cycle with
/// that cycle's own splits, whose offsets are the answer.
pub fn plan_corridor(
    net: &RoadNet,
    c: &Corridor,
    state: &TrafficState,
    p: &CorridorParams,
    running_offsets_s: Option<&[f64]>,
) -> CorridorPlan {
    let ids = &c.intersections;
    let selected: Vec<Vec<StageDemand>> = ids
        .iter()
        .map(|&i| {
            let d = intersection::stage_demands(net, i, state, &p.timing);
            intersection::select_stages(net, i, &d)
        })
        .collect();
    // per intersection the base sequence, then any lead-lag ones: MAXBAND's sequence choice
    let sequences: Vec<Vec<Sequence>> = selected
        .iter()
        .enumerate()
        .map(|(k, sel)| {
            let mut v = vec![Sequence::Base(sel.clone())];
            v.extend(
                lead_lag_sequences(net, c, k, sel)
                    .into_iter()
                    .map(Sequence::LeadLag),
            );
            v
        })
        .collect();
    let mut cycle: f64 = 0.0;
    let mut cap = f64::INFINITY;
    for sel in &selected {
        cycle = cycle.max(intersection::webster_cycle_s(net, sel, &p.timing));
        let stages: Vec<_> = sel.iter().map(|d| d.stage).collect();
        let (_, hi) = intersection::cycle_range_s(net, &stages, &p.timing);
        cap = cap.min(hi);
    }
    let base_cycle = cycle.min(cap).max(1.0);
    let top_cycle = (base_cycle + p.cycle_search_s.max(0.0))
        .min(cap)
        .max(base_cycle);
    let xs = positions_m(net, c);
    let v = c.design_speed_m_s.max(0.1);
    let flow = |outbound: bool| -> f64 {
        (0..ids.len())
            .flat_map(|k| direction_movements(net, c, k, outbound))
            .map(|m| state.movement(m).arrival_flow_veh_s)
            .sum()
    };
    let k_in = p.inbound_weight.unwrap_or_else(|| {
        let (fo, fi) = (flow(true), flow(false));
        if fo > 1e-6 && fi > 1e-6 {
            (fi / fo).clamp(0.25, 4.0)
        } else {
            1.0
        }
    });
    let (speed_min_m_s, speed_max_m_s) = speed_range_m_s(net, c, p);
    let mb_problem = |w: &Candidates, cycle: f64| MaxbandProblem {
        signals: w
            .0
            .iter()
            .zip(&xs)
            .map(|(cands, x)| MaxbandSignal {
                position_m: *x,
                sequences: cands
                    .iter()
                    .map(|cd| maxband_sequence(&cd.out_w, &cd.in_w, cycle))
                    .collect(),
            })
            .collect(),
        cycle_min_s: cycle,
        cycle_max_s: cycle,
        speed_min_m_s,
        speed_max_m_s,
        max_inverse_speed_change_s_m: p.max_inverse_speed_change_s_m,
        inbound_weight: k_in,
    };
    // The cycle: MAXBAND's own z variable assumes red fractions that do not change with the
    // cycle, but Webster splits give the spare time of a longer cycle mostly to the arterial,
    // so each whole-second cycle is solved exactly with its own splits (≈ 1–2 ms each on Main
    // Street) and the best `b + k·b̄` in cycles — band efficiency — wins; the shorter cycle
    // wins ties (less delay for the side streets).
    let mut cycles = vec![base_cycle];
    let mut next = base_cycle.floor() + 1.0;
    while next <= top_cycle + 1e-9 {
        cycles.push(next);
        next += 1.0;
    }
    let mut best: Option<(
        f64,
        Candidates,
        Result<maxband::MaxbandSolution, maxband::MaxbandError>,
    )> = None;
    for cyc in cycles {
        let w = plans_at(net, c, p, state, &sequences, cyc);
        let solved = maxband::solve(&mb_problem(&w, cyc));
        let score = solved.as_ref().map_or(-1.0, |s| s.objective);
        if best.as_ref().is_none_or(|(b, _, _)| score > *b + 1e-6) {
            best = Some((score, w, solved));
        }
    }
    let (_, cands, solved) = best.expect("at least the base cycle");
    // the chosen sequence per intersection (the base one when no band plan came out)
    let w: Vec<Candidate> = cands
        .0
        .into_iter()
        .enumerate()
        .map(|(k, mut v)| {
            let j = solved
                .as_ref()
                .map_or(0, |s| s.sequence[k])
                .min(v.len() - 1);
            v.swap_remove(j)
        })
        .collect();
    let out_w: Vec<Vec<Window>> = w.iter().map(|cd| cd.out_w.clone()).collect();
    let in_w: Vec<Vec<Window>> = w.iter().map(|cd| cd.in_w.clone()).collect();
    let mut plans: Vec<SignalPlan> = w.into_iter().map(|cd| cd.plan).collect();
    let cycle = plans.first().map_or(base_cycle, |p| p.cycle_s);
    let (mut offsets, t_out_s, t_in_s): (Vec<f64>, Vec<f64>, Vec<f64>) = match &solved {
        Ok(s) => {
            let offsets = offsets_from(s, &out_w);
            // cumulative progression times (the design speed's unless a range is allowed)
            let mut t_out = vec![0.0];
            for t in &s.travel_out_s {
                t_out.push(t_out.last().copied().unwrap_or(0.0) + t);
            }
            let mut t_in = vec![0.0];
            for t in s.travel_in_s.iter().rev() {
                t_in.push(t_in.last().copied().unwrap_or(0.0) + t);
            }
            t_in.reverse();
            (offsets, t_out, t_in)
        }
        // Infeasible means no trajectory at the progression speeds passes green both ways at
        // every signal (each signal's two greens short of a cycle between them, and the
        // spacings against them): there is no two-way band to find, so the outbound
        // progression, which at least gives the outbound platoon its one-way band.
        Err(_) => {
            let total = xs.last().copied().unwrap_or(0.0);
            (
                (0..ids.len())
                    .map(|k| xs[k] / v - main_window(&out_w[k]).0)
                    .collect(),
                xs.iter().map(|x| x / v).collect(),
                xs.iter().map(|x| (total - x) / v).collect(),
            )
        }
    };
    // a common shift changes no band: keep the first intersection where it runs
    let anchor = running_offsets_s
        .and_then(|s| s.first().copied())
        .unwrap_or(0.0);
    let shift = anchor - offsets.first().copied().unwrap_or(0.0);
    for o in offsets.iter_mut() {
        *o = (*o + shift).rem_euclid(cycle);
        if *o >= cycle {
            *o = 0.0;
        }
    }
    let problem = BandProblem {
        cycle_s: cycle,
        out_windows: out_w,
        in_windows: in_w,
        t_out_s,
        t_in_s,
        inbound_weight: k_in,
    };
    for (plan, o) in plans.iter_mut().zip(&offsets) {
        plan.offset_s = o.rem_euclid(plan.cycle_s);
    }
    let (bo, so, bi, si) = bands(&problem, &offsets);
    let delay = platoon_delay_s(&problem, &offsets);
    CorridorPlan {
        corridor: c.name.clone(),
        intersections: ids.clone(),
        names: ids
            .iter()
            .map(|i| net.intersection(*i).name.clone())
            .collect(),
        cycle_s: cycle,
        plans,
        positions_m: xs,
        design_speed_m_s: v,
        outbound_windows: problem.out_windows,
        inbound_windows: problem.in_windows,
        band_out_s: bo,
        band_in_s: bi,
        band_out_efficiency: bo / cycle,
        band_in_efficiency: bi / cycle,
        band_out_start_s: so,
        band_in_start_s: si,
        inbound_weight: k_in,
        platoon_delay_s: delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_s: f64, green_s: f64) -> Vec<Window> {
        vec![Window {
            start_s,
            green_s,
            yellow_s: 3.0,
        }]
    }

    /// Hand-worked two-intersection example. Cycle 60 s; A at 0 m, B at 300 m; design speed
    /// 15 m/s → 20 s travel. Each has a 30 s arterial green at the start of its cycle serving
    /// both directions.
    /// With offsets A = 0, B = 20: an outbound car leaving A in A's green [0, 30) reaches B at
    /// [20, 50), and B is green [20, 50): the whole 30 s band passes → b_out = 30.
    /// Inbound: a car leaving B in [20, 50) reaches A at [40, 70) ≡ [40, 60) ∪ [0, 10); A is
    /// green [0, 30): only [0, 10) (i.e. leaving B in [40, 50)) gets through → b_in = 10.
    /// Sum 40. The best two-way split puts B's green half-way: offset B = 0 (or 30):
    /// out: arrivals [20, 50) vs green [0, 30) → 10 s; in: leaving B [0, 30) reaches A at
    /// [20, 50) vs [0, 30) → 10 s; sum 20 < 40. With B = 50 (≡ −10): out [20, 50) vs [50, 80)
    /// → 0; in: leave B [50, 80) reach A [70, 100) ≡ [10, 40) → 20 s.
    /// In general with offset B = x: b_out = 30 − |x − 20|, b_in = 30 − |x − 40| (circular
    /// distances, floored at 0), so b_out + b_in = 60 − |x − 20| − |x − 40| ≤ 40, reached for
    /// any x in [20, 40].
    #[test]
    fn two_intersection_band_by_hand() {
        let p = BandProblem {
            cycle_s: 60.0,
            out_windows: vec![w(0.0, 30.0), w(0.0, 30.0)],
            in_windows: vec![w(0.0, 30.0), w(0.0, 30.0)],
            t_out_s: vec![0.0, 20.0],
            t_in_s: vec![20.0, 0.0],
            inbound_weight: 1.0,
        };
        let (bo, so, bi, _) = bands(&p, &[0.0, 20.0]);
        assert!(
            (bo - 30.0).abs() < 1e-9 && so.abs() < 1e-9,
            "out {bo} from {so}"
        );
        assert!((bi - 10.0).abs() < 1e-9, "in {bi}");
        let (bo, _, bi, _) = bands(&p, &[0.0, 0.0]);
        assert!((bo - 10.0).abs() < 1e-9 && (bi - 10.0).abs() < 1e-9);
        let (bo, _, bi, _) = bands(&p, &[0.0, 50.0]);
        assert!(bo.abs() < 1e-9 && (bi - 20.0).abs() < 1e-9, "{bo} {bi}");
        let (o, _) = maxband_offsets(&p).expect("solves");
        let (bo, _, bi, _) = bands(&p, &o);
        assert!((bo + bi - 40.0).abs() < 1e-9, "best {bo}+{bi} at {o:?}");
    }

    #[test]
    fn arcs_wrap_and_join() {
        let a = arcs_of(&w(50.0, 20.0), 0.0, 60.0);
        assert_eq!(a, vec![(0.0, 10.0), (50.0, 60.0)]);
        assert_eq!(longest(&a, 60.0), (20.0, 50.0));
        let b = arcs_of(&w(5.0, 10.0), 0.0, 60.0);
        assert_eq!(intersect(&a, &b), vec![(5.0, 10.0)]);
    }

    /// Whatever the offsets, every moment inside a reported band is green at every
    /// intersection when the vehicle gets there (both directions); checked on a deterministic
    /// family of irregular corridors.
    #[test]
    fn reported_bands_are_green_everywhere() {
        for seed in 0..40u64 {
            let n = 3 + (seed % 5) as usize;
            let c = 60.0 + (seed % 7) as f64 * 10.0;
            let f = |k: u64| ((seed * 7919 + k * 104_729) % 1000) as f64 / 1000.0;
            let xs: Vec<f64> = (0..n)
                .scan(0.0, |x, i| {
                    *x += if i == 0 {
                        0.0
                    } else {
                        250.0 + 400.0 * f(i as u64)
                    };
                    Some(*x)
                })
                .collect();
            let v = 12.5;
            let total = xs[n - 1];
            let ws: Vec<Vec<Window>> = (0..n)
                .map(|i| {
                    w(
                        10.0 * f(100 + i as u64),
                        c * (0.3 + 0.3 * f(200 + i as u64)),
                    )
                })
                .collect();
            let p = BandProblem {
                cycle_s: c,
                out_windows: ws.clone(),
                in_windows: ws.clone(),
                t_out_s: xs.iter().map(|x| x / v).collect(),
                t_in_s: xs.iter().map(|x| (total - x) / v).collect(),
                inbound_weight: 1.0,
            };
            let (o, _) = maxband_offsets(&p).expect("solves");
            let (bo, so, bi, si) = bands(&p, &o);
            let green = |i: usize, t: f64| wait_s(&ws[i], o[i], t, c) == 0.0;
            for k in 0..=10 {
                let frac = 0.02 + 0.96 * k as f64 / 10.0;
                if bo > 0.0 {
                    let t = so + frac * bo;
                    assert!(
                        (0..n).all(|i| green(i, t + p.t_out_s[i])),
                        "seed {seed} out"
                    );
                }
                if bi > 0.0 {
                    let t = si + frac * bi;
                    assert!((0..n).all(|i| green(i, t + p.t_in_s[i])), "seed {seed} in");
                }
            }
        }
    }

    /// Both bands at least these shares of the cycle (outbound, inbound).
    fn assert_bands(cp: &CorridorPlan, out_min: f64, in_min: f64) {
        assert!(
            cp.band_out_efficiency >= out_min && cp.band_in_efficiency >= in_min,
            "{:.3} / {:.3} at {} s",
            cp.band_out_efficiency,
            cp.band_in_efficiency,
            cp.cycle_s
        );
    }

    /// The bundled Main Street plan for the PM peak count interval (17:15–17:30, the flows
    /// `greenwave corridor --counts data/main_street_counts.csv --at 17:15` plans from).
    /// `network`: the bundled `intersections.toml` or its lead-lag variant
    /// `data/main_street_lead_lag.toml` (both from tools/gen_intersections.py).
    fn bundled_pm_peak(network: &str, params: &CorridorParams) -> (RoadNet, CorridorPlan) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let net = roadnet::load_network(&root.join(network)).expect("bundled net");
        let counts = roadnet::counts::load_counts(&root.join("data/main_street_counts.csv"), &net)
            .expect("bundled counts");
        let at_s = 17.0 * 3600.0 + 15.0 * 60.0;
        let mut flows = vec![0.0; net.movements.len()];
        for ((start, m), n) in counts.movement_counts(&net) {
            let start = f64::from_bits(start);
            if let Some(r) = counts.rows.iter().find(|r| r.start_s == start) {
                if r.start_s <= at_s && at_s < r.start_s + r.interval_s {
                    flows[m.index()] += f64::from(n) / r.interval_s;
                }
            }
        }
        let state = TrafficState::from_movement_flows(&net, &flows, 0.5);
        let c = net.corridor_by_name("main").expect("corridor main");
        let cp = plan_corridor(&net, c, &state, params, None);
        for p in &cp.plans {
            p.validate(&net).expect("valid plan");
        }
        (net, cp)
    }

    const LEAD_LAG: &str = "data/main_street_lead_lag.toml";

    /// The PM peak `tod` plan (the design speed) of the lead-lag network runs lead-lag where
    /// it buys band:
    /// measured 100 s, 32.1 % outbound / 21.7 % inbound, five of the seven intersections
    /// lead-lag (was 15.4 % / 10.4 % with the lefts together everywhere). Each lead-lag
    /// through window spans its own left's stage and the shared through stage.
    #[test]
    fn bundled_pm_peak_runs_lead_lag() {
        let (net, cp) = bundled_pm_peak(LEAD_LAG, &CorridorParams::default());
        assert_bands(&cp, 0.32, 0.21);
        let name = |p: &SignalPlan, k: usize| net.stage(p.stages[k].stage).name.clone();
        let lead_lag: Vec<&SignalPlan> = cp.plans.iter().filter(|p| p.stages.len() == 4).collect();
        assert!(lead_lag.len() >= 4, "{} lead-lag plans", lead_lag.len());
        for (k, p) in cp.plans.iter().enumerate() {
            assert_eq!(
                name(p, 0),
                "main_through",
                "the coordinated stage leads the plan"
            );
            if p.stages.len() != 4 {
                continue;
            }
            // the lagging left right after the shared stage, the leading one last
            let (lag, lead) = (name(p, 1), name(p, 3));
            assert!(
                (lag == "wb_through_left" && lead == "eb_through_left")
                    || (lag == "eb_through_left" && lead == "wb_through_left"),
                "{k}: {lag} / {lead}"
            );
            // the leading through is green from its left's stage through the shared one, the
            // lagging through from the shared stage through its left's
            let eb = cp.outbound_windows[k]
                .iter()
                .map(|w| w.green_s)
                .fold(0.0, f64::max);
            let expected = if lead == "eb_through_left" {
                p.stages[3].split_s + p.stages[0].green_s(&net)
            } else {
                p.stages[0].split_s + p.stages[1].green_s(&net)
            };
            assert!(
                (eb - expected).abs() < 1e-6,
                "{k}: window {eb} ≠ {expected}"
            );
        }
    }

    /// [`CorridorParams::speed_range`] (0.9–1.1 × the design speed, speed-change limit) lets MAXBAND
    /// fit the band at a cycle near Webster's: measured 74 s, 27.2 % outbound, 18.4 % inbound
    /// (was 100 s, 15.4 % / 10.4 % at the design speed alone). Inbound is `k` = 0.68 of
    /// outbound by MAXBAND's directional constraint. With the lead-lag sequences: measured
    /// 102 s, 36.9 % / 24.9 %.
    #[test]
    fn bundled_pm_peak_band_with_the_speed_range() {
        let (_, cp) = bundled_pm_peak("intersections.toml", &CorridorParams::speed_range());
        assert_bands(&cp, 0.27, 0.18);
        assert!(cp.cycle_s <= 80.0, "cycle {}", cp.cycle_s);
        let (_, cp) = bundled_pm_peak(LEAD_LAG, &CorridorParams::speed_range());
        assert_bands(&cp, 0.36, 0.24);
    }

    /// Issue 10's target, on the `tod` plan (the design speed) of the lead-lag network (the
    /// bundled one: 15.4 % / 10.4 % at 100 s). Not reached: with lead-lag
    /// each through is green ≈ 50–55 % of the cycle, and with the PM peak's k = 0.68 MAXBAND
    /// gives the inbound band 0.68 of the outbound one (its directional constraint), so 30 %
    /// inbound needs ≈ 44 % outbound; the two-way sum is 54 % (62 % with the speed range).
    #[test]
    #[ignore = "measured 32.1 % outbound / 21.7 % inbound at 100 s (36.9 % / 24.9 % at 102 s with the speed range); target 30 % each way"]
    fn bundled_pm_peak_band_reaches_30_percent_each_way() {
        let (_, cp) = bundled_pm_peak(LEAD_LAG, &CorridorParams::default());
        assert_bands(&cp, 0.30, 0.30);
    }
}
