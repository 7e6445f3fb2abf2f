//! The wire format of a camera or radar frame (`docs/perception.md`): a [`CameraFrame`] as JSON,
//! stamped with the sensor's clock and a per-sensor sequence number, and the strict decoder that
//! checks it against the network before the controller sees it.

use roadnet::{CameraFrame, CameraId, LaneId, LaneView, RoadNet, TrackedVehicle};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The one schema version this build reads and writes (`"schema"` of every frame).
pub const SCHEMA_VERSION: u32 = 1;
/// The largest payload the ingest decodes, bytes. A lane entry or a tracked vehicle is under
/// 100 bytes of JSON, so this leaves room for several hundred; anything past it is refused
/// before parsing.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// The shortest road space one vehicle takes in a queue, metres (a small car plus a jam gap):
/// a lane zone of `z` metres holds at most `z / MIN_SPACING_M + 2` vehicles.
pub const MIN_SPACING_M: f64 = 3.0;
/// Fastest plausible road vehicle, m/s (250 km/h).
pub const MAX_SPEED_M_S: f64 = 70.0;
/// Most departures one lane can report in one frame (a frame may cover several seconds).
pub const MAX_DEPARTED: u32 = 1000;
/// How far (metres) positions and queue lengths may overshoot the lane's ends (sensor
/// calibration slack).
pub const POSITION_SLACK_M: f64 = 2.0;

/// Camera (video analytics) or radar: both report the same frame; a radar is configured as a
/// `[[camera]]` zone sensor of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    Camera,
    Radar,
}

impl SensorKind {
    /// The topic level naming the kind (`camera`, `radar`).
    pub fn as_str(self) -> &'static str {
        match self {
            SensorKind::Camera => "camera",
            SensorKind::Radar => "radar",
        }
    }
}

/// One lane's view on the wire (lane named `road:index`, as in `intersections.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireLane {
    pub lane: String,
    pub vehicles: u32,
    pub halting: u32,
    pub queue_length_m: f64,
    pub departed: u32,
}

/// One tracked vehicle on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireVehicle {
    pub lane: String,
    pub distance_to_stop_m: f64,
    pub speed_m_s: f64,
}

/// A frame as it travels over MQTT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireFrame {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    pub kind: SensorKind,
    /// The sensor's id: the `id` of its `[[camera]]` in the network (also the topic's last level).
    pub sensor: String,
    /// Per-sensor sequence number, +1 per frame; a sensor that restarts from a lower number
    /// is accepted when its clock moved on (`docs/perception.md`).
    pub seq: u64,
    /// When the sensor took the frame: milliseconds since the time base (Unix epoch UTC in the
    /// field; the demo counts from midnight of the simulated day).
    pub sensor_time_ms: u64,
    pub lanes: Vec<WireLane>,
    #[serde(default)]
    pub vehicles: Vec<WireVehicle>,
}

/// The largest batch message (`docs/perception.md`, "Batches"), bytes: room for a region's
/// frames of one instant, below the client's packet limit
/// ([`super::mqtt::CLIENT_MAX_PACKET_BYTES`]) so that an oversized batch is received and
/// counted, never a broken connection.
pub const MAX_BATCH_PAYLOAD_BYTES: usize = 512 * 1024;
/// The most frames one batch carries.
pub const MAX_BATCH_FRAMES: usize = 256;

/// Several sensors' frames of one instant in one message, sent by a perception gateway (an
/// intersection's edge unit, a region's video-analytics server) on
/// `greenwave/v1/<region>/batch/<source-id>`. Each frame is checked exactly as a single one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireBatch<F> {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Always `"batch"`.
    pub kind: String,
    /// The gateway's id (the topic's last level).
    pub source: String,
    pub frames: Vec<F>,
}

/// Why a message did not become a frame for the controller (one counter each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Payload larger than [`MAX_PAYLOAD_BYTES`].
    Oversized,
    /// Not a topic of the scheme (`greenwave/v1/<region>/<camera|radar>/<id>`).
    BadTopic,
    /// Not JSON, or not a frame (missing, unknown or mistyped fields).
    Malformed,
    /// A `schema` version this build does not read.
    Schema,
    /// The payload's sensor or kind differs from the topic's.
    TopicMismatch,
    /// A sensor id the network does not know.
    UnknownCamera,
    /// A lane the sensor does not watch, a lane twice, or a value outside its physical range.
    Invalid,
    /// Older than the ingest's `max_age_ms` when it arrived.
    Late,
    /// Stamped further in the future than the ingest's `max_skew_ms`.
    Future,
    /// The sequence number of the sensor's last accepted frame again (a QoS 1 redelivery).
    Duplicate,
    /// A sequence number below the sensor's last one with no newer clock (reordered).
    OutOfOrder,
    /// The daemon's bounded queue was full (the daemon is not draining).
    QueueFull,
}

impl DropReason {
    pub const ALL: [DropReason; 12] = [
        DropReason::Oversized,
        DropReason::BadTopic,
        DropReason::Malformed,
        DropReason::Schema,
        DropReason::TopicMismatch,
        DropReason::UnknownCamera,
        DropReason::Invalid,
        DropReason::Late,
        DropReason::Future,
        DropReason::Duplicate,
        DropReason::OutOfOrder,
        DropReason::QueueFull,
    ];
    /// The counter's name (`snake_case`, as in the daemon's JSON stats).
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Oversized => "oversized",
            DropReason::BadTopic => "bad_topic",
            DropReason::Malformed => "malformed",
            DropReason::Schema => "schema",
            DropReason::TopicMismatch => "topic_mismatch",
            DropReason::UnknownCamera => "unknown_camera",
            DropReason::Invalid => "invalid",
            DropReason::Late => "late",
            DropReason::Future => "future",
            DropReason::Duplicate => "duplicate",
            DropReason::OutOfOrder => "out_of_order",
            DropReason::QueueFull => "queue_full",
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused message: the reason (counted) and a one-line detail (logged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub reason: DropReason,
    pub detail: String,
}

impl Rejected {
    fn new(reason: DropReason, detail: impl Into<String>) -> Rejected {
        Rejected {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

#[derive(Clone, Debug)]
struct LaneLimits {
    id: LaneId,
    length_m: f64,
    max_vehicles: u32,
}

#[derive(Clone, Debug)]
struct SensorEntry {
    id: CameraId,
    lanes: BTreeMap<String, LaneLimits>,
}

/// The network's sensors and lanes by their wire names: what a frame is checked against, and
/// how it is written. Built once from the [`RoadNet`].
#[derive(Clone, Debug)]
pub struct SensorDirectory {
    by_name: BTreeMap<String, SensorEntry>,
    names: Vec<String>,
    lane_names: Vec<String>,
}

impl SensorDirectory {
    pub fn new(net: &RoadNet) -> SensorDirectory {
        let lane_names: Vec<String> = net
            .lanes
            .iter()
            .map(|l| format!("{}:{}", net.road(l.road).name, l.index))
            .collect();
        let mut by_name = BTreeMap::new();
        for c in &net.cameras {
            let lanes = c
                .lanes
                .iter()
                .map(|l| {
                    let lane = net.lane(*l);
                    let zone_m = (c.zone_far_m.min(lane.length_m) - c.zone_near_m).max(0.0);
                    let max_vehicles = (zone_m / MIN_SPACING_M).floor() as u32 + 2;
                    (
                        lane_names[l.index()].clone(),
                        LaneLimits {
                            id: *l,
                            length_m: lane.length_m,
                            max_vehicles,
                        },
                    )
                })
                .collect();
            by_name.insert(c.name.clone(), SensorEntry { id: c.id, lanes });
        }
        SensorDirectory {
            by_name,
            names: net.cameras.iter().map(|c| c.name.clone()).collect(),
            lane_names,
        }
    }

    /// The wire name of a sensor (its `[[camera]]` id).
    pub fn sensor_name(&self, id: CameraId) -> Option<&str> {
        self.names.get(id.index()).map(String::as_str)
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The frame of a simulator or sensor as it goes on the wire.
    pub fn encode(
        &self,
        frame: &CameraFrame,
        kind: SensorKind,
        seq: u64,
        sensor_time_ms: u64,
    ) -> Option<WireFrame> {
        let name = |l: LaneId| self.lane_names.get(l.index()).cloned();
        Some(WireFrame {
            schema: SCHEMA_VERSION,
            kind,
            sensor: self.sensor_name(frame.camera)?.to_string(),
            seq,
            sensor_time_ms,
            lanes: frame
                .lanes
                .iter()
                .map(|v| {
                    Some(WireLane {
                        lane: name(v.lane)?,
                        vehicles: v.vehicles,
                        halting: v.halting,
                        queue_length_m: v.queue_length_m,
                        departed: v.departed,
                    })
                })
                .collect::<Option<_>>()?,
            vehicles: frame
                .vehicles
                .iter()
                .map(|v| {
                    Some(WireVehicle {
                        lane: name(v.lane)?,
                        distance_to_stop_m: v.distance_to_stop_m,
                        speed_m_s: v.speed_m_s,
                    })
                })
                .collect::<Option<_>>()?,
        })
    }

    /// Parse a payload: size, JSON shape and schema version (no network checks yet).
    pub fn parse(&self, payload: &[u8]) -> Result<WireFrame, Rejected> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Rejected::new(
                DropReason::Oversized,
                format!("{} bytes > {MAX_PAYLOAD_BYTES}", payload.len()),
            ));
        }
        let w: WireFrame = parse_versioned(payload, |w: &WireFrame| w.schema, "")?;
        Ok(w)
    }

    /// Parse a batch payload: size, shape, schema version and frame count. The frames stay
    /// raw JSON text borrowed from `payload`; each is then parsed with
    /// [`SensorDirectory::parse`] exactly as a single frame, so one bad frame costs only itself.
    pub fn parse_batch<'a>(&self, payload: &'a [u8]) -> Result<WireBatch<&'a RawValue>, Rejected> {
        if payload.len() > MAX_BATCH_PAYLOAD_BYTES {
            return Err(Rejected::new(
                DropReason::Oversized,
                format!(
                    "batch of {} bytes > {MAX_BATCH_PAYLOAD_BYTES}",
                    payload.len()
                ),
            ));
        }
        let b: WireBatch<&RawValue> =
            parse_versioned(payload, |b: &WireBatch<_>| b.schema, "batch: ")?;
        if b.kind != "batch" {
            return Err(Rejected::new(
                DropReason::Malformed,
                format!("batch: kind '{}', want 'batch'", truncate(&b.kind)),
            ));
        }
        if b.frames.len() > MAX_BATCH_FRAMES {
            return Err(Rejected::new(
                DropReason::Oversized,
                format!("batch of {} frames > {MAX_BATCH_FRAMES}", b.frames.len()),
            ));
        }
        Ok(b)
    }

    /// Check a parsed frame against the network and turn it into the controller's
    /// [`CameraFrame`] (`time_s` = `sensor_time_ms` − `origin_ms`, in seconds).
    pub fn validate(&self, w: &WireFrame, origin_ms: u64) -> Result<CameraFrame, Rejected> {
        let invalid = |d: String| Rejected::new(DropReason::Invalid, format!("{}: {d}", w.sensor));
        let Some(entry) = self.by_name.get(&w.sensor) else {
            return Err(Rejected::new(
                DropReason::UnknownCamera,
                format!("sensor '{}' is not in the network", truncate(&w.sensor)),
            ));
        };
        if w.lanes.len() > entry.lanes.len() {
            return Err(invalid(format!(
                "{} lanes, the sensor watches {}",
                w.lanes.len(),
                entry.lanes.len()
            )));
        }
        let lane_of = |name: &str| {
            entry
                .lanes
                .get(name)
                .ok_or_else(|| invalid(format!("lane '{}' is not watched by it", truncate(name))))
        };
        let mut lanes = Vec::with_capacity(w.lanes.len());
        let mut seen: Vec<LaneId> = Vec::with_capacity(w.lanes.len());
        let mut max_tracked = 0u64;
        for v in &w.lanes {
            let lim = lane_of(&v.lane)?;
            if seen.contains(&lim.id) {
                return Err(invalid(format!("lane '{}' twice", v.lane)));
            }
            seen.push(lim.id);
            if v.vehicles > lim.max_vehicles {
                return Err(invalid(format!(
                    "{}: vehicles {} > {} the zone can hold",
                    v.lane, v.vehicles, lim.max_vehicles
                )));
            }
            if v.halting > v.vehicles {
                return Err(invalid(format!(
                    "{}: halting {} > vehicles {}",
                    v.lane, v.halting, v.vehicles
                )));
            }
            if !(0.0..=lim.length_m + POSITION_SLACK_M).contains(&v.queue_length_m) {
                return Err(invalid(format!(
                    "{}: queue_length_m {} outside 0..={:.1}",
                    v.lane,
                    v.queue_length_m,
                    lim.length_m + POSITION_SLACK_M
                )));
            }
            if v.departed > MAX_DEPARTED {
                return Err(invalid(format!(
                    "{}: departed {} > {MAX_DEPARTED}",
                    v.lane, v.departed
                )));
            }
            max_tracked += lim.max_vehicles as u64;
            lanes.push(LaneView {
                lane: lim.id,
                vehicles: v.vehicles,
                halting: v.halting,
                queue_length_m: v.queue_length_m,
                departed: v.departed,
            });
        }
        if w.vehicles.len() as u64 > max_tracked {
            return Err(invalid(format!(
                "{} tracked vehicles > {max_tracked} its lanes can hold",
                w.vehicles.len()
            )));
        }
        let mut vehicles = Vec::with_capacity(w.vehicles.len());
        for t in &w.vehicles {
            let lim = lane_of(&t.lane)?;
            if !(-POSITION_SLACK_M..=lim.length_m + POSITION_SLACK_M)
                .contains(&t.distance_to_stop_m)
            {
                return Err(invalid(format!(
                    "{}: distance_to_stop_m {} outside the lane",
                    t.lane, t.distance_to_stop_m
                )));
            }
            if !(0.0..=MAX_SPEED_M_S).contains(&t.speed_m_s) {
                return Err(invalid(format!(
                    "{}: speed_m_s {} outside 0..={MAX_SPEED_M_S}",
                    t.lane, t.speed_m_s
                )));
            }
            vehicles.push(TrackedVehicle {
                lane: lim.id,
                distance_to_stop_m: t.distance_to_stop_m,
                speed_m_s: t.speed_m_s,
            });
        }
        Ok(CameraFrame {
            camera: entry.id,
            time_s: (w.sensor_time_ms as f64 - origin_ms as f64) / 1000.0,
            lanes,
            vehicles,
        })
    }
}

/// At most 64 characters of an untrusted name, for a log line.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Parse a message of this schema. A message whose readable `schema` is another version is
/// refused as `schema` — told apart from garbage whether or not the rest of it parses (a
/// message without a readable `schema` field is `malformed`). The typed parse comes first: a
/// well-formed message is read once, and only a refused one is read again for its version.
fn parse_versioned<'a, T: Deserialize<'a>>(
    payload: &'a [u8],
    schema_of: impl Fn(&T) -> u32,
    context: &str,
) -> Result<T, Rejected> {
    let wrong = |n: u32| {
        Rejected::new(
            DropReason::Schema,
            format!("schema {n} (this build reads {SCHEMA_VERSION})"),
        )
    };
    match serde_json::from_slice::<T>(payload) {
        Ok(t) if schema_of(&t) == SCHEMA_VERSION => Ok(t),
        Ok(t) => Err(wrong(schema_of(&t))),
        Err(e) => {
            #[derive(Deserialize)]
            struct Version {
                schema: u32,
            }
            match serde_json::from_slice::<Version>(payload) {
                Ok(v) if v.schema != SCHEMA_VERSION => Err(wrong(v.schema)),
                _ => Err(Rejected::new(
                    DropReason::Malformed,
                    format!("{context}{e}"),
                )),
            }
        }
    }
}
