//! The CTI engine end to end: a simulated PBX over real TCP, call control through the API,
//! events to the right WebSocket clients and to no other, call logs afterwards, and the
//! link surviving drops, restarts, silence and garbage.

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

async fn office(
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

fn calls(body: &Value) -> Vec<Value> {
    body.as_array().cloned().unwrap_or_default()
}

/// The one call a user has, waiting until there is exactly one in `state`.
async fn my_call(server: &TestServer, token: &str, state: &str) -> Value {
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
async fn call_where(
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
async fn no_calls(server: &TestServer, token: &str) {
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

async fn act(server: &TestServer, token: &str, call: &Value, action: &str, body: Value) -> Value {
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

async fn call_log(server: &TestServer, token: &str, entries: usize) -> Vec<Value> {
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

fn never_mentions(events: &Events, words: &[&str]) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_on_a_shared_pbx_see_each_other_only_as_numbers() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let Hosted {
        sim: _switch,
        acme,
        globex,
        ..
    } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    let gina = &globex.people["gina"];
    let mut anna_events = Events::connect(&server, &anna.token).await;
    let mut gina_events = Events::connect(&server, &gina.token).await;

    // Both have extension 200; on the switch they are 1200 and 2200. Gina dials Anna's
    // full number: to each side the other is an outside number.
    let (status, made) = server
        .post(&gina.token, "/api/v1/calls", json!({"to": "1200"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(
        made["other"],
        json!({"number": "1200", "name": null, "internal": false})
    );
    let ring = anna_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(
        ring["data"]["other"],
        json!({"number": "2200", "name": null, "internal": false})
    );
    let anna_call = my_call(&server, &anna.token, "ringing").await;
    // Gina cannot touch Anna's leg of the same call.
    let (status, _) = server
        .post(
            &gina.token,
            &format!("/api/v1/calls/{}/clear", anna_call["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    act(&server, &anna.token, &anna_call, "answer", json!({})).await;
    // Connected on both sides, each still seeing the other as a bare outside number.
    let at_gina = gina_events
        .wait_for("call", |c| c["state"] == "connected")
        .await;
    assert_eq!(
        at_gina["data"]["other"],
        json!({"number": "1200", "name": null, "internal": false})
    );
    let at_anna = anna_events
        .wait_for("call", |c| {
            c["id"] == anna_call["id"] && c["state"] == "connected"
        })
        .await;
    assert_eq!(
        at_anna["data"]["other"],
        json!({"number": "2200", "name": null, "internal": false})
    );
    let (_, gina_calls) = server.get(&gina.token, "/api/v1/calls").await;
    assert_eq!(calls(&gina_calls).len(), 1);
    act(&server, &anna.token, &anna_call, "clear", json!({})).await;
    gina_events.wait_for("call_ended", |_| true).await;
    anna_events.wait_for("call_ended", |_| true).await;

    let anna_log = call_log(&server, &anna.token, 1).await;
    assert_eq!(
        (
            anna_log[0]["direction"].as_str(),
            anna_log[0]["other_number"].as_str()
        ),
        (Some("in"), Some("2200"))
    );
    assert_eq!(anna_log[0]["other_name"], Value::Null);
    let gina_log = call_log(&server, &gina.token, 1).await;
    let to_anna = gina_log
        .iter()
        .find(|c| c["other_number"] == "1200")
        .expect("the call to 1200 is logged");
    assert_eq!(to_anna["direction"], "out");
    assert_eq!(to_anna["other_name"], Value::Null);
    // Directory lookups stay within the tenant.
    let (_, found) = server.get(&gina.token, "/api/v1/directory?q=anna").await;
    assert_eq!(found, json!([]));
    let (_, found) = server.get(&gina.token, "/api/v1/directory?q=200").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["name"], "GINA");
    anna_events.drain(Duration::from_millis(200)).await;
    gina_events.drain(Duration::from_millis(200)).await;
    never_mentions(&anna_events, &["GINA", &gina.id, &globex.tenant]);
    never_mentions(&gina_events, &["ANNA", &anna.id, &acme.tenant]);
    server.stop().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conference_and_forwarding_end_to_end() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let Hosted {
        sim: _switch, acme, ..
    } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    let bert = &acme.people["bert"];
    let carl = &acme.people["carl"];
    let mut anna_events = Events::connect(&server, &anna.token).await;
    let mut carl_events = Events::connect(&server, &carl.token).await;

    // Anna talks to Bert, consults Carl, and joins all three.
    let (_, first) = server
        .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
        .await;
    let at_bert = my_call(&server, &bert.token, "ringing").await;
    act(&server, &bert.token, &at_bert, "answer", json!({})).await;
    anna_events
        .wait_for("call", |c| {
            c["id"] == first["id"] && c["state"] == "connected"
        })
        .await;
    let second = act(
        &server,
        &anna.token,
        &first,
        "consult",
        json!({"to": "202"}),
    )
    .await;
    let at_carl = my_call(&server, &carl.token, "ringing").await;
    act(&server, &carl.token, &at_carl, "answer", json!({})).await;
    anna_events
        .wait_for("call", |c| {
            c["id"] == second["id"] && c["state"] == "connected"
        })
        .await;
    act(
        &server,
        &anna.token,
        &second,
        "conference",
        json!({"call_id": first["id"]}),
    )
    .await;
    anna_events
        .wait_for("call", |c| c["conference"] == true)
        .await;
    carl_events
        .wait_for("call", |c| c["conference"] == true)
        .await;
    let (_, anna_calls) = server.get(&anna.token, "/api/v1/calls").await;
    assert_eq!(
        calls(&anna_calls).len(),
        1,
        "one conference call: {anna_calls}"
    );
    let conference = calls(&anna_calls).remove(0);
    act(&server, &anna.token, &conference, "clear", json!({})).await;
    // Bert and Carl stay connected with each other: a plain call between the two of them
    // now, no longer showing Anna or a conference.
    let at_carl = carl_events
        .wait_for("call", |c| {
            c["conference"] == false && c["state"] == "connected"
        })
        .await;
    assert_eq!(
        at_carl["data"]["other"],
        json!({"number": "201", "name": "BERT", "internal": true}),
        "{at_carl}"
    );
    // Bert's side changes with its own event: wait for it rather than read it at once.
    let bert_call = call_where(&server, &bert.token, "with Carl only", |c| {
        c["conference"] == false && c["state"] == "connected"
    })
    .await;
    assert_eq!(
        bert_call["other"],
        json!({"number": "202", "name": "CARL", "internal": true}),
        "{bert_call}"
    );
    let (_, bert_calls) = server.get(&bert.token, "/api/v1/calls").await;
    assert_eq!(calls(&bert_calls).len(), 1, "{bert_calls}");
    let (_, carl_calls) = server.get(&carl.token, "/api/v1/calls").await;
    assert_eq!(calls(&carl_calls).len(), 1, "{carl_calls}");
    let carl_call = calls(&carl_calls).remove(0);
    act(&server, &carl.token, &carl_call, "clear", json!({})).await;
    carl_events.wait_for("call_ended", |_| true).await;
    no_calls(&server, &bert.token).await;

    // Carl forwards to Bert: a call to Carl rings at Bert.
    let (status, _) = server
        .put(
            &carl.token,
            &format!("/api/v1/devices/{}/forwarding", carl.device),
            json!({"on": true, "to": "201"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    carl_events
        .wait_for("device_state", |d| {
            d["device_id"] == carl.device.as_str() && d["forwarding_to"].is_string()
        })
        .await;
    server
        .post(&anna.token, "/api/v1/calls", json!({"to": "202"}))
        .await;
    let forwarded = my_call(&server, &bert.token, "ringing").await;
    assert_eq!(
        forwarded["other"],
        json!({"number": "200", "name": "ANNA", "internal": true}),
        "{forwarded}"
    );
    act(&server, &bert.token, &forwarded, "clear", json!({})).await;
    let (status, body) = server
        .put(
            &carl.token,
            &format!("/api/v1/devices/{}/forwarding", carl.device),
            json!({"on": true}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
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

/// A device a tenant admin adds on the tenant's own PBX is monitored at once: calls from
/// it work without any further change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_added_by_a_tenant_admin_is_monitored_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (status, _) = server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 5)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (tenant, boss) = server.tenant(&admin, "acme").await;
    let mut config = SimConfig::new("300-309".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.expect("simulator");
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "own", "kind": "csta", "tenant_id": tenant, "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx = pbx["id"].as_str().unwrap().to_string();
    link_is(&server, &admin, &pbx, "up").await;
    let mut tokens = Vec::new();
    for (name, number) in [("anna", "300"), ("bert", "301")] {
        let user = server.user(&boss, name, &["desktop"]).await;
        let (status, device) = server
            .post(
                &boss,
                "/api/v1/devices",
                json!({"pbx_id": pbx, "device_id": number, "user_id": user}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
        let token = server
            .login(Some("acme"), name, "user-password", "desktop")
            .await
            .unwrap();
        tokens.push(token);
    }
    let (anna, bert) = (&tokens[0], &tokens[1]);
    // Monitoring starts in the background: the call goes through as soon as it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let made = loop {
        let (status, made) = server
            .post(anna, "/api/v1/calls", json!({"to": "301"}))
            .await;
        if status == StatusCode::CREATED {
            assert_eq!(made["other"]["number"], "301", "{made}");
            break made;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{made}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "never monitored: {made}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Both new devices report their calls: the switch rings Bert, and each side names
    // the other.
    let ringing = my_call(&server, bert, "ringing").await;
    assert_eq!(
        ringing["other"],
        json!({"number": "300", "name": "ANNA", "internal": true}),
        "{ringing}"
    );
    let at_anna = call_where(&server, anna, "to Bert", |c| {
        c["id"] == made["id"] && c["other"]["name"] == "BERT"
    })
    .await;
    assert_eq!(
        at_anna["other"],
        json!({"number": "301", "name": "BERT", "internal": true}),
        "{at_anna}"
    );
    server.stop().await;
}
