//! Licenses expire by the calendar while the server runs: with a clock the test moves, a
//! license that ends today stops counting tomorrow, a session that holds one keeps it
//! until it ends, and nobody new gets one.

use reqwest::StatusCode;

use crate::helpers::{TestServer, error_code};

const DAY_MS: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_expiring_during_a_session_stops_counting_but_the_holder_keeps_it() {
    let clock = ucplus_server::licensing::Clock::default();
    let server = {
        let clock = clock.clone();
        TestServer::start_with(move |config| config.clock = clock).await
    };
    let admin = server.admin().await;
    let today = clock.today();
    let lasting = server.license_for(&server.system_id, &[("desktop", 1)], None, &server.vendor);
    let ending = server.license_for(
        &server.system_id,
        &[("desktop", 2)],
        Some(today),
        &server.vendor,
    );
    for text in [&lasting, &ending] {
        let (status, body) = server.load_license(&admin, text).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for name in ["anna", "bert", "carl"] {
        server.user(&admin, name, &["desktop"]).await;
    }
    let anna = server
        .login(None, "anna", "user-password", "desktop")
        .await
        .expect("anna");
    let bert = server
        .login(None, "bert", "user-password", "desktop")
        .await
        .expect("bert");
    assert_eq!(server.pool(&admin, "desktop").await, (3, 2));

    // Tomorrow the license that ended today no longer counts: the pool has 1 license,
    // and the two held stay held by their sessions.
    clock.advance(DAY_MS);
    assert_eq!(server.pool(&admin, "desktop").await, (1, 2));
    let (_, overview) = server.get(&admin, "/api/v1/licenses").await;
    let expired: Vec<bool> = overview["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["expired"].as_bool().unwrap())
        .collect();
    assert_eq!(expired.iter().filter(|e| **e).count(), 1, "{overview}");
    let (status, _) = server.get(&anna, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "the holder keeps working");
    // Nobody new gets one while the pool is over-committed.
    let refused = server
        .login(None, "carl", "user-password", "desktop")
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        (StatusCode::CONFLICT, "pool_exhausted".to_string())
    );
    // Once both have logged out, one fits again — and only one.
    for token in [&anna, &bert] {
        let (status, _) = server
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/logout",
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_eq!(server.pool(&admin, "desktop").await, (1, 0));
    server
        .login(None, "carl", "user-password", "desktop")
        .await
        .expect("carl gets the one left");
    let (status, body) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"tenant": null, "username": "anna", "password": "user-password", "client": "desktop"})),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "pool_exhausted")
    );
    server.stop().await;
}
