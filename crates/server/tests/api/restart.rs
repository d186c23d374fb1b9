//! Restart: what was configured survives; what belonged to the old process does not.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestServer, vendor_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_and_dead_sessions_hold_no_license() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 5)]),
        )
        .await;
    let (acme, acme_admin) = server.tenant(&admin, "acme").await;
    server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 3, "reserved": 1}}),
        )
        .await;
    let anna_id = server.user(&acme_admin, "anna", &["desktop"]).await;
    let token = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("login");
    assert_eq!(server.pool(&admin, "desktop").await, (5, 1));
    let system_id = server.system_id.clone();
    let dir = server.data_dir.clone();
    let temp = server.temp();
    // The process dies: no logout, no flush.
    server.kill().await;

    let server = TestServer::start_in(&dir, vendor_key(), temp, |_| {}).await;
    assert_eq!(server.system_id, system_id, "the system id is stable");
    let admin = server.admin().await;
    let (_, overview) = server.get(&admin, "/api/v1/licenses").await;
    assert_eq!(overview["mode"], "multi_tenant");
    assert_eq!(overview["licenses"].as_array().unwrap().len(), 1);
    // No license stays taken by the session that died with the old process.
    assert_eq!(server.pool(&admin, "desktop").await, (5, 0));
    assert_eq!(server.pool(&admin, "tenant").await, (5, 2));
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Tenants, limits, users and the audit log are all there.
    let (_, tenant) = server.get(&admin, &format!("/api/v1/tenants/{acme}")).await;
    assert_eq!(
        tenant["limits"]["desktop"],
        json!({"cap": 3, "reserved": 1})
    );
    let anna = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("anna again");
    let (_, me) = server.get(&anna, "/api/v1/me").await;
    assert_eq!(me["user"]["id"], anna_id.as_str());
    let (_, audit) = server.get(&admin, "/api/v1/audit?limit=500").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"tenant.create") && actions.contains(&"license.load"),
        "{actions:?}"
    );
    // The limits are enforced again: the reservation is restored in the pool.
    let (status, body) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"reserved": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

/// Licenses that no trusted key verifies any more (the key was not configured at restart)
/// do not silently turn the server single-tenant with an empty pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_the_vendor_key_refuses_to_start_unless_told_to() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (status, _) = server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 5)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let dir = server.data_dir.clone();
    let temp = server.temp();
    server.stop().await;

    let no_keys = |config: &mut ucplus_server::Config| config.license.trusted_keys.clear();
    let refusal = match TestServer::try_start_in(&dir, vendor_key(), temp.clone(), no_keys).await {
        Ok(_) => panic!("the server started without a key for its licenses"),
        Err(refusal) => refusal,
    };
    assert!(
        refusal.contains("UCPLUS_LICENSE_PUBLIC_KEYS") && refusal.contains("allow_unverified"),
        "the refusal names the fix: {refusal}"
    );

    let server = TestServer::start_in(&dir, vendor_key(), temp, |config| {
        no_keys(config);
        config.license.allow_unverified = true;
    })
    .await;
    let (status, ready) = server
        .call(reqwest::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let warnings = ready["warnings"].as_array().cloned().unwrap_or_default();
    assert_eq!(warnings.len(), 1, "{ready}");
    assert!(
        warnings[0].as_str().unwrap().contains("invalid_signature"),
        "{ready}"
    );
    let admin = server.admin().await;
    let (_, overview) = server.get(&admin, "/api/v1/licenses").await;
    assert_eq!(
        overview["unverified"].as_array().unwrap().len(),
        1,
        "{overview}"
    );
    assert_eq!(overview["unverified"][0]["code"], "invalid_signature");
    server.stop().await;
}
