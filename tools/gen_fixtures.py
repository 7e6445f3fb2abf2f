#!/usr/bin/env python3
"""Write the test fixtures under tests/fixtures/: a small valid network in each format and the
malformed variants the error tests expect. Run from the repository root. Deterministic."""
import json, os

BASE_TOML = '''# A two-intersection test network: a and b on an east-west street, each with a side street.
name = "small"

[[intersection]]
id = "a"
x_m = 0.0
y_m = 0.0
controller = { host = "127.0.0.1", port = 5101, unit_id = 1 }
[[intersection.signal_group]]
id = "EW"
movements = ["a_eb:T", "a_eb:R", "a_wb:T", "a_wb:R"]
[[intersection.signal_group]]
id = "EW_L"
movements = ["a_eb:L", "a_wb:L"]
permissive = true
[[intersection.signal_group]]
id = "NS"
movements = ["a_nb:T", "a_nb:R", "a_sb:T", "a_sb:R"]
[[intersection.signal_group]]
id = "NS_L"
movements = ["a_nb:L", "a_sb:L"]
permissive = true
[[intersection.stage]]
id = "ew"
groups = ["EW", "EW_L"]
min_green_s = 10.0
max_green_s = 50.0
yellow_s = 4.0
[[intersection.stage]]
id = "ns"
groups = ["NS", "NS_L"]

[[intersection]]
id = "b"
x_m = 300.0
y_m = 0.0
controller = { host = "127.0.0.1", port = 5102, unit_id = 1 }
[[intersection.signal_group]]
id = "EW"
movements = ["b_eb:T", "b_eb:R", "b_wb:T", "b_wb:R"]
[[intersection.signal_group]]
id = "EW_L"
movements = ["b_eb:L", "b_wb:L"]
permissive = true
[[intersection.signal_group]]
id = "NS"
movements = ["b_nb:T", "b_nb:R", "b_sb:T", "b_sb:R"]
[[intersection.signal_group]]
id = "NS_L"
movements = ["b_nb:L", "b_sb:L"]
permissive = true
[[intersection.stage]]
id = "ew"
groups = ["EW", "EW_L"]
[[intersection.stage]]
id = "ns"
groups = ["NS", "NS_L"]

[[intersection]]
id = "west"
kind = "boundary"
x_m = -300.0
y_m = 0.0
[[intersection]]
id = "east"
kind = "boundary"
x_m = 600.0
y_m = 0.0
[[intersection]]
id = "a_north"
kind = "boundary"
x_m = 0.0
y_m = 200.0
[[intersection]]
id = "a_south"
kind = "boundary"
x_m = 0.0
y_m = -200.0
[[intersection]]
id = "b_north"
kind = "boundary"
x_m = 300.0
y_m = 200.0
[[intersection]]
id = "b_south"
kind = "boundary"
x_m = 300.0
y_m = -200.0

[[road]]
id = "a_eb"
from = "west"
to = "a"
lanes = [{ turns = "L" }, { turns = "TR" }]
[[road]]
id = "b_eb"
from = "a"
to = "b"
lanes = [{ turns = "L", length_m = 50.0 }, { turns = "TR" }]
[[road]]
id = "east_out"
from = "b"
to = "east"
lanes = [{}, {}]
[[road]]
id = "b_wb"
from = "east"
to = "b"
lanes = [{ turns = "L" }, { turns = "TR" }]
[[road]]
id = "a_wb"
from = "b"
to = "a"
lanes = [{ turns = "L" }, { turns = "TR" }]
[[road]]
id = "west_out"
from = "a"
to = "west"
lanes = [{}, {}]
[[road]]
id = "a_nb"
from = "a_south"
to = "a"
lanes = [{ turns = "LTR" }]
[[road]]
id = "a_sb"
from = "a_north"
to = "a"
lanes = [{ turns = "LTR" }]
[[road]]
id = "a_north_out"
from = "a"
to = "a_north"
lanes = [{}]
[[road]]
id = "a_south_out"
from = "a"
to = "a_south"
lanes = [{}]
[[road]]
id = "b_nb"
from = "b_south"
to = "b"
lanes = [{ turns = "LTR" }]
[[road]]
id = "b_sb"
from = "b_north"
to = "b"
lanes = [{ turns = "LTR" }]
[[road]]
id = "b_north_out"
from = "b"
to = "b_north"
lanes = [{}]
[[road]]
id = "b_south_out"
from = "b"
to = "b_south"
lanes = [{}]

[[detector]]
id = "a_eb_stop"
lane = "a_eb:1"
kind = "stop_bar"
length_m = 6.0
[[detector]]
id = "a_eb_adv"
lane = "a_eb:1"
kind = "advance"
setback_m = 80.0

[[camera]]
id = "cam_b_eb"
intersection = "b"
lanes = ["b_eb:0", "b_eb:1"]
zone_far_m = 120.0

[[corridor]]
name = "street"
intersections = ["a", "b"]
'''

def sub(old, new, count=1):
    assert old in BASE_TOML, old
    return BASE_TOML.replace(old, new, count)

# (file name, text, expected error kind, a phrase the message must contain)
TOML_CASES = [
    ("syntax_unclosed_table.toml", sub('[[intersection]]\nid = "b"', '[[intersection]\nid = "b"'), "Syntax", ""),
    ("syntax_string_for_number.toml", sub('x_m = 300.0', 'x_m = "three hundred"'), "Syntax", "invalid type"),
    ("unknown_field.toml", sub('x_m = 300.0', 'x_meters = 300.0'), "Syntax", "unknown field"),
    ("missing_field.toml", sub('x_m = 300.0\ny_m = 0.0\n', 'x_m = 300.0\n'), "Syntax", "missing field"),
    ("port_out_of_range.toml", sub('port = 5102', 'port = 70000'), "Syntax", ""),
    ("duplicate_intersection.toml", sub('id = "b"\nx_m = 300.0', 'id = "a"\nx_m = 300.0'), "DuplicateId", "duplicate intersection id 'a'"),
    ("duplicate_road.toml", sub('id = "a_wb"', 'id = "a_eb"'), "DuplicateId", "duplicate road id 'a_eb'"),
    ("duplicate_detector.toml", sub('id = "a_eb_adv"', 'id = "a_eb_stop"'), "DuplicateId", "duplicate detector id"),
    ("duplicate_stage.toml", sub('id = "ns"\ngroups = ["NS", "NS_L"]', 'id = "ew"\ngroups = ["NS", "NS_L"]'), "DuplicateId", "duplicate stage id"),
    ("detector_unknown_lane.toml", sub('lane = "a_eb:1"\nkind = "advance"', 'lane = "a_eb:7"\nkind = "advance"'), "UnknownReference", "has 2 lanes"),
    ("detector_unknown_road.toml", sub('lane = "a_eb:1"\nkind = "stop_bar"', 'lane = "a_xb:1"\nkind = "stop_bar"'), "UnknownReference", "unknown road 'a_xb'"),
    ("road_unknown_intersection.toml", sub('from = "b_north"\nto = "b"', 'from = "b_nrth"\nto = "b"'), "UnknownReference", "unknown intersection 'b_nrth'"),
    ("stage_unknown_group.toml", sub('groups = ["NS", "NS_L"]', 'groups = ["NS", "SN_L"]'), "UnknownReference", "unknown signal group 'SN_L'"),
    ("group_unknown_movement.toml", sub('movements = ["a_eb:L", "a_wb:L"]', 'movements = ["a_eb:U", "a_wb:L"]'), "UnknownReference", "has no movement 'a_eb:U'"),
    ("corridor_unknown_intersection.toml", sub('intersections = ["a", "b"]', 'intersections = ["a", "c"]'), "UnknownReference", "unknown intersection 'c'"),
    ("conflicting_stage.toml", sub('id = "ew"\ngroups = ["EW", "EW_L"]\nmin', 'id = "ew"\ngroups = ["EW", "EW_L", "NS"]\nmin'), "ConflictingGreens", "conflicting movements"),
    ("yellow_too_short.toml", sub('yellow_s = 4.0', 'yellow_s = 2.5'), "YellowTooShort", "yellow 2.5 s is under 3 s"),
    ("min_green_above_max.toml", sub('min_green_s = 10.0\nmax_green_s = 50.0', 'min_green_s = 60.0\nmax_green_s = 50.0'), "MinGreenAboveMax", "above max green"),
    ("lane_without_exit.toml", sub('id = "a_nb"\nfrom = "a_south"\nto = "a"\nlanes = [{ turns = "LTR" }]', 'id = "a_nb"\nfrom = "a_south"\nto = "a"\nlanes = [{ turns = "LTR" }, {}]'), "LaneWithoutExit", "no way out"),
    ("turn_without_exit.toml", sub('[[road]]\nid = "a_north_out"\nfrom = "a"\nto = "a_north"\nlanes = [{}]\n', ''), "LaneWithoutExit", "no road leaves"),
    ("corridor_not_connected.toml", sub('intersections = ["a", "b"]', 'intersections = ["a", "b_north", "b"]'), "CorridorNotConnected", "no road from 'a' to 'b_north'"),
    ("bad_turn_letter.toml", sub('lanes = [{ turns = "L" }, { turns = "TR" }]', 'lanes = [{ turns = "L" }, { turns = "TX" }]'), "BadValue", "'X' is not one of"),
    ("negative_lane_width.toml", sub('lanes = [{ turns = "L" }, { turns = "TR" }]', 'lanes = [{ turns = "L", width_m = -3.5 }, { turns = "TR" }]'), "BadValue", "width_m must be a positive number"),
    ("detector_beyond_lane.toml", sub('setback_m = 80.0', 'setback_m = 5000.0'), "BadValue", "must lie within the lane"),
    ("missing_controller.toml", sub('controller = { host = "127.0.0.1", port = 5102, unit_id = 1 }\n', ''), "BadValue", "names no field controller"),
    ("port_zero.toml", sub('port = 5102', 'port = 0'), "BadValue", "port must be 1"),
    ("movement_never_served.toml", sub('groups = ["NS", "NS_L"]\n\n[[intersection]]\nid = "west"', 'groups = ["NS"]\n\n[[intersection]]\nid = "west"'), "MovementNeverServed", "is green in no stage"),
    ("camera_bad_zone.toml", sub('zone_far_m = 120.0', 'zone_near_m = 50.0\nzone_far_m = 20.0'), "BadValue", "zone_near_m < zone_far_m"),
    ("road_loops_on_itself.toml", sub('from = "a_north"\nto = "a"\nlanes', 'from = "a"\nto = "a"\nlanes'), "BadValue", "starts and ends at the same intersection"),
    ("pocket_longer_than_road.toml", sub('length_m = 50.0', 'length_m = 900.0'), "BadValue", "pocket length"),
    ("base_green_below_ped.toml", sub('min_green_s = 10.0\nmax_green_s = 50.0\nyellow_s = 4.0', 'min_green_s = 10.0\nmax_green_s = 50.0\nyellow_s = 4.0\nped_walk_s = 7.0\nped_clearance_s = 18.0\ngreen_s = 20.0'), "BadValue", "outside [25.0, 50.0] s"),
    ("conflict_override_one_movement.toml", sub('[[intersection.stage]]\nid = "ew"\ngroups = ["EW", "EW_L"]\nmin', '[[intersection.conflict]]\nmovements = ["a_eb:T"]\nconflict = "none"\n[[intersection.stage]]\nid = "ew"\ngroups = ["EW", "EW_L"]\nmin'), "BadValue", "exactly two movements"),
    ("not_toml_at_all.toml", "\x7fELF binary garbage = = =\n", "Syntax", ""),
]

# A one-intersection CityFlow network: i at the origin (width 10), four virtual neighbours.
def cityflow_base():
    inters = [{"id": "i", "point": {"x": 0, "y": 0}, "width": 10, "roads": [], "roadLinks": [], "virtual": False}]
    dirs = {"w": (-200, 0), "e": (200, 0), "n": (0, 200), "s": (0, -200)}
    for d, (x, y) in dirs.items():
        inters.append({"id": f"v_{d}", "point": {"x": x, "y": y}, "width": 0, "roads": [], "roadLinks": [],
                       "trafficLight": {"roadLinkIndices": [], "lightphases": []}, "virtual": True})
    lane = {"width": 4, "maxSpeed": 11.111}
    roads = []
    for d, (x, y) in dirs.items():
        roads.append({"id": f"in_{d}", "points": [{"x": x, "y": y}, {"x": 0, "y": 0}], "lanes": [lane] * 3,
                      "startIntersection": f"v_{d}", "endIntersection": "i"})
        roads.append({"id": f"out_{d}", "points": [{"x": 0, "y": 0}, {"x": x, "y": y}], "lanes": [lane] * 3,
                      "startIntersection": "i", "endIntersection": f"v_{d}"})
    # (from approach, to exit, type, start lane, end lanes); approach "in_w" travels east.
    turns = {"w": {"straight": "e", "left": "n", "right": "s"}, "e": {"straight": "w", "left": "s", "right": "n"},
             "n": {"straight": "s", "left": "e", "right": "w"}, "s": {"straight": "n", "left": "w", "right": "e"}}
    kinds = {"straight": ("go_straight", 1), "left": ("turn_left", 0), "right": ("turn_right", 2)}
    # Lefts enter the exit's inner lane, rights its kerb lane, throughs any lane.
    ends = {"straight": [0, 1, 2], "left": [0], "right": [2]}
    links = []
    for d in ("w", "e", "n", "s"):
        for t in ("straight", "left", "right"):
            kind, lane_ix = kinds[t]
            links.append({"type": kind, "startRoad": f"in_{d}", "endRoad": f"out_{turns[d][t]}", "direction": 0,
                          "laneLinks": [{"startLaneIndex": lane_ix, "endLaneIndex": k, "points": []} for k in ends[t]]})
    idx = {(l["startRoad"][3:], l["type"]): k for k, l in enumerate(links)}
    rights = [idx[(d, "turn_right")] for d in "wens"]
    phases = [{"time": 5, "availableRoadLinks": rights},
              {"time": 30, "availableRoadLinks": rights + [idx[("w", "go_straight")], idx[("e", "go_straight")]]},
              {"time": 30, "availableRoadLinks": rights + [idx[("n", "go_straight")], idx[("s", "go_straight")]]},
              {"time": 30, "availableRoadLinks": rights + [idx[("w", "turn_left")], idx[("e", "turn_left")]]},
              {"time": 30, "availableRoadLinks": rights + [idx[("n", "turn_left")], idx[("s", "turn_left")]]}]
    inters[0]["roadLinks"] = links
    inters[0]["trafficLight"] = {"roadLinkIndices": list(range(len(links))), "lightphases": phases}
    return {"intersections": inters, "roads": roads}

def mutate(f):
    net = cityflow_base()
    f(net)
    return json.dumps(net, indent=1)

def set_(path, value):
    def f(net):
        obj = net
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return f

def delete(key):
    return lambda net: net.pop(key)

JSON_CASES = [
    ("json_truncated.json", json.dumps(cityflow_base(), indent=1)[:700], "Syntax", "EOF"),
    ("json_string_for_number.json", mutate(set_(["roads", 2, "lanes", 1], {"width": "4", "maxSpeed": 11.1})), "Syntax", "invalid type"),
    ("json_missing_roads.json", mutate(delete("roads")), "Syntax", "missing field `roads`"),
    ("json_unknown_intersection.json", mutate(set_(["roads", 3, "startIntersection"], "nowhere")), "UnknownReference", "unknown intersection 'nowhere'"),
    ("json_unknown_road_in_link.json", mutate(set_(["intersections", 0, "roadLinks", 4, "endRoad"], "out_x")), "UnknownReference", "unknown road 'out_x'"),
    ("json_bad_lane_index.json", mutate(set_(["intersections", 0, "roadLinks", 1, "laneLinks", 0, "startLaneIndex"], 9)), "UnknownReference", "has 3 lanes"),
    ("json_phase_unknown_link.json", mutate(set_(["intersections", 0, "trafficLight", "lightphases", 2, "availableRoadLinks"], [99])), "UnknownReference", "names road link 99"),
    ("json_short_clearance.json", mutate(set_(["intersections", 0, "trafficLight", "lightphases", 0, "time"], 2)), "YellowTooShort", "under 3 s"),
    ("json_conflicting_phase.json", mutate(set_(["intersections", 0, "trafficLight", "lightphases", 1, "availableRoadLinks"], [0, 6])), "ConflictingGreens", "conflicting movements"),
    ("json_duplicate_road.json", mutate(set_(["roads", 1, "id"], "in_w")), "DuplicateId", "duplicate road id 'in_w'"),
    ("json_bad_turn_type.json", mutate(set_(["intersections", 0, "roadLinks", 0, "type"], "go_sideways")), "Syntax", "unknown variant"),
    ("json_link_not_through_intersection.json", mutate(set_(["intersections", 0, "roadLinks", 0, "startRoad"], "out_e")), "RouteNotConnected", "does not pass through"),
]

def main():
    os.makedirs("tests/fixtures/bad", exist_ok=True)
    with open("tests/fixtures/small.toml", "w") as f:
        f.write(BASE_TOML)
    with open("tests/fixtures/cityflow_one.json", "w") as f:
        f.write(json.dumps(cityflow_base(), indent=1))
    rows = []
    for name, text, kind, phrase in TOML_CASES + JSON_CASES:
        with open(f"tests/fixtures/bad/{name}", "w") as f:
            f.write(text)
        rows.append(f"{name}\t{kind}\t{phrase}")
    with open("tests/fixtures/bad/EXPECTED.tsv", "w") as f:
        f.write("# fixture\terror kind\tphrase the message must contain\n" + "\n".join(rows) + "\n")

main()
