//! SUMO traffic-light programs (`tlLogic`) into greenwave signal groups and stages.
//!
//! A program is a cyclic list of phases, each a `state` string with one letter per link index.
//! Per junction only the letters of its car connections matter (one program may drive several
//! junctions, and pedestrian crossings have link indices too). Restricted to those, each phase
//! is *green* (some movement green, none yellow), *yellow* (some movement yellow) or *red*. A run
//! of green phases with the same greens is one stage; the yellow phases after it are the stage's
//! yellow change interval and the red phases its all-red.

use super::{clip, Cx, Result, SConn, SJunction};
use crate::builder::Builder;
use crate::error::{ErrorKind, LoadError, Origin};
use crate::ids::*;
use crate::model::RoadNet;
use crate::signal::{SignalPlan, StageLimits, StageSplit, MIN_YELLOW_S};
use roxmltree::Node;
use std::collections::BTreeMap;

/// Static programs carry no green bounds: an adaptive controller may then shorten a stage to
/// this, seconds (or to the programme's own green when shorter)…
const STATIC_MIN_GREEN_S: f64 = 5.0;
/// …and stretch it to this, seconds (or to the programme's own green when longer). The same
/// defaults the CityFlow loader uses.
const STATIC_MAX_GREEN_S: f64 = 120.0;

/// What a link shows, ordered from most to least restrictive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Light {
    Red,
    Yellow,
    /// `g`, and `s`/`o`/`O` which greenwave can only show as "go, but yield".
    Permissive,
    /// `G`.
    Protected,
}

impl Light {
    fn is_green(self) -> bool {
        matches!(self, Light::Permissive | Light::Protected)
    }
}

pub(super) struct Phase<'a, 'i> {
    node: Node<'a, 'i>,
    duration_s: f64,
    min_s: Option<f64>,
    max_s: Option<f64>,
    state: Vec<Light>,
}

pub(super) struct Program<'a, 'i> {
    node: Node<'a, 'i>,
    program_id: String,
    tl_type: String,
    offset_s: f64,
    phases: Vec<Phase<'a, 'i>>,
    /// False for program types greenwave cannot follow (NEMA, …): their junctions are imported
    /// unsignalized, with a note.
    supported: bool,
}

/// Read every `tlLogic`; the first program of each traffic-light id is the one imported.
pub(super) fn read_programs<'a, 'i>(
    cx: &mut Cx<'_, 'i>,
    nodes: &[Node<'a, 'i>],
) -> Result<BTreeMap<String, Program<'a, 'i>>> {
    let mut out: BTreeMap<String, Program> = BTreeMap::new();
    for &el in nodes {
        let id = cx.req(el, "tlLogic", "id")?.to_string();
        let label = format!("tlLogic[{id}]");
        let program_id = el.attribute("programID").unwrap_or("0").to_string();
        let tl_type = el.attribute("type").unwrap_or("static").to_string();
        let offset_s = cx.opt_num(el, &label, "offset")?.unwrap_or(0.0);
        let mut phases = Vec::new();
        let mut letters = None;
        for (p, ph) in el
            .children()
            .filter(|n| n.has_tag_name("phase"))
            .enumerate()
        {
            let pl = format!("{label}.phase[{p}]");
            let duration_s = cx.num(ph, &pl, "duration")?;
            if !(duration_s > 0.0 && duration_s <= super::PHASE_MAX_S) {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    ph,
                    &pl,
                    "duration",
                    format!(
                        "tlLogic '{id}' phase {p}: duration {duration_s} s must be above 0 and at most {} s",
                        super::PHASE_MAX_S
                    ),
                ));
            }
            let min_s = cx.opt_num(ph, &pl, "minDur")?;
            let max_s = cx.opt_num(ph, &pl, "maxDur")?;
            let (lo, hi) = (min_s.unwrap_or(duration_s), max_s.unwrap_or(duration_s));
            if lo < 0.0 || lo > hi {
                return Err(cx.attr_err(
                    ErrorKind::MinGreenAboveMax,
                    ph,
                    &pl,
                    "minDur",
                    format!("tlLogic '{id}' phase {p}: minDur {lo} s is negative or above maxDur {hi} s"),
                ));
            }
            if duration_s < lo || duration_s > hi {
                return Err(cx.attr_err(
                    ErrorKind::BadValue,
                    ph,
                    &pl,
                    "duration",
                    format!("tlLogic '{id}' phase {p}: duration {duration_s} s lies outside [minDur {lo}, maxDur {hi}] s"),
                ));
            }
            let s = cx.req(ph, &pl, "state")?;
            let mut state = Vec::with_capacity(s.len());
            for (k, ch) in s.chars().enumerate() {
                state.push(match ch {
                    'G' => Light::Protected,
                    'g' | 's' | 'o' | 'O' => Light::Permissive,
                    'y' => Light::Yellow,
                    'r' | 'u' => Light::Red,
                    other => {
                        return Err(cx.attr_err(
                            ErrorKind::Syntax,
                            ph,
                            &pl,
                            "state",
                            format!(
                                "tlLogic '{id}' phase {p}: unknown signal letter '{other}' at link {k} (SUMO uses G g y r s u o O)"
                            ),
                        ))
                    }
                });
            }
            if let Some(n) = letters {
                if n != state.len() {
                    return Err(cx.attr_err(
                        ErrorKind::BadValue,
                        ph,
                        &pl,
                        "state",
                        format!(
                            "tlLogic '{id}' phase {p}: state has {} letters, phase 0 has {n}",
                            state.len()
                        ),
                    ));
                }
            }
            letters = Some(state.len());
            for (letter, what) in [
                ('s', "'s' (stop, then go) is shown as permissive green"),
                ('o', "'o' (off, blinking) is shown as permissive green"),
                ('O', "'O' (off, no signal) is shown as permissive green"),
            ] {
                if s.contains(letter) {
                    cx.note_at(ph, format_args!("tlLogic '{id}' phase {p}: {what}"));
                }
            }
            phases.push(Phase {
                node: ph,
                duration_s,
                min_s,
                max_s,
                state,
            });
        }
        if phases.is_empty() {
            return Err(cx.err(
                ErrorKind::BadValue,
                el,
                &label,
                format!("tlLogic '{id}' has no <phase>"),
            ));
        }
        let supported = matches!(tl_type.as_str(), "static" | "actuated" | "delay_based");
        if !supported {
            cx.note_at(
                el,
                format_args!(
                    "tlLogic '{id}' of type '{}' is not supported (static, actuated, delay_based are)",
                    clip(&tl_type)
                ),
            );
        }
        if let Some(first) = out.get(&id) {
            cx.note_at(
                el,
                format_args!(
                    "tlLogic '{id}' program '{program_id}' not imported: program '{}' of the same light is used",
                    first.program_id
                ),
            );
            continue;
        }
        out.insert(
            id.clone(),
            Program {
                node: el,
                program_id,
                tl_type,
                offset_s,
                phases,
                supported,
            },
        );
    }
    Ok(out)
}

/// One stage as read from the program.
pub(super) struct StagePlan {
    /// Index of its first green phase in the program.
    first_phase: usize,
    /// Per movement of the junction (in `JunctionPlan::movements` order).
    lights: Vec<Light>,
    green_s: f64,
    min_green_s: f64,
    max_green_s: f64,
    yellow_s: f64,
    all_red_s: f64,
    id: Option<StageId>,
    /// Where its first green phase is in the file.
    origin: Origin,
}

/// A junction's signal timing read from its program, before the builder knows its movements.
pub(super) struct JunctionPlan {
    pub junction: usize,
    tl_id: String,
    program_id: String,
    tl_type: String,
    offset_s: f64,
    /// (from edge, to edge) of each movement, and its column: what it shows in each phase.
    movements: Vec<((usize, usize), Vec<Light>)>,
    stages: Vec<StagePlan>,
    pub intersection: Option<IntersectionId>,
}

/// Read a traffic-light junction's program restricted to its car movements. `None` (with a
/// note) when greenwave cannot drive it: the junction is then imported unsignalized.
pub(super) fn plan_junction(
    cx: &mut Cx,
    k: usize,
    j: &SJunction,
    movements: &[((usize, usize), Vec<usize>)],
    conns: &[SConn],
    programs: &BTreeMap<String, Program>,
) -> Result<Option<JunctionPlan>> {
    let mut tl_id: Option<&str> = None;
    for (_, members) in movements {
        for &c in members {
            let c = &conns[c];
            let label = format!("connection[{}]", c.label);
            let (Some(tl), Some(_)) = (&c.tl, c.link_index) else {
                return Err(cx.err(
                    ErrorKind::BadValue,
                    c.node,
                    &label,
                    format!(
                        "connection {} at traffic-light junction '{}' has no tl/linkIndex: every car link of a signalized junction needs a signal",
                        c.label, j.id
                    ),
                ));
            };
            match tl_id {
                None => tl_id = Some(tl),
                Some(t) if t == tl => {}
                Some(t) => {
                    return Err(cx.attr_err(
                        ErrorKind::BadValue,
                        c.node,
                        &label,
                        "tl",
                        format!(
                            "junction '{}' has links of two traffic lights, '{t}' and '{tl}'; greenwave needs one per junction",
                            j.id
                        ),
                    ))
                }
            }
            if !programs.contains_key(tl.as_str()) {
                return Err(cx.attr_err(
                    ErrorKind::UnknownReference,
                    c.node,
                    &label,
                    "tl",
                    format!("connection names unknown tlLogic '{tl}'"),
                ));
            }
        }
    }
    let Some(tl_id) = tl_id else {
        cx.note_at(
            j.node,
            format_args!(
                "traffic-light junction '{}' has no car connection: imported as unsignalized",
                j.id
            ),
        );
        return Ok(None);
    };
    let prog = &programs[tl_id];
    if !prog.supported {
        cx.note_at(
            j.node,
            format_args!(
                "junction '{}' imported as unsignalized: its tlLogic '{tl_id}' is of an unsupported type",
                j.id
            ),
        );
        return Ok(None);
    }
    // Each movement's column: per phase the most restrictive letter of its links (they agree
    // unless a lane of the movement has a signal of its own).
    let mut cols = Vec::with_capacity(movements.len());
    for (key, members) in movements {
        let mut col = Vec::with_capacity(prog.phases.len());
        let mut disagree = false;
        for (p, ph) in prog.phases.iter().enumerate() {
            let mut light = Light::Protected;
            let mut first = None;
            for &c in members {
                let c = &conns[c];
                let li = c.link_index.expect("checked above");
                let Some(&l) = ph.state.get(li) else {
                    return Err(cx.attr_err(
                        ErrorKind::BadValue,
                        ph.node,
                        &format!("tlLogic[{tl_id}].phase[{p}]"),
                        "state",
                        format!(
                            "tlLogic '{tl_id}' phase {p}: state has {} letters but connection {} uses linkIndex {li}",
                            ph.state.len(),
                            c.label
                        ),
                    ));
                };
                light = light.min(l);
                disagree |= first.is_some_and(|f| f != l);
                first = Some(l);
            }
            col.push(light);
        }
        if disagree {
            let c = &conns[members[0]];
            cx.note_at(
                c.node,
                format_args!(
                    "movement {}: its lanes' link indices show different letters; greenwave uses the most restrictive in each phase",
                    c.label
                ),
            );
        }
        cols.push((*key, col));
    }
    // Classify phases for this junction.
    #[derive(Clone, Copy, PartialEq)]
    enum Class {
        Green,
        Yellow,
        Red,
    }
    let n = prog.phases.len();
    let class = |p: usize| {
        if cols.iter().any(|(_, c)| c[p] == Light::Yellow) {
            Class::Yellow
        } else if cols.iter().any(|(_, c)| c[p].is_green()) {
            Class::Green
        } else {
            Class::Red
        }
    };
    let Some(start) = (0..n).find(|&p| class(p) == Class::Green) else {
        cx.note_at(
            prog.node,
            format_args!(
                "tlLogic '{tl_id}' gives no green to any car link of junction '{}': imported as unsignalized",
                j.id
            ),
        );
        return Ok(None);
    };
    let label = |p: usize| format!("tlLogic[{tl_id}].phase[{p}]");
    let adaptive_bounds = prog.tl_type != "static";
    let mut stages: Vec<StagePlan> = Vec::new();
    let mut last = Class::Red;
    for step in 0..n {
        let p = (start + step) % n;
        let ph = &prog.phases[p];
        let lights: Vec<Light> = cols.iter().map(|(_, c)| c[p]).collect();
        match class(p) {
            Class::Green => {
                let same = stages.last().is_some_and(|s| s.lights == lights);
                if last == Class::Green && !same {
                    let prev = stages.last().expect("a green came before").first_phase;
                    return Err(cx.err(
                        ErrorKind::YellowTooShort,
                        ph.node,
                        &label(p),
                        format!(
                            "tlLogic '{tl_id}' phase {p} changes the greens of phase {prev} with no yellow between; greenwave needs a yellow of at least {MIN_YELLOW_S} s after each stage"
                        ),
                    ));
                }
                let (lo, hi) = if adaptive_bounds {
                    (
                        ph.min_s.unwrap_or(ph.duration_s),
                        ph.max_s.unwrap_or(ph.duration_s),
                    )
                } else {
                    (ph.duration_s, ph.duration_s)
                };
                if same && last == Class::Green {
                    let s = stages.last_mut().expect("same");
                    s.green_s += ph.duration_s;
                    s.min_green_s += lo;
                    s.max_green_s += hi;
                } else {
                    stages.push(StagePlan {
                        first_phase: p,
                        lights,
                        green_s: ph.duration_s,
                        min_green_s: lo,
                        max_green_s: hi,
                        yellow_s: 0.0,
                        all_red_s: 0.0,
                        id: None,
                        origin: cx.origin(ph.node, &label(p)),
                    });
                }
            }
            Class::Yellow => stages.last_mut().expect("starts green").yellow_s += ph.duration_s,
            Class::Red => stages.last_mut().expect("starts green").all_red_s += ph.duration_s,
        }
        last = class(p);
    }
    for s in &mut stages {
        if !adaptive_bounds {
            s.min_green_s = STATIC_MIN_GREEN_S.min(s.green_s);
            s.max_green_s = STATIC_MAX_GREEN_S.max(s.green_s);
        }
        if s.yellow_s + 1e-9 < MIN_YELLOW_S {
            let ph = &prog.phases[s.first_phase];
            return Err(cx.err(
                ErrorKind::YellowTooShort,
                ph.node,
                &label(s.first_phase),
                format!(
                    "tlLogic '{tl_id}' program '{}': the green of phase {} is followed by {:.1} s of yellow at junction '{}'; our safety rule needs at least {MIN_YELLOW_S} s",
                    prog.program_id, s.first_phase, s.yellow_s, j.id
                ),
            ));
        }
    }
    Ok(Some(JunctionPlan {
        junction: k,
        tl_id: tl_id.to_string(),
        program_id: prog.program_id.clone(),
        tl_type: prog.tl_type.clone(),
        offset_s: prog.offset_s,
        movements: cols,
        stages,
        intersection: None,
    }))
}

/// Add a planned junction's signal groups and stages once its movements exist. Movements with
/// the same column (the same letter in every phase) share a signal group.
pub(super) fn build(
    b: &mut Builder,
    plan: &mut JunctionPlan,
    movement_of: &BTreeMap<(usize, usize), MovementId>,
    link_indices: &BTreeMap<(usize, usize), Vec<usize>>,
) -> Result<()> {
    let at = plan.intersection.expect("intersection added");
    let prog_label = format!("tlLogic[{}]", plan.tl_id);
    let mut columns: Vec<(&Vec<Light>, Vec<MovementId>, Vec<usize>)> = Vec::new();
    for (key, col) in &plan.movements {
        let m = movement_of[key];
        let links = &link_indices[key];
        match columns.iter_mut().find(|c| c.0 == col) {
            Some(c) => {
                c.1.push(m);
                c.2.extend(links);
            }
            None => columns.push((col, vec![m], links.clone())),
        }
    }
    let mut group_ids = Vec::new();
    for (col, ms, mut links) in columns {
        links.sort();
        links.dedup();
        let name = format!(
            "links{}",
            links
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("+")
        );
        // A group shown `g` in any phase yields there; it is modelled as permissive throughout
        // (drivers yield even in its `G` phases), and the `G`-only pairs are checked apart.
        let permissive = col.contains(&Light::Permissive);
        let origin = Origin::field(format!("{prog_label}.{name}"));
        group_ids.push((col, b.add_signal_group(at, name, ms, permissive, &origin)?));
    }
    for s in &mut plan.stages {
        let k = s.first_phase;
        let groups: Vec<SignalGroupId> = group_ids
            .iter()
            .filter(|(col, _)| col[k].is_green())
            .map(|(_, g)| *g)
            .collect();
        let limits = StageLimits {
            min_green_s: s.min_green_s,
            max_green_s: s.max_green_s,
            yellow_s: s.yellow_s,
            all_red_s: s.all_red_s,
            ped_walk_s: 0.0,
            ped_clearance_s: 0.0,
        };
        let origin = s.origin.clone();
        s.id = Some(b.add_stage(
            at,
            format!("phase{}", s.first_phase),
            groups,
            limits,
            s.green_s,
            false,
            origin,
        )?);
    }
    Ok(())
}

/// Check each imported program: no two conflicting movements both shown `G`, then the whole
/// program as a fixed-time plan through [`SignalPlan::validate`].
pub(super) fn verdicts(
    cx: &Cx,
    net: &RoadNet,
    plans: &[JunctionPlan],
    movement_of: &BTreeMap<(usize, usize), MovementId>,
) -> Result<Vec<super::ProgramVerdict>> {
    let mut out = Vec::new();
    for plan in plans {
        let Some(at) = plan.intersection else {
            continue;
        };
        for s in &plan.stages {
            let protected: Vec<MovementId> = plan
                .movements
                .iter()
                .zip(&s.lights)
                .filter(|(_, l)| **l == Light::Protected)
                .map(|((key, _), _)| movement_of[key])
                .collect();
            for (i, &a) in protected.iter().enumerate() {
                for &bm in &protected[i + 1..] {
                    if net.conflict(a, bm).is_some() {
                        let e = LoadError::new(
                            ErrorKind::ConflictingGreens,
                            format!(
                                "tlLogic '{}' phase {} shows G to conflicting movements {} and {}",
                                plan.tl_id,
                                s.first_phase,
                                net.movement_label(a),
                                net.movement_label(bm)
                            ),
                        )
                        .in_file(cx.file)
                        .at(&s.origin);
                        return Err(e);
                    }
                }
            }
        }
        let stages: Vec<StageSplit> = plan
            .stages
            .iter()
            .map(|s| StageSplit {
                stage: s.id.expect("stage added"),
                split_s: s.green_s + s.yellow_s + s.all_red_s,
            })
            .collect();
        let cycle_s: f64 = stages.iter().map(|s| s.split_s).sum();
        let sig = SignalPlan {
            intersection: at,
            cycle_s,
            offset_s: plan.offset_s.rem_euclid(cycle_s),
            stages,
        };
        let verdict = sig.validate(net);
        out.push(super::ProgramVerdict {
            tl_id: plan.tl_id.clone(),
            program_id: plan.program_id.clone(),
            tl_type: plan.tl_type.clone(),
            intersection: at,
            plan: sig,
            verdict,
        });
    }
    Ok(out)
}
