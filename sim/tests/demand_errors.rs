//! Malformed demand gives a clear error naming the vehicle, never a panic.

mod common;
use common::*;
use roadnet::{Demand, RoadId};
use sim::{SimConfig, SimError, Simulation};

const FLOW_OK: &str = r#"{"vehicle":{"length":5.0,"width":2.0,"maxPosAcc":2.0,"maxNegAcc":4.5,"usualPosAcc":2.0,"usualNegAcc":4.5,"minGap":2.5,"maxSpeed":11.111,"headwayTime":2},"interval":1.0"#;

fn flow(entries: &[(&str, f64)]) -> String {
    let items: Vec<String> = entries
        .iter()
        .map(|(route, t)| {
            format!("{FLOW_OK},\"route\":{route},\"startTime\":{t},\"endTime\":{t}}}")
        })
        .collect();
    format!("[{}]", items.join(","))
}

#[test]
fn flow_file_errors_name_the_vehicle() {
    let net = tiny();
    let ok = flow(&[(r#"["wa","ae"]"#, 0.0)]);
    assert_eq!(
        roadnet::cityflow::parse_flow(&ok, "f.json", &net)
            .unwrap()
            .trips
            .len(),
        1
    );
    let cases = [
        (
            flow(&[(r#"["wa","ae"]"#, 0.0), (r#"["wa","as"]"#, 1.0)]),
            "vehicle 1",
        ),
        (
            flow(&[(r#"["wa","nowhere"]"#, 0.0)]),
            "unknown road 'nowhere'",
        ),
        (
            flow(&[(r#"["wa","ae"]"#, 0.0), (r#"["wa","ae"]"#, -3.0)]),
            "vehicle 1",
        ),
    ];
    for (text, expect) in cases {
        let e = roadnet::cityflow::parse_flow(&text, "f.json", &net).unwrap_err();
        assert!(e.to_string().contains(expect), "{e}");
    }
}

#[test]
fn simulation_rejects_bad_trips_with_their_index() {
    let net = tiny();
    let good = trip(&net, 0.0, &["wa", "ae"]);
    let mut not_connected = trip(&net, 1.0, &["wa", "as"]);
    let check = |trips: Vec<roadnet::Trip>, index: usize, words: &str| {
        let e =
            Simulation::new(tiny(), &Demand { trips }, SimConfig::default()).expect_err("refused");
        match &e {
            SimError::Trip { index: i, message } => {
                assert_eq!(*i, index);
                assert!(message.contains(words), "{e}");
            }
            other => panic!("{other}"),
        }
    };
    check(
        vec![good.clone(), not_connected.clone()],
        1,
        "not connected",
    );
    not_connected.route = vec![RoadId(99)];
    check(vec![good.clone(), not_connected.clone()], 1, "unknown road");
    let mut negative = good.clone();
    negative.departure_s = -1.0;
    check(vec![good.clone(), negative], 1, "departure");
    let mut empty = good.clone();
    empty.route.clear();
    check(vec![empty], 0, "empty");
}
