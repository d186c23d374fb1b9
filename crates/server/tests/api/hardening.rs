//! Regression tests for what was found probing ucplus from outside: sessions that kept
//! rights they lost, logins that could exhaust memory or dodge the failure limit, accounts
//! anyone could lock. What arrives over HTTP (fields, URLs, bodies, connections) and what is
//! kept (secrets at rest, user-owned data) is in `hardening_requests`.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};
use crate::ws::Events;

/// A multi-tenant server with tenant `acme` (admin `boss`); returns (admin, boss).
pub async fn acme(server: &TestServer) -> (String, String) {
    let admin = server.admin().await;
    let (status, body) = server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 10), ("mobile", 10)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, boss) = server.tenant(&admin, "acme").await;
    (admin, boss)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_admin_loses_admin_rights_and_streams_at_once() {
    let server = TestServer::start().await;
    let (_, boss) = acme(&server).await;
    let (status, eve) = server
        .post(&boss, "/api/v1/users", json!({"username": "eve", "password": "eve-password", "display_name": "Eve", "role": "admin"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{eve}");
    let eve_id = eve["id"].as_str().unwrap().to_string();
    let eve_token = server
        .login(Some("acme"), "eve", "eve-password", "admin")
        .await
        .expect("eve logs in as an admin");
    let (status, _) = server.get(&eve_token, "/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK, "an admin reads the audit log");
    let mut stream = Events::connect(&server, &eve_token).await;

    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/users/{eve_id}"),
            json!({"role": "user"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "user");

    // Her stream closes with "session ended" at once (well before the periodic check)...
    assert_eq!(stream.closed_with(Duration::from_secs(1)).await, Some(4001));
    // ...and the token is worth nothing: no audit log, no new admin, no self-promotion.
    let (status, body) = server.get(&eve_token, "/api/v1/audit").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    let (status, _) = server
        .post(&eve_token, "/api/v1/users", json!({"username": "mallory", "password": "mallory-password", "display_name": "M", "role": "admin"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .patch(
            &eve_token,
            &format!("/api/v1/users/{eve_id}"),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Logging in again as an admin is refused: she is a user now.
    assert_eq!(
        server
            .login(Some("acme"), "eve", "eve-password", "admin")
            .await
            .unwrap_err()
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, user) = server.get(&boss, &format!("/api/v1/users/{eve_id}")).await;
    assert_eq!(user["role"], "user", "the demotion stuck");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_loses_a_license_type_loses_that_session_and_its_license() {
    let server = TestServer::start().await;
    let (admin, boss) = acme(&server).await;
    let anna = server.user(&boss, "anna", &["desktop", "mobile"]).await;
    let desktop = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let mobile = server
        .login(Some("acme"), "anna", "user-password", "mobile")
        .await
        .unwrap();
    assert_eq!(server.pool(&admin, "desktop").await, (10, 1));
    let mut stream = Events::connect(&server, &desktop).await;

    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/users/{anna}"),
            json!({"licenses": ["mobile"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(stream.closed_with(Duration::from_secs(1)).await, Some(4001));
    let (status, _) = server.get(&desktop, "/api/v1/me").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the desktop session ended"
    );
    assert_eq!(
        server.pool(&admin, "desktop").await,
        (10, 0),
        "its license is back"
    );
    // The session of a type she still has goes on.
    let (status, _) = server.get(&mobile, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.pool(&admin, "mobile").await, (10, 1));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_every_session_of_the_user_and_closes_its_streams() {
    let server = TestServer::start().await;
    let (admin, boss) = acme(&server).await;
    let anna = server.user(&boss, "anna", &["desktop", "mobile"]).await;
    let desktop = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .unwrap();
    let mobile = server
        .login(Some("acme"), "anna", "user-password", "mobile")
        .await
        .unwrap();
    let mut stream = Events::connect(&server, &desktop).await;

    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/users/{anna}"),
            json!({"password": "new-password-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("password_hash").is_none(), "{body}");

    // Her open stream closes with "session ended" within a second (not at the periodic
    // check), and every token she had is worth nothing, the one without a stream too.
    assert_eq!(stream.closed_with(Duration::from_secs(1)).await, Some(4001));
    for token in [&desktop, &mobile] {
        let (status, body) = server.get(token, "/api/v1/me").await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "token_expired")
        );
    }
    // Her licenses are back in the pool; the admin who changed it is still logged in.
    assert_eq!(server.pool(&admin, "desktop").await, (10, 0));
    assert_eq!(server.pool(&admin, "mobile").await, (10, 0));
    let (status, _) = server.get(&boss, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    // The old password is refused, the new one works.
    assert_eq!(
        server
            .login(Some("acme"), "anna", "user-password", "desktop")
            .await
            .unwrap_err()
            .0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = server
        .login(Some("acme"), "anna", "new-password-1", "desktop")
        .await
        .expect("the new password works");
    let (status, _) = server.get(&fresh, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    // The audit entry says what happened, without the password.
    let (_, audit) = server.get(&boss, "/api/v1/audit").await;
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.update" && e["target"] == anna.as_str())
        .cloned()
        .expect("user.update audited");
    assert_eq!(entry["detail"]["password_changed"], true, "{entry}");
    assert_eq!(entry["detail"]["sessions_ended"], 2, "{entry}");
    assert!(!entry.to_string().contains("new-password-1"), "{entry}");
    server.stop().await;
}

/// A client whose connections come from `ip` (another loopback address).
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    server: &TestServer,
    client: &reqwest::Client,
    password: &str,
) -> (StatusCode, String) {
    let response = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(
            &json!({"tenant": "acme", "username": "boss", "password": password, "client": "admin"}),
        )
        .send()
        .await
        .expect("sent");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, error_code(&body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_are_counted_before_the_password_is_checked() {
    let server = TestServer::start().await;
    acme(&server).await;
    let attacker = client_from("127.0.0.1");
    // Twenty guesses at once for one account from one address: the limit is five.
    let answers = join_all((0..20).map(|i| {
        let attacker = attacker.clone();
        let server = &server;
        async move { login_from(server, &attacker, &format!("guess-{i:04}")).await }
    }))
    .await;
    let checked = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::UNAUTHORIZED)
        .count();
    let limited = answers
        .iter()
        .filter(|(status, code)| *status == StatusCode::TOO_MANY_REQUESTS && code == "rate_limited")
        .count();
    assert_eq!((checked, limited), (5, 15), "{answers:?}");
    // The attacker's address is locked out even with the right password...
    assert_eq!(
        login_from(&server, &attacker, "boss-password").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...but the account is not: its owner logs in from her own address.
    let owner = client_from("127.0.0.2");
    assert_eq!(
        login_from(&server, &owner, "boss-password").await.0,
        StatusCode::OK
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_is_bounded_and_overflow_is_told_to_retry() {
    let server = TestServer::start_with(|config| {
        config.login.max_concurrent_hashes = 1;
        config.login.hash_wait = 1;
    })
    .await;
    acme(&server).await;
    // Valid logins from many addresses at once: one hashes, the others queue for a
    // millisecond and are told the server is busy — none runs unbounded.
    let answers = join_all((0..12).map(|i| {
        let client = client_from(&format!("127.0.1.{}", i + 1));
        let server = &server;
        async move { login_from(server, &client, "boss-password").await }
    }))
    .await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let busy = answers
        .iter()
        .filter(|(s, code)| *s == StatusCode::SERVICE_UNAVAILABLE && code == "busy")
        .count();
    assert!(ok >= 1 && busy >= 1 && ok + busy == 12, "{answers:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_single_tenant_mode_no_tenant_and_default_are_one_account_for_the_limiter() {
    let server = TestServer::start_with(|config| config.login.max_failures_per_user = 4).await;
    let admin = server.admin().await;
    server.user(&admin, "anna", &["desktop"]).await;
    // Four wrong guesses, half naming no tenant, half naming `default`: one limit.
    for tenant in [None, Some("default"), None, Some("default")] {
        let refused = server
            .login(tenant, "anna", "wrong-password", "desktop")
            .await
            .unwrap_err();
        assert_eq!(refused.0, StatusCode::UNAUTHORIZED);
    }
    for tenant in [None, Some("default")] {
        let refused = server
            .login(tenant, "anna", "user-password", "desktop")
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited".to_string())
        );
    }
    server.stop().await;
}
