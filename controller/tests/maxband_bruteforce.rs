//! The MAXBAND program is exact: on random 3- and 4-signal corridors at a fixed cycle and
//! fixed stage order, its objective matches a brute-force enumeration of every offset on a
//! 0.5 s grid (evaluated with the independent arc-intersection `bands`), and its own offsets
//! achieve the bands it claims.

use controller::optimize::corridor::{bands, maxband_offsets, BandProblem, Window};
use proptest::prelude::*;

const STEP_S: f64 = 0.5;

/// `b + k·b̄` with MAXBAND's directional constraint `(1 − k)·b̄ ≥ (1 − k)·k·b`: any narrower
/// band also fits, so the best constrained pair under the available (bo, bi).
fn value(k: f64, bo: f64, bi: f64) -> f64 {
    let (b, bb) = if k < 1.0 {
        (bo.min(bi / k), bi)
    } else if k > 1.0 {
        (bo, bi.min(k * bo))
    } else {
        (bo, bi)
    };
    b + k * bb
}

/// Best value over the grid with the first offset at 0 (a common shift changes no band):
/// (best over offsets where both bands exist — the program's feasible set —, best overall).
fn brute_force(p: &BandProblem) -> (Option<f64>, f64) {
    let n = p.out_windows.len();
    let steps = (p.cycle_s / STEP_S).round() as usize;
    let mut idx = vec![0usize; n - 1];
    let mut o = vec![0.0; n];
    let (mut both, mut any) = (None::<f64>, 0.0f64);
    loop {
        for (j, i) in idx.iter().enumerate() {
            o[j + 1] = *i as f64 * STEP_S;
        }
        let (bo, _, bi, _) = bands(p, &o);
        let v = value(p.inbound_weight, bo, bi);
        any = any.max(v);
        if bo > 1e-9 && bi > 1e-9 {
            both = Some(both.map_or(v, |b| b.max(v)));
        }
        // odometer over the n − 1 free offsets
        let mut j = 0;
        loop {
            if j == idx.len() {
                return (both, any);
            }
            idx[j] += 1;
            if idx[j] < steps {
                break;
            }
            idx[j] = 0;
            j += 1;
        }
    }
}

fn corridor(
    cycle_s: f64,
    spacings_m: &[f64],
    speed_m_s: f64,
    greens: &[(f64, f64, f64, f64)],
    k: f64,
) -> BandProblem {
    let mut xs = vec![0.0];
    for d in spacings_m {
        xs.push(xs.last().copied().unwrap_or(0.0) + d);
    }
    let total = xs.last().copied().unwrap_or(0.0);
    let win = |start: f64, frac: f64| {
        vec![Window {
            start_s: (start * cycle_s).floor(),
            green_s: (frac * cycle_s).round(),
            yellow_s: 3.0,
        }]
    };
    BandProblem {
        cycle_s,
        out_windows: greens.iter().map(|g| win(g.0, g.1)).collect(),
        in_windows: greens.iter().map(|g| win(g.2, g.3)).collect(),
        t_out_s: xs.iter().map(|x| x / speed_m_s).collect(),
        t_in_s: xs.iter().map(|x| (total - x) / speed_m_s).collect(),
        inbound_weight: k,
    }
}

fn check(p: &BandProblem) -> Result<(), TestCaseError> {
    let k = p.inbound_weight;
    let (both, any) = brute_force(p);
    match maxband_offsets(p) {
        Ok((o, s)) => {
            let c = p.cycle_s;
            prop_assert!(o.iter().all(|x| (0.0..c).contains(x)), "offsets {o:?}");
            // the program's offsets achieve its claimed bands
            let (bo, _, bi, _) = bands(p, &o);
            prop_assert!(
                bo >= s.band_out_s - 1e-6,
                "out {bo} < claimed {}",
                s.band_out_s
            );
            prop_assert!(
                bi >= s.band_in_s - 1e-6,
                "in {bi} < claimed {}",
                s.band_in_s
            );
            // directional constraint
            prop_assert!((1.0 - k) * (s.band_in_s - k * s.band_out_s) >= -1e-6);
            let milp_s = (s.band_out_s + k * s.band_in_s).max(0.0);
            // no grid point beats it (every two-band grid point is feasible for the program)
            if let Some(bf) = both {
                prop_assert!(milp_s >= bf - 1e-6, "MILP {milp_s} < brute force {bf}");
            }
            // and the grid gets within its resolution of it: moving each offset to the grid
            // costs each band at most one step, which the constraint can pass on
            let tol = STEP_S * (1.0 + k + 1.0 / k + k * k) + 1e-6;
            prop_assert!(
                milp_s <= any + tol,
                "MILP {milp_s} > brute force {any} + {tol}"
            );
        }
        Err(e) => {
            // infeasible: no offsets give both directions a band
            prop_assert!(
                both.is_none(),
                "MILP failed ({e}) but brute force found {both:?}"
            );
        }
    }
    Ok(())
}

fn greens(n: usize) -> impl Strategy<Value = Vec<(f64, f64, f64, f64)>> {
    prop::collection::vec((0.0..1.0, 0.35..0.7, 0.0..1.0, 0.35..0.7), n)
}

fn weight() -> impl Strategy<Value = f64> {
    prop_oneof![Just(1.0), 0.5..2.0f64]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn three_signals_match_brute_force(
        cycle in 50u32..90,
        spacings in prop::collection::vec(200.0..600.0f64, 2),
        speed in 10.0..16.0f64,
        g in greens(3),
        k in weight(),
    ) {
        check(&corridor(cycle as f64, &spacings, speed, &g, k))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    #[test]
    fn four_signals_match_brute_force(
        cycle in 40u32..56,
        spacings in prop::collection::vec(200.0..600.0f64, 3),
        speed in 10.0..16.0f64,
        g in greens(4),
        k in weight(),
    ) {
        check(&corridor(cycle as f64, &spacings, speed, &g, k))?;
    }
}
