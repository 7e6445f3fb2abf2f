//! Errors a user can cause print one clear line and exit non-zero, with no backtrace.

use std::process::Command;

fn greenwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run greenwave")
}

/// `command` replaying the bundled day of counts on the bundled network, then `more`.
fn replay<'a>(command: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
    ];
    args.extend(more);
    args
}

fn one_line_error(out: &std::process::Output, code: i32, phrase: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line expected: {stderr}"
    );
    assert!(stderr.starts_with("error"), "{stderr}");
    assert!(stderr.contains(phrase), "'{phrase}' missing: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
}

#[test]
fn a_missing_demand_file() {
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        "no/such/day.csv",
        "--control",
        "fixed-time",
    ]);
    one_line_error(&out, 1, "no/such/day.csv");
}

#[test]
fn bad_flag_values() {
    let out = greenwave(&replay("sim", &["--duration", "abc"]));
    one_line_error(&out, 2, "--duration");
    let out = greenwave(&replay("sim", &["--control", "psychic"]));
    one_line_error(&out, 1, "psychic");
    // a negative number after a flag is its value, not another flag
    let out = greenwave(&["demo", "--duration", "-5"]);
    one_line_error(&out, 2, "'-5' for '--duration <SECONDS>'");
    let out = greenwave(&[
        "compare",
        "--network",
        "intersections.toml",
        "--demand",
        "README.md",
    ]);
    one_line_error(&out, 1, "README.md");
}

#[test]
fn a_port_already_in_use() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small.toml"
    ))
    .unwrap()
    .replace("port = 5101", &format!("port = {port}"));
    let dir = std::env::temp_dir().join(format!("greenwave-port-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("busy.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = greenwave(&[
        "field",
        "--config",
        cfg.to_str().unwrap(),
        "--duration",
        "1",
        "--insecure-plain",
    ]);
    one_line_error(&out, 1, &port.to_string());
    drop(busy);
}

/// Every numeric flag is range-checked at parse time: a value out of range (or not a finite
/// number) is refused with clap's usage error (exit 2) naming the flag and the accepted range,
/// before anything runs — so none of these can panic in `Duration::from_secs_f64` or hang.
#[test]
fn out_of_range_flag_values_are_refused_with_the_range() {
    let sim = replay("sim", &[]);
    let compare = replay("compare", &[]);
    let run = ["run", "--config", "intersections.toml"];
    let field = ["field", "--config", "intersections.toml"];
    let corridor = [
        "corridor",
        "--network",
        "intersections.toml",
        "--corridor",
        "main",
        "--counts",
        "data/main_street_counts.csv",
    ];
    let cases: &[(&[&str], &str, &str, &str)] = &[
        (&sim, "--duration", "inf", "(0, 604800]"),
        (&sim, "--duration", "1e20", "(0, 604800]"),
        (&sim, "--duration", "0", "(0, 604800]"),
        (&sim, "--duration", "NaN", "(0, 604800]"),
        (&sim, "--dt", "0", "[0.01, 10]"),
        (&sim, "--dt", "11", "[0.01, 10]"),
        (&sim, "--dt", "-inf", "[0.01, 10]"),
        (&sim, "--seed", "-1", "0..=18446744073709551615"),
        (
            &sim,
            "--seed",
            "18446744073709551616",
            "0..=18446744073709551615",
        ),
        (&compare, "--duration", "inf", "(0, 604800]"),
        (&compare, "--duration", "-1", "(0, 604800]"),
        (&compare, "--dt", "1e-9", "[0.01, 10]"),
        (&compare, "--seed", "1.5", "0..=18446744073709551615"),
        (&["demo"], "--duration", "-5", "(0, 604800]"),
        (&["demo"], "--duration", "inf", "(0, 604800]"),
        (&["demo"], "--seed", "x", "0..=18446744073709551615"),
        (&run, "--duration", "inf", "(0, 31536000]"),
        (&run, "--duration", "1e20", "(0, 31536000]"),
        (&run, "--duration", "-1", "(0, 31536000]"),
        (&run, "--poll-ms", "5", "milliseconds in 10..=60000"),
        (&run, "--timeout-ms", "0", "milliseconds in 1..=60000"),
        (&run, "--timeout-ms", "1e3", "milliseconds in 1..=60000"),
        (&field, "--duration", "inf", "(0, 31536000]"),
        (&field, "--duration", "1e20", "(0, 31536000]"),
        (&field, "--speedup", "0", "[0.01, 1000]"),
        (&field, "--speedup", "1e-300", "[0.01, 1000]"),
        (&field, "--speedup", "inf", "[0.01, 1000]"),
        (
            &field,
            "--detectors",
            "counter:99999",
            "vehicles per hour in 0..=3600",
        ),
        (
            &field,
            "--detectors",
            "counter:-1",
            "vehicles per hour in 0..=3600",
        ),
        (&field, "--detectors", "psychic", "'idle' or 'counter:"),
        (&["field"], "--bench-push", "0", "controllers in 1..=20000"),
        (
            &["field"],
            "--bench-push",
            "20001",
            "controllers in 1..=20000",
        ),
        (&field, "--rounds", "0", "rounds in 1..=1000"),
        (&corridor, "--at", "48:00", "[00:00, 48:00)"),
        (&corridor, "--at", "7:60", "[00:00, 48:00)"),
        (&corridor, "--at", "noon", "[00:00, 48:00)"),
    ];
    for (command, flag, value, range) in cases {
        // `--flag=value`, so that a value like `-inf` is not taken for a flag
        let pair = format!("{flag}={value}");
        let mut args = command.to_vec();
        args.push(&pair);
        let out = greenwave(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("'{flag} ")),
            "{args:?}: flag not named: {stderr}"
        );
        one_line_error(&out, 2, range);
    }
    // --record-every is checked even though it only matters with --record
    let args = replay("sim", &["--record", "out.rrd", "--record-every", "0"]);
    one_line_error(&greenwave(&args), 2, "steps in 1..=3600");
}

/// `field --bench-push` builds its own network, so it runs without `--config`; without either,
/// `--config` is asked for.
#[test]
fn bench_push_needs_no_config() {
    let out = greenwave(&["field", "--bench-push", "2", "--rounds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("to 2 controllers, 1 rounds"), "{stdout}");
    one_line_error(&greenwave(&["field"]), 2, "--config");
}

/// A tiny count file asking for 10⁸ vehicles is refused by name and line before any trip is
/// made, not turned into gigabytes of trips.
#[test]
fn a_count_file_asking_for_too_many_vehicles() {
    let dir = std::env::temp_dir().join(format!("greenwave-counts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("huge.csv");
    std::fs::write(
        &csv,
        "start,interval_s,movement,count\n00:00,900,main_eb_oak:T,100000000\n",
    )
    .unwrap();
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        csv.to_str().unwrap(),
    ]);
    one_line_error(&out, 1, "huge.csv:2:1");
    one_line_error(&out, 1, "veh/h per lane");
}

/// A run cut short says so in the text and in the JSON.
#[test]
fn a_run_cut_short_says_it_did_not_finish() {
    let args = replay("sim", &["--control", "fixed-time", "--duration", "60"]);
    let out = greenwave(&args);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("did not finish: "), "{stdout}");
    let mut json = args.clone();
    json.push("--json");
    let out = greenwave(&json);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["finished"], false, "{v}");
    assert!(v["vehicles_running"].as_u64().unwrap() > 0, "{v}");
}

/// `greenwave … | head` closes our stdout early: the run ends quietly, without a panic about
/// a broken pipe.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    for args in [
        vec!["check", "intersections.toml"],
        replay(
            "sim",
            &["--control", "fixed-time", "--duration", "60", "--json"],
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_greenwave"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run greenwave");
        // the reader goes away before greenwave has loaded anything to print
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait for greenwave");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
