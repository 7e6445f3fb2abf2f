//! Count CSV files against the bundled network: parsed, and when small enough turned into trips
//! (the demand cap bounds the rest). Never a panic, never unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn net() -> &'static roadnet::RoadNet {
    static NET: OnceLock<roadnet::RoadNet> = OnceLock::new();
    NET.get_or_init(|| {
        roadnet::config::parse_toml(include_str!("../../intersections.toml"), "intersections.toml")
            .expect("the bundled network loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match roadnet::counts::parse_counts(text, "fuzz.csv", net()) {
        Ok(counts) => {
            let vehicles: u64 = counts.rows.iter().map(|r| u64::from(r.count)).sum();
            if vehicles <= 20_000 {
                let _ = counts.to_demand(net(), 1, roadnet::VehicleParams::default());
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
