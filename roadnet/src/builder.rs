//! Assembles a [`RoadNet`] from loader-neutral specs: computes lane and connector geometry,
//! derives movements and conflicts, and runs the validation every loader shares.

use crate::error::{ErrorKind, LoadError, Origin};
use crate::geometry::{self, Point};
use crate::ids::*;
use crate::model::*;
use crate::sensors::{Camera, Detector, DetectorKind};
use crate::signal::{check_limits, stage_conflict, PlanRule, SignalGroup, Stage, StageLimits};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, LoadError>;

pub(crate) struct LaneSpec {
    pub width_m: f64,
    pub speed_limit_m_s: f64,
    pub turns: Vec<TurnKind>,
    /// A pocket: only the last `length_m` before the stop line.
    pub length_m: Option<f64>,
}

/// A movement with its lane links given explicitly (lane indices, optional shape).
pub(crate) struct LinkSpec {
    pub from_index: usize,
    pub to_index: usize,
    pub points: Option<Vec<Point>>,
    /// Traces the movement's design path (conflicts are derived from these).
    pub primary: bool,
}

pub(crate) struct Builder {
    name: String,
    intersections: Vec<Intersection>,
    roads: Vec<Road>,
    lanes: Vec<Lane>,
    movements: Vec<Movement>,
    groups: Vec<SignalGroup>,
    stages: Vec<Stage>,
    detectors: Vec<Detector>,
    cameras: Vec<Camera>,
    corridors: Vec<Corridor>,
    origins: BTreeMap<String, Origin>,
    conflict_overrides: Vec<(MovementId, MovementId, Option<ConflictKind>, Origin)>,
}

fn origin_key(kind: &str, index: usize) -> String {
    format!("{kind}/{index}")
}

fn finite_positive(v: f64, what: &str, origin: &Origin) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(LoadError::new(
            ErrorKind::BadValue,
            format!(
                "{what} must be a positive number, got {}",
                crate::signal::short_number(v)
            ),
        )
        .at(origin))
    }
}

/// Physical ranges of the road model: a value outside is a unit mix-up or a typo, refused by
/// every loader (TOML, CityFlow, SUMO) with its unit.
pub(crate) mod sense {
    /// Lane width, m: a bicycle lane is about 1 m, a wide truck lane 4.5 m.
    pub(crate) const LANE_WIDTH_M: (f64, f64) = (0.5, 10.0);
    /// Speed limit, m/s: up to 70 m/s (252 km/h) — above any posted limit.
    pub(crate) const SPEED_M_S: (f64, f64) = (0.0, 70.0);
    /// Lane or road length, m: up to 100 km between two nodes.
    pub(crate) const LENGTH_M: (f64, f64) = (0.0, 100_000.0);
}

/// `v` in `(lo, hi]`, with its unit in the message.
fn in_range(v: f64, (lo, hi): (f64, f64), what: &str, unit: &str, origin: &Origin) -> Result<()> {
    if v.is_finite() && v > lo && v <= hi {
        Ok(())
    } else {
        Err(LoadError::new(
            ErrorKind::BadValue,
            format!(
                "{what} must be in ({lo}, {hi}] {unit}, got {}",
                crate::signal::short_number(v)
            ),
        )
        .at(origin))
    }
}

impl Builder {
    pub(crate) fn new(name: impl Into<String>) -> Builder {
        Builder {
            name: name.into(),
            intersections: Vec::new(),
            roads: Vec::new(),
            lanes: Vec::new(),
            movements: Vec::new(),
            groups: Vec::new(),
            stages: Vec::new(),
            detectors: Vec::new(),
            cameras: Vec::new(),
            corridors: Vec::new(),
            origins: BTreeMap::new(),
            conflict_overrides: Vec::new(),
        }
    }

    fn origin(&self, kind: &str, index: usize) -> Origin {
        self.origins
            .get(&origin_key(kind, index))
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn add_intersection(
        &mut self,
        name: String,
        kind: IntersectionKind,
        point: Point,
        width_m: f64,
        controller: Option<FieldEndpoint>,
        origin: Origin,
    ) -> Result<IntersectionId> {
        if !(point.x_m.is_finite() && point.y_m.is_finite()) {
            return Err(
                LoadError::new(ErrorKind::BadValue, "coordinates must be finite").at(&origin),
            );
        }
        if !(width_m.is_finite() && width_m >= 0.0) {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("width_m must be ≥ 0, got {width_m}"),
            )
            .at(&origin));
        }
        if let Some(c) = &controller {
            if c.port == 0 {
                return Err(
                    LoadError::new(ErrorKind::BadValue, "controller port must be 1–65535")
                        .at(&origin),
                );
            }
            if c.host.trim().is_empty() {
                return Err(
                    LoadError::new(ErrorKind::BadValue, "controller host is empty").at(&origin),
                );
            }
        }
        let id = IntersectionId::from_index(self.intersections.len());
        self.origins
            .insert(origin_key("intersection", id.index()), origin);
        self.intersections.push(Intersection {
            id,
            name,
            kind,
            point,
            width_m,
            incoming: vec![],
            outgoing: vec![],
            movements: vec![],
            conflicts: vec![],
            signal_groups: vec![],
            stages: vec![],
            clearance_stage: None,
            controller,
        });
        Ok(id)
    }

    pub(crate) fn intersection(&self, id: IntersectionId) -> &Intersection {
        &self.intersections[id.index()]
    }
    pub(crate) fn road(&self, id: RoadId) -> &Road {
        &self.roads[id.index()]
    }
    pub(crate) fn lane_of(&self, road: RoadId, index: usize) -> Option<LaneId> {
        self.roads[road.index()].lanes.get(index).copied()
    }
    pub(crate) fn lane_length(&self, lane: LaneId) -> f64 {
        self.lanes[lane.index()].length_m
    }
    pub(crate) fn movements_of(&self, i: IntersectionId) -> &[MovementId] {
        &self.intersections[i.index()].movements
    }
    pub(crate) fn movement(&self, m: MovementId) -> &Movement {
        &self.movements[m.index()]
    }

    /// Add a road; `points` default to the straight line between the intersections' centres.
    pub(crate) fn add_road(
        &mut self,
        name: String,
        from: IntersectionId,
        to: IntersectionId,
        points: Option<Vec<Point>>,
        lanes: Vec<LaneSpec>,
        origin: Origin,
    ) -> Result<RoadId> {
        if from == to {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("road '{name}' starts and ends at the same intersection"),
            )
            .at(&origin));
        }
        if lanes.is_empty() {
            return Err(
                LoadError::new(ErrorKind::BadValue, format!("road '{name}' has no lanes"))
                    .at(&origin),
            );
        }
        if lanes.len() > 16 {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("road '{name}' has {} lanes; at most 16", lanes.len()),
            )
            .at(&origin));
        }
        let points = points
            .unwrap_or_else(|| vec![self.intersection(from).point, self.intersection(to).point]);
        if points.len() < 2
            || points
                .iter()
                .any(|p| !(p.x_m.is_finite() && p.y_m.is_finite()))
        {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("road '{name}' needs at least two finite points"),
            )
            .at(&origin));
        }
        let id = RoadId::from_index(self.roads.len());
        let (w_from, w_to) = (
            self.intersection(from).width_m,
            self.intersection(to).width_m,
        );
        let mut lane_ids = Vec::with_capacity(lanes.len());
        let mut offset = 0.0;
        for (k, spec) in lanes.iter().enumerate() {
            in_range(
                spec.width_m,
                sense::LANE_WIDTH_M,
                &format!("road '{name}' lane {k} width_m"),
                "m",
                &origin,
            )?;
            in_range(
                spec.speed_limit_m_s,
                sense::SPEED_M_S,
                &format!("road '{name}' lane {k} speed_limit_m_s"),
                "m/s",
                &origin,
            )?;
            let centre = geometry::offset_right(&points, offset + spec.width_m / 2.0);
            offset += spec.width_m;
            let full = geometry::trim(&centre, w_from, w_to);
            let full_len = geometry::polyline_length(&full);
            in_range(
                full_len,
                (f64::MIN, sense::LENGTH_M.1),
                &format!("road '{name}' length"),
                "m",
                &origin,
            )?;
            if full_len < 1.0 {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!("road '{name}' is shorter than its intersections' widths ({:.1} m of lane left)", full_len),
                ).at(&origin));
            }
            // A pocket keeps the lane's full geometry in the model: vehicles choose it at the
            // upstream intersection (no lane change is needed to reach it) and `pocket_m` records
            // the storage the real pocket offers, for spillback checks and drawings.
            if let Some(l) = spec.length_m {
                in_range(
                    l,
                    sense::LENGTH_M,
                    &format!("road '{name}' lane {k} length_m"),
                    "m",
                    &origin,
                )?;
                if l > full_len + 1e-6 {
                    return Err(LoadError::new(ErrorKind::BadValue, format!("road '{name}' lane {k}: pocket length {l} m exceeds the road's {full_len:.1} m")).at(&origin));
                }
            }
            let pts = full;
            let lid = LaneId::from_index(self.lanes.len());
            self.lanes.push(Lane {
                id: lid,
                road: id,
                index: k as u8,
                width_m: spec.width_m,
                speed_limit_m_s: spec.speed_limit_m_s,
                length_m: geometry::polyline_length(&pts),
                points: pts,
                turns: spec.turns.clone(),
                pocket_m: spec.length_m,
                feeds: vec![],
            });
            lane_ids.push(lid);
        }
        self.origins.insert(origin_key("road", id.index()), origin);
        self.roads.push(Road {
            id,
            name,
            from,
            to,
            points,
            lanes: lane_ids,
        });
        self.intersections[from.index()].outgoing.push(id);
        self.intersections[to.index()].incoming.push(id);
        Ok(id)
    }

    fn lane_end_heading(&self, lane: LaneId) -> (Point, f64) {
        let p = &self.lanes[lane.index()].points;
        (
            p[p.len() - 1],
            geometry::heading(p[p.len() - 2], p[p.len() - 1]),
        )
    }
    fn lane_start_heading(&self, lane: LaneId) -> (Point, f64) {
        let p = &self.lanes[lane.index()].points;
        (p[0], geometry::heading(p[0], p[1]))
    }

    /// The turn from `from` onto `to`, judged from the roads' headings.
    pub(crate) fn turn_between(&self, from: RoadId, to: RoadId) -> TurnKind {
        let a = &self.roads[from.index()].points;
        let b = &self.roads[to.index()].points;
        let h_in = geometry::heading(a[a.len() - 2], a[a.len() - 1]);
        let h_out = geometry::heading(b[0], b[1]);
        TurnKind::from_headings(h_in, h_out)
    }

    /// Add a movement with explicit lane links. `turn` defaults to the geometric turn.
    pub(crate) fn add_movement(
        &mut self,
        from: RoadId,
        to: RoadId,
        turn: Option<TurnKind>,
        links: Vec<LinkSpec>,
        origin: Origin,
    ) -> Result<MovementId> {
        let at = self.roads[from.index()].to;
        if self.roads[to.index()].from != at {
            return Err(LoadError::new(
                ErrorKind::RouteNotConnected,
                format!(
                    "movement from road '{}' to road '{}': the first ends at '{}' but the second starts at '{}'",
                    self.roads[from.index()].name,
                    self.roads[to.index()].name,
                    self.intersections[at.index()].name,
                    self.intersections[self.roads[to.index()].from.index()].name
                ),
            ).at(&origin));
        }
        if links.is_empty() {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                "a movement needs at least one lane link",
            )
            .at(&origin));
        }
        let id = MovementId::from_index(self.movements.len());
        let mut lane_links = Vec::with_capacity(links.len());
        for l in links {
            let (Some(fl), Some(tl)) = (
                self.lane_of(from, l.from_index),
                self.lane_of(to, l.to_index),
            ) else {
                return Err(LoadError::new(
                    ErrorKind::UnknownReference,
                    format!(
                        "lane link {}→{}: road '{}' has {} lanes and road '{}' has {}",
                        l.from_index,
                        l.to_index,
                        self.roads[from.index()].name,
                        self.roads[from.index()].lanes.len(),
                        self.roads[to.index()].name,
                        self.roads[to.index()].lanes.len()
                    ),
                )
                .at(&origin));
            };
            let points = match l.points {
                Some(p)
                    if p.len() >= 2 && p.iter().all(|q| q.x_m.is_finite() && q.y_m.is_finite()) =>
                {
                    p
                }
                Some(_) => {
                    return Err(LoadError::new(
                        ErrorKind::BadValue,
                        "a lane link shape needs at least two finite points",
                    )
                    .at(&origin))
                }
                None => {
                    let (a, ha) = self.lane_end_heading(fl);
                    let (b, hb) = self.lane_start_heading(tl);
                    geometry::connector(a, ha, b, hb)
                }
            };
            let length_m = geometry::polyline_length(&points).max(0.1);
            lane_links.push(LaneLink {
                from_lane: fl,
                to_lane: tl,
                points,
                length_m,
                primary: l.primary,
            });
            if !self.lanes[fl.index()].feeds.contains(&id) {
                self.lanes[fl.index()].feeds.push(id);
            }
        }
        let turn = turn.unwrap_or_else(|| self.turn_between(from, to));
        self.origins
            .insert(origin_key("movement", id.index()), origin);
        self.movements.push(Movement {
            id,
            intersection: at,
            from_road: from,
            to_road: to,
            turn,
            links: lane_links,
            signal_group: None,
        });
        self.intersections[at.index()].movements.push(id);
        Ok(id)
    }

    /// Derive the movements of every non-boundary intersection from the turns painted on the
    /// approach lanes: for each approach lane's turn, the exit road in that direction.
    pub(crate) fn derive_movements_from_turns(
        &mut self,
        origin_of_road: impl Fn(RoadId) -> Origin,
    ) -> Result<()> {
        for i in 0..self.intersections.len() {
            if self.intersections[i].kind == IntersectionKind::Boundary {
                continue;
            }
            let incoming = self.intersections[i].incoming.clone();
            let outgoing = self.intersections[i].outgoing.clone();
            for &r in &incoming {
                let mut used = Vec::new();
                for kind in [
                    TurnKind::Left,
                    TurnKind::Through,
                    TurnKind::Right,
                    TurnKind::UTurn,
                ] {
                    let lanes: Vec<usize> = self.roads[r.index()]
                        .lanes
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| self.lanes[l.index()].turns.contains(&kind))
                        .map(|(k, _)| k)
                        .collect();
                    if lanes.is_empty() {
                        continue;
                    }
                    let candidates: Vec<RoadId> = outgoing
                        .iter()
                        .copied()
                        .filter(|&o| {
                            let back = self.roads[o.index()].to == self.roads[r.index()].from;
                            let t = self.turn_between(r, o);
                            t == kind && (kind == TurnKind::UTurn || !back)
                        })
                        .collect();
                    let exit = match candidates.as_slice() {
                        [one] => *one,
                        [] => {
                            return Err(LoadError::new(
                                ErrorKind::LaneWithoutExit,
                                format!(
                                    "road '{}' has a lane marked {:?} at '{}' but no road leaves in that direction",
                                    self.roads[r.index()].name,
                                    kind,
                                    self.intersections[i].name
                                ),
                            ).at(&origin_of_road(r)))
                        }
                        several => {
                            let names: Vec<_> = several.iter().map(|o| self.roads[o.index()].name.clone()).collect();
                            return Err(LoadError::new(
                                ErrorKind::BadValue,
                                format!(
                                    "road '{}' turning {:?} at '{}' could take any of {:?}; give each exit a distinct direction",
                                    self.roads[r.index()].name, kind, self.intersections[i].name, names
                                ),
                            ).at(&origin_of_road(r)));
                        }
                    };
                    if used.contains(&exit) {
                        continue;
                    }
                    used.push(exit);
                    let m = self.roads[exit.index()].lanes.len();
                    // Each lane with the turn may enter any lane of the exit (vehicles pick the
                    // one that serves their next turn); the design path pairs the k-th such lane
                    // with the exit's k-th lane from the inner side (from the kerb for rights).
                    let mut links = Vec::new();
                    for (rank, &from_index) in lanes.iter().enumerate() {
                        let design = match kind {
                            TurnKind::Right => (m - 1).saturating_sub(lanes.len() - 1 - rank),
                            _ => rank.min(m - 1),
                        };
                        for to_index in 0..m {
                            links.push(LinkSpec {
                                from_index,
                                to_index,
                                points: None,
                                primary: to_index == design,
                            });
                        }
                    }
                    self.add_movement(r, exit, Some(kind), links, origin_of_road(r))?;
                }
            }
        }
        Ok(())
    }

    pub(crate) fn add_signal_group(
        &mut self,
        intersection: IntersectionId,
        name: String,
        movements: Vec<MovementId>,
        permissive: bool,
        origin: &Origin,
    ) -> Result<SignalGroupId> {
        let id = SignalGroupId::from_index(self.groups.len());
        for &m in &movements {
            let mv = &self.movements[m.index()];
            if mv.intersection != intersection {
                return Err(LoadError::new(
                    ErrorKind::UnknownReference,
                    format!("signal group '{name}' lists a movement of another intersection"),
                )
                .at(origin));
            }
            if mv.signal_group == Some(id) {
                // The group being built is not in `self.groups` yet.
                return Err(LoadError::new(
                    ErrorKind::DuplicateId,
                    format!("signal group '{name}' lists the same movement twice"),
                )
                .at(origin));
            }
            if let Some(other) = mv.signal_group {
                return Err(LoadError::new(
                    ErrorKind::DuplicateId,
                    format!(
                        "movement is already in signal group '{}'; a movement belongs to one group",
                        self.groups[other.index()].name
                    ),
                )
                .at(origin));
            }
            self.movements[m.index()].signal_group = Some(id);
        }
        self.groups.push(SignalGroup {
            id,
            intersection,
            name,
            movements,
            permissive,
        });
        self.intersections[intersection.index()]
            .signal_groups
            .push(id);
        Ok(id)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per stage attribute, as each loader reads them"
    )]
    pub(crate) fn add_stage(
        &mut self,
        intersection: IntersectionId,
        name: String,
        groups: Vec<SignalGroupId>,
        limits: StageLimits,
        base_green_s: f64,
        clearance: bool,
        origin: Origin,
    ) -> Result<StageId> {
        let id = StageId::from_index(self.stages.len());
        if let Some((rule, msg)) = check_limits(&limits) {
            let kind = match rule {
                PlanRule::YellowTooShort => ErrorKind::YellowTooShort,
                PlanRule::BadNumber if limits.min_green_s > limits.max_green_s => {
                    ErrorKind::MinGreenAboveMax
                }
                _ => ErrorKind::BadValue,
            };
            return Err(LoadError::new(kind, format!("stage '{name}': {msg}")).at(&origin));
        }
        if !(base_green_s.is_finite() && base_green_s >= 0.0) {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("stage '{name}': green_s must be ≥ 0"),
            )
            .at(&origin));
        }
        // The base plan is the field's fallback: it must itself be a valid plan.
        if !clearance
            && (base_green_s + 1e-9 < limits.shortest_green_s()
                || base_green_s > limits.max_green_s + 1e-9)
        {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!(
                    "stage '{name}': green_s {base_green_s} s lies outside [{:.1}, {:.1}] s (min green, or pedestrian walk + clearance, up to max green)",
                    limits.shortest_green_s(),
                    limits.max_green_s
                ),
            )
            .at(&origin));
        }
        self.origins.insert(origin_key("stage", id.index()), origin);
        self.stages.push(Stage {
            id,
            intersection,
            name,
            groups,
            limits,
            base_green_s,
            clearance,
            in_base_plan: true,
        });
        let inter = &mut self.intersections[intersection.index()];
        inter.stages.push(id);
        if clearance {
            inter.clearance_stage = Some(id);
        }
        Ok(id)
    }

    /// Keep a stage out of the base plan (see [`Stage::in_base_plan`]).
    pub(crate) fn set_in_base_plan(&mut self, stage: StageId, in_base_plan: bool) {
        self.stages[stage.index()].in_base_plan = in_base_plan;
    }

    pub(crate) fn add_detector(
        &mut self,
        name: String,
        lane: LaneId,
        kind: DetectorKind,
        setback_m: f64,
        length_m: f64,
        origin: &Origin,
    ) -> Result<DetectorId> {
        finite_positive(length_m, &format!("detector '{name}' length_m"), origin)?;
        let lane_len = self.lanes[lane.index()].length_m;
        if !(setback_m.is_finite() && setback_m >= 0.0 && setback_m + length_m <= lane_len + 1e-6) {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("detector '{name}': setback_m {setback_m} + length_m {length_m} must lie within the lane's {lane_len:.1} m"),
            ).at(origin));
        }
        let id = DetectorId::from_index(self.detectors.len());
        self.detectors.push(Detector {
            id,
            name,
            lane,
            kind,
            setback_m,
            length_m,
        });
        Ok(id)
    }

    pub(crate) fn add_camera(
        &mut self,
        name: String,
        intersection: Option<IntersectionId>,
        lanes: Vec<LaneId>,
        zone_near_m: f64,
        zone_far_m: f64,
        origin: &Origin,
    ) -> Result<CameraId> {
        if lanes.is_empty() {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("camera '{name}' covers no lane"),
            )
            .at(origin));
        }
        if !(zone_near_m.is_finite()
            && zone_far_m.is_finite()
            && zone_near_m >= 0.0
            && zone_far_m > zone_near_m)
        {
            return Err(LoadError::new(ErrorKind::BadValue, format!("camera '{name}': need 0 ≤ zone_near_m < zone_far_m, got {zone_near_m}, {zone_far_m}")).at(origin));
        }
        let id = CameraId::from_index(self.cameras.len());
        self.cameras.push(Camera {
            id,
            name,
            intersection,
            lanes,
            zone_near_m,
            zone_far_m,
        });
        Ok(id)
    }

    pub(crate) fn add_corridor(
        &mut self,
        name: String,
        intersections: Vec<IntersectionId>,
        design_speed_m_s: Option<f64>,
        origin: &Origin,
    ) -> Result<CorridorId> {
        if intersections.len() < 2 {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                format!("corridor '{name}' needs at least two intersections"),
            )
            .at(origin));
        }
        let mut speed = f64::INFINITY;
        for w in intersections.windows(2) {
            let road = self.roads.iter().find(|r| r.from == w[0] && r.to == w[1]);
            let Some(road) = road else {
                return Err(LoadError::new(
                    ErrorKind::CorridorNotConnected,
                    format!(
                        "corridor '{name}': no road from '{}' to '{}'",
                        self.intersections[w[0].index()].name,
                        self.intersections[w[1].index()].name
                    ),
                )
                .at(origin));
            };
            for l in &road.lanes {
                speed = speed.min(self.lanes[l.index()].speed_limit_m_s);
            }
        }
        let design_speed_m_s = design_speed_m_s.unwrap_or(speed);
        finite_positive(
            design_speed_m_s,
            &format!("corridor '{name}' design_speed_m_s"),
            origin,
        )?;
        let id = CorridorId::from_index(self.corridors.len());
        self.corridors.push(Corridor {
            id,
            name,
            intersections,
            design_speed_m_s,
        });
        Ok(id)
    }

    /// Set (Some) or remove (None) the conflict between two movements, overriding geometry.
    pub(crate) fn override_conflict(
        &mut self,
        a: MovementId,
        b: MovementId,
        kind: Option<ConflictKind>,
        origin: Origin,
    ) {
        self.conflict_overrides.push((a, b, kind, origin));
    }

    /// Derive conflicts, apply overrides, validate, and index the graph.
    pub(crate) fn finish(mut self) -> Result<RoadNet> {
        if self.roads.is_empty() {
            return Err(LoadError::new(
                ErrorKind::BadValue,
                "the network has no road (an empty or unrelated file?)",
            ));
        }
        for i in 0..self.intersections.len() {
            let mvs: Vec<&Movement> = self.intersections[i]
                .movements
                .iter()
                .map(|m| &self.movements[m.index()])
                .collect();
            self.intersections[i].conflicts = derive_conflicts(&mvs);
        }
        for (a, b, kind, origin) in std::mem::take(&mut self.conflict_overrides) {
            let (ma, mb) = (&self.movements[a.index()], &self.movements[b.index()]);
            if ma.intersection != mb.intersection || a == b {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    "a conflict override must name two different movements of one intersection",
                )
                .at(&origin));
            }
            let (x, y) = if a < b { (a, b) } else { (b, a) };
            let list = &mut self.intersections[ma.intersection.index()].conflicts;
            list.retain(|c| !(c.a == x && c.b == y));
            if let Some(kind) = kind {
                list.push(Conflict { a: x, b: y, kind });
                list.sort();
            }
        }
        // Lanes with no way out: every lane that ends at a non-boundary intersection must feed
        // a movement.
        for lane in &self.lanes {
            let road = &self.roads[lane.road.index()];
            let end = &self.intersections[road.to.index()];
            if end.kind != IntersectionKind::Boundary && lane.feeds.is_empty() {
                return Err(LoadError::new(
                    ErrorKind::LaneWithoutExit,
                    format!(
                        "lane {} of road '{}' has no way out at '{}' (no movement starts from it)",
                        lane.index, road.name, end.name
                    ),
                )
                .at(&self.origin("road", road.id.index())));
            }
        }
        let net = RoadNet::assemble(
            self.name,
            self.intersections,
            self.roads,
            self.lanes,
            self.movements,
            self.groups,
            self.stages,
            self.detectors,
            self.cameras,
            self.corridors,
        );
        let origins = self.origins;
        let origin = |kind: &str, index: usize| {
            origins
                .get(&origin_key(kind, index))
                .cloned()
                .unwrap_or_default()
        };
        for inter in net.signalized() {
            let plan_stages: Vec<_> = inter
                .stages
                .iter()
                .filter(|s| !net.stage(**s).clearance)
                .collect();
            if plan_stages.is_empty() {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!("signalized intersection '{}' has no stage", inter.name),
                )
                .at(&origin("intersection", inter.id.index())));
            }
            // the base plan (the field's fallback) runs only the base stages: they alone must
            // serve every movement, or the fallback would starve one
            for &m in &inter.movements {
                if net.movement(m).signal_group.is_none() {
                    continue;
                }
                let served = plan_stages
                    .iter()
                    .any(|s| net.stage(**s).in_base_plan && net.stage_movements(**s).contains(&m));
                let served_anywhere = inter
                    .stages
                    .iter()
                    .any(|s| net.stage_movements(*s).contains(&m));
                if served_anywhere && !served {
                    return Err(LoadError::new(
                        ErrorKind::MovementNeverServed,
                        format!(
                            "movement {} at '{}' is green in no stage of the base plan (every stage serving it has in_base_plan = false)",
                            net.movement_label(m),
                            inter.name
                        ),
                    )
                    .at(&origin("intersection", inter.id.index())));
                }
            }
            for &s in &inter.stages {
                if let Some((a, b)) = stage_conflict(&net, s) {
                    return Err(LoadError::new(
                        ErrorKind::ConflictingGreens,
                        format!(
                            "stage '{}' of '{}' gives green to conflicting movements {} and {}",
                            net.stage(s).name,
                            inter.name,
                            net.movement_label(a),
                            net.movement_label(b)
                        ),
                    )
                    .at(&origin("stage", s.index())));
                }
            }
            for &m in &inter.movements {
                let served = inter
                    .stages
                    .iter()
                    .any(|s| net.stage_movements(*s).contains(&m));
                if !served {
                    return Err(LoadError::new(
                        ErrorKind::MovementNeverServed,
                        format!(
                            "movement {} at '{}' is green in no stage",
                            net.movement_label(m),
                            inter.name
                        ),
                    )
                    .at(&origin("intersection", inter.id.index())));
                }
            }
        }
        Ok(net)
    }
}
