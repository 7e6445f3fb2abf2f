//! SUMO networks (`.net.xml`, as written by `netconvert`/`netgenerate`) into the same [`RoadNet`]
//! as `intersections.toml` and CityFlow JSON, through the common builder.
//!
//! Mapping (see `docs/sumo.md` for the full table):
//! - normal edges → roads; their lanes that allow passenger cars → lanes (SUMO counts lane 0 from
//!   the kerb, greenwave from the centre line, so the order is reversed); other lanes are skipped
//!   with a note;
//! - junctions → intersections: `traffic_light` → signalized, `dead_end` and fringe junctions
//!   (one neighbour only) → boundary nodes, every other type → unsignalized;
//! - connections between car lanes → lane links, grouped by (from edge, to edge) into movements,
//!   turn from `dir`, path through the junction from the internal lanes named by `via`;
//! - the first `tlLogic` program of each traffic light → signal groups (link indices whose
//!   movements always show the same letter) and stages (each run of green phases → a stage, the
//!   yellow and red phases after it → its yellow and all-red), each program then checked by
//!   [`SignalPlan::validate`].
//!
//! Whatever cannot be mapped is named in one line of [`SumoImport::notes`]; nothing is dropped
//! silently. Errors name the file, line:column and element/attribute.
//!
//! Beside networks: route files (`.rou.xml`) become a [`crate::Demand`] in [`demand`], and
//! additional files (`.add.xml`) bring induction loops and lane-area detectors as detectors and
//! cameras in [`detectors`] — through [`load_with_additional`], because the model takes sensors
//! only while it is built.

pub mod demand;
pub mod detectors;
mod signals;

use crate::builder::{Builder, LaneSpec, LinkSpec};
use crate::error::{ErrorKind, LoadError, Origin};
use crate::geometry::{self, Point};
use crate::ids::*;
use crate::model::*;
use crate::signal::{PlanError, SignalPlan};
use roxmltree::{Document, Node, ParsingOptions};
use std::collections::{BTreeMap, BTreeSet};

type Result<T> = std::result::Result<T, LoadError>;

/// Largest `.net.xml` the importer reads, bytes (128 MiB). The whole file and its parsed tree are
/// held in memory (the tree takes several times the text), so bigger files are refused before
/// reading rather than risk exhausting memory; such networks should be cut with `netconvert
/// --keep-edges.*` first.
pub const MAX_FILE_BYTES: u64 = 128 * 1024 * 1024;

/// Most XML nodes (elements, attributes' text, comments) parsed: a second guard on memory for
/// files under the byte cap that are made of tiny elements. The parsed tree takes about 75 bytes
/// a node (2,000,000 empty elements peaked at 155 MB in `greenwave check`, tests/cli_sweep.rs),
/// so 500,000 keeps a refused file well under 100 MB; a region's network of tens of thousands
/// of lanes is far below it.
const MAX_XML_NODES: u32 = 500_000;

/// SUMO's default lane width when a lane gives none, metres (`SUMO_const_laneWidth`).
const SUMO_DEFAULT_LANE_WIDTH_M: f64 = 3.2;

/// Plausible ranges for car lanes. Outside them the file is more likely wrong (units, a typo)
/// than describing a real road, so it is refused.
const LANE_WIDTH_RANGE_M: (f64, f64) = (1.0, 10.0);
/// Up to 100 m/s (360 km/h): above any road speed limit.
const LANE_SPEED_RANGE_M_S: (f64, f64) = (0.1, 100.0);
/// A lane up to 100 km long.
const LANE_LENGTH_MAX_M: f64 = 100_000.0;
/// Longest phase a program may hold, seconds (one hour).
const PHASE_MAX_S: f64 = 3600.0;

/// A SUMO network in greenwave's model, with what could not be mapped.
#[derive(Debug)]
pub struct SumoImport {
    pub net: RoadNet,
    /// One line per SUMO element (or attribute use) that greenwave does not model.
    pub notes: Vec<String>,
    /// Each imported traffic-light program as a greenwave plan, with the validator's verdict.
    pub programs: Vec<ProgramVerdict>,
}

/// One `tlLogic` program at one junction as a fixed-time [`SignalPlan`] and its verdict.
#[derive(Debug)]
pub struct ProgramVerdict {
    /// `tlLogic` id.
    pub tl_id: String,
    /// `programID`.
    pub program_id: String,
    /// `type`: static, actuated or delay_based.
    pub tl_type: String,
    pub intersection: IntersectionId,
    /// SUMO's own timing: each stage's split = its green + yellow + all-red phases.
    pub plan: SignalPlan,
    pub verdict: std::result::Result<(), PlanError>,
}

impl std::fmt::Display for ProgramVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tlLogic '{}' program '{}' ({}): {} stages, cycle {:.1} s, offset {:.1} s: ",
            self.tl_id,
            self.program_id,
            self.tl_type,
            self.plan.stages.len(),
            self.plan.cycle_s,
            self.plan.offset_s
        )?;
        match &self.verdict {
            Ok(()) => write!(f, "plan valid"),
            Err(e) => write!(f, "plan refused: {e}"),
        }
    }
}

/// True when `path` names a SUMO network: `*.net.xml` or `*.xml`.
pub fn is_sumo_path(path: &std::path::Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("xml")
}

/// Read a SUMO `.net.xml`. Refuses anything but a regular file of at most [`MAX_FILE_BYTES`].
pub fn load(path: &std::path::Path) -> Result<SumoImport> {
    let file = path.display().to_string();
    let text = read_text(path)?;
    parse(&text, &file)
}

/// Read a SUMO `.net.xml` and an additional file (`.add.xml`) whose induction loops and
/// lane-area detectors become the network's detectors and cameras (see [`detectors`]).
/// Detectors can only be added while the network is built (the model is validated once and
/// read-only afterwards), hence one call for both files.
pub fn load_with_additional(
    net_path: &std::path::Path,
    add_path: &std::path::Path,
) -> Result<SumoImport> {
    let net_file = net_path.display().to_string();
    let add_file = add_path.display().to_string();
    let net_text = read_text(net_path)?;
    let add_text = read_text(add_path)?;
    parse_with_additional(&net_text, &net_file, Some((&add_text, &add_file)))
}

/// A SUMO input file as text: a regular file of at most [`MAX_FILE_BYTES`], UTF-8.
pub(crate) fn read_text(path: &std::path::Path) -> Result<String> {
    crate::input::read_text(
        path,
        MAX_FILE_BYTES,
        "cut the network with netconvert --keep-edges.*, split route files",
    )
}

/// Parse XML with the importer's limits (no DTD, at most [`MAX_XML_NODES`] nodes).
pub(crate) fn parse_doc<'i>(text: &'i str, file: &str) -> Result<Document<'i>> {
    let opt = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, opt).map_err(|e| {
        let pos = e.pos();
        let msg = e.to_string();
        // roxmltree appends " at L:C"; the location is printed by LoadError itself.
        let msg = match msg.rfind(" at ") {
            Some(k) if msg[k + 4..].chars().all(|c| c.is_ascii_digit() || c == ':') => {
                msg[..k].to_string()
            }
            _ => msg,
        };
        let mut err =
            LoadError::new(ErrorKind::Syntax, format!("malformed XML: {msg}")).in_file(file);
        err.line_col = Some((pos.row as usize, pos.col as usize));
        err
    })
}

/// Parse a SUMO network held in memory; `file` names it in errors and notes.
pub fn parse(text: &str, file: &str) -> Result<SumoImport> {
    parse_with_additional(text, file, None)
}

/// [`parse`] with an optional additional file (text, name) of detectors.
pub fn parse_with_additional(
    text: &str,
    file: &str,
    additional: Option<(&str, &str)>,
) -> Result<SumoImport> {
    let doc = parse_doc(text, file)?;
    let add_doc = match additional {
        Some((t, f)) => Some((parse_doc(t, f)?, f)),
        None => None,
    };
    let mut cx = Cx {
        doc: &doc,
        file,
        notes: Vec::new(),
    };
    let mut add_cx = add_doc.as_ref().map(|(d, f)| Cx {
        doc: d,
        file: f,
        notes: Vec::new(),
    });
    let result = import(&mut cx, add_cx.as_mut());
    // Errors raised while reading the additional file already name it.
    result.map_err(|e| {
        if e.file == "<input>" {
            e.in_file(file)
        } else {
            e
        }
    })
}

/// Parsing context: the document (for positions), the file name and the notes collected.
struct Cx<'d, 'i> {
    doc: &'d Document<'i>,
    file: &'d str,
    notes: Vec<String>,
}

impl<'d, 'i> Cx<'d, 'i> {
    fn pos(&self, byte: usize) -> (usize, usize) {
        let p = self.doc.text_pos_at(byte);
        (p.row as usize, p.col as usize)
    }
    fn origin(&self, node: Node, label: &str) -> Origin {
        Origin {
            line_col: Some(self.pos(node.range().start)),
            field: Some(label.to_string()),
        }
    }
    fn err(&self, kind: ErrorKind, node: Node, label: &str, msg: impl Into<String>) -> LoadError {
        LoadError::new(kind, msg).at(&self.origin(node, label))
    }
    /// An error pointing at an attribute's value (or at its element when absent).
    fn attr_err(
        &self,
        kind: ErrorKind,
        node: Node,
        label: &str,
        attr: &str,
        msg: impl Into<String>,
    ) -> LoadError {
        let at = node
            .attribute_node(attr)
            .map_or(node.range().start, |a| a.range_value().start);
        let mut e = LoadError::new(kind, msg);
        e.line_col = Some(self.pos(at));
        e.field = Some(format!("{label}.{attr}"));
        e
    }
    fn note_at(&mut self, node: Node, msg: impl std::fmt::Display) {
        let (l, c) = self.pos(node.range().start);
        self.notes
            .push(format!("{}:{l}:{c}: note: {msg}", self.file));
    }
    fn req<'a>(&self, node: Node<'a, 'i>, label: &str, attr: &str) -> Result<&'a str> {
        node.attribute(attr).ok_or_else(|| {
            self.attr_err(
                ErrorKind::Syntax,
                node,
                label,
                attr,
                format!("<{}> lacks the attribute '{attr}'", node.tag_name().name()),
            )
        })
    }
    fn num(&self, node: Node, label: &str, attr: &str) -> Result<f64> {
        let s = self.req(node, label, attr)?;
        self.parse_num(node, label, attr, s)
    }
    fn opt_num(&self, node: Node, label: &str, attr: &str) -> Result<Option<f64>> {
        match node.attribute(attr) {
            None => Ok(None),
            Some(s) => self.parse_num(node, label, attr, s).map(Some),
        }
    }
    fn parse_num(&self, node: Node, label: &str, attr: &str, s: &str) -> Result<f64> {
        match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.attr_err(
                ErrorKind::Syntax,
                node,
                label,
                attr,
                format!("'{attr}' must be a finite number, got '{}'", clip(s)),
            )),
        }
    }
    fn index(&self, node: Node, label: &str, attr: &str) -> Result<usize> {
        let s = self.req(node, label, attr)?;
        s.trim().parse::<u16>().map(usize::from).map_err(|_| {
            self.attr_err(
                ErrorKind::Syntax,
                node,
                label,
                attr,
                format!("'{attr}' must be a whole number 0–65535, got '{}'", clip(s)),
            )
        })
    }
    /// `"x,y x,y …"` into points; at least two, all finite.
    fn shape(&self, node: Node, label: &str) -> Result<Vec<Point>> {
        let s = self.req(node, label, "shape")?;
        let bad = |why: &str| {
            self.attr_err(
                ErrorKind::BadValue,
                node,
                label,
                "shape",
                format!("shape {why}: '{}'", clip(s)),
            )
        };
        let mut pts = Vec::new();
        for pair in s.split_whitespace() {
            let mut it = pair.split(',');
            let (Some(x), Some(y)) = (it.next(), it.next()) else {
                return Err(bad("needs x,y pairs"));
            };
            // A third coordinate (z) is allowed and ignored: greenwave is planar.
            let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else {
                return Err(bad("has a coordinate that is not a number"));
            };
            if !(x.is_finite() && y.is_finite()) {
                return Err(bad("has a coordinate that is not finite"));
            }
            pts.push(Point::new(x, y));
        }
        pts.dedup_by(|a, b| a.distance(*b) < 1e-9);
        if pts.len() < 2 {
            return Err(bad("needs at least two distinct points"));
        }
        Ok(pts)
    }
}

// First 40 characters of a value, for error messages about huge attributes.
use crate::error::clip;

/// A lane of a normal edge as SUMO gives it.
struct SLane<'a, 'i> {
    node: Node<'a, 'i>,
    id: String,
    speed_m_s: f64,
    length_m: f64,
    width_m: f64,
    shape: Vec<Point>,
    car: bool,
}

struct SEdge<'a, 'i> {
    node: Node<'a, 'i>,
    id: String,
    from: String,
    to: String,
    /// By SUMO index (0 = kerb side).
    lanes: Vec<SLane<'a, 'i>>,
    /// Greenwave road, when the edge has a car lane and was imported.
    road: Option<RoadId>,
    /// SUMO lane index → greenwave lane index (None for skipped lanes).
    gw_index: Vec<Option<usize>>,
}

struct SJunction<'a, 'i> {
    node: Node<'a, 'i>,
    id: String,
    kind: String,
    point: Point,
}

/// A connection between two car lanes of normal edges.
struct SConn<'a, 'i> {
    node: Node<'a, 'i>,
    label: String,
    from_edge: usize,
    to_edge: usize,
    from_lane: usize,
    to_lane: usize,
    via: Option<String>,
    tl: Option<String>,
    link_index: Option<usize>,
    turn: Option<TurnKind>,
}

/// Whether a lane's `allow`/`disallow` lets passenger cars on it.
fn allows_cars(node: Node) -> bool {
    let has = |list: &str| {
        list.split_whitespace()
            .any(|c| c == "passenger" || c == "all")
    };
    match (node.attribute("allow"), node.attribute("disallow")) {
        (Some(a), _) => has(a),
        (None, Some(d)) => !has(d),
        (None, None) => true,
    }
}

fn turn_of(dir: &str) -> Option<Option<TurnKind>> {
    Some(match dir {
        "s" => Some(TurnKind::Through),
        "l" | "L" => Some(TurnKind::Left),
        "r" | "R" => Some(TurnKind::Right),
        "t" => Some(TurnKind::UTurn),
        // SUMO's "invalid": no direction known; greenwave judges it from the geometry.
        "invalid" => None,
        _ => return None,
    })
}

fn import(cx: &mut Cx, mut additional: Option<&mut Cx>) -> Result<SumoImport> {
    let root = cx.doc.root_element();
    if root.tag_name().name() != "net" {
        return Err(cx.err(
            ErrorKind::Syntax,
            root,
            root.tag_name().name(),
            format!(
                "root element is <{}>; a SUMO network starts with <net>",
                root.tag_name().name()
            ),
        ));
    }

    // ---- pass 1: read the elements ----
    let mut edges: Vec<SEdge> = Vec::new();
    let mut edge_ix: BTreeMap<String, usize> = BTreeMap::new();
    let mut internal_lanes: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let mut all_edge_ids: BTreeSet<String> = BTreeSet::new();
    let mut junctions: Vec<SJunction> = Vec::new();
    let mut junction_ix: BTreeMap<String, usize> = BTreeMap::new();
    let mut conn_nodes = Vec::new();
    let mut tl_nodes: Vec<Node> = Vec::new();
    let mut ignored: BTreeMap<String, (Node, usize)> = BTreeMap::new();
    for el in root.children().filter(|n| n.is_element()) {
        match el.tag_name().name() {
            "edge" => {
                let id = cx.req(el, "edge", "id")?.to_string();
                let label = format!("edge[{id}]");
                if !all_edge_ids.insert(id.clone()) {
                    return Err(cx.attr_err(
                        ErrorKind::DuplicateId,
                        el,
                        &label,
                        "id",
                        format!("duplicate edge id '{id}'"),
                    ));
                }
                match el.attribute("function").unwrap_or("normal") {
                    "internal" => {
                        for l in el.children().filter(|n| n.has_tag_name("lane")) {
                            let lid = cx.req(l, &label, "id")?.to_string();
                            let shape = cx.shape(l, &format!("lane[{lid}]"))?;
                            internal_lanes.insert(lid, shape);
                        }
                    }
                    "crossing" => cx.note_at(
                        el,
                        format_args!(
                            "pedestrian crossing '{id}' not modelled (greenwave has no pedestrians on crossings; its link indices are ignored)"
                        ),
                    ),
                    "walkingarea" => cx.note_at(
                        el,
                        format_args!("walking area '{id}' not modelled (pedestrians)"),
                    ),
                    "normal" => {
                        let e = read_edge(cx, el, id, &label)?;
                        edge_ix.insert(e.id.clone(), edges.len());
                        edges.push(e);
                    }
                    other => cx.note_at(
                        el,
                        format_args!("edge '{id}' of function '{other}' not imported"),
                    ),
                }
            }
            "junction" => {
                let id = cx.req(el, "junction", "id")?.to_string();
                let label = format!("junction[{id}]");
                let kind = cx.req(el, &label, "type")?.to_string();
                if kind == "internal" {
                    continue; // a waiting position inside a junction: covered by its internal lanes
                }
                let point = Point::new(cx.num(el, &label, "x")?, cx.num(el, &label, "y")?);
                if junction_ix.insert(id.clone(), junctions.len()).is_some() {
                    return Err(cx.attr_err(
                        ErrorKind::DuplicateId,
                        el,
                        &label,
                        "id",
                        format!("duplicate junction id '{id}'"),
                    ));
                }
                junctions.push(SJunction {
                    node: el,
                    id,
                    kind,
                    point,
                });
            }
            "connection" => conn_nodes.push(el),
            "tlLogic" => tl_nodes.push(el),
            "roundabout" => {
                let nodes = el.attribute("nodes").unwrap_or("");
                cx.note_at(
                    el,
                    format_args!(
                        "roundabout of junctions [{nodes}] imported as plain unsignalized junctions (no roundabout priority rules)"
                    ),
                );
            }
            "prohibition" => {
                let p = el.attribute("prohibitor").unwrap_or("?");
                let q = el.attribute("prohibited").unwrap_or("?");
                cx.note_at(
                    el,
                    format_args!(
                        "prohibition {p} over {q} not modelled (conflicts come from geometry)"
                    ),
                );
            }
            // Projection and edge-type defaults: every value greenwave needs is on the lanes.
            "location" | "type" | "param" => {}
            other => {
                ignored
                    .entry(other.to_string())
                    .and_modify(|e| e.1 += 1)
                    .or_insert((el, 1));
            }
        }
    }
    for (name, (el, n)) in &ignored {
        cx.note_at(*el, format_args!("{n} <{name}> element(s) not imported"));
    }

    // ---- connections between car lanes ----
    // internal (from internal lane) → the next internal lane on the same path.
    let mut internal_next: BTreeMap<String, String> = BTreeMap::new();
    let mut conns: Vec<SConn> = Vec::new();
    for el in conn_nodes {
        let from = cx.req(el, "connection", "from")?;
        let to = cx.req(el, "connection", "to")?;
        let label = format!("connection[{from}->{to}]");
        let fl = cx.index(el, &label, "fromLane")?;
        let tl_ = cx.index(el, &label, "toLane")?;
        if from.starts_with(':') {
            if let Some(via) = el.attribute("via") {
                internal_next.insert(format!("{from}_{fl}"), via.to_string());
            }
            continue;
        }
        let find = |name: &str, attr: &str| -> Result<Option<usize>> {
            match edge_ix.get(name) {
                Some(&k) => Ok(Some(k)),
                // Walking areas and crossings: pedestrian connections, noted with their edges.
                None if all_edge_ids.contains(name) => Ok(None),
                None => Err(cx.attr_err(
                    ErrorKind::UnknownReference,
                    el,
                    &label,
                    attr,
                    format!("connection names unknown edge '{name}'"),
                )),
            }
        };
        let (Some(fe), Some(te)) = (find(from, "from")?, find(to, "to")?) else {
            continue;
        };
        for (e, lane, attr) in [(fe, fl, "fromLane"), (te, tl_, "toLane")] {
            if lane >= edges[e].lanes.len() {
                return Err(cx.attr_err(
                    ErrorKind::UnknownReference,
                    el,
                    &label,
                    attr,
                    format!(
                        "edge '{}' has {} lanes; {attr} {lane} does not exist",
                        edges[e].id,
                        edges[e].lanes.len()
                    ),
                ));
            }
        }
        if edges[fe].to != edges[te].from {
            return Err(cx.err(
                ErrorKind::RouteNotConnected,
                el,
                &label,
                format!(
                    "edge '{from}' ends at junction '{}' but edge '{to}' starts at '{}'",
                    edges[fe].to, edges[te].from
                ),
            ));
        }
        let (fcar, tcar) = (edges[fe].lanes[fl].car, edges[te].lanes[tl_].car);
        if !fcar {
            continue; // from a non-car lane: that lane is already noted as skipped
        }
        if !tcar {
            cx.note_at(
                el,
                format_args!(
                    "connection {from}_{fl} → {to}_{tl_} skipped: the target lane does not allow passenger cars"
                ),
            );
            continue;
        }
        let dir = cx.req(el, &label, "dir")?;
        let turn = turn_of(dir).ok_or_else(|| {
            cx.attr_err(
                ErrorKind::Syntax,
                el,
                &label,
                "dir",
                format!(
                    "unknown turn direction '{}' (SUMO uses s, l, L, r, R, t)",
                    clip(dir)
                ),
            )
        })?;
        let link_index = match el.attribute("linkIndex") {
            Some(_) => Some(cx.index(el, &label, "linkIndex")?),
            None => None,
        };
        conns.push(SConn {
            node: el,
            label: format!("{from}_{fl}->{to}_{tl_}"),
            from_edge: fe,
            to_edge: te,
            from_lane: fl,
            to_lane: tl_,
            via: el.attribute("via").map(str::to_string),
            tl: el.attribute("tl").map(str::to_string),
            link_index,
            turn,
        });
    }

    // ---- junctions → intersections ----
    for e in &edges {
        for (attr, j) in [("from", &e.from), ("to", &e.to)] {
            if !junction_ix.contains_key(j) {
                return Err(cx.attr_err(
                    ErrorKind::UnknownReference,
                    e.node,
                    &format!("edge[{}]", e.id),
                    attr,
                    format!("edge '{}' names unknown junction '{j}'", e.id),
                ));
            }
        }
    }
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut neighbours: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for e in edges.iter_mut() {
        let (a, b) = (junction_ix[&e.from], junction_ix[&e.to]);
        if !e.lanes.iter().any(|l| l.car) {
            continue;
        }
        if a == b {
            let msg = format!(
                "edge '{}' starts and ends at junction '{}': loops are not imported",
                e.id, e.from
            );
            let (l, c) = cx.pos(e.node.range().start);
            cx.notes.push(format!("{}:{l}:{c}: note: {msg}", cx.file));
            e.lanes.iter_mut().for_each(|l| l.car = false);
            continue;
        }
        used.extend([a, b]);
        neighbours.entry(a).or_default().insert(b);
        neighbours.entry(b).or_default().insert(a);
    }
    conns.retain(|c| {
        edges[c.from_edge].lanes[c.from_lane].car && edges[c.to_edge].lanes[c.to_lane].car
    });
    // Indexes built once, so that big networks import in O(n log n), not O(junctions × links).
    let mut conns_at: BTreeMap<usize, usize> = BTreeMap::new();
    let mut lane_turns: BTreeMap<(usize, usize), Vec<TurnKind>> = BTreeMap::new();
    for c in &conns {
        *conns_at
            .entry(junction_ix[&edges[c.from_edge].to])
            .or_default() += 1;
        if let Some(t) = c.turn {
            let v = lane_turns.entry((c.from_edge, c.from_lane)).or_default();
            if !v.contains(&t) {
                v.push(t);
            }
        }
    }

    // Per junction, connections grouped by (from edge, to edge), in file order.
    let mut groups: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    let mut group_at: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (k, c) in conns.iter().enumerate() {
        let key = (c.from_edge, c.to_edge);
        match group_at.get(&key) {
            Some(&g) => groups[g].1.push(k),
            None => {
                group_at.insert(key, groups.len());
                groups.push((key, vec![k]));
            }
        }
    }
    let mut groups_at: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (g, ((fe, _), _)) in groups.iter().enumerate() {
        groups_at
            .entry(junction_ix[&edges[*fe].to])
            .or_default()
            .push(g);
    }
    let programs = signals::read_programs(cx, &tl_nodes)?;
    let mut plans: Vec<signals::JunctionPlan> = Vec::new();
    if used.is_empty() {
        return Err(cx.err(
            ErrorKind::BadValue,
            root,
            "net",
            "the network has no edge with a lane that allows passenger cars: nothing to import",
        ));
    }
    let name = std::path::Path::new(cx.file)
        .file_name()
        .map_or("sumo".into(), |s| {
            let s = s.to_string_lossy();
            s.strip_suffix(".net.xml")
                .or_else(|| s.strip_suffix(".xml"))
                .unwrap_or(&s)
                .to_string()
        });
    let mut b = Builder::new(name);
    let mut inter_of: BTreeMap<usize, IntersectionId> = BTreeMap::new();
    let mut boundary_skipped = 0usize;
    for (k, j) in junctions.iter().enumerate() {
        if !used.contains(&k) {
            cx.note_at(
                j.node,
                format_args!("junction '{}' not imported: no car lane reaches it", j.id),
            );
            continue;
        }
        let fringe = neighbours.get(&k).is_some_and(|n| n.len() == 1);
        let n_conns = conns_at.get(&k).copied().unwrap_or(0);
        let kind = match j.kind.as_str() {
            "dead_end" => IntersectionKind::Boundary,
            "traffic_light" | "traffic_light_right_on_red" if !fringe || n_conns > 0 => {
                let mine: Vec<((usize, usize), Vec<usize>)> = groups_at
                    .get(&k)
                    .map(|gs| gs.iter().map(|&g| groups[g].clone()).collect())
                    .unwrap_or_default();
                match signals::plan_junction(cx, k, j, &mine, &conns, &programs)? {
                    Some(p) => {
                        plans.push(p);
                        IntersectionKind::Signalized
                    }
                    None => IntersectionKind::Unsignalized,
                }
            }
            _ if fringe => {
                if n_conns > 0 {
                    cx.note_at(
                        j.node,
                        format_args!(
                            "junction '{}' ({}) has a single neighbour: imported as a boundary node; its {n_conns} connection(s) (turnarounds) are not movements",
                            j.id, j.kind
                        ),
                    );
                    boundary_skipped += n_conns;
                }
                IntersectionKind::Boundary
            }
            "priority" | "priority_stop" | "right_before_left" | "left_before_right"
            | "allway_stop" | "unregulated" | "zipper" => IntersectionKind::Unsignalized,
            other => {
                cx.note_at(
                    j.node,
                    format_args!(
                        "junction '{}' of type '{other}' imported as an unsignalized junction",
                        j.id
                    ),
                );
                IntersectionKind::Unsignalized
            }
        };
        if j.kind == "traffic_light_right_on_red" {
            cx.note_at(
                j.node,
                format_args!("junction '{}': right turn on red is not modelled (right turns follow their signal)", j.id),
            );
        }
        let origin = cx.origin(j.node, &format!("junction[{}]", j.id));
        // SUMO lane shapes already end at the junction's edge: no further trimming.
        let id = b.add_intersection(j.id.clone(), kind, j.point, 0.0, None, origin)?;
        inter_of.insert(k, id);
        if let Some(p) = plans.last_mut().filter(|p| p.junction == k) {
            p.intersection = Some(id);
        }
    }

    // ---- edges → roads ----
    for (ek, e) in edges.iter_mut().enumerate() {
        let label = format!("edge[{}]", e.id);
        let mut car: Vec<usize> = (0..e.lanes.len()).filter(|&i| e.lanes[i].car).collect();
        if car.is_empty() {
            continue;
        }
        car.reverse(); // greenwave lane 0 is the inner lane: SUMO's highest index
        for (gw, &si) in car.iter().enumerate() {
            e.gw_index[si] = Some(gw);
        }
        let inner = &e.lanes[car[0]];
        // The builder lays lanes out to the right of the road's line: give it the line along
        // the inner lane's left edge, so lane 0 comes out on SUMO's inner lane shape.
        let points = geometry::offset_right(&inner.shape, -inner.width_m / 2.0);
        let specs = car
            .iter()
            .map(|&si| LaneSpec {
                width_m: e.lanes[si].width_m,
                speed_limit_m_s: e.lanes[si].speed_m_s,
                turns: {
                    let mut t = lane_turns.get(&(ek, si)).cloned().unwrap_or_default();
                    t.sort();
                    t
                },
                length_m: None,
            })
            .collect();
        let from = inter_of[&junction_ix[&e.from]];
        let to = inter_of[&junction_ix[&e.to]];
        let origin = cx.origin(e.node, &label);
        e.road = Some(b.add_road(e.id.clone(), from, to, Some(points), specs, origin)?);
    }
    // Lane lengths: greenwave measures the shape; say so where SUMO's length attribute differs.
    for e in &edges {
        let Some(road) = e.road else { continue };
        for (si, l) in e.lanes.iter().enumerate() {
            let Some(gw) = e.gw_index[si] else { continue };
            let lane = b.lane_of(road, gw).expect("lane just added");
            let ours = b.lane_length(lane);
            if (ours - l.length_m).abs() > 1.0_f64.max(0.01 * l.length_m) {
                let msg = format!(
                    "lane '{}': length {:.2} m differs from its shape ({ours:.2} m); greenwave uses the shape",
                    l.id, l.length_m
                );
                let (ln, c) = cx.pos(l.node.range().start);
                cx.notes.push(format!("{}:{ln}:{c}: note: {msg}", cx.file));
            }
        }
    }

    // ---- connections → movements ----
    let mut movement_of: BTreeMap<(usize, usize), MovementId> = BTreeMap::new();
    let mut link_indices: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for ((fe, te), members) in &groups {
        let at = inter_of[&junction_ix[&edges[*fe].to]];
        if b.intersection(at).kind == IntersectionKind::Boundary {
            continue; // counted in the boundary note above
        }
        let mut links = Vec::new();
        let mut turn = None;
        for &k in members {
            let c = &conns[k];
            match (turn, c.turn) {
                (None, t) => turn = t,
                (Some(kept), Some(t)) if t != kept => cx.note_at(
                    c.node,
                    format_args!(
                        "connection {}: direction differs from the other lanes of its movement; greenwave keeps {kept:?}",
                        c.label
                    ),
                ),
                _ => {}
            }
            let points = match &c.via {
                None => None,
                Some(v) => Some(via_shape(cx, c, v, &internal_lanes, &internal_next)?),
            };
            links.push(LinkSpec {
                from_index: edges[*fe].gw_index[c.from_lane].expect("car lane"),
                to_index: edges[*te].gw_index[c.to_lane].expect("car lane"),
                points,
                primary: true,
            });
        }
        let first = &conns[members[0]];
        let origin = cx.origin(first.node, &format!("connection[{}]", first.label));
        let m = b.add_movement(
            edges[*fe].road.expect("imported"),
            edges[*te].road.expect("imported"),
            turn,
            links,
            origin,
        )?;
        movement_of.insert((*fe, *te), m);
        link_indices.insert(
            (*fe, *te),
            members
                .iter()
                .filter_map(|&k| conns[k].link_index)
                .collect(),
        );
    }

    // ---- traffic lights → signal groups and stages ----
    for plan in &mut plans {
        signals::build(&mut b, plan, &movement_of, &link_indices)?;
    }
    // ---- detectors from an additional file ----
    if let Some(add) = additional.as_deref_mut() {
        let mut lanes = BTreeMap::new();
        for e in &edges {
            let Some(road) = e.road else { continue };
            for (si, l) in e.lanes.iter().enumerate() {
                if let Some(gw) = e.gw_index[si] {
                    let lane = b.lane_of(road, gw).expect("lane just added");
                    lanes.insert(
                        l.id.clone(),
                        detectors::LaneRef {
                            lane,
                            sumo_length_m: l.length_m,
                            length_m: b.lane_length(lane),
                            end: b.road(road).to,
                        },
                    );
                }
            }
        }
        let skipped: BTreeSet<&str> = edges
            .iter()
            .flat_map(|e| e.lanes.iter())
            .filter(|l| !lanes.contains_key(&l.id))
            .map(|l| l.id.as_str())
            .collect();
        detectors::add(add, &mut b, &lanes, &skipped).map_err(|e| e.in_file(add.file))?;
    }
    let net = b.finish()?;
    let verdicts = signals::verdicts(cx, &net, &plans, &movement_of)?;
    if boundary_skipped > 0 {
        cx.notes.push(format!(
            "{}: note: {boundary_skipped} connection(s) at boundary nodes not imported as movements",
            cx.file
        ));
    }
    for v in &verdicts {
        cx.notes.push(format!("{}: {v}", cx.file));
    }
    if let Some(add) = additional {
        cx.notes.append(&mut add.notes);
    }
    Ok(SumoImport {
        net,
        notes: std::mem::take(&mut cx.notes),
        programs: verdicts,
    })
}

fn read_edge<'a, 'i>(
    cx: &mut Cx<'_, 'i>,
    el: Node<'a, 'i>,
    id: String,
    label: &str,
) -> Result<SEdge<'a, 'i>> {
    let from = cx.req(el, label, "from")?.to_string();
    let to = cx.req(el, label, "to")?.to_string();
    let lane_nodes: Vec<Node> = el.children().filter(|n| n.has_tag_name("lane")).collect();
    if lane_nodes.is_empty() {
        return Err(cx.err(
            ErrorKind::BadValue,
            el,
            label,
            format!("edge '{id}' has no <lane>"),
        ));
    }
    let mut lanes: Vec<Option<SLane>> = (0..lane_nodes.len()).map(|_| None).collect();
    for l in &lane_nodes {
        let l = *l;
        let lid = cx.req(l, label, "id")?.to_string();
        let ll = format!("lane[{lid}]");
        let index = cx.index(l, &ll, "index")?;
        if index >= lane_nodes.len() || lanes[index].is_some() {
            return Err(cx.attr_err(
                ErrorKind::BadValue,
                l,
                &ll,
                "index",
                format!(
                    "lane index {index} repeats or is out of 0..{} for edge '{id}'",
                    lane_nodes.len()
                ),
            ));
        }
        let car = allows_cars(l);
        let speed_m_s = cx.num(l, &ll, "speed")?;
        let length_m = cx.num(l, &ll, "length")?;
        let width_m = cx
            .opt_num(l, &ll, "width")?
            .unwrap_or(SUMO_DEFAULT_LANE_WIDTH_M);
        let shape = cx.shape(l, &ll)?;
        if car {
            let range = |attr: &str, v: f64, (lo, hi): (f64, f64), unit: &str| {
                if v < lo || v > hi {
                    Err(cx.attr_err(
                        ErrorKind::BadValue,
                        l,
                        &ll,
                        attr,
                        format!("{attr} {v} {unit} is outside the plausible {lo}–{hi} {unit} for a car lane"),
                    ))
                } else {
                    Ok(())
                }
            };
            range("speed", speed_m_s, LANE_SPEED_RANGE_M_S, "m/s")?;
            range("width", width_m, LANE_WIDTH_RANGE_M, "m")?;
            if !(length_m > 0.0 && length_m <= LANE_LENGTH_MAX_M) {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    l,
                    &ll,
                    "length",
                    format!(
                        "length {length_m} m must be above 0 and at most {LANE_LENGTH_MAX_M} m"
                    ),
                ));
            }
        } else {
            let what = l
                .attribute("allow")
                .map(|a| format!("allow=\"{}\"", clip(a)))
                .or_else(|| {
                    l.attribute("disallow")
                        .map(|d| format!("disallow=\"{}\"", clip(d)))
                })
                .unwrap_or_default();
            cx.note_at(
                l,
                format_args!("lane '{lid}' skipped: it does not allow passenger cars ({what})"),
            );
        }
        lanes[index] = Some(SLane {
            node: l,
            id: lid,
            speed_m_s,
            length_m,
            width_m,
            shape,
            car,
        });
    }
    let lanes: Vec<SLane> = lanes
        .into_iter()
        .map(|l| l.expect("every index filled"))
        .collect();
    let n = lanes.len();
    Ok(SEdge {
        node: el,
        id,
        from,
        to,
        lanes,
        road: None,
        gw_index: vec![None; n],
    })
}

/// The path of a connection through its junction: the internal lane named by `via`, followed
/// through any further internal lanes (SUMO splits left turns at internal junctions).
fn via_shape(
    cx: &Cx,
    c: &SConn,
    via: &str,
    internal_lanes: &BTreeMap<String, Vec<Point>>,
    internal_next: &BTreeMap<String, String>,
) -> Result<Vec<Point>> {
    let mut pts: Vec<Point> = Vec::new();
    let mut lane = via.to_string();
    // SUMO chains at most a few internal lanes; the bound also stops a cyclic chain.
    for _ in 0..8 {
        let Some(shape) = internal_lanes.get(&lane) else {
            return Err(cx.attr_err(
                ErrorKind::UnknownReference,
                c.node,
                &format!("connection[{}]", c.label),
                "via",
                format!("internal lane '{lane}' does not exist"),
            ));
        };
        for p in shape {
            if pts.last().is_none_or(|q| q.distance(*p) > 1e-9) {
                pts.push(*p);
            }
        }
        match internal_next.get(&lane) {
            Some(next) => lane = next.clone(),
            None => break,
        }
    }
    Ok(pts)
}
