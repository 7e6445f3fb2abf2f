//! The loop that lets any greenwave [`Controller`] drive a SUMO process.
//!
//! Each step at SUMO time t: the subscription results of the previous `simulationStep` become
//! a [`StepInput`] (detector readings per closed interval, one camera frame per lane-area
//! detector, the signal states); the controller commands; greenwave's own signal engine
//! ([`sim::Signals`], the simulator's) validates plans, keeps min greens and runs yellow and
//! all-red, and its conflict monitor checks the lamps; the lamps become each light's state
//! string, which is decoded back and checked by a second, independent [`ConflictMonitor`]
//! before it is sent; then SUMO advances one step.

use crate::client::{self, Connection, SumoProcess};
use crate::codec::{SubscriptionResult, Value};
use crate::tripinfo::{self, TripSummary};
use crate::Error;
use roadnet::sumo::SumoImport;
use roadnet::{
    CameraFrame, Command, Controller, DetectorReading, Indication, LaneView, RoadNet, StepInput,
};
use sim::{ConflictMonitor, Signals};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

const VAR_ID_LIST: u8 = 0x12;
const VAR_VEHICLE_NUMBER: u8 = 0x10;
const VAR_MEAN_SPEED: u8 = 0x11;
const VAR_OCCUPANCY: u8 = 0x13;
const VAR_HALTING: u8 = 0x14;
const VAR_JAM_LENGTH_M: u8 = 0x19;
const VAR_TIME: u8 = 0x66;
const VAR_DEPARTED: u8 = 0x73;
const VAR_TELEPORT_STARTING: u8 = 0x75;
const VAR_ARRIVED: u8 = 0x79;
const VAR_MIN_EXPECTED: u8 = 0x7d;

/// What to run.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// The `sumo` binary.
    pub sumo: PathBuf,
    /// SUMO's inputs: `-c x.sumocfg`, or `-n net -r routes [--additional-files add]`.
    pub inputs: Vec<String>,
    pub seed: u64,
    /// Simulated time to run, s (the run also ends when SUMO has no vehicle left to run).
    pub duration_s: f64,
    /// SUMO's step length = greenwave's step, s.
    pub dt_s: f64,
    /// Detector readings are aggregated over this interval, s (the simulator's default: 60).
    pub detector_interval_s: f64,
    /// Folder for SUMO's log and tripinfo output.
    pub work_dir: PathBuf,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveOutcome {
    pub controller: String,
    pub sumo_version: String,
    pub steps: u64,
    pub end_time_s: f64,
    pub departed: u64,
    pub arrived: u64,
    pub teleports: u64,
    /// Breaches seen by greenwave's conflict monitor (a run stops at the first one).
    pub safety_violations: u64,
    /// Breaches seen by the second monitor on the state strings actually sent.
    pub sent_state_violations: u64,
    /// `setRedYellowGreenState` commands sent (only when a light's string changes).
    pub states_sent: u64,
    /// Mean over steps of the halting vehicles on all entering lanes of signalized junctions.
    pub mean_halting_vehicles: f64,
    pub trips: TripSummary,
}

/// The SUMO side of one signalized intersection.
#[derive(Debug)]
struct Light {
    tl_id: String,
    /// Length of the light's state string (its link indices).
    links: usize,
    /// Per signal group (in the intersection's order): its link indices.
    group_links: Vec<Vec<usize>>,
    /// Per signal group: the positions of the groups with a movement conflicting with one of
    /// its own (greenwave's conflict list of the intersection).
    foes: Vec<Vec<usize>>,
    last_sent: String,
}

/// Link indices from a group name `links1+2+9` as the SUMO importer names groups.
fn group_links(name: &str) -> Option<Vec<usize>> {
    name.strip_prefix("links")?
        .split('+')
        .map(|s| s.parse().ok())
        .collect()
}

/// The state string for one light: each group's lamp letter on its link indices; links of no
/// group (pedestrian crossings, bicycle links greenwave does not model) stay red.
///
/// A permissive group (one SUMO's programme ever shows `g`) is sent as `G` while every group it
/// conflicts with shows red: it then has no one to yield to (a left turn in its protected
/// phase), and SUMO's `g` would make each vehicle slow down to look for foes, which SUMO's own
/// programmes, showing `G` in that phase, do not. While any conflicting group is green or yellow
/// it stays `g`, so a `G` never meets a moving foe.
fn state_string(light: &Light, lamps: &[Indication]) -> String {
    let mut s = vec!['r'; light.links];
    for (k, (links, lamp)) in light.group_links.iter().zip(lamps).enumerate() {
        let unopposed = *lamp == Indication::PermissiveGreen
            && light.foes[k].iter().all(|&f| lamps[f] == Indication::Red);
        let letter = if unopposed { 'G' } else { lamp.letter() };
        for &l in links {
            s[l] = letter;
        }
    }
    s.into_iter().collect()
}

/// Decode a state string back to one lamp per group; `None` when a group's links disagree.
fn decode_state(light: &Light, state: &str) -> Option<Vec<Indication>> {
    let letters: Vec<char> = state.chars().collect();
    light
        .group_links
        .iter()
        .map(|links| {
            let mut lamp = None;
            for &l in links {
                let this = match letters.get(l)? {
                    'G' => Indication::Green,
                    'g' => Indication::PermissiveGreen,
                    'y' => Indication::Yellow,
                    'r' => Indication::Red,
                    _ => return None,
                };
                if lamp.is_some_and(|x| x != this) {
                    return None;
                }
                lamp = Some(this);
            }
            lamp
        })
        .collect()
}

#[derive(Debug, Default)]
struct LoopAcc {
    prev_ids: HashSet<String>,
    count: u32,
    speed_sum_m_s: f64,
    occupied_s: f64,
}

fn num(r: &SubscriptionResult, var: u8) -> Result<f64, Error> {
    match r.values.iter().find(|(v, _)| *v == var) {
        Some((_, Ok(v))) => v.as_f64().ok_or_else(|| {
            Error::Setup(format!(
                "variable 0x{var:02x} of '{}' is not a number: {v:?}",
                r.object
            ))
        }),
        Some((_, Err(e))) => Err(Error::Refused {
            command: r.response,
            message: format!("variable 0x{var:02x} of '{}': {e}", r.object),
        }),
        None => Err(Error::Setup(format!(
            "subscription result for '{}' lacks variable 0x{var:02x}",
            r.object
        ))),
    }
}

/// The vehicle ids of a subscription result's id list.
fn id_set(r: &SubscriptionResult) -> Result<HashSet<String>, Error> {
    match r.values.iter().find(|v| v.0 == VAR_ID_LIST) {
        Some((_, Ok(Value::StringList(l)))) => Ok(l.iter().cloned().collect()),
        Some((_, Err(e))) => Err(Error::Refused {
            command: r.response,
            message: format!("vehicle ids of '{}': {e}", r.object),
        }),
        _ => Err(Error::Setup(format!("'{}': no vehicle id list", r.object))),
    }
}

/// Run `controller` against SUMO on the network `import` (imported from the same `.net.xml`
/// and `.add.xml` SUMO loads). SUMO is closed cleanly at the end and killed on any error.
pub fn drive(
    opts: &DriveOptions,
    import: &SumoImport,
    controller: &mut dyn Controller,
) -> Result<DriveOutcome, Error> {
    if !(opts.dt_s > 0.0 && opts.duration_s >= opts.dt_s) {
        return Err(Error::Setup(format!(
            "need 0 < step ({} s) ≤ duration ({} s)",
            opts.dt_s, opts.duration_s
        )));
    }
    let net = &import.net;
    std::fs::create_dir_all(&opts.work_dir)
        .map_err(|e| Error::Setup(format!("{}: {e}", opts.work_dir.display())))?;
    let tripinfo_path = opts.work_dir.join("tripinfo.xml");
    let log = opts.work_dir.join("sumo.log");
    let mut args = opts.inputs.clone();
    args.extend([
        "--seed".to_string(),
        opts.seed.to_string(),
        "--step-length".into(),
        opts.dt_s.to_string(),
        "--no-step-log".into(),
        "true".into(),
        "--tripinfo-output".into(),
        tripinfo_path.display().to_string(),
        // SUMO's own collision detection stays on; a collision is logged, not fatal
        "--collision.action".into(),
        "warn".into(),
    ]);
    let port = client::free_port()?;
    let mut sumo = SumoProcess::spawn(&opts.sumo, &args, port, &log)?;
    let mut conn = Connection::connect(port, &mut sumo)?;
    let result = run_loop(opts, net, import, controller, &mut conn, &mut sumo);
    let mut outcome = match result {
        Ok(o) => o,
        // `sumo` is dropped here: killed and reaped
        Err(e) => return Err(explain(e, &mut sumo)),
    };
    conn.close()?;
    sumo.wait()?;
    let text = std::fs::read_to_string(&tripinfo_path)
        .map_err(|e| Error::Tripinfo(format!("{}: {e}", tripinfo_path.display())))?;
    outcome.trips = tripinfo::summarise(&text)?;
    Ok(outcome)
}

/// A broken connection usually means SUMO stopped (a bad input it read after accepting the
/// connection, a crash): give it a moment to exit, and then its log's last lines explain the
/// error better than "connection reset". Other errors stand as they are; `sumo` is killed when
/// the caller drops it.
fn explain(e: Error, sumo: &mut SumoProcess) -> Error {
    if !matches!(e, Error::Io(_)) {
        return e;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        if let Some(died) = sumo.exited() {
            return died;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    e
}

fn run_loop(
    opts: &DriveOptions,
    net: &RoadNet,
    import: &SumoImport,
    controller: &mut dyn Controller,
    conn: &mut Connection,
    sumo: &mut SumoProcess,
) -> Result<DriveOutcome, Error> {
    let (api, version) = conn.version()?;
    if api < 20 {
        return Err(Error::Setup(format!(
            "SUMO speaks TraCI API {api} ({version}); greenwave needs 20 or later (SUMO ≥ 1.0)"
        )));
    }
    // ---- lights: the importer names each signal group after its link indices
    let tl_of: BTreeMap<_, _> = import
        .programs
        .iter()
        .map(|p| (p.intersection, p.tl_id.clone()))
        .collect();
    let mut lights = Vec::new();
    for i in net.signalized() {
        let tl_id = tl_of.get(&i.id).cloned().ok_or_else(|| {
            Error::Setup(format!(
                "signalized intersection '{}' has no SUMO traffic light",
                i.name
            ))
        })?;
        let current = conn.tl_state(&tl_id)?;
        let mut groups = Vec::new();
        for g in &i.signal_groups {
            let name = &net.signal_group(*g).name;
            let links = group_links(name)
                .filter(|l| l.iter().all(|&x| x < current.len()))
                .ok_or_else(|| {
                    Error::Setup(format!(
                        "signal group '{name}' of '{}' names no link indices of light '{tl_id}' ({} links): was the network imported from the same .net.xml?",
                        i.name,
                        current.len()
                    ))
                })?;
            groups.push(links);
        }
        let pos = |m: roadnet::MovementId| {
            let g = net.movement(m).signal_group?;
            i.signal_groups.iter().position(|x| *x == g)
        };
        let mut foes = vec![Vec::new(); i.signal_groups.len()];
        for c in &i.conflicts {
            if let (Some(a), Some(b)) = (pos(c.a), pos(c.b)) {
                foes[a].push(b);
                foes[b].push(a);
            }
        }
        for f in &mut foes {
            f.sort_unstable();
            f.dedup();
        }
        lights.push(Light {
            tl_id,
            links: current.len(),
            group_links: groups,
            foes,
            last_sent: current,
        });
    }
    // ---- subscriptions
    let sim_vars = [
        VAR_TIME,
        VAR_DEPARTED,
        VAR_ARRIVED,
        VAR_TELEPORT_STARTING,
        VAR_MIN_EXPECTED,
    ];
    conn.subscribe(client::CMD_SUBSCRIBE_SIM_VARIABLE, "", &sim_vars)?;
    for d in &net.detectors {
        conn.subscribe(
            client::CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE,
            &d.name,
            &[VAR_ID_LIST, VAR_MEAN_SPEED, VAR_OCCUPANCY],
        )?;
    }
    for c in &net.cameras {
        if c.lanes.len() != 1 {
            return Err(Error::Setup(format!(
                "camera '{}' watches {} lanes; a SUMO lane-area detector watches one",
                c.name,
                c.lanes.len()
            )));
        }
        conn.subscribe(
            client::CMD_SUBSCRIBE_LANEAREA_VARIABLE,
            &c.name,
            &[VAR_ID_LIST, VAR_HALTING, VAR_JAM_LENGTH_M],
        )?;
    }
    // entering lanes of signalized junctions; SUMO numbers lanes from the kerb (0), greenwave
    // from the centre line, so index k of n is SUMO's `edge_{n-1-k}`
    let mut lane_ids = Vec::new();
    for i in net.signalized() {
        for r in &i.incoming {
            let road = net.road(*r);
            let n = road.lanes.len();
            for l in &road.lanes {
                let k = net.lane(*l).index as usize;
                lane_ids.push(format!("{}_{}", road.name, n.saturating_sub(k + 1)));
            }
        }
    }
    for l in &lane_ids {
        conn.subscribe(
            client::CMD_SUBSCRIBE_LANE_VARIABLE,
            l,
            &[VAR_VEHICLE_NUMBER, VAR_HALTING],
        )?;
    }
    let det_pos: BTreeMap<&str, usize> = net
        .detectors
        .iter()
        .enumerate()
        .map(|(k, d)| (d.name.as_str(), k))
        .collect();
    let cam_pos: BTreeMap<&str, usize> = net
        .cameras
        .iter()
        .enumerate()
        .map(|(k, c)| (c.name.as_str(), k))
        .collect();

    let mut signals = Signals::new(net, false);
    let mut sent_monitor = ConflictMonitor::new(net);
    let mut loops: Vec<LoopAcc> = net.detectors.iter().map(|_| LoopAcc::default()).collect();
    // per camera: the vehicles in its zone at the previous step
    let mut zone_ids: Vec<HashSet<String>> = net.cameras.iter().map(|_| HashSet::new()).collect();
    let mut readings: Vec<DetectorReading> = Vec::new();
    let mut frames: Vec<CameraFrame> = net
        .cameras
        .iter()
        .map(|c| CameraFrame {
            camera: c.id,
            time_s: 0.0,
            lanes: vec![LaneView {
                lane: c.lanes[0],
                ..LaneView::default()
            }],
            vehicles: Vec::new(),
        })
        .collect();
    let mut commands: Vec<Command> = Vec::new();
    let mut t = 0.0_f64;
    let mut det_interval_start_s = 0.0_f64;
    let mut out = DriveOutcome {
        controller: controller.name().to_string(),
        sumo_version: version,
        steps: 0,
        end_time_s: 0.0,
        departed: 0,
        arrived: 0,
        teleports: 0,
        safety_violations: 0,
        sent_state_violations: 0,
        states_sent: 0,
        mean_halting_vehicles: 0.0,
        trips: TripSummary::default(),
    };
    let mut halting_sum = 0.0;
    let dt = opts.dt_s;
    // bounded by steps as well as by SUMO's clock, so a SUMO whose time does not advance
    // cannot keep the loop going
    let max_steps = (opts.duration_s / dt - 1e-9).ceil() as u64;
    while t + 1e-9 < opts.duration_s && out.steps < max_steps {
        {
            let input = StepInput {
                time_s: t,
                dt_s: dt,
                detectors: &readings,
                cameras: &frames,
                signals: &signals.states,
            };
            controller.step(&input, &mut commands);
        }
        signals
            .apply(net, controller.name(), &mut commands)
            .map_err(|e| Error::Command(e.to_string()))?;
        if let Err(v) = signals.begin_step(net, t) {
            out.safety_violations = signals.monitor.violations;
            return Err(Error::Safety(v));
        }
        let mut changed: Vec<(usize, String)> = Vec::new();
        for (k, (light, st)) in lights.iter().zip(&signals.states).enumerate() {
            let s = state_string(light, &st.indications);
            let lamps = decode_state(light, &s).ok_or_else(|| {
                Error::Setup(format!("state '{s}' for '{}' does not decode", light.tl_id))
            })?;
            if let Err(v) = sent_monitor.observe(net, k, t, &lamps, None) {
                out.sent_state_violations = sent_monitor.violations;
                return Err(Error::Safety(v));
            }
            if s != light.last_sent {
                changed.push((k, s));
            }
        }
        let batch: Vec<(&str, &str)> = changed
            .iter()
            .map(|(k, s)| (lights[*k].tl_id.as_str(), s.as_str()))
            .collect();
        conn.set_tl_states(&batch)?;
        out.states_sent += batch.len() as u64;
        for (k, s) in changed {
            lights[k].last_sent = s;
        }
        let results = conn.step()?;
        signals.end_step(dt);
        out.steps += 1;
        // ---- read the new state
        let mut min_expected = 1.0;
        let mut halting = 0.0;
        for r in &results {
            match r.response {
                x if x == client::CMD_SUBSCRIBE_SIM_VARIABLE + client::RESPONSE_OFFSET => {
                    t = num(r, VAR_TIME)?;
                    out.departed += num(r, VAR_DEPARTED)? as u64;
                    out.arrived += num(r, VAR_ARRIVED)? as u64;
                    out.teleports += num(r, VAR_TELEPORT_STARTING)? as u64;
                    min_expected = num(r, VAR_MIN_EXPECTED)?;
                }
                x if x
                    == client::CMD_SUBSCRIBE_INDUCTIONLOOP_VARIABLE + client::RESPONSE_OFFSET =>
                {
                    let Some(&k) = det_pos.get(r.object.as_str()) else {
                        continue;
                    };
                    let ids: HashSet<String> = match r.values.iter().find(|v| v.0 == VAR_ID_LIST) {
                        Some((_, Ok(Value::StringList(l)))) => l.iter().cloned().collect(),
                        _ => {
                            return Err(Error::Setup(format!(
                                "induction loop '{}': no vehicle id list",
                                r.object
                            )))
                        }
                    };
                    let acc = &mut loops[k];
                    // a vehicle counts once, in the step it first touches the loop
                    let new = ids.iter().filter(|i| !acc.prev_ids.contains(*i)).count();
                    let speed = num(r, VAR_MEAN_SPEED)?;
                    acc.count += new as u32;
                    if new > 0 && speed >= 0.0 {
                        acc.speed_sum_m_s += speed * new as f64;
                    }
                    // SUMO's occupancy is the percentage of the step the loop was covered
                    acc.occupied_s += num(r, VAR_OCCUPANCY)?.clamp(0.0, 100.0) / 100.0 * dt;
                    acc.prev_ids = ids;
                }
                x if x == client::CMD_SUBSCRIBE_LANEAREA_VARIABLE + client::RESPONSE_OFFSET => {
                    let Some(&k) = cam_pos.get(r.object.as_str()) else {
                        continue;
                    };
                    let ids = id_set(r)?;
                    let view = &mut frames[k].lanes[0];
                    view.vehicles = ids.len() as u32;
                    // vehicles that left the zone since the last step: the zone ends at the
                    // stop line, so these are (up to lane changes out of it) departures
                    view.departed = zone_ids[k].iter().filter(|i| !ids.contains(*i)).count() as u32;
                    zone_ids[k] = ids;
                    view.halting = num(r, VAR_HALTING)?.max(0.0) as u32;
                    view.queue_length_m = num(r, VAR_JAM_LENGTH_M)?.max(0.0);
                }
                x if x == client::CMD_SUBSCRIBE_LANE_VARIABLE + client::RESPONSE_OFFSET => {
                    halting += num(r, VAR_HALTING)?;
                    num(r, VAR_VEHICLE_NUMBER)?;
                }
                other => {
                    return Err(Error::Setup(format!(
                        "unexpected subscription response 0x{other:02x} for '{}'",
                        r.object
                    )))
                }
            }
        }
        halting_sum += halting;
        for f in &mut frames {
            f.time_s = t;
        }
        readings.clear();
        if t - det_interval_start_s + 1e-9 >= opts.detector_interval_s {
            let interval = t - det_interval_start_s;
            for (k, acc) in loops.iter_mut().enumerate() {
                readings.push(DetectorReading {
                    detector: net.detectors[k].id,
                    time_s: t,
                    interval_s: interval,
                    count: acc.count,
                    occupancy: (acc.occupied_s / interval).min(1.0),
                    mean_speed_m_s: (acc.count > 0).then(|| acc.speed_sum_m_s / acc.count as f64),
                });
                acc.count = 0;
                acc.speed_sum_m_s = 0.0;
                acc.occupied_s = 0.0;
            }
            det_interval_start_s = t;
        }
        if let Some(e) = sumo.exited() {
            return Err(e);
        }
        // nothing left to load or run: SUMO would end the run itself
        if min_expected <= 0.0 && out.departed > 0 {
            break;
        }
    }
    out.end_time_s = t;
    out.mean_halting_vehicles = halting_sum / out.steps.max(1) as f64;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light() -> Light {
        Light {
            tl_id: "J".into(),
            links: 5,
            group_links: vec![vec![0, 1], vec![3]],
            foes: vec![vec![1], vec![0]],
            last_sent: String::new(),
        }
    }

    #[test]
    fn permissive_green_is_sent_as_g_only_while_a_foe_is_not_red() {
        let l = light();
        let pg = Indication::PermissiveGreen;
        // the foe is red: nothing to yield to, sent as protected
        assert_eq!(state_string(&l, &[pg, Indication::Red]), "GGrrr");
        // the foe green, or still clearing on yellow: yields
        assert_eq!(state_string(&l, &[pg, Indication::Green]), "ggrGr");
        assert_eq!(state_string(&l, &[pg, Indication::Yellow]), "ggryr");
        assert_eq!(state_string(&l, &[pg, pg]), "ggrgr");
    }

    #[test]
    fn group_names_give_link_indices() {
        assert_eq!(group_links("links1+2+10"), Some(vec![1, 2, 10]));
        assert_eq!(group_links("links"), None);
        assert_eq!(group_links("north"), None);
    }

    #[test]
    fn lamps_to_state_and_back() {
        let l = light();
        let s = state_string(&l, &[Indication::Green, Indication::Yellow]);
        assert_eq!(s, "GGryr");
        assert_eq!(
            decode_state(&l, &s),
            Some(vec![Indication::Green, Indication::Yellow])
        );
        // a group whose links disagree, and a letter greenwave never sends
        assert_eq!(decode_state(&l, "GrrGr"), None);
        assert_eq!(decode_state(&l, "GGrsr"), None);
    }
}
