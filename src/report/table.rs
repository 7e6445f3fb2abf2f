//! The comparison table printed by `compare` and `demo`: one row per strategy, one column per
//! metric, each change against the baseline (the first row) in brackets.

use serde::Serialize;
use sim::Metrics;
use std::fmt::Write;

/// A metric column: header, unit, how to read it from the metrics, and whether lower is better.
struct Column {
    header: &'static str,
    unit: &'static str,
    get: fn(&Metrics) -> f64,
    decimals: usize,
}

const COLUMNS: [Column; 7] = [
    Column {
        header: "travel time",
        unit: "s",
        get: |m| m.average_travel_time_s,
        decimals: 1,
    },
    Column {
        header: "entering-lane",
        unit: "s",
        get: |m| m.entering_lane_travel_time_s,
        decimals: 1,
    },
    Column {
        header: "delay",
        unit: "s/veh",
        get: |m| m.mean_delay_s,
        decimals: 1,
    },
    Column {
        header: "stops",
        unit: "/veh",
        get: |m| m.stops_per_vehicle,
        decimals: 2,
    },
    Column {
        header: "speed",
        unit: "km/h",
        get: |m| m.mean_speed_m_s * 3.6,
        decimals: 1,
    },
    Column {
        header: "throughput",
        unit: "veh",
        get: |m| m.vehicles_completed as f64,
        decimals: 0,
    },
    Column {
        header: "violations",
        unit: "",
        get: |m| m.safety_violations as f64,
        decimals: 0,
    },
];

/// Percentage change of `v` against `base` (None when the base is 0).
pub fn change_pct(base: f64, v: f64) -> Option<f64> {
    (base.abs() > 1e-12).then(|| (v - base) / base * 100.0)
}

/// Render the table. `runs[0]` is the baseline.
pub fn render(runs: &[(String, Metrics)]) -> String {
    let mut cells: Vec<Vec<String>> = Vec::new();
    let base = runs.first().map(|r| &r.1);
    for (k, (_, m)) in runs.iter().enumerate() {
        let row = COLUMNS
            .iter()
            .map(|c| {
                let v = (c.get)(m);
                let mut s = format!("{v:.*}", c.decimals);
                if k > 0 && c.header != "violations" {
                    if let Some(p) = base.and_then(|b| change_pct((c.get)(b), v)) {
                        let _ = write!(s, " ({p:+.1}%)");
                    }
                }
                s
            })
            .collect();
        cells.push(row);
    }
    let name_w = runs.iter().map(|r| r.0.len()).max().unwrap_or(0).max(8);
    let widths: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(c, col)| {
            cells
                .iter()
                .map(|r| r[c].len())
                .chain([col.header.len(), col.unit.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:<name_w$}", "strategy");
    for (c, col) in COLUMNS.iter().enumerate() {
        let _ = write!(out, "  {:>w$}", col.header, w = widths[c]);
    }
    out.push('\n');
    let _ = write!(out, "{:<name_w$}", "");
    for (c, col) in COLUMNS.iter().enumerate() {
        let _ = write!(out, "  {:>w$}", col.unit, w = widths[c]);
    }
    out.push('\n');
    for (k, (name, _)) in runs.iter().enumerate() {
        let _ = write!(out, "{name:<name_w$}");
        for (c, cell) in cells[k].iter().enumerate() {
            let _ = write!(out, "  {:>w$}", cell, w = widths[c]);
        }
        out.push('\n');
    }
    if runs.len() > 1 {
        let _ = writeln!(out, "(changes in brackets are against {})", runs[0].0);
    }
    out
}

/// Machine-readable form of the same comparison.
#[derive(Serialize)]
pub struct Comparison<'a> {
    pub baseline: &'a str,
    /// Metrics by strategy, in run order.
    pub strategies: Vec<Named<'a>>,
}

#[derive(Serialize)]
pub struct Named<'a> {
    pub control: &'a str,
    #[serde(flatten)]
    pub metrics: &'a Metrics,
    /// % change against the baseline of the headline metrics.
    pub change_vs_baseline_pct: ChangePct,
}

#[derive(Serialize, Default)]
pub struct ChangePct {
    pub average_travel_time_s: Option<f64>,
    pub entering_lane_travel_time_s: Option<f64>,
    pub mean_delay_s: Option<f64>,
    pub stops_per_vehicle: Option<f64>,
    pub mean_speed_m_s: Option<f64>,
    pub vehicles_completed: Option<f64>,
}

impl ChangePct {
    pub fn of(base: &Metrics, m: &Metrics) -> ChangePct {
        ChangePct {
            average_travel_time_s: change_pct(base.average_travel_time_s, m.average_travel_time_s),
            entering_lane_travel_time_s: change_pct(
                base.entering_lane_travel_time_s,
                m.entering_lane_travel_time_s,
            ),
            mean_delay_s: change_pct(base.mean_delay_s, m.mean_delay_s),
            stops_per_vehicle: change_pct(base.stops_per_vehicle, m.stops_per_vehicle),
            mean_speed_m_s: change_pct(base.mean_speed_m_s, m.mean_speed_m_s),
            vehicles_completed: change_pct(
                base.vehicles_completed as f64,
                m.vehicles_completed as f64,
            ),
        }
    }
}

pub fn comparison(runs: &[(String, Metrics)]) -> Comparison<'_> {
    let base = &runs[0].1;
    Comparison {
        baseline: &runs[0].0,
        strategies: runs
            .iter()
            .map(|(n, m)| Named {
                control: n,
                metrics: m,
                change_vs_baseline_pct: ChangePct::of(base, m),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_against_the_first_row() {
        let a = Metrics {
            average_travel_time_s: 200.0,
            mean_speed_m_s: 5.0,
            ..Metrics::default()
        };
        let b = Metrics {
            average_travel_time_s: 150.0,
            mean_speed_m_s: 7.0,
            ..Metrics::default()
        };
        let t = render(&[
            ("fixed-time".into(), a.clone()),
            ("adaptive".into(), b.clone()),
        ]);
        assert!(t.contains("150.0 (-25.0%)"), "{t}");
        assert!(t.contains("25.2 (+40.0%)"), "{t}");
        let c = ChangePct::of(&a, &b);
        assert_eq!(c.average_travel_time_s, Some(-25.0));
    }
}
