//! The control interface the simulator and the field link both speak. A controller answers one
//! question every step: given what the sensors saw and what the signals show, what should change?
//! It lives here so that `sim` and `controller` can both see it without knowing each other.

use crate::ids::*;
use crate::sensors::{CameraFrame, DetectorReading};
use crate::signal::{Indication, SignalPlan};
use serde::{Deserialize, Serialize};

/// Where an intersection's signals are in their sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// The current stage's groups show green.
    Green,
    /// Groups losing green show yellow.
    Yellow,
    /// All groups losing green show red; the next stage has not started.
    AllRed,
}

/// The live state of one signalized intersection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalState {
    pub intersection: IntersectionId,
    /// The stage being served (during a change interval: the stage being left).
    pub stage: StageId,
    pub interval: Interval,
    /// Seconds since the current interval began.
    pub time_in_interval_s: f64,
    /// Seconds the current stage has shown green (total, once it has ended).
    pub green_elapsed_s: f64,
    /// The stage that comes next, during a change interval.
    pub next_stage: Option<StageId>,
    /// One indication per signal group of the intersection, in its order.
    pub indications: Vec<Indication>,
}

/// Everything a controller is told at one step.
#[derive(Clone, Copy, Debug)]
pub struct StepInput<'a> {
    pub time_s: f64,
    /// Step length, seconds.
    pub dt_s: f64,
    /// Detector intervals that closed in this step.
    pub detectors: &'a [DetectorReading],
    /// Camera frames taken this step (cameras report every step).
    pub cameras: &'a [CameraFrame],
    /// Signalized intersections only, in intersection order.
    pub signals: &'a [SignalState],
}

/// What a controller may ask of the signals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// End the current stage (after its min green), run the change interval, then show `stage`.
    /// Asking for the stage already green keeps it green.
    SwitchTo {
        intersection: IntersectionId,
        stage: StageId,
    },
    /// Run a cyclic plan from now on (validated by the receiver before it applies).
    ApplyPlan(SignalPlan),
    /// Keep this plan as the intersection's standby (fallback) plan: what its field controller
    /// runs on its own when the central goes silent. Nothing changes on the lamps now and a
    /// running stage-request mode goes on; every receiver validates it first.
    StandbyPlan(SignalPlan),
}

/// A signal control strategy. The same implementation drives the simulator and the field.
pub trait Controller: Send {
    /// Short name for reports (`fixed-time`, `max-pressure`, `adaptive`, …).
    fn name(&self) -> &str;
    /// Called once per simulation/field step; pushes any commands into `out`.
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>);
}
