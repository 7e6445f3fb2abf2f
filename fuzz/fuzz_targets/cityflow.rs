//! CityFlow road networks and flow files: the first byte chooses which; a flow file is read
//! against the one-intersection fixture network. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn net() -> &'static roadnet::RoadNet {
    static NET: OnceLock<roadnet::RoadNet> = OnceLock::new();
    NET.get_or_init(|| {
        roadnet::cityflow::parse_roadnet(
            include_str!("../../tests/fixtures/cityflow_one.json"),
            "cityflow_one.json",
        )
        .expect("the fixture loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if which % 2 == 0 {
        let _ = roadnet::cityflow::parse_roadnet(text, "fuzz.json").map_err(|e| e.to_string());
    } else {
        let _ = roadnet::cityflow::parse_flow(text, "fuzz.json", net()).map_err(|e| e.to_string());
    }
});
