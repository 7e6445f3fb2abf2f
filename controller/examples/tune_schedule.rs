//! Measure the schedule-driven controller on the Jinan 3×4 data set: one hour of each flow
//! under max-pressure and under `schedule` with the given parameters, the figures and the
//! ratios to max-pressure, and the controller's wall time.
//!
//! ```text
//! cargo run --release -p controller --example tune_schedule -- beam_width=8 horizon_s=45
//! cargo run --release -p controller --example tune_schedule -- --flows "Jinan 1" merge_gap_s=3
//! ```
//!
//! Every argument but `--flows NAMES` is `key=value` for a field of `ScheduleParams`
//! (`--help` lists them). The data set is found as the tests find it (`GREENWAVE_DATA`).

mod common;

use controller::baseline::make_controller;
use controller::schedule::{Schedule, ScheduleParams};
use roadnet::RoadNet;
use sim::{Metrics, SimConfig};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const KEYS: &[&str] = &[
    "horizon_s",
    "merge_gap_s",
    "startup_lost_s",
    "min_green_s",
    "max_green_s",
    "max_red_s",
    "full_road_share",
    "beam_width",
    "max_segments",
    "upstream_plans",
    "rank_share",
];

fn set(p: &mut ScheduleParams, kv: &str) -> Result<(), String> {
    let (k, v) = kv
        .split_once('=')
        .ok_or_else(|| format!("'{kv}' is not key=value"))?;
    let num = || {
        v.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("{k} = '{v}': expected a finite number ≥ 0"))
    };
    match k {
        "horizon_s" => p.horizon_s = num()?,
        "merge_gap_s" => p.merge_gap_s = num()?,
        "startup_lost_s" => p.startup_lost_s = num()?,
        "min_green_s" => p.min_green_s = num()?,
        "max_green_s" => p.max_green_s = num()?,
        "max_red_s" => p.max_red_s = num()?,
        "full_road_share" => p.full_road_share = num()?,
        "beam_width" => p.beam_width = num()? as usize,
        "max_segments" => p.max_segments = num()? as usize,
        "upstream_plans" => p.upstream_plans = num()? > 0.0,
        "rank_share" => p.rank_share = num()?,
        _ => return Err(format!("unknown parameter '{k}'; known: {}", KEYS.join(", "))),
    }
    Ok(())
}

fn run(net: &RoadNet, flow: &Path, c: &mut dyn roadnet::Controller) -> Result<Metrics, String> {
    let demand = roadnet::cityflow::load_flow(flow, net).map_err(|e| e.to_string())?;
    let cfg = SimConfig {
        track_vehicles: true,
        ..SimConfig::default()
    };
    common::run_checked(net, &demand, cfg, c)
}

fn main() -> ExitCode {
    common::main_of("tune_schedule", tune)
}

fn tune(args: Vec<String>) -> Result<(), String> {
    let mut p = ScheduleParams::default();
    let mut flows: Option<Vec<String>> = None;
    let mut it = args.into_iter();
    let mut shown = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("usage: tune_schedule [--flows NAMES] [key=value …]\nparameters: {}", KEYS.join(", "));
                return Ok(());
            }
            "--flows" => {
                let v = it.next().ok_or("--flows needs a value")?;
                flows = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            _ => {
                set(&mut p, &a)?;
                shown.push(a);
            }
        }
    }
    let jinan = testdata::data_root()
        .map(|root| testdata::Jinan {
            dir: root.join("cityflow/jinan_3x4"),
        })
        .filter(|j| j.roadnet().is_file())
        .ok_or_else(|| format!("the Jinan 3×4 data set was not found: set {}", testdata::DATA_ENV))?;
    let net = roadnet::cityflow::load_roadnet(&jinan.roadnet()).map_err(|e| e.to_string())?;
    let mut sum = 0.0;
    let mut n = 0.0;
    for (name, file) in testdata::JINAN_FLOWS.iter() {
        if flows.as_ref().is_some_and(|f| !f.iter().any(|x| x == name)) {
            continue;
        }
        let flow = jinan.flow(file);
        let mut mp_ctl = make_controller("max-pressure", &net).map_err(|e| e.to_string())?;
        let mp = run(&net, &flow, mp_ctl.as_mut())?;
        let t0 = Instant::now();
        let m = run(&net, &flow, &mut Schedule::with_params(&net, p))?;
        let wall = t0.elapsed().as_secs_f64();
        let re = m.entering_lane_travel_time_s / mp.entering_lane_travel_time_s;
        let ra = m.average_travel_time_s / mp.average_travel_time_s;
        sum += re + ra;
        n += 2.0;
        println!(
            "{name}: schedule {:.2}/{:.2} s  max-pressure {:.2}/{:.2} s  ratio {re:.3}/{ra:.3}  wall {wall:.1} s",
            m.entering_lane_travel_time_s,
            m.average_travel_time_s,
            mp.entering_lane_travel_time_s,
            mp.average_travel_time_s,
        );
    }
    println!("params {}: mean ratio {:.4}", shown.join(" "), sum / n);
    Ok(())
}
