//! Standby plans over a real loopback Modbus link: pushed with `COMMIT_STANDBY`, verified like
//! any plan, kept as the field's local plan without ending stage-request mode, run when the
//! central goes silent (instead of the configured plan), and refused like any unsafe plan.

mod field_support;

use field::emulator::server;
use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::{self, hr, RejectCode};
use field_support::*;
use roadnet::PlanRule;
use std::time::Duration;

/// Bounded wait so a broken server cannot hang the suite (never a timing assertion).
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("operation hung")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_link_dies_the_field_runs_the_last_standby_plan_not_the_configured_one() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let configured = server::lock(h.emu.unit(a).unwrap()).local_plan().clone();
    let link = pool.link(a).unwrap();
    link.heartbeat().await.unwrap();
    link.set_backup_time(2).await.unwrap();
    // the central runs stage requests: stage 2 please
    link.request_stage(2).await.unwrap();
    // two standby plans; the second (cycle 80 s, offset 12 s) is the one that must run
    let first = plan(&net, "a", &[40.0, 30.0], 25.0);
    let second = plan(&net, "a", &[45.0, 35.0], 12.0);
    assert_ne!(configured.cycle_ds, 800, "the configured plan differs");
    let r1 = bounded(link.push_standby(&net, &first))
        .await
        .expect("accepted");
    let r2 = bounded(link.push_standby(&net, &second))
        .await
        .expect("accepted");
    assert_eq!((r1.seq, r2.seq), (1, 2));
    assert_eq!(r2.status.committed_seq, 2);
    assert_eq!(r2.status.last_commit_result, 0);
    // kept as the local plan; the stage request stands; nothing central on the lamps
    assert_eq!(r2.status.local_cycle_ds, 800);
    assert_eq!(
        link.read_holding(hr::STAGE_REQUEST, 1).await.unwrap(),
        vec![2]
    );
    {
        let u = server::lock(h.emu.unit(a).unwrap());
        let sb = u.standby_plan().expect("standby kept").clone();
        assert_eq!((sb.seq, sb.cycle_ds, sb.offset_ds), (2, 800, 120));
        assert!(
            u.committed_plan().is_none(),
            "a standby plan is no committed plan"
        );
    }
    // the link dies: no heartbeat from now on; past the 2 s backup time the field is alone
    let mut mon = Monitor::default();
    run_for(&h, &mut mon, 2 * 800);
    assert!(mon.violations.is_empty(), "{:?}", mon.violations);
    let u = server::lock(h.emu.unit(a).unwrap());
    let running = u.runner().plan();
    assert_eq!(
        (running.seq, running.cycle_ds, running.offset_ds),
        (2, 800, 120),
        "the last standby plan runs, not the configured {} ds one",
        configured.cycle_ds
    );
    let st = u.status();
    assert!(st.flags & regmap::flags::FALLBACK != 0);
    assert_eq!(st.active_source, regmap::SOURCE_LOCAL);
    assert_eq!(st.active_seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsafe_standby_plan_is_refused_with_its_reason_and_the_old_one_stays() {
    let h = Harness::start(fixture_net()).await;
    let mut pool = h.pool().await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let link = pool.link(a).unwrap();
    link.heartbeat().await.unwrap();
    let good = plan(&net, "a", &[40.0, 30.0], 25.0);
    bounded(link.push_standby(&net, &good))
        .await
        .expect("accepted");
    // bypass the central validator: a split below min green + change, committed as standby
    let mut regs = PlanRegisters::from_plan(&net, 2, &good).unwrap();
    regs.stages[0].split_ds = 150; // min green 10 + 6 = 16 s
    regs.stages[1].split_ds = 550;
    let area = regs.to_registers();
    link.write(hr::PLAN_BASE, &area).await.unwrap();
    link.write(hr::COMMIT_STANDBY, &[area[1]]).await.unwrap();
    let st = link.status().await.unwrap();
    assert_eq!(st.last_commit_seq, 2);
    assert_eq!(
        st.last_commit_rejection(),
        Some(RejectCode::Rule(PlanRule::SplitTooShort))
    );
    assert_eq!(st.local_cycle_ds, 700, "the accepted standby plan stays");
    let u = server::lock(h.emu.unit(a).unwrap());
    assert_eq!(u.standby_plan().map(|p| p.seq), Some(1));
}
