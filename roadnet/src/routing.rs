//! Routes on the road/movement graph: the fastest way from one road to another at free-flow
//! speed, avoiding banned movements and closed roads.
//!
//! A route is a sequence of roads, each pair joined by a movement of the intersection between
//! them (the lane-level model's [`crate::Movement`], with lane links). [`Router`] holds that
//! graph — a petgraph graph whose nodes are roads and whose edges are movements — and each
//! road's free-flow travel time (length ÷ speed limit). Pure: no I/O, no clock, no randomness;
//! the same network and question give the same route.

use crate::ids::{MovementId, RoadId};
use crate::model::RoadNet;
use petgraph::algo::dijkstra;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{EdgeFiltered, EdgeRef};
use petgraph::Direction;

/// Free-flow times are summed in whole microseconds so that two routes of equal time tie
/// exactly (floating-point sums depend on their order) and the tie-break decides.
const MICROS_PER_S: f64 = 1e6;

/// What a route must not use.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Avoid {
    /// Movements the route may not take (banned turns), sorted, without repeats.
    pub movements: Vec<MovementId>,
    /// Roads the route may not enter (closed), sorted, without repeats. The route's own first
    /// and last roads are the trip's origin and destination and are never refused.
    pub roads: Vec<RoadId>,
}

impl Avoid {
    /// Nothing avoided: the free-flow shortest route.
    pub const NOTHING: Avoid = Avoid {
        movements: Vec::new(),
        roads: Vec::new(),
    };

    /// An avoid set from any lists (sorted and deduplicated here).
    pub fn new(mut movements: Vec<MovementId>, mut roads: Vec<RoadId>) -> Avoid {
        movements.sort_unstable();
        movements.dedup();
        roads.sort_unstable();
        roads.dedup();
        Avoid { movements, roads }
    }

    pub fn is_empty(&self) -> bool {
        self.movements.is_empty() && self.roads.is_empty()
    }

    fn refuses_movement(&self, m: MovementId) -> bool {
        self.movements.binary_search(&m).is_ok()
    }

    fn refuses_road(&self, r: RoadId) -> bool {
        self.roads.binary_search(&r).is_ok()
    }
}

/// The road/movement graph of a network, for route searches.
#[derive(Clone, Debug)]
pub struct Router {
    /// Node `i` is road `i`; an edge is a movement from its approach to its exit road.
    graph: DiGraph<RoadId, MovementId>,
    /// Per road: free-flow travel time, µs (at least 1, so every step of a route costs time).
    free_flow_us: Vec<u64>,
}

impl Router {
    /// Index `net`'s roads and movements. Movements without lane links carry no vehicle and
    /// are left out.
    pub fn new(net: &RoadNet) -> Router {
        let mut graph = DiGraph::with_capacity(net.roads.len(), net.movements.len());
        for r in &net.roads {
            graph.add_node(r.id);
        }
        for m in &net.movements {
            if !m.links.is_empty() {
                graph.add_edge(
                    NodeIndex::new(m.from_road.index()),
                    NodeIndex::new(m.to_road.index()),
                    m.id,
                );
            }
        }
        let free_flow_us = net
            .roads
            .iter()
            .map(|r| {
                let speed = r
                    .lanes
                    .iter()
                    .map(|l| net.lane(*l).speed_limit_m_s)
                    .fold(0.0, f64::max);
                let s = if speed > 0.0 {
                    net.road_length_m(r.id) / speed
                } else {
                    0.0
                };
                ((s * MICROS_PER_S).round() as u64).max(1)
            })
            .collect();
        Router {
            graph,
            free_flow_us,
        }
    }

    /// A road's free-flow travel time: its length ÷ its fastest lane's speed limit, s
    /// (rounded to the microsecond).
    pub fn free_flow_s(&self, road: RoadId) -> f64 {
        self.free_flow_us[road.index()] as f64 / MICROS_PER_S
    }

    /// A route's free-flow travel time, s: the sum over its roads.
    pub fn route_free_flow_s(&self, route: &[RoadId]) -> f64 {
        route
            .iter()
            .map(|r| self.free_flow_us[r.index()])
            .sum::<u64>() as f64
            / MICROS_PER_S
    }

    /// The movement from `from` onto `to` that a route may take, if any.
    pub fn movement(&self, from: RoadId, to: RoadId) -> Option<MovementId> {
        self.graph
            .edges_connecting(NodeIndex::new(from.index()), NodeIndex::new(to.index()))
            .map(|e| *e.weight())
            .min()
    }

    /// Whether `route` is one a vehicle can drive without using anything in `avoid`: every
    /// consecutive pair of roads joined by a movement that is not avoided, and no road but the
    /// first and the last an avoided one. An empty route is not.
    pub fn is_allowed(&self, route: &[RoadId], avoid: &Avoid) -> bool {
        if route.is_empty() {
            return false;
        }
        let inner_ok = route.len() <= 2
            || route[1..route.len() - 1]
                .iter()
                .all(|r| !avoid.refuses_road(*r));
        inner_ok
            && route.windows(2).all(|w| {
                self.graph
                    .edges_connecting(NodeIndex::new(w[0].index()), NodeIndex::new(w[1].index()))
                    .any(|e| !avoid.refuses_movement(*e.weight()))
            })
    }

    /// The fastest route at free-flow speed from road `from` to road `to` (both included) that
    /// takes no movement and enters no road of `avoid` (except `to` itself). Among routes of
    /// equal time (whole microseconds), the one whose roads, read back from `to`, have the
    /// smaller id at the first difference. `None` when no such route exists; `[from]` when
    /// `from == to`.
    pub fn shortest_route(&self, from: RoadId, to: RoadId, avoid: &Avoid) -> Option<Vec<RoadId>> {
        let n = self.graph.node_count();
        if from.index() >= n || to.index() >= n {
            return None;
        }
        if from == to {
            return Some(vec![from]);
        }
        let allowed = |m: MovementId, target: NodeIndex| {
            !avoid.refuses_movement(m)
                && (target.index() == to.index()
                    || !avoid.refuses_road(RoadId(target.index() as u32)))
        };
        let filtered = EdgeFiltered::from_fn(&self.graph, |e| allowed(*e.weight(), e.target()));
        let (start, goal) = (NodeIndex::new(from.index()), NodeIndex::new(to.index()));
        let cost = |n: NodeIndex| self.free_flow_us[n.index()];
        let dist = dijkstra(&filtered, start, Some(goal), |e| cost(e.target()));
        // Walk back from the goal. Every distance in the map is the length of a real route
        // (Dijkstra sets it from a settled predecessor), so some allowed predecessor `u` has
        // dist[u] + cost(v) == dist[v] exactly; take the smallest road id among them.
        let mut v = goal;
        let mut dv = *dist.get(&goal)?;
        let mut back = vec![to];
        while v != start {
            let c = cost(v);
            let u = self
                .graph
                .edges_directed(v, Direction::Incoming)
                .filter(|e| allowed(*e.weight(), v))
                .map(|e| e.source())
                .filter(|u| dist.get(u).is_some_and(|du| du + c == dv))
                .min()?;
            dv = dist[&u];
            v = u;
            back.push(self.graph[u]);
            if back.len() > n {
                return None; // unreachable: each step back strictly lowers the distance
            }
        }
        back.reverse();
        Some(back)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TurnKind;

    /// An `nx` × `ny` grid of unsignalized junctions `j_x_y`, 200 m apart (x east, y north),
    /// every edge junction joined to a boundary node beyond it; every road two-way, one lane
    /// painted with every turn the junction has. Roads are `<from>__<to>`.
    pub(crate) fn grid(nx: i32, ny: i32) -> RoadNet {
        let name = |x: i32, y: i32| {
            if (0..nx).contains(&x) && (0..ny).contains(&y) {
                format!("j_{x}_{y}")
            } else {
                format!("b_{x}_{y}")
            }
        };
        let inside = |x: i32, y: i32| (0..nx).contains(&x) && (0..ny).contains(&y);
        let mut t = String::from("name = \"grid\"\n[defaults]\nspeed_limit_m_s = 10.0\n");
        let mut nodes = std::collections::BTreeSet::new();
        let mut roads = Vec::new();
        for x in 0..nx {
            for y in 0..ny {
                nodes.insert((x, y));
                for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let (a, b) = (x + dx, y + dy);
                    nodes.insert((a, b));
                    roads.push(((x, y), (a, b)));
                    if !inside(a, b) {
                        roads.push(((a, b), (x, y)));
                    }
                }
            }
        }
        for (x, y) in &nodes {
            let kind = if inside(*x, *y) {
                "unsignalized"
            } else {
                "boundary"
            };
            t += &format!(
                "[[intersection]]\nid = \"{}\"\nkind = \"{kind}\"\nx_m = {}.0\ny_m = {}.0\n",
                name(*x, *y),
                200 * x,
                200 * y
            );
        }
        for ((x, y), (a, b)) in &roads {
            let lanes = if inside(*a, *b) {
                "[{ turns = \"LTR\" }]"
            } else {
                "[{}]"
            };
            t += &format!(
                "[[road]]\nid = \"{0}__{1}\"\nfrom = \"{0}\"\nto = \"{1}\"\nlanes = {lanes}\n",
                name(*x, *y),
                name(*a, *b)
            );
        }
        crate::config::parse_toml(&t, "grid.toml").unwrap_or_else(|e| panic!("{e}\n{t}"))
    }

    fn road(net: &RoadNet, n: &str) -> RoadId {
        net.road_by_name(n).unwrap_or_else(|| panic!("no road {n}"))
    }

    fn names(net: &RoadNet, route: &[RoadId]) -> Vec<String> {
        route.iter().map(|r| net.road(*r).name.clone()).collect()
    }

    fn turn(net: &RoadNet, from: &str, to: &str) -> MovementId {
        net.movement_between(road(net, from), road(net, to))
            .unwrap()
    }

    #[test]
    fn unbanned_the_direct_route_is_taken() {
        let net = grid(2, 2);
        let r = Router::new(&net);
        // enter j_0_0 from the south, leave j_0_1 to the west: north then left
        let from = road(&net, "b_0_-1__j_0_0");
        let to = road(&net, "j_0_1__b_-1_1");
        let route = r.shortest_route(from, to, &Avoid::NOTHING).unwrap();
        assert_eq!(
            names(&net, &route),
            ["b_0_-1__j_0_0", "j_0_0__j_0_1", "j_0_1__b_-1_1"]
        );
        assert_eq!(
            net.movement(turn(&net, "j_0_0__j_0_1", "j_0_1__b_-1_1"))
                .turn,
            TurnKind::Left
        );
        // each road is 200 m (centre to centre, less the junction boxes) at 10 m/s
        let t = r.route_free_flow_s(&route);
        assert!((t - route.iter().map(|x| net.road_length_m(*x)).sum::<f64>() / 10.0).abs() < 1e-5);
        assert_eq!(
            r.shortest_route(from, from, &Avoid::NOTHING),
            Some(vec![from])
        );
    }

    #[test]
    fn equal_routes_tie_break_by_road_id() {
        // west boundary → j_0_0 → … → out north of j_1_1: through-left-through via j_1_0 and
        // left-right-left via j_0_1 are both four roads of the same lengths
        let net = grid(2, 2);
        let r = Router::new(&net);
        let from = road(&net, "b_-1_0__j_0_0");
        let to = road(&net, "j_1_1__b_1_2");
        let via_10 = [
            "b_-1_0__j_0_0",
            "j_0_0__j_1_0",
            "j_1_0__j_1_1",
            "j_1_1__b_1_2",
        ];
        let via_01 = [
            "b_-1_0__j_0_0",
            "j_0_0__j_0_1",
            "j_0_1__j_1_1",
            "j_1_1__b_1_2",
        ];
        let (t10, t01) = (
            r.route_free_flow_s(&via_10.map(|n| road(&net, n))),
            r.route_free_flow_s(&via_01.map(|n| road(&net, n))),
        );
        assert_eq!(t10, t01);
        // the tie-break: the last road's predecessor with the smaller id
        let (a, b) = (road(&net, "j_1_0__j_1_1"), road(&net, "j_0_1__j_1_1"));
        let want = if a < b { via_10 } else { via_01 };
        let got = r.shortest_route(from, to, &Avoid::NOTHING).unwrap();
        assert_eq!(names(&net, &got), want);
        // ban the left the chosen route takes: the other one
        let left = if a < b {
            turn(&net, "j_0_0__j_1_0", "j_1_0__j_1_1")
        } else {
            turn(&net, "b_-1_0__j_0_0", "j_0_0__j_0_1")
        };
        assert_eq!(net.movement(left).turn, TurnKind::Left);
        let got = r
            .shortest_route(from, to, &Avoid::new(vec![left], vec![]))
            .unwrap();
        assert_eq!(names(&net, &got), if a < b { via_01 } else { via_10 });
    }

    #[test]
    fn a_banned_left_becomes_three_rights_around_the_block() {
        // Eastbound on the top street, turning left (north) at j_0_1 to leave at b_0_2. With
        // that left banned: through j_0_1, right at j_1_1, right at j_1_0, right at j_0_0, and
        // through j_0_1 northwards. Every other way from j_1_1, j_1_0 or j_0_0 leaves the grid.
        let net = grid(2, 2);
        let r = Router::new(&net);
        let from = road(&net, "b_-1_1__j_0_1");
        let to = road(&net, "j_0_1__b_0_2");
        let direct = r.shortest_route(from, to, &Avoid::NOTHING).unwrap();
        assert_eq!(names(&net, &direct), ["b_-1_1__j_0_1", "j_0_1__b_0_2"]);
        let left = turn(&net, "b_-1_1__j_0_1", "j_0_1__b_0_2");
        assert_eq!(net.movement(left).turn, TurnKind::Left);
        let avoid = Avoid::new(vec![left], vec![]);
        let round = r.shortest_route(from, to, &avoid).unwrap();
        assert_eq!(
            names(&net, &round),
            [
                "b_-1_1__j_0_1",
                "j_0_1__j_1_1",
                "j_1_1__j_1_0",
                "j_1_0__j_0_0",
                "j_0_0__j_0_1",
                "j_0_1__b_0_2"
            ]
        );
        let turns: Vec<TurnKind> = round
            .windows(2)
            .map(|w| net.movement(net.movement_between(w[0], w[1]).unwrap()).turn)
            .collect();
        use TurnKind::{Right as R, Through as T};
        assert_eq!(turns, [T, R, R, R, T]);
        assert!(r.is_allowed(&round, &avoid));
        assert!(!r.is_allowed(&direct, &avoid));
        // four more roads than the direct route, each inner road the same length
        let inner = r.free_flow_s(road(&net, "j_0_1__j_1_1"));
        assert!(
            (r.route_free_flow_s(&round) - r.route_free_flow_s(&direct) - 4.0 * inner).abs() < 1e-6
        );
    }

    #[test]
    fn a_banned_left_becomes_straight_left_left_right_or_no_route() {
        // Eastbound on the bottom street, turning left (north) at j_0_0 to leave at b_0_2 (up the
        // left street). Banned: through j_0_0, left at j_1_0, left at j_1_1, right at j_0_1.
        let net = grid(2, 2);
        let r = Router::new(&net);
        let from = road(&net, "b_-1_0__j_0_0");
        let to = road(&net, "j_0_1__b_0_2");
        assert_eq!(
            names(&net, &r.shortest_route(from, to, &Avoid::NOTHING).unwrap()),
            ["b_-1_0__j_0_0", "j_0_0__j_0_1", "j_0_1__b_0_2"]
        );
        let left_00 = turn(&net, "b_-1_0__j_0_0", "j_0_0__j_0_1");
        let round = r
            .shortest_route(from, to, &Avoid::new(vec![left_00], vec![]))
            .unwrap();
        assert_eq!(
            names(&net, &round),
            [
                "b_-1_0__j_0_0",
                "j_0_0__j_1_0",
                "j_1_0__j_1_1",
                "j_1_1__j_0_1",
                "j_0_1__b_0_2"
            ]
        );
        // ban the eastbound left at j_1_0 too: eastbound traffic can only leave the grid
        let left_10 = turn(&net, "j_0_0__j_1_0", "j_1_0__j_1_1");
        assert_eq!(net.movement(left_10).turn, TurnKind::Left);
        let both = Avoid::new(vec![left_10, left_00], vec![]);
        assert_eq!(r.shortest_route(from, to, &both), None);
        // a closed road is avoided the same way: close the left street j_0_0 → j_0_1
        let closed = Avoid::new(vec![], vec![road(&net, "j_0_0__j_0_1")]);
        assert_eq!(r.shortest_route(from, to, &closed), Some(round.clone()));
        // …but never the trip's own destination
        let dest_closed = Avoid::new(vec![], vec![to]);
        assert_eq!(
            r.shortest_route(from, to, &dest_closed).map(|x| x.len()),
            Some(3)
        );
    }

    /// An independent oracle: the least free-flow time from `from` to `to` in µs by
    /// Bellman-Ford over the network's movements, with the same rules (no avoided movement,
    /// no avoided road entered unless it is `to`).
    fn oracle_us(
        net: &RoadNet,
        r: &Router,
        from: RoadId,
        to: RoadId,
        avoid: &Avoid,
    ) -> Option<u64> {
        let mut best = vec![None::<u64>; net.roads.len()];
        best[from.index()] = Some(r.free_flow_us[from.index()]);
        for _ in 0..net.roads.len() {
            let mut changed = false;
            for m in &net.movements {
                if m.links.is_empty()
                    || avoid.movements.contains(&m.id)
                    || (m.to_road != to && avoid.roads.contains(&m.to_road))
                {
                    continue;
                }
                if let Some(d) = best[m.from_road.index()] {
                    let nd = d + r.free_flow_us[m.to_road.index()];
                    if best[m.to_road.index()].is_none_or(|x| nd < x) {
                        best[m.to_road.index()] = Some(nd);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        best[to.index()]
    }

    fn bundled() -> RoadNet {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../intersections.toml");
        crate::config::load_toml(&p).expect("the bundled network")
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Random bans and closures on the bundled corridor and on a 3×3 grid: every route
        /// found is connected through allowed, unbanned movements from `from` to `to`, takes
        /// exactly the least free-flow time (the oracle's), never less than the unbanned
        /// shortest; and there is no route exactly when the oracle finds none.
        #[test]
        fn routes_are_connected_allowed_and_shortest(
            which in 0..2usize,
            picks in proptest::collection::vec(0..10_000usize, 2..12),
            closures in proptest::collection::vec(0..10_000usize, 0..3),
            ends in (0..10_000usize, 0..10_000usize),
        ) {
            let net = if which == 0 { bundled() } else { grid(3, 3) };
            let r = Router::new(&net);
            let banned: Vec<MovementId> =
                picks.iter().map(|k| net.movements[k % net.movements.len()].id).collect();
            let closed: Vec<RoadId> =
                closures.iter().map(|k| net.roads[k % net.roads.len()].id).collect();
            // trips start on a road leaving a boundary node and end on one entering a boundary
            let starts: Vec<RoadId> = net.roads.iter().filter(|x| {
                net.intersection(x.from).kind == crate::IntersectionKind::Boundary
            }).map(|x| x.id).collect();
            let ends_: Vec<RoadId> = net.roads.iter().filter(|x| {
                net.intersection(x.to).kind == crate::IntersectionKind::Boundary
            }).map(|x| x.id).collect();
            let (from, to) = (starts[ends.0 % starts.len()], ends_[ends.1 % ends_.len()]);
            let avoid = Avoid::new(banned, closed);
            let got = r.shortest_route(from, to, &avoid);
            let want = oracle_us(&net, &r, from, to, &avoid);
            let free = r.shortest_route(from, to, &Avoid::NOTHING);
            proptest::prop_assert_eq!(got.is_some(), want.is_some());
            if let Some(route) = got {
                proptest::prop_assert_eq!(route.first(), Some(&from));
                proptest::prop_assert_eq!(route.last(), Some(&to));
                for w in route.windows(2) {
                    let m = net.movement_between(w[0], w[1]);
                    proptest::prop_assert!(m.is_some(), "{:?} not joined", w);
                    let m = m.unwrap();
                    proptest::prop_assert!(!avoid.movements.contains(&m));
                    proptest::prop_assert!(!net.movement(m).links.is_empty());
                }
                for x in &route[1..route.len() - 1] {
                    proptest::prop_assert!(!avoid.roads.contains(x));
                }
                proptest::prop_assert!(r.is_allowed(&route, &avoid));
                let us: u64 = route.iter().map(|x| r.free_flow_us[x.index()]).sum();
                proptest::prop_assert_eq!(Some(us), want);
                let free = free.expect("a route avoiding something exists without it");
                proptest::prop_assert!(r.route_free_flow_s(&route) >= r.route_free_flow_s(&free));
            }
        }
    }
}
