//! The CTI link end to end: it survives drops, restarts, silence and garbage from the switch,
//! and after a switch restart recycled call ids are new calls.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::cti::{Hosted, act, call_where, calls, hosted, link_is, my_call};
use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_survives_drops_restarts_silence_and_garbage() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let Hosted { sim, pbx, acme, .. } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    let bert = &acme.people["bert"];
    let mut anna_events = Events::connect(&server, &anna.token).await;

    let (status, made) = server
        .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let bert_call = my_call(&server, &bert.token, "ringing").await;
    assert_eq!(
        bert_call["other"],
        json!({"number": "200", "name": "ANNA", "internal": true})
    );
    act(&server, &bert.token, &bert_call, "answer", json!({})).await;
    // Both sides see the call connected, each with the other party.
    let at_anna = call_where(&server, &anna.token, "connected to Bert", |c| {
        c["id"] == made["id"] && c["state"] == "connected"
    })
    .await;
    assert_eq!(
        at_anna["other"],
        json!({"number": "201", "name": "BERT", "internal": true})
    );
    let at_bert = my_call(&server, &bert.token, "connected").await;
    assert_eq!(at_bert["id"], bert_call["id"]);
    assert_eq!(
        at_bert["other"],
        json!({"number": "200", "name": "ANNA", "internal": true})
    );

    // The link drops mid-call: it comes back, and the call (still up on the switch) stays.
    sim.drop_links();
    anna_events.wait_for("link", |l| l["state"] == "down").await;
    anna_events.wait_for("link", |l| l["state"] == "up").await;
    let still = my_call(&server, &anna.token, "connected").await;
    assert_eq!(
        still["id"], made["id"],
        "the same call, not a ghost and not a new one"
    );

    // The switch restarts and loses every call: the resync ends ours.
    sim.restart();
    anna_events
        .wait_for("call_ended", |e| {
            e["id"] == made["id"] && e["cause"] == "resynchronized"
        })
        .await;
    let (_, left) = server.get(&anna.token, "/api/v1/calls").await;
    assert_eq!(left, json!([]));
    link_is(&server, &admin, &pbx, "up").await;

    // A silent switch is noticed by the heartbeat timeout (3 × 1 s here).
    let mut admin_events = Events::connect(&server, &admin).await;
    sim.go_silent(Duration::from_secs(5));
    let down = anna_events.wait_for("link", |l| l["state"] == "down").await;
    let detail = admin_events
        .wait_for("link", |l| l["state"] == "down")
        .await;
    // The system admin is told why; a tenant's user only that the link is down, without
    // the PBX's address or protocol detail.
    assert!(
        detail["data"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("silent"),
        "{detail}"
    );
    let plain = down["data"]["error"].as_str().unwrap_or_default();
    assert!(
        plain.contains("cannot be reached")
            && !plain.contains("silent")
            && !plain.contains("127.0.0.1"),
        "{down}"
    );
    link_is(&server, &admin, &pbx, "up").await;
    // The garbage below must not be swallowed by the silence: wait until it is over.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while sim.is_silent() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the switch stayed silent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = link_is(&server, &admin, &pbx, "up").await;

    // Garbage from the switch is logged and survived. Once the switch has written it to
    // the link, any answer comes after it on the same stream: when the call below is
    // made, the server has read the garbage, and the link is still the same one.
    let written = sim.stats().malformed_sent;
    sim.send_malformed();
    sim.send_malformed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.stats().malformed_sent < written + 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the switch never wrote the garbage: {:?}",
            sim.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, made) = server
        .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, after) = server.get(&admin, &format!("/api/v1/pbxs/{pbx}")).await;
    assert_eq!(
        after["link"]["since"], link["since"],
        "the link stayed up through the garbage"
    );

    // Requests while the link is down answer pbx_unavailable at once.
    sim.go_silent(Duration::from_secs(5));
    link_is(&server, &admin, &pbx, "down").await;
    // Nobody can tell what the phones do meanwhile: unknown, not free.
    let (_, states) = server.get(&anna.token, "/api/v1/devices/states").await;
    let states = states.as_array().cloned().unwrap_or_default();
    assert!(
        !states.is_empty() && states.iter().all(|d| d["state"] == "unknown"),
        "{states:?}"
    );
    let (_, presence) = server.get(&anna.token, "/api/v1/presence").await;
    let bert_now = presence
        .as_array()
        .and_then(|all| all.iter().find(|p| p["user_id"] == bert.id.as_str()))
        .cloned()
        .expect("bert's presence");
    assert_eq!(bert_now["phone"], "unknown", "{bert_now}");
    let (status, body) = server
        .post(&anna.token, "/api/v1/calls", json!({"to": "202"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable")
    );
    server.stop().await;
}

/// Switches recycle call ids (a restarted switch starts at 1 again): a new call whose id an
/// old, ended call had is still the new call, not reported as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recycled_call_ids_are_new_calls_after_a_switch_restart() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let Hosted { sim, pbx, acme, .. } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    // A few calls that end: their ids are remembered as ended.
    for _ in 0..3 {
        let (status, made) = server
            .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        act(&server, &anna.token, &made, "clear", json!({})).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !calls(&server.get(&anna.token, "/api/v1/calls").await.1).is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the call never ended"
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    // The switch restarts: its call ids begin again, the old ones come back.
    for _ in 0..3 {
        let before = link_is(&server, &admin, &pbx, "up").await;
        sim.restart();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while link_is(&server, &admin, &pbx, "up").await["since"] == before["since"] {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the link never reconnected"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..3 {
            let (status, made) = server
                .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
                .await;
            assert_eq!(
                status,
                StatusCode::CREATED,
                "a new call, not a stale end: {made}"
            );
            act(&server, &anna.token, &made, "clear", json!({})).await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while !calls(&server.get(&anna.token, "/api/v1/calls").await.1).is_empty() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the call never ended"
                );
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    }
    server.stop().await;
}
