//! Every malformed fixture under tests/fixtures/bad gives its specific error, with a location;
//! random mutations of valid files never panic.

mod common;

use proptest::prelude::*;
use roadnet::{cityflow, config, ErrorKind, LoadError};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

#[test]
fn valid_fixtures_load() {
    let small = roadnet::load_network(&fixtures().join("small.toml")).unwrap();
    assert_eq!(roadnet::Summary::of(&small).signalized_intersections, 2);
    let one = roadnet::load_network(&fixtures().join("cityflow_one.json")).unwrap();
    assert_eq!(one.stages.len(), 5);
}

#[test]
fn each_malformed_fixture_gives_its_error() {
    let dir = fixtures().join("bad");
    let rows = common::expected(&dir, 2);
    for row in &rows {
        let file = row.file.as_str();
        let phrase = row.rest.first().map_or("", String::as_str);
        let err: LoadError = match roadnet::load_network(&dir.join(file)) {
            Ok(_) => panic!("{file}: loaded although it is malformed"),
            Err(e) => e,
        };
        common::assert_kind(err.kind, row, &err.to_string());
        assert!(
            err.message.contains(phrase),
            "{file}: message lacks '{phrase}': {err}"
        );
        assert!(err.file.ends_with(file), "{file}: error names {}", err.file);
        // Every error says where: a line and column, or the path to the JSON field.
        assert!(
            err.line_col.is_some() || err.field.is_some(),
            "{file}: no location in {err}"
        );
        if file.ends_with(".toml") {
            assert!(
                err.line_col.is_some(),
                "{file}: TOML error without line/column: {err}"
            );
        }
    }
    assert!(rows.len() >= 25, "only {} malformed fixtures", rows.len());
}

#[test]
fn toml_error_points_at_the_offending_line() {
    let err = roadnet::load_network(&fixtures().join("bad/yellow_too_short.toml")).unwrap_err();
    let text = std::fs::read_to_string(fixtures().join("bad/yellow_too_short.toml")).unwrap();
    let (line, _) = err.line_col.unwrap();
    // The error is reported at the stage whose yellow is too short.
    assert_eq!(text.lines().nth(line - 1).unwrap().trim(), "id = \"ew\"");
}

#[test]
fn flow_errors_name_the_vehicle() {
    let net = roadnet::load_network(&fixtures().join("cityflow_one.json")).unwrap();
    let veh = r#"{"length":5,"width":2,"maxPosAcc":2,"maxNegAcc":4.5,"usualPosAcc":2,"usualNegAcc":4.5,"minGap":2.5,"maxSpeed":11.1,"headwayTime":2}"#;
    let flow = |route: &str, start: f64| {
        format!(
            r#"[{{"vehicle":{veh},"route":["in_w","out_e"],"interval":1,"startTime":0,"endTime":0}},
                {{"vehicle":{veh},"route":{route},"interval":1,"startTime":{start},"endTime":{start}}}]"#
        )
    };
    let ok = cityflow::parse_flow(&flow(r#"["in_n","out_s"]"#, 3.0), "f.json", &net).unwrap();
    assert_eq!(ok.trips.len(), 2);
    let cases = [
        (
            flow(r#"["in_n","out_q"]"#, 3.0),
            ErrorKind::UnknownReference,
            "[1].route[1]",
        ),
        (
            flow(r#"["in_n","in_s"]"#, 3.0),
            ErrorKind::RouteNotConnected,
            "[1].route[1]",
        ),
        (
            flow(r#"["in_n","out_s"]"#, -5.0),
            ErrorKind::BadValue,
            "[1].startTime",
        ),
        (flow(r#"[]"#, 1.0), ErrorKind::BadValue, "[1].route"),
    ];
    for (text, kind, field) in cases {
        let err = cityflow::parse_flow(&text, "f.json", &net).unwrap_err();
        assert_eq!(err.kind, kind, "{err}");
        assert_eq!(err.field.as_deref(), Some(field), "{err}");
        assert!(err.message.starts_with("vehicle 1:"), "{err}");
    }
}

/// A flow entry of a few bytes may ask for billions of vehicles (`interval` tiny against a long
/// window): it is refused before any trip is built, naming the entry; the largest file allowed
/// still loads.
#[test]
fn a_flow_asking_for_too_many_vehicles_is_refused() {
    let net = roadnet::load_network(&fixtures().join("cityflow_one.json")).unwrap();
    let veh = r#"{"length":5,"width":2,"maxPosAcc":2,"maxNegAcc":4.5,"usualPosAcc":2,"usualNegAcc":4.5,"minGap":2.5,"maxSpeed":11.1,"headwayTime":2}"#;
    let flow = |interval: f64, end: f64| {
        format!(
            r#"[{{"vehicle":{veh},"route":["in_w","out_e"],"interval":1,"startTime":0,"endTime":0}},
                {{"vehicle":{veh},"route":["in_n","out_s"],"interval":{interval},"startTime":0,"endTime":{end}}}]"#
        )
    };
    let err = cityflow::parse_flow(&flow(1e-6, 3600.0), "f.json", &net).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadValue, "{err}");
    assert_eq!(err.field.as_deref(), Some("[1].interval"), "{err}");
    assert!(err.message.contains("at most 1000000"), "{err}");
    // 1 + (999,998 + 1) = exactly the cap: accepted, with the departures where they belong.
    let ok = cityflow::parse_flow(&flow(0.5, 499_999.0), "f.json", &net).unwrap();
    assert_eq!(ok.trips.len() as u64, roadnet::demand::MAX_VEHICLES);
    let last = ok.trips.iter().map(|t| t.departure_s).fold(0.0, f64::max);
    assert_eq!(last, 499_999.0);
}

/// Mutations that keep a file mostly intact, so loaders get deep before failing.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceByte(usize, u8),
    DeleteRange(usize, usize),
    SwapNumber(usize, &'static str),
}

fn apply(text: &str, m: &Mutation) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match m {
        Mutation::DeleteLine(k) => {
            let k = k % lines.len();
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        }
        Mutation::DuplicateLine(k) => {
            let k = k % lines.len();
            let mut v = lines.clone();
            v.insert(k, lines[k]);
            v.join("\n")
        }
        Mutation::ReplaceByte(k, b) => {
            let mut bytes = text.as_bytes().to_vec();
            let k = k % bytes.len();
            bytes[k] = *b;
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Mutation::DeleteRange(k, n) => {
            let bytes = text.as_bytes();
            let k = k % bytes.len();
            let end = (k + n % 64).min(bytes.len());
            let mut v = bytes[..k].to_vec();
            v.extend_from_slice(&bytes[end..]);
            String::from_utf8_lossy(&v).into_owned()
        }
        Mutation::SwapNumber(k, with) => {
            // Replace the k-th number in the text with an extreme value.
            let mut out = String::new();
            let mut count = 0;
            let mut chars = text.chars().peekable();
            let target = k % 200;
            while let Some(c) = chars.next() {
                if c.is_ascii_digit() {
                    let mut num = c.to_string();
                    while let Some(&d) = chars.peek() {
                        if d.is_ascii_digit() || d == '.' {
                            num.push(d);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    out.push_str(if count == target { with } else { &num });
                    count += 1;
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (
            any::<usize>(),
            prop::sample::select(b"[]{}\",=:.0-9xq \n".to_vec())
        )
            .prop_map(|(k, b)| Mutation::ReplaceByte(k, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(k, n)| Mutation::DeleteRange(k, n)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "0",
                "-1",
                "1e308",
                "99999999999",
                "0.0001",
                "65536",
                "-0",
                "255",
                "256"
            ])
        )
            .prop_map(|(k, w)| Mutation::SwapNumber(k, w)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_toml_never_panics(ms in prop::collection::vec(mutation(), 1..4)) {
        let base = std::fs::read_to_string(fixtures().join("small.toml")).unwrap();
        let text = ms.iter().fold(base, |t, m| apply(&t, m));
        // Either it loads (and is then valid) or it reports an error with a location.
        match config::parse_toml(&text, "mutated.toml") {
            Ok(net) => { let _ = roadnet::Summary::of(&net); }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn mutated_cityflow_never_panics(ms in prop::collection::vec(mutation(), 1..4)) {
        let base = std::fs::read_to_string(fixtures().join("cityflow_one.json")).unwrap();
        let text = ms.iter().fold(base, |t, m| apply(&t, m));
        match cityflow::parse_roadnet(&text, "mutated.json") {
            Ok(net) => { let _ = roadnet::Summary::of(&net); }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
