//! The Rerun recorder (feature `rerun`): record ten minutes of the morning peak on the bundled
//! Main Street corridor to an `.rrd` file, open the file again with the Rerun SDK's decoder and
//! check that every logged entity is there, on the `sim_time` timeline.
//!
//! Run with `CARGO_TARGET_DIR=target-rerun cargo test --profile rerun-ci --features rerun --test
//! rerun_record` as `.ci/run` does (a separate target dir keeps the long cold build of the SDK out
//! of the way of the default build; the `rerun-ci` profile skips debug info and dependency
//! optimisation).
#![cfg(feature = "rerun")]

// The binary crate has no library target, so the module is compiled into this test directly.
#[path = "../src/record.rs"]
mod record;

use rerun::external::re_log_encoding::DecoderApp;
use rerun::log::{Chunk, LogMsg};
use roadnet::{Demand, VehicleParams};
use sim::{SimConfig, Simulation};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Rows logged per entity path, and whether each entity has data on `sim_time` (static-only
/// entities have none).
fn read_rrd(path: &Path) -> anyhow::Result<BTreeMap<String, (usize, bool)>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut entities: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for msg in DecoderApp::decode_lazy(file) {
        if let LogMsg::ArrowMsg(_, arrow) = msg? {
            let chunk = Chunk::from_arrow_msg(&arrow)?;
            let e = entities.entry(chunk.entity_path().to_string()).or_default();
            e.0 += chunk.num_rows();
            e.1 |= chunk
                .timelines()
                .keys()
                .any(|t| t.as_str() == record::TIMELINE);
        }
    }
    Ok(entities)
}

#[test]
fn records_a_corridor_run_that_the_sdk_reads_back() -> anyhow::Result<()> {
    const START_S: f64 = 7.5 * 3600.0;
    const DURATION_S: f64 = 600.0;
    let net = Arc::new(roadnet::load_network(&root().join("intersections.toml"))?);
    let counts = roadnet::counts::load_counts(&root().join("data/main_street_counts.csv"), &net)?;
    let day = counts.to_demand(&net, 7, VehicleParams::default());
    let trips = day
        .trips
        .into_iter()
        .filter(|t| (START_S..START_S + DURATION_S).contains(&t.departure_s))
        .map(|mut t| {
            t.departure_s -= START_S;
            t
        })
        .collect();
    let demand = Demand::new(trips);
    assert!(demand.trips.len() > 100, "expected peak traffic");
    let cfg = SimConfig {
        duration_s: DURATION_S,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(Arc::clone(&net), &demand, cfg)?;
    let mut controller = controller::baseline::make_controller("fixed-time", &net)?;

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rerun_record");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("corridor.rrd");
    let mut rec = record::recorder(&path, 1)?;
    sim.run(controller.as_mut(), &mut rec)?;
    rec.finish()?;

    let size = std::fs::metadata(&path)?.len();
    eprintln!(
        "{} vehicles, {DURATION_S} s recorded every step: {} ({size} bytes)",
        demand.trips.len(),
        path.display()
    );
    let entities = read_rrd(&path)?;

    // Static geometry.
    for p in ["/network/lanes", "/network/links", "/network/intersections"] {
        assert!(
            entities.contains_key(p),
            "{p} missing: {:?}",
            entities.keys()
        );
    }
    // Time series: vehicles every step, one signal/plan entity per signalized intersection,
    // one queue per approach road.
    let (rows, timed) = entities["/vehicles"];
    assert!(
        timed && rows >= DURATION_S as usize,
        "vehicles: {rows} rows"
    );
    for inter in net.signalized() {
        let name = &inter.name;
        for p in [
            format!("/signals/{name}"),
            format!("/plan/{name}"),
            format!("/plan/{name}/events"),
        ] {
            let (rows, timed) = entities
                .get(&p)
                .copied()
                .unwrap_or_else(|| panic!("{p} missing: {:?}", entities.keys()));
            assert!(timed && rows > 1, "{p}: {rows} rows");
        }
    }
    let approaches = net
        .roads
        .iter()
        .filter(|r| net.intersection(r.to).kind != roadnet::IntersectionKind::Boundary);
    for road in approaches {
        let p = format!("/queues/{}", road.name);
        let (rows, timed) = entities
            .get(&p)
            .copied()
            .unwrap_or_else(|| panic!("{p} missing: {:?}", entities.keys()));
        assert!(timed && rows >= DURATION_S as usize, "{p}: {rows} rows");
    }
    Ok(())
}

#[test]
fn an_unwritable_path_is_an_error_not_a_panic() {
    let bad = root().join("no/such/dir/out.rrd");
    let err = match record::recorder(&bad, 1) {
        Ok(_) => panic!("expected an error"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("out.rrd"), "{err}");
}
