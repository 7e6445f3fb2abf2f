//! `greenwave check` as a user runs it: the bundled deployment and Jinan pass, every malformed
//! fixture fails with one clear line and a non-zero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn greenwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_greenwave"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run greenwave")
}

#[test]
fn bundled_deployment_checks() {
    let out = greenwave(&["check", "intersections.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signalized_intersections"], 7);
    assert_eq!(v["corridors"], 1);
    assert_eq!(v["field_controllers"], 7);
    assert!(v["detectors"].as_u64().unwrap() >= 7 * 4 * 2);
    assert!(v["cameras"].as_u64().unwrap() >= 7 * 2);
}

#[test]
fn jinan_checks_with_the_published_counts() {
    let Some(jinan) = testdata::jinan("jinan_checks_with_the_published_counts") else {
        return;
    };
    let path = jinan.roadnet();
    let out = greenwave(&["check", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signalized_intersections"], 12);
    assert_eq!(v["roads"], 62);
    assert_eq!(v["lanes"], 186);
    assert_eq!(v["boundary_nodes"], 14);
    // Text summary names the same figures.
    let out = greenwave(&["check", path.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("signalized intersections      12"), "{text}");
}

#[test]
fn malformed_inputs_fail_cleanly() {
    let dir = root().join("tests/fixtures/bad");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("toml") | Some("json")) {
            continue;
        }
        let out = greenwave(&["check", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line expected: {stderr}"
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            stderr.starts_with("error: ") && stderr.contains(name),
            "{stderr}"
        );
        n += 1;
    }
    assert!(n >= 25);
}

#[test]
fn missing_file_and_bad_flag_fail_cleanly() {
    let out = greenwave(&["check", "does/not/exist.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does/not/exist.toml") && stderr.contains("cannot read"),
        "{stderr}"
    );
    let out = greenwave(&["check", "intersections.toml", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = greenwave(&["check", Path::new("README.md").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}
