//! The Modbus TCP field link (register map v1, `docs/modbus.md`).
//!
//! - [`regmap`] — addresses, enumerations and reject reason codes;
//! - [`codec`] — pure plan/status/detector ↔ register conversion, CRC-16, wrapping counters;
//! - [`clock`] — real or manual time in deciseconds;
//! - [`runner`] — the field's signal timing engine (stage boundaries, change intervals, offset
//!   transitions) and its conflict matrix;
//! - [`unit`](mod@unit) — one emulated field controller: registers, commit checks, watchdog, detectors;
//! - [`server`] — the emulator: tokio-modbus servers routing by unit id;
//! - [`client`] — the central side: connection pool, timeouts, retries, verified plan push,
//!   detector polling;
//! - [`daemon`] — the central loop driving any [`roadnet::Controller`] over the link.

pub mod bench;
pub mod client;
pub mod clock;
pub mod codec;
pub mod daemon;
pub mod regmap;
pub mod runner;
pub mod server;
pub mod unit;

pub use client::{ClientPool, DeviceError, FieldLink, LinkConfig, LinkError, TransportError};
pub use clock::{Clock, Ds, ManualClock, SystemClock};
pub use codec::{FieldStatus, PlanRegisters, WrapCounter};
pub use regmap::RejectCode;
pub use server::{FieldEmulator, UnitService};
pub use unit::{CounterSource, DetectorSource, FieldUnit, IdleSource};
