//! Fault injection: dropped links, a silent switch, malformed documents, a restart.

use std::time::Duration;

use csta::Message;
use pbx::sim::{OpenScapeConfig, SessionPattern, Simulator};
use tokio::time::{Instant, sleep};

use crate::client::*;

/// Polls `condition` until it holds (or fails the test after a while).
async fn eventually(simulator: &Simulator, condition: impl Fn(&pbx::sim::SimStats) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition(&simulator.stats()) {
        assert!(Instant::now() < deadline, "{:?}", simulator.stats());
        sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn drop_links_closes_every_connection() {
    let simulator = start(config()).await;
    let mut first = Client::connect(simulator.local_addr()).await;
    let mut second = Client::connect(simulator.local_addr()).await;
    first.monitor("200").await;
    second.monitor("201").await;
    simulator.drop_links();
    assert!(first.closed_within(PATIENCE).await);
    assert!(second.closed_within(PATIENCE).await);
    eventually(&simulator, |stats| {
        stats.connections_open == 0 && stats.monitors_active == 0
    })
    .await;
    let mut again = Client::connect(simulator.local_addr()).await;
    again.monitor("200").await;
    assert_eq!(simulator.stats().connections_accepted, 3);
}

/// A silence long enough never to end by itself while a test looks: the tests end it
/// (`go_silent(Duration::ZERO)`), so what happens during it does not depend on timing.
const LONG_SILENCE: Duration = Duration::from_secs(600);

#[tokio::test]
async fn a_silent_switch_sends_nothing_then_recovers() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    client.monitor("200").await;
    let handled = simulator.stats().requests_handled;
    simulator.go_silent(LONG_SILENCE);
    let unanswered = client.send(xml("<RequestSystemStatus/>")).await;
    simulator.dial("200", "201").unwrap();
    // The switch carried out the request and the call, and sent nothing of either.
    eventually(&simulator, |stats| {
        stats.requests_handled > handled && stats.events_dropped == 3
    })
    .await;
    assert!(client.idle(QUIET).await.is_none());
    simulator.go_silent(Duration::ZERO);
    assert!(!simulator.is_silent());
    let status = client.request(xml("<RequestSystemStatus/>")).await;
    assert_eq!(status.name(), "RequestSystemStatusResponse");
    assert_ne!(unanswered, None);
    client.no_more_events().await;
    assert_eq!(simulator.stats().events_dropped, 3);
}

#[tokio::test]
async fn a_silent_switch_sends_no_heartbeats_and_keeps_the_link() {
    let mut config = config();
    config.session = SessionPattern::OpenScape(OpenScapeConfig {
        heartbeat_interval: Duration::from_millis(100),
        missed_heartbeats: 2,
    });
    let simulator = start(config).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    // Heartbeats come (the first right after connecting).
    let deadline = Instant::now() + PATIENCE;
    while client.heartbeats < 2 {
        assert!(Instant::now() < deadline, "no heartbeats");
        assert!(client.idle(Duration::from_millis(50)).await.is_none());
    }
    simulator.go_silent(LONG_SILENCE);
    // One may have been on its way; after that, none for five intervals of silence (a
    // slow machine only makes fewer come).
    let before = client.heartbeats;
    assert!(client.idle(Duration::from_millis(500)).await.is_none());
    assert!(client.heartbeats <= before + 1, "heartbeats during silence");
    // The silence ends: heartbeats resume on the same link.
    let during = client.heartbeats;
    simulator.go_silent(Duration::ZERO);
    let deadline = Instant::now() + PATIENCE;
    while client.heartbeats < during + 2 {
        assert!(Instant::now() < deadline, "heartbeats did not resume");
        assert!(client.idle(Duration::from_millis(50)).await.is_none());
    }
    assert_eq!(simulator.stats().connections_accepted, 1);
}

#[tokio::test]
async fn malformed_documents_reach_every_client() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    client.monitor("200").await;
    simulator.send_malformed();
    let received = client.idle(PATIENCE).await;
    let Some(Received::Undecodable(error)) = received else {
        panic!("{received:?}")
    };
    assert_eq!(error.code(), "csta_malformed_xml");
    assert_eq!(client.undecodable, 1);
    assert_eq!(simulator.stats().malformed_sent, 1);
    client.monitor("201").await;
}

#[tokio::test]
async fn restart_loses_calls_and_monitors() {
    let simulator = start(config()).await;
    let mut client = Client::connect(simulator.local_addr()).await;
    client.monitor("200").await;
    simulator.dial("200", "201").unwrap();
    client.events(3).await;
    simulator.restart();
    assert!(client.closed_within(PATIENCE).await);

    let mut client = Client::connect(simulator.local_addr()).await;
    let snapshot = client
        .request(xml(
            "<SnapshotDevice><snapshotObject>200</snapshotObject></SnapshotDevice>",
        ))
        .await;
    let Message::SnapshotDeviceResponse(snapshot) = snapshot else {
        panic!("{snapshot:?}")
    };
    assert!(snapshot.calls().is_empty());
    assert_eq!(simulator.stats().monitors_active, 0);
    let call = simulator.dial("200", "201").unwrap();
    assert_eq!(
        call.0, 1,
        "call ids start again after a restart, as real switches do"
    );
}
