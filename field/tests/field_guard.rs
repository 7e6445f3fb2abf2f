//! Commands that cannot outlive their sender, sequence numbers no single write can abuse, and
//! counters that reset without turning into traffic (issue 12, items 3 and 5).
//!
//! - A field stalled while the central timed out and gave up must never execute those commands
//!   when it wakes: each command block carries its deadline on the field clock.
//! - A plan with sequence number 0xFFFF_FFFF no longer locks the central out; a sender that jumps
//!   ahead by the most the rule allows costs the central one refused push, after which it
//!   continues from the field's number.
//! - A field controller that restarts (new boot epoch, counters from 0) adds exactly the
//!   actuations counted since its start — never 65,536 minus the old count.

mod field_support;

use field::emulator::server;
use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::{self, hr, RejectCode};
use field::{ClientPool, FieldUnit, IdleSource, LinkConfig};
use field_support::{fixture_net, id, plan, Harness};
use std::time::Duration;

/// A link that gives up quickly: the commands of a stall are abandoned within ~60 ms.
fn impatient() -> LinkConfig {
    LinkConfig {
        request_timeout: Duration::from_millis(40),
        connect_timeout: Duration::from_millis(40),
        retries: 0,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        max_connections_per_endpoint: 1,
    }
}

/// Commands per stall, and stalls: 1,000 abandoned commands in all.
const CENTRALS: usize = 50;
const STALLS: usize = 20;
/// Field time that passes during a stall, ds (the 20 s of the reported attack).
const STALL_DS: u64 = 200;

#[test]
#[allow(
    clippy::await_holding_lock,
    reason = "holding the field's unit lock across the centrals' requests is the stall under test; \
              the field runs on another runtime, so nothing here waits for it"
)]
fn commands_abandoned_during_a_field_stall_never_take_effect() {
    // The field runs on its own runtime, so that holding its units' locks (the stall) blocks
    // the field and nothing else; the centrals run on the test's runtime.
    let field_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let h = field_rt.block_on(Harness::start(fixture_net()));
    let net = h.net.clone();
    let a = id(&net, "a");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let unit = h.emu.unit(a).unwrap().clone();
    let field_state = || {
        let u = server::lock(&unit);
        (u.status(), u.read_holding(hr::STAGE_REQUEST, 1).unwrap()[0])
    };

    rt.block_on(async {
        let mut centrals = Vec::new();
        for _ in 0..CENTRALS {
            centrals.push(h.pool_via(impatient(), |addr| addr).await);
        }
        // Control: the same commands, sent to a field that is not stalled, take effect at once.
        h.clock.advance(10);
        let link = centrals[0].link(a).unwrap();
        link.status().await.unwrap();
        link.request_stage(2).await.unwrap();
        let (st, request) = field_state();
        assert_eq!(
            (st.heartbeat_age_ds, request),
            (0, 2),
            "a live command acts"
        );
        link.request_stage(0).await.unwrap();

        let mut abandoned = 0;
        for _ in 0..STALLS {
            // every central reads the field clock first: its commands would be valid at once
            for c in centrals.iter_mut() {
                c.link(a).unwrap().status().await.unwrap();
            }
            let (before, request_before) = field_state();
            // the stall: the field hears nothing until the lock goes
            let stalled = server::lock(&unit);
            let sent = futures::future::join_all(centrals.iter_mut().map(|c| {
                let link = c.link(a).unwrap();
                async move { link.request_stage(2).await }
            }))
            .await;
            for r in &sent {
                match r {
                    Err(e) if e.is_transport() => abandoned += 1,
                    other => panic!("a stalled field answered: {other:?}"),
                }
            }
            h.clock.advance(STALL_DS);
            drop(stalled);
            // the field wakes up and works through whatever reached it
            tokio::time::sleep(Duration::from_millis(150)).await;
            let (after, request_after) = field_state();
            assert_eq!(
                request_after, request_before,
                "an abandoned stage request was executed"
            );
            assert!(
                after.heartbeat_age_ds as u64 >= STALL_DS,
                "an abandoned heartbeat fed the watchdog (age {} ds)",
                after.heartbeat_age_ds
            );
            assert_eq!(after.heartbeat_echo, before.heartbeat_echo);
        }
        assert_eq!(abandoned, CENTRALS * STALLS);
        let st = field_state().0;
        // the guard did the refusing (not only closed sockets): most frames reached the field
        eprintln!(
            "stall: {abandoned} commands abandoned, 0 executed, {} refused by the field as expired",
            st.commands_expired
        );
        assert!(st.commands_expired > 0, "no frame reached the field at all");
    });
    drop(h);
}

#[test]
fn commands_outside_their_window_are_refused_and_counted() {
    let net = fixture_net();
    let a = id(&net, "a");
    let mut unit = FieldUnit::new(net, a, 1_000, Box::new(IdleSource)).unwrap();
    let block = |until: u32, stage: u16| vec![(until >> 16) as u16, until as u16, 7, stage];
    // valid at its deadline, not a decisecond after
    assert!(unit
        .write_holding(hr::COMMAND_VALID_UNTIL_HI, &block(1_000, 0))
        .is_ok());
    unit.advance_to(1_001);
    assert!(unit
        .write_holding(hr::COMMAND_VALID_UNTIL_HI, &block(1_000, 2))
        .is_err());
    // nor one that claims to stay valid for longer than the field allows
    let far = 1_001 + regmap::MAX_COMMAND_VALIDITY_DS + 1;
    assert!(unit
        .write_holding(hr::COMMAND_VALID_UNTIL_HI, &block(far, 2))
        .is_err());
    assert_eq!(unit.status().commands_expired, 2);
    assert_eq!(unit.read_holding(hr::STAGE_REQUEST, 1).unwrap(), vec![0]);
    // the heartbeat or stage request alone, without the deadline, has no address any more
    for (addr, values) in [
        (hr::HEARTBEAT, vec![1]),
        (hr::STAGE_REQUEST, vec![2]),
        (1, vec![1]),
    ] {
        assert!(unit.write_holding(addr, &values).is_err(), "{addr}");
    }
    // on the wrapping field clock: a deadline just past 2^32 ds is still "ahead"
    let mut late =
        FieldUnit::new(fixture_net(), a, u32::MAX as u64 - 5, Box::new(IdleSource)).unwrap();
    assert!(late
        .write_holding(hr::COMMAND_VALID_UNTIL_HI, &block(4, 2))
        .is_ok());
    assert_eq!(late.read_holding(hr::STAGE_REQUEST, 1).unwrap(), vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_single_write_locks_the_central_out() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let mut central = h.pool().await;
    let mut intruder = h.pool().await;
    let p = plan(&net, "a", &[40.0, 30.0], 0.0);
    let first = central.link(a).unwrap().push_plan(&net, &p).await.unwrap();
    assert_eq!(first.seq, 1);
    // the v1 lock-out: a valid plan numbered 0xFFFF_FFFF
    let area = PlanRegisters::from_plan(&net, u32::MAX, &p)
        .unwrap()
        .to_registers();
    let e = intruder
        .link(a)
        .unwrap()
        .push_registers(&area)
        .await
        .unwrap_err();
    assert_eq!(e.reject_code(), Some(RejectCode::StaleSequence));
    // the farthest jump the rule allows is accepted …
    let jump = 1 + regmap::MAX_SEQUENCE_STEP;
    let area = PlanRegisters::from_plan(&net, jump, &p)
        .unwrap()
        .to_registers();
    intruder
        .link(a)
        .unwrap()
        .push_registers(&area)
        .await
        .unwrap();
    // … and costs the central one refusal, after which it continues past it
    let next = central.link(a).unwrap().push_plan(&net, &p).await.unwrap();
    assert_eq!(next.seq, jump + 1);
    assert_eq!(next.status.committed_seq, jump + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_field_adds_no_phantom_actuations() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let mut central: ClientPool = h.pool().await;
    let p = plan(&net, "a", &[40.0, 30.0], 0.0);
    let link = central.link(a).unwrap();
    link.push_plan(&net, &p).await.unwrap();
    link.poll_detectors().await.unwrap();
    let unit = h.emu.unit(a).unwrap().clone();
    server::lock(&unit).add_actuations(0, 100, 30);
    let d = link.poll_detectors().await.unwrap();
    assert_eq!(d[0].count, 100);
    let epoch = link.boot_epoch().unwrap();

    // the cabinet restarts: a new unit, counters from 0, committed plan forgotten
    {
        let mut u = server::lock(&unit);
        let now = h.clock.advance(10);
        *u = FieldUnit::new(net.clone(), a, now, Box::new(IdleSource)).unwrap();
        u.add_actuations(0, 30, 9);
    }
    let d = link.poll_detectors().await.unwrap();
    assert_eq!(
        d[0].count, 30,
        "the 30 counted since the start, not 65,536 − 70"
    );
    assert!(d.iter().skip(1).all(|x| x.count == 0), "{d:?}");
    assert_eq!(link.detector_total(0), 130);
    assert_ne!(link.boot_epoch(), Some(epoch));
    // and the plan goes back with a number the fresh field takes
    let again = link.push_plan(&net, &p).await.unwrap();
    assert_eq!(again.seq, 1);
    let d = link.poll_detectors().await.unwrap();
    assert_eq!(d[0].count, 0);

    // a counter that wraps without a restart is still a wrap
    server::lock(&unit).add_actuations(0, 65_530, 0);
    link.poll_detectors().await.unwrap();
    server::lock(&unit).add_actuations(0, 10, 0);
    let d = link.poll_detectors().await.unwrap();
    assert_eq!(d[0].count, 10);
    assert_eq!(link.detector_total(0), 130 + 65_530 + 10);
}
