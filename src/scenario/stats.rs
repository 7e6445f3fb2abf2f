//! Means with Student-t confidence intervals, and paired differences, for `compare --scenario`.
//! The t quantile is computed (regularized incomplete beta function, bisection), not looked up,
//! so any number of seeds gets its exact interval.

use serde::Serialize;

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection
        std::f64::consts::PI.ln() - (std::f64::consts::PI * x).sin().ln() - ln_gamma(1.0 - x)
    } else {
        let x = x - 1.0;
        let mut a = G[0];
        let t = x + 7.5;
        for (i, g) in G.iter().enumerate().skip(1) {
            a += g / (x + i as f64);
        }
        0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function I_x(a, b).
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom.
pub(crate) fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile (0.5 < p < 1) of Student's t with `df` ≥ 1 degrees of freedom, to 1e-10.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Mean of a sample with its 95 % confidence interval (Student t, n − 1 degrees of freedom).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub(crate) struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); None for one value.
    pub sd: Option<f64>,
    /// Half the interval's width: t₀.₉₇₅,ₙ₋₁ · sd / √n; None for one value.
    pub half_width_95: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

impl Estimate {
    /// `values` must not be empty.
    pub(crate) fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate {
                n,
                mean,
                sd: None,
                half_width_95: None,
                ci95_low: None,
                ci95_high: None,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let hw = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
        Estimate {
            n,
            mean,
            sd: Some(sd),
            half_width_95: Some(hw),
            ci95_low: Some(mean - hw),
            ci95_high: Some(mean + hw),
        }
    }

    /// Whether the interval leaves out 0 (a difference significant at the 5 % level, two-sided).
    pub(crate) fn excludes_zero(&self) -> bool {
        matches!((self.ci95_low, self.ci95_high), (Some(lo), Some(hi)) if lo > 0.0 || hi < 0.0)
    }
}

/// The paired difference `b − a` (seed by seed) as an estimate: a paired t interval.
pub(crate) fn paired_difference(a: &[f64], b: &[f64]) -> Estimate {
    debug_assert_eq!(a.len(), b.len());
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    Estimate::of(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_table() {
        // two-sided 95 % critical values from a printed t table (3 decimals)
        for (df, t) in [
            (1.0, 12.706),
            (2.0, 4.303),
            (4.0, 2.776),
            (9.0, 2.262),
            (19.0, 2.093),
            (29.0, 2.045),
            (120.0, 1.980),
        ] {
            let q = t_quantile(0.975, df);
            assert!((q - t).abs() < 5e-4, "df {df}: {q} vs {t}");
        }
        // df = 1 is the Cauchy distribution: tan(π (p − ½)) exactly
        let exact = (std::f64::consts::PI * 0.475).tan();
        assert!((t_quantile(0.975, 1.0) - exact).abs() < 1e-8);
        // df = 2 has a closed form: t = (2p − 1) √(2 / (1 − (2p − 1)²))
        let a: f64 = 2.0 * 0.975 - 1.0;
        let exact = a * (2.0 / (1.0 - a * a)).sqrt();
        assert!((t_quantile(0.975, 2.0) - exact).abs() < 1e-8);
    }

    #[test]
    fn mean_and_interval_of_a_known_sample() {
        // 1..=10: mean 5.5, variance Σ(x − 5.5)² / 9 = 82.5 / 9, sd 3.02765;
        // half width 2.262157 × 3.02765 / √10 = 2.16585
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = Estimate::of(&v);
        assert_eq!(e.n, 10);
        assert!((e.mean - 5.5).abs() < 1e-12);
        assert!((e.sd.unwrap() - (82.5f64 / 9.0).sqrt()).abs() < 1e-12);
        assert!((e.half_width_95.unwrap() - 2.16585).abs() < 1e-4, "{e:?}");
        assert!(e.excludes_zero());
        // three values 10, 12, 14: sd 2, half width 4.303 × 2 / √3 = 4.9687
        let e = Estimate::of(&[10.0, 12.0, 14.0]);
        assert!((e.half_width_95.unwrap() - 4.9687).abs() < 1e-3, "{e:?}");
        // one value: no interval
        let e = Estimate::of(&[3.0]);
        assert_eq!((e.sd, e.half_width_95), (None, None));
        assert!(!e.excludes_zero());
    }

    #[test]
    fn paired_differences() {
        // b − a = 1, 2, 3, 2, 2: mean 2, sd √0.5, half width 2.776 × 0.7071 / √5 = 0.8780
        let a = [10.0, 20.0, 30.0, 40.0, 50.0];
        let b = [11.0, 22.0, 33.0, 42.0, 52.0];
        let d = paired_difference(&a, &b);
        assert!((d.mean - 2.0).abs() < 1e-12);
        assert!((d.half_width_95.unwrap() - 0.8780).abs() < 1e-3, "{d:?}");
        assert!(d.excludes_zero());
        // a difference that changes sign is not significant
        let d = paired_difference(&[1.0, 2.0, 3.0], &[2.0, 1.0, 3.5]);
        assert!(!d.excludes_zero());
    }
}
