//! Several nodes on one PostgreSQL database: a token works on every node; each PBX link
//! runs on exactly one node (the simulated switch never sees two links at once) and moves
//! to another node within seconds when its node stops or dies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use pbx::sim::{DeviceSet, SimConfig, Simulator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use ucplus_server::Config;
use ucplus_server::config::Secret;

use crate::helpers::TestServer;
use crate::scratch::ScratchDb;
use crate::ws::Events;

/// Every node of a cluster shares the secrets key.
pub(crate) const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub(crate) fn node(url: &str, name: &str) -> impl FnOnce(&mut Config) {
    let (url, name) = (url.to_string(), name.to_string());
    move |config| {
        config.database_url = Some(Secret(url));
        config.secrets_key = Some(Secret(SECRETS_KEY.into()));
        config.node_name = Some(name);
        config.cluster.lease_ttl = 1_500;
    }
}

/// Nodes `a` and `b` on `db` that sync sessions (and follow the cluster's pools) every
/// second; with `nats`, live events go between them over the local NATS server.
async fn two_nodes(db: &ScratchDb, nats: bool) -> (TestServer, TestServer) {
    let quick = |name: &'static str| {
        let join = node(&db.url, name);
        move |config: &mut Config| {
            join(config);
            config.session_idle_timeout = 4;
            if nats {
                config.cluster.nats_url = Some("nats://127.0.0.1:4222".into());
            }
        }
    };
    (
        TestServer::start_with(quick("a")).await,
        TestServer::start_with(quick("b")).await,
    )
}

/// Waits (up to `within`) until `server` shows the PBX's link up on node `on` (any node:
/// None); that node.
pub(crate) async fn link_up_on(
    server: &TestServer,
    admin: &str,
    pbx: &str,
    on: Option<&str>,
    within: Duration,
) -> String {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (_, body) = server.get(admin, &format!("/api/v1/pbxs/{pbx}")).await;
        if body["link"]["state"] == "up"
            && let Some(node) = body["link"]["node"].as_str()
            && on.is_none_or(|on| on == node)
        {
            return node.to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the link was not up on any node within {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The nodes `/api/v1/cluster` lists with their state, and which holds `pbx`.
async fn cluster(
    server: &TestServer,
    admin: &str,
    pbx: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let (status, body) = server.get(admin, "/api/v1/cluster").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mode"], "cluster");
    let nodes: &Vec<Value> = body["nodes"].as_array().unwrap();
    let states = nodes
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_string(),
                n["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let holders = nodes
        .iter()
        .filter(|n| {
            n["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["pbx_id"] == pbx)
        })
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    (states, holders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_runs_on_one_node_and_fails_over_when_its_node_stops_or_dies() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let a = TestServer::start_with(node(&db.url, "a")).await;
    let b = TestServer::start_with(node(&db.url, "b")).await;
    let admin = a.admin().await;
    // The admin's token from node a works on node b.
    let (status, me) = b.get(&admin, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");

    let mut config = SimConfig::new("300-309".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Arc::new(Simulator::start(config).await.expect("simulator"));
    // How many links the switch saw at once, at most.
    let most_links = Arc::new(AtomicU64::new(0));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = tokio::spawn({
        let (sim, most_links, watching) = (sim.clone(), most_links.clone(), watching.clone());
        async move {
            while watching.load(Ordering::Relaxed) {
                most_links.fetch_max(sim.stats().connections_open, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    let (status, created) = a
        .post(&admin, "/api/v1/pbxs", json!({"name": "shared", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pbx = created["id"].as_str().unwrap().to_string();
    let (_, tenants) = a.get(&admin, "/api/v1/tenants").await;
    let tenant = tenants[0]["id"].as_str().unwrap().to_string();
    let (status, body) = a
        .post(
            &admin,
            &format!("/api/v1/pbxs/{pbx}/devices"),
            json!({"tenant_id": tenant, "device_ids": ["300-309"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // One node takes the link; both nodes say which.
    let holder = link_up_on(&a, &admin, &pbx, None, Duration::from_secs(5)).await;
    link_up_on(&b, &admin, &pbx, Some(&holder), Duration::from_secs(5)).await;
    let (states, holders) = cluster(&b, &admin, &pbx).await;
    assert_eq!(
        states,
        [
            ("a".to_string(), "active".to_string()),
            ("b".to_string(), "active".to_string())
        ]
    );
    assert_eq!(holders, std::slice::from_ref(&holder));
    // Every device is monitored by the one link.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sim.stats().monitors_active < 10 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The holder stops (SIGTERM): it releases the link, the other node takes it at once.
    let (holder_server, survivor, survivor_name) = if holder == "a" {
        (a, b, "b")
    } else {
        (b, a, "a")
    };
    let stopped = tokio::time::Instant::now();
    holder_server.stop().await;
    link_up_on(
        &survivor,
        &admin,
        &pbx,
        Some(survivor_name),
        Duration::from_secs(5),
    )
    .await;
    assert!(stopped.elapsed() < Duration::from_secs(5));

    // The stopped node comes back: the link stays where it is.
    let back = TestServer::start_with(node(&db.url, &holder)).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let (_, holders) = cluster(&back, &admin, &pbx).await;
    assert_eq!(holders, [survivor_name.to_string()]);

    // The survivor dies (no release): once its lease expired the other node takes over,
    // with every device monitored again.
    let died = tokio::time::Instant::now();
    survivor.kill().await;
    link_up_on(&back, &admin, &pbx, Some(&holder), Duration::from_secs(5)).await;
    assert!(
        died.elapsed() < Duration::from_secs(5),
        "{:?}",
        died.elapsed()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sim.stats().monitors_active < 10 {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", sim.stats());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (states, holders) = cluster(&back, &admin, &pbx).await;
    assert!(
        states.contains(&(survivor_name.to_string(), "expired".to_string())),
        "{states:?}"
    );
    assert_eq!(holders, std::slice::from_ref(&holder));

    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();
    assert_eq!(
        most_links.load(Ordering::Relaxed),
        1,
        "the switch never saw two links at once"
    );
    back.stop().await;
    drop(db);
}

/// Waits (up to 10 s) until `server`'s pool of `license_type` is `(total, in_use)`.
async fn pool_is(server: &TestServer, admin: &str, license_type: &str, want: (u64, u64)) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = server.pool(admin, license_type).await;
        if now == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the {license_type} pool stayed {now:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_racing_on_two_nodes_never_pass_a_cap_and_a_dead_nodes_seats_return() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db, false).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 30)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (acme, boss) = a.tenant(&admin, "acme").await;
    let (status, body) = a
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 12, "reserved": 0}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let people: Vec<String> = (0..36).map(|i| format!("user{i}")).collect();
    for name in &people {
        a.user(&boss, name, &["desktop"]).await;
    }
    // Node b learned the license and the tenant from the store.
    pool_is(&b, &admin, "desktop", (30, 0)).await;

    // 36 people log in at once, half on each node: exactly the cap gets in.
    let logins = people.iter().enumerate().map(|(i, name)| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move {
            (
                i % 2,
                server
                    .login(Some("acme"), name, "user-password", "desktop")
                    .await,
            )
        }
    });
    let results = futures_util::future::join_all(logins).await;
    let granted: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(node, _)| *node)
        .collect();
    assert_eq!(granted.len(), 12, "{results:?}");
    for (_, result) in &results {
        if let Err((status, code)) = result {
            assert_eq!(
                (*status, code.as_str()),
                (StatusCode::CONFLICT, "tenant_cap_reached")
            );
        }
    }
    let on_b = granted.iter().filter(|node| **node == 1).count() as u64;
    pool_is(&a, &admin, "desktop", (30, 12)).await;
    pool_is(&b, &admin, "desktop", (30, 12)).await;

    // Node b dies holding its seats: they come back once its lease expired.
    b.kill().await;
    pool_is(&a, &admin, "desktop", (30, 12 - on_b)).await;
    let refused: Vec<&String> = results
        .iter()
        .zip(&people)
        .filter(|((_, r), _)| r.is_err())
        .map(|(_, name)| name)
        .collect();
    let mut again = 0;
    for name in refused.iter().take(usize::try_from(on_b).unwrap() + 1) {
        if a.login(Some("acme"), name, "user-password", "desktop")
            .await
            .is_ok()
        {
            again += 1;
        }
    }
    assert_eq!(again, on_b, "the dead node's seats, and not one more");
    a.stop().await;
    drop(db);
}

/// Runs `sql` on the test database's server as its administrator.
async fn admin_sql(sql: &str) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(&crate::scratch::admin_url())
        .await
        .expect("admin connection");
    conn.execute(sql).await.expect("admin statement");
}

/// The database goes away for the node's lease: the node fences (its link to the switch
/// stops before its lease could expire), and takes the link back when the database answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_renew_its_lease_stops_its_links_and_takes_them_back_later() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let a = TestServer::start_with(node(&db.url, "a")).await;
    let admin = a.admin().await;
    let mut config = SimConfig::new("300-301".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.expect("simulator");
    let (status, created) = a
        .post(&admin, "/api/v1/pbxs", json!({"name": "p", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pbx = created["id"].as_str().unwrap().to_string();
    link_up_on(&a, &admin, &pbx, Some("a"), Duration::from_secs(5)).await;
    assert_eq!(sim.stats().connections_open, 1);

    // The lease's connection is cut and no new one is let in.
    admin_sql(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
        db.name
    ))
    .await;
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND application_name = 'ucplus-lease'",
        db.name
    ))
    .await;
    let cut = tokio::time::Instant::now();
    while sim.stats().connections_open > 0 {
        assert!(
            cut.elapsed() < Duration::from_millis(1_500),
            "the link was still open when the lease (1.5 s) could have expired"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, body) = a.get(&admin, "/api/v1/cluster").await;
    assert_eq!(body["nodes"][0]["state"], "fenced", "{body}");

    // The database answers again: the node renews and runs its link again.
    admin_sql(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
        db.name
    ))
    .await;
    link_up_on(&a, &admin, &pbx, Some("a"), Duration::from_secs(5)).await;
    let (_, body) = a.get(&admin, "/api/v1/cluster").await;
    assert_eq!(body["nodes"][0]["state"], "active", "{body}");
    assert_eq!(
        body["nodes"][0]["links"][0]["epoch"], 2,
        "taken back under a new epoch"
    );
    a.stop().await;
    drop(db);
}

/// Logs in on `server`, retrying while it has not learned the tenant yet (its pool follows
/// changes made on other nodes within a sync tick).
pub(crate) async fn login_on(server: &TestServer, tenant: &str, user: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match server
            .login(Some(tenant), user, "user-password", "desktop")
            .await
        {
            Ok(token) => return token,
            Err(refusal) => assert!(
                tokio::time::Instant::now() < deadline,
                "{user} cannot log in on the other node: {refusal:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With NATS, what happens on one node reaches the clients of every node, and only those
/// of its tenant: a call on the switch (its link on one node) rings at a client connected
/// to the other, a client connecting there later finds it in its snapshot, and presence
/// set through one node shows at the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_clients_on_every_node_and_only_their_tenants() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db, true).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 20)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut config = SimConfig::new("1200-1209,2200-2209".parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.expect("simulator");
    let (status, created) = a
        .post(&admin, "/api/v1/pbxs", json!({"name": "hosted", "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pbx = created["id"].as_str().unwrap().to_string();
    let acme = crate::cti::office(
        &a,
        &admin,
        "acme",
        &pbx,
        "1200-1209",
        "1",
        &[("anna", "200"), ("bert", "201")],
    )
    .await;
    let globex = crate::cti::office(
        &a,
        &admin,
        "globex",
        &pbx,
        "2200-2209",
        "2",
        &[("gina", "200")],
    )
    .await;
    let holder = link_up_on(&a, &admin, &pbx, None, Duration::from_secs(5)).await;
    // Anna and Gina are connected to the node that does not run the link.
    let (far, near) = if holder == "a" { (&b, &a) } else { (&a, &b) };
    let anna = login_on(far, "acme", "anna").await;
    let gina = login_on(far, "globex", "gina").await;
    let mut anna_events = Events::connect(far, &anna).await;
    let mut gina_events = Events::connect(far, &gina).await;

    // Bert calls Anna on the switch: her phone rings at her client on the other node.
    sim.dial("1201", "1200").expect("bert dials");
    let ringing = anna_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(ringing["data"]["other"]["number"], "201", "{ringing}");
    // A client connecting now to that node finds the ringing call, the phones and the link
    // (run by the other node) in its snapshot.
    let later = Events::connect(far, &anna).await;
    let snapshot = &later.seen[0]["data"];
    assert!(
        snapshot["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == ringing["data"]["id"] && c["state"] == "ringing"),
        "{snapshot}"
    );
    assert!(
        !snapshot["devices"].as_array().unwrap().is_empty(),
        "{snapshot}"
    );
    assert_eq!(snapshot["links"][0]["node"], holder.as_str(), "{snapshot}");
    // Presence set through the link's node shows at the other.
    let (status, body) = near
        .put(
            &acme.people["bert"].token,
            "/api/v1/me/presence",
            json!({"state": "away", "note": "lunch"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    anna_events
        .wait_for("presence", |p| {
            p["user_id"] == acme.people["bert"].id.as_str() && p["state"] == "away"
        })
        .await;
    // Nothing of ACME's reached Globex's client on that node.
    gina_events.drain(Duration::from_millis(500)).await;
    let seen = serde_json::to_string(&gina_events.seen).unwrap();
    assert!(
        !seen.contains(&acme.people["bert"].id) && !seen.contains(&acme.tenant),
        "globex saw acme's events: {seen}"
    );
    drop(globex);
    a.stop().await;
    b.stop().await;
    drop(db);
}

/// A NATS server that does not answer does not keep a node from starting and serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_starts_and_serves_while_nats_does_not_answer() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let join = node(&db.url, "lonely");
    let a = TestServer::start_with(move |config| {
        join(config);
        // Port 9 (discard) on loopback: nothing listens there.
        config.cluster.nats_url = Some("nats://127.0.0.1:9".into());
    })
    .await;
    let admin = a.admin().await;
    let (status, body) = a.get(&admin, "/api/v1/cluster").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["nodes"][0]["state"], "active", "{body}");
    a.stop().await;
    drop(db);
}

/// Tenants made at once through two nodes never pass the tenant licenses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_made_at_once_on_two_nodes_never_pass_the_tenant_licenses() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db, false).await;
    let admin = a.admin().await;
    // Five tenant licenses; the default tenant (made at the first start) holds one.
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 5)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    pool_is(&b, &admin, "tenant", (5, 1)).await;
    let creations = (0..8).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let admin = admin.clone();
        async move {
            server
                .post(
                    &admin,
                    "/api/v1/tenants",
                    json!({"name": format!("T{i}"), "slug": format!("t{i}"),
                    "admin": {"username": "boss", "password": "boss-password"}}),
                )
                .await
        }
    });
    let results = futures_util::future::join_all(creations).await;
    let made = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(made, 4, "{results:?}");
    for (status, body) in &results {
        if *status != StatusCode::CREATED {
            assert_eq!(
                (*status, body["error"]["code"].as_str()),
                (StatusCode::CONFLICT, Some("tenant_licenses_exhausted")),
                "{body}"
            );
        }
    }
    let (_, tenants) = b.get(&admin, "/api/v1/tenants").await;
    assert_eq!(tenants.as_array().unwrap().len(), 5);
    a.stop().await;
    b.stop().await;
    drop(db);
}
