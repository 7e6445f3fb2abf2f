#!/usr/bin/env bash
# Regenerates the SUMO test networks under roadnet/tests/fixtures/sumo/ from plain node/edge
# descriptions written here (our own data; nothing is copied from SUMO's repository), then prints
# SUMO's own counts (via sumolib) that roadnet/tests/sumo.rs compares against.
#
# Needs SUMO from PyPI:  pip install eclipse-sumo   (tested with SUMO 1.28.0)
# Also writes arterial6.rou.xml (randomTrips.py + duarouter, seeded) and arterial6.add.xml
# (detectors), and the malformed demand files under bad_demand/, and prints SUMO's own counts of
# vehicles and detectors that roadnet/tests/sumo_demand.rs compares against.
#
# Usage: tools/gen_sumo_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=roadnet/tests/fixtures/sumo
SUMO_HOME=$(python3 -c "import sumo; print(sumo.SUMO_HOME)")
export SUMO_HOME
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# SUMO writes a header comment with the date and the options used; it is kept as provenance.
NOHDR=(--no-warnings)

# 1. A 4-leg signalized junction: 2 lanes per approach, 200 m legs, 50 km/h, with sidewalks and
#    pedestrian crossings (which greenwave does not model: they exercise the notes).
cat > "$TMP/cross.nod.xml" <<'XML'
<nodes>
  <node id="C" x="0" y="0" type="traffic_light"/>
  <node id="N" x="0" y="200" type="priority"/>
  <node id="S" x="0" y="-200" type="priority"/>
  <node id="E" x="200" y="0" type="priority"/>
  <node id="W" x="-200" y="0" type="priority"/>
</nodes>
XML
cat > "$TMP/cross.edg.xml" <<'XML'
<edges>
  <edge id="NC" from="N" to="C" numLanes="2" speed="13.89"/>
  <edge id="CN" from="C" to="N" numLanes="2" speed="13.89"/>
  <edge id="SC" from="S" to="C" numLanes="2" speed="13.89"/>
  <edge id="CS" from="C" to="S" numLanes="2" speed="13.89"/>
  <edge id="EC" from="E" to="C" numLanes="2" speed="13.89"/>
  <edge id="CE" from="C" to="E" numLanes="2" speed="13.89"/>
  <edge id="WC" from="W" to="C" numLanes="2" speed="13.89"/>
  <edge id="CW" from="C" to="W" numLanes="2" speed="13.89"/>
</edges>
XML
netconvert "${NOHDR[@]}" --node-files "$TMP/cross.nod.xml" --edge-files "$TMP/cross.edg.xml" \
  --sidewalks.guess --crossings.guess --no-turnarounds \
  -o "$OUT/cross4.net.xml"

# 2. An arterial of 6 signalized junctions 250 m apart (2 lanes each way), each crossed by a
#    1-lane side street 150 m long to the north and south.
{
  echo '<nodes>'
  echo '  <node id="A0" x="0" y="0" type="priority"/>'
  for i in 1 2 3 4 5 6; do
    x=$((i * 250))
    echo "  <node id=\"A$i\" x=\"$x\" y=\"0\" type=\"traffic_light\"/>"
    echo "  <node id=\"N$i\" x=\"$x\" y=\"150\" type=\"priority\"/>"
    echo "  <node id=\"S$i\" x=\"$x\" y=\"-150\" type=\"priority\"/>"
  done
  echo '  <node id="A7" x="1750" y="0" type="priority"/>'
  echo '</nodes>'
} > "$TMP/art.nod.xml"
{
  echo '<edges>'
  for i in 0 1 2 3 4 5 6; do
    j=$((i + 1))
    echo "  <edge id=\"A${i}A${j}\" from=\"A$i\" to=\"A$j\" numLanes=\"2\" speed=\"13.89\"/>"
    echo "  <edge id=\"A${j}A${i}\" from=\"A$j\" to=\"A$i\" numLanes=\"2\" speed=\"13.89\"/>"
  done
  for i in 1 2 3 4 5 6; do
    for s in N S; do
      echo "  <edge id=\"${s}${i}A${i}\" from=\"$s$i\" to=\"A$i\" numLanes=\"1\" speed=\"11.11\"/>"
      echo "  <edge id=\"A${i}${s}${i}\" from=\"A$i\" to=\"$s$i\" numLanes=\"1\" speed=\"11.11\"/>"
    done
  done
  echo '</edges>'
} > "$TMP/art.edg.xml"
netconvert "${NOHDR[@]}" --node-files "$TMP/art.nod.xml" --edge-files "$TMP/art.edg.xml" \
  --no-turnarounds -o "$OUT/arterial6.net.xml"

# 3. A 4×4 grid (150 m blocks, 100 m attached fringe roads, 1 lane) with traffic lights guessed by
#    netgenerate; the guess threshold is lowered so the 4-leg junctions of 50 km/h roads qualify.
netgenerate "${NOHDR[@]}" --grid --grid.number 4 --grid.length 150 --grid.attach-length 100 \
  --tls.guess --tls.guess.threshold 20 -o "$OUT/grid4.net.xml"

# The malformed networks: tiny.net.xml (written by hand) with one fault each.
python3 "$OUT/bad/make_bad.py"
python3 "$OUT/bad_demand/make_bad.py"

# A small synthetic CityFlow flow file over the SUMO edge ids of the arterial, for `greenwave sim`
# (kept beside the SUMO route file below: the same network, two demand formats).
python3 - "$OUT/arterial6_flow.json" <<'FLOW'
import json, sys
veh = {"length": 5.0, "width": 2.0, "maxPosAcc": 2.0, "maxNegAcc": 4.5, "usualPosAcc": 2.0,
       "usualNegAcc": 4.5, "minGap": 2.5, "maxSpeed": 13.89, "headwayTime": 1.5}
flows = []
def f(route, interval):
    flows.append({"vehicle": veh, "route": route, "interval": interval, "startTime": 0, "endTime": 900})
f([f"A{i}A{i+1}" for i in range(7)], 6.0)
f([f"A{i+1}A{i}" for i in reversed(range(7))], 6.0)
for i in range(1, 7):
    f([f"N{i}A{i}", f"A{i}S{i}"], 30.0)
    f([f"S{i}A{i}", f"A{i}N{i}"], 30.0)
# Turning traffic: from the side streets onto the arterial and off it again.
f(["N1A1", "A1A2", "A2A3", "A3S3"], 60.0)
f(["S6A6", "A6A5", "A5A4", "A4N4"], 60.0)
json.dump(flows, open(sys.argv[1], "w"), indent=1)
FLOW

# ---- Demand and detectors for arterial6, made with SUMO's own tools ----
# Random trips (seeded) routed by duarouter: one trip every 1.5 s for 30 min, each a car of our
# vType "car" (written here), so the route file carries a <vType> for the import to map.
cat > "$TMP/vtypes.add.xml" <<'XML'
<additional>
  <vType id="car" vClass="passenger" length="4.8" minGap="2.5" accel="2.6" decel="4.5" maxSpeed="16.67" tau="1.2"/>
</additional>
XML
python3 "$SUMO_HOME/tools/randomTrips.py" -n "$OUT/arterial6.net.xml" -o "$TMP/arterial6.trips.xml" \
  -r "$TMP/arterial6.random.rou.xml" \
  --seed 42 -b 0 -e 1800 -p 1.5 --fringe-factor 10 --min-distance 100 \
  --trip-attributes 'type="car"' --additional-file "$TMP/vtypes.add.xml" >/dev/null
duarouter --alternatives-output NUL --no-step-log --no-warnings --seed 42 -n "$OUT/arterial6.net.xml" \
  --additional-files "$TMP/vtypes.add.xml" --route-files "$TMP/arterial6.trips.xml" \
  -o "$OUT/arterial6.rou.xml"
# Detectors: one induction loop 5 m before the stop line on every lane entering a traffic light,
# and one 50 m lane-area detector ending 1 m before the stop line on each such edge's kerb lane.
PYTHONPATH="$SUMO_HOME/tools" python3 - "$OUT/arterial6.net.xml" "$OUT/arterial6.add.xml" <<'DET'
import sys
import sumolib
net = sumolib.net.readNet(sys.argv[1])
out = ['<additional>']
for tls in sorted(net.getTrafficLights(), key=lambda t: t.getID()):
    edges = sorted({c[0].getEdge() for c in tls.getConnections()}, key=lambda e: e.getID())
    for e in edges:
        for lane in e.getLanes():
            out.append(f'  <inductionLoop id="e1_{lane.getID()}" lane="{lane.getID()}" '
                       f'pos="{lane.getLength() - 5:.2f}" period="60" file="NUL"/>')
        kerb = e.getLanes()[0]
        out.append(f'  <laneAreaDetector id="e2_{e.getID()}" lane="{kerb.getID()}" '
                   f'pos="{kerb.getLength() - 51:.2f}" endPos="{kerb.getLength() - 1:.2f}" period="60" file="NUL"/>')
out.append('</additional>')
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
DET
# SUMO must accept both files: run it for the whole demand and keep its own vehicle count.
sumo --no-step-log --no-warnings -n "$OUT/arterial6.net.xml" -r "$OUT/arterial6.rou.xml" \
  -a "$OUT/arterial6.add.xml" --end 4000 --duration-log.statistics | grep -E "Inserted|Loaded" || true
PYTHONPATH="$SUMO_HOME/tools" python3 - "$OUT/arterial6.rou.xml" "$OUT/arterial6.add.xml" <<'COUNT'
import sys
import sumolib
veh = list(sumolib.xml.parse(sys.argv[1], 'vehicle'))
deps = [float(v.depart) for v in veh]
e1 = list(sumolib.xml.parse(sys.argv[2], 'inductionLoop'))
e2 = list(sumolib.xml.parse(sys.argv[2], 'laneAreaDetector'))
print(f"{sys.argv[1]}: vehicles {len(veh)}; first depart {min(deps):.2f}; last depart {max(deps):.2f}")
print(f"{sys.argv[2]}: inductionLoop {len(e1)}; laneAreaDetector {len(e2)}")
COUNT

# ---- One hour of peak demand, for comparing greenwave's adaptive control with SUMO's own
# actuated and delay_based logics (tests/sumo_compare.rs, docs/sumo.md "Comparing with SUMO's
# logics"). A second 4x4 grid, closer to a real one than grid4: 200 m blocks, 2 lanes each way
# plus a 60 m left-turn pocket on every approach (netconvert then gives the lefts a protected
# phase), no U-turns.
netgenerate "${NOHDR[@]}" --grid --grid.number 4 --grid.length 200 --grid.attach-length 150 \
  -L 2 --turn-lanes 1 --turn-lanes.length 60 --no-turnarounds \
  --tls.guess --tls.guess.threshold 20 -o "$OUT/grid4_pockets.net.xml"
PYTHONPATH="$SUMO_HOME/tools" python3 tools/sumo_peak_demand.py arterial "$OUT/arterial6.net.xml" \
  "$OUT/arterial6_peak.rou.xml" 13
PYTHONPATH="$SUMO_HOME/tools" python3 tools/sumo_peak_demand.py grid "$OUT/grid4_pockets.net.xml" \
  "$OUT/grid4_pockets_peak.rou.xml" 13
# the same streams at half their peak rates: the grid without spill-back from the pockets
PYTHONPATH="$SUMO_HOME/tools" python3 tools/sumo_peak_demand.py grid "$OUT/grid4_pockets.net.xml" \
  "$OUT/grid4_pockets_half.rou.xml" 13 0.5
# Detectors on every lane entering a traffic light (tools/sumo_detectors.py): a stop-bar loop 5 m
# and an advance loop 40 m before the stop line, and a lane-area detector (camera) over the last
# 50 m. For the grid, and for the arterial as arterial6_full.add.xml (arterial6.add.xml, with
# cameras on the kerb lanes only, stays as the import tests count it).
for f in grid4_pockets:grid4_pockets.add.xml arterial6:arterial6_full.add.xml; do
  PYTHONPATH="$SUMO_HOME/tools" python3 tools/sumo_detectors.py "$OUT/${f%%:*}.net.xml" "$OUT/${f#*:}"
done
for f in arterial6:arterial6_full.add.xml grid4_pockets:grid4_pockets.add.xml; do
  sumo --no-step-log --no-warnings -n "$OUT/${f%%:*}.net.xml" -r "$OUT/${f%%:*}_peak.rou.xml" \
    -a "$OUT/${f#*:}" --duration-log.statistics | grep -E "Inserted|Teleports|Duration" || true
done

# SUMO's own view of each network, for the expected counts in README.md and tests/sumo.rs.
# Counted with sumolib (shipped with eclipse-sumo): edges and lanes that are not internal, lanes
# that allow passenger cars, connections between two such lanes, traffic lights and their phases.
export PYTHONPATH="$SUMO_HOME/tools${PYTHONPATH:+:$PYTHONPATH}"
for f in cross4 arterial6 grid4 grid4_pockets; do
  python3 - "$OUT/$f.net.xml" <<'COUNT'
import sys
import sumolib
path = sys.argv[1]
net = sumolib.net.readNet(path, withPrograms=True, withPedestrianConnections=True)
edges = [e for e in net.getEdges() if e.getFunction() == ""]
car_lanes = [l for e in edges for l in e.getLanes() if l.allows("passenger")]
car_edges = [e for e in edges if any(l.allows("passenger") for l in e.getLanes())]
conns = [c for e in edges for l in e.getLanes() if l.allows("passenger")
         for c in l.getOutgoing() if c.getToLane().allows("passenger")]
tls = net.getTrafficLights()
kinds = {}
for n in net.getNodes():
    kinds[n.getType()] = kinds.get(n.getType(), 0) + 1
phases = sum(len(p.getPhases()) for t in tls for p in t.getPrograms().values())
print(f"{path}: junctions {sorted(kinds.items())}; car edges {len(car_edges)}; "
      f"car lanes {len(car_lanes)} (of {sum(e.getLaneNumber() for e in edges)}); "
      f"car connections {len(conns)}; traffic lights {len(tls)}; phases {phases}")
COUNT
done
