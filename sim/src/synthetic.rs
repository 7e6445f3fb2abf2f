//! Seeded synthetic networks and demand for benchmarks and tests: an `nx × ny` grid of
//! signalized intersections, `spacing_m` apart, ringed by boundary nodes, every road two-way
//! with three lanes (left, through, right), four stages per intersection (N–S through + right,
//! N–S left, E–W through + right, E–W left; right turns permissive).

use crate::SimError;
use roadnet::rng::SplitMix64;
use roadnet::{Demand, IntersectionKind, RoadId, RoadNet, Trip, VehicleParams};
use std::fmt::Write;

/// Grid and demand parameters.
#[derive(Clone, Debug)]
pub struct GridSpec {
    pub nx: usize,
    pub ny: usize,
    pub spacing_m: f64,
    /// Vehicles to release.
    pub vehicles: usize,
    /// Departures spread uniformly over this many seconds.
    pub departure_window_s: f64,
    pub seed: u64,
}

impl GridSpec {
    /// The benchmark grid of the issue: 20 × 20, 15,000 vehicles over 30 min.
    pub fn benchmark() -> GridSpec {
        GridSpec {
            nx: 20,
            ny: 20,
            spacing_m: 300.0,
            vehicles: 15_000,
            departure_window_s: 1800.0,
            seed: 1,
        }
    }
}

fn name(x: i64, y: i64) -> String {
    format!("n{x}_{y}")
}

/// The grid as `intersections.toml` text.
pub fn grid_toml(nx: usize, ny: usize, spacing_m: f64) -> String {
    let (nx, ny) = (nx as i64, ny as i64);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "name = \"grid{nx}x{ny}\"\n[defaults]\nmin_green_s = 10.0\ngreen_s = 25.0\nyellow_s = 3.0\nall_red_s = 2.0\nspeed_limit_m_s = 13.89\nintersection_width_m = 20.0\n"
    );
    let inside = |x: i64, y: i64| (1..=nx).contains(&x) && (1..=ny).contains(&y);
    let exists = |x: i64, y: i64| {
        (0..=nx + 1).contains(&x)
            && (0..=ny + 1).contains(&y)
            && (inside(x, y)
                || (inside(x.clamp(1, nx), y.clamp(1, ny))
                    && ((x == 0 || x == nx + 1) != (y == 0 || y == ny + 1))))
    };
    let mut unit = 1u32;
    for y in 0..=ny + 1 {
        for x in 0..=nx + 1 {
            if !exists(x, y) {
                continue;
            }
            let (px, py) = (x as f64 * spacing_m, y as f64 * spacing_m);
            if !inside(x, y) {
                let _ = writeln!(
                    t,
                    "[[intersection]]\nid = \"{}\"\nkind = \"boundary\"\nx_m = {px}\ny_m = {py}\n",
                    name(x, y)
                );
                continue;
            }
            let _ = writeln!(
                t,
                "[[intersection]]\nid = \"{}\"\nx_m = {px}\ny_m = {py}\ncontroller = {{ host = \"10.0.0.1\", port = 502, unit_id = {} }}\n",
                name(x, y),
                unit % 247 + 1
            );
            unit += 1;
            // Approaches: from south (moving north), north, west, east.
            let from = |dx: i64, dy: i64| format!("r{}_{}", name(x + dx, y + dy), name(x, y));
            let (s, n, w, e) = (from(0, -1), from(0, 1), from(-1, 0), from(1, 0));
            let groups = [
                ("ns_t", vec![format!("{s}:T"), format!("{n}:T")], false),
                ("ns_r", vec![format!("{s}:R"), format!("{n}:R")], true),
                ("ns_l", vec![format!("{s}:L"), format!("{n}:L")], false),
                ("ew_t", vec![format!("{w}:T"), format!("{e}:T")], false),
                ("ew_r", vec![format!("{w}:R"), format!("{e}:R")], true),
                ("ew_l", vec![format!("{w}:L"), format!("{e}:L")], false),
            ];
            for (id, mv, permissive) in &groups {
                let list: Vec<String> = mv.iter().map(|m| format!("\"{m}\"")).collect();
                let _ = writeln!(
                    t,
                    "[[intersection.signal_group]]\nid = \"{id}\"\nmovements = [{}]\npermissive = {permissive}\n",
                    list.join(", ")
                );
            }
            for (id, gs) in [
                ("ns", "\"ns_t\", \"ns_r\""),
                ("nsl", "\"ns_l\""),
                ("ew", "\"ew_t\", \"ew_r\""),
                ("ewl", "\"ew_l\""),
            ] {
                let _ = writeln!(
                    t,
                    "[[intersection.stage]]\nid = \"{id}\"\ngroups = [{gs}]\n"
                );
            }
            // Opposing left turns pass each other (right-hand traffic): not a conflict.
            let _ = writeln!(
                t,
                "[[intersection.conflict]]\nmovements = [\"{s}:L\", \"{n}:L\"]\nconflict = \"none\"\n\n[[intersection.conflict]]\nmovements = [\"{w}:L\", \"{e}:L\"]\nconflict = \"none\"\n"
            );
        }
    }
    for y in 0..=ny + 1 {
        for x in 0..=nx + 1 {
            if !exists(x, y) {
                continue;
            }
            for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let (x2, y2) = (x + dx, y + dy);
                if !exists(x2, y2) || (!inside(x, y) && !inside(x2, y2)) {
                    continue;
                }
                let lanes = if inside(x2, y2) {
                    "[{ turns = \"L\" }, { turns = \"T\" }, { turns = \"R\" }]"
                } else {
                    "[{}, {}, {}]"
                };
                let _ = writeln!(
                    t,
                    "[[road]]\nid = \"r{}_{}\"\nfrom = \"{}\"\nto = \"{}\"\nlanes = {lanes}\n",
                    name(x, y),
                    name(x2, y2),
                    name(x, y),
                    name(x2, y2)
                );
            }
        }
    }
    t
}

/// Build the grid network and a seeded demand: each vehicle enters at a random boundary road
/// and leaves at another, along the network's shortest path.
pub fn grid(spec: &GridSpec) -> Result<(RoadNet, Demand), SimError> {
    let text = grid_toml(spec.nx, spec.ny, spec.spacing_m);
    let net = roadnet::config::parse_toml(&text, "<synthetic grid>")
        .map_err(|e| SimError::Config(format!("synthetic grid: {e}")))?;
    let boundary: Vec<_> = net
        .intersections
        .iter()
        .filter(|i| i.kind == IntersectionKind::Boundary)
        .map(|i| i.id)
        .collect();
    let mut rng = SplitMix64::new(spec.seed);
    let mut trips = Vec::with_capacity(spec.vehicles);
    let mut cache = std::collections::BTreeMap::new();
    while trips.len() < spec.vehicles {
        let a = boundary[rng.below(boundary.len())];
        let b = boundary[rng.below(boundary.len())];
        if a == b {
            continue;
        }
        let route: &Vec<RoadId> = cache
            .entry((a, b))
            .or_insert_with(|| net.path(a, b).unwrap_or_default());
        if route.len() < 2 {
            continue;
        }
        let departure_s = (rng.next_f64() * spec.departure_window_s).floor();
        trips.push(Trip {
            departure_s,
            route: route.clone(),
            params: VehicleParams::default(),
        });
    }
    Ok((net, Demand::new(trips)))
}
