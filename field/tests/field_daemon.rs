//! The central daemon drives the field link through any `roadnet::Controller`: detector polls
//! become `StepInput` readings with exact counts, `Command::ApplyPlan` becomes a verified push,
//! and a field that restarted gets its plan again.

mod field_support;

use field::central::Daemon;
use field::emulator::server;
use field_support::*;
use roadnet::{Command, Controller, SignalPlan, StepInput};
use std::sync::{Arc, Mutex};

/// Asks for a given plan at step 1 (and, to check the validator path, an unsafe one at step 2),
/// and records what it was told.
struct Scripted {
    plans: Vec<SignalPlan>,
    bad: SignalPlan,
    seen: Arc<Mutex<Vec<(usize, usize, u32)>>>,
    step: usize,
}

impl Controller for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.step += 1;
        let count: u32 = input.detectors.iter().map(|d| d.count).sum();
        self.seen
            .lock()
            .unwrap()
            .push((input.signals.len(), input.detectors.len(), count));
        if self.step == 1 {
            out.extend(self.plans.iter().cloned().map(Command::ApplyPlan));
        }
        if self.step == 2 {
            out.push(Command::ApplyPlan(self.bad.clone()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_controller_drives_the_field_through_the_daemon() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let pool = h.pool().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut bad = plan(&net, "a", &[40.0, 30.0], 25.0);
    bad.stages[1].split_s = 3.0;
    bad.cycle_s = 43.0;
    let ctl = Scripted {
        plans: vec![
            plan(&net, "a", &[40.0, 30.0], 25.0),
            plan(&net, "b", &[30.0, 30.0], 0.0),
        ],
        bad,
        seen: seen.clone(),
        step: 0,
    };
    let mut daemon = Daemon::new(net.clone(), pool, Box::new(ctl));
    let unit_a = h.emu.unit(a).unwrap().clone();
    let mut truth = 0u64;
    for step in 0..6 {
        // 3 vehicles on each of a's two detectors per step
        for d in 0..2 {
            server::lock(&unit_a).add_actuations(d, 3, 6);
        }
        if step > 0 {
            truth += 6;
        }
        h.clock.advance(10);
        h.emu.advance_all();
        daemon.step(step as f64).await;
    }
    let stats = daemon.stats().clone();
    assert_eq!(stats.plans_pushed, 2, "{stats:?}");
    assert_eq!(
        stats.plans_rejected, 1,
        "the central validator refused the bad plan"
    );
    assert_eq!(stats.poll_errors, 0);
    let total: u64 = stats.detector_counts.values().sum();
    assert_eq!(total, truth);
    {
        let seen = seen.lock().unwrap();
        assert!(seen.iter().all(|(signals, _, _)| *signals == 2));
        assert_eq!(seen.iter().map(|s| s.2 as u64).sum::<u64>(), truth);
    }
    assert_eq!(server::lock(&unit_a).status().committed_seq, 1);

    // a field controller that lost its plan (a restart) is given it again
    let fresh = field::FieldUnit::new(
        net.clone(),
        a,
        field::Clock::now_ds(&*h.clock),
        Box::new(field::IdleSource),
    )
    .unwrap();
    *server::lock(&unit_a) = fresh;
    daemon.step(7.0).await;
    let st = server::lock(&unit_a).status();
    assert!(st.committed_seq >= 1, "plan pushed again after the restart");
    assert_eq!(daemon.stats().plans_pushed, 3);
}

/// Asks intersection `a` for its other stage once its green has served its shortest green.
struct RequestOther {
    a: roadnet::IntersectionId,
    net: Arc<roadnet::RoadNet>,
    asked: Arc<Mutex<Option<roadnet::StageId>>>,
}

impl Controller for RequestOther {
    fn name(&self) -> &str {
        "request-other"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        let mut asked = self.asked.lock().unwrap();
        if asked.is_some() {
            return;
        }
        let Some(s) = input.signals.iter().find(|s| s.intersection == self.a) else {
            return;
        };
        let shortest = self.net.stage(s.stage).limits.shortest_green_s();
        if s.interval == roadnet::Interval::Green && s.green_elapsed_s >= shortest + 1.0 {
            let stages = &self.net.intersection(self.a).stages;
            let other = *stages.iter().find(|x| **x != s.stage).unwrap();
            *asked = Some(other);
            out.push(Command::SwitchTo {
                intersection: self.a,
                stage: other,
            });
        }
    }
}

/// The daemon reads back a field controller it commanded: what the field did with a stage
/// request (its green ended, the change interval towards the requested stage began) is in
/// `Daemon::signals` at the end of the same step, with the next stage (input register 45).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_request_shows_in_the_status_read_back_in_the_same_step() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let asked = Arc::new(Mutex::new(None));
    let ctl = RequestOther {
        a,
        net: net.clone(),
        asked: asked.clone(),
    };
    let mut daemon = Daemon::new(net.clone(), h.pool().await, Box::new(ctl));
    let mut checked = false;
    for step in 0..200 {
        h.clock.advance(10);
        h.emu.advance_all();
        let before = asked.lock().unwrap().is_some();
        daemon.step(step as f64).await;
        let Some(stage) = *asked.lock().unwrap() else {
            continue;
        };
        if before {
            break;
        }
        // the field's clock did not move during the step: only the request can have ended
        // the green that the controller saw
        let s = daemon
            .signals()
            .iter()
            .find(|s| s.intersection == a)
            .expect("a was read");
        assert_ne!(s.interval, roadnet::Interval::Green, "{s:?}");
        assert_eq!(s.next_stage, Some(stage), "{s:?}");
        let st = server::lock(h.emu.unit(a).unwrap()).status();
        let number = net
            .intersection(a)
            .stages
            .iter()
            .position(|x| *x == stage)
            .unwrap()
            + 1;
        assert_eq!(st.next_stage as usize, number);
        checked = true;
    }
    assert!(checked, "the controller asked for the other stage");
    assert_eq!(daemon.stats().stage_requests, 1);
    assert_eq!(daemon.stats().stage_requests_rejected, 0);
}

/// Records every detector reading it is given: (time, total count).
struct CountsSeen(Arc<Mutex<Vec<(f64, u64)>>>);

impl Controller for CountsSeen {
    fn name(&self) -> &str {
        "counts-seen"
    }
    fn step(&mut self, input: &StepInput<'_>, _out: &mut Vec<Command>) {
        if !input.detectors.is_empty() {
            let count = input.detectors.iter().map(|d| d.count as u64).sum();
            self.0.lock().unwrap().push((input.time_s, count));
        }
    }
}

/// The field's counters run from its power-on; the daemon reads them at first contact, so the
/// first 60 s interval counts exactly the actuations of that interval (before, the first poll
/// at 60 s only set the baseline and the whole first interval read 0 — the Modbus run of the
/// demo then differed from the direct run from its first minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_interval_counts_from_the_first_contact() {
    let h = Harness::start(fixture_net()).await;
    let net = h.net.clone();
    let a = id(&net, "a");
    let pool = h.pool().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut daemon = Daemon::with_config(
        net.clone(),
        pool,
        Box::new(CountsSeen(seen.clone())),
        field::central::DaemonConfig {
            heartbeat_every_s: 20.0,
            detector_interval_s: 60.0,
        },
    );
    let unit_a = h.emu.unit(a).unwrap().clone();
    // before the central's first contact: counted by the field since its power-on, not ours
    server::lock(&unit_a).add_actuations(0, 5, 10);
    let mut truth = 0u64;
    for t in 0..=120u64 {
        if t > 0 {
            // one vehicle on each of a's two detectors every 10 s
            if t % 10 == 0 {
                for d in 0..2 {
                    server::lock(&unit_a).add_actuations(d, 1, 3);
                }
                if t <= 60 {
                    truth += 2;
                }
            }
            h.clock.advance(10);
            h.emu.advance_all();
        }
        daemon.step(t as f64).await;
    }
    let seen = seen.lock().unwrap().clone();
    // a vehicle counted at 60 s belongs to the interval that closes then
    assert_eq!(seen, [(60.0, truth), (120.0, 12)], "{seen:?}");
    assert_eq!(daemon.stats().poll_errors, 0);
}
