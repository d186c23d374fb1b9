//! CTI beyond plain call control, end to end: conference and forwarding, two tenants on a
//! shared PBX who see each other only as numbers, and a device a tenant admin adds on the
//! tenant's own PBX, monitored at once.

use std::time::Duration;

use pbx::sim::{DeviceSet, SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cti::{
    Hosted, act, call_log, call_where, calls, hosted, link_is, my_call, never_mentions, no_calls,
};
use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

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

/// Within a tenant a number dials one device: a new device or a new extension that takes
/// another device's number is refused naming `extension`; a device keeps its own number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_dials_one_device_of_the_tenant() {
    let server = TestServer::start().await;
    let admin = server.multi_tenant_admin().await;
    let (tenant, boss) = server.tenant(&admin, "acme").await;
    let (status, pbx) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "own", "kind": "sim", "tenant_id": tenant, "devices": "300-309"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let mut devices = Vec::new();
    for (device_id, extension) in [("300", None), ("301", Some("20"))] {
        let (status, device) = server
            .post(
                &boss,
                "/api/v1/devices",
                json!({"pbx_id": pbx["id"], "device_id": device_id, "extension": extension}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{device}");
        devices.push(device["id"].as_str().unwrap().to_string());
    }
    let refused = |body: &Value| {
        error_code(body) == "validation_failed"
            && body["error"]["fields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["field"] == "extension"))
    };
    // 302 dialled as 300 (device 300's number), and 303 dialled as 20 (301's extension).
    for extension in ["300", "20"] {
        let (status, body) = server
            .post(
                &boss,
                "/api/v1/devices",
                json!({"pbx_id": pbx["id"], "device_id": "302", "extension": extension}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(refused(&body), "{body}");
    }
    // Device 300 cannot take extension 20; device 301 may keep it, or change to 21.
    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/devices/{}", devices[0]),
            json!({"extension": "20"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(refused(&body), "{body}");
    for extension in ["20", "21"] {
        let (status, body) = server
            .patch(
                &boss,
                &format!("/api/v1/devices/{}", devices[1]),
                json!({"extension": extension}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // 20 is free again.
    let (status, body) = server
        .post(
            &boss,
            "/api/v1/devices",
            json!({"pbx_id": pbx["id"], "device_id": "302", "extension": "20"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.stop().await;
}
