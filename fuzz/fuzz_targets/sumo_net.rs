//! SUMO `.net.xml` networks as `greenwave check net.xml` reads them. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = roadnet::sumo::parse(text, "fuzz.net.xml").map_err(|e| e.to_string());
    }
});
