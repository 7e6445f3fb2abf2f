//! `greenwave compare`: several strategies on the same replay, in parallel, one table.

use super::common::{out, outln, ReplayArgs};
use crate::report::table;
use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use roadnet::{Demand, RoadNet};
use sim::{Metrics, Observer, SimConfig, Simulation, StepView};
use std::sync::Arc;

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
    /// A loop detector interval this strategy needs instead of the run's (`actuated`), s.
    pub detector_interval_s: Option<f64>,
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
            detector_interval_s: None,
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

/// Build the named controllers for a replay (a bad name fails before any work starts).
pub(crate) fn named_strategies(
    net: &RoadNet,
    demand: &Demand,
    names: &[String],
) -> anyhow::Result<Vec<Strategy>> {
    names
        .iter()
        .map(|n| {
            let mut s = Strategy::new(
                n.clone(),
                controller::baseline::make_controller_for(n, net, Some(demand))?,
            );
            s.detector_interval_s = controller::detector_interval_s(n);
            Ok(s)
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
    let multi = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let style =
        ProgressStyle::with_template("{prefix:>14} [{bar:40}] {pos}/{len} s simulated ({elapsed})")
            .expect("static template")
            .progress_chars("=> ");
    let departures: Vec<f64> = demand.trips.iter().map(|t| t.departure_s).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(1);
    let mut results: Vec<Option<anyhow::Result<RunResult>>> =
        (0..strategies.len()).map(|_| None).collect();
    // Run in waves of `threads` strategies: all cores busy, none oversubscribed.
    let mut queue: Vec<(usize, Strategy)> = strategies.into_iter().enumerate().collect();
    while !queue.is_empty() {
        let wave: Vec<_> = queue.drain(..threads.min(queue.len())).collect();
        std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .into_iter()
                .map(|(k, mut strategy)| {
                    let bar = multi.add(ProgressBar::new(cfg.duration_s as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix(strategy.name.clone());
                    let departures = &departures;
                    let net = net.clone();
                    let mut cfg = cfg.clone();
                    if let Some(d) = strategy.detector_interval_s {
                        cfg.detector_interval_s = d;
                    }
                    (
                        k,
                        s.spawn(move || -> anyhow::Result<RunResult> {
                            let mut sim = Simulation::new(net, demand, cfg)?;
                            let mut progress = Progress {
                                bar: &bar,
                                departures_s: departures,
                                travel_times_s: Vec::new(),
                            };
                            let mut all: Vec<&mut dyn Observer> = vec![&mut progress];
                            for o in strategy.observers.iter_mut() {
                                all.push(o.as_mut());
                            }
                            let metrics = sim
                                .run(strategy.controller.as_mut(), &mut Tee(all))
                                .with_context(|| format!("strategy '{}'", strategy.name))?;
                            bar.finish();
                            Ok(RunResult {
                                control: strategy.name,
                                metrics,
                                travel_times_s: progress.travel_times_s,
                            })
                        }),
                    )
                })
                .collect();
            for (k, h) in handles {
                results[k] = Some(
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a simulation thread panicked"))),
                );
            }
        });
    }
    results
        .into_iter()
        .map(|r| r.expect("every strategy ran"))
        .collect()
}

pub(crate) fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    if args.controls.is_empty() {
        anyhow::bail!("--controls names no strategy");
    }
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
    let strategies = named_strategies(&net, &demand, &args.controls)?;
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
