//! SUMO import: networks generated with SUMO's own tools (tools/gen_sumo_fixtures.sh) import with
//! the counts SUMO itself reports, a hand-checked junction maps as worked out by hand, and every
//! malformed file under fixtures/sumo/bad gives its one-line error.

mod common;

use roadnet::sumo::{self, SumoImport};
use roadnet::{ErrorKind, IntersectionKind, LoadError, RoadNet, TurnKind};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sumo")
}

fn load(name: &str) -> SumoImport {
    sumo::load(&dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn lane_links(net: &RoadNet) -> usize {
    net.movements.iter().map(|m| m.links.len()).sum()
}

/// SUMO's own view of a fixture, printed by sumolib in tools/gen_sumo_fixtures.sh and recorded
/// in fixtures/sumo/README.md.
struct SumoCounts {
    junctions: usize,
    traffic_lights: usize,
    car_edges: usize,
    car_lanes: usize,
    car_connections: usize,
    /// Connections at fringe junctions with a single neighbour (netgenerate's turnarounds):
    /// greenwave makes those junctions boundary nodes, where vehicles leave, not movements.
    fringe_turnarounds: usize,
}

fn check_counts(name: &str, sumo: SumoCounts) -> SumoImport {
    let imp = load(name);
    let net = &imp.net;
    assert_eq!(net.intersections.len(), sumo.junctions, "{name}: junctions");
    assert_eq!(
        net.signalized().count(),
        sumo.traffic_lights,
        "{name}: every signalized junction imported"
    );
    assert_eq!(net.roads.len(), sumo.car_edges, "{name}: edges");
    assert_eq!(net.lanes.len(), sumo.car_lanes, "{name}: car lanes");
    assert_eq!(
        lane_links(net) + sumo.fringe_turnarounds,
        sumo.car_connections,
        "{name}: connections"
    );
    if sumo.fringe_turnarounds > 0 {
        let line = format!(
            "{} connection(s) at boundary nodes not imported as movements",
            sumo.fringe_turnarounds
        );
        assert!(
            imp.notes.iter().any(|n| n.contains(&line)),
            "{name}: no note '{line}'"
        );
    }
    // Every program imported, and SUMO's own timing passes greenwave's plan validator.
    assert_eq!(imp.programs.len(), sumo.traffic_lights, "{name}: programs");
    for p in &imp.programs {
        assert!(p.verdict.is_ok(), "{name}: {p}");
        assert_eq!(p.plan.validate(net), Ok(()));
    }
    for n in &imp.notes {
        assert!(!n.contains('\n'), "{name}: note on several lines: {n}");
    }
    imp
}

#[test]
fn four_leg_junction_matches_sumo_counts() {
    let imp = check_counts(
        "cross4.net.xml",
        SumoCounts {
            junctions: 5,
            traffic_lights: 1,
            car_edges: 8,
            car_lanes: 16,
            car_connections: 16,
            fringe_turnarounds: 0,
        },
    );
    // What greenwave does not model is named, one line each: 4 crossings, 8 walking areas and
    // the 8 sidewalk lanes.
    let count = |s: &str| imp.notes.iter().filter(|n| n.contains(s)).count();
    assert_eq!(count("pedestrian crossing"), 4);
    assert_eq!(count("walking area"), 8);
    assert_eq!(count("does not allow passenger cars"), 8);
    assert!(imp
        .notes
        .iter()
        .any(|n| n.contains("cross4.net.xml:162:9: note: lane 'NC_0' skipped")));
}

#[test]
fn arterial_matches_sumo_counts() {
    let imp = check_counts(
        "arterial6.net.xml",
        SumoCounts {
            junctions: 20,
            traffic_lights: 6,
            car_edges: 38,
            car_lanes: 52,
            car_connections: 84,
            fringe_turnarounds: 0,
        },
    );
    for p in &imp.programs {
        // netconvert's default: 42 s green + 3 s yellow for each of the two directions.
        assert_eq!(p.plan.cycle_s, 90.0, "{p}");
        assert_eq!(p.plan.stages.len(), 2);
    }
}

#[test]
fn grid_matches_sumo_counts() {
    let imp = check_counts(
        "grid4.net.xml",
        SumoCounts {
            junctions: 32,
            traffic_lights: 16,
            car_edges: 80,
            car_lanes: 80,
            car_connections: 272,
            fringe_turnarounds: 16,
        },
    );
    let boundary = imp
        .net
        .intersections
        .iter()
        .filter(|i| i.kind == IntersectionKind::Boundary)
        .count();
    assert_eq!(boundary, 16, "the 16 attached fringe junctions");
}

/// Junction C of cross4, worked out by hand from cross4.net.xml: phases 0+1 (37 s + 5 s, the
/// second only ends the pedestrian walk) serve north–south, phase 2 is their 3 s yellow; phases
/// 3–5 the same for east–west. Link indices 0–3 are NC's right, through (2 lanes) and left.
#[test]
fn hand_checked_junction() {
    let imp = load("cross4.net.xml");
    let net = &imp.net;
    let c = net.intersection(net.intersection_by_name("C").unwrap());
    assert!(c.is_signalized());
    let road = |n: &str| net.road_by_name(n).unwrap();
    let mv = |from: &str, to: &str| net.movement_between(road(from), road(to)).unwrap();

    // Lanes: SUMO's NC_0 is a sidewalk (skipped); NC_2 (inner) is our lane 0, NC_1 our lane 1.
    let nc = net.road(road("NC"));
    assert_eq!(nc.lanes.len(), 2);
    for &l in &nc.lanes {
        let lane = net.lane(l);
        assert!((lane.length_m - 189.60).abs() < 1e-6, "{}", lane.length_m);
        assert_eq!(lane.width_m, 3.2);
        assert_eq!(lane.speed_limit_m_s, 13.89);
    }
    // NC_2 ends at x = 198.40, NC_1 at x = 195.20 (shapes in the file).
    let end_x = |k: usize| net.lane(nc.lanes[k]).points.last().unwrap().x_m;
    assert!((end_x(0) - 198.40).abs() < 1e-6 && (end_x(1) - 195.20).abs() < 1e-6);

    // Movements and turns from `dir`; lane links from the connections.
    assert_eq!(net.movement(mv("NC", "CW")).turn, TurnKind::Right);
    assert_eq!(net.movement(mv("NC", "CS")).turn, TurnKind::Through);
    assert_eq!(net.movement(mv("NC", "CE")).turn, TurnKind::Left);
    assert_eq!(c.movements.len(), 12);
    let through = net.movement(mv("NC", "CS"));
    assert_eq!(through.links.len(), 2);
    // Through path = internal lane :C_1_0, 20.80 m; the left turn runs :C_3_0 (5.01 m) then
    // :C_17_0 (14.34 m) after SUMO's internal junction.
    assert!((through.links[0].length_m - 20.80).abs() < 0.01);
    let left = net.movement(mv("NC", "CE"));
    assert_eq!(left.links.len(), 1);
    assert!(
        (left.links[0].length_m - 19.35).abs() < 0.05,
        "{}",
        left.links[0].length_m
    );
    assert_eq!(net.lane(left.links[0].from_lane).index, 0, "left from NC_2");
    let right = net.movement(mv("NC", "CW"));
    assert_eq!(
        net.lane(right.links[0].from_lane).index,
        1,
        "right from NC_1"
    );

    // Signal groups: the through links 1,2,9,10 always show the same letters (G G y r r r), so do
    // the turns 0,3,8,11 (g g y r r r); likewise east–west.
    let names: Vec<(&str, bool)> = c
        .signal_groups
        .iter()
        .map(|g| {
            let g = net.signal_group(*g);
            (g.name.as_str(), g.permissive)
        })
        .collect();
    assert_eq!(
        names,
        [
            ("links4+7+12+15", true),
            ("links5+6+13+14", false),
            ("links0+3+8+11", true),
            ("links1+2+9+10", false)
        ]
    );

    // Stages: phase 0 (+1) and phase 3 (+4), 42 s green, 3 s yellow, no all-red.
    assert_eq!(c.stages.len(), 2);
    let s0 = net.stage(c.stages[0]);
    let s1 = net.stage(c.stages[1]);
    assert_eq!((s0.name.as_str(), s1.name.as_str()), ("phase0", "phase3"));
    for s in [s0, s1] {
        assert_eq!(s.base_green_s, 42.0);
        assert_eq!(s.limits.yellow_s, 3.0);
        assert_eq!(s.limits.all_red_s, 0.0);
        // A static program has no bounds: the documented defaults 5 s / 120 s apply.
        assert_eq!((s.limits.min_green_s, s.limits.max_green_s), (5.0, 120.0));
    }
    let mut ns = vec![
        mv("NC", "CW"),
        mv("NC", "CS"),
        mv("NC", "CE"),
        mv("SC", "CE"),
        mv("SC", "CN"),
        mv("SC", "CW"),
    ];
    ns.sort();
    assert_eq!(net.stage_movements(c.stages[0]), ns);
    let mut ew = vec![
        mv("EC", "CN"),
        mv("EC", "CW"),
        mv("EC", "CS"),
        mv("WC", "CS"),
        mv("WC", "CE"),
        mv("WC", "CN"),
    ];
    ew.sort();
    assert_eq!(net.stage_movements(c.stages[1]), ew);

    let p = &imp.programs[0];
    assert_eq!((p.tl_id.as_str(), p.plan.cycle_s), ("C", 90.0));
    assert_eq!(p.plan.stages[0].split_s, 45.0);
    assert!(p.verdict.is_ok());
}

/// The hand-written tiny network every malformed fixture is a mutation of.
#[test]
fn tiny_network_by_hand() {
    let imp = load("tiny.net.xml");
    let net = &imp.net;
    assert_eq!(net.intersections.len(), 5);
    assert_eq!(net.signalized().count(), 1);
    assert_eq!(net.movements.len(), 2);
    // W→C→E and N→C→S cross inside C.
    assert_eq!(net.conflict_count(), 1);
    let c = net.intersection(net.intersection_by_name("C").unwrap());
    assert_eq!(c.stages.len(), 2);
    for &s in &c.stages {
        let st = net.stage(s);
        assert_eq!(st.base_green_s, 30.0);
        assert_eq!((st.limits.yellow_s, st.limits.all_red_s), (4.0, 1.0));
    }
    assert_eq!(imp.programs[0].plan.cycle_s, 70.0);
    assert!(imp.programs[0].verdict.is_ok());
    assert!(
        imp.notes.iter().all(|n| !n.contains("note:")),
        "{:?}",
        imp.notes
    );
}

fn tiny_text() -> String {
    std::fs::read_to_string(dir().join("tiny.net.xml")).unwrap()
}

/// Actuated programs bring their own green bounds: the sum of `minDur`/`maxDur` over the stage's
/// green phases, each defaulting to `duration`.
#[test]
fn actuated_bounds_become_stage_limits() {
    let text = tiny_text()
        .replace(r#"type="static""#, r#"type="actuated""#)
        .replace(
            r#"<phase duration="30" state="Gr"/>"#,
            r#"<phase duration="30" minDur="10" maxDur="50" state="Gr"/>"#,
        );
    let imp = sumo::parse(&text, "actuated.net.xml").unwrap();
    let net = &imp.net;
    let c = net.intersection(net.intersection_by_name("C").unwrap());
    let lim = |k: usize| net.stage(c.stages[k]).limits;
    assert_eq!((lim(0).min_green_s, lim(0).max_green_s), (10.0, 50.0));
    assert_eq!((lim(1).min_green_s, lim(1).max_green_s), (30.0, 30.0));
    assert_eq!(imp.programs[0].tl_type, "actuated");
}

/// Elements greenwave does not model are imported around and named, one line each.
#[test]
fn notes_name_what_is_not_mapped() {
    let text = tiny_text()
        .replace(
            "    <connection from=\":C_0\"",
            concat!(
                "    <roundabout nodes=\"C\" edges=\"WC\"/>\n",
                "    <prohibition prohibitor=\"WC->CE\" prohibited=\"NC->CS\"/>\n",
                "    <foo/>\n",
                "    <tlLogic id=\"C\" type=\"static\" programID=\"night\" offset=\"0\">\n",
                "        <phase duration=\"5\" state=\"oo\"/>\n",
                "    </tlLogic>\n",
                "    <connection from=\":C_0\"",
            ),
        )
        .replace(
            r#"<phase duration="30" state="rG"/>"#,
            r#"<phase duration="30" state="sG"/>"#,
        );
    let imp = sumo::parse(&text, "noted.net.xml").unwrap();
    for phrase in [
        "roundabout of junctions [C] imported as plain unsignalized junctions",
        "prohibition WC->CE over NC->CS not modelled",
        "1 <foo> element(s) not imported",
        "tlLogic 'C' program 'night' not imported: program '0' of the same light is used",
        "tlLogic 'C' phase 3: 's' (stop, then go) is shown as permissive green",
        "tlLogic 'C' phase 0: 'o' (off, blinking) is shown as permissive green",
    ] {
        let n = imp.notes.iter().filter(|n| n.contains(phrase)).count();
        assert_eq!(n, 1, "'{phrase}' in {:#?}", imp.notes);
    }
    // The 's' link is shown as permissive green with the crossing `G`: allowed, it yields.
    let net = &imp.net;
    let c = net.intersection(net.intersection_by_name("C").unwrap());
    assert_eq!(net.stage_movements(c.stages[1]).len(), 2);
    assert!(imp.programs[0].verdict.is_ok());
}

#[test]
fn load_network_dispatches_on_xml() {
    let net = roadnet::load_network(&dir().join("tiny.net.xml")).unwrap();
    assert_eq!(net.name, "tiny");
    let (_, notes) = roadnet::load_network_with_notes(&dir().join("cross4.net.xml")).unwrap();
    assert!(notes.len() >= 20);
}

#[test]
fn each_malformed_network_gives_its_one_line_error() {
    let bad = dir().join("bad");
    let rows = common::expected(&bad, 3);
    for row in &rows {
        let (file, phrase) = (row.file.as_str(), row.rest[0].as_str());
        let err: LoadError = match roadnet::load_network(&bad.join(file)) {
            Ok(_) => panic!("{file}: loaded although it is malformed"),
            Err(e) => e,
        };
        common::assert_kind(err.kind, row, &err.to_string());
        assert!(
            err.message.contains(phrase),
            "{file}: message lacks '{phrase}': {err}"
        );
        assert!(err.file.ends_with(file), "{file}: error names {}", err.file);
        assert!(err.line_col.is_some(), "{file}: no line:column in {err}");
        assert!(
            !err.to_string().contains('\n'),
            "{file}: several lines: {err}"
        );
    }
    assert!(rows.len() >= 15, "only {} malformed fixtures", rows.len());
    assert_eq!(
        common::fixtures_on_disk(&bad, &[".net.xml"]),
        rows.len(),
        "every bad fixture is listed in EXPECTED.tsv"
    );
}

#[test]
fn errors_point_at_the_attribute() {
    let err = roadnet::load_network(&dir().join("bad/lane_speed_not_number.net.xml")).unwrap_err();
    // Line 16 holds lane WC_0; its speed value "fast" starts at column 42 (checked with sed).
    assert_eq!(err.line_col, Some((16, 42)), "{err}");
    assert_eq!(err.field.as_deref(), Some("lane[WC_0].speed"));
}

#[test]
fn refuses_what_is_not_a_regular_file_or_too_big() {
    let tmp = std::env::temp_dir().join(format!("greenwave-sumo-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("dir.net.xml")).unwrap();
    let err = sumo::load(&tmp.join("dir.net.xml")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(err.message.contains("not a regular file"), "{err}");
    // A sparse file just over the cap: refused from its size, before any byte is read.
    let big = tmp.join("big.net.xml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(sumo::MAX_FILE_BYTES + 1).unwrap();
    let err = sumo::load(&big).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(err.message.contains("at most 128 MiB is read"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn truncated_networks_are_refused_without_panic() {
    let text = std::fs::read_to_string(dir().join("cross4.net.xml")).unwrap();
    let step = text.len() / 300;
    let mut cut = 0;
    while cut < text.len() {
        let end = (0..=cut).rev().find(|&k| text.is_char_boundary(k)).unwrap();
        assert!(
            sumo::parse(&text[..end], "cut.net.xml").is_err(),
            "cut at {end}"
        );
        cut += step;
    }
}

mod mutations {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any one-span edit of a valid network imports or gives an error: never a panic.
        #[test]
        fn edited_networks_never_panic(
            at in 0usize..2800,
            cut in 0usize..40,
            insert in prop::sample::select(vec!["", "0", "-1", "1e309", "NaN", "\"", "<", "/>", " x=\"1\"", ":", ",", "GGyy", "99999"]),
        ) {
            let text = std::fs::read_to_string(super::dir().join("tiny.net.xml")).unwrap();
            let start = (0..=at.min(text.len())).rev().find(|&k| text.is_char_boundary(k)).unwrap();
            let end = (start + cut..=text.len()).find(|&k| text.is_char_boundary(k)).unwrap_or(text.len());
            let edited = format!("{}{}{}", &text[..start], insert, &text[end.min(text.len())..]);
            let _ = roadnet::sumo::parse(&edited, "edited.net.xml");
        }
    }
}
