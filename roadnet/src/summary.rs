//! The counts `greenwave check` reports.

use crate::model::{IntersectionKind, RoadNet};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub name: String,
    pub intersections: usize,
    pub signalized_intersections: usize,
    pub boundary_nodes: usize,
    pub roads: usize,
    pub lanes: usize,
    pub movements: usize,
    pub conflicts: usize,
    pub signal_groups: usize,
    pub stages: usize,
    pub detectors: usize,
    pub cameras: usize,
    pub corridors: usize,
    pub field_controllers: usize,
}

impl Summary {
    pub fn of(net: &RoadNet) -> Summary {
        Summary {
            name: net.name.clone(),
            intersections: net.intersections.len(),
            signalized_intersections: net.signalized().count(),
            boundary_nodes: net
                .intersections
                .iter()
                .filter(|i| i.kind == IntersectionKind::Boundary)
                .count(),
            roads: net.roads.len(),
            lanes: net.lanes.len(),
            movements: net.movements.len(),
            conflicts: net.conflict_count(),
            signal_groups: net.signal_groups.len(),
            stages: net.stages.len(),
            detectors: net.detectors.len(),
            cameras: net.cameras.len(),
            corridors: net.corridors.len(),
            field_controllers: net
                .intersections
                .iter()
                .filter(|i| i.controller.is_some())
                .count(),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "network {}: OK", self.name)?;
        let rows = [
            ("signalized intersections", self.signalized_intersections),
            (
                "other intersections",
                self.intersections - self.signalized_intersections - self.boundary_nodes,
            ),
            ("boundary nodes", self.boundary_nodes),
            ("roads", self.roads),
            ("lanes", self.lanes),
            ("movements", self.movements),
            ("conflicts", self.conflicts),
            ("signal groups", self.signal_groups),
            ("stages", self.stages),
            ("detectors", self.detectors),
            ("cameras", self.cameras),
            ("corridors", self.corridors),
            ("field controllers", self.field_controllers),
        ];
        for (k, v) in rows {
            writeln!(f, "  {k:<26}{v:>6}")?;
        }
        Ok(())
    }
}
