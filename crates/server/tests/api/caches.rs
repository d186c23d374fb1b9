//! The live state the API answers from (names in presence, calls and events) follows every
//! admin change at once, without a restart.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestServer;

/// A tenant created through the API: its first admin's name shows in presence at once
/// (it used to be blank until the server restarted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_tenants_first_admin_has_a_name_in_presence() {
    let server = TestServer::start().await;
    let admin = server.multi_tenant_admin().await;
    let (status, body) = server
        .post(
            &admin,
            "/api/v1/tenants",
            json!({"name": "Acme", "slug": "acme",
                   "admin": {"username": "boss", "password": "boss-password", "display_name": "Olga Boss"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let boss = server
        .login(Some("acme"), "boss", "boss-password", "desktop")
        .await
        .expect("the first admin logs in");
    let (status, own) = server.get(&boss, "/api/v1/me/presence").await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["display_name"], "Olga Boss", "{own}");
    let (status, set) = server
        .put(&boss, "/api/v1/me/presence", json!({"state": "busy"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["display_name"], "Olga Boss", "{set}");
    server.stop().await;
}
