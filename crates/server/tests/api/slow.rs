//! A WebSocket client that stops reading is disconnected (close code 4008); the others
//! keep receiving, and the server's memory stays bounded by the tenant's ring.

use std::time::Duration;

use pbx::sim::{DeviceSet, DurationRange, SimConfig, Simulator, TrafficConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::cti::link_is;
use crate::helpers::TestServer;
use crate::ws::Events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_disconnected_without_affecting_the_others() {
    let server = TestServer::start_with(|config| {
        config.cti.client_queue = 512;
        config.socket_send_buffer = 16 * 1024;
    })
    .await;
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
    link_is(&server, &admin, &pbx, "up").await;
    server.user(&admin, "watcher", &["desktop"]).await;
    let token = server
        .login(None, "watcher", "user-password", "desktop")
        .await
        .expect("login");

    // The slow client: a tiny receive window, and it never reads.
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

    let traffic = sim.start_traffic(TrafficConfig {
        calls_per_second: 400.0,
        ring_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(60)),
        talk_time: DurationRange::new(Duration::from_millis(20), Duration::from_millis(80)),
        max_calls: 3000,
        max_duration: Duration::from_secs(6),
        ..TrafficConfig::default()
    });
    // The fast client reads everything while the traffic runs.
    let mut received = 0usize;
    while !traffic.is_finished() {
        if fast.next(Duration::from_millis(500)).await.is_some() {
            received += 1;
        }
    }
    fast.drain(Duration::from_millis(300)).await;
    received += fast.seen.len();
    assert!(
        received > 1_000,
        "the fast client got only {received} events"
    );
    // The slow one was cut off: with code 4008 when the close frame still fits in what
    // it buffers, else by closing the connection (1006) — either way, within bounds.
    let code = slow.closed_with(Duration::from_secs(20)).await;
    assert!(
        matches!(code, Some(4008) | Some(1006)),
        "the slow client was not closed: {code:?}"
    );
    // The fast one is still connected and served.
    let (status, _) = server
        .put(&token, "/api/v1/me/presence", json!({"state": "busy"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    fast.wait_for("presence", |p| p["state"] == "busy").await;
    let (_, metrics) = server
        .call(reqwest::Method::GET, "/metrics", None, None)
        .await;
    assert!(
        metrics
            .as_str()
            .unwrap_or_default()
            .contains("ucplus_ws_slow_disconnects_total")
    );
    server.stop().await;
}
