#!/usr/bin/env python3
"""One hour of time-varying peak demand for a SUMO fixture, as explicit vehicles (seeded).

Usage: sumo_peak_demand.py arterial|grid NET.net.xml OUT.rou.xml SEED [SCALE]

SCALE (default 1) multiplies every stream's peak rate.

Called by tools/gen_sumo_fixtures.sh (needs sumolib on PYTHONPATH: $SUMO_HOME/tools).

Every vehicle gets an explicit `depart` and an explicit route (`edges`), so SUMO and greenwave's
route loader read exactly the same trips, and every run of SUMO (any signal logic, any seed)
inserts the same vehicles. Arrivals per stream are a Poisson process whose hourly rate follows
PROFILE: four quarter hours at 55 %, 80 %, 100 % and 70 % of the stream's peak rate.

Peak rates are chosen for a degree of saturation of about 0.6-0.9 on the main approaches under
the network's own static programmes (netconvert's 90 s cycles): see
roadnet/tests/fixtures/sumo/README.md for the figures.
"""
import random
import re
import sys

import sumolib

PROFILE = [(0, 900, 0.55), (900, 1800, 0.80), (1800, 2700, 1.00), (2700, 3600, 0.70)]
VTYPE = ('  <vType id="car" vClass="passenger" length="4.8" minGap="2.5" accel="2.6" '
         'decel="4.5" maxSpeed="16.67" tau="1.2"/>')


def poisson(rng, peak_veh_h):
    """Departure times over the profile for a stream whose peak rate is peak_veh_h."""
    times = []
    for begin, end, factor in PROFILE:
        rate = peak_veh_h * factor / 3600.0
        t = begin + rng.expovariate(rate)
        while t < end:
            times.append(round(t, 1))
            t += rng.expovariate(rate)
    return times


def arterial(net, rng):
    """(peak veh/h, edges) streams on arterial6: A0..A7 with side streets N_i/S_i at A1..A6."""
    east = [f"A{i}A{i + 1}" for i in range(7)]
    west = [f"A{i + 1}A{i}" for i in reversed(range(7))]
    streams = [(1300, east), (1000, west)]
    for i in range(1, 7):
        # side streets: mostly across, some turning onto the arterial (to its far end)
        streams.append((220, [f"N{i}A{i}", f"A{i}S{i}"]))
        streams.append((220, [f"S{i}A{i}", f"A{i}N{i}"]))
        streams.append((50, [f"N{i}A{i}"] + [f"A{j}A{j + 1}" for j in range(i, 7)]))
        streams.append((50, [f"S{i}A{i}"] + [f"A{j}A{j - 1}" for j in range(i, 0, -1)]))
        # and some leaving the arterial by a right turn
        streams.append((40, east[:i] + [f"A{i}S{i}"]))
        streams.append((40, west[: 7 - i] + [f"A{i}N{i}"]))
    return streams


def grid(net, rng):
    """Streams on the 4x4 grid: from every fringe entry, 80 % across and 20 % to the other exits
    in equal shares, by SUMO's shortest path. Rows (west-east) are the heavier axis."""
    # netgenerate's attached fringe nodes (not the nodes where a turn pocket begins)
    fringe = [n for n in net.getNodes()
              if re.fullmatch(r"(left|right|top|bottom)[0-9]+", n.getID())]
    fringe.sort(key=lambda n: n.getID())
    streams = []
    for o in fringe:
        entry = o.getOutgoing()[0]
        peak = 500 if o.getID().startswith(("left", "right")) else 300
        others = [d for d in fringe if d is not o]
        # the exit straight across: the fringe node farthest away on the same row/column
        across = max(others, key=lambda d: (abs(d.getCoord()[0] - o.getCoord()[0])
                                            + abs(d.getCoord()[1] - o.getCoord()[1]),
                                            -min(abs(d.getCoord()[0] - o.getCoord()[0]),
                                                 abs(d.getCoord()[1] - o.getCoord()[1]))))
        rest = [d for d in others if d is not across]
        shares = [(across, 0.8)] + [(d, 0.2 / len(rest)) for d in rest]
        for d, share in shares:
            path, _ = net.getShortestPath(entry, d.getIncoming()[0])
            if path is None:
                sys.exit(f"no path {o.getID()} -> {d.getID()}")
            streams.append((peak * share, [e.getID() for e in path]))
    return streams


def main():
    kind, net_path, out, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    scale = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    net = sumolib.net.readNet(net_path)
    rng = random.Random(seed)
    streams = [(peak * scale, edges)
               for peak, edges in {"arterial": arterial, "grid": grid}[kind](net, rng)]
    vehicles = []
    for k, (peak, edges) in enumerate(streams):
        for e in edges:
            if not net.hasEdge(e):
                sys.exit(f"unknown edge {e}")
        for t in poisson(rng, peak):
            vehicles.append((t, k, " ".join(edges)))
    vehicles.sort()
    lines = ['<routes>', VTYPE]
    for n, (t, k, edges) in enumerate(vehicles):
        lines.append(f'  <vehicle id="v{n}_s{k}" type="car" depart="{t:.1f}" departLane="best">')
        lines.append(f'    <route edges="{edges}"/>')
        lines.append('  </vehicle>')
    lines.append('</routes>')
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{out}: vehicles {len(vehicles)} in {len(streams)} streams; "
          f"last depart {vehicles[-1][0]:.1f}")


if __name__ == "__main__":
    main()
