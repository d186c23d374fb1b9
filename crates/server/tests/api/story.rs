//! The hosting provider's story, told as separate chapters: each test starts its own
//! server and sets up what the chapter needs through the helpers below, so one chapter
//! failing does not hide the others. One file (a little over 600 lines): the chapters
//! share the set-up helpers below and read as one story.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestServer, error_code};

/// A hosting provider's server: 3 desktop and 2 mobile licenses; `solo`, a user of the
/// default tenant from single-tenant days, logged in on the desktop (holding one desktop
/// license); a starter pack (5 tenants); tenants `acme` and `globex` (admins `boss`).
struct Hosting {
    admin: String,
    acme: String,
    acme_admin: String,
    globex: String,
    globex_admin: String,
}

async fn load(server: &TestServer, admin: &str, items: &[(&str, u32)]) {
    let (status, body) = server.load_license(admin, &server.license(items)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn logout(server: &TestServer, token: &str) {
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

async fn hosting(server: &TestServer) -> Hosting {
    let admin = server.admin().await;
    load(server, &admin, &[("desktop", 3), ("mobile", 2)]).await;
    server.user(&admin, "solo", &["desktop"]).await;
    load(server, &admin, &[("mt-starter-5", 1)]).await;
    server
        .login(Some("default"), "solo", "user-password", "desktop")
        .await
        .expect("solo logs in");
    let (acme, acme_admin) = server.tenant(&admin, "acme").await;
    let (globex, globex_admin) = server.tenant(&admin, "globex").await;
    Hosting {
        admin,
        acme,
        acme_admin,
        globex,
        globex_admin,
    }
}

/// Globex's desktop users `gina` and `gus`, logged in: with solo, the 3 desktop licenses
/// are all in use. Returns their tokens.
async fn globex_desktops(server: &TestServer, hosting: &Hosting) -> (String, String) {
    let mut tokens = Vec::new();
    for name in ["gina", "gus"] {
        server.user(&hosting.globex_admin, name, &["desktop"]).await;
        tokens.push(
            server
                .login(Some("globex"), name, "user-password", "desktop")
                .await
                .unwrap_or_else(|e| panic!("{name} logs in: {e:?}")),
        );
    }
    assert_eq!(server.pool(&hosting.admin, "desktop").await, (3, 3));
    let gus = tokens.pop().unwrap();
    (tokens.pop().unwrap(), gus)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_is_single_tenant() {
    let server = TestServer::start().await;
    let admin = server.admin().await;

    // A fresh server is single-tenant: one implicit tenant, no tenant licenses.
    let (status, overview) = server.get(&admin, "/api/v1/licenses").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(overview["mode"], "single_tenant");
    assert_eq!(overview["system_id"], server.system_id.as_str());
    assert_eq!(server.pool(&admin, "tenant").await, (0, 1));
    let (status, body) = server
        .post(&admin, "/api/v1/tenants", json!({"name": "ACME", "slug": "acme", "admin": {"username": "boss", "password": "boss-password"}}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "multi_tenant_not_licensed")
    );

    // Tenant licenses need a starter pack first; client licenses load as usual.
    let (status, body) = server
        .load_license(&admin, &server.license(&[("tenant", 3)]))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "starter_pack_required")
    );
    let (status, body) = server
        .load_license(&admin, &server.license(&[("desktop", 3), ("mobile", 2)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["items"]["desktop"], 3);
    assert_eq!(server.pool(&admin, "desktop").await, (3, 0));

    // Single-tenant mode: the system admin manages the one tenant's users directly, and
    // they log in without naming a tenant.
    server.user(&admin, "solo", &["desktop"]).await;
    let solo = server
        .login(None, "solo", "user-password", "desktop")
        .await
        .expect("single-tenant login");
    assert_eq!(server.pool(&admin, "desktop").await, (3, 1));
    logout(&server, &solo).await;
    assert_eq!(server.pool(&admin, "desktop").await, (3, 0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_pack_switches_to_multi_tenant_mode() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    load(&server, &admin, &[("desktop", 3), ("mobile", 2)]).await;
    server.user(&admin, "solo", &["desktop"]).await;

    // The starter pack switches to multi-tenant mode; the default tenant keeps its data
    // and counts as one of the five tenants.
    let (status, body) = server
        .load_license(&admin, &server.license(&[("mt-starter-5", 1)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, overview) = server.get(&admin, "/api/v1/licenses").await;
    assert_eq!(overview["mode"], "multi_tenant");
    assert_eq!(server.pool(&admin, "tenant").await, (5, 1));
    assert!(
        server
            .login(Some("default"), "solo", "user-password", "desktop")
            .await
            .is_ok()
    );
    server.tenant(&admin, "acme").await;
    server.tenant(&admin, "globex").await;
    server.tenant(&admin, "initech").await;
    server.tenant(&admin, "umbrella").await;
    let (status, body) = server
        .post(&admin, "/api/v1/tenants", json!({"name": "Hooli", "slug": "hooli", "admin": {"username": "boss", "password": "boss-password"}}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "tenant_licenses_exhausted")
    );
    let (status, _) = server
        .load_license(&admin, &server.license(&[("tenant", 1)]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.tenant(&admin, "hooli").await;
    assert_eq!(server.pool(&admin, "tenant").await, (6, 6));

    // Validation names every bad field.
    let (status, body) = server
        .post(&admin, "/api/v1/tenants", json!({"name": "", "slug": "Bad Slug", "admin": {"username": "a b", "password": "short"}}))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "slug", "admin.username", "admin.password"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_caps_and_the_shared_pool_bound_logins() {
    let server = TestServer::start().await;
    let Hosting {
        admin,
        acme,
        acme_admin,
        globex_admin,
        ..
    } = hosting(&server).await;

    // Caps: ACME may use 1 desktop license of the pool of 3 (the default tenant's solo user holds one).
    let (status, limits) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{limits}");
    server
        .user(&acme_admin, "anna", &["desktop", "mobile"])
        .await;
    server.user(&acme_admin, "bert", &["desktop"]).await;
    server.user(&acme_admin, "mo", &["mobile"]).await;
    let anna = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("anna");
    assert_eq!(
        server
            .login(Some("acme"), "bert", "user-password", "desktop")
            .await
            .unwrap_err(),
        (StatusCode::CONFLICT, "tenant_cap_reached".to_string())
    );
    // A user holds one license per type however many sessions it opens.
    let anna_again = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("second session");
    assert_eq!(server.pool(&admin, "desktop").await, (3, 2));
    // A type the user is not allowed is refused.
    assert_eq!(
        server
            .login(Some("acme"), "mo", "user-password", "desktop")
            .await
            .unwrap_err(),
        (StatusCode::FORBIDDEN, "license_not_assigned".to_string())
    );
    assert!(
        server
            .login(Some("acme"), "mo", "user-password", "mobile")
            .await
            .is_ok()
    );

    // Another tenant is unaffected by ACME's cap, until the pool itself runs out.
    server.user(&globex_admin, "gina", &["desktop"]).await;
    server.user(&globex_admin, "gus", &["desktop"]).await;
    server
        .login(Some("globex"), "gina", "user-password", "desktop")
        .await
        .expect("gina");
    assert_eq!(server.pool(&admin, "desktop").await, (3, 3));
    assert_eq!(
        server
            .login(Some("globex"), "gus", "user-password", "desktop")
            .await
            .unwrap_err(),
        (StatusCode::CONFLICT, "pool_exhausted".to_string())
    );
    // Logging out one of two sessions keeps the license; the last one returns it.
    logout(&server, &anna).await;
    assert_eq!(server.pool(&admin, "desktop").await, (3, 3));
    logout(&server, &anna_again).await;
    assert_eq!(server.pool(&admin, "desktop").await, (3, 2));
    server
        .login(Some("globex"), "gus", "user-password", "desktop")
        .await
        .expect("gus");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_are_minimums_within_the_pool() {
    let server = TestServer::start().await;
    let Hosting { admin, acme, .. } = hosting(&server).await;

    // Reservations are guaranteed minimums and may not exceed the pool (of 3).
    let (status, body) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"reserved": 4}}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "reservations_exceed_pool")
    );
    let (status, body) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 1, "reserved": 2}}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    let (status, body) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"tenant": {"cap": 1}, "phone": {}}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_per_tenant_and_the_billing_csv() {
    let server = TestServer::start().await;
    let hosting = hosting(&server).await;
    let Hosting {
        admin,
        acme,
        acme_admin,
        ..
    } = &hosting;
    // ACME: capped at 1 desktop, used once (anna, logged out since) and 1 mobile in use
    // (mo); Globex: 2 desktops in use.
    let (status, limits) = server
        .put(
            admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{limits}");
    server.user(acme_admin, "anna", &["desktop"]).await;
    server.user(acme_admin, "mo", &["mobile"]).await;
    let anna = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("anna");
    logout(&server, &anna).await;
    server
        .login(Some("acme"), "mo", "user-password", "mobile")
        .await
        .expect("mo");
    globex_desktops(&server, &hosting).await;

    // Usage per tenant and type, and the billing CSV.
    let (status, usage) = server.get(admin, "/api/v1/licenses/usage").await;
    assert_eq!(status, StatusCode::OK);
    let tenants = usage["tenants"].as_array().unwrap();
    let acme_usage = tenants.iter().find(|t| t["slug"] == "acme").unwrap();
    assert_eq!(
        acme_usage["licenses"]["desktop"],
        json!({"cap": 1, "reserved": 0, "in_use": 0, "peak": 1})
    );
    assert_eq!(acme_usage["licenses"]["mobile"]["in_use"], 1);
    let globex_usage = tenants.iter().find(|t| t["slug"] == "globex").unwrap();
    assert_eq!(globex_usage["licenses"]["desktop"]["in_use"], 2);
    let (status, own) = server.get(acme_admin, "/api/v1/licenses/usage").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        own["tenants"].as_array().unwrap().len(),
        1,
        "a tenant admin sees only its tenant"
    );
    let csv = server
        .http
        .get(format!("{}/api/v1/licenses/usage.csv", server.base))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("day,tenant_id,tenant_slug,tenant_name,license_type,peak\n"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains(",globex,") && l.ends_with(",desktop,2")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.contains(",acme,") && l.ends_with(",desktop,1")),
        "{csv}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_license_files_are_refused_and_unloading_shrinks_the_pool() {
    let server = TestServer::start().await;
    let hosting = hosting(&server).await;
    let admin = hosting.admin.as_str();
    // All 3 desktop licenses in use (solo, gina, gus), and a tenant license that needs the
    // starter pack.
    globex_desktops(&server, &hosting).await;
    load(&server, admin, &[("tenant", 1)]).await;

    // Bad license files are refused with their reasons.
    let good = server.license(&[("desktop", 1)]);
    let tampered = good.replace(&good.lines().nth(2).unwrap()[10..20], "AAAAAAAAAA");
    let foreign = server.license_for("another-system", &[("desktop", 1)], None, &server.vendor);
    let expired = server.license_for(
        &server.system_id,
        &[("desktop", 1)],
        Some(time::macros::date!(2026 - 01 - 31)),
        &server.vendor,
    );
    let untrusted = server.license_for(
        &server.system_id,
        &[("desktop", 1)],
        None,
        &license::SigningKey::from_seed([7; 32]),
    );
    for (text, status, code) in [
        (
            tampered.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_signature",
        ),
        (
            untrusted.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_signature",
        ),
        (
            foreign.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_system",
        ),
        (
            expired.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "license_expired",
        ),
        (
            "hello",
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_license",
        ),
    ] {
        let (got, body) = server.load_license(admin, text).await;
        assert_eq!((got, error_code(&body).as_str()), (status, code), "{body}");
    }
    let (status, body) = server.load_license(admin, &good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server.load_license(admin, &good).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "duplicate_license")
    );
    assert_eq!(server.pool(admin, "desktop").await, (4, 3));

    // Unloading: the pool shrinks at once, but licenses in use stay with their sessions.
    let id = body_id(&server, admin, 1).await;
    let (status, _) = server
        .delete(admin, &format!("/api/v1/licenses/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.pool(admin, "desktop").await, (3, 3));
    let (status, _) = server
        .delete(admin, &format!("/api/v1/licenses/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The starter pack cannot go while tenant licenses need it.
    let starter = license_id_with(&server, admin, "mt-starter-5").await;
    let (status, body) = server
        .delete(admin, &format!("/api/v1/licenses/{starter}"))
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::CONFLICT, "starter_pack_required")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_system_admin_manages_licenses_and_tenants() {
    let server = TestServer::start().await;
    let hosting = hosting(&server).await;
    let (gina, gus) = globex_desktops(&server, &hosting).await;

    // Only the system admin manages licenses and tenants.
    let (status, body) = server.get(&hosting.acme_admin, "/api/v1/licenses").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, _) = server.get(&gina, "/api/v1/tenants").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Users read their tenant's users (boss, gina, gus) but may not change them.
    let (status, users) = server.get(&gus, "/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 3);
    let (status, _) = server
        .post(
            &gus,
            "/api/v1/users",
            json!({"username": "x", "password": "xxxxxxxx", "display_name": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_all_for_the_system_admin_and_its_own_part_for_a_tenant_admin() {
    let server = TestServer::start().await;
    let Hosting {
        admin,
        acme,
        acme_admin,
        ..
    } = hosting(&server).await;
    // Besides the set-up's license loads, user and tenants: limits, and an unload.
    let (status, limits) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{limits}");
    load(&server, &admin, &[("desktop", 1)]).await;
    let id = body_id(&server, &admin, 1).await;
    let (status, _) = server
        .delete(&admin, &format!("/api/v1/licenses/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // The audit log: all of it for the system admin, its own part for a tenant admin.
    let (status, audit) = server.get(&admin, "/api/v1/audit?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "license.load",
        "license.unload",
        "tenant.create",
        "tenant.limits",
        "user.create",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "tenant.create")
        .unwrap();
    assert_eq!(entry["actor_username"], "admin");
    assert_eq!(entry["source"], "127.0.0.1");
    let (_, own_audit) = server.get(&acme_admin, "/api/v1/audit").await;
    assert!(
        own_audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == acme.as_str())
    );
    assert!(!own_audit["entries"].as_array().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_tenant_ends_its_sessions_and_frees_its_licenses() {
    let server = TestServer::start().await;
    let hosting = hosting(&server).await;
    let admin = hosting.admin.as_str();
    let (gina, _gus) = globex_desktops(&server, &hosting).await;
    // The default tenant, acme and globex hold 3 of the 5 tenant licenses.
    assert_eq!(server.pool(admin, "tenant").await, (5, 3));

    // Deleting a tenant ends its sessions, frees its tenant license and its client licenses.
    let (status, _) = server
        .delete(admin, &format!("/api/v1/tenants/{}", hosting.globex))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.pool(admin, "tenant").await, (5, 2));
    assert_eq!(server.pool(admin, "desktop").await, (3, 1));
    let (status, body) = server.get(&gina, "/api/v1/me").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    server.stop().await;
}

/// The id of the loaded license granting exactly `desktop = quantity`.
async fn body_id(server: &TestServer, admin: &str, quantity: u64) -> String {
    let (_, overview) = server.get(admin, "/api/v1/licenses").await;
    overview["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["items"] == json!({"desktop": quantity}))
        .map(|l| l["id"].as_str().unwrap().to_string())
        .expect("license loaded")
}

async fn license_id_with(server: &TestServer, admin: &str, item: &str) -> String {
    let (_, overview) = server.get(admin, "/api/v1/licenses").await;
    overview["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["items"].get(item).is_some())
        .map(|l| l["id"].as_str().unwrap().to_string())
        .expect("license loaded")
}
