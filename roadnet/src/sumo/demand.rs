//! SUMO route files (`.rou.xml`, as written by `duarouter`, `randomTrips.py` or by hand) into a
//! [`Demand`] over a network imported from SUMO (road names are SUMO edge ids).
//!
//! - `<vType>` → [`VehicleParams`]: `length`, `width`, `minGap`, `accel` (max and usual),
//!   `decel` (usual), `emergencyDecel` (max; `decel` when absent), `maxSpeed`, `tau` → headway.
//!   Attributes left out take SUMO's passenger-car defaults ([`sumo_default_params`]).
//! - `<route id edges>` at the top level, referenced by a vehicle's or flow's `route`; or a
//!   `<route edges>` inside the vehicle/flow.
//! - `<vehicle depart>`; `<trip depart from to>` (and vehicles/flows with `from`/`to`) routed
//!   over the shortest path by length through the network's movements.
//! - `<flow begin end>` with one of `vehsPerHour`, `period` (or `period="exp(rate)"`),
//!   `probability`, or `number` alone, expanded into departures as `duarouter` does (`docs/sumo.md`).
//!
//! What greenwave cannot represent is named in one note line each: vehicle classes other than
//! cars, `departLane` values other than SUMO's lane-choice keywords, `via`, `<stop>`, persons,
//! containers, distributions, other elements and attributes. Errors are one line with
//! file:line:column and the element/attribute.

use super::{clip, Cx, Result};
use crate::demand::{Demand, Trip, VehicleParams};
use crate::error::{ErrorKind, LoadError};
use crate::ids::RoadId;
use crate::model::RoadNet;
use crate::rng::SplitMix64;
use roxmltree::Node;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Most vehicles a route file may expand to: the one cap of every demand format. A `<flow>` can
/// ask for any number of vehicles in a few bytes, so the count is checked before expanding.
pub use crate::demand::MAX_VEHICLES;

/// A route file in greenwave's terms, with what could not be mapped.
#[derive(Debug)]
pub struct SumoDemand {
    pub demand: Demand,
    /// One line per element (or attribute use) greenwave does not model.
    pub notes: Vec<String>,
}

/// SUMO's default vehicle type (`DEFAULT_VEHTYPE`, a passenger car) for attributes a `<vType>`
/// leaves out and for vehicles without a `type`: length 5 m, width 1.8 m, minGap 2.5 m,
/// accel 2.6 m/s², decel 4.5 m/s², emergencyDecel 9 m/s², maxSpeed 200 km/h, tau 1 s (read back
/// from SUMO 1.28 over TraCI, `traci.vehicletype.get*("DEFAULT_VEHTYPE")`).
pub fn sumo_default_params() -> VehicleParams {
    VehicleParams {
        length_m: 5.0,
        width_m: 1.8,
        max_accel_m_s2: 2.6,
        max_decel_m_s2: 9.0,
        usual_accel_m_s2: 2.6,
        usual_decel_m_s2: 4.5,
        min_gap_m: 2.5,
        max_speed_m_s: 200.0 / 3.6,
        headway_s: 1.0,
    }
}

/// SUMO's default end of a flow without `end`, seconds (24 h).
const FLOW_DEFAULT_END_S: f64 = 86_400.0;

/// `departLane` keywords: SUMO's lane-choice strategies. greenwave picks the lane itself, which
/// these leave to the simulator anyway; a fixed lane index (or anything else) is noted.
const DEPART_LANE_KEYWORDS: [&str; 5] = ["best", "free", "random", "allowed", "first"];

/// Vehicle classes greenwave's car-following model stands for.
const CAR_CLASSES: [&str; 4] = ["passenger", "private", "taxi", "evehicle"];

/// Attributes of vehicles, trips and flows that are read, or that only affect SUMO's output or
/// drawing; any other attribute is noted.
const KNOWN_ATTRS: [&str; 18] = [
    "id",
    "type",
    "depart",
    "route",
    "from",
    "to",
    "begin",
    "end",
    "vehsPerHour",
    "period",
    "probability",
    "number",
    "departLane",
    "color",
    "via",
    "fromTaz",
    "toTaz",
    "edges",
];

/// Read a SUMO route file for `net`; `seed` drives `probability` and `exp(…)` flows.
pub fn load_routes(path: &std::path::Path, net: &RoadNet, seed: u64) -> Result<SumoDemand> {
    let file = path.display().to_string();
    let text = super::read_text(path)?;
    parse_routes(&text, &file, net, seed)
}

/// Parse a SUMO route file held in memory; `file` names it in errors and notes.
pub fn parse_routes(text: &str, file: &str, net: &RoadNet, seed: u64) -> Result<SumoDemand> {
    let doc = super::parse_doc(text, file)?;
    let mut cx = Cx {
        doc: &doc,
        file,
        notes: Vec::new(),
    };
    let trips = read(&mut cx, net, seed).map_err(|e| e.in_file(file))?;
    Ok(SumoDemand {
        demand: Demand::new(trips),
        notes: cx.notes,
    })
}

/// A vehicle type: its parameters, or `None` for a class greenwave does not model.
struct VType {
    params: Option<VehicleParams>,
    class: String,
}

/// Where a vehicle goes: a route, or trip ends to route between.
enum Way {
    Edges(Vec<RoadId>),
    Trip(RoadId, RoadId),
}

fn read(cx: &mut Cx, net: &RoadNet, seed: u64) -> Result<Vec<Trip>> {
    let root = cx.doc.root_element();
    if root.tag_name().name() != "routes" {
        return Err(cx.err(
            ErrorKind::Syntax,
            root,
            root.tag_name().name(),
            format!(
                "root element is <{}>; a SUMO route file starts with <routes>",
                root.tag_name().name()
            ),
        ));
    }
    let roads: BTreeMap<&str, RoadId> = net.roads.iter().map(|r| (r.name.as_str(), r.id)).collect();

    // ---- pass 1: types, routes and distributions, so references may come in any order ----
    let mut vtypes: BTreeMap<String, VType> = BTreeMap::new();
    let mut routes: BTreeMap<String, Vec<RoadId>> = BTreeMap::new();
    let mut distributions: BTreeSet<String> = BTreeSet::new();
    for el in root.children().filter(|n| n.is_element()) {
        match el.tag_name().name() {
            "vType" => {
                let id = cx.req(el, "vType", "id")?.to_string();
                let label = format!("vType[{id}]");
                let vt = read_vtype(cx, el, &label)?;
                if vtypes.insert(id.clone(), vt).is_some() {
                    return Err(cx.attr_err(
                        ErrorKind::DuplicateId,
                        el,
                        &label,
                        "id",
                        format!("duplicate vType id '{id}'"),
                    ));
                }
            }
            "route" => {
                let id = cx.req(el, "route", "id")?.to_string();
                let label = format!("route[{id}]");
                let edges = read_edges(cx, el, &label, &roads, net)?;
                note_route_attrs(cx, el, &id);
                if routes.insert(id.clone(), edges).is_some() {
                    return Err(cx.attr_err(
                        ErrorKind::DuplicateId,
                        el,
                        &label,
                        "id",
                        format!("duplicate route id '{id}'"),
                    ));
                }
            }
            "routeDistribution" | "vTypeDistribution" => {
                let name = el.tag_name().name();
                let id = cx.req(el, name, "id")?.to_string();
                cx.note_at(
                    el,
                    format_args!(
                        "<{name}> '{id}' not imported; vehicles referring to it are skipped"
                    ),
                );
                distributions.insert(id);
                // Members may be named directly too; they share the distribution's fate.
                for member in el.children().filter(|n| n.is_element()) {
                    if let Some(m) = member.attribute("id") {
                        distributions.insert(m.to_string());
                    }
                }
            }
            _ => {}
        }
    }

    // ---- pass 2: vehicles, trips and flows ----
    let mut trips: Vec<Trip> = Vec::new();
    let mut flow_index: u64 = 0;
    for el in root.children().filter(|n| n.is_element()) {
        let tag = el.tag_name().name();
        match tag {
            "vType" | "route" | "routeDistribution" | "vTypeDistribution" => continue,
            "vehicle" | "trip" | "flow" => {}
            "person" | "personFlow" | "container" | "containerFlow" => {
                let id = el.attribute("id").unwrap_or("?");
                cx.note_at(
                    el,
                    format_args!(
                        "<{tag}> '{}' not imported (greenwave simulates vehicles only)",
                        clip(id)
                    ),
                );
                continue;
            }
            other => {
                cx.note_at(el, format_args!("<{other}> not imported"));
                continue;
            }
        }
        let id = cx.req(el, tag, "id")?.to_string();
        let label = format!("{tag}[{id}]");
        // Notes for what is read but not modelled; the vehicle itself is still imported.
        note_unknown_attrs(cx, el, &format!("{tag} '{id}'"), &KNOWN_ATTRS);
        if let Some(dl) = el.attribute("departLane") {
            if !DEPART_LANE_KEYWORDS.contains(&dl) {
                cx.note_at(
                    el,
                    format_args!(
                        "{tag} '{id}': departLane '{}' not modelled; the simulator picks the lane",
                        clip(dl)
                    ),
                );
            }
        }
        if el.attribute("via").is_some() {
            cx.note_at(
                el,
                format_args!(
                    "{tag} '{id}': 'via' not modelled; routed by the shortest path or its route"
                ),
            );
        }
        for child in el.children().filter(|n| n.is_element()) {
            match child.tag_name().name() {
                "route" => {}
                "stop" => cx.note_at(
                    child,
                    format_args!("{tag} '{id}': <stop> not modelled; the vehicle drives through"),
                ),
                other => cx.note_at(child, format_args!("{tag} '{id}': <{other}> not modelled")),
            }
        }
        if el.attribute("fromTaz").is_some() || el.attribute("toTaz").is_some() {
            cx.note_at(
                el,
                format_args!("{tag} '{id}': traffic assignment zones (fromTaz/toTaz) not modelled; not imported"),
            );
            continue;
        }

        // Type.
        let params = match el.attribute("type") {
            None => sumo_default_params(),
            Some(t) => match vtypes.get(t) {
                Some(VType {
                    params: Some(p), ..
                }) => *p,
                Some(VType {
                    params: None,
                    class,
                }) => {
                    cx.note_at(
                        el,
                        format_args!("{tag} '{id}': vClass '{class}' of type '{t}' is not a car; not imported"),
                    );
                    continue;
                }
                None if distributions.contains(t) => {
                    cx.note_at(
                        el,
                        format_args!(
                            "{tag} '{id}': type '{t}' is or belongs to a vTypeDistribution (not modelled); not imported"
                        ),
                    );
                    continue;
                }
                None => {
                    return Err(cx.attr_err(
                        ErrorKind::UnknownReference,
                        el,
                        &label,
                        "type",
                        format!("unknown vType '{}'", clip(t)),
                    ))
                }
            },
        };

        // Route.
        let embedded = el.children().find(|n| n.has_tag_name("route"));
        let way = if let Some(r) = el.attribute("route") {
            match routes.get(r) {
                Some(edges) => Way::Edges(edges.clone()),
                None if distributions.contains(r) => {
                    cx.note_at(
                        el,
                        format_args!(
                            "{tag} '{id}': route '{r}' is or belongs to a routeDistribution (not modelled); not imported"
                        ),
                    );
                    continue;
                }
                None => {
                    return Err(cx.attr_err(
                        ErrorKind::UnknownReference,
                        el,
                        &label,
                        "route",
                        format!("unknown route '{}'", clip(r)),
                    ))
                }
            }
        } else if let Some(r) = embedded {
            Way::Edges(read_edges(cx, r, &format!("{label}.route"), &roads, net)?)
        } else if el.attribute("from").is_some() || el.attribute("to").is_some() {
            let from = edge_attr(cx, el, &label, "from", &roads)?;
            let to = edge_attr(cx, el, &label, "to", &roads)?;
            Way::Trip(from, to)
        } else {
            return Err(cx.err(
                ErrorKind::Syntax,
                el,
                &label,
                format!("<{tag}> '{id}' has no route: give 'route', an inner <route edges=…>, or 'from' and 'to'"),
            ));
        };
        let route = match way {
            Way::Edges(e) => e,
            Way::Trip(from, to) => shortest_route(net, from, to).ok_or_else(|| {
                cx.err(
                    ErrorKind::RouteNotConnected,
                    el,
                    &label,
                    format!(
                        "no path from edge '{}' to edge '{}' through the network's movements",
                        net.road(from).name,
                        net.road(to).name
                    ),
                )
            })?,
        };

        // Departures.
        let departures: Vec<f64> = if tag == "flow" {
            flow_index += 1;
            let budget = MAX_VEHICLES - trips.len() as u64;
            expand_flow(
                cx,
                el,
                &label,
                seed ^ flow_index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                budget,
            )?
        } else {
            let s = cx.req(el, &label, "depart")?;
            match s.trim() {
                "triggered" | "containerTriggered" | "split" | "begin" | "now" => {
                    cx.note_at(
                        el,
                        format_args!("{tag} '{id}': depart '{s}' not modelled; not imported"),
                    );
                    continue;
                }
                _ => {}
            }
            let d = cx.parse_num(el, &label, "depart", s)?;
            if d < 0.0 {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    el,
                    &label,
                    "depart",
                    format!("depart must be ≥ 0 s, got {d}"),
                ));
            }
            if trips.len() as u64 >= MAX_VEHICLES {
                return Err(too_many(cx, el, &label));
            }
            vec![d]
        };
        trips.extend(departures.into_iter().map(|departure_s| Trip {
            departure_s,
            route: route.clone(),
            params,
        }));
    }
    Ok(trips)
}

fn too_many(cx: &Cx, el: Node, label: &str) -> LoadError {
    cx.err(
        ErrorKind::BadValue,
        el,
        label,
        format!(
            "the file expands to more than {MAX_VEHICLES} vehicles; refused (split the demand)"
        ),
    )
}

fn read_vtype(cx: &mut Cx, el: Node, label: &str) -> Result<VType> {
    let class = el.attribute("vClass").unwrap_or("passenger").to_string();
    let d = sumo_default_params();
    let get = |attr: &str, default: f64, min: f64, max: f64| -> Result<f64> {
        let v = cx.opt_num(el, label, attr)?.unwrap_or(default);
        if !(min..=max).contains(&v) {
            return Err(cx.attr_err(
                ErrorKind::BadValue,
                el,
                label,
                attr,
                format!("'{attr}' {v} is outside the plausible {min}–{max}"),
            ));
        }
        Ok(v)
    };
    // Ranges: what a road vehicle can be; outside them the file is wrong (units, a typo).
    let length_m = get("length", d.length_m, 0.5, 100.0)?;
    let width_m = get("width", d.width_m, 0.3, 5.0)?;
    let min_gap_m = get("minGap", d.min_gap_m, 0.0, 50.0)?;
    let accel = get("accel", d.usual_accel_m_s2, 0.01, 20.0)?;
    let decel = get("decel", d.usual_decel_m_s2, 0.01, 20.0)?;
    let emergency = get("emergencyDecel", d.max_decel_m_s2.max(decel), 0.01, 50.0)?;
    let max_speed = get("maxSpeed", d.max_speed_m_s, 0.1, 100.0)?;
    let tau = get("tau", d.headway_s, 0.0, 30.0)?;
    let id = el.attribute("id").unwrap_or("?");
    // Attributes read above, or only about SUMO's drawing and output.
    const READ: [&str; 14] = [
        "id",
        "vClass",
        "length",
        "width",
        "minGap",
        "accel",
        "decel",
        "emergencyDecel",
        "maxSpeed",
        "tau",
        "color",
        "guiShape",
        "imgFile",
        "height",
    ];
    note_unknown_attrs(cx, el, &format!("vType '{id}'"), &READ);
    if !CAR_CLASSES.contains(&class.as_str()) {
        return Ok(VType {
            params: None,
            class,
        });
    }
    Ok(VType {
        params: Some(VehicleParams {
            length_m,
            width_m,
            max_accel_m_s2: accel,
            max_decel_m_s2: emergency.max(decel),
            usual_accel_m_s2: accel,
            usual_decel_m_s2: decel,
            min_gap_m,
            max_speed_m_s: max_speed,
            headway_s: tau,
        }),
        class,
    })
}

fn note_route_attrs(cx: &mut Cx, el: Node, id: &str) {
    note_unknown_attrs(cx, el, &format!("route '{id}'"), &["id", "edges", "color"]);
}

/// One note naming every attribute of `el` outside `known`: read past, not silently dropped.
fn note_unknown_attrs(cx: &mut Cx, el: Node, what: &str, known: &[&str]) {
    let unknown: Vec<&str> = el
        .attributes()
        .map(|a| a.name())
        .filter(|a| !known.contains(a))
        .collect();
    if !unknown.is_empty() {
        cx.note_at(
            el,
            format_args!("{what}: attribute(s) {} not modelled", unknown.join(", ")),
        );
    }
}

fn edge_attr(
    cx: &Cx,
    el: Node,
    label: &str,
    attr: &str,
    roads: &BTreeMap<&str, RoadId>,
) -> Result<RoadId> {
    let name = cx.req(el, label, attr)?;
    roads.get(name.trim()).copied().ok_or_else(|| {
        cx.attr_err(
            ErrorKind::UnknownReference,
            el,
            label,
            attr,
            format!(
                "edge '{}' is not a road of the network (unknown, or without a car lane)",
                clip(name)
            ),
        )
    })
}

/// A route's `edges`: known roads, each joined to the next by a movement.
fn read_edges(
    cx: &Cx,
    el: Node,
    label: &str,
    roads: &BTreeMap<&str, RoadId>,
    net: &RoadNet,
) -> Result<Vec<RoadId>> {
    let s = cx.req(el, label, "edges")?;
    let mut out = Vec::new();
    for name in s.split_whitespace() {
        let Some(&r) = roads.get(name) else {
            return Err(cx.attr_err(
                ErrorKind::UnknownReference,
                el,
                label,
                "edges",
                format!(
                    "edge '{}' is not a road of the network (unknown, or without a car lane)",
                    clip(name)
                ),
            ));
        };
        if let Some(&prev) = out.last() {
            if net.movement_between(prev, r).is_none() {
                return Err(cx.attr_err(
                    ErrorKind::RouteNotConnected,
                    el,
                    label,
                    "edges",
                    format!(
                        "edges '{}' and '{}' are not joined by a movement",
                        net.road(prev).name,
                        net.road(r).name
                    ),
                ));
            }
        }
        out.push(r);
    }
    if out.is_empty() {
        return Err(cx.attr_err(
            ErrorKind::BadValue,
            el,
            label,
            "edges",
            "a route needs at least one edge",
        ));
    }
    Ok(out)
}

/// Shortest route by length from road `from` to road `to` (both included), moving only along
/// movements, so it is drivable (the intersection graph alone would allow turns that do not
/// exist). Dijkstra over roads; cost = the length of each road entered, in millimetres so ties
/// break the same way on every platform (then by road id).
fn shortest_route(net: &RoadNet, from: RoadId, to: RoadId) -> Option<Vec<RoadId>> {
    let n = net.roads.len();
    let mut dist = vec![u64::MAX; n];
    let mut prev: Vec<Option<RoadId>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    dist[from.index()] = 0;
    heap.push(std::cmp::Reverse((0u64, from)));
    while let Some(std::cmp::Reverse((d, r))) = heap.pop() {
        if r == to {
            break;
        }
        if d > dist[r.index()] {
            continue;
        }
        let at = net.road(r).to;
        for &m in &net.intersection(at).movements {
            let mv = net.movement(m);
            if mv.from_road != r {
                continue;
            }
            let next = mv.to_road;
            let nd = d.saturating_add((net.road_length_m(next) * 1000.0).round() as u64);
            if nd < dist[next.index()] {
                dist[next.index()] = nd;
                prev[next.index()] = Some(r);
                heap.push(std::cmp::Reverse((nd, next)));
            }
        }
    }
    if dist[to.index()] == u64::MAX {
        return None;
    }
    let mut route = vec![to];
    let mut cur = to;
    while cur != from {
        cur = prev[cur.index()]?;
        route.push(cur);
    }
    route.reverse();
    Some(route)
}

/// A `<flow>`'s departure times, seconds, at most `budget` of them.
///
/// Following SUMO: departures start at `begin` (default 0) and stay before `end` (default 24 h).
/// - `vehsPerHour=v` or `period=p`: every `p = 3600 / v` s: `begin`, `begin + p`, … (`number`,
///   when also given, stops the flow after that many).
/// - `period="exp(r)"`: gaps drawn from an exponential distribution of rate `r` per second.
/// - `probability=q`: one chance per second, at `begin`, `begin + 1`, …, each taken with
///   probability `q`.
/// - `number=n` alone: `n` departures evenly spread, every `(end − begin) / n` s from `begin`.
fn expand_flow(cx: &Cx, el: Node, label: &str, seed: u64, budget: u64) -> Result<Vec<f64>> {
    let begin = cx.opt_num(el, label, "begin")?.unwrap_or(0.0);
    if begin < 0.0 {
        return Err(cx.attr_err(
            ErrorKind::BadValue,
            el,
            label,
            "begin",
            format!("begin must be ≥ 0 s, got {begin}"),
        ));
    }
    let end_attr = cx.opt_num(el, label, "end")?;
    let number = match el.attribute("number") {
        None => None,
        Some(s) => Some(s.trim().parse::<u64>().map_err(|_| {
            cx.attr_err(
                ErrorKind::BadValue,
                el,
                label,
                "number",
                format!("'number' must be a whole number ≥ 0, got '{}'", clip(s)),
            )
        })?),
    };
    let given: Vec<&str> = ["vehsPerHour", "period", "probability"]
        .into_iter()
        .filter(|a| el.attribute(*a).is_some())
        .collect();
    if given.len() > 1 {
        return Err(cx.attr_err(
            ErrorKind::Syntax,
            el,
            label,
            given[1],
            format!(
                "a flow takes only one of vehsPerHour, period and probability; got {}",
                given.join(" and ")
            ),
        ));
    }
    if given.is_empty() && number.is_none() {
        return Err(cx.err(
            ErrorKind::Syntax,
            el,
            label,
            "a flow needs one of vehsPerHour, period, probability or number",
        ));
    }
    if !given.is_empty() && end_attr.is_some() && number.is_some() {
        // SUMO refuses this too: the end would be given twice.
        return Err(cx.attr_err(
            ErrorKind::Syntax,
            el,
            label,
            "number",
            format!("a flow with {} takes 'end' or 'number', not both", given[0]),
        ));
    }
    if given.is_empty() && end_attr.is_none() {
        return Err(cx.attr_err(
            ErrorKind::Syntax,
            el,
            label,
            "end",
            "a flow given only 'number' needs 'end' to spread it over",
        ));
    }
    let end = end_attr.unwrap_or(FLOW_DEFAULT_END_S);
    if end < begin {
        return Err(cx.attr_err(
            ErrorKind::BadValue,
            el,
            label,
            "end",
            format!("end {end} s is before begin {begin} s"),
        ));
    }
    let cap = number.unwrap_or(u64::MAX).min(budget.saturating_add(1));
    let check = |count: u64| -> Result<()> {
        if count > budget {
            Err(too_many(cx, el, label))
        } else {
            Ok(())
        }
    };
    let even = |period: f64, attr: &str| -> Result<Vec<f64>> {
        if !(period > 0.0 && period.is_finite()) {
            return Err(cx.attr_err(
                ErrorKind::BadValue,
                el,
                label,
                attr,
                format!("'{attr}' must give a positive period, got {period} s"),
            ));
        }
        // How many departures fit before `end`, computed first so a huge flow is refused
        // before any is made.
        let fit = ((end - begin) / period).ceil();
        let count = if fit >= u64::MAX as f64 {
            u64::MAX
        } else {
            fit as u64
        };
        let count = count.min(number.unwrap_or(u64::MAX));
        check(count)?;
        Ok((0..count)
            .map(|i| begin + i as f64 * period)
            .filter(|t| *t < end)
            .collect())
    };
    match given.first().copied() {
        Some("vehsPerHour") => {
            let v = cx.num(el, label, "vehsPerHour")?;
            even(3600.0 / v, "vehsPerHour")
        }
        Some("period") => {
            let s = cx.req(el, label, "period")?.trim();
            if let Some(rate) = s.strip_prefix("exp(").and_then(|r| r.strip_suffix(')')) {
                let rate = cx.parse_num(el, label, "period", rate)?;
                if rate <= 0.0 {
                    return Err(cx.attr_err(
                        ErrorKind::BadValue,
                        el,
                        label,
                        "period",
                        format!("the rate of exp() must be positive, got {rate}"),
                    ));
                }
                // Expected count (end − begin) × rate; refuse beyond the budget before drawing.
                check(((end - begin) * rate).ceil().min(u64::MAX as f64) as u64)?;
                let mut rng = SplitMix64::new(seed);
                let mut out = Vec::new();
                let mut t = begin;
                loop {
                    t += -(1.0 - rng.next_f64()).ln() / rate;
                    if t >= end || out.len() as u64 >= cap {
                        break;
                    }
                    out.push(t);
                }
                check(out.len() as u64)?;
                Ok(out)
            } else {
                let p = cx.parse_num(el, label, "period", s)?;
                even(p, "period")
            }
        }
        Some("probability") => {
            let q = cx.num(el, label, "probability")?;
            if !(0.0..=1.0).contains(&q) {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    el,
                    label,
                    "probability",
                    format!("'probability' must lie in 0–1, got {q}"),
                ));
            }
            // One draw per second: the span bounds the work, so it is bounded like a count.
            check((end - begin).ceil() as u64)?;
            let mut rng = SplitMix64::new(seed);
            let mut out = Vec::new();
            let mut t = begin;
            while t < end && (out.len() as u64) < cap {
                if rng.next_f64() < q {
                    out.push(t);
                }
                t += 1.0;
            }
            Ok(out)
        }
        _ => {
            let n = number.expect("checked above");
            check(n)?;
            if n == 0 {
                return Ok(vec![]);
            }
            let period = (end - begin) / n as f64;
            Ok((0..n).map(|i| begin + i as f64 * period).collect())
        }
    }
}
