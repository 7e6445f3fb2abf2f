//! Planners' what-if scenarios (`greenwave compare --scenario`, format in `docs/scenarios.md`):
//! a TOML file of edits overlaid on a network and a demand — demand scaling, lane closures,
//! banned turns, stage green limits, a corridor's cycle range, fixed plans. [`load`] parses and
//! checks a file against the network (every error one line: file, line:column, field);
//! [`Scenario`] then edits the network, each seed's demand, the simulator's lane closures and
//! the strategies it runs.

pub(crate) mod compare;
pub(crate) mod stats;
#[cfg(test)]
mod tests;

use roadnet::error::line_col;
use roadnet::rng::SplitMix64;
use roadnet::routing::{Avoid, Router};
use roadnet::{
    Command, Controller, Demand, IntersectionId, IntersectionKind, LaneId, MovementId, RoadId,
    RoadNet, SignalPlan, StageId, StageSplit, StepInput, TurnKind,
};
use serde::Deserialize;
use sim::LaneClosure;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// The largest scenario file read, bytes: a scenario is a page of edits, not data.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most edits of one kind a file may hold.
const MAX_EDITS: usize = 10_000;
/// The end of the longest day a window may name: 48:00 (a count day may run past midnight,
/// docs/counts.md).
const DAY_END_S: f64 = 48.0 * 3600.0;
/// Demand factors allowed: 0 (remove the matching trips) to 5× (beyond that the network is a
/// different city, and a typo such as 115 for 1.15 is caught).
const MAX_DEMAND_FACTOR: f64 = 5.0;
/// Added copies of a trip leave up to this long before or after the original, s: spread so
/// that a doubled demand does not arrive in pairs.
const COPY_JITTER_S: f64 = 30.0;
/// The longest green or cycle an edit may ask for, s.
const MAX_GREEN_S: f64 = 300.0;
const MAX_CYCLE_S: f64 = 300.0;

// ------------------------------------------------------------------ file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    demand: Vec<DemandCfg>,
    #[serde(default)]
    lanes: Vec<LanesCfg>,
    #[serde(default)]
    turn: Vec<TurnCfg>,
    #[serde(default)]
    stage: Vec<StageCfg>,
    #[serde(default)]
    corridor: Vec<CorridorCfg>,
    #[serde(default)]
    plan: Vec<PlanCfg>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemandCfg {
    factor: Spanned<f64>,
    origin: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LanesCfg {
    road: Spanned<String>,
    lanes: Option<Spanned<Vec<Spanned<i64>>>>,
    action: Spanned<String>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnCfg {
    movement: Spanned<String>,
    action: Spanned<String>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StageCfg {
    intersection: Spanned<String>,
    stage: Spanned<String>,
    min_green_s: Option<Spanned<f64>>,
    max_green_s: Option<Spanned<f64>>,
    green_s: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorridorCfg {
    corridor: Spanned<String>,
    cycle_min_s: Spanned<f64>,
    cycle_max_s: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanCfg {
    intersection: Spanned<String>,
    cycle_s: Spanned<f64>,
    #[serde(default)]
    offset_s: Option<Spanned<f64>>,
    stages: Spanned<Vec<PlanStageCfg>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanStageCfg {
    stage: Spanned<String>,
    green_s: Spanned<f64>,
}

// ------------------------------------------------------------------ resolved scenario

/// A time window, simulated seconds since the start of the day: `[from_s, to_s)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    pub from_s: f64,
    pub to_s: f64,
}

impl Window {
    const DAY: Window = Window {
        from_s: 0.0,
        to_s: DAY_END_S,
    };
    fn contains(&self, t: f64) -> bool {
        self.from_s <= t && t < self.to_s
    }
}

/// Whose trips a demand edit scales.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Origin {
    All,
    /// Trips whose first road is this one.
    Road(RoadId),
    /// Trips entering from this boundary node.
    Boundary(IntersectionId),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DemandEdit {
    pub factor: f64,
    pub origin: Origin,
    pub window: Window,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TurnEdit {
    pub movement: MovementId,
    pub ban: bool,
    pub window: Window,
}

/// The adaptive controller's corridor cycle range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CycleRange {
    pub min_s: f64,
    pub max_s: f64,
}

/// A checked scenario, resolved against one network.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    pub name: String,
    pub file: String,
    pub description: Option<String>,
    pub demand: Vec<DemandEdit>,
    /// Lanes closed, with their windows, after every close and open edit.
    pub closures: Vec<LaneClosure>,
    /// Roads with every lane closed, and when: the windows common to all their lanes'
    /// closures, sorted by road then time. Trips route around them (see `apply_demand`).
    pub road_closures: Vec<(RoadId, Window)>,
    pub turns: Vec<TurnEdit>,
    /// The road/movement graph trips are rerouted on.
    router: Router,
    /// The network with the stage edits applied.
    pub net: RoadNet,
    pub cycle_range: Option<CycleRange>,
    /// Fixed plans, validated against `net`.
    pub plans: Vec<SignalPlan>,
    /// One line per stage edit, for the report.
    stage_edits: Vec<String>,
}

/// What a scenario did to one seed's demand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DemandChange {
    pub trips_before: usize,
    pub trips_after: usize,
    /// Trips whose route took a turn banned at their departure, given the fastest route
    /// without it (and around roads closed then).
    pub rerouted_banned: usize,
    /// Trips whose route crossed a road with every lane closed at their departure, given the
    /// fastest route around it (no banned turn involved).
    pub rerouted_closed: usize,
    /// Trips whose route took a banned turn and that have no route without one: dropped.
    pub dropped_no_route: usize,
}

type Res<T> = Result<T, String>;

/// Routes already searched: (what is avoided, origin road, destination road) → the route.
type RouteCache = BTreeMap<(Avoid, RoadId, RoadId), Option<Vec<RoadId>>>;

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    /// `file:line:col: field: message`.
    fn err<T>(&self, span: std::ops::Range<usize>, field: &str, msg: impl AsRef<str>) -> Res<T> {
        let (l, c) = line_col(self.text, span.start);
        Err(format!("{}:{l}:{c}: {field}: {}", self.file, msg.as_ref()))
    }

    fn window(
        &self,
        field: &str,
        from: &Option<Spanned<String>>,
        to: &Option<Spanned<String>>,
    ) -> Res<Window> {
        let time = |s: &Spanned<String>, what: &str| -> Res<f64> {
            if s.get_ref().trim() == "48:00" && what == "to" {
                return Ok(DAY_END_S);
            }
            roadnet::counts::parse_time_of_day(s.get_ref().trim()).map_or_else(
                || {
                    self.err(
                        s.span(),
                        &format!("{field}.{what}"),
                        format!(
                            "'{}' is not a time of day HH:MM[:SS] in [00:00, 48:00]",
                            s.get_ref()
                        ),
                    )
                },
                Ok,
            )
        };
        let from_s = match from {
            Some(s) => time(s, "from")?,
            None => 0.0,
        };
        let to_s = match to {
            Some(s) => time(s, "to")?,
            None => DAY_END_S,
        };
        if to_s <= from_s {
            let span = to.as_ref().or(from.as_ref()).map_or(0..0, |s| s.span());
            return self.err(
                span,
                &format!("{field}.to"),
                "the window ends before it starts (to must be after from)",
            );
        }
        Ok(Window { from_s, to_s })
    }
}

/// Read and check a scenario file against a network.
pub(crate) fn load(path: &Path, net: &RoadNet) -> anyhow::Result<Scenario> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("{file}: cannot read: {e}"))?;
    anyhow::ensure!(meta.is_file(), "{file}: not a regular file");
    anyhow::ensure!(
        meta.len() <= MAX_FILE_BYTES,
        "{file}: {} bytes, more than the {} a scenario file may have",
        meta.len(),
        MAX_FILE_BYTES
    );
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{file}: cannot read: {e}"))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario")
        .to_string();
    parse(&text, &file, &stem, net).map_err(anyhow::Error::msg)
}

/// Parse and check a scenario held in memory; `file` names it in errors, `default_name` is
/// its name when the file gives none.
pub(crate) fn parse(text: &str, file: &str, default_name: &str, net: &RoadNet) -> Res<Scenario> {
    let ctx = Ctx { file, text };
    let doc: File = toml::from_str(text).map_err(|e| {
        let (l, c) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        format!("{file}:{l}:{c}: {}", e.message().trim())
    })?;
    let counts = [
        doc.demand.len(),
        doc.lanes.len(),
        doc.turn.len(),
        doc.stage.len(),
        doc.corridor.len(),
        doc.plan.len(),
    ];
    if counts.iter().any(|n| *n > MAX_EDITS) {
        return Err(format!("{file}: more than {MAX_EDITS} edits of one kind"));
    }
    // An empty file is a wrong path or a truncated copy far more often than a deliberate
    // baseline; the baseline names itself (scenarios/baseline.toml).
    if doc.name.is_none() && doc.description.is_none() && counts.iter().all(|n| *n == 0) {
        return Err(format!(
            "{file}: no name and no edits: a scenario without edits (the baseline) still gives `name`"
        ));
    }
    let name = match &doc.name {
        Some(n) if n.get_ref().trim().is_empty() => return ctx.err(n.span(), "name", "is empty"),
        Some(n) => n.get_ref().trim().to_string(),
        None => default_name.to_string(),
    };
    let mut edited = net.clone();

    // demand
    let mut demand = Vec::new();
    for (k, d) in doc.demand.iter().enumerate() {
        let field = format!("demand[{k}]");
        let f = *d.factor.get_ref();
        if !(f.is_finite() && (0.0..=MAX_DEMAND_FACTOR).contains(&f)) {
            return ctx.err(
                d.factor.span(),
                &format!("{field}.factor"),
                format!("{f} is outside [0, {MAX_DEMAND_FACTOR}] (1.15 = 15 % more trips)"),
            );
        }
        let origin = match &d.origin {
            None => Origin::All,
            Some(o) => {
                let n = o.get_ref().as_str();
                if let Some(r) = net.road_by_name(n) {
                    Origin::Road(r)
                } else if let Some(i) = net.intersection_by_name(n) {
                    if net.intersection(i).kind != IntersectionKind::Boundary {
                        return ctx.err(
                            o.span(),
                            &format!("{field}.origin"),
                            format!("intersection '{n}' is not a boundary node: name the road vehicles enter on"),
                        );
                    }
                    Origin::Boundary(i)
                } else {
                    return ctx.err(
                        o.span(),
                        &format!("{field}.origin"),
                        format!("no road or boundary node named '{n}' in '{}'", net.name),
                    );
                }
            }
        };
        let window = ctx.window(&field, &d.from, &d.to)?;
        demand.push(DemandEdit {
            factor: f,
            origin,
            window,
        });
    }

    // lanes: close adds a window to each lane, open removes one
    let mut lane_windows: Vec<Vec<Window>> = vec![Vec::new(); net.lanes.len()];
    for (k, l) in doc.lanes.iter().enumerate() {
        let field = format!("lanes[{k}]");
        let Some(road) = net.road_by_name(l.road.get_ref()) else {
            return ctx.err(
                l.road.span(),
                &format!("{field}.road"),
                format!("no road named '{}' in '{}'", l.road.get_ref(), net.name),
            );
        };
        let road = net.road(road);
        let close = match l.action.get_ref().as_str() {
            "close" => true,
            "open" => false,
            other => {
                return ctx.err(
                    l.action.span(),
                    &format!("{field}.action"),
                    format!("'{other}': expected \"close\" or \"open\""),
                )
            }
        };
        let lanes: Vec<LaneId> = match &l.lanes {
            None => road.lanes.clone(),
            Some(list) => {
                if list.get_ref().is_empty() {
                    return ctx.err(
                        list.span(),
                        &format!("{field}.lanes"),
                        "names no lane (leave it out for every lane)",
                    );
                }
                let mut v = Vec::new();
                for idx in list.get_ref() {
                    let i = *idx.get_ref();
                    if i < 0 || i as usize >= road.lanes.len() {
                        return ctx.err(
                            idx.span(),
                            &format!("{field}.lanes"),
                            format!(
                                "road '{}' has lanes 0..={} (0 is the inner lane), not {i}",
                                road.name,
                                road.lanes.len() - 1
                            ),
                        );
                    }
                    v.push(road.lanes[i as usize]);
                }
                v
            }
        };
        let w = ctx.window(&field, &l.from, &l.to)?;
        for lane in lanes {
            let ws = &mut lane_windows[lane.index()];
            if close {
                ws.push(w);
            } else {
                *ws = ws.iter().flat_map(|x| subtract(*x, w)).collect();
            }
        }
    }
    let mut closures = Vec::new();
    for (lane, ws) in lane_windows.iter_mut().enumerate() {
        *ws = merge(std::mem::take(ws));
        for w in ws.iter() {
            closures.push(LaneClosure {
                lane: LaneId(lane as u32),
                from_s: w.from_s,
                to_s: w.to_s,
            });
        }
    }
    // a road is closed while every one of its lanes is
    let mut road_closures = Vec::new();
    for road in &net.roads {
        let mut common: Option<Vec<Window>> = None;
        for lane in &road.lanes {
            let ws = &lane_windows[lane.index()];
            common = Some(match common {
                None => ws.clone(),
                Some(c) => intersect(&c, ws),
            });
        }
        for w in common.unwrap_or_default() {
            road_closures.push((road.id, w));
        }
    }

    // turns
    let mut turns = Vec::new();
    for (k, t) in doc.turn.iter().enumerate() {
        let field = format!("turn[{k}]");
        let movement = resolve_movement(net, t.movement.get_ref())
            .or_else(|m| ctx.err(t.movement.span(), &format!("{field}.movement"), m))?;
        let ban = match t.action.get_ref().as_str() {
            "ban" => true,
            "allow" => false,
            other => {
                return ctx.err(
                    t.action.span(),
                    &format!("{field}.action"),
                    format!("'{other}': expected \"ban\" or \"allow\""),
                )
            }
        };
        let window = ctx.window(&field, &t.from, &t.to)?;
        turns.push(TurnEdit {
            movement,
            ban,
            window,
        });
    }

    // stages
    let mut stage_edits = Vec::new();
    for (k, s) in doc.stage.iter().enumerate() {
        let field = format!("stage[{k}]");
        let inter = signalized(net, &s.intersection)
            .or_else(|m| ctx.err(s.intersection.span(), &format!("{field}.intersection"), m))?;
        let stage = stage_of(net, inter, &s.stage)
            .or_else(|m| ctx.err(s.stage.span(), &format!("{field}.stage"), m))?;
        let lim = &mut edited.stages[stage.index()];
        for (v, what) in [
            (&s.min_green_s, "min_green_s"),
            (&s.max_green_s, "max_green_s"),
            (&s.green_s, "green_s"),
        ] {
            if let Some(v) = v {
                let x = *v.get_ref();
                let lo = if what == "max_green_s" { 1.0 } else { 0.0 };
                if !(x.is_finite() && x >= lo && x <= MAX_GREEN_S) {
                    return ctx.err(
                        v.span(),
                        &format!("{field}.{what}"),
                        format!("{x} s is outside [{lo}, {MAX_GREEN_S}] s"),
                    );
                }
                match what {
                    "min_green_s" => lim.limits.min_green_s = x,
                    "max_green_s" => lim.limits.max_green_s = x,
                    _ => lim.base_green_s = x,
                }
            }
        }
        if s.min_green_s.is_none() && s.max_green_s.is_none() && s.green_s.is_none() {
            return ctx.err(
                s.stage.span(),
                &field,
                "changes nothing: give min_green_s, max_green_s or green_s",
            );
        }
        let span = s
            .min_green_s
            .as_ref()
            .or(s.max_green_s.as_ref())
            .or(s.green_s.as_ref())
            .map_or(s.stage.span(), |v| v.span());
        let l = edited.stages[stage.index()].limits;
        if l.min_green_s > l.max_green_s {
            return ctx.err(
                span,
                &field,
                format!(
                    "min green {} s is above max green {} s",
                    l.min_green_s, l.max_green_s
                ),
            );
        }
        if let Some(g) = &s.green_s {
            let (lo, hi) = l.green_bounds_s();
            if *g.get_ref() < lo || *g.get_ref() > hi {
                return ctx.err(
                    g.span(),
                    &format!("{field}.green_s"),
                    format!(
                        "{} s is outside the stage's green range [{lo}, {hi}] s",
                        g.get_ref()
                    ),
                );
            }
        }
        // the intersection's base plan under the new limits must pass the validator
        let plan = controller::baseline::base_plan(&edited, inter);
        if let Err(e) = plan.validate(&edited) {
            return ctx.err(span, &field, verdict("makes the base plan invalid", &e));
        }
        let st = edited.stage(stage);
        stage_edits.push(format!(
            "stage {} of {}: green {}–{} s (base {} s)",
            st.name,
            net.intersection(inter).name,
            st.limits.min_green_s,
            st.limits.max_green_s,
            st.base_green_s
        ));
    }

    // corridor cycle range
    let mut cycle_range = None;
    for (k, c) in doc.corridor.iter().enumerate() {
        let field = format!("corridor[{k}]");
        let Some(cor) = net.corridor_by_name(c.corridor.get_ref()) else {
            return ctx.err(
                c.corridor.span(),
                &format!("{field}.corridor"),
                format!(
                    "no corridor named '{}' in '{}'",
                    c.corridor.get_ref(),
                    net.name
                ),
            );
        };
        let (lo, hi) = (*c.cycle_min_s.get_ref(), *c.cycle_max_s.get_ref());
        for (v, what) in [
            (&c.cycle_min_s, "cycle_min_s"),
            (&c.cycle_max_s, "cycle_max_s"),
        ] {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 0.0 && x <= MAX_CYCLE_S) {
                return ctx.err(
                    v.span(),
                    &format!("{field}.{what}"),
                    format!("{x} s is outside (0, {MAX_CYCLE_S}] s"),
                );
            }
        }
        if lo > hi {
            return ctx.err(
                c.cycle_max_s.span(),
                &format!("{field}.cycle_max_s"),
                format!("{hi} s is below cycle_min_s {lo} s"),
            );
        }
        // every member must fit its stages' shortest splits in the longest cycle
        for &i in &cor.intersections {
            let need: f64 = controller::baseline::fixed::plan_stages(&edited, i)
                .iter()
                .map(|s| edited.stage(*s).limits.min_split_s())
                .sum();
            if need > hi + 1e-9 {
                return ctx.err(
                    c.cycle_max_s.span(),
                    &format!("{field}.cycle_max_s"),
                    format!(
                        "{hi} s is shorter than the {need} s the stages of '{}' need at their min greens",
                        net.intersection(i).name
                    ),
                );
            }
        }
        if let Some(prev) = cycle_range {
            if prev
                != (CycleRange {
                    min_s: lo,
                    max_s: hi,
                })
            {
                return ctx.err(c.corridor.span(), &field, "the adaptive controller holds one corridor cycle range: give the same range to every corridor");
            }
        }
        cycle_range = Some(CycleRange {
            min_s: lo,
            max_s: hi,
        });
    }

    // fixed plans
    let mut plans: Vec<SignalPlan> = Vec::new();
    for (k, p) in doc.plan.iter().enumerate() {
        let field = format!("plan[{k}]");
        let inter = signalized(net, &p.intersection)
            .or_else(|m| ctx.err(p.intersection.span(), &format!("{field}.intersection"), m))?;
        if plans.iter().any(|q| q.intersection == inter) {
            return ctx.err(
                p.intersection.span(),
                &format!("{field}.intersection"),
                "a second plan for the same intersection",
            );
        }
        let cycle_s = *p.cycle_s.get_ref();
        if !(cycle_s.is_finite() && cycle_s > 0.0 && cycle_s <= MAX_CYCLE_S) {
            return ctx.err(
                p.cycle_s.span(),
                &format!("{field}.cycle_s"),
                format!("{cycle_s} s is outside (0, {MAX_CYCLE_S}] s"),
            );
        }
        let mut stages = Vec::new();
        for (j, s) in p.stages.get_ref().iter().enumerate() {
            let stage = stage_of(net, inter, &s.stage)
                .or_else(|m| ctx.err(s.stage.span(), &format!("{field}.stages[{j}].stage"), m))?;
            let g = *s.green_s.get_ref();
            if !(g.is_finite() && g > 0.0 && g <= MAX_GREEN_S) {
                return ctx.err(
                    s.green_s.span(),
                    &format!("{field}.stages[{j}].green_s"),
                    format!("{g} s is outside (0, {MAX_GREEN_S}] s"),
                );
            }
            stages.push(StageSplit {
                stage,
                split_s: g + edited.stage(stage).limits.change_s(),
            });
        }
        let plan = SignalPlan {
            intersection: inter,
            cycle_s,
            offset_s: p.offset_s.as_ref().map_or(0.0, |o| *o.get_ref()),
            stages,
        };
        if let Err(e) = plan.validate(&edited) {
            let span = match e.rule {
                roadnet::PlanRule::OffsetOutOfRange => {
                    p.offset_s.as_ref().map_or(p.cycle_s.span(), |o| o.span())
                }
                roadnet::PlanRule::SplitsDoNotSumToCycle => p.cycle_s.span(),
                _ => p.stages.span(),
            };
            return ctx.err(span, &field, verdict("refused by the plan validator", &e));
        }
        plans.push(plan);
    }
    // a stage edit after a plan may have made the plan invalid: check again on the final net
    for (k, p) in plans.iter().enumerate() {
        if let Err(e) = p.validate(&edited) {
            return ctx.err(
                doc.plan[k].stages.span(),
                &format!("plan[{k}]"),
                verdict("refused by the plan validator", &e),
            );
        }
    }

    Ok(Scenario {
        name,
        file: file.to_string(),
        description: doc.description,
        demand,
        closures,
        road_closures,
        turns,
        router: Router::new(&edited),
        net: edited,
        cycle_range,
        plans,
        stage_edits,
    })
}

/// The validator's verdict in words: the rule broken and what broke it.
fn verdict(what: &str, e: &roadnet::PlanError) -> String {
    format!("{what} ({:?}): {}", e.rule, e.detail)
}

/// `[a, b)` without `[c, d)`: zero, one or two windows.
fn subtract(a: Window, b: Window) -> Vec<Window> {
    let mut out = Vec::new();
    if b.from_s > a.from_s {
        out.push(Window {
            from_s: a.from_s,
            to_s: a.to_s.min(b.from_s),
        });
    }
    if b.to_s < a.to_s {
        out.push(Window {
            from_s: a.from_s.max(b.to_s),
            to_s: a.to_s,
        });
    }
    out.retain(|w| w.to_s > w.from_s);
    out
}

/// The times in both of two sorted, disjoint window lists.
fn intersect(a: &[Window], b: &[Window]) -> Vec<Window> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let from_s = a[i].from_s.max(b[j].from_s);
        let to_s = a[i].to_s.min(b[j].to_s);
        if to_s > from_s {
            out.push(Window { from_s, to_s });
        }
        if a[i].to_s < b[j].to_s {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Sorted windows with overlaps joined.
fn merge(mut ws: Vec<Window>) -> Vec<Window> {
    ws.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
    let mut out: Vec<Window> = Vec::new();
    for w in ws {
        match out.last_mut() {
            Some(last) if w.from_s <= last.to_s => last.to_s = last.to_s.max(w.to_s),
            _ => out.push(w),
        }
    }
    out
}

/// `road:L` (the turn letters of `intersections.toml`: L, T, R, U) → the movement.
fn resolve_movement(net: &RoadNet, token: &str) -> Res<MovementId> {
    let (road, turn) = token
        .rsplit_once(':')
        .ok_or_else(|| format!("'{token}': expected <road>:<turn>, turn one of L, T, R, U"))?;
    let r = net
        .road_by_name(road)
        .ok_or_else(|| format!("no road named '{road}' in '{}'", net.name))?;
    let mut chars = turn.chars();
    let kind = match (chars.next().and_then(TurnKind::from_letter), chars.next()) {
        (Some(k), None) => k,
        _ => return Err(format!("'{turn}' is not a turn: expected L, T, R or U")),
    };
    let at = net.intersection(net.road(r).to);
    let found: Vec<MovementId> = at
        .movements
        .iter()
        .copied()
        .filter(|m| net.movement(*m).from_road == r && net.movement(*m).turn == kind)
        .collect();
    match found.as_slice() {
        [m] => Ok(*m),
        [] => Err(format!(
            "road '{road}' has no {kind:?} movement at '{}'",
            at.name
        )),
        _ => Err(format!(
            "road '{road}' has {} {kind:?} movements at '{}': ambiguous",
            found.len(),
            at.name
        )),
    }
}

fn signalized(net: &RoadNet, name: &Spanned<String>) -> Res<IntersectionId> {
    let n = name.get_ref();
    let i = net
        .intersection_by_name(n)
        .ok_or_else(|| format!("no intersection named '{n}' in '{}'", net.name))?;
    if !net.intersection(i).is_signalized() {
        return Err(format!("intersection '{n}' is not signalized"));
    }
    Ok(i)
}

fn stage_of(net: &RoadNet, inter: IntersectionId, name: &Spanned<String>) -> Res<StageId> {
    let i = net.intersection(inter);
    i.stages
        .iter()
        .copied()
        .find(|s| net.stage(*s).name == *name.get_ref())
        .ok_or_else(|| {
            let names: Vec<&str> = i
                .stages
                .iter()
                .map(|s| net.stage(*s).name.as_str())
                .collect();
            format!(
                "'{}' has no stage '{}' (stages: {})",
                i.name,
                name.get_ref(),
                names.join(", ")
            )
        })
}

impl Scenario {
    /// The seed's demand with this scenario's demand and turn edits applied, in file order:
    /// each scaling edit keeps round(factor × n) of the n trips it matches (a seeded choice of
    /// which to drop, or of which to copy, a copy leaving up to 30 s before or after its
    /// original, within the window and not after the base demand's last departure). Then
    /// every trip whose route takes a turn banned at its departure time, or crosses a road with
    /// every lane closed then, gets the fastest free-flow route from its first road to its last
    /// that avoids every such turn and road ([`Router::shortest_route`]); a trip with no route
    /// without the banned turns is dropped (`dropped_no_route`), one with no way round a
    /// closure keeps its route and waits, as before. Everything is judged at the departure
    /// time, and deterministic: no seed enters the rerouting.
    pub(crate) fn apply_demand(&self, base: &Demand, seed: u64) -> (Demand, DemandChange) {
        let mut trips = base.trips.clone();
        for (k, e) in self.demand.iter().enumerate() {
            let mut rng = SplitMix64::new(seed ^ (0x5CE7_A110_u64.wrapping_mul(k as u64 + 1)));
            let matches = |t: &roadnet::Trip| {
                e.window.contains(t.departure_s)
                    && match e.origin {
                        Origin::All => true,
                        Origin::Road(r) => t.route.first() == Some(&r),
                        Origin::Boundary(i) => {
                            t.route.first().is_some_and(|r| self.net.road(*r).from == i)
                        }
                    }
            };
            let idx: Vec<usize> = (0..trips.len()).filter(|i| matches(&trips[*i])).collect();
            let n = idx.len();
            let target = (e.factor * n as f64).round() as usize;
            if target <= n {
                // drop n − target of them, chosen by a seeded partial shuffle
                let mut order = idx.clone();
                for i in 0..(n - target) {
                    let j = i + rng.below(n - i);
                    order.swap(i, j);
                }
                let mut drop = vec![false; trips.len()];
                for i in &order[..n - target] {
                    drop[*i] = true;
                }
                let mut k = 0;
                trips.retain(|_| {
                    k += 1;
                    !drop[k - 1]
                });
            } else {
                let extra = target - n;
                let mut copies = Vec::with_capacity(extra);
                // whole passes over every matching trip, then a seeded choice for the rest
                for _ in 0..extra / n {
                    copies.extend(idx.iter().copied());
                }
                let mut order = idx.clone();
                for i in 0..extra % n {
                    let j = i + rng.below(n - i);
                    order.swap(i, j);
                }
                copies.extend(order[..extra % n].iter().copied());
                copies.sort_unstable();
                // a copy stays in the window, and leaves no later than the demand's last
                // departure (or its original), so the default run length does not grow
                let last = base.last_departure_s();
                for i in copies {
                    let mut t = trips[i].clone();
                    let d = t.departure_s + (2.0 * rng.next_f64() - 1.0) * COPY_JITTER_S;
                    t.departure_s = d
                        .min(last.max(t.departure_s))
                        .max(e.window.from_s)
                        .min(e.window.to_s - 1e-3)
                        .max(0.0);
                    trips.push(t);
                }
            }
        }
        let mut change = DemandChange {
            trips_before: base.trips.len(),
            ..DemandChange::default()
        };
        if !self.turns.is_empty() || !self.road_closures.is_empty() {
            // one search per (what is avoided, origin, destination): the day repeats them
            let mut routes: RouteCache = BTreeMap::new();
            let mut search = |avoid: &Avoid, from: RoadId, to: RoadId| {
                routes
                    .entry((avoid.clone(), from, to))
                    .or_insert_with(|| self.router.shortest_route(from, to, avoid))
                    .clone()
            };
            trips.retain_mut(|t| {
                let (Some(&from), Some(&to)) = (t.route.first(), t.route.last()) else {
                    return true;
                };
                let banned = self.banned_at(t.departure_s);
                let closed = self.closed_at(t.departure_s, from, to);
                let takes_ban = t.route.windows(2).any(|w| {
                    self.net
                        .movement_between(w[0], w[1])
                        .is_some_and(|m| banned.binary_search(&m).is_ok())
                });
                let crosses_closed = t.route.len() > 2
                    && t.route[1..t.route.len() - 1]
                        .iter()
                        .any(|r| closed.binary_search(r).is_ok());
                if !takes_ban && !crosses_closed {
                    return true;
                }
                let avoid = Avoid::new(banned.clone(), closed.clone());
                if let Some(route) = search(&avoid, from, to) {
                    t.route = route;
                    if takes_ban {
                        change.rerouted_banned += 1;
                    } else {
                        change.rerouted_closed += 1;
                    }
                    return true;
                }
                if !takes_ban {
                    // no way round the closure: the trip keeps its route and waits for the
                    // road to open, as the simulator holds it
                    return true;
                }
                // no way round both: avoid the ban and wait at the closure
                if !closed.is_empty() {
                    if let Some(route) = search(&Avoid::new(banned, Vec::new()), from, to) {
                        t.route = route;
                        change.rerouted_banned += 1;
                        return true;
                    }
                }
                change.dropped_no_route += 1;
                false
            });
        }
        change.trips_after = trips.len();
        (Demand::new(trips), change)
    }

    /// The movements banned at time `t`, sorted: for each movement, the last turn edit whose
    /// window holds `t` decides (`allow` after `ban` lifts the ban for its window).
    fn banned_at(&self, t: f64) -> Vec<MovementId> {
        let mut v: Vec<MovementId> = self
            .turns
            .iter()
            .filter(|e| e.ban && e.window.contains(t))
            .map(|e| e.movement)
            .filter(|m| {
                self.turns
                    .iter()
                    .rev()
                    .find(|e| e.movement == *m && e.window.contains(t))
                    .is_some_and(|e| e.ban)
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The roads with every lane closed at time `t`, sorted, except a trip's own origin and
    /// destination roads (a trip cannot avoid those; it waits, as the simulator holds it).
    fn closed_at(&self, t: f64, from: RoadId, to: RoadId) -> Vec<RoadId> {
        let mut v: Vec<RoadId> = self
            .road_closures
            .iter()
            .filter(|(r, w)| w.contains(t) && *r != from && *r != to)
            .map(|(r, _)| *r)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The adaptive controller's parameters when the scenario sets a corridor cycle range:
    /// coordinated mode on (the range is the corridor optimizer's; the default free mode has
    /// no cycle), cycles within the range. None without a range.
    pub(crate) fn adaptive_params(&self) -> Option<controller::adaptive::AdaptiveParams> {
        self.cycle_range.map(|r| {
            let mut p = controller::adaptive::AdaptiveParams {
                coordinate: true,
                ..Default::default()
            };
            p.corridor.timing.min_cycle_s = r.min_s;
            p.corridor.timing.max_cycle_s = r.max_s;
            p
        })
    }

    /// The strategy `name` for this scenario and its `demand` (time-of-day plans are built for
    /// the day they run): built by the one factory (`controller::baseline::make_controller_for`),
    /// except that a corridor cycle range builds the adaptive controller with
    /// [`Scenario::adaptive_params`]; fixed plans then pin their intersections.
    pub(crate) fn controller(
        &self,
        name: &str,
        demand: Option<&roadnet::Demand>,
    ) -> anyhow::Result<Box<dyn Controller>> {
        let inner: Box<dyn Controller> = match (name, self.adaptive_params()) {
            ("adaptive", Some(p)) => {
                Box::new(controller::adaptive::Adaptive::with_params(&self.net, p))
            }
            _ => controller::baseline::make_controller_for(name, &self.net, demand)?,
        };
        Ok(if self.plans.is_empty() {
            inner
        } else {
            Box::new(Pinned {
                inner,
                plans: self.plans.clone(),
                sent: false,
                scratch: Vec::new(),
            })
        })
    }

    /// One line per edit, for the report.
    pub(crate) fn summary(&self) -> Vec<String> {
        let net = &self.net;
        let win = |w: &Window| {
            if *w == Window::DAY {
                "all day".to_string()
            } else {
                format!("{}–{}", hhmm(w.from_s), hhmm(w.to_s))
            }
        };
        let mut v = Vec::new();
        for e in &self.demand {
            let who = match e.origin {
                Origin::All => "all trips".to_string(),
                Origin::Road(r) => format!("trips entering on {}", net.road(r).name),
                Origin::Boundary(i) => format!("trips from {}", net.intersection(i).name),
            };
            v.push(format!(
                "demand ×{} for {who}, {}",
                e.factor,
                win(&e.window)
            ));
        }
        for c in &self.closures {
            let l = net.lane(c.lane);
            v.push(format!(
                "lane {} of {} closed {}",
                l.index,
                net.road(l.road).name,
                win(&Window {
                    from_s: c.from_s,
                    to_s: c.to_s
                })
            ));
        }
        for t in &self.turns {
            v.push(format!(
                "turn {} {} {}",
                net.movement_label(t.movement),
                if t.ban { "banned" } else { "allowed" },
                win(&t.window)
            ));
        }
        v.extend(self.stage_edits.iter().cloned());
        if let Some(r) = self.cycle_range {
            v.push(format!("corridor cycle {}–{} s", r.min_s, r.max_s));
        }
        for p in &self.plans {
            v.push(format!(
                "fixed plan at {}: cycle {} s",
                net.intersection(p.intersection).name,
                p.cycle_s
            ));
        }
        v
    }
}

fn hhmm(s: f64) -> String {
    let m = (s / 60.0).round() as u64;
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// A strategy with some intersections held to fixed plans: the plans go out on the first
/// step, and the strategy's own commands for those intersections are dropped.
struct Pinned {
    inner: Box<dyn Controller>,
    plans: Vec<SignalPlan>,
    sent: bool,
    scratch: Vec<Command>,
}

impl Controller for Pinned {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        self.scratch.clear();
        self.inner.step(input, &mut self.scratch);
        let pinned = |i: IntersectionId| self.plans.iter().any(|p| p.intersection == i);
        for c in self.scratch.drain(..) {
            let at = match &c {
                Command::SwitchTo { intersection, .. } => *intersection,
                Command::ApplyPlan(p) | Command::StandbyPlan(p) => p.intersection,
            };
            if !pinned(at) {
                out.push(c);
            }
        }
        if !self.sent {
            self.sent = true;
            out.extend(self.plans.iter().cloned().map(Command::ApplyPlan));
        }
    }
}
