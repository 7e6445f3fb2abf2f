//! # roadnet — greenwave's lane-level ("holographic") road and signal model
//!
//! Pure and deterministic: no I/O beyond reading its input formats, no clocks, no randomness.
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
//! - **Timing engine** — [`timing::Runner`]: runs one intersection's lamps on integer
//!   deciseconds from plans, stage requests and flash; the simulator and the field emulator
//!   both run it, so its transition rules (stage boundaries, bounded offset walk, force-off +
//!   call, start-up) are decided once.
//!
//! ## Layout
//! [`ids`] typed ids · [`geometry`] · [`model`] the network ([`RoadNet`]) and its queries ·
//! [`signal`] stages, plans and the plan validator ([`SignalPlan::validate`]) · [`sensors`]
//! detector/camera config and observations · [`control`] the [`Controller`] trait both the
//! simulator and the field link drive · [`timing`] the one signal-timing engine · [`demand`] trips to replay · [`counts`] count-CSV replay · [`routing`] free-flow routes avoiding banned turns and closed roads · [`config`]
//! `intersections.toml` · [`cityflow`] CityFlow JSON · [`sumo`] SUMO `.net.xml` · [`error`].
//!
//! ## SUMO terms (see [`sumo`] and `docs/sumo.md`)
//! - **Edge** — SUMO's road; its **lanes** count from the kerb (index 0), ours from the centre.
//!   *Internal* edges/lanes (ids starting with `:`) are the paths through a junction.
//! - **Junction** — SUMO's node (`traffic_light`, `priority`, `dead_end`, …).
//! - **Connection** — one lane-to-lane link through a junction, with its turn `dir` and, when
//!   signalized, the `tl` (traffic light) and `linkIndex` (its letter in each state string).
//! - **tlLogic** — a traffic light's program: a cycle of **phases**, each a `duration` and a
//!   `state` string with one letter per link index (`G`, `g`, `y`, `r`, …); actuated programs
//!   add `minDur`/`maxDur`. A run of green phases becomes one of our stages.

mod builder;
pub mod cityflow;
pub mod config;
pub mod control;
pub mod counts;
pub mod demand;
pub mod error;
pub mod geometry;
pub mod ids;
pub mod input;
pub mod model;
pub mod rng;
pub mod routing;
pub mod sensors;
pub mod signal;
pub mod summary;
pub mod sumo;
pub mod timing;

pub use control::{Command, Controller, Interval, SignalState, StepInput};
pub use demand::{Demand, Trip, VehicleParams};
pub use error::{ErrorKind, LoadError};
pub use geometry::Point;
pub use ids::*;
pub use model::*;
pub use sensors::*;
pub use signal::*;
pub use summary::Summary;

/// Load a network from a path, choosing the format by extension (`.toml`, `.json`, or a SUMO
/// `.net.xml`/`.xml`).
pub fn load_network(path: &std::path::Path) -> Result<RoadNet, LoadError> {
    load_network_with_notes(path).map(|(net, _)| net)
}

/// [`load_network`], plus one line per input element the model cannot represent (only SUMO
/// networks have such notes so far).
pub fn load_network_with_notes(
    path: &std::path::Path,
) -> Result<(RoadNet, Vec<String>), LoadError> {
    if sumo::is_sumo_path(path) {
        return sumo::load(path).map(|s| (s.net, s.notes));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => cityflow::load_roadnet(path).map(|n| (n, vec![])),
        Some("toml") => config::load_toml(path).map(|n| (n, vec![])),
        _ => Err(LoadError::new(
            ErrorKind::Io,
            "unknown network format: expected an intersections .toml, a CityFlow roadnet .json or a SUMO .net.xml",
        )
        .in_file(&path.display().to_string())),
    }
}
