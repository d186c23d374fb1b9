//! uaCSTA handsets on several nodes: a handset registers with any node's registrar, the
//! node running its connection opens its CSTA-over-SIP session, and when that node stops
//! or dies the node taking the connection over serves the handset again — from its stored
//! registration, or once it registers again (with any node).

use std::net::SocketAddr;
use std::time::Duration;

use pbx::handset::{HandsetConfig, SimHandset, Transport};
use reqwest::StatusCode;
use serde_json::{Value, json};
use ucplus_server::Config;

use crate::cluster::{link_up_on, login_on, node};
use crate::helpers::{TestServer, error_code};
use crate::scratch::ScratchDb;
use crate::uacsta::{act, handset_tenant, wait_state};
use crate::ws::Events;

const WAIT: Duration = Duration::from_secs(10);

/// A node of the cluster on `url` with its own SIP registrar. No NATS: each client
/// connects to the node running the connection, so the test needs PostgreSQL only.
fn handset_node(url: &str, name: &str) -> impl FnOnce(&mut Config) {
    let join = node(url, name);
    move |config| {
        join(config);
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
    }
}

/// Extension `number` of acme.example registering with `registrar`.
async fn handset(registrar: SocketAddr, number: &str, transport: Transport) -> SimHandset {
    let mut config = HandsetConfig::new(registrar, number);
    config.password = format!("secret-{number}");
    config.domain = "acme.example".into();
    config.answer_delay = Duration::from_millis(200);
    config.transport = transport;
    SimHandset::start(config).await.expect("handset")
}

/// A user `name` with handset `number` (password `secret-<number>`) on connection `pbx`,
/// made through `server`: the device's id.
async fn handset_device(
    server: &TestServer,
    boss: &str,
    pbx: &str,
    name: &str,
    number: &str,
) -> String {
    let user = server.user(boss, name, &["desktop"]).await;
    let (status, device) = server
        .post(boss, "/api/v1/devices", json!({"pbx_id": pbx, "device_id": number, "user_id": user, "sip_username": number, "sip_password": format!("secret-{number}")}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    device["id"].as_str().unwrap().to_string()
}

/// Waits until `server` shows the device registered with node `with`.
async fn registered_with(server: &TestServer, token: &str, device: &str, with: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = server
            .get(token, &format!("/api/v1/devices/{device}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let registration = &body["registration"];
        if registration["state"] == "registered" && registration["node"] == with {
            return registration.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not shown registered with {with}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the handset has answered `count` snapshots: a session (re)opened.
async fn session(handset: &SimHandset, count: u64, why: &str) {
    assert!(handset.wait_snapshots(WAIT, count).await, "{why}");
}

/// A call rings the handset: the user's client sees it, the user answers it through
/// `server` (the node running the connection) and the handset hangs up.
async fn rings_and_is_answered(
    server: &TestServer,
    events: &mut Events,
    token: &str,
    handset: &SimHandset,
    from: &str,
) {
    handset.ring_from(from).await.expect("rings");
    events
        .wait_for("call", |c| {
            c["state"] == "ringing" && c["other"]["number"] == from
        })
        .await;
    let call = wait_state(server, token, "ringing").await;
    act(server, token, &call, "answer").await;
    events
        .wait_for("call", |c| {
            c["id"] == call["id"] && c["state"] == "connected"
        })
        .await;
    handset.hang_up().await.expect("hangs up");
    events
        .wait_for("call_ended", |e| e["id"] == call["id"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handsets_register_with_any_node_and_are_served_by_the_node_running_their_connection() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    // Node a runs the uaCSTA connection before node b starts.
    let a = TestServer::start_with(handset_node(&db.url, "a")).await;
    let (boss, pbx) = handset_tenant(&a).await;
    let pbx = pbx["id"].as_str().unwrap().to_string();
    link_up_on(&a, &boss, &pbx, Some("a"), WAIT).await;
    let anna_device = &handset_device(&a, &boss, &pbx, "anna", "100").await;
    let b = TestServer::start_with(handset_node(&db.url, "b")).await;

    // Anna's handset registers with node b: node a, running the connection, opens its
    // session; both nodes show the registration, taken by b.
    let anna_phone = handset(b.sip.unwrap(), "100", Transport::Udp).await;
    session(
        &anna_phone,
        1,
        "node a opened the session of a handset registered with b",
    )
    .await;
    let shown = registered_with(&a, &boss, anna_device, "b").await;
    assert!(
        shown["contact"].as_str().unwrap().starts_with("sip:100@"),
        "{shown}"
    );
    registered_with(&b, &boss, anna_device, "b").await;
    // Her phone reaches her client, and she answers it.
    let anna = login_on(&a, "acme", "anna").await;
    let mut events = Events::connect(&a, &anna).await;
    rings_and_is_answered(&a, &mut events, &anna, &anna_phone, "+4930777").await;

    // Node a stops: b takes the connection and reopens the session from the stored
    // registration, without the phone registering again.
    let before = anna_phone.snapshots_answered();
    a.stop().await;
    link_up_on(&b, &boss, &pbx, Some("b"), WAIT).await;
    session(
        &anna_phone,
        before + 1,
        "b reopened the session from the store",
    )
    .await;
    let mut events = Events::connect(&b, &anna).await;
    rings_and_is_answered(&b, &mut events, &anna, &anna_phone, "+4930888").await;

    // Node a comes back; Bert's handset, made on node b, registers with it over TCP (a
    // learns the new account from the store): b, running the connection, reaches it on a
    // connection to its contact.
    let a = TestServer::start_with(handset_node(&db.url, "a")).await;
    let bert_device = &handset_device(&b, &boss, &pbx, "bert", "101").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, body) = a
            .get(&boss, &format!("/api/v1/devices/{bert_device}"))
            .await;
        if body["registration"]["state"] == "unregistered" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node a never learned Bert's SIP account: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bert_phone = handset(a.sip.unwrap(), "101", Transport::Tcp).await;
    session(
        &bert_phone,
        1,
        "b opened a session over TCP to a handset registered with a",
    )
    .await;
    registered_with(&b, &boss, bert_device, "a").await;
    let bert = login_on(&b, "acme", "bert").await;
    let mut bert_events = Events::connect(&b, &bert).await;
    rings_and_is_answered(&b, &mut bert_events, &bert, &bert_phone, "+4930999").await;

    // Node b dies: once its lease expired a takes the connection and serves both handsets
    // again (Anna's from the registration the dead node took).
    let (anna_before, bert_before) = (
        anna_phone.snapshots_answered(),
        bert_phone.snapshots_answered(),
    );
    b.kill().await;
    link_up_on(&a, &boss, &pbx, Some("a"), WAIT).await;
    session(
        &anna_phone,
        anna_before + 1,
        "a reopened Anna's session from the store",
    )
    .await;
    session(
        &bert_phone,
        bert_before + 1,
        "a reopened Bert's session on his connection",
    )
    .await;
    let mut events = Events::connect(&a, &anna).await;
    rings_and_is_answered(&a, &mut events, &anna, &anna_phone, "+4930111").await;

    // Anna's phone fails over to node a's registrar (a new registration): served there;
    // when it unregisters, its session ends.
    anna_phone.shutdown().await;
    let anna_phone = handset(a.sip.unwrap(), "100", Transport::Udp).await;
    session(&anna_phone, 1, "the re-registered handset was served").await;
    registered_with(&a, &boss, anna_device, "a").await;
    rings_and_is_answered(&a, &mut events, &anna, &anna_phone, "+4930222").await;
    anna_phone.unregister().await;
    events
        .wait_for("registration", |r| {
            r["device_id"] == anna_device.as_str() && r["state"] == "unregistered"
        })
        .await;
    let (status, body) = a
        .post(&anna, "/api/v1/calls", json!({"to": "+4930555"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable"),
        "{body}"
    );
    anna_phone.shutdown().await;
    bert_phone.shutdown().await;
    a.stop().await;
    drop(db);
}
