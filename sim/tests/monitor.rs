//! The conflict monitor catches unsafe signal sequences; the normal executor never produces them.

mod common;
use common::*;
use roadnet::{Demand, Indication};
use sim::{ConflictMonitor, NoObserver, SafetyRule, SimConfig, SimError, Simulation};

fn sim_with(raw: bool) -> Simulation {
    let net = tiny();
    let trips = (0..20)
        .map(|k| trip(&net, k as f64 * 3.0, &["wa", "ae"]))
        .collect();
    Simulation::new(
        net,
        &Demand::new(trips),
        SimConfig {
            duration_s: 300.0,
            raw_signal_commands: raw,
            ..SimConfig::default()
        },
    )
    .unwrap()
}

/// Switches E–W → N–S at t = 10 s (4 s into E–W's green, below its 7 s min green), back to
/// E–W at t = 20 s (N–S has not shown green yet), then N–S again at t = 40 s.
fn bad_controller(net: &roadnet::RoadNet) -> Script {
    Script {
        at: vec![
            (10.0, stage(net, "ns")),
            (20.0, stage(net, "ew")),
            (40.0, stage(net, "ns")),
        ],
    }
}

#[test]
fn a_faulty_cabinet_is_stopped_by_the_monitor() {
    let mut s = sim_with(true);
    let mut c = bad_controller(s.net());
    let err = s.run(&mut c, &mut NoObserver).unwrap_err();
    match err {
        SimError::Safety(v) => {
            assert_eq!(v.intersection, "A");
            assert!(
                matches!(
                    v.rule,
                    SafetyRule::GreenWithoutYellow | SafetyRule::MinGreenCut
                ),
                "{v}"
            );
            assert!((v.time_s - 10.0).abs() < 1e-9, "{v}");
            assert!(!v.movements.is_empty());
        }
        other => panic!("expected a safety stop, got {other}"),
    }
    assert_eq!(s.metrics().safety_violations, 1);
}

#[test]
fn the_executor_keeps_min_green_and_yellow_for_the_same_controller() {
    let mut s = sim_with(false);
    let mut c = bad_controller(s.net());
    // Watch the E–W green: once it starts it must last ≥ 7 s, then yellow ≥ 3 s.
    let mut green_since = None;
    let mut greens = Vec::new();
    while !s.is_done() {
        s.step(&mut c).unwrap();
        let st = &s.signal_states()[0];
        let ew = st.indications[0];
        match (ew, green_since) {
            (Indication::Green, None) => green_since = Some(s.time_s()),
            (Indication::Green, Some(_)) => {}
            (_, Some(t0)) => {
                greens.push(s.time_s() - t0);
                green_since = None;
            }
            _ => {}
        }
    }
    assert!(!greens.is_empty());
    assert!(greens.iter().all(|g| *g >= 7.0 - 1e-9), "{greens:?}");
    assert_eq!(s.metrics().safety_violations, 0);
}

#[test]
fn conflicting_protected_greens_are_caught() {
    let net = tiny();
    let mut mon = ConflictMonitor::new(&net);
    // Both groups protected green at once: W→E crosses N→S.
    let v = mon
        .observe(&net, 0, 5.0, &[Indication::Green, Indication::Green], None)
        .unwrap_err();
    assert_eq!(v.rule, SafetyRule::ConflictingGreens);
    assert_eq!(v.movements.len(), 2);
    // A short yellow is caught too.
    let mut mon = ConflictMonitor::new(&net);
    mon.observe(&net, 0, 0.0, &[Indication::Green, Indication::Red], None)
        .unwrap();
    mon.observe(&net, 0, 1.0, &[Indication::Yellow, Indication::Red], None)
        .unwrap();
    let v = mon
        .observe(&net, 0, 2.0, &[Indication::Red, Indication::Green], None)
        .unwrap_err();
    assert_eq!(v.rule, SafetyRule::YellowTooShort);
}

/// A controller that changes its mind during a change interval must not cut a yellow short:
/// leaving "ew" for "ew2" keeps g_ew green through the change interval; retargeting that
/// interval to "ns" mid-yellow would give g_ew a yellow of a second or two. The executor keeps
/// the interval's target and serves "ns" after "ew2"'s min green.
#[test]
fn retargeting_a_change_interval_never_cuts_a_yellow() {
    let text = TINY.replace(
        "[[intersection.stage]]\nid = \"ns\"",
        "[[intersection.stage]]\nid = \"ew2\"\ngroups = [\"g_ew\"]\n[[intersection.stage]]\nid = \"ns\"",
    );
    let net = roadnet::config::parse_toml(&text, "tiny.toml").unwrap();
    let trips = (0..20)
        .map(|k| trip(&net, k as f64 * 3.0, &["wa", "ae"]))
        .collect();
    let mut c = Script {
        at: vec![(30.0, stage(&net, "ew2")), (32.0, stage(&net, "ns"))],
    };
    let mut s = Simulation::new(
        net,
        &Demand::new(trips),
        SimConfig {
            duration_s: 120.0,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let ns = stage(s.net(), "ns");
    let mut served_ns = false;
    while !s.is_done() {
        s.step(&mut c).expect("no safety violation");
        served_ns |= s.signal_states()[0].stage == ns
            && s.signal_states()[0].interval == roadnet::Interval::Green;
    }
    assert!(
        served_ns,
        "the later wish is served once the interval's target has had its min green"
    );
    assert_eq!(s.metrics().safety_violations, 0);
}

/// What a controller is shown between steps is one moment: the lamps of the interval it is
/// told of. (The lamps used to be those of the step before, so at the first step of a yellow
/// the state said yellow while its lamps still showed green — a field controller read over
/// Modbus shows both of the same moment, and the same controller decided differently on the
/// two.)
#[test]
fn the_signal_state_shows_the_lamps_of_its_interval() {
    let mut s = sim_with(false);
    let mut c = bad_controller(s.net());
    let mut seen = std::collections::BTreeSet::new();
    while !s.is_done() {
        s.step(&mut c).unwrap();
        for st in s.signal_states() {
            let yellow = st.indications.contains(&Indication::Yellow);
            match st.interval {
                roadnet::Interval::Yellow => assert!(yellow, "{} s: {st:?}", s.time_s()),
                _ => assert!(!yellow, "{} s: {st:?}", s.time_s()),
            }
            seen.insert(format!("{:?}", st.interval));
        }
    }
    assert_eq!(seen.len(), 3, "green, yellow and all-red seen: {seen:?}");
}
