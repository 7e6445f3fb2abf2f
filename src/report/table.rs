//! The comparison table printed by `compare` and `demo`: one row per strategy, one column per
//! metric, each change against the baseline (the first row) in brackets.

use serde::Serialize;
use sim::Metrics;
use std::fmt::Write;

/// A metric column of the table.
struct Column {
    header: &'static str,
    unit: &'static str,
    get: fn(&Metrics) -> f64,
    decimals: usize,
}

/// A column: header, unit, how to read it, decimals shown.
const fn column(
    header: &'static str,
    unit: &'static str,
    get: fn(&Metrics) -> f64,
    decimals: usize,
) -> Column {
    Column {
        header,
        unit,
        get,
        decimals,
    }
}

const COLUMNS: [Column; 7] = [
    column("travel time", "s", |m| m.average_travel_time_s, 1),
    column("entering-lane", "s", |m| m.entering_lane_travel_time_s, 1),
    column("delay", "s/veh", |m| m.mean_delay_s, 1),
    column("stops", "/veh", |m| m.stops_per_vehicle, 2),
    column("speed", "km/h", |m| m.mean_speed_m_s * 3.6, 1),
    column("throughput", "veh", |m| m.vehicles_completed as f64, 0),
    column("violations", "", |m| m.safety_violations as f64, 0),
];

/// Percentage change of `v` against `base` (None when the base is 0).
pub(crate) fn change_pct(base: f64, v: f64) -> Option<f64> {
    (base.abs() > 1e-12).then(|| (v - base) / base * 100.0)
}

/// Whether a run ended with every vehicle whose departure time had come through the network:
/// none still driving, none still waiting to enter. A run that did not finish averages over a
/// different set of vehicles, so its figures do not compare like for like.
pub(crate) fn finished(m: &Metrics) -> bool {
    m.vehicles_running == 0 && m.vehicles_waiting == 0
}

/// `12345678` as `12,345,678`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a run left unfinished, in words; None when it finished.
pub(crate) fn unfinished_note(m: &Metrics) -> Option<String> {
    (!finished(m)).then(|| {
        format!(
            "did not finish: {} of {} vehicles completed ({:.2} %; {} still driving, {} still waiting to enter at the end, counted with their time so far)",
            thousands(m.vehicles_completed),
            thousands(m.vehicles_generated),
            m.vehicles_completed as f64 / m.vehicles_generated.max(1) as f64 * 100.0,
            thousands(m.vehicles_running),
            thousands(m.vehicles_waiting)
        )
    })
}

/// Marks a row whose run did not finish; explained under the table.
const UNFINISHED_MARK: &str = " *";

/// Render the table. `runs[0]` is the baseline.
pub(crate) fn render(runs: &[(String, Metrics)]) -> String {
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
    let names: Vec<String> = runs
        .iter()
        .map(|(n, m)| {
            if finished(m) {
                n.clone()
            } else {
                format!("{n}{UNFINISHED_MARK}")
            }
        })
        .collect();
    let name_w = names.iter().map(String::len).max().unwrap_or(0).max(8);
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
    for (k, name) in names.iter().enumerate() {
        let _ = write!(out, "{name:<name_w$}");
        for (c, cell) in cells[k].iter().enumerate() {
            let _ = write!(out, "  {:>w$}", cell, w = widths[c]);
        }
        out.push('\n');
    }
    if runs.len() > 1 {
        let _ = writeln!(out, "(changes in brackets are against {})", runs[0].0);
    }
    for (name, m) in runs {
        if let Some(note) = unfinished_note(m) {
            let _ = writeln!(out, "* {name}: {note}");
        }
    }
    out
}

/// Machine-readable form of the same comparison.
#[derive(Serialize)]
pub(crate) struct Comparison<'a> {
    pub baseline: &'a str,
    /// Metrics by strategy, in run order.
    pub strategies: Vec<Named<'a>>,
}

#[derive(Serialize)]
pub(crate) struct Named<'a> {
    pub control: &'a str,
    #[serde(flatten)]
    pub metrics: &'a Metrics,
    /// False when vehicles were still driving or waiting to enter at the end ([`finished`]).
    pub finished: bool,
    /// % change against the baseline of the headline metrics.
    pub change_vs_baseline_pct: ChangePct,
}

#[derive(Serialize, Default)]
pub(crate) struct ChangePct {
    pub average_travel_time_s: Option<f64>,
    pub entering_lane_travel_time_s: Option<f64>,
    pub mean_delay_s: Option<f64>,
    pub stops_per_vehicle: Option<f64>,
    pub mean_speed_m_s: Option<f64>,
    pub vehicles_completed: Option<f64>,
}

impl ChangePct {
    pub(crate) fn of(base: &Metrics, m: &Metrics) -> ChangePct {
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

    fn named(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("travel time", self.average_travel_time_s),
            ("entering-lane", self.entering_lane_travel_time_s),
            ("delay", self.mean_delay_s),
            ("stops", self.stops_per_vehicle),
            ("speed", self.mean_speed_m_s),
            ("throughput", self.vehicles_completed),
        ]
    }

    /// The largest absolute change over the metrics that have one, %.
    pub(crate) fn max_abs(&self) -> f64 {
        self.named()
            .iter()
            .filter_map(|(_, v)| v.map(f64::abs))
            .fold(0.0, f64::max)
    }

    /// `travel time +0.01 %, …` for a report line.
    pub(crate) fn describe(&self) -> String {
        self.named()
            .iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n} {v:+.2} %"),
                None => format!("{n} -"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One run's metrics as JSON (`sim --json`), with whether it finished.
#[derive(Serialize)]
pub(crate) struct RunJson<'a> {
    #[serde(flatten)]
    pub metrics: &'a Metrics,
    /// False when vehicles were still driving or waiting to enter at the end ([`finished`]).
    pub finished: bool,
}

impl RunJson<'_> {
    pub(crate) fn of(m: &Metrics) -> RunJson<'_> {
        RunJson {
            metrics: m,
            finished: finished(m),
        }
    }
}

pub(crate) fn comparison(runs: &[(String, Metrics)]) -> Comparison<'_> {
    let base = &runs[0].1;
    Comparison {
        baseline: &runs[0].0,
        strategies: runs
            .iter()
            .map(|(n, m)| Named {
                control: n,
                metrics: m,
                finished: finished(m),
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
        // both runs finished: no marker, no note
        assert!(!t.contains('*'), "{t}");
    }

    #[test]
    fn a_run_that_did_not_finish_says_so() {
        let done = Metrics {
            vehicles_generated: 60_839,
            vehicles_entered: 60_839,
            vehicles_completed: 60_839,
            ..Metrics::default()
        };
        let stuck = Metrics {
            vehicles_generated: 60_839,
            vehicles_entered: 30_000,
            vehicles_completed: 18_949,
            vehicles_running: 11_051,
            vehicles_waiting: 30_839,
            ..Metrics::default()
        };
        let runs = [("fixed-time".into(), done), ("adaptive".into(), stuck)];
        let t = render(&runs);
        let row = t.lines().find(|l| l.starts_with("adaptive")).unwrap();
        assert!(row.starts_with("adaptive *"), "{t}");
        let row = t.lines().find(|l| l.starts_with("fixed-time")).unwrap();
        assert!(!row.contains('*'), "{t}");
        assert!(
            t.contains("* adaptive: did not finish: 18,949 of 60,839 vehicles completed (31.15 %; 11,051 still driving, 30,839 still waiting to enter at the end, counted with their time so far)"),
            "{t}"
        );
        let json = serde_json::to_value(comparison(&runs)).unwrap();
        assert_eq!(json["strategies"][0]["finished"], true);
        assert_eq!(json["strategies"][1]["finished"], false);
        let one = serde_json::to_value(RunJson::of(&runs[1].1)).unwrap();
        assert_eq!(one["finished"], false);
        assert_eq!(one["vehicles_completed"], 18_949);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(60_839), "60,839");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
