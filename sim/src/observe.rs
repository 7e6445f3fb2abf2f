//! Observer hook: the simulator reports each step through this trait so that recorders
//! (trajectories for time-space diagrams, Rerun recordings, …) can be added without the
//! simulator knowing about them.

use crate::engine::Simulation;
use roadnet::{LaneId, MovementId, RoadNet, SignalState};

/// Where a vehicle's front is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    Lane(LaneId),
    /// On a lane link of `movement`, from `from_lane` to `to_lane`.
    Link {
        movement: MovementId,
        from_lane: LaneId,
        to_lane: LaneId,
    },
}

/// One running vehicle at the end of a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VehicleSnapshot {
    /// Index of the vehicle's trip in the demand.
    pub vehicle: u32,
    pub place: Place,
    /// Distance of the front from the start of the lane or link, m.
    pub distance_m: f64,
    pub speed_m_s: f64,
}

/// A read-only view of the simulation after a step. Cheap: nothing is copied until asked for.
#[derive(Debug)]
pub struct StepView<'a> {
    pub(crate) sim: &'a Simulation,
}

impl StepView<'_> {
    /// Simulated time at the end of the step, s.
    pub fn time_s(&self) -> f64 {
        self.sim.time_s()
    }
    pub fn net(&self) -> &RoadNet {
        self.sim.net()
    }
    pub fn signals(&self) -> &[SignalState] {
        self.sim.signal_states()
    }
    /// Running vehicles, in a stable order (order of entry).
    pub fn vehicles(&self) -> impl Iterator<Item = VehicleSnapshot> + '_ {
        self.sim.vehicle_snapshots()
    }
}

/// Receives events from a run. Every method has an empty default.
pub trait Observer {
    fn on_step(&mut self, _view: &StepView<'_>) {}
    /// A vehicle reached the end of its route at `time_s`.
    fn on_vehicle_finished(&mut self, _vehicle: u32, _time_s: f64) {}
}

/// Observes nothing.
#[derive(Debug)]
pub struct NoObserver;
impl Observer for NoObserver {}
