//! `greenwave field` and `greenwave run` over Modbus/TCP Security, as processes: a test PKI from
//! `field --gen-test-pki`, the field with its server certificate, the central with the operator
//! certificate (plans pushed and accepted) or the monitor one (every push refused); without
//! TLS files or `--insecure-plain` both refuse to start, and a bad PEM file is one line naming
//! it.

mod support;

use std::path::{Path, PathBuf};
use support::{greenwave, small_on_free_ports};

fn scratch(name: &str) -> PathBuf {
    support::scratch("cli-tls", name)
}

/// The fixture on free ports, written into `dir`.
fn config_on_free_ports(dir: &Path) -> PathBuf {
    let cfg = dir.join("net.toml");
    std::fs::write(&cfg, small_on_free_ports()).unwrap();
    cfg
}

/// `greenwave field` over TLS with its server certificate.
fn start_field(cfg: &Path, pki: &Path) -> support::Running {
    let (ca, cert, key) = (
        pki.join("ca.pem"),
        pki.join("server.pem"),
        pki.join("server.key"),
    );
    let tls = [
        "--ca".as_ref(),
        ca.as_os_str(),
        "--cert".as_ref(),
        cert.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ];
    support::start_field(cfg, &tls, 60)
}

fn one_line_error(out: &std::process::Output, phrase: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error"), "{stderr}");
    assert!(stderr.contains(phrase), "'{phrase}' missing: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn run_with(cfg: &Path, pki: &Path, who: &str) -> std::process::Output {
    greenwave()
        .args(["run", "--json", "--duration", "2", "--config"])
        .arg(cfg)
        .arg("--ca")
        .arg(pki.join("ca.pem"))
        .arg("--cert")
        .arg(pki.join(format!("{who}.pem")))
        .arg("--key")
        .arg(pki.join(format!("{who}.key")))
        // each role is a central of its own: a shared log would have the second resume from
        // the first one's pushes (and rightly push nothing the field already runs)
        .arg("--audit-log")
        .arg(pki.join(format!("{who}.audit.db")))
        .output()
        .expect("run")
}

fn stat(out: &std::process::Output, key: &str) -> u64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("run --json");
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {stdout}"))
}

#[test]
fn run_pushes_over_tls_with_the_operator_certificate_only() {
    let dir = scratch("run");
    let pki = dir.join("pki");
    let cfg = config_on_free_ports(&dir);
    let gen = greenwave()
        .args(["field", "--gen-test-pki"])
        .arg(&pki)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let field = start_field(&cfg, &pki);

    let op = run_with(&cfg, &pki, "operator");
    assert!(
        op.status.success(),
        "{}",
        String::from_utf8_lossy(&op.stderr)
    );
    assert_eq!(stat(&op, "plans_pushed"), 2, "both intersections' plans");
    assert_eq!(stat(&op, "push_errors"), 0);
    assert!(stat(&op, "polls_ok") > 0);

    // the monitor reads (polls succeed) but every push is refused
    let mon = run_with(&cfg, &pki, "monitor");
    assert_eq!(stat(&mon, "plans_pushed"), 0);
    assert!(stat(&mon, "push_errors") >= 2);
    assert!(stat(&mon, "polls_ok") > 0);
    let stderr = String::from_utf8_lossy(&mon.stderr);
    assert!(stderr.contains("IllegalFunction"), "{stderr}");

    drop(field);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_is_required_unless_plain_is_asked_for() {
    let dir = scratch("flags");
    let cfg = config_on_free_ports(&dir);
    for cmd in ["field", "run"] {
        let out = greenwave()
            .args([cmd, "--duration", "1", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        one_line_error(&out, "give --ca, --cert and --key");
        // a partial set is refused by the flag parser
        let out = greenwave()
            .args([cmd, "--duration", "1", "--ca", "x.pem", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        // and so is TLS together with --insecure-plain
        let out = greenwave()
            .args([cmd, "--duration", "1", "--insecure-plain"])
            .args(["--ca", "a", "--cert", "b", "--key", "c", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        // a PEM file that is not one: one line naming it
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let out = greenwave()
            .args([cmd, "--duration", "1", "--config"])
            .arg(&cfg)
            .arg("--ca")
            .arg(&junk)
            .arg("--cert")
            .arg(&junk)
            .arg("--key")
            .arg(&junk)
            .output()
            .unwrap();
        one_line_error(&out, &junk.display().to_string());
    }
    // plain, when asked for, starts and says so
    let out = greenwave()
        .args(["field", "--duration", "0.5", "--insecure-plain", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("INSECURE: plain Modbus TCP").count(),
        2,
        "one warning per port: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
