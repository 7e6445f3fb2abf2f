//! `greenwave demo`: the bundled Main Street corridor and its day of counts, replayed under the
//! fair fixed-time baseline (one Webster plan for the day with green-wave offsets), the
//! baselines engineers run (`tod` time-of-day plans and `actuated`, the same plans
//! coordinated-actuated), the adaptive controller acting through emulated field controllers
//! over Modbus TCP on loopback (driven by `field::central::Daemon`, the code `greenwave run`
//! ships), and the same adaptive controller driving the simulator directly — then a comparison
//! table, the field link's figures (daemon counters, lamp comparison, Modbus against direct)
//! and a report folder.

use super::common::outln;
use super::compare::{run_all, RunResult, Strategy};
use crate::report::{charts, table, trajectories::TrajectoryRecorder};
use anyhow::Context;
use controller::baseline::FixedPlans;
use controller::optimize::corridor;
use controller::planned::{mean_flows_veh_s, webster_corridor_plans, webster_plans};
use roadnet::counts::parse_counts;
use roadnet::RoadNet;
use serde::Serialize;
use sim::{Metrics, SimConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The bundled deployment and day, compiled in so the demo runs from any directory.
const BUNDLED_NETWORK: &str = include_str!("../../intersections.toml");
const BUNDLED_COUNTS: &str = include_str!("../../data/main_street_counts.csv");

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print the comparison as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Where to write the report folder.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    /// Seed for turning counts into trips and for the simulator.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = super::common::parse::seed)]
    pub seed: u64,
    /// Simulated seconds, up to 604800 (default: the whole day).
    #[arg(long, value_name = "SECONDS", default_value_t = 86_400.0, allow_negative_numbers = true, value_parser = super::common::parse::sim_duration_s)]
    pub duration: f64,
    /// Also write a Rerun recording of the adaptive run (built with `--features rerun`).
    #[arg(long)]
    pub record: Option<PathBuf>,
}

/// Saturation flow assumed for planning the baseline, veh/s per lane (1,800 veh/h).
const SATURATION_VEH_S: f64 = 0.5;
/// The PM-peak window drawn in the time-space diagram, seconds of the day.
const TSD_FROM_S: f64 = 17.0 * 3600.0;

/// The adaptive run through the field link and the same controller run directly.
const MODBUS_NAME: &str = "adaptive (over Modbus)";
const DIRECT_NAME: &str = "adaptive (direct)";

#[derive(Serialize)]
struct DemoJson<'a> {
    #[serde(flatten)]
    comparison: table::Comparison<'a>,
    plans_pushed: u64,
    plans_rejected: u64,
    stage_requests: u64,
    stage_requests_rejected: u64,
    safety_violations: u64,
    /// Simulator lamps that differed from the field's lamps as read over Modbus.
    lamp_mismatches: u64,
    /// The Modbus run against the direct run of the same controller, % per metric.
    modbus_vs_direct_pct: table::ChangePct,
    /// The largest of those differences, absolute, %.
    modbus_vs_direct_max_abs_pct: f64,
    /// The daemon's counters and the lamp comparison.
    field_link: &'a super::fieldloop::FieldLoopReport,
    report_dir: String,
}

pub(crate) fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    #[cfg(not(feature = "rerun"))]
    if args.record.is_some() {
        anyhow::bail!("--record needs a build with the rerun feature: cargo run --release --features rerun -- demo --record out.rrd");
    }
    let net = Arc::new(roadnet::config::parse_toml(
        BUNDLED_NETWORK,
        "intersections.toml (bundled)",
    )?);
    let counts = parse_counts(
        BUNDLED_COUNTS,
        "data/main_street_counts.csv (bundled)",
        &net,
    )?;
    let demand = counts.to_demand(
        &net,
        args.seed,
        roadnet::VehicleParams {
            max_speed_m_s: 16.67,
            ..Default::default()
        },
    );
    let corridor = net
        .corridors
        .first()
        .context("the bundled network names no corridor")?
        .clone();

    // The fair baseline: one Webster plan for the day's mean counts with green-wave offsets.
    let flows = mean_flows_veh_s(&net, &counts);
    let plans = webster_plans(&net, &flows, SATURATION_VEH_S);
    let baseline_name = "fixed-time (Webster + green wave)";
    let baseline = FixedPlans::new(baseline_name, &net, plans.clone())?;

    // the adaptive controller reads vehicle tracks from the cameras
    let cfg = SimConfig {
        seed: args.seed,
        duration_s: args.duration,
        track_vehicles: true,
        ..SimConfig::default()
    };
    let positions = corridor::positions_m(&net, &corridor);
    let cycle_s = plans.first().map_or(90.0, |p| p.cycle_s);
    // Start the diagram on a cycle boundary so the drawn signal bars match what vehicles saw.
    let tsd_t0_s = (TSD_FROM_S / cycle_s).floor() * cycle_s;
    let tsd_to_s = tsd_t0_s + 3.0 * cycle_s;
    let mut base_strategy = Strategy::new(baseline_name, Box::new(baseline));
    let base_tracks = Arc::new(Mutex::new(Vec::new()));
    base_strategy
        .observers
        .push(Box::new(TrajectoryRecorder::new(
            &net,
            &corridor,
            &positions,
            tsd_t0_s,
            tsd_to_s,
            1.0,
            base_tracks.clone(),
        )));

    // the baselines engineers run: time-of-day plans for this day, and the same plans
    // coordinated-actuated on the loops (the configured Webster plan stays the "before" row)
    let mut day_strategies = Vec::new();
    for name in ["tod", "actuated"] {
        let mut s = Strategy::new(
            name,
            controller::baseline::make_controller_for(name, &net, Some(&demand))?,
        );
        s.detector_interval_s = controller::detector_interval_s(name);
        day_strategies.push(s);
    }

    let field_report = super::fieldloop::SharedReport::default();
    #[cfg_attr(
        not(feature = "rerun"),
        allow(unused_mut, reason = "only the rerun feature adds an observer")
    )]
    let mut adaptive_strategy = super::fieldloop::over_modbus(
        &net,
        MODBUS_NAME,
        controller::baseline::make_controller("adaptive", &net)?,
        cfg.detector_interval_s,
        &field_report,
    )?;
    // a whole day at every step would be hundreds of MB: every 10th step
    #[cfg(feature = "rerun")]
    if let Some(path) = &args.record {
        adaptive_strategy
            .observers
            .push(Box::new(crate::record::recorder(path, 10)?));
    }
    let direct_strategy = Strategy::new(
        DIRECT_NAME,
        controller::baseline::make_controller("adaptive", &net)?,
    );

    let started = std::time::Instant::now();
    // Longest first on the two cores: the Modbus replay (the adaptive controller plus the
    // field link and cameras, the run everything waits for) and the direct adaptive replay
    // start at once, and the three quick baseline replays share the core the direct one frees.
    // Queued last, the Modbus replay started only after two baselines had finished.
    let mut results = run_all(
        &net,
        &demand,
        [adaptive_strategy, direct_strategy, base_strategy]
            .into_iter()
            .chain(day_strategies)
            .collect(),
        &cfg,
        quiet || args.json,
    )?;
    // back to the order of the table: the baselines first, then the adaptive runs
    results.rotate_left(2);
    let wall_s = started.elapsed().as_secs_f64();
    let stats = field_report
        .lock()
        .ok()
        .and_then(|r| r.clone())
        .context("the field loop left no report")?;
    let runs: Vec<(String, Metrics)> = results
        .iter()
        .map(|r| (r.control.clone(), r.metrics.clone()))
        .collect();
    let violations: u64 = runs.iter().map(|r| r.1.safety_violations).sum();
    let metrics_of = |name: &str| {
        runs.iter()
            .find(|r| r.0 == name)
            .map(|r| &r.1)
            .with_context(|| format!("no '{name}' run"))
    };
    let vs_direct = table::ChangePct::of(metrics_of(DIRECT_NAME)?, metrics_of(MODBUS_NAME)?);
    let max_abs_pct = vs_direct.max_abs();
    let d = &stats.daemon;
    let link_errors = d.poll_errors + d.heartbeat_errors + d.push_errors + d.stage_request_errors;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the report folder {}", args.out.display()))?;
    let cp = webster_corridor_plans(&net, &flows, SATURATION_VEH_S)
        .into_iter()
        .next()
        .context("the corridor has no plan")?;
    let tracks = base_tracks.lock().map(|t| t.clone()).unwrap_or_default();
    write_reports(
        &args.out, &net, &runs, &results, &cp, &tracks, tsd_t0_s, &stats,
    )?;

    if args.json {
        let json = DemoJson {
            comparison: table::comparison(&runs),
            plans_pushed: d.plans_pushed,
            plans_rejected: d.plans_rejected,
            stage_requests: d.stage_requests,
            stage_requests_rejected: d.stage_requests_rejected,
            safety_violations: violations,
            lamp_mismatches: stats.lamp_mismatches,
            modbus_vs_direct_pct: vs_direct,
            modbus_vs_direct_max_abs_pct: max_abs_pct,
            field_link: &stats,
            report_dir: args.out.display().to_string(),
        };
        outln!("{}", serde_json::to_string(&json)?)?;
        return Ok(());
    }
    outln!(
        "greenwave demo: {} — {} signals, {} vehicles over {:.0} h of a synthetic weekday of counts (data/main_street_counts.csv), seed {}",
        net.name,
        net.signalized().count(),
        demand
            .trips
            .iter()
            .filter(|t| t.departure_s < args.duration)
            .count(),
        args.duration / 3600.0,
        args.seed
    )?;
    outln!(
        "adaptive control ran through greenwave run's daemon and {} emulated field controllers over Modbus TCP on loopback: {} daemon steps, {} status reads, {} detector polls, {} plans pushed ({} refused by the field), {} stage requests ({} refused), {} link errors",
        stats.controllers,
        d.steps,
        d.status_reads,
        d.polls_ok,
        d.plans_pushed,
        d.plans_rejected,
        d.stage_requests,
        d.stage_requests_rejected,
        link_errors
    )?;
    outln!(
        "the simulator's lamps followed the field's as read over Modbus: {} mismatches in {} comparisons; over Modbus against direct: largest difference {:.2} % ({})",
        stats.lamp_mismatches,
        stats.lamp_checks,
        max_abs_pct,
        vs_direct.describe()
    )?;
    outln!()?;
    print!("{}", table::render(&runs));
    outln!()?;
    outln!("safety violations: {violations} · wall time {wall_s:.1} s")?;
    outln!("report: {}/ (metrics.json, metrics.csv, intersections.csv, time_space.svg, delay_by_intersection.svg, travel_times.svg)", args.out.display())?;
    Ok(())
}

#[allow(
    clippy::too_many_arguments,
    reason = "every product of the demo run goes into the report; a struct built for one call adds nothing"
)]
fn write_reports(
    dir: &Path,
    net: &RoadNet,
    runs: &[(String, Metrics)],
    results: &[RunResult],
    cp: &corridor::CorridorPlan,
    tracks: &[crate::report::trajectories::Trajectory],
    tsd_from_s: f64,
    stats: &super::fieldloop::FieldLoopReport,
) -> anyhow::Result<()> {
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write(
        "metrics.json",
        &serde_json::to_string_pretty(&table::comparison(runs))?,
    )?;
    let mut csv = String::from("strategy,average_travel_time_s,entering_lane_travel_time_s,mean_delay_s,stops_per_vehicle,mean_speed_m_s,vehicles_generated,vehicles_completed,safety_violations\n");
    for (n, m) in runs {
        csv.push_str(&format!(
            "{},{:.3},{:.3},{:.3},{:.4},{:.4},{},{},{}\n",
            n,
            m.average_travel_time_s,
            m.entering_lane_travel_time_s,
            m.mean_delay_s,
            m.stops_per_vehicle,
            m.mean_speed_m_s,
            m.vehicles_generated,
            m.vehicles_completed,
            m.safety_violations
        ));
    }
    write("metrics.csv", &csv)?;
    let names: Vec<String> = net.signalized().map(|i| i.name.clone()).collect();
    let mut icsv = String::from(
        "strategy,intersection,mean_delay_s,mean_queue_veh,max_queue_veh,vehicles_served\n",
    );
    for (n, m) in runs {
        for (iname, im) in &m.intersections {
            icsv.push_str(&format!(
                "{n},{iname},{:.3},{:.3},{},{}\n",
                im.mean_delay_s, im.mean_queue_veh, im.max_queue_veh, im.vehicles_served
            ));
        }
    }
    write("intersections.csv", &icsv)?;
    let series: Vec<charts::Series> = runs
        .iter()
        .map(|(n, m)| charts::Series {
            name: n.clone(),
            values: names
                .iter()
                .map(|i| m.intersections.get(i).map_or(0.0, |x| x.mean_delay_s))
                .collect(),
        })
        .collect();
    write(
        "delay_by_intersection.svg",
        &charts::grouped_bars(
            "Mean delay by intersection",
            &format!(
                "{} · whole-day replay · intersections west to east",
                net.name
            ),
            "mean delay per vehicle served, s",
            &names,
            &series,
        ),
    )?;
    let dists: Vec<charts::Series> = results
        .iter()
        .map(|r| charts::Series {
            name: r.control.clone(),
            values: r.travel_times_s.clone(),
        })
        .collect();
    write(
        "travel_times.svg",
        &charts::distributions(
            "Travel time distribution",
            &format!("{} · completed trips · dashed: medians", net.name),
            "travel time, s",
            &dists,
        ),
    )?;
    write(
        "time_space.svg",
        &controller::optimize::tsd::render_svg_with_trajectories(cp, tracks, tsd_from_s),
    )?;
    write("field_link.json", &serde_json::to_string_pretty(stats)?)?;
    Ok(())
}
