//! Webster's (1958) cycle and split formulas and his delay model — the textbook core of
//! fixed-time timing, used here on *estimated* flows every cycle.
//!
//! - optimum cycle `C₀ = (1.5·L + 5) / (1 − Y)`, `L` the lost time per cycle, `Y = Σ yᵢ` the sum
//!   of the stages' critical flow ratios (flow ÷ saturation flow);
//! - effective greens in proportion to the flow ratios, `gᵢ = (yᵢ / Y)·(C − L)`, which equalises
//!   the degrees of saturation `xᵢ = yᵢ·C / gᵢ` (degree-of-saturation balancing);
//! - delay per vehicle `d = C(1−λ)² / (2(1−λx)) + x² / (2q(1−x))` (uniform + random terms,
//!   without the empirical correction), `λ = g / C`.

/// Webster's optimum cycle, seconds. `None` when the junction is oversaturated (`Y ≥ 1`), where
/// the formula has no finite answer and the caller must use its maximum cycle.
pub fn optimum_cycle_s(lost_time_s: f64, flow_ratio_sum: f64) -> Option<f64> {
    if !(lost_time_s.is_finite() && flow_ratio_sum.is_finite()) || flow_ratio_sum >= 1.0 {
        return None;
    }
    Some((1.5 * lost_time_s + 5.0) / (1.0 - flow_ratio_sum.max(0.0)))
}

/// Effective greens in proportion to flow ratios, summing to `cycle_s − lost_time_s`. With no
/// demand at all the green is shared equally.
pub fn proportional_greens_s(flow_ratios: &[f64], cycle_s: f64, lost_time_s: f64) -> Vec<f64> {
    let total: f64 = flow_ratios.iter().map(|y| y.max(0.0)).sum();
    let g = (cycle_s - lost_time_s).max(0.0);
    if total <= 0.0 {
        return vec![g / flow_ratios.len().max(1) as f64; flow_ratios.len()];
    }
    flow_ratios.iter().map(|y| y.max(0.0) / total * g).collect()
}

/// Webster's average delay per vehicle of one movement, seconds (uniform + random terms).
/// `flow_veh_s` is the arrival flow, `capacity` enters through `x = flow / (s·g/C)`.
pub fn delay_s(
    cycle_s: f64,
    effective_green_s: f64,
    flow_veh_s: f64,
    saturation_veh_s: f64,
) -> f64 {
    let lambda = (effective_green_s / cycle_s).clamp(0.0, 1.0);
    let capacity = saturation_veh_s * lambda;
    if flow_veh_s <= 0.0 {
        return cycle_s * (1.0 - lambda).powi(2) / 2.0;
    }
    if capacity <= 0.0 {
        return f64::INFINITY;
    }
    let x = flow_veh_s / capacity;
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let uniform = cycle_s * (1.0 - lambda).powi(2) / (2.0 * (1.0 - lambda * x));
    let random = x * x / (2.0 * flow_veh_s * (1.0 - x));
    uniform + random
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook two-stage Webster example (as taught after Webster 1958, e.g. Garber &
    /// Hoel, "Traffic and Highway Engineering", ch. on signal timing):
    /// critical flows N–S 600 veh/h and E–W 450 veh/h, saturation flow 1,800 veh/h, lost time
    /// 4 s per stage (L = 8 s).
    /// By hand: y₁ = 600/1800 = 0.3333, y₂ = 450/1800 = 0.25, Y = 0.5833;
    /// C₀ = (1.5·8 + 5)/(1 − 0.5833) = 17/0.41667 = 40.80 s;
    /// effective green 40.80 − 8 = 32.80 s; g₁ = 0.3333/0.5833·32.80 = 18.74 s,
    /// g₂ = 0.25/0.5833·32.80 = 14.06 s; x₁ = x₂ = Y·C/(C − L) = 0.5833·40.8/32.8 = 0.7256.
    #[test]
    fn webster_textbook_two_stage() {
        let y = [600.0 / 1800.0, 450.0 / 1800.0];
        let c = optimum_cycle_s(8.0, y[0] + y[1]).unwrap();
        assert!((c - 40.80).abs() < 0.01, "C0 = {c}");
        let g = proportional_greens_s(&y, c, 8.0);
        assert!((g[0] - 18.74).abs() < 0.01, "g1 = {}", g[0]);
        assert!((g[1] - 14.06).abs() < 0.01, "g2 = {}", g[1]);
        let x1 = y[0] * c / g[0];
        let x2 = y[1] * c / g[1];
        assert!((x1 - 0.7256).abs() < 1e-3 && (x1 - x2).abs() < 1e-9);
    }

    /// Delay of the N–S stage above, by hand: λ = 18.74/40.80 = 0.4593, q = 1/6 veh/s, x = 0.7256;
    /// uniform 40.80·0.5407²/(2·(1 − 0.4593·0.7256)) = 11.928/1.3334 = 8.946 s;
    /// random 0.7256²/(2·0.16667·0.2744) = 0.52650/0.09147 = 5.756 s; total 14.70 s.
    #[test]
    fn webster_delay_by_hand() {
        let d = delay_s(40.80, 18.74, 600.0 / 3600.0, 0.5);
        assert!((d - 14.70).abs() < 0.05, "d = {d}");
        assert_eq!(optimum_cycle_s(8.0, 1.02), None);
        assert!(delay_s(60.0, 20.0, 0.3, 0.5).is_infinite());
    }
}
