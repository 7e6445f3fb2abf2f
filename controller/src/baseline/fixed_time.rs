//! `fixed-time` (FT30, REFERENCE.md): on CityFlow networks (those with a clearance stage),
//! phases 1 → 2 → 3 → 4 cycle in 30 s slots = the clearance (phase 0, 5 s) + 25 s of the phase;
//! every intersection starts the first slot at t = 0. Elsewhere: the base plan (every
//! non-clearance stage with its base green).

use super::{plan_from_greens, plan_stages, BaselineError};
use roadnet::{Command, Controller, RoadNet, SignalPlan, StepInput};

/// Slot length of FT30, s.
pub const SLOT_S: f64 = 30.0;
/// Phases per FT30 cycle.
pub const PHASES: usize = 4;

pub struct FixedTime {
    plans: Vec<SignalPlan>,
    sent: bool,
}

impl FixedTime {
    pub fn new(net: &RoadNet) -> Result<FixedTime, BaselineError> {
        let mut plans = Vec::new();
        for i in net.signalized() {
            let stages = plan_stages(net, i.id);
            let greens: Vec<_> = if i.clearance_stage.is_some() && stages.len() >= PHASES {
                stages[..PHASES]
                    .iter()
                    .map(|s| (*s, SLOT_S - net.stage(*s).limits.change_s()))
                    .collect()
            } else {
                stages
                    .iter()
                    .map(|s| (*s, net.stage(*s).base_green_s))
                    .collect()
            };
            plans.push(plan_from_greens(net, i.id, &greens, "fixed-time")?);
        }
        Ok(FixedTime { plans, sent: false })
    }
}

impl Controller for FixedTime {
    fn name(&self) -> &str {
        "fixed-time"
    }
    fn step(&mut self, _input: &StepInput<'_>, out: &mut Vec<Command>) {
        if !self.sent {
            self.sent = true;
            out.extend(self.plans.iter().cloned().map(Command::ApplyPlan));
        }
    }
}
