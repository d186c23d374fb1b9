//! Regression tests for what was found probing ucplus from outside, continued: fields
//! silently dropped, tokens in URLs, oversized bodies, half-sent headers and idle
//! connections, PBX passwords at rest, user-owned data without bounds.

use std::time::Duration;

use pbx::handset::{HandsetConfig, RegistrationState, SimHandset};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::hardening::{acme, client_from};
use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_refused_by_name_never_dropped() {
    let server = TestServer::start().await;
    let (admin, boss) = acme(&server).await;
    let (status, body) = server
        .post(&boss, "/api/v1/users", json!({"username": "x", "password": "xxxxxxxx", "display_name": "X", "password_hash": "$argon2id$forged"}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed"),
        "{body}"
    );
    assert_eq!(body["error"]["fields"][0]["field"], "password_hash");
    let (status, _) = server.get(&boss, "/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    // Nested and several at once: every one is named.
    let (status, body) = server
        .post(&admin, "/api/v1/tenants", json!({"name": "T", "slug": "tt", "colour": "red", "admin": {"username": "b", "password": "bbbbbbbb", "pasword": "x"}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut named: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    named.sort();
    assert_eq!(named, ["admin.pasword", "colour"]);
    // PBX settings: only the kind's own keys; bad values refused before they are stored.
    let (status, pbx) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "lab", "kind": "sim", "devices": "200-209"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let pbx_path = format!("/api/v1/pbxs/{}", pbx["id"].as_str().unwrap());
    for (patch, field) in [
        (json!({"pasword": "secret"}), "pasword"),
        (json!({"traffic": -1}), "traffic"),
        (json!({"session": "none"}), "session"),
    ] {
        let (status, body) = server.patch(&admin, &pbx_path, patch.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{patch}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], field, "{patch}");
    }
    let (_, stored) = server.get(&admin, &pbx_path).await;
    assert_eq!(
        stored["settings"],
        json!({"devices": "200-209"}),
        "nothing stored"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handset_created_with_sip_credentials_can_register() {
    let server =
        TestServer::start_with(|config| config.sip.listen = Some("127.0.0.1:0".parse().unwrap()))
            .await;
    let (admin, boss) = acme(&server).await;
    let (_, tenants) = server.get(&admin, "/api/v1/tenants").await;
    let tenant = tenants
        .as_array()
        .and_then(|all| all.iter().find(|t| t["slug"] == "acme"))
        .map(|t| t["id"].clone())
        .expect("acme is listed");
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "handsets", "kind": "uacsta", "tenant_id": tenant, "sip_domain": "acme.example"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    let (status, device) = server
        .post(&boss, "/api/v1/devices", json!({"pbx_id": pbx["id"], "device_id": "100", "sip_username": "100", "sip_password": "secret-100"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    assert_eq!(device["sip_username"], "100");
    assert!(device.get("sip_password").is_none() && device.get("sip_ha1").is_none());
    // The phone registers with exactly those credentials.
    let mut config = HandsetConfig::new(server.sip.expect("registrar"), "100");
    config.password = "secret-100".into();
    config.domain = "acme.example".into();
    let phone = SimHandset::start(config).await.expect("handset");
    let registered = phone
        .wait_registration(Duration::from_secs(10), |state| {
            matches!(state, RegistrationState::Registered { .. })
        })
        .await;
    assert!(registered, "{:?}", phone.registration());
    let (_, device) = server
        .get(
            &boss,
            &format!("/api/v1/devices/{}", device["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(device["registration"]["state"], "registered", "{device}");
    phone.shutdown().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_in_urls_open_only_the_event_stream() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (status, body) = server
        .call(
            Method::GET,
            &format!("/api/v1/me?token={admin}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // The event stream still takes it (browsers cannot set headers on a WebSocket).
    Events::connect(&server, &admin).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_bad_json_400() {
    let server = TestServer::start().await;
    let (_, boss) = acme(&server).await;
    let huge = json!({"name": "x".repeat(3 * 1024 * 1024), "numbers": []});
    let (status, body) = server.post(&boss, "/api/v1/contacts", huge).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let response = server
        .http
        .post(format!("{}/api/v1/contacts", server.base))
        .bearer_auth(&boss)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_json");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_calls_of_the_tenant_for_its_admins_only() {
    let server = TestServer::start().await;
    let (_, boss) = acme(&server).await;
    server.user(&boss, "anna", &["desktop"]).await;
    let anna = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let (status, body) = server.get(&boss, "/api/v1/calls?all=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_array());
    let (status, body) = server.get(&anna, "/api/v1/calls?all=true").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, body) = server.get(&boss, "/api/v1/calls?all=maybe").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    server.stop().await;
}

/// Reads what the server sends until it closes the connection (or `wait` passes: None).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, wait: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut received)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_idle_keep_alives_are_closed() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_with(|config| config.http.header_timeout = 1).await;
    let address = server.base.trim_start_matches("http://").to_string();
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut slow, Duration::from_secs(5))
            .await
            .is_some(),
        "a request head that never ends is cut off"
    );
    // A keep-alive connection that goes quiet after its request.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("the idle connection is closed after its answer");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    // A connection that never says anything.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(5))
            .await
            .is_some(),
        "a silent connection is closed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_leaves_health_and_admins_reachable() {
    let server = TestServer::start_with(|config| {
        config.http.max_connections = 40;
        config.http.max_connections_per_address = 15;
        config.http.reserved_connections = 10;
    })
    .await;
    let address: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let connect_from = |ip: &str| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        socket.connect(address)
    };
    // Flooders: 15 idle connections each from two addresses take all but the reserve.
    let mut flood = Vec::new();
    for ip in ["127.0.2.1", "127.0.2.2"] {
        for _ in 0..15 {
            flood.push(connect_from(ip).await.unwrap());
        }
    }
    // One more from a flooder: its own cap.
    let mut over = connect_from("127.0.2.1").await.unwrap();
    let answer = read_until_closed(&mut over, Duration::from_secs(5))
        .await
        .expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    // A well-formed answer: the body is exactly as long as it says.
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("Content-Length");
    assert_eq!(body.len(), length, "{answer}");
    // A third flooding address gets the rest below the reserve, and no more.
    for _ in 0..5 {
        flood.push(connect_from("127.0.2.3").await.unwrap());
    }
    let mut over = connect_from("127.0.2.3").await.unwrap();
    let answer = read_until_closed(&mut over, Duration::from_secs(5))
        .await
        .expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // Health checks and an administrator from fresh addresses still get in.
    let monitor = client_from("127.0.3.1");
    let health = monitor
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("health answered");
    assert_eq!(health.status(), StatusCode::OK);
    let admin = client_from("127.0.3.2");
    let response = admin
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"tenant": null, "username": "admin", "password": crate::helpers::ADMIN_PASSWORD, "client": "admin"}))
        .send()
        .await
        .expect("login answered");
    assert_eq!(response.status(), StatusCode::OK);
    drop(flood);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pbx_passwords_are_encrypted_at_rest_with_a_key_outside_the_database() {
    use ucplus_core::store::PbxStore as _;
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (status, pbx) = server
        .post(&admin, "/api/v1/pbxs", json!({"name": "office", "kind": "csta", "host": "127.0.0.1", "port": 9, "login": "ucplus", "password": "Pbx-Secret-42"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    assert!(
        pbx["settings"].get("password").is_none(),
        "never returned: {pbx}"
    );
    let dir = server.data_dir.clone();
    let temp = server.temp();
    server.stop().await;
    for file in ["ucplus.db", "ucplus.db-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Pbx-Secret-42"),
            "the password is in {file} in plain text"
        );
    }
    let store = ucplus_store::SqlStore::open_sqlite(&dir.join("ucplus.db"))
        .await
        .unwrap();
    let stored = store.pbxs().await.unwrap();
    let password = stored[0].settings["password"].as_str().unwrap().to_string();
    assert!(password.starts_with("enc:v1:"), "{password}");
    // The key lives beside the database, not in it; without it the secret is unreadable.
    assert!(dir.join(ucplus_server::secrets::KEY_FILE).exists());
    let wrong = ucplus_server::secrets::SecretBox::from_key(&[1; 32]);
    assert!(wrong.open_value(&password).is_err());
    drop(store);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_owned_data_is_bounded_checked_and_paged() {
    let server = TestServer::start_with(|config| config.quotas.personal_contacts = 3).await;
    let (_, boss) = acme(&server).await;
    server.user(&boss, "anna", &["desktop"]).await;
    let anna = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    // Every text field has a length and character rule.
    for (body, field) in [
        (
            json!({"name": "A", "company": "Evil\u{1b}[31m Corp"}),
            "company",
        ),
        (json!({"name": "A", "company": "x".repeat(201)}), "company"),
        (json!({"name": "A", "email": "not an address"}), "email"),
        (
            json!({"name": "A", "numbers": [{"label": "l".repeat(41), "number": "200"}]}),
            "numbers[0].label",
        ),
        (
            json!({"name": "A", "numbers": (0..11).map(|i| json!({"number": format!("20{i}")})).collect::<Vec<_>>()}),
            "numbers",
        ),
        (json!({"name": "A\nB"}), "name"),
    ] {
        let (status, answer) = server
            .post(&anna, "/api/v1/me/contacts", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(
            answer["error"]["fields"][0]["field"], field,
            "{body}: {answer}"
        );
    }
    // A quota per user.
    for i in 0..3 {
        let (status, body) = server
            .post(&anna, "/api/v1/me/contacts", json!({"name": format!("Friend {i}"), "numbers": [{"number": format!("+4930{i}")}]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = server
        .post(
            &anna,
            "/api/v1/me/contacts",
            json!({"name": "One too many"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "quota_exceeded")
    );
    // Lists are paged, with the total in a header.
    let response = server
        .http
        .get(format!(
            "{}/api/v1/me/contacts?limit=2&offset=1",
            server.base
        ))
        .bearer_auth(&anna)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-total-count"], "3");
    let page: Value = response.json().await.unwrap();
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["Friend 1", "Friend 2"]);
    server.stop().await;
}
