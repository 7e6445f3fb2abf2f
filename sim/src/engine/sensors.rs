//! What the road-side equipment sees after each step: loop detectors (counts, occupancy, speed
//! per aggregation interval) and cameras (per-lane queue and counts, optionally each vehicle).

use super::Simulation;
use crate::config::HALTING_SPEED_M_S;
use roadnet::{DetectorReading, LaneId, LaneView, TrackedVehicle};

impl Simulation {
    pub(super) fn sense_detectors(&mut self) {
        if self.detectors.is_empty() {
            return;
        }
        let dt = self.cfg.dt_s;
        self.readings.clear();
        for det in &mut self.detectors {
            let lane = det.lane as usize;
            let mut occupied = false;
            for &v in &self.lists[lane] {
                let vi = v as usize;
                let front = self.dis[vi];
                let rear = front - self.len_m[vi];
                if front >= det.from_m && rear <= det.to_m {
                    occupied = true;
                }
                // The front crossed the loop's upstream edge during this step.
                let before = front - self.b_delta[vi];
                if front >= det.from_m && before < det.from_m {
                    det.count += 1;
                    det.speed_sum += self.speed[vi];
                }
            }
            if occupied {
                det.occupied_s += dt;
            }
        }
        let now = self.time_s();
        if now - self.det_interval_start_s + 1e-9 >= self.cfg.detector_interval_s {
            let interval = now - self.det_interval_start_s;
            for (k, det) in self.detectors.iter_mut().enumerate() {
                self.readings.push(DetectorReading {
                    detector: roadnet::DetectorId::from_index(k),
                    time_s: now,
                    interval_s: interval,
                    count: det.count,
                    occupancy: (det.occupied_s / interval).min(1.0),
                    mean_speed_m_s: (det.count > 0).then(|| det.speed_sum / det.count as f64),
                });
                det.count = 0;
                det.speed_sum = 0.0;
                det.occupied_s = 0.0;
            }
            self.det_interval_start_s = now;
        }
    }

    pub(super) fn sense_cameras(&mut self) {
        let now = self.time_s();
        let track = self.cfg.track_vehicles;
        for (cam, frame) in self.cameras.iter().zip(self.frames.iter_mut()) {
            frame.time_s = now;
            frame.lanes.clear();
            frame.vehicles.clear();
            for &lane in &cam.lanes {
                let li = lane as usize;
                let len = self.topo.length_m[li];
                let mut view = LaneView {
                    lane: LaneId(lane),
                    departed: self.lane_departed[li],
                    ..LaneView::default()
                };
                let mut in_queue = true;
                for &v in &self.lists[li] {
                    let vi = v as usize;
                    let to_stop = len - self.dis[vi];
                    let sp = self.speed[vi];
                    let halting = sp < HALTING_SPEED_M_S;
                    if in_queue {
                        if halting {
                            view.queue_length_m = (to_stop + self.len_m[vi]).min(len);
                        } else {
                            in_queue = false;
                        }
                    }
                    if to_stop < cam.near_m || to_stop > cam.far_m {
                        continue;
                    }
                    view.vehicles += 1;
                    if halting {
                        view.halting += 1;
                    }
                    if track {
                        frame.vehicles.push(TrackedVehicle {
                            lane: LaneId(lane),
                            distance_to_stop_m: to_stop,
                            speed_m_s: sp,
                        });
                    }
                }
                frame.lanes.push(view);
            }
        }
        for d in self.lane_departed.iter_mut() {
            *d = 0;
        }
    }
}
