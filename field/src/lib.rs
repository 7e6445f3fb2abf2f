//! # field — greenwave's Modbus TCP field link (register map v1, `docs/modbus.md`)
//!
//! The link between a central [`roadnet::Controller`] and the field controllers in the street
//! cabinets, and an emulator of those field controllers. It lives apart from `controller` so
//! that the simulator and the optimizers build without tokio: the dependency runs
//! `field → controller → roadnet`, never back. From `controller` it takes only the one
//! base-plan builder, [`controller::baseline::base_plan`] (the field's local plan is the
//! simulator's native plan).
//!
//! ## Layout
//! - [`protocol`] — shared by both ends: register map ([`protocol::regmap`]), the pure codec
//!   ([`protocol::codec`]), the error types ([`protocol::error`]: transport failures apart from
//!   device answers) and the one runtime address [`Endpoint`];
//! - [`security`] — Modbus/TCP Security: the TLS configurations of both ends (mutual X.509
//!   authentication), the role a client certificate carries ([`security::Role`]), and
//!   certificates made with `rcgen` ([`security::throwaway_pki`] for the demo and the tests);
//! - [`central`] (feature `central`) — the client pool ([`central::client`]) and the daemon
//!   ([`central::daemon`]) that drives any controller over the link;
//! - [`emulator`] (feature `emulator`) — emulated field controllers: clock, the field's plans
//!   for the shared timing engine ([`emulator::runner`]), one unit ([`emulator::unit`]), the Modbus servers
//!   ([`emulator::server`]);
//! - [`perception`] (feature `mqtt`; `broker` adds an embedded broker) — camera and radar
//!   frames over MQTT into the daemon (`docs/perception.md`);
//! - [`bench`](mod@bench) (both features) — a loopback fleet and a timed plan push, shared by the
//!   criterion bench and `greenwave field --bench-push`.
//!
//! Both features are on by default; a central-only build (`default-features = false,
//! features = ["central"]`) does not compile the emulator or tokio-modbus's server.
//!
//! ## Glossary
//! - **Register** — one 16-bit Modbus word. Holding registers (FC 03 read, FC 06/16 write)
//!   carry what the central sets (plan, heartbeat, stage request); input registers (FC 04)
//!   what the field reports (status, detector counts). Times are deciseconds.
//! - **Unit id** — the Modbus address of one field controller behind a `host:port`
//!   ([`Endpoint`]); one emulated port serves several intersections, one per unit id.
//! - **Commit** — writing the low word of the plan's sequence number to
//!   [`protocol::regmap::hr::COMMIT`] after the plan area: the field checks the checksum and
//!   every safety rule, then accepts the plan (it starts at a stage boundary) or refuses it with
//!   a [`RejectCode`].
//! - **Watchdog** (`unitBackupTime`, [`protocol::regmap::hr::UNIT_BACKUP_TIME_S`]) — the
//!   longest the field waits for a heartbeat from the central; past it, it runs its local plan.
//! - **Stage request** — [`protocol::regmap::hr::STAGE_REQUEST`]: a central's call for a
//!   stage, served once the field's own minimum green allows (NTCIP force-off + call).
//! - **Timing engine** — [`emulator::runner`] runs [`roadnet::timing::Runner`], the one engine
//!   the simulator (`sim::Signals`) runs too, so a field controller and the simulator given the
//!   same plans and requests show the same lamps (`tests/field_sim_lamps.rs`).
//! - **Fallback / local plan** — the plan the field runs by itself (at start-up, when the
//!   central falls silent, or when set to FREE): the intersection's base plan.

pub mod protocol;
pub mod security;

#[cfg(feature = "central")]
pub mod central;

#[cfg(feature = "emulator")]
pub mod emulator;

#[cfg(feature = "mqtt")]
pub mod perception;

#[cfg(all(feature = "central", feature = "emulator"))]
pub mod bench;

pub use protocol::{
    DeviceError, Endpoint, FieldStatus, LinkError, PlanRegisters, RejectCode, TransportError,
    WrapCounter,
};

#[cfg(feature = "central")]
pub use central::{ClientPool, FieldLink, LinkConfig};

#[cfg(feature = "emulator")]
pub use emulator::{
    Clock, CounterSource, DetectorSource, Ds, FieldEmulator, FieldUnit, IdleSource, ManualClock,
    SystemClock, UnitService,
};
