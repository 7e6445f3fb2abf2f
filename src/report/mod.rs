//! What greenwave writes for people: comparison tables, metrics files and SVG charts.

pub mod charts;
pub mod table;
pub mod trajectories;
