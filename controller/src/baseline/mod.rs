//! The three baseline controllers of `../shared/REFERENCE.md`, and the factory the CLI uses.
//!
//! - [`native`] — the network's own stages in order, each with its base green. CityFlow's native
//!   cycle (phase 0, then phases 1–8 back to back) would end greens without a yellow, which the
//!   conflict monitor forbids; so here every stage is followed by its change interval (for
//!   CityFlow nets: the 5 s of phase 0), i.e. phase 0 is shown after each phase instead of once
//!   per cycle (cycle 8 × 35 = 280 s instead of 245 s on Jinan).
//! - [`fixed_time`] — FT30: phases 1 → 2 → 3 → 4, 30 s slots of 5 s phase 0 + 25 s green.
//! - [`max_pressure`] — MP15: every 15 s the phase among 1–4 with the largest pressure.
//!
//! Fixed plans are sent once as [`roadnet::Command::ApplyPlan`]; the simulator runs them and
//! inserts the change intervals; max-pressure sends [`roadnet::Command::SwitchTo`].

pub mod fixed_time;
pub mod max_pressure;
pub mod native;

use roadnet::{Controller, IntersectionId, RoadNet, SignalPlan, StageId, StageSplit};

pub use fixed_time::FixedTime;
pub use max_pressure::MaxPressure;
pub use native::Native;

/// Names accepted by [`make_controller`].
pub const CONTROLLER_NAMES: &[&str] = &["native", "fixed-time", "max-pressure", "adaptive"];

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("unknown controller '{0}'; available: {names}", names = CONTROLLER_NAMES.join(", "))]
    Unknown(String),
    #[error("cannot build '{controller}' for this network: {message}")]
    Unsupported { controller: String, message: String },
}

/// Build a baseline controller by name for a network.
pub fn make_controller(name: &str, net: &RoadNet) -> Result<Box<dyn Controller>, BaselineError> {
    match name {
        "native" => Ok(Box::new(Native::new(net)?)),
        "fixed-time" | "fixed_time" | "ft" => Ok(Box::new(FixedTime::new(net)?)),
        "max-pressure" | "max_pressure" | "mp" => Ok(Box::new(MaxPressure::new(net))),
        "adaptive" => Ok(Box::new(crate::adaptive::Adaptive::new(net))),
        other => Err(BaselineError::Unknown(other.into())),
    }
}

/// Non-clearance stages of an intersection in native order.
pub(crate) fn plan_stages(net: &RoadNet, i: IntersectionId) -> Vec<StageId> {
    net.intersection(i)
        .stages
        .iter()
        .copied()
        .filter(|s| !net.stage(*s).clearance)
        .collect()
}

/// A cyclic plan of `stages` with the given green times, each followed by its change interval,
/// positioned so that the first stage's green starts when the simulator's start-up clearance
/// (the first stage's change interval) ends.
pub(crate) fn plan_from_greens(
    net: &RoadNet,
    i: IntersectionId,
    stages: &[(StageId, f64)],
    controller: &str,
) -> Result<SignalPlan, BaselineError> {
    let splits: Vec<StageSplit> = stages
        .iter()
        .map(|(s, g)| StageSplit {
            stage: *s,
            split_s: g + net.stage(*s).limits.change_s(),
        })
        .collect();
    let cycle_s: f64 = splits.iter().map(|s| s.split_s).sum();
    let startup = stages
        .first()
        .map_or(0.0, |(s, _)| net.stage(*s).limits.change_s());
    let plan = SignalPlan {
        intersection: i,
        cycle_s,
        offset_s: startup.rem_euclid(cycle_s.max(1e-9)),
        stages: splits,
    };
    plan.validate(net).map_err(|e| BaselineError::Unsupported {
        controller: controller.into(),
        message: e.to_string(),
    })?;
    Ok(plan)
}
