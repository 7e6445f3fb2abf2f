//! The lane-level network: intersections, roads, lanes, movements and their conflicts, on a
//! petgraph graph whose nodes are intersections and whose edges are roads.

use crate::geometry::{self, Point};
use crate::ids::*;
use crate::sensors::{Camera, Detector};
use crate::signal::{SignalGroup, Stage};
use petgraph::algo::astar;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::Direction;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an intersection does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntersectionKind {
    /// Controlled by signals and a field controller.
    Signalized,
    /// No signals: movements proceed by priority rules.
    Unsignalized,
    /// The edge of the modelled area: vehicles enter and leave here. No movements.
    Boundary,
}

/// The field controller an intersection answers to (Modbus TCP).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldEndpoint {
    pub host: String,
    pub port: u16,
    pub unit_id: u8,
}

impl fmt::Display for FieldEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} unit {}", self.host, self.port, self.unit_id)
    }
}

/// A node of the network.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Intersection {
    pub id: IntersectionId,
    /// The name used in config files and reports.
    pub name: String,
    pub kind: IntersectionKind,
    pub point: Point,
    /// Size of the intersection box, metres: lanes stop this far from its centre.
    pub width_m: f64,
    /// Roads arriving here (the approaches), in config order.
    pub incoming: Vec<RoadId>,
    /// Roads leaving here.
    pub outgoing: Vec<RoadId>,
    pub movements: Vec<MovementId>,
    /// Pairwise conflicts between this intersection's movements, sorted.
    pub conflicts: Vec<Conflict>,
    pub signal_groups: Vec<SignalGroupId>,
    /// Stages in their base (native) order.
    pub stages: Vec<StageId>,
    /// The stage shown between two stages when the network has one (CityFlow's phase 0).
    pub clearance_stage: Option<StageId>,
    pub controller: Option<FieldEndpoint>,
}

impl Intersection {
    pub fn is_signalized(&self) -> bool {
        self.kind == IntersectionKind::Signalized
    }
}

/// A directed road between two intersections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Road {
    pub id: RoadId,
    pub name: String,
    pub from: IntersectionId,
    pub to: IntersectionId,
    /// Centre line from the start intersection's centre to the end intersection's centre.
    pub points: Vec<Point>,
    /// Lanes from the inner (index 0, next to the centre line) to the outer (kerb) lane.
    pub lanes: Vec<LaneId>,
}

/// One lane of a road, from where it starts to its stop line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lane {
    pub id: LaneId,
    pub road: RoadId,
    /// 0 is the inner lane.
    pub index: u8,
    pub width_m: f64,
    pub speed_limit_m_s: f64,
    /// Usable length, from lane start to the stop line.
    pub length_m: f64,
    /// Centre line of the lane, ending at the stop line.
    pub points: Vec<Point>,
    /// The turns painted on the lane (for pockets and for routing).
    pub turns: Vec<TurnKind>,
    /// A turn pocket's storage length, m: the real lane exists only this far back from the
    /// stop line. The model (and the simulator) keep the lane full length so vehicles can choose
    /// it upstream; optimizers use this to judge spillback.
    #[serde(default)]
    pub pocket_m: Option<f64>,
    /// Movements this lane feeds at the road's end intersection.
    pub feeds: Vec<MovementId>,
}

/// Kind of turn, judged from the angle between the approach and the exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnKind {
    Left,
    Through,
    Right,
    UTurn,
}

impl TurnKind {
    /// Classify a turn from the heading at the end of the approach and at the start of the exit.
    pub fn from_headings(in_heading: f64, out_heading: f64) -> TurnKind {
        let mut d = (out_heading - in_heading).to_degrees();
        while d > 180.0 {
            d -= 360.0;
        }
        while d <= -180.0 {
            d += 360.0;
        }
        if d.abs() > 150.0 {
            TurnKind::UTurn
        } else if d > 30.0 {
            TurnKind::Left
        } else if d < -30.0 {
            TurnKind::Right
        } else {
            TurnKind::Through
        }
    }
    pub fn letter(self) -> char {
        match self {
            TurnKind::Left => 'L',
            TurnKind::Through => 'T',
            TurnKind::Right => 'R',
            TurnKind::UTurn => 'U',
        }
    }
    pub fn from_letter(c: char) -> Option<TurnKind> {
        match c.to_ascii_uppercase() {
            'L' => Some(TurnKind::Left),
            'T' | 'S' => Some(TurnKind::Through),
            'R' => Some(TurnKind::Right),
            'U' => Some(TurnKind::UTurn),
            _ => None,
        }
    }
}

/// A lane-to-lane path through an intersection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LaneLink {
    pub from_lane: LaneId,
    pub to_lane: LaneId,
    pub points: Vec<Point>,
    pub length_m: f64,
    /// Traces the movement's design path; the conflict relation is derived from these links.
    /// (A derived movement may also let vehicles enter other exit lanes.)
    pub primary: bool,
}

/// A turning movement: from one road to another through an intersection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Movement {
    pub id: MovementId,
    pub intersection: IntersectionId,
    pub from_road: RoadId,
    pub to_road: RoadId,
    pub turn: TurnKind,
    pub links: Vec<LaneLink>,
    /// The signal group that controls it (signalized intersections only).
    pub signal_group: Option<SignalGroupId>,
}

/// How two movements of one intersection interfere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Paths cross inside the intersection.
    Crossing,
    /// Paths join into the same exit road.
    Merging,
}

/// A conflicting pair of movements, `a < b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Conflict {
    pub a: MovementId,
    pub b: MovementId,
    pub kind: ConflictKind,
}

/// A named arterial coordinated as one green wave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Corridor {
    pub id: CorridorId,
    pub name: String,
    /// Intersections in order along the corridor's outbound direction.
    pub intersections: Vec<IntersectionId>,
    /// The design speed for the green band, m/s (defaults to the arterial's speed limit).
    pub design_speed_m_s: f64,
}

/// The whole lane-level model. Build it with [`crate::config`] or [`crate::cityflow`]; it is
/// validated on construction and read-only afterwards.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoadNet {
    pub name: String,
    pub intersections: Vec<Intersection>,
    pub roads: Vec<Road>,
    pub lanes: Vec<Lane>,
    pub movements: Vec<Movement>,
    pub signal_groups: Vec<SignalGroup>,
    pub stages: Vec<Stage>,
    pub detectors: Vec<Detector>,
    pub cameras: Vec<Camera>,
    pub corridors: Vec<Corridor>,
    #[serde(skip)]
    graph: StableDiGraph<IntersectionId, RoadId>,
}

impl RoadNet {
    /// Assemble a network from its tables and index it. Callers validate afterwards.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per table of the network, called once by the builder"
    )]
    pub(crate) fn assemble(
        name: String,
        intersections: Vec<Intersection>,
        roads: Vec<Road>,
        lanes: Vec<Lane>,
        movements: Vec<Movement>,
        signal_groups: Vec<SignalGroup>,
        stages: Vec<Stage>,
        detectors: Vec<Detector>,
        cameras: Vec<Camera>,
        corridors: Vec<Corridor>,
    ) -> RoadNet {
        let mut graph = StableDiGraph::with_capacity(intersections.len(), roads.len());
        for i in &intersections {
            graph.add_node(i.id);
        }
        for r in &roads {
            graph.add_edge(
                NodeIndex::new(r.from.index()),
                NodeIndex::new(r.to.index()),
                r.id,
            );
        }
        RoadNet {
            name,
            intersections,
            roads,
            lanes,
            movements,
            signal_groups,
            stages,
            detectors,
            cameras,
            corridors,
            graph,
        }
    }

    pub fn intersection(&self, id: IntersectionId) -> &Intersection {
        &self.intersections[id.index()]
    }
    pub fn road(&self, id: RoadId) -> &Road {
        &self.roads[id.index()]
    }
    pub fn lane(&self, id: LaneId) -> &Lane {
        &self.lanes[id.index()]
    }
    pub fn movement(&self, id: MovementId) -> &Movement {
        &self.movements[id.index()]
    }
    pub fn stage(&self, id: StageId) -> &Stage {
        &self.stages[id.index()]
    }
    pub fn signal_group(&self, id: SignalGroupId) -> &SignalGroup {
        &self.signal_groups[id.index()]
    }

    /// Look an intersection up by its config name.
    pub fn intersection_by_name(&self, name: &str) -> Option<IntersectionId> {
        self.intersections
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.id)
    }
    /// Look a road up by its config name.
    pub fn road_by_name(&self, name: &str) -> Option<RoadId> {
        self.roads.iter().find(|r| r.name == name).map(|r| r.id)
    }
    pub fn corridor_by_name(&self, name: &str) -> Option<&Corridor> {
        self.corridors.iter().find(|c| c.name == name)
    }

    pub fn signalized(&self) -> impl Iterator<Item = &Intersection> {
        self.intersections.iter().filter(|i| i.is_signalized())
    }

    /// Intersections with a road leading into `id`, sorted, without repeats.
    pub fn upstream(&self, id: IntersectionId) -> Vec<IntersectionId> {
        self.neighbours(id, Direction::Incoming)
    }
    /// Intersections reached by a road leaving `id`, sorted, without repeats.
    pub fn downstream(&self, id: IntersectionId) -> Vec<IntersectionId> {
        self.neighbours(id, Direction::Outgoing)
    }
    fn neighbours(&self, id: IntersectionId, dir: Direction) -> Vec<IntersectionId> {
        let mut v: Vec<_> = self
            .graph
            .neighbors_directed(NodeIndex::new(id.index()), dir)
            .map(|n| self.graph[n])
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The road from `a` straight to `b`, if one exists.
    pub fn road_between(&self, a: IntersectionId, b: IntersectionId) -> Option<RoadId> {
        self.graph
            .edges_connecting(NodeIndex::new(a.index()), NodeIndex::new(b.index()))
            .map(|e| *e.weight())
            .min()
    }

    /// Shortest path (by lane length) from intersection `a` to `b`: the roads in order.
    /// `None` when `b` cannot be reached; empty when `a == b`.
    pub fn path(&self, a: IntersectionId, b: IntersectionId) -> Option<Vec<RoadId>> {
        let (_, nodes) = astar(
            &self.graph,
            NodeIndex::new(a.index()),
            |n| n == NodeIndex::new(b.index()),
            |e| self.road_length_m(*e.weight()),
            |_| 0.0,
        )?;
        Some(
            nodes
                .windows(2)
                .map(|w| {
                    self.road_between(self.graph[w[0]], self.graph[w[1]])
                        .expect("consecutive path nodes are joined by a road")
                })
                .collect(),
        )
    }

    /// Length of a road's lanes (its longest lane), metres.
    pub fn road_length_m(&self, road: RoadId) -> f64 {
        self.road(road)
            .lanes
            .iter()
            .map(|l| self.lane(*l).length_m)
            .fold(0.0, f64::max)
    }

    /// The movements given green (or permissive green) by a stage.
    pub fn stage_movements(&self, stage: StageId) -> Vec<MovementId> {
        let mut v: Vec<_> = self
            .stage(stage)
            .groups
            .iter()
            .flat_map(|g| self.signal_group(*g).movements.iter().copied())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Lanes whose vehicles use a movement (its lane links' start lanes), sorted.
    pub fn lanes_feeding(&self, movement: MovementId) -> Vec<LaneId> {
        let mut v: Vec<_> = self
            .movement(movement)
            .links
            .iter()
            .map(|l| l.from_lane)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The movement from `from` onto `to`, if the intersection between them has one.
    pub fn movement_between(&self, from: RoadId, to: RoadId) -> Option<MovementId> {
        let at = self.road(from).to;
        self.intersection(at)
            .movements
            .iter()
            .copied()
            .find(|m| self.movement(*m).from_road == from && self.movement(*m).to_road == to)
    }

    /// How two movements conflict, if they do.
    pub fn conflict(&self, a: MovementId, b: MovementId) -> Option<ConflictKind> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let i = self.intersection(self.movement(a).intersection);
        i.conflicts
            .binary_search_by(|c| (c.a, c.b).cmp(&(a, b)))
            .ok()
            .map(|k| i.conflicts[k].kind)
    }

    /// Total number of conflicting pairs over all intersections.
    pub fn conflict_count(&self) -> usize {
        self.intersections.iter().map(|i| i.conflicts.len()).sum()
    }

    /// Readable label for a movement: `<from road> → <to road> (L)`.
    pub fn movement_label(&self, m: MovementId) -> String {
        let mv = self.movement(m);
        format!(
            "{}->{} ({})",
            self.road(mv.from_road).name,
            self.road(mv.to_road).name,
            mv.turn.letter()
        )
    }
}

/// Derive the conflict relation of one intersection's movements from geometry and turn kinds:
/// movements from the same approach never conflict (they diverge at the stop line); movements
/// into the same exit road merge; otherwise they conflict where any of their lane-link paths cross.
pub fn derive_conflicts(movements: &[&Movement]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (i, a) in movements.iter().enumerate() {
        for b in &movements[i + 1..] {
            if a.from_road == b.from_road {
                continue;
            }
            let kind = if a.to_road == b.to_road {
                Some(ConflictKind::Merging)
            } else if a.links.iter().filter(|l| l.primary).any(|la| {
                b.links
                    .iter()
                    .filter(|l| l.primary)
                    .any(|lb| geometry::polyline_crossing(&la.points, &lb.points).is_some())
            }) {
                Some(ConflictKind::Crossing)
            } else {
                None
            };
            if let Some(kind) = kind {
                let (x, y) = if a.id < b.id {
                    (a.id, b.id)
                } else {
                    (b.id, a.id)
                };
                out.push(Conflict { a: x, b: y, kind });
            }
        }
    }
    out.sort();
    out
}
