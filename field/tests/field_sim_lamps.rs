//! The simulator's lamps and the field controller's lamps agree: both run greenwave's one timing
//! engine (`roadnet::timing::Runner`), and this test holds the two ways of feeding it to the
//! same lamps. Every signalized intersection of the fixture network runs in a `FieldUnit`
//! (plans committed and stages requested through its registers, as over Modbus) and in
//! `sim::Signals` (the same plans applied and stages switched by commands); for 64 seeds of
//! random commits, stage requests and releases over 40 simulated minutes, every signal group's
//! indication (G/g/y/r) is compared every 0.1 s.

mod field_support;

use controller::baseline::base_plan;
use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::hr;
use field::{FieldUnit, IdleSource};
use field_support::{command, fixture_net};
use roadnet::rng::SplitMix64;
use roadnet::{Command, RoadNet, SignalPlan};
use sim::Signals;

/// A valid variant of the native plan of `plan.intersection`: a random offset and, when the
/// validator allows it, a few seconds moved from one stage's split to another's.
fn variant(net: &RoadNet, native: &SignalPlan, rng: &mut SplitMix64) -> SignalPlan {
    let mut p = native.clone();
    p.offset_s = rng.below(p.cycle_s as usize) as f64;
    let n = p.stages.len();
    let (a, b) = (rng.below(n), rng.below(n));
    let moved = rng.below(8) as f64;
    if a != b {
        let mut q = p.clone();
        q.stages[a].split_s -= moved;
        q.stages[b].split_s += moved;
        if q.validate(net).is_ok() {
            p = q;
        }
    }
    assert!(p.validate(net).is_ok(), "the variant is a valid plan");
    p
}

/// The central's side of the field link for one unit, written straight into its registers.
fn commit(unit: &mut FieldUnit, net: &RoadNet, seq: u32, plan: &SignalPlan) {
    let regs = PlanRegisters::from_plan(net, seq, plan).expect("plan encodes");
    let words = regs.to_registers();
    unit.write_holding(hr::PLAN_BASE, &words).unwrap();
    unit.write_holding(hr::COMMIT, &[words[1]]).unwrap();
    assert_eq!(
        unit.status().committed_seq,
        seq,
        "the field accepts plan {seq}"
    );
}

#[test]
fn simulator_and_field_show_the_same_lamps_every_tenth_of_a_second() {
    let net = fixture_net();
    let ids: Vec<_> = net.signalized().map(|i| i.id).collect();
    assert!(!ids.is_empty());
    let mut compared = 0u64;
    let mut requests_served = 0u64;
    for seed in 0..64u64 {
        let mut rng = SplitMix64::new(seed);
        let mut sim = Signals::new(&net, false);
        let mut units: Vec<FieldUnit> = ids
            .iter()
            .map(|id| FieldUnit::new(net.clone(), *id, 0, Box::new(IdleSource)).unwrap())
            .collect();
        let natives: Vec<SignalPlan> = ids.iter().map(|id| base_plan(&net, *id)).collect();
        // the plan each side runs when no stage is requested
        let mut plans = natives.clone();
        let mut requested: Vec<Option<usize>> = vec![None; ids.len()];
        let mut seq = 1u32;
        let mut commands: Vec<Command> = natives.iter().cloned().map(Command::ApplyPlan).collect();
        for (k, u) in units.iter_mut().enumerate() {
            command(u, 1, None).unwrap();
            seq += 1;
            commit(u, &net, seq, &natives[k]);
        }
        let mut next_act: Vec<u64> = ids.iter().map(|_| 100 + rng.below(900) as u64).collect();
        for t in 0..24_000u64 {
            for (k, u) in units.iter_mut().enumerate() {
                u.advance_to(t);
                if t % 10 == 0 {
                    command(u, (t / 10) as u16, None).unwrap();
                }
                if t != next_act[k] {
                    continue;
                }
                next_act[k] = t + 50 + rng.below(1500) as u64;
                let stages = &net.intersection(ids[k]).stages;
                match rng.below(3) {
                    0 => {
                        plans[k] = variant(&net, &natives[k], &mut rng);
                        seq += 1;
                        commit(u, &net, seq, &plans[k]);
                        // a commit ends request mode (docs/modbus.md)
                        requested[k] = None;
                        commands.push(Command::ApplyPlan(plans[k].clone()));
                    }
                    1 => {
                        // a stage the field runs: one of the plan's
                        let n = plans[k].stages.len();
                        let stage = plans[k].stages[rng.below(n)].stage;
                        let number = stages.iter().position(|s| *s == stage).unwrap() + 1;
                        command(u, (t / 10) as u16, Some(number as u16)).unwrap();
                        requested[k] = Some(number);
                        commands.push(Command::SwitchTo {
                            intersection: ids[k],
                            stage,
                        });
                        requests_served += 1;
                    }
                    _ => {
                        command(u, (t / 10) as u16, Some(0)).unwrap();
                        if requested[k].take().is_some() {
                            commands.push(Command::ApplyPlan(plans[k].clone()));
                        }
                    }
                }
            }
            sim.apply(&net, "test", &mut commands).unwrap();
            let time_s = t as f64 / 10.0;
            if let Err(v) = sim.begin_step(&net, time_s) {
                panic!("seed {seed}: the simulator's monitor: {v:?}");
            }
            for (k, u) in units.iter().enumerate() {
                let field = u.indications();
                let simulated = &sim.states[k].indications;
                assert_eq!(
                    &field, simulated,
                    "seed {seed}, t = {time_s} s, intersection {}: field {field:?}, simulator {simulated:?}",
                    net.intersection(ids[k]).name
                );
                assert_eq!(
                    u.signal_state().stage,
                    sim.states[k].stage,
                    "seed {seed}, t = {time_s} s"
                );
                compared += 1;
            }
            sim.end_step(0.1);
        }
    }
    assert_eq!(compared, 64 * 24_000 * ids.len() as u64);
    assert!(requests_served > 100, "{requests_served}");
}
