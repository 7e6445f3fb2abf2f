//! Vehicle trajectories along a corridor, recorded from a simulation run for the time-space
//! diagram: distance along the corridor against time, one polyline per vehicle and direction.

pub(crate) use controller::optimize::tsd::Trajectory;
use roadnet::{Corridor, RoadId, RoadNet};
use sim::{Observer, Place, StepView};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Where each arterial road lies along the corridor.
#[derive(Clone, Copy, Debug)]
struct RoadSpan {
    outbound: bool,
    /// Corridor position of the lane start, m.
    start_m: f64,
}

/// Records trajectories of vehicles on the corridor's arterial roads during a time window.
pub(crate) struct TrajectoryRecorder {
    spans: BTreeMap<RoadId, RoadSpan>,
    from_t_s: f64,
    to_t_s: f64,
    every_s: f64,
    tracks: BTreeMap<u32, Trajectory>,
    /// Where the finished trajectories go when the run ends (the recorder is dropped).
    sink: Arc<Mutex<Vec<Trajectory>>>,
}

impl TrajectoryRecorder {
    /// `positions_m`: each corridor intersection's position along it (first at 0).
    /// Trajectories land in `sink` when the recorder is dropped (the end of its run).
    pub(crate) fn new(
        net: &RoadNet,
        corridor: &Corridor,
        positions_m: &[f64],
        from_t_s: f64,
        to_t_s: f64,
        every_s: f64,
        sink: Arc<Mutex<Vec<Trajectory>>>,
    ) -> Self {
        let mut spans = BTreeMap::new();
        let ids = &corridor.intersections;
        for k in 0..ids.len().saturating_sub(1) {
            let (a, b) = (ids[k], ids[k + 1]);
            if let Some(r) = net.road_between(a, b) {
                let start_m = positions_m[k] + net.intersection(a).width_m;
                spans.insert(
                    r,
                    RoadSpan {
                        outbound: true,
                        start_m,
                    },
                );
            }
            if let Some(r) = net.road_between(b, a) {
                let start_m = positions_m[k + 1] - net.intersection(b).width_m;
                spans.insert(
                    r,
                    RoadSpan {
                        outbound: false,
                        start_m,
                    },
                );
            }
        }
        TrajectoryRecorder {
            spans,
            from_t_s,
            to_t_s,
            every_s: every_s.max(1e-9),
            tracks: BTreeMap::new(),
            sink,
        }
    }
}

impl Drop for TrajectoryRecorder {
    fn drop(&mut self) {
        let tracks = std::mem::take(&mut self.tracks);
        if let Ok(mut sink) = self.sink.lock() {
            sink.extend(tracks.into_values().filter(|t| t.points.len() >= 2));
        }
    }
}

impl Observer for TrajectoryRecorder {
    fn on_step(&mut self, view: &StepView<'_>) {
        let t = view.time_s();
        if t < self.from_t_s || t > self.to_t_s {
            return;
        }
        // sample on multiples of `every_s` of absolute time
        let phase = (t / self.every_s).round() * self.every_s;
        if (t - phase).abs() > 1e-6 {
            return;
        }
        let net = view.net();
        for v in view.vehicles() {
            let (road, d) = match v.place {
                // left-turn pockets are left out: their queues would hide the through traffic
                Place::Lane(l) if net.lane(l).turns == [roadnet::TurnKind::Left] => continue,
                Place::Lane(l) => (net.lane(l).road, v.distance_m),
                Place::Link { .. } => continue,
            };
            let Some(span) = self.spans.get(&road) else {
                continue;
            };
            let pos = if span.outbound {
                span.start_m + d
            } else {
                span.start_m - d
            };
            let track = self.tracks.entry(v.vehicle).or_insert_with(|| Trajectory {
                outbound: span.outbound,
                points: vec![],
            });
            if track.outbound == span.outbound {
                track.points.push((t, pos));
            }
        }
    }
}
