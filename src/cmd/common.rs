//! Loading what several subcommands share.

use anyhow::Context;
use roadnet::{Demand, RoadNet, VehicleParams};
use std::path::Path;

/// Load demand by extension: a CityFlow flow `.json`, a count `.csv` turned into trips
/// with `seed` (docs/counts.md), or a SUMO route file `.rou.xml`/`.xml` (docs/sumo.md; `seed`
/// drives its `probability` flows). A route file's notes (what greenwave does not model) go to
/// stderr, one line each, so they are never silently lost and `--json` output stays clean.
pub fn load_demand(path: &Path, net: &RoadNet, seed: u64) -> anyhow::Result<Demand> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(roadnet::cityflow::load_flow(path, net)?),
        Some("xml") => {
            let sumo = roadnet::sumo::demand::load_routes(path, net, seed)?;
            for note in &sumo.notes {
                eprintln!("{note}");
            }
            Ok(sumo.demand)
        }
        Some("csv") => {
            let counts = roadnet::counts::load_counts(path, net)?;
            Ok(counts.to_demand(
                net,
                seed,
                VehicleParams {
                    max_speed_m_s: 16.67,
                    ..VehicleParams::default()
                },
            ))
        }
        _ => Err(anyhow::anyhow!(
            "{}: unknown demand format: expected a CityFlow flow .json, a count .csv or a SUMO .rou.xml",
            path.display()
        )),
    }
    .with_context(|| format!("loading demand for network '{}'", net.name))
}
