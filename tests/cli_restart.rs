//! A central killed at random points (SIGKILL) during plan pushes, with the real binaries: two
//! emulated field controllers (`greenwave field`, plain Modbus on loopback), then again and
//! again: `greenwave run` with an audit log and a new plan, killed after a seeded random delay;
//! then, read back over Modbus, the plan each field controller holds is one that appears whole
//! in the audit log (never partial or mixed), the log opens and every record is whole, and the
//! next `run` resumes: its first push is accepted under a fresh sequence number (no
//! StaleSequence, no number used twice). Finally a `run` with the plan the field already runs
//! pushes nothing (no flap).
//!
//! Iterations: 10 by default, `GREENWAVE_RESTART_ITERATIONS=100` for the must-show run. The
//! resume figures (ms from the restarted process's start to its first answered status read and
//! to its first accepted plan) are printed, never asserted.

use field::central::audit::AuditRecord;
use field::central::AuditLog;
use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::{self, hr};
use field::{ClientPool, LinkConfig};
use roadnet::{RoadNet, SignalPlan};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{greenwave, small_on_free_ports as config_on_free_ports};

mod support;

fn scratch(name: &str) -> PathBuf {
    support::scratch("cli-restart", name)
}

/// `greenwave field`, plain Modbus.
fn start_field(cfg: &Path) -> support::Running {
    support::start_field(cfg, &["--insecure-plain".as_ref()], 3600)
}

/// The central's configuration for plan variant `v`: the base green of stage `ns` of both
/// intersections is 15 + v s, so every variant is a different base plan (different cycle).
fn variant(dir: &Path, base: &str, v: u32) -> PathBuf {
    let text = base.replace(
        "groups = [\"NS\", \"NS_L\"]",
        &format!("groups = [\"NS\", \"NS_L\"]\ngreen_s = {}.0", 15 + v),
    );
    let path = dir.join(format!("central-{v}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_cmd(cfg: &Path, audit: &Path, duration_s: &str) -> Command {
    let mut c = greenwave();
    c.args([
        "--quiet",
        "run",
        "--insecure-plain",
        "--json",
        "--poll-ms",
        "100",
    ])
    .args(["--duration", duration_s, "--config"])
    .arg(cfg)
    .arg("--audit-log")
    .arg(audit);
    c
}

/// A small deterministic generator (xorshift64*): the kill delays are the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What a field controller shows over Modbus: its status and its plan area.
struct Held {
    status: field::protocol::codec::FieldStatus,
    area: Vec<u16>,
}

fn read_field(rt: &tokio::runtime::Runtime, net: &RoadNet) -> BTreeMap<String, Held> {
    rt.block_on(async {
        let mut pool = ClientPool::connect(net, LinkConfig::default(), |_| None)
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for link in pool.links() {
            let status = link.status().await.expect("status");
            let len = hr::END - hr::PLAN_BASE;
            let mut area = link
                .read_holding(hr::PLAN_BASE, regmap::MAX_READ_REGS)
                .await
                .unwrap();
            area.extend(
                link.read_holding(
                    hr::PLAN_BASE + regmap::MAX_READ_REGS,
                    len - regmap::MAX_READ_REGS,
                )
                .await
                .unwrap(),
            );
            out.insert(
                net.intersection(link.intersection()).name.clone(),
                (status, area),
            );
        }
        out.into_iter()
            .map(|(k, (status, area))| (k, Held { status, area }))
            .collect()
    })
}

/// The log opens, and every record is whole: a known kind, a plan body that decodes to a
/// plan whose encoding carries the recorded checksum.
fn whole_records(audit: &Path, net: &RoadNet) -> Vec<AuditRecord> {
    let log = AuditLog::open_read_only(audit).expect("the audit log opens after a SIGKILL");
    let recs = log.records().expect("every record reads");
    for r in &recs {
        match r.kind.as_str() {
            "stage" => assert!(r.body["stage"].is_u64(), "{r:?}"),
            "plan" | "standby" => {
                let plan: SignalPlan =
                    serde_json::from_value(r.body.clone()).expect("a whole plan");
                let seq = r.seq.expect("a plan record has its sequence number");
                let regs = PlanRegisters::from_plan(net, seq, &plan)
                    .unwrap()
                    .to_registers();
                let ck = (hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize;
                assert_eq!(Some(regs[ck]), r.checksum, "record {}", r.id);
            }
            k => panic!("unknown kind {k}"),
        }
    }
    recs
}

/// The plan each field controller holds is one the log has whole: its committed sequence
/// number names a plan record (accepted, or without a verdict when the central died between
/// commit and verdict), the running cycle and offset are that plan's, and when the plan area
/// still holds that number it is register for register that plan's encoding.
fn field_holds_logged_plans(held: &BTreeMap<String, Held>, recs: &[AuditRecord], net: &RoadNet) {
    for (name, h) in held {
        let st = &h.status;
        if st.committed_seq == 0 {
            // nothing committed yet (killed before the first push of all)
            assert!(
                !recs
                    .iter()
                    .any(|r| &r.intersection == name && r.verdict.as_deref() == Some("accepted")),
                "{name}: the log says accepted, the field has nothing"
            );
            continue;
        }
        let rec = recs
            .iter()
            .rev()
            .find(|r| {
                &r.intersection == name && r.kind == "plan" && r.seq == Some(st.committed_seq)
            })
            .unwrap_or_else(|| panic!("{name}: plan {} is not in the audit log", st.committed_seq));
        assert!(
            matches!(rec.verdict.as_deref(), None | Some("accepted")),
            "{name}: the field runs plan {} logged as {:?}",
            st.committed_seq,
            rec.verdict
        );
        let plan: SignalPlan = serde_json::from_value(rec.body.clone()).unwrap();
        if st.active_source == regmap::SOURCE_CENTRAL && st.active_seq == st.committed_seq {
            assert_eq!(
                st.active_cycle_ds as f64,
                (plan.cycle_s * 10.0).round(),
                "{name}"
            );
            assert_eq!(
                st.active_offset_ds as f64,
                (plan.offset_s * 10.0).round(),
                "{name}"
            );
        }
        let area_seq = (h.area[0] as u32) << 16 | h.area[1] as u32;
        if area_seq == st.committed_seq {
            let regs = PlanRegisters::from_plan(net, area_seq, &plan)
                .unwrap()
                .to_registers();
            assert_eq!(&h.area[..regs.len()], &regs[..], "{name}: plan area");
        }
    }
}

fn stats(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("run --json")
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn a_central_killed_during_pushes_leaves_whole_logged_plans_and_resumes() {
    let iterations: u32 = std::env::var("GREENWAVE_RESTART_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = scratch("kill");
    let base = config_on_free_ports();
    let field_cfg = dir.join("field.toml");
    std::fs::write(&field_cfg, &base).unwrap();
    let net = roadnet::load_network(&field_cfg).unwrap();
    let _field = start_field(&field_cfg);
    let audit = dir.join("audit.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut first_status, mut first_plan) = (Vec::new(), Vec::new());
    let mut killed = [0u32; 3]; // before any intent, with an open intent, after the verdicts
    for i in 0..iterations {
        let v = (2 * i) % 20;
        // the central with a new plan, killed after a random delay (startup and push take a
        // few tens of ms on loopback; the range covers before, during and after the push)
        let before = whole_records(&audit_or_empty(&audit), &net).len();
        let delay_ms = rng.below(60);
        let mut child = run_cmd(&variant(&dir, &base, v), &audit, "30")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let recs = whole_records(&audit, &net);
        let new = &recs[before..];
        killed[if new.is_empty() {
            0
        } else if new.iter().any(|r| r.verdict.is_none()) {
            1
        } else {
            2
        }] += 1;
        field_holds_logged_plans(&read_field(&rt, &net), &recs, &net);

        // the restarted central, with the next plan: resumes, its push is accepted at once
        let seen: Vec<(String, u32)> = recs
            .iter()
            .filter_map(|r| Some((r.intersection.clone(), r.seq?)))
            .collect();
        let n_a = recs.len();
        let out = run_cmd(&variant(&dir, &base, v + 1), &audit, "1")
            .output()
            .unwrap();
        let s = stats(&out);
        assert_eq!(s["plans_pushed"], 2, "iteration {i}: {s}");
        assert_eq!(s["plans_rejected"], 0, "iteration {i}: {s}");
        first_status.push(s["first_status_ms"].as_u64().expect("a status read"));
        first_plan.push(s["first_plan_ms"].as_u64().expect("a plan accepted"));
        let recs = whole_records(&audit, &net);
        // neither run went stale, and the restarted one used numbers never written before
        assert!(
            recs.iter()
                .all(|r| r.reason.as_deref() != Some("stale_sequence")),
            "iteration {i}: a push went stale"
        );
        for r in &recs[n_a..] {
            let key = (r.intersection.clone(), r.seq.unwrap());
            assert!(!seen.contains(&key), "iteration {i}: {key:?} used twice");
            assert_eq!(
                r.verdict.as_deref(),
                Some("accepted"),
                "iteration {i}: {r:?}"
            );
        }
        // no intent is left open: the restarted central settled the killed one's
        assert!(
            recs.iter().all(|r| r.verdict.is_some()),
            "iteration {i}: open intents after a resume"
        );
        field_holds_logged_plans(&read_field(&rt, &net), &recs, &net);
    }
    // the plan the field already runs is not pushed again
    let last = (2 * (iterations - 1)) % 20 + 1;
    let held = read_field(&rt, &net);
    let s = stats(
        &run_cmd(&variant(&dir, &base, last), &audit, "1")
            .output()
            .unwrap(),
    );
    assert_eq!(s["plans_pushed"], 0, "{s}");
    assert_eq!(s["plans_unchanged"], 2, "{s}");
    let again = read_field(&rt, &net);
    for (name, h) in &held {
        assert_eq!(
            h.status.committed_seq, again[name].status.committed_seq,
            "{name}"
        );
    }
    println!(
        "{iterations} SIGKILLs (before any intent {}, with an open intent {}, after the verdicts {}); \
         resume: first status read median {} ms max {} ms, first plan accepted median {} ms max {} ms",
        killed[0],
        killed[1],
        killed[2],
        median(&mut first_status.clone()),
        first_status.iter().max().unwrap(),
        median(&mut first_plan.clone()),
        first_plan.iter().max().unwrap(),
    );
}

/// The audit log, or (before the first run created it) a fresh empty one.
fn audit_or_empty(audit: &Path) -> PathBuf {
    if !audit.exists() {
        drop(AuditLog::open(audit).unwrap());
    }
    audit.to_path_buf()
}

/// `greenwave audit` prints the log; a garbage, foreign or missing file is one line, exit 1.
#[test]
fn the_audit_reader_prints_records_and_refuses_bad_files_in_one_line() {
    let dir = scratch("reader");
    let base = config_on_free_ports();
    let field_cfg = dir.join("field.toml");
    std::fs::write(&field_cfg, &base).unwrap();
    let _field = start_field(&field_cfg);
    let audit = dir.join("audit.db");
    let s = stats(&run_cmd(&field_cfg, &audit, "1").output().unwrap());
    assert_eq!(s["plans_pushed"], 2, "{s}");
    let out = greenwave().arg("audit").arg(&audit).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains("plan seq") && l.ends_with("accepted")),
        "{text}"
    );
    let out = greenwave()
        .args(["audit", "--json"])
        .arg(&audit)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|r| r["body"]["stages"].is_array() && r["verdict"] == "accepted"));
    let junk = dir.join("junk.db");
    std::fs::write(
        &junk,
        b"this is not a database at all, just some text that is long enough",
    )
    .unwrap();
    for (path, phrase) in [
        (junk.clone(), "not an audit log"),
        (dir.join("missing.db"), "missing.db"),
        (dir.to_path_buf(), "not a regular file"),
    ] {
        let out = greenwave().arg("audit").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(phrase), "'{phrase}' missing: {stderr}");
    }
    // a log a running central holds is refused by a second one, at once
    let mut holder = greenwave()
        .args(["run", "--insecure-plain", "--duration", "30", "--config"])
        .arg(&field_cfg)
        .arg("--audit-log")
        .arg(&audit)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // once it says it resumed from the log, it holds it
    let opened = BufReader::new(holder.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("audit log") && l.contains("resuming"));
    assert!(opened, "run did not open its audit log");
    let out = run_cmd(&field_cfg, &audit, "1").output().unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // (the other line is --insecure-plain's warning)
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("locked"), "{stderr}");
}
