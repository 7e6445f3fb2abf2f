//! Count CSV files against the bundled network: parsed, and when small enough turned into trips
//! (the demand cap bounds the rest). Never a panic, never unbounded memory.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;


fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let net = common::bundled_net();
    match roadnet::counts::parse_counts(text, "fuzz.csv", &net) {
        Ok(counts) => {
            let vehicles: u64 = counts.rows.iter().map(|r| u64::from(r.count)).sum();
            if vehicles <= 20_000 {
                let _ = counts.to_demand(&net, 1, roadnet::VehicleParams::default());
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
