//! `greenwave compare --scenario a.toml --scenario b.toml`: every (scenario × strategy × seed)
//! in parallel, then per scenario and strategy the mean of each metric with its 95 % interval,
//! and paired differences (strategy against the first strategy, scenario against the first
//! scenario) with their intervals and significance. Text, `--json`, and `--out DIR`.

use super::stats::{paired_difference, Estimate};
use super::{DemandChange, Scenario};
use crate::cmd::common::{load_demands, out, outln, parse::MAX_SIM_DURATION_S};
use crate::cmd::compare::{default_duration_s, run_jobs, Args, Job, RunResult, Strategy};
use crate::report::charts::{self, Series};
use anyhow::Context;
use serde::Serialize;
use sim::Metrics;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// A metric the comparison reports: key (JSON/CSV), header, unit, reader, decimals shown.
struct Metric {
    key: &'static str,
    header: &'static str,
    unit: &'static str,
    get: fn(&Metrics) -> f64,
    decimals: usize,
}

const METRICS: [Metric; 6] = [
    Metric {
        key: "average_travel_time_s",
        header: "travel time",
        unit: "s",
        get: |m| m.average_travel_time_s,
        decimals: 1,
    },
    Metric {
        key: "entering_lane_travel_time_s",
        header: "entering-lane",
        unit: "s",
        get: |m| m.entering_lane_travel_time_s,
        decimals: 1,
    },
    Metric {
        key: "mean_delay_s",
        header: "delay",
        unit: "s/veh",
        get: |m| m.mean_delay_s,
        decimals: 1,
    },
    Metric {
        key: "stops_per_vehicle",
        header: "stops",
        unit: "/veh",
        get: |m| m.stops_per_vehicle,
        decimals: 2,
    },
    Metric {
        key: "mean_speed_km_h",
        header: "speed",
        unit: "km/h",
        get: |m| m.mean_speed_m_s * 3.6,
        decimals: 1,
    },
    Metric {
        key: "vehicles_completed",
        header: "completed",
        unit: "veh",
        get: |m| m.vehicles_completed as f64,
        decimals: 0,
    },
];

#[derive(Serialize)]
struct Report<'a> {
    network: String,
    demand: String,
    duration_s: f64,
    seeds: &'a [u64],
    strategies: &'a [String],
    scenarios: Vec<ScenarioJson>,
    /// Per scenario and strategy: each metric's mean and 95 % interval over the seeds.
    results: Vec<ResultJson>,
    /// Each strategy against the first, on the same scenario, paired by seed (other − first).
    strategy_differences: Vec<DiffJson>,
    /// Each scenario against the first, on the same strategy, paired by seed (other − first).
    scenario_differences: Vec<DiffJson>,
}

#[derive(Serialize)]
struct ScenarioJson {
    name: String,
    file: String,
    description: Option<String>,
    edits: Vec<String>,
    trips: Vec<TripsJson>,
}

#[derive(Serialize)]
struct TripsJson {
    seed: u64,
    before: usize,
    after: usize,
    rerouted_banned_turn: usize,
    rerouted_closed_road: usize,
    dropped_no_route: usize,
}

#[derive(Serialize)]
struct ResultJson {
    scenario: String,
    strategy: String,
    metrics: BTreeMap<&'static str, Estimate>,
}

#[derive(Serialize)]
struct DiffJson {
    scenario: String,
    strategy: String,
    /// What the difference is taken against: a strategy or a scenario name.
    against: String,
    metrics: BTreeMap<&'static str, DiffEstimate>,
}

#[derive(Serialize)]
struct DiffEstimate {
    #[serde(flatten)]
    estimate: Estimate,
    /// The 95 % interval of the paired difference leaves out 0.
    significant: bool,
}

pub(crate) fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let net = args.replay.load_network()?;
    let scenarios: Vec<Scenario> = args
        .scenarios
        .iter()
        .map(|p| super::load(p, &net))
        .collect::<anyhow::Result<_>>()?;
    for (k, s) in scenarios.iter().enumerate() {
        if let Some(o) = scenarios[..k].iter().find(|o| o.name == s.name) {
            anyhow::bail!(
                "{}: scenario name '{}' is also the name of {}: give each a distinct `name`",
                s.file,
                s.name,
                o.file
            );
        }
    }
    let seeds: Vec<u64> = match (&args.seed_list, args.seeds) {
        (Some(list), _) => {
            anyhow::ensure!(!list.is_empty(), "--seed-list names no seed");
            let mut sorted = list.clone();
            sorted.sort_unstable();
            sorted.dedup();
            anyhow::ensure!(sorted.len() == list.len(), "--seed-list names a seed twice");
            anyhow::ensure!(list.len() <= 1000, "--seed-list: at most 1000 seeds");
            list.clone()
        }
        (None, n) => (0..u64::from(n.unwrap_or(5)))
            .map(|k| args.replay.seed.checked_add(k))
            .collect::<Option<_>>()
            .context("--seed + --seeds passes the largest seed")?,
    };
    let runs = scenarios.len() * args.controls.len() * seeds.len();
    anyhow::ensure!(
        runs <= 10_000,
        "{runs} runs (scenarios × strategies × seeds): at most 10000"
    );
    // each seed's demand, then each scenario's edits of it
    let mut demands: Vec<Vec<(roadnet::Demand, DemandChange)>> = vec![Vec::new(); scenarios.len()];
    // (a count file is parsed once for all the seeds; each seed's base demand is dropped
    // once its scenarios are built from it)
    let bases = load_demands(&args.replay.demand, &net, &seeds)?;
    for (&seed, base) in seeds.iter().zip(bases) {
        for (k, s) in scenarios.iter().enumerate() {
            demands[k].push(s.apply_demand(&base, seed));
        }
    }
    // every strategy builds on every scenario before any simulation starts
    for (k, s) in scenarios.iter().enumerate() {
        for c in &args.controls {
            s.controller(c, demands[k].first().map(|d| &d.0))
                .with_context(|| format!("{}: strategy '{c}'", s.file))?;
        }
    }
    let last = demands
        .iter()
        .flatten()
        .map(|(d, _)| d.last_departure_s())
        .fold(0.0, f64::max);
    let duration_s = args.replay.duration.unwrap_or_else(|| {
        default_duration_s(&roadnet::Demand {
            trips: vec![roadnet::Trip {
                departure_s: last,
                route: Vec::new(),
                params: roadnet::VehicleParams::default(),
            }],
        })
    });
    anyhow::ensure!(
        duration_s <= MAX_SIM_DURATION_S,
        "{}: the last departure is {last:.0} s in, past the {MAX_SIM_DURATION_S} s a replay may run; pass --duration",
        args.replay.demand.display(),
    );
    let nets: Vec<Arc<roadnet::RoadNet>> =
        scenarios.iter().map(|s| Arc::new(s.net.clone())).collect();
    let mut jobs = Vec::with_capacity(runs);
    for (k, s) in scenarios.iter().enumerate() {
        for c in &args.controls {
            for (j, &seed) in seeds.iter().enumerate() {
                let mut cfg = args
                    .replay
                    .sim_config(duration_s, controller::needs_vehicle_tracking(c));
                cfg.seed = seed;
                let demand = &demands[k][j].0;
                let mut strategy = Strategy::new(c.clone(), s.controller(c, Some(demand))?);
                strategy.detector_interval_s = controller::detector_interval_s(c);
                jobs.push(Job {
                    label: format!("{}/{c}/{seed}", s.name),
                    net: nets[k].clone(),
                    demand,
                    strategy,
                    cfg,
                    closures: s.closures.clone(),
                });
            }
        }
    }
    let json = args.replay.json;
    // Longest runs first, so that both cores stay busy to the end instead of one finishing
    // the last long run alone: the strategies that track every vehicle (the adaptive ones)
    // cost several times a fixed plan's run of the same day. The results go back into
    // (scenario, strategy, seed) order below.
    let mut perm: Vec<usize> = (0..jobs.len()).collect();
    perm.sort_by_key(|&i| {
        let c = &args.controls[(i / seeds.len()) % args.controls.len()];
        std::cmp::Reverse(controller::needs_vehicle_tracking(c))
    });
    let mut slots: Vec<Option<Job<'_>>> = jobs.into_iter().map(Some).collect();
    let ordered: Vec<Job<'_>> = perm.iter().filter_map(|&i| slots[i].take()).collect();
    let mut results: Vec<Option<RunResult>> = (0..perm.len()).map(|_| None).collect();
    for (&i, r) in perm.iter().zip(run_jobs(ordered, quiet || json, true)?) {
        results[i] = Some(r);
    }
    let results: Vec<RunResult> = results
        .into_iter()
        .collect::<Option<_>>()
        .context("a run's result is missing")?;
    // results[scenario][strategy][seed]
    let at = |k: usize, c: usize, j: usize| -> &RunResult {
        &results[(k * args.controls.len() + c) * seeds.len() + j]
    };
    let values = |k: usize, c: usize, m: &Metric| -> Vec<f64> {
        (0..seeds.len())
            .map(|j| (m.get)(&at(k, c, j).metrics))
            .collect()
    };

    let mut report = Report {
        network: args.replay.network.display().to_string(),
        demand: args.replay.demand.display().to_string(),
        duration_s,
        seeds: &seeds,
        strategies: &args.controls,
        scenarios: scenarios
            .iter()
            .enumerate()
            .map(|(k, s)| ScenarioJson {
                name: s.name.clone(),
                file: s.file.clone(),
                description: s.description.clone(),
                edits: s.summary(),
                trips: seeds
                    .iter()
                    .zip(&demands[k])
                    .map(|(seed, (_, ch))| TripsJson {
                        seed: *seed,
                        before: ch.trips_before,
                        after: ch.trips_after,
                        rerouted_banned_turn: ch.rerouted_banned,
                        rerouted_closed_road: ch.rerouted_closed,
                        dropped_no_route: ch.dropped_no_route,
                    })
                    .collect(),
            })
            .collect(),
        results: Vec::new(),
        strategy_differences: Vec::new(),
        scenario_differences: Vec::new(),
    };
    for (k, s) in scenarios.iter().enumerate() {
        for (c, name) in args.controls.iter().enumerate() {
            report.results.push(ResultJson {
                scenario: s.name.clone(),
                strategy: name.clone(),
                metrics: METRICS
                    .iter()
                    .map(|m| (m.key, Estimate::of(&values(k, c, m))))
                    .collect(),
            });
        }
    }
    let diff = |a: (usize, usize), b: (usize, usize)| -> BTreeMap<&'static str, DiffEstimate> {
        METRICS
            .iter()
            .map(|m| {
                let e = paired_difference(&values(a.0, a.1, m), &values(b.0, b.1, m));
                (
                    m.key,
                    DiffEstimate {
                        significant: e.excludes_zero(),
                        estimate: e,
                    },
                )
            })
            .collect()
    };
    for (k, s) in scenarios.iter().enumerate() {
        for (c, name) in args.controls.iter().enumerate().skip(1) {
            report.strategy_differences.push(DiffJson {
                scenario: s.name.clone(),
                strategy: name.clone(),
                against: args.controls[0].clone(),
                metrics: diff((k, 0), (k, c)),
            });
        }
    }
    for (k, s) in scenarios.iter().enumerate().skip(1) {
        for (c, name) in args.controls.iter().enumerate() {
            report.scenario_differences.push(DiffJson {
                scenario: s.name.clone(),
                strategy: name.clone(),
                against: scenarios[0].name.clone(),
                metrics: diff((0, c), (k, c)),
            });
        }
    }

    let json_text = serde_json::to_string_pretty(&report)?;
    if let Some(dir) = &args.out {
        write_folder(
            dir,
            &report,
            &json_text,
            &scenarios,
            &args.controls,
            &seeds,
            &demands,
            &at,
        )?;
    }
    if json {
        outln!("{json_text}")?;
    } else {
        out!("{}", render(&report))?;
        if let Some(dir) = &args.out {
            outln!(
                "report: {}/ (summary.json, runs.csv, travel_time.svg, one scenario_<n>.svg and travel_times_<n>.svg per scenario)",
                dir.display()
            )?;
        }
    }
    Ok(())
}

fn cell(e: &Estimate, decimals: usize, mark: bool) -> String {
    let mut s = match e.half_width_95 {
        Some(hw) => format!("{:.*} ± {:.*}", decimals, e.mean, decimals, hw),
        None => format!("{:.*}", decimals, e.mean),
    };
    if mark {
        s.push_str(if e.excludes_zero() { " *" } else { "  " });
    }
    s
}

/// The text report: the runs, the scenarios' edits, the means, the differences.
fn render(r: &Report<'_>) -> String {
    let mut o = String::new();
    let n = r.seeds.len();
    let _ = writeln!(
        o,
        "{} scenario(s) × {} strategies × {n} seeds = {} runs on {} with {} ({} s simulated; seeds {})",
        r.scenarios.len(),
        r.strategies.len(),
        r.scenarios.len() * r.strategies.len() * n,
        r.network,
        r.demand,
        r.duration_s,
        seed_text(r.seeds)
    );
    for s in &r.scenarios {
        let edits = if s.edits.is_empty() {
            "no edits".to_string()
        } else {
            s.edits.join("; ")
        };
        let mean_after =
            s.trips.iter().map(|t| t.after as f64).sum::<f64>() / s.trips.len().max(1) as f64;
        let mean_before =
            s.trips.iter().map(|t| t.before as f64).sum::<f64>() / s.trips.len().max(1) as f64;
        let rerouted: usize = s.trips.iter().map(|t| t.rerouted_banned_turn).sum();
        let around: usize = s.trips.iter().map(|t| t.rerouted_closed_road).sum();
        let dropped: usize = s.trips.iter().map(|t| t.dropped_no_route).sum();
        let mut routing = Vec::new();
        if rerouted > 0 {
            routing.push(format!("{rerouted} rerouted for a banned turn"));
        }
        if around > 0 {
            routing.push(format!("{around} rerouted around a closed road"));
        }
        if dropped > 0 {
            routing.push(format!(
                "{dropped} dropped with no route without a banned turn"
            ));
        }
        let _ = writeln!(
            o,
            "scenario '{}' ({}): {edits}; trips per seed {mean_before:.0} → {mean_after:.0} (mean){}",
            s.name,
            s.file,
            if routing.is_empty() {
                String::new()
            } else {
                format!(", over all seeds {}", routing.join(", "))
            }
        );
    }
    let widths: Vec<usize> = METRICS.iter().map(|m| m.header.len().max(17)).collect();
    let name_w = r
        .scenarios
        .iter()
        .map(|s| s.name.chars().count())
        .chain([8])
        .max()
        .unwrap_or(8);
    let strat_w = r
        .strategies
        .iter()
        .map(|s| s.chars().count())
        .chain([8])
        .max()
        .unwrap_or(8);
    let header = |o: &mut String| {
        let _ = write!(o, "{:<name_w$}  {:<strat_w$}", "scenario", "strategy");
        for (m, w) in METRICS.iter().zip(&widths) {
            let _ = write!(o, "  {:>w$}", format!("{} {}", m.header, m.unit));
        }
        let _ = writeln!(o);
    };
    let _ = writeln!(
        o,
        "\nmeans with 95 % confidence intervals (Student t, {} df):",
        n.saturating_sub(1)
    );
    header(&mut o);
    for res in &r.results {
        let _ = write!(o, "{:<name_w$}  {:<strat_w$}", res.scenario, res.strategy);
        for (m, w) in METRICS.iter().zip(&widths) {
            let _ = write!(o, "  {:>w$}", cell(&res.metrics[m.key], m.decimals, false));
        }
        let _ = writeln!(o);
    }
    for (title, list) in [
        (
            format!(
                "strategy differences, paired by seed (strategy − {}):",
                r.strategies[0]
            ),
            &r.strategy_differences,
        ),
        (
            format!(
                "scenario differences, paired by seed (scenario − '{}', same strategy):",
                r.scenarios[0].name
            ),
            &r.scenario_differences,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n{title}");
        header(&mut o);
        for d in list {
            let _ = write!(o, "{:<name_w$}  {:<strat_w$}", d.scenario, d.strategy);
            for (m, w) in METRICS.iter().zip(&widths) {
                let _ = write!(
                    o,
                    "  {:>w$}",
                    cell(&d.metrics[m.key].estimate, m.decimals, true)
                );
            }
            let _ = writeln!(o);
        }
    }
    if n < 2 {
        let _ = writeln!(o, "(one seed: no intervals; pass --seeds N for N ≥ 2)");
    } else {
        let _ = writeln!(
            o,
            "(* the difference's 95 % interval leaves out 0: significant at the 5 % level)"
        );
    }
    o
}

fn seed_text(seeds: &[u64]) -> String {
    let consecutive = seeds.windows(2).all(|w| w[1] == w[0] + 1);
    if consecutive && seeds.len() > 2 {
        format!("{}..={}", seeds[0], seeds[seeds.len() - 1])
    } else {
        seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call, with the pieces the report is built from"
)]
fn write_folder<'r>(
    dir: &std::path::Path,
    report: &Report<'_>,
    json_text: &str,
    scenarios: &[Scenario],
    controls: &[String],
    seeds: &[u64],
    demands: &[Vec<(roadnet::Demand, DemandChange)>],
    at: &dyn Fn(usize, usize, usize) -> &'r RunResult,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("summary.json", &format!("{json_text}\n"))?;
    let mut csv = String::from(
        "scenario,strategy,seed,trips,rerouted_banned_turn,rerouted_closed_road,dropped_no_route",
    );
    for m in &METRICS {
        let _ = write!(csv, ",{}", m.key);
    }
    csv.push_str(",vehicles_generated,vehicles_running,vehicles_waiting,safety_violations\n");
    for (k, s) in scenarios.iter().enumerate() {
        for (c, name) in controls.iter().enumerate() {
            for (j, seed) in seeds.iter().enumerate() {
                let m = &at(k, c, j).metrics;
                let ch = &demands[k][j].1;
                let _ = write!(
                    csv,
                    "{},{},{seed},{},{},{},{}",
                    csv_field(&s.name),
                    csv_field(name),
                    ch.trips_after,
                    ch.rerouted_banned,
                    ch.rerouted_closed,
                    ch.dropped_no_route
                );
                for metric in &METRICS {
                    let _ = write!(csv, ",{}", (metric.get)(m));
                }
                let _ = writeln!(
                    csv,
                    ",{},{},{},{}",
                    m.vehicles_generated,
                    m.vehicles_running,
                    m.vehicles_waiting,
                    m.safety_violations
                );
            }
        }
    }
    write("runs.csv", &csv)?;
    let n = seeds.len();
    // across scenarios: mean travel time per strategy
    let names: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    let series: Vec<Series> = controls
        .iter()
        .enumerate()
        .map(|(c, name)| Series {
            name: name.clone(),
            values: (0..scenarios.len())
                .map(|k| {
                    report.results[k * controls.len() + c].metrics["average_travel_time_s"].mean
                })
                .collect(),
        })
        .collect();
    write(
        "travel_time.svg",
        &charts::grouped_bars(
            "Mean travel time by scenario and strategy",
            &format!("mean over {n} seeds; intervals in summary.json"),
            "travel time (s)",
            &names,
            &series,
        ),
    )?;
    for (k, s) in scenarios.iter().enumerate() {
        let res = &report.results[k * controls.len()..(k + 1) * controls.len()];
        let hw = |e: &Estimate| {
            e.half_width_95
                .map_or(String::new(), |h| format!(" ± {h:.1}"))
        };
        let subtitle = res
            .iter()
            .map(|r| {
                let e = &r.metrics["average_travel_time_s"];
                format!("{}: {:.1}{} s", r.strategy, e.mean, hw(e))
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let metrics = [
            "average_travel_time_s",
            "entering_lane_travel_time_s",
            "mean_delay_s",
        ];
        let series: Vec<Series> = res
            .iter()
            .map(|r| Series {
                name: r.strategy.clone(),
                values: metrics.iter().map(|m| r.metrics[m].mean).collect(),
            })
            .collect();
        write(
            &format!("scenario_{}.svg", k + 1),
            &charts::grouped_bars(
                &format!("Scenario '{}': means over {n} seeds", s.name),
                &format!("travel time (95 % CI) — {subtitle}"),
                "seconds (delay: s per vehicle)",
                &[
                    "travel time".to_string(),
                    "entering-lane time".to_string(),
                    "delay".to_string(),
                ],
                &series,
            ),
        )?;
        let series: Vec<Series> = controls
            .iter()
            .enumerate()
            .map(|(c, name)| Series {
                name: name.clone(),
                values: at(k, c, 0).travel_times_s.clone(),
            })
            .collect();
        write(
            &format!("travel_times_{}.svg", k + 1),
            &charts::distributions(
                &format!("Scenario '{}': travel times of completed vehicles", s.name),
                &format!("seed {}", seeds[0]),
                "travel time (s)",
                &series,
            ),
        )?;
    }
    Ok(())
}
