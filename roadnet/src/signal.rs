//! Signal vocabulary: signal groups, stages and their timing limits, indications, and the
//! [`SignalPlan`] that every controller emits — with the one validator every plan passes through
//! ([`SignalPlan::validate`]) before it may reach a signal head, simulated or real.

use crate::ids::*;
use crate::model::RoadNet;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The smallest yellow change interval any plan may show, seconds.
pub const MIN_YELLOW_S: f64 = 3.0;
/// Longest yellow accepted, s: change intervals run 3–6 s (ITE: about 1 s per 10 km/h of
/// approach speed); more than this is a unit mix-up, not a timing.
pub const MAX_YELLOW_S: f64 = 10.0;
/// Longest all-red accepted, s (typical 0–3 s; wide junctions up to ~6 s).
pub const MAX_ALL_RED_S: f64 = 10.0;
/// Longest min or max green accepted, s: five minutes is already far past any coordinated
/// arterial's longest green.
pub const MAX_GREEN_LIMIT_S: f64 = 300.0;
/// Longest pedestrian walk or clearance accepted, s (a 100 m crossing at 1 m/s).
pub const MAX_PED_S: f64 = 120.0;

/// What a signal group shows (SUMO's state letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum Indication {
    /// Protected green: the movement has priority.
    Green,
    /// Permissive green: the movement may go but yields to conflicting traffic.
    PermissiveGreen,
    /// Yellow change interval.
    Yellow,
    Red,
}

impl Indication {
    pub fn letter(self) -> char {
        match self {
            Indication::Green => 'G',
            Indication::PermissiveGreen => 'g',
            Indication::Yellow => 'y',
            Indication::Red => 'r',
        }
    }
    pub fn is_green(self) -> bool {
        matches!(self, Indication::Green | Indication::PermissiveGreen)
    }
}

/// Movements that always show the same indication (one signal head, one field output).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignalGroup {
    pub id: SignalGroupId,
    pub intersection: IntersectionId,
    pub name: String,
    pub movements: Vec<MovementId>,
    /// Permissive groups show `g` and yield; protected ones show `G`.
    pub permissive: bool,
}

/// Timing limits of a stage, seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageLimits {
    pub min_green_s: f64,
    pub max_green_s: f64,
    /// Yellow change interval shown by groups that lose green when the stage ends.
    pub yellow_s: f64,
    /// Red clearance after the yellow, before the next stage's green.
    pub all_red_s: f64,
    /// Pedestrian walk interval, 0 when the stage serves no crossing.
    pub ped_walk_s: f64,
    /// Pedestrian clearance (flashing don't walk), 0 when the stage serves no crossing.
    pub ped_clearance_s: f64,
}

impl StageLimits {
    /// The shortest green the stage may show: its min green, or the pedestrian walk and
    /// clearance when it serves a crossing (they run during the vehicle green), whichever is longer.
    pub fn shortest_green_s(&self) -> f64 {
        self.min_green_s.max(self.ped_walk_s + self.ped_clearance_s)
    }
    /// Yellow plus all-red: the change interval after the stage.
    pub fn change_s(&self) -> f64 {
        self.yellow_s + self.all_red_s
    }
    /// The shortest split (green + yellow + all-red) the stage may have in a plan.
    pub fn min_split_s(&self) -> f64 {
        self.shortest_green_s() + self.change_s()
    }
    /// The range every plan builder keeps a stage's green in, seconds: from its shortest green
    /// up to its max green. When the pedestrian times exceed the max green the range collapses
    /// to the shortest green rather than inverting, so a clamp into it is always defined (the
    /// validator still refuses such a stage: no green can satisfy both limits).
    pub fn green_bounds_s(&self) -> (f64, f64) {
        let shortest = self.shortest_green_s();
        (shortest, self.max_green_s.max(shortest))
    }
}

/// A set of signal groups that are green together.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stage {
    pub id: StageId,
    pub intersection: IntersectionId,
    pub name: String,
    pub groups: Vec<SignalGroupId>,
    pub limits: StageLimits,
    /// Green time in the base (local, fallback) plan, seconds.
    pub base_green_s: f64,
    /// A clearance stage (CityFlow's phase 0) is shown only between other stages.
    pub clearance: bool,
    /// Part of the base (local, fallback) plan and of the default stage cover. `false` for a
    /// stage that only alternative sequences use — e.g. a through running on with its own
    /// protected left (`EB_TR` + `EB_L`), which a lead-lag plan shows instead of the base
    /// plan's lefts-together stage.
    #[serde(default = "in_base_plan_default")]
    pub in_base_plan: bool,
}

fn in_base_plan_default() -> bool {
    true
}

/// One stage's share of a plan's cycle.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageSplit {
    pub stage: StageId,
    /// Green + yellow + all-red of the stage, seconds.
    pub split_s: f64,
}

impl StageSplit {
    /// Green time within the split, seconds.
    pub fn green_s(&self, net: &RoadNet) -> f64 {
        self.split_s - net.stage(self.stage).limits.change_s()
    }
}

/// A cyclic timing plan for one intersection: stages in sequence with their splits.
/// The cycle starts (stage 0's green begins) at `offset_s` past each multiple of `cycle_s`
/// counted from the common time reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalPlan {
    pub intersection: IntersectionId,
    pub cycle_s: f64,
    pub offset_s: f64,
    pub stages: Vec<StageSplit>,
}

/// Which safety rule a plan breaks. The code is what a field controller reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PlanRule {
    /// A stage gives protected green to two conflicting movements.
    ConflictingGreens,
    /// A yellow change interval under 3 s.
    YellowTooShort,
    /// A split below min green (or ped walk + clearance) + yellow + all-red.
    SplitTooShort,
    /// A green longer than the stage's max green.
    GreenTooLong,
    /// Splits do not add up to the cycle.
    SplitsDoNotSumToCycle,
    /// Offset negative or not below the cycle.
    OffsetOutOfRange,
    /// A stage that belongs to another intersection, a clearance stage, a repeat, or no stage.
    BadStage,
    /// A non-finite or negative number.
    BadNumber,
    /// Negative all-red or pedestrian time.
    BadClearance,
    /// A movement of the intersection that is green in no stage of the plan: its vehicles
    /// would wait for ever.
    UnservedMovement,
}

impl PlanRule {
    /// Stable numeric reason code (documented in docs/modbus.md).
    pub fn code(self) -> u16 {
        match self {
            PlanRule::ConflictingGreens => 1,
            PlanRule::YellowTooShort => 2,
            PlanRule::SplitTooShort => 3,
            PlanRule::GreenTooLong => 4,
            PlanRule::SplitsDoNotSumToCycle => 5,
            PlanRule::OffsetOutOfRange => 6,
            PlanRule::BadStage => 7,
            PlanRule::BadNumber => 8,
            PlanRule::BadClearance => 9,
            PlanRule::UnservedMovement => 10,
        }
    }
    pub fn from_code(code: u16) -> Option<PlanRule> {
        use PlanRule::*;
        [
            ConflictingGreens,
            YellowTooShort,
            SplitTooShort,
            GreenTooLong,
            SplitsDoNotSumToCycle,
            OffsetOutOfRange,
            BadStage,
            BadNumber,
            BadClearance,
            UnservedMovement,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }
}

/// Why a plan was refused: the rule and what broke it.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
#[error("plan for {intersection} refused ({rule:?}): {detail}")]
pub struct PlanError {
    pub intersection: IntersectionId,
    pub rule: PlanRule,
    pub detail: String,
}

/// Tolerance for sums of seconds.
const EPS_S: f64 = 1e-6;

impl SignalPlan {
    /// Check every safety rule against the network's conflict relation and the stages' limits.
    /// The first broken rule is reported.
    pub fn validate(&self, net: &RoadNet) -> Result<(), PlanError> {
        let err = |rule, detail: String| {
            Err(PlanError {
                intersection: self.intersection,
                rule,
                detail,
            })
        };
        if self.intersection.index() >= net.intersections.len() {
            return err(PlanRule::BadStage, "unknown intersection".into());
        }
        let inter = net.intersection(self.intersection);
        if !self.cycle_s.is_finite() || self.cycle_s <= 0.0 {
            return err(PlanRule::BadNumber, format!("cycle {} s", self.cycle_s));
        }
        if !self.offset_s.is_finite() || self.offset_s < 0.0 || self.offset_s >= self.cycle_s {
            return err(
                PlanRule::OffsetOutOfRange,
                format!(
                    "offset {} s is outside [0, cycle {} s)",
                    self.offset_s, self.cycle_s
                ),
            );
        }
        if self.stages.is_empty() {
            return err(PlanRule::BadStage, "the plan has no stage".into());
        }
        let mut sum = 0.0;
        for (k, s) in self.stages.iter().enumerate() {
            if s.stage.index() >= net.stages.len()
                || net.stage(s.stage).intersection != self.intersection
            {
                return err(
                    PlanRule::BadStage,
                    format!("{} is not a stage of {}", s.stage, inter.name),
                );
            }
            let st = net.stage(s.stage);
            if st.clearance {
                return err(
                    PlanRule::BadStage,
                    format!("stage '{}' is a clearance stage", st.name),
                );
            }
            if self.stages[..k].iter().any(|o| o.stage == s.stage) {
                return err(
                    PlanRule::BadStage,
                    format!("stage '{}' appears twice", st.name),
                );
            }
            if !s.split_s.is_finite() || s.split_s < 0.0 {
                return err(
                    PlanRule::BadNumber,
                    format!("stage '{}' split {} s", st.name, s.split_s),
                );
            }
            let lim = &st.limits;
            if let Some(e) = check_limits(lim) {
                return err(e.0, format!("stage '{}': {}", st.name, e.1));
            }
            if s.split_s + EPS_S < lim.min_split_s() {
                return err(
                    PlanRule::SplitTooShort,
                    format!(
                        "stage '{}' split {:.1} s is below {:.1} s (min green {:.1} / ped {:.1}+{:.1}, yellow {:.1}, all-red {:.1})",
                        st.name,
                        s.split_s,
                        lim.min_split_s(),
                        lim.min_green_s,
                        lim.ped_walk_s,
                        lim.ped_clearance_s,
                        lim.yellow_s,
                        lim.all_red_s
                    ),
                );
            }
            let green = s.split_s - lim.change_s();
            if green > lim.max_green_s + EPS_S {
                return err(
                    PlanRule::GreenTooLong,
                    format!(
                        "stage '{}' green {:.1} s exceeds max green {:.1} s",
                        st.name, green, lim.max_green_s
                    ),
                );
            }
            if let Some((a, b)) = stage_conflict(net, s.stage) {
                return err(
                    PlanRule::ConflictingGreens,
                    format!(
                        "stage '{}' gives green to conflicting movements {} and {}",
                        st.name,
                        net.movement_label(a),
                        net.movement_label(b)
                    ),
                );
            }
            sum += s.split_s;
        }
        if (sum - self.cycle_s).abs() > 1e-3 {
            return err(
                PlanRule::SplitsDoNotSumToCycle,
                format!(
                    "splits add up to {sum:.3} s, cycle is {:.3} s",
                    self.cycle_s
                ),
            );
        }
        // Coverage: a plan that leaves out the only stage of a movement starves it. Only the
        // plan's own stages count — a field controller shows no clearance stage between them.
        for &m in &inter.movements {
            if net.movement(m).signal_group.is_none() {
                continue;
            }
            if !self
                .stages
                .iter()
                .any(|s| net.stage_movements(s.stage).contains(&m))
            {
                return err(
                    PlanRule::UnservedMovement,
                    format!(
                        "movement {} is green in no stage of the plan",
                        net.movement_label(m)
                    ),
                );
            }
        }
        Ok(())
    }

    /// Where in its cycle the plan is at absolute time `t_s`: (stage position, seconds into its split).
    pub fn position_at(&self, t_s: f64) -> (usize, f64) {
        let mut into = (t_s - self.offset_s).rem_euclid(self.cycle_s);
        for (k, s) in self.stages.iter().enumerate() {
            if into < s.split_s {
                return (k, into);
            }
            into -= s.split_s;
        }
        let last = self.stages.len() - 1;
        (last, self.stages[last].split_s)
    }
}

/// Timing limits that make no sense on their own.
pub fn check_limits(lim: &StageLimits) -> Option<(PlanRule, String)> {
    let all = [
        lim.min_green_s,
        lim.max_green_s,
        lim.yellow_s,
        lim.all_red_s,
        lim.ped_walk_s,
        lim.ped_clearance_s,
    ];
    if all.iter().any(|v| !v.is_finite()) {
        return Some((PlanRule::BadNumber, "a timing value is not finite".into()));
    }
    if lim.yellow_s + EPS_S < MIN_YELLOW_S {
        return Some((
            PlanRule::YellowTooShort,
            format!("yellow {:.1} s is under {MIN_YELLOW_S} s", lim.yellow_s),
        ));
    }
    if lim.all_red_s < 0.0 || lim.ped_walk_s < 0.0 || lim.ped_clearance_s < 0.0 {
        return Some((
            PlanRule::BadClearance,
            "negative all-red or pedestrian time".into(),
        ));
    }
    for (v, max, what) in [
        (lim.yellow_s, MAX_YELLOW_S, "yellow"),
        (lim.all_red_s, MAX_ALL_RED_S, "all-red"),
        (lim.min_green_s, MAX_GREEN_LIMIT_S, "min green"),
        (lim.max_green_s, MAX_GREEN_LIMIT_S, "max green"),
        (lim.ped_walk_s, MAX_PED_S, "pedestrian walk"),
        (lim.ped_clearance_s, MAX_PED_S, "pedestrian clearance"),
    ] {
        if v > max + EPS_S {
            return Some((
                PlanRule::BadNumber,
                format!("{what} {} s is above the {max} s accepted", short_number(v)),
            ));
        }
    }
    if lim.min_green_s < 0.0 || lim.min_green_s > lim.max_green_s + EPS_S {
        return Some((
            PlanRule::BadNumber,
            format!(
                "min green {:.1} s is negative or above max green {:.1} s",
                lim.min_green_s, lim.max_green_s
            ),
        ));
    }
    None
}

/// A number for a message: as written when short, else in scientific notation, so that a
/// hostile `1e300` does not become 300 digits.
pub(crate) fn short_number(v: f64) -> String {
    let plain = format!("{v}");
    if plain.len() <= 12 {
        plain
    } else {
        format!("{v:.3e}")
    }
}

/// The first pair of conflicting movements a stage shows green together, if any. Two
/// movements may share a green only when at least one is permissive (yields) and their paths
/// merge or cross — as a permissive left turn does with the opposing through — never when both
/// are protected.
pub fn stage_conflict(net: &RoadNet, stage: StageId) -> Option<(MovementId, MovementId)> {
    let mut green: Vec<(MovementId, bool)> = Vec::new();
    for g in &net.stage(stage).groups {
        let grp = net.signal_group(*g);
        for m in &grp.movements {
            green.push((*m, grp.permissive));
        }
    }
    green.sort_by_key(|(m, _)| *m);
    for (i, (a, pa)) in green.iter().enumerate() {
        for (b, pb) in &green[i + 1..] {
            if !pa && !pb && net.conflict(*a, *b).is_some() {
                return Some((*a, *b));
            }
        }
    }
    None
}

impl fmt::Display for SignalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cycle {:.0} s offset {:.0} s splits [",
            self.intersection, self.cycle_s, self.offset_s
        )?;
        for (k, s) in self.stages.iter().enumerate() {
            if k > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}: {:.0}", s.stage, s.split_s)?;
        }
        write!(f, "]")
    }
}
