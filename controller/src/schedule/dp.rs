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
    /// Where between its own end (0) and the horizon (1) a partial schedule is ranked for the
    /// beam: its delay plus what the waiting vehicles lose until then.
    pub rank_share: f64,
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

/// A partial schedule; its per-movement progress lives in a [`Pool`] at `at`.
#[derive(Clone, Copy, Debug)]
struct Node {
    last: usize,
    /// When the last segment's green ends, seconds.
    t_s: f64,
    /// Green shown so far by the last stage, seconds.
    green_s: f64,
    delay_veh_s: f64,
    /// Index of the parent node in the arena (`usize::MAX` for the root).
    parent: usize,
    /// The segment that led here: (stage, green start).
    seg: (usize, f64),
    /// Where its movement progress starts in its pool.
    at: usize,
    /// Hash of the state (last stage, clusters served per movement) for merging.
    key: u64,
}

/// One movement's progress in a partial schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Progress {
    /// Next cluster to serve.
    next: u32,
    /// What is left of it, vehicles.
    rem_veh: f64,
    /// When the movement's service is free again (it finished its last job), seconds.
    free_s: f64,
}

/// Movement progress of many nodes, `nm` entries each, in one flat table (one allocation for
/// a whole layer instead of one per node).
#[derive(Clone, Debug, Default)]
struct Pool(Vec<Progress>);

const EPS: f64 = 1e-9;
const ROOT: usize = usize::MAX;

impl Problem<'_> {
    fn served_by(&self, stage: usize, m: usize) -> bool {
        self.stages[stage].movements.contains(&m)
    }

    fn nm(&self) -> usize {
        self.clusters.len()
    }

    fn root_progress(&self) -> Vec<Progress> {
        self.clusters
            .iter()
            .map(|c| Progress {
                next: 0,
                rem_veh: c.first().map_or(0.0, |c| c.veh),
                free_s: self.now_s,
            })
            .collect()
    }

    /// Serve stage `a` from `green_start_s` to `end_s` after a node whose last stage was
    /// `from`; returns the delay of the vehicles served; records departures when asked.
    fn serve(
        &self,
        prog: &mut [Progress],
        from: usize,
        a: usize,
        green_start_s: f64,
        end_s: f64,
        mut log: Option<&mut Vec<Departure>>,
    ) -> f64 {
        let mut delay = 0.0;
        for &m in &self.stages[a].movements {
            let continuing = a == from || self.served_by(from, m);
            let p = &mut prog[m];
            let mut free = if continuing {
                p.free_s
            } else {
                green_start_s + self.startup_lost_s
            };
            let cl = &self.clusters[m];
            while (p.next as usize) < cl.len() {
                let c = cl[p.next as usize];
                let start = free.max(c.arrive_s);
                if start >= end_s - EPS {
                    break;
                }
                let rem = p.rem_veh;
                let dur = c.duration_s * rem / c.veh;
                let done = start + dur <= end_s + EPS;
                let served = if done {
                    rem
                } else {
                    rem * (end_s - start) / dur
                };
                delay += served * (start - c.arrive_s);
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
                    p.next += 1;
                    p.rem_veh = cl.get(p.next as usize).map_or(0.0, |c| c.veh);
                } else {
                    p.rem_veh = rem - served;
                    break;
                }
            }
            p.free_s = free.min(end_s).max(p.free_s);
        }
        delay
    }

    /// Delay the vehicles still waiting have lost by `t_s` (they wait at least that long).
    fn waiting_veh_s(&self, prog: &[Progress], t_s: f64) -> f64 {
        let mut d = 0.0;
        for (p, cl) in prog.iter().zip(self.clusters) {
            let k = p.next as usize;
            if k < cl.len() {
                d += p.rem_veh * (t_s - cl[k].arrive_s).max(0.0);
                for c in &cl[k + 1..] {
                    d += c.veh * (t_s - c.arrive_s).max(0.0);
                }
            }
        }
        d
    }

    fn all_served(&self, prog: &[Progress]) -> bool {
        prog.iter()
            .zip(self.clusters)
            .all(|(p, cl)| p.next as usize >= cl.len())
    }

    fn key(last: usize, prog: &[Progress]) -> u64 {
        // FNV-1a over the stage and the cluster counts
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in std::iter::once(last as u64).chain(prog.iter().map(|p| p.next as u64)) {
            h ^= x;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }

    /// Every child of `node`: per stage, the green windows ending when one of the stage's
    /// movements clears its next cluster, clamped into [min end, max end].
    fn children(
        &self,
        node: &Node,
        idx: usize,
        pool: &Pool,
        kids: &mut Vec<Node>,
        kid_pool: &mut Pool,
    ) {
        let nm = self.nm();
        let prog = &pool.0[node.at..node.at + nm];
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
                let p = prog[m];
                let Some(c) = self.clusters[m].get(p.next as usize) else {
                    continue;
                };
                let continuing = a == k || self.served_by(k, m);
                let free = if continuing {
                    p.free_s
                } else {
                    gs + self.startup_lost_s
                };
                let start = free.max(c.arrive_s);
                let end = start + c.duration_s * p.rem_veh / c.veh;
                if n < ends.len() {
                    ends[n] = end.clamp(min_end, max_end.max(min_end)).min(h.max(min_end));
                    n += 1;
                }
            }
            let ends = &mut ends[..n];
            ends.sort_unstable_by(|x, y| x.total_cmp(y));
            let mut prev = f64::NEG_INFINITY;
            for &e in ends.iter() {
                if e - prev < 0.5 {
                    continue;
                }
                prev = e;
                let at = kid_pool.0.len();
                kid_pool.0.extend_from_slice(prog);
                let delay = self.serve(&mut kid_pool.0[at..], k, a, gs, e, None);
                kids.push(Node {
                    last: a,
                    t_s: e,
                    green_s: if a == k {
                        node.green_s + (e - node.t_s)
                    } else {
                        e - gs
                    },
                    delay_veh_s: node.delay_veh_s + delay,
                    parent: idx,
                    seg: (a, gs),
                    at,
                    key: Self::key(a, &kid_pool.0[at..at + nm]),
                });
            }
        }
    }

    /// Run the recursion; `None` when no stage has anything to serve in the horizon.
    pub fn solve(&self) -> Option<Decision> {
        let nm = self.nm();
        let root_prog = self.root_progress();
        if self.all_served(&root_prog) {
            return None;
        }
        let h = self.horizon_end_s;
        // the arena keeps every node kept, for walking back the best schedule
        let mut arena = vec![Node {
            last: self.current,
            t_s: self.now_s,
            green_s: self.green_elapsed_s,
            delay_veh_s: 0.0,
            parent: ROOT,
            seg: (self.current, self.now_s),
            at: 0,
            key: 0,
        }];
        let mut pool = Pool(root_prog);
        let mut frontier = vec![0usize];
        let mut best: Option<(usize, f64)> = None;
        let mut kids: Vec<Node> = Vec::new();
        let mut kid_pool = Pool::default();
        let mut order: Vec<(f64, usize)> = Vec::new();
        for _ in 0..self.max_segments.max(1) {
            kids.clear();
            kid_pool.0.clear();
            for &i in &frontier {
                let node = arena[i];
                self.children(&node, i, &pool, &mut kids, &mut kid_pool);
            }
            if kids.is_empty() {
                break;
            }
            // state merging: same last stage and same clusters served → keep the least delay
            let mut idx: Vec<usize> = (0..kids.len()).collect();
            idx.sort_unstable_by(|&x, &y| {
                let (a, b) = (&kids[x], &kids[y]);
                a.key
                    .cmp(&b.key)
                    .then(a.delay_veh_s.total_cmp(&b.delay_veh_s))
                    .then(a.t_s.total_cmp(&b.t_s))
                    .then(x.cmp(&y))
            });
            idx.dedup_by(|later, kept| kids[*later].key == kids[*kept].key);
            order.clear();
            for &i in &idx {
                let kid = &kids[i];
                let prog = &kid_pool.0[kid.at..kid.at + nm];
                if kid.t_s >= h - EPS || self.all_served(prog) {
                    let cost = kid.delay_veh_s + self.waiting_veh_s(prog, h);
                    if best.is_none_or(|(_, c)| cost < c - EPS) {
                        let id = arena.len();
                        let at = pool.0.len();
                        pool.0.extend_from_slice(prog);
                        arena.push(Node { at, ..*kid });
                        best = Some((id, cost));
                    }
                } else {
                    let rank_t = kid.t_s + self.rank_share * (h - kid.t_s);
                    order.push((kid.delay_veh_s + self.waiting_veh_s(prog, rank_t), i));
                }
            }
            order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            order.truncate(self.beam_width.max(1));
            frontier.clear();
            for &(_, i) in &order {
                let kid = &kids[i];
                let bound =
                    kid.delay_veh_s + self.waiting_veh_s(&kid_pool.0[kid.at..kid.at + nm], kid.t_s);
                if best.is_some_and(|(_, c)| bound >= c) {
                    continue; // cannot beat a complete schedule any more
                }
                let at = pool.0.len();
                pool.0.extend_from_slice(&kid_pool.0[kid.at..kid.at + nm]);
                frontier.push(arena.len());
                arena.push(Node { at, ..*kid });
            }
            if frontier.is_empty() {
                break;
            }
        }
        // schedules cut by the segment limit: the waiting vehicles wait until the horizon
        for &i in &frontier {
            let n = &arena[i];
            let cost = n.delay_veh_s + self.waiting_veh_s(&pool.0[n.at..n.at + nm], h);
            if best.is_none_or(|(_, c)| cost < c - EPS) {
                best = Some((i, cost));
            }
        }
        let (mut i, cost) = best?;
        let mut segments = Vec::new();
        while arena[i].parent != ROOT {
            segments.push((arena[i].seg.0, arena[i].seg.1, arena[i].t_s));
            i = arena[i].parent;
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
        let mut prog = self.root_progress();
        let mut last = self.current;
        for &(a, gs, e) in segments {
            self.serve(&mut prog, last, a, gs, e, Some(out));
            last = a;
        }
    }
}
