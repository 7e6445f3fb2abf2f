//! SUMO route and additional files: the route file made by SUMO's own tools for `arterial6`
//! imports with the vehicle count SUMO reports, flows expand to the departures `duarouter`
//! writes for them, vTypes map attribute by attribute, detectors land where SUMO puts them, and
//! each malformed file under fixtures/sumo/bad_demand gives its one-line error.

mod common;

use roadnet::sumo::demand::{load_routes, parse_routes, sumo_default_params, MAX_VEHICLES};
use roadnet::sumo::{self, SumoImport};
use roadnet::{DetectorKind, ErrorKind, RoadNet, VehicleParams};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sumo")
}

fn arterial() -> &'static RoadNet {
    static NET: OnceLock<RoadNet> = OnceLock::new();
    NET.get_or_init(|| sumo::load(&dir().join("arterial6.net.xml")).unwrap().net)
}

fn routes(body: &str) -> String {
    format!("<routes>\n{body}</routes>\n")
}

fn parse(body: &str) -> roadnet::sumo::demand::SumoDemand {
    parse_routes(&routes(body), "t.rou.xml", arterial(), 7).unwrap_or_else(|e| panic!("{e}"))
}

fn departures(d: &roadnet::Demand) -> Vec<f64> {
    d.trips.iter().map(|t| t.departure_s).collect()
}

fn road_names(net: &RoadNet, route: &[roadnet::RoadId]) -> Vec<String> {
    route.iter().map(|r| net.road(*r).name.clone()).collect()
}

#[test]
fn arterial_route_file_matches_sumo_count() {
    let net = arterial();
    let d = load_routes(&dir().join("arterial6.rou.xml"), net, 0).unwrap();
    // sumolib counted 1200 <vehicle> elements, departing 0.00 … 1798.50 s (fixtures README).
    assert_eq!(d.demand.trips.len(), 1200);
    assert_eq!(d.demand.trips[0].departure_s, 0.0);
    assert_eq!(d.demand.last_departure_s(), 1798.5);
    assert!(d
        .demand
        .trips
        .windows(2)
        .all(|w| w[0].departure_s <= w[1].departure_s));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    // Vehicle "0": depart 0.00, edges "S1A1 A1A0" in the file.
    let first = &d.demand.trips[0];
    assert_eq!(road_names(net, &first.route), ["S1A1", "A1A0"]);
    // The file's vType "car": length 4.80, minGap 2.50, maxSpeed 16.67, accel 2.6, decel 4.5,
    // tau 1.2; width and emergencyDecel are SUMO's defaults (1.8 m, 9 m/s²).
    let want = VehicleParams {
        length_m: 4.8,
        width_m: 1.8,
        max_accel_m_s2: 2.6,
        max_decel_m_s2: 9.0,
        usual_accel_m_s2: 2.6,
        usual_decel_m_s2: 4.5,
        min_gap_m: 2.5,
        max_speed_m_s: 16.67,
        headway_s: 1.2,
    };
    assert!(d.demand.trips.iter().all(|t| t.params == want));
}

/// The departures below are the ones `duarouter` 1.28 wrote for these four flows on arterial6
/// (checked while writing this test): 360 veh/h over [0, 100) s is one every 10 s, 0 … 90;
/// period 7 over [10, 40) gives 10 … 38; number 4 over [0, 100) spreads them 25 s apart;
/// 720 veh/h with number 3 and no end gives 3 from begin 5, 5 s apart; period 7200 without end
/// runs to SUMO's default end of 24 h: 12 departures, 0 … 79 200.
#[test]
fn flows_expand_as_duarouter_does() {
    let d = parse(
        r#"  <route id="r" edges="A0A1 A1A2"/>
  <flow id="v" route="r" begin="0" end="100" vehsPerHour="360"/>
  <flow id="p" route="r" begin="10" end="40" period="7"/>
  <flow id="n" route="r" begin="0" end="100" number="4"/>
  <flow id="vn" route="r" begin="5" vehsPerHour="720" number="3"/>
  <flow id="d" route="r" period="7200"/>
"#,
    );
    let mut got = departures(&d.demand);
    let mut want = vec![
        0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, // v
        10.0, 17.0, 24.0, 31.0, 38.0, // p
        0.0, 25.0, 50.0, 75.0, // n
        5.0, 10.0, 15.0, // vn
    ];
    want.extend((0..12).map(|i| i as f64 * 7200.0)); // d
    want.sort_by(f64::total_cmp);
    got.sort_by(f64::total_cmp);
    assert_eq!(got, want);
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn probability_flows_follow_the_seed() {
    let text = routes(
        r#"  <route id="r" edges="A0A1"/>
  <flow id="f" route="r" begin="0" end="600" probability="0.25"/>
"#,
    );
    let a = parse_routes(&text, "t", arterial(), 1).unwrap().demand;
    let b = parse_routes(&text, "t", arterial(), 1).unwrap().demand;
    let c = parse_routes(&text, "t", arterial(), 2).unwrap().demand;
    assert_eq!(a, b);
    assert_ne!(departures(&a), departures(&c));
    // One chance per whole second in [0, 600).
    assert!(a
        .trips
        .iter()
        .all(|t| t.departure_s.fract() == 0.0 && t.departure_s < 600.0));
    // 600 draws at 1/4: mean 150, sd ≈ 10.6; ±60 is over 5 sd.
    assert!((90..=210).contains(&a.trips.len()), "{}", a.trips.len());
    // Probability 1 takes every second; 0 none.
    let all = parse(
        r#"  <flow id="f" begin="10" end="15" probability="1"><route edges="A0A1"/></flow>
"#,
    );
    assert_eq!(departures(&all.demand), [10.0, 11.0, 12.0, 13.0, 14.0]);
    let none = parse(
        r#"  <flow id="f" begin="10" end="15" probability="0"><route edges="A0A1"/></flow>
"#,
    );
    assert!(none.demand.trips.is_empty());
}

#[test]
fn vtypes_map_attribute_by_attribute() {
    let d = parse(
        r#"  <vType id="full" length="7.5" width="2.2" minGap="3" accel="1.5" decel="3.5" emergencyDecel="7" maxSpeed="20" tau="1.8" color="red"/>
  <vType id="sparse" vClass="taxi" length="4.2"/>
  <vType id="bus" vClass="bus"/>
  <route id="r" edges="A0A1"/>
  <vehicle id="a" depart="1" type="full" route="r"/>
  <vehicle id="b" depart="2" type="sparse" route="r"/>
  <vehicle id="c" depart="3" route="r"/>
  <vehicle id="d" depart="4" type="bus" route="r"/>
"#,
    );
    let t = &d.demand.trips;
    assert_eq!(t.len(), 3, "the bus is not imported");
    assert_eq!(
        t[0].params,
        VehicleParams {
            length_m: 7.5,
            width_m: 2.2,
            max_accel_m_s2: 1.5,
            max_decel_m_s2: 7.0,
            usual_accel_m_s2: 1.5,
            usual_decel_m_s2: 3.5,
            min_gap_m: 3.0,
            max_speed_m_s: 20.0,
            headway_s: 1.8,
        }
    );
    assert_eq!(
        t[1].params,
        VehicleParams {
            length_m: 4.2,
            ..sumo_default_params()
        }
    );
    assert_eq!(t[2].params, sumo_default_params());
    assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
    assert!(
        d.notes[0].starts_with("t.rou.xml:9:3: note: vehicle 'd': vClass 'bus'"),
        "{:?}",
        d.notes
    );
}

#[test]
fn routes_by_reference_embedded_and_by_shortest_path() {
    let net = arterial();
    let d = parse(
        r#"  <vehicle id="late" depart="30" route="r"/>
  <route id="r" edges="A0A1 A1A2"/>
  <vehicle id="inner" depart="20"><route edges="N2A2 A2A3"/></vehicle>
  <trip id="t" depart="10" from="N1A1" to="A3S3"/>
  <flow id="f" begin="0" end="1" period="5" from="A7A6" to="A6A5"/>
"#,
    );
    let r: Vec<Vec<String>> = d
        .demand
        .trips
        .iter()
        .map(|t| road_names(net, &t.route))
        .collect();
    assert_eq!(
        r,
        [
            vec!["A7A6", "A6A5"],
            vec!["N1A1", "A1A2", "A2A3", "A3S3"],
            vec!["N2A2", "A2A3"],
            vec!["A0A1", "A1A2"],
        ]
    );
    assert_eq!(departures(&d.demand), [0.0, 10.0, 20.0, 30.0]);
}

#[test]
fn what_is_not_modelled_is_noted_one_line_each() {
    let d = parse(
        r#"  <route id="r" edges="A0A1 A1A2 A2A3"/>
  <vehicle id="lane" depart="0" route="r" departLane="1"/>
  <vehicle id="best" depart="0" route="r" departLane="best"/>
  <trip id="via" depart="0" from="A0A1" to="A2A3" via="A1A2"/>
  <vehicle id="stops" depart="0" route="r"><stop lane="A1A2_0" endPos="50" duration="20"/></vehicle>
  <person id="p" depart="0"><walk edges="A0A1"/></person>
  <container id="c" depart="0"/>
  <vehicle id="trig" depart="triggered" route="r"/>
  <vehicle id="fast" depart="0" route="r" departSpeed="max"/>
"#,
    );
    // lane, best, via, stops and fast are imported; person, container and trig are not.
    assert_eq!(d.demand.trips.len(), 5);
    let want = [
        "t.rou.xml:3:3: note: vehicle 'lane': departLane '1' not modelled",
        "t.rou.xml:5:3: note: trip 'via': 'via' not modelled",
        "t.rou.xml:6:44: note: vehicle 'stops': <stop> not modelled",
        "t.rou.xml:7:3: note: <person> 'p' not imported",
        "t.rou.xml:8:3: note: <container> 'c' not imported",
        "t.rou.xml:9:3: note: vehicle 'trig': depart 'triggered' not modelled",
        "t.rou.xml:10:3: note: vehicle 'fast': attribute(s) departSpeed not modelled",
    ];
    assert_eq!(d.notes.len(), want.len(), "{:#?}", d.notes);
    for (n, w) in d.notes.iter().zip(want) {
        assert!(n.starts_with(w), "{n}\n  should start with\n{w}");
        assert!(!n.contains('\n'));
    }
}

#[test]
fn distributions_are_noted_and_their_vehicles_skipped() {
    let d = parse(
        r#"  <vTypeDistribution id="mix"><vType id="small" length="4" probability="0.5"/></vTypeDistribution>
  <routeDistribution id="some"><route id="ra" edges="A0A1" probability="1"/></routeDistribution>
  <vehicle id="a" depart="0" type="mix"><route edges="A0A1"/></vehicle>
  <vehicle id="b" depart="0" type="small"><route edges="A0A1"/></vehicle>
  <vehicle id="c" depart="0" route="some"/>
  <vehicle id="d" depart="0" route="ra"/>
  <vehicle id="kept" depart="5"><route edges="A0A1"/></vehicle>
"#,
    );
    assert_eq!(departures(&d.demand), [5.0]);
    assert_eq!(d.notes.len(), 6, "{:#?}", d.notes);
    assert!(d.notes[0].starts_with("t.rou.xml:2:3: note: <vTypeDistribution> 'mix' not imported"));
    assert!(d.notes[3].starts_with(
        "t.rou.xml:5:3: note: vehicle 'b': type 'small' is or belongs to a vTypeDistribution"
    ));
}

#[test]
fn a_flow_too_big_is_refused_before_it_is_made() {
    // 10 vehicles per second for 6 days is 5 184 000 > 5 000 000.
    let err = parse_routes(
        &routes(
            r#"  <flow id="f" begin="0" end="518400" period="0.1"><route edges="A0A1"/></flow>
"#,
        ),
        "t",
        arterial(),
        0,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadValue);
    assert!(err.message.contains(&MAX_VEHICLES.to_string()), "{err}");
    // A probability flow spanning more seconds than the cap is refused likewise: each second is
    // a draw, so the span bounds the work even when few vehicles would come out.
    let err = parse_routes(
        &routes(r#"  <flow id="f" begin="0" end="1e12" probability="0.000001"><route edges="A0A1"/></flow>
"#),
        "t",
        arterial(),
        0,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadValue, "{err}");
}

fn with_detectors(add: &str) -> SumoImport {
    let net = std::fs::read_to_string(dir().join("arterial6.net.xml")).unwrap();
    sumo::parse_with_additional(&net, "arterial6.net.xml", Some((add, "t.add.xml")))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn arterial_detectors_become_stop_bar_loops_and_cameras() {
    let s = sumo::load_with_additional(
        &dir().join("arterial6.net.xml"),
        &dir().join("arterial6.add.xml"),
    )
    .unwrap();
    // sumolib counted 36 inductionLoop and 24 laneAreaDetector elements (fixtures README).
    assert_eq!(s.net.detectors.len(), 36);
    assert_eq!(s.net.cameras.len(), 24);
    assert!(s
        .net
        .detectors
        .iter()
        .all(|d| d.kind == DetectorKind::StopBar));
    // Loops are 5 m before the stop line on SUMO's lane; greenwave's lanes measure the same here.
    for d in &s.net.detectors {
        assert!(
            (d.setback_m - 5.0).abs() < 0.02,
            "{}: {}",
            d.name,
            d.setback_m
        );
    }
    for c in &s.net.cameras {
        assert!((c.zone_near_m - 1.0).abs() < 0.02, "{}", c.name);
        assert!((c.zone_far_m - 51.0).abs() < 0.02, "{}", c.name);
        let lane = s.net.lane(c.lanes[0]);
        assert_eq!(c.intersection, Some(s.net.road(lane.road).to));
    }
    assert!(!s.notes.iter().any(|n| n.contains("arterial6.add.xml")));
}

#[test]
fn detector_positions_by_hand() {
    // A1A2_0 is 235.60 m long in SUMO and greenwave's kerb lane of A1A2 (index 1).
    let s = with_detectors(
        r#"<additional>
  <inductionLoop id="bar" lane="A1A2_0" pos="-8" period="60" file="NUL"/>
  <e1Detector id="adv" lane="A1A2_1" pos="100" period="60" file="NUL"/>
  <laneAreaDetector id="zone" lane="A1A2_0" pos="135.6" length="80" period="60" file="NUL"/>
  <inductionLoop id="off" lane="A1A2_0" pos="300" friendlyPos="true" period="60" file="NUL"/>
  <instantInductionLoop id="i" lane="A1A2_0" pos="10" file="NUL"/>
  <e1Detector id="inner" lane=":A2_0_0" pos="1" period="60" file="NUL"/>
</additional>
"#,
    );
    let net = &s.net;
    let road = net.road_by_name("A1A2").unwrap();
    let det = |name: &str| net.detectors.iter().find(|d| d.name == name).unwrap();
    let bar = det("bar");
    assert_eq!(bar.lane, net.road(road).lanes[1]);
    assert_eq!(bar.kind, DetectorKind::StopBar);
    assert!((bar.setback_m - 8.0).abs() < 0.02, "{}", bar.setback_m);
    assert_eq!(bar.length_m, 2.0);
    let adv = det("adv");
    assert_eq!(adv.lane, net.road(road).lanes[0]);
    assert_eq!(adv.kind, DetectorKind::Advance);
    assert!((adv.setback_m - 135.6).abs() < 0.02, "{}", adv.setback_m);
    // friendlyPos clamps 300 onto the lane's end: at the stop line.
    assert!(det("off").setback_m.abs() < 0.02);
    let zone = &net.cameras[0];
    assert_eq!(zone.name, "zone");
    assert!(
        (zone.zone_near_m - 20.0).abs() < 0.02,
        "{}",
        zone.zone_near_m
    );
    assert!(
        (zone.zone_far_m - 100.0).abs() < 0.02,
        "{}",
        zone.zone_far_m
    );
    let notes: Vec<_> = s
        .notes
        .iter()
        .filter(|n| n.starts_with("t.add.xml"))
        .collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    assert!(notes[0].starts_with("t.add.xml:6:3: note: <instantInductionLoop> not imported"));
    assert!(notes[1].starts_with("t.add.xml:7:3: note: e1Detector 'inner': lane ':A2_0_0'"));
}

#[test]
fn each_malformed_demand_file_gives_its_one_line_error() {
    let bad = dir().join("bad_demand");
    let rows = common::expected(&bad, 4);
    for row in &rows {
        let (file, location, phrase) = (row.file.as_str(), &row.rest[0], &row.rest[1]);
        let path = bad.join(file);
        let result = if file.ends_with(".add.xml") {
            sumo::load_with_additional(&dir().join("arterial6.net.xml"), &path).map(|_| ())
        } else {
            load_routes(&path, arterial(), 0).map(|_| ())
        };
        let err = result.expect_err(file);
        let shown = err.to_string();
        common::assert_kind(err.kind, row, &shown);
        assert!(
            shown.starts_with(&format!("{}:{location}: ", path.display())),
            "{file}: want location {location}: {shown}"
        );
        assert!(
            shown.contains(phrase.as_str()),
            "{file}: lacks '{phrase}': {shown}"
        );
        assert!(!shown.contains('\n'), "{file}: several lines: {shown}");
    }
    assert!(rows.len() >= 10, "only {} malformed fixtures", rows.len());
    assert_eq!(
        common::fixtures_on_disk(&bad, &[".rou.xml", ".add.xml"]),
        rows.len(),
        "every bad fixture is listed in EXPECTED.tsv"
    );
}

/// Cut anywhere, the generated route and detector files give an error or a smaller demand, never
/// a panic (every 97th byte of the route file, every 13th of the detector file).
#[test]
fn truncated_route_and_detector_files_never_panic() {
    let rou = std::fs::read_to_string(dir().join("arterial6.rou.xml")).unwrap();
    let mut refused = 0;
    for cut in (0..rou.len())
        .step_by(97)
        .filter(|&c| rou.is_char_boundary(c))
    {
        if parse_routes(&rou[..cut], "cut.rou.xml", arterial(), 0).is_err() {
            refused += 1;
        }
    }
    // An XML document cut short is never complete: every cut is refused.
    assert_eq!(refused, (0..rou.len()).step_by(97).count());
    let net = std::fs::read_to_string(dir().join("arterial6.net.xml")).unwrap();
    let add = std::fs::read_to_string(dir().join("arterial6.add.xml")).unwrap();
    for cut in (0..add.len()).step_by(13) {
        let r = sumo::parse_with_additional(&net, "n", Some((&add[..cut], "cut.add.xml")));
        let e = r.expect_err("a cut additional file is incomplete XML");
        assert!(e.file == "cut.add.xml", "{e}");
    }
}

#[test]
fn exponential_flows_follow_the_seed() {
    let text = routes(
        r#"  <flow id="f" begin="0" end="3600" period="exp(0.1)"><route edges="A0A1"/></flow>
"#,
    );
    let a = parse_routes(&text, "t", arterial(), 3).unwrap().demand;
    let b = parse_routes(&text, "t", arterial(), 3).unwrap().demand;
    let c = parse_routes(&text, "t", arterial(), 4).unwrap().demand;
    assert_eq!(a, b);
    assert_ne!(departures(&a), departures(&c));
    // Rate 0.1/s over 3600 s: Poisson, mean 360, sd 19; ±100 is over 5 sd.
    assert!((260..=460).contains(&a.trips.len()), "{}", a.trips.len());
    assert!(a
        .trips
        .iter()
        .all(|t| (0.0..3600.0).contains(&t.departure_s)));
}

mod mutations {
    use proptest::prelude::*;

    /// A small route file with each kind of element the reader maps.
    const TEXT: &str = r#"<routes>
  <vType id="car" length="4.8" minGap="2.5" accel="2.6" decel="4.5" maxSpeed="16.67" tau="1.2"/>
  <route id="r" edges="A0A1 A1A2 A2A3"/>
  <vehicle id="v" depart="3" type="car" route="r"/>
  <vehicle id="w" depart="4"><route edges="N1A1 A1A2"/></vehicle>
  <trip id="t" depart="5" from="A7A6" to="A4S4"/>
  <flow id="f" begin="0" end="100" vehsPerHour="360" route="r"/>
  <flow id="p" begin="0" end="100" probability="0.3" route="r"/>
  <flow id="n" begin="0" end="100" number="7" route="r"/>
</routes>
"#;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any one-span edit of a valid route file imports or gives an error: never a panic.
        #[test]
        fn edited_route_files_never_panic(
            at in 0usize..700,
            cut in 0usize..30,
            insert in prop::sample::select(vec!["", "0", "-1", "1e309", "1e18", "NaN", "inf", "\"", "<", "/>", " number=\"9\"", "exp(", ")", " ", "A1A2 ", "99999"]),
        ) {
            let start = at.min(TEXT.len());
            let end = (start + cut).min(TEXT.len());
            let edited = format!("{}{}{}", &TEXT[..start], insert, &TEXT[end..]);
            let _ = roadnet::sumo::demand::parse_routes(&edited, "edited.rou.xml", super::arterial(), 0);
        }
    }
}
