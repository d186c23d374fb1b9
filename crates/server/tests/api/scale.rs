//! Growing an installation: assigning devices in bulk costs what is added, not what is
//! already there.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestServer;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// 10,000 devices of a simulated PBX assigned to a tenant in 100 calls: the last calls
/// take about as long as the first (a test of the shape, not of a time: a call that
/// reread and reloaded the whole PBX grew a hundredfold), and every device ends up the
/// tenant's, monitored on the live link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigning_devices_in_bulk_stays_linear() {
    let server = TestServer::start().await;
    let admin = server.multi_tenant_admin().await;
    let (tenant, boss) = server.tenant(&admin, "acme").await;
    let (status, pbx) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "hosted", "kind": "sim", "devices": "100000-109999"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx = pbx["id"].as_str().unwrap().to_string();
    let mut times = Vec::new();
    for call in 0..100u32 {
        let first = 100_000 + call * 100;
        let started = Instant::now();
        let (status, body) = server
            .post(
                &admin,
                &format!("/api/v1/pbxs/{pbx}/devices"),
                json!({"tenant_id": tenant, "device_ids": [format!("{first}-{}", first + 99)]}),
            )
            .await;
        times.push(started.elapsed());
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["assigned"], 100);
    }
    let (early, late) = (median(times[..10].to_vec()), median(times[90..].to_vec()));
    assert!(
        late <= early * 3 + Duration::from_millis(30),
        "the 100th assignment took {late:?}, the first ones {early:?}: it grows with the PBX"
    );
    let (status, devices) = server.get(&boss, "/api/v1/devices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(devices.as_array().map(Vec::len), Some(10_000));
    // All monitored on the live link: every phone is known (idle), none unknown.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, states) = server.get(&boss, "/api/v1/devices/states").await;
        let states = states.as_array().cloned().unwrap_or_default();
        if states.len() == 10_000 && states.iter().all(|s| s["state"] == "idle") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every device monitored: {} states",
            states.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop().await;
}
