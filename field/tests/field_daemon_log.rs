//! The central daemon tells the operator of a link outage: the field controller unreachable,
//! reachable again, and the fallback it entered meanwhile (seen because the daemon reads the
//! status before its heartbeat ends the fallback) and left. Its own test binary: the log
//! capture is global, and the other daemon tests log about the same intersections.

mod field_support;

use field::central::Daemon;
use field::emulator::server;
use field_support::*;
use roadnet::{Command, Controller, StepInput};

/// A controller that never commands: the daemon only watches the field.
struct Watch;

impl Controller for Watch {
    fn name(&self) -> &str {
        "watch"
    }
    fn step(&mut self, _: &StepInput<'_>, _: &mut Vec<Command>) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_outage_logs_unreachable_fallback_entered_back_and_left() {
    let _ = log_buffer();
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    // both intersections sit behind port 5101; the proxy can cut that link
    let proxy = Proxy::start(h.addr_of(5101)).await;
    let via = proxy.addr;
    let mut cfg = test_link_config();
    cfg.retries = 0;
    let pool = h.pool_via(cfg, move |_| via).await;
    let mut daemon = Daemon::new(net.clone(), pool, Box::new(Watch));
    for link in daemon.pool().links() {
        link.set_backup_time(2).await.unwrap();
    }
    let mut t = 0.0;
    let mut run = async |daemon: &mut Daemon, seconds: u32| {
        for _ in 0..seconds {
            h.clock.advance(10);
            h.emu.advance_all();
            t += 1.0;
            daemon.step(t).await;
        }
    };
    run(&mut daemon, 3).await;
    assert_eq!(daemon.stats().fallbacks_entered, 0, "{:?}", daemon.stats());
    assert_eq!(daemon.stats().poll_errors, 0);
    // 5 s without the central: past the 2 s backup time, both fall back to their local plan
    proxy.set(LINK_DROP);
    run(&mut daemon, 5).await;
    for (id, unit) in h.emu.units() {
        assert!(
            server::lock(unit).status().is_fallback(),
            "{id}: the field fell back"
        );
    }
    assert!(daemon.stats().poll_errors >= 2 * 5, "{:?}", daemon.stats());
    proxy.set(LINK_UP);
    // the pool reconnects with its backoff; bounded in steps, not timed
    for _ in 0..100 {
        run(&mut daemon, 1).await;
        if daemon.stats().fallbacks_entered == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    run(&mut daemon, 2).await;
    let stats = daemon.stats().clone();
    assert_eq!(
        stats.fallbacks_entered, 2,
        "the status is read before the heartbeat, so each fallback is seen: {stats:?}"
    );
    for (id, unit) in h.emu.units() {
        assert!(
            !server::lock(unit).status().is_fallback(),
            "{id}: the heartbeat ended the fallback"
        );
    }
    let lines = log_lines();
    for name in ["a", "b"] {
        let at = |phrase: &str| {
            let tag = format!("intersection={name}");
            let found: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains(phrase) && l.contains(&tag))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(found.len(), 1, "{name}: one '{phrase}' line in {lines:#?}");
            found[0]
        };
        let down = at("field controller unreachable");
        let back = at("field controller reachable again");
        let entered = at("field controller entered fallback");
        let left = at("field controller left fallback");
        assert!(
            down < back && back < entered && entered < left,
            "{name}: {lines:#?}"
        );
        assert!(lines[down].contains("WARN") && lines[entered].contains("WARN"));
        assert!(lines[back].contains("INFO") && lines[left].contains("INFO"));
    }
}
