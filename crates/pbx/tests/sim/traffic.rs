//! Generated traffic: bounded, well-formed, stamped, and cleaned up when stopped.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use csta::Message;
use pbx::sim::{DeviceSet, DurationRange, TrafficConfig};
use tokio::time::{sleep, timeout};

use crate::client::*;

fn fast_config() -> pbx::sim::SimConfig {
    let mut config = config();
    config.devices = DeviceSet::parse("200-299").unwrap();
    config.no_answer_timeout = Duration::from_millis(200);
    config.busy_tone_timeout = Duration::from_secs(5);
    config.trunk.answer_delay = Duration::from_millis(20);
    config.stamp_events = true;
    config
}

fn fast_traffic(max_calls: u64) -> TrafficConfig {
    TrafficConfig {
        calls_per_second: 200.0,
        ring_time: DurationRange::new(Duration::from_millis(10), Duration::from_millis(30)),
        talk_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(60)),
        seed: 7,
        max_calls,
        max_duration: Duration::from_secs(5),
        ..TrafficConfig::default()
    }
}

/// The `ucplusSentAt` stamp of an event, in unix nanoseconds.
fn sent_at(event: &Message) -> Option<u128> {
    let xml = csta::encode(event, csta::Edition::Ed3);
    let (_, rest) = xml.split_once("<ucplusSentAt>")?;
    rest.split_once("</ucplusSentAt>")?.0.parse().ok()
}

#[tokio::test]
async fn bounded_traffic_produces_well_formed_stamped_events() {
    let simulator = start(fast_config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    for device in 200..300 {
        client.monitor(&device.to_string()).await;
    }
    let traffic = simulator.start_traffic(fast_traffic(80));
    let progress = (traffic.started(), traffic.completed());
    assert!(progress.0 <= 80 && progress.1 <= progress.0);
    let counts =
        |t: &pbx::sim::TrafficHandle| (t.started(), t.completed() + t.failed() + t.skipped());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while !traffic.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "traffic still running"
        );
        sleep(Duration::from_millis(20)).await;
    }
    let (started, ended) = counts(&traffic);
    assert_eq!(started, 80);
    assert_eq!(ended, 80);
    assert!(
        traffic.completed() >= 60,
        "only {} completed",
        traffic.completed()
    );
    timeout(PATIENCE, traffic.finished()).await.unwrap();

    let events = client.drain_events().await;
    let stats = simulator.stats();
    assert_eq!(stats.calls_active, 0);
    assert!(stats.calls_started >= 80);
    assert_eq!(stats.events_sent, events.len() as u64);
    assert!(events.len() > 400, "{} events", events.len());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for event in &events {
        let line = client.line(event);
        assert!(!line.starts_with("@?"), "unknown monitor: {line}");
        assert!(!line.contains("absent"), "missing field: {line}");
        let stamp = sent_at(event).unwrap_or_else(|| panic!("no stamp: {line}"));
        assert!(
            stamp <= now && now - stamp < 30_000_000_000,
            "{stamp} {line}"
        );
    }
    let names: std::collections::BTreeSet<&str> = events.iter().map(Message::name).collect();
    for name in [
        "DeliveredEvent",
        "EstablishedEvent",
        "ConnectionClearedEvent",
        "FailedEvent",
        "HeldEvent",
        "TransferedEvent",
        "ConferencedEvent",
    ] {
        assert!(names.contains(name), "no {name} in {names:?}");
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_traffic_and_clears_its_calls() {
    let simulator = start(fast_config()).await;
    let mut traffic_config = fast_traffic(10_000);
    traffic_config.calls_per_second = 100.0;
    traffic_config.talk_time = DurationRange::new(Duration::from_secs(20), Duration::from_secs(30));
    let traffic = simulator.start_traffic(traffic_config);
    // Calls that last 20 s or more pile up.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while traffic.started() < 10 || simulator.stats().calls_active == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} started, {:?}",
            traffic.started(),
            simulator.stats()
        );
        sleep(Duration::from_millis(20)).await;
    }
    drop(traffic);
    // Every one of them is cleared (by the stopped task, as soon as it runs)...
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while simulator.stats().calls_active != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "calls left: {:?}",
            simulator.stats()
        );
        sleep(Duration::from_millis(20)).await;
    }
    // ...and no new one starts.
    let stats = simulator.stats();
    sleep(QUIET).await;
    assert_eq!(simulator.stats().calls_started, stats.calls_started);
    assert_eq!(simulator.stats().calls_active, 0);
}

#[tokio::test]
async fn traffic_stops_starting_calls_after_its_duration() {
    let simulator = start(fast_config()).await;
    let mut traffic_config = fast_traffic(u64::MAX);
    traffic_config.calls_per_second = 100.0;
    traffic_config.max_duration = Duration::from_millis(300);
    let began = tokio::time::Instant::now();
    let traffic = simulator.start_traffic(traffic_config);
    timeout(PATIENCE, async {
        while !traffic.is_finished() {
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("traffic ends");
    // Unbounded in count, it ended by its duration: not before it, and having started
    // at most one call per tick of 10 ms in 300 ms (the first tick is at once). A busy
    // machine may start fewer, never more.
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert!(
        (1..=31).contains(&traffic.started()),
        "{}",
        traffic.started()
    );
    let started = simulator.stats().calls_started;
    sleep(QUIET).await;
    assert_eq!(
        simulator.stats().calls_started,
        started,
        "a call after the end"
    );
    assert_eq!(simulator.stats().calls_active, 0);
}
