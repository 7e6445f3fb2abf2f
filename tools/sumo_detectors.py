#!/usr/bin/env python3
"""Detectors for a SUMO fixture: on every lane entering a traffic light, a stop-bar induction loop
5 m and an advance loop 40 m before the stop line, and a lane-area detector (greenwave: a camera)
over the last 50 m (ending 1 m before the stop line).

Usage: sumo_detectors.py NET.net.xml OUT.add.xml   (sumolib on PYTHONPATH: $SUMO_HOME/tools)
Called by tools/gen_sumo_fixtures.sh.
"""
import sys
import sumolib
net = sumolib.net.readNet(sys.argv[1])
out = ['<additional>']
for tls in sorted(net.getTrafficLights(), key=lambda t: t.getID()):
    lanes = sorted({c[0] for c in tls.getConnections()}, key=lambda l: l.getID())
    for lane in lanes:
        n, length = lane.getID(), lane.getLength()
        out.append(f'  <inductionLoop id="e1_{n}" lane="{n}" pos="{length - 5:.2f}" period="60" file="NUL"/>')
        out.append(f'  <inductionLoop id="e1a_{n}" lane="{n}" pos="{length - 40:.2f}" period="60" file="NUL"/>')
        out.append(f'  <laneAreaDetector id="e2_{n}" lane="{n}" pos="{max(length - 51, 0):.2f}" '
                   f'endPos="{length - 1:.2f}" period="60" file="NUL"/>')
out.append('</additional>')
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
