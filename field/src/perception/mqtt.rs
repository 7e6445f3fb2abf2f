//! The MQTT ends: the [`Subscriber`] a daemon reads frames from (QoS 1, persistent session,
//! reconnect with back-off, bounded queue into the daemon) and the [`Publisher`] the demo and
//! the load test send frames with. Client: `rumqttc` (MQTT 3.1.1, plain TCP).

use super::codec::{DropReason, SensorDirectory, SensorKind, WireBatch, SCHEMA_VERSION};
use super::ingest::{Ingest, IngestConfig};
use super::topic::{batch_topic, frame_topic, region_filter, valid_level, BATCH_LEVEL};
use crate::central::{CameraSource, CameraStats};
use roadnet::CameraFrame;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The largest MQTT packet the client takes in, bytes. Larger than the ingest's
/// [`super::MAX_PAYLOAD_BYTES`] on purpose: an oversized frame is then received, counted and
/// dropped, where a client-side limit would break the connection and the broker would redeliver
/// the same packet to the persistent session for ever. Configure the broker's own limit
/// (Mosquitto `max_packet_size`) at or below this.
pub const CLIENT_MAX_PACKET_BYTES: usize = 1024 * 1024;

/// A broker address from `mqtt://host[:port]` (or `tcp://`, or bare `host:port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerAddr {
    pub host: String,
    pub port: u16,
}

impl BrokerAddr {
    pub fn parse(url: &str) -> Result<BrokerAddr, String> {
        let rest = if let Some(r) = url.strip_prefix("mqtt://") {
            r
        } else if let Some(r) = url.strip_prefix("tcp://") {
            r
        } else if url.contains("://") {
            return Err(format!(
                "--mqtt {url}: scheme not supported (mqtt:// or tcp://; TLS is not in this build)"
            ));
        } else {
            url
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("--mqtt {url}: port '{p}' is not in 1..=65535"))?,
            ),
            None => (rest, 1883),
        };
        // a host name or an IPv4 address; an IPv6 address in brackets
        let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'))
        {
            inner.parse::<std::net::Ipv6Addr>().is_ok()
        } else {
            host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if host.is_empty() || !host_ok {
            return Err(format!("--mqtt {url}: want mqtt://host[:port]"));
        }
        Ok(BrokerAddr {
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for BrokerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mqtt://{}:{}", self.host, self.port)
    }
}

/// Milliseconds on the receiver's clock (the sensors' time base).
pub type ClockMs = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Unix time in milliseconds: the field's time base.
pub fn system_clock_ms() -> ClockMs {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    })
}

/// How a subscriber connects and what it owns.
#[derive(Clone, Debug)]
pub struct SubscriberConfig {
    pub broker: BrokerAddr,
    /// The MQTT client id; with `clean_session = false` the broker keeps the session (the
    /// subscriptions and the QoS 1 messages queued while away) under this id, so it must be
    /// stable across restarts and unique per daemon.
    pub client_id: String,
    pub clean_session: bool,
    /// The regions this daemon owns (none: every region).
    pub regions: Vec<String>,
    /// Subscribe through `$share/<group>/…`: several daemons in one group split the messages.
    pub share_group: Option<String>,
    /// Frames held between two daemon steps; past it, frames are dropped as `queue_full`.
    pub queue_capacity: usize,
    pub keep_alive: Duration,
    /// Reconnect back-off: doubles from `min` to `max` while the broker is unreachable.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub ingest: IngestConfig,
}

impl SubscriberConfig {
    pub fn new(broker: BrokerAddr, client_id: impl Into<String>) -> SubscriberConfig {
        SubscriberConfig {
            broker,
            client_id: client_id.into(),
            clean_session: false,
            regions: Vec::new(),
            share_group: None,
            queue_capacity: 65_536,
            keep_alive: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            ingest: IngestConfig::default(),
        }
    }

    /// The topic filters this subscriber asks for.
    pub fn filters(&self) -> Vec<String> {
        let g = self.share_group.as_deref();
        if self.regions.is_empty() {
            vec![region_filter(None, g)]
        } else {
            self.regions
                .iter()
                .map(|r| region_filter(Some(r), g))
                .collect()
        }
    }
}

#[derive(Debug)]
struct Shared {
    ingest: Ingest,
    connected: bool,
    connects: u64,
}

/// Counters a subscriber task publishes for waiters: messages handled, connections made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub handled: u64,
    pub connects: u64,
    /// SUBACKs received: the broker routes the filters to this client from then on.
    pub subscribed: u64,
}

/// A clonable view of a [`Subscriber`]'s [`Progress`].
#[derive(Clone, Debug)]
pub struct ProgressWatch(watch::Receiver<Progress>);

impl ProgressWatch {
    /// Wait until `handled` messages went through the ingest, or `timeout`.
    pub async fn wait_handled(&mut self, handled: u64, timeout: Duration) -> Progress {
        let _ = tokio::time::timeout(timeout, self.0.wait_for(|p| p.handled >= handled)).await;
        *self.0.borrow()
    }
}

/// TCP_NODELAY on the client's socket: a frame (and a PUBACK) is a small write that should
/// leave at once. With Nagle's algorithm a write behind unacknowledged data waits for the peer's
/// (possibly delayed, up to 40 ms) ACK — measured in the demo as steps of 10–50 ms where the
/// rest take 0.3 ms.
fn no_delay(eventloop: &mut EventLoop) {
    let mut net = eventloop.network_options();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
}

/// Frames from the broker, checked by an [`Ingest`]; a [`CameraSource`] for the daemon.
pub struct Subscriber {
    rx: mpsc::Receiver<CameraFrame>,
    shared: Arc<Mutex<Shared>>,
    progress: watch::Receiver<Progress>,
    clock: ClockMs,
    delivered: u64,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("delivered", &self.delivered)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    /// Start the subscriber task on the current tokio runtime. It connects in the background
    /// (and keeps reconnecting); nothing here waits for the broker.
    pub fn spawn(
        cfg: SubscriberConfig,
        dir: Arc<SensorDirectory>,
        clock: ClockMs,
    ) -> Result<Subscriber, String> {
        for r in &cfg.regions {
            if !valid_level(r) {
                return Err(format!(
                    "--region '{r}': a region is one topic level (no '/', '+', '#', leading '$')"
                ));
            }
        }
        if let Some(g) = &cfg.share_group {
            if !valid_level(g) {
                return Err(format!("share group '{g}': one topic level"));
            }
        }
        let mut opts = MqttOptions::new(&cfg.client_id, &cfg.broker.host, cfg.broker.port);
        opts.set_clean_session(cfg.clean_session)
            .set_keep_alive(cfg.keep_alive)
            .set_max_packet_size(CLIENT_MAX_PACKET_BYTES, CLIENT_MAX_PACKET_BYTES)
            .set_inflight(1000);
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        no_delay(&mut eventloop);
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let shared = Arc::new(Mutex::new(Shared {
            ingest: Ingest::new(dir, cfg.ingest),
            connected: false,
            connects: 0,
        }));
        let (ptx, progress) = watch::channel(Progress::default());
        let task = tokio::spawn(run_subscriber(
            cfg,
            client,
            eventloop,
            tx,
            shared.clone(),
            ptx,
            clock.clone(),
        ));
        Ok(Subscriber {
            rx,
            shared,
            progress,
            clock,
            delivered: 0,
            task,
        })
    }

    /// Wait until `handled` messages (accepted or dropped) have been through the ingest, or
    /// `timeout` passed; returns the progress either way.
    pub async fn wait_handled(&mut self, handled: u64, timeout: Duration) -> Progress {
        let _ =
            tokio::time::timeout(timeout, self.progress.wait_for(|p| p.handled >= handled)).await;
        *self.progress.borrow()
    }

    /// Wait until the broker acknowledged the subscriptions (after a connection without a
    /// stored session), or `timeout`.
    pub async fn wait_subscribed(&mut self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.progress.wait_for(|p| p.subscribed >= 1))
            .await
            .is_ok()
    }

    /// Wait until the client is connected (`connects` ≥ `n`), or `timeout`.
    pub async fn wait_connected(&mut self, n: u64, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.progress.wait_for(|p| p.connects >= n))
            .await
            .is_ok()
    }

    /// A handle to wait on this subscriber's progress from elsewhere (the subscriber itself
    /// may be inside the daemon).
    pub fn progress(&self) -> ProgressWatch {
        ProgressWatch(self.progress.clone())
    }

    pub fn is_connected(&self) -> bool {
        self.shared.lock().is_ok_and(|s| s.connected)
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CameraSource for Subscriber {
    fn drain(&mut self, out: &mut Vec<CameraFrame>) {
        while let Ok(f) = self.rx.try_recv() {
            out.push(f);
            self.delivered += 1;
        }
    }
    fn stats(&self) -> CameraStats {
        let now = (self.clock)();
        let mut s = self
            .shared
            .lock()
            .map(|s| s.ingest.stats(now))
            .unwrap_or_default();
        s.delivered = self.delivered;
        s
    }
}

async fn run_subscriber(
    cfg: SubscriberConfig,
    client: AsyncClient,
    mut eventloop: EventLoop,
    tx: mpsc::Sender<CameraFrame>,
    shared: Arc<Mutex<Shared>>,
    progress: watch::Sender<Progress>,
    clock: ClockMs,
) {
    let filters = cfg.filters();
    let mut backoff = cfg.backoff_min;
    let mut down_logged = false;
    // A broker that is not listening yet when the client starts (the embedded one comes up
    // beside it) is not news: the first second of refusals before any connection is debug.
    let started = std::time::Instant::now();
    let mut ever_connected = false;
    // SUBACKs since the last CONNACK: all filters acknowledged means frames flow
    let mut subacks = 0usize;
    // the frames of one message (one, or a batch's), reused
    let mut offered = Vec::new();
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let now = clock();
                let Ok(mut sh) = shared.lock() else {
                    return;
                };
                sh.ingest
                    .offer_message(&p.topic, &p.payload, now, &mut offered);
                for r in offered.drain(..) {
                    match r {
                        Ok(frame) => {
                            if tx.try_send(frame).is_err() {
                                sh.ingest.count_drop(DropReason::QueueFull);
                            }
                        }
                        Err(rej) => tracing::debug!("MQTT frame dropped: {rej}"),
                    }
                }
                drop(sh);
                progress.send_modify(|p| p.handled += 1);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                subacks += 1;
                // the operator's sign that frames flow from here on (one line per session)
                if subacks == filters.len() {
                    tracing::info!(
                        "MQTT broker {}: subscribed to {}",
                        cfg.broker,
                        filters.join(", ")
                    );
                }
                progress.send_modify(|p| p.subscribed += 1);
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = cfg.backoff_min;
                if down_logged {
                    tracing::info!("MQTT broker {} reachable again", cfg.broker);
                    down_logged = false;
                }
                ever_connected = true;
                if let Ok(mut sh) = shared.lock() {
                    sh.connected = true;
                    sh.connects += 1;
                }
                // a resumed session keeps its subscriptions; a new one asks again
                subacks = 0;
                if ack.session_present {
                    tracing::info!(
                        "MQTT broker {}: session resumed, subscribed to {}",
                        cfg.broker,
                        filters.join(", ")
                    );
                } else {
                    for f in &filters {
                        if let Err(e) = client.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                            tracing::warn!("MQTT subscribe {f}: {e}");
                        }
                    }
                }
                progress.send_modify(|p| p.connects += 1);
            }
            Ok(_) => {}
            Err(e) => {
                if let Ok(mut sh) = shared.lock() {
                    sh.connected = false;
                }
                if !down_logged {
                    if ever_connected || started.elapsed() >= Duration::from_secs(1) {
                        tracing::warn!("MQTT broker {}: {e}; reconnecting", cfg.broker);
                        down_logged = true;
                    } else {
                        tracing::debug!("MQTT broker {}: {e}; not up yet, retrying", cfg.broker);
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(cfg.backoff_max);
            }
        }
    }
}

/// Sends frames: the demo (simulator cameras) and the load test. QoS 1; counts the broker's
/// acknowledgements.
pub struct Publisher {
    client: AsyncClient,
    dir: Arc<SensorDirectory>,
    seq: Vec<u64>,
    acked: watch::Receiver<u64>,
    sent: u64,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("sent", &self.sent)
            .field("acked", &*self.acked.borrow())
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Connect in the background; `inflight` QoS 1 messages may await their PUBACK at once.
    pub fn spawn(
        broker: &BrokerAddr,
        client_id: &str,
        dir: Arc<SensorDirectory>,
        inflight: u16,
    ) -> Publisher {
        let mut opts = MqttOptions::new(client_id, &broker.host, broker.port);
        opts.set_clean_session(false)
            .set_keep_alive(Duration::from_secs(10))
            .set_max_packet_size(CLIENT_MAX_PACKET_BYTES, CLIENT_MAX_PACKET_BYTES)
            .set_inflight(inflight.max(1));
        let (client, mut eventloop) = AsyncClient::new(opts, 1024);
        no_delay(&mut eventloop);
        let (atx, acked) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => atx.send_modify(|n| *n += 1),
                    Ok(Event::Incoming(Packet::ConnAck(_))) => backoff = Duration::from_millis(50),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!("MQTT publisher: {e}");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
        Publisher {
            client,
            seq: vec![0; dir.len()],
            dir,
            acked,
            sent: 0,
            task,
        }
    }

    /// Publish one frame on `greenwave/v1/<region>/<kind>/<sensor>`, with the sensor's next
    /// sequence number.
    pub async fn publish(
        &mut self,
        region: &str,
        kind: SensorKind,
        frame: &CameraFrame,
        sensor_time_ms: u64,
    ) -> Result<(), String> {
        let k = frame.camera.index();
        let seq = self.seq.get(k).copied().unwrap_or(0) + 1;
        let w = self
            .dir
            .encode(frame, kind, seq, sensor_time_ms)
            .ok_or_else(|| format!("{} is not a camera of the network", frame.camera))?;
        let payload = serde_json::to_vec(&w).map_err(|e| e.to_string())?;
        self.publish_raw(&frame_topic(region, kind, &w.sensor), payload)
            .await?;
        if let Some(s) = self.seq.get_mut(k) {
            *s = seq;
        }
        Ok(())
    }

    /// Publish `frames` (one instant of several sensors, `kind` each) as one batch on
    /// `greenwave/v1/<region>/batch/<source>`, each with its sensor's next sequence number.
    /// Nothing is sent for no frames.
    pub async fn publish_batch(
        &mut self,
        region: &str,
        source: &str,
        frames: &[CameraFrame],
        kind: SensorKind,
        sensor_time_ms: u64,
    ) -> Result<(), String> {
        if frames.is_empty() {
            return Ok(());
        }
        let mut wire = Vec::with_capacity(frames.len());
        for f in frames {
            let k = f.camera.index();
            let seq = self.seq.get(k).copied().unwrap_or(0) + 1;
            wire.push(
                self.dir
                    .encode(f, kind, seq, sensor_time_ms)
                    .ok_or_else(|| format!("{} is not a camera of the network", f.camera))?,
            );
        }
        let batch = WireBatch {
            schema: SCHEMA_VERSION,
            kind: BATCH_LEVEL.to_string(),
            source: source.to_string(),
            frames: wire,
        };
        let payload = serde_json::to_vec(&batch).map_err(|e| e.to_string())?;
        self.publish_raw(&batch_topic(region, source), payload)
            .await?;
        for f in frames {
            if let Some(s) = self.seq.get_mut(f.camera.index()) {
                *s += 1;
            }
        }
        Ok(())
    }

    /// Publish any payload on any topic (QoS 1): hostile-input tests, replays.
    pub async fn publish_raw(&mut self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .map_err(|e| format!("MQTT publish on {topic}: {e}"))?;
        self.sent += 1;
        Ok(())
    }

    /// Messages handed to the client so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
    /// PUBACKs received so far (the broker holds these messages).
    pub fn acked(&self) -> u64 {
        *self.acked.borrow()
    }
    /// Wait until `n` messages are acknowledged, or `timeout`; returns the count.
    pub async fn wait_acked(&mut self, n: u64, timeout: Duration) -> u64 {
        let _ = tokio::time::timeout(timeout, self.acked.wait_for(|a| *a >= n)).await;
        *self.acked.borrow()
    }
    /// Say goodbye to the broker (the session stays) and stop the client task.
    pub async fn disconnect(self) {
        let _ = self.client.disconnect().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.task.abort();
    }
}
