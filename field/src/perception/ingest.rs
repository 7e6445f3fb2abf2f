//! The ingest stage: every MQTT message passes here once. It decodes and checks the payload
//! ([`SensorDirectory`]), then the sensor's sequence and clock, and either returns the frame or
//! counts the drop under its [`DropReason`]. It never panics on what arrives.

use super::codec::{DropReason, Rejected, SensorDirectory, WireFrame, MAX_PAYLOAD_BYTES};
use super::topic::{parse_batch_topic, Topic};
use crate::central::CameraStats;
use roadnet::CameraFrame;
use std::sync::Arc;

/// The ingest's tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestConfig {
    /// A frame older than this when it arrives is `late`, ms.
    pub max_age_ms: u64,
    /// A frame stamped further ahead of the receiver's clock than this is `future`, ms.
    pub max_skew_ms: u64,
    /// The time base's zero for the controller's `time_s` (ms on the sensors' clock).
    pub origin_ms: u64,
    /// A sensor with no accepted frame for this long counts as silent, ms.
    pub silent_after_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> IngestConfig {
        IngestConfig {
            max_age_ms: 5_000,
            max_skew_ms: 2_000,
            origin_ms: 0,
            silent_after_ms: 10_000,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Last {
    seq: u64,
    sensor_time_ms: u64,
    /// Receiver's clock when it was accepted.
    arrived_ms: u64,
}

/// Per-sensor state and the counters; one per subscriber.
#[derive(Debug)]
pub struct Ingest {
    dir: Arc<SensorDirectory>,
    cfg: IngestConfig,
    last: Vec<Option<Last>>,
    stats: CameraStats,
}

impl Ingest {
    pub fn new(dir: Arc<SensorDirectory>, cfg: IngestConfig) -> Ingest {
        let stats = CameraStats {
            dropped: DropReason::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), 0))
                .collect(),
            ..CameraStats::default()
        };
        Ingest {
            last: vec![None; dir.len()],
            dir,
            cfg,
            stats,
        }
    }

    pub fn config(&self) -> &IngestConfig {
        &self.cfg
    }

    /// One message as it came off the broker, at `now_ms` on the receiver's clock.
    pub fn offer(
        &mut self,
        topic: &str,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<CameraFrame, Rejected> {
        self.stats.received += 1;
        let r = self.check(topic, payload, now_ms);
        match &r {
            Ok(_) => self.stats.accepted += 1,
            Err(rej) => self.count_drop(rej.reason),
        }
        r
    }

    /// One message, a single frame or a batch (`greenwave/v1/<region>/batch/<source>`): every
    /// frame it carries, accepted or refused, in order. Each frame of a batch counts as one
    /// received and passes the same checks as a single frame; a batch refused as a whole (too
    /// large, not a batch, its `source` not the topic's) counts as one received and one drop.
    pub fn offer_message(
        &mut self,
        topic: &str,
        payload: &[u8],
        now_ms: u64,
        out: &mut Vec<Result<CameraFrame, Rejected>>,
    ) {
        let Some((_, source)) = parse_batch_topic(topic) else {
            out.push(self.offer(topic, payload, now_ms));
            return;
        };
        let batch = match self.dir.parse_batch(payload) {
            Ok(b) if b.source == source => b,
            Ok(b) => {
                let rej = Rejected {
                    reason: DropReason::TopicMismatch,
                    detail: format!(
                        "topic names batch source '{source}', payload '{}'",
                        b.source.chars().take(64).collect::<String>()
                    ),
                };
                self.stats.received += 1;
                self.count_drop(rej.reason);
                out.push(Err(rej));
                return;
            }
            Err(rej) => {
                self.stats.received += 1;
                self.count_drop(rej.reason);
                out.push(Err(rej));
                return;
            }
        };
        for v in batch.frames {
            self.stats.received += 1;
            let r = self
                .dir
                .parse(v.get().as_bytes())
                .and_then(|w| self.admit(&w, now_ms));
            match &r {
                Ok(_) => self.stats.accepted += 1,
                Err(rej) => self.count_drop(rej.reason),
            }
            out.push(r);
        }
    }

    /// Count a drop decided outside the ingest (the daemon's queue was full).
    pub fn count_drop(&mut self, reason: DropReason) {
        *self
            .stats
            .dropped
            .entry(reason.as_str().to_string())
            .or_default() += 1;
        if reason == DropReason::QueueFull {
            // it had been accepted before the queue refused it
            self.stats.accepted = self.stats.accepted.saturating_sub(1);
        }
    }

    /// The counters, with the silent sensors as of `now_ms`.
    pub fn stats(&self, now_ms: u64) -> CameraStats {
        let mut s = self.stats.clone();
        s.silent_sensors = self
            .last
            .iter()
            .filter(|l| {
                l.is_none_or(|l| now_ms.saturating_sub(l.arrived_ms) > self.cfg.silent_after_ms)
            })
            .count() as u64;
        s
    }

    fn check(&mut self, topic: &str, payload: &[u8], now_ms: u64) -> Result<CameraFrame, Rejected> {
        // size first: nothing large is parsed, not even its topic
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Rejected {
                reason: DropReason::Oversized,
                detail: format!("{} bytes > {MAX_PAYLOAD_BYTES}", payload.len()),
            });
        }
        let t = Topic::parse(topic)?;
        let w = self.dir.parse(payload)?;
        if w.sensor != t.sensor || w.kind != t.kind {
            return Err(Rejected {
                reason: DropReason::TopicMismatch,
                detail: format!(
                    "topic names {} '{}', payload {} '{}'",
                    t.kind.as_str(),
                    t.sensor,
                    w.kind.as_str(),
                    w.sensor.chars().take(64).collect::<String>()
                ),
            });
        }
        self.admit(&w, now_ms)
    }

    /// The checks after a frame's shape and topic: against the network, then the sensor's
    /// sequence and clock.
    fn admit(&mut self, w: &WireFrame, now_ms: u64) -> Result<CameraFrame, Rejected> {
        let frame = self.dir.validate(w, self.cfg.origin_ms)?;
        let k = frame.camera.index();
        let prev = self.last.get(k).copied().flatten();
        let mut restarted = false;
        if let Some(p) = prev {
            if w.seq == p.seq {
                return Err(Rejected {
                    reason: DropReason::Duplicate,
                    detail: format!("{} seq {} again", w.sensor, w.seq),
                });
            }
            if w.seq < p.seq {
                if w.sensor_time_ms > p.sensor_time_ms {
                    restarted = true;
                } else {
                    return Err(Rejected {
                        reason: DropReason::OutOfOrder,
                        detail: format!("{} seq {} after {}", w.sensor, w.seq, p.seq),
                    });
                }
            }
        }
        if now_ms.saturating_sub(w.sensor_time_ms) > self.cfg.max_age_ms {
            return Err(Rejected {
                reason: DropReason::Late,
                detail: format!(
                    "{} seq {}: {} ms old",
                    w.sensor,
                    w.seq,
                    now_ms.saturating_sub(w.sensor_time_ms)
                ),
            });
        }
        if w.sensor_time_ms.saturating_sub(now_ms) > self.cfg.max_skew_ms {
            return Err(Rejected {
                reason: DropReason::Future,
                detail: format!(
                    "{} seq {}: {} ms ahead of this clock",
                    w.sensor,
                    w.seq,
                    w.sensor_time_ms.saturating_sub(now_ms)
                ),
            });
        }
        if restarted {
            self.stats.sensor_restarts += 1;
        }
        if let Some(slot) = self.last.get_mut(k) {
            *slot = Some(Last {
                seq: w.seq,
                sensor_time_ms: w.sensor_time_ms,
                arrived_ms: now_ms,
            });
        }
        Ok(frame)
    }
}
