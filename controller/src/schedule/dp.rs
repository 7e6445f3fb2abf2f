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
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

/// The buffers of [`Problem::solve_in`], kept between decisions so that they are allocated
/// (and grown) once rather than at every decision point.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Every node kept, for walking back the best schedule.
    arena: Vec<Node>,
    /// The arena's movement progress.
    pool: Pool,
    /// The arena indices of the layer being extended.
    frontier: Vec<usize>,
    /// The children of the frontier and their progress.
    kids: Vec<Node>,
    kid_pool: Pool,
    /// (rank, child) of the children carried to the next layer.
    order: Vec<(f64, usize)>,
    /// State merging: per state key, its slot in `uniq`; per slot the best child so far.
    slot_of: HashMap<u64, usize, BuildHasherDefault<KeyHasher>>,
    uniq: Vec<usize>,
    /// (state key, child) of the merged children whose schedule is complete.
    complete: Vec<(u64, usize)>,
}

/// The state keys are FNV-1a hashes already ([`Problem::key`]): the map uses them as they are
/// instead of hashing them again.
#[derive(Clone, Copy, Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

const EPS: f64 = 1e-9;
const ROOT: usize = usize::MAX;

impl Problem<'_> {
    fn served_by(&self, stage: usize, m: usize) -> bool {
        self.stages[stage].movements.contains(&m)
    }

    fn nm(&self) -> usize {
        self.clusters.len()
    }

    fn root_progress_iter(&self) -> impl Iterator<Item = Progress> + '_ {
        self.clusters.iter().map(|c| Progress {
            next: 0,
            rem_veh: c.first().map_or(0.0, |c| c.veh),
            free_s: self.now_s,
        })
    }

    fn root_progress(&self) -> Vec<Progress> {
        self.root_progress_iter().collect()
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
    ///
    /// With `sorted` (every movement's clusters in arrival order, as [`Problem::clusters`]
    /// asks) the clusters arriving at `t_s` or later add exactly +0 each and are skipped: the
    /// sum, and so every decision, is the same bit for bit.
    fn waiting_veh_s(&self, prog: &[Progress], t_s: f64, sorted: bool) -> f64 {
        let mut d = 0.0;
        for (p, cl) in prog.iter().zip(self.clusters) {
            let k = p.next as usize;
            if k < cl.len() {
                if sorted && cl[k].arrive_s >= t_s {
                    continue;
                }
                d += p.rem_veh * (t_s - cl[k].arrive_s).max(0.0);
                for c in &cl[k + 1..] {
                    if sorted && c.arrive_s >= t_s {
                        break;
                    }
                    d += c.veh * (t_s - c.arrive_s).max(0.0);
                }
            }
        }
        d
    }

    /// Whether every movement's clusters are in arrival order.
    fn clusters_sorted(&self) -> bool {
        self.clusters
            .iter()
            .all(|cl| cl.windows(2).all(|w| w[0].arrive_s <= w[1].arrive_s))
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
                // at least 1 s (no zero-length segments), but never past the max green
                let min_ext = (spec.min_green_s - node.green_s)
                    .max(1.0)
                    .min(spec.max_green_s - node.green_s);
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
            if n == 0 && a == k && node.green_s + EPS < spec.min_green_s {
                // a green short of its min green runs to it even with nothing to serve: only
                // then may another stage follow
                ends[0] = min_end;
                n = 1;
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
        self.solve_in(&mut Workspace::default())
    }

    /// [`Self::solve`] in `ws`'s buffers: a caller deciding again and again (the
    /// [`super::Scheduler`], at every decision point of every junction) keeps one workspace,
    /// so a decision allocates nothing once the buffers have grown. Same result as `solve`.
    pub fn solve_in(&self, ws: &mut Workspace) -> Option<Decision> {
        let nm = self.nm();
        let Workspace {
            arena,
            pool,
            frontier,
            kids,
            kid_pool,
            order,
            slot_of,
            uniq,
            complete,
        } = ws;
        pool.0.clear();
        pool.0.extend(self.root_progress_iter());
        if self.all_served(&pool.0) {
            return None;
        }
        let h = self.horizon_end_s;
        let sorted = self.clusters_sorted();
        // the arena keeps every node kept, for walking back the best schedule
        arena.clear();
        arena.push(Node {
            last: self.current,
            t_s: self.now_s,
            green_s: self.green_elapsed_s,
            delay_veh_s: 0.0,
            parent: ROOT,
            seg: (self.current, self.now_s),
            at: 0,
            key: 0,
        });
        frontier.clear();
        frontier.push(0);
        let mut best: Option<(usize, f64)> = None;
        for _ in 0..self.max_segments.max(1) {
            kids.clear();
            kid_pool.0.clear();
            for &i in frontier.iter() {
                let node = arena[i];
                self.children(&node, i, pool, kids, kid_pool);
            }
            if kids.is_empty() {
                break;
            }
            // state merging: same last stage and same clusters served → keep the least delay
            // (then the earlier end, then the first generated)
            slot_of.clear();
            uniq.clear();
            for (i, kid) in kids.iter().enumerate() {
                match slot_of.entry(kid.key) {
                    Entry::Vacant(e) => {
                        e.insert(uniq.len());
                        uniq.push(i);
                    }
                    Entry::Occupied(e) => {
                        let kept = &mut uniq[*e.get()];
                        let k = &kids[*kept];
                        if kid
                            .delay_veh_s
                            .total_cmp(&k.delay_veh_s)
                            .then(kid.t_s.total_cmp(&k.t_s))
                            .is_lt()
                        {
                            *kept = i;
                        }
                    }
                }
            }
            order.clear();
            complete.clear();
            for &i in uniq.iter() {
                let kid = &kids[i];
                let prog = &kid_pool.0[kid.at..kid.at + nm];
                if kid.t_s >= h - EPS || self.all_served(prog) {
                    complete.push((kid.key, i));
                } else {
                    let rank_t = kid.t_s + self.rank_share * (h - kid.t_s);
                    order.push((
                        kid.delay_veh_s + self.waiting_veh_s(prog, rank_t, sorted),
                        i,
                    ));
                }
            }
            // complete schedules in state-key order: among costs within EPS of each other the
            // first in that order stays the best
            complete.sort_unstable_by_key(|&(key, _)| key);
            for &(_, i) in complete.iter() {
                let kid = &kids[i];
                let prog = &kid_pool.0[kid.at..kid.at + nm];
                let cost = kid.delay_veh_s + self.waiting_veh_s(prog, h, sorted);
                if best.is_none_or(|(_, c)| cost < c - EPS) {
                    let id = arena.len();
                    let at = pool.0.len();
                    pool.0.extend_from_slice(prog);
                    arena.push(Node { at, ..*kid });
                    best = Some((id, cost));
                }
            }
            order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            order.truncate(self.beam_width.max(1));
            frontier.clear();
            for &(_, i) in order.iter() {
                let kid = &kids[i];
                let prog = &kid_pool.0[kid.at..kid.at + nm];
                // (the bound is worth computing only once a complete schedule exists)
                if best.is_some_and(|(_, c)| {
                    kid.delay_veh_s + self.waiting_veh_s(prog, kid.t_s, sorted) >= c
                }) {
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
        for &i in frontier.iter() {
            let n = &arena[i];
            let cost = n.delay_veh_s + self.waiting_veh_s(&pool.0[n.at..n.at + nm], h, sorted);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stage(movements: Vec<usize>) -> StageSpec {
        StageSpec {
            movements,
            min_green_s: 5.0,
            max_green_s: 60.0,
            change_s: 3.0,
        }
    }

    fn problem<'a>(stages: &'a [StageSpec], clusters: &'a [Vec<Cluster>]) -> Problem<'a> {
        Problem {
            now_s: 0.0,
            horizon_end_s: 60.0,
            stages,
            clusters,
            current: 0,
            green_elapsed_s: 10.0,
            startup_lost_s: 0.0,
            beam_width: 16,
            max_segments: 12,
            rank_share: 0.5,
        }
    }

    fn c(arrive_s: f64, veh: f64, duration_s: f64) -> Cluster {
        Cluster {
            arrive_s,
            duration_s,
            veh,
        }
    }

    /// Two stages, one movement each; stage 0 green for 10 s (past its 5 s min green), change
    /// interval 3 s, no start-up loss. Movement 0 (green) expects 2 vehicles at 4 s (4 s to
    /// leave); movement 1 has 3 standing (6 s).
    /// - switch now: stage 1 green 3–9 s, its 3 wait 3 s (9); back to stage 0 at 12 s, the 2
    ///   wait 12 − 4 = 8 s (16): 25 veh·s;
    /// - extend to 8 s for the platoon (0), then stage 1 at 11 s: 3 × 11 = 33 veh·s.
    ///
    /// So switching wins, its first green ends at 9 s, and the schedule is 25 veh·s.
    #[test]
    fn two_stages_switch_for_the_standing_queue() {
        let stages = [stage(vec![0]), stage(vec![1])];
        let clusters = [vec![c(4.0, 2.0, 4.0)], vec![c(0.0, 3.0, 6.0)]];
        let d = problem(&stages, &clusters).solve().expect("demand");
        assert_eq!(d.stage, 1);
        assert!((d.green_end_s - 9.0).abs() < 1e-9, "{d:?}");
        assert!((d.delay_veh_s - 25.0).abs() < 1e-9, "{d:?}");
        assert_eq!(d.segments[0], (1, 3.0, 9.0));
        assert_eq!(d.segments[1].0, 0);
        assert!((d.segments[1].1 - 12.0).abs() < 1e-9);
    }

    /// Same layout, but movement 0 expects 6 vehicles at 1 s (12 s to leave) and movement 1
    /// has one standing (2 s).
    /// - extend to 13 s (the platoon leaves without waiting: 0), stage 1 at 16 s: 1 × 16 = 16;
    /// - switch now: stage 1 green 3–8 s (its min green; the car waits 3 s), stage 0 back at
    ///   11 s: the 6 wait 11 − 1 = 10 s: 3 + 60 = 63.
    ///
    /// So the current stage is extended to 13 s, for 16 veh·s.
    #[test]
    fn two_stages_extend_for_the_platoon() {
        let stages = [stage(vec![0]), stage(vec![1])];
        let clusters = [vec![c(1.0, 6.0, 12.0)], vec![c(0.0, 1.0, 2.0)]];
        let d = problem(&stages, &clusters).solve().expect("demand");
        assert_eq!(d.stage, 0);
        assert!((d.green_end_s - 13.0).abs() < 1e-9, "{d:?}");
        assert!((d.delay_veh_s - 16.0).abs() < 1e-9, "{d:?}");
    }

    /// No demand anywhere: nothing to decide.
    #[test]
    fn no_demand_no_decision() {
        let stages = [stage(vec![0]), stage(vec![1])];
        let clusters = [vec![], vec![]];
        assert_eq!(problem(&stages, &clusters).solve(), None);
    }

    /// Departures replayed from a schedule: 3 vehicles standing on movement 1 leave over
    /// 3–9 s once stage 1 is green at 3 s.
    #[test]
    fn departures_follow_the_schedule() {
        let stages = [stage(vec![0]), stage(vec![1])];
        let clusters = [vec![], vec![c(0.0, 3.0, 6.0)]];
        let p = problem(&stages, &clusters);
        let d = p.solve().expect("demand");
        let mut out = Vec::new();
        p.departures(&d.segments, &mut out);
        assert_eq!(
            out,
            vec![Departure {
                movement: 1,
                start_s: 3.0,
                end_s: 9.0,
                veh: 3.0
            }]
        );
    }

    fn arb_problem() -> impl Strategy<Value = (Vec<StageSpec>, Vec<Vec<Cluster>>, usize, f64)> {
        (2usize..5, 2usize..7).prop_flat_map(|(ns, nm)| {
            let stage = (
                proptest::collection::vec(0..nm, 1..3),
                3.0f64..10.0,
                0.0f64..40.0,
                3.0f64..7.0,
            )
                .prop_map(|(mut movements, min_g, extra, change)| {
                    movements.sort_unstable();
                    movements.dedup();
                    StageSpec {
                        movements,
                        min_green_s: min_g,
                        max_green_s: min_g + 5.0 + extra,
                        change_s: change,
                    }
                });
            let cluster =
                (0.0f64..60.0, 0.2f64..12.0).prop_map(|(a, v)| c(a, v, (v / 0.5).max(1.0)));
            (
                proptest::collection::vec(stage, ns),
                proptest::collection::vec(proptest::collection::vec(cluster, 0..4), nm),
                0..ns,
                0.0f64..80.0,
            )
                .prop_map(|(stages, mut clusters, cur, elapsed)| {
                    for cl in clusters.iter_mut() {
                        cl.sort_by(|x, y| x.arrive_s.total_cmp(&y.arrive_s));
                    }
                    (stages, clusters, cur, elapsed)
                })
        })
    }

    proptest! {
        /// Whatever the demand, the schedule is a valid lamp sequence: the current green ends
        /// only past its min green and no later than its max green; every later green lasts
        /// from its min to its max green; a new stage starts only after the change interval
        /// of the stage before it; segments follow each other in time.
        #[test]
        fn schedules_honour_min_max_green_and_change_intervals(
            (stages, clusters, cur, elapsed) in arb_problem()
        ) {
            let elapsed = elapsed.min(stages[cur].max_green_s);
            let p = Problem {
                current: cur,
                green_elapsed_s: elapsed,
                startup_lost_s: 2.0,
                ..problem(&stages, &clusters)
            };
            let Some(d) = p.solve() else {
                // nothing to serve: no stage has demand, but the current one past its max green
                let idle = |k: usize| stages[k].movements.iter().all(|m| clusters[*m].is_empty());
                prop_assert!((0..stages.len()).all(|k| idle(k)
                    || (k == cur && elapsed >= stages[k].max_green_s - 1e-9)));
                return Ok(());
            };
            prop_assert_eq!(d.stage, d.segments[0].0);
            // (stage, green start, green end, green shown before this schedule)
            let mut greens: Vec<(usize, f64, f64, f64)> = vec![(cur, 0.0, 0.0, elapsed)];
            for &(s, gs, e) in &d.segments {
                prop_assert!(e > gs - 1e-9, "segment ends before it starts: {:?}", d.segments);
                let last = greens.last_mut().expect("non-empty");
                if s == last.0 {
                    prop_assert!((gs - last.2).abs() < 1e-9, "extension leaves a gap");
                    last.2 = e;
                } else {
                    let gap = gs - last.2;
                    prop_assert!((gap - stages[last.0].change_s).abs() < 1e-9, "change interval {}", gap);
                    greens.push((s, gs, e, 0.0));
                }
            }
            let n = greens.len();
            for (k, &(s, gs, e, before)) in greens.iter().enumerate() {
                let green = before + e - gs;
                prop_assert!(green <= stages[s].max_green_s + 1e-6, "max green: {:?}", greens);
                // a green that ends (another follows) has served its min green; so has every
                // green started by the schedule
                if k + 1 < n || k > 0 {
                    prop_assert!(green >= stages[s].min_green_s - 1e-6, "min green: {:?}", greens);
                }
            }
        }
    }
}
