#![allow(
    dead_code,
    reason = "shared by several test or example binaries, each using a different part"
)]
//! Shared helpers: a tiny hand-made network and scripted controllers.

use roadnet::{Command, Controller, RoadNet, StageId, StepInput};

/// W → A → E (east-west, 1 lane) crossing N → A → S (north-south, 1 lane) at signalized A.
/// Stage `ew` serves W→E, stage `ns` serves N→S. Default timing: min green 7, yellow 4, all-red 2.
pub(crate) const TINY: &str = r#"
name = "tiny"
[[intersection]]
id = "W"
kind = "boundary"
x_m = 0.0
y_m = 0.0
[[intersection]]
id = "E"
kind = "boundary"
x_m = 600.0
y_m = 0.0
[[intersection]]
id = "N"
kind = "boundary"
x_m = 300.0
y_m = 300.0
[[intersection]]
id = "S"
kind = "boundary"
x_m = 300.0
y_m = -300.0
[[intersection]]
id = "A"
x_m = 300.0
y_m = 0.0
controller = { host = "127.0.0.1", port = 502, unit_id = 1 }
[[intersection.signal_group]]
id = "g_ew"
movements = ["wa:T"]
[[intersection.signal_group]]
id = "g_ns"
movements = ["na:T"]
[[intersection.stage]]
id = "ew"
groups = ["g_ew"]
[[intersection.stage]]
id = "ns"
groups = ["g_ns"]
[[road]]
id = "wa"
from = "W"
to = "A"
lanes = [{ turns = "T" }]
[[road]]
id = "ae"
from = "A"
to = "E"
lanes = [{}]
[[road]]
id = "na"
from = "N"
to = "A"
lanes = [{ turns = "T" }]
[[road]]
id = "as"
from = "A"
to = "S"
lanes = [{}]
"#;

pub(crate) fn tiny() -> RoadNet {
    roadnet::config::parse_toml(TINY, "tiny.toml").expect("tiny network builds")
}

pub(crate) fn stage(net: &RoadNet, name: &str) -> StageId {
    net.stages
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.id)
        .expect("stage exists")
}

/// Sends `SwitchTo(stage)` at the given times.
pub(crate) struct Script {
    pub at: Vec<(f64, StageId)>,
}

impl Controller for Script {
    fn name(&self) -> &str {
        "script"
    }
    fn step(&mut self, input: &StepInput<'_>, out: &mut Vec<Command>) {
        for &(t, s) in &self.at {
            if (input.time_s - t).abs() < 1e-9 {
                out.push(Command::SwitchTo {
                    intersection: input.signals[0].intersection,
                    stage: s,
                });
            }
        }
    }
}

pub(crate) fn trip(net: &RoadNet, t: f64, roads: &[&str]) -> roadnet::Trip {
    roadnet::Trip {
        departure_s: t,
        route: roads.iter().map(|r| net.road_by_name(r).unwrap()).collect(),
        params: roadnet::VehicleParams::default(),
    }
}

/// Runs `trips` on [`tiny`] for `duration_s` with the stages switched by `script`
/// ((time s, stage name)), observed by `observer`.
pub(crate) fn run_tiny<O: sim::Observer>(
    trips: Vec<roadnet::Trip>,
    script: &[(f64, &str)],
    duration_s: f64,
    mut observer: O,
) -> (O, sim::Metrics) {
    let net = tiny();
    let at = script.iter().map(|&(t, s)| (t, stage(&net, s))).collect();
    let mut sim = sim::Simulation::new(
        net,
        &roadnet::Demand::new(trips),
        sim::SimConfig {
            duration_s,
            ..sim::SimConfig::default()
        },
    )
    .expect("the tiny network and its trips build");
    let m = sim
        .run(&mut Script { at }, &mut observer)
        .expect("the run completes safely");
    (observer, m)
}
