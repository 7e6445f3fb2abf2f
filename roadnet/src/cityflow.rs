//! CityFlow's JSON formats: `roadnet_*.json` into the same [`RoadNet`] as `intersections.toml`,
//! and flow files into a [`Demand`]. Every error names the JSON path of the bad field.
//!
//! Mapping: virtual intersections become boundary nodes; each `roadLink` becomes a movement with
//! its lane links and shapes, controlled by a signal group of its own (right turns permissive);
//! each `lightphase` becomes a stage, phase 0 being the clearance stage shown between the others,
//! so its `time` is the yellow change interval. CityFlow files carry no sensor layout: every road
//! gets a camera that sees its whole length (as CityFlow's own API sees every vehicle).

use crate::builder::{Builder, LaneSpec, LinkSpec};
use crate::demand::MAX_VEHICLES;
use crate::demand::{Demand, Trip, VehicleParams};
use crate::error::{ErrorKind, LoadError, Origin};
use crate::geometry::Point;
use crate::ids::*;
use crate::model::*;
use crate::signal::StageLimits;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, LoadError>;

#[derive(Deserialize)]
struct JPoint {
    x: f64,
    y: f64,
}

#[derive(Deserialize)]
struct JRoadnet {
    intersections: Vec<JIntersection>,
    roads: Vec<JRoad>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JIntersection {
    id: String,
    point: JPoint,
    #[serde(default)]
    width: f64,
    #[serde(default)]
    road_links: Vec<JRoadLink>,
    #[serde(default)]
    traffic_light: Option<JTrafficLight>,
    #[serde(default, rename = "virtual")]
    is_virtual: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JRoadLink {
    #[serde(rename = "type")]
    kind: JTurn,
    start_road: String,
    end_road: String,
    lane_links: Vec<JLaneLink>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum JTurn {
    GoStraight,
    TurnLeft,
    TurnRight,
    TurnU,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JLaneLink {
    start_lane_index: usize,
    end_lane_index: usize,
    #[serde(default)]
    points: Vec<JPoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JTrafficLight {
    #[serde(default)]
    lightphases: Vec<JPhase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JPhase {
    time: f64,
    available_road_links: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JRoad {
    id: String,
    points: Vec<JPoint>,
    lanes: Vec<JLane>,
    start_intersection: String,
    end_intersection: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JLane {
    width: f64,
    max_speed: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JFlow {
    vehicle: JVehicle,
    route: Vec<String>,
    #[serde(default = "one")]
    interval: f64,
    start_time: f64,
    end_time: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JVehicle {
    length: f64,
    width: f64,
    max_pos_acc: f64,
    max_neg_acc: f64,
    usual_pos_acc: f64,
    usual_neg_acc: f64,
    min_gap: f64,
    max_speed: f64,
    headway_time: f64,
}

fn parse_json<T: DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        LoadError {
            kind: ErrorKind::Syntax,
            file: file.into(),
            line_col: Some((inner.line(), inner.column())),
            field: (path != "." && !path.is_empty()).then_some(path),
            message: strip_position(&inner.to_string()),
        }
    })
}

/// serde_json appends " at line L column C"; we print the position ourselves.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(k) => msg[..k].to_string(),
        None => msg.to_string(),
    }
}

/// Largest CityFlow file read, bytes: the published city networks and their one-hour flows are
/// a few MiB (Jinan: 0.6 MiB network, 1.9 MiB flow); a stray multi-gigabyte file is refused
/// before it is read.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

fn read(path: &std::path::Path) -> Result<(String, String)> {
    let text = crate::input::read_text(path, MAX_FILE_BYTES, "split the flow file by time")?;
    Ok((text, path.display().to_string()))
}

/// Read a CityFlow `roadnet.json`.
pub fn load_roadnet(path: &std::path::Path) -> Result<RoadNet> {
    let (text, file) = read(path)?;
    parse_roadnet(&text, &file)
}

/// Parse a CityFlow roadnet held in memory.
pub fn parse_roadnet(text: &str, file: &str) -> Result<RoadNet> {
    let j: JRoadnet = parse_json(text, file)?;
    build_roadnet(j, file).map_err(|e| e.in_file(file))
}

fn pt(p: &JPoint) -> Point {
    Point::new(p.x, p.y)
}

fn build_roadnet(j: JRoadnet, file: &str) -> Result<RoadNet> {
    let name = std::path::Path::new(file)
        .file_stem()
        .map_or("cityflow".into(), |s| s.to_string_lossy().into_owned());
    let mut b = Builder::new(name);
    let mut inter_ids = BTreeMap::new();
    for (k, i) in j.intersections.iter().enumerate() {
        let origin = Origin::field(format!("intersections[{k}]"));
        let signalized = !i.is_virtual
            && i.traffic_light
                .as_ref()
                .is_some_and(|t| !t.lightphases.is_empty());
        let kind = if i.is_virtual {
            IntersectionKind::Boundary
        } else if signalized {
            IntersectionKind::Signalized
        } else {
            IntersectionKind::Unsignalized
        };
        let id = b.add_intersection(
            i.id.clone(),
            kind,
            pt(&i.point),
            i.width,
            None,
            origin.clone(),
        )?;
        if inter_ids.insert(i.id.clone(), id).is_some() {
            return Err(LoadError::new(
                ErrorKind::DuplicateId,
                format!("duplicate intersection id '{}'", i.id),
            )
            .at(&Origin::field(format!("intersections[{k}].id"))));
        }
    }
    let mut road_ids = BTreeMap::new();
    for (k, r) in j.roads.iter().enumerate() {
        let field = |f: &str| Origin::field(format!("roads[{k}].{f}"));
        let find = |name: &str, f: &str| {
            inter_ids.get(name).copied().ok_or_else(|| {
                LoadError::new(
                    ErrorKind::UnknownReference,
                    format!("unknown intersection '{name}'"),
                )
                .at(&field(f))
            })
        };
        let from = find(&r.start_intersection, "startIntersection")?;
        let to = find(&r.end_intersection, "endIntersection")?;
        let lanes = r
            .lanes
            .iter()
            .map(|l| LaneSpec {
                width_m: l.width,
                speed_limit_m_s: l.max_speed,
                turns: vec![],
                length_m: None,
            })
            .collect();
        let points = r.points.iter().map(pt).collect();
        let id = b.add_road(
            r.id.clone(),
            from,
            to,
            Some(points),
            lanes,
            Origin::field(format!("roads[{k}]")),
        )?;
        if road_ids.insert(r.id.clone(), id).is_some() {
            return Err(LoadError::new(
                ErrorKind::DuplicateId,
                format!("duplicate road id '{}'", r.id),
            )
            .at(&field("id")));
        }
    }
    for (k, i) in j.intersections.iter().enumerate() {
        let at = inter_ids[&i.id];
        if i.is_virtual {
            continue;
        }
        let mut link_movements = Vec::new();
        for (n, rl) in i.road_links.iter().enumerate() {
            let field = |f: &str| Origin::field(format!("intersections[{k}].roadLinks[{n}].{f}"));
            let find = |name: &str, f: &str| {
                road_ids.get(name).copied().ok_or_else(|| {
                    LoadError::new(
                        ErrorKind::UnknownReference,
                        format!("unknown road '{name}'"),
                    )
                    .at(&field(f))
                })
            };
            let from = find(&rl.start_road, "startRoad")?;
            let to = find(&rl.end_road, "endRoad")?;
            if b.road(from).to != at || b.road(to).from != at {
                return Err(LoadError::new(
                    ErrorKind::RouteNotConnected,
                    format!(
                        "road link from '{}' to '{}' does not pass through '{}'",
                        rl.start_road, rl.end_road, i.id
                    ),
                )
                .at(&field("startRoad")));
            }
            let turn = match rl.kind {
                JTurn::GoStraight => TurnKind::Through,
                JTurn::TurnLeft => TurnKind::Left,
                JTurn::TurnRight => TurnKind::Right,
                JTurn::TurnU => TurnKind::UTurn,
            };
            let links = rl
                .lane_links
                .iter()
                .map(|l| LinkSpec {
                    from_index: l.start_lane_index,
                    to_index: l.end_lane_index,
                    points: (!l.points.is_empty()).then(|| l.points.iter().map(pt).collect()),
                    primary: true,
                })
                .collect();
            let m = b.add_movement(from, to, Some(turn), links, field("laneLinks"))?;
            link_movements.push(m);
        }
        if b.intersection(at).kind != IntersectionKind::Signalized {
            continue;
        }
        let phases = &i
            .traffic_light
            .as_ref()
            .expect("signalized has a light")
            .lightphases;
        let mut groups = Vec::new();
        for (n, &m) in link_movements.iter().enumerate() {
            let permissive = b.movement(m).turn == TurnKind::Right;
            let g = b.add_signal_group(
                at,
                format!("link{n}"),
                vec![m],
                permissive,
                &Origin::field(format!("intersections[{k}].roadLinks[{n}]")),
            )?;
            groups.push(g);
        }
        let clearance_s = phases[0].time;
        for (p, ph) in phases.iter().enumerate() {
            let origin = Origin::field(format!("intersections[{k}].trafficLight.lightphases[{p}]"));
            let mut gs = Vec::new();
            for &l in &ph.available_road_links {
                let g = groups.get(l).copied().ok_or_else(|| {
                    LoadError::new(
                        ErrorKind::UnknownReference,
                        format!(
                            "availableRoadLinks names road link {l}; the intersection has {}",
                            groups.len()
                        ),
                    )
                    .at(&Origin::field(format!(
                        "intersections[{k}].trafficLight.lightphases[{p}].availableRoadLinks"
                    )))
                })?;
                if !gs.contains(&g) {
                    gs.push(g);
                }
            }
            if !(ph.time.is_finite() && ph.time >= 0.0) {
                return Err(LoadError::new(
                    ErrorKind::BadValue,
                    format!("phase time {} s must be ≥ 0", ph.time),
                )
                .at(&Origin::field(format!(
                    "intersections[{k}].trafficLight.lightphases[{p}].time"
                ))));
            }
            let limits = StageLimits {
                min_green_s: if p == 0 { 0.0 } else { 5.0_f64.min(ph.time) },
                max_green_s: 120.0_f64.max(ph.time),
                yellow_s: clearance_s,
                all_red_s: 0.0,
                ped_walk_s: 0.0,
                ped_clearance_s: 0.0,
            };
            b.add_stage(at, format!("phase{p}"), gs, limits, ph.time, p == 0, origin)?;
        }
    }
    for k in 0..j.roads.len() {
        let road = b.road(RoadId::from_index(k));
        let (name, lanes, at) = (format!("cam_{}", road.name), road.lanes.clone(), road.to);
        let far_m = lanes.iter().map(|l| b.lane_length(*l)).fold(0.0, f64::max) + 1.0;
        b.add_camera(
            name,
            Some(at),
            lanes,
            0.0,
            far_m,
            &Origin::field(format!("roads[{k}]")),
        )?;
    }
    b.finish()
}

/// Read a CityFlow flow file against a network.
pub fn load_flow(path: &std::path::Path, net: &RoadNet) -> Result<Demand> {
    let (text, file) = read(path)?;
    parse_flow(&text, &file, net)
}

/// Parse a CityFlow flow file held in memory: each entry releases a vehicle every `interval`
/// seconds from `startTime` through `endTime` along `route`.
pub fn parse_flow(text: &str, file: &str, net: &RoadNet) -> Result<Demand> {
    let flows: Vec<JFlow> = parse_json(text, file)?;
    let names: BTreeMap<&str, RoadId> = net.roads.iter().map(|r| (r.name.as_str(), r.id)).collect();
    let mut trips = Vec::new();
    for (k, f) in flows.iter().enumerate() {
        let err = |kind, field: &str, msg: String| {
            Err(LoadError::new(kind, format!("vehicle {k}: {msg}"))
                .in_file(file)
                .with_field(format!("[{k}].{field}")))
        };
        let v = &f.vehicle;
        let params = VehicleParams {
            length_m: v.length,
            width_m: v.width,
            max_accel_m_s2: v.max_pos_acc,
            max_decel_m_s2: v.max_neg_acc,
            usual_accel_m_s2: v.usual_pos_acc,
            usual_decel_m_s2: v.usual_neg_acc,
            min_gap_m: v.min_gap,
            max_speed_m_s: v.max_speed,
            headway_s: v.headway_time,
        };
        for (name, val) in [
            ("length", v.length),
            ("width", v.width),
            ("maxPosAcc", v.max_pos_acc),
            ("maxNegAcc", v.max_neg_acc),
            ("usualPosAcc", v.usual_pos_acc),
            ("usualNegAcc", v.usual_neg_acc),
            ("maxSpeed", v.max_speed),
        ] {
            if !(val.is_finite() && val > 0.0) {
                return err(
                    ErrorKind::BadValue,
                    &format!("vehicle.{name}"),
                    format!("{name} must be positive, got {val}"),
                );
            }
        }
        for (name, val) in [("minGap", v.min_gap), ("headwayTime", v.headway_time)] {
            if !(val.is_finite() && val >= 0.0) {
                return err(
                    ErrorKind::BadValue,
                    &format!("vehicle.{name}"),
                    format!("{name} must be ≥ 0, got {val}"),
                );
            }
        }
        if !(f.start_time.is_finite() && f.start_time >= 0.0) {
            return err(
                ErrorKind::BadValue,
                "startTime",
                format!("startTime must be ≥ 0, got {}", f.start_time),
            );
        }
        if !(f.end_time.is_finite() && f.end_time >= f.start_time) {
            return err(
                ErrorKind::BadValue,
                "endTime",
                format!(
                    "endTime {} is before startTime {}",
                    f.end_time, f.start_time
                ),
            );
        }
        if f.end_time > f.start_time && !(f.interval.is_finite() && f.interval > 0.0) {
            return err(
                ErrorKind::BadValue,
                "interval",
                format!("interval must be positive, got {}", f.interval),
            );
        }
        if f.route.is_empty() {
            return err(ErrorKind::BadValue, "route", "route is empty".into());
        }
        let mut route = Vec::with_capacity(f.route.len());
        for (n, r) in f.route.iter().enumerate() {
            match names.get(r.as_str()) {
                Some(id) => route.push(*id),
                None => {
                    return err(
                        ErrorKind::UnknownReference,
                        &format!("route[{n}]"),
                        format!("unknown road '{r}'"),
                    )
                }
            }
        }
        for (n, w) in route.windows(2).enumerate() {
            if net.movement_between(w[0], w[1]).is_none() {
                return err(
                    ErrorKind::RouteNotConnected,
                    &format!("route[{}]", n + 1),
                    format!(
                        "no movement from road '{}' to road '{}'",
                        f.route[n],
                        f.route[n + 1]
                    ),
                );
            }
        }
        // Departures at startTime, startTime + interval, … up to endTime: counted first, so that
        // a tiny file asking for billions of vehicles is refused before anything is allocated.
        let releases = if f.end_time > f.start_time {
            ((f.end_time - f.start_time) / f.interval + 1e-9).floor() + 1.0
        } else {
            1.0
        };
        if trips.len() as f64 + releases > MAX_VEHICLES as f64 {
            return err(
                ErrorKind::BadValue,
                "interval",
                format!(
                    "the flows up to this one release {} vehicles; at most {MAX_VEHICLES} are replayed from one file",
                    trips.len() as f64 + releases
                ),
            );
        }
        for n in 0..releases as u64 {
            trips.push(Trip {
                departure_s: f.start_time + n as f64 * f.interval,
                route: route.clone(),
                params,
            });
        }
    }
    Ok(Demand::new(trips))
}
