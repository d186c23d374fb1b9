//! Restart: what was configured survives, and so do the sessions (with their license seats);
//! a session that went idle past its limit while the server was down does not.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestServer, vendor_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_sessions_survive_a_crash() {
    let server = TestServer::start().await;
    let admin = server.multi_tenant_admin().await;
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
    // Anna's session came back with its seat: her token works, nobody logs in again.
    assert_eq!(server.pool(&admin, "desktop").await, (5, 1));
    assert_eq!(server.pool(&admin, "tenant").await, (5, 2));
    let (status, me) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["id"], anna_id.as_str());
    let (status, _) = server.post(&token, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.pool(&admin, "desktop").await, (5, 0));
    let (status, _) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "logged out stays out");
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

/// A session that went idle past its limit while the server was down ends at the restart
/// and holds no seat; one with time left comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_idle_past_their_limit_do_not_come_back() {
    let short_idle = |config: &mut ucplus_server::Config| config.session_idle_timeout = 2;
    let server = TestServer::start_with(short_idle).await;
    let admin = server.multi_tenant_admin().await;
    let (_, acme_admin) = server.tenant(&admin, "acme").await;
    server.user(&acme_admin, "anna", &["desktop"]).await;
    let token = server
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("login");
    assert_eq!(server.pool(&admin, "desktop").await, (5, 1));
    let (dir, temp) = (server.data_dir.clone(), server.temp());
    server.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;

    let server = TestServer::start_in(&dir, vendor_key(), temp, short_idle).await;
    let admin = server.admin().await;
    assert_eq!(server.pool(&admin, "desktop").await, (5, 0));
    let (status, body) = server.get(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
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

/// History is kept as long as configured and no longer: call log rows and license usage
/// older than their retention are deleted by the running server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_history_and_usage_are_pruned_past_their_retention() {
    use ucplus_core::store::UsageStore as _;
    use ucplus_core::{
        CallLogEntry, DeviceRecordId, LogDirection, PbxId, Store, TenantId, Timestamp, UsageSample,
        UserId,
    };
    const DAY: i64 = 86_400_000;
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server
        .load_license(&admin, &server.license(&[("desktop", 5)]))
        .await;
    let anna: UserId = server
        .user(&admin, "anna", &["desktop"])
        .await
        .parse()
        .unwrap();
    let (_, tenants) = server.get(&admin, "/api/v1/tenants").await;
    let tenant: TenantId = tenants[0]["id"].as_str().unwrap().parse().unwrap();
    let dir = server.data_dir.clone();
    let temp = server.temp();
    server.stop().await;

    // Rows 100 days old and a day old, written while the server is down.
    let now = Timestamp::now().0;
    let store = ucplus_store::SqlStore::open_sqlite(&dir.join("ucplus.db"))
        .await
        .unwrap();
    let row = |id: &str, age_days: i64| CallLogEntry {
        id: id.into(),
        tenant_id: tenant,
        user_id: anna,
        device_id: DeviceRecordId::new(),
        pbx_id: PbxId::new(),
        direction: LogDirection::Out,
        outgoing: true,
        missed: false,
        answered: true,
        other_number: Some("201".into()),
        other_name: None,
        answered_by: None,
        started_at: Timestamp(now - age_days * DAY),
        answered_at: None,
        ended_at: Timestamp(now - age_days * DAY + 1000),
        ring_ms: 0,
        talk_ms: 1000,
        transferred: Vec::new(),
        cause: None,
    };
    let scope = (&store as &dyn Store).tenant(tenant);
    scope
        .call_log()
        .insert(&[row("old", 100), row("recent", 1)])
        .await
        .unwrap();
    let sample = |age_days: i64| UsageSample {
        tenant_id: tenant,
        license_type: "desktop".into(),
        hour: (now - age_days * DAY) / 3_600_000 * 3_600_000,
        peak: 3,
    };
    store.record_usage(&[sample(100), sample(1)]).await.unwrap();
    let today = now / DAY;
    assert_eq!(
        store
            .daily_usage(None, today - 101, today)
            .await
            .unwrap()
            .len(),
        2
    );
    store.close().await;

    let server = TestServer::start_in(&dir, vendor_key(), temp.clone(), |config| {
        config.cti.call_log_retention_days = 30;
        config.usage.retention_days = 30;
        config.usage.flush_interval = 1;
    })
    .await;
    let token = server
        .login(None, "anna", "user-password", "desktop")
        .await
        .expect("anna logs in");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, log) = server.get(&token, "/api/v1/call-log").await;
        let ids: Vec<&str> = log["calls"]
            .as_array()
            .expect("a list of calls")
            .iter()
            .filter_map(|c| c["id"].as_str())
            .collect();
        assert!(
            ids.contains(&"recent"),
            "a call within the retention stays: {log}"
        );
        if !ids.contains(&"old") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call older than the retention was never pruned: {log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.stop().await;
    let store = ucplus_store::SqlStore::open_sqlite(&dir.join("ucplus.db"))
        .await
        .unwrap();
    let days = store.daily_usage(None, today - 101, today).await.unwrap();
    assert!(
        days.iter().all(|d| d.day >= today - 30),
        "usage older than the retention was pruned: {days:?}"
    );
    assert!(
        days.iter().any(|d| d.day == today - 1 && d.peak == 3),
        "usage within the retention stays: {days:?}"
    );
    store.close().await;
    drop(temp);
}
