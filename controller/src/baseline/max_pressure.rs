//! `max-pressure` (MP15, the baseline of the published Jinan tables): every 15 s, for each intersection, the candidate stage
//! with the largest pressure = Σ over its non-right-turn movements of (halting vehicles on the
//! movement's start lanes − halting vehicles on all lanes of its exit road), halting = camera
//! `LaneView.halting` (speed < 0.1 m/s). Candidates: phases 1–4 on CityFlow networks (those
//! with a clearance stage), every non-clearance stage elsewhere. Ties keep the lowest stage.
//! A different choice is sent as `SwitchTo`; the simulator shows the change interval (phase 0,
//! 5 s, inside the 15 s) and then the new stage.

use super::fixed::plan_stages;
use roadnet::{Command, Controller, IntersectionId, RoadNet, StageId, StepInput, TurnKind};

/// Decision period, s.
pub const PERIOD_S: f64 = 15.0;

#[derive(Debug)]
struct Candidate {
    stage: StageId,
    /// (start lanes, exit road lanes) of each non-right movement.
    movements: Vec<(Vec<usize>, Vec<usize>)>,
}

#[derive(Debug)]
struct Inter {
    id: IntersectionId,
    candidates: Vec<Candidate>,
}

#[derive(Debug)]
pub struct MaxPressure {
    inters: Vec<Inter>,
    halting: Vec<i64>,
    next_decision_s: f64,
}

impl MaxPressure {
    pub fn new(net: &RoadNet) -> MaxPressure {
        let inters = net
            .signalized()
            .map(|i| {
                let mut stages = plan_stages(net, i.id);
                if i.clearance_stage.is_some() && stages.len() > 4 {
                    stages.truncate(4);
                }
                let candidates = stages
                    .into_iter()
                    .map(|s| Candidate {
                        stage: s,
                        movements: net
                            .stage_movements(s)
                            .into_iter()
                            .filter(|m| net.movement(*m).turn != TurnKind::Right)
                            .map(|m| {
                                let start =
                                    net.lanes_feeding(m).iter().map(|l| l.index()).collect();
                                let end = net
                                    .road(net.movement(m).to_road)
                                    .lanes
                                    .iter()
                                    .map(|l| l.index())
                                    .collect();
                                (start, end)
                            })
                            .collect(),
                    })
                    .collect();
                Inter {
                    id: i.id,
                    candidates,
                }
            })
            .collect();
        MaxPressure {
            inters,
            halting: vec![0; net.lanes.len()],
            next_decision_s: 0.0,
        }
    }
}

impl Controller for MaxPressure {
    fn name(&self) -> &str {
        "max-pressure"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        if input.time_s + 1e-9 < self.next_decision_s {
            return;
        }
        self.next_decision_s += PERIOD_S;
        for f in input.cameras {
            for lv in &f.lanes {
                if let Some(h) = self.halting.get_mut(lv.lane.index()) {
                    *h = lv.halting as i64;
                }
            }
        }
        for inter in &self.inters {
            let Some(state) = input.signals.iter().find(|s| s.intersection == inter.id) else {
                continue;
            };
            let current = state.next_stage.unwrap_or(state.stage);
            let mut best: Option<(i64, StageId)> = None;
            for c in &inter.candidates {
                let p: i64 = c
                    .movements
                    .iter()
                    .map(|(start, end)| {
                        start.iter().map(|l| self.halting[*l]).sum::<i64>()
                            - end.iter().map(|l| self.halting[*l]).sum::<i64>()
                    })
                    .sum();
                if best.is_none_or(|(bp, _)| p > bp) {
                    best = Some((p, c.stage));
                }
            }
            if let Some((_, stage)) = best {
                if stage != current {
                    out.push(Command::SwitchTo {
                        intersection: inter.id,
                        stage,
                    });
                }
            }
        }
    }
}
