//! The audit log: every admin action leaves an entry naming the action, the actor, the
//! tenant and the record acted on; the system admin reads all of it, a tenant admin only its
//! own tenant's part; a write the database refuses is counted and reported, not only logged.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::TestServer;

/// Every action the server audits, named here rather than taken from the server: a handler
/// that stops auditing fails `every_admin_action_is_audited`, and so does an audited action
/// this list does not know (add it here, with the request that causes it).
const ACTIONS: [&str; 23] = [
    "license.load",
    "license.unload",
    "tenant.create",
    "tenant.update",
    "tenant.delete",
    "tenant.limits",
    "pbx.create",
    "pbx.update",
    "pbx.delete",
    "pbx.assign_devices",
    "user.create",
    "user.update",
    "user.delete",
    "site.create",
    "site.update",
    "site.delete",
    "device.create",
    "device.update",
    "device.delete",
    "contact.create",
    "contact.update",
    "contact.delete",
    "contact.import",
];

/// The entry one admin action must leave.
struct Expected {
    action: &'static str,
    actor: &'static str,
    tenant: Option<String>,
    target: Option<String>,
}

impl Expected {
    fn new(
        action: &'static str,
        actor: &'static str,
        tenant: Option<&str>,
        target: Option<&str>,
    ) -> Self {
        Expected {
            action,
            actor,
            tenant: tenant.map(String::from),
            target: target.map(String::from),
        }
    }

    fn matches(&self, entry: &Value) -> bool {
        entry["action"] == self.action
            && entry["actor_username"] == self.actor
            && entry["tenant_id"] == json!(self.tenant)
            && entry["target"] == json!(self.target)
            && entry["source"] == "127.0.0.1"
    }

    fn describe(&self) -> String {
        format!(
            "{} by {} in tenant {:?} on {:?}",
            self.action, self.actor, self.tenant, self.target
        )
    }
}

fn id(body: &Value) -> String {
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {body}"))
        .to_string()
}

pub async fn entries(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (status, body) = server
        .get(token, &format!("/api/v1/audit?limit=500{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {body}"))
        .clone()
}

/// The entries of admin actions (without logins).
fn admin_actions(entries: Vec<Value>) -> Vec<Value> {
    entries
        .into_iter()
        .filter(|e| {
            !e["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("auth.")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_action_is_audited() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let mut expected = Vec::new();

    // Licenses: the system admin's, in no tenant.
    let (status, loaded) = server
        .load_license(
            &admin,
            &server.license(&[("mt-starter-5", 1), ("desktop", 10)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{loaded}");
    expected.push(Expected::new(
        "license.load",
        "admin",
        None,
        Some(&id(&loaded)),
    ));
    let (status, spare) = server
        .load_license(&admin, &server.license(&[("mobile", 1)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{spare}");
    let spare = id(&spare);
    let (status, body) = server
        .delete(&admin, &format!("/api/v1/licenses/{spare}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new("license.unload", "admin", None, Some(&spare)));

    // Tenants: each entry belongs to the tenant it is about.
    let (acme, boss) = server.tenant(&admin, "acme").await;
    let acme = acme.as_str();
    expected.push(Expected::new(
        "tenant.create",
        "admin",
        Some(acme),
        Some(acme),
    ));
    let (status, body) = server
        .patch(
            &admin,
            &format!("/api/v1/tenants/{acme}"),
            json!({"name": "ACME Corp"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "tenant.update",
        "admin",
        Some(acme),
        Some(acme),
    ));
    let (status, body) = server
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "tenant.limits",
        "admin",
        Some(acme),
        Some(acme),
    ));
    let (doomed, _) = server.tenant(&admin, "doomed").await;
    let (status, body) = server
        .delete(&admin, &format!("/api/v1/tenants/{doomed}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new(
        "tenant.delete",
        "admin",
        Some(&doomed),
        Some(&doomed),
    ));

    // PBX connections: a tenant's own belongs to it; a shared one to no tenant, except the
    // assignment of its devices, which belongs to the receiving tenant.
    let (status, own) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "acme pbx", "kind": "sim", "tenant_id": acme, "devices": "100-199"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own = id(&own);
    expected.push(Expected::new("pbx.create", "admin", Some(acme), Some(&own)));
    let (status, body) = server
        .patch(
            &admin,
            &format!("/api/v1/pbxs/{own}"),
            json!({"name": "acme main"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new("pbx.update", "admin", Some(acme), Some(&own)));
    let (status, shared) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "hosted", "kind": "sim", "devices": "200-299"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{shared}");
    let shared = id(&shared);
    let (status, body) = server
        .post(
            &admin,
            &format!("/api/v1/pbxs/{shared}/devices"),
            json!({"tenant_id": acme, "device_ids": ["200"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    expected.push(Expected::new(
        "pbx.assign_devices",
        "admin",
        Some(acme),
        Some(&shared),
    ));
    let (status, spare) = server
        .post(
            &admin,
            "/api/v1/pbxs",
            json!({"name": "spare", "kind": "sim", "devices": "300-309"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{spare}");
    let spare = id(&spare);
    let (status, body) = server
        .delete(&admin, &format!("/api/v1/pbxs/{spare}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new("pbx.delete", "admin", None, Some(&spare)));

    // The tenant admin's actions: users, sites, devices, shared contacts and their import.
    let anna = server.user(&boss, "anna", &["desktop"]).await;
    expected.push(Expected::new(
        "user.create",
        "boss",
        Some(acme),
        Some(&anna),
    ));
    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/users/{anna}"),
            json!({"display_name": "Anna A."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "user.update",
        "boss",
        Some(acme),
        Some(&anna),
    ));
    let temp = server.user(&boss, "temp", &[]).await;
    let (status, body) = server.delete(&boss, &format!("/api/v1/users/{temp}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new(
        "user.delete",
        "boss",
        Some(acme),
        Some(&temp),
    ));

    let (status, site) = server
        .post(&boss, "/api/v1/sites", json!({"name": "HQ"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = id(&site);
    expected.push(Expected::new(
        "site.create",
        "boss",
        Some(acme),
        Some(&site),
    ));
    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/sites/{site}"),
            json!({"name": "Head office"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "site.update",
        "boss",
        Some(acme),
        Some(&site),
    ));
    let (status, body) = server.delete(&boss, &format!("/api/v1/sites/{site}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new(
        "site.delete",
        "boss",
        Some(acme),
        Some(&site),
    ));

    let (status, device) = server
        .post(
            &boss,
            "/api/v1/devices",
            json!({"pbx_id": own, "device_id": "100", "user_id": anna}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    let device = id(&device);
    expected.push(Expected::new(
        "device.create",
        "boss",
        Some(acme),
        Some(&device),
    ));
    let (status, body) = server
        .patch(
            &boss,
            &format!("/api/v1/devices/{device}"),
            json!({"name": "Anna's desk"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "device.update",
        "boss",
        Some(acme),
        Some(&device),
    ));
    let (status, body) = server
        .delete(&boss, &format!("/api/v1/devices/{device}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new(
        "device.delete",
        "boss",
        Some(acme),
        Some(&device),
    ));

    let (status, contact) = server
        .post(
            &boss,
            "/api/v1/contacts",
            json!({"name": "Supplier", "numbers": [{"label": "work", "number": "+49 30 1234"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact = id(&contact);
    expected.push(Expected::new(
        "contact.create",
        "boss",
        Some(acme),
        Some(&contact),
    ));
    let (status, body) = server
        .put(
            &boss,
            &format!("/api/v1/contacts/{contact}"),
            json!({"name": "Supplier GmbH"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    expected.push(Expected::new(
        "contact.update",
        "boss",
        Some(acme),
        Some(&contact),
    ));
    let (status, body) = server
        .delete(&boss, &format!("/api/v1/contacts/{contact}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    expected.push(Expected::new(
        "contact.delete",
        "boss",
        Some(acme),
        Some(&contact),
    ));
    let (status, body) = server
        .import_csv(&boss, "name,phone\nPlumber,+49 30 1111\n")
        .await;
    assert_eq!(
        (status, &body["imported"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    // An import has no one record to name.
    expected.push(Expected::new("contact.import", "boss", Some(acme), None));

    // The list above covers every action, and the log holds exactly these actions: one
    // missing names the handler that stopped auditing.
    let listed: BTreeSet<&str> = expected.iter().map(|e| e.action).collect();
    assert_eq!(
        listed,
        BTreeSet::from(ACTIONS),
        "the test performs every action"
    );
    // Logins are audited too (their own test below); here the admin actions.
    let all = admin_actions(entries(&server, &admin, "").await);
    let logged: BTreeSet<&str> = all.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        logged,
        BTreeSet::from(ACTIONS),
        "the actions in the audit log"
    );
    // Each action's entry names its actor, tenant, target and client address.
    for want in &expected {
        assert!(
            all.iter().any(|entry| want.matches(entry)),
            "no audit entry for {}; the log: {all:#?}",
            want.describe()
        );
    }

    // The system admin can narrow the log to one tenant.
    let acme_only = entries(&server, &admin, &format!("&tenant_id={acme}")).await;
    assert!(
        acme_only.iter().all(|e| e["tenant_id"] == acme),
        "{acme_only:#?}"
    );
    // A tenant admin reads its own tenant's entries, all of them, and nothing else: not
    // the system admin's license entries, not another tenant's.
    let own = entries(&server, &boss, "").await;
    assert!(own.iter().all(|e| e["tenant_id"] == acme), "{own:#?}");
    for want in expected
        .iter()
        .filter(|e| e.tenant.as_deref() == Some(acme))
    {
        assert!(
            own.iter().any(|entry| want.matches(entry)),
            "the tenant admin does not see {}",
            want.describe()
        );
        assert!(
            acme_only.iter().any(|entry| want.matches(entry)),
            "?tenant_id= drops {}",
            want.describe()
        );
    }
    assert_eq!(own.len(), acme_only.len(), "{own:#?}");

    // Another tenant's admin sees its own entries and none of ACME's, even when asking
    // for ACME's by id.
    let (globex, globex_boss) = server.tenant(&admin, "globex").await;
    server.user(&globex_boss, "gina", &["desktop"]).await;
    for query in ["".to_string(), format!("&tenant_id={acme}")] {
        let theirs = entries(&server, &globex_boss, &query).await;
        let actions: BTreeSet<&str> = theirs.iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(
            actions,
            BTreeSet::from(["auth.login", "tenant.create", "user.create"]),
            "{query}: {theirs:#?}"
        );
        assert!(
            theirs.iter().all(|e| e["tenant_id"] == globex.as_str()),
            "{query}: {theirs:#?}"
        );
    }
    // And ACME's admin does not see Globex's.
    let own_after = entries(&server, &boss, "").await;
    assert_eq!(own_after.len(), own.len(), "{own_after:#?}");
    server.stop().await;
}

/// `ucplus_audit_write_failures_total` from `/metrics` (0 before the first failure). The
/// recorder is one per process: the caller compares values before and after.
async fn audit_failures_metric(server: &TestServer) -> u64 {
    let (status, text) = server.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().expect("metrics text").to_string();
    text.lines()
        .find_map(|line| line.strip_prefix("ucplus_audit_write_failures_total "))
        .map(|value| value.trim().parse::<f64>().expect("a number") as u64)
        .unwrap_or(0)
}

async fn readyz(server: &TestServer) -> Value {
    let (status, body) = server.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_audit_write_is_counted_and_reported() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ready = readyz(&server).await;
    assert!(ready.get("warnings").is_none(), "no warning yet: {ready}");
    let before = audit_failures_metric(&server).await;

    // The database refuses audit entries (a trigger set through a connection of its own,
    // as a damaged table would), and nothing else.
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(server.data_dir.join("ucplus.db"))
        .busy_timeout(Duration::from_secs(10));
    let mut db = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("the test's own connection to the server's database");
    sqlx::query(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
         BEGIN SELECT RAISE(ABORT, 'audit log refused by the test'); END",
    )
    .execute(&mut db)
    .await
    .expect("trigger created");

    // Two admin actions: both take effect (a failed audit write does not undo them)...
    let (status, body) = server
        .load_license(&admin, &server.license(&[("desktop", 5)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let anna = server.user(&admin, "anna", &["desktop"]).await;
    let (status, _) = server.get(&admin, &format!("/api/v1/users/{anna}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.pool(&admin, "desktop").await, (5, 0));
    // ...neither is in the log (only the admin's login, from before)...
    let logged = admin_actions(entries(&server, &admin, "").await);
    assert!(logged.is_empty(), "{logged:#?}");
    // ...and the operator is told: /readyz names the count, the metric counts them.
    let ready = readyz(&server).await;
    assert_eq!(
        ready["warnings"],
        json!(["2 audit log writes failed since start; see the server log"]),
        "{ready}"
    );
    let after = audit_failures_metric(&server).await;
    assert!(after >= before + 2, "metric went from {before} to {after}");

    // Once the database accepts entries again, actions are recorded again; the warning
    // keeps the count since start.
    sqlx::query("DROP TRIGGER refuse_audit")
        .execute(&mut db)
        .await
        .expect("trigger dropped");
    let bert = server.user(&admin, "bert", &["desktop"]).await;
    let logged = admin_actions(entries(&server, &admin, "").await);
    assert_eq!(logged.len(), 1, "{logged:#?}");
    assert_eq!(
        (&logged[0]["action"], &logged[0]["target"]),
        (&json!("user.create"), &json!(bert))
    );
    let ready = readyz(&server).await;
    assert_eq!(
        ready["warnings"],
        json!(["2 audit log writes failed since start; see the server log"]),
        "{ready}"
    );
    db.close().await.expect("closed");
    server.stop().await;
}
