//! `greenwave compare`: several strategies on the same replay, in parallel, one table.

use super::common::{out, outln, ReplayArgs};
use crate::report::table;
use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use roadnet::{Demand, RoadNet};
use sim::{Metrics, Observer, SimConfig, Simulation, StepView};
use std::sync::{Arc, Mutex};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Comma-separated strategies; the first is the baseline the others are compared with.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "native,fixed-time,max-pressure"
    )]
    pub controls: Vec<String>,
    /// A what-if scenario file (docs/scenarios.md); repeat for several. The first is the one
    /// the others are compared with. Each runs with every strategy and seed.
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenarios: Vec<std::path::PathBuf>,
    /// With --scenario: run seeds --seed, --seed + 1, … (N of them, 1..=1000) [default: 5].
    #[arg(long, value_name = "N", value_parser = parse_seeds, conflicts_with = "seed_list")]
    pub seeds: Option<u32>,
    /// With --scenario: the seeds to run, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = super::common::parse::seed)]
    pub seed_list: Option<Vec<u64>>,
    /// With --scenario: write a report folder (summary.json, runs.csv, one SVG chart per
    /// scenario and one across them).
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// `--seeds`: how many seeds, `1..=1000`.
fn parse_seeds(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(v) if (1..=1000).contains(&v) => Ok(v),
        _ => Err("expected a whole number of seeds in 1..=1000".into()),
    }
}

/// A finished run: its metrics and each completed vehicle's travel time.
pub(crate) struct RunResult {
    pub control: String,
    pub metrics: Metrics,
    pub travel_times_s: Vec<f64>,
}

/// Updates a progress bar and collects travel times.
struct Progress<'a> {
    bar: &'a ProgressBar,
    departures_s: &'a [f64],
    travel_times_s: Vec<f64>,
}

impl Observer for Progress<'_> {
    fn on_step(&mut self, view: &StepView<'_>) {
        let t = view.time_s() as u64;
        if t.is_multiple_of(60) {
            self.bar.set_position(t);
        }
    }
    fn on_vehicle_finished(&mut self, vehicle: u32, time_s: f64) {
        if let Some(d) = self.departures_s.get(vehicle as usize) {
            self.travel_times_s.push(time_s - d);
        }
    }
}

/// Default duration: the demand's last departure rounded up to the hour (at least one hour).
pub(crate) fn default_duration_s(demand: &Demand) -> f64 {
    ((demand.last_departure_s() / 3600.0).floor() + 1.0).max(1.0) * 3600.0
}

/// A strategy to run: its name, its controller and any extra observers (trajectory or Rerun
/// recorders) that watch its run.
pub(crate) struct Strategy {
    pub name: String,
    pub controller: Box<dyn roadnet::Controller>,
    pub observers: Vec<Box<dyn Observer + Send>>,
}

impl Strategy {
    pub(crate) fn new(
        name: impl Into<String>,
        controller: Box<dyn roadnet::Controller>,
    ) -> Strategy {
        Strategy {
            name: name.into(),
            controller,
            observers: Vec::new(),
        }
    }
}

/// Hands every event to each of several observers.
struct Tee<'a>(Vec<&'a mut dyn Observer>);

impl Observer for Tee<'_> {
    fn on_step(&mut self, view: &StepView<'_>) {
        for o in self.0.iter_mut() {
            o.on_step(view);
        }
    }
    fn on_vehicle_finished(&mut self, vehicle: u32, time_s: f64) {
        for o in self.0.iter_mut() {
            o.on_vehicle_finished(vehicle, time_s);
        }
    }
}

/// Build the named controllers (a bad name fails before any work starts).
pub(crate) fn named_strategies(net: &RoadNet, names: &[String]) -> anyhow::Result<Vec<Strategy>> {
    names
        .iter()
        .map(|n| {
            Ok(Strategy::new(
                n.clone(),
                controller::baseline::make_controller(n, net)?,
            ))
        })
        .collect()
}

/// Run every strategy on the same network and demand, in parallel on all cores, with one
/// progress bar each. Results come back in the strategies' order.
pub(crate) fn run_all(
    net: &Arc<RoadNet>,
    demand: &Demand,
    strategies: Vec<Strategy>,
    cfg: &SimConfig,
    quiet: bool,
) -> anyhow::Result<Vec<RunResult>> {
    let jobs = strategies
        .into_iter()
        .map(|strategy| Job {
            label: strategy.name.clone(),
            net: net.clone(),
            demand,
            strategy,
            cfg: cfg.clone(),
            closures: Vec::new(),
        })
        .collect();
    run_jobs(jobs, quiet, false)
}

/// One simulation to run: a strategy on a network and demand, with its configuration and any
/// lane closures (`sim::Simulation::set_lane_closures`); `label` prefixes its progress bar.
pub(crate) struct Job<'a> {
    pub label: String,
    pub net: Arc<RoadNet>,
    pub demand: &'a Demand,
    pub strategy: Strategy,
    pub cfg: SimConfig,
    pub closures: Vec<sim::LaneClosure>,
}

/// Run jobs in parallel on all cores, with one progress bar each (`clear_finished` removes a
/// bar when its run ends, for long lists). Results come back in the jobs' order.
pub(crate) fn run_jobs(
    jobs: Vec<Job<'_>>,
    quiet: bool,
    clear_finished: bool,
) -> anyhow::Result<Vec<RunResult>> {
    let multi = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style =
        ProgressStyle::with_template("{prefix:>14} [{bar:40}] {pos}/{len} s simulated ({elapsed})")
            .expect("static template")
            .progress_chars("=> ");
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let n = jobs.len();
    let results: Vec<Mutex<Option<anyhow::Result<RunResult>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    // A queue the workers take jobs from, in order: all cores busy, none oversubscribed, and a
    // short run frees its core for the next job at once.
    let queue: Mutex<std::collections::VecDeque<(usize, Job<'_>)>> =
        Mutex::new(jobs.into_iter().enumerate().collect());
    let run_one = |job: Job<'_>| -> anyhow::Result<RunResult> {
        let bar = multi.add(ProgressBar::new(job.cfg.duration_s as u64));
        bar.set_style(style.clone());
        bar.set_prefix(job.label.clone());
        let Job {
            net,
            demand,
            mut strategy,
            cfg,
            closures,
            ..
        } = job;
        let departures: Vec<f64> = demand.trips.iter().map(|t| t.departure_s).collect();
        let mut sim = Simulation::new(net, demand, cfg)?;
        if !closures.is_empty() {
            sim.set_lane_closures(closures)?;
        }
        let mut progress = Progress {
            bar: &bar,
            departures_s: &departures,
            travel_times_s: Vec::new(),
        };
        let mut all: Vec<&mut dyn Observer> = vec![&mut progress];
        for o in strategy.observers.iter_mut() {
            all.push(o.as_mut());
        }
        let metrics = sim
            .run(strategy.controller.as_mut(), &mut Tee(all))
            .with_context(|| format!("strategy '{}'", strategy.name))?;
        if clear_finished {
            bar.finish_and_clear();
        } else {
            bar.finish();
        }
        Ok(RunResult {
            control: strategy.name,
            metrics,
            travel_times_s: progress.travel_times_s,
        })
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(n))
            .map(|_| {
                s.spawn(|| loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((k, job)) = next else {
                        return;
                    };
                    let result = run_one(job);
                    if let Ok(mut slot) = results[k].lock() {
                        *slot = Some(result);
                    }
                })
            })
            .collect();
        for w in workers {
            if w.join().is_err() {
                // the job it was running has no result and is reported below
                tracing::error!("a simulation thread panicked");
            }
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow::anyhow!("a simulation thread panicked")))
        })
        .collect()
}

pub(crate) fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    if args.controls.is_empty() {
        anyhow::bail!("--controls names no strategy");
    }
    if !args.scenarios.is_empty() {
        return crate::scenario::compare::run(args, quiet);
    }
    anyhow::ensure!(
        args.seeds.is_none() && args.seed_list.is_none() && args.out.is_none(),
        "--seeds, --seed-list and --out go with --scenario"
    );
    let (net, demand) = args.replay.load()?;
    let net = Arc::new(net);
    let duration_s = args
        .replay
        .duration
        .unwrap_or_else(|| default_duration_s(&demand));
    // the default follows the demand, which a flow file can put at any time
    anyhow::ensure!(
        duration_s <= super::common::parse::MAX_SIM_DURATION_S,
        "{}: the last departure is {:.0} s in, past the {} s a replay may run; pass --duration",
        args.replay.demand.display(),
        demand.last_departure_s(),
        super::common::parse::MAX_SIM_DURATION_S
    );
    let cfg = args.replay.sim_config(
        duration_s,
        args.controls
            .iter()
            .any(|c| controller::needs_vehicle_tracking(c)),
    );
    let strategies = named_strategies(&net, &args.controls)?;
    let json = args.replay.json;
    let results = run_all(&net, &demand, strategies, &cfg, quiet || json)?;
    let runs: Vec<(String, Metrics)> = results
        .into_iter()
        .map(|r| (r.control, r.metrics))
        .collect();
    if json {
        outln!("{}", serde_json::to_string(&table::comparison(&runs))?)?;
    } else {
        outln!(
            "{} with {} on {} ({} s simulated, seed {})",
            args.replay.network.display(),
            args.replay.demand.display(),
            net.name,
            duration_s,
            args.replay.seed
        )?;
        out!("{}", table::render(&runs))?;
    }
    Ok(())
}
