//! The MQTT frame codec and the ingest: a round trip, every drop reason by hand, a sensor
//! restart, and 10,000 seeded hostile messages — straight into the ingest, and through the
//! embedded broker into a subscriber — each counted under the reason it was made for.

mod perception_support;

use field::central::CameraSource;
use field::perception::{
    batch_topic, frame_topic, parse_batch_topic, DropReason, EmbeddedBroker, Ingest, IngestConfig,
    Publisher, SensorDirectory, SensorKind, Subscriber, SubscriberConfig, MAX_BATCH_FRAMES,
    MAX_BATCH_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES,
};
use perception_support::{bundled_net, frame, Hostile, NOW_MS};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn cfg() -> IngestConfig {
    IngestConfig {
        max_age_ms: 5_000,
        max_skew_ms: 2_000,
        origin_ms: NOW_MS - 60_000,
        silent_after_ms: 10_000,
    }
}

fn payload(dir: &SensorDirectory, f: &roadnet::CameraFrame, seq: u64, t_ms: u64) -> Vec<u8> {
    serde_json::to_vec(
        &dir.encode(f, SensorKind::Camera, seq, t_ms)
            .expect("encodes"),
    )
    .expect("json")
}

#[test]
fn a_frame_travels_unchanged_and_gets_the_controller_time() {
    let net = bundled_net();
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut ing = Ingest::new(dir.clone(), cfg());
    let f = frame(&net, 2, 0.0);
    let topic = frame_topic("corridor", SensorKind::Camera, &net.cameras[2].name);
    let p = payload(&dir, &f, 7, NOW_MS - 250);
    let text = String::from_utf8(p.clone()).expect("utf-8");
    // the lane travels by its configured name, not by an index
    assert!(text.contains("\"lane\":\"main_eb_elm:0\""), "{text}");
    let got = ing.offer(&topic, &p, NOW_MS).expect("accepted");
    // 60 s after the origin, minus the 250 ms the frame is old
    assert_eq!(got.time_s, 59.75);
    assert_eq!(got.camera, f.camera);
    assert_eq!(got.lanes, f.lanes);
    assert_eq!(got.vehicles, f.vehicles);
    let s = ing.stats(NOW_MS);
    assert_eq!((s.received, s.accepted, s.dropped_total()), (1, 1, 0));
    // every other camera of the network has not been heard from
    assert_eq!(s.silent_sensors, net.cameras.len() as u64 - 1);
    assert_eq!(
        ing.stats(NOW_MS + 10_001).silent_sensors,
        net.cameras.len() as u64
    );
}

#[test]
fn each_drop_reason_is_counted_by_hand() {
    let net = bundled_net();
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut ing = Ingest::new(dir.clone(), cfg());
    let f = frame(&net, 0, 0.0);
    let cam = net.cameras[0].name.clone();
    let topic = frame_topic("r1", SensorKind::Camera, &cam);
    let reason =
        |r: Result<roadnet::CameraFrame, field::perception::Rejected>| r.err().map(|e| e.reason);
    let ok = payload(&dir, &f, 10, NOW_MS);
    assert_eq!(reason(ing.offer(&topic, &ok, NOW_MS)), None);
    // the same sequence number again: a QoS 1 redelivery
    assert_eq!(
        reason(ing.offer(&topic, &ok, NOW_MS)),
        Some(DropReason::Duplicate)
    );
    // a lower number with an older clock: reordered
    let old = payload(&dir, &f, 9, NOW_MS - 10);
    assert_eq!(
        reason(ing.offer(&topic, &old, NOW_MS)),
        Some(DropReason::OutOfOrder)
    );
    // a lower number with a newer clock: the sensor restarted; accepted
    let restart = payload(&dir, &f, 1, NOW_MS + 5);
    assert_eq!(reason(ing.offer(&topic, &restart, NOW_MS + 5)), None);
    let late = payload(&dir, &f, 2, NOW_MS - 5_001);
    assert_eq!(
        reason(ing.offer(&topic, &late, NOW_MS)),
        Some(DropReason::Late)
    );
    let future = payload(&dir, &f, 3, NOW_MS + 2_001);
    assert_eq!(
        reason(ing.offer(&topic, &future, NOW_MS)),
        Some(DropReason::Future)
    );
    let mut big = ok.clone();
    big.resize(MAX_PAYLOAD_BYTES + 1, b' ');
    assert_eq!(
        reason(ing.offer(&topic, &big, NOW_MS)),
        Some(DropReason::Oversized)
    );
    assert_eq!(
        reason(ing.offer("greenwave/v1/r1/lidar/x", &ok, NOW_MS)),
        Some(DropReason::BadTopic)
    );
    assert_eq!(
        reason(ing.offer("greenwave/v2/r1/camera/x", &ok, NOW_MS)),
        Some(DropReason::BadTopic)
    );
    assert_eq!(
        reason(ing.offer(&topic, b"{\"schema\":1", NOW_MS)),
        Some(DropReason::Malformed)
    );
    let v2 = String::from_utf8(ok.clone())
        .expect("utf-8")
        .replace("\"schema\":1", "\"schema\":2");
    assert_eq!(
        reason(ing.offer(&topic, v2.as_bytes(), NOW_MS)),
        Some(DropReason::Schema)
    );
    let other = frame_topic("r1", SensorKind::Camera, &net.cameras[1].name);
    assert_eq!(
        reason(ing.offer(&other, &ok, NOW_MS)),
        Some(DropReason::TopicMismatch)
    );
    let radar = frame_topic("r1", SensorKind::Radar, &cam);
    assert_eq!(
        reason(ing.offer(&radar, &ok, NOW_MS)),
        Some(DropReason::TopicMismatch)
    );
    let nope = String::from_utf8(ok.clone())
        .expect("utf-8")
        .replace(&cam, "cam_nope");
    assert_eq!(
        reason(ing.offer(
            &frame_topic("r1", SensorKind::Camera, "cam_nope"),
            nope.as_bytes(),
            NOW_MS
        )),
        Some(DropReason::UnknownCamera)
    );
    // a lane of another camera
    let foreign =
        String::from_utf8(ok.clone())
            .expect("utf-8")
            .replacen("main_eb_oak:0", "main_wb_elm:0", 1);
    assert_ne!(foreign.as_bytes(), &ok[..]);
    assert_eq!(
        reason(ing.offer(&topic, foreign.as_bytes(), NOW_MS)),
        Some(DropReason::Invalid)
    );
    let mut bad = f.clone();
    bad.lanes[1].halting = 3; // > vehicles (2)
    assert_eq!(
        reason(ing.offer(&topic, &payload(&dir, &bad, 20, NOW_MS), NOW_MS)),
        Some(DropReason::Invalid)
    );
    let s = ing.stats(NOW_MS);
    assert_eq!((s.received, s.accepted, s.sensor_restarts), (16, 2, 1));
    let want: BTreeMap<String, u64> = [
        ("bad_topic", 2),
        ("duplicate", 1),
        ("future", 1),
        ("invalid", 2),
        ("late", 1),
        ("malformed", 1),
        ("oversized", 1),
        ("out_of_order", 1),
        ("queue_full", 0),
        ("schema", 1),
        ("topic_mismatch", 2),
        ("unknown_camera", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(s.dropped, want);
}

fn tally(msgs: &[perception_support::Message]) -> (u64, BTreeMap<String, u64>) {
    let mut want: BTreeMap<String, u64> = DropReason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), 0))
        .collect();
    let mut valid = 0;
    for m in msgs {
        match m.expect {
            None => valid += 1,
            Some(r) => *want.entry(r.as_str().to_string()).or_default() += 1,
        }
    }
    (valid, want)
}

#[test]
fn ten_thousand_hostile_messages_are_each_counted_by_reason() {
    let net = bundled_net();
    let regions = vec!["corridor".to_string(); net.cameras.len()];
    let mut g = Hostile::new(net.clone(), regions, 0x5eed_0011);
    let msgs: Vec<_> = (0..10_000).map(|_| g.next()).collect();
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut ing = Ingest::new(dir, cfg());
    for (k, m) in msgs.iter().enumerate() {
        let got = ing
            .offer(&m.topic, &m.payload, NOW_MS)
            .err()
            .map(|e| e.reason);
        assert_eq!(got, m.expect, "message {k} on {}", m.topic);
    }
    let (valid, want) = tally(&msgs);
    let s = ing.stats(NOW_MS);
    assert_eq!(s.received, 10_000);
    assert_eq!(s.accepted, valid);
    assert_eq!(s.dropped, want);
    // the generator exercised every reason the ingest decides (not queue_full)
    for r in DropReason::ALL
        .iter()
        .filter(|r| **r != DropReason::QueueFull)
    {
        assert!(want[r.as_str()] > 100, "{r}: {}", want[r.as_str()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_through_the_embedded_broker_are_counted_and_never_reach_the_controller() {
    let net = bundled_net();
    let broker = EmbeddedBroker::start().expect("embedded broker");
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut sc = SubscriberConfig::new(broker.addr(), "hostile-sub");
    sc.ingest = cfg();
    sc.clean_session = true;
    let mut sub =
        Subscriber::spawn(sc, dir.clone(), Arc::new(|| NOW_MS)).expect("subscriber starts");
    assert!(
        sub.wait_connected(1, Duration::from_secs(10)).await,
        "subscriber connects"
    );
    assert!(
        sub.wait_subscribed(Duration::from_secs(10)).await,
        "subscribed"
    );
    let regions = vec!["corridor".to_string(); net.cameras.len()];
    let mut g = Hostile::new(net.clone(), regions, 0xdead_beef);
    let msgs: Vec<_> = (0..10_000).map(|_| g.next()).collect();
    let mut publ = Publisher::spawn(&broker.addr(), "hostile-pub", dir, 100);
    for m in &msgs {
        publ.publish_raw(&m.topic, m.payload.clone())
            .await
            .expect("queued");
    }
    assert_eq!(
        publ.wait_acked(10_000, Duration::from_secs(60)).await,
        10_000
    );
    let p = sub.wait_handled(10_000, Duration::from_secs(60)).await;
    assert_eq!(p.handled, 10_000);
    let mut frames = Vec::new();
    sub.drain(&mut frames);
    let (valid, want) = tally(&msgs);
    let s = sub.stats();
    assert_eq!(s.received, 10_000);
    assert_eq!(s.accepted, valid);
    assert_eq!(s.delivered, valid);
    assert_eq!(frames.len() as u64, valid);
    assert_eq!(s.dropped, want);
    publ.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_instead_of_growing() {
    let net = bundled_net();
    let broker = EmbeddedBroker::start().expect("embedded broker");
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut sc = SubscriberConfig::new(broker.addr(), "queue-sub");
    sc.ingest = cfg();
    sc.clean_session = true;
    sc.queue_capacity = 5;
    let mut sub = Subscriber::spawn(sc, dir.clone(), Arc::new(|| NOW_MS)).expect("starts");
    assert!(sub.wait_connected(1, Duration::from_secs(10)).await);
    assert!(
        sub.wait_subscribed(Duration::from_secs(10)).await,
        "subscribed"
    );
    let mut publ = Publisher::spawn(&broker.addr(), "queue-pub", dir, 100);
    for k in 0..20 {
        let f = frame(&net, 0, 0.0);
        publ.publish("r", SensorKind::Camera, &f, NOW_MS - 20 + k)
            .await
            .expect("queued");
    }
    assert_eq!(
        sub.wait_handled(20, Duration::from_secs(30)).await.handled,
        20
    );
    let mut frames = Vec::new();
    sub.drain(&mut frames);
    let s = sub.stats();
    assert_eq!(frames.len(), 5);
    assert_eq!((s.received, s.accepted, s.delivered), (20, 5, 5));
    assert_eq!(s.dropped["queue_full"], 15);
    assert_eq!(s.dropped_total(), 15);
    // the first five, in order
    let seqs: Vec<f64> = frames.iter().map(|f| f.time_s).collect();
    assert_eq!(
        seqs,
        (0..5)
            .map(|k| (k as f64 - 20.0 + 60_000.0) / 1000.0)
            .collect::<Vec<_>>()
    );
    publ.disconnect().await;
}

/// A batch payload (`docs/perception.md`, "Batches") of raw JSON frames.
fn batch(source: &str, frames: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schema": 1, "kind": "batch", "source": source, "frames": frames
    }))
    .expect("json")
}

fn value(
    dir: &SensorDirectory,
    f: &roadnet::CameraFrame,
    seq: u64,
    t_ms: u64,
) -> serde_json::Value {
    serde_json::from_slice(&payload(dir, f, seq, t_ms)).expect("json")
}

fn offered(
    ing: &mut Ingest,
    topic: &str,
    payload: &[u8],
) -> Vec<Result<roadnet::CameraFrame, field::perception::Rejected>> {
    let mut out = Vec::new();
    ing.offer_message(topic, payload, NOW_MS, &mut out);
    out
}

#[test]
fn a_batch_carries_frames_each_checked_and_counted_as_a_single_one() {
    let net = bundled_net();
    let dir = Arc::new(SensorDirectory::new(&net));
    let frames: Vec<_> = (0..3).map(|k| frame(&net, k, 0.0)).collect();
    let topic = batch_topic("r1", "gw_oak");
    assert_eq!(parse_batch_topic(&topic), Some(("r1", "gw_oak")));
    // a batch of three gives what three single frames give, in order
    let mut by_batch = Ingest::new(dir.clone(), cfg());
    let mut single = Ingest::new(dir.clone(), cfg());
    let values: Vec<_> = frames
        .iter()
        .map(|f| value(&dir, f, 1, NOW_MS - 250))
        .collect();
    let got = offered(&mut by_batch, &topic, &batch("gw_oak", &values));
    assert_eq!(got.len(), 3);
    for (f, g) in frames.iter().zip(&got) {
        let t = frame_topic(
            "r1",
            SensorKind::Camera,
            dir.sensor_name(f.camera).expect("named"),
        );
        let want = single.offer(&t, &payload(&dir, f, 1, NOW_MS - 250), NOW_MS);
        assert_eq!(g, &want);
        let g = g.as_ref().expect("accepted");
        assert_eq!((g.camera, g.time_s), (f.camera, 59.75));
    }
    let s = by_batch.stats(NOW_MS);
    assert_eq!((s.received, s.accepted, s.dropped_total()), (3, 3, 0));

    // one bad frame costs only itself: a duplicate, another schema, not a frame, a stranger,
    // one larger than a single frame may be (the batch itself is within its own limit)
    let mut unknown = value(&dir, &frames[2], 9, NOW_MS);
    unknown["sensor"] = "nobody".into();
    let mut v2 = value(&dir, &frames[1], 2, NOW_MS);
    v2["schema"] = 2.into();
    let mixed = [
        value(&dir, &frames[0], 1, NOW_MS),
        value(&dir, &frames[0], 2, NOW_MS),
        v2,
        serde_json::json!({"x": 1}),
        unknown,
        serde_json::json!({ "pad": "x".repeat(MAX_PAYLOAD_BYTES) }),
        value(&dir, &frames[2], 2, NOW_MS),
    ];
    let reasons: Vec<_> = offered(&mut by_batch, &topic, &batch("gw_oak", &mixed))
        .into_iter()
        .map(|r| r.err().map(|e| e.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            Some(DropReason::Duplicate),
            None,
            Some(DropReason::Schema),
            Some(DropReason::Malformed),
            Some(DropReason::UnknownCamera),
            Some(DropReason::Oversized),
            None
        ]
    );
    let s = by_batch.stats(NOW_MS);
    assert_eq!((s.received, s.accepted, s.dropped_total()), (10, 5, 5));

    // refused as a whole: one received, one drop each
    let ok = [value(&dir, &frames[1], 3, NOW_MS)];
    let mut whole = |payload: Vec<u8>, topic: &str| {
        let r = offered(&mut by_batch, topic, &payload);
        assert_eq!(r.len(), 1);
        r[0].as_ref().err().map(|e| e.reason)
    };
    assert_eq!(
        whole(batch("gw_elm", &ok), &topic),
        Some(DropReason::TopicMismatch)
    );
    let mut not_batch = serde_json::from_slice::<serde_json::Value>(&batch("gw_oak", &ok)).unwrap();
    not_batch["kind"] = "camera".into();
    assert_eq!(
        whole(serde_json::to_vec(&not_batch).unwrap(), &topic),
        Some(DropReason::Malformed)
    );
    // a single frame is not a batch, on a batch topic
    assert_eq!(
        whole(payload(&dir, &frames[1], 3, NOW_MS), &topic),
        Some(DropReason::Malformed)
    );
    assert_eq!(whole(b"[1,2".to_vec(), &topic), Some(DropReason::Malformed));
    let mut v2 = serde_json::from_slice::<serde_json::Value>(&batch("gw_oak", &ok)).unwrap();
    v2["schema"] = 2.into();
    assert_eq!(
        whole(serde_json::to_vec(&v2).unwrap(), &topic),
        Some(DropReason::Schema)
    );
    let many = vec![serde_json::json!({}); MAX_BATCH_FRAMES + 1];
    assert_eq!(
        whole(batch("gw_oak", &many), &topic),
        Some(DropReason::Oversized)
    );
    assert_eq!(
        whole(vec![b' '; MAX_BATCH_PAYLOAD_BYTES + 1], &topic),
        Some(DropReason::Oversized)
    );
    // a batch topic with a bad level is no batch topic: refused as a frame topic
    assert_eq!(parse_batch_topic("greenwave/v1/r1/batch/+"), None);
    assert_eq!(parse_batch_topic("greenwave/v1/r1/batch/a/b"), None);
    assert_eq!(
        whole(batch("gw_oak", &ok), "greenwave/v1/r1/batch/a/b"),
        Some(DropReason::BadTopic)
    );
    let s = by_batch.stats(NOW_MS);
    assert_eq!((s.received, s.accepted), (18, 5));
    assert_eq!(s.dropped["topic_mismatch"], 1);
    assert_eq!(s.dropped["malformed"], 4);
    assert_eq!(s.dropped["schema"], 2);
    assert_eq!(s.dropped["oversized"], 3);
    assert_eq!(s.dropped["bad_topic"], 1);
    assert_eq!(s.dropped_total(), 13);
}
