//! `intersections.toml` as `greenwave check` reads it: any text must give a network or a
//! one-line error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = roadnet::config::parse_toml(text, "fuzz.toml") {
            let _ = e.to_string();
        }
    }
});
