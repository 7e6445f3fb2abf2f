//! The demo on a short window of the bundled day: the adaptive controller really acts through
//! the Modbus field link — driven by `field::central::Daemon`, the daemon `greenwave run`
//! ships, once per simulated step — the simulator's lamps agree with the field's as read over
//! Modbus, the Modbus run agrees with the direct run of the same controller within 1 %, nothing
//! unsafe happens, and the report folder is complete.

use std::process::Command;

const AGREEMENT_METRICS: [&str; 6] = [
    "average_travel_time_s",
    "entering_lane_travel_time_s",
    "mean_delay_s",
    "stops_per_vehicle",
    "mean_speed_m_s",
    "vehicles_completed",
];

/// `metric` over Modbus against direct, %.
fn change_pct(modbus: &serde_json::Value, direct: &serde_json::Value, metric: &str) -> f64 {
    let (m, d) = (
        modbus[metric].as_f64().unwrap(),
        direct[metric].as_f64().unwrap(),
    );
    assert!(d > 0.0, "{metric}");
    (m - d) / d * 100.0
}

/// The issue asks for 1 % on the demo's day, which `.ci/run` asserts on the full-day demo. On
/// the first half hour (about 240 vehicles, at night) a few vehicles' waits move the means, so
/// agreement there needs the Modbus path to decide step for step as the direct one does: it
/// measured +3.75 % travel time and +16.4 % mean delay until the controller saw the same
/// inputs on both roads (the first interval's detector counts, the first green held by
/// request, the green shown in change intervals, the lamps of the same moment); 0.00 % on
/// every metric since, over the whole day too (2026-11-30).
#[test]
fn modbus_and_direct_agree_within_1pct_on_the_first_half_hour() {
    let out_dir = std::env::temp_dir().join(format!("greenwave-demo-agree-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(["demo", "--quiet", "--json", "--duration", "1800", "--out"])
        .arg(&out_dir)
        .output()
        .expect("run the demo");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strategies = v["strategies"].as_array().unwrap();
    let run = |name: &str| strategies.iter().find(|s| s["control"] == name).unwrap();
    let (modbus, direct) = (run("adaptive (over Modbus)"), run("adaptive (direct)"));
    let _ = std::fs::remove_dir_all(&out_dir);
    for metric in AGREEMENT_METRICS {
        let pct = change_pct(modbus, direct, metric);
        assert!(pct.abs() <= 1.0, "{metric}: {pct:+.2} %");
    }
}

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
    // the loop ran the daemon: one daemon step per simulated step, each reading every field
    // controller's status over Modbus, detectors polled at every closed interval
    let link = &v["field_link"];
    let daemon = &link["daemon"];
    assert_eq!(link["sim_steps"], 1800, "{link}");
    assert_eq!(
        daemon["steps"], 1800,
        "the daemon stepped once per step: {link}"
    );
    let controllers = link["controllers"].as_u64().unwrap();
    assert_eq!(controllers, 7);
    assert!(daemon["status_reads"].as_u64().unwrap() >= 1800 * controllers);
    // the counters read at first contact, then the 29 detector intervals of 60 s that close
    // at 60 s … 1740 s (steps run 0 … 1799 s)
    assert_eq!(
        daemon["polls_ok"].as_u64().unwrap(),
        (1 + 29) * controllers,
        "{link}"
    );
    assert!(daemon["detector_counts"]
        .as_object()
        .unwrap()
        .values()
        .any(|c| c.as_u64().unwrap() > 0));
    assert_eq!(daemon["stage_requests"], v["stage_requests"]);
    assert_eq!(daemon["poll_errors"], 0);
    assert_eq!(daemon["stage_request_errors"], 0);
    // the simulator's lamps are the field's lamps, every step
    assert_eq!(link["lamp_checks"].as_u64().unwrap(), 1800 * controllers);
    assert_eq!(v["lamp_mismatches"], 0, "{link}");
    assert!(link["stage_changes_followed"].as_u64().unwrap() > 0);
    // the cameras travelled over MQTT (embedded broker) into the daemon: every frame the
    // simulator took came back, none dropped
    let cams = &daemon["cameras"];
    assert!(cams["received"].as_u64().unwrap() > 0, "{cams}");
    assert_eq!(cams["received"], cams["accepted"], "{cams}");
    assert_eq!(cams["received"], cams["delivered"], "{cams}");
    assert!(
        cams["dropped"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n.as_u64() == Some(0)),
        "{cams}"
    );

    let strategies = v["strategies"].as_array().unwrap();
    // before (configured Webster plan), tod, actuated, adaptive over Modbus, adaptive direct
    assert_eq!(strategies.len(), 5);
    let run = |name: &str| {
        strategies
            .iter()
            .find(|s| s["control"] == name)
            .unwrap_or_else(|| panic!("no '{name}' run in {v}"))
    };
    let (modbus, direct) = (run("adaptive (over Modbus)"), run("adaptive (direct)"));
    // the reported Modbus-against-direct figures are the runs' own (the 1 % agreement itself is
    // checked on the whole day by .ci/run, and on this window by the ignored test below)
    for metric in AGREEMENT_METRICS {
        let pct = change_pct(modbus, direct, metric);
        let reported = v["modbus_vs_direct_pct"][metric].as_f64().unwrap();
        assert!(
            (reported - pct).abs() < 1e-9,
            "{metric}: reported {reported}"
        );
    }
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

/// The closed loop keeps only the simulator ↔ field-unit glue: detector polling, plan pushes,
/// stage requests and heartbeats are the daemon's (the demo test above shows the daemon ran
/// them; this one that no second copy of them is left in the loop).
#[test]
fn the_field_loop_does_not_talk_modbus_itself() {
    let glue = include_str!("../src/cmd/fieldloop.rs");
    for call in [
        ".poll_detectors(",
        ".push_plan(",
        ".request_stage(",
        ".heartbeat(",
        ".status(",
        ".signal_state(",
    ] {
        let code_lines: Vec<&str> = glue
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .filter(|l| l.contains(call))
            .collect();
        assert!(
            code_lines.is_empty(),
            "{call} in fieldloop.rs: {code_lines:?}"
        );
    }
    assert!(glue.contains("Daemon::with_config("));
    // The demo runs the two halves of the daemon's step itself (it waits for the step's camera
    // batch while the field is read); they must be the very halves `greenwave run`'s step is
    // made of, in that order, and nothing else.
    assert!(glue.contains(".read_field(") && glue.contains(".decide_and_act("));
    let daemon = include_str!("../field/src/central/daemon.rs");
    let step = daemon
        .split("pub async fn step_with_cameras(")
        .nth(1)
        .and_then(|rest| rest.split("\n    }\n").next())
        .expect("Daemon::step_with_cameras in field/src/central/daemon.rs");
    let body: Vec<&str> = step
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        body,
        [
            "self.read_field(time_s).await;",
            "self.decide_and_act(cameras).await;"
        ],
        "Daemon::step_with_cameras is no longer read_field then decide_and_act"
    );
}
