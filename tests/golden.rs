//! Golden files for what ships: the bundled Main Street network (`intersections.toml`) and its
//! day of counts (`data/main_street_counts.csv`) run under fixed-time and adaptive control.
//!
//! Each test renders a deterministic JSON document and compares it byte for byte with the file
//! in `tests/golden/`. A change in the model, the count replay, the simulator or a controller
//! shows up here as a diff. When the change is intended, regenerate with
//! `GREENWAVE_BLESS=1 cargo test --release --test golden` and review `git diff tests/golden`.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares `value` (pretty JSON, keys sorted) with `tests/golden/<name>`, or rewrites the file
/// when `GREENWAVE_BLESS` is set.
fn golden(name: &str, value: &Value) {
    let path = root().join("tests/golden").join(name);
    let text = serde_json::to_string_pretty(value).expect("JSON renders") + "\n";
    if std::env::var_os("GREENWAVE_BLESS").is_some_and(|v| !v.is_empty() && v != "0") {
        std::fs::write(&path, &text).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with GREENWAVE_BLESS=1)", path.display()));
    if want != text {
        let first = want
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(text.lines().count()));
        let line = |s: &str| s.lines().nth(first).unwrap_or("<end of file>").to_string();
        panic!(
            "{} differs from this build, first at line {}:\n  golden: {}\n  now:    {}\n\
             If the change is intended, regenerate with GREENWAVE_BLESS=1 and review the diff.",
            path.display(),
            first + 1,
            line(&want),
            line(&text)
        );
    }
}

fn greenwave(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run greenwave");
    assert!(
        out.status.success(),
        "greenwave {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The bundled network as a traffic engineer reads it: the summary `check` prints, then per
/// signalized intersection its stages with their timings and the movements each serves.
#[test]
fn bundled_network() {
    let summary: Value =
        serde_json::from_slice(&greenwave(&["check", "intersections.toml", "--json"])).unwrap();
    let net = roadnet::load_network(Path::new(&root().join("intersections.toml"))).unwrap();
    let mut intersections = serde_json::Map::new();
    for i in net.signalized() {
        let stages: Vec<Value> = i
            .stages
            .iter()
            .map(|&s| {
                let stage = net.stage(s);
                let l = &stage.limits;
                let mut movements: Vec<String> = stage
                    .groups
                    .iter()
                    .flat_map(|&g| net.signal_group(g).movements.iter())
                    .map(|&m| {
                        let mv = net.movement(m);
                        format!(
                            "{}→{} {:?}",
                            net.road(mv.from_road).name,
                            net.road(mv.to_road).name,
                            mv.turn
                        )
                    })
                    .collect();
                movements.sort();
                json!({
                    "name": stage.name,
                    "clearance": stage.clearance,
                    "base_green_s": stage.base_green_s,
                    "min_green_s": l.min_green_s,
                    "max_green_s": l.max_green_s,
                    "yellow_s": l.yellow_s,
                    "all_red_s": l.all_red_s,
                    "ped_walk_s": l.ped_walk_s,
                    "ped_clearance_s": l.ped_clearance_s,
                    "movements": movements,
                })
            })
            .collect();
        intersections.insert(
            i.name.clone(),
            json!({ "movements": i.movements.len(), "stages": stages }),
        );
    }
    golden(
        "network.json",
        &json!({ "summary": summary, "signalized": intersections }),
    );
}

/// The day replayed under one controller, as `greenwave sim --json` reports it, with the
/// wall-clock fields (which vary run to run) left out.
fn day(control: &str) -> Value {
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
        "--duration",
        "86400",
        "--control",
        control,
        "--json",
    ]);
    let mut m: Value = serde_json::from_slice(&out).unwrap();
    let obj = m.as_object_mut().unwrap();
    for timing in ["wall_s", "steps_per_s", "vehicle_updates_per_s"] {
        assert!(obj.remove(timing).is_some(), "sim --json lost {timing}");
    }
    assert_eq!(obj["safety_violations"], 0);
    m
}

#[test]
#[cfg_attr(debug_assertions, ignore = "a whole simulated day: run with --release")]
fn bundled_day_fixed_time() {
    golden("day_fixed_time.json", &day("fixed-time"));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "a whole simulated day: run with --release")]
fn bundled_day_adaptive() {
    golden("day_adaptive.json", &day("adaptive"));
}
