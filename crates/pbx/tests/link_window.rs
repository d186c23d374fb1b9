//! The CSTA link paces its requests: at most a window of them in flight, the rest queued in
//! order, so a switch with more devices than the ECMA-323 header has invoke ids (9,998)
//! comes up — and comes back after a link drop or a restart of the switch.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::BytesMut;
use csta::{Edition, Frame, FrameCodec, Framing, Message};
use pbx::link::csta::{CstaLinkConfig, SessionPattern};
use pbx::link::{EngineChannels, channels};
use pbx::sim::{SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use ucplus_core::cti::{LinkEvent, LinkState};

/// Devices 100000-111999: more than there are invoke ids.
const DEVICES: u32 = 12_000;

/// Waits for the link to report up, then for a snapshot of every device; returns how
/// many snapshots came.
async fn up_with_snapshots(engine: &mut EngineChannels, within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    let mut up = false;
    let mut snapshots = BTreeSet::new();
    while !(up && snapshots.len() == DEVICES as usize) {
        let event = tokio::time::timeout_at(deadline, engine.events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "not up with every device in time (up: {up}, {} snapshots)",
                    snapshots.len()
                )
            })
            .expect("the link runs");
        match event {
            LinkEvent::State { state, error } => {
                // A drop of the link is what the test causes; running out of invoke ids
                // (the failure this guards against) is not.
                assert!(
                    !error.as_deref().unwrap_or_default().contains("invoke"),
                    "the link failed: {error:?}"
                );
                // Up only once every monitor has been answered; anything else starts over.
                up = state == LinkState::Up;
                if !up {
                    snapshots.clear();
                }
            }
            LinkEvent::Snapshot { device, .. } => {
                snapshots.insert(device);
            }
            _ => {}
        }
    }
    snapshots.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_devices_than_invoke_ids_come_up_and_come_back() {
    let mut config = SimConfig::new(format!("100000-{}", 100_000 + DEVICES - 1).parse().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.unwrap();
    let devices: BTreeSet<String> = (100_000..100_000 + DEVICES)
        .map(|n| n.to_string())
        .collect();
    let (mut engine, link) = channels(devices);
    // The defaults a new connection gets (session `auto`, a window of 64).
    let mut link_config = CstaLinkConfig::new("127.0.0.1", sim.local_addr().port());
    link_config.backoff_min = Duration::from_millis(100);
    let task = tokio::spawn(pbx::link::csta::run(link_config, link));
    assert_eq!(
        up_with_snapshots(&mut engine, Duration::from_secs(120)).await,
        DEVICES as usize
    );
    // The switch drops the link: it reconnects and monitors everything again.
    sim.drop_links();
    assert_eq!(
        up_with_snapshots(&mut engine, Duration::from_secs(120)).await,
        DEVICES as usize
    );
    // The switch restarts (calls and monitors forgotten): the same.
    sim.restart();
    assert_eq!(
        up_with_snapshots(&mut engine, Duration::from_secs(120)).await,
        DEVICES as usize
    );
    engine.shutdown.send_replace(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
}

/// A switch that does not answer yet sees no more than the window's share for monitors:
/// 48 of a window of 64 (a quarter stays free for call control); each answer lets one
/// more request out.
#[tokio::test]
async fn requests_beyond_the_window_wait_for_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let devices: BTreeSet<String> = (200..400).map(|n| n.to_string()).collect();
    let (_engine, link) = channels(devices);
    let mut link_config = CstaLinkConfig::new("127.0.0.1", port);
    link_config.session = SessionPattern::None;
    let task = tokio::spawn(pbx::link::csta::run(link_config, link));
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut codec = FrameCodec::new(Framing::Header);
    let mut buffer = BytesMut::new();
    // Reads the requests that arrive within `quiet` of silence.
    async fn requests_within(
        stream: &mut tokio::net::TcpStream,
        codec: &mut FrameCodec,
        buffer: &mut BytesMut,
        quiet: Duration,
    ) -> Vec<Frame> {
        let mut frames = Vec::new();
        loop {
            while let Some(frame) = codec.decode(buffer).unwrap() {
                frames.push(frame);
            }
            match tokio::time::timeout(quiet, stream.read_buf(buffer)).await {
                Ok(Ok(read)) if read > 0 => {}
                _ => return frames,
            }
        }
    }
    let first = requests_within(
        &mut stream,
        &mut codec,
        &mut buffer,
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(first.len(), 48, "monitors in flight at most");
    assert!(
        first
            .iter()
            .all(|f| matches!(csta::decode(&f.xml), Ok(Message::MonitorStart(_))))
    );
    // Answer one: exactly one more request (its snapshot or the next monitor) goes out.
    let answer: Message = csta::MonitorStartResponse {
        monitor_cross_ref_id: "1".into(),
        actual_monitor_filter: None,
        monitor_existing_calls: None,
        extra: Default::default(),
    }
    .into();
    let mut out = BytesMut::new();
    codec
        .encode(
            Frame::new(first[0].invoke_id, csta::encode(&answer, Edition::Ed3)),
            &mut out,
        )
        .unwrap();
    stream.write_all(&out).await.unwrap();
    let next = requests_within(
        &mut stream,
        &mut codec,
        &mut buffer,
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(next.len(), 1, "one answer, one more request");
    task.abort();
}
