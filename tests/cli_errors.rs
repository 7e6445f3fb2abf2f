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
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
        "--duration",
        "abc",
    ]);
    one_line_error(&out, 2, "--duration");
    let out = greenwave(&[
        "sim",
        "--network",
        "intersections.toml",
        "--demand",
        "data/main_street_counts.csv",
        "--control",
        "psychic",
    ]);
    one_line_error(&out, 1, "psychic");
    let out = greenwave(&["demo", "--duration", "-5"]);
    assert_ne!(out.status.code(), Some(0));
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
    ]);
    one_line_error(&out, 1, &port.to_string());
    drop(busy);
}
