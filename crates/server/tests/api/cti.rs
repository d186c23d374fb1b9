//! The CTI engine end to end: a simulated PBX over real TCP, call control through the API,
//! events to the right WebSocket clients and to no other, call logs afterwards. The fixtures
//! the CTI tests share live here: a hosted PBX shared by two tenants, and waiting for calls.
//! The link's resilience is in `cti_link`; conference, forwarding and tenants' PBXs in
//! `cti_features`.

use std::collections::HashMap;
use std::time::Duration;

use pbx::sim::{DeviceSet, SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

pub struct Person {
    pub id: String,
    pub token: String,
    pub device: String,
}

pub struct Office {
    pub tenant: String,
    pub admin: String,
    pub people: HashMap<&'static str, Person>,
}

pub struct Hosted {
    pub sim: Simulator,
    pub pbx: String,
    pub acme: Office,
    pub globex: Office,
}

/// Waits until the PBX connection's link is `state`.
pub async fn link_is(server: &TestServer, admin: &str, pbx: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, body) = server.get(admin, &format!("/api/v1/pbxs/{pbx}")).await;
        if body["link"]["state"] == state {
            return body["link"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "link never {state}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn office(
    server: &TestServer,
    admin: &str,
    slug: &str,
    pbx: &str,
    range: &str,
    prefix: &str,
    people: &[(&'static str, &str)],
) -> Office {
    let (tenant, tenant_admin) = server.tenant(admin, slug).await;
    let (status, body) = server
        .post(
            admin,
            &format!("/api/v1/pbxs/{pbx}/devices"),
            json!({"tenant_id": tenant, "device_ids": [range], "strip_prefix": prefix}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, devices) = server.get(&tenant_admin, "/api/v1/devices").await;
    let mut map = HashMap::new();
    for (name, extension) in people {
        let id = server.user(&tenant_admin, name, &["desktop"]).await;
        let device = devices
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["extension"] == *extension)
            .expect("device")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = server
            .patch(
                &tenant_admin,
                &format!("/api/v1/devices/{device}"),
                json!({"user_id": id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = server
            .login(Some(slug), name, "user-password", "desktop")
            .await
            .expect("login");
        map.insert(*name, Person { id, token, device });
    }
    Office {
        tenant,
        admin: tenant_admin,
        people: map,
    }
}

/// A hosted PBX shared by two tenants with the same extension numbers (200-209): ACME's
/// devices are 1200-1209, Globex's 2200-2209 on the switch.
pub async fn hosted(server: &TestServer, admin: &str) -> Hosted {
    let (status, _) = server
        .load_license(
            admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 50)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut config = SimConfig::new("1200-1209,2200-2209".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.trunk.answer_delay = Duration::from_millis(200);
    let sim = Simulator::start(config).await.expect("simulator");
    let (status, pbx) = server
        .post(admin, "/api/v1/pbxs", json!({"name": "hosted", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx = pbx["id"].as_str().unwrap().to_string();
    link_is(server, admin, &pbx, "up").await;
    let acme = office(
        server,
        admin,
        "acme",
        &pbx,
        "1200-1209",
        "1",
        &[("anna", "200"), ("bert", "201"), ("carl", "202")],
    )
    .await;
    let globex = office(
        server,
        admin,
        "globex",
        &pbx,
        "2200-2209",
        "2",
        &[("gina", "200")],
    )
    .await;
    Hosted {
        sim,
        pbx,
        acme,
        globex,
    }
}

pub fn calls(body: &Value) -> Vec<Value> {
    body.as_array().cloned().unwrap_or_default()
}

/// The one call a user has, waiting until there is exactly one in `state`.
pub async fn my_call(server: &TestServer, token: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.get(token, "/api/v1/calls").await;
        if let Some(call) = calls(&body).into_iter().find(|c| c["state"] == state) {
            return call;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {state} call: {body}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The first of a user's calls that satisfies `predicate`, waiting (up to 10 s) until the
/// user's calls show it: `what` names it in the failure.
pub async fn call_where(
    server: &TestServer,
    token: &str,
    what: &str,
    predicate: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.get(token, "/api/v1/calls").await;
        if let Some(call) = calls(&body).into_iter().find(|c| predicate(c)) {
            return call;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call {what}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Waits (up to 10 s) until the user has no call left.
pub async fn no_calls(server: &TestServer, token: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.get(token, "/api/v1/calls").await;
        if calls(&body).is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the calls never ended: {body}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

pub async fn act(
    server: &TestServer,
    token: &str,
    call: &Value,
    action: &str,
    body: Value,
) -> Value {
    let (status, answer) = server
        .post(
            token,
            &format!("/api/v1/calls/{}/{action}", call["id"].as_str().unwrap()),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    answer
}

pub async fn call_log(server: &TestServer, token: &str, entries: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = server.get(token, "/api/v1/call-log").await;
        let rows = body["calls"].as_array().cloned().unwrap_or_default();
        if rows.len() >= entries {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "call log has {} rows, want {entries}: {body}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn never_mentions(events: &Events, words: &[&str]) {
    for event in &events.seen {
        let text = event.to_string();
        for word in words {
            assert!(!text.contains(word), "an event leaked `{word}`: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_control_end_to_end_with_events_and_call_logs() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let Hosted {
        sim, acme, globex, ..
    } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    let bert = &acme.people["bert"];
    let carl = &acme.people["carl"];
    let gina = &globex.people["gina"];
    let mut anna_events = Events::connect(&server, &anna.token).await;
    let mut bert_events = Events::connect(&server, &bert.token).await;
    let mut carl_events = Events::connect(&server, &carl.token).await;
    let mut gina_events = Events::connect(&server, &gina.token).await;

    // Anna dials Bert's extension.
    let (status, made) = server
        .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        made["other"],
        json!({"number": "201", "name": "BERT", "internal": true})
    );
    assert_eq!(made["state"], "dialing");
    let ringing = bert_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(
        ringing["data"]["other"],
        json!({"number": "200", "name": "ANNA", "internal": true})
    );
    assert_eq!(ringing["data"]["direction"], "incoming");
    bert_events
        .wait_for("device_state", |d| {
            d["number"] == "201" && d["state"] == "ringing"
        })
        .await;
    let bert_call = my_call(&server, &bert.token, "ringing").await;
    act(&server, &bert.token, &bert_call, "answer", json!({})).await;
    anna_events
        .wait_for("call", |c| {
            c["id"] == made["id"] && c["state"] == "connected"
        })
        .await;
    carl_events
        .wait_for("presence", |p| {
            p["user_id"] == anna.id.as_str() && p["phone"] == "talking"
        })
        .await;

    // Hold and retrieve, DTMF.
    act(&server, &anna.token, &made, "hold", json!({})).await;
    anna_events
        .wait_for("call", |c| c["id"] == made["id"] && c["state"] == "held")
        .await;
    act(&server, &anna.token, &made, "retrieve", json!({})).await;
    anna_events
        .wait_for("call", |c| {
            c["id"] == made["id"] && c["state"] == "connected"
        })
        .await;
    // DTMF reaches the switch, from Anna's phone (1200 on the switch) and no other. The
    // answer comes after the switch's, so the digits are there when it does.
    assert_eq!(sim.digits_sent("1200"), "", "no digits before");
    act(
        &server,
        &anna.token,
        &made,
        "digits",
        json!({"digits": "12#"}),
    )
    .await;
    assert_eq!(
        sim.digits_sent("1200"),
        "12#",
        "the digits reached the switch"
    );
    assert_eq!(sim.digits_sent("1201"), "", "only from Anna's phone");

    // Bert consults Carl, Carl answers, Bert completes the transfer: Anna talks to Carl.
    let consult = act(
        &server,
        &bert.token,
        &bert_call,
        "consult",
        json!({"to": "202"}),
    )
    .await;
    assert_eq!(consult["other"]["number"], "202");
    carl_events
        .wait_for("call", |c| {
            c["state"] == "ringing" && c["other"]["number"] == "201"
        })
        .await;
    let carl_call = my_call(&server, &carl.token, "ringing").await;
    act(&server, &carl.token, &carl_call, "answer", json!({})).await;
    carl_events
        .wait_for("call", |c| c["state"] == "connected")
        .await;
    act(
        &server,
        &bert.token,
        &consult,
        "transfer",
        json!({"call_id": bert_call["id"]}),
    )
    .await;
    let transferred = anna_events
        .wait_for("call", |c| {
            c["id"] == made["id"] && c["other"]["number"] == "202"
        })
        .await;
    assert_eq!(transferred["data"]["other"]["name"], "CARL");
    bert_events
        .saw_or_wait("call_ended", |e| e["id"] == consult["id"])
        .await;
    bert_events
        .saw_or_wait("call_ended", |e| e["id"] == bert_call["id"])
        .await;
    let (_, bert_calls) = server.get(&bert.token, "/api/v1/calls").await;
    assert!(calls(&bert_calls).is_empty(), "{bert_calls}");

    // Anna hangs up; Carl's call ends too.
    act(&server, &anna.token, &made, "clear", json!({})).await;
    carl_events.wait_for("call_ended", |_| true).await;

    // Call logs: every leg, for every user, with the transfer.
    let anna_log = call_log(&server, &anna.token, 1).await;
    assert_eq!(anna_log[0]["direction"], "internal");
    assert_eq!(anna_log[0]["outgoing"], true);
    assert_eq!(anna_log[0]["answered"], true);
    assert_eq!(anna_log[0]["other_number"], "202");
    assert_eq!(anna_log[0]["other_name"], "CARL");
    assert_eq!(anna_log[0]["transferred"], json!(["201"]));
    assert!(anna_log[0]["talk_ms"].as_i64().unwrap() > 0);
    let bert_log = call_log(&server, &bert.token, 2).await;
    assert!(
        bert_log
            .iter()
            .all(|c| c["direction"] == "internal" && c["answered"] == true),
        "{bert_log:?}"
    );
    assert!(
        bert_log
            .iter()
            .any(|c| c["transferred"].as_array().is_some_and(|t| !t.is_empty())),
        "{bert_log:?}"
    );
    let carl_log = call_log(&server, &carl.token, 1).await;
    assert_eq!(carl_log[0]["answered_by"], "CARL");

    // A missed call: an outside caller rings Anna and gives up.
    let (status, _) = server
        .post(
            &acme.admin,
            "/api/v1/contacts",
            json!({"name": "Supplier Ltd", "numbers": [{"label": "work", "number": "+49 30 555"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let outside = sim
        .incoming_external("+4930555", "1200")
        .expect("external call");
    let ring = anna_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(
        ring["data"]["other"],
        json!({"number": "+4930555", "name": "Supplier Ltd", "internal": false})
    );
    sim.clear_call(outside).expect("caller hangs up");
    anna_events
        .wait_for("call_ended", |e| e["missed"] == true)
        .await;
    let anna_log = call_log(&server, &anna.token, 2).await;
    assert_eq!(
        (
            anna_log[0]["direction"].as_str(),
            anna_log[0]["missed"].as_bool()
        ),
        (Some("in"), Some(true))
    );
    assert_eq!(anna_log[0]["other_name"], "Supplier Ltd");

    // Deflect: the next outside call goes on to Bert.
    sim.incoming_external("+4930777", "1200")
        .expect("external call");
    let ringing = my_call(&server, &anna.token, "ringing").await;
    act(
        &server,
        &anna.token,
        &ringing,
        "deflect",
        json!({"to": "201"}),
    )
    .await;
    let at_bert = bert_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(at_bert["data"]["other"]["number"], "+4930777");
    let bert_ringing = my_call(&server, &bert.token, "ringing").await;
    act(&server, &bert.token, &bert_ringing, "clear", json!({})).await;

    // Do-not-disturb and presence reach the tenant, and only the tenant.
    let (status, _) = server
        .put(
            &anna.token,
            &format!("/api/v1/devices/{}/dnd", anna.device),
            json!({"on": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    bert_events
        .wait_for("device_state", |d| {
            d["device_id"] == anna.device.as_str() && d["dnd"] == true
        })
        .await;
    let (status, presence) = server
        .put(
            &anna.token,
            "/api/v1/me/presence",
            json!({"state": "away", "note": "lunch"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{presence}");
    bert_events
        .wait_for("presence", |p| {
            p["user_id"] == anna.id.as_str() && p["note"] == "lunch"
        })
        .await;
    let (_, everyone) = server.get(&gina.token, "/api/v1/presence").await;
    assert_eq!(
        everyone.as_array().unwrap().len(),
        2,
        "Globex sees its own two users: {everyone}"
    );
    // Bert may not control Anna's phone; Gina does not even find it.
    let (status, _) = server
        .put(
            &bert.token,
            &format!("/api/v1/devices/{}/dnd", anna.device),
            json!({"on": false}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server
        .put(
            &gina.token,
            &format!("/api/v1/devices/{}/dnd", anna.device),
            json!({"on": false}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A PBX refusal has the PBX's reason; nothing of ACME ever reached Globex.
    let (status, body) = server
        .post(&gina.token, "/api/v1/calls", json!({"to": "99x"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    gina_events.drain(Duration::from_millis(300)).await;
    never_mentions(
        &gina_events,
        &[
            "ANNA",
            "BERT",
            "CARL",
            "Supplier",
            &anna.id,
            &bert.id,
            &carl.id,
            &acme.tenant,
        ],
    );
    server.stop().await;
}
