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
//! - [`ConflictMonitor`] — checks every step that the shown indications are safe.
//! - [`Metrics`] — CityFlow's average travel time, the "entering lane" travel time of the
//!   published Jinan tables, delay, stops, speed, per-intersection figures.
//! - [`synthetic`] — seeded grid networks and demand for benchmarks and tests.
//!
//! State is held as structure-of-arrays indexed by vehicle (= trip index) and drivable (lanes,
//! then lane links); no pointers, no `unsafe`.

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
pub use engine::Simulation;
pub use error::SimError;
pub use metrics::{IntersectionMetrics, Metrics};
pub use monitor::{ConflictMonitor, SafetyRule, SafetyViolation};
pub use observe::{NoObserver, Observer, Place, StepView, VehicleSnapshot};
pub use roadnet::rng::SplitMix64;
