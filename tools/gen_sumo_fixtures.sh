#!/usr/bin/env bash
# Regenerates the SUMO test networks under roadnet/tests/fixtures/sumo/ from plain node/edge
# descriptions written here (our own data; nothing is copied from SUMO's repository), then prints
# SUMO's own counts (via sumolib) that roadnet/tests/sumo.rs compares against.
#
# Needs SUMO from PyPI:  pip install eclipse-sumo   (tested with SUMO 1.28.0)
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

# A small synthetic demand for the arterial (there is no SUMO route import yet): a CityFlow flow
# file over the SUMO edge ids, for `greenwave sim`.
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

# SUMO's own view of each network, for the expected counts in README.md and tests/sumo.rs.
# Counted with sumolib (shipped with eclipse-sumo): edges and lanes that are not internal, lanes
# that allow passenger cars, connections between two such lanes, traffic lights and their phases.
export PYTHONPATH="$SUMO_HOME/tools${PYTHONPATH:+:$PYTHONPATH}"
for f in cross4 arterial6 grid4; do
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
