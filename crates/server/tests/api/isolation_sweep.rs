//! Tenant isolation swept from the OpenAPI document. Every route with an id in its path,
//! with every method the document gives it, is called by another tenant's admin and user
//! with this tenant's real ids: the answer must be exactly the answer for an id that does
//! not exist (404, or the same 403 when the caller's role is refused before any lookup).
//! Ids inside request bodies, personal contacts between users of one tenant, lists, call
//! logs, device states and the audit log are checked the same way, and afterwards the
//! owner reads every one of its records exactly as before.
//!
//! A route with a path parameter that the sweep has no record for fails the test, so a new
//! route cannot be forgotten here.
//!
//! One file, though long: it is one test, a single walk over the document and every
//! tenant's records, with the helpers it alone uses.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cti::{Hosted, hosted, link_is};
use crate::helpers::TestServer;
use crate::ws::Events;

/// A fresh id that names nothing on the server.
fn unknown() -> String {
    ucplus_core::ids::new_uuid().to_string()
}

fn id_of(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

fn list(body: &Value) -> &Vec<Value> {
    body.as_array()
        .unwrap_or_else(|| panic!("expected a list, got {body}"))
}

/// `template` with every `{parameter}` replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                id
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What is compared before and after: the records, not live link state (`link` changes on
/// its own) and not the order of a list.
fn comparable(mut value: Value) -> Value {
    match &mut value {
        Value::Object(record) => {
            record.remove("link");
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Some(record) = item.as_object_mut() {
                    record.remove("link");
                }
            }
            items.sort_by_key(Value::to_string);
        }
        _ => {}
    }
    value
}

/// Everything the owner reads at `reads`, as `(token, path)`.
async fn read_all(server: &TestServer, reads: &[(&str, String)]) -> Vec<Value> {
    let mut values = Vec::new();
    for (token, path) in reads {
        let (status, body) = server.get(token, path).await;
        assert_eq!(status, StatusCode::OK, "the owner reads {path}: {body}");
        values.push(comparable(body));
    }
    values
}

/// Waits (bounded) for a call of `token` that `matches`.
async fn wait_call(
    server: &TestServer,
    token: &str,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = server.get(token, "/api/v1/calls").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(call) = list(&body).iter().find(|c| matches(c)) {
            return call.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call {what}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Waits until `token` has no calls and at least `rows` call-log rows; returns the rows.
async fn wait_logged(server: &TestServer, token: &str, rows: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, calls) = server.get(token, "/api/v1/calls").await;
        let (status, log) = server.get(token, "/api/v1/call-log?limit=500").await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let logged = log["calls"].as_array().cloned().unwrap_or_default();
        if list(&calls).is_empty() && logged.len() >= rows {
            return logged;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "want no calls and {rows} call-log rows: {calls} {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `caller` dials `to` and waits until the call is connected; answers the caller's leg.
async fn connected_call(
    server: &TestServer,
    caller: &str,
    to: &str,
    answerer: Option<&str>,
) -> Value {
    let (status, made) = server
        .post(caller, "/api/v1/calls", json!({"to": to}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    if let Some(answerer) = answerer {
        let ringing = wait_call(server, answerer, "ringing", |c| c["state"] == "ringing").await;
        let (status, body) = server
            .post(
                answerer,
                &format!("/api/v1/calls/{}/answer", id_of(&ringing)),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    wait_call(server, caller, "connected", |c| {
        c["id"] == made["id"] && c["state"] == "connected"
    })
    .await
}

/// A body the route accepts, so that the request reaches the id lookup: a body refused
/// as invalid would be refused for any id and prove nothing.
fn request_body(method: &Method, template: &str, b_tenant: &str) -> Option<Value> {
    if *method == Method::GET || *method == Method::DELETE {
        return None;
    }
    if let Some(action) = template.strip_prefix("/api/v1/calls/{id}/") {
        return Some(match action {
            "consult" | "deflect" | "transfer" => json!({"to": "209"}),
            "digits" => json!({"digits": "1"}),
            "conference" => json!({"call_id": unknown()}),
            _ => json!({}),
        });
    }
    let body = match (method.as_str(), template) {
        ("PATCH", "/api/v1/users/{id}") => json!({"display_name": "Stolen"}),
        ("PATCH", "/api/v1/sites/{id}" | "/api/v1/devices/{id}" | "/api/v1/pbxs/{id}") => {
            json!({"name": "Stolen"})
        }
        ("PATCH", "/api/v1/tenants/{id}") => json!({"name": "Stolen"}),
        ("PUT", "/api/v1/tenants/{id}/limits") => json!({"desktop": {"cap": 1, "reserved": 0}}),
        ("PUT", "/api/v1/contacts/{id}" | "/api/v1/me/contacts/{id}") => {
            json!({"name": "Stolen", "numbers": [{"label": "work", "number": "666"}]})
        }
        ("PUT", "/api/v1/devices/{id}/dnd") => json!({"on": true}),
        ("PUT", "/api/v1/devices/{id}/forwarding") => json!({"on": true, "to": "209"}),
        ("POST", "/api/v1/pbxs/{id}/devices") => {
            json!({"tenant_id": b_tenant, "device_ids": ["1209"]})
        }
        _ => panic!(
            "the sweep has no request body for {method} {template}: add one the route accepts"
        ),
    };
    Some(body)
}

/// Calls `method path` with `with_a` and with `with_unknown` as `token` and asserts the
/// answers are identical; returns the status.
#[allow(clippy::too_many_arguments)]
async fn same_as_unknown(
    server: &TestServer,
    who: &str,
    token: &str,
    method: Method,
    path: &str,
    unknown_path: &str,
    with_a: Option<Value>,
    with_unknown: Option<Value>,
) -> StatusCode {
    let (status, answer) = server.call(method.clone(), path, Some(token), with_a).await;
    let (unknown_status, unknown_answer) = server
        .call(method.clone(), unknown_path, Some(token), with_unknown)
        .await;
    // Another tenant's id answers exactly like an id that does not exist.
    assert_eq!(
        (status, &answer),
        (unknown_status, &unknown_answer),
        "{who}: {method} {path} answers differently for A's id and an unknown id"
    );
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_an_id_answers_another_tenants_id_like_an_unknown_one() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    // Tenant A is ACME (anna, bert, carl), tenant B is Globex (gina), on one shared PBX.
    let Hosted {
        sim: _switch,
        acme,
        globex,
        ..
    } = hosted(&server, &admin).await;
    let anna = &acme.people["anna"];
    let bert = &acme.people["bert"];
    let carl = &acme.people["carl"];
    let gina = &globex.people["gina"];

    // A's records of every kind: a site, a PBX of its own with a device, a shared and a
    // personal contact, and (below) calls and call-log rows.
    let (_, me) = server.get(&acme.admin, "/api/v1/me").await;
    let a_admin_id = me["user"]["id"].as_str().expect("admin's id").to_string();
    let (status, site) = server
        .post(&acme.admin, "/api/v1/sites", json!({"name": "Acme HQ"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let a_site = id_of(&site);
    let (status, body) = server
        .patch(
            &acme.admin,
            &format!("/api/v1/users/{}", carl.id),
            json!({"site_id": a_site}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "acme own", "kind": "sim", "tenant_id": acme.tenant, "devices": "300-309"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let a_pbx = id_of(&pbx);
    let (status, device) = server
        .post(
            &acme.admin,
            "/api/v1/devices",
            json!({"pbx_id": a_pbx, "device_id": "300", "user_id": carl.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let a_own_device = id_of(&device);
    let (status, contact) = server
        .post(
            &acme.admin,
            "/api/v1/contacts",
            json!({"name": "Acme Supplier", "numbers": [{"label": "work", "number": "+49 30 555"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let a_contact = id_of(&contact);
    let (status, personal) = server
        .post(
            &anna.token,
            "/api/v1/me/contacts",
            json!({"name": "Anna's dentist", "numbers": [{"number": "+49 30 777"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{personal}");
    let a_personal = id_of(&personal);
    // B has a PBX of its own too, so that a user id in a device body is checked alone.
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "globex own", "kind": "sim", "tenant_id": globex.tenant, "devices": "350-359"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let b_pbx = id_of(&pbx);
    link_is(&server, &admin, &a_pbx, "up").await;
    link_is(&server, &admin, &b_pbx, "up").await;

    // Calls: one finished (call-log rows for anna and bert), one still connected.
    let finished = connected_call(&server, &anna.token, "201", Some(&bert.token)).await;
    let (status, body) = server
        .post(
            &anna.token,
            &format!("/api/v1/calls/{}/clear", id_of(&finished)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let anna_log = wait_logged(&server, &anna.token, 1).await;
    let bert_log = wait_logged(&server, &bert.token, 1).await;
    let anna_call = connected_call(&server, &anna.token, "201", Some(&bert.token)).await;
    let bert_call = wait_call(&server, &bert.token, "connected", |c| {
        c["state"] == "connected"
    })
    .await;
    let a_calls = [id_of(&anna_call), id_of(&bert_call)];
    // B: gina's finished outside call (her call-log row) and a connected one to act on.
    let finished = connected_call(&server, &gina.token, "5551234", None).await;
    let (status, body) = server
        .post(
            &gina.token,
            &format!("/api/v1/calls/{}/clear", id_of(&finished)),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    wait_logged(&server, &gina.token, 1).await;
    let gina_call = id_of(&connected_call(&server, &gina.token, "5551234", None).await);

    // Every device of the tenant is monitored before the "before" picture is taken.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, states) = server.get(&acme.admin, "/api/v1/devices/states").await;
        if list(&states).iter().all(|d| d["state"] != "unknown") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "A's devices never monitored: {states}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let a_users = vec![
        anna.id.clone(),
        bert.id.clone(),
        carl.id.clone(),
        a_admin_id.clone(),
    ];
    let (_, devices) = server.get(&acme.admin, "/api/v1/devices").await;
    let a_devices: Vec<String> = list(&devices).iter().map(id_of).collect();
    assert!(a_devices.contains(&anna.device) && a_devices.contains(&a_own_device));
    let (_, licenses) = server.get(&admin, "/api/v1/licenses").await;
    let license = licenses["licenses"][0]["id"]
        .as_str()
        .expect("a loaded license")
        .to_string();
    let (_, audit) = server
        .get(
            &admin,
            &format!("/api/v1/audit?tenant_id={}&limit=500", acme.tenant),
        )
        .await;
    assert!(
        !list(&audit["entries"]).is_empty(),
        "A has audit entries that could leak"
    );

    // Everything A has, as A reads it: compared once B is done.
    let mut a_reads: Vec<(&str, String)> = Vec::new();
    for user in &a_users {
        a_reads.push((&acme.admin, format!("/api/v1/users/{user}")));
    }
    for device in &a_devices {
        a_reads.push((&acme.admin, format!("/api/v1/devices/{device}")));
    }
    for path in [
        format!("/api/v1/sites/{a_site}"),
        format!("/api/v1/pbxs/{a_pbx}"),
        "/api/v1/users".into(),
        "/api/v1/sites".into(),
        "/api/v1/devices".into(),
        "/api/v1/pbxs".into(),
        "/api/v1/contacts".into(),
        "/api/v1/devices/states".into(),
        "/api/v1/calls?all=true".into(),
        "/api/v1/presence".into(),
    ] {
        a_reads.push((&acme.admin, path));
    }
    for person in [anna, bert] {
        for path in [
            "/api/v1/me/contacts",
            "/api/v1/calls",
            "/api/v1/call-log?limit=500",
        ] {
            a_reads.push((&person.token, path.into()));
        }
    }
    a_reads.push((&admin, format!("/api/v1/tenants/{}", acme.tenant)));
    a_reads.push((
        &admin,
        format!("/api/v1/audit?tenant_id={}&limit=500", acme.tenant),
    ));
    a_reads.push((&admin, "/api/v1/licenses".into()));
    // B's event streams are open through all of it, while A's users are busy too: anna's
    // presence changes (an event for every session of A, none of B).
    let mut b_events = [
        ("B's admin", Events::connect(&server, &globex.admin).await),
        ("B's user", Events::connect(&server, &gina.token).await),
    ];
    let mut anna_events = Events::connect(&server, &anna.token).await;
    let (status, body) = server
        .put(
            &anna.token,
            "/api/v1/me/presence",
            json!({"state": "busy", "note": "Anna's board meeting"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    anna_events
        .wait_for("presence", |p| p["note"] == "Anna's board meeting")
        .await;
    let before = read_all(&server, &a_reads).await;

    // The sweep: every templated path of the document, every method, A's real ids.
    let (status, document) = server
        .call(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = document["paths"].as_object().expect("paths");
    let templated: BTreeMap<&str, Vec<Method>> = paths
        .iter()
        .filter(|(path, _)| path.contains('{'))
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item")
                .keys()
                .filter_map(|m| match m.as_str() {
                    "get" => Some(Method::GET),
                    "put" => Some(Method::PUT),
                    "post" => Some(Method::POST),
                    "delete" => Some(Method::DELETE),
                    "patch" => Some(Method::PATCH),
                    _ => None,
                })
                .collect();
            (path.as_str(), methods)
        })
        .collect();
    let ids_for = |template: &str| -> Option<Vec<String>> {
        let ids = match template {
            "/api/v1/tenants/{id}" | "/api/v1/tenants/{id}/limits" => vec![acme.tenant.clone()],
            "/api/v1/users/{id}" => a_users.clone(),
            "/api/v1/sites/{id}" => vec![a_site.clone()],
            "/api/v1/devices/{id}"
            | "/api/v1/devices/{id}/dnd"
            | "/api/v1/devices/{id}/forwarding" => vec![anna.device.clone(), a_own_device.clone()],
            "/api/v1/pbxs/{id}" | "/api/v1/pbxs/{id}/devices" => vec![a_pbx.clone()],
            "/api/v1/contacts/{id}" => vec![a_contact.clone()],
            "/api/v1/me/contacts/{id}" => vec![a_personal.clone()],
            // Not a tenant's record but the server's: B is refused exactly as for any id.
            "/api/v1/licenses/{id}" => vec![license.clone()],
            // Every action on a call, present and future.
            t if t.starts_with("/api/v1/calls/{id}/") => a_calls.to_vec(),
            _ => return None,
        };
        Some(ids)
    };
    let forgotten: Vec<&&str> = templated.keys().filter(|t| ids_for(t).is_none()).collect();
    assert!(
        forgotten.is_empty(),
        "the isolation sweep has no id of tenant A for {forgotten:?}: add A's record to `ids_for`"
    );
    for required in [
        "/api/v1/users/{id}",
        "/api/v1/devices/{id}/dnd",
        "/api/v1/devices/{id}/forwarding",
        "/api/v1/me/contacts/{id}",
        "/api/v1/calls/{id}/transfer",
    ] {
        assert!(
            templated.contains_key(required),
            "{required} is gone from the document: {:?}",
            templated.keys()
        );
    }
    let b_callers = [
        ("B's admin", globex.admin.as_str()),
        ("B's user", gina.token.as_str()),
    ];
    let mut swept = 0;
    for (template, methods) in &templated {
        let ids = ids_for(template).expect("checked above");
        for method in methods {
            for id in &ids {
                for (who, token) in b_callers {
                    let body = request_body(method, template, &globex.tenant);
                    let status = same_as_unknown(
                        &server,
                        who,
                        token,
                        method.clone(),
                        &fill(template, id),
                        &fill(template, &unknown()),
                        body.clone(),
                        body,
                    )
                    .await;
                    assert!(
                        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                        "{who}: {method} {template} with A's {id}: {status}"
                    );
                    swept += 1;
                }
            }
        }
    }
    assert!(swept >= 100, "only {swept} requests swept");

    // Personal contacts are personal within a tenant too: bert and A's admin find anna's
    // contact exactly as much as an unknown one, and never in their own list.
    let personal_methods = &templated["/api/v1/me/contacts/{id}"];
    for (who, token) in [("A's other user", &bert.token), ("A's admin", &acme.admin)] {
        for method in personal_methods {
            let body = request_body(method, "/api/v1/me/contacts/{id}", &acme.tenant);
            let status = same_as_unknown(
                &server,
                who,
                token,
                method.clone(),
                &format!("/api/v1/me/contacts/{a_personal}"),
                &format!("/api/v1/me/contacts/{}", unknown()),
                body.clone(),
                body,
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{who}: {method}");
        }
        let (status, own) = server.get(token, "/api/v1/me/contacts").await;
        assert_eq!(status, StatusCode::OK, "{own}");
        assert!(
            list(&own).iter().all(|c| c["id"] != a_personal.as_str()),
            "{who} lists anna's personal contact: {own}"
        );
        let (_, found) = server.get(token, "/api/v1/directory?q=dentist").await;
        assert_eq!(found, json!([]), "{who} finds anna's personal contact");
    }

    // Ids inside request bodies: A's id is refused exactly like an unknown one.
    type Body<'a> = Box<dyn Fn(&str) -> Value + 'a>;
    let body_cases: Vec<(Method, String, &str, Body)> = vec![
        // Consult-and-complete transfer and conference name the other call in the body.
        (
            Method::POST,
            format!("/api/v1/calls/{gina_call}/transfer"),
            &a_calls[0],
            Box::new(|id| json!({"call_id": id})),
        ),
        (
            Method::POST,
            format!("/api/v1/calls/{gina_call}/conference"),
            &a_calls[1],
            Box::new(|id| json!({"call_id": id})),
        ),
        // A call from one of A's phones.
        (
            Method::POST,
            "/api/v1/calls".into(),
            &anna.device,
            Box::new(|id| json!({"to": "209", "device_id": id})),
        ),
        // A device on A's PBX, a device given to A's user, a user at A's site.
        (
            Method::POST,
            "/api/v1/devices".into(),
            &a_pbx,
            Box::new(|id| json!({"pbx_id": id, "device_id": "350"})),
        ),
        (
            Method::POST,
            "/api/v1/devices".into(),
            &anna.id,
            Box::new(|id| json!({"pbx_id": b_pbx, "device_id": "351", "user_id": id})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/devices/{}", gina.device),
            &anna.id,
            Box::new(|id| json!({"user_id": id})),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            &a_site,
            Box::new(
                |id| json!({"username": "mallory", "password": "mallory-password", "display_name": "M", "site_id": id}),
            ),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", gina.id),
            &a_site,
            Box::new(|id| json!({"site_id": id})),
        ),
    ];
    for (method, path, a_id, make) in &body_cases {
        for (who, token) in b_callers {
            let status = same_as_unknown(
                &server,
                who,
                token,
                method.clone(),
                path,
                path,
                Some(make(a_id)),
                Some(make(&unknown())),
            )
            .await;
            assert!(
                status.is_client_error(),
                "{who}: {method} {path} with A's {a_id}: {status}"
            );
        }
    }
    // The admin's refusals name the field, so the bodies reached the id checks.
    let (status, body) = server
        .patch(
            &globex.admin,
            &format!("/api/v1/users/{}", gina.id),
            json!({"site_id": a_site}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("site_id"))
    );

    // A's audit entries, asked for by tenant id, are what an unknown tenant id gets.
    for (who, token) in b_callers {
        same_as_unknown(
            &server,
            who,
            token,
            Method::GET,
            &format!("/api/v1/audit?tenant_id={}&limit=500", acme.tenant),
            &format!("/api/v1/audit?tenant_id={}&limit=500", unknown()),
            None,
            None,
        )
        .await;
    }
    let (status, audit) = server
        .get(
            &globex.admin,
            &format!("/api/v1/audit?tenant_id={}&limit=500", acme.tenant),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entries = list(&audit["entries"]);
    assert!(!entries.is_empty(), "B's admin reads B's own entries");
    assert!(
        entries
            .iter()
            .all(|e| e["tenant_id"] == globex.tenant.as_str()),
        "{audit}"
    );

    // Call logs and their CSV: B's are exactly B's own calls.
    let (_, log) = server.get(&gina.token, "/api/v1/call-log?limit=500").await;
    let gina_log = list(&log["calls"]);
    assert_eq!(gina_log.len(), 1, "gina's one finished call: {log}");
    assert!(gina_log.iter().all(|c| c["user_id"] == gina.id.as_str()));
    let a_rows: BTreeSet<String> = anna_log.iter().chain(&bert_log).map(id_of).collect();
    assert!(
        gina_log.iter().all(|c| !a_rows.contains(&id_of(c))),
        "{log}"
    );
    let (status, csv) = server.get(&gina.token, "/api/v1/call-log.csv").await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().expect("CSV text");
    assert_eq!(csv.lines().count(), 2, "a header and gina's call: {csv}");
    assert!(csv.contains("5551234"), "{csv}");
    let (_, log) = server
        .get(&globex.admin, "/api/v1/call-log?limit=500")
        .await;
    assert_eq!(log["calls"], json!([]), "B's admin has no phone: {log}");
    let (_, csv) = server.get(&globex.admin, "/api/v1/call-log.csv").await;
    assert_eq!(csv.as_str().expect("CSV").lines().count(), 1, "{csv}");

    // Device states (the busy-lamp field): B's devices, all of them, and nothing else.
    let (_, devices) = server.get(&globex.admin, "/api/v1/devices").await;
    let b_devices: BTreeSet<String> = list(&devices).iter().map(id_of).collect();
    for (who, token) in b_callers {
        let (status, states) = server.get(token, "/api/v1/devices/states").await;
        assert_eq!(status, StatusCode::OK, "{states}");
        let shown: BTreeSet<String> = list(&states)
            .iter()
            .map(|d| d["device_id"].as_str().expect("device_id").to_string())
            .collect();
        assert_eq!(shown, b_devices, "{who}: {states}");
    }

    // No list or other read without an id in the path mentions anything of A's. The
    // unauthenticated operator endpoints (no security in the document: health, metrics)
    // hold no tenant's records and are left out: /metrics labels each PBX connection's
    // link gauge with its id, for the operator's monitoring.
    let mut forbidden: Vec<String> = vec![acme.tenant.clone(), a_site.clone(), a_pbx.clone()];
    forbidden.extend(a_users.iter().cloned());
    forbidden.extend(a_devices.iter().cloned());
    forbidden.extend(a_calls.iter().cloned());
    forbidden.extend(a_rows.iter().cloned());
    forbidden.extend([a_contact.clone(), a_personal.clone()]);
    forbidden.extend(
        [
            "ANNA",
            "BERT",
            "CARL",
            "Acme HQ",
            "Acme Supplier",
            "Anna's dentist",
            "Anna's board meeting",
        ]
        .map(String::from),
    );
    let mut reads: Vec<String> = paths
        .iter()
        .filter(|(path, item)| {
            let read = &item["get"];
            let public = read["security"].as_array().is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|r| r.is_empty()))
            });
            !path.contains('{') && read.is_object() && !public
        })
        .map(|(path, _)| path.clone())
        .collect();
    reads.extend(
        [
            "/api/v1/calls?all=true",
            "/api/v1/directory?q=",
            "/api/v1/directory?q=a",
            "/api/v1/call-log?limit=500",
            "/api/v1/audit?limit=500",
        ]
        .map(String::from),
    );
    reads.push(format!("/api/v1/audit?tenant_id={}&limit=500", acme.tenant));
    let mut read_ok = 0;
    for path in &reads {
        for (who, token) in b_callers {
            let (status, body) = server.get(token, path).await;
            let text = body.to_string();
            for word in &forbidden {
                assert!(
                    !text.contains(word.as_str()),
                    "{who}: GET {path} ({status}) shows A's `{word}`: {text}"
                );
            }
            if status == StatusCode::OK {
                read_ok += 1;
            }
        }
    }
    assert!(read_ok >= 20, "only {read_ok} reads answered");

    // Nor did any event B received: a presence change of gina's, the last event, closes
    // what each stream has seen (events arrive in order).
    let (status, body) = server
        .put(
            &gina.token,
            "/api/v1/me/presence",
            json!({"state": "away", "note": "sweep done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (who, events) in &mut b_events {
        events
            .wait_for("presence", |p| p["note"] == "sweep done")
            .await;
        for event in &events.seen {
            let text = event.to_string();
            for word in &forbidden {
                assert!(
                    !text.contains(word.as_str()),
                    "{who}'s events show A's `{word}`: {text}"
                );
            }
        }
    }

    // After all of it, A's records read exactly as before.
    let after = read_all(&server, &a_reads).await;
    for (((_, path), before), after) in a_reads.iter().zip(&before).zip(&after) {
        assert_eq!(after, before, "{path} changed by tenant B");
    }

    server.stop().await;
}
