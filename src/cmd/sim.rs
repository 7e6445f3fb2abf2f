//! `greenwave sim`: replay a demand on a network under a baseline controller and print metrics.

use anyhow::Context;
use sim::{NoObserver, SimConfig, Simulation};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// An intersections.toml, a CityFlow roadnet .json or a SUMO .net.xml.
    #[arg(long)]
    pub network: PathBuf,
    /// Demand: a CityFlow flow .json, a count .csv or a SUMO .rou.xml (dispatched by extension).
    #[arg(long)]
    pub demand: PathBuf,
    /// Controller: native, fixed-time, max-pressure, …
    #[arg(long, default_value = "native")]
    pub control: String,
    /// Simulated time, s.
    #[arg(long, default_value_t = 3600.0)]
    pub duration: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Let vehicles change lanes.
    #[arg(long)]
    pub lane_change: bool,
    /// Step length, s.
    #[arg(long, default_value_t = 1.0)]
    pub dt: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write a Rerun recording of the run to this .rrd file (needs a build with
    /// `--features rerun`; open it with `rerun out.rrd`, see docs/rerun.md).
    #[arg(long, value_name = "OUT.rrd")]
    pub record: Option<PathBuf>,
    /// With --record: log vehicles and queues every N steps (signal changes always).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "record")]
    pub record_every: u32,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    #[cfg(not(feature = "rerun"))]
    if args.record.is_some() {
        let _ = args.record_every;
        anyhow::bail!(
            "--record: greenwave was built without the rerun feature (rebuild with `cargo build --release --features rerun`)"
        );
    }
    let net = roadnet::load_network(&args.network)?;
    let demand = super::common::load_demand(&args.demand, &net, args.seed)?;
    let mut controller = controller::baseline::make_controller(&args.control, &net)?;
    let cfg = SimConfig {
        dt_s: args.dt,
        seed: args.seed,
        lane_change: args.lane_change,
        duration_s: args.duration,
        // The adaptive controller reads vehicle positions from the cameras; the baselines need
        // only per-lane counts, and tracking costs time.
        track_vehicles: controller::needs_vehicle_tracking(&args.control),
        ..SimConfig::default()
    };
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
    if args.json {
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    println!("network            {}", sim.net().name);
    println!("controller         {}", args.control);
    println!(
        "simulated          {:.0} s ({} steps)",
        m.simulated_s, m.steps
    );
    println!(
        "vehicles           {} generated, {} entered, {} completed, {} running, {} waiting",
        m.vehicles_generated,
        m.vehicles_entered,
        m.vehicles_completed,
        m.vehicles_running,
        m.vehicles_waiting
    );
    println!("average travel     {:.2} s", m.average_travel_time_s);
    println!(
        "entering lanes     {:.2} s (lanes only {:.2} s)",
        m.entering_lane_travel_time_s, m.entering_lane_strict_s
    );
    println!("mean delay         {:.2} s", m.mean_delay_s);
    println!("stops / vehicle    {:.2}", m.stops_per_vehicle);
    println!("mean speed         {:.2} m/s", m.mean_speed_m_s);
    println!("safety violations  {}", m.safety_violations);
    println!(
        "wall               {:.3} s ({:.0} steps/s)",
        m.wall_s, m.steps_per_s
    );
    println!(
        "\n{:<24} {:>10} {:>10} {:>9} {:>8}",
        "intersection", "delay s", "queue veh", "max q", "served"
    );
    for (name, i) in &m.intersections {
        println!(
            "{:<24} {:>10.1} {:>10.2} {:>9} {:>8}",
            name, i.mean_delay_s, i.mean_queue_veh, i.max_queue_veh, i.vehicles_served
        );
    }
    Ok(())
}
