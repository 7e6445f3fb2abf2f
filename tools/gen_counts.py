#!/usr/bin/env python3
"""Generate data/main_street_counts.csv: a synthetic but realistic weekday of 15-minute turning
movement counts for the bundled Main Street corridor (intersections.toml). Run from the
repository root: python3 tools/gen_counts.py > data/main_street_counts.csv. Deterministic (seeded).

How the day is made (also in docs/counts.md):
- A 24-hour profile with an AM peak (07:00-09:00), a midday plateau and a PM peak (16:00-18:30),
  night troughs at ~4 % of peak.
- Tidal arterial flow: westbound (towards downtown, west) peaks in the morning at 1,000 veh/h,
  eastbound in the evening at 1,000 veh/h; the counter-peak direction carries ~60 %.
- At each intersection 8 % of arterial traffic turns left and 8 % right; side-street approaches
  split 25 % left / 50 % through / 25 % right; the two busier cross streets (pine, cedar) carry
  380 veh/h per approach at peak, the others 200.
- Arterial counts downstream are the sum of what the upstream intersection sent that way, so
  the counts are consistent along the corridor; every count gets seeded multiplicative noise.
"""
import math, random

rng = random.Random(20261126)
CROSS = ["oak", "elm", "pine", "maple", "cedar", "birch", "walnut"]
BUSY = {"pine", "cedar"}
PROFILE = [0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.45, 0.95, 1.0, 0.7, 0.55, 0.6,
           0.68, 0.65, 0.6, 0.7, 0.9, 1.0, 0.85, 0.6, 0.45, 0.35, 0.25, 0.15]
PEAK_VEH_H = 1000.0
INTERVAL_S = 900

def profile(t_h):
    """Fraction of peak at hour t_h (linear between hourly points, centred on the half hour)."""
    x = t_h - 0.5
    i = math.floor(x) % 24
    f = x - math.floor(x)
    return PROFILE[i] * (1 - f) + PROFILE[(i + 1) % 24] * f

def tidal(t_h, am_heavy):
    """Direction weight: 1.0 in its peak half of the day, 0.6 in the other, smooth between."""
    s = min(max((t_h - 10.0) / 5.0, 0.0), 1.0)  # 0 before 10:00, 1 after 15:00
    w = 1.0 - 0.4 * s if am_heavy else 0.6 + 0.4 * s
    return w

def noisy(mean):
    return max(0, int(round(mean * math.exp(rng.gauss(0.0, 0.10)))))

def split(total, shares):
    """Integer split of total by shares with seeded noise (parts add up to total)."""
    raw = [total * s * math.exp(rng.gauss(0.0, 0.15)) for s in shares]
    scale = total / sum(raw) if sum(raw) > 0 else 0
    parts = [int(math.floor(r * scale)) for r in raw]
    rem = total - sum(parts)
    order = sorted(range(len(raw)), key=lambda k: -(raw[k] * scale - parts[k]))
    for k in order[:rem]:
        parts[k] += 1
    return parts

print("# Main Street corridor: 15-minute turning movement counts for one weekday.")
print("# Synthetic (tools/gen_counts.py, seeded); format in docs/counts.md.")
print("start,interval_s,movement,count")
for q in range(96):
    start_s = q * INTERVAL_S
    t_h = (start_s + INTERVAL_S / 2) / 3600.0
    hh, mm = divmod(start_s // 60, 60)
    stamp = f"{hh:02d}:{mm:02d}"
    p = profile(t_h)
    rows = []
    side = {}
    for n in CROSS:
        peak = 380.0 if n in BUSY else 200.0
        for d in ("nb", "sb"):
            total = noisy(peak * p * INTERVAL_S / 3600.0)
            side[(n, d)] = split(total, [0.25, 0.5, 0.25])  # L, T, R
    # Eastbound, west to east.
    flow = noisy(PEAK_VEH_H * tidal(t_h, am_heavy=False) * p * INTERVAL_S / 3600.0)
    for n in CROSS:
        l, t, r = split(flow, [0.08, 0.84, 0.08])
        rows += [(f"main_eb_{n}:L", l), (f"main_eb_{n}:T", t), (f"main_eb_{n}:R", r)]
        # Into the eastbound arterial: northbound right and southbound left.
        flow = t + side[(n, "nb")][2] + side[(n, "sb")][0]
    # Westbound, east to west.
    flow = noisy(PEAK_VEH_H * tidal(t_h, am_heavy=True) * p * INTERVAL_S / 3600.0)
    for n in reversed(CROSS):
        l, t, r = split(flow, [0.08, 0.84, 0.08])
        rows += [(f"main_wb_{n}:L", l), (f"main_wb_{n}:T", t), (f"main_wb_{n}:R", r)]
        flow = t + side[(n, "nb")][0] + side[(n, "sb")][2]
    for n in CROSS:
        for d in ("nb", "sb"):
            l, t, r = side[(n, d)]
            rows += [(f"{n}_{d}:L", l), (f"{n}_{d}:T", t), (f"{n}_{d}:R", r)]
    rows.sort()
    for m, c in rows:
        print(f"{stamp},{INTERVAL_S},{m},{c}")
