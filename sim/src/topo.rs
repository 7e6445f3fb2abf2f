//! The network compiled into flat arrays for the hot loop. "Drivables" are lanes (ids
//! `0..n_lanes`, equal to `LaneId`s) followed by lane links (`n_lanes..`), as in CityFlow.

use roadnet::geometry::Point;
use roadnet::{IntersectionKind, RoadNet, TurnKind};

pub(crate) const NONE: u32 = u32::MAX;

/// A conflict point between two lane links of one intersection (CityFlow's "cross").
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cross {
    pub link: [u32; 2],
    /// Distance along each link from its start, m.
    pub dist_m: [f64; 2],
}

pub(crate) struct Topology {
    pub n_lanes: usize,
    /// Per drivable.
    pub length_m: Vec<f64>,
    pub max_speed_m_s: Vec<f64>,
    /// Per lane.
    pub lane_road: Vec<u32>,
    pub lane_index: Vec<u8>,
    /// Outgoing links of each lane (drivable ids), in intersection order.
    pub lane_out: Vec<Vec<u32>>,
    /// Roads reachable from each lane through its outgoing links, sorted.
    pub lane_reach: Vec<Vec<u32>>,
    /// The lane's road ends at a signalized intersection (an "entering lane").
    pub lane_entering: Vec<bool>,
    /// Intersection at the end of the lane's road.
    pub lane_end_inter: Vec<u32>,
    /// Per link (index = drivable − n_lanes).
    pub link_from: Vec<u32>,
    pub link_to: Vec<u32>,
    pub link_movement: Vec<u32>,
    pub link_turn: Vec<bool>,
    /// CityFlow's movement priority at crosses: straight 3 > left 2 > right 1.
    pub link_prio: Vec<u8>,
    /// Crosses of each link, ascending by distance along it: (cross index, side of the link in it).
    pub link_crosses: Vec<Vec<(u32, u8)>>,
    /// Links of each intersection in order (roadLink, then laneLink order).
    pub inter_links: Vec<Vec<u32>>,
    pub crosses: Vec<Cross>,
    /// Lanes of each road.
    pub road_lanes: Vec<Vec<u32>>,
}

impl Topology {
    #[inline]
    pub(crate) fn is_lane(&self, d: u32) -> bool {
        (d as usize) < self.n_lanes
    }
    #[inline]
    pub(crate) fn link(&self, d: u32) -> usize {
        d as usize - self.n_lanes
    }

    pub(crate) fn new(net: &RoadNet) -> Topology {
        let n_lanes = net.lanes.len();
        let mut length_m: Vec<f64> = net.lanes.iter().map(|l| l.length_m).collect();
        let mut max_speed_m_s: Vec<f64> = net.lanes.iter().map(|l| l.speed_limit_m_s).collect();
        let lane_road = net.lanes.iter().map(|l| l.road.0).collect();
        let lane_index = net.lanes.iter().map(|l| l.index).collect();
        let mut lane_out = vec![Vec::new(); n_lanes];
        let mut link_from = Vec::new();
        let mut link_to = Vec::new();
        let mut link_movement = Vec::new();
        let mut link_turn = Vec::new();
        let mut link_prio = Vec::new();
        let mut link_points: Vec<&[Point]> = Vec::new();
        let mut inter_links = vec![Vec::new(); net.intersections.len()];
        for inter in &net.intersections {
            for &m in &inter.movements {
                let mv = net.movement(m);
                for l in &mv.links {
                    let d = (n_lanes + link_from.len()) as u32;
                    link_from.push(l.from_lane.0);
                    link_to.push(l.to_lane.0);
                    link_movement.push(m.0);
                    link_turn.push(mv.turn != TurnKind::Through);
                    link_prio.push(match mv.turn {
                        TurnKind::Through => 3,
                        TurnKind::Left => 2,
                        TurnKind::Right | TurnKind::UTurn => 1,
                    });
                    link_points.push(&l.points);
                    length_m.push(l.length_m);
                    // CityFlow puts no speed limit on a lane link itself.
                    max_speed_m_s.push(10_000.0);
                    lane_out[l.from_lane.index()].push(d);
                    inter_links[inter.id.index()].push(d);
                }
            }
        }
        let lane_reach = (0..n_lanes)
            .map(|l| {
                let mut r: Vec<u32> = lane_out[l]
                    .iter()
                    .map(|d| net.lanes[link_to[*d as usize - n_lanes] as usize].road.0)
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        let lane_end_inter: Vec<u32> = net.lanes.iter().map(|l| net.road(l.road).to.0).collect();
        let lane_entering = lane_end_inter
            .iter()
            .map(|i| net.intersections[*i as usize].kind == IntersectionKind::Signalized)
            .collect();
        let n_links = link_from.len();
        let mut crosses = Vec::new();
        let mut link_crosses: Vec<Vec<(u32, u8)>> = vec![Vec::new(); n_links];
        for links in &inter_links {
            for (ia, &a) in links.iter().enumerate() {
                for &b in &links[ia + 1..] {
                    let (la, lb) = (a as usize - n_lanes, b as usize - n_lanes);
                    if let Some((da, db)) = first_cross(link_points[la], link_points[lb]) {
                        let c = crosses.len() as u32;
                        crosses.push(Cross {
                            link: [a, b],
                            dist_m: [da, db],
                        });
                        link_crosses[la].push((c, 0));
                        link_crosses[lb].push((c, 1));
                    }
                }
            }
        }
        for lc in &mut link_crosses {
            // Stable sort by distance; equal distances keep construction order (deterministic).
            lc.sort_by(|x, y| {
                crosses[x.0 as usize].dist_m[x.1 as usize]
                    .total_cmp(&crosses[y.0 as usize].dist_m[y.1 as usize])
            });
        }
        let road_lanes = net
            .roads
            .iter()
            .map(|r| r.lanes.iter().map(|l| l.0).collect())
            .collect();
        Topology {
            n_lanes,
            length_m,
            max_speed_m_s,
            lane_road,
            lane_index,
            lane_out,
            lane_reach,
            lane_entering,
            lane_end_inter,
            link_from,
            link_to,
            link_movement,
            link_turn,
            link_prio,
            link_crosses,
            inter_links,
            crosses,
            road_lanes,
        }
    }
}

fn sign(x: f64) -> i32 {
    (x + 1e-8 > 0.0) as i32 - (x < 1e-8) as i32
}
fn cross2(ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    ax * by - ay * bx
}
fn on_segment(a: Point, b: Point, p: Point) -> bool {
    let c = cross2(b.x_m - a.x_m, b.y_m - a.y_m, p.x_m - a.x_m, p.y_m - a.y_m);
    let dot = (p.x_m - a.x_m) * (p.x_m - b.x_m) + (p.y_m - a.y_m) * (p.y_m - b.y_m);
    sign(c) == 0 && sign(dot) <= 0
}

/// The first conflict point of two lane-link polylines, scanning `a`'s segments in order and
/// for each `b`'s segments in order, as CityFlow does — including counting touching ends (links
/// from one start lane meet at distance 0; links into one end lane meet at their ends) and its
/// quirk of not advancing the distance along `b` past segments parallel to `a`'s current one.
pub(crate) fn first_cross(a: &[Point], b: &[Point]) -> Option<(f64, f64)> {
    let mut dis_a = 0.0;
    for wa in a.windows(2) {
        let (a1, a2) = (wa[0], wa[1]);
        let da = (a2.x_m - a1.x_m, a2.y_m - a1.y_m);
        let mut dis_b = 0.0;
        for wb in b.windows(2) {
            let (b1, b2) = (wb[0], wb[1]);
            let db = (b2.x_m - b1.x_m, b2.y_m - b1.y_m);
            let den = cross2(da.0, da.1, db.0, db.1);
            if sign(den) == 0 {
                continue;
            }
            let t = cross2(b1.x_m - a1.x_m, b1.y_m - a1.y_m, db.0, db.1) / den;
            let p = Point::new(a1.x_m + da.0 * t, a1.y_m + da.1 * t);
            if on_segment(a1, a2, p) && on_segment(b1, b2, p) {
                return Some((dis_a + a1.distance(p), dis_b + b1.distance(p)));
            }
            dis_b += b1.distance(b2);
        }
        dis_a += a1.distance(a2);
    }
    None
}
