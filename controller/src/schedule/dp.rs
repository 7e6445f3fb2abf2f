//! The forward-recursion dynamic program over clusters (SURTRAC's schedule search).
//!
//! A *node* is a partial schedule: the stages shown so far, in order, each until the moment it
//! ended, and for every movement how many of its clusters have left (with the remainder of a
//! cluster cut by a green's end). One step of the recursion extends a node by one segment:
//! stage `a` stays (extension) or becomes green after the change interval of the stage before
//! it, and holds until one of its movements has cleared its next cluster — so every segment
//! ends at a cluster boundary, clamped into the stage's [min green, max green]. Movements the
//! two stages share keep flowing through the change interval; newly green ones start after the
//! change interval plus the start-up lost time. Cluster `c` starting to leave at `t` costs
//! `veh × (t − arrive)` of delay.
//!
//! Nodes that reach the same *state* — the last stage and, per movement, the index of the
//! next cluster to serve — are merged, keeping the least delay (SURTRAC's state merging);
//! each layer keeps the `beam_width` nodes with the least delay plus a lower bound on what the
//! vehicles still waiting have already lost. A node ends when its schedule reaches the horizon
//! or every cluster has left; vehicles still waiting at the horizon count their delay up to it,
//! so all complete schedules are scored over the same window. The best one's first segment is
//! the decision: extend the current stage, or switch to another.

use super::clusters::Cluster;

/// What the DP needs to know of a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageSpec {
    /// Indices of the movements it serves (into [`Problem::clusters`]).
    pub movements: Vec<usize>,
    /// Shortest green (min green, pedestrian walk + clearance), seconds.
    pub min_green_s: f64,
    /// Longest green, seconds.
    pub max_green_s: f64,
    /// Change interval after it (yellow + all-red), seconds.
    pub change_s: f64,
}

/// One scheduling problem: an intersection at one decision point.
#[derive(Clone, Copy, Debug)]
pub struct Problem<'a> {
    /// Decision time, seconds.
    pub now_s: f64,
    /// End of the rolling horizon, seconds (absolute).
    pub horizon_end_s: f64,
    pub stages: &'a [StageSpec],
    /// Per movement: its clusters in arrival order.
    pub clusters: &'a [Vec<Cluster>],
    /// The stage green now (index into `stages`) and how long it has been green, seconds.
    pub current: usize,
    pub green_elapsed_s: f64,
    /// Green lost at the start of a green while a standing queue starts moving, seconds.
    pub startup_lost_s: f64,
    /// Nodes kept per layer.
    pub beam_width: usize,
    /// Segments a schedule may have at most.
    pub max_segments: usize,
}

/// The first decision of the best schedule found.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The stage to show next (the current one: extend it).
    pub stage: usize,
    /// When that segment ends in the schedule, seconds.
    pub green_end_s: f64,
    /// Total delay of the schedule over the horizon, vehicle-seconds.
    pub delay_veh_s: f64,
    /// The whole schedule: (stage, green start, green end) per segment, seconds.
    pub segments: Vec<(usize, f64, f64)>,
}

/// A departure from the schedule: `veh` vehicles of movement `movement` leave the stop line
/// evenly over [`start_s`, `end_s`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Departure {
    pub movement: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub veh: f64,
}

#[derive(Clone, Debug)]
struct Node {
    last: usize,
    /// When the last segment's green ends, seconds.
    t_s: f64,
    /// Green shown so far by the last stage, seconds.
    green_s: f64,
    /// Per movement: next cluster to serve, and what is left of it.
    next: Vec<u16>,
    rem_veh: Vec<f64>,
    /// Per movement: when its service is free again (it finished its last job), seconds.
    free_s: Vec<f64>,
    delay_veh_s: f64,
    parent: Option<usize>,
    /// The segment that led here: (stage, green start).
    seg: (usize, f64),
}

const EPS: f64 = 1e-9;

impl Problem<'_> {
    fn served_by(&self, stage: usize, m: usize) -> bool {
        self.stages[stage].movements.contains(&m)
    }

    /// Serve stage `a` from `green_start_s` to `end_s` after a node whose last stage was
    /// `from`; record departures when asked.
    fn serve(
        &self,
        node: &mut Node,
        from: usize,
        a: usize,
        green_start_s: f64,
        end_s: f64,
        mut log: Option<&mut Vec<Departure>>,
    ) {
        for &m in &self.stages[a].movements {
            let continuing = a == from || self.served_by(from, m);
            let mut free = if continuing {
                node.free_s[m]
            } else {
                green_start_s + self.startup_lost_s
            };
            let cl = &self.clusters[m];
            while (node.next[m] as usize) < cl.len() {
                let c = cl[node.next[m] as usize];
                let start = free.max(c.arrive_s);
                if start >= end_s - EPS {
                    break;
                }
                let rem = node.rem_veh[m];
                let dur = c.duration_s * rem / c.veh;
                let done = start + dur <= end_s + EPS;
                let served = if done {
                    rem
                } else {
                    rem * (end_s - start) / dur
                };
                node.delay_veh_s += served * (start - c.arrive_s);
                let stop = if done { start + dur } else { end_s };
                if let Some(l) = log.as_deref_mut() {
                    l.push(Departure {
                        movement: m,
                        start_s: start,
                        end_s: stop,
                        veh: served,
                    });
                }
                free = stop;
                if done {
                    node.next[m] += 1;
                    node.rem_veh[m] = cl.get(node.next[m] as usize).map_or(0.0, |c| c.veh);
                } else {
                    node.rem_veh[m] = rem - served;
                    break;
                }
            }
            node.free_s[m] = free.min(end_s).max(node.free_s[m]);
        }
    }

    /// Delay the vehicles still waiting have lost by `t_s` (they wait at least that long).
    fn waiting_veh_s(&self, node: &Node, t_s: f64) -> f64 {
        let mut d = 0.0;
        for (m, cl) in self.clusters.iter().enumerate() {
            let k = node.next[m] as usize;
            if k < cl.len() {
                d += node.rem_veh[m] * (t_s - cl[k].arrive_s).max(0.0);
                for c in &cl[k + 1..] {
                    d += c.veh * (t_s - c.arrive_s).max(0.0);
                }
            }
        }
        d
    }

    fn all_served(&self, node: &Node) -> bool {
        node.next
            .iter()
            .zip(self.clusters)
            .all(|(k, cl)| *k as usize >= cl.len())
    }

    /// The green windows every child of `node` could end at: the moment one of the stage's
    /// movements clears its next cluster, clamped into [min end, max end].
    fn children(&self, arena: &[Node], idx: usize, out: &mut Vec<Node>) {
        let node = &arena[idx];
        let k = node.last;
        let h = self.horizon_end_s;
        for (a, spec) in self.stages.iter().enumerate() {
            let (gs, min_end, max_end) = if a == k {
                if node.green_s >= spec.max_green_s - EPS {
                    continue;
                }
                let min_ext = (spec.min_green_s - node.green_s).max(1.0);
                (
                    node.t_s,
                    node.t_s + min_ext,
                    node.t_s + spec.max_green_s - node.green_s,
                )
            } else {
                if node.green_s + EPS < self.stages[k].min_green_s {
                    continue;
                }
                let gs = node.t_s + self.stages[k].change_s;
                (gs, gs + spec.min_green_s, gs + spec.max_green_s)
            };
            let mut ends: [f64; 32] = [0.0; 32];
            let mut n = 0;
            for &m in &spec.movements {
                let kk = node.next[m] as usize;
                let Some(c) = self.clusters[m].get(kk) else {
                    continue;
                };
                let continuing = a == k || self.served_by(k, m);
                let free = if continuing {
                    node.free_s[m]
                } else {
                    gs + self.startup_lost_s
                };
                let start = free.max(c.arrive_s);
                let end = start + c.duration_s * node.rem_veh[m] / c.veh;
                if n < ends.len() {
                    ends[n] = end.clamp(min_end, max_end.max(min_end)).min(h.max(min_end));
                    n += 1;
                }
            }
            let ends = &mut ends[..n];
            ends.sort_by(|x, y| x.total_cmp(y));
            let mut prev = f64::NEG_INFINITY;
            for &e in ends.iter() {
                if e - prev < 0.5 {
                    continue;
                }
                prev = e;
                let mut child = node.clone();
                self.serve(&mut child, k, a, gs, e, None);
                child.green_s = if a == k {
                    node.green_s + (e - node.t_s)
                } else {
                    e - gs
                };
                child.t_s = e;
                child.last = a;
                child.parent = Some(idx);
                child.seg = (a, gs);
                out.push(child);
            }
        }
    }

    /// Run the recursion; `None` when no stage has anything to serve in the horizon.
    pub fn solve(&self) -> Option<Decision> {
        let nm = self.clusters.len();
        let root = Node {
            last: self.current,
            t_s: self.now_s,
            green_s: self.green_elapsed_s,
            next: vec![0; nm],
            rem_veh: self
                .clusters
                .iter()
                .map(|c| c.first().map_or(0.0, |c| c.veh))
                .collect(),
            free_s: vec![self.now_s; nm],
            delay_veh_s: 0.0,
            parent: None,
            seg: (self.current, self.now_s),
        };
        if self.all_served(&root) {
            return None;
        }
        let h = self.horizon_end_s;
        let mut arena = vec![root];
        let mut frontier = vec![0usize];
        let mut best: Option<(usize, f64)> = None;
        let mut kids = Vec::new();
        for _ in 0..self.max_segments.max(1) {
            kids.clear();
            for &i in &frontier {
                self.children(&arena, i, &mut kids);
            }
            if kids.is_empty() {
                break;
            }
            // state merging: same last stage and same clusters served → keep the least delay
            kids.sort_by(|x, y| {
                x.last
                    .cmp(&y.last)
                    .then_with(|| x.next.cmp(&y.next))
                    .then(x.delay_veh_s.total_cmp(&y.delay_veh_s))
                    .then(x.t_s.total_cmp(&y.t_s))
            });
            kids.dedup_by(|later, kept| later.last == kept.last && later.next == kept.next);
            let mut open: Vec<(f64, Node)> = Vec::new();
            for kid in kids.drain(..) {
                if kid.t_s >= h - EPS || self.all_served(&kid) {
                    let cost = kid.delay_veh_s + self.waiting_veh_s(&kid, h);
                    let id = arena.len();
                    arena.push(kid);
                    if best.is_none_or(|(_, c)| cost < c - EPS) {
                        best = Some((id, cost));
                    }
                } else {
                    let bound = kid.delay_veh_s + self.waiting_veh_s(&kid, kid.t_s);
                    open.push((bound, kid));
                }
            }
            open.sort_by(|x, y| x.0.total_cmp(&y.0));
            open.truncate(self.beam_width.max(1));
            frontier.clear();
            for (bound, kid) in open {
                if best.is_some_and(|(_, c)| bound >= c) {
                    continue; // cannot beat a complete schedule any more
                }
                frontier.push(arena.len());
                arena.push(kid);
            }
            if frontier.is_empty() {
                break;
            }
        }
        // schedules cut by the segment limit: the waiting vehicles wait until the horizon
        for &i in &frontier {
            let cost = arena[i].delay_veh_s + self.waiting_veh_s(&arena[i], h);
            if best.is_none_or(|(_, c)| cost < c - EPS) {
                best = Some((i, cost));
            }
        }
        let (mut i, cost) = best?;
        let mut segments = Vec::new();
        while let Some(p) = arena[i].parent {
            segments.push((arena[i].seg.0, arena[i].seg.1, arena[i].t_s));
            i = p;
        }
        segments.reverse();
        let &(stage, _, green_end_s) = segments.first()?;
        Some(Decision {
            stage,
            green_end_s,
            delay_veh_s: cost,
            segments,
        })
    }

    /// The departures the schedule `segments` plans (what this intersection sends downstream).
    pub fn departures(&self, segments: &[(usize, f64, f64)], out: &mut Vec<Departure>) {
        out.clear();
        let nm = self.clusters.len();
        let mut node = Node {
            last: self.current,
            t_s: self.now_s,
            green_s: self.green_elapsed_s,
            next: vec![0; nm],
            rem_veh: self
                .clusters
                .iter()
                .map(|c| c.first().map_or(0.0, |c| c.veh))
                .collect(),
            free_s: vec![self.now_s; nm],
            delay_veh_s: 0.0,
            parent: None,
            seg: (self.current, self.now_s),
        };
        for &(a, gs, e) in segments {
            let from = node.last;
            self.serve(&mut node, from, a, gs, e, Some(out));
            node.last = a;
            node.t_s = e;
        }
    }
}
