//! `greenwave sumo`: run a strategy against a SUMO process over TraCI (docs/sumo.md, "Driving
//! SUMO"), and print SUMO's trip metrics next to greenwave's own simulator on the same inputs.

use super::common::{outln, parse};
use anyhow::{bail, Context};
use sim::{NoObserver, SimConfig, Simulation};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A SUMO configuration naming net-file, route-files and (optionally) additional-files.
    #[arg(long, conflicts_with_all = ["net", "routes"], required_unless_present = "net")]
    pub sumocfg: Option<PathBuf>,
    /// The SUMO network (.net.xml), instead of --sumocfg.
    #[arg(long, requires = "routes")]
    pub net: Option<PathBuf>,
    /// SUMO routes (.rou.xml), with --net.
    #[arg(long)]
    pub routes: Option<PathBuf>,
    /// Induction loops and lane-area detectors (.add.xml), with --net: greenwave's detectors
    /// and cameras.
    #[arg(long, requires = "net")]
    pub additional: Option<PathBuf>,
    /// Controller: native, fixed-time, max-pressure, adaptive, …
    #[arg(long, default_value = "fixed-time")]
    pub control: String,
    /// Simulated seconds, up to 604800 (7 days).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600.0, allow_negative_numbers = true, value_parser = parse::sim_duration_s)]
    pub duration: f64,
    /// Seed for SUMO and for greenwave's simulator.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = parse::seed)]
    pub seed: u64,
    /// Step length, seconds in [0.01, 10].
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, allow_negative_numbers = true, value_parser = parse::dt_s)]
    pub dt: f64,
    /// The sumo binary [default: $SUMO_BINARY, $SUMO_HOME/bin/sumo, or sumo on PATH].
    #[arg(long)]
    pub sumo_binary: Option<PathBuf>,
    /// Skip the run of greenwave's own simulator on the same network and routes.
    #[arg(long)]
    pub no_compare: bool,
    /// Also run SUMO alone on the same inputs with its own signal logics (comma-separated:
    /// static, actuated, delay_based; SUMO's defaults, see docs/sumo.md) and print a table.
    #[arg(long, value_delimiter = ',', value_name = "LOGICS")]
    pub baseline: Vec<String>,
    /// Keep SUMO's log and tripinfo here [default: a temporary folder, removed afterwards].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// The SUMO inputs a run needs.
struct Inputs {
    net: PathBuf,
    routes: Option<PathBuf>,
    additional: Option<PathBuf>,
    /// What SUMO is told.
    sumo_args: Vec<String>,
}

/// A `.sumocfg`'s `<input>` files, relative to the configuration's folder. Several route or
/// additional files (comma-separated) are passed to SUMO as they are; greenwave reads the first
/// additional file and compares against its own simulator only with exactly one route file.
fn read_sumocfg(path: &Path) -> anyhow::Result<Inputs> {
    // the one input reader: a regular file only (a FIFO or /dev/zero would hang or stream
    // forever), at most 1 MiB (a .sumocfg lists a few file names), UTF-8
    let text = roadnet::input::read_text(path, 1 << 20, "a .sumocfg names its input files")?;
    let doc = roxmltree::Document::parse(&text)
        .with_context(|| format!("{}: not XML", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let value = |tag: &str| -> Option<Vec<PathBuf>> {
        let v = doc
            .descendants()
            .find(|n| n.has_tag_name(tag))?
            .attribute("value")?;
        Some(
            v.split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| dir.join(s))
                .collect(),
        )
    };
    let Some(net) = value("net-file").and_then(|v| v.into_iter().next()) else {
        bail!("{}: no <net-file value=…>", path.display());
    };
    let routes = value("route-files")
        .filter(|r| r.len() == 1)
        .map(|r| r[0].clone());
    let additional = value("additional-files").and_then(|a| a.into_iter().next());
    Ok(Inputs {
        net,
        routes,
        additional,
        sumo_args: vec!["-c".into(), path.display().to_string()],
    })
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let inputs = match (&args.sumocfg, &args.net, &args.routes) {
        (Some(cfg), _, _) => read_sumocfg(cfg)?,
        (None, Some(net), Some(routes)) => {
            let mut sumo_args = vec![
                "-n".into(),
                net.display().to_string(),
                "-r".into(),
                routes.display().to_string(),
            ];
            if let Some(a) = &args.additional {
                sumo_args.extend(["--additional-files".into(), a.display().to_string()]);
            }
            Inputs {
                net: net.clone(),
                routes: Some(routes.clone()),
                additional: args.additional.clone(),
                sumo_args,
            }
        }
        _ => bail!("give --sumocfg, or --net with --routes"),
    };
    // the inputs first: a bad file is named whether or not SUMO is installed
    let import = match &inputs.additional {
        Some(add) => roadnet::sumo::load_with_additional(&inputs.net, add)?,
        None => roadnet::sumo::load(&inputs.net)?,
    };
    let demand = inputs
        .routes
        .as_ref()
        .map(|r| roadnet::sumo::demand::load_routes(r, &import.net, args.seed))
        .transpose()?;
    let sumo = match &args.sumo_binary {
        Some(p) => p.clone(),
        None => traci::client::find_sumo().context(
            "no sumo binary found via $SUMO_BINARY, $SUMO_HOME/bin or PATH (pip install eclipse-sumo)",
        )?,
    };
    for note in &import.notes {
        tracing::info!("{note}");
    }
    let mut controller = controller::baseline::make_controller(&args.control, &import.net)?;
    let (work_dir, temporary) = match &args.work_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("greenwave-sumo-{}", std::process::id())),
            true,
        ),
    };
    let opts = traci::DriveOptions {
        sumo,
        inputs: inputs.sumo_args.clone(),
        seed: args.seed,
        duration_s: args.duration,
        dt_s: args.dt,
        detector_interval_s: SimConfig::default().detector_interval_s,
        work_dir: work_dir.clone(),
    };
    // the baselines run as SUMO processes of their own while greenwave drives its SUMO
    let mut baselines = Vec::new();
    if !args.baseline.is_empty() {
        let Some(routes) = &inputs.routes else {
            bail!("--baseline needs exactly one route file");
        };
        for logic in &args.baseline {
            let b = traci::baseline::start(&traci::baseline::BaselineOptions {
                sumo: opts.sumo.clone(),
                net: inputs.net.clone(),
                routes: routes.clone(),
                additional: inputs.additional.clone(),
                logic: logic.clone(),
                seed: args.seed,
                duration_s: args.duration,
                dt_s: args.dt,
                work_dir: work_dir.join("baseline"),
            })
            .with_context(|| format!("--baseline {logic}"))?;
            baselines.push(b);
        }
    }
    let started = std::time::Instant::now();
    let result = traci::drive(&opts, &import, controller.as_mut());
    let wall_s = started.elapsed().as_secs_f64();
    let baselines: Vec<_> = baselines
        .into_iter()
        .map(|b| b.finish(std::time::Duration::from_secs(3600)))
        .collect();
    if temporary {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    let out = result.context("driving SUMO")?;
    outln!("network            {}", inputs.net.display())?;
    outln!("controller         {}", out.controller)?;
    outln!("sumo               {}", out.sumo_version)?;
    outln!(
        "simulated          {:.0} s ({} steps, wall {wall_s:.2} s)",
        out.end_time_s,
        out.steps
    )?;
    outln!(
        "vehicles           {} departed, {} arrived, {} teleports",
        out.departed,
        out.arrived,
        out.teleports
    )?;
    outln!("safety violations  {}", out.safety_violations)?;
    outln!("state strings sent {}", out.states_sent)?;
    outln!("SUMO tripinfo (arrived vehicles):")?;
    outln!("  mean duration    {:.2} s", out.trips.mean_duration_s)?;
    outln!("  mean waiting     {:.2} s", out.trips.mean_waiting_time_s)?;
    outln!("  mean time loss   {:.2} s", out.trips.mean_time_loss_s)?;
    if !baselines.is_empty() {
        outln!("same inputs and seed, SUMO's tripinfo over arrived vehicles:")?;
        outln!(
            "  {:<28} {:>8} {:>8} {:>9} {:>10} {:>10} {:>11}",
            "run",
            "inserted",
            "arrived",
            "teleports",
            "duration s",
            "waiting s",
            "time loss s"
        )?;
        let row = |name: &str, inserted: u64, t: &traci::tripinfo::TripSummary, tp: u64| {
            outln!(
                "  {name:<28} {inserted:>8} {:>8} {tp:>9} {:>10.2} {:>10.2} {:>11.2}",
                t.arrived,
                t.mean_duration_s,
                t.mean_waiting_time_s,
                t.mean_time_loss_s
            )
        };
        row(
            &format!("greenwave {}", out.controller),
            out.departed,
            &out.trips,
            out.teleports,
        )?;
        for (b, logic) in baselines.into_iter().zip(&args.baseline) {
            let b = b.with_context(|| format!("SUMO alone with its {logic} logic"))?;
            row(
                &format!("sumo alone, {}", b.logic),
                b.inserted,
                &b.trips,
                b.teleports,
            )?;
        }
    }
    if args.no_compare {
        return Ok(());
    }
    let Some(demand) = demand else {
        outln!("greenwave sim      skipped: needs exactly one route file")?;
        return Ok(());
    };
    let mut controller = controller::baseline::make_controller(&args.control, &import.net)?;
    let cfg = SimConfig {
        dt_s: args.dt,
        seed: args.seed,
        duration_s: args.duration,
        track_vehicles: controller::needs_vehicle_tracking(&args.control),
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(import.net, &demand.demand, cfg)
        .context("preparing greenwave's simulation")?;
    let m = sim.run(controller.as_mut(), &mut NoObserver)?;
    outln!("greenwave sim, same network and routes:")?;
    outln!(
        "  vehicles         {} generated, {} completed",
        m.vehicles_generated,
        m.vehicles_completed
    )?;
    outln!(
        "  average travel   {:.2} s (all generated, CityFlow's metric)",
        m.average_travel_time_s
    )?;
    outln!("  mean delay       {:.2} s", m.mean_delay_s)?;
    outln!("  safety violations {}", m.safety_violations)?;
    Ok(())
}
