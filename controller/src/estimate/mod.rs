//! Live traffic state per lane and movement, fused from loop detectors and cameras.
//!
//! Each lane carries a [`kalman::QueueFlowFilter`] over `[queue, arrival flow]`:
//! - **departures** (a known input) come from the camera's stop-line crossings, else from a
//!   healthy stop-bar loop's counts, else from the saturation flow while the lane shows green;
//! - **queue** measurements come from the camera (halted vehicles in its zone);
//! - **arrival flow** measurements come from healthy advance loops, else from camera arrivals
//!   (vehicles entering the zone), else from the [`profile::HistoricalProfile`].
//!
//! Detectors are judged by [`faults`] on every reading; a flagged detector is excluded until it
//! recovers, and [`Estimator::detector_health`] reports it. Movement states split each lane's
//! figures evenly over the movements the lane feeds.

pub mod faults;
pub mod kalman;
pub mod profile;

use faults::{DetectorHealth, DetectorTrack, FaultParams};
use kalman::{KalmanNoise, QueueFlowFilter};
use profile::HistoricalProfile;
use roadnet::{
    DetectorId, DetectorKind, IntersectionId, LaneId, MovementId, RoadNet, StepInput,
    TrackedVehicle,
};

/// Tuning of the estimator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatorParams {
    pub noise: KalmanNoise,
    pub faults: FaultParams,
    /// Saturation flow assumed before any discharge is measured, veh/s per lane (1,800 veh/h).
    pub default_saturation_veh_s: f64,
    /// Variance of a camera's halted-vehicle count, veh².
    pub camera_queue_var: f64,
    /// Width of a historical-profile bin, seconds.
    pub profile_bin_s: f64,
    /// Standard deviation of a profile value as a measurement, veh/s.
    pub profile_sigma_veh_s: f64,
    /// Vehicles slower than this are halted, m/s.
    pub halt_speed_m_s: f64,
    /// A lane's camera with no frame for longer than this is silent, s: the lane is then
    /// estimated as if it had none (loops, the saturation-discharge model, the profile) until
    /// frames come back. A camera's counts are what the lane's departures and arrivals come
    /// from, so a silent one would otherwise leave its queues with arrivals and no departures.
    pub camera_silent_after_s: f64,
}

impl Default for EstimatorParams {
    fn default() -> Self {
        EstimatorParams {
            noise: KalmanNoise::default(),
            faults: FaultParams::default(),
            default_saturation_veh_s: 0.5,
            camera_queue_var: 1.0,
            profile_bin_s: 900.0,
            profile_sigma_veh_s: 0.1,
            halt_speed_m_s: 0.1,
            camera_silent_after_s: 5.0,
        }
    }
}

/// Where a lane's arrival-flow figure came from in the last update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FlowSource {
    #[default]
    None,
    Detector,
    Camera,
    Profile,
}

/// The estimate for one lane.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct LaneState {
    /// Standing queue, vehicles.
    pub queue_veh: f64,
    /// Arrival flow, veh/s.
    pub arrival_flow_veh_s: f64,
    /// Saturation (discharge) flow, veh/s.
    pub saturation_veh_s: f64,
    /// Mean speed of the vehicles seen on the lane, m/s (`None` when none seen).
    pub speed_m_s: Option<f64>,
    /// Vehicles a camera sees on the lane (0 without a camera).
    pub vehicles: u32,
    /// … of which halted (slower than 0.1 m/s).
    pub halting: u32,
    /// Whether any movement the lane feeds showed green at the last update.
    pub green: bool,
    pub flow_source: FlowSource,
    /// Whether a camera watches the lane and has sent a frame within
    /// [`EstimatorParams::camera_silent_after_s`].
    pub camera: bool,
}

/// The estimate for one movement.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct MovementState {
    pub queue_veh: f64,
    pub arrival_flow_veh_s: f64,
    /// Saturation flow of the lanes feeding the movement (their share of it), veh/s.
    pub saturation_veh_s: f64,
    /// Share of its approach road's arrivals that take this movement.
    pub turning_ratio: f64,
}

/// The whole live state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrafficState {
    pub time_s: f64,
    pub lanes: Vec<LaneState>,
    pub movements: Vec<MovementState>,
    /// Vehicles tracked by cameras, per lane, nearest the stop line first.
    pub tracks: Vec<Vec<TrackedVehicle>>,
}

impl TrafficState {
    pub fn lane(&self, l: LaneId) -> &LaneState {
        &self.lanes[l.index()]
    }
    pub fn movement(&self, m: MovementId) -> &MovementState {
        &self.movements[m.index()]
    }
}

/// Per-lane sensor wiring, precomputed.
#[derive(Clone, Debug, Default)]
struct LaneWiring {
    stop_bar: Vec<DetectorId>,
    advance: Vec<DetectorId>,
    /// (signalized intersection, position of the group in its list) of each movement fed.
    groups: Vec<(IntersectionId, usize)>,
    /// Whether the camera zone starts at the lane's upstream end (so zone entries are arrivals).
    camera_covers_entry: bool,
}

/// Fuses sensors into a [`TrafficState`].
#[derive(Clone, Debug)]
pub struct Estimator {
    params: EstimatorParams,
    filters: Vec<QueueFlowFilter>,
    tracks: Vec<DetectorTrack>,
    wiring: Vec<LaneWiring>,
    profile: HistoricalProfile,
    state: TrafficState,
    /// Camera vehicle count per lane at the previous frame (for arrivals).
    prev_vehicles: Vec<Option<u32>>,
    /// Departures per lane collected this step.
    departures: Vec<f64>,
    /// Vehicles seen by the camera per lane since the last reading of each detector.
    camera_seen_veh: Vec<f64>,
    has_camera: Vec<bool>,
    /// When a frame last covered the lane, s.
    camera_last_s: Vec<Option<f64>>,
    /// A camera watches the lane and is not silent (set each update).
    camera_live: Vec<bool>,
    /// signalized intersection index -> position in `StepInput::signals`
    signal_pos: Vec<Option<usize>>,
}

impl Estimator {
    pub fn new(net: &RoadNet, params: EstimatorParams) -> Self {
        let n = net.lanes.len();
        let mut wiring = vec![LaneWiring::default(); n];
        for d in &net.detectors {
            let w = &mut wiring[d.lane.index()];
            match d.kind {
                DetectorKind::StopBar => w.stop_bar.push(d.id),
                DetectorKind::Advance => w.advance.push(d.id),
            }
        }
        let mut has_camera = vec![false; n];
        for c in &net.cameras {
            for l in &c.lanes {
                has_camera[l.index()] = true;
                if c.zone_far_m + 1e-6 >= net.lane(*l).length_m {
                    wiring[l.index()].camera_covers_entry = true;
                }
            }
        }
        for lane in &net.lanes {
            let w = &mut wiring[lane.id.index()];
            for m in &lane.feeds {
                let mv = net.movement(*m);
                let inter = net.intersection(mv.intersection);
                if let Some(g) = mv.signal_group {
                    if let Some(pos) = inter.signal_groups.iter().position(|x| *x == g) {
                        w.groups.push((inter.id, pos));
                    }
                }
            }
        }
        let lanes = vec![
            LaneState {
                saturation_veh_s: params.default_saturation_veh_s,
                ..LaneState::default()
            };
            n
        ];
        Estimator {
            filters: vec![QueueFlowFilter::new(params.noise); n],
            tracks: vec![DetectorTrack::default(); net.detectors.len()],
            wiring,
            profile: HistoricalProfile::new(n, params.profile_bin_s),
            state: TrafficState {
                time_s: 0.0,
                lanes,
                movements: vec![MovementState::default(); net.movements.len()],
                tracks: vec![Vec::new(); n],
            },
            prev_vehicles: vec![None; n],
            departures: vec![0.0; n],
            camera_seen_veh: vec![0.0; n],
            has_camera,
            camera_last_s: vec![None; n],
            camera_live: vec![false; n],
            signal_pos: vec![None; net.intersections.len()],
            params,
        }
    }

    pub fn state(&self) -> &TrafficState {
        &self.state
    }
    pub fn params(&self) -> &EstimatorParams {
        &self.params
    }
    pub fn profile_mut(&mut self) -> &mut HistoricalProfile {
        &mut self.profile
    }

    pub fn detector_health(&self, d: DetectorId) -> DetectorHealth {
        self.tracks[d.index()].health
    }
    /// Every detector currently flagged, in id order.
    pub fn faulty_detectors(&self) -> Vec<(DetectorId, DetectorHealth)> {
        self.tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.health != DetectorHealth::Ok)
            .map(|(k, t)| (DetectorId::from_index(k), t.health))
            .collect()
    }

    fn healthy(&self, d: DetectorId) -> bool {
        self.tracks[d.index()].health == DetectorHealth::Ok
    }

    /// Fuse one step of observations.
    pub fn update(&mut self, net: &RoadNet, input: &StepInput<'_>) {
        let dt = input.dt_s.max(1e-3);
        let p = self.params;
        self.state.time_s = input.time_s;
        self.signal_pos.iter_mut().for_each(|s| *s = None);
        for (k, s) in input.signals.iter().enumerate() {
            if let Some(slot) = self.signal_pos.get_mut(s.intersection.index()) {
                *slot = Some(k);
            }
        }
        // 1. green state per lane
        for (l, w) in self.wiring.iter().enumerate() {
            self.state.lanes[l].green = w.groups.iter().any(|(i, g)| {
                self.signal_pos[i.index()]
                    .and_then(|k| input.signals[k].indications.get(*g))
                    .is_some_and(|ind| ind.is_green())
            });
        }
        // 2. camera views
        self.departures.iter_mut().for_each(|d| *d = 0.0);
        for t in self.state.tracks.iter_mut() {
            t.clear();
        }
        let mut camera_queue: Vec<(usize, f64)> = Vec::new();
        let mut camera_arrivals: Vec<(usize, f64)> = Vec::new();
        for frame in input.cameras {
            for v in &frame.lanes {
                let l = v.lane.index();
                if l >= self.departures.len() {
                    continue;
                }
                self.camera_last_s[l] = Some(input.time_s);
                self.departures[l] += v.departed as f64;
                self.camera_seen_veh[l] += v.departed as f64;
                camera_queue.push((l, v.halting as f64));
                if self.wiring[l].camera_covers_entry {
                    if let Some(prev) = self.prev_vehicles[l] {
                        let arrived =
                            (v.vehicles as f64 - prev as f64 + v.departed as f64).max(0.0);
                        camera_arrivals.push((l, arrived));
                    }
                }
                self.prev_vehicles[l] = Some(v.vehicles);
                self.state.lanes[l].vehicles = v.vehicles;
                self.state.lanes[l].halting = v.halting;
            }
            for tv in &frame.vehicles {
                if let Some(t) = self.state.tracks.get_mut(tv.lane.index()) {
                    t.push(*tv);
                }
            }
        }
        for t in self.state.tracks.iter_mut() {
            t.sort_by(|a, b| a.distance_to_stop_m.total_cmp(&b.distance_to_stop_m));
        }
        // a silent camera's lane is a lane without one: its last counts are stale, and the
        // first frame after the silence starts the arrival count afresh
        for l in 0..self.camera_live.len() {
            let live = self.has_camera[l]
                && self.camera_last_s[l]
                    .is_some_and(|t| input.time_s - t <= p.camera_silent_after_s + 1e-9);
            if self.has_camera[l] && !live {
                self.prev_vehicles[l] = None;
                self.state.lanes[l].vehicles = 0;
                self.state.lanes[l].halting = 0;
            }
            self.camera_live[l] = live;
        }
        // 3. detector readings: fault rules, then departures / arrivals from the healthy ones
        let mut detector_flow: Vec<(usize, f64, f64)> = Vec::new();
        let mut stop_bar_departures: Vec<(usize, f64)> = Vec::new();
        for r in input.detectors {
            let di = r.detector.index();
            if di >= net.detectors.len() {
                continue;
            }
            let det = &net.detectors[di];
            let l = det.lane.index();
            let evidence = self.evidence_for(net, det.lane, det.kind, r.detector, input);
            self.tracks[di].observe(r, evidence, &p.faults);
            if !self.healthy(r.detector) || r.interval_s <= 0.0 {
                continue;
            }
            match det.kind {
                DetectorKind::StopBar => stop_bar_departures.push((l, r.count as f64)),
                DetectorKind::Advance => {
                    let c = r.count as f64;
                    detector_flow.push((l, c / r.interval_s, c.max(1.0) / r.interval_s.powi(2)));
                }
            }
        }
        // the camera's tally restarts once the lane's detectors have closed an interval
        for r in input.detectors {
            if let Some(d) = net.detectors.get(r.detector.index()) {
                self.camera_seen_veh[d.lane.index()] = 0.0;
            }
        }
        for (l, c) in stop_bar_departures {
            if !self.camera_live[l] {
                self.departures[l] += c;
            }
        }
        // 4. filter each lane
        for l in 0..self.filters.len() {
            let ls = self.state.lanes[l];
            let f = &mut self.filters[l];
            // Departures come from the camera where there is one. A stop-bar loop's count
            // arrives once per detector interval, as a lump that lags the green it happened in,
            // and with no queue measurement to anchor it the integrated queue drifts (phantom
            // queues of 100+ vehicles on empty side streets of the bundled corridor, where an
            // advance loop upstream of a turn pocket counts vehicles its lane's stop bar never
            // sees). So where the signal state is known, loop-only lanes use the
            // saturation-discharge model — the queue empties at the saturation flow while the
            // lane is green — which cannot drift; stop-bar counts are used only when the lane's
            // signals are not reported. Stop-bar loops always feed the fault rules.
            let signals_known = !self.wiring[l].groups.is_empty()
                && self.wiring[l]
                    .groups
                    .iter()
                    .all(|(i, _)| self.signal_pos[i.index()].is_some());
            let stop_bar_ok = self.wiring[l]
                .stop_bar
                .iter()
                .any(|d| self.tracks[d.index()].health == DetectorHealth::Ok);
            let dep = if self.camera_live[l] || (!signals_known && stop_bar_ok) {
                self.departures[l]
            } else if ls.green {
                (ls.saturation_veh_s * dt).min(f.queue_veh() + f.arrival_flow_veh_s() * dt)
            } else {
                0.0
            };
            f.predict(dt, dep);
            // saturation flow learned from saturated discharge (a queue still standing)
            if ls.green && self.camera_live[l] && f.queue_veh() >= 3.0 {
                let rate = (self.departures[l] / dt).clamp(0.0, 1.0);
                let s = &mut self.state.lanes[l].saturation_veh_s;
                *s = (*s + 0.002 * (rate - *s)).clamp(0.25, 0.75);
            }
        }
        for (l, q) in camera_queue {
            self.filters[l].observe_queue(q, p.camera_queue_var);
        }
        let mut flow_seen = vec![FlowSource::None; self.filters.len()];
        for (l, z, var) in detector_flow {
            self.filters[l].observe_flow(z, var);
            flow_seen[l] = FlowSource::Detector;
        }
        for (l, arrived) in camera_arrivals {
            let healthy_advance = self.wiring[l]
                .advance
                .iter()
                .any(|d| self.tracks[d.index()].health == DetectorHealth::Ok);
            if !healthy_advance {
                // one step of Poisson arrivals: variance ≈ mean, floor at 0.5 veh
                self.filters[l].observe_flow(arrived / dt, arrived.max(0.5) / (dt * dt));
                flow_seen[l] = FlowSource::Camera;
            }
        }
        #[allow(
            clippy::needless_range_loop,
            reason = "lane-indexed parallel tables (filters, wiring, sensors, state): an index loop is clearest"
        )]
        for l in 0..self.filters.len() {
            let w = &self.wiring[l];
            let any_source = self.camera_live[l]
                || w.advance
                    .iter()
                    .chain(&w.stop_bar)
                    .any(|d| self.tracks[d.index()].health == DetectorHealth::Ok);
            let mut source = flow_seen[l];
            if any_source {
                if source != FlowSource::None {
                    self.profile
                        .learn(l, input.time_s, self.filters[l].arrival_flow_veh_s());
                }
            } else if let Some(v) = self.profile.flow_veh_s(l, input.time_s) {
                // no live sensor left: lean on the profile, weakly, every step
                let var = p.profile_sigma_veh_s.powi(2) / dt;
                self.filters[l].observe_flow(v, var);
                source = FlowSource::Profile;
            }
            let ls = &mut self.state.lanes[l];
            ls.queue_veh = self.filters[l].queue_veh();
            ls.arrival_flow_veh_s = self.filters[l].arrival_flow_veh_s();
            ls.camera = self.camera_live[l];
            if source != FlowSource::None {
                ls.flow_source = source;
            }
            let t = &self.state.tracks[l];
            ls.speed_m_s = if t.is_empty() {
                None
            } else {
                Some(t.iter().map(|v| v.speed_m_s).sum::<f64>() / t.len() as f64)
            };
        }
        for r in input.detectors {
            if let Some(det) = net.detectors.get(r.detector.index()) {
                if let (Some(v), true) = (r.mean_speed_m_s, self.healthy(r.detector)) {
                    let ls = &mut self.state.lanes[det.lane.index()];
                    if ls.speed_m_s.is_none() {
                        ls.speed_m_s = Some(v);
                    }
                }
            }
        }
        self.update_movements(net);
    }

    /// What other sensors saw on this lane during a detector's interval: the camera on the
    /// lane, else the mean count of healthy same-kind loops on the other lanes of the road.
    fn evidence_for(
        &self,
        net: &RoadNet,
        lane: LaneId,
        kind: DetectorKind,
        me: DetectorId,
        input: &StepInput<'_>,
    ) -> Option<f64> {
        let l = lane.index();
        if self.camera_live[l] {
            return Some(self.camera_seen_veh[l]);
        }
        let road = net.road(net.lane(lane).road);
        let mut sum = 0.0;
        let mut n = 0usize;
        for r in input.detectors {
            if r.detector == me {
                continue;
            }
            let Some(d) = net.detectors.get(r.detector.index()) else {
                continue;
            };
            if d.kind == kind
                && d.lane != lane
                && road.lanes.contains(&d.lane)
                && self.tracks[d.id.index()].health == DetectorHealth::Ok
            {
                sum += r.count as f64;
                n += 1;
            }
        }
        (n > 0).then(|| sum / n as f64)
    }

    fn update_movements(&mut self, net: &RoadNet) {
        for m in self.state.movements.iter_mut() {
            *m = MovementState::default();
        }
        for lane in &net.lanes {
            let ls = self.state.lanes[lane.id.index()];
            let k = lane.feeds.len().max(1) as f64;
            for m in &lane.feeds {
                let ms = &mut self.state.movements[m.index()];
                ms.queue_veh += ls.queue_veh / k;
                ms.arrival_flow_veh_s += ls.arrival_flow_veh_s / k;
                ms.saturation_veh_s += ls.saturation_veh_s / k;
            }
        }
        for road in &net.roads {
            let total: f64 = road
                .lanes
                .iter()
                .map(|l| self.state.lanes[l.index()].arrival_flow_veh_s)
                .sum();
            let at = net.intersection(road.to);
            for m in &at.movements {
                if net.movement(*m).from_road == road.id {
                    let ms = &mut self.state.movements[m.index()];
                    ms.turning_ratio = if total > 1e-9 {
                        ms.arrival_flow_veh_s / total
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

impl TrafficState {
    /// A steady state from movement flows alone (counts, a profile, a design volume): no
    /// queues, every lane at `saturation_per_lane_veh_s`, shared among the movements it
    /// feeds; lane flows summed from the movements they feed. The one steady state offline
    /// planning works from (`greenwave corridor`, [`crate::planned::webster_plans`]).
    pub fn from_movement_flows(
        net: &RoadNet,
        flows_veh_s: &[f64],
        saturation_per_lane_veh_s: f64,
    ) -> Self {
        let saturation_veh_s = saturation_per_lane_veh_s;
        let mut lanes = vec![
            LaneState {
                saturation_veh_s,
                ..LaneState::default()
            };
            net.lanes.len()
        ];
        let mut movements = vec![MovementState::default(); net.movements.len()];
        for m in &net.movements {
            let f = flows_veh_s
                .get(m.id.index())
                .copied()
                .unwrap_or(0.0)
                .max(0.0);
            let feeding = net.lanes_feeding(m.id);
            let ms = &mut movements[m.id.index()];
            ms.arrival_flow_veh_s = f;
            for l in &feeding {
                lanes[l.index()].arrival_flow_veh_s += f / feeding.len() as f64;
                ms.saturation_veh_s += saturation_veh_s / net.lane(*l).feeds.len().max(1) as f64;
            }
        }
        for road in &net.roads {
            let total: f64 = road
                .lanes
                .iter()
                .map(|l| lanes[l.index()].arrival_flow_veh_s)
                .sum();
            for m in &net.intersection(road.to).movements {
                if net.movement(*m).from_road == road.id && total > 0.0 {
                    movements[m.index()].turning_ratio =
                        movements[m.index()].arrival_flow_veh_s / total;
                }
            }
        }
        TrafficState {
            time_s: 0.0,
            lanes,
            movements,
            tracks: vec![Vec::new(); net.lanes.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roadnet::TurnKind;

    /// The one steady-state rule on hand-checked figures. Approach `a_eb` of the fixture has a
    /// left lane (feeds L) and a shared through-right lane (feeds T and R); `a_nb` one lane
    /// for all three turns. With 0.5 veh/s per lane: L gets its lane's 0.5, T and R half of
    /// theirs, 0.25 each; each turn of `a_nb` a third, 0.5/3. Flows L 0.1, T 0.3, R 0.1: the
    /// through-right lane carries 0.4, the left lane 0.1; turning ratios 0.2 / 0.6 / 0.2.
    #[test]
    fn steady_state_from_movement_flows() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/small.toml");
        let net = roadnet::load_network(&path).expect("fixture loads");
        let movement = |road: &str, turn: TurnKind| {
            let r = net.road_by_name(road).unwrap();
            net.movements
                .iter()
                .find(|m| m.from_road == r && m.turn == turn)
                .unwrap()
                .id
        };
        let (l, t, r) = (
            movement("a_eb", TurnKind::Left),
            movement("a_eb", TurnKind::Through),
            movement("a_eb", TurnKind::Right),
        );
        let mut flows = vec![0.0; net.movements.len()];
        flows[l.index()] = 0.1;
        flows[t.index()] = 0.3;
        flows[r.index()] = 0.1;
        let s = TrafficState::from_movement_flows(&net, &flows, 0.5);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        for (m, flow, sat, ratio) in [(l, 0.1, 0.5, 0.2), (t, 0.3, 0.25, 0.6), (r, 0.1, 0.25, 0.2)]
        {
            let ms = s.movement(m);
            assert!(close(ms.arrival_flow_veh_s, flow), "{ms:?}");
            assert!(close(ms.saturation_veh_s, sat), "{ms:?}");
            assert!(close(ms.turning_ratio, ratio), "{ms:?}");
            assert_eq!(ms.queue_veh, 0.0);
        }
        let eb = net.road(net.road_by_name("a_eb").unwrap());
        assert!(close(s.lane(eb.lanes[0]).arrival_flow_veh_s, 0.1));
        assert!(close(s.lane(eb.lanes[1]).arrival_flow_veh_s, 0.4));
        assert!(close(s.lane(eb.lanes[1]).saturation_veh_s, 0.5));
        let nb_left = movement("a_nb", TurnKind::Left);
        assert!(close(s.movement(nb_left).saturation_veh_s, 0.5 / 3.0));
        assert_eq!(s.movement(nb_left).arrival_flow_veh_s, 0.0);
    }
}
