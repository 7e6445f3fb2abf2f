//! The demo's camera road: the simulator's frames go out through an MQTT broker and come back
//! through a [`Subscriber`] into the daemon, in simulated time. The integrator's three calls:
//!
//! ```text
//! let (bridge, source) = CameraBridge::start(&net)?;        // inside the daemon's runtime
//! let daemon = daemon.with_cameras(Box::new(source));
//! // every step, inside the runtime, before the daemon steps:
//! bridge.send(input.time_s, input.cameras).await?;          // publish, wait until ingested
//! ```
//!
//! Each step's frames travel as one batch message (`docs/perception.md`, "Batches"). Each step
//! waits until the subscriber has handled every message it published, so the daemon
//! sees this step's frames at this step, as the direct run does.

use super::broker::EmbeddedBroker;
use super::codec::{SensorDirectory, SensorKind};
use super::mqtt::{ProgressWatch, Publisher, Subscriber, SubscriberConfig};
use roadnet::{CameraFrame, RoadNet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The region every camera of the demo publishes under.
pub const DEMO_REGION: &str = "demo";
/// The demo's perception gateway: the simulator sends each step's frames of every camera of
/// the region as one batch (`docs/perception.md`, "Batches"), as a region's video-analytics
/// server would — one MQTT message per step instead of one per camera.
pub const DEMO_GATEWAY: &str = "sim";
/// How long one step waits for its frames before giving up on them (they are then counted by
/// the ingest when they arrive, as late).
const STEP_WAIT: Duration = Duration::from_secs(10);

/// The publishing half; the subscribing half is the [`Subscriber`] returned beside it.
#[derive(Debug)]
pub struct CameraBridge {
    _broker: EmbeddedBroker,
    publisher: Publisher,
    progress: ProgressWatch,
    /// Simulated time, ms: the sensors' and the ingest's clock.
    now_ms: Arc<AtomicU64>,
    /// Frames and messages (one batch per step with frames) published so far.
    published: u64,
    messages: u64,
}

impl CameraBridge {
    /// Start an embedded broker, a subscriber and a publisher on it (call inside a tokio
    /// runtime; returns once both clients are connected and subscribed).
    pub async fn start(net: &RoadNet) -> Result<(CameraBridge, Subscriber), String> {
        let broker = EmbeddedBroker::start()?;
        let dir = Arc::new(SensorDirectory::new(net));
        let now_ms = Arc::new(AtomicU64::new(0));
        let clock = {
            let now_ms = now_ms.clone();
            Arc::new(move || now_ms.load(Ordering::Relaxed))
        };
        let mut cfg = SubscriberConfig::new(broker.addr(), "greenwave-demo-daemon");
        // a fresh broker per run: nothing to resume
        cfg.clean_session = true;
        let mut sub = Subscriber::spawn(cfg, dir.clone(), clock)?;
        if !sub.wait_connected(1, STEP_WAIT).await {
            return Err(format!(
                "demo cameras: subscriber did not connect to {}",
                broker.addr()
            ));
        }
        if !sub.wait_subscribed(STEP_WAIT).await {
            return Err("demo cameras: the subscription was not acknowledged".into());
        }
        let publisher = Publisher::spawn(&broker.addr(), "greenwave-demo-cameras", dir, 100);
        let progress = sub.progress();
        Ok((
            CameraBridge {
                _broker: broker,
                publisher,
                progress,
                now_ms,
                published: 0,
                messages: 0,
            },
            sub,
        ))
    }

    /// Publish one step's frames (stamped `time_s`, the simulated clock) as one batch and wait
    /// until the subscriber has handled it.
    pub async fn send(&mut self, time_s: f64, frames: &[CameraFrame]) -> Result<(), String> {
        self.publish(time_s, frames).await?;
        self.wait().await
    }

    /// The first half of [`CameraBridge::send`]: the step's batch handed to the MQTT client.
    pub async fn publish(&mut self, time_s: f64, frames: &[CameraFrame]) -> Result<(), String> {
        let t_ms = (time_s * 1000.0).round().max(0.0) as u64;
        self.now_ms.store(t_ms, Ordering::Relaxed);
        if !frames.is_empty() {
            self.publisher
                .publish_batch(DEMO_REGION, DEMO_GATEWAY, frames, SensorKind::Camera, t_ms)
                .await?;
            self.messages += 1;
            self.published += frames.len() as u64;
        }
        Ok(())
    }

    /// The second half of [`CameraBridge::send`]: wait until the subscriber has handled every
    /// batch published so far.
    pub async fn wait(&mut self) -> Result<(), String> {
        let got = self.progress.wait_handled(self.messages, STEP_WAIT).await;
        if got.handled < self.messages {
            return Err(format!(
                "demo cameras: {} of {} batches came back within {} s",
                got.handled,
                self.messages,
                STEP_WAIT.as_secs()
            ));
        }
        Ok(())
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.published
    }
}
