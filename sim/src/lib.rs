//! # sim — greenwave's microscopic traffic simulator
//!
//! Lane-based and deterministic, over a [`roadnet::RoadNet`]. The vehicle and intersection model
//! reproduces CityFlow's (car following with no-collision and headway speeds, stopping at red
//! and yellow, blocked-exit checks, yielding at conflict points between lane links, a spawn
//! queue per lane), written from the behavioural description in `docs/cityflow-model.md`.
//!
//! - [`Simulation`] — build from a network, a demand and a [`SimConfig`]; drive it with any
//!   [`roadnet::Controller`] through [`Simulation::step`] or [`Simulation::run`].
//! - [`Observer`] — hook for recorders (trajectories, Rerun…); [`StepView`] is a read-only view.
//! - [`LaneClosure`] — a lane closed for a time window ([`Simulation::set_lane_closures`]):
//!   roadworks in a what-if scenario.
//! - [`ConflictMonitor`] — checks every step that the shown indications are safe.
//! - [`Metrics`] — CityFlow's average travel time, the "entering lane" travel time of the
//!   published Jinan tables, delay, stops, speed, per-intersection figures.
//! - [`synthetic`] — seeded grid networks and demand for benchmarks and tests.
//!
//! State is held as structure-of-arrays indexed by vehicle (= trip index) and drivable (lanes,
//! then lane links); no pointers, no `unsafe`.
//!
//! ## Glossary
//! - **lane** — one lane of a road, from its start to the stop line ([`roadnet::Lane`]).
//! - **lane link** — the path across an intersection from one lane to a lane of the next road
//!   (CityFlow's laneLink); a vehicle on it is on no lane.
//! - **drivable** — a lane or a lane link: what a vehicle is on. A vehicle belongs to the
//!   drivable that holds its front, and drivable lists run front → back.
//! - **spawn queue** — per lane, the vehicles whose departure time has come but that have not
//!   yet entered (at most one enters per lane per step). They count in every metric.
//! - **entering lane** — a lane of a road that ends at a signalized intersection.
//! - **cross** — a conflict point between two lane links of one intersection, where one
//!   vehicle yields to the other.
//! - **step** — one `dt_s` tick: the controller acts, then vehicles move, then time advances
//!   and sensors and metrics sample the new state.
//! - **halting** — slower than [`HALTING_SPEED_M_S`] (0.1 m/s, CityFlow's waiting speed).
//! - **free-flow time** — time to drive a distance at min(vehicle max speed, speed limit).

pub mod config;
mod engine;
pub mod error;
pub mod metrics;
pub mod monitor;
pub mod observe;
mod signals;
pub mod synthetic;
mod topo;

pub use config::{SimConfig, HALTING_SPEED_M_S};
pub use engine::{LaneClosure, Simulation};
pub use error::SimError;
pub use metrics::{IntersectionMetrics, Metrics};
pub use monitor::{ConflictMonitor, SafetyRule, SafetyViolation};
pub use observe::{NoObserver, Observer, Place, StepView, VehicleSnapshot};
pub use roadnet::rng::SplitMix64;
pub use signals::Signals;
