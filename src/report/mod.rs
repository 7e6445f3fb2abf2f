//! What greenwave writes for people: comparison tables, metrics files and SVG charts.

pub(crate) mod charts;
pub(crate) mod table;
pub(crate) mod trajectories;
