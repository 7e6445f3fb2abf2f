//! What both ends of the link agree on, with no I/O of its own besides name resolution:
//!
//! - [`regmap`] — register addresses, enumerations and reject reason codes (map v1);
//! - [`codec`] — plan / status / detector block ↔ registers, CRC-16, wrapping counters, the
//!   one reading of the lamp masks and the detector order;
//! - [`error`](mod@error) — transport failures kept apart from device answers (Modbus
//!   exceptions, refusals, read-back mismatches);
//! - [`endpoint`](mod@endpoint) — the one runtime address of a field controller.

pub mod codec;
pub mod endpoint;
pub mod error;
pub mod regmap;

pub use codec::{CodecError, FieldStatus, PlanRegisters, WrapCounter};
pub use endpoint::Endpoint;
pub use error::{DeviceError, LinkError, TransportError};
pub use regmap::RejectCode;
