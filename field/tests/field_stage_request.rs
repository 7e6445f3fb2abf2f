//! Stage requests (acyclic central control over the field link): the field ends the current
//! green only after its own shortest green, holds a requested stage up to its max green, refuses
//! a stage it does not run, and drops back to its local plan when the central falls silent.

mod field_support;

use field::protocol::regmap::hr;
use field::{FieldUnit, IdleSource};
use field_support::{fixture_net, id};
use roadnet::Interval;
use tokio_modbus::ExceptionCode;

/// Write the command block as a central does: a deadline 1 s ahead of the field clock, then
/// the heartbeat and, when given, the stage request.
fn command(unit: &mut FieldUnit, heartbeat: u16, stage: Option<u16>) -> Result<(), ExceptionCode> {
    let until = unit.status().field_time_ds + 10;
    let mut regs = vec![(until >> 16) as u16, until as u16, heartbeat];
    regs.extend(stage);
    unit.write_holding(hr::COMMAND_VALID_UNTIL_HI, &regs)
}

/// The field controller of intersection `a` (and its stages) with a live central: one
/// heartbeat written at t = 0.
fn unit_a_with_central() -> (Vec<roadnet::StageId>, FieldUnit) {
    let net = fixture_net();
    let a = id(&net, "a");
    let stages = net.intersection(a).stages.clone();
    let mut unit = FieldUnit::new(net.clone(), a, 0, Box::new(IdleSource)).unwrap();
    command(&mut unit, 1, None).unwrap();
    (stages, unit)
}

#[test]
fn a_request_switches_after_min_green_and_holds() {
    let (stages, mut unit) = unit_a_with_central();
    // start-up all-red (2 s), then stage 1 ("ew", min green 10 s) from t = 2 s
    unit.advance_to(50);
    let st = unit.signal_state();
    assert_eq!((st.stage, st.interval), (stages[0], Interval::Green));
    command(&mut unit, 2, Some(2)).unwrap();
    // not before the shortest green: 2 s + 10 s = 12 s
    unit.advance_to(119);
    assert_eq!(unit.signal_state().interval, Interval::Green);
    unit.advance_to(121);
    let st = unit.signal_state();
    assert_eq!(st.interval, Interval::Yellow);
    assert_eq!(st.next_stage, Some(stages[1]));
    // yellow 4 s + all-red 2 s, then stage 2 at 18 s
    unit.advance_to(181);
    let st = unit.signal_state();
    assert_eq!((st.stage, st.interval), (stages[1], Interval::Green));
    // held while requested, heartbeats flowing: still green 50 s later (max green 60 s)
    for t in (200..=680).step_by(50) {
        command(&mut unit, t as u16, Some(2)).unwrap();
        unit.advance_to(t);
    }
    let st = unit.signal_state();
    assert_eq!((st.stage, st.interval), (stages[1], Interval::Green));
}

#[test]
fn a_stage_the_field_does_not_run_is_refused() {
    let net = fixture_net();
    let a = id(&net, "a");
    let mut unit = FieldUnit::new(net, a, 0, Box::new(IdleSource)).unwrap();
    assert_eq!(
        command(&mut unit, 1, Some(9)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(unit.read_holding(hr::STAGE_REQUEST, 1).unwrap(), vec![0]);
}

#[test]
fn a_silent_central_loses_request_mode() {
    let (stages, mut unit) = unit_a_with_central();
    unit.advance_to(50);
    command(&mut unit, 2, Some(2)).unwrap();
    unit.advance_to(200);
    assert_eq!(unit.signal_state().stage, stages[1]);
    // no heartbeat after t = 0: the backup time (10 s) ran out; the request plan ends at its
    // max green and the local plan takes over at that boundary — stage 1 comes back
    let mut saw_stage_1_again = false;
    for t in (200..=1500).step_by(10) {
        unit.advance_to(t);
        let st = unit.signal_state();
        if st.stage == stages[0] && st.interval == Interval::Green {
            saw_stage_1_again = true;
        }
    }
    assert!(
        saw_stage_1_again,
        "the local plan cycled on without the central"
    );
    assert!(!unit.central_alive_at(1500));
}
