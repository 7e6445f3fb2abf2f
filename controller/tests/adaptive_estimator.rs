//! The estimator end to end: Kalman queue/flow tracking from loops alone, and faulty loops
//! flagged (queryable) and excluded while the estimate keeps working.

mod adaptive_common;

use adaptive_common::{corridor_toml, Limits};
use controller::estimate::faults::DetectorHealth;
use controller::estimate::{Estimator, EstimatorParams, FlowSource};
use roadnet::{DetectorReading, RoadNet, StepInput};

/// The generated corridor with an advance and a stop-bar loop on both lanes of the west
/// approach of X0 (road `W_X0`), and no camera.
fn net() -> RoadNet {
    let mut t = corridor_toml(2, 300.0, true, &Limits::default());
    for lane in 0..2 {
        t += &format!(
            "[[detector]]\nid = \"adv{lane}\"\nlane = \"W_X0:{lane}\"\nkind = \"advance\"\nsetback_m = 100\n\
             [[detector]]\nid = \"bar{lane}\"\nlane = \"W_X0:{lane}\"\nkind = \"stop_bar\"\n"
        );
    }
    roadnet::config::parse_toml(&t, "gen.toml").expect("network loads")
}

fn det(net: &RoadNet, name: &str) -> roadnet::DetectorId {
    net.detectors
        .iter()
        .find(|d| d.name == name)
        .expect("detector")
        .id
}

/// Run `minutes` of 30 s loop intervals; `reading(name, k)` gives (count, occupancy).
fn run(
    net: &RoadNet,
    est: &mut Estimator,
    minutes: usize,
    reading: impl Fn(&str, usize) -> (u32, f64),
) {
    let names = ["adv0", "adv1", "bar0", "bar1"];
    for k in 0..minutes * 60 {
        let closing = k % 30 == 29;
        let readings: Vec<DetectorReading> = if closing {
            names
                .iter()
                .map(|n| {
                    let (count, occupancy) = reading(n, k / 30);
                    DetectorReading {
                        detector: det(net, n),
                        time_s: k as f64 + 1.0,
                        interval_s: 30.0,
                        count,
                        occupancy,
                        mean_speed_m_s: Some(12.0),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        est.update(
            net,
            &StepInput {
                time_s: k as f64 + 1.0,
                dt_s: 1.0,
                detectors: &readings,
                cameras: &[],
                signals: &[],
            },
        );
    }
}

#[test]
fn arrival_flow_converges_from_advance_loops() {
    let net = net();
    let mut est = Estimator::new(&net, EstimatorParams::default());
    // 6 vehicles per 30 s on each lane: 0.2 veh/s
    run(&net, &mut est, 20, |_, _| (6, 0.15));
    let lane = net.lane(net.detectors[det(&net, "adv0").index()].lane);
    let ls = est.state().lane(lane.id);
    assert!(
        (ls.arrival_flow_veh_s - 0.2).abs() < 0.02,
        "flow {}",
        ls.arrival_flow_veh_s
    );
    assert_eq!(ls.flow_source, FlowSource::Detector);
    assert!(est.faulty_detectors().is_empty());
    // arrivals equal stop-bar departures: the queue stays small
    assert!(ls.queue_veh < 5.0, "queue {}", ls.queue_veh);
}

#[test]
fn faulty_loops_are_flagged_and_excluded() {
    let net = net();
    let mut est = Estimator::new(&net, EstimatorParams::default());
    // adv0 stuck on, bar1 stuck off (its neighbour bar0 counts), adv1 chattering
    run(&net, &mut est, 15, |name, _| match name {
        "adv0" => (0, 1.0),
        "adv1" => (45, 0.2),
        "bar1" => (0, 0.0),
        _ => (6, 0.15),
    });
    assert_eq!(
        est.detector_health(det(&net, "adv0")),
        DetectorHealth::StuckOn
    );
    assert_eq!(
        est.detector_health(det(&net, "adv1")),
        DetectorHealth::Chattering
    );
    assert_eq!(
        est.detector_health(det(&net, "bar1")),
        DetectorHealth::StuckOff
    );
    assert_eq!(est.detector_health(det(&net, "bar0")), DetectorHealth::Ok);
    let flagged: Vec<_> = est.faulty_detectors().iter().map(|(d, _)| *d).collect();
    assert_eq!(flagged.len(), 3);
    // the chattering loop's 1.5 veh/s never reached the estimate
    let lane1 = net.detectors[det(&net, "adv1").index()].lane;
    assert!(est.state().lane(lane1).arrival_flow_veh_s < 0.5);
}
