//! Network queries a simulator and an optimizer lean on, on the bundled corridor and on Jinan.

use roadnet::{load_network, IntersectionKind, TurnKind};
use std::path::Path;

fn corridor() -> roadnet::RoadNet {
    load_network(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../intersections.toml")).unwrap()
}

#[test]
fn corridor_neighbours_and_paths() {
    let net = corridor();
    let id = |n: &str| net.intersection_by_name(n).unwrap();
    let (oak, elm, pine) = (id("oak"), id("elm"), id("pine"));
    assert!(net.downstream(elm).contains(&pine));
    assert!(net.downstream(elm).contains(&oak));
    assert!(net.upstream(elm).contains(&id("elm_north")));
    let path = net.path(oak, id("walnut")).unwrap();
    let names: Vec<_> = path.iter().map(|r| net.road(*r).name.as_str()).collect();
    assert_eq!(
        names,
        [
            "main_eb_elm",
            "main_eb_pine",
            "main_eb_maple",
            "main_eb_cedar",
            "main_eb_birch",
            "main_eb_walnut"
        ]
    );
    assert_eq!(net.path(oak, oak).unwrap(), vec![]);
    // Boundary nodes have no way onward into the network from an exit road's end.
    let east_end = id("east_end");
    assert_eq!(net.intersection(east_end).kind, IntersectionKind::Boundary);
    assert!(net.path(east_end, oak).is_some());
    let corridor = net.corridor_by_name("main").unwrap();
    assert_eq!(corridor.intersections.len(), 7);
    assert_eq!(corridor.design_speed_m_s, 12.5);
}

#[test]
fn stage_movements_and_feeding_lanes() {
    let net = corridor();
    let elm = net.intersection(net.intersection_by_name("elm").unwrap());
    let left_stage = elm
        .stages
        .iter()
        .copied()
        .find(|s| net.stage(*s).name == "main_left")
        .unwrap();
    let mvs = net.stage_movements(left_stage);
    assert_eq!(mvs.len(), 2);
    assert!(mvs.iter().all(|m| net.movement(*m).turn == TurnKind::Left));
    // The left pocket (lane 0) alone feeds the eastbound left turn; it is 60 m long.
    let eb = net.road_by_name("main_eb_elm").unwrap();
    let left = mvs
        .iter()
        .copied()
        .find(|m| net.movement(*m).from_road == eb)
        .unwrap();
    let feeding = net.lanes_feeding(left);
    assert_eq!(feeding.len(), 1);
    assert_eq!(net.lane(feeding[0]).index, 0);
    assert_eq!(net.lane(feeding[0]).pocket_m, Some(60.0));

    // The through movement is fed by lanes 1 and 2.
    let through = net
        .movement_between(eb, net.road_by_name("main_eb_pine").unwrap())
        .unwrap();
    let lanes: Vec<u8> = net
        .lanes_feeding(through)
        .iter()
        .map(|l| net.lane(*l).index)
        .collect();
    assert_eq!(lanes, [1, 2]);
    // Each through lane may enter any of the three lanes downstream (so vehicles can take the
    // lane of their next turn); the design paths keep lane 1 → 0 and lane 2 → 1.
    let links = &net.movement(through).links;
    assert_eq!(links.len(), 6);
    let design: Vec<(u8, u8)> = links
        .iter()
        .filter(|l| l.primary)
        .map(|l| (net.lane(l.from_lane).index, net.lane(l.to_lane).index))
        .collect();
    assert_eq!(design, [(1, 0), (2, 1)]);
}

#[test]
fn jinan_geometry_matches_cityflow() {
    let Some(jinan) = testdata::jinan("jinan_geometry_matches_cityflow") else {
        return;
    };
    let p = jinan.roadnet();
    let net = load_network(&p).unwrap();
    // Lanes are cut back by the width (15 m) of each real intersection they touch.
    let r = net.road_by_name("road_1_1_0").unwrap(); // between two signalized intersections, 400 m
    assert!(
        (net.road_length_m(r) - 370.0).abs() < 1e-6,
        "{}",
        net.road_length_m(r)
    );
    let r = net.road_by_name("road_0_1_0").unwrap(); // from a boundary node
    assert!((net.road_length_m(r) - 385.0).abs() < 1e-6);
    let i = net.intersection(net.intersection_by_name("intersection_1_1").unwrap());
    assert_eq!(i.stages.len(), 9);
    assert!(net.stage(i.clearance_stage.unwrap()).clearance);
    assert_eq!(net.stage(i.stages[1]).base_green_s, 30.0);
    assert_eq!(i.movements.len(), 12);
}
