//! What the tuning tools and the corridor test share: the bundled corridor day, its fair
//! baseline, runs that refuse safety violations, and the tools' error handling.
#![allow(
    dead_code,
    reason = "shared by several test or example binaries, each using a different part"
)]

use controller::baseline::FixedPlans;
use controller::planned::{mean_flows_veh_s, webster_plans};
use roadnet::counts::Counts;
use roadnet::{Controller, Demand, RoadNet};
use sim::{Metrics, NoObserver, SimConfig, Simulation};
use std::path::Path;
use std::process::ExitCode;

/// Name of the fair baseline in tables.
pub(crate) const FAIR_BASELINE: &str = "fixed-time (Webster + green wave)";
/// Saturation flow per lane the fair baseline is planned with, veh/s (1,800 veh/h).
pub(crate) const SATURATION_PER_LANE_VEH_S: f64 = 0.5;

/// Run a tool's body with its arguments; an error is printed, prefixed by the tool's name,
/// and ends the process with a failure status.
pub(crate) fn main_of(
    tool: &str,
    body: impl FnOnce(Vec<String>) -> Result<(), String>,
) -> ExitCode {
    match body(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Simulate `demand` under `c`; a run with any safety violation is an error.
pub(crate) fn run_checked(
    net: &RoadNet,
    demand: &Demand,
    cfg: SimConfig,
    c: &mut dyn Controller,
) -> Result<Metrics, String> {
    let mut sim = Simulation::new(net.clone(), demand, cfg).map_err(|e| e.to_string())?;
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

/// The bundled Main Street corridor and its day of counts.
pub(crate) fn corridor_day() -> Result<(RoadNet, Counts), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let net =
        roadnet::config::load_toml(&root.join("intersections.toml")).map_err(|e| e.to_string())?;
    let counts = roadnet::counts::load_counts(&root.join("data/main_street_counts.csv"), &net)
        .map_err(|e| e.to_string())?;
    Ok((net, counts))
}

/// The fair baseline: one Webster plan for the whole day with green-wave offsets.
pub(crate) fn fair_baseline(net: &RoadNet, counts: &Counts) -> Result<FixedPlans, String> {
    let flows = mean_flows_veh_s(net, counts);
    FixedPlans::new(
        FAIR_BASELINE,
        net,
        webster_plans(net, &flows, SATURATION_PER_LANE_VEH_S),
    )
    .map_err(|e| e.to_string())
}

/// The corridor day's trips (seed 0, vehicles at up to 16.67 m/s).
pub(crate) fn corridor_demand(net: &RoadNet, counts: &Counts) -> Demand {
    counts.to_demand(
        net,
        0,
        roadnet::VehicleParams {
            max_speed_m_s: 16.67,
            ..Default::default()
        },
    )
}

/// The whole corridor day (86,400 s, vehicles at up to 16.67 m/s) under `c`.
pub(crate) fn run_corridor_day(
    net: &RoadNet,
    counts: &Counts,
    c: &mut dyn Controller,
) -> Result<Metrics, String> {
    run_corridor_day_as(net, counts, c, None)
}

/// [`run_corridor_day`] with the loop detector interval a strategy needs
/// (`controller::detector_interval_s`), seconds.
pub(crate) fn run_corridor_day_as(
    net: &RoadNet,
    counts: &Counts,
    c: &mut dyn Controller,
    detector_interval_s: Option<f64>,
) -> Result<Metrics, String> {
    let demand = corridor_demand(net, counts);
    let mut cfg = SimConfig {
        track_vehicles: true,
        duration_s: 86_400.0,
        ..SimConfig::default()
    };
    if let Some(d) = detector_interval_s {
        cfg.detector_interval_s = d;
    }
    run_checked(net, &demand, cfg, c)
}

/// One line of figures against the baseline's, and with `per_intersection` each intersection's.
pub(crate) fn show(name: &str, m: &Metrics, base: &Metrics, per_intersection: bool) {
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
