//! Loopback integration tests of the Modbus field link against a real tokio-modbus server:
//! plan push / commit / read-back / activation, the field's own refusal of every unsafe plan
//! (central validator bypassed), checksum / half-written / stale / mismatched commits, Modbus
//! exceptions for bad frames, and the field's local plan being the simulator's native plan.

mod field_support;

use controller::baseline::FixedPlans;
use field::emulator::runner::Phase;
use field::emulator::server;
use field::protocol::codec::{plan_len, PlanRegisters};
use field::protocol::regmap::{self, hr, ir, RejectCode};
use field::{DeviceError, LinkError};
use field_support::*;
use roadnet::{PlanRule, StageId};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_modbus::ExceptionCode;

/// Bounded wait so a broken server cannot hang the suite (never a timing assertion).
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("operation hung")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_push_commit_read_back_and_activation_at_a_stage_boundary() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let p = plan(&net, "a", &[40.0, 30.0], 25.0);
    let link = pool.link(a).unwrap();
    link.heartbeat().await.unwrap();
    let rep = bounded(link.push_plan(&net, &p)).await.expect("accepted");
    assert_eq!(rep.seq, 1);
    assert_eq!(rep.status.committed_seq, 1);
    assert_eq!(rep.status.last_commit_result, 0);
    // read-back of the whole plan area equals what the codec produces
    let expect = PlanRegisters::from_plan(&net, 1, &p)
        .unwrap()
        .to_registers();
    let back = link
        .read_holding(hr::PLAN_BASE, expect.len() as u16)
        .await
        .unwrap();
    assert_eq!(back, expect);
    // not on the lamps yet: it waits for the next stage boundary
    let st = link.status().await.unwrap();
    assert_eq!(st.active_seq, 0);
    assert_eq!(st.active_source, regmap::SOURCE_LOCAL);
    assert!(st.flags & regmap::flags::PLAN_PENDING != 0);
    // run until the local plan's current green, change interval and all-red have passed
    let local_cycle = st.local_cycle_ds as u64;
    let mut mon = Monitor::default();
    let mut activated_after = None;
    for k in 0..local_cycle {
        run_for(&h, &mut mon, 1);
        if k % 5 == 0 {
            link.heartbeat().await.unwrap();
        }
        let st = link.status().await.unwrap();
        if st.active_seq == 1 {
            assert_eq!(st.active_source, regmap::SOURCE_CENTRAL);
            assert_eq!(st.interval, regmap::INTERVAL_GREEN);
            assert_eq!(st.active_cycle_ds, 700);
            assert_eq!(st.active_offset_ds, 250);
            activated_after = Some(k);
            break;
        }
    }
    assert!(
        activated_after.is_some(),
        "plan active within one local cycle"
    );
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
    // a second plan gets the next sequence number
    let p2 = plan(&net, "a", &[35.0, 35.0], 0.0);
    let rep2 = link.push_plan(&net, &p2).await.unwrap();
    assert_eq!(rep2.seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_port_serves_every_intersection_by_unit_id() {
    let h = Harness::start(fixture_net()).await;
    assert_eq!(h.addrs.len(), 1, "a and b share port 5101");
    let mut pool = h.pool().await;
    let net = h.net.clone();
    for (name, unit) in [("a", 1), ("b", 2)] {
        let link = pool.link(id(&net, name)).unwrap();
        let st = link.status().await.unwrap();
        assert_eq!(st.unit_id, unit);
        assert_eq!(st.map_version, regmap::MAP_VERSION);
        assert_eq!(st.device_magic, regmap::DEVICE_MAGIC);
    }
    let pb = plan(&net, "b", &[30.0, 30.0], 10.0);
    let rep = pool
        .link(id(&net, "b"))
        .unwrap()
        .push_plan(&net, &pb)
        .await
        .unwrap();
    assert_eq!(rep.status.unit_id, 2);
    // a is untouched
    let sa = pool.link(id(&net, "a")).unwrap().status().await.unwrap();
    assert_eq!(sa.committed_seq, 0);
}

/// Registers for a valid plan of `a`, mutated by `f`, checksum recomputed.
fn mutated(net: &roadnet::RoadNet, seq: u32, f: impl FnOnce(&mut PlanRegisters)) -> Vec<u16> {
    let p = plan(net, "a", &[40.0, 30.0], 25.0);
    let mut regs = PlanRegisters::from_plan(net, seq, &p).unwrap();
    f(&mut regs);
    regs.to_registers()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_refuses_every_unsafe_plan_with_its_reason_code() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let link = pool.link(id(&net, "a")).unwrap();
    let ns_mask = {
        let regs = PlanRegisters::from_plan(&net, 1, &plan(&net, "a", &[40.0, 30.0], 0.0)).unwrap();
        regs.stages[1].groups_mask
    };
    type Mutation = Box<dyn FnOnce(&mut PlanRegisters)>;
    let cases: Vec<(&str, Mutation, RejectCode)> = vec![
        (
            "conflicting greens (EW and NS in one stage)",
            Box::new(move |r| r.stages[0].groups_mask |= ns_mask),
            RejectCode::Rule(PlanRule::ConflictingGreens),
        ),
        (
            "yellow 2.5 s",
            Box::new(|r| {
                r.stages[0].yellow_ds = 25;
                r.stages[0].all_red_ds = 35; // same change interval, so the split still adds up
            }),
            RejectCode::Rule(PlanRule::YellowTooShort),
        ),
        (
            "split below min green + change",
            Box::new(|r| {
                r.stages[0].split_ds = 150; // min green 10 + 6 = 16 s
                r.stages[1].split_ds = 550;
            }),
            RejectCode::Rule(PlanRule::SplitTooShort),
        ),
        (
            "split below pedestrian walk + clearance + change",
            Box::new(|r| {
                r.stages[1].split_ds = 200; // ped 7 + 9 + 6 = 22 s > min green 7 + 6
                r.stages[0].split_ds = 500;
            }),
            RejectCode::Rule(PlanRule::SplitTooShort),
        ),
        (
            "green above max green",
            Box::new(|r| {
                r.stages[0].split_ds = 600; // max green 50 s + 6
                r.cycle_ds = 900;
            }),
            RejectCode::Rule(PlanRule::GreenTooLong),
        ),
        (
            "splits do not sum to the cycle",
            Box::new(|r| r.cycle_ds = 800),
            RejectCode::Rule(PlanRule::SplitsDoNotSumToCycle),
        ),
        (
            "offset equal to the cycle",
            Box::new(|r| r.offset_ds = 700),
            RejectCode::Rule(PlanRule::OffsetOutOfRange),
        ),
        (
            "offset beyond the cycle",
            Box::new(|r| r.offset_ds = 9000),
            RejectCode::Rule(PlanRule::OffsetOutOfRange),
        ),
        (
            "cycle 0",
            Box::new(|r| r.cycle_ds = 0),
            RejectCode::Rule(PlanRule::BadNumber),
        ),
        (
            "stage ns dropped (ew alone, 40 s: no other rule broken)",
            Box::new(|r| {
                r.stages.truncate(1);
                r.cycle_ds = r.stages[0].split_ds;
            }),
            RejectCode::Rule(PlanRule::UnservedMovement),
        ),
        (
            "a stage twice",
            Box::new(|r| r.stages[1] = r.stages[0]),
            RejectCode::Rule(PlanRule::BadStage),
        ),
        (
            "a stage number the intersection does not have",
            Box::new(|r| r.stages[1].number = 9),
            RejectCode::StageCountOutOfRange,
        ),
        (
            "stage groups differ from the field's definition",
            Box::new(|r| r.stages[0].groups_mask &= !0b10),
            RejectCode::StageDefinitionMismatch,
        ),
        (
            "all-red below the field's own",
            Box::new(|r| {
                r.stages[0].all_red_ds = 10;
                r.stages[0].yellow_ds = 50;
            }),
            RejectCode::TimingBelowLocalMinimum,
        ),
        (
            "declared ped clearance below the field's own",
            Box::new(|r| r.stages[1].ped_clearance_ds = 0),
            RejectCode::TimingBelowLocalMinimum,
        ),
    ];
    let mut seq = 10;
    for (what, f, code) in cases {
        seq += 1;
        let area = mutated(&net, seq, f);
        let err = bounded(link.push_registers(&area)).await.expect_err(what);
        assert_eq!(err.reject_code(), Some(code), "{what}: {err}");
        let st = link.status().await.unwrap();
        assert_eq!(st.last_commit_result, code.code(), "{what}");
        assert_eq!(st.last_reject_reason, code.code(), "{what}");
        assert_eq!(st.last_commit_seq, seq, "{what}");
        assert_eq!(st.committed_seq, 0, "{what}: nothing accepted");
    }
    // and the lamps never saw any of it
    let mut mon = Monitor::default();
    run_for(&h, &mut mon, 2000);
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
    let st = link.status().await.unwrap();
    assert_eq!(st.active_seq, 0);
    // the central validator refuses too, before anything is sent
    let mut bad = plan(&net, "a", &[40.0, 30.0], 25.0);
    bad.offset_s = 70.0;
    let err = link.push_plan(&net, &bad).await.unwrap_err();
    assert!(matches!(err, LinkError::Invalid(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_checksum_half_written_changed_after_checksum_and_stale_are_refused() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let link = pool.link(id(&net, "a")).unwrap();
    let ck = (hr::PLAN_CHECKSUM - hr::PLAN_BASE) as usize;

    // wrong checksum
    let mut area = mutated(&net, 5, |_| {});
    area[ck] ^= 0x5A5A;
    let err = link.push_registers(&area).await.unwrap_err();
    assert_eq!(err.reject_code(), Some(RejectCode::ChecksumMismatch));

    // half-written: header and checksum written, the second stage block never written
    let area = mutated(&net, 6, |_| {});
    let half = plan_len(1);
    link.write(hr::PLAN_BASE, &area[..half]).await.unwrap();
    let err = link.commit_and_confirm(6, area[1]).await.unwrap_err();
    assert_eq!(err.reject_code(), Some(RejectCode::IncompletePlan));

    // a commit that follows an earlier commit must rewrite the whole area (nothing carries over)
    let area = mutated(&net, 7, |_| {});
    link.write(hr::PLAN_BASE, &area).await.unwrap();
    let err = link.commit_and_confirm(7, 0xBEEF).await.unwrap_err();
    assert_eq!(err.reject_code(), Some(RejectCode::CommitMismatch));
    let err = link.commit_and_confirm(7, area[1]).await.unwrap_err();
    assert_eq!(err.reject_code(), Some(RejectCode::IncompletePlan));

    // registers changed after the checksum was written
    let area = mutated(&net, 8, |_| {});
    link.write(hr::PLAN_BASE, &area).await.unwrap();
    let split0 = (hr::STAGE_BASE + hr::ST_SPLIT_DS - hr::PLAN_BASE) as usize;
    link.write(hr::PLAN_BASE + split0 as u16, &[area[split0] + 10])
        .await
        .unwrap();
    let err = link.commit_and_confirm(8, area[1]).await.unwrap_err();
    assert_eq!(err.reject_code(), Some(RejectCode::ChecksumMismatch));

    // accepted, then the same and an older sequence number are stale
    let area = mutated(&net, 20, |_| {});
    link.push_registers(&area).await.expect("seq 20 accepted");
    for seq in [20, 19, 1] {
        let area = mutated(&net, seq, |_| {});
        let err = link.push_registers(&area).await.unwrap_err();
        assert_eq!(
            err.reject_code(),
            Some(RejectCode::StaleSequence),
            "seq {seq}"
        );
    }
    let st = link.status().await.unwrap();
    assert_eq!(st.committed_seq, 20);
    // a central that restarts catches up with the field's sequence number by itself
    let p = plan(&net, "a", &[40.0, 30.0], 25.0);
    let mut fresh = h.pool().await;
    let rep = fresh
        .link(id(&net, "a"))
        .unwrap()
        .push_plan(&net, &p)
        .await
        .unwrap();
    assert_eq!(rep.seq, 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_modbus_exceptions_and_never_stop_the_server() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let link = pool.link(id(&net, "a")).unwrap();
    fn exception<T>(r: Result<T, LinkError>) -> ExceptionCode {
        match r {
            Err(LinkError::Device(DeviceError::Exception { code, .. })) => code,
            Err(e) => panic!("expected an exception, got {e}"),
            Ok(_) => panic!("expected an exception, got a reply"),
        }
    }
    assert_eq!(
        exception(link.read_holding(hr::END - 5, 10).await),
        ExceptionCode::IllegalDataAddress
    );
    assert_eq!(
        exception(link.read_input(ir::END, 1).await),
        ExceptionCode::IllegalDataAddress
    );
    assert_eq!(
        exception(link.read_input(0, 126).await),
        ExceptionCode::IllegalDataValue
    );
    assert_eq!(
        exception(link.write(5, &[1]).await),
        ExceptionCode::IllegalDataAddress
    );
    assert_eq!(
        exception(link.write(hr::SYSTEM_PATTERN_CONTROL, &[7]).await),
        ExceptionCode::IllegalDataValue
    );
    assert_eq!(
        exception(link.write(hr::UNIT_BACKUP_TIME_S, &[0]).await),
        ExceptionCode::IllegalDataValue
    );
    assert_eq!(
        exception(link.write(hr::END - 1, &[1, 2]).await),
        ExceptionCode::IllegalDataAddress
    );
    // all-or-nothing: a write that touches a read-only register changes nothing
    let before = link.read_holding(0, 6).await.unwrap();
    assert_eq!(
        exception(
            link.write(0, &[regmap::PATTERN_FLASH, 1, 30, 0, 0, 0])
                .await
        ),
        ExceptionCode::IllegalDataAddress
    );
    assert_eq!(link.read_holding(0, 6).await.unwrap(), before);

    // an unknown unit id on the port
    let addr = h.addr_of(5101);
    let mut ctx = tokio_modbus::client::tcp::connect_slave(addr, tokio_modbus::Slave(9))
        .await
        .unwrap();
    use tokio_modbus::client::Reader;
    let r = ctx.read_input_registers(0, 1).await.unwrap();
    assert_eq!(r, Err(ExceptionCode::GatewayTargetDevice));
    // coils are not part of the map
    let r = ctx.read_coils(0, 1).await;
    assert!(matches!(r, Ok(Err(_)) | Err(_)));

    // garbage frames on raw sockets
    let mut seed = 0x1234_5678u32;
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut junk = vec![0u8; 64];
        for b in junk.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *b = seed as u8;
        }
        // a plausible MBAP header claiming a huge length, then junk
        let _ = s.write_all(&[0, 1, 0, 0, 0xFF, 0xFF, 1, 3]).await;
        let _ = s.write_all(&junk).await;
        let mut buf = [0u8; 16];
        let _ = tokio::time::timeout(Duration::from_millis(20), s.read(&mut buf)).await;
    }
    // a request for register 65535 × 125 — address overflow
    let mut ctx = tokio_modbus::client::tcp::connect_slave(addr, tokio_modbus::Slave(1))
        .await
        .unwrap();
    let r = ctx.read_holding_registers(u16::MAX, 125).await.unwrap();
    assert_eq!(r, Err(ExceptionCode::IllegalDataAddress));
    // the server still answers
    let st = link.status().await.unwrap();
    assert_eq!(st.map_version, regmap::MAP_VERSION);
    drop(server::lock(h.emu.unit(id(&net, "a")).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_control_free_and_flash_never_show_conflicting_greens() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let link = pool.link(id(&net, "a")).unwrap();
    link.heartbeat().await.unwrap();
    link.push_plan(&net, &plan(&net, "a", &[40.0, 30.0], 25.0))
        .await
        .unwrap();
    let mut mon = Monitor::default();
    for pattern in [
        regmap::PATTERN_FLASH,
        regmap::PATTERN_PLAN,
        regmap::PATTERN_FREE,
        regmap::PATTERN_FLASH,
        regmap::PATTERN_PLAN,
    ] {
        link.set_pattern(pattern).await.unwrap();
        for _ in 0..120 {
            run_for(&h, &mut mon, 5);
            link.heartbeat().await.unwrap();
        }
        let st = link.status().await.unwrap();
        let want = match pattern {
            regmap::PATTERN_FLASH => regmap::SOURCE_FLASH,
            regmap::PATTERN_FREE => regmap::SOURCE_LOCAL,
            _ => regmap::SOURCE_CENTRAL,
        };
        assert_eq!(st.active_source, want, "pattern {pattern}");
    }
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
}

/// A plan that leaves out a stage starves that stage's movements: the central validator
/// refuses it before anything is sent, naming a starved movement; written to the registers
/// anyway, the field refuses it with reason code 10 and keeps its lamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_that_drops_a_stage_is_refused_centrally_and_by_the_field() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let link = pool.link(id(&net, "a")).unwrap();
    link.heartbeat().await.unwrap();
    let mut p = plan(&net, "a", &[40.0, 30.0], 0.0);
    p.stages.truncate(1);
    p.cycle_s = 40.0;
    let err = link.push_plan(&net, &p).await.unwrap_err();
    let LinkError::Invalid(e) = &err else {
        panic!("central validator must refuse: {err}");
    };
    assert_eq!(e.rule, PlanRule::UnservedMovement);
    assert!(
        e.detail.contains("a_nb->") || e.detail.contains("a_sb->"),
        "{}",
        e.detail
    );
    // the same plan straight into the field's registers
    let area = PlanRegisters::from_plan(&net, 1, &p)
        .unwrap()
        .to_registers();
    let err = bounded(link.push_registers(&area))
        .await
        .expect_err("the field refuses");
    let code = RejectCode::Rule(PlanRule::UnservedMovement);
    assert_eq!(err.reject_code(), Some(code), "{err}");
    let st = link.status().await.unwrap();
    assert_eq!(st.last_commit_result, 10);
    assert_eq!(st.last_reject_reason, 10);
    assert_eq!(st.committed_seq, 0);
    assert_eq!(st.active_seq, 0);
}

/// The simulator's `native` plan and a field controller's local (fallback) plan are one plan:
/// same cycle, same split for each stage, same offset (the figures themselves are pinned where
/// the base plan is built, `controller::baseline::fixed`). Left on its local plan (no
/// central), the field walks to that offset: its stage-1 greens then begin at offset + k · cycle,
/// where the simulator's begin once its start-up clearance ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_fallback_plan_is_the_simulators_native_plan() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    // what `--control native` runs (the factory builds exactly this controller)
    let native = FixedPlans::native(&net).unwrap();
    assert_eq!(
        native.plans().len(),
        2,
        "one plan per signalized intersection"
    );
    for p in native.plans() {
        let local = server::lock(h.emu.unit(p.intersection).unwrap())
            .local_plan()
            .clone();
        let stages = &net.intersection(p.intersection).stages;
        let field: Vec<(StageId, u32)> = local
            .stages
            .iter()
            .map(|s| (stages[s.number as usize - 1], s.split_ds))
            .collect();
        let sim: Vec<(StageId, u32)> = p
            .stages
            .iter()
            .map(|s| (s.stage, (s.split_s * 10.0).round() as u32))
            .collect();
        assert_eq!(field, sim);
        assert_eq!(local.cycle_ds as f64, p.cycle_s * 10.0);
        assert_eq!(local.offset_ds as f64, p.offset_s * 10.0);
        // and what the field advertises over the link
        let st = pool.link(p.intersection).unwrap().status().await.unwrap();
        assert_eq!(st.local_cycle_ds as u32, local.cycle_ds);
    }
    let a = id(&net, "a");
    let a_plan = server::lock(h.emu.unit(a).unwrap()).local_plan().clone();
    let mut mon = Monitor::default();
    let mut starts = Vec::new();
    let mut was_green = false;
    // 12 cycles of the local plan
    for _ in 0..12 * a_plan.cycle_ds {
        run_for(&h, &mut mon, 1);
        let u = server::lock(h.emu.unit(a).unwrap());
        let green = u.runner().phase() == Phase::Green && u.runner().stage().number == 1;
        if green && !was_green {
            starts.push(u.runner().stage_start());
        }
        was_green = green;
    }
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
    assert!(starts.len() >= 10, "{starts:?}");
    let (cycle, offset) = (a_plan.cycle_ds as u64, a_plan.offset_ds as u64);
    // the start-up enters the plan where it stands (roadnet::timing), so every stage 1 green
    // after it starts in step; the bounded walk is for plan changes (tested in roadnet::timing)
    for t in &starts {
        assert_eq!(t % cycle, offset, "stage 1 green starts: {starts:?}");
    }
}
