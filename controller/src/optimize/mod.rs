//! The optimizer, in layers. Every plan any layer emits has passed [`roadnet::SignalPlan::validate`].
//!
//! - [`webster`] — Webster's cycle, split and delay formulas;
//! - [`intersection`] — per-intersection cycle and splits from the estimated demand
//!   (degree-of-saturation balancing within min/max greens), stage skipping, queue-aware gating;
//! - [`maxband`] — the exact two-way bandwidth MILP (MAXBAND) behind the corridor offsets;
//! - [`corridor`] — a common cycle per coordinated corridor and MAXBAND offsets that
//!   maximise the two-way green band;
//! - [`actuation`] — in-cycle extension and early termination that keep the force-off points;
//! - [`transition`] — bounded steps from the running plan to a new one;
//! - [`tsd`] — the time-space diagram (SVG) of a corridor plan.

pub mod actuation;
pub mod corridor;
pub mod intersection;
pub mod maxband;
pub mod transition;
pub mod tsd;
pub mod webster;
