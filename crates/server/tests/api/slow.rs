//! A WebSocket client that stops reading is disconnected (close code 4008); the others
//! keep receiving, and the server's memory stays bounded by the tenant's ring. A busy
//! stream still answers its client.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pbx::sim::{DeviceSet, DurationRange, SimConfig, Simulator, TrafficConfig};
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::cti::link_is;
use crate::helpers::TestServer;
use crate::ws::Events;

/// The tenant's ring: how many events a client may fall behind.
const RING: usize = 512;

/// A simulated PBX whose 100 devices belong to the default tenant, linked to `server`,
/// and the token of a user of that tenant.
async fn busy_tenant(server: &TestServer) -> (Simulator, String) {
    let admin = server.admin().await;
    let (status, _) = server
        .load_license(&admin, &server.license(&[("desktop", 5)]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut config = SimConfig::new("3000-3099".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.expect("simulator");
    let (_, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "busy", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none"}))
        .await;
    let pbx = pbx["id"].as_str().unwrap().to_string();
    let (_, tenants) = server.get(&admin, "/api/v1/tenants").await;
    let tenant = tenants[0]["id"].as_str().unwrap().to_string();
    let (status, _) = server
        .post(
            &admin,
            &format!("/api/v1/pbxs/{pbx}/devices"),
            json!({"tenant_id": tenant, "device_ids": ["3000-3099"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    link_is(server, &admin, &pbx, "up").await;
    server.user(&admin, "watcher", &["desktop"]).await;
    let token = server
        .login(None, "watcher", "user-password", "desktop")
        .await
        .expect("login");
    (sim, token)
}

/// Calls that keep the tenant's ring busy until dropped.
fn heavy_traffic(sim: &Simulator) -> pbx::sim::TrafficHandle {
    sim.start_traffic(TrafficConfig {
        calls_per_second: 150.0,
        ring_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(60)),
        talk_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(80)),
        max_calls: 1_000_000,
        max_duration: Duration::from_secs(120),
        ..TrafficConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_disconnected_without_affecting_the_others() {
    let server = TestServer::start_with(|config| {
        config.cti.client_queue = RING;
        // Small kernel buffers: little is in flight to a client that does not read.
        config.socket_send_buffer = 16 * 1024;
    })
    .await;
    let (sim, token) = busy_tenant(&server).await;

    // The slow client: a tiny receive window, and it does not read (yet).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let address: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let stream = socket.connect(address).await.unwrap();
    let url = format!(
        "{}/api/v1/events?token={token}",
        server.base.replace("http://", "ws://")
    );
    let (slow, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("slow client connects");
    let mut slow = Events::from_stream(slow);
    let mut fast = Events::connect(&server, &token).await;
    let connected = fast.seen.len(); // the snapshot
    // Metrics are the process's; only this test has a client too slow for its ring (the
    // others keep the default ring of 4096 and read what they get), so the difference
    // in this counter is this server's doing.
    let slow_disconnects = server.metric("ucplus_ws_slow_disconnects_total", &[]).await;

    // Traffic runs until the test has seen what it needs (and stops when dropped).
    let traffic = heavy_traffic(&sim);
    // The fast client reads everything. Both clients are offered the same events, so
    // once the fast one has read more than can ever be in flight to the slow one (the
    // server's 16 KiB send buffer, doubled by the kernel, a frame, the slow one's 4 KiB
    // window: about 35 KiB, far below IN_FLIGHT) and then more than a ring and a half
    // after that, the slow one is more than a ring behind: it has lost events, whatever
    // the machine's speed.
    const IN_FLIGHT: usize = 128 * 1024;
    let mut bytes = 0usize;
    let mut beyond = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while beyond <= RING + RING / 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the traffic made only {bytes} bytes of events"
        );
        if let Some(event) = fast.next(Duration::from_millis(500)).await {
            if bytes >= IN_FLIGHT {
                beyond += 1;
            }
            bytes += event.to_string().len();
        }
    }
    // Now the slow client reads: it gets what was in flight, then the server's close
    // with code 4008 — not a dropped connection (1006, also what a crash looks like).
    let slow = tokio::spawn(async move { slow.closed_with(Duration::from_secs(30)).await });
    while !slow.is_finished() {
        fast.next(Duration::from_millis(100)).await;
    }
    let code = slow.await.expect("the slow client's task");
    drop(traffic);
    assert_eq!(code, Some(4008), "the slow client's close code");
    // The fast one is still connected and served (a client that loses events is closed
    // with 4008 too, and `next` fails on a closed stream): it got every event.
    let received = fast.seen.len() - connected;
    assert!(
        received > RING + RING / 2,
        "the fast client got only {received} events"
    );
    let (status, _) = server
        .put(&token, "/api/v1/me/presence", json!({"state": "busy"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    fast.wait_for("presence", |p| p["state"] == "busy").await;
    // The disconnect is counted, once.
    let counted = server.metric("ucplus_ws_slow_disconnects_total", &[]).await;
    assert_eq!(counted - slow_disconnects, 1.0, "slow disconnects counted");
    server.stop().await;
}

/// The server sends a client its events first; the client's own messages still get their
/// turn while events keep coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_stream_still_answers_its_clients_ping() {
    let server = TestServer::start().await;
    let (sim, token) = busy_tenant(&server).await;
    let url = format!(
        "{}/api/v1/events?token={token}",
        server.base.replace("http://", "ws://")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    let traffic = heavy_traffic(&sim);
    let mut events = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut pinged = false;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the server answers the ping")
            .expect("the stream stays open")
            .expect("a WebSocket message");
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        match value["type"].as_str() {
            Some("pong") => break,
            Some("snapshot") => {}
            _ => events += 1,
        }
        // Ping once the events flow.
        if events == 20 && !pinged {
            socket
                .send(Message::Text(r#"{"type":"ping"}"#.into()))
                .await
                .expect("ping sent");
            pinged = true;
        }
    }
    drop(traffic);
    assert!(pinged, "the pong came before any ping");
    server.stop().await;
}
