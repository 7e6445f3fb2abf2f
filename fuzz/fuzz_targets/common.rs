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
