//! Tune the adaptive controller on the bundled Main Street corridor day: a simulated day under
//! the fair baseline (one Webster plan for the day with green-wave offsets) and under adaptive
//! with the given parameters, then travel time and speed against the baseline.
//!
//! ```text
//! cargo run --release -p controller --example tune_corridor -- switch_margin_veh=4
//! cargo run --release -p controller --example tune_corridor -- --modes --per-intersection
//! ```
//!
//! Arguments: `key=value` for a field of `AdaptiveParams` (`--help` lists them);
//! `--modes` runs both coordinated and acyclic mode (overriding `coordinate`);
//! `--per-intersection` adds each intersection's delay and queues.

use controller::adaptive::{Adaptive, AdaptiveParams};
use controller::baseline::FixedPlans;
use controller::planned::{mean_flows_veh_s, webster_plans};
use roadnet::counts::Counts;
use roadnet::{Controller, RoadNet};
use sim::{Metrics, NoObserver, SimConfig, Simulation};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: tune_corridor [--modes] [--per-intersection] [key=value …]";

/// Saturation flow per lane the fair baseline is planned with, veh/s (1,800 veh/h).
const SATURATION_PER_LANE_VEH_S: f64 = 0.5;

fn run(net: &RoadNet, counts: &Counts, c: &mut dyn Controller) -> Result<Metrics, String> {
    let demand = counts.to_demand(
        net,
        0,
        roadnet::VehicleParams {
            max_speed_m_s: 16.67,
            ..Default::default()
        },
    );
    let cfg = SimConfig {
        track_vehicles: true,
        duration_s: 86_400.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(net.clone(), &demand, cfg).map_err(|e| e.to_string())?;
    let m = sim
        .run(c, &mut NoObserver)
        .map_err(|e| format!("{}: {e}", c.name()))?;
    if m.safety_violations > 0 {
        return Err(format!(
            "{}: {} safety violations",
            c.name(),
            m.safety_violations
        ));
    }
    Ok(m)
}

fn show(name: &str, m: &Metrics, base: &Metrics, per_intersection: bool) {
    println!(
        "{name:<36} travel {:>7.2} s ({:+.1} %)  speed {:>5.2} m/s ({:+.1} %)  delay {:>6.2} s  stops {:.2}  done {}/{}",
        m.average_travel_time_s,
        100.0 * (m.average_travel_time_s / base.average_travel_time_s - 1.0),
        m.mean_speed_m_s,
        100.0 * (m.mean_speed_m_s / base.mean_speed_m_s - 1.0),
        m.mean_delay_s,
        m.stops_per_vehicle,
        m.vehicles_completed,
        m.vehicles_generated,
    );
    if per_intersection {
        for (k, v) in &m.intersections {
            println!(
                "    {k:<8} delay {:>6.1} s  queue {:>5.1} max {:>3}  served {}",
                v.mean_delay_s, v.mean_queue_veh, v.max_queue_veh, v.vehicles_served
            );
        }
    }
}

fn main() -> ExitCode {
    match tune(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tune_corridor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn tune(args: Vec<String>) -> Result<(), String> {
    let (mut modes, mut per_intersection) = (false, false);
    let mut params = Vec::new();
    for a in args {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}\nparameters: {}", AdaptiveParams::KEYS.join(", "));
                return Ok(());
            }
            "--modes" => modes = true,
            "--per-intersection" => per_intersection = true,
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            _ => params.push(a),
        }
    }
    let p = AdaptiveParams::from_args(&params).map_err(|e| e.to_string())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let net =
        roadnet::config::load_toml(&root.join("intersections.toml")).map_err(|e| e.to_string())?;
    let counts = roadnet::counts::load_counts(&root.join("data/main_street_counts.csv"), &net)
        .map_err(|e| e.to_string())?;
    let flows = mean_flows_veh_s(&net, &counts);
    let name = "fixed-time (Webster + green wave)";
    let mut fair = FixedPlans::new(
        name,
        &net,
        webster_plans(&net, &flows, SATURATION_PER_LANE_VEH_S),
    )
    .map_err(|e| e.to_string())?;
    let base = run(&net, &counts, &mut fair)?;
    show(name, &base, &base, per_intersection);
    let runs: Vec<AdaptiveParams> = if modes {
        [true, false]
            .into_iter()
            .map(|coordinate| AdaptiveParams { coordinate, ..p })
            .collect()
    } else {
        vec![p]
    };
    for p in runs {
        let m = run(&net, &counts, &mut Adaptive::with_params(&net, p))?;
        let mode = if p.coordinate {
            "coordinated"
        } else {
            "acyclic"
        };
        show(
            &format!("adaptive {mode} {}", params.join(" ")),
            &m,
            &base,
            per_intersection,
        );
    }
    Ok(())
}
