//! The central's plan validator (`SignalPlan::validate`, run before every push) and the field's
//! (`FieldUnit::check_commit`, run before every apply) agree: over a million plans mutated from
//! valid ones — splits, cycle, offset, stage order, dropped and repeated stages, every value on
//! and around its limit — the field accepts exactly the plans the central accepts, and a plan
//! the central accepts can always be encoded for the link. (The field's extra checks — its own
//! stage definitions and timing minimums, the checksum, the sequence rule — concern registers a
//! faithful central cannot produce, and are tested in `field_link.rs`.)
//!
//! Cases: `GREENWAVE_VALIDATOR_CASES` (default 1,000,000; a few seconds in `--release`).

mod field_support;

use controller::baseline::base_plan;
use field::protocol::codec::PlanRegisters;
use field::protocol::regmap::hr;
use field::{FieldUnit, IdleSource};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use roadnet::{IntersectionId, RoadNet, SignalPlan};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// One way to bend a valid plan; values in deciseconds so that every plan is sendable as far
/// as the encoding goes.
#[derive(Clone, Debug)]
enum Mutation {
    /// Add `delta_ds` to stage `k`'s split (and, when `keep_cycle`, to the cycle too).
    Split {
        k: usize,
        delta_ds: i32,
        keep_cycle: bool,
    },
    /// Add `delta_ds` to the cycle alone.
    Cycle {
        delta_ds: i32,
    },
    /// Set the offset to `offset_ds` (may be negative or past the cycle).
    Offset {
        offset_ds: i32,
    },
    /// Stage `k`'s split exactly at its minimum, or `below` it by 1 ds (cycle kept consistent).
    SplitAtMin {
        k: usize,
        below: bool,
    },
    /// Stage `k`'s green exactly at its max green, or `above` it by 1 ds.
    GreenAtMax {
        k: usize,
        above: bool,
    },
    Drop {
        k: usize,
    },
    Repeat {
        k: usize,
    },
    Swap {
        a: usize,
        b: usize,
    },
    /// A stage of another intersection in place of stage `k`.
    Foreign {
        k: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..16usize, -200..200i32, any::<bool>()).prop_map(|(k, delta_ds, keep_cycle)| {
            Mutation::Split {
                k,
                delta_ds,
                keep_cycle,
            }
        }),
        (-100..100i32).prop_map(|delta_ds| Mutation::Cycle { delta_ds }),
        (-50..2500i32).prop_map(|offset_ds| Mutation::Offset { offset_ds }),
        (0..16usize, any::<bool>()).prop_map(|(k, below)| Mutation::SplitAtMin { k, below }),
        (0..16usize, any::<bool>()).prop_map(|(k, above)| Mutation::GreenAtMax { k, above }),
        (0..16usize).prop_map(|k| Mutation::Drop { k }),
        (0..16usize).prop_map(|k| Mutation::Repeat { k }),
        (0..16usize, 0..16usize).prop_map(|(a, b)| Mutation::Swap { a, b }),
        (0..16usize).prop_map(|k| Mutation::Foreign { k }),
    ]
}

fn ds(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn apply(net: &RoadNet, plan: &mut SignalPlan, m: &Mutation) {
    let n = plan.stages.len();
    if n == 0 {
        return;
    }
    match *m {
        Mutation::Split {
            k,
            delta_ds,
            keep_cycle,
        } => {
            let d = delta_ds as f64 / 10.0;
            plan.stages[k % n].split_s = ds(plan.stages[k % n].split_s + d);
            if keep_cycle {
                plan.cycle_s = ds(plan.cycle_s + d);
            }
        }
        Mutation::Cycle { delta_ds } => plan.cycle_s = ds(plan.cycle_s + delta_ds as f64 / 10.0),
        Mutation::Offset { offset_ds } => plan.offset_s = offset_ds as f64 / 10.0,
        Mutation::SplitAtMin { k, below } => {
            let s = &mut plan.stages[k % n];
            let min = ds(net.stage(s.stage).limits.min_split_s()) - if below { 0.1 } else { 0.0 };
            plan.cycle_s = ds(plan.cycle_s + min - s.split_s);
            s.split_s = ds(min);
        }
        Mutation::GreenAtMax { k, above } => {
            let s = &mut plan.stages[k % n];
            let l = net.stage(s.stage).limits;
            let split = ds(l.max_green_s + l.change_s()) + if above { 0.1 } else { 0.0 };
            plan.cycle_s = ds(plan.cycle_s + split - s.split_s);
            s.split_s = ds(split);
        }
        Mutation::Drop { k } => {
            let s = plan.stages.remove(k % n);
            plan.cycle_s = ds(plan.cycle_s - s.split_s);
        }
        Mutation::Repeat { k } => {
            let s = plan.stages[k % n];
            plan.cycle_s = ds(plan.cycle_s + s.split_s);
            plan.stages.push(s);
        }
        Mutation::Swap { a, b } => plan.stages.swap(a % n, b % n),
        Mutation::Foreign { k } => {
            let other = net
                .signalized()
                .find(|i| i.id != plan.intersection)
                .map(|i| i.stages[0]);
            if let Some(stage) = other {
                plan.stages[k % n].stage = stage;
            }
        }
    }
}

struct Site {
    net: Arc<RoadNet>,
    id: IntersectionId,
    unit: FieldUnit,
}

fn sites() -> Vec<Site> {
    let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/../intersections.toml");
    let bundled = Arc::new(roadnet::load_network(std::path::Path::new(bundled)).unwrap());
    let mut out = Vec::new();
    for net in [bundled, field_support::fixture_net()] {
        for inter in net.signalized().filter(|i| i.controller.is_some()) {
            let unit = FieldUnit::new(net.clone(), inter.id, 0, Box::new(IdleSource)).unwrap();
            out.push(Site {
                net: net.clone(),
                id: inter.id,
                unit,
            });
        }
    }
    out
}

#[test]
fn central_and_field_validators_agree_on_a_million_mutated_plans() {
    let cases: u32 = std::env::var("GREENWAVE_VALIDATOR_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // the runner takes a `Fn`: the units and tallies live in cells
    let sites = RefCell::new(sites());
    let n_sites = sites.borrow().len();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = Cell::new(0u64);
    let refused = Cell::new(0u64);
    let result = runner.run(
        &(0..n_sites, prop::collection::vec(mutation(), 0..4)),
        |(s, muts)| {
            let mut sites = sites.borrow_mut();
            let site = &mut sites[s];
            let net = &site.net;
            let mut plan = base_plan(net, site.id);
            for m in &muts {
                apply(net, &mut plan, m);
            }
            let central = plan.validate(net);
            let Ok(regs) = PlanRegisters::from_plan(net, 1, &plan) else {
                // the link cannot carry it: the central must not have accepted it
                prop_assert!(
                    central.is_err(),
                    "central accepts an unsendable plan {plan}"
                );
                refused.set(refused.get() + 1);
                return Ok(());
            };
            let area = regs.to_registers();
            site.unit.write_holding(hr::PLAN_BASE, &area).unwrap();
            let field = site.unit.check_commit(area[1]);
            match (&central, &field) {
                (Ok(()), Ok(_)) => accepted.set(accepted.get() + 1),
                (Err(_), Err(_)) => refused.set(refused.get() + 1),
                _ => {
                    return Err(TestCaseError::fail(format!(
                    "validators disagree on {plan} after {muts:?}: central {central:?}, field {:?}",
                    field.as_ref().map(|_| ())
                )))
                }
            }
            Ok(())
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, refused) = (accepted.get(), refused.get());
    eprintln!(
        "validators agree on {cases} plans: {accepted} accepted by both, {refused} refused by both"
    );
    // both outcomes are exercised, so agreement is not vacuous
    assert!(accepted > cases as u64 / 20 && refused > cases as u64 / 20);
}
