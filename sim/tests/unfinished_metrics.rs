//! Delay, stops and speed count vehicles that have not finished (still driving, stuck at red,
//! or still in the spawn queue), on the tiny hand-made network of `common`.

mod common;
use common::*;
use sim::{Observer, StepView};

/// Remembers the last seen distance and speed of vehicle 0.
#[derive(Default)]
struct Last {
    distance_m: f64,
    speed_m_s: f64,
}
impl Observer for Last {
    fn on_step(&mut self, v: &StepView<'_>) {
        if let Some(s) = v.vehicles().find(|s| s.vehicle == 0) {
            self.distance_m = s.distance_m;
            self.speed_m_s = s.speed_m_s;
        }
    }
}

fn run(trips: Vec<roadnet::Trip>, duration_s: f64) -> (Last, sim::Metrics) {
    // North–south green for the whole run: west–east traffic is held at red.
    run_tiny(trips, &[(0.0, "ns")], duration_s, Last::default())
}

#[test]
fn a_vehicle_stuck_at_red_at_the_end_counts_its_delay_and_its_stop() {
    let net = tiny();
    let wa = net
        .lane(net.road(net.road_by_name("wa").unwrap()).lanes[0])
        .length_m;
    let (last, m) = run(vec![trip(&net, 0.0, &["wa", "ae"])], 200.0);
    assert_eq!(m.vehicles_completed, 0);
    assert_eq!(m.vehicles_running, 1);
    // Halted just before the stop line (yield distance 5 m at most).
    assert!(last.speed_m_s < sim::HALTING_SPEED_M_S);
    assert!(last.distance_m <= wa && last.distance_m > wa - 5.0);
    // 200 s in the network since its departure at 0.
    assert_eq!(m.average_travel_time_s, 200.0);
    // Delay = 200 s − the free-flow time of the distance driven at 11.111 m/s (its max speed,
    // below the 13.89 m/s limit). The lane is 300 m between centres less the junction: the
    // vehicle drove under 300 m, so at least 200 − 27 s of the 200 s are delay.
    let expected = 200.0 - last.distance_m / 11.111;
    assert!(
        (m.mean_delay_s - expected).abs() < 1e-9,
        "{}",
        m.mean_delay_s
    );
    assert!(m.mean_delay_s > 173.0);
    // One stop, at the red light.
    assert_eq!(m.stops_per_vehicle, 1.0);
    assert!((m.mean_speed_m_s - last.distance_m / 200.0).abs() < 1e-9);
    // At A it was never served but has been on the approach: its delay there counts. From
    // rest it covers < 300 m within 6 s of acceleration (33 m) + 267 m / 11.111 m/s ≈ 24 s,
    // so it stands still (delay 1 s per s) for more than 160 of the 200 s.
    let a = &m.intersections["A"];
    assert_eq!(a.vehicles_served, 0);
    assert_eq!(a.vehicles_arrived, 1);
    assert!(
        a.mean_delay_s > 160.0 && a.mean_delay_s <= 200.0,
        "{}",
        a.mean_delay_s
    );
}

#[test]
fn a_vehicle_still_in_the_spawn_queue_counts_its_wait() {
    let net = tiny();
    // Two vehicles depart at 0 on the one-lane road: one enters per lane per step, so after
    // the first 1 s step vehicle 0 has driven (0 + 2 m/s) / 2 × 1 s = 1 m and vehicle 1 still
    // waits to enter.
    let (last, m) = run(
        vec![
            trip(&net, 0.0, &["wa", "ae"]),
            trip(&net, 0.0, &["wa", "ae"]),
        ],
        1.0,
    );
    assert_eq!(m.vehicles_generated, 2);
    assert_eq!(m.vehicles_running, 1);
    assert_eq!(m.vehicles_waiting, 1);
    assert_eq!(last.distance_m, 1.0);
    assert_eq!(m.average_travel_time_s, 1.0);
    // Delays: 1 − 1 / 11.111 for the driver, the whole 1 s for the waiting one.
    let expected = ((1.0 - 1.0 / 11.111) + 1.0) / 2.0;
    assert!(
        (m.mean_delay_s - expected).abs() < 1e-12,
        "{}",
        m.mean_delay_s
    );
    // The wait in the spawn queue is the only stop: 1 over 2 vehicles.
    assert_eq!(m.stops_per_vehicle, 0.5);
    // 1 m over 2 vehicle-seconds.
    assert_eq!(m.mean_speed_m_s, 0.5);
}
