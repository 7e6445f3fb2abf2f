//! # roadnet — greenwave's lane-level ("holographic") road and signal model
//!
//! Pure and deterministic: no I/O beyond parsing the two input formats, no clocks, no randomness.
//! Everything else in greenwave — the simulator, the optimizer, the Modbus field link — reads
//! this one model.
//!
//! ## Glossary
//! - **Intersection** — a node: signalized, unsignalized, or a *boundary* node where vehicles
//!   enter and leave the modelled area.
//! - **Road** — a directed link between two intersections; it is an **approach** of the
//!   intersection it ends at. Lane 0 is the inner (left, next to the centre line) lane.
//! - **Lane** — one lane of a road, from its start to the **stop line**, with width, speed limit,
//!   length and the turns painted on it. A **pocket** is a lane shorter than its road.
//! - **Movement** — a turn (left, through, right, U) from one road to another through an
//!   intersection, made of **lane links** (lane → lane paths with a shape).
//! - **Conflict** — two movements of one intersection whose paths cross or merge; derived from
//!   geometry, overridable in config.
//! - **Signal group** — movements that always show the same indication (`G` protected green,
//!   `g` permissive green, `y` yellow, `r` red).
//! - **Stage** (phase) — a set of signal groups that are green together, with **min green**,
//!   **max green**, **yellow** (change interval, ≥ 3 s), **all-red** (red clearance), and
//!   pedestrian **walk** and **clearance** times.
//! - **Cycle** — the time to serve every stage of a plan once, seconds.
//! - **Split** — a stage's share of the cycle: green + yellow + all-red, seconds.
//! - **Offset** — when an intersection's cycle starts relative to the common time reference
//!   (`0 ≤ offset < cycle`); offsets between neighbours make a **green wave**.
//! - **Corridor** — an arterial of intersections coordinated with a common cycle and offsets.
//! - **Degree of saturation** — flow ÷ capacity of a movement (capacity = saturation flow ×
//!   green ÷ cycle).
//! - **Detector** — an inductive loop on a lane: *stop-bar* at the stop line, or *advance*
//!   upstream. Reports counts, occupancy and speed per interval.
//! - **Camera** — watches a zone of some lanes: queues, counts, vehicle positions and speeds.
//! - **Field controller** — the cabinet controller of an intersection, reached over Modbus TCP
//!   at a host, port and unit id.
//!
//! ## Layout
//! [`ids`] typed ids · [`geometry`] · [`model`] the network ([`RoadNet`]) and its queries ·
//! [`signal`] stages, plans and the plan validator ([`SignalPlan::validate`]) · [`sensors`]
//! detector/camera config and observations · [`control`] the [`Controller`] trait both the
//! simulator and the field link drive · [`demand`] trips to replay · [`counts`] count-CSV replay · [`config`]
//! `intersections.toml` · [`cityflow`] CityFlow JSON · [`error`].

mod builder;
pub mod cityflow;
pub mod config;
pub mod control;
pub mod counts;
pub mod demand;
pub mod error;
pub mod geometry;
pub mod ids;
pub mod model;
pub mod rng;
pub mod sensors;
pub mod signal;
pub mod summary;

pub use control::{Command, Controller, Interval, SignalState, StepInput};
pub use demand::{Demand, Trip, VehicleParams};
pub use error::{ErrorKind, LoadError};
pub use geometry::Point;
pub use ids::*;
pub use model::*;
pub use sensors::*;
pub use signal::*;
pub use summary::Summary;

/// Load a network from a path, choosing the format by extension (`.toml` or `.json`).
pub fn load_network(path: &std::path::Path) -> Result<RoadNet, LoadError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => cityflow::load_roadnet(path),
        Some("toml") => config::load_toml(path),
        _ => Err(LoadError::new(
            ErrorKind::Io,
            "unknown network format: expected an intersections .toml or a CityFlow roadnet .json",
        )
        .in_file(&path.display().to_string())),
    }
}
