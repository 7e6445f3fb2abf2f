//! Whole-hour replays of Jinan 1/2/3 against CityFlow's published figures (fixed-time FT30,
//! max-pressure MP15, MP15 with lane changing): both metrics within ±1 %. Release only
//! (`cargo test --release`): slow in debug.

mod common;
use controller::baseline::make_controller;
use sim::{NoObserver, SimConfig, Simulation};

/// (flow file, controller, lane change, reference entering-lane s, reference average travel s)
const CASES: &[(&str, &str, bool, f64, f64)] = &[
    (
        "anon_3_4_jinan_real.json",
        "fixed-time",
        false,
        435.99,
        506.96,
    ),
    (
        "anon_3_4_jinan_real.json",
        "max-pressure",
        false,
        276.15,
        321.13,
    ),
    (
        "anon_3_4_jinan_real.json",
        "max-pressure",
        true,
        273.96,
        319.99,
    ),
    (
        "anon_3_4_jinan_real_2000.json",
        "fixed-time",
        false,
        369.83,
        412.10,
    ),
    (
        "anon_3_4_jinan_real_2000.json",
        "max-pressure",
        false,
        246.86,
        293.52,
    ),
    (
        "anon_3_4_jinan_real_2000.json",
        "max-pressure",
        true,
        245.38,
        293.23,
    ),
    (
        "anon_3_4_jinan_real_2500.json",
        "fixed-time",
        false,
        384.73,
        447.36,
    ),
    (
        "anon_3_4_jinan_real_2500.json",
        "max-pressure",
        false,
        244.20,
        290.81,
    ),
    (
        "anon_3_4_jinan_real_2500.json",
        "max-pressure",
        true,
        243.81,
        291.03,
    ),
];

fn check(flow: &str) {
    let Some(jinan) = testdata::jinan(&format!("jinan_fidelity {flow}")) else {
        return;
    };
    let dir = jinan.dir;
    let net = roadnet::cityflow::load_roadnet(&dir.join("roadnet_3_4.json")).unwrap();
    let demand = roadnet::cityflow::load_flow(&dir.join(flow), &net).unwrap();
    let mut failures = Vec::new();
    for &(f, control, lane_change, ref_enter, ref_att) in CASES {
        if f != flow {
            continue;
        }
        let mut c = make_controller(control, &net).unwrap();
        let cfg = SimConfig {
            lane_change,
            ..SimConfig::default()
        };
        let mut s = Simulation::new(net.clone(), &demand, cfg).unwrap();
        let m = s.run(c.as_mut(), &mut NoObserver).unwrap();
        for (what, ours, reference) in [
            (
                "entering_lane_travel_time_s",
                m.entering_lane_travel_time_s,
                ref_enter,
            ),
            ("average_travel_time_s", m.average_travel_time_s, ref_att),
        ] {
            let diff = (ours - reference) / reference * 100.0;
            eprintln!("{flow} {control} lc={lane_change} {what}: ours {ours:.2} ref {reference:.2} ({diff:+.2} %)");
            if diff.abs() > 1.0 {
                failures.push(format!(
                    "{control} lc={lane_change} {what} {ours:.2} vs {reference:.2} ({diff:+.2} %)"
                ));
            }
        }
        assert_eq!(m.safety_violations, 0);
    }
    assert!(failures.is_empty(), "{flow}: {failures:#?}");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "whole-hour replay: run with --release")]
fn jinan_1_within_1_percent() {
    check("anon_3_4_jinan_real.json");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "whole-hour replay: run with --release")]
fn jinan_2_within_1_percent() {
    check("anon_3_4_jinan_real_2000.json");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "whole-hour replay: run with --release")]
fn jinan_3_within_1_percent() {
    check("anon_3_4_jinan_real_2500.json");
}
