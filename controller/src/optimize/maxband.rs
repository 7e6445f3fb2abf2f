//! Exact two-way bandwidth: the MAXBAND mixed-integer program (Little, Kelson and Gartner
//! 1981), solved with `good_lp` on the pure-Rust `microlp` branch and bound.
//!
//! Time is measured in cycles (MAXBAND's convention), so a band in cycles *is* its band
//! efficiency. Per signal `i` (ordered outbound), with red fractions `r_i` (outbound through)
//! and `r̄_i` (inbound through) and `Δ_i` the position of the inbound red's centre after the
//! outbound red's centre — each of the three given per candidate stage sequence
//! ([`MaxbandSequence`]):
//!
//! - `z ∈ [1/C_max, 1/C_min]` — inverse cycle (the cycle is a variable);
//! - `b, b̄ ≥ 0` — outbound / inbound band;
//! - `w_i, w̄_i ≥ 0` — interference: time from the end of the red to the band's first
//!   trajectory, with `w_i + b ≤ 1 − r_i`, `w̄_i + b̄ ≤ 1 − r̄_i` (the band fits in the green);
//! - `t_i, t̄_i` — link travel times (cycles), `d_i/v_max·z ≤ t_i ≤ d_i/v_min·z`, and optionally
//!   `|t_{i+1}/d_{i+1} − t_i/d_i| ≤ h·z` (the speed-change limit `|1/v_{i+1} − 1/v_i| ≤ h`);
//! - `m_i` integer — the loop constraint around each link's two-way "loop":
//!   `w_i − w_{i+1} + w̄_{i+1} − w̄_i + t_i + t̄_i + m_i
//!      = Δ_i − Δ_{i+1} + (r_{i+1} − r_i)/2 + (r̄_i − r̄_{i+1})/2`;
//! - `δ_ij` binary, `Σ_j δ_ij = 1`, `Δ_i = Σ_j δ_ij·Δ_ij`, `r_i = Σ_j δ_ij·r_ij`,
//!   `r̄_i = Σ_j δ_ij·r̄_ij` — the left-turn sequence (lead-lead, lag-lag, lead-lag, lag-lead:
//!   [`left_turn_shifts`]) where a signal has protected lefts. A lead-lag sequence also
//!   changes the through reds (each through runs on with its own left), so the reds are per
//!   sequence too; all three enter the constraints linearly. A signal with one candidate has
//!   its sequence fixed.
//!
//! Objective: maximise `b + k·b̄` subject to MAXBAND's directional constraint
//! `(1 − k)·b̄ ≥ (1 − k)·k·b`, plus a 10⁻⁴-scale preference for the shorter cycle among ties.
//! (`w̄` here is measured from the end of the inbound red, the mirror of the paper's, hence the
//! signs in the loop constraint; the two are the same program.)
//!
//! Left out: queue-clearance terms `τ_i`, MULTIBAND's per-link weights, and more than one
//! green window per direction (the caller passes the longest).

use good_lp::{
    constraint, microlp, variable, variables, Expression, Solution, SolverModel, Variable,
};

/// One candidate stage sequence of a signal: its through reds and their relative position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxbandSequence {
    /// Red of the outbound through movement, fraction of the cycle.
    pub red_out: f64,
    /// Red of the inbound through movement, fraction of the cycle.
    pub red_in: f64,
    /// Position of the inbound red's centre after the outbound red's centre, fraction of the
    /// cycle.
    pub inbound_red_shift: f64,
}

/// One signal of the corridor, as the program sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxbandSignal {
    /// Distance from the corridor's first signal, metres.
    pub position_m: f64,
    /// The allowed stage (left-turn) sequences; one = the sequence is fixed.
    pub sequences: Vec<MaxbandSequence>,
}

/// The bandwidth problem.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxbandProblem {
    pub signals: Vec<MaxbandSignal>,
    /// Common cycle range, seconds (equal bounds fix the cycle).
    pub cycle_min_s: f64,
    pub cycle_max_s: f64,
    /// Progression speed range on every link, m/s (equal bounds fix the speed).
    pub speed_min_m_s: f64,
    pub speed_max_m_s: f64,
    /// Largest change of inverse speed between consecutive links, s/m; `None` = free.
    pub max_inverse_speed_change_s_m: Option<f64>,
    /// `k`: weight of the inbound band (inbound ÷ outbound flow).
    pub inbound_weight: f64,
}

/// The optimum.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MaxbandSolution {
    pub cycle_s: f64,
    pub band_out_s: f64,
    pub band_in_s: f64,
    /// Band ÷ cycle.
    pub efficiency_out: f64,
    pub efficiency_in: f64,
    /// `b + k·b̄` in cycles (without the cycle tie-break).
    pub objective: f64,
    /// Time of the centre of each signal's outbound red, seconds within the cycle, signal 0's
    /// at 0 (only differences matter).
    pub red_centre_out_s: Vec<f64>,
    /// Chosen index into each signal's `sequences`.
    pub sequence: Vec<usize>,
    /// Progression travel times per link (signal i → i+1 and back), seconds.
    pub travel_out_s: Vec<f64>,
    pub travel_in_s: Vec<f64>,
    /// When the outbound band's first trajectory passes signal 0, and the inbound band's
    /// passes the last signal, seconds in the same time frame as `red_centre_out_s`.
    pub band_out_start_s: f64,
    pub band_in_start_s: f64,
}

/// Why no band plan came out.
#[derive(Debug, thiserror::Error)]
pub enum MaxbandError {
    #[error("the corridor needs at least one signal")]
    Empty,
    #[error("invalid input: {0}")]
    Input(&'static str),
    #[error("MILP solver: {0}")]
    Solver(#[from] good_lp::ResolutionError),
}

/// Inbound-red shifts `Δ` of the four left-turn sequences of a dual-ring arterial phase pair,
/// fractions of the cycle: `[lead-lead, lag-lag, lead out/lag in, lag out/lead in]`.
/// `left_out` is the protected left of the outbound approach (it runs beside the inbound
/// through), `left_in` that of the inbound approach. A leading left delays its own through's
/// green by the left's length, a lagging one ends it early, so the through greens' centres —
/// and with them the reds' — move by half a left each.
pub fn left_turn_shifts(left_out: f64, left_in: f64) -> [f64; 4] {
    [
        (left_in - left_out) / 2.0,
        (left_out - left_in) / 2.0,
        -(left_out + left_in) / 2.0,
        (left_out + left_in) / 2.0,
    ]
}

/// Solve the program to optimality.
pub fn solve(p: &MaxbandProblem) -> Result<MaxbandSolution, MaxbandError> {
    let n = p.signals.len();
    if n == 0 {
        return Err(MaxbandError::Empty);
    }
    if !(p.cycle_min_s > 0.0 && p.cycle_max_s >= p.cycle_min_s) {
        return Err(MaxbandError::Input("cycle range"));
    }
    if !(p.speed_min_m_s > 0.0 && p.speed_max_m_s >= p.speed_min_m_s) {
        return Err(MaxbandError::Input("speed range"));
    }
    if !(p.inbound_weight > 0.0 && p.inbound_weight.is_finite()) {
        return Err(MaxbandError::Input("inbound weight"));
    }
    if p.signals.iter().any(|s| s.sequences.is_empty()) {
        return Err(MaxbandError::Input("a signal without a left-turn sequence"));
    }
    if p.signals.iter().flat_map(|s| &s.sequences).any(|q| {
        !(q.red_out.is_finite() && q.red_in.is_finite() && q.inbound_red_shift.is_finite())
    }) {
        return Err(MaxbandError::Input("a red or shift that is not finite"));
    }
    let k = p.inbound_weight;
    let d: Vec<f64> = p
        .signals
        .windows(2)
        .map(|w| (w[1].position_m - w[0].position_m).max(0.0))
        .collect();
    let mut vars = variables!();
    let z = vars.add(variable().min(1.0 / p.cycle_max_s).max(1.0 / p.cycle_min_s));
    let b = vars.add(variable().min(0.0).max(1.0));
    let bb = vars.add(variable().min(0.0).max(1.0));
    let w: Vec<Variable> = (0..n)
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    let ww: Vec<Variable> = (0..n)
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    // travel times are at most a few cycles; the loop integer only has to absorb them and
    // the bounded w terms, so a tight range keeps the branch and bound small
    let max_t = d.iter().fold(0.0f64, |a, x| a.max(x / p.speed_min_m_s)) / p.cycle_min_s;
    let m_bound = (2.0 * max_t).ceil() + 3.0;
    let t: Vec<Variable> = (0..n.saturating_sub(1))
        .map(|_| vars.add(variable().min(0.0)))
        .collect();
    let tt: Vec<Variable> = (0..n.saturating_sub(1))
        .map(|_| vars.add(variable().min(0.0)))
        .collect();
    let m: Vec<Variable> = (0..n.saturating_sub(1))
        .map(|_| vars.add(variable().integer().min(-m_bound).max(m_bound)))
        .collect();
    let delta: Vec<Vec<Variable>> = p
        .signals
        .iter()
        .map(|s| {
            if s.sequences.len() > 1 {
                s.sequences
                    .iter()
                    .map(|_| vars.add(variable().binary()))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let tie_break = 1e-4 * p.cycle_min_s;
    let objective: Expression = b + k * bb + tie_break * z;
    let mut model = vars.maximise(objective).using(microlp);
    // MAXBAND's directional constraint: the lighter direction gets at least its share
    model = model.with(constraint!((1.0 - k) * bb >= (1.0 - k) * k * b));
    // a per-sequence constant as an expression: itself for a fixed sequence, Σ δ·x otherwise
    let pick = |i: usize, f: fn(&MaxbandSequence) -> f64| -> Expression {
        let s = &p.signals[i].sequences;
        if delta[i].is_empty() {
            Expression::from(f(&s[0]))
        } else {
            delta[i].iter().zip(s).map(|(v, q)| f(q) * *v).sum()
        }
    };
    let red_out = |i: usize| pick(i, |q| q.red_out);
    let red_in = |i: usize| pick(i, |q| q.red_in);
    let shift = |i: usize| pick(i, |q| q.inbound_red_shift);
    for i in 0..n {
        model = model.with(constraint!(w[i] + b + red_out(i) <= 1.0));
        model = model.with(constraint!(ww[i] + bb + red_in(i) <= 1.0));
        if !delta[i].is_empty() {
            let sum: Expression = delta[i].iter().map(|v| Expression::from(*v)).sum();
            model = model.with(constraint!(sum == 1.0));
        }
    }
    for i in 0..n.saturating_sub(1) {
        let (lo, hi) = (d[i] / p.speed_max_m_s, d[i] / p.speed_min_m_s);
        model = model.with(constraint!(t[i] >= lo * z));
        model = model.with(constraint!(t[i] <= hi * z));
        model = model.with(constraint!(tt[i] >= lo * z));
        model = model.with(constraint!(tt[i] <= hi * z));
        // (r_{i+1} − r_i)/2 + (r̄_i − r̄_{i+1})/2, moved to the left side
        let reds: Expression =
            0.5 * (red_out(i) - red_out(i + 1)) + 0.5 * (red_in(i + 1) - red_in(i));
        let lhs: Expression = w[i] - w[i + 1] + ww[i + 1] - ww[i] + t[i] + tt[i] + m[i];
        model = model.with(constraint!(lhs - shift(i) + shift(i + 1) + reds == 0.0));
        if let (Some(h), true) = (p.max_inverse_speed_change_s_m, i + 2 < n) {
            let (d0, d1) = (d[i].max(1e-6), d[i + 1].max(1e-6));
            for (x, y) in [(t[i], t[i + 1]), (tt[i], tt[i + 1])] {
                model = model.with(constraint!(y / d1 - x / d0 <= h * z));
                model = model.with(constraint!(x / d0 - y / d1 <= h * z));
            }
        }
    }
    let sol = model.solve()?;
    let zv = sol.value(z);
    let cycle_s = 1.0 / zv;
    let (bv, bbv) = (sol.value(b).max(0.0), sol.value(bb).max(0.0));
    let sequence: Vec<usize> = delta
        .iter()
        .map(|ds| {
            ds.iter()
                .enumerate()
                .max_by(|x, y| sol.value(*x.1).total_cmp(&sol.value(*y.1)))
                .map_or(0, |(j, _)| j)
        })
        .collect();
    // outbound red centres from the outbound band's propagation (the inbound one then holds
    // by the loop constraint, modulo whole cycles)
    let chosen: Vec<MaxbandSequence> = p
        .signals
        .iter()
        .zip(&sequence)
        .map(|(s, j)| s.sequences[*j])
        .collect();
    let mut phi = vec![0.0; n];
    for i in 0..n.saturating_sub(1) {
        let (a, c) = (&chosen[i], &chosen[i + 1]);
        phi[i + 1] = phi[i] + (a.red_out - c.red_out) / 2.0 + sol.value(w[i]) - sol.value(w[i + 1])
            + sol.value(t[i]);
    }
    let wrap = |x: f64| {
        let v = (x * cycle_s).rem_euclid(cycle_s);
        if v >= cycle_s {
            0.0
        } else {
            v
        }
    };
    let last = n - 1;
    let sl = &chosen[last];
    let phi_in_last = phi[last] + sl.inbound_red_shift;
    Ok(MaxbandSolution {
        cycle_s,
        band_out_s: bv * cycle_s,
        band_in_s: bbv * cycle_s,
        efficiency_out: bv,
        efficiency_in: bbv,
        objective: bv + k * bbv,
        red_centre_out_s: phi.iter().map(|x| wrap(*x)).collect(),
        sequence,
        travel_out_s: t.iter().map(|v| sol.value(*v) * cycle_s).collect(),
        travel_in_s: tt.iter().map(|v| sol.value(*v) * cycle_s).collect(),
        band_out_start_s: wrap(phi[0] + chosen[0].red_out / 2.0 + sol.value(w[0])),
        band_in_start_s: wrap(phi_in_last + sl.red_in / 2.0 + sol.value(ww[last])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(position_m: f64, red_out: f64, red_in: f64, shift: f64) -> MaxbandSignal {
        MaxbandSignal {
            position_m,
            sequences: vec![MaxbandSequence {
                red_out,
                red_in,
                inbound_red_shift: shift,
            }],
        }
    }

    /// The hand-worked cases' program: cycle fixed at 60 s, speed fixed at 15 m/s, both
    /// directions weighted alike.
    fn hand_problem(signals: Vec<MaxbandSignal>) -> MaxbandProblem {
        MaxbandProblem {
            signals,
            cycle_min_s: 60.0,
            cycle_max_s: 60.0,
            speed_min_m_s: 15.0,
            speed_max_m_s: 15.0,
            max_inverse_speed_change_s_m: None,
            inbound_weight: 1.0,
        }
    }

    /// Hand-worked case (the two-signal example of `corridor`'s tests, in MAXBAND terms).
    /// Cycle 60 s, signals 300 m apart at 15 m/s → 20 s = 1/3 cycle each way. Both
    /// directions red half the cycle at both signals, reds aligned (Δ = 0). With offsets
    /// A = 0, B = x the outbound band is 30 − |x − 20| s and the inbound 30 − |x − 40| s, so
    /// b + b̄ ≤ 40 s, reached for x ∈ [20, 40]. In the program: the loop constraint reads
    /// w_0 − w_1 + w̄_1 − w̄_0 + 2/3 + m = 0 with every w ≤ 1/2 − b; b = b̄ = 1/3 with
    /// w_0 = w̄_1 = 1/6, w_1 = w̄_0 = 0, m = −1 satisfies it: b + b̄ = 2/3 cycle = 40 s.
    #[test]
    fn two_signals_by_hand() {
        let p = hand_problem(vec![sig(0.0, 0.5, 0.5, 0.0), sig(300.0, 0.5, 0.5, 0.0)]);
        let s = solve(&p).expect("solves");
        assert!((s.cycle_s - 60.0).abs() < 1e-6);
        assert!(
            (s.band_out_s + s.band_in_s - 40.0).abs() < 1e-6,
            "{} + {}",
            s.band_out_s,
            s.band_in_s
        );
        assert!((s.travel_out_s[0] - 20.0).abs() < 1e-6);
    }

    /// Same case, free cycle in [40, 80] s. With link time t (cycles) and half-cycle reds the
    /// two bands sum to at most 1 − (circular distance of 2t from a whole number), so the
    /// best cycle makes the link exactly half a cycle: C = 40 s (t = 20 s). Then offset
    /// B = 20 s passes the whole 20 s green both ways: 50 % efficiency each way.
    #[test]
    fn free_cycle_finds_the_half_cycle_link() {
        let p = MaxbandProblem {
            signals: vec![sig(0.0, 0.5, 0.5, 0.0), sig(300.0, 0.5, 0.5, 0.0)],
            cycle_min_s: 40.0,
            cycle_max_s: 80.0,
            speed_min_m_s: 15.0,
            speed_max_m_s: 15.0,
            max_inverse_speed_change_s_m: None,
            inbound_weight: 1.0,
        };
        let s = solve(&p).expect("solves");
        assert!((s.cycle_s - 40.0).abs() < 1e-4, "cycle {}", s.cycle_s);
        assert!((s.efficiency_out - 0.5).abs() < 1e-6);
        assert!((s.efficiency_in - 0.5).abs() < 1e-6);
    }

    /// A left-turn choice that matters. Same two signals; B's inbound red centre sits Δ after
    /// its outbound one. The loop constraint needs (w_0 + w̄_1) − (w_1 + w̄_0) = −(2/3 + Δ + m),
    /// and with b = b̄ = β every w is at most 1/2 − β, so the left side lies within
    /// ±(1 − 2β). Δ = −1/6: the nearest target is ±1/2 → β ≤ 1/4, b + b̄ = 1/2 cycle.
    /// Δ = 1/3: target 0 (m = −1) → β = 1/2, b + b̄ = 1 cycle. Offered both sequences the
    /// program picks the second.
    #[test]
    fn left_turn_sequence_is_chosen() {
        let mut signals = vec![sig(0.0, 0.5, 0.5, 0.0), sig(300.0, 0.5, 0.5, -1.0 / 6.0)];
        let base = hand_problem(signals.clone());
        let fixed = solve(&base).expect("solves");
        assert!((fixed.objective - 0.5).abs() < 1e-6, "{fixed:?}");
        signals[1].sequences = [-1.0 / 6.0, 1.0 / 3.0]
            .map(|shift| MaxbandSequence {
                red_out: 0.5,
                red_in: 0.5,
                inbound_red_shift: shift,
            })
            .to_vec();
        let free = solve(&MaxbandProblem { signals, ..base }).expect("solves");
        assert_eq!(free.sequence[1], 1);
        assert!((free.objective - 1.0).abs() < 1e-6, "{free:?}");
    }

    /// A sequence with longer through greens (lead-lag: each through runs on with its own
    /// left). Same two signals at 60 s, link 1/3 cycle; A red half the cycle both ways, B
    /// offers reds 0.5/0.5 (sequence 0) or 0.3/0.3 (sequence 1), Δ = 0 either way. The loop
    /// constraint's red terms cancel ((r_B − r_A)/2 + (r̄_A − r̄_B)/2 = 0), so with m = −1 it
    /// needs w_0 − w̄_0 + w̄_1 − w_1 = 1/3, and with b = b̄ = β: w_0, w̄_0 ≤ 1/2 − β,
    /// w_1, w̄_1 ≤ 1 − r_B − β. Sequence 0: 1 − 2β ≥ 1/3 → β = 1/3, b + b̄ = 2/3.
    /// Sequence 1: 1.2 − 2β ≥ 1/3 → β = 13/30, b + b̄ = 13/15 (with k = 1 any split of the
    /// sum within A's half-cycle greens does as well). The program takes sequence 1.
    #[test]
    fn a_sequence_with_longer_greens_is_chosen() {
        let mut signals = vec![sig(0.0, 0.5, 0.5, 0.0), sig(300.0, 0.5, 0.5, 0.0)];
        signals[1].sequences = [0.5, 0.3]
            .map(|r| MaxbandSequence {
                red_out: r,
                red_in: r,
                inbound_red_shift: 0.0,
            })
            .to_vec();
        let s = solve(&hand_problem(signals)).expect("solves");
        assert_eq!(s.sequence[1], 1);
        assert!((s.objective - 26.0 / 30.0).abs() < 1e-6, "{s:?}");
        // any split of the sum is optimal at k = 1; each band within A's half-cycle green
        assert!(s.efficiency_out <= 0.5 + 1e-9 && s.efficiency_in <= 0.5 + 1e-9);
    }

    #[test]
    fn left_turn_shifts_are_symmetric() {
        let s = left_turn_shifts(0.1, 0.2);
        assert!((s[0] - 0.05).abs() < 1e-12 && (s[1] + 0.05).abs() < 1e-12);
        assert!((s[2] + 0.15).abs() < 1e-12 && (s[3] - 0.15).abs() < 1e-12);
    }
}
