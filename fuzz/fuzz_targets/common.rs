//! What several fuzz targets share: the bundled network, parsed once per process.

use std::sync::{Arc, OnceLock};

pub(crate) fn bundled_net() -> Arc<roadnet::RoadNet> {
    static NET: OnceLock<Arc<roadnet::RoadNet>> = OnceLock::new();
    NET.get_or_init(|| {
        Arc::new(
            roadnet::config::parse_toml(include_str!("../../intersections.toml"), "intersections.toml")
                .expect("the bundled network loads"),
        )
    })
    .clone()
}

/// The bundled network with a field controller at its first signalized intersection only:
/// the emulator then builds and runs just the unit a target talks to, instead of every
/// intersection's on every input (six of seven were idle work for the fuzzer).
#[allow(dead_code)] // not every target that includes this module uses it
pub(crate) fn one_unit_net() -> Arc<roadnet::RoadNet> {
    static NET: OnceLock<Arc<roadnet::RoadNet>> = OnceLock::new();
    NET.get_or_init(|| {
        let mut net = (*bundled_net()).clone();
        let mut kept = false;
        for inter in &mut net.intersections {
            if inter.controller.is_some() {
                if kept {
                    inter.controller = None;
                }
                kept = true;
            }
        }
        Arc::new(net)
    })
    .clone()
}
