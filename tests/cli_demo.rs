//! The demo on a short window of the bundled day: the adaptive controller really acts through
//! the Modbus field link, nothing unsafe happens, and the report folder is complete.

use std::process::Command;

#[test]
fn demo_runs_through_the_field_link_and_writes_its_report() {
    let out_dir = std::env::temp_dir().join(format!("greenwave-demo-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args([
            "demo",
            "--quiet",
            "--json",
            "--duration",
            "1800",
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .output()
        .expect("run the demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["safety_violations"], 0);
    assert!(
        v["stage_requests"].as_u64().unwrap() > 0,
        "the controller acted over Modbus: {v}"
    );
    assert_eq!(v["stage_requests_rejected"], 0);
    // the standby plans kept current in every field controller
    assert!(
        v["plans_pushed"].as_u64().unwrap() > 0,
        "standby plans reached the field: {v}"
    );
    assert_eq!(v["plans_rejected"], 0);
    let strategies = v["strategies"].as_array().unwrap();
    // before (configured Webster plan), tod, actuated, adaptive over Modbus
    assert_eq!(strategies.len(), 4);
    for s in strategies {
        assert!(s["vehicles_completed"].as_u64().unwrap() > 0);
        assert_eq!(s["safety_violations"], 0);
    }
    for f in [
        "metrics.json",
        "metrics.csv",
        "intersections.csv",
        "field_link.json",
    ] {
        assert!(out_dir.join(f).metadata().unwrap().len() > 0, "{f}");
    }
    for f in [
        "time_space.svg",
        "delay_by_intersection.svg",
        "travel_times.svg",
    ] {
        let svg = std::fs::read_to_string(out_dir.join(f)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f}"
        );
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
