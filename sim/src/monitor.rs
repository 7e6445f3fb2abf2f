//! The software conflict monitor (the simulator's "malfunction management unit"). It watches the
//! indications actually shown, independently of the logic that produced them, and reports the
//! first breach of the three safety rules:
//! 1. no two conflicting movements both showing protected green;
//! 2. no green ends without a yellow of at least [`roadnet::MIN_YELLOW_S`];
//! 3. no stage's green shorter than its min green (clearance stages exempt).

use roadnet::{
    Indication, IntersectionId, MovementId, RoadNet, SignalGroupId, StageId, MIN_YELLOW_S,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which rule was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyRule {
    ConflictingGreens,
    GreenWithoutYellow,
    YellowTooShort,
    MinGreenCut,
}

/// A breach, with what a traffic engineer needs to find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SafetyViolation {
    pub time_s: f64,
    pub intersection: String,
    pub rule: SafetyRule,
    /// Readable labels of the movements involved.
    pub movements: Vec<String>,
    pub detail: String,
}

impl fmt::Display for SafetyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={:.1} s at '{}': {:?}: {} [{}]",
            self.time_s,
            self.intersection,
            self.rule,
            self.detail,
            self.movements.join(", ")
        )
    }
}

/// Tolerance for comparing accumulated seconds.
const EPS_S: f64 = 1e-6;

#[derive(Debug)]
struct InterWatch {
    id: IntersectionId,
    groups: Vec<SignalGroupId>,
    /// Conflicting movement pairs, as (group position a, group position b, movement a, movement b).
    conflicts: Vec<(usize, usize, MovementId, MovementId)>,
    prev: Vec<Indication>,
    yellow_since_s: Vec<f64>,
}

/// Watches every signalized intersection of a network.
#[derive(Debug)]
pub struct ConflictMonitor {
    inters: Vec<InterWatch>,
    /// Total violations seen (a run stops at the first, so normally 0 or 1).
    pub violations: u64,
}

impl ConflictMonitor {
    pub fn new(net: &RoadNet) -> Self {
        let inters = net
            .signalized()
            .map(|i| {
                let pos = |m: MovementId| {
                    let g = net.movement(m).signal_group?;
                    i.signal_groups.iter().position(|x| *x == g)
                };
                let conflicts = i
                    .conflicts
                    .iter()
                    .filter_map(|c| Some((pos(c.a)?, pos(c.b)?, c.a, c.b)))
                    .collect();
                InterWatch {
                    id: i.id,
                    groups: i.signal_groups.clone(),
                    conflicts,
                    prev: vec![Indication::Red; i.signal_groups.len()],
                    yellow_since_s: vec![0.0; i.signal_groups.len()],
                }
            })
            .collect();
        ConflictMonitor {
            inters,
            violations: 0,
        }
    }

    /// Check the indications shown by the `k`-th signalized intersection from `time_s` on
    /// (one per signal group, in the intersection's group order). `ended_stage` names a stage
    /// whose green ended at this instant with how long it lasted.
    pub fn observe(
        &mut self,
        net: &RoadNet,
        k: usize,
        time_s: f64,
        lamps: &[Indication],
        ended_stage: Option<(StageId, f64)>,
    ) -> Result<(), SafetyViolation> {
        let w = &mut self.inters[k];
        let name = || net.intersection(w.id).name.clone();
        let group_label = |g: SignalGroupId| {
            net.signal_group(g)
                .movements
                .iter()
                .map(|m| net.movement_label(*m))
                .collect::<Vec<_>>()
                .join("+")
        };
        let mut result = Ok(());
        for &(a, b, ma, mb) in &w.conflicts {
            if lamps[a] == Indication::Green && lamps[b] == Indication::Green {
                result = Err(SafetyViolation {
                    time_s,
                    intersection: name(),
                    rule: SafetyRule::ConflictingGreens,
                    movements: vec![net.movement_label(ma), net.movement_label(mb)],
                    detail: "conflicting movements both show protected green".into(),
                });
                break;
            }
        }
        if result.is_ok() {
            for (g, (&now, prev)) in lamps.iter().zip(w.prev.iter()).enumerate() {
                if prev.is_green() && now == Indication::Red {
                    result = Err(SafetyViolation {
                        time_s,
                        intersection: name(),
                        rule: SafetyRule::GreenWithoutYellow,
                        movements: vec![group_label(w.groups[g])],
                        detail: "green went straight to red".into(),
                    });
                    break;
                }
                if *prev == Indication::Yellow && now != Indication::Yellow {
                    let shown = time_s - w.yellow_since_s[g];
                    if shown + EPS_S < MIN_YELLOW_S {
                        result = Err(SafetyViolation {
                            time_s,
                            intersection: name(),
                            rule: SafetyRule::YellowTooShort,
                            movements: vec![group_label(w.groups[g])],
                            detail: format!("yellow shown {shown:.1} s, minimum {MIN_YELLOW_S} s"),
                        });
                        break;
                    }
                }
            }
        }
        if result.is_ok() {
            if let Some((stage, green_s)) = ended_stage {
                let st = net.stage(stage);
                let min = st.limits.shortest_green_s();
                if !st.clearance && green_s + EPS_S < min {
                    let movements = net
                        .stage_movements(stage)
                        .into_iter()
                        .map(|m| net.movement_label(m))
                        .collect();
                    result = Err(SafetyViolation {
                        time_s,
                        intersection: name(),
                        rule: SafetyRule::MinGreenCut,
                        movements,
                        detail: format!(
                            "stage '{}' green lasted {green_s:.1} s, min green {min:.1} s",
                            st.name
                        ),
                    });
                }
            }
        }
        for (g, &now) in lamps.iter().enumerate() {
            if now == Indication::Yellow && w.prev[g] != Indication::Yellow {
                w.yellow_since_s[g] = time_s;
            }
            w.prev[g] = now;
        }
        if result.is_err() {
            self.violations += 1;
        }
        result
    }
}
