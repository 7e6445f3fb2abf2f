//! Loop-detector fault detection, PeMS-style: each rule looks at a detector's own readings
//! (and, for stuck-off, at what other sensors saw on the same lane or road) over a long enough
//! window that ordinary traffic cannot trigger it.
//!
//! - **stuck-on**: occupancy ≈ 1 for longer than any red plus queue could hold a loop.
//! - **stuck-off**: no count for a long time while the camera or neighbouring loops see traffic.
//! - **chattering**: counts beyond what a lane can carry (headways under 1.5 s sustained over the
//!   interval), or counts the occupancy cannot explain (many vehicles, ~zero occupied time).
//!
//! A flagged detector stays flagged until it has looked healthy for `recover_s`, so a
//! flickering fault does not keep re-entering the estimate.

use roadnet::DetectorReading;
use serde::{Deserialize, Serialize};

/// A detector's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DetectorHealth {
    #[default]
    Ok,
    StuckOn,
    StuckOff,
    Chattering,
}

/// Thresholds of the fault rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultParams {
    /// Occupancy at or above which a loop counts as "covered".
    pub stuck_on_occupancy: f64,
    /// How long a loop may stay covered before it is stuck-on, seconds. Longer than the
    /// longest red (a stop-bar loop under a standing queue is covered all red).
    pub stuck_on_s: f64,
    /// How long a loop may count nothing while others see traffic, seconds.
    pub stuck_off_s: f64,
    /// Vehicles the camera / neighbours must have seen during the silent run before we blame
    /// the loop rather than an empty road.
    pub stuck_off_evidence_veh: f64,
    /// The shortest sustainable headway on one lane, seconds (1.5 s = 2,400 veh/h).
    pub min_headway_s: f64,
    /// The least occupied time one counted vehicle can cause, seconds: a 5 m car over a 2 m
    /// loop at 40 m/s covers it for 0.175 s.
    pub min_occupied_per_veh_s: f64,
    /// Consecutive implausible intervals before a detector is chattering.
    pub chatter_intervals: u32,
    /// Healthy time needed to clear a flag, seconds.
    pub recover_s: f64,
}

impl Default for FaultParams {
    fn default() -> Self {
        FaultParams {
            stuck_on_occupancy: 0.95,
            stuck_on_s: 300.0,
            stuck_off_s: 300.0,
            stuck_off_evidence_veh: 15.0,
            min_headway_s: 1.5,
            min_occupied_per_veh_s: 0.1,
            chatter_intervals: 3,
            recover_s: 600.0,
        }
    }
}

/// Running evidence about one detector.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DetectorTrack {
    pub health: DetectorHealth,
    covered_s: f64,
    silent_s: f64,
    silent_evidence_veh: f64,
    chatter_run: u32,
    healthy_s: f64,
}

impl DetectorTrack {
    /// Judge one reading. `others_saw_veh` is how many vehicles the camera on the same lane, or
    /// the healthy loops of the same kind on neighbouring lanes (per lane), saw in the interval;
    /// `None` when nothing else watches the lane.
    pub fn observe(
        &mut self,
        r: &DetectorReading,
        others_saw_veh: Option<f64>,
        p: &FaultParams,
    ) -> DetectorHealth {
        let dt = r.interval_s.max(0.0);
        let occ = if r.occupancy.is_finite() {
            r.occupancy
        } else {
            1.0
        };
        let count = r.count as f64;

        // stuck-on
        if occ >= p.stuck_on_occupancy {
            self.covered_s += dt;
        } else {
            self.covered_s = 0.0;
        }
        // stuck-off
        if r.count == 0 && occ < 0.01 {
            self.silent_s += dt;
            self.silent_evidence_veh += others_saw_veh.unwrap_or(0.0);
        } else {
            self.silent_s = 0.0;
            self.silent_evidence_veh = 0.0;
        }
        // chattering: beyond lane capacity, or counts without occupied time
        let cap = dt / p.min_headway_s + 1.0;
        let impossible = count > cap;
        let inconsistent = count >= 3.0 && occ * dt < count * p.min_occupied_per_veh_s;
        if impossible || inconsistent {
            self.chatter_run += 1;
        } else {
            self.chatter_run = 0;
        }

        let verdict = if self.covered_s >= p.stuck_on_s {
            DetectorHealth::StuckOn
        } else if self.silent_s >= p.stuck_off_s
            && self.silent_evidence_veh >= p.stuck_off_evidence_veh
        {
            DetectorHealth::StuckOff
        } else if self.chatter_run >= p.chatter_intervals || count > 2.0 * cap {
            DetectorHealth::Chattering
        } else {
            DetectorHealth::Ok
        };
        if verdict != DetectorHealth::Ok {
            self.health = verdict;
            self.healthy_s = 0.0;
        } else if self.health != DetectorHealth::Ok {
            // A reading that breaks no rule *and* shows normal activity counts towards recovery.
            let normal = match self.health {
                DetectorHealth::StuckOn => occ < p.stuck_on_occupancy,
                DetectorHealth::StuckOff => r.count > 0,
                DetectorHealth::Chattering => !impossible && !inconsistent,
                DetectorHealth::Ok => true,
            };
            if normal {
                self.healthy_s += dt;
            }
            if self.healthy_s >= p.recover_s {
                self.health = DetectorHealth::Ok;
                self.healthy_s = 0.0;
            }
        }
        self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roadnet::DetectorId;

    fn reading(t: f64, count: u32, occupancy: f64) -> DetectorReading {
        DetectorReading {
            detector: DetectorId(0),
            time_s: t,
            interval_s: 30.0,
            count,
            occupancy,
            mean_speed_m_s: None,
        }
    }

    fn run(track: &mut DetectorTrack, n: usize, f: impl Fn(usize) -> (u32, f64, Option<f64>)) {
        let p = FaultParams::default();
        for k in 0..n {
            let (c, o, ev) = f(k);
            track.observe(&reading(30.0 * k as f64, c, o), ev, &p);
        }
    }

    #[test]
    fn normal_traffic_is_never_flagged() {
        let mut t = DetectorTrack::default();
        // a stop-bar loop: 90 s covered by the red queue, then discharge; for an hour
        run(&mut t, 120, |k| match k % 4 {
            0..=2 => (1, 0.97, Some(1.0)),
            _ => (12, 0.45, Some(12.0)),
        });
        assert_eq!(t.health, DetectorHealth::Ok);
    }

    #[test]
    fn stuck_on_flagged() {
        let mut t = DetectorTrack::default();
        run(&mut t, 12, |_| (0, 1.0, Some(5.0)));
        assert_eq!(t.health, DetectorHealth::StuckOn);
    }

    #[test]
    fn stuck_off_needs_evidence() {
        let mut quiet_road = DetectorTrack::default();
        run(&mut quiet_road, 40, |_| (0, 0.0, Some(0.0)));
        assert_eq!(
            quiet_road.health,
            DetectorHealth::Ok,
            "an empty road is not a fault"
        );
        let mut t = DetectorTrack::default();
        run(&mut t, 12, |_| (0, 0.0, Some(6.0)));
        assert_eq!(t.health, DetectorHealth::StuckOff);
    }

    #[test]
    fn chattering_flagged_and_recovers() {
        let mut t = DetectorTrack::default();
        // 40 counts in 30 s on one lane: 0.75 s headways, impossible
        run(&mut t, 3, |_| (40, 0.3, None));
        assert_eq!(t.health, DetectorHealth::Chattering);
        // 10 minutes of plausible readings clear it
        run(&mut t, 20, |_| (8, 0.2, None));
        assert_eq!(t.health, DetectorHealth::Ok);

        let mut t = DetectorTrack::default();
        // plausible counts but no occupied time: pulses, not cars
        run(&mut t, 3, |_| (10, 0.0, None));
        assert_eq!(t.health, DetectorHealth::Chattering);
    }
}
