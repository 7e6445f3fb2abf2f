//! Cameras over a real Mosquitto (Debian package `mosquitto`; each test starts its own broker
//! on a free loopback port with a temporary config and persistence directory). Skips with a
//! `skipped:` line when Mosquitto is missing, unless `GREENWAVE_REQUIRE_MOSQUITTO=1` (CI).

mod perception_support;

use field::central::CameraSource;
use field::perception::{
    system_clock_ms, DropReason, IngestConfig, Publisher, SensorDirectory, SensorKind, Subscriber,
    SubscriberConfig,
};
use perception_support::{
    bundled_net, frame, mosquitto_bin, two_regions, Hostile, Mosquitto, NOW_MS,
};
use roadnet::CameraFrame;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// Tolerances wide enough that a broker restart does not make frames late.
fn patient() -> IngestConfig {
    IngestConfig {
        max_age_ms: 600_000,
        max_skew_ms: 60_000,
        origin_ms: 0,
        silent_after_ms: 600_000,
    }
}

/// A frame's identity: (camera, sensor time ms) — unique per published frame here.
fn key(f: &CameraFrame) -> (u32, u64) {
    (f.camera.0, (f.time_s * 1000.0).round() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_run_loses_nothing_acknowledged() {
    let Some(bin) = mosquitto_bin("broker_restart_mid_run_loses_nothing_acknowledged") else {
        return;
    };
    let mut mosq = Mosquitto::start(bin, "restart");
    let net = bundled_net();
    let dir = Arc::new(SensorDirectory::new(&net));
    let clock = system_clock_ms();
    let mut sc = SubscriberConfig::new(mosq.addr(), "restart-sub");
    sc.ingest = patient();
    sc.backoff_max = Duration::from_millis(500);
    let mut sub = Subscriber::spawn(sc, dir.clone(), clock.clone()).expect("subscriber");
    assert!(sub.wait_connected(1, WAIT).await, "subscriber connects");
    assert!(sub.wait_subscribed(WAIT).await, "subscribed");
    let mut publ = Publisher::spawn(&mosq.addr(), "restart-pub", dir, 20);
    let cams = net.cameras.len();
    let total = 400u64;
    let mut published = BTreeSet::new();
    let mut frames = Vec::new();
    let mut t_ms = clock();
    for k in 0..total {
        if k == total / 2 {
            // everything so far is acknowledged, then the broker goes away mid-run: the next
            // frames are published while it is down or restarting
            assert_eq!(publ.wait_acked(k, WAIT).await, k);
            sub.drain(&mut frames);
            mosq.stop();
            assert!(!mosq.dir.join("mosquitto.db").as_os_str().is_empty());
        }
        if k == total / 2 + 50 {
            mosq.restart();
        }
        let cam = (k as usize) % cams;
        t_ms += 1;
        let f = frame(&net, cam, 0.0);
        publ.publish("corridor", SensorKind::Camera, &f, t_ms)
            .await
            .expect("queued");
        published.insert((net.cameras[cam].id.0, t_ms));
    }
    assert_eq!(
        publ.wait_acked(total, WAIT).await,
        total,
        "every frame acknowledged"
    );
    // every acknowledged frame reaches the subscriber (redeliveries are counted as duplicates)
    let mut tries = 0;
    while frames.len() < total as usize && tries < 600 {
        sub.drain(&mut frames);
        tokio::time::sleep(Duration::from_millis(100)).await;
        tries += 1;
    }
    sub.drain(&mut frames);
    let got: BTreeSet<(u32, u64)> = frames.iter().map(key).collect();
    assert_eq!(frames.len(), got.len(), "no frame handed on twice");
    assert_eq!(got, published);
    let s = sub.stats();
    assert_eq!(s.accepted, total);
    assert_eq!(s.delivered, total);
    assert!(
        sub.wait_connected(2, WAIT).await,
        "the subscriber reconnected"
    );
    // only redeliveries may be dropped, nothing else
    let others: u64 = s
        .dropped
        .iter()
        .filter(|(k, _)| k.as_str() != "duplicate")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(others, 0, "{:?}", s.dropped);
    eprintln!(
        "restart: {total} frames, {} redeliveries dropped as duplicates",
        s.dropped["duplicate"]
    );
    publ.disconnect().await;
}

async fn run_two(mosq: &Mosquitto, net: &Arc<roadnet::RoadNet>, shared: bool) {
    let dir = Arc::new(SensorDirectory::new(net));
    let regions = two_regions(net);
    let owned = ["west", "east"];
    let mut subs = Vec::new();
    for (k, r) in owned.iter().enumerate() {
        let mut sc = SubscriberConfig::new(mosq.addr(), format!("daemon-{k}-{shared}"));
        sc.ingest = patient();
        if shared {
            sc.share_group = Some("greenwave".into());
        } else {
            sc.regions = vec![r.to_string()];
        }
        let mut s = Subscriber::spawn(sc, dir.clone(), system_clock_ms()).expect("subscriber");
        assert!(s.wait_connected(1, WAIT).await);
        assert!(s.wait_subscribed(WAIT).await, "subscribed");
        subs.push(s);
    }
    let mut publ = Publisher::spawn(&mosq.addr(), &format!("two-pub-{shared}"), dir, 100);
    let clock = system_clock_ms();
    let t0 = clock();
    let mut per_region: BTreeMap<&str, u64> = BTreeMap::new();
    let mut published = BTreeSet::new();
    let rounds = 60u64;
    for round in 0..rounds {
        for (cam, c) in net.cameras.iter().enumerate() {
            let t = t0 + round * 1000 + cam as u64;
            publ.publish(&regions[cam], SensorKind::Camera, &frame(net, cam, 0.0), t)
                .await
                .expect("queued");
            *per_region.entry(regions[cam].as_str()).or_default() += 1;
            published.insert((c.id.0, t));
        }
    }
    let total = rounds * net.cameras.len() as u64;
    assert_eq!(publ.wait_acked(total, WAIT).await, total);
    let mut handled = 0;
    for s in subs.iter_mut() {
        handled += s.wait_handled(1, WAIT).await.handled;
    }
    // wait until the two together handled every message
    let mut tries = 0;
    while handled < total && tries < 600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        handled = 0;
        for s in subs.iter_mut() {
            handled += s.wait_handled(0, Duration::ZERO).await.handled;
        }
        tries += 1;
    }
    // and a little longer: a message handled twice would show up now
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut all = BTreeSet::new();
    let mut sum = 0;
    for (k, s) in subs.iter_mut().enumerate() {
        let mut frames = Vec::new();
        s.drain(&mut frames);
        let st = s.stats();
        assert_eq!(st.dropped_total(), 0, "daemon {k}: {:?}", st.dropped);
        if !shared {
            // each daemon got exactly its region's frames
            assert_eq!(frames.len() as u64, per_region[owned[k]], "daemon {k}");
            for f in &frames {
                assert_eq!(regions[f.camera.index()], owned[k]);
            }
        } else {
            assert!(!frames.is_empty(), "daemon {k} got a share");
        }
        sum += frames.len();
        all.extend(frames.iter().map(key));
    }
    assert_eq!(sum as u64, total, "every frame handled once, none twice");
    assert_eq!(all, published);
    publ.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_owning_two_regions_handle_every_frame_exactly_once() {
    let Some(bin) = mosquitto_bin("two_daemons_owning_two_regions_handle_every_frame_exactly_once")
    else {
        return;
    };
    let mosq = Mosquitto::start(bin, "regions");
    let net = bundled_net();
    let regions = two_regions(&net);
    assert!(regions.iter().any(|r| r == "west") && regions.iter().any(|r| r == "east"));
    run_two(&mosq, &net, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_in_one_shared_subscription_handle_every_frame_exactly_once() {
    let Some(bin) =
        mosquitto_bin("two_daemons_in_one_shared_subscription_handle_every_frame_exactly_once")
    else {
        return;
    };
    let mosq = Mosquitto::start(bin, "shared");
    let net = bundled_net();
    run_two(&mosq, &net, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_messages_through_mosquitto_are_counted_by_reason() {
    let Some(bin) =
        mosquitto_bin("ten_thousand_hostile_messages_through_mosquitto_are_counted_by_reason")
    else {
        return;
    };
    let mosq = Mosquitto::start(bin, "hostile");
    let net = bundled_net();
    let dir = Arc::new(SensorDirectory::new(&net));
    let mut sc = SubscriberConfig::new(mosq.addr(), "hostile-sub");
    sc.ingest = IngestConfig {
        max_age_ms: 5_000,
        max_skew_ms: 2_000,
        origin_ms: 0,
        silent_after_ms: 10_000,
    };
    let mut sub = Subscriber::spawn(sc, dir.clone(), Arc::new(|| NOW_MS)).expect("subscriber");
    assert!(sub.wait_connected(1, WAIT).await);
    assert!(sub.wait_subscribed(WAIT).await, "subscribed");
    let regions = vec!["corridor".to_string(); net.cameras.len()];
    let mut g = Hostile::new(net.clone(), regions, 0x0bad_cafe);
    let msgs: Vec<_> = (0..10_000).map(|_| g.next()).collect();
    let mut publ = Publisher::spawn(&mosq.addr(), "hostile-pub", dir, 100);
    for m in &msgs {
        publ.publish_raw(&m.topic, m.payload.clone())
            .await
            .expect("queued");
    }
    assert_eq!(publ.wait_acked(10_000, WAIT).await, 10_000);
    assert_eq!(sub.wait_handled(10_000, WAIT).await.handled, 10_000);
    let mut frames = Vec::new();
    sub.drain(&mut frames);
    let mut want: BTreeMap<String, u64> = DropReason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), 0))
        .collect();
    let mut valid = 0;
    for m in &msgs {
        match m.expect {
            None => valid += 1,
            Some(r) => *want.entry(r.as_str().to_string()).or_default() += 1,
        }
    }
    let s = sub.stats();
    assert_eq!(s.received, 10_000);
    assert_eq!((s.accepted, frames.len() as u64), (valid, valid));
    assert_eq!(s.dropped, want);
    publ.disconnect().await;
}
