//! Tenant isolation: for every tenant-scoped endpoint, another tenant's admin and users
//! get 404 for this tenant's ids and never see its records in a list.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestServer, error_code};

struct TenantFixture {
    id: String,
    admin: String,
    user: String,
    user_id: String,
    site_id: String,
    device_id: String,
    pbx_id: String,
}

async fn fixture(
    server: &TestServer,
    admin: &str,
    slug: &str,
    shared_pbx: &str,
    extension: &str,
) -> TenantFixture {
    let (id, tenant_admin) = server.tenant(admin, slug).await;
    let user_id = server.user(&tenant_admin, "anna", &["desktop"]).await;
    let user = server
        .login(Some(slug), "anna", "user-password", "desktop")
        .await
        .expect("login");
    let (status, site) = server
        .post(&tenant_admin, "/api/v1/sites", json!({"name": "HQ"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let (status, pbx) = server
        .post(admin, "/api/v1/pbxs", json!({"name": format!("{slug} pbx"), "kind": "csta", "tenant_id": id, "host": "10.0.0.1", "port": 4721, "password": "pbx-secret"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pbx}");
    assert!(pbx.get("password").is_none(), "PBX secrets are write-only");
    let (status, device) = server
        .post(
            &tenant_admin,
            "/api/v1/devices",
            json!({"pbx_id": pbx["id"], "device_id": "100", "user_id": user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    // The same extension number on the shared PBX, assigned to this tenant.
    let (status, assigned) = server
        .post(
            admin,
            &format!("/api/v1/pbxs/{shared_pbx}/devices"),
            json!({"tenant_id": id, "device_ids": [extension]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{assigned}");
    TenantFixture {
        id,
        admin: tenant_admin,
        user,
        user_id,
        site_id: site["id"].as_str().unwrap().into(),
        device_id: device["id"].as_str().unwrap().into(),
        pbx_id: pbx["id"].as_str().unwrap().into(),
    }
}

/// The ids of a list answer. Anything but an array of records with ids is a failure: an
/// error body or a changed shape must not read as "the record is not listed".
fn ids(list: &Value) -> Vec<String> {
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {list}"));
    items
        .iter()
        .map(|item| {
            item["id"]
                .as_str()
                .unwrap_or_else(|| panic!("a listed record without an id: {item}"))
                .to_string()
        })
        .collect()
}

/// A record as its owner reads it, to compare before and after another tenant's attempts.
/// A PBX's `link` is the live connection state (it changes on its own), not the record.
async fn owner_view(server: &TestServer, token: &str, path: &str) -> Value {
    let (status, mut body) = server.get(token, path).await;
    assert_eq!(status, StatusCode::OK, "the owner reads {path}: {body}");
    if let Some(record) = body.as_object_mut() {
        record.remove("link");
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_see_each_other() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 10)]),
        )
        .await;
    let (status, shared) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "hosted", "kind": "sim", "devices": "200-299"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let shared = shared["id"].as_str().unwrap().to_string();
    let a = fixture(&server, &admin, "tenant-a", &shared, "200").await;
    let b = fixture(&server, &admin, "tenant-b", &shared, "201").await;

    // A device of the shared PBX belongs to one tenant only.
    let (status, _) = server
        .post(
            &admin,
            &format!("/api/v1/pbxs/{shared}/devices"),
            json!({"tenant_id": b.id, "device_ids": ["200"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A tenant cannot add devices on a shared PBX itself, nor on another tenant's PBX.
    let (status, _) = server
        .post(
            &b.admin,
            "/api/v1/devices",
            json!({"pbx_id": shared, "device_id": "250"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server
        .post(
            &b.admin,
            "/api/v1/devices",
            json!({"pbx_id": a.pbx_id, "device_id": "250"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("pbx_id"))
    );
    // Nor point its records at another tenant's user or site.
    let (status, body) = server
        .patch(
            &b.admin,
            &format!("/api/v1/devices/{}", b.device_id),
            json!({"user_id": a.user_id}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("user_id"))
    );
    let (status, body) = server.post(&b.admin, "/api/v1/users", json!({"username": "x", "password": "xxxxxxxx", "display_name": "X", "site_id": a.site_id})).await;
    assert_eq!(
        (status, body["error"]["fields"][0]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("site_id"))
    );

    // Each with a PATCH body that would be valid for the owner.
    let a_records = [
        ("/api/v1/users", a.user_id.as_str(), "display_name"),
        ("/api/v1/sites", a.site_id.as_str(), "name"),
        ("/api/v1/devices", a.device_id.as_str(), "name"),
        ("/api/v1/pbxs", a.pbx_id.as_str(), "name"),
    ];
    let mut before = Vec::new();
    for (collection, id, _) in a_records {
        let path = format!("{collection}/{id}");
        before.push(owner_view(&server, &a.admin, &path).await);
    }
    for token in [&b.admin, &b.user] {
        for (collection, id, field) in a_records {
            let (status, list) = server.get(token, collection).await;
            if status == StatusCode::OK {
                assert!(
                    !ids(&list).contains(&id.to_string()),
                    "{collection} leaks A's record"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{collection}");
            }
            let path = format!("{collection}/{id}");
            let unknown = format!("{collection}/00000000-0000-4000-8000-000000000000");
            for method in [Method::GET, Method::PATCH, Method::DELETE] {
                let body = (method == Method::PATCH).then(|| json!({ field: "stolen" }));
                let (status, answer) = server
                    .call(method.clone(), &path, Some(token), body.clone())
                    .await;
                let (unknown_status, unknown_answer) = server
                    .call(method.clone(), &unknown, Some(token), body)
                    .await;
                // Another tenant's id answers exactly like an id that does not exist.
                assert_eq!(
                    (status, &answer),
                    (unknown_status, &unknown_answer),
                    "{method} {path}"
                );
                assert!(
                    status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
                    "{method} {path}: {status}"
                );
            }
        }
        // Lists hold only the tenant's own records.
        let (_, users) = server.get(token, "/api/v1/users").await;
        assert_eq!(ids(&users).len(), 2, "B's admin and B's user");
        assert!(ids(&users).contains(&b.user_id));
        assert!(
            users
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["id"] != a.user_id.as_str())
        );
        let (_, devices) = server.get(token, "/api/v1/devices").await;
        let numbers: Vec<&str> = devices
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["device_id"].as_str().unwrap())
            .collect();
        assert_eq!(numbers.len(), 2);
        assert!(
            numbers.contains(&"100") && numbers.contains(&"201"),
            "{numbers:?}"
        );
    }

    // None of B's GET, PATCH or DELETE attempts changed or removed anything of A's.
    for ((collection, id, _), before) in a_records.iter().zip(&before) {
        let path = format!("{collection}/{id}");
        let after = owner_view(&server, &a.admin, &path).await;
        assert_eq!(&after, before, "{path} changed by another tenant");
    }

    // B's admin sees only B's audit entries and usage.
    let (_, audit) = server.get(&b.admin, "/api/v1/audit?limit=500").await;
    let entries = audit["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["tenant_id"] == b.id.as_str()),
        "{audit}"
    );
    let (_, usage) = server.get(&b.admin, "/api/v1/licenses/usage").await;
    assert_eq!(usage["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(usage["tenants"][0]["tenant_id"], b.id.as_str());
    // A user is not a tenant admin.
    let (status, body) = server.get(&b.user, "/api/v1/audit").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );

    // The system admin acts in a tenant only when it names it, and an unknown tenant is a 404.
    let (status, body) = server.get(&admin, "/api/v1/users").await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (status, users) = server
        .call_with(
            Method::GET,
            "/api/v1/users",
            Some(&admin),
            None,
            &[("x-ucplus-tenant", "tenant-a")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&users).contains(&a.user_id));
    let (status, _) = server
        .call_with(
            Method::GET,
            "/api/v1/users",
            Some(&admin),
            None,
            &[("x-ucplus-tenant", "nope")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    server.stop().await;
}
