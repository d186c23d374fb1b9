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

/// A simulated switch with `devices`, and a CSTA connection `name` to it (no session,
/// heartbeats every second): the simulator and the connection's id.
async fn simulated_pbx(
    server: &TestServer,
    admin: &str,
    devices: &str,
    name: &str,
) -> (Simulator, String) {
    let mut config = SimConfig::new(devices.parse::<DeviceSet>().unwrap());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(config).await.expect("simulator");
    let (status, created) = server
        .post(admin, "/api/v1/pbxs", json!({"name": name, "kind": "csta", "host": "127.0.0.1", "port": sim.local_addr().port(), "session": "none", "heartbeat_interval": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (sim, created["id"].as_str().unwrap().to_string())
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

/// Node `name` on `db` for the login race: sessions that outlast the race (60 s idle;
/// synced, and pools followed, every 5 s), logins that wait for a hashing slot as long as
/// it takes (300 at once), and refusals from one address not taken for an attack.
fn login_node(db: &ScratchDb, name: &str) -> impl FnOnce(&mut Config) {
    let join = node(&db.url, name);
    move |config: &mut Config| {
        join(config);
        config.session_idle_timeout = 60;
        config.login.hash_wait = 120_000;
        config.login.max_failures_per_address = 10_000;
    }
}

/// Everyone in `people` logs in at once, spread over `nodes`: (the node, the token) of
/// each one granted. Every refusal is the tenant's cap.
async fn login_race(nodes: &[&TestServer], people: &[String]) -> Vec<(usize, usize, String)> {
    let logins = people.iter().enumerate().map(|(i, name)| {
        let node = i % nodes.len();
        let server = nodes[node];
        async move {
            let result = server
                .login(Some("acme"), name, "user-password", "desktop")
                .await;
            (i, node, result)
        }
    });
    let mut granted = Vec::new();
    for (person, node, result) in futures_util::future::join_all(logins).await {
        match result {
            Ok(token) => granted.push((person, node, token)),
            Err((status, code)) => assert_eq!(
                (status, code.as_str()),
                (StatusCode::CONFLICT, "tenant_cap_reached")
            ),
        }
    }
    granted
}

/// 300 people log in at once over three nodes against a cap of 50, in two rounds:
/// exactly 50 get in each time. A node that dies holding seats gives them back once its
/// lease has expired, and not one more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_racing_on_three_nodes_never_pass_a_cap_and_a_dead_nodes_seats_return() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let a = TestServer::start_with(login_node(&db, "a")).await;
    let b = TestServer::start_with(login_node(&db, "b")).await;
    let c = TestServer::start_with(login_node(&db, "c")).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 60)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (acme, boss) = a.tenant(&admin, "acme").await;
    let (status, body) = a
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 50, "reserved": 0}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let people: Vec<String> = (0..300).map(|i| format!("user{i}")).collect();
    let nodes = [&a, &b, &c];
    for batch in people.chunks(30) {
        let made = batch.iter().enumerate().map(|(i, name)| {
            let (server, boss) = (nodes[i % 3], &boss);
            async move { server.user(boss, name, &["desktop"]).await }
        });
        futures_util::future::join_all(made).await;
    }
    // Every node learned the license and the tenant from the store.
    for server in nodes {
        pool_is(server, &admin, "desktop", (60, 0)).await;
    }

    let mut granted = Vec::new();
    for round in 0..2 {
        granted = login_race(&nodes, &people).await;
        let per_node: Vec<usize> = (0..3)
            .map(|n| granted.iter().filter(|(_, node, _)| *node == n).count())
            .collect();
        assert_eq!(
            granted.len(),
            50,
            "round {round}: granted per node {per_node:?}"
        );
        for server in nodes {
            pool_is(server, &admin, "desktop", (60, 50)).await;
        }
        if round == 0 {
            for (_, node, token) in &granted {
                let (status, body) = nodes[*node]
                    .post(token, "/api/v1/auth/logout", json!({}))
                    .await;
                assert!(status.is_success(), "{status} {body}");
            }
            for server in nodes {
                pool_is(server, &admin, "desktop", (60, 0)).await;
            }
        }
    }

    // Node c dies holding its seats: they come back once its lease expired.
    let on_c = granted.iter().filter(|(_, node, _)| *node == 2).count();
    c.kill().await;
    pool_is(&a, &admin, "desktop", (60, 50 - on_c as u64)).await;
    let refused = people
        .iter()
        .enumerate()
        .filter(|(i, _)| !granted.iter().any(|(person, _, _)| person == i))
        .map(|(_, name)| name.clone())
        .take(on_c + 1)
        .collect::<Vec<_>>();
    let again = login_race(&[&a, &b], &refused).await;
    assert_eq!(again.len(), on_c, "the dead node's seats, and not one more");
    a.stop().await;
    b.stop().await;
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
    let (sim, pbx) = simulated_pbx(&a, &admin, "300-301", "p").await;
    link_up_on(&a, &admin, &pbx, Some("a"), Duration::from_secs(5)).await;
    assert_eq!(sim.stats().connections_open, 1);

    // The database goes away as in a restart: every connection is cut and no new one is
    // let in until it is back.
    admin_sql(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
        db.name
    ))
    .await;
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
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

    // The database answers again: the node renews and runs its link again.
    admin_sql(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
        db.name
    ))
    .await;
    link_up_on(&a, &admin, &pbx, Some("a"), Duration::from_secs(5)).await;
    let (_, body) = a.get(&admin, "/api/v1/cluster").await;
    assert_eq!(body["nodes"][0]["state"], "active", "{body}");
    // The pool's connections came back too: a login is stored.
    a.admin().await;
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
    let (sim, pbx) = simulated_pbx(&a, &admin, "1200-1209,2200-2209", "hosted").await;
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

/// Three nodes: the link on one, a call made through another, watched from the third.
/// Call control goes to the node running the link (NATS request-reply), lists and phone
/// states are gathered from every node, and presence shows the phones of every node's
/// links; another tenant's client on any node sees none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_made_through_one_node_on_anothers_link_reaches_clients_on_a_third() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let quick = |name: &'static str| {
        let join = node(&db.url, name);
        move |config: &mut Config| {
            join(config);
            config.cluster.nats_url = Some("nats://127.0.0.1:4222".into());
        }
    };
    let nodes = [
        TestServer::start_with(quick("a")).await,
        TestServer::start_with(quick("b")).await,
        TestServer::start_with(quick("c")).await,
    ];
    let admin = nodes[0].admin().await;
    let (status, body) = nodes[0]
        .load_license(
            &admin,
            &nodes[0].license(&[("mt-starter-5", 1), ("desktop", 20)]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (sim, pbx) = simulated_pbx(&nodes[0], &admin, "1200-1209,2200-2209,3250", "hosted").await;
    let acme = crate::cti::office(
        &nodes[0],
        &admin,
        "acme",
        &pbx,
        "1200-1209",
        "1",
        &[("anna", "200"), ("bert", "201")],
    )
    .await;
    let globex = crate::cti::office(
        &nodes[0],
        &admin,
        "globex",
        &pbx,
        "2200-2209",
        "2",
        &[("gina", "200")],
    )
    .await;
    let holder = link_up_on(&nodes[0], &admin, &pbx, None, Duration::from_secs(5)).await;
    let others: Vec<&TestServer> = ["a", "b", "c"]
        .iter()
        .zip(&nodes)
        .filter(|(name, _)| **name != holder)
        .map(|(_, server)| server)
        .collect();
    let (via, watch) = (others[0], others[1]);
    let (anna, bert) = (&acme.people["anna"], &acme.people["bert"]);
    // Every node's round has seen the link's owner before requests go there.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut bert_events = Events::connect(watch, &bert.token).await;
    let mut anna_events = Events::connect(watch, &anna.token).await;
    let mut gina_events = Events::connect(watch, &globex.people["gina"].token).await;

    // Anna calls Bert through a node that does not run the link.
    let (status, call) = via
        .post(&anna.token, "/api/v1/calls", json!({"to": "201"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{call}");
    assert_eq!(call["state"], "dialing", "{call}");
    assert_eq!(call["device_id"], anna.device.as_str(), "{call}");
    let ringing = bert_events
        .wait_for("call", |c| c["state"] == "ringing")
        .await;
    assert_eq!(ringing["data"]["other"]["number"], "200", "{ringing}");
    anna_events
        .wait_for("call", |c| c["id"] == call["id"])
        .await;
    // Bert answers through the third node: the call is found on the link's node.
    let bert_call = ringing["data"]["id"].as_str().unwrap();
    let (status, answered) = watch
        .post(
            &bert.token,
            &format!("/api/v1/calls/{bert_call}/answer"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    bert_events
        .wait_for("call", |c| {
            c["id"] == bert_call && c["state"] == "connected"
        })
        .await;
    // Every node lists the call and shows both phones talking.
    for server in &nodes {
        let (status, calls) = server.get(&anna.token, "/api/v1/calls").await;
        assert_eq!(status, StatusCode::OK, "{calls}");
        assert_eq!(calls.as_array().unwrap().len(), 1, "{calls}");
        assert_eq!(calls[0]["id"], call["id"], "{calls}");
        assert_eq!(calls[0]["state"], "connected", "{calls}");
        let (_, states) = server.get(&acme.admin, "/api/v1/devices/states").await;
        let talking = states
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["state"] == "talking")
            .count();
        assert_eq!(talking, 2, "{states}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let (_, presence) = server.get(&anna.token, "/api/v1/presence").await;
            let talking = presence
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["user_id"] == anna.id.as_str() || p["user_id"] == bert.id.as_str())
                .filter(|p| p["phone"] == "talking")
                .count();
            if talking == 2 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "presence without the other node's phones: {presence}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // A user cannot act on another's call through any node; an unknown call is unknown.
    let (status, body) = via
        .post(
            &anna.token,
            &format!("/api/v1/calls/{bert_call}/clear"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = via
        .post(
            &anna.token,
            &format!("/api/v1/calls/{}/clear", ucplus_core::TenantId::new()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Globex's admin does not find ACME's call on any node.
    let (status, body) = via
        .post(
            &globex.admin,
            &format!("/api/v1/calls/{bert_call}/clear"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Do-not-disturb through a node that does not run the link.
    let (status, body) = via
        .put(
            &anna.token,
            &format!("/api/v1/devices/{}/dnd", anna.device),
            json!({"on": true}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    anna_events
        .wait_for("device_state", |d| {
            d["device_id"] == anna.device.as_str() && d["dnd"] == true
        })
        .await;
    // Anna hangs up through the other node: the call ends for both.
    let (status, body) = via
        .post(
            &anna.token,
            &format!("/api/v1/calls/{}/clear", call["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    bert_events
        .wait_for("call_ended", |c| c["id"] == bert_call)
        .await;
    // A device assigned through a node that does not run the link is monitored by the
    // one that does: its phone state shows on every node.
    let (status, body) = via
        .post(
            &admin,
            &format!("/api/v1/pbxs/{pbx}/devices"),
            json!({"tenant_id": acme.tenant, "device_ids": ["3250"], "strip_prefix": "3"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let _ = sim.dial("3250", "1201");
        let (_, states) = watch.get(&acme.admin, "/api/v1/devices/states").await;
        let busy = states
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["number"] == "250" && d["state"] != "idle" && d["state"] != "unknown");
        if busy {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new device is not monitored: {states}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    gina_events.drain(Duration::from_millis(300)).await;
    let seen = serde_json::to_string(&gina_events.seen).unwrap();
    assert!(
        !seen.contains(&anna.id) && !seen.contains(&bert.id) && !seen.contains(&acme.tenant),
        "globex saw acme's events: {seen}"
    );
    for server in nodes {
        server.stop().await;
    }
    drop(sim);
    drop(db);
}

/// A NATS server of the test's own on a loopback port, to stop and start again.
struct OwnNats {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnNats {
    /// None where `nats-server` is not installed (outside CI: the test is skipped).
    fn start() -> Option<OwnNats> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut nats = OwnNats { port, child: None };
        if !nats.resume() {
            assert!(
                std::env::var("CI").is_err(),
                "nats-server is not installed (CI needs it: apt-get install nats-server)"
            );
            eprintln!("skipped: nats-server is not installed");
            return None;
        }
        Some(nats)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port and waits until it accepts connections.
    fn resume(&mut self) -> bool {
        let Ok(child) = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client's stream with its snapshot read, or None when the server closed it first (a
/// resynchronization told as it connected).
async fn snapshot_or_close(server: &TestServer, token: &str) -> Option<Events> {
    use futures_util::StreamExt;
    let url = format!(
        "{}/api/v1/events?token={token}",
        server.base.replace("http://", "ws://")
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a snapshot or a close within 5 s");
    let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = first else {
        return None;
    };
    let snapshot: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(snapshot["type"], "snapshot");
    let mut events = Events::from_stream(stream);
    events.seen.push(snapshot);
    Some(events)
}

/// NATS restarting mid-run: what happened meanwhile on another node's link is not lost
/// silently. The clients of the node that missed events are told to resynchronize, find
/// the current state in their snapshot, and get live events again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_makes_clients_resynchronize_and_loses_no_state() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let Some(mut nats) = OwnNats::start() else {
        return;
    };
    let quick = |name: &'static str| {
        let join = node(&db.url, name);
        let url = nats.url();
        move |config: &mut Config| {
            join(config);
            config.cluster.nats_url = Some(url);
        }
    };
    let a = TestServer::start_with(quick("a")).await;
    let b = TestServer::start_with(quick("b")).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 20)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (sim, pbx) = simulated_pbx(&a, &admin, "1200-1209", "hosted").await;
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
    let holder = link_up_on(&a, &admin, &pbx, None, Duration::from_secs(5)).await;
    let far = if holder == "a" { &b } else { &a };
    let anna = &acme.people["anna"];
    let mut events = Events::connect(far, &anna.token).await;
    sim.dial("1201", "1200").expect("bert dials");
    let ringing = events.wait_for("call", |c| c["state"] == "ringing").await;
    let call = ringing["data"]["id"].clone();

    // NATS goes away; Anna answers on her phone meanwhile (the event cannot cross).
    nats.stop();
    sim.answer("1200").expect("anna answers");
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.resume();
    // Her client is told to resynchronize once the nodes are back on NATS, and does as a
    // client does (reconnects, reads the snapshot; told again while a node was still
    // away): its snapshot then has the call as it is now.
    let code = events.closed_with(Duration::from_secs(15)).await;
    assert_eq!(code, Some(4008), "the client was not told to resynchronize");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut events = loop {
        let Some(mut events) = snapshot_or_close(far, &anna.token).await else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream kept closing before its snapshot"
            );
            continue;
        };
        let snapshot = events.seen[0]["data"].clone();
        let current = snapshot["calls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == call && c["state"] == "connected");
        if current {
            break events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no snapshot with the call as it is: {snapshot}"
        );
        assert_eq!(
            events.closed_with(Duration::from_secs(5)).await,
            Some(4008),
            "a snapshot without another node's part, and no resync: {snapshot}"
        );
    };
    // Live events flow again.
    let (status, body) = far
        .post(
            &anna.token,
            &format!("/api/v1/calls/{}/clear", call.as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    events.wait_for("call_ended", |c| c["id"] == call).await;
    a.stop().await;
    b.stop().await;
    drop(sim);
    drop(db);
}

/// A node whose lease lapsed while it was alive (its renewals held up) was counted dead:
/// its seats went to others. When it renews again, its sessions are granted anew and
/// those that no longer fit end, so the cluster never stays above the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_back_from_a_lapsed_lease_grants_its_seats_again() {
    use sqlx::{Connection, Executor};
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let a = TestServer::start_with(login_node(&db, "a")).await;
    let b = TestServer::start_with(login_node(&db, "b")).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 10)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (acme, boss) = a.tenant(&admin, "acme").await;
    let (status, body) = a
        .put(
            &admin,
            &format!("/api/v1/tenants/{acme}/limits"),
            json!({"desktop": {"cap": 4, "reserved": 0}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let people: Vec<String> = (0..6).map(|i| format!("user{i}")).collect();
    for name in &people {
        a.user(&boss, name, &["desktop"]).await;
    }
    pool_is(&b, &admin, "desktop", (10, 0)).await;
    let mut tokens = Vec::new();
    for (i, name) in people[..4].iter().enumerate() {
        let server = if i < 2 { &b } else { &a };
        tokens.push(login_on(server, "acme", name).await);
    }
    pool_is(&a, &admin, "desktop", (10, 4)).await;

    // Node b's renewals are held up (its lease row locked) until its lease expires: node
    // a counts b's two seats free and gives them to two others.
    let mut hold = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    hold.execute("BEGIN").await.expect("begin");
    hold.execute("SELECT * FROM nodes WHERE name = 'b' FOR UPDATE")
        .await
        .expect("lock b's lease");
    pool_is(&a, &admin, "desktop", (10, 2)).await;
    for name in &people[4..] {
        tokens.push(login_on(&a, "acme", name).await);
    }
    pool_is(&a, &admin, "desktop", (10, 4)).await;
    // b renews again: its two sessions no longer fit under the cap and end.
    hold.execute("ROLLBACK").await.expect("rollback");
    drop(hold);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut working = 0;
        for token in &tokens {
            if a.get(token, "/api/v1/me").await.0 == StatusCode::OK {
                working += 1;
            }
        }
        if working == 4 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{working} sessions hold seats under a cap of 4"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for token in &tokens[..2] {
        assert_eq!(b.get(token, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    }
    pool_is(&a, &admin, "desktop", (10, 4)).await;
    pool_is(&b, &admin, "desktop", (10, 4)).await;
    a.stop().await;
    b.stop().await;
    drop(db);
}

/// A client whose requests reach several nodes (a load balancer without stickiness) keeps
/// its session where it is: another node serves it without taking it over, its event
/// stream on the first node stays open, and a logout through either node ends it on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_used_on_two_nodes_stays_with_its_node() {
    let Some(db) = ScratchDb::create().await else {
        return;
    };
    let (a, b) = two_nodes(&db, false).await;
    let admin = a.admin().await;
    let (status, body) = a
        .load_license(&admin, &a.license(&[("mt-starter-5", 1), ("desktop", 5)]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, boss) = a.tenant(&admin, "acme").await;
    a.user(&boss, "anna", &["desktop"]).await;
    let token = a
        .login(Some("acme"), "anna", "user-password", "desktop")
        .await
        .expect("login");
    let mut events = Events::connect(&a, &token).await;
    // For longer than a session needs to settle and a few syncs, every other request goes
    // to node b, and a request that reaches a node finds the session there.
    let until = tokio::time::Instant::now() + Duration::from_secs(13);
    let mut i = 0;
    while tokio::time::Instant::now() < until {
        let server = if i % 2 == 0 { &b } else { &a };
        let (status, body) = server.get(&token, "/api/v1/me").await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body}");
        i += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        events.closed_with(Duration::from_millis(300)).await,
        None,
        "the stream on node a was closed"
    );
    pool_is(&b, &admin, "desktop", (5, 1)).await;
    // A logout through b ends the session on a too.
    let (status, body) = b.post(&token, "/api/v1/auth/logout", json!({})).await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(events.closed_with(Duration::from_secs(5)).await, Some(4001));
    assert_eq!(
        a.get(&token, "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    pool_is(&a, &admin, "desktop", (5, 0)).await;
    a.stop().await;
    b.stop().await;
    drop(db);
}
