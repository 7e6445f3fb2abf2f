//! Tune the adaptive controller on the Jinan 3×4 data set: one hour of each flow under
//! max-pressure and under adaptive with the given parameters, then adaptive's figures and its
//! ratios to max-pressure (the mean of the six ratios is the figure to push down).
//!
//! ```text
//! cargo run --release -p controller --example tune_jinan -- max_green_s=40 switch_margin_veh=2
//! cargo run --release -p controller --example tune_jinan -- --flows "Jinan 1" max_red_s=120
//! ```
//!
//! Every argument but `--flows NAMES` (comma-separated, default all three) is `key=value` for
//! a field of `AdaptiveParams` (`--help` lists them). The data set is found as the tests find
//! it: `GREENWAVE_DATA` names the folder holding `cityflow/jinan_3x4/`.

mod common;

use controller::adaptive::{Adaptive, AdaptiveParams};
use controller::baseline::make_controller;
use roadnet::{Command, Controller, RoadNet, StepInput};
use sim::{Metrics, SimConfig};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: tune_jinan [--flows \"Jinan 1,Jinan 2\"] [key=value …]";

/// Counts the commands a controller emits (switch requests per intersection and hour tell how
/// busy a parameter set keeps the signals).
struct Count<C>(C, usize);

impl<C: Controller> Controller for Count<C> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let before = out.len();
        self.0.step(input, out);
        self.1 += out.len() - before;
    }
}

fn run(net: &RoadNet, flow: &Path, c: &mut dyn Controller) -> Result<Metrics, String> {
    let demand = roadnet::cityflow::load_flow(flow, net).map_err(|e| e.to_string())?;
    let cfg = SimConfig {
        track_vehicles: true,
        ..SimConfig::default()
    };
    common::run_checked(net, &demand, cfg, c)
}

fn main() -> ExitCode {
    common::main_of("tune_jinan", tune)
}

fn tune(args: Vec<String>) -> Result<(), String> {
    let mut flows: Option<Vec<String>> = None;
    let mut params = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}\nparameters: {}", AdaptiveParams::KEYS.join(", "));
                return Ok(());
            }
            "--flows" => {
                let v = it.next().ok_or("--flows needs a value")?;
                flows = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            _ => params.push(a),
        }
    }
    let p = AdaptiveParams::from_args(&params).map_err(|e| e.to_string())?;
    let flows: Vec<(&str, &str)> = match &flows {
        None => testdata::JINAN_FLOWS.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                testdata::JINAN_FLOWS
                    .iter()
                    .find(|(name, _)| name == n)
                    .copied()
                    .ok_or_else(|| format!("unknown flow '{n}' (Jinan 1, Jinan 2, Jinan 3)"))
            })
            .collect::<Result<_, _>>()?,
    };
    let jinan = testdata::data_root()
        .map(|root| testdata::Jinan {
            dir: root.join("cityflow/jinan_3x4"),
        })
        .filter(|j| j.roadnet().is_file())
        .ok_or_else(|| {
            format!(
                "the Jinan 3×4 data set was not found: set {} to the folder holding cityflow/jinan_3x4",
                testdata::DATA_ENV
            )
        })?;
    let net = roadnet::cityflow::load_roadnet(&jinan.roadnet()).map_err(|e| e.to_string())?;
    let signals = net.signalized().count().max(1) as f64;
    let mut sum = 0.0;
    for (name, file) in &flows {
        let flow = jinan.flow(file);
        let mut mp_ctl = make_controller("max-pressure", &net).map_err(|e| e.to_string())?;
        let mp = run(&net, &flow, mp_ctl.as_mut())?;
        let mut c = Count(Adaptive::with_params(&net, p), 0);
        let m = run(&net, &flow, &mut c)?;
        let re = m.entering_lane_travel_time_s / mp.entering_lane_travel_time_s;
        let ra = m.average_travel_time_s / mp.average_travel_time_s;
        sum += re + ra;
        println!(
            "{name}: adaptive {:.2}/{:.2} s  max-pressure {:.2}/{:.2} s  ratio {re:.3}/{ra:.3}  \
             commands/intersection/h {:.0}",
            m.entering_lane_travel_time_s,
            m.average_travel_time_s,
            mp.entering_lane_travel_time_s,
            mp.average_travel_time_s,
            c.1 as f64 / signals
        );
    }
    println!(
        "params {}: mean ratio to max-pressure {:.4}",
        params.join(" "),
        sum / (2 * flows.len()) as f64
    );
    Ok(())
}
