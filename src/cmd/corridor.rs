//! `greenwave corridor`: plan a coordinated corridor — common cycle, Webster splits, two-way
//! MAXBAND band offsets and each direction's band efficiency — print it and draw its time-space diagram.

use super::common::outln;
use anyhow::{bail, Context};
use controller::estimate::TrafficState;
use controller::optimize::corridor::{plan_corridor, CorridorParams};
use controller::optimize::tsd::render_svg;
use roadnet::RoadNet;
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The deployment file (intersections.toml).
    #[arg(long)]
    pub network: PathBuf,
    /// The corridor's name (a `[[corridor]]` of the network).
    #[arg(long)]
    pub corridor: String,
    /// Turning-movement counts (docs/counts.md) to plan from; without them the configured base
    /// greens stand in for the demand.
    #[arg(long)]
    pub counts: Option<PathBuf>,
    /// With --counts: plan for the count interval containing this time of day (`HH:MM[:SS]`,
    /// 00:00 to 47:59); default: the day's mean flows.
    #[arg(long, value_name = "HH:MM", requires = "counts", value_parser = super::common::parse::time_of_day_s)]
    pub at: Option<f64>,
    /// Write the time-space diagram here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Print the plan as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Let the progression speed vary per link within 0.9–1.1 × the design speed (capped at
    /// the speed limit, at most ≈ 10 % change between links) instead of the design speed.
    #[arg(long)]
    pub speed_range: bool,
}

/// Movement flows, veh/s: from counts (one interval or the day's mean), else from the base
/// greens (each stage's movements get the flow that would fill 80 % of its base green).
fn flows(net: &RoadNet, args: &Args, sat_veh_s: f64) -> anyhow::Result<Vec<f64>> {
    let mut f = vec![0.0; net.movements.len()];
    if let Some(path) = &args.counts {
        let counts = roadnet::counts::load_counts(path, net)?;
        let at = args.at;
        let mut covered_s = 0.0;
        let mut seen = std::collections::BTreeSet::new();
        for r in &counts.rows {
            if at.is_none_or(|t| r.start_s <= t && t < r.start_s + r.interval_s)
                && seen.insert(r.start_s.to_bits())
            {
                covered_s += r.interval_s;
            }
        }
        if covered_s <= 0.0 {
            bail!("no count interval covers the requested time");
        }
        for ((start, m), c) in counts.movement_counts(net) {
            let start = f64::from_bits(start);
            let inside = counts
                .rows
                .iter()
                .find(|r| r.start_s == start)
                .is_some_and(|r| at.is_none_or(|t| r.start_s <= t && t < r.start_s + r.interval_s));
            if inside {
                f[m.index()] += c as f64 / covered_s;
            }
        }
        return Ok(f);
    }
    for i in net.signalized() {
        let stages: Vec<_> = i
            .stages
            .iter()
            .filter(|s| !net.stage(**s).clearance)
            .collect();
        let cycle: f64 = stages
            .iter()
            .map(|s| net.stage(**s).base_green_s + net.stage(**s).limits.change_s())
            .sum();
        for s in stages {
            let share = net.stage(*s).base_green_s / cycle.max(1.0);
            for m in net.stage_movements(*s) {
                // each feeding lane filled to 80 % of what its share of the base green carries
                let v: f64 = net
                    .lanes_feeding(m)
                    .iter()
                    .map(|l| 0.8 * sat_veh_s * share / net.lane(*l).feeds.len().max(1) as f64)
                    .sum();
                f[m.index()] = f64::max(f[m.index()], v);
            }
        }
    }
    Ok(f)
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let net = roadnet::load_network(&args.network)?;
    let Some(c) = net.corridor_by_name(&args.corridor) else {
        let names: Vec<_> = net.corridors.iter().map(|c| c.name.as_str()).collect();
        bail!(
            "no corridor '{}' in {}; corridors: {}",
            args.corridor,
            args.network.display(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
    };
    let params = if args.speed_range {
        CorridorParams::speed_range()
    } else {
        CorridorParams::default()
    };
    let sat = 0.5;
    let state = TrafficState::from_movement_flows(&net, &flows(&net, &args, sat)?, sat);
    let cp = plan_corridor(&net, c, &state, &params, None);
    for p in &cp.plans {
        p.validate(&net).with_context(|| {
            format!("internal error: the optimizer emitted an invalid plan {p}")
        })?;
    }
    if args.json {
        outln!("{}", serde_json::to_string(&cp)?)?;
    } else {
        outln!(
            "corridor {}: {} intersections over {:.0} m, design speed {:.1} m/s",
            cp.corridor,
            cp.names.len(),
            cp.positions_m.last().copied().unwrap_or(0.0),
            cp.design_speed_m_s
        )?;
        outln!(
            "cycle {:.0} s · outbound band {:.1} s · inbound band {:.1} s · inbound weight {:.2}",
            cp.cycle_s,
            cp.band_out_s,
            cp.band_in_s,
            cp.inbound_weight
        )?;
        // band ÷ cycle: the share of each cycle a platoon at the design speed passes unstopped
        outln!(
            "band efficiency: outbound {:.1} % · inbound {:.1} % (MAXBAND optimum)",
            100.0 * cp.band_out_efficiency,
            100.0 * cp.band_in_efficiency
        )?;
        outln!(
            "{:<12} {:>8} {:>9}  splits (stage: split s)",
            "intersection",
            "at m",
            "offset s"
        )?;
        for (k, p) in cp.plans.iter().enumerate() {
            let splits: Vec<String> = p
                .stages
                .iter()
                .map(|s| format!("{}: {:.1}", net.stage(s.stage).name, s.split_s))
                .collect();
            outln!(
                "{:<12} {:>8.0} {:>9.1}  {}",
                cp.names[k],
                cp.positions_m[k],
                p.offset_s,
                splits.join(", ")
            )?;
        }
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, render_svg(&cp))
            .with_context(|| format!("cannot write {}", path.display()))?;
        if !args.json {
            outln!("time-space diagram: {}", path.display())?;
        }
    }
    Ok(())
}
