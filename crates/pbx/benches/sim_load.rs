//! Load on the simulator: 100,000 devices, every one monitored by one client link,
//! generated traffic at 10,000 calls/s for 5 s with send-time stamps. Prints the time to
//! start the monitors, the events per second the client read, and the PBX-send →
//! client-receive latency (every 50th event).
//!
//! ```sh
//! cargo bench -p pbx --bench sim_load
//! ```

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use csta::{
    DeviceId, Edition, Frame, FrameCodec, Framing, InvokeId, MonitorObject, MonitorStart, encode,
};
use pbx::sim::{DeviceSet, DurationRange, SimConfig, Simulator, TrafficConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const DEVICES: u32 = 100_000;
const FIRST: u32 = 100_000;
/// Monitors requested per round trip (the client reads the answers between batches).
const BATCH: u32 = 2_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut config = SimConfig::new(DeviceSet::parse("100000-199999").unwrap());
    config.no_answer_timeout = Duration::from_millis(500);
    config.trunk.answer_delay = Duration::from_millis(50);
    config.stamp_events = true;
    let simulator = Simulator::start(config).await.unwrap();
    let mut stream = TcpStream::connect(simulator.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut codec = FrameCodec::new(Framing::Header);
    let mut input = BytesMut::new();

    let started = Instant::now();
    let mut output = BytesMut::new();
    for batch in 0..DEVICES / BATCH {
        output.clear();
        for index in 0..BATCH {
            let device = FIRST + batch * BATCH + index;
            let request = MonitorStart {
                monitor_object: MonitorObject::device(DeviceId::new(device.to_string())),
                requested_monitor_filter: None,
                monitor_type: None,
                extra: Default::default(),
            };
            let xml = encode(&request.into(), Edition::Ed3);
            let invoke_id = InvokeId::new((index % 9998 + 1) as u16);
            codec
                .encode(Frame::new(invoke_id, xml), &mut output)
                .unwrap();
        }
        stream.write_all(&output).await.unwrap();
        let mut answers = 0;
        while answers < BATCH {
            stream.read_buf(&mut input).await.unwrap();
            while codec.decode(&mut input).unwrap().is_some() {
                answers += 1;
            }
        }
    }
    println!("{DEVICES} monitors started in {:?}", started.elapsed());

    let traffic = simulator.start_traffic(TrafficConfig {
        calls_per_second: 10_000.0,
        ring_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(100)),
        talk_time: DurationRange::new(Duration::from_millis(100), Duration::from_millis(500)),
        seed: 1,
        max_calls: 50_000,
        max_duration: Duration::from_secs(5),
        ..TrafficConfig::default()
    });
    let started = Instant::now();
    let mut events = 0u64;
    let mut latencies = Vec::new();
    let deadline = started + Duration::from_secs(10);
    while Instant::now() < deadline {
        match timeout(Duration::from_millis(300), stream.read_buf(&mut input)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("{error}"),
            Err(_) if traffic.is_finished() => break,
            Err(_) => continue,
        }
        while let Some(frame) = codec.decode(&mut input).unwrap() {
            events += 1;
            if events % 50 == 0 {
                latencies.push(latency_micros(&frame.xml));
            }
        }
    }
    let elapsed = started.elapsed().saturating_sub(Duration::from_millis(300));
    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() - 1) * p / 100];
    println!(
        "{} calls, {events} events in {elapsed:.2?}: {:.0} events/s; latency µs p50 {} p99 {} max {}",
        traffic.started(),
        events as f64 / elapsed.as_secs_f64(),
        percentile(50),
        percentile(99),
        percentile(100),
    );
    println!("{:?}", simulator.stats());
    simulator.shutdown().await;
}

/// Now minus the event's `ucplusSentAt`, in microseconds.
fn latency_micros(xml: &[u8]) -> u128 {
    let xml = std::str::from_utf8(xml).unwrap();
    let (_, rest) = xml.split_once("<ucplusSentAt>").unwrap();
    let sent: u128 = rest.split_once('<').unwrap().0.parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    now.saturating_sub(sent) / 1000
}
