//! The topic scheme: `greenwave/v1/<region>/<camera|radar>/<sensor-id>` (`docs/perception.md`).

use super::codec::{DropReason, Rejected, SensorKind};

/// The scheme's first two levels.
pub const PREFIX: &str = "greenwave/v1";

/// A parsed frame topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic<'a> {
    pub region: &'a str,
    pub kind: SensorKind,
    pub sensor: &'a str,
}

impl<'a> Topic<'a> {
    pub fn parse(topic: &'a str) -> Result<Topic<'a>, Rejected> {
        let bad = |why: &str| Rejected {
            reason: DropReason::BadTopic,
            detail: format!("'{}': {why}", topic.chars().take(128).collect::<String>()),
        };
        let rest = topic
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| bad("not under greenwave/v1/"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [region, kind, sensor] = parts[..] else {
            return Err(bad("want greenwave/v1/<region>/<camera|radar>/<id>"));
        };
        let kind = match kind {
            "camera" => SensorKind::Camera,
            "radar" => SensorKind::Radar,
            _ => return Err(bad("kind is neither camera nor radar")),
        };
        if !valid_level(region) || !valid_level(sensor) {
            return Err(bad("empty region or sensor id"));
        }
        Ok(Topic {
            region,
            kind,
            sensor,
        })
    }
}

/// The level naming a batch of several sensors' frames (`docs/perception.md`, "Batches").
pub const BATCH_LEVEL: &str = "batch";

/// `greenwave/v1/<region>/batch/<source-id>`: the region and the gateway's id; `None` for any
/// other topic (a frame topic, or one [`Topic::parse`] refuses).
pub fn parse_batch_topic(topic: &str) -> Option<(&str, &str)> {
    let rest = topic.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let (region, kind, source) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && kind == BATCH_LEVEL && valid_level(region) && valid_level(source))
        .then_some((region, source))
}

/// The topic a gateway publishes its batches on.
pub fn batch_topic(region: &str, source: &str) -> String {
    format!("{PREFIX}/{region}/{BATCH_LEVEL}/{source}")
}

/// A topic level a region or sensor id may use: non-empty, no wildcard or separator.
pub fn valid_level(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '+', '#']) && !s.starts_with('$')
}

/// The topic a sensor publishes on.
pub fn frame_topic(region: &str, kind: SensorKind, sensor: &str) -> String {
    format!("{PREFIX}/{region}/{}/{sensor}", kind.as_str())
}

/// The filter a controller owning `region` subscribes to (camera and radar): `+` for every
/// region; with `share_group`, an MQTT shared subscription (`$share/<group>/…`) so that the
/// broker hands each message to one member of the group.
pub fn region_filter(region: Option<&str>, share_group: Option<&str>) -> String {
    let f = format!("{PREFIX}/{}/+/+", region.unwrap_or("+"));
    match share_group {
        Some(g) => format!("$share/{g}/{f}"),
        None => f,
    }
}
