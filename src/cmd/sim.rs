//! `greenwave sim`: replay a demand on a network under a baseline controller and print metrics.

use super::common::{outln, parse, ReplayArgs};
use crate::report::table;
use anyhow::Context;
use sim::{NoObserver, Simulation};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Controller: native, fixed-time, max-pressure, …
    #[arg(long, default_value = "native")]
    pub control: String,
    /// Write a Rerun recording of the run to this .rrd file (needs a build with
    /// `--features rerun`; open it with `rerun out.rrd`, see docs/rerun.md).
    #[arg(long, value_name = "OUT.rrd")]
    pub record: Option<PathBuf>,
    /// With --record: log vehicles and queues every N steps (signal changes always), 1..=3600.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "record", allow_negative_numbers = true, value_parser = parse::every_steps)]
    pub record_every: u32,
}

/// `sim` simulates one hour unless told otherwise.
const DEFAULT_DURATION_S: f64 = 3600.0;

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    #[cfg(not(feature = "rerun"))]
    if args.record.is_some() {
        let _ = args.record_every;
        anyhow::bail!(
            "--record: greenwave was built without the rerun feature (rebuild with `cargo build --release --features rerun`)"
        );
    }
    let (net, demand) = args.replay.load()?;
    let mut controller =
        controller::baseline::make_controller_for(&args.control, &net, Some(&demand))?;
    // The adaptive controller reads vehicle positions from the cameras; the baselines need
    // only per-lane counts, and tracking costs time.
    let mut cfg = args.replay.sim_config(
        args.replay.duration.unwrap_or(DEFAULT_DURATION_S),
        controller::needs_vehicle_tracking(&args.control),
    );
    if let Some(d) = controller::detector_interval_s(&args.control) {
        cfg.detector_interval_s = d;
    }
    let mut sim = Simulation::new(net, &demand, cfg).context("preparing the simulation")?;
    #[cfg(feature = "rerun")]
    let m = match &args.record {
        Some(path) => {
            let mut recorder = crate::record::recorder(path, args.record_every)?;
            let m = sim.run(controller.as_mut(), &mut recorder)?;
            recorder.finish()?;
            tracing::info!("wrote the Rerun recording {}", path.display());
            m
        }
        None => sim.run(controller.as_mut(), &mut NoObserver)?,
    };
    #[cfg(not(feature = "rerun"))]
    let m = sim.run(controller.as_mut(), &mut NoObserver)?;
    if args.replay.json {
        outln!("{}", serde_json::to_string(&table::RunJson::of(&m))?)?;
        return Ok(());
    }
    outln!("network            {}", sim.net().name)?;
    outln!("controller         {}", args.control)?;
    outln!(
        "simulated          {:.0} s ({} steps)",
        m.simulated_s,
        m.steps
    )?;
    outln!(
        "vehicles           {} generated, {} entered, {} completed, {} running, {} waiting",
        m.vehicles_generated,
        m.vehicles_entered,
        m.vehicles_completed,
        m.vehicles_running,
        m.vehicles_waiting
    )?;
    if let Some(note) = table::unfinished_note(&m) {
        outln!("warning            {note}")?;
    }
    outln!("average travel     {:.2} s", m.average_travel_time_s)?;
    outln!("entering lanes     {:.2} s", m.entering_lane_travel_time_s)?;
    outln!("mean delay         {:.2} s", m.mean_delay_s)?;
    outln!("stops / vehicle    {:.2}", m.stops_per_vehicle)?;
    outln!("mean speed         {:.2} m/s", m.mean_speed_m_s)?;
    outln!("safety violations  {}", m.safety_violations)?;
    outln!(
        "wall               {:.3} s ({:.0} steps/s)",
        m.wall_s,
        m.steps_per_s
    )?;
    outln!(
        "\n{:<24} {:>10} {:>10} {:>9} {:>8}",
        "intersection",
        "delay s",
        "queue veh",
        "max q",
        "served"
    )?;
    for (name, i) in &m.intersections {
        outln!(
            "{:<24} {:>10.1} {:>10.2} {:>9} {:>8}",
            name,
            i.mean_delay_s,
            i.mean_queue_veh,
            i.max_queue_veh,
            i.vehicles_served
        )?;
    }
    Ok(())
}
