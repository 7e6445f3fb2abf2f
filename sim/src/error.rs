//! Errors a simulation can end with.

use crate::monitor::SafetyViolation;
use roadnet::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value out of range.
    #[error("bad simulation config: {0}")]
    Config(String),
    /// A trip the network cannot carry; `index` is the vehicle's index in the demand.
    #[error("vehicle {index}: {message}")]
    Trip { index: usize, message: String },
    /// The conflict monitor stopped the run.
    #[error("conflict monitor stopped the run: {0}")]
    Safety(SafetyViolation),
    /// A controller sent a plan that fails validation.
    #[error("controller '{controller}' sent a plan that was refused: {error}")]
    PlanRefused {
        controller: String,
        error: PlanError,
    },
    /// A controller sent a command naming something that does not exist.
    #[error("controller '{controller}' sent a bad command: {message}")]
    Command { controller: String, message: String },
}
