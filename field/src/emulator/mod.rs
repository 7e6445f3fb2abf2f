//! The field side, emulated: what runs in the cabinet at each intersection.
//!
//! - [`clock`] — real or manual time in deciseconds;
//! - [`runner`] — the signal timing engine ([`roadnet::timing`], shared with the simulator:
//!   stage boundaries, change intervals, offset transitions, stage requests, the conflict
//!   matrix) and the field's plans for it (local plan, accepted registers);
//! - [`unit`](mod@unit) — one field controller: registers, commit checks, watchdog, detectors;
//! - [`server`] — Modbus TCP servers routing requests to units by unit id;
//! - [`limits`] — what bounds each server: connections, idle and frame timeouts, request rate.

pub mod clock;
pub mod limits;
pub mod runner;
pub mod server;
pub mod unit;

pub use clock::{Clock, Ds, ManualClock, SystemClock};
pub use server::{FieldEmulator, UnitService};
pub use unit::{CounterSource, DetectorSource, FieldUnit, IdleSource};
