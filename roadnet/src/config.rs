//! The `intersections.toml` deployment file (schema documented in `docs/intersections.md`),
//! parsed with spans so every error names a line and column, then built into a [`RoadNet`].

use crate::builder::{Builder, LaneSpec};
use crate::error::{line_col, ErrorKind, LoadError, Origin};
use crate::geometry::Point;
use crate::ids::*;
use crate::model::*;
use crate::sensors::DetectorKind;
use crate::signal::StageLimits;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

type Result<T> = std::result::Result<T, LoadError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    name: Option<String>,
    /// Spanned so that a nonsensical default is refused where it is written, even when every
    /// entry overrides it.
    #[serde(default)]
    defaults: Option<Spanned<Defaults>>,
    #[serde(default)]
    intersection: Vec<IntersectionCfg>,
    #[serde(default)]
    road: Vec<RoadCfg>,
    #[serde(default)]
    detector: Vec<DetectorCfg>,
    #[serde(default)]
    camera: Vec<CameraCfg>,
    #[serde(default)]
    corridor: Vec<CorridorCfg>,
}

/// Values used where an entry leaves a field out.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
struct Defaults {
    lane_width_m: f64,
    speed_limit_m_s: f64,
    intersection_width_m: f64,
    min_green_s: f64,
    max_green_s: f64,
    green_s: f64,
    yellow_s: f64,
    all_red_s: f64,
    ped_walk_s: f64,
    ped_clearance_s: f64,
    detector_length_m: f64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            lane_width_m: 3.5,
            speed_limit_m_s: 13.89,
            intersection_width_m: 20.0,
            min_green_s: 7.0,
            max_green_s: 60.0,
            green_s: 20.0,
            yellow_s: 4.0,
            all_red_s: 2.0,
            ped_walk_s: 0.0,
            ped_clearance_s: 0.0,
            detector_length_m: 2.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntersectionCfg {
    id: Spanned<String>,
    #[serde(default)]
    kind: Option<IntersectionKind>,
    x_m: f64,
    y_m: f64,
    #[serde(default)]
    width_m: Option<f64>,
    #[serde(default)]
    controller: Option<ControllerCfg>,
    #[serde(default)]
    signal_group: Vec<GroupCfg>,
    #[serde(default)]
    stage: Vec<StageCfg>,
    #[serde(default)]
    conflict: Vec<ConflictCfg>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerCfg {
    host: String,
    port: u16,
    unit_id: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupCfg {
    id: Spanned<String>,
    movements: Vec<Spanned<String>>,
    #[serde(default)]
    permissive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageCfg {
    id: Spanned<String>,
    groups: Vec<Spanned<String>>,
    min_green_s: Option<f64>,
    max_green_s: Option<f64>,
    green_s: Option<f64>,
    yellow_s: Option<f64>,
    all_red_s: Option<f64>,
    ped_walk_s: Option<f64>,
    ped_clearance_s: Option<f64>,
    /// `false`: the stage is left out of the base plan (an alternative sequence's stage).
    #[serde(default = "yes")]
    in_base_plan: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ConflictSetting {
    Crossing,
    Merging,
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConflictCfg {
    movements: Spanned<Vec<Spanned<String>>>,
    conflict: ConflictSetting,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoadCfg {
    id: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<String>,
    #[serde(default)]
    points: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    speed_limit_m_s: Option<f64>,
    #[serde(default)]
    lane_width_m: Option<f64>,
    lanes: Vec<LaneCfg>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LaneCfg {
    #[serde(default)]
    turns: Option<Spanned<String>>,
    #[serde(default)]
    length_m: Option<f64>,
    #[serde(default)]
    width_m: Option<f64>,
    #[serde(default)]
    speed_limit_m_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorCfg {
    id: Spanned<String>,
    lane: Spanned<String>,
    kind: DetectorKind,
    #[serde(default)]
    setback_m: f64,
    #[serde(default)]
    length_m: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CameraCfg {
    id: Spanned<String>,
    #[serde(default)]
    intersection: Option<Spanned<String>>,
    lanes: Vec<Spanned<String>>,
    #[serde(default)]
    zone_near_m: f64,
    zone_far_m: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorridorCfg {
    name: Spanned<String>,
    intersections: Vec<Spanned<String>>,
    #[serde(default)]
    design_speed_m_s: Option<f64>,
}

/// Parse and build an `intersections.toml` held in memory. `file` is used in error messages.
pub fn parse_toml(text: &str, file: &str) -> Result<RoadNet> {
    // The TOML parser keeps every key, value and table with its span: about 250 bytes of
    // memory per syntactic element (200,000 small intersections, 1.8 million elements, peaked
    // at 455 MB). Count the elements first — commas, `=`, `[`, `{` and lines, a cheap upper
    // bound — and refuse a file with too many before parsing.
    let elements = text
        .bytes()
        .filter(|b| matches!(b, b',' | b'=' | b'[' | b'{' | b'\n'))
        .count();
    if elements > MAX_TOML_ELEMENTS {
        return Err(LoadError::new(
            ErrorKind::BadValue,
            format!(
                "{elements} TOML elements (keys, values, tables, lines); at most {MAX_TOML_ELEMENTS} are read (one file per region)"
            ),
        )
        .in_file(file));
    }
    let doc: File = toml::from_str(text).map_err(|e| {
        let lc = e.span().map(|s| line_col(text, s.start));
        LoadError {
            kind: ErrorKind::Syntax,
            file: file.into(),
            line_col: lc,
            field: None,
            message: e.message().trim().to_string(),
        }
    })?;
    Loader { text }.build(doc).map_err(|e| e.in_file(file))
}

/// Largest `intersections.toml` read, bytes: the bundled seven-signal corridor takes 33 KiB
/// (the element cap [`MAX_TOML_ELEMENTS`] binds first for files of ordinary density).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Most syntactic elements (commas, `=`, `[`, `{`, lines) in an `intersections.toml`: the
/// bundled seven-signal corridor has 3,935, so this holds about 500 such signals, and the
/// parser's memory for a refused file stays under 100 MB.
pub const MAX_TOML_ELEMENTS: usize = 300_000;

/// Read and build an `intersections.toml`.
pub fn load_toml(path: &std::path::Path) -> Result<RoadNet> {
    let text = crate::input::read_text(path, MAX_FILE_BYTES, "one file per region")?;
    parse_toml(&text, &path.display().to_string())
}

struct Loader<'a> {
    text: &'a str,
}

impl Loader<'_> {
    /// `[defaults]` passes the checks a stage or lane using them would: the same timing
    /// limits (one message for both) and physical ranges.
    fn check_defaults(&self, d: &Spanned<Defaults>) -> Result<()> {
        let o = self.at(d);
        let v = d.get_ref();
        let limits = crate::signal::StageLimits {
            min_green_s: v.min_green_s,
            max_green_s: v.max_green_s,
            yellow_s: v.yellow_s,
            all_red_s: v.all_red_s,
            ped_walk_s: v.ped_walk_s,
            ped_clearance_s: v.ped_clearance_s,
        };
        if let Some((rule, msg)) = crate::signal::check_limits(&limits) {
            let kind = match rule {
                crate::signal::PlanRule::YellowTooShort => ErrorKind::YellowTooShort,
                _ => ErrorKind::BadValue,
            };
            return Err(LoadError::new(kind, format!("[defaults]: {msg}")).at(&o));
        }
        for (value, (lo, hi), what, unit) in [
            (
                v.green_s,
                (0.0, crate::signal::MAX_GREEN_LIMIT_S),
                "green_s",
                "s",
            ),
            (
                v.lane_width_m,
                crate::builder::sense::LANE_WIDTH_M,
                "lane_width_m",
                "m",
            ),
            (
                v.speed_limit_m_s,
                crate::builder::sense::SPEED_M_S,
                "speed_limit_m_s",
                "m/s",
            ),
            (
                v.intersection_width_m,
                crate::builder::sense::LENGTH_M,
                "intersection_width_m",
                "m",
            ),
            (
                v.detector_length_m,
                crate::builder::sense::LENGTH_M,
                "detector_length_m",
                "m",
            ),
        ] {
            // lo itself is allowed only for the green (0 = no base green given)
            let ok = value.is_finite()
                && value <= hi
                && (value > lo || (what == "green_s" && value == lo));
            if !ok {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!(
                        "[defaults]: {what} must be in ({lo}, {hi}] {unit}, got {}",
                        crate::signal::short_number(value)
                    ),
                )
                .at(&o));
            }
        }
        Ok(())
    }

    fn at<T>(&self, s: &Spanned<T>) -> Origin {
        Origin {
            line_col: Some(line_col(self.text, s.span().start)),
            field: None,
        }
    }

    fn unique(
        &self,
        seen: &mut BTreeMap<String, Origin>,
        id: &Spanned<String>,
        what: &str,
    ) -> Result<()> {
        let o = self.at(id);
        if id.get_ref().trim().is_empty() {
            return Err(LoadError::new(ErrorKind::BadValue, format!("{what} id is empty")).at(&o));
        }
        if let Some(prev) = seen.insert(id.get_ref().clone(), o.clone()) {
            let (l, c) = prev.line_col.unwrap_or((0, 0));
            return Err(LoadError::new(
                ErrorKind::DuplicateId,
                format!(
                    "duplicate {what} id '{}' (first defined at line {l}, column {c})",
                    id.get_ref()
                ),
            )
            .at(&o));
        }
        Ok(())
    }

    fn build(&self, doc: File) -> Result<RoadNet> {
        let defaults = match &doc.defaults {
            Some(d) => {
                self.check_defaults(d)?;
                d.get_ref().clone()
            }
            None => Defaults::default(),
        };
        let d = &defaults;
        let mut b = Builder::new(doc.name.clone().unwrap_or_else(|| "network".into()));
        let mut seen = BTreeMap::new();
        let mut inter_ids: BTreeMap<String, IntersectionId> = BTreeMap::new();
        for i in &doc.intersection {
            self.unique(&mut seen, &i.id, "intersection")?;
            let kind = i.kind.unwrap_or(IntersectionKind::Signalized);
            let width = i.width_m.unwrap_or(if kind == IntersectionKind::Boundary {
                0.0
            } else {
                d.intersection_width_m
            });
            let controller = i.controller.as_ref().map(|c| FieldEndpoint {
                host: c.host.clone(),
                port: c.port,
                unit_id: c.unit_id,
            });
            if kind == IntersectionKind::Signalized && controller.is_none() {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!("signalized intersection '{}' names no field controller ([intersection.controller] host, port, unit_id)", i.id.get_ref()),
                )
                .at(&self.at(&i.id)));
            }
            let id = b.add_intersection(
                i.id.get_ref().clone(),
                kind,
                Point::new(i.x_m, i.y_m),
                width,
                controller,
                self.at(&i.id),
            )?;
            inter_ids.insert(i.id.get_ref().clone(), id);
        }
        let find_inter = |s: &Spanned<String>| -> Result<IntersectionId> {
            inter_ids.get(s.get_ref()).copied().ok_or_else(|| {
                LoadError::new(
                    ErrorKind::UnknownReference,
                    format!("unknown intersection '{}'", s.get_ref()),
                )
                .at(&self.at(s))
            })
        };
        let mut seen = BTreeMap::new();
        let mut road_ids: BTreeMap<String, RoadId> = BTreeMap::new();
        let mut road_origin = Vec::new();
        for r in &doc.road {
            self.unique(&mut seen, &r.id, "road")?;
            let from = find_inter(&r.from)?;
            let to = find_inter(&r.to)?;
            let mut lanes = Vec::new();
            for l in &r.lanes {
                let mut turns = Vec::new();
                let Some(turn_text) = &l.turns else {
                    lanes.push(LaneSpec {
                        width_m: l.width_m.or(r.lane_width_m).unwrap_or(d.lane_width_m),
                        speed_limit_m_s: l
                            .speed_limit_m_s
                            .or(r.speed_limit_m_s)
                            .unwrap_or(d.speed_limit_m_s),
                        turns,
                        length_m: l.length_m,
                    });
                    continue;
                };
                for c in turn_text
                    .get_ref()
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != ';' && *c != ',')
                {
                    let t = TurnKind::from_letter(c).ok_or_else(|| {
                        LoadError::new(
                            ErrorKind::BadValue,
                            format!(
                                "lane turns '{}': '{c}' is not one of L, T, R, U",
                                turn_text.get_ref()
                            ),
                        )
                        .at(&self.at(turn_text))
                    })?;
                    if !turns.contains(&t) {
                        turns.push(t);
                    }
                }
                lanes.push(LaneSpec {
                    width_m: l.width_m.or(r.lane_width_m).unwrap_or(d.lane_width_m),
                    speed_limit_m_s: l
                        .speed_limit_m_s
                        .or(r.speed_limit_m_s)
                        .unwrap_or(d.speed_limit_m_s),
                    turns,
                    length_m: l.length_m,
                });
            }
            let points = r
                .points
                .as_ref()
                .map(|ps| ps.iter().map(|p| Point::new(p[0], p[1])).collect());
            let id = b.add_road(
                r.id.get_ref().clone(),
                from,
                to,
                points,
                lanes,
                self.at(&r.id),
            )?;
            road_ids.insert(r.id.get_ref().clone(), id);
            road_origin.push(self.at(&r.id));
        }
        b.derive_movements_from_turns(|r| road_origin[r.index()].clone())?;

        // Movement references: "<approach road>:<turn letter>" or "<from road>-><to road>".
        let find_movement = |b: &Builder,
                             at: IntersectionId,
                             s: &Spanned<String>|
         -> Result<MovementId> {
            let text = s.get_ref();
            let err =
                |msg: String| LoadError::new(ErrorKind::UnknownReference, msg).at(&self.at(s));
            let found = if let Some((from, to)) = text.split_once("->") {
                let (Some(f), Some(t)) = (road_ids.get(from.trim()), road_ids.get(to.trim()))
                else {
                    return Err(err(format!("movement '{text}': unknown road")));
                };
                b.movements_of(at)
                    .iter()
                    .copied()
                    .find(|m| b.movement(*m).from_road == *f && b.movement(*m).to_road == *t)
            } else if let Some((road, turn)) = text.rsplit_once(':') {
                let Some(r) = road_ids.get(road) else {
                    return Err(err(format!("movement '{text}': unknown road '{road}'")));
                };
                let mut cs = turn.chars();
                let t = match (cs.next().and_then(TurnKind::from_letter), cs.next()) {
                    (Some(t), None) => t,
                    _ => {
                        return Err(err(format!(
                            "movement '{text}': turn must be one of L, T, R, U"
                        )))
                    }
                };
                b.movements_of(at)
                    .iter()
                    .copied()
                    .find(|m| b.movement(*m).from_road == *r && b.movement(*m).turn == t)
            } else {
                return Err(err(format!(
                    "movement '{text}': write '<road>:<L|T|R|U>' or '<from road>-><to road>'"
                )));
            };
            found.ok_or_else(|| err(format!("intersection '{}' has no movement '{text}' (check the lane turns of the approach)", b.intersection(at).name)))
        };

        for i in &doc.intersection {
            let at = inter_ids[i.id.get_ref()];
            let kind = b.intersection(at).kind;
            if kind != IntersectionKind::Signalized
                && (!i.signal_group.is_empty() || !i.stage.is_empty())
            {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!(
                        "intersection '{}' is not signalized but has signal groups or stages",
                        i.id.get_ref()
                    ),
                )
                .at(&self.at(&i.id)));
            }
            let mut seen = BTreeMap::new();
            let mut groups: BTreeMap<String, SignalGroupId> = BTreeMap::new();
            for g in &i.signal_group {
                self.unique(&mut seen, &g.id, "signal group")?;
                let mut mvs = Vec::new();
                for m in &g.movements {
                    mvs.push(find_movement(&b, at, m)?);
                }
                let id = b.add_signal_group(
                    at,
                    g.id.get_ref().clone(),
                    mvs,
                    g.permissive,
                    &self.at(&g.id),
                )?;
                groups.insert(g.id.get_ref().clone(), id);
            }
            let mut seen = BTreeMap::new();
            for s in &i.stage {
                self.unique(&mut seen, &s.id, "stage")?;
                let mut gs = Vec::new();
                for g in &s.groups {
                    gs.push(*groups.get(g.get_ref()).ok_or_else(|| {
                        LoadError::new(
                            ErrorKind::UnknownReference,
                            format!(
                                "stage '{}' names unknown signal group '{}'",
                                s.id.get_ref(),
                                g.get_ref()
                            ),
                        )
                        .at(&self.at(g))
                    })?);
                }
                let limits = StageLimits {
                    min_green_s: s.min_green_s.unwrap_or(d.min_green_s),
                    max_green_s: s.max_green_s.unwrap_or(d.max_green_s),
                    yellow_s: s.yellow_s.unwrap_or(d.yellow_s),
                    all_red_s: s.all_red_s.unwrap_or(d.all_red_s),
                    ped_walk_s: s.ped_walk_s.unwrap_or(d.ped_walk_s),
                    ped_clearance_s: s.ped_clearance_s.unwrap_or(d.ped_clearance_s),
                };
                let green = s.green_s.unwrap_or(
                    d.green_s
                        .max(limits.shortest_green_s())
                        .min(limits.max_green_s),
                );
                let id = b.add_stage(
                    at,
                    s.id.get_ref().clone(),
                    gs,
                    limits,
                    green,
                    false,
                    self.at(&s.id),
                )?;
                b.set_in_base_plan(id, s.in_base_plan);
            }
            for c in &i.conflict {
                let list = c.movements.get_ref();
                if list.len() != 2 {
                    return Err(LoadError::new(
                        ErrorKind::BadValue,
                        "a conflict override names exactly two movements",
                    )
                    .at(&self.at(&c.movements)));
                }
                let a = find_movement(&b, at, &list[0])?;
                let m2 = find_movement(&b, at, &list[1])?;
                let kind = match c.conflict {
                    ConflictSetting::Crossing => Some(ConflictKind::Crossing),
                    ConflictSetting::Merging => Some(ConflictKind::Merging),
                    ConflictSetting::None => None,
                };
                b.override_conflict(a, m2, kind, self.at(&c.movements));
            }
        }

        let find_lane = |b: &Builder, s: &Spanned<String>| -> Result<LaneId> {
            let text = s.get_ref();
            let err =
                |msg: String| LoadError::new(ErrorKind::UnknownReference, msg).at(&self.at(s));
            let Some((road, idx)) = text.rsplit_once(':') else {
                return Err(err(format!(
                    "lane '{text}': write '<road>:<lane index>' (0 = inner lane)"
                )));
            };
            let Some(r) = road_ids.get(road) else {
                return Err(err(format!("lane '{text}': unknown road '{road}'")));
            };
            let k: usize = idx
                .parse()
                .map_err(|_| err(format!("lane '{text}': '{idx}' is not a lane index")))?;
            b.lane_of(*r, k).ok_or_else(|| {
                err(format!(
                    "lane '{text}': road '{road}' has {} lanes (0–{})",
                    b.road(*r).lanes.len(),
                    b.road(*r).lanes.len() - 1
                ))
            })
        };
        let mut seen = BTreeMap::new();
        for det in &doc.detector {
            self.unique(&mut seen, &det.id, "detector")?;
            let lane = find_lane(&b, &det.lane)?;
            b.add_detector(
                det.id.get_ref().clone(),
                lane,
                det.kind,
                det.setback_m,
                det.length_m.unwrap_or(d.detector_length_m),
                &self.at(&det.id),
            )?;
        }
        let mut seen = BTreeMap::new();
        for cam in &doc.camera {
            self.unique(&mut seen, &cam.id, "camera")?;
            let inter = cam.intersection.as_ref().map(find_inter).transpose()?;
            let mut lanes = Vec::new();
            for l in &cam.lanes {
                lanes.push(find_lane(&b, l)?);
            }
            b.add_camera(
                cam.id.get_ref().clone(),
                inter,
                lanes,
                cam.zone_near_m,
                cam.zone_far_m,
                &self.at(&cam.id),
            )?;
        }
        let mut seen = BTreeMap::new();
        for c in &doc.corridor {
            self.unique(&mut seen, &c.name, "corridor")?;
            let mut ids = Vec::new();
            for i in &c.intersections {
                ids.push(find_inter(i)?);
            }
            b.add_corridor(
                c.name.get_ref().clone(),
                ids,
                c.design_speed_m_s,
                &self.at(&c.name),
            )?;
        }
        b.finish()
    }
}
