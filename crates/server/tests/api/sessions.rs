//! Sessions: idle timeout, token lifetime, logout, failed-login rate limiting.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::helpers::{ADMIN_PASSWORD, TestServer, error_code};

/// Idle timeout of the session test, in seconds.
const IDLE: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_end_and_return_their_license() {
    let idle = Duration::from_secs(IDLE);
    let server = TestServer::start_with(|config| config.session_idle_timeout = IDLE).await;
    let admin = server.admin().await;
    server
        .load_license(&admin, &server.license(&[("desktop", 5)]))
        .await;
    server.user(&admin, "anna", &["desktop"]).await;
    let logged_in = tokio::time::Instant::now();
    let anna = server
        .login(None, "anna", "user-password", "desktop")
        .await
        .expect("login");
    assert_eq!(server.pool(&admin, "desktop").await, (5, 1));
    // Requests keep a session alive, well past the idle timeout. Each request comes a
    // quarter of the timeout after the previous one; the server saw the previous one
    // no earlier than it was sent, so when the machine is so slow that even the time
    // from sending the previous request to answering this one reaches the timeout, the
    // session may rightly be over and nothing is proven (the test stops there rather
    // than fail). Otherwise the session must still be alive.
    let mut previous = logged_in;
    let mut kept_alive = Duration::ZERO;
    while kept_alive <= idle + idle / 2 {
        tokio::time::sleep(idle / 4).await;
        let sent = tokio::time::Instant::now();
        let (status, body) = server.get(&anna, "/api/v1/me").await;
        if previous.elapsed() >= idle {
            eprintln!("the machine is too slow to prove anything about keep-alive: {status}");
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        kept_alive = logged_in.elapsed();
        previous = sent;
    }
    // ...silence ends it, and the license goes back to the pool without any request —
    // never sooner than the idle timeout after the last request.
    let deadline = tokio::time::Instant::now() + 5 * idle;
    while server.pool(&admin, "desktop").await.1 != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle session was not ended"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        previous.elapsed() >= idle,
        "the session ended {:?} after the last request, before the idle timeout",
        previous.elapsed()
    );
    let (status, body) = server.get(&anna, "/api/v1/me").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_logout_ends_the_session() {
    let server = TestServer::start_with(|config| config.token_ttl = 1).await;
    let issued = tokio::time::Instant::now();
    let admin = server.admin().await;
    let (status, me) = server.get(&admin, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["role"], "system_admin");
    assert_eq!(me["client"], "admin");
    // The token works until it expires, then says so: never before its lifetime (the
    // server issued it after `issued`), and within a bound after it.
    let deadline = issued + Duration::from_secs(10);
    let body = loop {
        let (status, body) = server.get(&admin, "/api/v1/me").await;
        if status != StatusCode::OK {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            break body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        issued.elapsed() >= Duration::from_secs(1),
        "expired after {:?}, before its one-second lifetime",
        issued.elapsed()
    );
    assert_eq!(error_code(&body), "token_expired");

    let admin = server.admin().await;
    let (status, _) = server
        .call(Method::POST, "/api/v1/auth/logout", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.get(&admin, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_rate_limited_per_username() {
    let server = TestServer::start_with(|config| config.login.max_failures_per_user = 3).await;
    for _ in 0..3 {
        assert_eq!(
            server
                .login(None, "admin", "wrong-password", "admin")
                .await
                .unwrap_err(),
            (StatusCode::UNAUTHORIZED, "invalid_credentials".to_string())
        );
    }
    // Now even the right password waits.
    let response = server
        .http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&serde_json::json!({"tenant": null, "username": "admin", "password": ADMIN_PASSWORD, "client": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "rate_limited");
    // Unknown users fail exactly like wrong passwords.
    assert_eq!(
        server
            .login(None, "nobody", "whatever-pw", "admin")
            .await
            .unwrap_err(),
        (StatusCode::UNAUTHORIZED, "invalid_credentials".to_string())
    );
    assert_eq!(
        server
            .login(Some("no-such-tenant"), "nobody", "whatever-pw", "desktop")
            .await
            .unwrap_err(),
        (StatusCode::UNAUTHORIZED, "invalid_credentials".to_string())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_rate_limited_per_address() {
    let server = TestServer::start_with(|config| config.login.max_failures_per_address = 4).await;
    for name in ["a", "b", "c", "d"] {
        assert_eq!(
            server
                .login(None, name, "wrong-password", "admin")
                .await
                .unwrap_err()
                .1,
            "invalid_credentials"
        );
    }
    assert_eq!(
        server
            .login(None, "e", "wrong-password", "admin")
            .await
            .unwrap_err(),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited".to_string())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let server = TestServer::start().await;
    // The metrics are the process's, shared with every other test server: this test
    // reads differences of series that only it produces (no other test fetches the
    // OpenAPI document or gets a 400 from the login).
    let bad_logins = [
        ("method", "POST"),
        ("route", "/api/v1/auth/login"),
        ("status", "400"),
    ];
    let openapi_fetches = [
        ("method", "GET"),
        ("route", "/api/openapi.json"),
        ("status", "200"),
    ];
    let bad_logins_before = server
        .metric("ucplus_http_requests_total", &bad_logins)
        .await;
    let openapi_before = server
        .metric("ucplus_http_requests_total", &openapi_fetches)
        .await;
    let admin = server.admin().await;
    // Malformed JSON, a wrong client type, an unknown id form.
    let response = server
        .http
        .post(format!("{}/api/v1/auth/login", server.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_json");
    assert_eq!(
        server
            .login(None, "admin", ADMIN_PASSWORD, "phone")
            .await
            .unwrap_err(),
        (StatusCode::BAD_REQUEST, "validation_failed".to_string())
    );
    let (status, body) = server.get(&admin, "/api/v1/tenants/not-a-uuid").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // The system admin takes no client license.
    assert_eq!(
        server
            .login(None, "admin", ADMIN_PASSWORD, "desktop")
            .await
            .unwrap_err(),
        (StatusCode::FORBIDDEN, "license_not_assigned".to_string())
    );
    // Health, readiness, metrics and the OpenAPI description.
    for path in ["/healthz", "/readyz"] {
        let (status, _) = server.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (status, openapi) = server
        .call(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(openapi["openapi"], "3.1.0");
    // Requests are counted by method, route and status, before the answer leaves:
    // exactly the two bad logins and the one OpenAPI fetch above.
    let bad_logins_now = server
        .metric("ucplus_http_requests_total", &bad_logins)
        .await;
    assert_eq!(bad_logins_now - bad_logins_before, 2.0);
    let openapi_now = server
        .metric("ucplus_http_requests_total", &openapi_fetches)
        .await;
    assert_eq!(openapi_now - openapi_before, 1.0);
    // Logins are counted by result; ours succeeded (other tests' logins only add).
    assert!(
        server
            .metric("ucplus_logins_total", &[("result", "ok")])
            .await
            >= 1.0
    );
    for path in [
        "/api/v1/auth/login",
        "/api/v1/licenses",
        "/api/v1/tenants/{id}/limits",
        "/api/v1/pbxs/{id}/devices",
        "/api/v1/licenses/usage.csv",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
    server.stop().await;
}
