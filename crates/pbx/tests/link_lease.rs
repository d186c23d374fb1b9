//! A CSTA link talks to its switch only while the node's lease allows: it does not connect
//! before the lease is given, and once the lease lapses it writes nothing more and does not
//! connect again — even though nothing stopped the link itself (a node resuming from a
//! freeze, before its lease loop has run).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use pbx::link::csta::CstaLinkConfig;
use pbx::link::{Lease, channels};
use pbx::sim::{SimConfig, Simulator};
use ucplus_core::cti::{LinkEvent, LinkState};

async fn wait(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_talks_only_while_the_lease_allows() {
    let mut config = SimConfig::new("200-201".parse().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.unwrap();
    let devices: BTreeSet<String> = ["200", "201"].iter().map(|d| d.to_string()).collect();
    let (mut engine, link) = channels(devices);
    let lease = Lease::until_renewed();
    let mut link_config = CstaLinkConfig::new("127.0.0.1", sim.local_addr().port());
    link_config.backoff_min = Duration::from_millis(50);
    link_config.backoff_max = Duration::from_millis(100);
    link_config.heartbeat_interval = Duration::from_millis(200);
    link_config.lease = lease.clone();
    let task = tokio::spawn(pbx::link::csta::run(link_config, link));

    // No lease yet: several retries, no connection.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sim.stats().connections_accepted, 0);

    lease.extend_to(Instant::now() + Duration::from_secs(60));
    loop {
        match tokio::time::timeout(Duration::from_secs(5), engine.events.recv()).await {
            Ok(Some(LinkEvent::State {
                state: LinkState::Up,
                ..
            })) => break,
            Ok(Some(_)) => {}
            other => panic!("the link did not come up: {other:?}"),
        }
    }
    assert_eq!(sim.stats().connections_open, 1);

    // The lease lapses: the next write (a keep-alive) is not sent, the link closes and
    // does not connect again.
    lease.extend_to(Instant::now());
    wait("the link closed", Duration::from_secs(3), || {
        sim.stats().connections_open == 0
    })
    .await;
    let accepted = sim.stats().connections_accepted;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        sim.stats().connections_accepted,
        accepted,
        "no new connection"
    );
    assert_eq!(sim.stats().connections_open, 0);

    engine.shutdown.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}
