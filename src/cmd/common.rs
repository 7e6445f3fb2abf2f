//! Loading what several subcommands share.

use anyhow::Context;
use roadnet::{Demand, RoadNet, VehicleParams};
use std::path::Path;

/// Load demand by extension: a CityFlow flow `.json`, or a count `.csv` turned into trips
/// with `seed` (docs/counts.md).
pub fn load_demand(path: &Path, net: &RoadNet, seed: u64) -> anyhow::Result<Demand> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(roadnet::cityflow::load_flow(path, net)?),
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
            "{}: unknown demand format: expected a CityFlow flow .json or a count .csv",
            path.display()
        )),
    }
    .with_context(|| format!("loading demand for network '{}'", net.name))
}
