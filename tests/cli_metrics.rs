//! `greenwave run --metrics-listen`: the Prometheus endpoint, scraped over HTTP on loopback
//! while the daemon runs against emulated field controllers (`greenwave field`). The central's
//! configuration gives intersection `a` a min green below the field's own, so the field refuses
//! a's plan with reason `timing_below_local_minimum` and accepts b's: the refusal counter
//! carries that reason, the push counter counts b's plan, both links are up and the
//! round-trip histogram has samples.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use support::{free_port, greenwave, Running as Kill};

mod support;

/// `greenwave field`, plain Modbus.
fn start_field(cfg: &Path) -> Kill {
    support::start_field(cfg, &["--insecure-plain".as_ref()], 120)
}

/// GET /metrics over plain HTTP/1.0 (no client library: the exporter is the peer under test).
fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then_some(())?;
    head.contains(" 200 ").then(|| body.to_string())
}

/// The value of the sample `name{labels…}` carrying every `label="value"` pair given.
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b'{') | Some(b' '))
        })
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn the_metrics_endpoint_counts_pushes_refusals_by_reason_and_round_trips() {
    let dir = std::env::temp_dir().join(format!("greenwave-cli-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small.toml"
    ))
    .unwrap()
    .replace("port = 5101", &format!("port = {}", free_port()))
    .replace("port = 5102", &format!("port = {}", free_port()));
    let field_cfg = dir.join("field.toml");
    std::fs::write(&field_cfg, &text).unwrap();
    // the central believes a's stage ns may end after 5 s of green; the field's own is 7 s
    let central = text.replacen(
        "groups = [\"NS\", \"NS_L\"]",
        "groups = [\"NS\", \"NS_L\"]\nmin_green_s = 5.0",
        1,
    );
    let central_cfg = dir.join("central.toml");
    std::fs::write(&central_cfg, central).unwrap();
    let _field = start_field(&field_cfg);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let run = Kill(
        greenwave()
            .args(["--quiet", "run", "--insecure-plain", "--poll-ms", "100"])
            .args(["--duration", "60", "--no-audit-log", "--config"])
            .arg(&central_cfg)
            .arg("--metrics-listen")
            .arg(addr.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let refusal = [
        ("intersection", "a"),
        ("kind", "plan"),
        ("reason", "timing_below_local_minimum"),
    ];
    // bounded in attempts: the daemon refuses a's plan at its first step
    let mut body = None;
    for _ in 0..200 {
        if let Some(b) = scrape(addr) {
            if sample(&b, "greenwave_refusals_total", &refusal).is_some() {
                body = Some(b);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = body.expect("the refusal shows on /metrics");
    assert_eq!(
        sample(&body, "greenwave_refusals_total", &refusal),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "greenwave_plans_pushed_total",
            &[("intersection", "b"), ("kind", "plan")]
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "greenwave_plans_pushed_total",
            &[("intersection", "a")]
        ),
        None,
        "a's plan was refused, not pushed: {body}"
    );
    for name in ["a", "b"] {
        assert_eq!(
            sample(&body, "greenwave_field_link_up", &[("intersection", name)]),
            Some(1.0),
            "{body}"
        );
    }
    assert!(body.contains("# HELP greenwave_refusals_total"), "{body}");
    // the round-trip histogram: buckets and a count that grows with every status read
    let count = |b: &str| sample(b, "greenwave_field_round_trip_seconds_count", &[]).unwrap_or(0.0);
    let first = count(&body);
    assert!(first >= 1.0, "{body}");
    assert!(
        body.contains("greenwave_field_round_trip_seconds_bucket{") && body.contains("le=\"0.5\""),
        "{body}"
    );
    let mut grew = false;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        if scrape(addr).is_some_and(|b| count(&b) > first) {
            grew = true;
            break;
        }
    }
    assert!(grew, "the round-trip count did not grow");
    // the refusal is counted once: the strategy asked once
    let later = scrape(addr).unwrap();
    assert_eq!(
        sample(&later, "greenwave_refusals_total", &refusal),
        Some(1.0)
    );
    drop(run);
}
