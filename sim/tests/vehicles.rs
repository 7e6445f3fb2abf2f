//! Car following, stopping at red, discharge headway on a tiny hand-made network.

mod common;
use common::*;
use sim::{Observer, Place, StepView};
use std::collections::BTreeMap;

/// Records every vehicle's (time, place, distance, speed).
#[derive(Default)]
struct Rec {
    rows: Vec<(f64, u32, Place, f64, f64)>,
}
impl Observer for Rec {
    fn on_step(&mut self, v: &StepView<'_>) {
        for s in v.vehicles() {
            self.rows
                .push((v.time_s(), s.vehicle, s.place, s.distance_m, s.speed_m_s));
        }
    }
}

fn run(
    trips: Vec<roadnet::Trip>,
    script: Vec<(f64, &str)>,
    duration_s: f64,
) -> (Rec, sim::Metrics) {
    run_tiny(trips, &script, duration_s, Rec::default())
}

#[test]
fn a_vehicle_stops_at_red_and_goes_on_green() {
    let net = tiny();
    let wa = net
        .lane(net.road(net.road_by_name("wa").unwrap()).lanes[0])
        .length_m;
    // N–S green from the start; E–W green from t = 120 s.
    let (rec, m) = run(
        vec![trip(&net, 0.0, &["wa", "ae"])],
        vec![(0.0, "ns"), (120.0, "ew")],
        400.0,
    );
    let on_lane: Vec<_> = rec
        .rows
        .iter()
        .filter(|r| matches!(r.2, Place::Lane(l) if l.index() == 0))
        .collect();
    // Before the green (t ≤ 120 + 6 s change) it never passes the stop line and comes to rest.
    for r in &rec.rows {
        if r.0 <= 126.0 {
            assert!(
                matches!(r.2, Place::Lane(l) if l.index() == 0),
                "left the approach at t={} on red",
                r.0
            );
            assert!(r.3 <= wa + 1e-9);
        }
    }
    let stopped = on_lane.iter().find(|r| r.0 > 60.0 && r.0 < 120.0).unwrap();
    assert!(
        stopped.4 < sim::HALTING_SPEED_M_S,
        "not stopped at red: {stopped:?}"
    );
    assert!(
        wa - stopped.3 < 5.0,
        "stopped {} m before the line",
        wa - stopped.3
    );
    assert_eq!(m.vehicles_completed, 1);
    assert!(m.stops_per_vehicle >= 1.0);
}

#[test]
fn followers_never_overlap_their_leader() {
    let net = tiny();
    let trips = (0..30)
        .map(|k| trip(&net, k as f64, &["wa", "ae"]))
        .collect();
    let (rec, m) = run(trips, vec![(0.0, "ns"), (90.0, "ew")], 600.0);
    // Group by (time, lane) and check consecutive gaps.
    let mut by: BTreeMap<(u64, u32), Vec<f64>> = BTreeMap::new();
    for r in &rec.rows {
        if let Place::Lane(l) = r.2 {
            by.entry(((r.0 * 10.0) as u64, l.0)).or_default().push(r.3);
        }
    }
    for ((t, lane), mut xs) in by {
        xs.sort_by(|a, b| b.total_cmp(a));
        for w in xs.windows(2) {
            assert!(
                w[0] - 5.0 - w[1] >= -1e-6,
                "overlap at t={} lane {lane}: {w:?}",
                t as f64 / 10.0
            );
        }
    }
    assert_eq!(m.vehicles_completed, 30);
}

#[test]
fn queue_discharges_at_about_two_seconds_per_vehicle() {
    let net = tiny();
    let trips = (0..12)
        .map(|k| trip(&net, k as f64, &["wa", "ae"]))
        .collect();
    let (rec, _) = run(trips, vec![(0.0, "ns"), (150.0, "ew")], 400.0);
    // Time each vehicle first appears beyond the stop line (on the link or the exit road).
    let mut crossed: BTreeMap<u32, f64> = BTreeMap::new();
    for r in &rec.rows {
        if !matches!(r.2, Place::Lane(l) if l.index() == 0) {
            crossed.entry(r.1).or_insert(r.0);
        }
    }
    let mut times: Vec<f64> = crossed.values().copied().collect();
    times.sort_by(f64::total_cmp);
    assert_eq!(times.len(), 12);
    // Saturated headway after the first few starters.
    let hw: Vec<f64> = times.windows(2).skip(3).map(|w| w[1] - w[0]).collect();
    let mean = hw.iter().sum::<f64>() / hw.len() as f64;
    assert!(
        (1.5..=3.5).contains(&mean),
        "discharge headway {mean:.2} s ({hw:?})"
    );
    assert!(
        times[0] > 156.0 - 1e-9,
        "first vehicle crossed before the green: {}",
        times[0]
    );
}
