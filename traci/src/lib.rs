//! # traci — greenwave drives SUMO over TraCI
//!
//! - [`codec`] — the TraCI wire format as pure functions (message length prefix, command
//!   framing, status responses, type-tagged values, subscription results).
//! - [`client`] — a blocking connection to one SUMO process: start `sumo` with a remote port,
//!   connect, `getVersion`, variable subscriptions, `simulationStep`, traffic-light state set,
//!   `close`; the child process is killed and reaped on every error path.
//! - [`drive`] — the loop: subscriptions → [`roadnet::StepInput`] → any
//!   [`roadnet::Controller`] → greenwave's own signal execution ([`sim::Signals`], with its
//!   conflict monitor) → one `setRedYellowGreenState` per junction whose lamps changed.
//! - [`baseline`] — SUMO on its own with its `static`, `actuated` or `delay_based` logic, on
//!   the same inputs: what greenwave's controllers are compared against.
//! - [`tripinfo`] — SUMO's `--tripinfo-output` summarised.
//!
//! Written from the protocol description on sumo.dlr.de (TraCI/Protocol), no bindings.

pub mod baseline;
pub mod client;
pub mod codec;
pub mod drive;
pub mod tripinfo;

pub use client::{Connection, SumoProcess};
pub use drive::{drive, DriveOptions, DriveOutcome};

/// Everything that can go wrong talking to SUMO, each as one readable line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed TraCI reply: {0}")]
    Codec(#[from] codec::CodecError),
    #[error("SUMO refused command 0x{command:02x}: {message}")]
    Refused { command: u8, message: String },
    #[error("TraCI connection: {0}")]
    Io(String),
    #[error("cannot start SUMO: {0}")]
    Spawn(String),
    #[error("SUMO exited early ({status}); last lines of its log: {log}")]
    SumoDied { status: String, log: String },
    #[error("{0}")]
    Setup(String),
    #[error("signal command refused: {0}")]
    Command(String),
    #[error("safety violation, run stopped before the unsafe state reached SUMO: {0}")]
    Safety(sim::SafetyViolation),
    #[error("tripinfo output: {0}")]
    Tripinfo(String),
}
