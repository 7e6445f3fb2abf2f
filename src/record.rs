//! Rerun recording of a simulation run (cargo feature `rerun`, `--record out.rrd`).
//!
//! [`RerunRecorder`] is a [`sim::Observer`]: it writes the run to an `.rrd` file that the Rerun
//! viewer opens (`rerun out.rrd`, viewer version = SDK version, see `docs/rerun.md`). Everything
//! is on the `sim_time` timeline, in seconds of simulated time. Entity paths:
//!
//! - `network/lanes` — lane centre lines (static), `network/links` — lane links through the
//!   intersections (static), `network/intersections` — intersection boxes with their names
//!   (static);
//! - `vehicles` — one point per running vehicle, coloured by speed (red: halting, < 0.1 m/s);
//! - `signals/<intersection>` — one signal head per movement and approach lane, just past the
//!   stop line, coloured by its signal group's indication (G/g green, y yellow, r red);
//!   logged whenever an indication changes;
//! - `queues/<road>` — halting vehicles on each approach road (a scalar series);
//! - `plan/<intersection>` — the stage being served (1-based, in the intersection's stage
//!   order) as a scalar series, and `plan/<intersection>/events` — a text log entry at every
//!   stage or interval change.
//!
//! Vehicles, queues and the stage series are logged every `every_n_steps` steps (signal and plan
//! changes always) to keep long recordings small. The y axis is flipped (Rerun's 2D views point
//! y down) so that north is up.

use anyhow::{Context, Result};
use rerun::{entity_path, EntityPath, RecordingStream, RecordingStreamBuilder};
use roadnet::geometry::point_along;
use roadnet::{Indication, IntersectionKind, Interval, Point, RoadNet, SignalState};
use sim::{Observer, Place, StepView};
use std::path::{Path, PathBuf};

/// The timeline everything is logged on, seconds of simulated time.
pub const TIMELINE: &str = "sim_time";

// Halting (queued): slower than the simulator's one threshold, CityFlow's waiting speed.
use sim::HALTING_SPEED_M_S;
/// Signal heads are drawn this far past the stop line along each lane link, m, so that the
/// heads of the movements leaving one lane separate a little.
const HEAD_OFFSET_M: f64 = 3.0;

/// Open a recorder that writes to `path` (created or truncated) and logs vehicles, queues and
/// the stage series every `every_n_steps` steps (0 is taken as 1).
pub fn recorder(path: &Path, every_n_steps: u32) -> Result<RerunRecorder> {
    RerunRecorder::create(path, every_n_steps)
}

/// Writes a simulation run to an `.rrd` file. Logging errors do not stop the simulation: the
/// first one is kept and returned by [`RerunRecorder::finish`].
pub struct RerunRecorder {
    rec: Option<RecordingStream>,
    path: PathBuf,
    every_n_steps: u64,
    steps: u64,
    layout: Option<Layout>,
    error: Option<anyhow::Error>,
}

/// What is worked out once from the network.
struct Layout {
    /// Per intersection index: its signal heads, if signalized.
    heads: Vec<Option<Heads>>,
    /// Approach roads (ending at a non-boundary node): road index and entity path.
    queue_roads: Vec<(usize, EntityPath)>,
    /// Lane index → road index.
    lane_road: Vec<usize>,
    /// Per intersection index: `plan/<name>` and `plan/<name>/events`.
    plan_paths: Vec<(EntityPath, EntityPath)>,
    /// Per intersection index: the last (stage, interval) seen.
    last_stage: Vec<Option<(roadnet::StageId, Interval)>>,
}

struct Heads {
    path: EntityPath,
    positions: Vec<[f32; 2]>,
    /// For each head: position of its signal group in the intersection's `signal_groups`.
    group_index: Vec<usize>,
    last: Option<Vec<Indication>>,
}

fn xy(p: Point) -> [f32; 2] {
    // Rerun's 2D views have y pointing down: flip so that north is up.
    [p.x_m as f32, -p.y_m as f32]
}

fn indication_color(i: Indication) -> [u8; 3] {
    match i {
        Indication::Green => [0, 200, 0],
        Indication::PermissiveGreen => [140, 235, 140],
        Indication::Yellow => [255, 200, 0],
        Indication::Red => [220, 0, 0],
    }
}

/// Red when halting, then orange (slow) to green (≥ 50 km/h).
fn speed_color(speed_m_s: f64) -> [u8; 3] {
    if speed_m_s < HALTING_SPEED_M_S {
        return [230, 30, 30];
    }
    let t = (speed_m_s / 13.89).clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    [lerp(255.0, 30.0), lerp(150.0, 200.0), lerp(0.0, 60.0)]
}

fn interval_name(i: Interval) -> &'static str {
    match i {
        Interval::Green => "green",
        Interval::Yellow => "yellow",
        Interval::AllRed => "all-red",
    }
}

impl Layout {
    fn new(net: &RoadNet) -> Layout {
        let heads = net
            .intersections
            .iter()
            .map(|inter| {
                if !inter.is_signalized() {
                    return None;
                }
                let mut positions = Vec::new();
                let mut group_index = Vec::new();
                for &m in &inter.movements {
                    let mv = net.movement(m);
                    let Some(g) = mv.signal_group else { continue };
                    let Some(gi) = inter.signal_groups.iter().position(|x| *x == g) else {
                        continue;
                    };
                    let mut lanes_seen = Vec::new();
                    for link in &mv.links {
                        if lanes_seen.contains(&link.from_lane) || link.points.is_empty() {
                            continue;
                        }
                        lanes_seen.push(link.from_lane);
                        positions.push(xy(point_along(&link.points, HEAD_OFFSET_M)));
                        group_index.push(gi);
                    }
                }
                Some(Heads {
                    path: entity_path!("signals", inter.name),
                    positions,
                    group_index,
                    last: None,
                })
            })
            .collect();
        let queue_roads = net
            .roads
            .iter()
            .filter(|r| net.intersection(r.to).kind != IntersectionKind::Boundary)
            .map(|r| (r.id.index(), entity_path!("queues", r.name)))
            .collect();
        Layout {
            heads,
            queue_roads,
            lane_road: net.lanes.iter().map(|l| l.road.index()).collect(),
            plan_paths: net
                .intersections
                .iter()
                .map(|i| {
                    (
                        entity_path!("plan", i.name),
                        entity_path!("plan", i.name, "events"),
                    )
                })
                .collect(),
            last_stage: vec![None; net.intersections.len()],
        }
    }
}

impl RerunRecorder {
    /// Open `path` for writing; see [`recorder`].
    pub fn create(path: &Path, every_n_steps: u32) -> Result<RerunRecorder> {
        let rec = RecordingStreamBuilder::new("greenwave")
            .save(path)
            .map_err(|e| {
                // The SDK's error repeats its causes in its message: report only the root one.
                let mut cause: &dyn std::error::Error = &e;
                while let Some(source) = cause.source() {
                    cause = source;
                }
                anyhow::anyhow!(
                    "cannot create the Rerun recording {}: {cause}",
                    path.display()
                )
            })?;
        // Only simulated time matters; the default wall-clock and tick timelines would
        // only make the file bigger.
        rec.set_log_time_enabled(false);
        rec.set_log_tick_enabled(false);
        Ok(RerunRecorder {
            rec: Some(rec),
            path: path.to_path_buf(),
            every_n_steps: u64::from(every_n_steps.max(1)),
            steps: 0,
            layout: None,
            error: None,
        })
    }

    /// Flush and close the file. Returns the first logging error of the run, if any.
    pub fn finish(mut self) -> Result<()> {
        if let Some(rec) = self.rec.take() {
            let flushed = rec.flush_blocking();
            // Dropping the last handle joins the writer thread, which writes the footer.
            drop(rec);
            if self.error.is_none() {
                flushed.with_context(|| {
                    format!("cannot write the Rerun recording {}", self.path.display())
                })?;
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn log_static_network(rec: &RecordingStream, net: &RoadNet) -> Result<()> {
        let lanes: Vec<Vec<[f32; 2]>> = net
            .lanes
            .iter()
            .map(|l| l.points.iter().map(|p| xy(*p)).collect())
            .collect();
        let lane_radii: Vec<f32> = net
            .lanes
            .iter()
            .map(|l| (l.width_m * 0.45) as f32)
            .collect();
        rec.log_static(
            "network/lanes",
            &rerun::LineStrips2D::new(lanes)
                .with_radii(lane_radii)
                .with_colors([[90u8, 90, 90]])
                .with_draw_order(10.0f32),
        )?;
        let links: Vec<Vec<[f32; 2]>> = net
            .movements
            .iter()
            .flat_map(|m| m.links.iter())
            .map(|k| k.points.iter().map(|p| xy(*p)).collect())
            .collect();
        rec.log_static(
            "network/links",
            &rerun::LineStrips2D::new(links)
                .with_radii([0.15f32])
                .with_colors([[170u8, 170, 170]])
                .with_draw_order(11.0f32),
        )?;
        let shown: Vec<_> = net
            .intersections
            .iter()
            .filter(|i| i.kind != IntersectionKind::Boundary)
            .collect();
        rec.log_static(
            "network/intersections",
            &rerun::Boxes2D::from_centers_and_sizes(
                shown.iter().map(|i| xy(i.point)),
                shown.iter().map(|i| [i.width_m as f32, i.width_m as f32]),
            )
            .with_labels(shown.iter().map(|i| i.name.clone()))
            .with_colors([[110u8, 110, 200]])
            .with_draw_order(5.0f32),
        )?;
        Ok(())
    }

    fn log_step(&mut self, view: &StepView<'_>) -> Result<()> {
        let Some(rec) = self.rec.as_ref() else {
            return Ok(());
        };
        let net = view.net();
        if self.layout.is_none() {
            Self::log_static_network(rec, net)?;
            let layout = Layout::new(net);
            for (road, path) in &layout.queue_roads {
                let name = &net.roads[*road].name;
                rec.log_static(
                    path.clone(),
                    &rerun::SeriesLines::new().with_names([name.as_str()]),
                )?;
            }
            for inter in net.signalized() {
                let Some((series, _)) = layout.plan_paths.get(inter.id.index()) else {
                    continue;
                };
                rec.log_static(
                    series.clone(),
                    &rerun::SeriesLines::new()
                        .with_names([format!("{} stage", inter.name)])
                        .with_interpolation_mode(rerun::components::InterpolationMode::StepAfter),
                )?;
            }
            self.layout = Some(layout);
        }
        let Some(layout) = self.layout.as_mut() else {
            return Ok(());
        };
        rec.set_duration_secs(TIMELINE, view.time_s());
        let sampled = self.steps.is_multiple_of(self.every_n_steps);

        for state in view.signals() {
            log_signal(rec, net, layout, state, sampled)?;
        }

        if sampled {
            let mut positions = Vec::new();
            let mut colors = Vec::new();
            let mut halting = vec![0u32; net.roads.len()];
            for v in view.vehicles() {
                let p = match v.place {
                    Place::Lane(l) => {
                        if v.speed_m_s < HALTING_SPEED_M_S {
                            halting[layout.lane_road[l.index()]] += 1;
                        }
                        point_along(&net.lane(l).points, v.distance_m)
                    }
                    Place::Link {
                        movement,
                        from_lane,
                        to_lane,
                    } => net
                        .movement(movement)
                        .links
                        .iter()
                        .find(|k| k.from_lane == from_lane && k.to_lane == to_lane)
                        .map_or_else(
                            || point_along(&net.lane(to_lane).points, 0.0),
                            |k| point_along(&k.points, v.distance_m),
                        ),
                };
                positions.push(xy(p));
                colors.push(speed_color(v.speed_m_s));
            }
            rec.log(
                "vehicles",
                &rerun::Points2D::new(positions)
                    .with_colors(colors)
                    .with_radii([1.6f32])
                    .with_draw_order(30.0f32),
            )?;
            for (road, path) in &layout.queue_roads {
                rec.log(
                    path.clone(),
                    &rerun::Scalars::single(f64::from(halting[*road])),
                )?;
            }
        }
        Ok(())
    }
}

/// Signal heads (on change) and the plan timeline (stage series when sampled or changed, a
/// text entry on change) of one intersection.
fn log_signal(
    rec: &RecordingStream,
    net: &RoadNet,
    layout: &mut Layout,
    state: &SignalState,
    sampled: bool,
) -> Result<()> {
    let i = state.intersection.index();
    let heads = layout
        .heads
        .get_mut(i)
        .and_then(Option::as_mut)
        .filter(|h| h.last.as_deref() != Some(state.indications.as_slice()));
    if let Some(heads) = heads {
        let colors: Vec<[u8; 3]> = heads
            .group_index
            .iter()
            .map(|g| {
                indication_color(
                    state
                        .indications
                        .get(*g)
                        .copied()
                        .unwrap_or(Indication::Red),
                )
            })
            .collect();
        rec.log(
            heads.path.clone(),
            &rerun::Points2D::new(heads.positions.iter().copied())
                .with_colors(colors)
                .with_radii([1.0f32])
                .with_draw_order(40.0f32),
        )?;
        heads.last = Some(state.indications.clone());
    }
    let inter = net.intersection(state.intersection);
    let now = (state.stage, state.interval);
    let changed = layout.last_stage.get(i).copied().flatten() != Some(now);
    let Some((series, events)) = layout.plan_paths.get(i) else {
        return Ok(());
    };
    if changed || sampled {
        let number = inter
            .stages
            .iter()
            .position(|s| *s == state.stage)
            .map_or(0.0, |k| (k + 1) as f64);
        rec.log(series.clone(), &rerun::Scalars::single(number))?;
    }
    if changed {
        let stage = &net.stage(state.stage).name;
        let text = match state.next_stage {
            Some(next) if state.interval != Interval::Green => format!(
                "{}: stage {stage} {}, next {}",
                inter.name,
                interval_name(state.interval),
                net.stage(next).name
            ),
            _ => format!(
                "{}: stage {stage} {}",
                inter.name,
                interval_name(state.interval)
            ),
        };
        rec.log(
            events.clone(),
            &rerun::TextLog::new(text).with_level(rerun::TextLogLevel::INFO),
        )?;
        if let Some(slot) = layout.last_stage.get_mut(i) {
            *slot = Some(now);
        }
    }
    Ok(())
}

impl Observer for RerunRecorder {
    fn on_step(&mut self, view: &StepView<'_>) {
        if self.error.is_none() {
            if let Err(e) = self.log_step(view) {
                tracing::warn!("Rerun recording stopped: {e:#}");
                self.error = Some(e.context(format!(
                    "cannot write the Rerun recording {}",
                    self.path.display()
                )));
            }
        }
        self.steps += 1;
    }
}
