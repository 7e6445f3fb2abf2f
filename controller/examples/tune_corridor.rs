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

mod common;

use common::{corridor_day, fair_baseline, run_corridor_day, show, FAIR_BASELINE};
use controller::adaptive::{Adaptive, AdaptiveParams};
use std::process::ExitCode;

const USAGE: &str = "usage: tune_corridor [--modes] [--per-intersection] [key=value …]";

fn main() -> ExitCode {
    common::main_of("tune_corridor", tune)
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
    let (net, counts) = corridor_day()?;
    let base = run_corridor_day(&net, &counts, &mut fair_baseline(&net, &counts)?)?;
    show(FAIR_BASELINE, &base, &base, per_intersection);
    let runs: Vec<AdaptiveParams> = if modes {
        [true, false]
            .into_iter()
            .map(|coordinate| AdaptiveParams { coordinate, ..p })
            .collect()
    } else {
        vec![p]
    };
    for p in runs {
        let m = run_corridor_day(&net, &counts, &mut Adaptive::with_params(&net, p))?;
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
