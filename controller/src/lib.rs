//! # controller — greenwave's signal control
//!
//! Everything that decides what the lamps show. Synchronous, with no async runtime: the link
//! that carries a plan to the field is the `field` crate, which depends on this one.
//! The data flow, folder by folder: detector and camera readings ([`roadnet::StepInput`]) →
//! [`estimate`] (live traffic state, detector fault detection) → [`optimize`] (intersection,
//! corridor and in-cycle timing) → [`adaptive`] (the controller that ties them together;
//! its default decision is the schedule-driven [`schedule`]) →
//! a [`roadnet::SignalPlan`] checked by the one validator, `SignalPlan::validate` → a sink: the
//! simulator, or the Modbus field link (crate `field`), whose field controllers validate it again.
//! [`baseline`] holds the reference strategies (native, fixed-time, max-pressure), the one
//! fixed-plan controller [`baseline::FixedPlans`] and the one base-plan builder
//! [`baseline::base_plan`] (the simulator's `native` plan and the field's fallback plan);
//! [`planned`] builds the fair fixed-time baseline a competent engineer would configure.
//!
//! ## Glossary
//! - **Cycle** — time to serve every stage of a plan once, s. **Split** — a stage's share of it
//!   (green + yellow + all-red), s. **Offset** — when an intersection's cycle starts against the
//!   common time reference, `0 ≤ offset < cycle`.
//! - **Stage** — signal groups green together; **movement** — a turn through an intersection.
//! - **Flow ratio** *y* — arrival flow ÷ saturation flow of a movement; a stage's is its busiest
//!   movement's. **Degree of saturation** *x* — flow ÷ capacity (capacity = saturation flow ×
//!   green ÷ cycle). Webster's optimum cycle C₀ = (1.5 L + 5)/(1 − Y), L the lost time, Y = Σ y.
//! - **Green band** — the time window a vehicle at the design speed can travel the corridor
//!   without stopping; MAXBAND maximizes the two bands (outbound + k · inbound).
//! - **Pressure** — vehicles waiting to use a movement minus those queued on its exit road.
//! - **Gap-out / force-off** — ending a green early when its queue has cleared / at the point
//!   the plan's coordination requires.
//! - **Base plan** — an intersection's configured stages with their base greens: what the
//!   simulator runs as `native` and what a field controller falls back to on its own (the field
//!   link's own terms — stage request, watchdog, commit — are in the `field` crate).

pub mod adaptive;
pub mod baseline;
pub mod estimate;
pub mod faults;
pub mod optimize;
pub mod planned;
pub mod schedule;

/// Whether a strategy reads individual vehicle tracks from the cameras (the simulator then has
/// to produce them; they cost time, so runs of the other strategies leave them off).
pub fn needs_vehicle_tracking(control: &str) -> bool {
    matches!(control, "adaptive" | "pressure")
}
