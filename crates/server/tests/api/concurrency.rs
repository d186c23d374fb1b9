//! Licenses under contention: many logins racing for few licenses.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_logins_race_for_fifty_licenses() {
    let server = Arc::new(
        TestServer::start_with(|config| {
            config.login.max_failures_per_address = 1000;
            // 400 Argon2 hashes at once on a small machine: let them all queue.
            config.login.hash_wait = 600_000;
        })
        .await,
    );
    let admin = server.admin().await;
    let (status, _) = server
        .load_license(&admin, &server.license(&[("desktop", 50)]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // 200 users, created concurrently (each is an Argon2 hash).
    let mut creations = Vec::new();
    for i in 0..200 {
        let server = server.clone();
        let admin = admin.clone();
        creations.push(tokio::spawn(async move {
            let (status, body) = server
                .post(&admin, "/api/v1/users", json!({"username": format!("user{i}"), "password": "user-password", "display_name": format!("User {i}")}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }));
    }
    for creation in creations {
        creation.await.expect("user created");
    }
    let start = Arc::new(tokio::sync::Barrier::new(200));
    let mut logins = Vec::new();
    for i in 0..200 {
        let server = server.clone();
        let start = start.clone();
        logins.push(tokio::spawn(async move {
            start.wait().await;
            server
                .call(Method::POST, "/api/v1/auth/login", None, Some(json!({"tenant": null, "username": format!("user{i}"), "password": "user-password", "client": "desktop"})))
                .await
        }));
    }
    let mut granted = 0;
    let mut refused = 0;
    for login in logins {
        let (status, body) = login.await.expect("login finished");
        match status {
            StatusCode::OK => granted += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "pool_exhausted");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((granted, refused), (50, 150));
    assert_eq!(server.pool(&admin, "desktop").await, (50, 50));
}
