//! `greenwave compare --scenario`: malformed scenario files each give one line naming the file,
//! line:column and field; a short comparison of two scenarios with 3 seeds runs end to end and
//! writes the same JSON and CSV twice.

use std::path::{Path, PathBuf};
use std::process::Command;

fn greenwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run greenwave")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli_scenario_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compare(scenarios: &[&Path], more: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = [
        "compare",
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in scenarios {
        args.push("--scenario".into());
        args.push(s.display().to_string());
    }
    args.extend(more.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    greenwave(&refs)
}

#[test]
fn malformed_scenario_files_each_give_one_line() {
    let dir = scratch("bad");
    // (file text, what the line must contain: "line:col" and the field / reason)
    let cases: &[(&str, &[&str])] = &[
        ("nmae = \"x\"\n", &[":1:1:", "unknown field `nmae`"]),
        ("[[demand]]\nfactor = 1.1\nscale = 2\n", &[":3:1:", "unknown field `scale`"]),
        ("[[demand]]\nfactor = -0.5\n", &[":2:10:", "demand[0].factor", "outside [0, 5]"]),
        ("[[demand]]\nfactor = 115.0\n", &[":2:10:", "demand[0].factor"]),
        ("[[demand]]\nfactor = 1.1\norigin = \"nowhere\"\n", &[":3:10:", "demand[0].origin", "'nowhere'"]),
        ("[[demand]]\nfactor = 1.1\nfrom = \"25:99\"\n", &[":3:8:", "demand[0].from", "25:99"]),
        ("[[demand]]\nfactor = 1.1\nfrom = \"10:00\"\nto = \"09:00\"\n", &[":4:6:", "demand[0].to", "ends before it starts"]),
        ("[[demand]]\nfactor = 1.1\nto = \"49:00\"\n", &[":3:6:", "demand[0].to"]),
        ("[[lanes]]\nroad = \"main_eb_nowhere\"\naction = \"close\"\n", &[":2:8:", "lanes[0].road", "no road named"]),
        ("[[lanes]]\nroad = \"main_eb_elm\"\nlanes = [7]\naction = \"close\"\n", &[":3:10:", "lanes[0].lanes", "lanes 0..=2"]),
        ("[[lanes]]\nroad = \"main_eb_elm\"\naction = \"shut\"\n", &[":3:10:", "lanes[0].action", "\"close\" or \"open\""]),
        ("[[turn]]\nmovement = \"main_eb_elm:X\"\naction = \"ban\"\n", &[":2:12:", "turn[0].movement", "not a turn"]),
        ("[[turn]]\nmovement = \"main_eb_elm:U\"\naction = \"ban\"\n", &[":2:12:", "turn[0].movement", "no UTurn movement"]),
        ("[[stage]]\nintersection = \"atlantis\"\nstage = \"side\"\nmin_green_s = 9\n", &[":2:16:", "stage[0].intersection", "no intersection named 'atlantis'"]),
        ("[[stage]]\nintersection = \"west_end\"\nstage = \"side\"\nmin_green_s = 9\n", &["stage[0].intersection", "not signalized"]),
        ("[[stage]]\nintersection = \"elm\"\nstage = \"diagonal\"\nmin_green_s = 9\n", &[":3:9:", "stage[0].stage", "no stage 'diagonal'"]),
        ("[[stage]]\nintersection = \"elm\"\nstage = \"side\"\nmin_green_s = 60.0\nmax_green_s = 40.0\n", &[":4:15:", "stage[0]", "min green 60 s is above max green 40 s"]),
        ("[[stage]]\nintersection = \"elm\"\nstage = \"side\"\nmax_green_s = 10.0\n", &[":4:15:", "stage[0]", "makes the base plan invalid", "GreenTooLong"]),
        ("[[corridor]]\ncorridor = \"main\"\ncycle_min_s = 60.0\ncycle_max_s = 40.0\n", &[":4:15:", "corridor[0].cycle_max_s", "below cycle_min_s"]),
        ("[[corridor]]\ncorridor = \"main\"\ncycle_min_s = 30.0\ncycle_max_s = 40.0\n", &[":4:15:", "corridor[0].cycle_max_s", "need at their min greens"]),
        ("[[corridor]]\ncorridor = \"side\"\ncycle_min_s = 60.0\ncycle_max_s = 90.0\n", &[":2:12:", "corridor[0].corridor", "no corridor named 'side'"]),
        ("[[plan]]\nintersection = \"walnut\"\ncycle_s = 80.0\nstages = [{ stage = \"main_through\", green_s = 35.0 }, { stage = \"main_left\", green_s = 8.0 }, { stage = \"side\", green_s = 29.5 }]\n", &[":3:11:", "plan[0]", "refused by the plan validator", "SplitsDoNotSumToCycle"]),
        ("[[plan]]\nintersection = \"walnut\"\ncycle_s = 55.0\nstages = [{ stage = \"main_through\", green_s = 35.0 }, { stage = \"main_left\", green_s = 8.0 }]\n", &[":4:10:", "plan[0]", "refused by the plan validator", "UnservedMovement"]),
        ("[[plan]]\nintersection = \"walnut\"\ncycle_s = 90.0\noffset_s = 95.0\nstages = [{ stage = \"main_through\", green_s = 35.0 }, { stage = \"main_left\", green_s = 8.0 }, { stage = \"side\", green_s = 29.5 }]\n", &[":4:12:", "plan[0]", "OffsetOutOfRange"]),
        ("name = \"x\"\n[[demand]\n", &[":2:"]),
    ];
    assert!(cases.len() >= 10);
    for (k, (text, phrases)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad_{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = compare(
            &[&path],
            &[
                "--controls",
                "fixed-time",
                "--duration",
                "60",
                "--seeds",
                "2",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "case {k}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "case {k}: one line expected: {stderr}"
        );
        assert!(stderr.starts_with("error: "), "case {k}: {stderr}");
        assert!(
            stderr.contains(&format!("bad_{k}.toml")),
            "case {k}: names the file: {stderr}"
        );
        for p in *phrases {
            assert!(stderr.contains(p), "case {k}: '{p}' missing: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // too large a file, a missing file
    let big = dir.join("big.toml");
    std::fs::write(&big, "#".repeat(2 << 20)).unwrap();
    let out = compare(&[&big], &["--controls", "fixed-time"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("big.toml") && stderr.contains("bytes, more than"),
        "{stderr}"
    );
    let out = compare(&[&dir.join("missing.toml")], &["--controls", "fixed-time"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.toml: cannot read"), "{stderr}");
    // scenario-only flags without a scenario
    let out = compare(&[], &["--controls", "fixed-time", "--seeds", "3"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("go with --scenario"), "{stderr}");
}

#[test]
fn two_scenarios_three_seeds_end_to_end() {
    let dir = scratch("e2e");
    let base = Path::new("scenarios/baseline.toml");
    let more = dir.join("more.toml");
    // morning: every trip from 00:00 to 00:30 doubled
    std::fs::write(
        &more,
        "name = \"double\"\n[[demand]]\nfactor = 2.0\nto = \"00:30\"\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for run in 0..2 {
        let out_dir = dir.join(format!("report{run}"));
        let out = compare(
            &[base, &more],
            &[
                "--controls",
                "fixed-time,max-pressure",
                "--seeds",
                "3",
                "--duration",
                "1800",
                "--json",
                "--out",
                out_dir.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(json["seeds"], serde_json::json!([0, 1, 2]));
        assert_eq!(json["results"].as_array().unwrap().len(), 4);
        let r0 = &json["results"][0];
        assert_eq!(r0["scenario"], "baseline");
        assert_eq!(r0["strategy"], "fixed-time");
        let tt = &r0["metrics"]["average_travel_time_s"];
        assert_eq!(tt["n"], 3);
        let (lo, mean, hi) = (
            tt["ci95_low"].as_f64().unwrap(),
            tt["mean"].as_f64().unwrap(),
            tt["ci95_high"].as_f64().unwrap(),
        );
        assert!(lo <= mean && mean <= hi && mean > 0.0, "{tt}");
        // the doubled scenario has twice the trips of the first half hour
        let trips = &json["scenarios"][1]["trips"];
        let t0 = &json["scenarios"][0]["trips"];
        for s in 0..3 {
            assert!(trips[s]["after"].as_u64() > t0[s]["after"].as_u64());
        }
        assert_eq!(json["strategy_differences"].as_array().unwrap().len(), 2);
        assert_eq!(json["scenario_differences"].as_array().unwrap().len(), 2);
        let d = &json["scenario_differences"][0];
        assert_eq!(
            (d["scenario"].as_str(), d["against"].as_str()),
            (Some("double"), Some("baseline"))
        );
        assert!(d["metrics"]["vehicles_completed"]["significant"].is_boolean());
        for f in [
            "summary.json",
            "runs.csv",
            "travel_time.svg",
            "scenario_1.svg",
            "scenario_2.svg",
            "travel_times_1.svg",
            "travel_times_2.svg",
        ] {
            assert!(out_dir.join(f).is_file(), "{f} written");
        }
        let csv = std::fs::read_to_string(out_dir.join("runs.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 2 * 2 * 3);
        outputs.push((
            out.stdout,
            csv,
            std::fs::read(out_dir.join("summary.json")).unwrap(),
        ));
    }
    assert!(
        outputs[0] == outputs[1],
        "same inputs, byte-identical JSON and CSV"
    );
}

#[test]
fn a_banned_turn_on_a_grid_reroutes_its_trips_in_the_json_and_csv() {
    // the SUMO 4x4 grid fixture and its half-peak hour: 161 trips take the left from the
    // west entry at A1 (counted in the route file); banned, each goes another way
    let out_dir = scratch("grid_ban");
    let sumo = "roadnet/tests/fixtures/sumo";
    let out = greenwave(&[
        "compare",
        "--network",
        &format!("{sumo}/grid4_pockets.net.xml"),
        "--demand",
        &format!("{sumo}/grid4_pockets_half.rou.xml"),
        "--scenario",
        "scenarios/baseline.toml",
        "--scenario",
        "scenarios/grid4_ban_left.toml",
        "--controls",
        "fixed-time",
        "--seeds",
        "2",
        "--duration",
        "120",
        "--json",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for seed in 0..2 {
        let t = &json["scenarios"][1]["trips"][seed];
        assert_eq!(t["before"], 2413);
        assert_eq!(t["after"], 2413);
        assert_eq!(t["rerouted_banned_turn"], 161);
        assert_eq!(t["rerouted_closed_road"], 0);
        assert_eq!(t["dropped_no_route"], 0);
        assert_eq!(
            json["scenarios"][0]["trips"][seed]["rerouted_banned_turn"],
            0
        );
    }
    let csv = std::fs::read_to_string(out_dir.join("runs.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with(
        "scenario,strategy,seed,trips,rerouted_banned_turn,rerouted_closed_road,dropped_no_route,"
    ));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows[2].starts_with("A1 left from the west banned,fixed-time,0,2413,161,0,0,"),
        "{}",
        rows[2]
    );
}
