pub mod adaptive;
pub mod baseline;
pub mod estimate;
pub mod faults;
pub mod field;
pub mod optimize;
pub mod planned;

/// Whether a strategy reads individual vehicle tracks from the cameras (the simulator then has
/// to produce them; they cost time, so runs of the other strategies leave them off).
pub fn needs_vehicle_tracking(control: &str) -> bool {
    control == "adaptive"
}
