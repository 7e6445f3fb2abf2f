//! One scheduling decision (issue 10, target < 1 ms median): a four-approach intersection,
//! through and left movement per approach (8 movements), its arrivals over a 60 s horizon
//! clustered ([`form_clusters`]) and the forward-recursion DP run ([`Problem::solve`]) with
//! the controller's defaults. Two stage layouts: the four-stage NEMA-style one (N–S through,
//! N–S left, E–W through, E–W left) and CityFlow's eight phases (those four plus each
//! approach's through + left alone), the layout of the Jinan grid.

use controller::schedule::clusters::{form_clusters, Arrival, Cluster};
use controller::schedule::dp::{Problem, StageSpec};
use controller::schedule::ScheduleParams;
use criterion::{criterion_group, criterion_main, Criterion};
use sim::SplitMix64;
use std::hint::black_box;

/// Movements: 0–3 through (N, S, E, W), 4–7 left (N, S, E, W).
fn stages(eight: bool) -> Vec<StageSpec> {
    let mut sets = vec![vec![0, 1], vec![4, 5], vec![2, 3], vec![6, 7]];
    if eight {
        sets.extend([vec![0, 4], vec![1, 5], vec![2, 6], vec![3, 7]]);
    }
    sets.into_iter()
        .map(|movements| StageSpec {
            movements,
            min_green_s: 5.0,
            max_green_s: 60.0,
            change_s: 5.0,
        })
        .collect()
}

/// Per movement: standing queue and predicted arrivals (one per vehicle, as the cameras give
/// them), through movements 0.15–0.35 veh/s, left ones 0.05–0.15 veh/s.
fn demand(seed: u64) -> Vec<(f64, Vec<Arrival>)> {
    let mut rng = SplitMix64::new(seed);
    let mut r = || rng.next_u32() as f64 / u32::MAX as f64;
    (0..8)
        .map(|m| {
            let rate = if m < 4 {
                0.15 + 0.2 * r()
            } else {
                0.05 + 0.1 * r()
            };
            let queue = (12.0 * r()).floor();
            let mut t = 0.0;
            let mut arrivals = Vec::new();
            loop {
                t += -(1.0 - r()).ln() / rate;
                if t > 60.0 {
                    break;
                }
                arrivals.push(Arrival {
                    time_s: t,
                    veh: 1.0,
                });
            }
            (queue, arrivals)
        })
        .collect()
}

fn decision(c: &mut Criterion) {
    let p = ScheduleParams::default();
    let input = demand(3);
    for eight in [false, true] {
        let st = stages(eight);
        let name = if eight {
            "schedule_decision_8_stages_60s"
        } else {
            "schedule_decision_4_stages_60s"
        };
        c.bench_function(name, |b| {
            let mut clusters: Vec<Vec<Cluster>> = vec![Vec::new(); 8];
            let mut arrivals = input.clone();
            b.iter(|| {
                for (m, (queue, arr)) in arrivals.iter_mut().enumerate() {
                    form_clusters(
                        0.0,
                        *queue,
                        arr,
                        0.5,
                        p.merge_gap_s,
                        p.horizon_s,
                        &mut clusters[m],
                    );
                }
                let problem = Problem {
                    now_s: 0.0,
                    horizon_end_s: p.horizon_s,
                    stages: &st,
                    clusters: &clusters,
                    current: 0,
                    green_elapsed_s: 12.0,
                    startup_lost_s: p.startup_lost_s,
                    beam_width: p.beam_width,
                    max_segments: p.max_segments,
                    rank_share: p.rank_share,
                };
                black_box(problem.solve()).map(|d| d.stage)
            })
        });
    }
}

criterion_group!(benches, decision);
criterion_main!(benches);
