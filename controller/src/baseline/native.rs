//! `native`: every signalized intersection runs its stages in native order with their base
//! greens, each followed by its change interval (see the module docs of [`super`] for why this
//! differs from CityFlow's native cycle by one change interval per stage).

use super::{plan_from_greens, plan_stages, BaselineError};
use roadnet::{Command, Controller, RoadNet, SignalPlan, StepInput};

pub struct Native {
    plans: Vec<SignalPlan>,
    sent: bool,
}

impl Native {
    pub fn new(net: &RoadNet) -> Result<Native, BaselineError> {
        let mut plans = Vec::new();
        for i in net.signalized() {
            let stages: Vec<_> = plan_stages(net, i.id)
                .into_iter()
                .map(|s| (s, net.stage(s).base_green_s))
                .collect();
            plans.push(plan_from_greens(net, i.id, &stages, "native")?);
        }
        Ok(Native { plans, sent: false })
    }
}

impl Controller for Native {
    fn name(&self) -> &str {
        "native"
    }
    fn step(&mut self, _input: &StepInput<'_>, out: &mut Vec<Command>) {
        if !self.sent {
            self.sent = true;
            out.extend(self.plans.iter().cloned().map(Command::ApplyPlan));
        }
    }
}
