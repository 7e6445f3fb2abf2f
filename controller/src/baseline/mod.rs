//! The baseline controllers, and the factory the CLI uses.
//!
//! - `native` — the network's own stages in order, each with its base green: the
//!   [`base_plan`] of every intersection, the same plan a field controller falls back to.
//!   CityFlow's native cycle (phase 0, then phases 1–8 back to back) would end greens without a
//!   yellow, which the conflict monitor forbids; so here every stage is followed by its change
//!   interval (for CityFlow nets: the 5 s of phase 0), i.e. phase 0 is shown after each phase
//!   instead of once per cycle (cycle 8 × 35 = 280 s instead of 245 s on Jinan).
//! - `fixed-time` — FT30: phases 1 → 2 → 3 → 4, 30 s slots of 5 s phase 0 + 25 s green
//!   ([`ft30_plans`]).
//! - `max-pressure` — MP15: every 15 s the phase among 1–4 with the largest pressure.
//! - `pressure` — greenwave's adaptive controller with its former free-mode decision,
//!   acyclic queue-aware pressure control ([`crate::adaptive::Decision::Pressure`]), kept for
//!   comparison with the default `adaptive` (schedule-driven, [`crate::schedule`]).
//!
//! Both fixed strategies are a [`FixedPlans`]: the plans are sent once as
//! [`roadnet::Command::ApplyPlan`] and the simulator runs them, inserting the change
//! intervals; max-pressure sends [`roadnet::Command::SwitchTo`].

pub mod fixed;
pub mod max_pressure;

use roadnet::{Controller, RoadNet};

pub use fixed::{base_plan, ft30_plans, native_plans, FixedPlans};
pub use max_pressure::MaxPressure;

/// Names accepted by [`make_controller`].
pub const CONTROLLER_NAMES: &[&str] = &[
    "native",
    "fixed-time",
    "max-pressure",
    "pressure",
    "adaptive",
];

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
        "native" => Ok(Box::new(FixedPlans::native(net)?)),
        "fixed-time" | "fixed_time" | "ft" => Ok(Box::new(FixedPlans::fixed_time(net)?)),
        "max-pressure" | "max_pressure" | "mp" => Ok(Box::new(MaxPressure::new(net))),
        "adaptive" => Ok(Box::new(crate::adaptive::Adaptive::new(net))),
        "pressure" => Ok(Box::new(crate::adaptive::Adaptive::pressure(net))),
        other => Err(BaselineError::Unknown(other.into())),
    }
}
