//! uaCSTA end to end: a simulated SIP handset registers with ucplus, ucplus opens the
//! CSTA-over-SIP session, and the handset behaves in the engine like any other device —
//! events to its user's WebSocket, call control from the API, recovery after a reboot.

use std::time::Duration;

use pbx::handset::{HandsetConfig, RegistrationState, SimHandset, Transport};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

/// Tenant `acme` with a uaCSTA connection for SIP domain `acme.example`: its admin's token
/// and the connection.
pub(crate) async fn handset_tenant(server: &TestServer) -> (String, Value) {
    let admin = server.multi_tenant_admin().await;
    let (tenant, boss) = server.tenant(&admin, "acme").await;
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "handsets", "kind": "uacsta", "tenant_id": tenant, "sip_domain": "acme.example"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    (boss, pbx)
}

/// An outside caller rings the handset; the user sees it ringing, answers from the API and
/// is connected. Answers the call.
async fn ring_and_answer(
    server: &TestServer,
    events: &mut Events,
    token: &str,
    handset: &SimHandset,
    from: &str,
) -> Value {
    handset.ring_from(from).await.expect("rings");
    let ringing = events.wait_for("call", |c| c["state"] == "ringing").await;
    assert_eq!(ringing["data"]["other"]["number"], from);
    let call = wait_state(server, token, "ringing").await;
    act(server, token, &call, "answer").await;
    events
        .wait_for("call", |c| {
            c["id"] == call["id"] && c["state"] == "connected"
        })
        .await;
    call
}

/// Acts on a call through the API; the action must be accepted.
pub(crate) async fn act(server: &TestServer, token: &str, call: &Value, action: &str) {
    let id = call["id"].as_str().expect("a call id");
    let (status, body) = server
        .post(token, &format!("/api/v1/calls/{id}/{action}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
}

pub(crate) async fn wait_state(server: &TestServer, token: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, calls) = server.get(token, "/api/v1/calls").await;
        if let Some(call) = calls
            .as_array()
            .and_then(|c| c.iter().find(|c| c["state"] == state))
        {
            return call.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {state} call: {calls}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_handset_is_monitored_and_controlled_over_sip() {
    let server = TestServer::start_with(|config| {
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
        config.sip.session_refresh = 1;
    })
    .await;
    let registrar = server.sip.expect("the registrar listens");
    let (boss, pbx) = handset_tenant(&server).await;
    let anna = server.user(&boss, "anna", &["desktop"]).await;
    let (_, device) = server
        .post(
            &boss,
            "/api/v1/devices",
            json!({"pbx_id": pbx["id"], "device_id": "100", "user_id": anna}),
        )
        .await;
    let device = device["id"].as_str().unwrap().to_string();
    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/devices/{device}"),
            json!({"sip_username": "100", "sip_password": "secret-100"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let mut events = Events::connect(&server, &token).await;
    let refreshes_before = server
        .metric("ucplus_uacsta_refreshes_total", &[("result", "ok")])
        .await;
    let refused_before = server
        .metric("ucplus_uacsta_refreshes_total", &[("result", "refused")])
        .await;

    let mut config = HandsetConfig::new(registrar, "100");
    config.password = "secret-100".into();
    config.domain = "acme.example".into();
    config.answer_delay = Duration::from_millis(200);
    let handset = SimHandset::start(config).await.expect("handset");
    let registered = handset
        .wait_registration(Duration::from_secs(10), |state| {
            matches!(state, RegistrationState::Registered { .. })
        })
        .await;
    assert!(
        registered,
        "the handset registered: {:?}",
        handset.registration()
    );
    events
        .wait_for("registration", |r| r["state"] == "registered")
        .await;
    // The session is open once the handset answered the snapshot (monitor + snapshot):
    // what it sends from then on reaches the server after that answer.
    assert!(
        handset.wait_snapshots(Duration::from_secs(10), 1).await,
        "the server never opened the session"
    );

    // An incoming call on the handset reaches Anna; she answers and hangs up from the API.
    let call = ring_and_answer(&server, &mut events, &token, &handset, "+4930777").await;
    act(&server, &token, &call, "clear").await;
    events
        .wait_for("call_ended", |e| e["id"] == call["id"])
        .await;

    // Click-to-dial through the handset.
    let (status, made) = server
        .post(&token, "/api/v1/calls", json!({"to": "+4930555"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    // The answer names whom the call goes to, before the phone reports it.
    assert_eq!(made["other"]["number"], "+4930555", "{made}");
    events
        .wait_for("call", |c| {
            c["id"] == made["id"] && c["state"] == "connected"
        })
        .await;
    act(&server, &token, &made, "clear").await;
    events
        .wait_for("call_ended", |e| e["id"] == made["id"])
        .await;

    // The session is refreshed with re-INVITEs the handset accepts. The metrics are the
    // process's (every test server shares them), but only this test refreshes sessions
    // (the default interval is ten minutes), so the counter's growth is this server's.
    let refreshed = server
        .wait_metric_above(
            "ucplus_uacsta_refreshes_total",
            &[("result", "ok")],
            refreshes_before,
        )
        .await;
    assert!(refreshed > refreshes_before);
    assert_eq!(
        server
            .metric("ucplus_uacsta_refreshes_total", &[("result", "refused")])
            .await,
        refused_before,
        "no refresh was refused"
    );

    // The handset reboots: it registers again and the session is reopened (a new
    // snapshot).
    let snapshots = handset.snapshots_answered();
    handset.reboot().await;
    assert!(
        handset
            .wait_snapshots(Duration::from_secs(10), snapshots + 1)
            .await,
        "the session was not reopened after the reboot"
    );
    handset
        .ring_from("+4930888")
        .await
        .expect("rings after the reboot");
    let ringing = events.wait_for("call", |c| c["state"] == "ringing").await;
    assert_eq!(ringing["data"]["other"]["number"], "+4930888");
    handset.hang_up().await.ok();

    // It unregisters: the device says so and calls cannot go through it.
    handset.unregister().await;
    events
        .wait_for("registration", |r| r["state"] == "unregistered")
        .await;
    let (status, body) = server
        .post(&token, "/api/v1/calls", json!({"to": "+4930555"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable"),
        "{body}"
    );
    server.stop().await;
}

/// Two handsets that can reach each other: a call from one user's handset to the other's
/// number rings the other handset, its answer connects both, and a hang-up ends it on
/// both sides — all through ucplus's API, as in the demo (alice → 101).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handsets_call_each_other_through_the_api() {
    call_each_other([Transport::Udp, Transport::Udp]).await;
}

/// The same with Alice's handset on SIP over TCP: her session runs on her registration's
/// connection while Bob's runs over UDP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handsets_over_tcp_and_udp_call_each_other() {
    call_each_other([Transport::Tcp, Transport::Udp]).await;
}

async fn call_each_other(transports: [Transport; 2]) {
    let server = TestServer::start_with(|config| {
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let registrar = server.sip.expect("the registrar listens");
    let (boss, pbx) = handset_tenant(&server).await;
    let exchange = pbx::handset::Exchange::new();
    let mut people = Vec::new();
    for ((name, number), transport) in [("alice", "100"), ("bob", "101")]
        .into_iter()
        .zip(transports)
    {
        let user = server.user(&boss, name, &["desktop"]).await;
        let (status, device) = server
            .post(&boss, "/api/v1/devices", json!({"pbx_id": pbx["id"], "device_id": number, "user_id": user, "sip_username": number, "sip_password": format!("secret-{number}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
        let mut config = HandsetConfig::new(registrar, number);
        config.password = format!("secret-{number}");
        config.domain = "acme.example".into();
        config.exchange = Some(exchange.clone());
        config.transport = transport;
        let handset = SimHandset::start(config).await.expect("handset");
        // The session is open once ucplus has taken the handset's snapshot.
        assert!(handset.wait_snapshots(Duration::from_secs(10), 1).await);
        let token = server
            .login(Some("acme"), name, "user-password", "desktop")
            .await
            .unwrap();
        people.push((token, handset));
    }
    let (alice, bob) = (&people[0].0, &people[1].0);
    let (status, made) = server
        .post(alice, "/api/v1/calls", json!({"to": "101"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    // Bob's handset rings, with Alice as the caller.
    let ringing = wait_state(&server, bob, "ringing").await;
    assert_eq!(ringing["other"]["number"], "100", "{ringing}");
    let dialing = wait_state(&server, alice, "dialing").await;
    assert_eq!(dialing["other"]["number"], "101", "{dialing}");
    // Bob answers: both are connected, each with the other.
    act(&server, bob, &ringing, "answer").await;
    let at_alice = wait_state(&server, alice, "connected").await;
    assert_eq!(at_alice["other"]["number"], "101", "{at_alice}");
    let at_bob = wait_state(&server, bob, "connected").await;
    assert_eq!(at_bob["other"]["number"], "100", "{at_bob}");
    // Alice hangs up: the call ends on Bob's phone too.
    act(&server, alice, &at_alice, "clear").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, calls) = server.get(bob, "/api/v1/calls").await;
        if calls.as_array().is_some_and(|c| c.is_empty()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob's call never ended: {calls}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for (_, handset) in people {
        handset.shutdown().await;
    }
    server.stop().await;
}

/// A handset on SIP over TCP: ucplus opens the CSTA-over-SIP session on the connection the
/// handset registered on (a phone behind NAT takes no new connections), events and call
/// control run on it, a reboot reopens it, and when the connection closes the session and
/// its calls end at once (no request waits for a timeout on a dead connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_over_tcp_has_its_session_on_its_connection() {
    let server = TestServer::start_with(|config| {
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
        // Long enough that a request on a dead session would be seen waiting for it.
        config.cti.request_timeout = 30_000;
    })
    .await;
    let registrar = server.sip.expect("the registrar listens");
    let (boss, pbx) = handset_tenant(&server).await;
    let anna = server.user(&boss, "anna", &["desktop"]).await;
    let (status, device) = server
        .post(&boss, "/api/v1/devices", json!({"pbx_id": pbx["id"], "device_id": "100", "user_id": anna, "sip_username": "100", "sip_password": "secret-100"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let token = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let mut events = Events::connect(&server, &token).await;

    let mut config = HandsetConfig::new(registrar, "100");
    config.transport = Transport::Tcp;
    config.password = "secret-100".into();
    config.domain = "acme.example".into();
    config.answer_delay = Duration::from_millis(200);
    // The handset listens for new connections to its contact too, but the server must not
    // need them: everything arrives on the registration's connection.
    let handset = SimHandset::start(config).await.expect("handset");
    assert!(
        handset.wait_snapshots(Duration::from_secs(10), 1).await,
        "the server never opened the session over TCP"
    );
    events
        .wait_for("registration", |r| r["state"] == "registered")
        .await;

    // An incoming call reaches Anna over the session; she answers it from the API.
    let call = ring_and_answer(&server, &mut events, &token, &handset, "+4930777").await;

    // A reboot (a new registration on the connection) reopens the session.
    handset.hang_up().await.expect("hangs up");
    events
        .wait_for("call_ended", |e| e["id"] == call["id"])
        .await;
    let snapshots = handset.snapshots_answered();
    handset.reboot().await;
    assert!(
        handset
            .wait_snapshots(Duration::from_secs(10), snapshots + 1)
            .await,
        "the session was not reopened after the reboot"
    );

    // The phone goes away with a call ringing: its connection closes, and the call ends
    // and call control is refused at once, not after the 30 s request timeout.
    handset.ring_from("+4930888").await.expect("rings again");
    let ringing = events
        .wait_for("call", |c| {
            c["state"] == "ringing" && c["other"]["number"] == "+4930888"
        })
        .await;
    handset.shutdown().await;
    events
        .wait_for("call_ended", |e| e["id"] == ringing["data"]["id"])
        .await;
    let asked = tokio::time::Instant::now();
    let (status, body) = server
        .post(&token, "/api/v1/calls", json!({"to": "+4930555"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "pbx_unavailable"),
        "{body}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the request waited for a dead connection"
    );
    server.stop().await;
}

/// Registrations are stored: after a restart the server shows the handset registered and
/// opens its session again without waiting for the phone to register anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handsets_registration_and_session_survive_a_restart() {
    let with_sip = |config: &mut ucplus_server::Config| {
        config.sip.listen = Some("127.0.0.1:0".parse().unwrap());
    };
    let server = TestServer::start_with(with_sip).await;
    let (boss, pbx) = handset_tenant(&server).await;
    let anna = server.user(&boss, "anna", &["desktop"]).await;
    let (status, device) = server
        .post(&boss, "/api/v1/devices", json!({"pbx_id": pbx["id"], "device_id": "100", "user_id": anna, "sip_username": "100", "sip_password": "secret-100"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let device = device["id"].as_str().unwrap().to_string();
    let mut config = HandsetConfig::new(server.sip.unwrap(), "100");
    config.password = "secret-100".into();
    config.domain = "acme.example".into();
    let handset = SimHandset::start(config).await.expect("handset");
    assert!(handset.wait_snapshots(Duration::from_secs(10), 1).await);

    let (dir, temp) = (server.data_dir.clone(), server.temp());
    server.stop().await;
    let server = TestServer::start_in(&dir, crate::helpers::vendor_key(), temp, with_sip).await;
    assert!(
        handset.wait_snapshots(Duration::from_secs(10), 2).await,
        "the session was not reopened after the restart"
    );
    let (status, body) = server
        .get(&boss, &format!("/api/v1/devices/{device}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["registration"]["state"], "registered", "{body}");
    let token = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let mut events = Events::connect(&server, &token).await;
    handset.ring_from("+4930777").await.expect("rings");
    events.wait_for("call", |c| c["state"] == "ringing").await;
    handset.shutdown().await;
    server.stop().await;
}
