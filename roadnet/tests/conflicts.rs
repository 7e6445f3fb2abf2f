//! The geometry-derived conflict relation on a hand-drawn four-leg intersection, checked against
//! the textbook count worked out by hand: 16 crossing and 12 merging pairs.

use roadnet::{config::parse_toml, ConflictKind, RoadNet};
use std::collections::BTreeSet;

/// One signalized intersection `x` at the origin, one lane each way on all four legs, every lane
/// marked for left, through and right.
const FOUR_LEG: &str = r#"
[[intersection]]
id = "x"
x_m = 0.0
y_m = 0.0
controller = { host = "127.0.0.1", port = 5020, unit_id = 1 }
[[intersection.signal_group]]
id = "all"
movements = ["sb:L", "sb:T", "sb:R", "nb:L", "nb:T", "nb:R", "wb:L", "wb:T", "wb:R", "eb:L", "eb:T", "eb:R"]
permissive = true
[[intersection.stage]]
id = "flash"
groups = ["all"]

[[intersection]]
id = "n"
kind = "boundary"
x_m = 0.0
y_m = 200.0
[[intersection]]
id = "s"
kind = "boundary"
x_m = 0.0
y_m = -200.0
[[intersection]]
id = "e"
kind = "boundary"
x_m = 200.0
y_m = 0.0
[[intersection]]
id = "w"
kind = "boundary"
x_m = -200.0
y_m = 0.0

[[road]]
id = "sb"
from = "n"
to = "x"
lanes = [{ turns = "LTR" }]
[[road]]
id = "nb"
from = "s"
to = "x"
lanes = [{ turns = "LTR" }]
[[road]]
id = "wb"
from = "e"
to = "x"
lanes = [{ turns = "LTR" }]
[[road]]
id = "eb"
from = "w"
to = "x"
lanes = [{ turns = "LTR" }]
[[road]]
id = "to_n"
from = "x"
to = "n"
lanes = [{}]
[[road]]
id = "to_s"
from = "x"
to = "s"
lanes = [{}]
[[road]]
id = "to_e"
from = "x"
to = "e"
lanes = [{}]
[[road]]
id = "to_w"
from = "x"
to = "w"
lanes = [{}]
"#;

fn label(net: &RoadNet, m: roadnet::MovementId) -> String {
    let mv = net.movement(m);
    format!("{}:{}", net.road(mv.from_road).name, mv.turn.letter())
}

fn pairs(net: &RoadNet, kind: ConflictKind) -> BTreeSet<(String, String)> {
    let x = net.intersection_by_name("x").unwrap();
    net.intersection(x)
        .conflicts
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| {
            let (a, b) = (label(net, c.a), label(net, c.b));
            if a < b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect()
}

fn set(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| {
            let (a, b) = (a.to_string(), b.to_string());
            if a < b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect()
}

#[test]
fn turns_are_classified_from_geometry() {
    let net = parse_toml(FOUR_LEG, "four_leg.toml").unwrap();
    let x = net.intersection_by_name("x").unwrap();
    assert_eq!(net.intersection(x).movements.len(), 12);
    // Eastbound (from the west) turning left heads north.
    let eb = net.road_by_name("eb").unwrap();
    let to_n = net.road_by_name("to_n").unwrap();
    let m = net.movement_between(eb, to_n).unwrap();
    assert_eq!(net.movement(m).turn, roadnet::TurnKind::Left);
    let to_s = net.road_by_name("to_s").unwrap();
    let m = net.movement_between(eb, to_s).unwrap();
    assert_eq!(net.movement(m).turn, roadnet::TurnKind::Right);
}

#[test]
fn merging_pairs_share_an_exit() {
    let net = parse_toml(FOUR_LEG, "four_leg.toml").unwrap();
    // Each exit is entered by a left, a through and a right from three different approaches:
    // three pairs per exit, twelve in all.
    let expected = set(&[
        // exit east: southbound left, northbound right, eastbound through
        ("sb:L", "nb:R"),
        ("sb:L", "eb:T"),
        ("nb:R", "eb:T"),
        // exit west: northbound left, southbound right, westbound through
        ("nb:L", "sb:R"),
        ("nb:L", "wb:T"),
        ("sb:R", "wb:T"),
        // exit south: westbound left, eastbound right, southbound through
        ("wb:L", "eb:R"),
        ("wb:L", "sb:T"),
        ("eb:R", "sb:T"),
        // exit north: eastbound left, westbound right, northbound through
        ("eb:L", "wb:R"),
        ("eb:L", "nb:T"),
        ("wb:R", "nb:T"),
    ]);
    assert_eq!(pairs(&net, ConflictKind::Merging), expected);
}

#[test]
fn crossing_pairs_match_the_hand_count() {
    let net = parse_toml(FOUR_LEG, "four_leg.toml").unwrap();
    let expected = set(&[
        // through × through: each north-south through crosses each east-west through
        ("nb:T", "eb:T"),
        ("nb:T", "wb:T"),
        ("sb:T", "eb:T"),
        ("sb:T", "wb:T"),
        // left × opposing through, and left × the through coming from its left
        ("eb:L", "wb:T"),
        ("eb:L", "sb:T"),
        ("wb:L", "eb:T"),
        ("wb:L", "nb:T"),
        ("nb:L", "sb:T"),
        ("nb:L", "eb:T"),
        ("sb:L", "nb:T"),
        ("sb:L", "wb:T"),
        // left × left from a perpendicular approach (opposing lefts pass each other)
        ("eb:L", "nb:L"),
        ("eb:L", "sb:L"),
        ("wb:L", "nb:L"),
        ("wb:L", "sb:L"),
    ]);
    assert_eq!(pairs(&net, ConflictKind::Crossing), expected);
    // Right turns cross nothing; movements from one approach never conflict.
    assert!(pairs(&net, ConflictKind::Crossing)
        .iter()
        .all(|(a, b)| !a.ends_with('R') && !b.ends_with('R')));
}

#[test]
fn protected_conflicting_greens_are_refused() {
    let bad = FOUR_LEG.replace("permissive = true", "permissive = false");
    let err = parse_toml(&bad, "four_leg.toml").unwrap_err();
    assert_eq!(err.kind, roadnet::ErrorKind::ConflictingGreens);
    assert!(err.message.contains("conflicting movements"), "{err}");
}

#[test]
fn config_overrides_the_derived_relation() {
    let with_overrides = FOUR_LEG.replace(
        "[[intersection.stage]]",
        r#"[[intersection.conflict]]
movements = ["nb:T", "eb:T"]
conflict = "none"
[[intersection.conflict]]
movements = ["eb:L", "eb:T"]
conflict = "crossing"
[[intersection.stage]]"#,
    );
    let net = parse_toml(&with_overrides, "four_leg.toml").unwrap();
    let crossing = pairs(&net, ConflictKind::Crossing);
    assert!(!crossing.contains(&("eb:T".to_string(), "nb:T".to_string())));
    assert!(crossing.contains(&("eb:L".to_string(), "eb:T".to_string())));
    assert_eq!(crossing.len(), 16);
}
