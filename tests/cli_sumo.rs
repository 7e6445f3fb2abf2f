//! `greenwave check` on SUMO networks as a user runs it: a generated network checks with its
//! summary and one line per element greenwave does not model; a malformed one exits 1 with one
//! line naming the file, line:column and attribute.

use std::process::Command;

fn greenwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run greenwave")
}

#[test]
fn check_a_sumo_network() {
    let out = greenwave(&["check", "roadnet/tests/fixtures/sumo/cross4.net.xml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("network cross4: OK"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no row '{name}' in {stdout}"))
    };
    assert_eq!(row("signalized intersections"), 1);
    assert_eq!(row("lanes"), 16);
    assert_eq!(row("stages"), 2);
    // 4 crossings, 8 walking areas, 8 sidewalk lanes: one note line each, then the verdict.
    assert_eq!(
        stdout.lines().filter(|l| l.contains(": note: ")).count(),
        20
    );
    assert!(stdout.contains(
        "tlLogic 'C' program '0' (static): 2 stages, cycle 90.0 s, offset 0.0 s: plan valid"
    ));
}

#[test]
fn check_json_keeps_notes_off_stdout() {
    let out = greenwave(&[
        "check",
        "roadnet/tests/fixtures/sumo/grid4.net.xml",
        "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signalized_intersections"], 16);
    assert_eq!(v["lanes"], 80);
    assert!(String::from_utf8_lossy(&out.stderr).contains("16 connection(s) at boundary nodes"));
}

#[test]
fn a_malformed_sumo_network_fails_with_one_line() {
    let out = greenwave(&[
        "check",
        "roadnet/tests/fixtures/sumo/bad/yellow_too_short.net.xml",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error"), "{stderr}");
    assert!(
        stderr.contains("yellow_too_short.net.xml:29:9: tlLogic[C].phase[0]: tlLogic 'C' program '0': the green of phase 0 is followed by 2.0 s of yellow"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// A fixed-time run on the generated arterial (SUMO's own programs as the plans) with a small
/// synthetic CityFlow demand, since SUMO route files are not imported yet.
#[test]
fn sim_on_the_sumo_arterial_has_no_safety_violations() {
    let out = greenwave(&[
        "sim",
        "--network",
        "roadnet/tests/fixtures/sumo/arterial6.net.xml",
        "--demand",
        "roadnet/tests/fixtures/sumo/arterial6_flow.json",
        "--control",
        "fixed-time",
        "--duration",
        "1200",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["safety_violations"], 0);
    assert_eq!(m["vehicles_generated"], 706, "16 flows over 900 s");
    // 436 completed when this test was written (seed 0); traffic must at least get through.
    assert!(m["vehicles_completed"].as_u64().unwrap() > 300, "{m}");
}

/// The same arterial with the route file SUMO's own tools made for it (randomTrips.py +
/// duarouter, 1200 vehicles over 30 min): the demand loads from `.rou.xml` and the fixed-time run
/// completes every vehicle within the default hour without a safety violation, with and without
/// lane changing, as `sumo` itself does on these files (mean trip 145.26 s). It used to gridlock
/// (71 completed; 48 with lane changing) when vehicles took lanes that could not reach the end of
/// their route (`docs/sumo.md`).
#[test]
fn sim_with_a_sumo_route_file() {
    for lane_change in [false, true] {
        let mut args = vec![
            "sim",
            "--network",
            "roadnet/tests/fixtures/sumo/arterial6.net.xml",
            "--demand",
            "roadnet/tests/fixtures/sumo/arterial6.rou.xml",
            "--control",
            "fixed-time",
            "--json",
        ];
        if lane_change {
            args.push("--lane-change");
        }
        let out = greenwave(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(m["safety_violations"], 0);
        // sumolib counts 1200 vehicles in the file (fixtures README).
        assert_eq!(m["vehicles_generated"], 1200);
        assert_eq!(
            m["vehicles_completed"], 1200,
            "lane change {lane_change}: {m}"
        );
        // Measured 130.02 s (127.66 s with lane changing) on 2026-11-30 (129.97 s when written),
        // against SUMO's 145.26 s;
        // a jam would push the mean far above either.
        let tt = m["average_travel_time_s"].as_f64().unwrap();
        assert!(tt > 100.0 && tt < 160.0, "lane change {lane_change}: {m}");
        // The file maps completely: no note lines on stderr.
        assert!(!stderr.contains(": note: "), "{stderr}");
    }
}

/// A route file that does not fit the network fails with one line naming file:line:col.
#[test]
fn a_bad_sumo_route_file_fails_with_one_line() {
    let out = greenwave(&[
        "sim",
        "--network",
        "roadnet/tests/fixtures/sumo/arterial6.net.xml",
        "--demand",
        "roadnet/tests/fixtures/sumo/bad_demand/route_not_connected.rou.xml",
        "--control",
        "fixed-time",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("route_not_connected.rou.xml:4:26: route[gap].edges: edges 'A0A1' and 'A3A4' are not joined by a movement"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// The SUMO 4×4 grid with 60 m left-turn pockets at half its peak demand: routes that turn
/// left into an inner lane and right two blocks on need lane changes on the way, which the
/// vehicles make where they help, and two vehicles halted side by side on each other's way
/// swap lanes (`sim/src/engine/routing.rs`, `lanechange.rs`). Under the imported 90 s programs
/// every vehicle completes and the mean trip is within 10 % of SUMO's own run of the same
/// files (`sumo -n grid4_pockets.net.xml -r grid4_pockets_half.rou.xml`, SUMO 1.28.0: 2413
/// vehicles, mean duration 263.44 s; greenwave measured 263.14 s when written). Before,
/// vehicles reached the pockets in lanes two changes away from their turn, stopped at the stop
/// line for good, and the grid locked up (223 of 2412 vehicles done in the hour). `adaptive`
/// without the detector file sees nothing and runs the same base plans; with it
/// (`--additional`) it controls, and every vehicle completes faster than under the programs.
#[test]
fn sim_on_the_sumo_pocket_grid_flows_as_sumo_does() {
    let run = |control: &str, extra: &[&str]| {
        let mut args = vec![
            "sim",
            "--network",
            "roadnet/tests/fixtures/sumo/grid4_pockets.net.xml",
            "--demand",
            "roadnet/tests/fixtures/sumo/grid4_pockets_half.rou.xml",
            "--control",
            control,
            "--duration",
            "5400",
            "--json",
        ];
        args.extend_from_slice(extra);
        let out = greenwave(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let m = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        assert_eq!(m["safety_violations"], 0, "{control} {extra:?}");
        assert_eq!(m["vehicles_generated"], 2413);
        assert_eq!(m["vehicles_completed"], 2413, "{control} {extra:?}: {m}");
        m["average_travel_time_s"].as_f64().unwrap()
    };
    let fixed = run("fixed-time", &[]);
    let sumo_s = 263.44;
    assert!(
        (fixed - sumo_s).abs() / sumo_s < 0.10,
        "{fixed} s against SUMO's {sumo_s} s"
    );
    assert_eq!(run("adaptive", &[]), fixed, "no sensors: the base plans");
    // measured 212.24 s: CityFlow's discretionary changes spread the queues
    assert!(run("fixed-time", &["--lane-change"]) < fixed);
    // measured 142.32 s (2026-11-30)
    let seen = run(
        "adaptive",
        &[
            "--additional",
            "roadnet/tests/fixtures/sumo/grid4_pockets.add.xml",
        ],
    );
    assert!(seen < 0.8 * fixed, "adaptive {seen} s, programs {fixed} s");
}

/// `--additional` belongs to SUMO networks; elsewhere the sensors are in the network file.
#[test]
fn additional_needs_a_sumo_network() {
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
        "--additional",
        "roadnet/tests/fixtures/sumo/grid4_pockets.add.xml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--additional") && stderr.contains("not a SUMO network"),
        "{stderr}"
    );
}

/// `greenwave sumo` reads its inputs before it looks for SUMO: a bad network or route file is
/// named in one line whether SUMO is installed or not (`--sumo-binary` points nowhere here).
#[test]
fn sumo_names_a_bad_input_before_it_needs_sumo() {
    for (net, routes, file) in [
        (
            "roadnet/tests/fixtures/sumo/bad/lane_negative_length.net.xml",
            "roadnet/tests/fixtures/sumo/arterial6.rou.xml",
            "lane_negative_length.net.xml",
        ),
        (
            "roadnet/tests/fixtures/sumo/arterial6.net.xml",
            "roadnet/tests/fixtures/sumo/bad_demand/depart_infinite.rou.xml",
            "depart_infinite.rou.xml",
        ),
    ] {
        let out = greenwave(&[
            "sumo",
            "--net",
            net,
            "--routes",
            routes,
            "--sumo-binary",
            "/nonexistent/sumo",
        ]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(file), "{stderr}");
    }
}
